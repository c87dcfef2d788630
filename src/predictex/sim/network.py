"""The venue that is a real exchange: the simulator's operator work and every trader's orders go over
REST, and the books and fills come over the WebSocket, all through the project's SDK.

- The operator (the exchange's operator key, from its `operator.json`) makes the series, events and
  markets, determines closed markets and tops traders up, through `/predictex/v1/admin`.
- Each trader is an ordinary member created by the operator and marked `simulated`, with an Ed25519
  API key of its own (cheap to sign with). Their credentials are kept in the state directory, so a
  restarted simulator trades on as the same members.
- The first `makers.over_fix` makers send their orders over FIX order entry (the SDK's
  `AsyncFixSession`, signed with the same key) when the exchange's FIX address is given: their own
  orders are tracked from the ExecutionReports (LeavesQty is absolute, so a report is never counted
  twice), their positions from their WebSocket's fills, as every trader's. A session that breaks is
  made again at the trader's next step.
- One WebSocket (the operator's) follows every simulated market's book; each trader's own WebSocket
  brings its fills. The SDK's stream reconnects and resubscribes by itself and resyncs a book after
  a gap or a reconnect; the venue also reloads every trader's resting orders and positions over REST
  every `RESYNC_S` and after a failed request, so a server restart costs a few steps, not the run.

With a member's key instead of the operator's (`operator_powers` false: `GET /predictex/v1/members/me`
does not say admin, or the server is not a predictex), nothing is created and nothing is determined:
every trader trades as that one member (its orders told apart by their client order ids, which
carry the trader's name), on the open markets of the config's series that `open_markets` finds.

A refused order is counted by its code and otherwise ignored (the next step decides again); a
request that got no answer marks the trader for a resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from predictex.client import (
    ApiError,
    AsyncClient,
    AsyncStream,
    Count,
    LiveBook,
    Money,
    Orderbook,
    PredictexError,
    Price,
    Signer,
    load_private_key,
)
from predictex.client._core import RetryPolicy
from predictex.client.fix import AsyncFixSession, FixMessage
from predictex.sim.agents import Action, Amend, Cancel, Place, Quote, Resting
from predictex.sim.config import SeriesConfig, SimConfig
from predictex.sim.http import transport_for
from predictex.sim.schedule import PlannedEvent
from predictex.sim.simulation import VenueUnavailable

log = logging.getLogger("predictex.sim")

ADMIN = "/predictex/v1/admin"
ME = "/predictex/v1/members/me"
RESYNC_S = 30.0
TRADERS_FILE = "traders.json"
RETRY = RetryPolicy(attempts_max=2, backoff_s=0.1, backoff_max_s=0.5, retry_after_max_s=2.0)
TRADING_STATUSES = ("active", "open")
NOT_OPEN = ("not_found", "order_not_found", "order_not_open")  # refusals that mean the order is gone
FIX_DONE_STATUSES = ("2", "4", "8", "C")  # OrdStatus (39): filled, canceled, rejected, expired


@dataclass
class OwnOrder:
    ticker: str
    is_bid: bool
    price_cents: int
    remaining: int
    filled: int
    tag: str


@dataclass
class Trader:
    name: str
    member_id: str
    client: AsyncClient
    stream: AsyncStream | None = None
    orders: dict[str, OwnOrder] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)
    stale: bool = True  # orders and positions need reloading over REST
    last_sync_s: float = 0.0
    listener: asyncio.Task[None] | None = None
    signer: Signer | None = None
    fix_wanted: bool = False  # this trader's orders go over FIX order entry
    fix: AsyncFixSession | None = None
    shared: bool = False  # trades as the simulator's own member (a member's key): its orders are those its ids name


@dataclass(frozen=True)
class OpenMarket:
    """A market the simulator may trade with a member's key: where it trades now, and when it closes."""

    ticker: str
    event_ticker: str
    series_ticker: str
    close_s: float
    probability: float  # the midpoint of its best bid and ask, else its last price, else one half


def _cents(price: Price) -> int:
    return price.centicents // Price.CENT


def _contracts(count: Count) -> int:
    return count.contracts  # the simulator trades whole contracts only


