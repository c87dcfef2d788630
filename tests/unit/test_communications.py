"""RFQs, quotes and block trades in the engine: one member asks, makers quote, the requester accepts a
side, the maker confirms within the window, and the trade executes off the book with fees on both
sides; deadlines run through the clock; refusals change nothing (the harness checks every invariant
after every command, and that a refusal leaves the state hash alone)."""

from __future__ import annotations

from harness import FAR_FUTURE_MS, Harness, contracts, of_type, price, usd
from predictex.core import commands as c
from predictex.core.codec import decode_command, decode_event, encode_command, encode_event
from predictex.core.communications import count_for_cost
from predictex.core.events import (
    BlockTradeChanged,
    BookChanged,
    OffBookTrade,
    OrderAccepted,
    OrderClosed,
    QuoteChanged,
    RfqChanged,
    Trade,
)
from predictex.core.fees import FeeTerms
from predictex.core.invariants import check_invariants
from predictex.core.rejects import RejectCode
from predictex.core.snapshot import restore_snapshot, state_hash, take_snapshot

MINUTE_MS = 60_000
WINDOW_MS = 30_000


def _rfq(exchange: Harness, account: int, ticker: str, count: int = 10, **terms: object) -> int:
    expiration = terms.pop("expiration_ms", exchange.now_ms + 10 * MINUTE_MS)
    return exchange.ok(c.CreateRfq(account, ticker, contracts(count) if count else 0, expiration_ms=expiration, **terms)).value  # type: ignore[arg-type]


def _quote(exchange: Harness, account: int, rfq: int, yes_bid: str, no_bid: str, **terms: object) -> int:
    return exchange.ok(c.CreateQuote(account, rfq, price(yes_bid), price(no_bid), **terms)).value  # type: ignore[arg-type]


def _accept(exchange: Harness, account: int, quote: int, side: str) -> c.AcceptQuote:
    return c.AcceptQuote(account, quote, side, exchange.now_ms + WINDOW_MS)


def test_one_requests_two_quote_the_requester_accepts_the_maker_confirms(exchange: Harness) -> None:
    ticker = exchange.market(fee_type="quadratic_with_maker_fees")
    requester, maker, other = exchange.account(), exchange.account(), exchange.account()
    resting = exchange.placed(other, ticker, "bid", "0.30", 5)
    rfq = _rfq(exchange, requester, ticker)
    chosen = _quote(exchange, maker, rfq, "0.55", "0.40")
    passed_over = _quote(exchange, other, rfq, "0.52", "0.35")
    accepted = exchange.ok(_accept(exchange, requester, chosen, "no"))
    [change] = of_type(accepted, QuoteChanged)
    assert (change.status, change.accepted_side, change.change) == ("accepted", "no", "accepted")
    assert exchange.cash(requester) == usd("1000") and exchange.position(requester, ticker) == 0  # accepting moves no money

    done = exchange.ok(c.ConfirmQuote(maker, chosen))
    [trade] = of_type(done, Trade)
    # the requester bought NO at $0.40: the trade's YES price is $0.60, the requester the taker (an ask)
    assert (trade.price_centicents, trade.count_centicontracts, trade.taker_is_bid) == (price("0.60"), contracts(10), False)
    assert (trade.taker_account_id, trade.maker_account_id) == (requester, maker)
    assert trade.taker_fee_microdollars == usd("0.168")  # 0.07 x 10 x 0.60 x 0.40
    assert trade.maker_fee_microdollars == usd("0.042")  # 0.0175 x 10 x 0.60 x 0.40
    assert exchange.cash(requester) == usd("1000") - usd("4.17")  # $4.00 + $0.168, floored to the cent
    assert exchange.cash(maker) == usd("1000") - usd("6.05")  # $6.00 + $0.042
    assert exchange.position(requester, ticker) == -contracts(10) and exchange.position(maker, ticker) == contracts(10)
    assert exchange.revenue() == usd("0.17") + usd("0.05")
    [marker] = of_type(done, OffBookTrade)
    assert (marker.trade_id, marker.kind, marker.source_id) == (trade.trade_id, "rfq", chosen)
    orders = of_type(done, OrderAccepted)
    assert sorted(o.account_id for o in orders) == sorted([requester, maker])
    assert {(e.status, e.filled_centicontracts, e.client_order_id) for e in of_type(done, OrderClosed)} == {
        ("executed", contracts(10), f"rfq-quote-{chosen}")}
    assert not of_type(done, BookChanged), "an RFQ trade never touches the book"
    assert exchange.is_open(resting) and exchange.book(ticker)["bids"] == [(price("0.30"), contracts(5))]
    assert [(q.quote_id, q.status, q.change) for q in of_type(done, QuoteChanged)] == [
        (chosen, "executed", "executed"), (passed_over, "cancelled", "rfq_closed"),
    ]
    assert [(r.status, r.change) for r in of_type(done, RfqChanged)] == [("closed", "executed")]
    market = exchange.engine.markets.markets[ticker]
    assert (market.volume_centicontracts, market.last_price_centicents) == (contracts(10), price("0.60"))
    exchange.refused(c.ConfirmQuote(maker, chosen), RejectCode.QUOTE_NOT_FOUND)


