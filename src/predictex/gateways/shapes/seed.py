"""The seed's JSON objects (/v1), for its REST calls and its WebSocket alike.

Prices are integers in units of $0.0001 (6500 = $0.65), with dollar strings alongside; quantities
are contracts (with `*_fp` strings for fractional markets). An order's and a fill's `side` is the
contract it bought or sold, and `price` that contract's price.
"""

from __future__ import annotations

from typing import Any

from predictex.core import events as ev
from predictex.core.orders import Action, Side, contract_side, outcome_side
from predictex.core.units import price_complement, price_to_seed_units
from predictex.gateways.shapes.text import contracts, count_fp, dollars, money, rfc3339
from predictex.readmodel.live import MarketView, OrderView
from predictex.server import ids
from predictex.server.ids import Ids


def market(m: MarketView) -> dict[str, Any]:
    d = m.definition
    bid, ask = m.book.best_bid, m.book.best_ask
    return {
        "market_id": m.ticker,
        "ticker": m.ticker,
        "event_ticker": m.event_ticker,
        "series_ticker": m.series_ticker,
        "title": d.title,
        "subtitle": d.subtitle,
        "status": m.status,
        "open_time": rfc3339(m.open_time_ms),
        "close_time": rfc3339(m.close_time_ms),
        "yes_bid": price_to_seed_units(bid),
        "yes_ask": price_to_seed_units(ask),
        "no_bid": price_to_seed_units(price_complement(ask)) if ask else 0,
        "no_ask": price_to_seed_units(price_complement(bid)) if bid else 0,
        "last_price": price_to_seed_units(m.last_price_centicents),
        "yes_bid_dollars": dollars(bid),
        "yes_ask_dollars": dollars(ask),
        "last_price_dollars": dollars(m.last_price_centicents),
        "volume": contracts(m.volume_centicontracts),
        "volume_fp": count_fp(m.volume_centicontracts),
        "open_interest": contracts(m.open_interest_centicontracts),
        "open_interest_fp": count_fp(m.open_interest_centicontracts),
        "result": m.result,
        "rules": d.rules_primary,
        "price_unit": "0.0001 USD",
        "fractional_trading": d.fractional_trading,
    }


def level(price_centicents: int, size_centicontracts: int) -> dict[str, Any]:
    """One order-book level (quantity 0 in an update: the level is gone)."""
    return {
        "price": price_to_seed_units(price_centicents), "price_dollars": dollars(price_centicents),
        "quantity": contracts(size_centicontracts), "quantity_fp": count_fp(size_centicontracts),
    }


def orderbook(m: MarketView) -> dict[str, Any]:
    """GET /v1/markets/{ticker}/orderbook: bids best first, asks best first, and the sequence number
    the book reflects."""
    book = m.book
    return {
        "market_id": m.ticker,
        "bids": [level(p, s) for p, s in reversed(book.levels(True))],
        "asks": [level(p, s) for p, s in book.levels(False)],
        "seq": book.seq,
    }


def order(view: OrderView, identities: Ids) -> dict[str, Any]:
    """An order in the seed's terms: the side bought and its price, quantities in contracts."""
    side = contract_side(view.is_bid, view.action)
    own_price = view.price_centicents if side is Side.YES else price_complement(view.price_centicents)
    order_uuid = identities.to_uuid(ids.ORDER, view.order_id)
    return {
        "id": order_uuid,
        "order_id": order_uuid,
        "market_id": view.ticker,
        "side": side,
        "action": view.action,
        "order_type": view.order_type,
        "time_in_force": view.time_in_force,
        "price": price_to_seed_units(own_price),
        "price_dollars": dollars(own_price),
        "quantity": contracts(view.size_centicontracts),
        "quantity_fp": count_fp(view.size_centicontracts),
        "filled_quantity": contracts(view.filled_centicontracts),
        "filled_quantity_fp": count_fp(view.filled_centicontracts),
        "remaining_quantity": contracts(view.remaining_centicontracts),
        "remaining_quantity_fp": count_fp(view.remaining_centicontracts),
        "status": view.status,
        "client_order_id": view.client_order_id or order_uuid,
        "fees_dollars": money(view.taker_fees_microdollars + view.maker_fees_microdollars),
        "created_time": rfc3339(view.created_ms),
        "updated_time": rfc3339(view.updated_ms),
    }


