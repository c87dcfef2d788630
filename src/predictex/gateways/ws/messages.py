"""The bodies of streamed messages, from committed events and the read model, for both surfaces.

Pure functions returning JSON-ready dicts. Where a REST object carries the same facts (an order, a
fill, a public trade, an order book) the REST shape is reused and the WebSocket-only fields are added,
so a stream and the REST answer never disagree. Kalshi v2 bodies follow reference §9.3 and the
AsyncAPI document, with the legacy integer fields alongside as on REST (the union every era reads);
the seed's bodies use its REST shapes (prices in units of $0.0001, quantities in contracts).

Market lifecycle (Kalshi's `market_lifecycle_v2` has no `closed` event type): opening and resuming
are `activated`, pausing and closing are `deactivated` (`is_deactivated` true for a pause, false for
a resume), a determination (or an amended one) is `determined`, finalisation is `settled`, a new
close time is `close_date_updated`. A dispute has no event type of its own and sends nothing.
"""

from __future__ import annotations

from typing import Any

from predictex.core import events as ev
from predictex.core.instruments import RESULT_VOID
from predictex.core.units import money_to_centicents, price_complement, price_to_seed_units
from predictex.gateways.rest.kalshi_v2 import shapes, trading_shapes
from predictex.gateways.rest.seed_v1 import trading as seed_trading
from predictex.gateways.rest.wire import cents, contracts, count_fp, dollars, money, rfc3339
from predictex.readmodel.live import MarketView, OrderView
from predictex.server import ids
from predictex.server.context import Exchange
from predictex.server.ids import Ids


def closed_view(e: ev.OrderClosed, time_ms: int) -> OrderView:
    """The final state of an order that left the book, as the view REST shows for it."""
    return OrderView(
        e.order_id, e.account_id, e.ticker, e.is_bid, e.price_centicents, e.initial_count_centicontracts, 0,
        e.filled_centicontracts, e.time_in_force, e.expiration_ms, e.post_only, e.reduce_only, e.self_trade_prevention,
        e.order_type, e.cancel_on_pause, e.client_order_id, e.order_group_id, e.action, e.status, e.reason, e.created_ms,
        time_ms, e.taker_fill_cost_microdollars, e.maker_fill_cost_microdollars, e.taker_fees_microdollars,
        e.maker_fees_microdollars,
    )


def fee_of(e: ev.Trade, is_taker: bool) -> int:
    """One side's fee on a trade, as the fills history records it."""
    if is_taker:
        return e.taker_fee_microdollars + e.taker_rounding_microdollars - e.taker_rebate_microdollars
    return e.maker_fee_microdollars + e.maker_rounding_microdollars - e.maker_rebate_microdollars


def fill_row(e: ev.Trade, is_taker: bool, time_ms: int) -> tuple[Any, ...]:
    """(trade_id, is_taker, time_ms, order_id, ticker, is_bid, price, count, fee): a fills-history row."""
    order_id = e.taker_order_id if is_taker else e.maker_order_id
    is_bid = e.taker_is_bid if is_taker else not e.taker_is_bid
    return (e.trade_id, is_taker, time_ms, order_id, e.ticker, is_bid, e.price_centicents, e.count_centicontracts, fee_of(e, is_taker))


# --- Kalshi v2 --------------------------------------------------------------------------------------------

def kalshi_book_snapshot(market: MarketView, market_id: str, use_yes_price: bool) -> dict[str, Any]:
    """`orderbook_snapshot.msg`: YES bids and NO bids ascending, a side's keys absent when it is empty.
    NO levels are at the NO price unless `use_yes_price` (then at the YES price of the ask)."""
    body: dict[str, Any] = {"market_ticker": market.ticker, "market_id": market_id}
    yes = market.book.levels(True)
    if use_yes_price:
        no = market.book.levels(False)
    else:
        no = [(price_complement(price), size) for price, size in reversed(market.book.levels(False))]
    for side, levels in (("yes", yes), ("no", no)):
        if levels:
            body[f"{side}_dollars_fp"] = [[dollars(p), count_fp(s)] for p, s in levels]
            body[side] = [[cents(p), contracts(s)] for p, s in levels]
            body[f"{side}_dollars"] = [[dollars(p), contracts(s)] for p, s in levels]
    return body


