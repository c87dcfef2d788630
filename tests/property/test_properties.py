"""Properties that must hold for every sequence of commands: the invariants after each one (checked by
the harness), conservation of money and contracts through settlement, and exact unit round trips.
One account starts with netting off and any may switch, so holdings kept apart meet netted ones."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import START_MS, Harness
from predictex.core import commands as c
from predictex.core.fees import FEE_QUADRATIC_WITH_MAKER_FEES, apply_balance_rounding
from predictex.core.limits import BALANCE_INCREMENT_MICRODOLLARS
from predictex.core.units import format_count_fp, format_price_dollars, parse_count_fp, parse_price_dollars

TICKERS = ("KX-CENT", "KX-FRAC", "KX-TAPER")
ACCOUNTS = (1, 2, 3)

prices = st.one_of(st.integers(1, 99).map(lambda cents: cents * 100), st.integers(1, 9999))
counts = st.one_of(st.integers(1, 20).map(lambda n: n * 100), st.integers(1, 2000))

create = st.builds(
    c.CreateOrder,
    account_id=st.sampled_from(ACCOUNTS), ticker=st.sampled_from(TICKERS), is_bid=st.booleans(),
    price_centicents=prices, count_centicontracts=counts,
    time_in_force=st.sampled_from(["good_till_canceled"] * 4 + ["immediate_or_cancel", "fill_or_kill"]),
    post_only=st.booleans(), reduce_only=st.sampled_from([False] * 5 + [True]),
    self_trade_prevention=st.sampled_from(["taker_at_cross", "maker"]),
    cancel_on_pause=st.booleans(), client_order_id=st.sampled_from(["", "", "", "a", "b"]),
    action=st.sampled_from(["buy", "sell"]),
)
order_ids = st.integers(1, 40)
commands = st.one_of(
    create, create, create,
    st.builds(c.CancelOrder, st.sampled_from(ACCOUNTS), order_ids),
    st.builds(c.AmendOrder, st.sampled_from(ACCOUNTS), order_ids, price_centicents=st.one_of(st.just(0), prices),
              total_count_centicontracts=st.one_of(st.just(0), counts)),
    st.builds(c.DecreaseOrder, st.sampled_from(ACCOUNTS), order_ids, reduce_by_centicontracts=counts),
    st.builds(c.CancelAllOrders, st.sampled_from(ACCOUNTS), st.sampled_from(("", *TICKERS))),
    st.builds(c.PauseMarket, st.sampled_from(TICKERS)),
    st.builds(c.ResumeMarket, st.sampled_from(TICKERS)),
    st.builds(c.SetExchangeStatus, st.booleans(), st.booleans()),
    st.builds(c.Tick),
    st.builds(c.SetNetting, st.sampled_from(ACCOUNTS), st.just(0), st.booleans()),
)


def _exchange() -> Harness:
    exchange = Harness()
    exchange.market("KX-CENT", fee_type=FEE_QUADRATIC_WITH_MAKER_FEES)
    exchange.market("KX-FRAC", fractional=True, fee_multiplier_bps=5000)
    exchange.market("KX-TAPER", structure="tapered_deci_cent")
    for _ in ACCOUNTS:
        exchange.account("25")
    exchange.ok(c.SetNetting(ACCOUNTS[-1], 0, False))  # one account holds YES and NO apart from the start
    return exchange


def _settle_everything(exchange: Harness, results: list[Any]) -> None:
    exchange.apply(c.SetExchangeStatus(True, True))
    for ticker, result in zip(TICKERS, results, strict=True):
        if exchange.status(ticker) == "inactive":
            exchange.ok(c.ResumeMarket(ticker))
        exchange.ok(c.SetMarketTimes(ticker, close_time_ms=exchange.now_ms))
        exchange.ok(c.DetermineMarket(ticker, result[0], result[1]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(commands, min_size=1, max_size=60),
    st.lists(st.one_of(st.sampled_from([("yes", -1), ("no", -1), ("void", -1)]),
                       st.tuples(st.just("scalar"), st.integers(0, 10_000))), min_size=3, max_size=3),
)
def test_invariants_hold_and_settlement_conserves_everything(sequence: list[c.Command], results: list[Any]) -> None:
    exchange = _exchange()
    for step, command in enumerate(sequence):
        exchange.apply(command, START_MS + step * 1000)  # the harness checks every invariant
    _settle_everything(exchange, results)
    ledger = exchange.engine.ledger
    assert not exchange.engine.trading.orders
    for account in ledger.accounts.values():
        assert account.locked_microdollars == 0
        assert account.cash_microdollars >= 0
        assert account.cash_microdollars % BALANCE_INCREMENT_MICRODOLLARS == 0
        assert not account.markets  # every position settled
    total = sum(a.cash_microdollars + a.pending_withdrawal_microdollars for a in ledger.accounts.values())
    assert total + ledger.revenue_microdollars == ledger.deposited_microdollars - ledger.withdrawn_microdollars
    assert all(m.open_interest_centicontracts == 0 for m in exchange.engine.markets.markets.values())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 9999), st.integers(1, 500)), min_size=1, max_size=30), st.integers(0, 200))
def test_many_fills_cost_what_one_fill_would_to_within_a_cent(fills: list[tuple[int, int]], fee_per_fill: int) -> None:
    accumulator = 0
    paid = 0
    exact = 0
    for price_centicents, count in fills:
        cost = price_centicents * count
        change = apply_balance_rounding(-cost, fee_per_fill, accumulator)
        accumulator = change.accumulator_microdollars
        paid -= change.cash_delta_microdollars
        exact += cost + fee_per_fill
        assert 0 <= accumulator < BALANCE_INCREMENT_MICRODOLLARS
    assert paid % BALANCE_INCREMENT_MICRODOLLARS == 0
    assert exact <= paid < exact + BALANCE_INCREMENT_MICRODOLLARS
    assert paid - exact == accumulator


@given(st.integers(0, 10**12))
def test_price_and_count_strings_round_trip(value: int) -> None:
    assert parse_price_dollars(format_price_dollars(value)) == value
    assert parse_count_fp(format_count_fp(value)) == value