def _client_order_id(tag: str, name: str) -> str:
    """The agent's tag, the trader's name and a random part: "b0.maker-1.3f9c..." (at most 48 characters)."""
    return f"{tag}.{name}.{uuid.uuid4().hex[:16]}"


def _tag(client_order_id: str) -> str:
    return client_order_id.split(".", 1)[0] if "." in client_order_id else ""


def _owner(client_order_id: str) -> str:
    parts = client_order_id.split(".")
    return parts[1] if len(parts) == 3 else ""


def _probability(market: Any) -> float:
    bid, ask, last = _cents(market.yes_bid), _cents(market.yes_ask), _cents(market.last_price)
    if 0 < bid < ask < 100:
        return (bid + ask) / 200.0
    return last / 100.0 if 0 < last < 100 else 0.5


class NetworkVenue:
    def __init__(self, url: str, config: SimConfig, operator: AsyncClient, state_dir: Path,
                 fix_address: tuple[str, int] | None = None, signer: Signer | None = None) -> None:
        self.url = url
        self.signer = signer  # the simulator's own key (the operator's, or the member's)
        self.operator_powers = True
        self.member_id = ""
        self.fix_address = fix_address
        self._fix_names = {f"maker-{n}" for n in range(min(config.makers.over_fix, config.makers.count))}
        self.config = config
        self.operator = operator
        self.state_dir = state_dir
        self.traders: dict[str, Trader] = {}
        self.books: dict[str, LiveBook] = {}
        self.refusals: Counter[str] = Counter()
        self.requests = 0
        self.failures = 0  # requests that got no answer
        self.fix_requests = 0  # orders, cancels and amends sent over FIX
        self.fix_logons = 0
        self._market_stream: AsyncStream | None = None
        self._saved: dict[str, dict[str, str]] = {}
        self._tops: dict[str, tuple[Orderbook, tuple[Quote | None, Quote | None]]] = {}  # by ticker: the last book read, its top

    @property
    def reconnects(self) -> int:
        """How often the market-data WebSocket was made again (each time, every book resynced)."""
        return self._market_stream.reconnects if self._market_stream is not None else 0

    # --- time ------------------------------------------------------------------------------------------

    def now_s(self) -> float:
        return time.time()

    async def sleep_until(self, time_s: float) -> None:
        delay = time_s - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

    # --- set-up and the operator's work ---------------------------------------------------------------

    async def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        saved = self.state_dir / TRADERS_FILE
        if saved.exists():
            self._saved = json.loads(saved.read_text(encoding="utf-8"))
        self._market_stream = self.operator.stream(heartbeat_s=5.0, reconnect_backoff_max_s=1.0)
        await self._market_stream.start()
        self.operator_powers = await self._is_operator()
        if not self.operator_powers:
            self._fix_names = {"maker-0"} if self._fix_names and self.signer is not None else set()  # one FIX session a key
        if self._fix_names and self.fix_address is None:
            log.info("%s quote over REST: no FIX order-entry address was given (predictex sim --fix HOST:PORT)",
                     ", ".join(sorted(self._fix_names)))

    async def close(self) -> None:
        for trader in self.traders.values():
            if trader.listener is not None:
                trader.listener.cancel()
            if trader.stream is not None:
                await trader.stream.close()
            if trader.fix is not None:
                await trader.fix.close()
            if not trader.shared:
                await trader.client.aclose()
        if self._market_stream is not None:
            await self._market_stream.close()

    async def _is_operator(self) -> bool:
        try:
            me = await self.operator.request("GET", ME)
        except ApiError as error:  # not a predictex (a Kalshi-like server), or a key it does not know
            log.info("the simulator's key cannot read %s (%s): it is taken for a member's key", ME, error)
            return False
        self.member_id = str(me.get("member_id", ""))
        return bool(me.get("role") == "admin")

    async def open_markets(self, series_tickers: tuple[str, ...]) -> list[OpenMarket]:
        """The open markets of these series, each followed from now on (a member's key: nothing is created)."""
        found: list[OpenMarket] = []
        for series in series_tickers:
            try:
                markets = [market async for market in self.operator.markets(series_ticker=series, status="open")]
            except PredictexError as error:
                log.info("cannot list the open markets of %s yet: %s", series, error)
                continue
            for market in markets:
                if market.close_time is None or market.status not in TRADING_STATUSES:
                    continue
                if market.ticker not in self.books:
                    assert self._market_stream is not None
                    self.books[market.ticker] = await self._market_stream.book(market.ticker)
                found.append(OpenMarket(market.ticker, market.event_ticker, series, market.close_time.timestamp(),
                                        _probability(market)))
        return found

    def forget(self, ticker: str) -> None:
        """Stop following a market's book (it closed)."""
        self.books.pop(ticker, None)
        self._tops.pop(ticker, None)

    async def _admin(self, method: str, path: str, body: Any = None) -> Any:
        self.requests += 1
        return await self.operator.request(method, ADMIN + path, body)

    async def create_series(self, series: SeriesConfig) -> None:
        try:
            await self._admin("POST", "/series", {"ticker": series.ticker, "title": series.title, "category": "Simulated",
                                                  "frequency": _frequency(series.period_s)})
        except ApiError as error:
            if error.status != 409 and error.code != "already_exists":
                raise

    async def open_event(self, event: PlannedEvent, strike_levels: list[float]) -> list[str]:
        try:
            return await self._open_event(event, strike_levels)
        except ApiError:
            raise
        except PredictexError as error:  # no answer
            raise VenueUnavailable(str(error)) from error

    async def _open_event(self, event: PlannedEvent, strike_levels: list[float]) -> list[str]:
        if event.close_s <= self.now_s() + 1.0:
            return []  # too late to open (the simulation fell behind the clock)
        try:
            await self._admin("POST", "/events", {"event_ticker": event.event_ticker, "series_ticker": event.series.ticker,
                                                  "title": event.title})
        except ApiError as error:
            if error.status != 409 and error.code != "already_exists":
                raise
        opened: list[str] = []
        for ticker, level in zip(event.market_tickers(), strike_levels):
            body = {"ticker": ticker, "event_ticker": event.event_ticker, "title": f"Above {level:.1f}?",
                    "yes_sub_title": f"Above {level:.1f}", "no_sub_title": f"{level:.1f} or below",
                    "rules_primary": f"If the simulated index is above {level:.1f} at the close, the market resolves to Yes.",
                    "open_time": int(self.now_s()), "close_time": int(event.close_s),
                    "settlement_timer_seconds": event.series.settlement_timer_s, "strike_type": "greater",
                    "floor_strike": f"{level:.1f}" if level >= 0 else None}
            try:
                await self._admin("POST", "/markets", body)
            except ApiError as error:
                if error.status != 409 and error.code != "already_exists":
                    log.warning("cannot open market %s: %s", ticker, error)
                    continue
                market = await self.operator.market(ticker)  # made by an earlier run: trade it if it still trades
                if market.status not in TRADING_STATUSES:
                    continue
            assert self._market_stream is not None
            self.books[ticker] = await self._market_stream.book(ticker)
            opened.append(ticker)
        return opened

    async def determine(self, ticker: str, yes: bool) -> bool:
        try:
            await self._admin("POST", f"/markets/{ticker}/determine",
                              {"result": "yes" if yes else "no", "source": "predictex simulator (the hidden underlying)"})
        except ApiError as error:
            if error.status >= 500:
                return False
            try:
                market = await self.operator.market(ticker)
            except PredictexError:
                return False
            if market.status in ("determined", "finalized", "settled", "disputed", "amended"):
                return True  # determined already (by an earlier run, or an operator)
            log.debug("cannot determine %s yet (%s): %s", ticker, market.status, error)
            return False
        except PredictexError:  # no answer: next step
            return False
        self.books.pop(ticker, None)
        self._tops.pop(ticker, None)
        return True

    # --- traders --------------------------------------------------------------------------------------

    def _email(self, name: str, attempt: int) -> str:
        suffix = f"-{attempt}" if attempt else ""
        return f"{self.config.member_prefix}-{name}{suffix}@{self.config.member_domain}"

    async def add_trader(self, name: str, role: str) -> None:
        if not self.operator_powers:  # every trader is the simulator's own member
            assert self.signer is not None
            await self._connect(name, self.member_id, self.operator, self.signer, shared=True)
            return
        saved = self._saved.get(name)
        if saved is not None:
            key = load_private_key(Path(saved["key_file"]))
            client = AsyncClient(self.url, key_id=saved["key_id"], private_key=key, retry=RETRY, transport=transport_for(self.url))
            try:
                await client.balance()
            except ApiError as error:
                log.warning("the saved key of %s no longer works (%s); making a new member", name, error)
                await client.aclose()
                saved = None
            else:
                await self._connect(name, saved["member_id"], client, Signer(saved["key_id"], key))
                return
        await self._create_trader(name)

    async def _create_trader(self, name: str) -> None:
        password = secrets.token_urlsafe(24)
        for attempt in range(100):
            try:
                made = await self._admin("POST", "/members", {"email": self._email(name, attempt), "password": password,
                                                              "simulated": True, "tier": "advanced"})
                break
            except ApiError as error:
                if error.code != "duplicate_email":
                    raise
        else:
            raise RuntimeError(f"no free email for simulated trader {name}")
        email = self._email(name, attempt)
        async with AsyncClient(self.url, retry=RETRY, transport=transport_for(self.url)) as login:
            await login.log_in_with_password(email, password)
            generated = await login.generate_api_key(f"simulator {name}", "ed25519")
        key_file = self.state_dir / f"{name}.pem"
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(generated.private_key_pem)
        self._saved[name] = {"email": email, "member_id": str(made["member_id"]), "key_id": generated.api_key_id,
                             "key_file": str(key_file)}
        temporary = self.state_dir / (TRADERS_FILE + ".tmp")
        temporary.write_text(json.dumps(self._saved, indent=2), encoding="utf-8")
        temporary.replace(self.state_dir / TRADERS_FILE)
        log.info("simulated trader %s is member %s (%s)", name, made["member_id"], email)
        client = AsyncClient(self.url, key_id=generated.api_key_id, private_key=generated.private_key_pem, retry=RETRY, transport=transport_for(self.url))
        await self._connect(name, str(made["member_id"]), client,
                            Signer(generated.api_key_id, load_private_key(generated.private_key_pem)))
        await self._top_up(self.traders[name], force=True)

    async def _connect(self, name: str, member_id: str, client: AsyncClient, signer: Signer, *, shared: bool = False) -> None:
        trader = self.traders[name] = Trader(name, member_id, client, signer=signer, shared=shared)
        trader.fix_wanted = self.fix_address is not None and name in self._fix_names
        trader.stream = client.stream(heartbeat_s=5.0, reconnect_backoff_max_s=1.0)
        await trader.stream.start()
        fills = await trader.stream.fills()
        trader.listener = asyncio.get_running_loop().create_task(self._follow_fills(trader, fills), name=f"sim-fills-{name}")

    async def _follow_fills(self, trader: Trader, fills: Any) -> None:
        async for fill in fills:
            contracts = _contracts(fill.count)
            if fill.post_position is not None:  # the position after the fill, as the exchange counts it
                trader.positions[fill.ticker] = _contracts(fill.post_position)
            else:
                bought = fill.book_side == "bid" if fill.book_side else (fill.side == "yes") == (fill.action == "buy")
                trader.positions[fill.ticker] = trader.positions.get(fill.ticker, 0) + (contracts if bought else -contracts)
            own = trader.orders.get(fill.order_id)
            if own is not None and not fill.is_taker and not trader.fix_wanted:  # FIX: the reports say  # a taker's fills are in its order's answer already
                own.remaining -= contracts
                own.filled += contracts
                if own.remaining <= 0:
                    del trader.orders[fill.order_id]

    async def fund(self, name: str) -> None:
        trader = self.traders[name]
        if trader.shared:
            return  # a member's key cannot deposit
        with contextlib.suppress(PredictexError):
            await self._top_up(trader)

    async def _top_up(self, trader: Trader, *, force: bool = False) -> None:
        funding = self.config.funding
        cash = (await trader.client.balance()).balance
        self.requests += 1
        if force or cash < Money(str(funding.top_up_below_dollars)):
            missing = Money(str(funding.deposit_dollars)) - cash
            if missing > Money("0"):
                whole_cents = Money.of_units(-(-missing.microdollars // Money.CENT) * Money.CENT)  # rounded up to the cent
                await self._admin("POST", f"/members/{trader.member_id}/deposits",
                                  {"amount_dollars": str(whole_cents), "reference": "simulator funding"})

    # --- reads ------------------------------------------------------------------------------------------

    def top(self, ticker: str) -> tuple[Quote | None, Quote | None]:
        book = self.books.get(ticker)
        if book is None or not book.fresh:
            return None, None
        snapshot = book.snapshot()  # the same object until the book changes
        known = self._tops.get(ticker)
        if known is not None and known[0] is snapshot:
            return known[1]
        bid, ask = snapshot.best_bid, snapshot.best_ask
        top = (None if bid is None else Quote(_cents(bid.price), _contracts(bid.count)),
               None if ask is None else Quote(_cents(ask.price), _contracts(ask.count)))
        self._tops[ticker] = (snapshot, top)
        return top

    def resting(self, name: str, ticker: str) -> tuple[Resting, ...]:
        orders = self.traders[name].orders
        return tuple(Resting(key, own.is_bid, own.price_cents, own.remaining, own.tag)
                     for key, own in orders.items() if own.ticker == ticker)

    def position(self, name: str, ticker: str) -> int:
        return self.traders[name].positions.get(ticker, 0)

    # --- orders ------------------------------------------------------------------------------------------

    async def execute(self, name: str, actions: list[Action]) -> None:
        trader = self.traders[name]
        if trader.fix_wanted and (trader.fix is None or trader.fix.closed) and not await self._connect_fix(trader):
            return
        if trader.stale or time.time() - trader.last_sync_s > RESYNC_S:
            if not await self._resync(trader):
                return
        for action in actions:
            self.requests += 1
            try:
                refused = await (self._send_fix(trader, action) if trader.fix is not None else self._send(trader, action))
            except ApiError as error:
                refused = error.code
            except PredictexError as error:  # no answer: the server may be restarting
                self.failures += 1
                trader.stale = True
                log.info("simulated trader %s: %s; resyncing", name, error)
                return
            if refused:
                self.refusals[refused] += 1
                if refused in NOT_OPEN:
                    trader.orders.pop(getattr(action, "key", ""), None)
                elif isinstance(action, Amend):  # the order is not what the trader thinks ("nothing would change"): read it again
                    trader.stale = True

    async def _send(self, trader: Trader, action: Action) -> str | None:
        """Send the action over REST (a refusal raises ApiError)."""
        client = trader.client
        if isinstance(action, Place):
            ack = await client.create_order(
                action.ticker, "bid" if action.is_bid else "ask", count=action.contracts, price=Price.from_cents(action.price_cents),
                client_order_id=_client_order_id(action.tag, trader.name),
                time_in_force="immediate_or_cancel" if action.take else "good_till_canceled",
            )
            if not action.take and _contracts(ack.remaining_count) > 0:
                trader.orders[ack.order_id] = OwnOrder(action.ticker, action.is_bid, action.price_cents,
                                                       _contracts(ack.remaining_count), _contracts(ack.fill_count), action.tag)
        elif isinstance(action, Cancel):
            trader.orders.pop(action.key, None)
            await client.cancel_order(action.key)
        elif isinstance(action, Amend):
            own = trader.orders.get(action.key)
            if own is None:
                return None
            ack = await client.amend_order(action.key, ticker=action.ticker, side="bid" if action.is_bid else "ask",
                                           price=Price.from_cents(action.price_cents), count=own.filled + action.contracts)
            trader.orders.pop(action.key, None)
            remaining = _contracts(ack.remaining_count)
            if remaining > 0:  # the answer's fill_count is what filled on the amend itself: the order's earlier fills add to it
                trader.orders[ack.order_id] = OwnOrder(action.ticker, action.is_bid, action.price_cents, remaining,
                                                       own.filled + _contracts(ack.fill_count), action.tag)
        return None

    # --- orders over FIX --------------------------------------------------------------------------------

    async def _connect_fix(self, trader: Trader) -> bool:
        assert self.fix_address is not None and trader.signer is not None
        if trader.fix is not None:
            log.info("simulated trader %s: the FIX session ended (%s); logging on again", trader.name, trader.fix.closed_reason)
        host, port = self.fix_address
        session = AsyncFixSession(host, port, trader.signer, heartbeat_s=10,
                                  on_report=lambda report: self._fix_report(trader, report))
        try:
            await session.connect()
        except PredictexError as error:
            self.failures += 1
            log.info("simulated trader %s cannot log on to FIX at %s:%d yet: %s", trader.name, host, port, error)
            return False
        trader.fix = session
        self.fix_logons += 1
        trader.stale = True  # what happened to its orders meanwhile is read again over REST
        log.info("simulated trader %s sends its orders over FIX order entry (%s:%d)", trader.name, host, port)
        return True

    def _fix_report(self, trader: Trader, report: FixMessage) -> None:
        """An ExecutionReport about one of the trader's orders: what rests of it now, from its own values."""
        order_id, cl_ord_id = report.get(37, "NONE"), report.get(11, "")
        if order_id == "NONE" or order_id is None:
            return
        leaves = _fix_contracts(report.get(151, "0"))
        if report.get(39) in FIX_DONE_STATUSES or leaves <= 0 or report.get(59) in ("3", "4"):
            trader.orders.pop(order_id, None)
            return
        trader.orders[order_id] = OwnOrder(report.get(55, ""), report.get(54) == "1", _fix_cents(report.get(44, "0")), leaves,
                                           _fix_contracts(report.get(14, "0")), _tag(cl_ord_id or ""))

    async def _send_fix(self, trader: Trader, action: Action) -> str | None:
        """Send the action over FIX; the refusal's code (Kalshi's, from the answer's text), or None."""
        session = trader.fix
        assert session is not None
        self.fix_requests += 1
        if isinstance(action, Place):
            answer = await session.new_order(_client_order_id(action.tag, trader.name), action.ticker, action.is_bid,
                                             action.price_cents, action.contracts, time_in_force="3" if action.take else "1")
        elif isinstance(action, Cancel):
            own = trader.orders.pop(action.key, None)
            answer = await session.cancel(uuid.uuid4().hex[:24], action.key, action.ticker, own.is_bid if own else True)
        else:
            own = trader.orders.get(action.key)
            if own is None:
                return None
            answer = await session.replace(_client_order_id(action.tag, trader.name), action.key, action.ticker, action.is_bid,
                                           action.price_cents, own.filled + action.contracts)
        if answer.msg_type == "8" and answer.get(150) != "8":
            return None
        text = answer.get(58) or "refused"
        return text.split(":", 1)[0].strip().lower().replace(" ", "_")

    async def _resync(self, trader: Trader) -> bool:
        """Reload the trader's resting orders and positions (after a failure, and now and then)."""
        try:
            orders: dict[str, OwnOrder] = {}
            async for order in trader.client.orders(status="resting"):
                if trader.shared and _owner(order.client_order_id) != trader.name:
                    continue  # another trader's, on the same member
                orders[order.order_id] = OwnOrder(order.ticker, order.book_side == "bid", _cents(order.yes_price),
                                                  _contracts(order.remaining_count), _contracts(order.fill_count),
                                                  _tag(order.client_order_id))
            positions = {position.ticker: _contracts(position.position) async for position in trader.client.positions()}
        except PredictexError as error:
            self.failures += 1
            log.info("simulated trader %s cannot resync yet: %s", trader.name, error)
            return False
        trader.orders, trader.positions = orders, positions
        trader.stale = False
        trader.last_sync_s = time.time()
        return True


def _fix_contracts(text: str) -> int:
    """Whole contracts of a FIX quantity ("10.00"; the simulator trades whole contracts)."""
    return Count(text).contracts


def _fix_cents(text: str) -> int:
    """Whole cents of a FIX price in cents ("45"; the simulator quotes whole cents)."""
    whole, _, _ = text.partition(".")
    return int(whole) if whole.isdigit() else 0


def _frequency(period_s: float) -> str:
    if period_s >= 86_400:
        return "daily"
    if period_s >= 3_600:
        return "hourly"
    return "custom"
