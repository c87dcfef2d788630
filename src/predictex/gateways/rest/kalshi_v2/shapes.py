"""Kalshi v2 objects, exactly as clients of every era parse them (reference §5, §12).

Each function turns read-model state into one wire object. Objects carry the union of the current
fields (`*_dollars` strings, `*_fp` counts, required by SDK 3.x, whose pydantic models are strict) and
the legacy integer fields (cents and whole contracts, read by older clients); extra fields are
ignored by every SDK, so the union is safe. Enums are Kalshi's exactly.
"""

from __future__ import annotations

from typing import Any

import orjson

from predictex.core.fees import FEE_MULTIPLIER_ONE_BPS
from predictex.core.instruments import PRICE_LEVEL_STRUCTURES, RESULT_VOID
from predictex.core.units import PRICE_ONE_DOLLAR_CENTICENTS, price_complement, price_to_cents
from predictex.gateways.rest.wire import cents, contracts, count_fp, dollars, optional_rfc3339, rfc3339, seconds
from predictex.readmodel.live import MarketView

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


def event(e: Any, series_def: Any, markets: list[dict[str, Any]] | None) -> dict[str, Any]:
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
    """A public trade from the history row (trade_id, time_ms, ticker, price, count, taker_is_bid)."""
    _, time_ms, ticker, price, count, taker_is_bid = row
    taker_outcome = "yes" if taker_is_bid else "no"
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
        "taker_book_side": "bid" if taker_is_bid else "ask",
        "taker_side": taker_outcome,
        "created_time": rfc3339(time_ms),
        "is_block_trade": False,
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
