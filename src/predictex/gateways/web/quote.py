"""The order ticket's preview: what an order would cost, its fee and its payout, before it is sent.

The order is walked against the live book (the read model's resting orders, at its committed seq):
the part that would trade pays the taker fee on each fill, the rest would rest at the limit price and
pay the maker fee if it trades later (zero unless the series' fee type has maker fees). Fees and the
balance's rounding are `core/fees.py`'s (`FeeTerms`, `apply_balance_rounding`), the engine's own
arithmetic, so the preview and the fills agree to the cent while the book stays as it was. Amounts
are exact integers (microdollars), shown as dollars.

A buy of side S costs price x count (+ fees) and pays $1.00 a contract if S wins. A sell of S is the
mirror: it receives price x count (- fees), i.e. a negative cost; its "payout" is what the contracts
sold would have paid."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from predictex.core.fees import FeeTerms, apply_balance_rounding
from predictex.core.text import ascii_int
from predictex.core.units import (
    COUNT_ONE_CONTRACT_CENTICONTRACTS,
    PAYOUT_PER_CENTICONTRACT_MICRODOLLARS,
    UnitError,
    format_count_fp,
    format_money_dollars,
    notional_microdollars,
    parse_count_fp,
    parse_price_dollars,
    price_complement,
)
from predictex.readmodel.live import LiveState, MarketView

COUNT_CONTRACTS_MAX = 1_000_000


class QuoteError(ValueError):
    pass


def _fills_to_take(market: MarketView, buys_yes: bool) -> Iterator[tuple[int, int]]:
    """The resting orders an order would trade against, best first and in time priority, as (YES
    price, size): one fill each, as the engine fills them. A YES buyer (or NO seller) takes the asks,
    a YES seller (or NO buyer) the bids."""
    levels = market.book.levels(False) if buys_yes else list(reversed(market.book.levels(True)))
    queues = market.ask_queues if buys_yes else market.bid_queues
    for price, size in levels:
        queue = queues.get(price)
        if not queue:
            yield price, size
            continue
        for view in queue:
            yield price, view.size_centicontracts


def quote(live: LiveState, fields: dict[str, str]) -> dict[str, Any]:
    market = live.markets.get(fields.get("ticker", ""))
    if market is None:
        raise QuoteError("no such market")
    series = live.series.get(market.series_ticker)
    if series is None:
        raise QuoteError("the market's series is unknown")
    action, side, kind = fields.get("action"), fields.get("side"), fields.get("type", "limit")
    if action not in ("buy", "sell") or side not in ("yes", "no") or kind not in ("limit", "market"):
        raise QuoteError("action must be buy or sell, side yes or no, type limit or market")
    count = _count(fields.get("count", ""))
    buys_yes = (action == "buy") == (side == "yes")
    limit_yes = _limit_yes(fields.get("price", ""), kind, side, buys_yes)
    unit = 1 if market.definition.fractional_trading else COUNT_ONE_CONTRACT_CENTICONTRACTS
    terms = FeeTerms(series.fee_type, series.fee_multiplier_bps, unit)
    account = _Account(action == "buy")
    left = count
    for price_yes, size in _fills_to_take(market, buys_yes):
        if left == 0 or (price_yes > limit_yes if buys_yes else price_yes < limit_yes):
            break
        taken = min(left, size)
        own_price = price_yes if side == "yes" else price_complement(price_yes)
        account.fill(own_price, taken, terms.trade_fee(True, taken, own_price))
        left -= taken
    if left and kind == "limit":  # the rest rests, and is counted as one fill at the limit (as a maker)
        own_limit = limit_yes if side == "yes" else price_complement(limit_yes)
        account.fill(own_limit, left, terms.trade_fee(False, left, own_limit))
        left = 0
    filled = count - left
    cost, fee = -account.cash_delta, account.fee
    return {
        "cost": _dollars(cost), "fee": _dollars(fee),
        "payout": _dollars(filled * PAYOUT_PER_CENTICONTRACT_MICRODOLLARS),
        "cost_microdollars": cost, "fee_microdollars": fee, "unfilled_fp": format_count_fp(left),
        "seq": market.book.seq,
    }


class _Account:
    """The cash of one order's fills: each fill's cash change floored to the balance increment, the
    difference a rounding fee, rebated a cent at a time from the order's accumulator (core/fees.py)."""

    def __init__(self, buys: bool) -> None:
        self.buys = buys
        self.cash_delta = 0
        self.fee = 0  # trade fees and rounding fees, less rebates: what the fills report as fee_cost
        self.accumulator = 0

    def fill(self, price_centicents: int, count_centicontracts: int, trade_fee: int) -> None:
        value = notional_microdollars(price_centicents, count_centicontracts)
        change = apply_balance_rounding(-value if self.buys else value, trade_fee, self.accumulator)
        self.cash_delta += change.cash_delta_microdollars
        self.fee += trade_fee + change.rounding_fee_microdollars - change.rebate_microdollars
        self.accumulator = change.accumulator_microdollars


def _count(text: str) -> int:
    whole = ascii_int(text, 7)
    try:
        count = whole * COUNT_ONE_CONTRACT_CENTICONTRACTS if whole is not None else parse_count_fp(text)
    except UnitError as error:
        raise QuoteError(f"count: {error}") from error
    if not 0 < count <= COUNT_CONTRACTS_MAX * COUNT_ONE_CONTRACT_CENTICONTRACTS:
        raise QuoteError(f"count must be from 0.01 to {COUNT_CONTRACTS_MAX}")
    return count


def _limit_yes(text: str, kind: str, side: str, buys_yes: bool) -> int:
    """The limit as a YES price (a market order: the whole range)."""
    if kind == "market":
        return 10_000 if buys_yes else 0
    try:
        price = parse_price_dollars(text)
    except UnitError as error:
        raise QuoteError(f"price: {error}") from error
    if not 0 < price < 10_000:
        raise QuoteError("price must be between $0.0001 and $0.9999")
    return price if side == "yes" else price_complement(price)


def _dollars(amount_microdollars: int) -> str:
    sign = "-" if amount_microdollars < 0 else ""
    return sign + "$" + format_money_dollars(abs(amount_microdollars), 4)
