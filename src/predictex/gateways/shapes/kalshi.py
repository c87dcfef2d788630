"""Kalshi v2's JSON objects, for every surface that speaks Kalshi: REST, the WebSocket and web pages
(reference §5, §6.6, §7, §9.3, §12, and the AsyncAPI document).

Each function turns read-model state (or a committed event) into one wire object. Objects carry the
union of the current fields (`*_dollars` strings, `*_fp` counts, required by SDK 3.x, whose pydantic
models are strict) and the legacy integer fields (cents and whole contracts, read by older clients);
extra fields are ignored by every SDK, so the union is safe. Enums are Kalshi's exactly. A stream
message reuses the REST object carrying the same facts and adds the stream's own fields, so a stream
and a REST answer never disagree.

Market lifecycle (Kalshi's `market_lifecycle_v2` has no `closed` event type): opening and resuming
are `activated`, pausing and closing are `deactivated` (`is_deactivated` true for a pause, false for
a resume), a determination (or an amended one) is `determined`, finalisation is `settled`, a new
close time is `close_date_updated`. A dispute has no event type of its own and sends nothing.
"""

from __future__ import annotations

from typing import Any

import orjson

from predictex.core import events as ev
from predictex.core.fees import FEE_MULTIPLIER_ONE_BPS
from predictex.core.instruments import ACTIVE, CLOSED, FINALIZED, INACTIVE, PRICE_LEVEL_STRUCTURES, RESULT_VOID
from predictex.core.orders import Action, book_side, contract_side, outcome_side
from predictex.core.units import (
    PRICE_ONE_DOLLAR_CENTICENTS,
    average_per_contract_microdollars,
    money_to_centicents,
    notional_microdollars,
    price_complement,
    price_to_cents,
    price_to_float_dollars,
)
from predictex.gateways.shapes.text import (
    cents,
    contracts,
    count_fp,
    dollars,
    money,
    money_cents,
    optional_rfc3339,
    rfc3339,
    seconds,
)
from predictex.readmodel import portfolio
from predictex.readmodel.live import Holding, MarketView, OrderView
from predictex.readmodel.queries import fill_row
from predictex.server import ids
from predictex.server.ids import Ids

STRIKE_TYPES = frozenset({"greater", "greater_or_equal", "less", "less_or_equal", "between", "functional", "custom", "structured"})


def number(text: str) -> Any:
    """A decimal string emitted as a JSON number, digit for digit (no float in between)."""
    return orjson.Fragment(text.encode("ascii")) if text else None


def fee_multiplier(bps: int) -> Any:
    if bps % FEE_MULTIPLIER_ONE_BPS == 0:
        return bps // FEE_MULTIPLIER_ONE_BPS
    whole, fraction = divmod(bps, FEE_MULTIPLIER_ONE_BPS)
    return number(f"{whole}.{fraction:04d}".rstrip("0"))


def price_ranges(structure: str) -> list[dict[str, str]]:
    return [{"start": dollars(start), "end": dollars(end), "step": dollars(step)} for start, end, step in PRICE_LEVEL_STRUCTURES[structure]]


def series(s: Any) -> dict[str, Any]:
    """`s` is a SeriesCreated event (the read model's series definition)."""
    return {
        "ticker": s.ticker,
        "title": s.title,
        "category": s.category,
        "categories": [s.category] if s.category else [],
        "frequency": s.frequency,
        "tags": list(s.tags),
        "settlement_sources": [{"name": name, "url": url} for name, url in s.settlement_sources],
        "contract_url": s.contract_url,
        "contract_terms_url": s.contract_terms_url,
        "fee_type": s.fee_type,
        "fee_multiplier": fee_multiplier(s.fee_multiplier_bps),
        "additional_prohibitions": [],
        "exchange_index": 0,
    }


def event(e: Any, series_def: Any, markets: list[dict[str, Any]] | None, fee_override: tuple[str, int] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_ticker": e.event_ticker,
        "series_ticker": e.series_ticker,
        "title": e.title,
        "sub_title": e.sub_title,
        "collateral_return_type": "MECNET" if e.mutually_exclusive else "",
        "mutually_exclusive": e.mutually_exclusive,
        "category": series_def.category if series_def is not None else "",
        "strike_date": optional_rfc3339(e.strike_date_ms),
        "strike_period": e.strike_period or None,
        "settlement_sources": [{"name": n, "url": u} for n, u in series_def.settlement_sources] if series_def is not None else [],
        "available_on_brokers": False,
        "exchange_index": 0,
    }
    if fee_override is not None:  # the event's fee override in force ("" / -1: that part is the series')
        body["fee_type_override"] = fee_override[0] or None
        body["fee_multiplier_override"] = fee_multiplier(fee_override[1]) if fee_override[1] >= 0 else None
    if markets is not None:
        body["markets"] = markets
    return body