def kalshi_book_delta(
    e: ev.BookChanged, market_id: str, use_yes_price: bool, client_order_id: str, time_ms: int, time_text: str,
) -> dict[str, Any]:
    """`orderbook_delta.msg`: one level's change. An ask at YES price p is a NO bid at 1 - p."""
    price = e.price_centicents if e.is_bid or use_yes_price else price_complement(e.price_centicents)
    body: dict[str, Any] = {
        "market_ticker": e.ticker,
        "market_id": market_id,
        "price_dollars": dollars(price),
        "delta_fp": count_fp(e.delta_centicontracts),
        "side": "yes" if e.is_bid else "no",
        "ts": time_text,
        "ts_ms": time_ms,
        "price": cents(price),
        "delta": contracts(e.delta_centicontracts),
    }
    if client_order_id:
        body["client_order_id"] = client_order_id
    return body


def kalshi_ticker(market: MarketView, market_id: str, last_trade_size: int, time_ms: int) -> dict[str, Any]:
    book = market.book
    return {
        "market_ticker": market.ticker,
        "market_id": market_id,
        "price_dollars": dollars(market.last_price_centicents),
        "yes_bid_dollars": dollars(book.best_bid),
        "yes_ask_dollars": dollars(book.best_ask),
        "yes_bid_size_fp": count_fp(book.best_size(True)),
        "yes_ask_size_fp": count_fp(book.best_size(False)),
        "last_trade_size_fp": count_fp(last_trade_size),
        "volume_fp": count_fp(market.volume_centicontracts),
        "open_interest_fp": count_fp(market.open_interest_centicontracts),
        # every contract is $1.00 of notional: dollars traded and held are whole contracts
        "dollar_volume": contracts(market.volume_centicontracts),
        "dollar_open_interest": contracts(market.open_interest_centicontracts),
        "ts": time_ms // 1000,
        "ts_ms": time_ms,
        "time": rfc3339(time_ms),
        "price": cents(market.last_price_centicents),
        "yes_bid": cents(book.best_bid),
        "yes_ask": cents(book.best_ask),
        "volume": contracts(market.volume_centicontracts),
        "open_interest": contracts(market.open_interest_centicontracts),
    }


def kalshi_ticker_state(market: MarketView, last_trade_size: int) -> tuple[int, ...]:
    """Everything a ticker message reports except its time: a new message goes out when this changes."""
    book = market.book
    return (
        market.last_price_centicents, book.best_bid, book.best_ask, book.best_size(True), book.best_size(False), last_trade_size,
        market.volume_centicontracts, market.open_interest_centicontracts,
    )


def kalshi_trade(e: ev.Trade, identities: Ids, time_ms: int) -> dict[str, Any]:
    body = shapes.trade((e.trade_id, time_ms, e.ticker, e.price_centicents, e.count_centicontracts, e.taker_is_bid),
                        identities.to_uuid(ids.TRADE, e.trade_id))
    body["market_ticker"] = e.ticker
    body["ts"] = time_ms // 1000
    body["ts_ms"] = time_ms
    return body


def kalshi_fill(e: ev.Trade, is_taker: bool, identities: Ids, client_order_id: str, time_ms: int) -> dict[str, Any]:
    body = trading_shapes.fill(fill_row(e, is_taker, time_ms), identities)
    position = e.taker_position_centicontracts if is_taker else e.maker_position_centicontracts
    body["purchased_side"] = body["outcome_side"]
    body["post_position_fp"] = count_fp(position)
    body["post_position"] = contracts(position)
    body["ts_ms"] = time_ms
    if client_order_id:
        body["client_order_id"] = client_order_id
    return body


