"""`predictex admin`: the operator's commands, sent to a running exchange signed with the operator's
API key (by default the one `predictex serve` wrote to the data directory on first start)."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from predictex.cli.output import describe
from predictex.client import Client, PredictexError

A = "/predictex/v1/admin"


def register(commands: Any) -> None:
    admin = commands.add_parser("admin", help="operate the exchange: markets, results, members, money")
    admin.add_argument("--url", default=os.environ.get("PREDICTEX_URL", "http://127.0.0.1:8000"))
    admin.add_argument("--data-dir", default=os.environ.get("PREDICTEX_DATA_DIR", "predictex-data"),
                       help="where operator.json is (written by `predictex serve` on first start)")
    admin.add_argument("--key-id", default=None, help="an admin API key id (default: the operator's)")
    admin.add_argument("--key-file", default=None, help="its private key file")
    admin.set_defaults(handler=run)
    things = admin.add_subparsers(dest="thing", required=True, metavar="THING")
    _series(things)
    _event(things)
    _market(things)
    _exchange(things)
    _member(things)
    _withdrawal(things)


def _series(things: Any) -> None:
    series = things.add_parser("series", help="create a series").add_subparsers(dest="action", required=True)
    create = series.add_parser("create")
    create.add_argument("ticker")
    create.add_argument("--title", required=True)
    create.add_argument("--category", default="")
    create.add_argument("--frequency", default="")
    create.add_argument("--fee-type", default="quadratic")
    create.add_argument("--fee-multiplier", default="1")
    create.set_defaults(request=lambda a: ("POST", f"{A}/series", {
        "ticker": a.ticker, "title": a.title, "category": a.category, "frequency": a.frequency, "fee_type": a.fee_type,
        "fee_multiplier": a.fee_multiplier,
    }))


def _event(things: Any) -> None:
    event = things.add_parser("event", help="create an event").add_subparsers(dest="action", required=True)
    create = event.add_parser("create")
    create.add_argument("event_ticker")
    create.add_argument("--series", required=True)
    create.add_argument("--title", required=True)
    create.add_argument("--sub-title", default="")
    create.add_argument("--mutually-exclusive", action="store_true")
    create.set_defaults(request=lambda a: ("POST", f"{A}/events", {
        "event_ticker": a.event_ticker, "series_ticker": a.series, "title": a.title, "sub_title": a.sub_title,
        "mutually_exclusive": a.mutually_exclusive,
    }))


def _market(things: Any) -> None:
    market = things.add_parser("market", help="create and run markets").add_subparsers(dest="action", required=True)
    create = market.add_parser("create")
    create.add_argument("ticker")
    create.add_argument("--event", required=True)
    create.add_argument("--title", required=True)
    create.add_argument("--close-time", required=True, help="RFC 3339 (2027-01-31T20:00:00Z) or Unix seconds")
    create.add_argument("--open-time", default=None)
    create.add_argument("--structure", default="linear_cent", help="price level structure (default linear_cent)")
    create.add_argument("--fractional", action="store_true", help="allow 0.01-contract orders")
    create.add_argument("--settlement-timer", type=int, default=0, help="seconds from determination to settlement")
    create.add_argument("--rules", default="")
    create.set_defaults(request=lambda a: ("POST", f"{A}/markets", {
        "ticker": a.ticker, "event_ticker": a.event, "title": a.title, "close_time": _time(a.close_time),
        **({"open_time": _time(a.open_time)} if a.open_time else {}), "price_level_structure": a.structure,
        "fractional_trading_enabled": a.fractional, "settlement_timer_seconds": a.settlement_timer, "rules_primary": a.rules,
    }))
    for action in ("pause", "resume", "finalize"):
        step = market.add_parser(action)
        step.add_argument("ticker")
        step.set_defaults(request=lambda a, action=action: ("POST", f"{A}/markets/{a.ticker}/{action}", {}))
    close = market.add_parser("close", help="close now (or at --at)")
    close.add_argument("ticker")
    close.add_argument("--at", default=None, help="RFC 3339 or Unix seconds (default: now)")
    close.set_defaults(request=lambda a: ("POST", f"{A}/markets/{a.ticker}/times", {"close_time": _time(a.at) if a.at else _now()}))
    for action in ("determine", "amend"):
        step = market.add_parser(action, help="set (or amend, after a dispute) the result")
        step.add_argument("ticker")
        step.add_argument("--result", required=True, choices=("yes", "no", "scalar", "void"))
        step.add_argument("--value", default=None, help="a scalar result's YES payout in dollars, e.g. 0.33")
        step.add_argument("--source", default="", help="where the result comes from")
        step.set_defaults(request=lambda a, action=action: ("POST", f"{A}/markets/{a.ticker}/{action}", {
            "result": a.result, "source": a.source, **({"settlement_value_dollars": a.value} if a.value else {}),
        }))
    dispute = market.add_parser("dispute")
    dispute.add_argument("ticker")
    dispute.add_argument("--reason", default="")
    dispute.set_defaults(request=lambda a: ("POST", f"{A}/markets/{a.ticker}/dispute", {"reason": a.reason}))


def _exchange(things: Any) -> None:
    exchange = things.add_parser("exchange", help="pause or resume the whole exchange").add_subparsers(dest="action", required=True)
    for action, active, trading in (("resume", True, True), ("pause-trading", True, False), ("maintenance", False, False)):
        step = exchange.add_parser(action)
        step.set_defaults(request=lambda a, e=active, t=trading: ("POST", f"{A}/exchange/status", {"exchange_active": e, "trading_active": t}))


def _member(things: Any) -> None:
    member = things.add_parser("member", help="members and their money").add_subparsers(dest="action", required=True)
    member.add_parser("list").set_defaults(request=lambda a: ("GET", f"{A}/members", None))
    create = member.add_parser("create")
    create.add_argument("email")
    create.add_argument("--password", required=True)
    create.add_argument("--role", default="member", choices=("member", "admin"))
    create.add_argument("--tier", default="basic")
    create.set_defaults(request=lambda a: ("POST", f"{A}/members", {"email": a.email, "password": a.password, "role": a.role, "tier": a.tier}))
    for action, path in (("deposit", "deposits"), ("withdraw", "withdrawals")):
        step = member.add_parser(action)
        step.add_argument("member_id")
        step.add_argument("amount", help="dollars, e.g. 250.00")
        step.set_defaults(request=lambda a, path=path: ("POST", f"{A}/members/{a.member_id}/{path}", {"amount_dollars": a.amount}))
    tier = member.add_parser("tier")
    tier.add_argument("member_id")
    tier.add_argument("tier")
    tier.set_defaults(request=lambda a: ("PUT", f"{A}/members/{a.member_id}/tier", {"tier": a.tier}))


def _withdrawal(things: Any) -> None:
    withdrawal = things.add_parser("withdrawal", help="complete or cancel a pending withdrawal").add_subparsers(dest="action", required=True)
    for action in ("complete", "cancel"):
        step = withdrawal.add_parser(action)
        step.add_argument("withdrawal_id")
        step.set_defaults(request=lambda a, action=action: ("POST", f"{A}/withdrawals/{a.withdrawal_id}/{action}", {}))


def _time(text: str) -> Any:
    return int(text) if text.isdigit() else text


def _now() -> int:
    return int(time.time())


def _client(arguments: argparse.Namespace) -> Client:
    key_id, key_file = arguments.key_id, arguments.key_file
    if key_id is None or key_file is None:
        details_path = Path(arguments.data_dir) / "operator.json"
        try:
            details = json.loads(details_path.read_text())
        except (OSError, ValueError) as error:
            raise SystemExit(f"predictex admin: give --key-id and --key-file, or run where {details_path} is ({error})") from error
        key_id = key_id or details["api_key_id"]
        key_file = key_file or details["private_key_path"]
    return Client(arguments.url, key_id=key_id, private_key=Path(key_file))


def run(arguments: argparse.Namespace) -> int:
    method, path, body = arguments.request(arguments)
    try:
        with _client(arguments) as client:
            result = client.request(method, path, body)
    except PredictexError as error:
        print(f"predictex admin: {describe(error)}")
        return 1
    print(json.dumps(result, indent=2))
    return 0
