"""The engine's whole state as plain data, and back; and the state hash.

`take_snapshot(engine)` returns JSON-compatible data holding everything the engine's future behaviour
depends on, including every insertion order it iterates; `restore_snapshot(data)` rebuilds an engine
that behaves identically. `state_hash` is the SHA-256 of the snapshot's canonical JSON: two engines
with equal hashes are in the same state. The canonical JSON is compact, keeps insertion order and
escapes everything beyond printable ASCII; orjson writes the same bytes for such data several times
faster, so it is used (where installed) whenever its output is printable ASCII.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections import deque
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from predictex.core.communications import BlockProposal, Communications, Quote, Rfq, accounts_of
from predictex.core.engine import Engine
from predictex.core.fee_changes import FeeChange
from predictex.core.instruments import MARKET_STATUS_BY_VALUE, Event, Market, Series
from predictex.core.ledger import Account, AccountMarket, Withdrawal
from predictex.core.orders import ACTION_BY_VALUE, TIME_IN_FORCE_BY_VALUE, Order
from predictex.core.trading import OrderGroup, RecentIds


def _orjson_dumps() -> Callable[[Any], bytes] | None:
    """orjson's encoder where it is installed (the engine alone needs no third-party package)."""
    try:
        module = importlib.import_module("orjson")
    except ImportError:
        return None
    dumps: Callable[[Any], bytes] = module.dumps
    return dumps


_fast_dumps = _orjson_dumps()

SNAPSHOT_FORMAT = 1

_SERIES_FIELDS = (
    "ticker", "title", "category", "frequency", "fee_type", "fee_multiplier_bps", "contract_url",
    "contract_terms_url", "created_ms", "updated_ms",
)
_EVENT_FIELDS = (
    "event_ticker", "series_ticker", "title", "sub_title", "mutually_exclusive", "strike_date_ms", "strike_period",
    "created_ms", "updated_ms",
)
_MARKET_INIT_FIELDS = (
    "ticker", "market_number", "event_ticker", "series_ticker", "market_type", "title", "subtitle", "yes_sub_title",
    "no_sub_title", "rules_primary", "rules_secondary", "open_time_ms", "close_time_ms", "expected_expiration_ms",
    "settlement_timer_s", "price_level_structure", "fractional_trading", "can_close_early", "strike_type",
    "floor_strike", "cap_strike", "fee_waiver_expiration_ms", "fee_type", "fee_multiplier_bps", "created_ms",
)
_MARKET_STATE_FIELDS = (
    "updated_ms", "status", "result", "settlement_value_centicents", "settlement_source", "determined_ms",
    "settle_at_ms", "settled_ms", "closed_ms", "last_price_centicents", "volume_centicontracts",
    "open_interest_centicontracts", "trade_count",
)
_ACCOUNT_FIELDS = (
    "account_id", "created_ms", "cash_microdollars", "locked_microdollars", "pending_withdrawal_microdollars",
    "deposited_microdollars", "withdrawn_microdollars", "fees_paid_microdollars",
)
_HOLDING_FIELDS = (
    "ticker", "position_centicontracts", "position_cost_microdollars", "realized_pnl_microdollars",
    "fees_paid_microdollars", "volume_centicontracts", "total_traded_microdollars", "bid_closing_centicontracts",
    "ask_closing_centicontracts", "updated_ms",
)
_ORDER_INIT_FIELDS = (
    "order_id", "account_id", "ticker", "is_bid", "price_centicents", "initial_count_centicontracts",
    "time_in_force", "expiration_ms", "post_only", "reduce_only", "self_trade_prevention", "order_type",
    "cancel_on_pause", "client_order_id", "order_group_id", "action", "created_ms",
)
_TIME_IN_FORCE = _ORDER_INIT_FIELDS.index("time_in_force")
_ACTION = _ORDER_INIT_FIELDS.index("action")
_ORDER_STATE_FIELDS = (
    "remaining_centicontracts", "filled_centicontracts", "updated_ms", "priority", "closing_centicontracts",
    "lock_microdollars", "rounding_accumulator_microdollars", "maker_fee_per_unit_microdollars",
    "taker_fill_cost_microdollars", "maker_fill_cost_microdollars", "taker_fees_microdollars",
    "maker_fees_microdollars", "taker_filled_centicontracts",
)