def market(m: MarketView, now_ms: int) -> dict[str, Any]:
    d = m.definition
    book = m.book
    yes_bid, yes_ask = book.best_bid, book.best_ask
    no_bid = price_complement(yes_ask) if yes_ask else PRICE_ONE_DOLLAR_CENTICENTS
    no_ask = price_complement(yes_bid) if yes_bid else PRICE_ONE_DOLLAR_CENTICENTS
    m.day.prune(now_ms)
    previous_bid, previous_ask, previous_price = m.day.previous
    latest_expiration_ms = d.expected_expiration_ms or m.close_time_ms
    result = "" if m.result == RESULT_VOID else m.result
    settled = m.settlement_value_centicents >= 0 and m.result
    body: dict[str, Any] = {
        "ticker": m.ticker,
        "event_ticker": m.event_ticker,
        "market_type": d.market_type,
        "title": d.title,
        "subtitle": d.subtitle,
        "yes_sub_title": d.yes_sub_title,
        "no_sub_title": d.no_sub_title,
        "created_time": rfc3339(m.created_ms),
        "updated_time": rfc3339(m.updated_ms),
        "open_time": rfc3339(m.open_time_ms),
        "close_time": rfc3339(m.close_time_ms),
        "expected_expiration_time": optional_rfc3339(d.expected_expiration_ms),
        "expiration_time": rfc3339(latest_expiration_ms),
        "latest_expiration_time": rfc3339(latest_expiration_ms),
        "settlement_timer_seconds": d.settlement_timer_s,
        "status": m.status,
        "yes_bid_dollars": dollars(yes_bid),
        "yes_bid_size_fp": count_fp(book.best_size(True)),
        "yes_ask_dollars": dollars(yes_ask),
        "yes_ask_size_fp": count_fp(book.best_size(False)),
        "no_bid_dollars": dollars(no_bid),
        "no_ask_dollars": dollars(no_ask),
        "last_price_dollars": dollars(m.last_price_centicents),
        "volume_fp": count_fp(m.volume_centicontracts),
        "volume_24h_fp": count_fp(m.day.volume_centicontracts),
        "open_interest_fp": count_fp(m.open_interest_centicontracts),
        "notional_value_dollars": dollars(PRICE_ONE_DOLLAR_CENTICENTS),
        "previous_yes_bid_dollars": dollars(previous_bid),
        "previous_yes_ask_dollars": dollars(previous_ask),
        "previous_price_dollars": dollars(previous_price),
        "liquidity_dollars": "0.0000",
        "result": result,
        "can_close_early": d.can_close_early,
        "expiration_value": "",
        "settlement_value_dollars": dollars(m.settlement_value_centicents) if settled else None,
        "settlement_ts": optional_rfc3339(m.settled_ms),
        "settlement_bounds_type": "default",
        "fee_waiver_expiration_time": optional_rfc3339(d.fee_waiver_expiration_ms),
        "early_close_condition": None,
        "strike_type": d.strike_type if d.strike_type in STRIKE_TYPES else None,
        "floor_strike": number(d.floor_strike),
        "cap_strike": number(d.cap_strike),
        "rules_primary": d.rules_primary,
        "rules_secondary": d.rules_secondary,
        "price_level_structure": d.price_level_structure,
        "price_ranges": price_ranges(d.price_level_structure),
        "fractional_trading_enabled": d.fractional_trading,
        "exchange_index": 0,
        # legacy (era A) integer fields
        "response_price_units": "usd_cent",
        "yes_bid": cents(yes_bid),
        "yes_ask": cents(yes_ask),
        "no_bid": cents(no_bid),
        "no_ask": cents(no_ask),
        "last_price": cents(m.last_price_centicents),
        "previous_yes_bid": cents(previous_bid),
        "previous_yes_ask": cents(previous_ask),
        "previous_price": cents(previous_price),
        "volume": contracts(m.volume_centicontracts),
        "volume_24h": contracts(m.day.volume_centicontracts),
        "open_interest": contracts(m.open_interest_centicontracts),
        "notional_value": price_to_cents(PRICE_ONE_DOLLAR_CENTICENTS),
        "liquidity": 0,
        "tick_size": 1,
    }
    if settled:
        body["settlement_value"] = cents(m.settlement_value_centicents)
    if m.combination is not None:  # a multivariate combination: its collection and legs
        body["mve_collection_ticker"] = m.combination[0]
        body["mve_selected_legs"] = [
            {"event_ticker": event, "market_ticker": ticker, "side": side} for event, ticker, side in m.combination[1]
        ]
    return body


