"""Exact fixed-point values with the unit in the type: `Price` (dollars per contract, to $0.0001),
`Count` (contracts, to 0.01) and `Money` (dollars, to $0.000001, as portfolio amounts may carry).

They are immutable integers underneath and never pass through a float. A float is refused outright
(`Price(0.56)` raises TypeError), and so is a bare int where it would be ambiguous: is `Price(56)`
56 cents or 56 dollars? Say `Price("0.56")` or `Price.from_cents(56)`. A count is unambiguous, so
`Count(10)` is ten contracts. Strings keep every digit or are refused: `Price("0.00001")` raises
ValueError rather than rounding.

`str()` gives the wire form Kalshi uses ("0.5600", "10.00", "12.3400"); `.decimal` the value as a
`decimal.Decimal`; arithmetic stays exact (`Price * Count` is `Money`).
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

F = TypeVar("F", bound="_Fixed")

FixedInput = str | Decimal


class _Fixed:
    """An exact decimal held as an integer number of 1/SCALE units."""

    __slots__ = ("_units",)
    PLACES: ClassVar[int] = 0
    SCALE: ClassVar[int] = 1
    WHAT: ClassVar[str] = "value"
    INT_MEANS_WHOLE: ClassVar[bool] = False  # Count(3) is 3 contracts; Price(3) is refused

    _units: int

    def __init__(self, value: Any) -> None:
        object.__setattr__(self, "_units", self._to_units(value))

    @classmethod
    def _to_units(cls, value: Any) -> int:
        if isinstance(value, cls):
            return value._units
        if isinstance(value, (bool, float)):
            raise TypeError(f"a {cls.WHAT} is never a {type(value).__name__}: give a decimal string such as {cls._example()!r}")
        if isinstance(value, int):
            if not cls.INT_MEANS_WHOLE:
                raise TypeError(f"{cls.__name__}({value}) is ambiguous: give dollars as a string ({cls._example()!r}) "
                                f"or use {cls.__name__}.from_cents({value})")
            return value * cls.SCALE
        if isinstance(value, str):
            return cls._parse(value)
        if isinstance(value, Decimal):
            return cls._from_decimal(value, str(value))
        raise TypeError(f"cannot make a {cls.WHAT} from {type(value).__name__}")

    @classmethod
    def _parse(cls, text: str) -> int:
        stripped = text.strip()
        if not stripped or stripped.lower().lstrip("+-") in ("nan", "snan", "inf", "infinity"):
            raise ValueError(f"{text!r} is not a {cls.WHAT}")
        try:
            return cls._from_decimal(Decimal(stripped), text)
        except decimal.InvalidOperation as error:
            raise ValueError(f"{text!r} is not a {cls.WHAT}") from error

    @classmethod
    def _from_decimal(cls, value: Decimal, shown: str) -> int:
        if not value.is_finite():
            raise ValueError(f"{shown!r} is not a {cls.WHAT}")
        scaled = value.scaleb(cls.PLACES)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{shown!r} has more than {cls.PLACES} decimal places (a {cls.WHAT} is exact to {cls._step()})")
        return int(scaled)

    @classmethod
    def of_units(cls: type[F], units: int) -> F:
        """From the integer number of units (Price: $0.0001, Count: 0.01 contract, Money: $0.000001)."""
        if not isinstance(units, int) or isinstance(units, bool):
            raise TypeError("units are an int")
        made = cls.__new__(cls)
        object.__setattr__(made, "_units", units)
        return made

    @classmethod
    def _example(cls) -> str:
        return "1." + "0" * cls.PLACES

    @classmethod
    def _step(cls) -> str:
        return "0." + "0" * (cls.PLACES - 1) + "1"

    @property
    def units(self) -> int:
        return self._units

    @property
    def decimal(self) -> Decimal:
        return Decimal(self._units).scaleb(-self.PLACES)

    def _format(self, places: int) -> str:
        sign = "-" if self._units < 0 else ""
        whole, fraction = divmod(abs(self._units), self.SCALE)
        if places < self.PLACES:
            fraction //= 10 ** (self.PLACES - places)
        return f"{sign}{whole}.{fraction:0{places}d}" if places else f"{sign}{whole}"

    def __str__(self) -> str:
        return self._format(self.PLACES)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self).of_units, (self._units,))

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._units))

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            return self._units == other._units
        return NotImplemented

    def _same(self, other: Any) -> int:
        if type(other) is not type(self):
            raise TypeError(f"cannot combine {type(self).__name__} with {type(other).__name__}")
        return int(other._units)

    def __lt__(self: F, other: F) -> bool:
        return self._units < self._same(other)

    def __le__(self: F, other: F) -> bool:
        return self._units <= self._same(other)

    def __gt__(self: F, other: F) -> bool:
        return self._units > self._same(other)

    def __ge__(self: F, other: F) -> bool:
        return self._units >= self._same(other)

    def __add__(self: F, other: F) -> F:
        return type(self).of_units(self._units + self._same(other))

    def __sub__(self: F, other: F) -> F:
        return type(self).of_units(self._units - self._same(other))

    def __neg__(self: F) -> F:
        return type(self).of_units(-self._units)

    def __abs__(self: F) -> F:
        return type(self).of_units(abs(self._units))

    def __bool__(self) -> bool:
        return self._units != 0


class Price(_Fixed):
    """A contract's price in dollars, exact to $0.0001 (a YES price unless said otherwise)."""

    __slots__ = ()
    PLACES = 4
    SCALE = 10_000
    CENT: ClassVar[int] = SCALE // 100  # units in one cent
    WHAT = "price"

    @classmethod
    def from_cents(cls, cents: int) -> Price:
        return cls.of_units(cents * cls.CENT)

    @property
    def centicents(self) -> int:
        return self._units

    @property
    def cents(self) -> int:
        """Whole cents; raises for a sub-penny price (a legacy cents field cannot say it)."""
        if self._units % self.CENT:
            raise ValueError(f"{self} is not a whole number of cents")
        return self._units // self.CENT

    def complement(self) -> Price:
        """1 - price: the NO price of a YES price and back (a YES bid at p is a NO ask at 1 - p)."""
        return Price.of_units(self.SCALE - self._units)

    def __mul__(self, other: Count) -> Money:
        if not isinstance(other, Count):
            return NotImplemented
        return Money.of_units(self._units * other.units)  # $1e-4 x 1e-2 contracts = $1e-6

    __rmul__ = __mul__