_ORDER_FIELDS = _ORDER_INIT_FIELDS + _ORDER_STATE_FIELDS
_MARKET_FIELDS = _MARKET_INIT_FIELDS + _MARKET_STATE_FIELDS
_MARKET_STATUS = _MARKET_STATE_FIELDS.index("status")
_GETTERS: dict[tuple[str, ...], Callable[[Any], Any]] = {}


def _fields(obj: object, names: tuple[str, ...]) -> list[Any]:
    """The named attributes, read by one operator.attrgetter (C): a snapshot is captured on the
    sequencer's thread between two commands, and a getattr per field made capture twice as long."""
    getter = _GETTERS.get(names)
    if getter is None:
        getter = _GETTERS[names] = attrgetter(*names)
    return list(getter(obj)) if len(names) > 1 else [getter(obj)]


def _assign(obj: object, names: tuple[str, ...], values: list[Any]) -> None:
    for name, value in zip(names, values, strict=True):
        setattr(obj, name, value)


def take_snapshot(engine: Engine) -> dict[str, Any]:
    data = _take(engine)
    comms = engine.communications
    if comms.next_rfq_id > 1 or comms.next_quote_id > 1 or comms.next_proposal_id > 1:
        # only once used, so the state (and hash) of an exchange that never used them is as it always was
        data["communications"] = _communications(comms)
    _add_schedules(engine, data)
    return data


def _add_schedules(engine: Engine, data: dict[str, Any]) -> None:
    """Fee changes and the archive cutoff, under keys of their own present only once used: a state
    without them snapshots (and hashes) exactly as it did before they existed."""
    fees = engine.fees
    if fees.changes:
        data["fee_changes"] = [[change.as_list() for change in fees.changes.values()], fees.next_change_id]
        data["fee_overrides"] = [
            [e.event_ticker, e.fee_type_override, e.fee_multiplier_override_bps] for e in engine.markets.events.values()
            if e.fee_type_override or e.fee_multiplier_override_bps != -1
        ]
    if any(engine.markets.archive_cutoff_ms):
        data["archive_cutoff"] = list(engine.markets.archive_cutoff_ms)
    if engine.combos.legs:
        combos = engine.combos
        data["combos"] = [
            [ticker, combos.collection[ticker], [list(leg) for leg in legs]] for ticker, legs in combos.legs.items()
        ]
    if engine.content.items:
        data["content"] = [[kind, [[key, body] for key, body in items.items()]] for kind, items in engine.content.items.items()]


def _restore_schedules(engine: Engine, data: dict[str, Any]) -> None:
    if "fee_changes" in data:
        changes, engine.fees.next_change_id = data["fee_changes"]
        for change_id, series, event, fee_type, multiplier, effective_ms, scheduled_ms, applied in changes:
            change = FeeChange(change_id, series, event, fee_type, multiplier, effective_ms, scheduled_ms)
            change.applied = applied
            engine.fees.changes[change_id] = change
        for event_ticker, fee_type, multiplier in data["fee_overrides"]:
            found = engine.markets.events[event_ticker]
            found.fee_type_override = fee_type
            found.fee_multiplier_override_bps = multiplier
    if "archive_cutoff" in data:
        engine.markets.archive_cutoff_ms = list(data["archive_cutoff"])
    for ticker, collection, legs in data.get("combos", []):
        engine.combos.add(collection, ticker, [(leg[0], leg[1]) for leg in legs])
    for kind, items in data.get("content", []):
        engine.content.items[kind] = {key: body for key, body in items}
        engine.content.count += len(items)


