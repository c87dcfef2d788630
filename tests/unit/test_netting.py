"""Netting per subaccount: with netting on (the default) a position is one signed count and buying one
contract closes the other held; with netting off YES and NO are held apart, a buy only opens, a sell
closes what is held of the contract it sells, each side is paid for in full, and settlement pays both.
Switching is refused while orders rest or (switching on) while both sides are held; snapshot and
replay reproduce all of it. Fees are waived in these markets so every figure is the price alone."""

from __future__ import annotations

import json

from harness import Harness, contracts, of_type, usd
from predictex.core import commands as c
from predictex.core.codec import decode_command, decode_event, encode_command, encode_event
from predictex.core.engine import Engine, Outcome
from predictex.core.events import NettingChanged, PositionChanged, PositionSettled, PositionSides, SidesSettled
from predictex.core.rejects import RejectCode
from predictex.core.snapshot import restore_snapshot, state_hash, take_snapshot

FOREVER_MS = 4_000_000_000_000


def _market(exchange: Harness) -> str:
    return exchange.market("KX-NET", waiver_ms=FOREVER_MS)


def _off(exchange: Harness, dollars: str = "100") -> int:
    me = exchange.account(dollars)
    outcome = exchange.ok(c.SetNetting(me, 0, False))
    assert of_type(outcome, NettingChanged) == [NettingChanged(me, me, 0, False)]
    return me


def _buy_yes(exchange: Harness, account: int, ticker: str, price: str, count: int) -> None:
    exchange.placed(account, ticker, "bid", price, count, action="buy")


def _buy_no(exchange: Harness, account: int, ticker: str, yes_price: str, count: int) -> None:
    exchange.placed(account, ticker, "ask", yes_price, count, action="buy")


def _hedge(exchange: Harness, me: int, ticker: str) -> None:
    """`me` buys 10 YES at 40c, then 10 NO at 45c (a YES bid of 55c on the other side)."""
    seller = exchange.account("100")
    exchange.placed(seller, ticker, "ask", "0.40", 10)
    _buy_yes(exchange, me, ticker, "0.40", 10)
    buyer = exchange.account("100")
    exchange.placed(buyer, ticker, "bid", "0.55", 10)
    _buy_no(exchange, me, ticker, "0.55", 10)


def test_without_netting_buying_no_does_not_close_yes(exchange: Harness) -> None:
    ticker = _market(exchange)
    me = _off(exchange)
    _hedge(exchange, me, ticker)
    am = exchange.holding(me, ticker)
    assert (am.yes_centicontracts, am.no_centicontracts) == (contracts(10), contracts(10))
    assert (am.yes_cost_microdollars, am.no_cost_microdollars) == (usd("4"), usd("4.50"))
    assert am.position_centicontracts == 0 and am.position_cost_microdollars == usd("8.50")
    assert exchange.cash(me) == usd("91.50")  # both sides paid in full: nothing came back for the pairs
    assert exchange.engine.markets.markets[ticker].open_interest_centicontracts == contracts(20)


def test_with_netting_the_same_trades_close_the_position(exchange: Harness) -> None:
    ticker = _market(exchange)
    me = exchange.account("100")
    _hedge(exchange, me, ticker)
    am = exchange.holding(me, ticker)
    assert am.position_centicontracts == 0 and am.position_cost_microdollars == 0
    assert (am.yes_centicontracts, am.no_centicontracts) == (0, 0)
    assert exchange.cash(me) == usd("101.50")  # the 10 pairs paid their $10.00 back at once
    assert am.realized_pnl_microdollars == usd("1.50")


def test_a_hedged_holding_settles_both_sides_to_the_same_money_as_netting(exchange: Harness) -> None:
    ticker = _market(exchange)
    me = _off(exchange)
    _hedge(exchange, me, ticker)
    exchange.ok(c.SetMarketTimes(ticker, close_time_ms=exchange.now_ms))
    outcome = exchange.ok(c.DetermineMarket(ticker, "yes"))
    assert of_type(outcome, SidesSettled) == [SidesSettled(me, ticker, contracts(10), contracts(10), usd("4"), usd("4.50"))]
    mine = [e for e in of_type(outcome, PositionSettled) if e.account_id == me]
    assert [(e.position_centicontracts, e.position_cost_microdollars, e.payout_microdollars) for e in mine] == [
        (0, usd("8.50"), usd("10"))]
    assert exchange.cash(me) == usd("101.50")  # as with netting: $10.00 for the pairs, at settlement
    assert [e for e in of_type(outcome, PositionSides) if e.account_id == me] == [PositionSides(me, ticker, 0, 0, 0, 0)]
    assert exchange.engine.markets.markets[ticker].open_interest_centicontracts == 0


def test_a_void_market_refunds_both_sides_at_cost(exchange: Harness) -> None:
    ticker = _market(exchange)
    me = _off(exchange)
    _hedge(exchange, me, ticker)
    exchange.ok(c.SetMarketTimes(ticker, close_time_ms=exchange.now_ms))
    exchange.ok(c.DetermineMarket(ticker, "void"))
    assert exchange.cash(me) == usd("100")


def test_a_sell_closes_only_the_contract_it_sells_then_opens_the_other(exchange: Harness) -> None:
    ticker = _market(exchange)
    me = _off(exchange)
    _hedge(exchange, me, ticker)
    buyer = exchange.account("100")
    exchange.placed(buyer, ticker, "bid", "0.50", 14)
    exchange.placed(me, ticker, "ask", "0.50", 14, action="sell")  # sells the 10 YES held, then buys 4 NO
    am = exchange.holding(me, ticker)
    assert (am.yes_centicontracts, am.no_centicontracts) == (0, contracts(14))
    assert (am.yes_cost_microdollars, am.no_cost_microdollars) == (0, usd("4.50") + usd("2"))
    assert am.realized_pnl_microdollars == usd("1")  # 10 YES bought at 40c, sold at 50c
    assert exchange.cash(me) == usd("91.50") + usd("5") - usd("2")