def test_an_executions_client_order_id_leaves_the_members_own_order_alone(exchange: Harness) -> None:
    ticker = exchange.market()
    requester, maker = exchange.account(), exchange.account()
    quote = _quote(exchange, maker, _rfq(exchange, requester, ticker, 2), "0.25", "0")
    own = exchange.placed(requester, ticker, "bid", "0.10", 1, client_order_id=f"rfq-quote-{quote}")
    exchange.ok(_accept(exchange, requester, quote, "yes"))
    exchange.ok(c.ConfirmQuote(maker, quote))
    assert exchange.engine.ledger.accounts[requester].open_client_order_ids == {f"rfq-quote-{quote}": own}


def test_accepting_yes_buys_yes_at_the_yes_bid(exchange: Harness) -> None:
    ticker = exchange.market()
    requester, maker = exchange.account(), exchange.account()
    quote = _quote(exchange, maker, _rfq(exchange, requester, ticker, 4), "0.25", "0")
    exchange.refused(_accept(exchange, requester, quote, "no"), RejectCode.INVALID_PRICE)  # the maker declined that side
    exchange.ok(_accept(exchange, requester, quote, "yes"))
    [trade] = of_type(exchange.ok(c.ConfirmQuote(maker, quote)), Trade)
    assert (trade.price_centicents, trade.taker_is_bid) == (price("0.25"), True)
    assert exchange.position(requester, ticker) == contracts(4) and exchange.position(maker, ticker) == -contracts(4)
    assert exchange.cash(maker) == usd("1000") - usd("3.00")  # NO at $0.75, no maker fee on this series


def test_nobody_quotes_or_accepts_their_own(exchange: Harness) -> None:
    ticker = exchange.market()
    requester, maker, stranger = exchange.account(), exchange.account(), exchange.account()
    rfq = _rfq(exchange, requester, ticker)
    exchange.refused(c.CreateQuote(requester, rfq, price("0.50"), price("0.40")), RejectCode.OWN_RFQ)
    quote = _quote(exchange, maker, rfq, "0.50", "0.40")
    exchange.refused(_accept(exchange, maker, quote, "yes"), RejectCode.OWN_RFQ)
    exchange.refused(_accept(exchange, stranger, quote, "yes"), RejectCode.QUOTE_NOT_FOUND)
    exchange.refused(c.ConfirmQuote(maker, quote), RejectCode.QUOTE_NOT_OPEN)  # not accepted yet
    exchange.refused(c.DeleteRfq(maker, rfq), RejectCode.RFQ_NOT_FOUND)
    exchange.refused(c.DeleteQuote(requester, quote), RejectCode.QUOTE_NOT_FOUND)
    exchange.refused(c.CreateQuote(maker, rfq, 0, 0), RejectCode.INVALID_PRICE)
    exchange.refused(c.CreateQuote(maker, rfq, price("0.505"), 0), RejectCode.INVALID_PRICE)  # off the cent grid
    exchange.refused(c.CreateQuote(maker, rfq + 1, price("0.50"), 0), RejectCode.RFQ_NOT_FOUND)


