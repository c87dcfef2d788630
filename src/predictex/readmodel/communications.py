"""RFQs, quotes and block-trade proposals as clients read them, built from committed events.

Every RFQ, quote and proposal is a row of a history table (`rfqs`, `quotes`, `block_trade_proposals`),
written at each of its changes in the transaction of the batch that changed it (the projector's
`CommunicationsRows`), rebuilt from the journal with the rest of the history, and read by REST
(`CommunicationsQueries`): a restart, or any number of closed ones, forgets nothing.

In memory (`CommunicationsView`, in the live state) are the open ones (loaded from those tables at
start-up) and the most recently closed ones (`COMMUNICATIONS_CLOSED_KEPT_MAX` of each kind): what the
WebSocket hub needs while it writes a batch's messages.

Each view keeps the engine's last event about it (its whole state then) and the times of the
transitions clients see (accepted, executed, cancelled), and, once its trade executed, the two orders
the execution booked."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any, TypeVar

from predictex.core import events as ev
from predictex.core.communications import (
    BLOCK_EXECUTED,
    BLOCK_PENDING,
    QUOTE_ACCEPTED,
    QUOTE_CANCELLED,
    QUOTE_EXECUTED,
    QUOTE_OPEN,
    RFQ_CLOSED,
    RFQ_OPEN,
)
from predictex.core.limits import COMMUNICATIONS_CLOSED_KEPT_MAX
from predictex.journal.base import JournalStore, TableWrite

V = TypeVar("V")

COMMUNICATIONS_TABLES = ("rfqs", "quotes", "block_trade_proposals")

RFQ_COLUMNS = (
    "rfq_id", "seq", "account_id", "ticker", "count_centicontracts", "target_cost_microdollars", "target_cost_excludes_fees",
    "rest_remainder", "obscure_creator", "expiration_ms", "created_ms", "status", "last_change", "updated_ms", "cancelled_ms",
    "closed_by", "executed",
)
QUOTE_COLUMNS = (
    "quote_id", "seq", "rfq_id", "account_id", "rfq_account_id", "ticker", "yes_bid_centicents", "no_bid_centicents",
    "yes_count_centicontracts", "no_count_centicontracts", "rest_remainder", "post_only", "expiration_ms", "created_ms",
    "status", "accepted_side", "confirm_deadline_ms", "last_change", "updated_ms", "accepted_ms", "executed_ms",
    "cancelled_ms", "cancellation_reason", "requester_order_id", "maker_order_id",
)
PROPOSAL_COLUMNS = (
    "proposal_id", "seq", "proposer_account_id", "buyer_account_id", "seller_account_id", "ticker", "price_centicents",
    "count_centicontracts", "maker_side", "expiration_ms", "created_ms", "buyer_accepted_ms", "seller_accepted_ms", "status",
    "last_change", "updated_ms", "executed_ms", "buyer_order_id", "seller_order_id",
)

COMMUNICATIONS_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS rfqs (
        rfq_id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, account_id BIGINT NOT NULL, ticker TEXT NOT NULL,
        count_centicontracts BIGINT NOT NULL, target_cost_microdollars BIGINT NOT NULL,
        target_cost_excludes_fees SMALLINT NOT NULL, rest_remainder SMALLINT NOT NULL, obscure_creator SMALLINT NOT NULL,
        expiration_ms BIGINT NOT NULL, created_ms BIGINT NOT NULL, status TEXT NOT NULL, last_change TEXT NOT NULL,
        updated_ms BIGINT NOT NULL, cancelled_ms BIGINT NOT NULL, closed_by TEXT NOT NULL, executed SMALLINT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS rfqs_by_status ON rfqs (status, rfq_id)",
    "CREATE INDEX IF NOT EXISTS rfqs_by_account ON rfqs (account_id, rfq_id)",
    """CREATE TABLE IF NOT EXISTS quotes (
        quote_id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, rfq_id BIGINT NOT NULL, account_id BIGINT NOT NULL,
        rfq_account_id BIGINT NOT NULL, ticker TEXT NOT NULL, yes_bid_centicents BIGINT NOT NULL,
        no_bid_centicents BIGINT NOT NULL, yes_count_centicontracts BIGINT NOT NULL, no_count_centicontracts BIGINT NOT NULL,
        rest_remainder SMALLINT NOT NULL, post_only SMALLINT NOT NULL, expiration_ms BIGINT NOT NULL,
        created_ms BIGINT NOT NULL, status TEXT NOT NULL, accepted_side TEXT NOT NULL, confirm_deadline_ms BIGINT NOT NULL,
        last_change TEXT NOT NULL, updated_ms BIGINT NOT NULL, accepted_ms BIGINT NOT NULL, executed_ms BIGINT NOT NULL,
        cancelled_ms BIGINT NOT NULL, cancellation_reason TEXT NOT NULL, requester_order_id BIGINT NOT NULL,
        maker_order_id BIGINT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS quotes_by_maker ON quotes (account_id, quote_id)",
    "CREATE INDEX IF NOT EXISTS quotes_by_requester ON quotes (rfq_account_id, quote_id)",
    "CREATE INDEX IF NOT EXISTS quotes_by_status ON quotes (status, quote_id)",
    """CREATE TABLE IF NOT EXISTS block_trade_proposals (
        proposal_id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, proposer_account_id BIGINT NOT NULL,
        buyer_account_id BIGINT NOT NULL, seller_account_id BIGINT NOT NULL, ticker TEXT NOT NULL,
        price_centicents BIGINT NOT NULL, count_centicontracts BIGINT NOT NULL, maker_side TEXT NOT NULL,
        expiration_ms BIGINT NOT NULL, created_ms BIGINT NOT NULL, buyer_accepted_ms BIGINT NOT NULL,
        seller_accepted_ms BIGINT NOT NULL, status TEXT NOT NULL, last_change TEXT NOT NULL, updated_ms BIGINT NOT NULL,
        executed_ms BIGINT NOT NULL, buyer_order_id BIGINT NOT NULL, seller_order_id BIGINT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS block_trade_proposals_by_buyer ON block_trade_proposals (buyer_account_id, proposal_id)",
    "CREATE INDEX IF NOT EXISTS block_trade_proposals_by_seller ON block_trade_proposals (seller_account_id, proposal_id)",
    "CREATE INDEX IF NOT EXISTS block_trade_proposals_by_status ON block_trade_proposals (status, proposal_id)",
)


class RfqView:
    __slots__ = ("cancelled_ms", "closed_by", "event", "executed", "updated_ms")

    def __init__(self, event: ev.RfqChanged, time_ms: int) -> None:
        self.event = event
        self.updated_ms = time_ms
        self.cancelled_ms = 0
        self.closed_by = ""  # why it closed: deleted, replaced, expired, executed
        self.executed = False

    @property
    def is_open(self) -> bool:
        return self.event.status == RFQ_OPEN

    def row(self, seq: int) -> tuple[Any, ...]:
        """In RFQ_COLUMNS order."""
        e = self.event
        return (
            e.rfq_id, seq, e.account_id, e.ticker, e.count_centicontracts, e.target_cost_microdollars,
            int(e.target_cost_excludes_fees), int(e.rest_remainder), int(e.obscure_creator), e.expiration_ms, e.created_ms,
            e.status, e.change, self.updated_ms, self.cancelled_ms, self.closed_by, int(self.executed),
        )

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> RfqView:
        (rfq_id, _seq, account_id, ticker, count, cost, excludes_fees, rest_remainder, obscure, expiration_ms, created_ms,
         status, change, updated_ms, cancelled_ms, closed_by, executed) = row
        view = cls(ev.RfqChanged(
            rfq_id, account_id, ticker, count, cost, bool(excludes_fees), bool(rest_remainder), bool(obscure), expiration_ms,
            created_ms, status, change,
        ), updated_ms)
        view.cancelled_ms = cancelled_ms
        view.closed_by = closed_by
        view.executed = bool(executed)
        return view


class QuoteView:
    __slots__ = (
        "accepted_ms", "cancellation_reason", "cancelled_ms", "event", "executed_ms", "maker_order_id", "requester_order_id",
        "updated_ms",
    )

    def __init__(self, event: ev.QuoteChanged, time_ms: int) -> None:
        self.event = event
        self.updated_ms = time_ms
        self.accepted_ms = 0
        self.executed_ms = 0
        self.cancelled_ms = 0
        self.cancellation_reason = ""
        self.requester_order_id = 0
        self.maker_order_id = 0

    def row(self, seq: int) -> tuple[Any, ...]:
        """In QUOTE_COLUMNS order."""
        e = self.event
        return (
            e.quote_id, seq, e.rfq_id, e.account_id, e.rfq_account_id, e.ticker, e.yes_bid_centicents, e.no_bid_centicents,
            e.yes_count_centicontracts, e.no_count_centicontracts, int(e.rest_remainder), int(e.post_only), e.expiration_ms,
            e.created_ms, e.status, e.accepted_side, e.confirm_deadline_ms, e.change, self.updated_ms, self.accepted_ms,
            self.executed_ms, self.cancelled_ms, self.cancellation_reason, self.requester_order_id, self.maker_order_id,
        )

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> QuoteView:
        (quote_id, _seq, rfq_id, account_id, rfq_account_id, ticker, yes_bid, no_bid, yes_count, no_count, rest_remainder,
         post_only, expiration_ms, created_ms, status, accepted_side, confirm_deadline_ms, change, updated_ms, accepted_ms,
         executed_ms, cancelled_ms, cancellation_reason, requester_order_id, maker_order_id) = row
        view = cls(ev.QuoteChanged(
            quote_id, rfq_id, account_id, rfq_account_id, ticker, yes_bid, no_bid, yes_count, no_count, bool(rest_remainder),
            bool(post_only), expiration_ms, created_ms, status, accepted_side, confirm_deadline_ms, change,
        ), updated_ms)
        view.accepted_ms = accepted_ms
        view.executed_ms = executed_ms
        view.cancelled_ms = cancelled_ms
        view.cancellation_reason = cancellation_reason
        view.requester_order_id = requester_order_id
        view.maker_order_id = maker_order_id
        return view


class ProposalView:
    __slots__ = ("buyer_order_id", "event", "executed_ms", "seller_order_id", "updated_ms")

    def __init__(self, event: ev.BlockTradeChanged, time_ms: int) -> None:
        self.event = event
        self.updated_ms = time_ms
        self.executed_ms = 0
        self.buyer_order_id = 0
        self.seller_order_id = 0

    def row(self, seq: int) -> tuple[Any, ...]:
        """In PROPOSAL_COLUMNS order."""
        e = self.event
        return (
            e.proposal_id, seq, e.proposer_account_id, e.buyer_account_id, e.seller_account_id, e.ticker, e.price_centicents,
            e.count_centicontracts, e.maker_side, e.expiration_ms, e.created_ms, e.buyer_accepted_ms, e.seller_accepted_ms,
            e.status, e.change, self.updated_ms, self.executed_ms, self.buyer_order_id, self.seller_order_id,
        )

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> ProposalView:
        (proposal_id, _seq, proposer, buyer, seller, ticker, price, count, maker_side, expiration_ms, created_ms,
         buyer_accepted_ms, seller_accepted_ms, status, change, updated_ms, executed_ms, buyer_order_id, seller_order_id) = row
        view = cls(ev.BlockTradeChanged(
            proposal_id, proposer, buyer, seller, ticker, price, count, maker_side, expiration_ms, created_ms,
            buyer_accepted_ms, seller_accepted_ms, status, change,
        ), updated_ms)
        view.executed_ms = executed_ms
        view.buyer_order_id = buyer_order_id
        view.seller_order_id = seller_order_id
        return view


AnyView = RfqView | QuoteView | ProposalView


class CommunicationsView:
    """The open RFQs, quotes and proposals, and the `closed_kept` most recently closed ones of each kind."""

    def __init__(self, closed_kept: int = COMMUNICATIONS_CLOSED_KEPT_MAX) -> None:
        self.rfqs: dict[int, RfqView] = {}
        self.quotes: dict[int, QuoteView] = {}
        self.proposals: dict[int, ProposalView] = {}
        self.closed_kept = closed_kept
        self._closed_rfqs: deque[int] = deque()
        self._closed_quotes: deque[int] = deque()
        self._closed_proposals: deque[int] = deque()
        self._pending: ev.OffBookTrade | None = None  # announced, its Trade not seen yet

    # --- applying committed events --------------------------------------------------------------

    def apply(self, event: ev.Event, time_ms: int) -> AnyView | None:
        """Apply one event; returns the view it changed (for an OffBookTrade, none)."""
        if isinstance(event, ev.QuoteChanged):
            return self._quote(event, time_ms)
        if isinstance(event, ev.RfqChanged):
            return self._rfq(event, time_ms)
        if isinstance(event, ev.BlockTradeChanged):
            return self._proposal(event, time_ms)
        if isinstance(event, ev.OffBookTrade):
            self._pending = event
        return None

    @property
    def awaits_trade(self) -> bool:
        return self._pending is not None

    def trade(self, trade: ev.Trade) -> None:
        """The trade an OffBookTrade announced: remember the orders it booked for each side."""
        pending = self._pending
        self._pending = None
        if pending is None or pending.trade_id != trade.trade_id:
            return
        if pending.kind == "rfq":
            quote = self.quotes.get(pending.source_id)
            if quote is not None:
                quote.requester_order_id = trade.taker_order_id
                quote.maker_order_id = trade.maker_order_id
            return
        proposal = self.proposals.get(pending.source_id)
        if proposal is not None:
            buyer_is_taker = trade.taker_is_bid
            proposal.buyer_order_id = trade.taker_order_id if buyer_is_taker else trade.maker_order_id
            proposal.seller_order_id = trade.maker_order_id if buyer_is_taker else trade.taker_order_id

    def _rfq(self, e: ev.RfqChanged, time_ms: int) -> RfqView:
        view = self.rfqs.get(e.rfq_id)
        if view is None:
            view = self.rfqs[e.rfq_id] = RfqView(e, time_ms)
        view.event = e
        view.updated_ms = time_ms
        if e.status == RFQ_CLOSED:
            view.closed_by = e.change
            if e.change == "executed":
                view.executed = True
            else:
                view.cancelled_ms = time_ms
            self._retire(self._closed_rfqs, e.rfq_id, self.rfqs)
        return view

    def _quote(self, e: ev.QuoteChanged, time_ms: int) -> QuoteView:
        view = self.quotes.get(e.quote_id)
        if view is None:
            view = self.quotes[e.quote_id] = QuoteView(e, time_ms)
        view.event = e
        view.updated_ms = time_ms
        if e.change == "accepted":
            view.accepted_ms = time_ms
        elif e.change == "executed":
            view.executed_ms = time_ms
        if e.status == QUOTE_CANCELLED and not view.cancelled_ms:
            view.cancelled_ms = time_ms
            view.cancellation_reason = e.change
        if e.status == QUOTE_EXECUTED or e.status == QUOTE_CANCELLED:  # no event follows either
            self._retire(self._closed_quotes, e.quote_id, self.quotes)
        return view

    def _proposal(self, e: ev.BlockTradeChanged, time_ms: int) -> ProposalView:
        view = self.proposals.get(e.proposal_id)
        if view is None:
            view = self.proposals[e.proposal_id] = ProposalView(e, time_ms)
        view.event = e
        view.updated_ms = time_ms
        if e.status == BLOCK_EXECUTED:
            view.executed_ms = time_ms
        if e.status != BLOCK_PENDING:
            self._retire(self._closed_proposals, e.proposal_id, self.proposals)
        return view

    def _retire(self, closed: deque[int], number: int, views: dict[int, V]) -> None:
        """Remember a closed item, forgetting the oldest beyond `closed_kept` (at most
        COMMUNICATIONS_CLOSED_KEPT_MAX)."""
        closed.append(number)
        while len(closed) > min(self.closed_kept, COMMUNICATIONS_CLOSED_KEPT_MAX):
            views.pop(closed.popleft(), None)

    # --- start-up ---------------------------------------------------------------------------------

    @classmethod
    def load(cls, store: JournalStore, closed_kept: int = COMMUNICATIONS_CLOSED_KEPT_MAX) -> CommunicationsView:
        """The open RFQs, quotes (open or accepted) and pending proposals, from the history tables."""
        view = cls(closed_kept)
        for row in store.query(f"SELECT {', '.join(RFQ_COLUMNS)} FROM rfqs WHERE status = ? ORDER BY rfq_id", [RFQ_OPEN]):
            rfq = RfqView.from_row(row)
            view.rfqs[rfq.event.rfq_id] = rfq
        for row in store.query(f"SELECT {', '.join(QUOTE_COLUMNS)} FROM quotes WHERE status IN (?, ?) ORDER BY quote_id",
                               [QUOTE_OPEN, QUOTE_ACCEPTED]):
            quote = QuoteView.from_row(row)
            view.quotes[quote.event.quote_id] = quote
        for row in store.query(f"SELECT {', '.join(PROPOSAL_COLUMNS)} FROM block_trade_proposals WHERE status = ? "
                               "ORDER BY proposal_id", [BLOCK_PENDING]):
            proposal = ProposalView.from_row(row)
            view.proposals[proposal.event.proposal_id] = proposal
        return view


class CommunicationsRows:
    """Events -> rows of the communications tables, for the history projector (one batch at a time, in
    order). It follows the open items in a view of its own, which keeps nothing once closed."""

    def __init__(self) -> None:
        self.view = CommunicationsView(closed_kept=0)

    def prime(self, store: JournalStore) -> None:
        self.view = CommunicationsView.load(store, closed_kept=0)

    def event(self, seq: int, event: ev.Event, time_ms: int, rows: dict[tuple[str, int], tuple[Any, ...]]) -> None:
        """Apply an RFQ, quote, proposal or off-book event; the changed item's row goes into `rows` (a
        later change in the same batch replaces it)."""
        view = self.view.apply(event, time_ms)
        if isinstance(view, RfqView):
            rows[("rfqs", view.event.rfq_id)] = view.row(seq)
        elif isinstance(view, QuoteView):
            rows[("quotes", view.event.quote_id)] = view.row(seq)
        elif isinstance(view, ProposalView):
            rows[("block_trade_proposals", view.event.proposal_id)] = view.row(seq)

    def trade(self, trade: ev.Trade) -> None:
        if self.view.awaits_trade:
            self.view.trade(trade)

    @staticmethod
    def writes(rows: dict[tuple[str, int], tuple[Any, ...]]) -> list[TableWrite]:
        by_table: dict[str, list[tuple[Any, ...]]] = {table: [] for table in COMMUNICATIONS_TABLES}
        for (table, _), row in rows.items():
            by_table[table].append(row)
        return [
            TableWrite("rfqs", RFQ_COLUMNS, by_table["rfqs"], key=("rfq_id",)),
            TableWrite("quotes", QUOTE_COLUMNS, by_table["quotes"], key=("quote_id",)),
            TableWrite("block_trade_proposals", PROPOSAL_COLUMNS, by_table["block_trade_proposals"], key=("proposal_id",)),
        ]


class CommunicationsQueries:
    """What REST asks of the communications tables; answers are views, newest first, at most `limit` + 1
    (the extra one says that another page follows)."""

    def __init__(self, store: JournalStore) -> None:
        self.store = store

    def rfq(self, rfq_id: int) -> RfqView | None:
        rows = self.store.query(f"SELECT {', '.join(RFQ_COLUMNS)} FROM rfqs WHERE rfq_id = ?", [rfq_id])
        return RfqView.from_row(rows[0]) if rows else None

    def rfqs_by_id(self, rfq_ids: Sequence[int]) -> dict[int, RfqView]:
        wanted = sorted(set(rfq_ids))
        if not wanted:
            return {}
        rows = self.store.query(f"SELECT {', '.join(RFQ_COLUMNS)} FROM rfqs WHERE rfq_id IN ({_marks(wanted)})", wanted)
        return {view.event.rfq_id: view for view in map(RfqView.from_row, rows)}

    def rfqs(
        self, viewers: Sequence[int], *, mine_only: bool, tickers: Sequence[str] | None, status: str, below: int | None,
        limit: int,
    ) -> list[RfqView]:
        """Every open RFQ and the viewer's closed ones (only the viewer's, `mine_only`); `viewers`: the
        member's accounts that count as the viewer (all of them, or the one subaccount asked for)."""
        mine = f"account_id IN ({_marks(viewers)})"
        conditions: list[str] = [mine if mine_only else f"(status = ? OR {mine})"]
        values: list[Any] = [*([] if mine_only else [RFQ_OPEN]), *viewers]
        _narrow(conditions, values, "rfq_id", tickers, status, below)
        rows = self.store.query(
            f"SELECT {', '.join(RFQ_COLUMNS)} FROM rfqs WHERE {' AND '.join(conditions)} ORDER BY rfq_id DESC LIMIT ?",
            [*values, limit + 1],
        )
        return [RfqView.from_row(row) for row in rows]

    def quote(self, quote_id: int) -> QuoteView | None:
        rows = self.store.query(f"SELECT {', '.join(QUOTE_COLUMNS)} FROM quotes WHERE quote_id = ?", [quote_id])
        return QuoteView.from_row(rows[0]) if rows else None

    def quotes(
        self, viewers: Sequence[int], *, as_maker: bool, as_requester: bool, rfq_id: int, tickers: Sequence[str] | None, status: str,
        min_created_ms: int, max_created_ms: int, below: int | None, limit: int,
    ) -> list[QuoteView]:
        """Quotes the viewer (any of `viewers`, its accounts) made or received (made, `as_maker`;
        received, `as_requester`; both: both)."""
        conditions: list[str] = []
        values: list[Any] = []
        marks = _marks(viewers)
        if as_maker:
            conditions.append(f"account_id IN ({marks})")
            values += viewers
        if as_requester:
            conditions.append(f"rfq_account_id IN ({marks})")
            values += viewers
        if not (as_maker or as_requester):
            conditions.append(f"(account_id IN ({marks}) OR rfq_account_id IN ({marks}))")
            values += [*viewers, *viewers]
        if rfq_id:
            conditions.append("rfq_id = ?")
            values.append(rfq_id)
        if min_created_ms:
            conditions.append("created_ms >= ?")
            values.append(min_created_ms)
        if max_created_ms:
            conditions.append("created_ms <= ?")
            values.append(max_created_ms)
        _narrow(conditions, values, "quote_id", tickers, status, below)
        rows = self.store.query(
            f"SELECT {', '.join(QUOTE_COLUMNS)} FROM quotes WHERE {' AND '.join(conditions)} ORDER BY quote_id DESC LIMIT ?",
            [*values, limit + 1],
        )
        return [QuoteView.from_row(row) for row in rows]

    def proposals(self, viewers: Sequence[int], *, ticker: str, status: str, below: int | None, limit: int) -> list[ProposalView]:
        """Proposals the viewer (any of `viewers`, its accounts) is the buyer or the seller of."""
        marks = _marks(viewers)
        conditions = [f"(buyer_account_id IN ({marks}) OR seller_account_id IN ({marks}))"]
        values: list[Any] = [*viewers, *viewers]
        _narrow(conditions, values, "proposal_id", [ticker] if ticker else None, status, below)
        rows = self.store.query(
            f"SELECT {', '.join(PROPOSAL_COLUMNS)} FROM block_trade_proposals WHERE {' AND '.join(conditions)} "
            "ORDER BY proposal_id DESC LIMIT ?",
            [*values, limit + 1],
        )
        return [ProposalView.from_row(row) for row in rows]


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _narrow(conditions: list[str], values: list[Any], key: str, tickers: Sequence[str] | None, status: str,
            below: int | None) -> None:
    if tickers is not None:
        conditions.append(f"ticker IN ({_marks(tickers)})" if tickers else "1 = 0")
        values += list(tickers)
    if status:
        conditions.append("status = ?")
        values.append(status)
    if below is not None:
        conditions.append(f"{key} < ?")
        values.append(below)
