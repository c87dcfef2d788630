"""Kalshi v2 trading objects (reference §6.6, §7): orders, fills, positions, settlements, balance —
the union of current fields (`*_dollars`, `*_fp`, strict in SDK 3.x) and legacy integers."""

from __future__ import annotations

from typing import Any

from predictex.core import events as ev
from predictex.core.units import average_per_contract_microdollars, price_complement, price_to_float_dollars
from predictex.gateways.rest.wire import cents, contracts, count_fp, dollars, money, money_cents, optional_rfc3339, rfc3339
from predictex.readmodel import portfolio
from predictex.readmodel.live import Holding, OrderView
from predictex.server import ids
from predictex.server.ids import Ids


def legacy_side(is_bid: bool, action: str) -> str:
    """The member's own words: a bid is buy yes or sell no; an ask is buy no or sell yes."""
    if is_bid:
        return "yes" if action == "buy" else "no"
    return "no" if action == "buy" else "yes"


def order(view: OrderView, member_uuid: str, identities: Ids) -> dict[str, Any]:
    price = view.price_centicents
    total = view.filled_centicontracts + view.remaining_centicontracts
    initial = max(view.initial_count_centicontracts, total)
    order_id = identities.to_uuid(ids.ORDER, view.order_id)
    return {
        "order_id": order_id,
        "user_id": member_uuid,
        "client_order_id": view.client_order_id or order_id,
        "ticker": view.ticker,
        "side": legacy_side(view.is_bid, view.action),
        "action": view.action,
        "outcome_side": "yes" if view.is_bid else "no",
        "book_side": "bid" if view.is_bid else "ask",
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
        "subaccount_number": 0,
        "exchange_index": 0,
    }


def fill(row: tuple[Any, ...], identities: Ids, action: str = "buy", client_order_id: str = "") -> dict[str, Any]:
    """A fill from the history row (trade_id, is_taker, time_ms, order_id, ticker, is_bid, price, count, fee);
    `side` and `action` in the words its order was placed with (a sell of YES fills as side yes,
    action sell), `outcome_side`/`book_side` the direction."""
    trade_id, is_taker, time_ms, order_id, ticker, is_bid, price, count, fee = row
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
        "side": legacy_side(is_bid, action),
        "action": action,
        "outcome_side": "yes" if is_bid else "no",
        "book_side": "bid" if is_bid else "ask",
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
        "subaccount_number": 0,
    }


def market_position(ticker: str, holding: Holding, resting_centicontracts: int = 0) -> dict[str, Any]:
    return {
        "ticker": ticker,
        "exchange_index": 0,
        "total_traded_dollars": money(holding.total_traded_microdollars),
        "position_fp": count_fp(holding.position_centicontracts),
        "market_exposure_dollars": money(holding.position_cost_microdollars),
        "realized_pnl_dollars": money(holding.realized_pnl_microdollars),
        "fees_paid_dollars": money(holding.fees_paid_microdollars),
        "last_updated_ts": rfc3339(holding.updated_ms),
        "total_traded": money_cents(holding.total_traded_microdollars),
        "position": contracts(holding.position_centicontracts),
        "market_exposure": money_cents(holding.position_cost_microdollars),
        "realized_pnl": money_cents(holding.realized_pnl_microdollars),
        "fees_paid": money_cents(holding.fees_paid_microdollars),
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
    """From (ticker, time_ms, result, position, cost, payout, fees). A void market (refunded at cost)
    reports `scalar` with no value: SDK 3.x accepts only yes, no and scalar; `predictex_result` says void."""
    ticker, time_ms, result, position, cost, payout, fees = row
    yes_count = position if position > 0 else 0
    no_count = -position if position < 0 else 0
    body: dict[str, Any] = {
        "ticker": ticker,
        "event_ticker": event_ticker,
        "exchange_index": 0,
        "market_result": "scalar" if result == "void" else result,
        "predictex_result": result,
        "yes_count_fp": count_fp(yes_count),
        "no_count_fp": count_fp(no_count),
        "yes_total_cost_dollars": money(cost if yes_count else 0),
        "no_total_cost_dollars": money(cost if no_count else 0),
        "yes_count": contracts(yes_count),
        "no_count": contracts(no_count),
        "yes_total_cost": money_cents(cost if yes_count else 0),
        "no_total_cost": money_cents(cost if no_count else 0),
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
                fees += event.taker_fee_microdollars + event.taker_rounding_microdollars - event.taker_rebate_microdollars
            elif event.maker_order_id == order_id:
                fees += event.maker_fee_microdollars + event.maker_rounding_microdollars - event.maker_rebate_microdollars
            else:
                continue
            count += event.count_centicontracts
            notional += event.price_centicents * event.count_centicontracts
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