def test_collateral_is_checked_at_accept_and_at_confirm(exchange: Harness) -> None:
    ticker = exchange.market()
    poor, requester, maker = exchange.account("5"), exchange.account(), exchange.account("19")
    quote = _quote(exchange, maker, _rfq(exchange, poor, ticker), "0.60", "0.30")
    exchange.refused(_accept(exchange, poor, quote, "yes"), RejectCode.INSUFFICIENT_BALANCE)  # $6.00 + fee > $5
    exchange.ok(_accept(exchange, poor, quote, "no"))  # $3.00 + fee fits
    exchange.ok(c.CreateOrder(poor, ticker, True, price("0.40"), contracts(5)))  # locks $2.00+: $3.xx no longer fits
    exchange.refused(c.ConfirmQuote(maker, quote), RejectCode.INSUFFICIENT_BALANCE)
    # the maker's own side is checked too: YES at $0.40 x 50 is $20, it has $19
    big = _quote(exchange, maker, _rfq(exchange, requester, ticker, 50), "0.50", "0.60")
    exchange.ok(_accept(exchange, requester, big, "no"))
    exchange.refused(c.ConfirmQuote(maker, big), RejectCode.INSUFFICIENT_BALANCE)
    exchange.ok(c.Deposit(maker, usd("10")))
    exchange.ok(c.ConfirmQuote(maker, big))
    assert exchange.position(maker, ticker) == contracts(50)


def test_a_confirm_after_the_window_is_refused_and_the_rfq_stays_open(exchange: Harness) -> None:
    ticker = exchange.market()
    requester, slow, fast = exchange.account(), exchange.account(), exchange.account()
    rfq = _rfq(exchange, requester, ticker)
    late = _quote(exchange, slow, rfq, "0.50", "0.45")
    exchange.refused(c.AcceptQuote(requester, late, "yes", exchange.now_ms + WINDOW_MS + 1), RejectCode.INVALID_EXPIRATION)
    exchange.ok(_accept(exchange, requester, late, "yes"))
    other = _quote(exchange, fast, rfq, "0.49", "0.45")
    exchange.refused(_accept(exchange, requester, other, "yes"), RejectCode.QUOTE_NOT_OPEN)  # one acceptance at a time
    lapsed = exchange.advance(WINDOW_MS)
    assert [(q.quote_id, q.status, q.change) for q in of_type(lapsed, QuoteChanged)] == [(late, "cancelled", "confirm_timeout")]
    exchange.refused(c.ConfirmQuote(slow, late), RejectCode.CONFIRM_WINDOW_PASSED)
    exchange.refused(_accept(exchange, requester, late, "yes"), RejectCode.QUOTE_NOT_OPEN)
    exchange.ok(_accept(exchange, requester, other, "yes"))
    exchange.ok(c.ConfirmQuote(fast, other))
    assert exchange.position(requester, ticker) == contracts(10)


def test_quotes_and_rfqs_expire_through_the_clock(exchange: Harness) -> None:
    ticker = exchange.market()
    requester, maker = exchange.account(), exchange.account()
    rfq = _rfq(exchange, requester, ticker, expiration_ms=exchange.now_ms + 5 * MINUTE_MS)
    exchange.refused(c.CreateQuote(maker, rfq, price("0.5"), 0, expiration_ms=exchange.now_ms + 6 * MINUTE_MS),
                     RejectCode.INVALID_EXPIRATION)  # outliving its RFQ
    quote = _quote(exchange, maker, rfq, "0.50", "0.45", expiration_ms=exchange.now_ms + MINUTE_MS)
    expired = exchange.advance(MINUTE_MS)
    assert [(q.quote_id, q.change) for q in of_type(expired, QuoteChanged)] == [(quote, "expired")]
    exchange.refused(_accept(exchange, requester, quote, "yes"), RejectCode.QUOTE_NOT_FOUND)
    again = _quote(exchange, maker, rfq, "0.50", "0.45")
    closed = exchange.advance(4 * MINUTE_MS)
    assert [(q.quote_id, q.change) for q in of_type(closed, QuoteChanged)] == [(again, "rfq_closed")]
    assert [(r.rfq_id, r.status, r.change) for r in of_type(closed, RfqChanged)] == [(rfq, "closed", "expired")]
    assert exchange.engine.ledger.accounts[requester].open_rfq_count == 0
    exchange.refused(c.CreateRfq(requester, ticker, contracts(1), expiration_ms=exchange.now_ms), RejectCode.INVALID_EXPIRATION)


