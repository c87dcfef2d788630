"""Questions gateways ask the read model: one order (open ones are live, closed ones are history),
an account's orders, fills, settlements and settled positions, with filters and keyset pagination.
Answers are views (OrderView for orders, plain tuples for the rest) in domain units; gateways shape
them for their wire."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from predictex.core import events as ev
from predictex.core.orders import (
    ACTION_BY_VALUE,
    CLOSE_REASON_BY_VALUE,
    ORDER_STATUS_BY_VALUE,
    RESTING,
    TIME_IN_FORCE_BY_VALUE,
    Action,
)
from predictex.core.units import PRICE_ONE_DOLLAR_CENTICENTS
from predictex.journal.base import JournalStore
from predictex.readmodel.history import ORDER_COLUMNS
from predictex.readmodel.live import LiveState, OrderView

_ORDER_SELECT = f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders"


def closed_order_view(row: Sequence[Any]) -> OrderView:
    """An OrderView from a row of the orders history table (in ORDER_COLUMNS order), whose words are
    the enums' values."""
    (order_id, _seq, account_id, ticker, status, close_reason, reduced_by, is_bid, price, initial_count, filled,
     time_in_force, expiration_ms, post_only, reduce_only, self_trade_prevention, order_type, cancel_on_pause,
     client_order_id, order_group_id, action, created_ms, updated_ms, taker_fill_cost, maker_fill_cost, taker_fees,
     maker_fees) = row
    return OrderView(
        order_id, account_id, ticker, bool(is_bid), price, initial_count, 0, filled, TIME_IN_FORCE_BY_VALUE[time_in_force],
        expiration_ms, bool(post_only), bool(reduce_only), self_trade_prevention, order_type, bool(cancel_on_pause),
        client_order_id, order_group_id, ACTION_BY_VALUE[action], ORDER_STATUS_BY_VALUE[status],
        CLOSE_REASON_BY_VALUE[close_reason], created_ms, updated_ms, taker_fill_cost, maker_fill_cost,
        taker_fees, maker_fees, reduced_by,
    )


def fill_row(e: ev.Trade, is_taker: bool, time_ms: int) -> tuple[Any, ...]:
    """One side of a trade as a row of `Queries.fills` (for streams, which have the event at hand)."""
    order_id = e.taker_order_id if is_taker else e.maker_order_id
    is_bid = e.taker_is_bid if is_taker else not e.taker_is_bid
    return (e.trade_id, is_taker, time_ms, order_id, e.ticker, is_bid, e.price_centicents, e.count_centicontracts,
            e.fee_paid_microdollars(is_taker))


