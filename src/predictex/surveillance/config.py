"""Surveillance thresholds: what each detector counts as suspicious. The defaults are the ones the
seeded scenarios (tests/sim/test_surveillance_scenarios.py) are checked with; an operator overrides any
of them in a TOML file (`predictex serve --surveillance-config FILE`, a `[surveillance]` table of the
same names). Every number is an integer in the engine's units (centicontracts, centicents, ms, bps)."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any


class ThresholdsError(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class Thresholds:
    # wash trades: trades of one member (any of its subaccounts) or linked members with themselves in
    # one market within this window make one alert
    wash_window_ms: int = 3_600_000
    # spoofing and layering: orders of at least `spoof_order_min` resting at most `spoof_touch_distance`
    # from the best price of their side when placed, cancelled at most `spoof_cancel_window_ms` after an
    # order of the same member on the other side filled, less than `spoof_filled_max_bps` of them filled,
    # `spoof_size_min` in all
    spoof_order_min_centicontracts: int = 50_00
    spoof_size_min_centicontracts: int = 100_00
    spoof_touch_distance_centicents: int = 500
    spoof_cancel_window_ms: int = 10_000
    spoof_filled_max_bps: int = 1_000
    # marking the close: in the last `close_window_ms` before a market closes, at least
    # `close_trades_min` taking orders of a member, all one way, took the price (at their furthest) at least `close_move_min`
    # from the first of them, away from the value the market was determined at, and
    # were at least `close_share_min_bps` of what traded from the first of them to the last (judged when
    # the market is determined)
    close_window_ms: int = 120_000
    close_trades_min: int = 3
    close_move_min_centicents: int = 200
    close_share_min_bps: int = 5_000
    # unusual concentration: when a market closes, one member (with its linked members) was a side of
    # at least `concentration_share_min_bps` of the contracts traded, of at least `concentration_volume_min`
    concentration_share_min_bps: int = 8_000
    concentration_volume_min_centicontracts: int = 500_00

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> Thresholds:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ThresholdsError(f"unknown surveillance thresholds: {', '.join(unknown)} (known: {', '.join(sorted(names))})")
        for name, value in values.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ThresholdsError(f"surveillance threshold {name} must be a whole number of at least 0, not {value!r}")
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path) -> Thresholds:
        """The `[surveillance]` table of a TOML file (a missing table: the defaults)."""
        try:
            document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ThresholdsError(f"cannot read the surveillance configuration {path}: {error}") from error
        table = document.get("surveillance", {})
        if not isinstance(table, dict):
            raise ThresholdsError(f"{path}: [surveillance] must be a table")
        return cls.from_mapping(table)

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)
