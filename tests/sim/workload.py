"""A seeded random workload for the simulation: every command the engine takes, weighted toward order
entry, with a share of invalid ones so that refusals are exercised too.

`Workload(seed, model).next()` gives the next `(command, now_ms)`. It reads the reference model (never
the engine) to pick ids that exist, accounts that hold positions and markets in each state, so the
same seed always gives the same stream. A few markets trade at once; when one is settled a market of
the next kind below takes its place, so every kind comes round and trading goes on for the whole run.
Accounts are few (self-trades and closing orders are frequent) and are topped up when they run low,
except the poor ones, kept near zero so that collateral refusals are frequent too.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from reference import GRIDS, ReferenceModel

from predictex.core import commands as c

START_MS = 1_700_000_000_000
ACCOUNTS = 6
OPEN_ORDERS_SOFT_MAX = 60
POOR_ACCOUNTS = (5, 6)  # kept near zero cash, so that collateral refusals and closing orders are frequent
TIGHT_SEED_EVERY = 3  # every third seed keeps every account near zero cash
LOW_CASH_MICRODOLLARS = 40_000_000
TOP_UP_MICRODOLLARS = 150_000_000
LIVE_MARKETS = 5  # markets traded at once; each settled one is replaced by the next kind in turn


@dataclass(frozen=True)
class MarketKind:
    name: str
    fee_type: str = "quadratic"
    fee_multiplier_bps: int = 10_000
    structure: str = "linear_cent"
    fractional: bool = False
    market_type: str = "binary"
    fee_waiver_ms: int = 0  # how long after creation fees are waived


KINDS = (
    MarketKind("CENT"),
    MarketKind("FRAC", fractional=True),
    MarketKind("TAPER", structure="tapered_deci_cent"),
    MarketKind("MAKER", fee_type="quadratic_with_maker_fees"),
    MarketKind("HALF", fee_multiplier_bps=5_000),
    MarketKind("WAIVE", fee_waiver_ms=40_000),
    MarketKind("SCALAR", fee_type="flat", market_type="scalar", structure="center_half_edge_deci_cent"),
)


class Workload:
    def __init__(self, seed: int, model: ReferenceModel) -> None:
        self.rng = random.Random(seed)
        all_accounts = tuple(range(1, ACCOUNTS + 1))
        self.poor_accounts = all_accounts if seed % TIGHT_SEED_EVERY == 0 else POOR_ACCOUNTS
        self.model = model
        self.now_ms = START_MS
        self.live: list[str] = []  # tickers of the markets traded now, one per slot
        self.next_kind = 0
        self.kind_of: dict[str, MarketKind] = {}
        self.fair_centicents: dict[str, int] = {}
        self.generation = 0
        self.client_order_ids = 0
        self.pending: list[c.Command] = self._setup()

    # --- setup and markets ------------------------------------------------------------------------

    def _setup(self) -> list[c.Command]:
        commands: list[c.Command] = []
        for kind in KINDS:
            commands.append(c.CreateSeries(f"S{kind.name}", kind.name.title(), fee_type=kind.fee_type, fee_multiplier_bps=kind.fee_multiplier_bps))
            commands.append(c.CreateEvent(f"E{kind.name}", f"S{kind.name}", kind.name.title()))
        for account_id in range(1, ACCOUNTS + 1):
            commands.append(c.OpenAccount())
            commands.append(c.Deposit(account_id, TOP_UP_MICRODOLLARS // (30 if account_id in self.poor_accounts else 1), "start"))
        for slot in range(LIVE_MARKETS):
            commands.append(self._new_market(slot, opens_later=False))
        return commands

    def _new_market(self, slot: int, opens_later: bool) -> c.CreateMarket:
        """A market of the next kind in turn, in the given slot."""
        kind = KINDS[self.next_kind % len(KINDS)]
        self.next_kind += 1
        self.generation += 1
        ticker = f"KX{kind.name}-{self.generation}"
        if slot < len(self.live):
            self.live[slot] = ticker
        else:
            self.live.append(ticker)
        self.kind_of[ticker] = kind
        self.fair_centicents[ticker] = self.rng.randint(1_000, 9_000)
        rng = self.rng
        open_ms = self.now_ms + rng.randint(1_000, 8_000) if opens_later else self.now_ms - 60_000
        return c.CreateMarket(
            ticker, f"E{kind.name}", f"{kind.name} market", open_ms, self.now_ms + rng.randint(200_000, 900_000),
            market_type=kind.market_type, settlement_timer_s=rng.choice((0, 0, 1, 5, 20)),
            price_level_structure=kind.structure, fractional_trading=kind.fractional,
            fee_waiver_expiration_ms=self.now_ms + kind.fee_waiver_ms if kind.fee_waiver_ms else 0,
        )

    def _tickers(self, *statuses: str) -> list[str]:
        return [t for t in self.live if self.model.markets[t].status in statuses]

    # --- the stream -------------------------------------------------------------------------------

    def next(self) -> tuple[c.Command, int]:
        if self.pending:
            return self.pending.pop(0), self.now_ms
        self._step_time()
        command = self._urgent() or self._pick()()
        now_ms = self.now_ms
        if self.rng.random() < 0.003:
            now_ms = self.now_ms - self.rng.randint(1, 5_000)  # time never runs backwards
        return command, now_ms

    def _step_time(self) -> None:
        """Mostly a few milliseconds, often none (the same millisecond), now and then seconds."""
        roll = self.rng.random()
        if roll < 0.005:
            self.now_ms += self.rng.randint(2_000, 20_000)
        elif roll >= 0.3:
            self.now_ms += self.rng.randint(1, 120)

    def _urgent(self) -> c.Command | None:
        """Replace settled markets, restore a paused exchange, top up accounts that ran low."""
        model = self.model
        for slot, ticker in enumerate(self.live):
            if model.markets[ticker].status == "finalized":
                return self._new_market(slot, opens_later=self.rng.random() < 0.3)
        if (not model.exchange_active or not model.trading_active) and self.rng.random() < 0.12:
            return c.SetExchangeStatus(True, True)
        account_id = self.rng.randint(1, ACCOUNTS)  # a primary account: money enters there
        if account_id not in model.accounts or self.rng.random() < 0.5:
            return None
        cash = model.cash_microdollars(account_id)
        if account_id in self.poor_accounts:
            if cash < 500_000 and self.rng.random() < 0.05:
                return c.Deposit(account_id, self.rng.randint(100, 1_500) * 10_000)
        elif cash < LOW_CASH_MICRODOLLARS:
            return c.Deposit(account_id, TOP_UP_MICRODOLLARS + self.rng.randint(0, 100) * 10_000)
        return None

    def _pick(self) -> Callable[[], c.Command]:
        crowded = len(self.model.orders) > OPEN_ORDERS_SOFT_MAX
        choices: list[tuple[Callable[[], c.Command], int]] = [
            (self._create, 300 if not crowded else 120),
            (self._batch_create, 25),
            (self._amend, 70),
            (self._decrease, 30),
            (self._cancel, 50 if not crowded else 250),
            (self._batch_cancel, 15 if not crowded else 60),
            (self._cancel_all, 6 if not crowded else 20),
            (self._order_group, 18),
            (self._market_lifecycle, 30),
            (self._pause_or_resume, 6),
            (self._exchange_status, 2),
            (self._tick, 25),
            (self._money, 12),
            (self._subaccounts, 10),
            (self._invalid_misc, 12),
            (self._communications, 40),
        ]
        total = sum(weight for _, weight in choices)
        roll = self.rng.randrange(total)
        for make, weight in choices:
            if roll < weight:
                return make
            roll -= weight
        raise AssertionError("unreachable")

    # --- orders -----------------------------------------------------------------------------------

    def _account(self) -> int:
        """A member's primary account, or now and then one of the subaccounts opened so far."""
        owned = self.model.subaccount_owner
        if owned and self.rng.random() < 0.15:
            return self.rng.choice(sorted(owned))
        return self.rng.randint(1, ACCOUNTS)

    def _subaccounts(self) -> c.Command:
        """Open subaccounts, switch their netting and move cash between a member's accounts: valid
        transfers mostly, with retries of a used client_transfer_id (the same terms or others) and every
        kind of bad one."""
        rng = self.rng
        model = self.model
        if not model.subaccounts or rng.random() < 0.15:
            return c.CreateSubaccount(self._account() if rng.random() < 0.9 else rng.choice((0, 999)))
        primary = rng.choice(sorted(model.subaccounts)) if rng.random() < 0.95 else self._account()
        numbers = [0, *model.subaccounts.get(primary, {})]
        if rng.random() < 0.25:  # netting switched (refused while orders rest, or on while both sides are held)
            number = rng.choice(numbers) if rng.random() < 0.97 else len(numbers)
            account = model.accounts.get(model.subaccounts.get(primary, {}).get(number, primary) if number else primary)
            enabled = (not account.netting) if account is not None and rng.random() < 0.85 else rng.random() < 0.5
            return c.SetNetting(primary, number, enabled)
        source = rng.choice(numbers)
        target = rng.choice([n for n in numbers if n != source] or numbers)
        if rng.random() < 0.05:
            target = rng.choice((source, 64, len(numbers)))
        account_id = model.subaccounts.get(primary, {}).get(source, primary) if source else primary
        cash = model.cash_microdollars(account_id) if account_id in model.accounts else 0
        amount = rng.choice((rng.randint(1, 5_000) * 10_000, cash, cash // 2 - cash // 2 % 10_000, cash + 10_000, 0, 5_001))
        client_id = f"t{rng.randint(1, 400)}" if rng.random() < 0.97 else rng.choice(("", "x" * 65))
        return c.TransferBetweenSubaccounts(primary, source, target, amount, client_id)

    def _trading_ticker(self) -> str:
        active = self._tickers("active")
        if active and self.rng.random() < 0.95:
            return self.rng.choice(active)
        return self.rng.choice(self.live)

    def _price(self, ticker: str, is_bid: bool | None = None, aggressive: bool = False) -> int:
        """A price on the market's grid near its drifting fair value: a passive bid below it and a
        passive ask above it, an aggressive one through it; sometimes at the edges."""
        rng = self.rng
        kind = self.kind_of[ticker]
        fair = self.fair_centicents[ticker]
        fair = min(9_800, max(200, fair + rng.randint(-60, 60)))
        self.fair_centicents[ticker] = fair
        if rng.random() < 0.05:
            price = rng.choice((rng.randint(1, 400), rng.randint(9_600, 9_999)))
        elif is_bid is None:
            price = fair + rng.randint(-400, 400)
        else:
            offset = rng.randint(-100, 400) if aggressive else rng.randint(-50, 450)
            price = fair + offset if is_bid == aggressive else fair - offset
        return _snap(kind.structure, min(9_999, max(1, price)))

    def _count(self, ticker: str) -> int:
        roll = self.rng.random()
        if self.kind_of[ticker].fractional and roll < 0.6:
            return self.rng.randint(1, 1_200)
        if roll > 0.97:
            return self.rng.randint(11, 60) * 100
        return self.rng.randint(1, 10) * 100

    def _order(self, account_id: int) -> c.CreateOrder:
        rng = self.rng
        model = self.model
        ticker = self._trading_ticker()
        is_bid = rng.random() < 0.5
        held = model.position(account_id, ticker).position_centicontracts
        closing = (held < 0) if is_bid else (held > 0)
        if account_id in model.accounts and not model.accounts[account_id].netting:  # YES and NO held apart
            sides = model.position(account_id, ticker)
            held = -sides.no_centicontracts if is_bid else sides.yes_centicontracts
            closing = held != 0 and rng.random() < 0.6  # selling what is held, or buying the other side beside it
        time_in_force = rng.choices(("good_till_canceled", "immediate_or_cancel", "fill_or_kill"), (70, 18, 12))[0]
        aggressive = rng.random() < (0.3 if time_in_force == "good_till_canceled" else 0.8)
        order = c.CreateOrder(
            account_id, ticker, is_bid, self._price(ticker, is_bid, aggressive), self._count(ticker), time_in_force=time_in_force,
            post_only=rng.random() < 0.1, self_trade_prevention="maker" if rng.random() < 0.35 else "taker_at_cross",
            cancel_on_pause=rng.random() < 0.3, action="sell" if closing and rng.random() < 0.7 else "buy",
        )
        if time_in_force == "good_till_canceled" and rng.random() < 0.2:
            order.expiration_ms = self.now_ms + rng.randint(1, 30_000)
        if rng.random() < 0.03 or (closing and rng.random() < 0.15):
            order.reduce_only = True
        if closing and rng.random() < 0.1:
            order.sell_position_floor = True
            order.count_centicontracts = min(order.count_centicontracts, abs(held)) if rng.random() < 0.7 else order.count_centicontracts
        if rng.random() < 0.05:
            order.order_type = "market"
        if rng.random() < 0.05:
            order.buy_max_cost_microdollars = order.count_centicontracts * rng.randint(1, 10_000)
        if rng.random() < 0.25:
            order.client_order_id = self._client_order_id()
        groups = [g for g, group in model.groups.items() if group.account_id == account_id]
        if groups and rng.random() < 0.25:
            order.order_group_id = rng.choice(groups)
            if model.groups[order.order_group_id].triggered and rng.random() < 0.7:
                order.order_group_id = 0
        if rng.random() < 0.06:
            for _ in range(rng.choice((1, 1, 1, 2))):
                _spoil(rng, order, self.now_ms, model)
        return order

    def _client_order_id(self) -> str:
        """Mostly new ids; now and then one used before (refused while it is remembered)."""
        self.client_order_ids += 1
        if self.rng.random() < 0.1:
            return f"c{self.rng.randint(max(1, self.client_order_ids - 50), self.client_order_ids)}"
        return f"c{self.client_order_ids}"

    def _create(self) -> c.Command:
        return self._order(self._account())

    def _batch_create(self) -> c.Command:
        account_id = self._account()
        size = self.rng.choice((1, 2, 3, 5, 8, 20)) if self.rng.random() < 0.97 else self.rng.choice((0, 21))
        orders = [self._order(account_id) for _ in range(size)]
        if orders and self.rng.random() < 0.1:
            orders[-1].account_id = account_id % ACCOUNTS + 1  # not the batch's account
        return c.BatchCreateOrders(account_id, orders)

    def _some_order(self) -> tuple[int, int]:
        """(account, order id): usually an open order and its owner; sometimes someone else's or a
        closed or unknown one."""
        rng = self.rng
        open_ids = sorted(self.model.orders)
        if open_ids and rng.random() < 0.9:
            order = self.model.orders[rng.choice(open_ids)]
            account_id = order.account_id if rng.random() < 0.95 else self._account()
            return account_id, order.order_id
        return self._account(), rng.randint(1, self.model.next_order_id + 2)

    def _amend(self) -> c.Command:
        rng = self.rng
        account_id, order_id = self._some_order()
        order = self.model.orders.get(order_id)
        amend = c.AmendOrder(account_id, order_id)
        if order is None:
            amend.price_centicents = 5_000
            return amend
        total = order.filled_centicontracts + order.remaining_centicontracts
        roll = rng.random()
        if roll < 0.3:
            amend.price_centicents = self._price(order.ticker, order.is_bid)
            if rng.random() < 0.15:
                amend.updated_client_order_id = self._client_order_id()
        elif roll < 0.5:
            amend.total_count_centicontracts = max(order.filled_centicontracts, total - rng.randint(1, 3) * self._unit(order.ticker))
        elif roll < 0.65:
            amend.total_count_centicontracts = total + rng.randint(1, 3) * self._unit(order.ticker)
        elif roll < 0.75:
            amend.updated_client_order_id = self._client_order_id()
        elif roll < 0.85:
            amend.expiration_ms = rng.choice((0, self.now_ms + rng.randint(1, 20_000)))
        elif roll < 0.93:
            amend.price_centicents = self._price(order.ticker)
            amend.total_count_centicontracts = total + rng.randint(-2, 3) * self._unit(order.ticker)
        elif roll < 0.96:
            amend.total_count_centicontracts = max(1, order.filled_centicontracts - rng.choice((1, 100)))
        elif roll < 0.98:
            amend.expiration_ms = self.now_ms - rng.randint(0, 1_000)
        else:
            amend.updated_client_order_id = "y" * rng.choice((64, 65))
        if rng.random() < 0.2:
            amend.ticker = order.ticker if rng.random() < 0.7 else "KXOTHER"
        if rng.random() < 0.2:
            amend.side = rng.choice(("bid", "ask", "bid" if order.is_bid else "ask"))
        if rng.random() < 0.03:
            amend.price_centicents = rng.choice((-5, 10_000, 4_999, 12_345))
        return amend

    def _unit(self, ticker: str) -> int:
        return 1 if self.kind_of[ticker].fractional and self.rng.random() < 0.5 else 100

    def _decrease(self) -> c.Command:
        rng = self.rng
        account_id, order_id = self._some_order()
        order = self.model.orders.get(order_id)
        remaining = order.remaining_centicontracts if order else 500
        roll = rng.random()
        if roll < 0.45:
            return c.DecreaseOrder(account_id, order_id, reduce_by_centicontracts=rng.randint(1, 4) * 100)
        if roll < 0.9:
            return c.DecreaseOrder(account_id, order_id, reduce_to_centicontracts=max(0, remaining - rng.randint(1, 4) * 100))
        return rng.choice((
            c.DecreaseOrder(account_id, order_id),
            c.DecreaseOrder(account_id, order_id, 100, 100),
            c.DecreaseOrder(account_id, order_id, reduce_by_centicontracts=0),
            c.DecreaseOrder(account_id, order_id, reduce_by_centicontracts=rng.randint(1, 99)),
            c.DecreaseOrder(account_id, order_id, reduce_to_centicontracts=remaining),
        ))

    def _cancel(self) -> c.Command:
        account_id, order_id = self._some_order()
        return c.CancelOrder(account_id, order_id)

    def _batch_cancel(self) -> c.Command:
        rng = self.rng
        account_id = self._account()
        mine = sorted(o.order_id for o in self.model.orders.values() if o.account_id == account_id)
        ids = rng.sample(mine, min(len(mine), rng.randint(1, 6)))
        if rng.random() < 0.4 or not ids:
            ids.append(rng.randint(1, self.model.next_order_id + 2))
        if rng.random() < 0.02:
            ids = [] if rng.random() < 0.5 else ids * 21
        return c.BatchCancelOrders(account_id, ids)

    def _cancel_all(self) -> c.Command:
        ticker = self.rng.choice(("", "", self._trading_ticker(), "KXNOPE"))
        return c.CancelAllOrders(self._account(), ticker)

    def _order_group(self) -> c.Command:
        rng = self.rng
        account_id = self._account()
        groups = sorted(g for g, group in self.model.groups.items() if group.account_id == account_id)
        if not groups or rng.random() < 0.25:
            return c.CreateOrderGroup(account_id, rng.randint(1, 25) * 100 if rng.random() < 0.95 else 0)
        group_id = rng.choice(groups) if rng.random() < 0.95 else rng.randint(1, self.model.next_group_id + 1)
        change = rng.choices(("reset", "trigger", "delete", "limit", "explode"), (40, 15, 10, 30, 5))[0]
        limit = rng.choice((100, rng.randint(1, 25) * 100)) if rng.random() < 0.95 else 0
        return c.ChangeOrderGroup(account_id, group_id, change, limit if change == "limit" else 0)

    # --- markets, exchange, time, money -----------------------------------------------------------

    def _market_lifecycle(self) -> c.Command:
        rng = self.rng
        waiting = [t for t in self.live if self.model.markets[t].status not in ("active", "inactive")]
        ticker = rng.choice(waiting) if waiting and rng.random() < 0.8 else rng.choice(self.live)
        market = self.model.markets[ticker]
        status = market.status
        if status in ("active", "inactive"):
            roll = rng.random()
            if roll < 0.03:
                return c.SetMarketTimes(ticker, close_time_ms=self.now_ms - rng.randint(0, 1_000))
            if roll < 0.2:
                return c.SetMarketTimes(ticker, close_time_ms=self.now_ms + rng.randint(30_000, 900_000))
            if roll < 0.25:
                return c.DetermineMarket(ticker, "yes")  # refused: not closed
            if roll < 0.27:
                return c.SetMarketTimes(ticker, open_time_ms=self.now_ms + 1_000)  # refused: already open
            return c.Tick()
        if status == "initialized":
            return rng.choice((
                c.SetMarketTimes(ticker, open_time_ms=self.now_ms + rng.randint(1, 3_000)),
                c.SetMarketTimes(ticker, open_time_ms=self.now_ms - rng.randint(0, 1_000)),
                c.SetMarketTimes(ticker, close_time_ms=market.open_time_ms + rng.randint(-1_000, 600_000)),
                c.SetMarketTimes(ticker, open_time_ms=self.now_ms + 500, close_time_ms=self.now_ms + rng.randint(0, 900_000)),
            ))
        if status == "closed":
            if rng.random() < 0.15:
                return c.SetMarketTimes(ticker, close_time_ms=self.now_ms + rng.randint(5_000, 60_000))
            return self._determine(ticker, c.DetermineMarket)
        if status in ("determined", "amended"):
            roll = rng.random()
            if roll < 0.3:
                return c.DisputeMarket(ticker, "disputed")
            if roll < 0.7:
                return c.FinalizeMarket(ticker)
            return c.AmendMarketResult(ticker, "no")  # refused: not disputed
        return rng.choice((self._determine(ticker, c.AmendMarketResult), c.FinalizeMarket(ticker)))

    def _determine(self, ticker: str, make: Callable[..., c.Command]) -> c.Command:
        rng = self.rng
        roll = rng.random()
        if self.kind_of[ticker].market_type == "scalar" or roll < 0.15:
            return make(ticker, "scalar", rng.randint(0, 10_000), "source")
        if roll < 0.2:
            return make(ticker, rng.choice(("maybe", "yes", "scalar")), rng.choice((-1, 0, 12_000)))
        return make(ticker, rng.choice(("yes", "no", "yes", "no", "void")), -1, "source")

    def _pause_or_resume(self) -> c.Command:
        ticker = self.rng.choice(self.live)
        if self.model.markets[ticker].status == "inactive" or self.rng.random() < 0.2:
            return c.ResumeMarket(ticker)
        return c.PauseMarket(ticker)

    def _exchange_status(self) -> c.Command:
        return c.SetExchangeStatus(self.rng.random() < 0.6, self.rng.random() < 0.3)

    # --- communications: RFQs, quotes, block trades ------------------------------------------------

    def _communications(self) -> c.Command:
        """An RFQ's whole life (create, quote, accept, confirm, delete) and block trades, mostly by the
        members who may, now and then by one who may not or with terms out of bounds."""
        rng = self.rng
        model = self.model
        roll = rng.random()
        now = self.now_ms
        quotes = sorted(model.quotes)
        if roll < 0.16 or not model.rfqs:
            ticker = self._trading_ticker()
            count = self._count(ticker) if rng.random() < 0.97 else rng.choice((0, 150))
            cost, excludes_fees = 0, False
            if rng.random() < 0.35:  # sized by a target cost: mostly valid, now and then with a count too or out of bounds
                cost = rng.randint(1, 2_000) * 10_000 if rng.random() < 0.97 else rng.choice((-1, 10**17))
                excludes_fees = rng.random() < 0.4
                count = 0 if rng.random() < 0.97 else count
            elif rng.random() < 0.01:
                excludes_fees = True  # a target-cost flag on a count: refused
            expiration = now + rng.randint(5_000, 300_000) if rng.random() < 0.97 else rng.choice((now, now + 25 * 3600 * 1000))
            return c.CreateRfq(self._account(), ticker, count, cost, excludes_fees, rng.random() < 0.3, rng.random() < 0.05,
                               rng.random() < 0.3, expiration)
        rfq = model.rfqs[rng.choice(sorted(model.rfqs))]
        if roll < 0.45:
            maker = self._account() if rng.random() < 0.97 else rfq.account_id
            yes = self._price(rfq.ticker, True) if rng.random() < 0.85 else 0
            no = self._price(rfq.ticker, False) if rng.random() < 0.85 else 0
            return c.CreateQuote(maker, rfq.rfq_id if rng.random() < 0.97 else 999_999, yes, no)
        accepted = [q for q in quotes if model.quotes[q].status == "accepted"]
        if accepted and rng.random() < 0.5:
            quote = model.quotes[rng.choice(accepted)]  # the maker confirms (or, now and then, the requester tries)
            return c.ConfirmQuote(quote.account_id if rng.random() < 0.95 else quote.rfq_account_id, quote.quote_id)
        if roll < 0.62 and quotes:
            open_quotes = [q for q in quotes if model.quotes[q].status == "open"] or quotes
            quote = model.quotes[rng.choice(open_quotes)]
            who = quote.rfq_account_id if rng.random() < 0.9 else rng.choice((quote.account_id, self._account()))
            deadline = now + rng.randint(500, 30_000) if rng.random() < 0.97 else now + 31_000
            return c.AcceptQuote(who, quote.quote_id, rng.choice(("yes", "no")) if rng.random() < 0.99 else "maybe", deadline)
        if roll < 0.66 and quotes:
            quote = model.quotes[rng.choice(quotes)]  # often one not accepted, or lapsed
            return c.ConfirmQuote(quote.account_id, quote.quote_id)
        if roll < 0.83 and quotes:
            quote = model.quotes[rng.choice(quotes)]
            return c.DeleteQuote(quote.account_id if rng.random() < 0.9 else self._account(), quote.quote_id)
        if roll < 0.87:
            return c.DeleteRfq(rfq.account_id if rng.random() < 0.9 else self._account(), rfq.rfq_id)
        if roll < 0.92 or not model.proposals:
            ticker = self._trading_ticker()
            buyer, seller = self._account(), self._account()
            proposer = buyer if rng.random() < 0.5 else seller
            expiration = now + rng.randint(20_000, 600_000) if rng.random() < 0.97 else now - 1
            return c.ProposeBlockTrade(proposer, buyer, seller, ticker, self._price(ticker), self._count(ticker),
                                       rng.choice(("yes", "no")) if rng.random() < 0.98 else "both", expiration)
        proposal = model.proposals[rng.choice(sorted(model.proposals))]
        other = proposal.seller if proposal.buyer_accepted else proposal.buyer
        who = other if rng.random() < 0.85 else rng.choice((proposal.proposer, self._account()))
        if who == other and rng.random() < 0.3:  # the other side accepts as another of its member's accounts
            primary = model.subaccount_owner.get(other, (other, 0))[0]
            who = rng.choice([primary, *model.subaccounts.get(primary, {}).values()])
        if rng.random() < 0.8:
            return c.AcceptBlockTrade(who, proposal.proposal_id)
        return c.RejectBlockTrade(who, proposal.proposal_id)

    def _tick(self) -> c.Command:
        rng = self.rng
        model = self.model
        live = [model.markets[ticker] for ticker in self.live]
        due = [o.expiration_ms for o in model.orders.values() if o.expiration_ms]
        due += [m.close_time_ms for m in live if m.status in ("active", "inactive")]
        due += [m.open_time_ms for m in live if m.status == "initialized"]
        due += [m.settle_at_ms for m in live if m.status in ("determined", "amended")]
        soon = [due_ms for due_ms in due if due_ms - self.now_ms < 30_000]
        if soon and rng.random() < 0.7:
            target = min(soon) + rng.choice((-1, 0, 0, 1))
            self.now_ms = max(self.now_ms, target)
        else:
            self.now_ms += rng.choice((1, 500, 2_000, 15_000))
        return c.Tick()

    def _money(self) -> c.Command:
        rng = self.rng
        account_id = self._account()
        pending = sorted(w for w, entry in self.model.withdrawals.items() if entry[2] == "pending")
        roll = rng.random()
        if roll < 0.35:
            cash = self.model.cash_microdollars(account_id) if account_id in self.model.accounts else 0
            amount = rng.choice((rng.randint(1, 30) * 1_000_000, rng.randint(1, 999) * 10_000, 0, -5, cash, cash + 10_000))
            return c.RequestWithdrawal(account_id, amount)
        if roll < 0.55 and pending:
            return c.CompleteWithdrawal(rng.choice(pending))
        if roll < 0.75 and pending:
            return c.CancelWithdrawal(rng.choice(pending))
        if roll < 0.8:
            return rng.choice((c.CompleteWithdrawal(999), c.CancelWithdrawal(0)))
        return c.Deposit(account_id, rng.randint(1, 5_000) * 10_000 if rng.random() < 0.95 else rng.choice((0, -100)))

    def _invalid_misc(self) -> c.Command:
        rng = self.rng
        ticker = rng.choice(self.live)
        return rng.choice((
            c.CreateOrder(99, ticker, True, 5_000, 100),
            c.CancelOrder(99, 1),
            c.PauseMarket("KXNOPE"),
            c.DetermineMarket("KXNOPE", "yes"),
            c.CreateMarket(ticker, "ECENT", "duplicate", self.now_ms, self.now_ms + 60_000),
            c.CreateMarket("KXNEW", "ENOPE", "no event", self.now_ms, self.now_ms + 60_000),
            c.CreateEvent("ECENT", "SCENT", "duplicate"),
            c.CreateSeries("SCENT", "duplicate"),
            c.CreateOrderGroup(99, 500),
            c.ChangeOrderGroup(self._account(), 9_999, "reset"),
            c.Deposit(99, 1_000_000),
            c.RequestWithdrawal(99, 20_000_000),
            c.FinalizeMarket(ticker),
            c.DisputeMarket(ticker),
            c.ResumeMarket(ticker),
            c.CreateSeries("SBAD", "bad fee type", fee_type="free"),
            c.CreateEvent("EBAD", "SNOPE", "no series"),
            c.CreateMarket("KXBAD", "ECENT", "closes in the past", self.now_ms - 10_000, self.now_ms - 1),
            c.CreateMarket("KXBAD", "ECENT", "bad grid", self.now_ms, self.now_ms + 60_000, price_level_structure="odd"),
            c.SetMarketTimes(self._settled_ticker(), close_time_ms=self.now_ms + 60_000),
            c.SetMarketTimes(ticker, open_time_ms=self.now_ms + 10**9),
            c.SetMarketTimes(ticker, close_time_ms=self.model.markets[ticker].open_time_ms),
        ))

    def _settled_ticker(self) -> str:
        settled = [t for t, m in self.model.markets.items() if m.status in ("finalized", "determined", "disputed")]
        return self.rng.choice(settled) if settled else "KXNOPE"


def _snap(structure: str, price_centicents: int) -> int:
    """The nearest grid price at or below (the grid always has whole cents)."""
    for start, end, step in GRIDS[structure]:
        if start <= price_centicents <= end:
            snapped = start + (price_centicents - start) // step * step
            return snapped if snapped > 0 else step
    raise AssertionError(f"price {price_centicents} is off every band")


def _spoil(rng: random.Random, order: c.CreateOrder, now_ms: int, model: ReferenceModel) -> None:
    """Make an order invalid in one way (or, for some, valid but unusual)."""
    kind = rng.randrange(12)
    if kind == 0:
        order.price_centicents = rng.choice((0, 10_000, -100, order.price_centicents + 1, 10_001))
    elif kind == 1:
        order.count_centicontracts = rng.choice((0, -100, 150, 100_000_000 * 100 + 100))
    elif kind == 2:
        order.account_id = rng.choice((0, 99))
    elif kind == 3:
        order.ticker = rng.choice(("KXNOPE", ""))
    elif kind == 4:
        order.time_in_force = rng.choice(("day", "good_till_date", ""))
    elif kind == 5:
        order.self_trade_prevention = "none"
        order.order_type = rng.choice(("limit", "stop"))
    elif kind == 6:
        order.action = rng.choice(("hold", ""))
    elif kind == 7:
        order.expiration_ms = rng.choice((now_ms, now_ms - 1, now_ms + 1_000, -1))
        order.time_in_force = rng.choice(("good_till_canceled", "immediate_or_cancel", "fill_or_kill"))
        order.order_type = rng.choice(("limit", "market"))
    elif kind == 8:
        order.buy_max_cost_microdollars = rng.choice((-1, 1))
    elif kind == 9:
        order.client_order_id = "x" * rng.choice((64, 65))
    elif kind == 10:
        others = [g for g, group in model.groups.items() if group.account_id != order.account_id]
        order.order_group_id = rng.choice(others) if others else 12_345
    else:
        order.post_only = True
        order.time_in_force = rng.choice(("immediate_or_cancel", "fill_or_kill", "good_till_canceled"))
