"""Kalshi v2 portfolio reads (reference §4.3, §7): balance, positions (market and event), fills
(newest first, with fees), settlements; deposits and withdrawals are money.py's. Balance and positions are one
subaccount's (`subaccount`, 0 = the primary account, by default); fills and settlements cover every
subaccount of the member unless `subaccount` names one."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from predictex.core.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, TICKERS_PER_REQUEST_MAX
from predictex.core.orders import Action
from predictex.gateways.rest.handlers import Principal, private
from predictex.gateways.rest.kalshi_v2 import exchange_instances, fcm, money, subaccounts, usage_level
from predictex.gateways.rest.lookups import query_account, query_accounts
from predictex.gateways.rest.wire import Query, bad_request, decode_cursor, encode_cursor
from predictex.gateways.shapes import kalshi as shapes
from predictex.readmodel import portfolio
from predictex.readmodel.live import Holding
from predictex.readmodel.queries import Queries
from predictex.server import ids
from predictex.server.context import Exchange
from predictex.server.http import Request
from predictex.server.router import Router

PREFIX = "/trade-api/v2/portfolio"


def register(router: Router, exchange: Exchange) -> None:
    router.add("GET", PREFIX + "/balance", private(exchange, balance))
    router.add("GET", PREFIX + "/positions", private(exchange, positions))
    router.add("GET", PREFIX + "/fills", private(exchange, fills))
    router.add("GET", PREFIX + "/settlements", private(exchange, settlements))
    router.add("GET", PREFIX + "/deposits", private(exchange, money.deposits))
    router.add("GET", PREFIX + "/withdrawals", private(exchange, money.withdrawals))
    subaccounts.register(router, exchange)
    fcm.register(router, exchange)
    exchange_instances.register(router, exchange)
    usage_level.register(router, exchange)


def balance(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    account = query_account(exchange, principal, Query(request.query_params())) if request.query else principal.account_id
    live = exchange.live
    found = portfolio.balances(live, account)
    return shapes.balance(found, found.updated_ms or live.time_ms)


def positions(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    query = Query(request.query_params())
    account = query_account(exchange, principal, query)
    limit = query.limit(PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
    status = query.text("settlement_status", "unsettled")
    if status not in ("unsettled", "settled", "all"):
        raise bad_request("settlement_status must be unsettled, settled or all")
    count_filter = set(query.texts("count_filter"))
    if count_filter - {"position", "total_traded"}:
        raise bad_request("count_filter takes position and/or total_traded")
    ticker, event_ticker = query.text("ticker"), query.text("event_ticker")
    live = exchange.live
    rows: list[tuple[str, Holding]] = []
    if status in ("unsettled", "all"):
        rows += live.holdings.get(account, {}).items()
    if status in ("settled", "all"):  # those in archived markets are under /historical/positions
        rows += [
            (t, h) for t, h in portfolio.settled_holdings(live, exchange.store, account)
            if not live.schedules.is_archived_market(live.markets[t].settled_ms)
        ]
    rows.sort(key=lambda row: row[0])  # the cursor is the last ticker of a page
    after = decode_cursor(query.text("cursor"), (str,))
    selected = [
        (t, h) for t, h in rows
        if (not ticker or t == ticker) and (not event_ticker or live.markets[t].event_ticker == event_ticker)
        and ("position" not in count_filter or h.position_centicontracts != 0 or h.hedged_centicontracts() != 0)
        and ("total_traded" not in count_filter or h.total_traded_microdollars != 0)
        and (after is None or t > after[0])
    ]
    page = selected[:limit]
    by_event: dict[str, list[Holding]] = defaultdict(list)
    resting = portfolio.resting_by_market(live, account)
    for t, h in page:
        by_event[live.markets[t].event_ticker].append(h)
    return {
        "market_positions": [entry for t, h in page for entry in shapes.market_positions(t, h, resting.get(t, 0))],
        "event_positions": [
            shapes.event_position(e, hs, sum(resting.get(t, 0) for t in live.event_markets.get(e, []))) for e, hs in by_event.items()
        ],
        "cursor": encode_cursor([page[-1][0]]) if len(selected) > limit and page else "",
    }


def fills(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    query = Query(request.query_params())
    limit = query.limit(PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
    tickers = query.texts("ticker")
    if len(tickers) > TICKERS_PER_REQUEST_MAX:
        raise bad_request(f"ticker names at most {TICKERS_PER_REQUEST_MAX} markets")
    order_id = None
    if query.text("order_id"):
        order_id = exchange.ids.from_uuid(ids.ORDER, query.text("order_id"))
        if order_id is None:
            return {"fills": [], "cursor": ""}
    cursor = decode_cursor(query.text("cursor"), (int, int))
    rows = Queries(exchange.live, exchange.store).fills(
        query_accounts(exchange, principal, query), tickers=frozenset(tickers) if tickers else None, order_id=order_id,
        # fills before the trades cutoff are under /historical/fills
        min_ms=max((query.integer("min_ts", 0, 0) or 0) * 1000, exchange.live.schedules.archive_cutoff_ms[1]),
        max_ms=(query.integer("max_ts", 1 << 40, 0) or 0) * 1000 + 999,
        limit=limit, before=(cursor[0], cursor[1]) if cursor else None, with_account=True,
    )
    page = rows[:limit]
    labels = Queries(exchange.live, exchange.store).order_labels([row[3] for row in page])
    number = exchange.live.subaccount_number
    return {
        "fills": [shapes.fill(row, exchange.ids, *labels.get(row[3], (Action.BUY, "")), number(row[9])) for row in page],
        "cursor": encode_cursor([page[-1][0], int(page[-1][1])]) if len(rows) > limit and page else "",
    }


def settlements(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    query = Query(request.query_params())
    limit = query.limit(PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
    cursor = decode_cursor(query.text("cursor"), (int, str, int))
    rows = Queries(exchange.live, exchange.store).settlements(
        query_accounts(exchange, principal, query), ticker=query.text("ticker"), event_ticker=query.text("event_ticker"),
        min_ms=(query.integer("min_ts", 0, 0) or 0) * 1000, max_ms=(query.integer("max_ts", 1 << 40, 0) or 0) * 1000 + 999,
        limit=limit, before=(cursor[0], cursor[1], cursor[2]) if cursor else None,
    )
    page = rows[:limit]
    live = exchange.live
    answers = []
    for row in page:
        market = live.markets.get(row[0])
        answers.append(shapes.settlement(row, market.event_ticker if market else "", market.settlement_value_centicents if market else -1))
    return {"settlements": answers,
            "cursor": encode_cursor([page[-1][1], page[-1][0], page[-1][7]]) if len(rows) > limit and page else ""}