def _take(engine: Engine) -> dict[str, Any]:
    markets = engine.markets
    ledger = engine.ledger
    trading = engine.trading
    data: dict[str, Any] = {
        "format": SNAPSHOT_FORMAT,
        "now_ms": engine.now_ms,
        "exchange": [markets.exchange_active, markets.trading_active, markets.next_market_number],
        "series": [
            [*_fields(s, _SERIES_FIELDS), list(s.tags), [list(src) for src in s.settlement_sources]]
            for s in markets.series.values()
        ],
        "events": [[*_fields(e, _EVENT_FIELDS), list(e.market_tickers)] for e in markets.events.values()],
        "markets": [_fields(m, _MARKET_FIELDS) for m in markets.markets.values()],
        "accounts": [
            [*_fields(a, _ACCOUNT_FIELDS), [_fields(am, _HOLDING_FIELDS) for am in a.markets.values()]]
            for a in ledger.accounts.values()
        ],
        "holders": [[ticker, list(holders)] for ticker, holders in ledger.market_positions.items()],
        "withdrawals": [[w.withdrawal_id, w.account_id, w.amount_microdollars] for w in ledger.withdrawals.values()],
        "ledger": [ledger.deposited_microdollars, ledger.withdrawn_microdollars, ledger.revenue_microdollars,
                   ledger.next_account_id, ledger.next_withdrawal_id],
        "orders": [_fields(o, _ORDER_FIELDS) for o in trading.orders.values()],
        "groups": [
            [g.order_group_id, g.account_id, g.contracts_limit_centicontracts, g.triggered,
             [list(entry) for entry in g.window], g.window_total_centicontracts, list(g.order_ids)]
            for g in trading.groups.values()
        ],
        "recent_client_order_ids": [[account_id, ids.ids()] for account_id, ids in trading.recent_client_order_ids.items()],
        "trading": [trading.next_order_id, trading.next_trade_id, trading.next_group_id, trading.next_priority],
        "timers": [[list(entry) for entry in engine.timers.heap], engine.timers.next_sequence],
    }
    index = ledger.subaccounts
    if not index.is_empty():  # absent until a member opens one, so older states keep their hashes
        data["subaccounts"] = [
            [[primary, [[number, account_id] for number, account_id in numbered.items()]]
             for primary, numbered in index.by_primary.items()],
            [[primary, [[client_id, *terms] for client_id, terms in used.items()]]
             for primary, used in index.client_transfer_ids.items()],
            index.next_transfer_id,
        ]
    apart = [a for a in ledger.accounts.values() if not a.netting_enabled]
    if apart:  # absent until an account switches netting off, so older states keep their hashes
        data["netting_off"] = [
            [a.account_id, [[am.ticker, *_fields(am, _SIDES_FIELDS)] for am in a.markets.values()]] for a in apart
        ]
    if trading.not_eligible:  # absent until a member may not trade, so older states keep their hashes
        data["not_eligible"] = [[account_id, reason] for account_id, reason in sorted(trading.not_eligible.items())]
    limits = trading.position_limits
    if not limits.is_empty():  # absent until the operator sets one, so older states keep their hashes
        data["position_limits"] = [
            [[series, market_limit, event_limit] for series, (market_limit, event_limit) in sorted(limits.by_series.items())],
            [[ticker, market_limit] for ticker, market_limit in sorted(limits.by_market.items())],
        ]
    return data


_SIDES_FIELDS = ("yes_centicontracts", "no_centicontracts", "yes_cost_microdollars", "no_cost_microdollars")


_RFQ_FIELDS = (
    "rfq_id", "account_id", "ticker", "count_centicontracts", "target_cost_microdollars", "target_cost_excludes_fees",
    "rest_remainder", "obscure_creator", "expiration_ms", "created_ms",
)
_QUOTE_FIELDS = (
    "quote_id", "rfq_id", "account_id", "yes_bid_centicents", "no_bid_centicents", "yes_count_centicontracts",
    "no_count_centicontracts", "rest_remainder", "post_only", "expiration_ms", "created_ms", "status", "accepted_side",
    "confirm_deadline_ms",
)
_PROPOSAL_FIELDS = (
    "proposal_id", "proposer_account_id", "buyer_account_id", "seller_account_id", "ticker", "price_centicents",
    "count_centicontracts", "maker_side", "expiration_ms", "created_ms", "buyer_accepted_ms", "seller_accepted_ms",
)


def _communications(comms: Communications) -> list[Any]:
    return [
        [_fields(rfq, _RFQ_FIELDS) for rfq in comms.rfqs.values()],
        [_fields(quote, _QUOTE_FIELDS) for quote in comms.quotes.values()],  # in creation order: each RFQ's order too
        [_fields(proposal, _PROPOSAL_FIELDS) for proposal in comms.proposals.values()],
        [comms.next_rfq_id, comms.next_quote_id, comms.next_proposal_id],
    ]


