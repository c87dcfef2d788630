"""A small harness around a fresh engine for tests: it checks every invariant after every command,
proves that refusals change nothing, and speaks in dollars and contracts so tests read like the rules."""

from __future__ import annotations

from typing import Any

from predictex.core import commands as c
from predictex.core.engine import Engine, Outcome
from predictex.core.events import Event
from predictex.core.invariants import check_invariants
from predictex.core.rejects import Reject, RejectCode
from predictex.core.units import parse_money_dollars, parse_price_dollars

START_MS = 1_700_000_000_000
FAR_FUTURE_MS = START_MS + 365 * 24 * 3600 * 1000


def usd(text: str) -> int:
    """"5.18" -> microdollars."""
    return parse_money_dollars(text) if not text.startswith("-") else -parse_money_dollars(text[1:])


def price(text: str) -> int:
    """"0.65" -> centicents."""
    return parse_price_dollars(text)


def contracts(n: float | int | str) -> int:
    """2 -> 200 centicontracts; "0.5" -> 50."""
    from predictex.core.units import parse_count_fp

    return parse_count_fp(str(n))


class Harness:
    def __init__(self) -> None:
        self.engine = Engine()
        self.now_ms = START_MS
        self._series = 0

    # --- applying commands -----------------------------------------------------------------------

    def apply(self, command: c.Command, now_ms: int | None = None) -> Outcome:
        if now_ms is not None:
            self.now_ms = now_ms
        outcome = self.engine.apply(command, self.now_ms)
        check_invariants(self.engine)
        return outcome

    def ok(self, command: c.Command, now_ms: int | None = None) -> Outcome:
        outcome = self.apply(command, now_ms)
        assert outcome.reject is None, outcome.reject
        return outcome

    def refused(self, command: c.Command, code: RejectCode) -> Reject:
        from predictex.core.snapshot import state_hash

        before = state_hash(self.engine)
        outcome = self.apply(command)
        assert outcome.reject is not None, f"expected {code.value}, got success"
        assert outcome.reject.code is code, outcome.reject
        assert not [e for e in outcome.events], "a refused command emitted events"
        assert state_hash(self.engine) == before, "a refused command changed the state"
        return outcome.reject

    def advance(self, ms: int) -> Outcome:
        return self.ok(c.Tick(), self.now_ms + ms)

    # --- setting up ----------------------------------------------------------------------------

    def account(self, dollars: str = "1000") -> int:
        account_id = self.ok(c.OpenAccount()).value
        if usd(dollars):
            self.ok(c.Deposit(account_id, usd(dollars)))
        return account_id

    def market(
        self, ticker: str = "KX-M", *, fee_type: str = "quadratic", fee_multiplier_bps: int = 10_000,
        structure: str = "linear_cent", fractional: bool = False, open_ms: int | None = None,
        close_ms: int = FAR_FUTURE_MS, timer_s: int = 0, waiver_ms: int = 0, market_type: str = "binary",
    ) -> str:
        self._series += 1
        series = f"S{self._series}"
        self.ok(c.CreateSeries(series, "a series", fee_type=fee_type, fee_multiplier_bps=fee_multiplier_bps))
        self.ok(c.CreateEvent(f"{series}-E", series, "an event"))
        self.ok(c.CreateMarket(
            ticker, f"{series}-E", "a market", START_MS - 3_600_000 if open_ms is None else open_ms, close_ms,
            price_level_structure=structure, fractional_trading=fractional, settlement_timer_s=timer_s,
            fee_waiver_expiration_ms=waiver_ms, market_type=market_type,
        ))
        return ticker

    # --- trading -------------------------------------------------------------------------------

    def order(self, account: int, ticker: str, side: str, price_text: str, count: float | int | str, **options: Any) -> Outcome:
        """side is "bid" (buy YES) or "ask" (sell YES / buy NO); price is the YES price."""
        return self.apply(c.CreateOrder(account, ticker, side == "bid", price(price_text), contracts(count), **options))

    def placed(self, account: int, ticker: str, side: str, price_text: str, count: float | int | str, **options: Any) -> int:
        outcome = self.order(account, ticker, side, price_text, count, **options)
        assert outcome.reject is None, outcome.reject
        return outcome.value

    # --- reading -------------------------------------------------------------------------------

    def cash(self, account: int) -> int:
        return self.engine.ledger.accounts[account].cash_microdollars

    def locked(self, account: int) -> int:
        return self.engine.ledger.accounts[account].locked_microdollars

    def position(self, account: int, ticker: str) -> int:
        am = self.engine.ledger.accounts[account].markets.get(ticker)
        return 0 if am is None else am.position_centicontracts

    def holding(self, account: int, ticker: str) -> Any:
        return self.engine.ledger.accounts[account].markets[ticker]

    def book(self, ticker: str) -> dict[str, list[tuple[int, int]]]:
        book = self.engine.markets.markets[ticker].book
        return {"bids": book.bids.depth(), "asks": book.asks.depth()}

    def is_open(self, order_id: int) -> bool:
        return order_id in self.engine.trading.orders

    def remaining(self, order_id: int) -> int:
        return self.engine.trading.orders[order_id].remaining_centicontracts

    def revenue(self) -> int:
        return self.engine.ledger.revenue_microdollars

    def status(self, ticker: str) -> str:
        return self.engine.markets.markets[ticker].status


def of_type(outcome: Outcome, kind: type[Event]) -> list[Any]:
    return [event for event in outcome.events if isinstance(event, kind)]
