"""Kalshi v2 communications: the communications id, RFQs, quotes (in the per-RFQ paths and the older
flat ones the SDK still carries) and block-trade proposals, exactly as the official SDK 3.34.0 calls
them. Writes go through the engine (core/communications.py); reads come from the read model
(readmodel/communications.py) and are written for the caller (gateways/shapes/communications.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from predictex.accounts import Lane
from predictex.core import commands as c
from predictex.core.units import count_from_contracts, money_from_centicents
from predictex.gateways.rest.handlers import Principal, commit, private
from predictex.gateways.rest.kalshi_v2.order_requests import check_routing
from predictex.gateways.rest.kalshi_v2.orders import member_uuid
from predictex.gateways.rest.lookups import body_account, member_account, owner, query_accounts, subaccount_number
from predictex.gateways.rest.wire import (
    ApiError,
    Query,
    bad_request,
    bool_field,
    decode_cursor,
    encode_cursor,
    int_field,
    json_body,
    not_found,
    parse_count_field,
    parse_dollars_field,
    parse_money_field,
    str_field,
)
from predictex.gateways.shapes.communications import Owners, proposal_json, quote_json, rfq_json
from predictex.readmodel.communications import CommunicationsQueries, ProposalView, QuoteView
from predictex.server import ids
from predictex.server.context import Exchange
from predictex.server.http import Request, Response, empty_response, json_response
from predictex.server.router import Router

PREFIX = "/trade-api/v2/communications"
RFQS_PAGE_MAX = 100  # Kalshi: limit 1-100, default 100
QUOTES_PAGE_MAX = 500  # Kalshi: limit 1-500, default 500
PROPOSALS_PAGE_MAX = 100

V = TypeVar("V")


def register(router: Router, exchange: Exchange) -> None:
    def write(handler: Any) -> Any:
        return private(exchange, handler, scope="write", lane=Lane.WRITE)

    def read(handler: Any) -> Any:
        return private(exchange, handler)

    router.add("GET", PREFIX + "/id", read(get_communications_id))
    router.add("GET", PREFIX + "/rfqs", read(get_rfqs))
    router.add("POST", PREFIX + "/rfqs", write(create_rfq))
    router.add("GET", PREFIX + "/rfqs/{rfq_id}", read(get_rfq))
    router.add("DELETE", PREFIX + "/rfqs/{rfq_id}", write(delete_rfq))
    router.add("GET", PREFIX + "/quotes", read(get_quotes))
    router.add("POST", PREFIX + "/quotes", write(create_quote))
    router.add("GET", PREFIX + "/quotes/{quote_id}", read(get_quote))
    router.add("DELETE", PREFIX + "/quotes/{quote_id}", write(delete_quote))
    router.add("PUT", PREFIX + "/quotes/{quote_id}/accept", write(accept_quote))
    router.add("PUT", PREFIX + "/quotes/{quote_id}/confirm", write(confirm_quote))
    router.add("GET", PREFIX + "/rfqs/{rfq_id}/quotes/{quote_id}", read(get_quote))
    router.add("DELETE", PREFIX + "/rfqs/{rfq_id}/quotes/{quote_id}", write(delete_quote))
    router.add("PUT", PREFIX + "/rfqs/{rfq_id}/quotes/{quote_id}/accept", write(accept_quote))
    router.add("PUT", PREFIX + "/rfqs/{rfq_id}/quotes/{quote_id}/confirm", write(confirm_quote))
    router.add("GET", PREFIX + "/block-trade-proposals", read(get_block_trade_proposals))
    router.add("POST", PREFIX + "/block-trade-proposals", write(propose_block_trade))
    router.add("POST", PREFIX + "/block-trade-proposals/{proposal_id}/accept", write(accept_block_trade_proposal))
    router.add("POST", PREFIX + "/block-trade-proposals/{proposal_id}/reject", write(reject_block_trade_proposal))


# --- who and what ---------------------------------------------------------------------------------

def _queries(exchange: Exchange) -> CommunicationsQueries:
    return CommunicationsQueries(exchange.store)


def _owners(exchange: Exchange) -> Owners:
    return exchange.live.subaccount_of


def _is_mine(exchange: Exchange, principal: Principal, account_id: int) -> bool:
    """Whether an engine account is the caller's: its primary account or one of its subaccounts."""
    return owner(exchange, account_id) == principal.account_id