class Queries:
    def __init__(self, live: LiveState, store: JournalStore) -> None:
        self.live = live
        self.store = store

    def order(self, order_id: int) -> OrderView | None:
        view = self.live.orders.get(order_id)
        if view is not None:
            return view
        rows = self.store.query(f"{_ORDER_SELECT} WHERE order_id = ?", [order_id])
        return closed_order_view(rows[0]) if rows else None

    def orders(
        self, account_id: int | Sequence[int], *, status: str = "", tickers: frozenset[str] | None = None,
        min_ms: int = 0, max_ms: int = 1 << 62, limit: int, before: tuple[int, int] | None = None, closed_since_ms: int = 0,
    ) -> list[OrderView]:
        """An account's orders (or several accounts'), newest first (by creation time, then id), after
        the `before` key; closed ones only if they closed at or after `closed_since_ms` (older ones are
        archived)."""
        accounts = _accounts(account_id)
        found: list[OrderView] = []
        if status in ("", RESTING):
            for account in accounts:
                for view in self.live.orders_by_account.get(account, {}).values():
                    if (tickers is None or view.ticker in tickers) and min_ms <= view.created_ms <= max_ms:
                        found.append(view)
        if status != RESTING:
            conditions = [_account_condition(accounts), "created_ms >= ?", "created_ms <= ?", "updated_ms >= ?"]
            values: list[Any] = [*accounts, min_ms, max_ms, closed_since_ms]
            if status:
                conditions.append("status = ?")
                values.append(status)
            if tickers is not None:
                conditions.append(f"ticker IN ({', '.join('?' for _ in tickers)})")
                values += sorted(tickers)
            if before is not None:
                conditions.append("(created_ms < ? OR (created_ms = ? AND order_id < ?))")
                values += [before[0], before[0], before[1]]
            rows = self.store.query(
                f"{_ORDER_SELECT} WHERE {' AND '.join(conditions)} ORDER BY created_ms DESC, order_id DESC LIMIT ?",
                [*values, limit + 1],
            )
            found.extend(map(closed_order_view, rows))
        if before is not None:
            found = [v for v in found if (v.created_ms, v.order_id) < before]
        found.sort(key=lambda v: (v.created_ms, v.order_id), reverse=True)
        return found[: limit + 1]

    def order_labels(self, order_ids: Sequence[int]) -> dict[int, tuple[Action, str]]:
        """(action, client_order_id) of each order, open or closed, by id: how the member placed it."""
        found: dict[int, tuple[Action, str]] = {}
        missing = []
        for order_id in dict.fromkeys(order_ids):
            view = self.live.orders.get(order_id)
            if view is not None:
                found[order_id] = (view.action, view.client_order_id)
            else:
                missing.append(order_id)
        if missing:
            rows = self.store.query(
                f"SELECT order_id, action, client_order_id FROM orders WHERE order_id IN ({', '.join('?' for _ in missing)})", missing,
            )
            found.update((order_id, (ACTION_BY_VALUE[action], client_order_id)) for order_id, action, client_order_id in rows)
        return found

    def settled_positions(self, account_id: int, tickers: Sequence[str]) -> list[tuple[Any, ...]]:
        """An account's whole record in settled markets, from its fills and settlement payouts:
        (ticker, volume, total traded, fees, realized P&L, last time), by ticker. Realized P&L is every
        fill's revenue (cash change plus fee) plus the payout: all cost is released by the end."""
        if not tickers:
            return []
        marks = ", ".join("?" for _ in tickers)
        rows = self.store.query(
            "SELECT ticker, SUM(count_centicontracts), "
            f"SUM(CASE WHEN is_bid <> 0 THEN price_centicents ELSE {PRICE_ONE_DOLLAR_CENTICENTS} - price_centicents END * count_centicontracts), "
            "SUM(fee_microdollars), SUM(cash_delta_microdollars + fee_microdollars), MAX(time_ms) "
            f"FROM fills WHERE account_id = ? AND ticker IN ({marks}) GROUP BY ticker ORDER BY ticker",
            [account_id, *tickers],
        )
        payouts = {
            ticker: (payout, time_ms) for ticker, payout, time_ms in self.store.query(
                f"SELECT ticker, payout_microdollars, time_ms FROM settlements WHERE account_id = ? AND ticker IN ({marks})",
                [account_id, *tickers],
            )
        }
        found = []
        for ticker, volume, traded, fees, revenue, last_ms in rows:
            payout, settled_ms = payouts.get(ticker, (0, 0))
            found.append((ticker, int(volume), int(traded), int(fees), int(revenue) + payout, max(int(last_ms), settled_ms)))
        return found

    def fills(
        self, account_id: int | Sequence[int], *, tickers: frozenset[str] | None = None, order_id: int | None = None,
        min_ms: int = 0, max_ms: int = 1 << 62, limit: int, before: tuple[int, int] | None = None,
        with_account: bool = False,
    ) -> list[tuple[Any, ...]]:
        """(trade_id, is_taker, time_ms, order_id, ticker, is_bid, price, count, fee) newest first, and
        the account last `with_account`. Both sides of a trade between two of the accounts asked for
        are listed, the taker's first."""
        accounts = _accounts(account_id)
        conditions = [_account_condition(accounts), "time_ms >= ?", "time_ms <= ?"]
        values: list[Any] = [*accounts, min_ms, max_ms]
        if order_id is not None:
            conditions.append("order_id = ?")
            values.append(order_id)
        if tickers is not None:
            conditions.append(f"ticker IN ({', '.join('?' for _ in tickers)})")
            values += sorted(tickers)
        if before is not None:
            conditions.append("(trade_id < ? OR (trade_id = ? AND is_taker < ?))")
            values += [before[0], before[0], before[1]]
        return self.store.query(
            "SELECT trade_id, is_taker, time_ms, order_id, ticker, is_bid, price_centicents, count_centicontracts, "
            f"fee_microdollars{', account_id' if with_account else ''} FROM fills WHERE {' AND '.join(conditions)} "
            "ORDER BY trade_id DESC, is_taker DESC LIMIT ?",
            [*values, limit + 1],
        )

    def settlements(
        self, account_id: int | Sequence[int], *, ticker: str = "", event_ticker: str = "", min_ms: int = 0,
        max_ms: int = 1 << 62, limit: int, before: tuple[int, str] | tuple[int, str, int] | None = None,
    ) -> list[tuple[Any, ...]]:
        """(ticker, time_ms, result, position, cost, payout, fees, account, then the YES and NO held and
        their costs for an account without netting, NULL otherwise) newest first (then by ticker and
        account, descending: the key `before` continues from)."""
        accounts = _accounts(account_id)
        conditions = ["s." + _account_condition(accounts), "s.time_ms >= ?", "s.time_ms <= ?"]
        values: list[Any] = [*accounts, min_ms, max_ms]
        if ticker:
            conditions.append("s.ticker = ?")
            values.append(ticker)
        if event_ticker:
            tickers = self.live.event_markets.get(event_ticker, [])
            if not tickers:
                return []
            conditions.append(f"s.ticker IN ({', '.join('?' for _ in tickers)})")
            values += tickers
        if before is not None:
            last_account = before[2] if len(before) == 3 else 1 << 62
            conditions.append("(s.time_ms < ? OR (s.time_ms = ? AND (s.ticker < ? OR (s.ticker = ? AND s.account_id < ?))))")
            values += [before[0], before[0], before[1], before[1], last_account]
        return self.store.query(
            "SELECT s.ticker, s.time_ms, s.result, s.position_centicontracts, s.position_cost_microdollars, "
            "s.payout_microdollars, s.fees_paid_microdollars, s.account_id, d.yes_centicontracts, d.no_centicontracts, "
            "d.yes_cost_microdollars, d.no_cost_microdollars FROM settlements s LEFT JOIN settlement_sides d "
            f"ON d.account_id = s.account_id AND d.ticker = s.ticker WHERE {' AND '.join(conditions)} "
            "ORDER BY s.time_ms DESC, s.ticker DESC, s.account_id DESC LIMIT ?",
            [*values, limit + 1],
        )


def _accounts(account_id: int | Sequence[int]) -> list[int]:
    return [account_id] if isinstance(account_id, int) else list(account_id)


def _account_condition(accounts: list[int]) -> str:
    return "account_id = ?" if len(accounts) == 1 else f"account_id IN ({', '.join('?' for _ in accounts)})"