def orderbook(m: MarketView, depth: int) -> dict[str, Any]:
    """Bids only for each side, ascending, best last (reference §5.4). NO bids are the YES asks seen
    from the other side: a YES ask at p is a NO bid at 1 - p."""
    yes = m.book.levels(True)
    no = [(price_complement(price), size) for price, size in reversed(m.book.levels(False))]
    if depth > 0:
        yes, no = yes[-depth:], no[-depth:]
    yes_fp, yes_cents, yes_dollars = _levels(yes)
    no_fp, no_cents, no_dollars = _levels(no)
    return {
        "orderbook_fp": {"yes_dollars": yes_fp, "no_dollars": no_fp},
        "orderbook": {
            "yes": yes_cents or None,
            "no": no_cents or None,
            "yes_dollars": yes_dollars or None,
            "no_dollars": no_dollars or None,
        },
    }


def _levels(levels: list[tuple[int, int]]) -> tuple[list[list[Any]], list[list[Any]], list[list[Any]]]:
    """One side's levels three ways: [dollars, count_fp], [cents, contracts], [dollars, contracts];
    each price and size is formatted once."""
    as_fp: list[list[Any]] = []
    as_cents: list[list[Any]] = []
    as_dollars: list[list[Any]] = []
    for price, size in levels:
        price_text = dollars(price)
        whole = contracts(size)
        as_fp.append([price_text, count_fp(size)])
        as_cents.append([cents(price), whole])
        as_dollars.append([price_text, whole])
    return as_fp, as_cents, as_dollars


def trade(row: tuple[Any, ...], trade_uuid: str) -> dict[str, Any]:
    """A public trade from the history row (trade_id, time_ms, ticker, price, count, taker_is_bid,
    is_block_trade: matched off the book, by an RFQ or a block trade)."""
    _, time_ms, ticker, price, count, taker_is_bid, is_block_trade = row
    taker_outcome = outcome_side(bool(taker_is_bid))
    return {
        "trade_id": trade_uuid,
        "ticker": ticker,
        "count_fp": count_fp(count),
        "count": contracts(count),
        "yes_price_dollars": dollars(price),
        "no_price_dollars": dollars(price_complement(price)),
        "yes_price": cents(price),
        "no_price": cents(price_complement(price)),
        "taker_outcome_side": taker_outcome,
        "taker_book_side": book_side(bool(taker_is_bid)),
        "taker_side": taker_outcome,
        "created_time": rfc3339(time_ms),
        "is_block_trade": bool(is_block_trade),
    }


def bid_ask(open_: int, low: int, high: int, close: int) -> dict[str, Any]:
    return {
        "open_dollars": dollars(open_), "low_dollars": dollars(low), "high_dollars": dollars(high), "close_dollars": dollars(close),
        "open": cents(open_), "low": cents(low), "high": cents(high), "close": cents(close),
    }


def candlestick(
    end_ms: int, bid: tuple[int, int, int, int], ask: tuple[int, int, int, int], price: tuple[int, int, int, int, int] | None,
    previous_price: int, volume: int, open_interest: int,
) -> dict[str, Any]:
    """One period. `price` is (open, low, high, close, mean) of the trades in the period, or None."""
    price_fields: dict[str, Any] = {"previous_dollars": dollars(previous_price), "previous": cents(previous_price)}
    names = ("open", "low", "high", "close", "mean")
    for index, name in enumerate(names):
        price_fields[f"{name}_dollars"] = dollars(price[index]) if price else None
        price_fields[name] = cents(price[index]) if price else None
    if price:
        price_fields.update({"min_dollars": dollars(price[1]), "max_dollars": dollars(price[2]), "min": cents(price[1]), "max": cents(price[2])})
    return {
        "end_period_ts": seconds(end_ms),
        "yes_bid": bid_ask(*bid),
        "yes_ask": bid_ask(*ask),
        "price": price_fields,
        "volume_fp": count_fp(volume),
        "open_interest_fp": count_fp(open_interest),
        "volume": contracts(volume),
        "open_interest": contracts(open_interest),
    }


# --- trading objects ---------------------------------------------------------------------------------------