def _number(exchange: Exchange, kind: int, text: str, what: str) -> int:
    number = exchange.ids.from_uuid(kind, text)
    if number is None:
        raise bad_request(f"{what} {text!r} is not an id this exchange issued")
    return number


def _visible_quote(exchange: Exchange, principal: Principal, params: dict[str, str]) -> QuoteView:
    """The quote a path names, if the caller made it or it answers the caller's RFQ (and, in the
    per-RFQ paths, it answers that RFQ)."""
    number = _number(exchange, ids.QUOTE, params["quote_id"], "quote_id")
    view = _queries(exchange).quote(number)
    mine = view is not None and (_is_mine(exchange, principal, view.event.account_id)
                                 or _is_mine(exchange, principal, view.event.rfq_account_id))
    if view is None or not mine or ("rfq_id" in params and exchange.ids.from_uuid(ids.RFQ, params["rfq_id"]) != view.event.rfq_id):
        raise not_found(f"no quote {params['quote_id']}")
    return view


def _acting_account(exchange: Exchange, principal: Principal, body: dict[str, Any]) -> int:
    """The account an RFQ or quote is made in: the body's `subaccount` (0 or absent: the primary)."""
    check_routing(body)
    return body_account(exchange, principal, body)


def _no_fields(request: Request, what: str) -> None:
    body = request.body.strip()
    if body and body != b"{}":
        if json_body(request.body, required=False):
            raise bad_request(f"{what} takes no fields")


def _page_query(query: Query, maximum: int) -> tuple[int, int | None]:
    """(the page size, the id the page starts below, or None for the newest)."""
    limit = query.limit(maximum, maximum)
    cursor = decode_cursor(query.text("cursor"), (int,))
    return limit, (cursor[0] if cursor else None)


def _page(found: list[V], limit: int, number: Callable[[V], int]) -> tuple[list[V], str]:
    """A page of at most `limit` of what a query found (it asks for one more), and the next cursor or ""."""
    page = found[:limit]
    return page, encode_cursor([number(page[-1])]) if len(found) > limit else ""


def _event_tickers(exchange: Exchange, event: str) -> list[str] | None:
    """The markets of the event a listing is filtered by (none for an unknown event), or None: no filter."""
    return list(exchange.live.event_markets.get(event, [])) if event else None


# --- the communications id ------------------------------------------------------------------------