def _restore_communications(engine: Engine, data: list[Any] | None) -> None:
    """Open RFQs, their quotes and pending proposals (a snapshot from before communications has none)."""
    if data is None:
        return
    comms = engine.communications
    rfq_rows, quote_rows, proposal_rows, counters = data
    for row in rfq_rows:
        rfq = Rfq(*row)
        comms.rfqs[rfq.rfq_id] = rfq
    for row in quote_rows:
        values = dict(zip(_QUOTE_FIELDS, row, strict=True))
        rfq = comms.rfqs[values["rfq_id"]]
        quote = Quote(
            values["quote_id"], rfq, values["account_id"], values["yes_bid_centicents"], values["no_bid_centicents"],
            values["yes_count_centicontracts"], values["no_count_centicontracts"], values["rest_remainder"],
            values["post_only"], values["expiration_ms"], values["created_ms"],
        )
        quote.status = values["status"]
        quote.accepted_side = values["accepted_side"]
        quote.confirm_deadline_ms = values["confirm_deadline_ms"]
        comms.quotes[quote.quote_id] = quote
        rfq.quote_ids[quote.quote_id] = None
    for row in proposal_rows:
        proposal = BlockProposal(*row[:10])
        proposal.buyer_accepted_ms, proposal.seller_accepted_ms = row[10], row[11]
        comms.proposals[proposal.proposal_id] = proposal
    comms.next_rfq_id, comms.next_quote_id, comms.next_proposal_id = counters
    for account_id, (rfqs, proposals) in accounts_of(comms).items():
        account = engine.ledger.accounts[account_id]
        account.open_rfq_count = rfqs
        account.pending_proposal_count = proposals


def restore_snapshot(data: dict[str, Any]) -> Engine:
    if data.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(f"unsupported snapshot format {data.get('format')!r}")
    engine = Engine()
    engine.now_ms = data["now_ms"]
    engine.scope.now_ms = data["now_ms"]
    _restore_instruments(engine, data)
    _restore_ledger(engine, data)
    _restore_orders(engine, data)
    _restore_schedules(engine, data)
    trading = engine.trading
    for group_id, account_id, limit, triggered, window, total, order_ids in data["groups"]:
        group = OrderGroup(group_id, account_id, limit)
        group.triggered = triggered
        group.window = deque((entry[0], entry[1]) for entry in window)
        group.window_total_centicontracts = total
        group.order_ids = dict.fromkeys(order_ids)
        trading.groups[group_id] = group
        engine.ledger.accounts[account_id].order_group_count += 1
    for account_id, ids in data["recent_client_order_ids"]:
        trading.recent_client_order_ids[account_id] = RecentIds(ids)
    trading.next_order_id, trading.next_trade_id, trading.next_group_id, trading.next_priority = data["trading"]
    trading.not_eligible = {account_id: reason for account_id, reason in data.get("not_eligible", [])}
    if "position_limits" in data:
        series_rows, market_rows = data["position_limits"]
        trading.position_limits.by_series = {series: (market_limit, event_limit) for series, market_limit, event_limit in series_rows}
        trading.position_limits.by_market = {ticker: market_limit for ticker, market_limit in market_rows}
    heap, next_sequence = data["timers"]
    engine.timers.heap = [(e[0], e[1], e[2], e[3], e[4]) for e in heap]
    engine.timers.next_sequence = next_sequence
    engine.timers.next_due_ms = engine.timers.heap[0][0] if engine.timers.heap else engine.timers.next_due_ms
    _restore_communications(engine, data.get("communications"))
    return engine


def _restore_instruments(engine: Engine, data: dict[str, Any]) -> None:
    markets = engine.markets
    markets.exchange_active, markets.trading_active, markets.next_market_number = data["exchange"]
    for row in data["series"]:
        values = row[: len(_SERIES_FIELDS)]
        tags, sources = row[len(_SERIES_FIELDS):]
        series = Series(
            values[0], values[1], values[2], values[3], values[4], values[5], tuple(tags),
            tuple((source[0], source[1]) for source in sources), values[6], values[7], values[8],
        )
        _assign(series, _SERIES_FIELDS, values)
        markets.series[series.ticker] = series
    for row in data["events"]:
        values = row[: len(_EVENT_FIELDS)]
        event = Event(*values[:8])
        _assign(event, _EVENT_FIELDS, values)
        event.market_tickers = list(row[len(_EVENT_FIELDS)])
        markets.events[event.event_ticker] = event
    for row in data["markets"]:
        market = Market(*row[: len(_MARKET_INIT_FIELDS)])
        state = row[len(_MARKET_INIT_FIELDS):]
        state[_MARKET_STATUS] = MARKET_STATUS_BY_VALUE[state[_MARKET_STATUS]]  # the snapshot holds the enum's value
        _assign(market, _MARKET_STATE_FIELDS, state)
        markets.markets[market.ticker] = market