def order(view: OrderView, member_uuid: str, identities: Ids, subaccount: int = 0) -> dict[str, Any]:
    price = view.price_centicents
    total = view.filled_centicontracts + view.remaining_centicontracts
    initial = max(view.initial_count_centicontracts, total)
    order_id = identities.to_uuid(ids.ORDER, view.order_id)
    return {
        "order_id": order_id,
        "user_id": member_uuid,
        "client_order_id": view.client_order_id or order_id,
        "ticker": view.ticker,
        "side": contract_side(view.is_bid, view.action),
        "action": view.action,
        "outcome_side": outcome_side(view.is_bid),
        "book_side": book_side(view.is_bid),
        "type": view.order_type,
        "status": view.status,
        "yes_price_dollars": dollars(price),
        "no_price_dollars": dollars(price_complement(price)),
        "yes_price": cents(price),
        "no_price": cents(price_complement(price)),
        "fill_count_fp": count_fp(view.filled_centicontracts),
        "remaining_count_fp": count_fp(view.remaining_centicontracts),
        "initial_count_fp": count_fp(initial),
        "fill_count": contracts(view.filled_centicontracts),
        "remaining_count": contracts(view.remaining_centicontracts),
        "initial_count": contracts(initial),
        "taker_fill_cost_dollars": money(view.taker_fill_cost_microdollars),
        "maker_fill_cost_dollars": money(view.maker_fill_cost_microdollars),
        "taker_fees_dollars": money(view.taker_fees_microdollars),
        "maker_fees_dollars": money(view.maker_fees_microdollars),
        "taker_fill_cost": money_cents(view.taker_fill_cost_microdollars),
        "maker_fill_cost": money_cents(view.maker_fill_cost_microdollars),
        "taker_fees": money_cents(view.taker_fees_microdollars),
        "maker_fees": money_cents(view.maker_fees_microdollars),
        "expiration_time": optional_rfc3339(view.expiration_ms),
        "created_time": rfc3339(view.created_ms),
        "last_update_time": rfc3339(view.updated_ms),
        "self_trade_prevention_type": view.self_trade_prevention,
        "order_group_id": identities.to_uuid(ids.ORDER_GROUP, view.order_group_id) if view.order_group_id else None,
        "cancel_order_on_pause": view.cancel_on_pause,
        "time_in_force": view.time_in_force,
        "post_only": view.post_only,
        "reduce_only": view.reduce_only,
        "last_update_reason": view.close_reason or None,
        "queue_position": 0,
        "subaccount_number": subaccount,
        "exchange_index": 0,
    }


def fill(
    row: tuple[Any, ...], identities: Ids, action: Action = Action.BUY, client_order_id: str = "", subaccount: int = 0,
) -> dict[str, Any]:
    """A fill from the history row (trade_id, is_taker, time_ms, order_id, ticker, is_bid, price, count, fee);
    `side` and `action` in the words its order was placed with (a sell of YES fills as side yes,
    action sell), `outcome_side`/`book_side` the direction."""
    trade_id, is_taker, time_ms, order_id, ticker, is_bid, price, count, fee = row[:9]
    is_bid = bool(is_bid)
    trade_uuid = identities.to_uuid(ids.TRADE, trade_id)
    order_uuid = identities.to_uuid(ids.ORDER, order_id)
    return {
        "fill_id": trade_uuid,
        "trade_id": trade_uuid,
        "order_id": order_uuid,
        "client_order_id": client_order_id or order_uuid,
        "ticker": ticker,
        "market_ticker": ticker,
        "exchange_index": 0,
        "side": contract_side(is_bid, action),
        "action": action,
        "outcome_side": outcome_side(is_bid),
        "book_side": book_side(is_bid),
        "count_fp": count_fp(count),
        "count": contracts(count),
        "yes_price_dollars": dollars(price),
        "no_price_dollars": dollars(price_complement(price)),
        "yes_price_fixed": dollars(price),
        "no_price_fixed": dollars(price_complement(price)),
        "yes_price": cents(price),
        "no_price": cents(price_complement(price)),
        "price": price_to_float_dollars(price),  # deprecated float dollars (YES price), as era-A fills carried it
        "is_taker": bool(is_taker),
        "fee_cost": money(fee),
        "created_time": rfc3339(time_ms),
        "ts": time_ms // 1000,
        "subaccount_number": subaccount,
    }


