"""A simulation's configuration: the scenario file (TOML) read into frozen dataclasses.

Every field has a default (the default config is the living demo); a file names only what it changes.
Unknown keys, wrong types and out-of-range values are refused with the key's path, so a typo in a
scenario never silently runs the default instead.

    tick_s = 0.5
    [[series]]
    ticker = "PXHOURLY"
    period_s = 3600
    strikes = [0.5, 0.3, 0.7]
    [makers]
    count = 3
    [[events]]
    at_s = 180
    kind = "jump"
    size = 1.0
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

EVENT_KINDS = ("jump", "thin_book", "maker_withdraws", "run")
T = TypeVar("T")


class SimConfigError(ValueError):
    """A scenario file that cannot be run as written; the message names the key."""


@dataclass(frozen=True)
class SeriesConfig:
    """A series whose events follow one another: each lasts `period_s` and closes at the end of its
    period; the next opens `lead_s` before that. `strikes` are the starting probabilities of each
    event's markets (one market per strike on one underlying). `align`: periods end on multiples of
    `period_s` in UTC (an hourly series closes on the hour); otherwise they count from the start."""

    ticker: str = "PXHOURLY"
    title: str = "Simulated index, hourly"
    period_s: float = 3600.0
    lead_s: float = 600.0
    align: bool = True
    strikes: tuple[float, ...] = (0.5, 0.3, 0.7)
    settlement_timer_s: int = 60
    volatility: float = 1.0  # the walk's sigma as a multiple of the sigma the market prices with
    jumps_per_hour: float = 2.0  # news jumps, a Poisson process
    jump_size: float = 0.5  # a jump's standard deviation, in standard deviations of a whole period


@dataclass(frozen=True)
class MakerConfig:
    """Market makers quoting `levels` levels a side around their own estimate (Avellaneda-Stoikov:
    a reservation price skewed by inventory, a half spread of gammasigma²tau/2 + ln(1+gamma/k)/gamma)."""

    count: int = 3
    levels: int = 3
    level_contracts: int = 20
    level_step_cents: int = 1
    risk_aversion: float = 0.0001  # gamma, per contract and cent
    arrival_decay_k: float = 1.5  # k, per cent: how quickly takers thin out away from the touch
    horizon_s: float = 60.0  # tau: how far ahead a maker weighs its inventory risk
    estimate_lag_s: float = 2.0  # how slowly a maker's estimate follows the fair value
    estimate_noise_cents: float = 0.7  # each maker's own error, persistent
    requote_cents: int = 1  # move a level when its price is this far off
    inventory_max_contracts: int = 300  # past it, a maker quotes only the side that reduces it
    over_fix: int = 1  # the first this many makers quote over FIX order entry when the exchange serves it (`--fix`)


@dataclass(frozen=True)
class NoiseConfig:
    """Takers who trade at random: `trades_per_minute` per market across all of them."""

    count: int = 2
    trades_per_minute: float = 12.0
    contracts_max: int = 10
    slippage_cents: int = 1


@dataclass(frozen=True)
class InformedConfig:
    """Takers who see the fair value and take quotes that are `threshold_cents` or more off it."""

    count: int = 1
    threshold_cents: int = 3
    contracts: int = 15
    cooldown_s: float = 2.0


@dataclass(frozen=True)
class AmenderConfig:
    """A slow trader with resting orders away from the touch, amending or cancelling one at a time."""

    count: int = 1
    orders_per_market: int = 2
    contracts: int = 5
    interval_s: float = 5.0
    distance_cents_min: int = 3
    distance_cents_max: int = 8


@dataclass(frozen=True)
class FundingConfig:
    deposit_dollars: int = 100_000  # each simulated trader's play money at sign-up
    top_up_below_dollars: int = 50_000  # topped up to the deposit when cash falls below this


@dataclass(frozen=True)
class ScriptedEvent:
    """`jump`: the underlying moves by `size` (period standard deviations, signed). `thin_book`: the
    makers quote `factor` of their size. `maker_withdraws`: maker number `maker` cancels everything
    and stops quoting. `run`: noise takers all trade `side` ("yes" or "no") at `factor` times their
    rate. The last three last `duration_s`. `series` limits it to one series ("" = all)."""

    at_s: float = 0.0
    kind: str = "jump"
    series: str = ""
    size: float = 1.0
    factor: float = 0.2
    maker: int = 0
    side: str = "yes"
    duration_s: float = 60.0


@dataclass(frozen=True)
class SimConfig:
    name: str = "default"
    tick_s: float = 0.5  # the decision step
    series: tuple[SeriesConfig, ...] = (
        SeriesConfig(),
        SeriesConfig(ticker="PXDAILY", title="Simulated index, daily", period_s=86_400.0, lead_s=3_600.0, strikes=(0.55, 0.4),
                     jumps_per_hour=0.5),
    )
    makers: MakerConfig = field(default_factory=MakerConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    informed: InformedConfig = field(default_factory=InformedConfig)
    amender: AmenderConfig = field(default_factory=AmenderConfig)
    funding: FundingConfig = field(default_factory=FundingConfig)
    events: tuple[ScriptedEvent, ...] = ()
    member_prefix: str = "sim"  # simulated members are sim-<role>-<n>@<member_domain>
    member_domain: str = "sim.predictex.invalid"

    def as_dict(self) -> dict[str, Any]:
        """Every value, defaults included: what a run writes to its log."""
        return dataclasses.asdict(self)


def load_config(path: str | Path | None) -> SimConfig:
    """The scenario in the file, or the default config when `path` is None."""
    if path is None:
        return SimConfig()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise SimConfigError(f"cannot read {path}: {error.strerror or error}") from error
    return parse_config(text, str(path))


def parse_config(text: str, source: str = "<config>") -> SimConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SimConfigError(f"{source}: not TOML: {error}") from error
    config = _build(SimConfig, raw, "")
    _check(config)
    return config


def _build(kind: type[T], raw: Any, where: str) -> T:
    if not isinstance(raw, Mapping):
        raise SimConfigError(f"{where or 'the file'} must be a table")
    fields = {f.name: f for f in dataclasses.fields(kind)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise SimConfigError(f"unknown key {_join(where, unknown[0])} (known: {', '.join(fields)})")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        values[name] = _value(kind, name, value, _join(where, name))
    return kind(**values)


_NESTED: dict[str, type[Any]] = {
    "makers": MakerConfig, "noise": NoiseConfig, "informed": InformedConfig, "amender": AmenderConfig, "funding": FundingConfig,
}


def _value(kind: type[Any], name: str, value: Any, where: str) -> Any:
    if kind is SimConfig and name in _NESTED:
        return _build(_NESTED[name], value, where)
    if kind is SimConfig and name in ("series", "events"):
        item = SeriesConfig if name == "series" else ScriptedEvent
        if not isinstance(value, list):
            raise SimConfigError(f"{where} must be an array of tables ([[{name}]])")
        return tuple(_build(item, entry, f"{where}[{index}]") for index, entry in enumerate(value))
    default = getattr(kind(), name)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise SimConfigError(f"{where} must be true or false")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SimConfigError(f"{where} must be an integer")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SimConfigError(f"{where} must be a number")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise SimConfigError(f"{where} must be a string")
        return value
    if isinstance(default, tuple):  # strikes
        if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise SimConfigError(f"{where} must be an array of numbers")
        return tuple(float(v) for v in value)
    raise SimConfigError(f"{where} cannot be set")


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _positive(where: str, value: float) -> None:
    if not value > 0:
        raise SimConfigError(f"{where} must be greater than 0")


def _check(config: SimConfig) -> None:
    _positive("tick_s", config.tick_s)
    if not config.series:
        raise SimConfigError("series: at least one series")
    tickers = [series.ticker for series in config.series]
    if len(set(tickers)) != len(tickers):
        raise SimConfigError("series: two series with the same ticker")
    for index, series in enumerate(config.series):
        where = f"series[{index}]"
        if not series.ticker.isascii() or not series.ticker.isalnum() or not series.ticker.isupper() or len(series.ticker) > 20:
            raise SimConfigError(f"{where}.ticker must be 1-20 upper-case letters and digits")
        _positive(f"{where}.period_s", series.period_s)
        if not 0 <= series.lead_s < series.period_s:
            raise SimConfigError(f"{where}.lead_s must be at least 0 and less than period_s")
        if not series.strikes or not all(0.02 <= p <= 0.98 for p in series.strikes) or len(series.strikes) > 20:
            raise SimConfigError(f"{where}.strikes must be 1-20 probabilities between 0.02 and 0.98")
        if series.settlement_timer_s < 0 or series.volatility < 0 or series.jumps_per_hour < 0 or series.jump_size < 0:
            raise SimConfigError(f"{where}: settlement_timer_s, volatility, jumps_per_hour and jump_size cannot be negative")
    for name in ("makers", "noise", "informed", "amender"):
        if getattr(config, name).count < 0:
            raise SimConfigError(f"{name}.count cannot be negative")
    makers = config.makers
    if makers.over_fix < 0:
        raise SimConfigError("makers.over_fix cannot be negative")
    if makers.levels < 1 or makers.level_contracts < 1 or makers.level_step_cents < 1 or makers.requote_cents < 1:
        raise SimConfigError("makers: levels, level_contracts, level_step_cents and requote_cents must be at least 1")
    for name, value in (("makers.risk_aversion", makers.risk_aversion), ("makers.arrival_decay_k", makers.arrival_decay_k),
                        ("makers.horizon_s", makers.horizon_s), ("makers.estimate_lag_s", makers.estimate_lag_s)):
        _positive(name, value)
    if config.noise.contracts_max < 1 or config.informed.contracts < 1 or config.amender.contracts < 1:
        raise SimConfigError("contracts_max, contracts: at least 1")
    if not 1 <= config.amender.distance_cents_min <= config.amender.distance_cents_max:
        raise SimConfigError("amender: 1 <= distance_cents_min <= distance_cents_max")
    _positive("amender.interval_s", config.amender.interval_s)
    if config.funding.deposit_dollars < 1 or not 0 <= config.funding.top_up_below_dollars <= config.funding.deposit_dollars:
        raise SimConfigError("funding: deposit_dollars >= 1 and 0 <= top_up_below_dollars <= deposit_dollars")
    for index, event in enumerate(config.events):
        _check_event(config, index, event)


def _check_event(config: SimConfig, index: int, event: ScriptedEvent) -> None:
    where = f"events[{index}]"
    if event.kind not in EVENT_KINDS:
        raise SimConfigError(f"{where}.kind must be one of {', '.join(EVENT_KINDS)}")
    if event.at_s < 0 or event.duration_s <= 0 or event.factor < 0:
        raise SimConfigError(f"{where}: at_s and factor cannot be negative, duration_s must be positive")
    if event.series and event.series not in {series.ticker for series in config.series}:
        raise SimConfigError(f"{where}.series: no series {event.series}")
    if event.side not in ("yes", "no"):
        raise SimConfigError(f"{where}.side must be yes or no")
    if event.kind == "maker_withdraws" and not 0 <= event.maker < config.makers.count:
        raise SimConfigError(f"{where}.maker must name one of the {config.makers.count} makers (0-based)")
