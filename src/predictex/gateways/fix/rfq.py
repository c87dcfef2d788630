"""Kalshi's RFQ session on FIX (TargetCompID KalshiRFQ, a port of its own): requests for quotes,
quotes, their acceptance and confirmation, as Kalshi's FIX RFQ messages.

Makers (Kalshi's "RfqMode"):
    exchange -> QuoteRequest (R)        an RFQ was created: QuoteReqID (131) is its id, the pseudonymous
                                        requester in PartyID (448) (the empty-input SHA-256 when obscured)
    Quote (S) -> exchange               quote an RFQ: BidPx (132) the YES price, OfferPx (133) the NO
                                        price (0 declines a side); a new quote replaces the maker's last
    exchange -> QuoteStatusReport (AI)  QuoteStatus (297): 10 pending (the quote is live; QuoteID (117) is
                                        the exchange's id, QuoteMsgID (1166) the maker's own 117), 0 accepted
                                        (Side (54) the requester took, 1 YES / 2 NO; ExpireTime (126) the end
                                        of the confirmation window), 17 cancelled / 7 expired (Text (58)
                                        says why), 5 rejected / 9 not found (Text says why)
    QuoteCancel (Z) -> exchange         withdraw a quote (117)
    QuoteConfirm (U7) -> exchange       confirm an accepted quote (117): the trade executes, and its
                                        ExecutionReports reach both members' order-entry and drop-copy sessions
Requesters (Kalshi takes these on its RT order-entry session; here on the RFQ session too):
    QuoteRequest (R) -> exchange        create an RFQ: Symbol (55) and OrderQty (38) or CashOrderQty (152)
                                        in the NoRelatedSym (146) group, RestRemainder (21015),
                                        ReplaceExisting (21016); refused with QuoteRequestReject (AG);
                                        the broadcast R comes back with RFQReqID (644) = the request's 131
    exchange -> Quote (S)               a quote on the member's RFQ
    AcceptQuote (UA) -> exchange        accept one side (54: 1 YES, 2 NO) of a quote (117)

Prices are in cents (2 decimals allowed, for sub-cent grids), or dollars with UseDollars, as on order
entry. A message the dictionary refuses gets a session Reject (3); a request the exchange refuses gets
its answer above, with Kalshi's code and the engine's reason in Text (58)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from predictex.accounts import Lane
from predictex.core import commands as c
from predictex.core.communications import (
    SIDE_NO,
    SIDE_YES,
)
from predictex.core.units import (
    PRICE_ONE_DOLLAR_CENTICENTS,
    UnitError,
    parse_count_fp,
    parse_money_dollars,
    parse_price_dollars,
    parse_price_fix_cents,
)
from predictex.gateways.fix import errors
from predictex.gateways.fix import requests as r
from predictex.gateways.fix import tags as t
from predictex.gateways.fix.order_entry import subaccount_account
from predictex.gateways.fix.peer import Peer
from predictex.gateways.fix.rfq_reports import NOT_FOUND, REJECTED, clean_text
from predictex.gateways.fix.session import Message
from predictex.server import ids
from predictex.server.sequencer import Entry

if TYPE_CHECKING:
    from predictex.gateways.fix.gateway import FixGateway

# QuoteRequestRejectReason (658)
UNKNOWN_SYMBOL, EXCHANGE_CLOSED, QUANTITY_EXCEEDS_LIMIT, OTHER = 1, 2, 3, 99
_REQUEST_REJECT_REASONS = {
    "MARKET_NOT_FOUND": UNKNOWN_SYMBOL, "MARKET_INACTIVE": EXCHANGE_CLOSED, "MARKET_ALREADY_CLOSED": EXCHANGE_CLOSED,
    "TRADING_PAUSED": EXCHANGE_CLOSED, "EXCHANGE_PAUSED": EXCHANGE_CLOSED, "RFQ_LIMIT_EXCEEDED": QUANTITY_EXCEEDS_LIMIT,
}
_NOT_FOUND_CODES = frozenset({"QUOTE_NOT_FOUND", "RFQ_NOT_FOUND"})


def handle(gateway: FixGateway, connection: Peer, message: Message, now_ms: int) -> None:
    if gateway.exchange.config.rate_limits:
        assert connection.principal is not None
        if not gateway.exchange.accounts.rate_limit(connection.principal.member, Lane.WRITE).allowed:
            _answer_for(gateway, connection, message).failed(gateway, "RATE_LIMIT_EXCEEDED: too many requests")
            return
    try:
        command = _command(gateway, connection, message, now_ms)
    except r.RequestError as error:
        _answer_for(gateway, connection, message).reject(error.text, NOT_FOUND if error.reason == 1 else REJECTED)
        return
    gateway.submit(command, _answer_for(gateway, connection, message), connection)


def _command(gateway: FixGateway, connection: Peer, message: Message, now_ms: int) -> c.Command:
    principal = connection.principal
    assert principal is not None
    account = principal.account_id
    exchange = gateway.exchange
    msg_type = message.msg_type
    if msg_type == t.QUOTE:
        rfq_id = _number(gateway, ids.RFQ, message, t.QUOTE_REQ_ID, "QuoteReqID (131)", "RFQ_NOT_FOUND")
        rfq = exchange.live.communications.rfqs.get(rfq_id)  # the market is checked here; the rest, by the engine
        if rfq is not None and rfq.event.ticker != message.text(t.SYMBOL):
            raise r.RequestError(99, f"INVALID_QUOTE: Symbol (55) {message.text(t.SYMBOL)[:100]!r} is not the RFQ's market")
        yes = _price(message, t.BID_PX, "BidPx (132)", connection.use_dollars)
        no = _price(message, t.OFFER_PX, "OfferPx (133)", connection.use_dollars)
        return c.CreateQuote(subaccount_account(gateway, account, r.alloc_account(message)), rfq_id, yes, no)
    if msg_type in (t.QUOTE_CANCEL, t.QUOTE_CONFIRM, t.ACCEPT_QUOTE):
        quote = _number(gateway, ids.QUOTE, message, t.QUOTE_ID, "QuoteID (117)", "QUOTE_NOT_FOUND")
        acting = _acting_account(gateway, account, quote, requester=msg_type == t.ACCEPT_QUOTE)
        if msg_type == t.QUOTE_CANCEL:
            return c.DeleteQuote(acting, quote)
        if msg_type == t.QUOTE_CONFIRM:
            return c.ConfirmQuote(acting, quote)
        side = SIDE_YES if message.get(t.SIDE) == b"1" else SIDE_NO
        return c.AcceptQuote(acting, quote, side, now_ms + exchange.config.quote_confirm_window_ms)
    # QuoteRequest: a new RFQ, in the subaccount AllocAccount (79) names (absent: the primary account)
    if message.get(t.NO_RELATED_SYM) != b"1":
        raise r.RequestError(99, "INVALID_RFQ: NoRelatedSym (146) must be 1")
    r.check_routing(message)
    account = subaccount_account(gateway, account, r.alloc_account(message))
    has_count, has_cost = message.get(t.ORDER_QTY) is not None, message.get(t.CASH_ORDER_QTY) is not None
    if has_count == has_cost:
        raise r.RequestError(99, "INVALID_RFQ: give exactly one of OrderQty (38) and CashOrderQty (152)")
    count = cost = 0
    try:
        if has_count:
            count = parse_count_fp(message.text(t.ORDER_QTY))
        else:
            cost = parse_money_dollars(message.text(t.CASH_ORDER_QTY))
    except UnitError as error:
        raise r.RequestError(99, f"INVALID_RFQ: {error}") from error
    return c.CreateRfq(
        account, message.text(t.SYMBOL), count, cost, False, message.get(t.REST_REMAINDER) == b"Y",
        message.get(t.REPLACE_EXISTING) == b"Y", False, now_ms + exchange.config.rfq_lifetime_ms,
    )


def _acting_account(gateway: FixGateway, primary: int, quote_id: int, requester: bool) -> int:
    """The member's account that acts on a quote: the one that made it (cancel, confirm) or the one
    that made its RFQ (accept), whichever subaccount that is, as on REST (Kalshi's UA, U7 and Z carry
    no AllocAccount). A quote the member has no part in is the engine's to refuse."""
    view = gateway.exchange.live.communications.quotes.get(quote_id)
    if view is None:
        return primary
    own, other = (view.event.rfq_account_id, view.event.account_id) if requester else (view.event.account_id, view.event.rfq_account_id)
    for acting in (own, other):  # the caller's side, else its other side (which the engine refuses by name)
        owner = gateway.exchange.live.subaccount_of.get(acting)
        if (acting if owner is None else owner[0]) == primary:
            return int(acting)
    return primary


