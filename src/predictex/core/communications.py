"""Kalshi's "communications": requests for quotes (RFQs), quotes, and block-trade proposals, and
their execution as trades off the book.

A member asks for a quote on a market, for a count of contracts or for what a target cost buys; every
other member may answer with a quote (the YES price it pays, the NO price it pays; 0 declines a side).
The requester accepts one side of one quote: "yes" buys YES at the quote's yes_bid (the maker takes
NO at $1 - yes_bid), "no" buys NO at its no_bid. Its collateral is checked then. The maker confirms
before the confirmation window closes; the trade executes at once, off the book, with the requester as
taker and the maker as maker, each side's collateral checked again first. A window that passes leaves
the quote cancelled (`confirm_timeout`) and the RFQ open for another. An executed quote closes its RFQ
and cancels the other quotes on it.

A block trade is proposed by its buyer or its seller (who counts as accepting) and executes when the
other accepts; either may reject it; it expires at its expiration time. The buyer buys YES from the
seller at the proposal's price; `maker_side` names who pays the maker fee (yes: the buyer).

Every deadline is a timer (core/timers.py) and enters through the clock like market closes and order
expiries. Every entry point checks everything before it changes anything.
"""

from __future__ import annotations

from predictex.core.combos import Combos
from predictex.core.commands import (
    AcceptBlockTrade,
    AcceptQuote,
    ConfirmQuote,
    CreateQuote,
    CreateRfq,
    DeleteQuote,
    DeleteRfq,
    ProposeBlockTrade,
    RejectBlockTrade,
)
from predictex.core.events import BlockTradeChanged, OffBookTrade, QuoteChanged, RfqChanged
from predictex.core.fees import FeeTerms
from predictex.core.instruments import Market, is_price_valid
from predictex.core.ledger import Account, Ledger
from predictex.core.limits import (
    BLOCK_TRADE_LIFETIME_MS_MAX,
    BLOCK_TRADES_PENDING_PER_ACCOUNT_MAX,
    ORDER_COUNT_CENTICONTRACTS_MAX,
    QUOTE_CONFIRM_WINDOW_HVM_MS_MAX,
    QUOTE_CONFIRM_WINDOW_MS_MAX,
    QUOTES_PER_RFQ_MAX,
    RFQ_LIFETIME_MS_MAX,
    RFQS_OPEN_PER_ACCOUNT_MAX,
)
from predictex.core.markets import Markets
from predictex.core.rejects import RejectCode, Rejected, Subject, naming
from predictex.core.scope import Scope
from predictex.core.timers import CONFIRM_DEADLINE, EXPIRE_BLOCK_TRADE, EXPIRE_QUOTE, EXPIRE_RFQ, Timers
from predictex.core.trading import Trading
from predictex.core.units import PRICE_ONE_DOLLAR_CENTICENTS, format_count_fp, format_money_dollars, format_price_dollars

SIDE_YES = "yes"
SIDE_NO = "no"
SIDES = (SIDE_YES, SIDE_NO)

RFQ_OPEN = "open"
RFQ_CLOSED = "closed"
QUOTE_OPEN = "open"
QUOTE_ACCEPTED = "accepted"
QUOTE_EXECUTED = "executed"
QUOTE_CANCELLED = "cancelled"
BLOCK_PENDING = "pending"
BLOCK_EXECUTED = "executed"
BLOCK_REJECTED = "rejected"
BLOCK_EXPIRED = "expired"

KIND_RFQ = "rfq"
KIND_BLOCK = "block"

TARGET_COST_MICRODOLLARS_MAX = ORDER_COUNT_CENTICONTRACTS_MAX * PRICE_ONE_DOLLAR_CENTICENTS  # the largest order at $1