def balance(found: portfolio.Balances, time_ms: int) -> dict[str, Any]:
    """GET /portfolio/balance: cash in cents and dollars, the positions' value marked to market."""
    cash_text = money(found.cash_microdollars)
    return {
        "balance": money_cents(found.cash_microdollars),
        "balance_dollars": cash_text,
        "portfolio_value": money_cents(found.portfolio_value_microdollars),
        "portfolio_value_dollars": money(found.portfolio_value_microdollars),
        "locked_dollars": money(found.locked_microdollars),
        "pending_withdrawal_dollars": money(found.pending_withdrawal_microdollars),
        "updated_ts": time_ms // 1000,
        "balance_breakdown": [{"exchange_index": 0, "balance": cash_text}],
    }


def money_movement(movement_id: str, status: str, kind: str, amount_microdollars: int, created_ms: int, finalized_ms: int | None,
                   reference: str) -> dict[str, Any]:
    """A `Deposit` or `Withdrawal` of GET /portfolio/deposits and /withdrawals (Kalshi's SDK 3.34.0);
    `reference` is predictex's, beside Kalshi's fields (what the money was: a payment, a reward...)."""
    answer: dict[str, Any] = {
        "id": movement_id, "status": status, "type": kind, "amount_cents": money_cents(amount_microdollars), "fee_cents": 0,
        "created_ts": created_ms // 1000, "finalized_ts": None if finalized_ms is None else finalized_ms // 1000,
    }
    if reference:
        answer["reference"] = reference
    return answer


def order_group(group_uuid: str, limit_centicontracts: int, triggered: bool) -> dict[str, Any]:
    return {
        "id": group_uuid, "contracts_limit_fp": count_fp(limit_centicontracts), "contracts_limit": contracts(limit_centicontracts),
        "is_auto_cancel_enabled": True, "triggered": triggered, "exchange_index": 0,
    }


def market_positions(ticker: str, holding: Holding, resting_centicontracts: int = 0) -> list[dict[str, Any]]:
    """A holding as GET /portfolio/positions lists it: one MarketPosition, or, when YES and NO are both
    held (netting off), one per side (YES, then NO with a negative `position_fp`), each with its own
    count and exposure; the market's amount traded, realized P&L, fees and resting orders are given
    once, on the YES entry, so that adding the entries up gives the market's figures."""
    sides = holding.sides()
    shared = (holding.total_traded_microdollars, holding.realized_pnl_microdollars, holding.fees_paid_microdollars,
              resting_centicontracts)
    return [
        _market_position(ticker, holding.updated_ms, position, cost, *(shared if index == 0 else (0, 0, 0, 0)))
        for index, (position, cost) in enumerate(sides)
    ]


def market_position(ticker: str, holding: Holding, resting_centicontracts: int = 0) -> dict[str, Any]:
    return _market_position(
        ticker, holding.updated_ms, holding.position_centicontracts, holding.position_cost_microdollars,
        holding.total_traded_microdollars, holding.realized_pnl_microdollars, holding.fees_paid_microdollars,
        resting_centicontracts,
    )


def _market_position(ticker: str, updated_ms: int, position_centicontracts: int, cost_microdollars: int,
                     traded_microdollars: int, realized_microdollars: int, fees_microdollars: int,
                     resting_centicontracts: int) -> dict[str, Any]:
    return {
        "ticker": ticker,
        "exchange_index": 0,
        "total_traded_dollars": money(traded_microdollars),
        "position_fp": count_fp(position_centicontracts),
        "market_exposure_dollars": money(cost_microdollars),
        "realized_pnl_dollars": money(realized_microdollars),
        "fees_paid_dollars": money(fees_microdollars),
        "last_updated_ts": rfc3339(updated_ms),
        "total_traded": money_cents(traded_microdollars),
        "position": contracts(position_centicontracts),
        "market_exposure": money_cents(cost_microdollars),
        "realized_pnl": money_cents(realized_microdollars),
        "fees_paid": money_cents(fees_microdollars),
        "resting_orders_count": contracts(resting_centicontracts),
    }


def event_position(event_ticker: str, holdings: list[Holding], resting_centicontracts: int = 0) -> dict[str, Any]:
    traded, shares, exposure, realized, fees = portfolio.totals(holdings)
    return {
        "event_ticker": event_ticker,
        "total_cost_dollars": money(traded),
        "total_cost_shares_fp": count_fp(shares),
        "event_exposure_dollars": money(exposure),
        "realized_pnl_dollars": money(realized),
        "fees_paid_dollars": money(fees),
        "total_cost": money_cents(traded),
        "total_cost_shares": contracts(shares),
        "event_exposure": money_cents(exposure),
        "realized_pnl": money_cents(realized),
        "fees_paid": money_cents(fees),
        "resting_orders_count": contracts(resting_centicontracts),
    }