def test_a_new_quote_replaces_the_makers_last_and_replace_existing_replaces_rfqs(exchange: Harness) -> None:
    ticker = exchange.market()
    requester, maker = exchange.account(), exchange.account()
    rfq = _rfq(exchange, requester, ticker)
    first = _quote(exchange, maker, rfq, "0.50", "0.45")
    replaced = exchange.ok(c.CreateQuote(maker, rfq, price("0.51"), price("0.45")))
    assert [(q.quote_id, q.change) for q in of_type(replaced, QuoteChanged)] == [(first, "replaced"), (replaced.value, "created")]
    second_rfq = exchange.ok(c.CreateRfq(requester, ticker, contracts(3), replace_existing=True, expiration_ms=exchange.now_ms + MINUTE_MS))
    assert [(r.rfq_id, r.change) for r in of_type(second_rfq, RfqChanged)] == [(rfq, "replaced"), (second_rfq.value, "created")]
    exchange.refused(c.CreateRfq(requester, ticker, contracts(3), target_cost_microdollars=usd("5"), expiration_ms=exchange.now_ms + 1),
                     RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.CreateRfq(requester, ticker, contracts(3), expiration_ms=exchange.now_ms + 25 * 3600 * 1000),
                     RejectCode.INVALID_EXPIRATION)


def test_a_target_cost_is_sized_per_side_with_the_takers_fee(exchange: Harness) -> None:
    ticker = exchange.market()
    requester, maker = exchange.account(), exchange.account()
    rfq = _rfq(exchange, requester, ticker, 0, target_cost_microdollars=usd("10"))
    created = exchange.ok(c.CreateQuote(maker, rfq, price("0.40"), price("0.30")))
    [quote] = of_type(created, QuoteChanged)
    # YES at $0.40: 24 cost $9.60 + $0.4032 fee = $10.0032, 23 fit; NO at $0.30: 32 cost $9.60 + $0.4704, 31 fit
    assert (quote.yes_count_centicontracts, quote.no_count_centicontracts) == (contracts(23), contracts(31))
    terms = FeeTerms("quadratic", 10_000, 100)
    assert count_for_cost(terms, price("0.40"), price("0.40"), usd("10"), True) == contracts(25)
    exchange.ok(_accept(exchange, requester, created.value, "yes"))
    exchange.ok(c.ConfirmQuote(maker, created.value))
    assert exchange.position(requester, ticker) == contracts(23)
    assert usd("1000") - exchange.cash(requester) <= usd("10")