def _number(gateway: FixGateway, kind: int, message: Message, tag: int, name: str, code: str) -> int:
    text = message.text(tag)
    number = gateway.exchange.ids.from_uuid(kind, text)
    if number is None:
        raise r.RequestError(1, f"{code}: {name} {text[:64]!r} is not an id this exchange issued")
    return number


def _price(message: Message, tag: int, name: str, use_dollars: bool) -> int:
    raw = message.text(tag)
    try:
        value = parse_price_dollars(raw) if use_dollars else parse_price_fix_cents(raw)
    except UnitError as error:
        raise r.RequestError(99, f"INVALID_QUOTE: {name} must be a {'dollar' if use_dollars else 'cent'} price, not {raw[:32]!r}") from error
    if not 0 <= value < PRICE_ONE_DOLLAR_CENTICENTS:
        raise r.RequestError(99, f"INVALID_QUOTE: {name} must be 0 (no quote on that side) or below 1 dollar")
    return value


# --- answers on the session that asked ------------------------------------------------------------

def _answer_for(gateway: FixGateway, connection: Peer, message: Message) -> RequestAnswer | QuoteAnswer:
    if message.msg_type == t.QUOTE_REQUEST:
        return RequestAnswer(connection, message)
    symbol = message.get(t.SYMBOL)
    if symbol is None:  # Z, U7, UA name a quote: its market, when the exchange knows it
        number = gateway.exchange.ids.from_uuid(ids.QUOTE, message.text(t.QUOTE_ID))
        quote = gateway.exchange.live.communications.quotes.get(number) if number is not None else None
        symbol = quote.event.ticker.encode() if quote is not None else b"[N/A]"
    return QuoteAnswer(connection, message, symbol)