def kalshi_position(e: ev.PositionChanged, member_uuid: str) -> dict[str, Any]:
    """`market_position.msg`. The position's fee cost is the fees paid in the market."""
    return {
        "user_id": member_uuid,
        "market_ticker": e.ticker,
        "position_fp": count_fp(e.position_centicontracts),
        "position_cost_dollars": money(e.position_cost_microdollars),
        "realized_pnl_dollars": money(e.realized_pnl_microdollars),
        "fees_paid_dollars": money(e.fees_paid_microdollars),
        "position_fee_cost_dollars": money(e.fees_paid_microdollars),
        "volume_fp": count_fp(e.volume_centicontracts),
        # legacy: whole contracts, money in centi-cents
        "position": contracts(e.position_centicontracts),
        "volume": contracts(e.volume_centicontracts),
        "position_cost": money_to_centicents(e.position_cost_microdollars),
        "realized_pnl": money_to_centicents(e.realized_pnl_microdollars),
        "fees_paid": money_to_centicents(e.fees_paid_microdollars),
        "position_fee_cost": money_to_centicents(e.fees_paid_microdollars),
    }


def kalshi_user_order(view: OrderView, member_uuid: str, identities: Ids) -> dict[str, Any]:
    """`user_order.msg`: the REST order object plus the stream's own fields, without empty ones."""
    body = {k: v for k, v in trading_shapes.order(view, member_uuid, identities).items() if v is not None}
    body["is_yes"] = view.is_bid
    body["created_ts_ms"] = view.created_ms
    body["last_updated_ts_ms"] = view.updated_ms
    if view.expiration_ms > 0:
        body["expiration_ts_ms"] = view.expiration_ms
    return body


def kalshi_order_group(e: ev.OrderGroupChanged, identities: Ids, time_ms: int) -> dict[str, Any]:
    body: dict[str, Any] = {"event_type": e.change, "order_group_id": identities.to_uuid(ids.ORDER_GROUP, e.order_group_id)}
    if e.change in ("created", "limit_updated"):
        body["contracts_limit_fp"] = count_fp(e.contracts_limit_centicontracts)
    body["ts_ms"] = time_ms
    return body


def kalshi_market_created(e: ev.MarketCreated) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": e.title, "title": e.title, "yes_sub_title": e.yes_sub_title, "no_sub_title": e.no_sub_title,
        "rules_primary": e.rules_primary, "rules_secondary": e.rules_secondary, "can_close_early": e.can_close_early,
        "event_ticker": e.event_ticker, "expected_expiration_ts": (e.expected_expiration_ms or e.close_time_ms) // 1000,
    }
    if e.strike_type in shapes.STRIKE_TYPES:
        metadata["strike_type"] = e.strike_type
    for name in ("floor_strike", "cap_strike"):
        if getattr(e, name):
            metadata[name] = shapes.number(getattr(e, name))
    return {
        "event_type": "created", "market_ticker": e.ticker, "exchange_index": 0, "open_ts": e.open_time_ms // 1000,
        "close_ts": e.close_time_ms // 1000, "price_level_structure": e.price_level_structure,
        "price_ranges": shapes.price_ranges(e.price_level_structure), "additional_metadata": metadata,
    }


def kalshi_event_created(e: ev.EventCreated) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_ticker": e.event_ticker, "exchange_index": 0, "title": e.title, "subtitle": e.sub_title,
        "collateral_return_type": "MECNET" if e.mutually_exclusive else "", "series_ticker": e.series_ticker,
    }
    if e.strike_date_ms:
        body["strike_date"] = e.strike_date_ms // 1000
    if e.strike_period:
        body["strike_period"] = e.strike_period
    return body