def test_a_block_trade_executes_when_the_other_side_accepts(exchange: Harness) -> None:
    ticker = exchange.market(fee_type="quadratic_with_maker_fees")
    buyer, seller, stranger = exchange.account(), exchange.account(), exchange.account()
    expiry = exchange.now_ms + MINUTE_MS
    propose = c.ProposeBlockTrade(buyer, buyer, seller, ticker, price("0.70"), contracts(20), "no", expiry)
    proposal = exchange.ok(propose).value
    exchange.refused(c.AcceptBlockTrade(buyer, proposal), RejectCode.QUOTE_NOT_OPEN)  # the proposer accepted by proposing
    exchange.refused(c.AcceptBlockTrade(stranger, proposal), RejectCode.BLOCK_TRADE_NOT_FOUND)
    done = exchange.ok(c.AcceptBlockTrade(seller, proposal))
    [trade] = of_type(done, Trade)
    # maker side "no": the seller is the maker, the buyer takes YES at $0.70
    assert (trade.taker_account_id, trade.maker_account_id, trade.taker_is_bid) == (buyer, seller, True)
    assert trade.taker_fee_microdollars == usd("0.294") and trade.maker_fee_microdollars == usd("0.0735")
    assert exchange.position(buyer, ticker) == contracts(20) and exchange.position(seller, ticker) == -contracts(20)
    assert exchange.cash(buyer) == usd("1000") - usd("14.30") and exchange.cash(seller) == usd("1000") - usd("6.08")
    [marker] = of_type(done, OffBookTrade)
    assert (marker.kind, marker.source_id, marker.trade_id) == ("block", proposal, trade.trade_id)
    assert [(p.status, p.change) for p in of_type(done, BlockTradeChanged)] == [("executed", "executed")]
    exchange.refused(c.AcceptBlockTrade(seller, proposal), RejectCode.BLOCK_TRADE_NOT_FOUND)


def test_block_trades_are_rejected_expire_and_check_their_terms(exchange: Harness) -> None:
    ticker = exchange.market()
    buyer, seller, stranger = exchange.account(), exchange.account("1"), exchange.account()
    expiry = exchange.now_ms + MINUTE_MS
    exchange.refused(c.ProposeBlockTrade(stranger, buyer, seller, ticker, price("0.5"), contracts(1), "yes", expiry), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.ProposeBlockTrade(buyer, buyer, buyer, ticker, price("0.5"), contracts(1), "yes", expiry), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.ProposeBlockTrade(buyer, buyer, seller, ticker, price("0.5"), contracts(1), "maybe", expiry), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.ProposeBlockTrade(buyer, buyer, seller, ticker, 0, contracts(1), "yes", expiry), RejectCode.INVALID_PRICE)
    exchange.refused(c.ProposeBlockTrade(buyer, buyer, seller, ticker, price("0.5"), contracts(1), "yes", exchange.now_ms),
                     RejectCode.INVALID_EXPIRATION)
    rejected = exchange.ok(c.ProposeBlockTrade(seller, buyer, seller, ticker, price("0.5"), contracts(1), "yes", expiry)).value
    assert [p.change for p in of_type(exchange.ok(c.RejectBlockTrade(buyer, rejected)), BlockTradeChanged)] == ["rejected"]
    poor = exchange.ok(c.ProposeBlockTrade(buyer, buyer, seller, ticker, price("0.2"), contracts(10), "yes", expiry)).value
    exchange.refused(c.AcceptBlockTrade(seller, poor), RejectCode.INSUFFICIENT_BALANCE)  # NO at $0.80 x 10 > $1
    expired = exchange.advance(MINUTE_MS)
    assert [(p.proposal_id, p.status) for p in of_type(expired, BlockTradeChanged)] == [(poor, "expired")]
    assert exchange.engine.ledger.accounts[buyer].pending_proposal_count == 0


def test_a_snapshot_mid_flow_restores_to_the_same_state_and_future(exchange: Harness) -> None:
    ticker = exchange.market()
    requester, maker = exchange.account(), exchange.account()
    rfq = _rfq(exchange, requester, ticker)
    quote = _quote(exchange, maker, rfq, "0.50", "0.45", expiration_ms=exchange.now_ms + MINUTE_MS)
    lapsed = _quote(exchange, exchange.account(), rfq, "0.48", "0.45")
    exchange.ok(_accept(exchange, requester, lapsed, "yes"))
    exchange.advance(WINDOW_MS)
    exchange.ok(_accept(exchange, requester, quote, "yes"))
    exchange.ok(c.ProposeBlockTrade(maker, requester, maker, ticker, price("0.5"), contracts(1), "yes", exchange.now_ms + MINUTE_MS))
    restored = restore_snapshot(take_snapshot(exchange.engine))
    check_invariants(restored)
    assert state_hash(restored) == state_hash(exchange.engine)
    for engine in (exchange.engine, restored):
        engine.apply(c.ConfirmQuote(maker, quote), exchange.now_ms + 1000)
    assert state_hash(restored) == state_hash(exchange.engine)
    assert restored.ledger.accounts[requester].markets[ticker].position_centicontracts == contracts(10)