def settlement(row: tuple[Any, ...], event_ticker: str, settlement_value_centicents: int) -> dict[str, Any]:
    """From (ticker, time_ms, result, position, cost, payout, fees[, account, YES held, NO held, YES cost,
    NO cost]): the sides, where given (an account without netting), are the counts. A void market (refunded at cost)
    reports `scalar` with no value: SDK 3.x accepts only yes, no and scalar; `predictex_result` says void."""
    ticker, time_ms, result, position, cost, payout, fees = row[:7]
    yes_count = position if position > 0 else 0
    no_count = -position if position < 0 else 0
    yes_cost = cost if yes_count else 0
    no_cost = cost if no_count else 0
    if len(row) > 8 and row[8] is not None:  # held apart (netting off): both sides, each with its cost
        yes_count, no_count, yes_cost, no_cost = row[8:12]
    body: dict[str, Any] = {
        "ticker": ticker,
        "event_ticker": event_ticker,
        "exchange_index": 0,
        "market_result": "scalar" if result == "void" else result,
        "predictex_result": result,
        "yes_count_fp": count_fp(yes_count),
        "no_count_fp": count_fp(no_count),
        "yes_total_cost_dollars": money(yes_cost),
        "no_total_cost_dollars": money(no_cost),
        "yes_count": contracts(yes_count),
        "no_count": contracts(no_count),
        "yes_total_cost": money_cents(yes_cost),
        "no_total_cost": money_cents(no_cost),
        "revenue": money_cents(payout),
        "revenue_dollars": money(payout),
        "settled_time": rfc3339(time_ms),
        "fee_cost": money(fees),
    }
    if result != "void" and settlement_value_centicents >= 0:
        body["value"] = cents(settlement_value_centicents)
    return body


def fills_summary(events: list[ev.Event], order_id: int) -> tuple[int, int, int]:
    """What `order_id` traded in these events: (count, YES-price notional, fees)."""
    count = notional = fees = 0
    for event in events:
        if isinstance(event, ev.Trade):
            if event.taker_order_id == order_id:
                fees += event.fee_paid_microdollars(True)
            elif event.maker_order_id == order_id:
                fees += event.fee_paid_microdollars(False)
            else:
                continue
            count += event.count_centicontracts
            notional += notional_microdollars(event.price_centicents, event.count_centicontracts)
    return count, notional, fees


def fill_report(events: list[ev.Event], order_id: int) -> dict[str, Any]:
    """`average_fill_price` (YES price) and `average_fee_paid` (per contract), when anything filled."""
    count, notional, fees = fills_summary(events, order_id)
    if count == 0:
        return {}
    return {
        "average_fill_price": money(average_per_contract_microdollars(notional, count)),
        "average_fee_paid": money(average_per_contract_microdollars(fees, count)),
    }


# --- stream messages (the WebSocket's bodies: the objects above plus the stream's own fields) ---------------

def book_snapshot(market: MarketView, market_id: str, use_yes_price: bool) -> dict[str, Any]:
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


def book_delta(
    e: ev.BookChanged, market_id: str, use_yes_price: bool, client_order_id: str, time_ms: int, time_text: str,
    subaccount: int = 0,
) -> dict[str, Any]:
    """`orderbook_delta.msg`: one level's change. An ask at YES price p is a NO bid at 1 - p. For the
    member whose order caused it: its `client_order_id`, and `subaccount` when that order was in a
    numbered subaccount."""
    price = e.price_centicents if e.is_bid or use_yes_price else price_complement(e.price_centicents)
    body: dict[str, Any] = {
        "market_ticker": e.ticker,
        "market_id": market_id,
        "price_dollars": dollars(price),
        "delta_fp": count_fp(e.delta_centicontracts),
        "side": outcome_side(e.is_bid),
        "ts": time_text,
        "ts_ms": time_ms,
        "price": cents(price),
        "delta": contracts(e.delta_centicontracts),
    }
    if client_order_id:
        body["client_order_id"] = client_order_id
    if subaccount:
        body["subaccount"] = subaccount
    return body


def ticker(market: MarketView, market_id: str, last_trade_size: int, time_ms: int) -> dict[str, Any]:
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


