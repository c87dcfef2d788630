"""RFQs, quotes and block-trade proposals as clients read them, built from committed events: the open
ones (loaded from the engine at start-up) and the most recently closed ones (`COMMUNICATIONS_CLOSED_KEPT_MAX`
of each kind, in memory: a restart forgets the closed ones, which the journal still holds).

Each view keeps the engine's last event about it (its whole state then) and the times of the
transitions clients see (accepted, executed, cancelled), and, once its trade executed, the two orders
the execution booked."""

from __future__ import annotations

from collections import deque
from typing import TypeVar

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
    BlockProposal,
    Communications,
    Quote,
    Rfq,
)
from predictex.core.limits import COMMUNICATIONS_CLOSED_KEPT_MAX

V = TypeVar("V")


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


class ProposalView:
    __slots__ = ("buyer_order_id", "event", "executed_ms", "seller_order_id", "updated_ms")

    def __init__(self, event: ev.BlockTradeChanged, time_ms: int) -> None:
        self.event = event
        self.updated_ms = time_ms
        self.executed_ms = 0
        self.buyer_order_id = 0
        self.seller_order_id = 0


class CommunicationsView:
    def __init__(self) -> None:
        self.rfqs: dict[int, RfqView] = {}
        self.quotes: dict[int, QuoteView] = {}
        self.proposals: dict[int, ProposalView] = {}
        self.trade_kinds: dict[int, tuple[str, int]] = {}  # trade id -> (rfq | block, quote or proposal id), kept like closed views
        self._closed_rfqs: deque[int] = deque()
        self._closed_quotes: deque[int] = deque()
        self._closed_proposals: deque[int] = deque()
        self._trades: deque[int] = deque()
        self._pending: ev.OffBookTrade | None = None  # announced, its Trade not seen yet

    # --- applying committed events --------------------------------------------------------------

    def apply(self, event: ev.Event, time_ms: int) -> None:
        if isinstance(event, ev.QuoteChanged):
            self._quote(event, time_ms)
        elif isinstance(event, ev.RfqChanged):
            self._rfq(event, time_ms)
        elif isinstance(event, ev.BlockTradeChanged):
            self._proposal(event, time_ms)
        elif isinstance(event, ev.OffBookTrade):
            self._pending = event
            self.trade_kinds[event.trade_id] = (event.kind, event.source_id)
            self._retire(self._trades, event.trade_id, self.trade_kinds)

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

    def _rfq(self, e: ev.RfqChanged, time_ms: int) -> None:
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

    def _quote(self, e: ev.QuoteChanged, time_ms: int) -> None:
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
        if e.status == QUOTE_EXECUTED or (e.status == QUOTE_CANCELLED and e.change != "confirm_timeout"):
            self._retire(self._closed_quotes, e.quote_id, self.quotes)

    def _proposal(self, e: ev.BlockTradeChanged, time_ms: int) -> None:
        view = self.proposals.get(e.proposal_id)
        if view is None:
            view = self.proposals[e.proposal_id] = ProposalView(e, time_ms)
        view.event = e
        view.updated_ms = time_ms
        if e.status == BLOCK_EXECUTED:
            view.executed_ms = time_ms
        if e.status != BLOCK_PENDING:
            self._retire(self._closed_proposals, e.proposal_id, self.proposals)

    @staticmethod
    def _retire(closed: deque[int], number: int, views: dict[int, V]) -> None:
        """Remember a closed item, forgetting the oldest beyond COMMUNICATIONS_CLOSED_KEPT_MAX."""
        closed.append(number)
        if len(closed) > COMMUNICATIONS_CLOSED_KEPT_MAX:
            views.pop(closed.popleft(), None)

    # --- start-up ---------------------------------------------------------------------------------

    @classmethod
    def from_engine(cls, comms: Communications) -> CommunicationsView:
        """The open RFQs, their quotes and the pending proposals of a recovered engine."""
        view = cls()
        for rfq in comms.rfqs.values():
            view.rfqs[rfq.rfq_id] = RfqView(_rfq_event(rfq), rfq.created_ms)
        for quote in comms.quotes.values():
            quote_view = view.quotes[quote.quote_id] = QuoteView(_quote_event(quote), quote.created_ms)
            if quote.status != QUOTE_OPEN:
                quote_view.accepted_ms = quote.created_ms  # the acceptance's own time is in the journal, not the engine
            if quote.status == QUOTE_CANCELLED:
                quote_view.cancelled_ms = quote.confirm_deadline_ms
                quote_view.cancellation_reason = "confirm_timeout"
        for proposal in comms.proposals.values():
            view.proposals[proposal.proposal_id] = ProposalView(_proposal_event(proposal), proposal.created_ms)
        return view


def _rfq_event(rfq: Rfq) -> ev.RfqChanged:
    return ev.RfqChanged(
        rfq.rfq_id, rfq.account_id, rfq.ticker, rfq.count_centicontracts, rfq.target_cost_microdollars,
        rfq.target_cost_excludes_fees, rfq.rest_remainder, rfq.obscure_creator, rfq.expiration_ms, rfq.created_ms, RFQ_OPEN,
        "created",
    )


def _quote_event(quote: Quote) -> ev.QuoteChanged:
    return ev.QuoteChanged(
        quote.quote_id, quote.rfq_id, quote.account_id, quote.rfq_account_id, quote.ticker, quote.yes_bid_centicents,
        quote.no_bid_centicents, quote.yes_count_centicontracts, quote.no_count_centicontracts, quote.rest_remainder,
        quote.post_only, quote.expiration_ms, quote.created_ms, quote.status, quote.accepted_side, quote.confirm_deadline_ms,
        "created" if quote.status == QUOTE_OPEN else "accepted" if quote.status == QUOTE_ACCEPTED else "confirm_timeout",
    )


def _proposal_event(p: BlockProposal) -> ev.BlockTradeChanged:
    return ev.BlockTradeChanged(
        p.proposal_id, p.proposer_account_id, p.buyer_account_id, p.seller_account_id, p.ticker, p.price_centicents,
        p.count_centicontracts, p.maker_side, p.expiration_ms, p.created_ms, p.buyer_accepted_ms, p.seller_accepted_ms,
        BLOCK_PENDING, "proposed",
    )