def test_an_exchange_that_never_used_communications_keeps_its_snapshot(exchange: Harness) -> None:
    exchange.market()
    assert "communications" not in take_snapshot(exchange.engine)


def test_commands_and_events_round_trip_through_the_codec() -> None:
    commands: list[c.Command] = [
        c.CreateRfq(1, "T", 100, 0, False, True, True, True, 5), c.DeleteRfq(1, 2), c.CreateQuote(1, 2, 3, 4, True, True, 9),
        c.DeleteQuote(1, 2), c.AcceptQuote(1, 2, "yes", 7), c.ConfirmQuote(1, 2),
        c.ProposeBlockTrade(1, 1, 2, "T", 5000, 100, "no", 9), c.AcceptBlockTrade(2, 1), c.RejectBlockTrade(2, 1),
    ]
    for command in commands:
        assert decode_command(encode_command(command)) == command
    events = [
        RfqChanged(1, 2, "T", 100, 0, False, True, False, 9, 1, "open", "created"),
        QuoteChanged(1, 2, 3, 4, "T", 100, 200, 300, 300, False, True, 0, 5, "accepted", "yes", 9, "accepted"),
        BlockTradeChanged(1, 2, 2, 3, "T", 5000, 100, "yes", 9, 1, 1, 0, "pending", "proposed"),
        OffBookTrade(1, "rfq", 2),
    ]
    for event in events:
        assert decode_event(encode_event(event)) == event


# --- subaccounts, position limits, the High Volatility window ----------------------------------------

def _subaccount(exchange: Harness, member: int, dollars: str) -> int:
    """The member's next subaccount, funded from its primary account."""
    number = exchange.ok(c.CreateSubaccount(member)).value
    exchange.ok(c.TransferBetweenSubaccounts(member, 0, number, usd(dollars), f"fund-{number}"))
    return exchange.engine.ledger.subaccounts.by_primary[member][number]


def test_subaccounts_request_quote_accept_and_confirm_with_their_own_collateral(exchange: Harness) -> None:
    ticker = exchange.market()
    requester, maker = exchange.account(), exchange.account()
    asking, quoting = _subaccount(exchange, requester, "50"), _subaccount(exchange, maker, "30")
    rfq = _rfq(exchange, asking, ticker)
    # the member is one: none of its accounts may answer its own RFQ
    exchange.refused(c.CreateQuote(requester, rfq, price("0.50"), 0), RejectCode.OWN_RFQ)
    exchange.refused(c.CreateQuote(_subaccount(exchange, requester, "1"), rfq, price("0.50"), 0), RejectCode.OWN_RFQ)
    quote = _quote(exchange, quoting, rfq, "0.40", "0")
    exchange.refused(_accept(exchange, requester, quote, "yes"), RejectCode.QUOTE_NOT_FOUND)  # the RFQ is the subaccount's
    exchange.ok(_accept(exchange, asking, quote, "yes"))
    exchange.refused(c.ConfirmQuote(maker, quote), RejectCode.QUOTE_NOT_FOUND)  # the quote is the subaccount's
    exchange.ok(c.ConfirmQuote(quoting, quote))
    assert exchange.position(asking, ticker) == contracts(10) and exchange.position(quoting, ticker) == -contracts(10)
    assert exchange.position(requester, ticker) == 0 and exchange.position(maker, ticker) == 0
    assert exchange.cash(asking) == usd("50") - usd("4.17")  # $4.00 + the $0.168 taker fee, rounded up to the cent
    assert exchange.cash(quoting) == usd("30") - usd("6.00")
    assert exchange.cash(requester) == usd("1000") - usd("50") - usd("1") and exchange.cash(maker) == usd("970")