class Rfq:
    def __init__(
        self, rfq_id: int, account_id: int, ticker: str, count_centicontracts: int, target_cost_microdollars: int,
        target_cost_excludes_fees: bool, rest_remainder: bool, obscure_creator: bool, expiration_ms: int, created_ms: int,
    ) -> None:
        self.rfq_id = rfq_id
        self.account_id = account_id
        self.ticker = ticker
        self.count_centicontracts = count_centicontracts  # 0 when sized by target cost
        self.target_cost_microdollars = target_cost_microdollars  # 0 when sized by count
        self.target_cost_excludes_fees = target_cost_excludes_fees
        self.rest_remainder = rest_remainder
        self.obscure_creator = obscure_creator
        self.expiration_ms = expiration_ms
        self.created_ms = created_ms
        self.quote_ids: dict[int, None] = {}  # its quotes still held (open, accepted, lapsed), in arrival order


class Quote:
    def __init__(
        self, quote_id: int, rfq: Rfq, account_id: int, yes_bid_centicents: int, no_bid_centicents: int,
        yes_count_centicontracts: int, no_count_centicontracts: int, rest_remainder: bool, post_only: bool,
        expiration_ms: int, created_ms: int,
    ) -> None:
        self.quote_id = quote_id
        self.rfq_id = rfq.rfq_id
        self.rfq_account_id = rfq.account_id
        self.ticker = rfq.ticker
        self.account_id = account_id
        self.yes_bid_centicents = yes_bid_centicents  # 0: declines the yes side
        self.no_bid_centicents = no_bid_centicents
        self.yes_count_centicontracts = yes_count_centicontracts
        self.no_count_centicontracts = no_count_centicontracts
        self.rest_remainder = rest_remainder
        self.post_only = post_only
        self.expiration_ms = expiration_ms  # 0: lives as long as its RFQ
        self.created_ms = created_ms
        self.status = QUOTE_OPEN  # open | accepted | cancelled (lapsed: its confirmation window passed)
        self.accepted_side = ""
        self.confirm_deadline_ms = 0


class BlockProposal:
    def __init__(
        self, proposal_id: int, proposer_account_id: int, buyer_account_id: int, seller_account_id: int, ticker: str,
        price_centicents: int, count_centicontracts: int, maker_side: str, expiration_ms: int, created_ms: int,
    ) -> None:
        self.proposal_id = proposal_id
        self.proposer_account_id = proposer_account_id
        self.buyer_account_id = buyer_account_id
        self.seller_account_id = seller_account_id
        self.ticker = ticker
        self.price_centicents = price_centicents  # the YES price
        self.count_centicontracts = count_centicontracts
        self.maker_side = maker_side
        self.expiration_ms = expiration_ms
        self.created_ms = created_ms
        self.buyer_accepted_ms = created_ms if proposer_account_id == buyer_account_id else 0
        self.seller_accepted_ms = created_ms if proposer_account_id == seller_account_id else 0


def count_for_cost(terms: FeeTerms, own_price: int, yes_price: int, target_cost: int, excludes_fees: bool) -> int:
    """The most contracts (whole units of the market) the requester can buy at its own price without
    spending more than the target: principal only, or principal plus its taker fee (Kalshi's default)."""
    unit = terms.unit_centicontracts
    most = target_cost // own_price
    most -= most % unit
    if excludes_fees or most == 0:
        return most
    low, high = 0, most // unit  # in units: `low` fits, the answer is in [low, high]
    while low < high:
        middle = (low + high + 1) // 2
        count = middle * unit
        if own_price * count + terms.trade_fee(True, count, yes_price) <= target_cost:
            low = middle
        else:
            high = middle - 1
    return low * unit