def test_a_resting_buy_locks_its_full_price_and_a_resting_sell_of_what_is_held_locks_nothing(exchange: Harness) -> None:
    ticker = _market(exchange)
    me = _off(exchange)
    seller = exchange.account("100")
    exchange.placed(seller, ticker, "ask", "0.40", 10)
    _buy_yes(exchange, me, ticker, "0.40", 10)
    _buy_no(exchange, me, ticker, "0.60", 10)  # rests: buys NO at 40c, closes nothing
    assert exchange.locked(me) == usd("4")
    exchange.placed(me, ticker, "ask", "0.70", 10, action="sell")  # sells the YES held: needs no cash
    assert exchange.locked(me) == usd("4")
    exchange.refused(c.CreateOrder(me, ticker, False, 7_000, contracts(1), reduce_only=True, action="buy"),
                     RejectCode.REDUCE_ONLY_NO_POSITION)  # a buy reduces nothing without netting
    netting = exchange.account("100")
    exchange.placed(seller, ticker, "ask", "0.40", 10)
    _buy_yes(exchange, netting, ticker, "0.40", 10)
    _buy_no(exchange, netting, ticker, "0.60", 10)
    assert exchange.locked(netting) == 0  # with netting the same order closes the YES held


def test_an_order_without_the_cash_for_a_side_is_refused(exchange: Harness) -> None:
    ticker = _market(exchange)
    me = _off(exchange, "5")
    seller = exchange.account("100")
    exchange.placed(seller, ticker, "ask", "0.40", 10)
    _buy_yes(exchange, me, ticker, "0.40", 10)
    exchange.refused(c.CreateOrder(me, ticker, False, 6_000, contracts(10), action="buy"), RejectCode.INSUFFICIENT_BALANCE)


def test_switching_is_refused_while_orders_rest_or_both_sides_are_held(exchange: Harness) -> None:
    ticker = _market(exchange)
    me = exchange.account("100")
    resting = exchange.placed(me, ticker, "bid", "0.10", 1)
    exchange.refused(c.SetNetting(me, 0, False), RejectCode.INVALID_PARAMETERS)
    exchange.ok(c.CancelOrder(me, resting))
    exchange.ok(c.SetNetting(me, 0, False))
    _hedge(exchange, me, ticker)
    exchange.refused(c.SetNetting(me, 0, True), RejectCode.INVALID_PARAMETERS)
    exchange.refused(c.SetNetting(me, 1, False), RejectCode.ACCOUNT_NOT_FOUND)
    assert not exchange.ok(c.SetNetting(me, 0, False)).events  # already off: nothing happens


def test_switching_moves_a_one_sided_position_between_the_two_forms(exchange: Harness) -> None:
    ticker = _market(exchange)
    me = exchange.account("100")
    seller = exchange.account("100")
    exchange.placed(seller, ticker, "ask", "0.40", 10)
    _buy_yes(exchange, me, ticker, "0.40", 10)
    outcome = exchange.ok(c.SetNetting(me, 0, False))
    assert of_type(outcome, PositionSides) == [PositionSides(me, ticker, contracts(10), 0, usd("4"), 0)]
    assert of_type(outcome, PositionChanged)[0].position_centicontracts == contracts(10)
    exchange.ok(c.SetNetting(me, 0, True))
    am = exchange.holding(me, ticker)
    assert (am.position_centicontracts, am.position_cost_microdollars, am.yes_centicontracts) == (contracts(10), usd("4"), 0)


def test_netting_is_per_subaccount(exchange: Harness) -> None:
    ticker = _market(exchange)
    me = exchange.account("100")
    exchange.ok(c.CreateSubaccount(me))
    exchange.ok(c.TransferBetweenSubaccounts(me, 0, 1, usd("50"), "t"))
    outcome = exchange.ok(c.SetNetting(me, 1, False))
    sub = exchange.engine.ledger.subaccounts.by_primary[me][1]
    assert of_type(outcome, NettingChanged) == [NettingChanged(sub, me, 1, False)]
    assert exchange.engine.ledger.accounts[me].netting_enabled
    _hedge(exchange, sub, ticker)
    assert exchange.holding(sub, ticker).no_centicontracts == contracts(10)


class _Recording(Harness):
    """A harness that keeps every command it applied, with its time (compiled classes take no patching)."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[c.Command, int]] = []

    def apply(self, command: c.Command, now_ms: int | None = None) -> Outcome:
        outcome = super().apply(command, now_ms)
        self.log.append((command, self.now_ms))
        return outcome


def test_snapshot_and_replay_reproduce_holdings_kept_apart() -> None:
    exchange = _Recording()
    ticker = _market(exchange)
    me = _off(exchange)
    _hedge(exchange, me, ticker)
    exchange.placed(me, ticker, "ask", "0.90", 3, action="sell")  # rests, closing YES held
    engine = exchange.engine
    restored = restore_snapshot(json.loads(json.dumps(take_snapshot(engine))))
    assert state_hash(restored) == state_hash(engine)
    assert not restored.ledger.accounts[me].netting_enabled
    replayed = Engine()
    for command, now_ms in exchange.log:
        decoded = decode_command(json.loads(json.dumps(encode_command(command))))
        outcome = replayed.apply(decoded, now_ms)
        for event in outcome.events:
            assert decode_event(json.loads(json.dumps(encode_event(event)))) == event
    assert state_hash(replayed) == state_hash(engine)