class QuoteAnswer:
    """For S, Z, U7 and UA: a refusal is a QuoteStatusReport, rejected (5) or not found (9), naming the
    quote (a refused Quote by its own QuoteID: it has no other) and its market."""

    def __init__(self, connection: Peer, message: Message, symbol: bytes) -> None:
        self.connection = connection
        self.message = message
        self.symbol = clean_text(symbol, 100)
        self.client_quote_id = clean_text(message.get(t.QUOTE_ID) or b"", 64) if message.msg_type == t.QUOTE else b""

    def refused(self, gateway: FixGateway, entry: Entry) -> None:
        reject = entry.outcome.reject
        assert reject is not None
        text = errors.reject_text(reject, gateway.exchange.ids)
        self.reject(text, NOT_FOUND if text.split(":", 1)[0] in _NOT_FOUND_CODES else REJECTED)

    def accepted(self, gateway: FixGateway, entry: Entry) -> None:
        pass  # the events say it: QuoteStatusReports, Quotes and ExecutionReports

    def failed(self, gateway: FixGateway, text: str) -> None:
        self.reject(text, REJECTED)

    def reject(self, text: str, status: int) -> None:
        message = self.message
        body = b"117=%s\x01" % clean_text(message.get(t.QUOTE_ID) or b"", 64)
        if message.get(t.QUOTE_REQ_ID):
            body += b"131=%s\x01" % clean_text(message.get(t.QUOTE_REQ_ID) or b"", 64)
        body += b"297=%d\x0155=%s\x01" % (status, self.symbol)
        body += b"58=%s\x01" % clean_text(text.encode("utf-8"), 500)
        self.connection.send(t.QUOTE_STATUS_REPORT, body)


class RequestAnswer:
    """For a QuoteRequest: a refusal is a QuoteRequestReject (AG)."""

    def __init__(self, connection: Peer, message: Message) -> None:
        self.connection = connection
        self.message = message
        self.client_id = clean_text(message.get(t.QUOTE_REQ_ID) or b"", 64)

    def refused(self, gateway: FixGateway, entry: Entry) -> None:
        reject = entry.outcome.reject
        assert reject is not None
        self.reject(errors.reject_text(reject, gateway.exchange.ids))

    def accepted(self, gateway: FixGateway, entry: Entry) -> None:
        pass  # the broadcast QuoteRequest carries this request's id in RFQReqID (644)

    def failed(self, gateway: FixGateway, text: str) -> None:
        self.reject(text)

    def reject(self, text: str, status: int = REJECTED) -> None:
        reason = _REQUEST_REJECT_REASONS.get(text.split(":", 1)[0], OTHER)
        body = b"131=%s\x01658=%d\x01146=1\x0155=%s\x0158=%s\x01" % (
            self.client_id, reason, clean_text(self.message.get(t.SYMBOL) or b"?", 100), clean_text(text.encode("utf-8"), 500))
        self.connection.send(t.QUOTE_REQUEST_REJECT, body)