def ticker_state(market: MarketView, last_trade_size: int) -> tuple[int, ...]:
    """Everything a ticker message reports except its time: a new message goes out when this changes."""
    book = market.book
    return (
        market.last_price_centicents, book.best_bid, book.best_ask, book.best_size(True), book.best_size(False), last_trade_size,
        market.volume_centicontracts, market.open_interest_centicontracts,
    )


def trade_message(e: ev.Trade, identities: Ids, time_ms: int, is_block_trade: bool = False) -> dict[str, Any]:
    body = trade((e.trade_id, time_ms, e.ticker, e.price_centicents, e.count_centicontracts, e.taker_is_bid, is_block_trade),
                        identities.to_uuid(ids.TRADE, e.trade_id))
    body["market_ticker"] = e.ticker
    body["ts"] = time_ms // 1000
    body["ts_ms"] = time_ms
    return body


def fill_message(
    e: ev.Trade, is_taker: bool, identities: Ids, client_order_id: str, time_ms: int, subaccount: int = 0,
) -> dict[str, Any]:
    """`fill.msg`; `subaccount` (and `subaccount_number`) say which of the member's subaccounts traded."""
    body = fill(fill_row(e, is_taker, time_ms), identities, subaccount=subaccount)
    position = e.taker_position_centicontracts if is_taker else e.maker_position_centicontracts
    body["purchased_side"] = body["outcome_side"]
    body["post_position_fp"] = count_fp(position)
    body["post_position"] = contracts(position)
    body["ts_ms"] = time_ms
    if client_order_id:
        body["client_order_id"] = client_order_id
    if subaccount:
        body["subaccount"] = subaccount
    return body


def position_message(e: ev.PositionChanged, member_uuid: str, subaccount: int = 0) -> dict[str, Any]:
    """`market_position.msg`. The position's fee cost is the fees paid in the market; `subaccount`
    is there for a numbered subaccount's position."""
    return _position_message(
        e.ticker, member_uuid, subaccount, e.position_centicontracts, e.position_cost_microdollars,
        e.realized_pnl_microdollars, e.fees_paid_microdollars, e.volume_centicontracts,
    )


def position_side_messages(e: ev.PositionChanged, sides: ev.PositionSides, member_uuid: str, subaccount: int = 0) -> list[dict[str, Any]]:
    """`market_position.msg` for an account without netting: one message, or, when it holds both YES
    and NO, one per side (YES, then NO with a negative position), as REST lists them; the market's
    realized P&L, fees and volume ride on the YES message only."""
    if min(sides.yes_centicontracts, sides.no_centicontracts) == 0:
        return [position_message(e, member_uuid, subaccount)]
    return [
        _position_message(e.ticker, member_uuid, subaccount, sides.yes_centicontracts, sides.yes_cost_microdollars,
                          e.realized_pnl_microdollars, e.fees_paid_microdollars, e.volume_centicontracts),
        _position_message(e.ticker, member_uuid, subaccount, -sides.no_centicontracts, sides.no_cost_microdollars, 0, 0, 0),
    ]


def _position_message(ticker: str, member_uuid: str, subaccount: int, position_centicontracts: int, cost_microdollars: int,
                      realized_microdollars: int, fees_microdollars: int, volume_centicontracts: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "user_id": member_uuid,
        "market_ticker": ticker,
        "position_fp": count_fp(position_centicontracts),
        "position_cost_dollars": money(cost_microdollars),
        "realized_pnl_dollars": money(realized_microdollars),
        "fees_paid_dollars": money(fees_microdollars),
        "position_fee_cost_dollars": money(fees_microdollars),
        "volume_fp": count_fp(volume_centicontracts),
        # legacy: whole contracts, money in centi-cents
        "position": contracts(position_centicontracts),
        "volume": contracts(volume_centicontracts),
        "position_cost": money_to_centicents(cost_microdollars),
        "realized_pnl": money_to_centicents(realized_microdollars),
        "fees_paid": money_to_centicents(fees_microdollars),
        "position_fee_cost": money_to_centicents(fees_microdollars),
    }
    if subaccount:
        body["subaccount"] = subaccount
    return body


def user_order(view: OrderView, member_uuid: str, identities: Ids, subaccount: int = 0) -> dict[str, Any]:
    """`user_order.msg`: the REST order object plus the stream's own fields, without empty ones."""
    body = {k: v for k, v in order(view, member_uuid, identities, subaccount).items() if v is not None}
    body["is_yes"] = view.is_bid
    body["created_ts_ms"] = view.created_ms
    body["last_updated_ts_ms"] = view.updated_ms
    if view.expiration_ms > 0:
        body["expiration_ts_ms"] = view.expiration_ms
    return body