def fill(row: tuple[Any, ...], identities: Ids, action: Action) -> dict[str, Any]:
    """A fill from (trade_id, is_taker, time_ms, order_id, ticker, is_bid, price, count, fee): `side`
    is the contract its order bought or sold and `price` that contract's price, as the order was
    placed (`action`)."""
    trade_id, is_taker, time_ms, order_id, ticker, is_bid, price, count, fee = row
    side = contract_side(bool(is_bid), action)
    own_price = price if side is Side.YES else price_complement(price)
    return {
        "fill_id": identities.to_uuid(ids.TRADE, trade_id), "order_id": identities.to_uuid(ids.ORDER, order_id),
        "market_id": ticker, "side": side, "action": action, "price": price_to_seed_units(own_price),
        "price_dollars": dollars(own_price), "quantity": contracts(count), "quantity_fp": count_fp(count),
        "fee_dollars": money(fee), "is_taker": bool(is_taker), "created_time": rfc3339(time_ms), "timestamp": time_ms,
    }


# --- stream messages ------------------------------------------------------------------------------

def book_snapshot(m: MarketView) -> dict[str, Any]:
    """The whole book, as GET /v1/markets/{ticker}/orderbook answers (bids best first, asks best first)."""
    book = m.book
    return {
        "market_id": m.ticker, "snapshot": True,
        "bids": [level(p, s) for p, s in reversed(book.levels(True))],
        "asks": [level(p, s) for p, s in book.levels(False)],
        "seq": book.seq,
    }


def book_update(ticker: str, changed: dict[tuple[bool, int], int], seq: int) -> dict[str, Any]:
    """The levels one command changed, each with its new quantity; `seq` is the exchange's sequence
    number, the one GET /v1/markets/{ticker}/orderbook reports for the book it shows."""
    bids = sorted(((price, size) for (is_bid, price), size in changed.items() if is_bid), reverse=True)
    asks = sorted((price, size) for (is_bid, price), size in changed.items() if not is_bid)
    return {
        "market_id": ticker, "snapshot": False,
        "bids": [level(p, s) for p, s in bids], "asks": [level(p, s) for p, s in asks], "seq": seq,
    }


def trade_message(e: ev.Trade, identities: Ids, time_ms: int) -> dict[str, Any]:
    return {
        "trade_id": identities.to_uuid(ids.TRADE, e.trade_id), "market_id": e.ticker,
        "price": price_to_seed_units(e.price_centicents), "price_dollars": dollars(e.price_centicents),
        "yes_price": price_to_seed_units(e.price_centicents), "no_price": price_to_seed_units(price_complement(e.price_centicents)),
        "quantity": contracts(e.count_centicontracts), "quantity_fp": count_fp(e.count_centicontracts),
        "taker_side": outcome_side(e.taker_is_bid), "created_time": rfc3339(time_ms), "timestamp": time_ms,
    }


def status(m: MarketView) -> dict[str, Any]:
    """A market's state now (sent when a market_status channel is subscribed)."""
    body: dict[str, Any] = {"market_id": m.ticker, "status": m.status}
    _result(body, m.result, m.settlement_value_centicents)
    return body


def status_change(ticker: str, changed: ev.MarketStatusChanged | None, determined: ev.MarketDetermined | None,
                  time_ms: int, current_status: str) -> dict[str, Any]:
    """What one command did to a market's status and result."""
    body: dict[str, Any] = {"market_id": ticker, "status": changed.status if changed else current_status}
    if changed is not None:
        body["previous_status"] = changed.previous_status
        body["reason"] = changed.reason
    if determined is not None:
        _result(body, determined.result, determined.settlement_value_centicents)
    body["timestamp"] = time_ms
    return body


def _result(body: dict[str, Any], result: str, value_centicents: int) -> None:
    if result:
        body["result"] = result
        body["settlement_value"] = price_to_seed_units(value_centicents) if value_centicents >= 0 else None
        body["settlement_value_dollars"] = dollars(value_centicents) if value_centicents >= 0 else None