def test_a_subaccounts_collateral_is_its_own_at_accept_and_confirm(exchange: Harness) -> None:
    ticker = exchange.market()
    requester, maker = exchange.account(), exchange.account()
    asking, quoting = _subaccount(exchange, requester, "3"), _subaccount(exchange, maker, "5")
    quote = _quote(exchange, quoting, _rfq(exchange, asking, ticker), "0.40", "0.50")
    exchange.refused(_accept(exchange, asking, quote, "yes"), RejectCode.INSUFFICIENT_BALANCE)  # $4+ > $3, the primary's $949 aside
    exchange.ok(c.TransferBetweenSubaccounts(requester, 0, 1, usd("2"), "more"))
    exchange.ok(_accept(exchange, asking, quote, "yes"))
    exchange.refused(c.ConfirmQuote(quoting, quote), RejectCode.INSUFFICIENT_BALANCE)  # NO at $0.60 x 10 = $6 > $5
    exchange.ok(c.TransferBetweenSubaccounts(maker, 0, 1, usd("1"), "more"))
    exchange.ok(c.ConfirmQuote(quoting, quote))


def test_rfq_and_block_executions_are_held_to_the_members_position_limits(exchange: Harness) -> None:
    ticker = exchange.market("S9-E-A")
    requester, maker, other = exchange.account(), exchange.account(), exchange.account()
    sub = _subaccount(exchange, requester, "100")
    exchange.ok(c.SetPositionLimit("market", ticker, contracts(12), 0))
    exchange.placed(other, ticker, "ask", "0.40", 4)
    exchange.placed(requester, ticker, "bid", "0.40", 4)  # the member holds 4 YES in its primary account
    quote = _quote(exchange, maker, _rfq(exchange, sub, ticker, 10), "0.40", "0.50")
    before = exchange.cash(sub)
    reject = exchange.refused(_accept(exchange, sub, quote, "yes"), RejectCode.POSITION_LIMIT)  # 4 + 10 YES > 12
    assert reject.detail == (f"at most 12.00 contracts per member in {ticker}: the position is 4.00 YES, and with "
                             "this trade and the resting bids it could reach 14.00 YES")
    assert exchange.cash(sub) == before
    exchange.ok(_accept(exchange, sub, quote, "no"))  # NO reduces: never refused
    exchange.ok(c.ConfirmQuote(maker, quote))
    assert exchange.position(sub, ticker) == -contracts(10)
    # at confirm, the requester's limit is checked again, and told to the maker without its figures
    rfq = _rfq(exchange, sub, ticker, 10)
    quote = _quote(exchange, maker, rfq, "0.40", "0.50")
    exchange.ok(_accept(exchange, sub, quote, "yes"))  # -6 + 10 = 4 YES: within
    exchange.placed(requester, ticker, "bid", "0.10", 9)  # resting: -6 + 9 + 10 = 13 YES could be held
    reject = exchange.refused(c.ConfirmQuote(maker, quote), RejectCode.POSITION_LIMIT)
    assert reject.detail == f"the requester may not hold that much more in {ticker}"
    # the maker's own limit: it holds 10 YES; the requester's member 6 NO, which 10 more NO keeps within 17
    exchange.ok(c.SetPositionLimit("market", ticker, contracts(17), 0))
    rfq = _rfq(exchange, sub, ticker, 10, replace_existing=True)
    quote = _quote(exchange, maker, rfq, "0.60", "0.30")
    exchange.ok(_accept(exchange, sub, quote, "no"))
    reject = exchange.refused(c.ConfirmQuote(maker, quote), RejectCode.POSITION_LIMIT)  # 20 YES > 17
    assert reject.detail.startswith(f"at most 17.00 contracts per member in {ticker}: the position is 10.00 YES")
    exchange.ok(c.SetPositionLimit("market", ticker, contracts(15), 0))
    # a block trade's accept: the acceptor hears its own figures, the other side's are kept private
    proposal = exchange.ok(c.ProposeBlockTrade(other, maker, other, ticker, price("0.50"), contracts(6), "yes",
                                               exchange.now_ms + MINUTE_MS)).value
    exchange.refused(c.AcceptBlockTrade(maker, proposal), RejectCode.POSITION_LIMIT)
    proposal = exchange.ok(c.ProposeBlockTrade(maker, maker, other, ticker, price("0.50"), contracts(6), "yes",
                                               exchange.now_ms + MINUTE_MS)).value
    reject = exchange.refused(c.AcceptBlockTrade(other, proposal), RejectCode.POSITION_LIMIT)
    assert reject.detail == f"the other side may not hold that much more in {ticker}"
    exchange.ok(c.SetPositionLimit("market", ticker, 0, 0))
    exchange.ok(c.AcceptBlockTrade(other, proposal))
    assert exchange.position(maker, ticker) == contracts(16)