def order_group_update(e: ev.OrderGroupChanged, identities: Ids, time_ms: int) -> dict[str, Any]:
    body: dict[str, Any] = {"event_type": e.change, "order_group_id": identities.to_uuid(ids.ORDER_GROUP, e.order_group_id)}
    if e.change in ("created", "limit_updated"):
        body["contracts_limit_fp"] = count_fp(e.contracts_limit_centicontracts)
    body["ts_ms"] = time_ms
    return body


def market_created(e: ev.MarketCreated) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": e.title, "title": e.title, "yes_sub_title": e.yes_sub_title, "no_sub_title": e.no_sub_title,
        "rules_primary": e.rules_primary, "rules_secondary": e.rules_secondary, "can_close_early": e.can_close_early,
        "event_ticker": e.event_ticker, "expected_expiration_ts": (e.expected_expiration_ms or e.close_time_ms) // 1000,
    }
    if e.strike_type in STRIKE_TYPES:
        metadata["strike_type"] = e.strike_type
    for name in ("floor_strike", "cap_strike"):
        if getattr(e, name):
            metadata[name] = number(getattr(e, name))
    return {
        "event_type": "created", "market_ticker": e.ticker, "exchange_index": 0, "open_ts": e.open_time_ms // 1000,
        "close_ts": e.close_time_ms // 1000, "price_level_structure": e.price_level_structure,
        "price_ranges": price_ranges(e.price_level_structure), "additional_metadata": metadata,
    }


def event_created(e: ev.EventCreated) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_ticker": e.event_ticker, "exchange_index": 0, "title": e.title, "subtitle": e.sub_title,
        "collateral_return_type": "MECNET" if e.mutually_exclusive else "", "series_ticker": e.series_ticker,
    }
    if e.strike_date_ms:
        body["strike_date"] = e.strike_date_ms // 1000
    if e.strike_period:
        body["strike_period"] = e.strike_period
    return body


def status_changed(e: ev.MarketStatusChanged, time_ms: int) -> dict[str, Any] | None:
    """The lifecycle message for a status change (see the module docstring), or None."""
    if e.status == ACTIVE:
        body: dict[str, Any] = {"event_type": "activated", "market_ticker": e.ticker}
        if e.previous_status == INACTIVE:
            body["is_deactivated"] = False
        return body
    if e.status in (INACTIVE, CLOSED):
        body = {"event_type": "deactivated", "market_ticker": e.ticker}
        if e.status == INACTIVE:
            body["is_deactivated"] = True
        return body
    if e.status == FINALIZED:
        return {"event_type": "settled", "market_ticker": e.ticker, "settled_ts": time_ms // 1000}
    return None


def determined(e: ev.MarketDetermined, time_ms: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_type": "determined", "market_ticker": e.ticker, "result": "" if e.result == RESULT_VOID else e.result,
        "determination_ts": time_ms // 1000,
    }
    if e.settlement_value_centicents >= 0:
        body["settlement_value"] = dollars(e.settlement_value_centicents)
    return body


def terms_changed(e: ev.MarketTermsChanged) -> list[dict[str, Any]]:
    """market_lifecycle_v2 messages for changed terms: price_level_structure_updated with the new
    grid, metadata_updated with the other changed fields (strikes as numbers)."""
    changed = dict((field, value) for field, value in e.changes)
    messages: list[dict[str, Any]] = []
    structure = changed.pop("price_level_structure", None)
    if structure is not None:
        messages.append({
            "market_ticker": e.ticker, "event_type": "price_level_structure_updated", "price_level_structure": structure,
            "price_ranges": price_ranges(structure),
        })
    if changed:
        body: dict[str, Any] = {"market_ticker": e.ticker, "event_type": "metadata_updated"}
        for field, value in changed.items():
            body[field] = number(value) if field in ("floor_strike", "cap_strike") else value
        messages.append(body)
    return messages


def event_fee_update(e: ev.FeeChangeApplied) -> dict[str, Any]:
    """An event's fee override set or (null fields) cleared, as it takes effect."""
    return {
        "event_ticker": e.event_ticker, "fee_type_override": e.fee_type or None,
        "fee_multiplier_override": fee_multiplier(e.fee_multiplier_bps) if e.fee_multiplier_bps >= 0 else None,
    }


def times_changed(e: ev.MarketTimesChanged) -> dict[str, Any]:
    return {"event_type": "close_date_updated", "market_ticker": e.ticker, "close_ts": e.close_time_ms // 1000}