def _restore_ledger(engine: Engine, data: dict[str, Any]) -> None:
    ledger = engine.ledger
    for row in data["accounts"]:
        account = Account(row[0], row[1])
        _assign(account, _ACCOUNT_FIELDS, row[: len(_ACCOUNT_FIELDS)])
        for holding in row[len(_ACCOUNT_FIELDS)]:
            am = AccountMarket(account, holding[0])
            _assign(am, _HOLDING_FIELDS, holding)
            account.markets[am.ticker] = am
        ledger.accounts[account.account_id] = account
    for ticker, account_ids in data["holders"]:
        ledger.market_positions[ticker] = {
            account_id: ledger.accounts[account_id].markets[ticker] for account_id in account_ids
        }
    for withdrawal_id, account_id, amount in data["withdrawals"]:
        ledger.withdrawals[withdrawal_id] = Withdrawal(withdrawal_id, account_id, amount)
    (ledger.deposited_microdollars, ledger.withdrawn_microdollars, ledger.revenue_microdollars,
     ledger.next_account_id, ledger.next_withdrawal_id) = data["ledger"]
    if "subaccounts" in data:
        numbered_rows, transfer_rows, next_transfer_id = data["subaccounts"]
        index = ledger.subaccounts
        for primary, numbered in numbered_rows:
            index.by_primary[primary] = {number: account_id for number, account_id in numbered}
            for number, account_id in numbered:
                index.owner[account_id] = (primary, number)
        for primary, used in transfer_rows:
            index.client_transfer_ids[primary] = {row[0]: (row[1], row[2], row[3], row[4]) for row in used}
        index.next_transfer_id = next_transfer_id
    for account_id, holdings in data.get("netting_off", []):
        account = ledger.accounts[account_id]
        account.netting_enabled = False
        for ticker, *sides in holdings:
            _assign(account.markets[ticker], _SIDES_FIELDS, sides)


def _restore_orders(engine: Engine, data: dict[str, Any]) -> None:
    """Rebuild open orders, then file them into books (time order within a level) and into their
    accounts' fill-ordered lists."""
    ledger = engine.ledger
    orders = engine.trading.orders
    for row in data["orders"]:
        init = list(row[: len(_ORDER_INIT_FIELDS)])
        account = ledger.accounts[init[1]]
        market = engine.markets.markets[init[2]]
        init[_TIME_IN_FORCE] = TIME_IN_FORCE_BY_VALUE[init[_TIME_IN_FORCE]]  # the snapshot holds the enums' values
        init[_ACTION] = ACTION_BY_VALUE[init[_ACTION]]
        order = Order(init[0], account, market, *init[3:])
        _assign(order, _ORDER_STATE_FIELDS, row[len(_ORDER_INIT_FIELDS):])
        orders[order.order_id] = order
        account.open_order_count += 1
        if order.client_order_id:
            account.open_client_order_ids[order.client_order_id] = order.order_id
    for order in sorted(orders.values(), key=lambda o: o.priority):  # both the book and the ledger file in time order
        market = engine.markets.markets[order.ticker]
        market.book.side(order.is_bid).append(order)
        order.account.markets[order.ticker].add_resting(order)


def canonical_json(data: Any) -> bytes:
    if _fast_dumps is not None:
        try:
            encoded = _fast_dumps(data)
        except TypeError:  # a value orjson refuses (non-string keys, integers beyond 64 bits)
            pass
        else:
            if encoded.isascii() and b"\x7f" not in encoded:  # the standard library escapes DEL too
                return encoded
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def snapshot_hash(canonical: bytes) -> str:
    """The state hash of a snapshot, from its canonical JSON."""
    return hashlib.sha256(canonical).hexdigest()


def state_hash(engine: Engine) -> str:
    return snapshot_hash(canonical_json(take_snapshot(engine)))