class Communications:
    def __init__(self, scope: Scope, ledger: Ledger, markets: Markets, timers: Timers, trading: Trading, combos: Combos) -> None:
        self.scope = scope
        self.ledger = ledger
        self.markets = markets
        self.timers = timers
        self.trading = trading
        self.combos = combos
        self.rfqs: dict[int, Rfq] = {}  # open RFQs
        self.quotes: dict[int, Quote] = {}  # quotes of open RFQs: open, accepted, or lapsed (kept to say so)
        self.proposals: dict[int, BlockProposal] = {}  # pending block-trade proposals
        self.next_rfq_id = 1
        self.next_quote_id = 1
        self.next_proposal_id = 1

    # --- checks ---------------------------------------------------------------------------------

    def _expiry(self, expiration_ms: int, longest_ms: int, what: str) -> None:
        now = self.scope.now_ms
        if not now < expiration_ms <= now + longest_ms:
            raise Rejected(RejectCode.INVALID_EXPIRATION, f"{what} must be in the future, within {longest_ms // 1000} seconds")

    def _price(self, market: Market, price: int, what: str) -> None:
        if not is_price_valid(market.price_table, price):
            raise Rejected(
                RejectCode.INVALID_PRICE,
                f"{what} {format_price_dollars(price) if 0 <= price <= PRICE_ONE_DOLLAR_CENTICENTS else price} "
                f"is not on the {market.price_level_structure} grid of {market.ticker}",
            )

    def _count(self, market: Market, count: int) -> None:
        if not 0 < count <= ORDER_COUNT_CENTICONTRACTS_MAX:
            raise Rejected(RejectCode.INVALID_ORDER_SIZE, f"contracts must be positive and at most {format_count_fp(ORDER_COUNT_CENTICONTRACTS_MAX)}")
        if count % market.unit_centicontracts:
            raise Rejected(
                RejectCode.INVALID_ORDER_SIZE,
                f"contracts {format_count_fp(count)} is fractional; {market.ticker} trades whole contracts",
            )

    def member_of(self, account_id: int) -> int:
        """The member an account belongs to, named by its primary account (a subaccount's owner)."""
        owner = self.ledger.subaccounts.owner.get(account_id)
        return account_id if owner is None else owner[0]

    def confirm_window_ms(self, market: Market) -> int:
        """The longest a maker may take to confirm an accepted quote in `market`: Kalshi's RFQ guide
        gives 30 s, and 1 s in a High Volatility Market (every combination market is one)."""
        return QUOTE_CONFIRM_WINDOW_HVM_MS_MAX if market.ticker in self.combos.legs else QUOTE_CONFIRM_WINDOW_MS_MAX

    def _check_side(self, account: Account, market: Market, is_bid: bool, price: int, count: int, is_taker: bool,
                    acting_account_id: int, other: str) -> None:
        """One side's collateral and position limit for a trade off the book. The acting member hears
        its own figures; a refusal of the other side (`other`: "the requester", "the other side") is
        reported without them, since that member's balance and positions are private."""
        try:
            self.trading.check_off_book(account, market, is_bid, price, count, is_taker)
        except Rejected as refusal:
            if account.account_id == acting_account_id:
                raise
            if refusal.code == RejectCode.POSITION_LIMIT:
                raise Rejected(RejectCode.POSITION_LIMIT, f"{other} may not hold that much more in {market.ticker}") from refusal
            raise Rejected(RejectCode.INSUFFICIENT_BALANCE, f"{other} can no longer cover the trade") from refusal

    def _own_rfq(self, account_id: int, rfq_id: int) -> Rfq:
        rfq = self.rfqs.get(rfq_id)
        if rfq is None or rfq.account_id != account_id:
            self.trading.account(account_id)
            raise naming(RejectCode.RFQ_NOT_FOUND, "no open RFQ ", Subject.RFQ, rfq_id)
        return rfq

    def _quote(self, quote_id: int) -> Quote:
        quote = self.quotes.get(quote_id)
        if quote is None:
            raise naming(RejectCode.QUOTE_NOT_FOUND, "no open quote ", Subject.QUOTE, quote_id)
        return quote

    def _proposal(self, account_id: int, proposal_id: int) -> BlockProposal:
        """A pending proposal the account's member is a party to (from any of its accounts)."""
        proposal = self.proposals.get(proposal_id)
        member = self.member_of(account_id)
        if proposal is None or member not in (self.member_of(proposal.buyer_account_id), self.member_of(proposal.seller_account_id)):
            self.trading.account(account_id)
            raise naming(RejectCode.BLOCK_TRADE_NOT_FOUND, "", Subject.BLOCK_TRADE, proposal_id, " is not pending")
        return proposal

    # --- RFQs -----------------------------------------------------------------------------------

    def create_rfq(self, cmd: CreateRfq) -> Rfq:
        account = self.trading.account(cmd.account_id)
        market = self.markets.market(cmd.ticker)
        self.trading.require_trading(market)
        by_count = cmd.count_centicontracts != 0
        by_cost = cmd.target_cost_microdollars != 0
        if by_count == by_cost:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "give exactly one of contracts and target_cost")
        if by_count:
            self._count(market, cmd.count_centicontracts)
            if cmd.target_cost_excludes_fees:
                raise Rejected(RejectCode.INVALID_PARAMETERS, "target_cost_excludes_fees needs a target cost")
        elif not 0 < cmd.target_cost_microdollars <= TARGET_COST_MICRODOLLARS_MAX:
            raise Rejected(
                RejectCode.INVALID_PARAMETERS,
                f"target_cost must be positive and at most ${format_money_dollars(TARGET_COST_MICRODOLLARS_MAX)}",
            )
        self._expiry(cmd.expiration_ms, RFQ_LIFETIME_MS_MAX, "the RFQ's expiration")
        replaced = [rfq for rfq in self.rfqs.values() if rfq.account_id == account.account_id] if cmd.replace_existing else []
        if account.open_rfq_count - len(replaced) >= RFQS_OPEN_PER_ACCOUNT_MAX:
            raise Rejected(RejectCode.RFQ_LIMIT, f"the most an account may have open is {RFQS_OPEN_PER_ACCOUNT_MAX}")
        # --- nothing below refuses ---
        for old in replaced:
            self._close_rfq(old, "replaced")
        rfq = Rfq(
            self.next_rfq_id, account.account_id, market.ticker, cmd.count_centicontracts, cmd.target_cost_microdollars,
            cmd.target_cost_excludes_fees, cmd.rest_remainder, cmd.obscure_creator, cmd.expiration_ms, self.scope.now_ms,
        )
        self.next_rfq_id += 1
        self.rfqs[rfq.rfq_id] = rfq
        account.open_rfq_count += 1
        self._emit_rfq(rfq, RFQ_OPEN, "created")
        self.timers.schedule(rfq.expiration_ms, EXPIRE_RFQ, rfq.rfq_id, rfq.ticker)
        return rfq

    def delete_rfq(self, cmd: DeleteRfq) -> Rfq:
        rfq = self._own_rfq(cmd.account_id, cmd.rfq_id)
        self._close_rfq(rfq, "deleted")
        return rfq

    def _close_rfq(self, rfq: Rfq, change: str) -> None:
        """Close an RFQ and let go of its quotes (those still open or accepted are cancelled)."""
        for quote_id in list(rfq.quote_ids):
            quote = self.quotes.pop(quote_id)
            if quote.status == QUOTE_OPEN or quote.status == QUOTE_ACCEPTED:
                quote.status = QUOTE_CANCELLED
                self._emit_quote(quote, "rfq_closed")
        rfq.quote_ids.clear()
        del self.rfqs[rfq.rfq_id]
        self.ledger.accounts[rfq.account_id].open_rfq_count -= 1
        self._emit_rfq(rfq, RFQ_CLOSED, change)

    def _emit_rfq(self, rfq: Rfq, status: str, change: str) -> None:
        self.scope.emit(RfqChanged(
            rfq.rfq_id, rfq.account_id, rfq.ticker, rfq.count_centicontracts, rfq.target_cost_microdollars,
            rfq.target_cost_excludes_fees, rfq.rest_remainder, rfq.obscure_creator, rfq.expiration_ms, rfq.created_ms,
            status, change,
        ))

    # --- quotes ---------------------------------------------------------------------------------

    def _side_count(self, rfq: Rfq, market: Market, own_price: int, yes_price: int) -> int:
        if own_price == 0:
            return 0
        if rfq.count_centicontracts:
            return rfq.count_centicontracts
        return count_for_cost(market.fee_terms, own_price, yes_price, rfq.target_cost_microdollars, rfq.target_cost_excludes_fees)

    def create_quote(self, cmd: CreateQuote) -> Quote:
        account = self.trading.account(cmd.account_id)
        rfq = self.rfqs.get(cmd.rfq_id)
        if rfq is None:
            raise naming(RejectCode.RFQ_NOT_FOUND, "no open RFQ ", Subject.RFQ, cmd.rfq_id)
        if self.member_of(rfq.account_id) == self.member_of(account.account_id):
            raise Rejected(RejectCode.OWN_RFQ, "a member cannot answer its own request for quotes (from any of its subaccounts)")
        market = self.markets.markets[rfq.ticker]
        self.trading.require_trading(market)
        yes_bid, no_bid = cmd.yes_bid_centicents, cmd.no_bid_centicents
        if yes_bid == 0 and no_bid == 0:
            raise Rejected(RejectCode.INVALID_PRICE, "a quote prices at least one side (yes_bid or no_bid above zero)")
        if yes_bid:
            self._price(market, yes_bid, "yes_bid")
        if no_bid:
            self._price(market, no_bid, "no_bid")
        if cmd.expiration_ms:
            self._expiry(cmd.expiration_ms, rfq.expiration_ms - self.scope.now_ms, "the quote's expiration (before its RFQ's)")
        yes_count = self._side_count(rfq, market, yes_bid, yes_bid)
        no_count = self._side_count(rfq, market, no_bid, PRICE_ONE_DOLLAR_CENTICENTS - no_bid)
        if yes_count == 0 and no_count == 0:
            raise Rejected(RejectCode.INVALID_PRICE, "the RFQ's target cost buys no whole contract at these prices")
        replaced: Quote | None = None
        for quote_id in rfq.quote_ids:
            held = self.quotes[quote_id]
            if held.account_id == account.account_id and held.status != QUOTE_CANCELLED:
                if held.status == QUOTE_ACCEPTED:
                    raise naming(RejectCode.QUOTE_NOT_OPEN, "your quote ", Subject.QUOTE, quote_id,
                                 " on this RFQ is accepted: confirm or delete it first")
                replaced = held
        if replaced is None and len(rfq.quote_ids) >= QUOTES_PER_RFQ_MAX:
            raise Rejected(RejectCode.RFQ_LIMIT, f"an RFQ holds at most {QUOTES_PER_RFQ_MAX} quotes")
        # --- nothing below refuses ---
        if replaced is not None:
            self._drop_quote(replaced, "replaced")
        quote = Quote(
            self.next_quote_id, rfq, account.account_id, yes_bid, no_bid, yes_count, no_count, cmd.rest_remainder,
            cmd.post_only, cmd.expiration_ms, self.scope.now_ms,
        )
        self.next_quote_id += 1
        self.quotes[quote.quote_id] = quote
        rfq.quote_ids[quote.quote_id] = None
        self._emit_quote(quote, "created")
        if quote.expiration_ms:
            self.timers.schedule(quote.expiration_ms, EXPIRE_QUOTE, quote.quote_id, quote.ticker)
        return quote

    def delete_quote(self, cmd: DeleteQuote) -> Quote:
        quote = self.quotes.get(cmd.quote_id)
        if quote is None or quote.account_id != cmd.account_id or quote.status == QUOTE_CANCELLED:
            self.trading.account(cmd.account_id)
            raise naming(RejectCode.QUOTE_NOT_FOUND, "no open quote ", Subject.QUOTE, cmd.quote_id)
        self._drop_quote(quote, "deleted")
        return quote

    def _drop_quote(self, quote: Quote, change: str) -> None:
        quote.status = QUOTE_CANCELLED
        del self.quotes[quote.quote_id]
        del self.rfqs[quote.rfq_id].quote_ids[quote.quote_id]
        self._emit_quote(quote, change)

    def _emit_quote(self, quote: Quote, change: str) -> None:
        self.scope.emit(QuoteChanged(
            quote.quote_id, quote.rfq_id, quote.account_id, quote.rfq_account_id, quote.ticker, quote.yes_bid_centicents,
            quote.no_bid_centicents, quote.yes_count_centicontracts, quote.no_count_centicontracts, quote.rest_remainder,
            quote.post_only, quote.expiration_ms, quote.created_ms, quote.status, quote.accepted_side,
            quote.confirm_deadline_ms, change,
        ))

    @staticmethod
    def terms_of(quote: Quote, side: str) -> tuple[bool, int, int, int]:
        """What accepting `side` of a quote trades: (the requester buys YES, the YES price, the
        requester's own price, the count)."""
        if side == SIDE_YES:
            return True, quote.yes_bid_centicents, quote.yes_bid_centicents, quote.yes_count_centicontracts
        return False, PRICE_ONE_DOLLAR_CENTICENTS - quote.no_bid_centicents, quote.no_bid_centicents, quote.no_count_centicontracts

    def accept_quote(self, cmd: AcceptQuote) -> Quote:
        account = self.trading.account(cmd.account_id)
        quote = self.quotes.get(cmd.quote_id)
        if quote is None or (quote.rfq_account_id != account.account_id and quote.account_id != account.account_id):
            raise naming(RejectCode.QUOTE_NOT_FOUND, "no open quote ", Subject.QUOTE, cmd.quote_id)
        if quote.account_id == account.account_id:
            raise Rejected(RejectCode.OWN_RFQ, "the requester accepts, not the maker")
        if quote.status != QUOTE_OPEN:
            raise naming(RejectCode.QUOTE_NOT_OPEN, "quote ", Subject.QUOTE, quote.quote_id, f" is {quote.status}, not open")
        rfq = self.rfqs[quote.rfq_id]
        for other_id in rfq.quote_ids:
            if self.quotes[other_id].status == QUOTE_ACCEPTED:
                raise naming(RejectCode.QUOTE_NOT_OPEN, "quote ", Subject.QUOTE, other_id,
                             " on this RFQ is already accepted and awaits its maker's confirmation")
        if cmd.accepted_side not in SIDES:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "accepted_side must be yes or no")
        market = self.markets.markets[quote.ticker]
        self.trading.require_trading(market)
        buys_yes, yes_price, own_price, count = self.terms_of(quote, cmd.accepted_side)
        if own_price == 0:
            raise Rejected(RejectCode.INVALID_PRICE, f"the quote declines the {cmd.accepted_side} side")
        if count == 0:
            raise Rejected(RejectCode.INVALID_ORDER_SIZE, f"the RFQ's target cost buys no whole contract on the {cmd.accepted_side} side")
        self._expiry(cmd.confirm_deadline_ms, QUOTE_CONFIRM_WINDOW_MS_MAX, "the confirmation deadline")
        self.trading.check_off_book(account, market, buys_yes, yes_price, count, True)
        # --- nothing below refuses ---
        quote.status = QUOTE_ACCEPTED
        quote.accepted_side = cmd.accepted_side
        quote.confirm_deadline_ms = min(cmd.confirm_deadline_ms, self.scope.now_ms + self.confirm_window_ms(market))
        self._emit_quote(quote, "accepted")
        self.timers.schedule(quote.confirm_deadline_ms, CONFIRM_DEADLINE, quote.quote_id, quote.ticker)
        return quote

    def confirm_quote(self, cmd: ConfirmQuote) -> Quote:
        maker = self.trading.account(cmd.account_id)
        quote = self.quotes.get(cmd.quote_id)
        if quote is None or quote.account_id != maker.account_id:
            raise naming(RejectCode.QUOTE_NOT_FOUND, "no open quote ", Subject.QUOTE, cmd.quote_id)
        if quote.status == QUOTE_CANCELLED:
            raise naming(RejectCode.CONFIRM_WINDOW_PASSED, "quote ", Subject.QUOTE, quote.quote_id, " can no longer be confirmed")
        if quote.status != QUOTE_ACCEPTED:
            raise naming(RejectCode.QUOTE_NOT_OPEN, "quote ", Subject.QUOTE, quote.quote_id, " has not been accepted")
        market = self.markets.markets[quote.ticker]
        self.trading.require_trading(market)
        buys_yes, yes_price, _, count = self.terms_of(quote, quote.accepted_side)
        requester = self.ledger.accounts[quote.rfq_account_id]
        self._check_side(requester, market, buys_yes, yes_price, count, True, maker.account_id, "the requester")
        self._check_side(maker, market, not buys_yes, yes_price, count, False, maker.account_id, "")
        # --- nothing below refuses ---
        self.scope.emit(OffBookTrade(self.trading.next_trade_id, KIND_RFQ, quote.quote_id))
        self.trading.execute_off_book(requester, buys_yes, maker, market, yes_price, count, f"rfq-quote-{quote.quote_id}")
        quote.status = QUOTE_EXECUTED
        del self.quotes[quote.quote_id]
        rfq = self.rfqs[quote.rfq_id]
        del rfq.quote_ids[quote.quote_id]
        self._emit_quote(quote, "executed")
        self._close_rfq(rfq, "executed")
        return quote

    # --- block trades ---------------------------------------------------------------------------

    def propose_block_trade(self, cmd: ProposeBlockTrade) -> BlockProposal:
        proposer = self.trading.account(cmd.account_id)
        self.trading.account(cmd.buyer_account_id)
        self.trading.account(cmd.seller_account_id)
        if self.member_of(cmd.buyer_account_id) == self.member_of(cmd.seller_account_id):
            raise Rejected(RejectCode.INVALID_PARAMETERS, "the buyer and the seller must be different members")
        if proposer.account_id not in (cmd.buyer_account_id, cmd.seller_account_id):
            raise Rejected(RejectCode.INVALID_PARAMETERS, "the proposer must be the buyer or the seller")
        market = self.markets.market(cmd.ticker)
        self.trading.require_trading(market)
        self._price(market, cmd.price_centicents, "price")
        self._count(market, cmd.count_centicontracts)
        if cmd.maker_side not in SIDES:
            raise Rejected(RejectCode.INVALID_PARAMETERS, "maker_side must be yes or no")
        self._expiry(cmd.expiration_ms, BLOCK_TRADE_LIFETIME_MS_MAX, "expiration_ts")
        if proposer.pending_proposal_count >= BLOCK_TRADES_PENDING_PER_ACCOUNT_MAX:
            raise Rejected(RejectCode.RFQ_LIMIT, f"an account may have at most {BLOCK_TRADES_PENDING_PER_ACCOUNT_MAX} pending proposals")
        # --- nothing below refuses ---
        proposal = BlockProposal(
            self.next_proposal_id, proposer.account_id, cmd.buyer_account_id, cmd.seller_account_id, market.ticker,
            cmd.price_centicents, cmd.count_centicontracts, cmd.maker_side, cmd.expiration_ms, self.scope.now_ms,
        )
        self.next_proposal_id += 1
        self.proposals[proposal.proposal_id] = proposal
        proposer.pending_proposal_count += 1
        self._emit_proposal(proposal, BLOCK_PENDING, "proposed")
        self.timers.schedule(proposal.expiration_ms, EXPIRE_BLOCK_TRADE, proposal.proposal_id, proposal.ticker)
        return proposal

    def accept_block_trade(self, cmd: AcceptBlockTrade) -> BlockProposal:
        """The other side accepts, in the account it accepts as (its primary account or one of its
        subaccounts: the proposal named the member, the acceptor names the account)."""
        proposal = self._proposal(cmd.account_id, cmd.proposal_id)
        as_buyer = self.member_of(cmd.account_id) == self.member_of(proposal.buyer_account_id)
        accepted = proposal.buyer_accepted_ms if as_buyer else proposal.seller_accepted_ms
        if accepted:
            raise naming(RejectCode.QUOTE_NOT_OPEN, "you have accepted block trade proposal ", Subject.BLOCK_TRADE,
                         proposal.proposal_id, " already; it awaits the other side")
        market = self.markets.markets[proposal.ticker]
        self.trading.require_trading(market)
        acceptor = self.trading.account(cmd.account_id)
        buyer = acceptor if as_buyer else self.ledger.accounts[proposal.buyer_account_id]
        seller = self.ledger.accounts[proposal.seller_account_id] if as_buyer else acceptor
        buyer_is_maker = proposal.maker_side == SIDE_YES
        price, count = proposal.price_centicents, proposal.count_centicontracts
        for account, is_bid in ((buyer, True), (seller, False)):
            self._check_side(account, market, is_bid, price, count, buyer_is_maker != is_bid, cmd.account_id, "the other side")
        # --- nothing below refuses ---
        now = self.scope.now_ms
        if as_buyer:
            proposal.buyer_account_id = acceptor.account_id
            proposal.buyer_accepted_ms = now
        else:
            proposal.seller_account_id = acceptor.account_id
            proposal.seller_accepted_ms = now
        self.scope.emit(OffBookTrade(self.trading.next_trade_id, KIND_BLOCK, proposal.proposal_id))
        taker, maker = (seller, buyer) if buyer_is_maker else (buyer, seller)
        self.trading.execute_off_book(taker, taker is buyer, maker, market, price, count, f"block-trade-{proposal.proposal_id}")
        self._end_proposal(proposal, BLOCK_EXECUTED, "executed")
        return proposal

    def reject_block_trade(self, cmd: RejectBlockTrade) -> BlockProposal:
        proposal = self._proposal(cmd.account_id, cmd.proposal_id)
        self._end_proposal(proposal, BLOCK_REJECTED, "rejected")
        return proposal

    def _end_proposal(self, proposal: BlockProposal, status: str, change: str) -> None:
        del self.proposals[proposal.proposal_id]
        self.ledger.accounts[proposal.proposer_account_id].pending_proposal_count -= 1
        self._emit_proposal(proposal, status, change)

    def _emit_proposal(self, proposal: BlockProposal, status: str, change: str) -> None:
        self.scope.emit(BlockTradeChanged(
            proposal.proposal_id, proposal.proposer_account_id, proposal.buyer_account_id, proposal.seller_account_id,
            proposal.ticker, proposal.price_centicents, proposal.count_centicontracts, proposal.maker_side,
            proposal.expiration_ms, proposal.created_ms, proposal.buyer_accepted_ms, proposal.seller_accepted_ms, status,
            change,
        ))

    # --- time -----------------------------------------------------------------------------------

    def on_timer(self, kind: int, number: int, due_ms: int) -> None:
        """A deadline fell due; a stale one (the thing is gone, or its time moved) does nothing."""
        if kind == EXPIRE_RFQ:
            rfq = self.rfqs.get(number)
            if rfq is not None and rfq.expiration_ms == due_ms:
                self._close_rfq(rfq, "expired")
        elif kind == EXPIRE_QUOTE:
            quote = self.quotes.get(number)
            if quote is not None and quote.status == QUOTE_OPEN and quote.expiration_ms == due_ms:
                self._drop_quote(quote, "expired")
        elif kind == CONFIRM_DEADLINE:
            quote = self.quotes.get(number)
            if quote is not None and quote.status == QUOTE_ACCEPTED and quote.confirm_deadline_ms == due_ms:
                quote.status = QUOTE_CANCELLED  # kept until its RFQ closes, so a late confirm hears why
                self._emit_quote(quote, "confirm_timeout")
        elif kind == EXPIRE_BLOCK_TRADE:
            proposal = self.proposals.get(number)
            if proposal is not None and proposal.expiration_ms == due_ms:
                self._end_proposal(proposal, BLOCK_EXPIRED, "expired")


def accounts_of(communications: Communications) -> dict[int, tuple[int, int]]:
    """Per account: (open RFQs, pending proposals it made), counted from scratch (for invariants and
    restoring a snapshot)."""
    counts: dict[int, tuple[int, int]] = {}
    for rfq in communications.rfqs.values():
        rfqs, proposals = counts.get(rfq.account_id, (0, 0))
        counts[rfq.account_id] = (rfqs + 1, proposals)
    for proposal in communications.proposals.values():
        rfqs, proposals = counts.get(proposal.proposer_account_id, (0, 0))
        counts[proposal.proposer_account_id] = (rfqs, proposals + 1)
    return counts

