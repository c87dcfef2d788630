"""`predictex admin`: the operator's commands, sent to a running exchange signed with the operator's
API key (by default the one `predictex serve` wrote to the data directory's operator.json on its first
start). Results print as tables, or as the server's JSON with `--json`; failures as one line on stderr
with the trader commands' exit codes (1 refused, 2 bad arguments or configuration, 3 unreachable).

`predictex admin credentials reset` is the exception: it works on the data directory and journal
directly, with the server stopped (see credentials.py)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from predictex.cli import credentials
from predictex.cli import output as out
from predictex.cli.config import ConfigError
from predictex.client import Client

A = "/predictex/v1/admin"
DEFAULT_URL = "http://127.0.0.1:8000"

Request = Callable[..., tuple[str, str, Any]]  # (method, path, body) from the parsed arguments


def register(commands: Any) -> None:
    admin = commands.add_parser(
        "admin", help="operate the exchange: markets, results, members, money",
        description="The operator's commands, signed with the operator's API key from DATA_DIR/operator.json "
                    "(or --key-id and --key-file).")
    admin.add_argument("--url", default=os.environ.get("PREDICTEX_URL", DEFAULT_URL),
                       help=f"the exchange's URL (default: PREDICTEX_URL or {DEFAULT_URL})")
    admin.add_argument("--data-dir", default=os.environ.get("PREDICTEX_DATA_DIR", "predictex-data"),
                       help="the server's data directory, where operator.json is (default: PREDICTEX_DATA_DIR or ./predictex-data)")
    admin.add_argument("--key-id", default=None, help="an admin API key id (default: the operator's, from operator.json)")
    admin.add_argument("--key-file", default=None, help="that key's private key file (default: the operator's)")
    things = admin.add_subparsers(dest="thing", required=True, metavar="THING")
    _series(things)
    _event(things)
    _market(things)
    _exchange(things)
    _member(things)
    _withdrawal(things)
    credentials.register(things)


class _Group:
    """`predictex admin THING ...`: its actions, each one request to the operator API."""

    def __init__(self, things: Any, name: str, helptext: str) -> None:
        self.name = name
        parser = things.add_parser(name, help=helptext, description=_sentence(helptext))
        self.actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    def leaf(self, name: str, helptext: str, request: Request) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self.actions.add_parser(name, help=helptext, description=_sentence(helptext))
        parser.add_argument("--json", action="store_true", help="print the server's JSON answer")
        parser.set_defaults(handler=out.command(f"admin {self.name} {name}", run), request=request, command=f"admin {self.name} {name}")
        return parser


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + "."


def _series(things: Any) -> None:
    series = _Group(things, "series", "create series (a family of events, with its fee schedule)")
    create = series.leaf("create", "create a series", lambda a: ("POST", f"{A}/series", {
        "ticker": a.ticker, "title": a.title, "category": a.category, "frequency": a.frequency, "fee_type": a.fee_type,
        "fee_multiplier": a.fee_multiplier,
    }))
    create.add_argument("ticker", help="the series ticker, e.g. KXCPI")
    create.add_argument("--title", required=True, help="what the series is about")
    create.add_argument("--category", default="", help="e.g. Economics")
    create.add_argument("--frequency", default="", help="e.g. daily, monthly")
    create.add_argument("--fee-type", default="quadratic", help="quadratic (default), quadratic_with_maker_fees or flat")
    create.add_argument("--fee-multiplier", default="1", help="scales the fee schedule (default 1)")


def _event(things: Any) -> None:
    event = _Group(things, "event", "create events (a question with one or more markets)")
    create = event.leaf("create", "create an event in a series", lambda a: ("POST", f"{A}/events", {
        "event_ticker": a.event_ticker, "series_ticker": a.series, "title": a.title, "sub_title": a.sub_title,
        "mutually_exclusive": a.mutually_exclusive,
    }))
    create.add_argument("event_ticker", help="the event ticker, e.g. KXCPI-27JAN")
    create.add_argument("--series", required=True, help="the series it belongs to")
    create.add_argument("--title", required=True, help="the event's question")
    create.add_argument("--sub-title", default="", help="a short line under the title")
    create.add_argument("--mutually-exclusive", action="store_true", help="at most one of its markets can resolve yes")


def _market(things: Any) -> None:
    market = _Group(things, "market", "create and run markets: open, pause, close, determine, settle")
    create = market.leaf("create", "create a market in an event", lambda a: ("POST", f"{A}/markets", {
        "ticker": a.ticker, "event_ticker": a.event, "title": a.title, "close_time": _time(a.close_time),
        **({"open_time": _time(a.open_time)} if a.open_time else {}), "price_level_structure": a.structure,
        "fractional_trading_enabled": a.fractional, "settlement_timer_seconds": a.settlement_timer, "rules_primary": a.rules,
    }))
    create.add_argument("ticker", help="the market ticker, e.g. KXCPI-27JAN-T3.5")
    create.add_argument("--event", required=True, help="the event it belongs to")
    create.add_argument("--title", required=True, help="the market's yes/no question")
    create.add_argument("--close-time", required=True, help="when trading ends: RFC 3339 (2027-01-31T20:00:00Z) or Unix seconds")
    create.add_argument("--open-time", default=None, help="when trading starts (default: now)")
    create.add_argument("--structure", default="linear_cent", help="price level structure (default linear_cent)")
    create.add_argument("--fractional", action="store_true", help="allow 0.01-contract orders")
    create.add_argument("--settlement-timer", type=out.whole_number(0), default=0,
                        help="seconds from determination to settlement, a window for disputes (default 0: determine settles at once)")
    create.add_argument("--rules", default="", help="the rules that decide the result")
    for action, helptext in (("pause", "pause trading in a market (resting orders stay, unless they asked otherwise)"),
                             ("resume", "resume a paused market (Kalshi's rule: resting orders are cancelled)"),
                             ("finalize", "settle a determined market now, without waiting for its settlement timer")):
        step = market.leaf(action, helptext, lambda a, action=action: ("POST", f"{A}/markets/{a.ticker}/{action}", {}))
        step.add_argument("ticker", help="the market")
    close = market.leaf("close", "close a market now (or at --at); resting orders are cancelled",
                  lambda a: ("POST", f"{A}/markets/{a.ticker}/times", {"close_time": _time(a.at) if a.at else _now()}))
    close.add_argument("ticker", help="the market")
    close.add_argument("--at", default=None, help="RFC 3339 or Unix seconds (default: now)")
    for action, helptext in (("determine", "set a closed market's result; it settles when its settlement timer ends"),
                             ("amend", "set a new result for a disputed market")):
        step = market.leaf(action, helptext, lambda a, action=action: ("POST", f"{A}/markets/{a.ticker}/{action}", {
            "result": a.result, "source": a.source, **({"settlement_value_dollars": a.value} if a.value else {}),
        }))
        step.add_argument("ticker", help="the market")
        step.add_argument("--result", required=True, choices=("yes", "no", "scalar", "void"),
                          help="yes (YES pays $1), no, scalar (YES pays --value), void (positions refunded)")
        step.add_argument("--value", default=None, help="a scalar result's YES payout in dollars, e.g. 0.33")
        step.add_argument("--source", default="", help="where the result comes from")
    dispute = market.leaf("dispute", "dispute a determined market's result (stops its settlement timer)",
                    lambda a: ("POST", f"{A}/markets/{a.ticker}/dispute", {"reason": a.reason}))
    dispute.add_argument("ticker", help="the market")
    dispute.add_argument("--reason", default="", help="why")


def _exchange(things: Any) -> None:
    exchange = _Group(things, "exchange", "pause or resume the whole exchange")
    for action, active, trading, helptext in (
        ("resume", True, True, "resume the exchange: trading and everything else"),
        ("pause-trading", True, False, "stop trading everywhere; everything else goes on"),
        ("maintenance", False, False, "stop the exchange: trading, withdrawals and members' other actions"),
    ):
        exchange.leaf(action, helptext, lambda a, e=active, t=trading: (
            "POST", f"{A}/exchange/status", {"exchange_active": e, "trading_active": t}))


def _member(things: Any) -> None:
    member = _Group(things, "member", "members and their money")
    member.leaf("list", "every member", lambda a: ("GET", f"{A}/members", None))
    create = member.leaf("create", "create a member (with an engine account; play money in demo)", lambda a: (
        "POST", f"{A}/members", {"email": a.email, "password": a.password, "role": a.role, "tier": a.tier}))
    create.add_argument("email", help="the member's email, their login")
    create.add_argument("--password", required=True, help="at least 8 characters")
    create.add_argument("--role", default="member", choices=("member", "admin"), help="admin may use these commands (default member)")
    create.add_argument("--tier", default="basic", help="rate-limit tier: basic (default), advanced, premier or prestige")
    for action, path, helptext in (("deposit", "deposits", "add money to a member's account"),
                                   ("withdraw", "withdrawals", "start a withdrawal (complete or cancel it with `admin withdrawal`)")):
        step = member.leaf(action, helptext, lambda a, path=path: (
            "POST", f"{A}/members/{a.member_id}/{path}", {"amount_dollars": a.amount}))
        step.add_argument("member_id", help="the member's id (from `admin member list`)")
        step.add_argument("amount", help="dollars, e.g. 250.00")
    tier = member.leaf("tier", "change a member's rate-limit tier", lambda a: (
        "PUT", f"{A}/members/{a.member_id}/tier", {"tier": a.tier}))
    tier.add_argument("member_id", help="the member's id (from `admin member list`)")
    tier.add_argument("tier", help="basic, advanced, premier or prestige")
    suspend = member.leaf("suspend", "end the member's sessions and connections at once and refuse them until reinstated",
                          lambda a: ("POST", f"{A}/members/{a.member_id}/suspend",
                                     {"reason": a.reason, "cancel_orders": not a.keep_orders}))
    suspend.add_argument("member_id", help="the member's id (from `admin member list`)")
    suspend.add_argument("--reason", default="", help="why, shown to the member's closing connections and in the log")
    suspend.add_argument("--keep-orders", action="store_true", help="leave the member's resting orders in the books")
    reinstate = member.leaf("reinstate", "lift a suspension", lambda a: ("POST", f"{A}/members/{a.member_id}/reinstate", {}))
    reinstate.add_argument("member_id", help="the member's id (from `admin member list`)")
    close = member.leaf("close", "close a member's account for good (refused while it holds orders, positions or cash)",
                        lambda a: ("POST", f"{A}/members/{a.member_id}/close", {"reason": a.reason}))
    close.add_argument("member_id", help="the member's id (from `admin member list`)")
    close.add_argument("--reason", default="", help="why, shown to the member's closing connections and in the log")
    unlock = member.leaf("unlock", "forget the member's failed password logins (ends a login lock at once)",
                         lambda a: ("DELETE", f"{A}/members/{a.member_id}/login_failures", None))
    unlock.add_argument("member_id", help="the member's id (from `admin member list`)")


def _withdrawal(things: Any) -> None:
    withdrawal = _Group(things, "withdrawal", "complete or cancel a pending withdrawal")
    for action, helptext in (("complete", "the money has been paid out: take it off the account"),
                             ("cancel", "return the money to the member's available balance")):
        step = withdrawal.leaf(action, helptext, lambda a, action=action: (
            "POST", f"{A}/withdrawals/{a.withdrawal_id}/{action}", {}))
        step.add_argument("withdrawal_id", help="the id `admin member withdraw` printed")


def _time(text: str) -> Any:
    return int(text) if text.isascii() and text.isdigit() else text


def _now() -> int:
    return int(time.time())


def _client(arguments: argparse.Namespace) -> Client:
    key_id, key_file = arguments.key_id, arguments.key_file
    if key_id is None or key_file is None:
        details_path = Path(arguments.data_dir) / "operator.json"
        try:
            details = json.loads(details_path.read_text())
            key_id = key_id or str(details["api_key_id"])
            key_file = key_file or str(details["private_key_path"])
        except FileNotFoundError:
            raise ConfigError(f"no operator credentials at {details_path}: run this where the server's data directory is "
                              "(or give --data-dir), or give --key-id and --key-file; lost them? with the server stopped, "
                              f"`predictex admin credentials reset --data-dir {arguments.data_dir}` makes new ones") from None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ConfigError(f"cannot read the operator's credentials from {details_path}: {error}") from None
    path = Path(key_file).expanduser()
    if not path.is_file():
        raise ConfigError(f"private key file {path} does not exist")
    return Client(arguments.url, key_id=key_id, private_key=path)


def run(arguments: argparse.Namespace) -> int:
    method, path, body = arguments.request(arguments)
    with _client(arguments) as client:
        result = client.request(method, path, body)
    if arguments.json:
        out.print_json(result)
        return out.EXIT_OK
    print_result(result)
    if arguments.command == "admin market determine" and isinstance(result, dict) and result.get("status") == "finalized":
        print("(settled at once: the market's settlement timer is 0)")
    return out.EXIT_OK


def print_result(result: Any) -> None:
    """A list (the only list in an answer) as a table of its items; an object as a one-row table. As the
    trader's tables: headers in words ("member id"), times as "2026-12-07 14:08", yes/no, "-" for none."""
    if isinstance(result, dict):
        lists = [value for value in result.values() if isinstance(value, list)]
        if len(result) == 1 and len(lists) == 1 and all(isinstance(item, dict) for item in lists[0]):
            rows = lists[0]
            keys = list(rows[0]) if rows else []
            out.table([_header(key) for key in keys] or ["(none)"], ([_cell(row.get(key)) for key in keys] for row in rows))
            return
        out.table([_header(key) for key in result], [[_cell(value) for value in result.values()]])
        return
    print(json.dumps(result, indent=2))


def _header(key: str) -> str:
    return key.replace("_", " ")


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, str) and value[10:11] == "T" and value.endswith("Z"):  # the server's RFC 3339 times
        with contextlib.suppress(ValueError):
            return dt.datetime.fromisoformat(value.removesuffix("Z") + "+00:00")
    return value