class Count(_Fixed):
    """A number of contracts, exact to 0.01 contract. `Count(5)` is five contracts."""

    __slots__ = ()
    PLACES = 2
    SCALE = 100
    WHAT = "count"
    INT_MEANS_WHOLE = True

    @property
    def centicontracts(self) -> int:
        return self._units

    @property
    def contracts(self) -> int:
        """Whole contracts; raises for a fractional count."""
        if self._units % self.SCALE:
            raise ValueError(f"{self} is not a whole number of contracts")
        return self._units // self.SCALE


class Money(_Fixed):
    """An amount of dollars, exact to $0.000001; shown with 4 decimals unless it needs 6."""

    __slots__ = ()
    PLACES = 6
    SCALE = 1_000_000
    CENT: ClassVar[int] = SCALE // 100  # units in one cent
    CENTICENT: ClassVar[int] = SCALE // 10_000  # units in $0.0001, the last place of the 4-decimal form
    WHAT = "amount of money"

    @classmethod
    def from_cents(cls, cents: int) -> Money:
        return cls.of_units(cents * cls.CENT)

    @property
    def microdollars(self) -> int:
        return self._units

    @property
    def cents(self) -> int:
        """Whole cents; raises when the amount has a fraction of a cent."""
        if self._units % self.CENT:
            raise ValueError(f"{self} is not a whole number of cents")
        return self._units // self.CENT

    def __str__(self) -> str:
        return self._format(6 if self._units % self.CENTICENT else 4)

    def __mul__(self, other: int) -> Money:
        if isinstance(other, bool) or not isinstance(other, int):
            return NotImplemented
        return Money.of_units(self._units * other)


ZERO_PRICE = Price.of_units(0)
ONE_DOLLAR = Price.of_units(Price.SCALE)
NO_COUNT = Count.of_units(0)
NO_MONEY = Money.of_units(0)


def price(value: Price | FixedInput) -> Price:
    return value if isinstance(value, Price) else Price(value)


def count(value: Count | FixedInput | int) -> Count:
    return value if isinstance(value, Count) else Count(value)