def get_communications_id(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Your public communications id."""
    return {"communications_id": ids.communications_id(exchange.ids, principal.account_id)}


# --- RFQs -----------------------------------------------------------------------------------------

def _rfq_count(body: dict[str, Any]) -> int:
    fp = body.get("contracts_fp")
    whole = body.get("contracts")
    count = parse_count_field(fp, "contracts_fp") if fp is not None else 0
    if whole is not None:
        from_whole = count_from_contracts(int_field(body, "contracts", None, 1))
        if fp is not None and from_whole != count:
            raise bad_request("contracts and contracts_fp disagree")
        count = from_whole
    return count


def _target_cost(body: dict[str, Any]) -> int:
    dollars = body.get("target_cost_dollars")
    centicents = body.get("target_cost_centi_cents")
    cost = parse_money_field(dollars, "target_cost_dollars") if dollars is not None else 0
    if centicents is not None:
        legacy = money_from_centicents(int_field(body, "target_cost_centi_cents", None, 1))
        if dollars is not None and legacy != cost:
            raise bad_request("target_cost_dollars and target_cost_centi_cents disagree")
        cost = legacy
    return cost


async def create_rfq(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    """Create an RFQ (at most 100 open at a time)."""
    body = json_body(request.body)
    account = _acting_account(exchange, principal, body)
    if body.get("subtrader_id"):
        raise bad_request("subtrader_id is for FCM members; this exchange has none")
    if "rest_remainder" not in body:
        raise ApiError(400, "missing_parameters", "rest_remainder is required")
    count, cost = _rfq_count(body), _target_cost(body)
    if (count == 0) == (cost == 0):
        raise ApiError(400, "missing_parameters", "give exactly one of contracts (contracts_fp) and target_cost_dollars")
    command = c.CreateRfq(
        account, str_field(body, "market_ticker", None, 200), count, cost,
        bool_field(body, "target_cost_excludes_fees"), bool_field(body, "rest_remainder"), bool_field(body, "replace_existing"),
        bool_field(body, "obscure_creator_id"), exchange.clock.now_ms() + exchange.config.rfq_lifetime_ms,
    )
    committed = await commit(exchange, command)
    return json_response(201, {"id": exchange.ids.to_uuid(ids.RFQ, committed.outcome.value)})


def get_rfqs(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """List RFQs: every open one, and your own closed ones (of the subaccount asked for, or of all)."""
    query = Query(request.query_params())
    accounts = query_accounts(exchange, principal, query)
    market, event, status = query.text("market_ticker"), query.text("event_ticker"), query.text("status")
    creator = query.text("creator_user_id")
    user_id = member_uuid(exchange, principal)
    mine_only = query.text("user_filter") == "self" or (creator != "" and creator == user_id)
    if creator and not mine_only:
        return {"rfqs": [], "cursor": ""}  # other members' user ids are private: nothing matches them
    tickers = _event_tickers(exchange, event)
    if market:
        tickers = [market] if tickers is None or market in tickers else []
    limit, below = _page_query(query, RFQS_PAGE_MAX)
    found = _queries(exchange).rfqs(accounts, mine_only=mine_only, tickers=tickers, status=status, below=below, limit=limit)
    page, cursor = _page(found, limit, lambda view: view.event.rfq_id)
    owners = _owners(exchange)
    return {"rfqs": [rfq_json(exchange.ids, owners, view, principal.account_id, user_id) for view in page], "cursor": cursor}


def get_rfq(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """One RFQ."""
    number = _number(exchange, ids.RFQ, params["rfq_id"], "rfq_id")
    view = _queries(exchange).rfq(number)
    if view is None or not (view.is_open or _is_mine(exchange, principal, view.event.account_id)):
        raise not_found(f"no RFQ {params['rfq_id']}")
    return {"rfq": rfq_json(exchange.ids, _owners(exchange), view, principal.account_id, member_uuid(exchange, principal))}


async def delete_rfq(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    """Delete your RFQ (whichever of your subaccounts made it)."""
    number = _number(exchange, ids.RFQ, params["rfq_id"], "rfq_id")
    view = _queries(exchange).rfq(number)
    account = view.event.account_id if view is not None and _is_mine(exchange, principal, view.event.account_id) else principal.account_id
    await commit(exchange, c.DeleteRfq(account, number))
    return empty_response(204)


# --- quotes ---------------------------------------------------------------------------------------

async def create_quote(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    """Quote on an RFQ (replaces your open quote on it)."""
    body = json_body(request.body)
    account = _acting_account(exchange, principal, body)
    for name in ("rfq_id", "yes_bid", "no_bid", "rest_remainder"):
        if name not in body:
            raise ApiError(400, "missing_parameters", f"{name} is required")
    rfq = _number(exchange, ids.RFQ, str_field(body, "rfq_id", None, 64), "rfq_id")
    command = c.CreateQuote(
        account, rfq, parse_dollars_field(body["yes_bid"], "yes_bid"), parse_dollars_field(body["no_bid"], "no_bid"),
        bool_field(body, "rest_remainder"), bool_field(body, "post_only"),
    )
    committed = await commit(exchange, command)
    return json_response(201, {"id": exchange.ids.to_uuid(ids.QUOTE, committed.outcome.value)})


def get_quotes(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """List quotes you made or received."""
    query = Query(request.query_params())
    market, event, status = query.text("market_ticker"), query.text("event_ticker"), query.text("status")
    me = member_uuid(exchange, principal)
    quote_creator, rfq_creator = query.text("quote_creator_user_id"), query.text("rfq_creator_user_id")
    if (quote_creator and quote_creator != me) or (rfq_creator and rfq_creator != me):
        return {"quotes": [], "cursor": ""}  # only the caller's own user id names quotes it may see
    rfq_text = query.text("rfq_id")
    rfq = _number(exchange, ids.RFQ, rfq_text, "rfq_id") if rfq_text else 0
    min_ts, max_ts = query.integer("min_ts", 0, 0), query.integer("max_ts", 0, 0)
    tickers = _event_tickers(exchange, event)
    if market:
        tickers = [market] if tickers is None or market in tickers else []
    limit, below = _page_query(query, QUOTES_PAGE_MAX)
    account = principal.account_id
    queries = _queries(exchange)
    found = queries.quotes(
        query_accounts(exchange, principal, query), as_maker=bool(quote_creator), as_requester=bool(rfq_creator), rfq_id=rfq, tickers=tickers, status=status,
        min_created_ms=(min_ts or 0) * 1000, max_created_ms=(max_ts or 0) * 1000, below=below, limit=limit,
    )
    page, cursor = _page(found, limit, lambda view: view.event.quote_id)
    rfqs = queries.rfqs_by_id([view.event.rfq_id for view in page])
    owners = _owners(exchange)
    return {"quotes": [quote_json(exchange.ids, owners, v, rfqs.get(v.event.rfq_id), account, me) for v in page], "cursor": cursor}


def get_quote(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """One quote you made or received."""
    view = _visible_quote(exchange, principal, params)
    rfq = _queries(exchange).rfq(view.event.rfq_id)
    return {"quote": quote_json(exchange.ids, _owners(exchange), view, rfq, principal.account_id, member_uuid(exchange, principal))}


def _quote_command(summary: str, make: Callable[[int, int, dict[str, Any] | None], c.Command], side: str,
                   takes_body: bool = False) -> Any:
    """A write on one quote, made by the caller's account on `side` of it ("maker": the quote's own
    account, deletes and confirms; "requester": the RFQ's account, accepts): the subaccount that
    made the quote or the RFQ acts, as Kalshi's accept and confirm carry no subaccount."""
    async def handler(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
        number = _number(exchange, ids.QUOTE, params["quote_id"], "quote_id")
        if "rfq_id" in params:  # the per-RFQ paths: the quote must answer that RFQ
            _visible_quote(exchange, principal, params)
        body = json_body(request.body) if takes_body else None
        if not takes_body:
            _no_fields(request, "this request")
        view = _queries(exchange).quote(number)
        account = principal.account_id
        if view is not None:  # the caller's side of the quote, else its other side (which the engine refuses by name)
            own, other = (view.event.account_id, view.event.rfq_account_id) if side == "maker" else (
                view.event.rfq_account_id, view.event.account_id)
            account = next((acting for acting in (own, other) if _is_mine(exchange, principal, acting)), account)
        command = make(account, number, body)
        if isinstance(command, c.AcceptQuote):
            command.confirm_deadline_ms = exchange.clock.now_ms() + exchange.config.quote_confirm_window_ms
        await commit(exchange, command)
        return empty_response(204)
    handler.__doc__ = summary
    return handler


def _accept(account: int, number: int, body: dict[str, Any] | None) -> c.Command:
    assert body is not None
    side = str_field(body, "accepted_side", None, 8)
    if side not in ("yes", "no"):
        raise bad_request("accepted_side must be yes or no")
    return c.AcceptQuote(account, number, side, 0)


delete_quote = _quote_command("Delete a quote (it can no longer be accepted)",
                              lambda account, number, body: c.DeleteQuote(account, number), "maker")
accept_quote = _quote_command("Accept one side of a quote on your RFQ (its maker must confirm)", _accept, "requester", takes_body=True)
confirm_quote = _quote_command("Confirm your accepted quote: it executes off the book",
                               lambda account, number, body: c.ConfirmQuote(account, number), "maker")


# --- block trades ---------------------------------------------------------------------------------

def _account_of_user(exchange: Exchange, text: str, name: str) -> int:
    number = exchange.ids.from_uuid(ids.MEMBER, text)
    member = exchange.accounts.members.get(number) if number is not None else None
    if member is None:
        raise not_found(f"{name}: no member {text}")
    account: int = member.engine_account_id
    return account


def _time_ms(value: Any, name: str) -> int:
    if not isinstance(value, str):
        raise bad_request(f"{name} must be an RFC 3339 time")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise bad_request(f"{name} must be an RFC 3339 time, not {value[:40]!r}") from error
    if moment.tzinfo is None:
        raise bad_request(f"{name} needs a time zone (Z or an offset)")
    return int(moment.timestamp() * 1000)


async def propose_block_trade(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    """Propose a block trade as its buyer or seller (from the subaccount your side's `_subaccount`
    names; the other side chooses its own when it accepts)."""
    body = json_body(request.body)
    for name in ("buyer_user_id", "seller_user_id", "market_ticker", "price_centi_cents", "centicount", "maker_side", "expiration_ts"):
        if name not in body:
            raise ApiError(400, "missing_parameters", f"{name} is required")
    parties = {party: _account_of_user(exchange, str_field(body, f"{party}_user_id", None, 64), f"{party}_user_id")
               for party in ("buyer", "seller")}
    proposer = principal.account_id
    for party in ("buyer", "seller"):
        if body.get(f"{party}_subtrader_id"):
            raise bad_request(f"{party}_subtrader_id is for FCM members; this exchange has none")
        number = body.get(f"{party}_subaccount")
        if number is None:
            continue
        if parties[party] != principal.account_id:
            if number != 0:
                raise bad_request(f"{party}_subaccount: the other side chooses its subaccount when it accepts")
            continue
        parties[party] = member_account(exchange, principal, subaccount_number(number, f"{party}_subaccount"))
        proposer = parties[party]
    command = c.ProposeBlockTrade(
        proposer, parties["buyer"], parties["seller"],
        str_field(body, "market_ticker", None, 200), int_field(body, "price_centi_cents", None, 1),
        int_field(body, "centicount", None, 1), str_field(body, "maker_side", None, 8),
        _time_ms(body["expiration_ts"], "expiration_ts"),
    )
    committed = await commit(exchange, command)
    return json_response(201, {"block_trade_proposal_id": exchange.ids.to_uuid(ids.BLOCK_TRADE, committed.outcome.value)})


def get_block_trade_proposals(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """List block trade proposals you are a party to."""
    query = Query(request.query_params())
    market, status = query.text("market_ticker"), query.text("status")
    account = principal.account_id
    limit, below = _page_query(query, PROPOSALS_PAGE_MAX)
    found = _queries(exchange).proposals(query_accounts(exchange, principal, query), ticker=market, status=status, below=below, limit=limit)
    page, cursor = _page(found, limit, lambda view: view.event.proposal_id)
    user_ids = _party_user_ids(exchange, page)
    owners = _owners(exchange)
    return {"block_trade_proposals": [proposal_json(exchange.ids, owners, v, account, user_ids) for v in page], "cursor": cursor}


def _party_user_ids(exchange: Exchange, views: list[ProposalView]) -> dict[int, str]:
    found: dict[int, str] = {}
    for view in views:
        e = view.event
        for account in (e.proposer_account_id, e.buyer_account_id, e.seller_account_id):
            if account not in found:
                member = exchange.accounts.members.get_by_account(owner(exchange, account))
                found[account] = exchange.ids.to_uuid(ids.MEMBER, member.member_id) if member is not None else ""
    return found


def _proposal_command(summary: str, make: Callable[[int, int], c.Command]) -> Any:
    async def handler(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
        number = _number(exchange, ids.BLOCK_TRADE, params["proposal_id"], "block_trade_proposal_id")
        body = json_body(request.body, required=False) if request.body.strip() else {}
        if body.get("subtrader_id"):
            raise bad_request("subtrader_id is for FCM members; this exchange has none")
        await commit(exchange, make(body_account(exchange, principal, body), number))
        return empty_response(204)
    handler.__doc__ = summary
    return handler


accept_block_trade_proposal = _proposal_command("Accept a block trade proposed to you: it executes off the book", c.AcceptBlockTrade)
reject_block_trade_proposal = _proposal_command("Reject a block trade proposal (predictex's; the SDK has no call for it)",
                                                c.RejectBlockTrade)