def kalshi_status_changed(e: ev.MarketStatusChanged, time_ms: int) -> dict[str, Any] | None:
    """The lifecycle message for a status change (see the module docstring), or None."""
    if e.status == "active":
        body: dict[str, Any] = {"event_type": "activated", "market_ticker": e.ticker}
        if e.previous_status == "inactive":
            body["is_deactivated"] = False
        return body
    if e.status in ("inactive", "closed"):
        body = {"event_type": "deactivated", "market_ticker": e.ticker}
        if e.status == "inactive":
            body["is_deactivated"] = True
        return body
    if e.status == "finalized":
        return {"event_type": "settled", "market_ticker": e.ticker, "settled_ts": time_ms // 1000}
    return None


def kalshi_determined(e: ev.MarketDetermined, time_ms: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_type": "determined", "market_ticker": e.ticker, "result": "" if e.result == RESULT_VOID else e.result,
        "determination_ts": time_ms // 1000,
    }
    if e.settlement_value_centicents >= 0:
        body["settlement_value"] = dollars(e.settlement_value_centicents)
    return body


def kalshi_times_changed(e: ev.MarketTimesChanged) -> dict[str, Any]:
    return {"event_type": "close_date_updated", "market_ticker": e.ticker, "close_ts": e.close_time_ms // 1000}


# --- the seed's API ---------------------------------------------------------------------------------------

def seed_level(price_centicents: int, size_centicontracts: int) -> dict[str, Any]:
    """One level as the seed's REST order book shows it (quantity 0: the level is gone)."""
    return {
        "price": price_to_seed_units(price_centicents), "price_dollars": dollars(price_centicents),
        "quantity": contracts(size_centicontracts), "quantity_fp": count_fp(size_centicontracts),
    }


def seed_book_snapshot(market: MarketView) -> dict[str, Any]:
    """The whole book, as GET /v1/markets/{ticker}/orderbook answers (bids best first, asks best first)."""
    book = market.book
    return {
        "market_id": market.ticker, "snapshot": True,
        "bids": [seed_level(p, s) for p, s in reversed(book.levels(True))],
        "asks": [seed_level(p, s) for p, s in book.levels(False)],
        "seq": book.seq,
    }


def seed_book_update(ticker: str, changed: dict[tuple[bool, int], int], seq: int) -> dict[str, Any]:
    """The levels one command changed, each with its new quantity; `seq` is the exchange's sequence
    number, the one GET /v1/markets/{ticker}/orderbook reports for the book it shows."""
    bids = sorted(((price, size) for (is_bid, price), size in changed.items() if is_bid), reverse=True)
    asks = sorted((price, size) for (is_bid, price), size in changed.items() if not is_bid)
    return {
        "market_id": ticker, "snapshot": False,
        "bids": [seed_level(p, s) for p, s in bids], "asks": [seed_level(p, s) for p, s in asks], "seq": seq,
    }


def seed_trade(e: ev.Trade, identities: Ids, time_ms: int) -> dict[str, Any]:
    return {
        "trade_id": identities.to_uuid(ids.TRADE, e.trade_id), "market_id": e.ticker,
        "price": price_to_seed_units(e.price_centicents), "price_dollars": dollars(e.price_centicents),
        "yes_price": price_to_seed_units(e.price_centicents), "no_price": price_to_seed_units(price_complement(e.price_centicents)),
        "quantity": contracts(e.count_centicontracts), "quantity_fp": count_fp(e.count_centicontracts),
        "taker_side": "yes" if e.taker_is_bid else "no", "created_time": rfc3339(time_ms), "timestamp": time_ms,
    }


def seed_fill(exchange: Exchange, e: ev.Trade, is_taker: bool, time_ms: int) -> dict[str, Any]:
    return seed_trading.fill_json(exchange, fill_row(e, is_taker, time_ms))


def seed_order(exchange: Exchange, view: OrderView) -> dict[str, Any]:
    return seed_trading.order_json(exchange, view)


def seed_status(market: MarketView) -> dict[str, Any]:
    """A market's state now (sent when a market_status channel is subscribed)."""
    body: dict[str, Any] = {"market_id": market.ticker, "status": market.status}
    _seed_result(body, market.result, market.settlement_value_centicents)
    return body


def seed_status_change(ticker: str, status: ev.MarketStatusChanged | None, determined: ev.MarketDetermined | None,
                       time_ms: int, current_status: str) -> dict[str, Any]:
    """What one command did to a market's status and result."""
    body: dict[str, Any] = {"market_id": ticker, "status": status.status if status else current_status}
    if status is not None:
        body["previous_status"] = status.previous_status
        body["reason"] = status.reason
    if determined is not None:
        _seed_result(body, determined.result, determined.settlement_value_centicents)
    body["timestamp"] = time_ms
    return body


def _seed_result(body: dict[str, Any], result: str, value_centicents: int) -> None:
    if result:
        body["result"] = result
        body["settlement_value"] = price_to_seed_units(value_centicents) if value_centicents >= 0 else None
        body["settlement_value_dollars"] = dollars(value_centicents) if value_centicents >= 0 else None
