"""How the trader's commands print: aligned tables for people, `--json` for programs (prices,
counts and money as the exact strings the wire uses, never floats), progress on stderr for long work,
and errors as one line on stderr with an exit code that says what kind of failure it was."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TextIO, TypeVar

from predictex.cli.config import ConfigError
from predictex.client.errors import ApiError, PredictexError, TransportError, refusal_text
from predictex.client.units import _Fixed

T = TypeVar("T")

EXIT_OK = 0
EXIT_REFUSED = 1  # the exchange answered with an error
EXIT_USAGE = 2  # bad arguments or configuration
EXIT_UNREACHABLE = 3  # no answer from the exchange
EXIT_INTERRUPTED = 130  # Ctrl-C


def whole_number(minimum: int, meaning: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number of at least `minimum`, else an error that says so (and what
    the number means), instead of an error from deep inside the command."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least {minimum}{f' ({meaning})' if meaning else ''}")
        return value

    return parse


def seconds(text: str) -> float:
    """An argparse type: a number of seconds greater than 0."""
    try:
        value = float(text.strip())
    except ValueError:
        value = 0.0
    if not 0 < value < 1e6:  # NaN fails too
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds greater than 0, such as 10 or 2.5")
    return value


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
    """One line, each word once: the server's message and details ("insufficient balance: need $45.00,
    have $10.00"; predictex's details never restate the message, another server's may), and the HTTP status with the
    error code unless the text already says it. A failure to reach the exchange says what to check."""
    if isinstance(error, ApiError):
        text = refusal_text(error.message, error.details) or error.code
        code = error.code if error.code and error.code.replace("_", " ").lower() not in text.lower() else ""
        return f"{text} (HTTP {error.status}{f' {code}' if code else ''})"
    if isinstance(error, TransportError):
        return f"{error}; is the exchange running at that address? (--url chooses another)"
    return str(error)


def fail(command: str, error: BaseException) -> int:
    print(f"predictex {command}: {describe(error)}", file=sys.stderr)
    if isinstance(error, TransportError):
        return EXIT_UNREACHABLE
    if isinstance(error, PredictexError):
        return EXIT_REFUSED
    return EXIT_USAGE


def command(name: str, handler: Callable[[Any], int]) -> Callable[[Any], int]:
    """Run a command's handler; the ordinary failures (bad input or configuration, a refusal, an
    exchange that cannot be reached, Ctrl-C) become one line on stderr and an exit code."""

    def run(arguments: Any) -> int:
        try:
            return handler(arguments)
        except (ConfigError, ValueError) as error:
            print(f"predictex {name}: {error}", file=sys.stderr)
            return EXIT_USAGE
        except PredictexError as error:
            return fail(name, error)
        except BrokenPipeError:
            raise  # the reader went away: main() ends quietly
        except OSError as error:  # a file: a key to read, a key file to write
            print(f"predictex {name}: {error.strerror or error}: {error.filename or ''}".rstrip(": "), file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED

    return run