def test_a_combination_market_gives_the_maker_one_second_to_confirm(exchange: Harness) -> None:
    exchange.market("KX-A")
    exchange.market("KX-B")
    combo = "KXC-E-1"
    exchange.ok(c.CreateComboMarket("KXC", "S1", "KXC-E", combo, "a combination", FAR_FUTURE_MS, [["KX-A", "yes"], ["KX-B", "no"]]))
    requester, maker = exchange.account(), exchange.account()
    quote = _quote(exchange, maker, _rfq(exchange, requester, combo), "0.30", "0.60")
    [accepted] = of_type(exchange.ok(_accept(exchange, requester, quote, "yes")), QuoteChanged)  # 30 s asked
    assert accepted.confirm_deadline_ms == exchange.now_ms + 1_000  # a High Volatility Market: 1 s
    lapsed = exchange.advance(1_000)
    assert [(q.quote_id, q.change) for q in of_type(lapsed, QuoteChanged)] == [(quote, "confirm_timeout")]
    exchange.refused(c.ConfirmQuote(maker, quote), RejectCode.CONFIRM_WINDOW_PASSED)
    # a standard market keeps the 30 s asked for
    ticker = exchange.market()
    quote = _quote(exchange, maker, _rfq(exchange, requester, ticker), "0.30", "0.60")
    [accepted] = of_type(exchange.ok(_accept(exchange, requester, quote, "yes")), QuoteChanged)
    assert accepted.confirm_deadline_ms == exchange.now_ms + WINDOW_MS


def test_a_block_trades_other_side_accepts_in_the_subaccount_it_chooses(exchange: Harness) -> None:
    ticker = exchange.market()
    buyer, seller = exchange.account(), exchange.account()
    buying, selling = _subaccount(exchange, buyer, "20"), _subaccount(exchange, seller, "20")
    expires = exchange.now_ms + MINUTE_MS
    exchange.refused(c.ProposeBlockTrade(buyer, buying, buyer, ticker, price("0.30"), contracts(5), "yes", expires),
                     RejectCode.INVALID_PARAMETERS)  # two accounts of one member are not two parties
    proposal = exchange.ok(c.ProposeBlockTrade(buying, buying, seller, ticker, price("0.30"), contracts(5), "yes", expires)).value
    exchange.refused(c.AcceptBlockTrade(buyer, proposal), RejectCode.QUOTE_NOT_OPEN)  # the buyer's member accepted by proposing
    exchange.refused(c.AcceptBlockTrade(exchange.account(), proposal), RejectCode.BLOCK_TRADE_NOT_FOUND)
    [changed] = of_type(exchange.ok(c.AcceptBlockTrade(selling, proposal)), BlockTradeChanged)
    assert (changed.buyer_account_id, changed.seller_account_id, changed.status) == (buying, selling, "executed")
    assert exchange.position(buying, ticker) == contracts(5) and exchange.position(selling, ticker) == -contracts(5)
    assert exchange.position(seller, ticker) == 0 and exchange.cash(selling) == usd("20") - usd("3.58")  # NO at $0.70 x 5, and the taker fee
