"""How the trader's commands print: aligned tables for people, `--json` for programs (prices,
counts and money as the exact strings the wire uses, never floats), progress on stderr for long work,
and errors as one line on stderr with an exit code that says what kind of failure it was."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO, TypeVar

from predictex.client.errors import ApiError, PredictexError, TransportError
from predictex.client.units import _Fixed

T = TypeVar("T")

EXIT_OK = 0
EXIT_REFUSED = 1  # the exchange answered with an error
EXIT_USAGE = 2  # bad arguments or configuration
EXIT_UNREACHABLE = 3  # no answer from the exchange


def plain(value: Any) -> Any:
    """A value as JSON: fixed-point values as their wire strings, times as RFC 3339, dataclasses as
    objects (without their raw JSON)."""
    if isinstance(value, _Fixed):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "raw"}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def print_json(value: Any, out: TextIO | None = None, *, one_line: bool = False) -> None:
    print(json.dumps(plain(value), indent=None if one_line else 2), file=out or sys.stdout, flush=True)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], out: TextIO | None = None) -> None:
    """Columns padded to their widest cell; numbers (fixed-point values) right-aligned."""
    out = out or sys.stdout
    materialised = [list(row) for row in rows]
    texts = [[cell(v) for v in row] for row in materialised]
    widths = [max([len(h)] + [len(r[i]) for r in texts]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], _Fixed) or row[i] is None for row in materialised) and bool(materialised)
               for i in range(len(headers))]
    print("  ".join(h.rjust(w) if numeric[i] else h.ljust(w) for i, (h, w) in enumerate(zip(headers, widths))).rstrip(), file=out)
    for row in texts:
        print("  ".join(c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip(), file=out)
    if not texts:
        print("(none)", file=out)


def with_progress(items: Iterable[T], what: str, *, every: int = 500, enabled: bool | None = None) -> Iterator[T]:
    """Pass items through, telling stderr how many have come (for pagination over thousands)."""
    show = sys.stderr.isatty() if enabled is None else enabled
    count = 0
    for item in items:
        count += 1
        if show and count % every == 0:
            print(f"\r{count:,} {what}...", end="", file=sys.stderr, flush=True)
        yield item
    if show and count >= every:
        print(f"\r{count:,} {what}.   ", file=sys.stderr, flush=True)


def describe(error: BaseException) -> str:
    """One line: "409 order_already_exists: order already exists: <details>"."""
    if isinstance(error, ApiError):
        text = f"{error.status} {error.code}: {error.message}"
        return f"{text}: {error.details}" if error.details else text
    return str(error)


def fail(command: str, error: BaseException) -> int:
    print(f"predictex {command}: {describe(error)}", file=sys.stderr)
    if isinstance(error, TransportError):
        return EXIT_UNREACHABLE
    if isinstance(error, PredictexError):
        return EXIT_REFUSED
    return EXIT_USAGE
