"""The trader's commands, all through the SDK:

    predictex markets list|search|show      markets, a market and its book (--watch: live, from the WebSocket)
    predictex order place|amend|cancel|show place, change, cancel orders
    predictex orders | fills | positions | balance

Every command takes --profile (see config.py), --url, --key-id, --key-file and --json. Prices are
YES prices in dollars ("0.45"); a bid buys YES, an ask sells YES (buys NO at 1 - price). Exit codes:
0 done, 1 the exchange refused (its code and message are printed), 2 bad arguments or configuration,
3 the exchange could not be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import io
import os
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from predictex import __version__
from predictex.cli import output as out
from predictex.cli.config import Config, ConfigError
from predictex.client import AsyncClient, Client
from predictex.client.errors import ApiError
from predictex.client.models import Market, Orderbook
from predictex.client.stream_state import BOOK_CHANNEL
from predictex.client.units import Count, Price

CLI_USER_AGENT = f"predictex-cli/{__version__}"  # the server journals what this sends as the cli surface

SIDES = {"bid": "bid", "buy": "bid", "ask": "ask", "sell": "ask"}
TIME_IN_FORCE = {"gtc": "good_till_canceled", "ioc": "immediate_or_cancel", "fok": "fill_or_kill"}
PAGE_LIMIT = 1000


# --- wiring --------------------------------------------------------------------------------------------

def connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument("--profile", default=None, help="a profile from the config file (default: its default, or local)")
    group.add_argument("--url", default=None, help="the exchange's URL (overrides the profile)")
    group.add_argument("--key-id", default=None, help="API key id (overrides the profile)")
    group.add_argument("--key-file", default=None, help="its private key file, RSA or Ed25519 PEM (overrides the profile)")
    group.add_argument("--timeout", type=out.seconds, default=10.0, help="seconds to wait for an answer (default 10)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def client_settings(arguments: argparse.Namespace, need_key: bool) -> dict[str, Any]:
    profile = Config.load().profile(arguments.profile)
    url = arguments.url or os.environ.get("PREDICTEX_URL") or profile.url
    key_id = arguments.key_id or os.environ.get("PREDICTEX_KEY_ID") or profile.key_id
    key_file = arguments.key_file or os.environ.get("PREDICTEX_KEY_FILE") or profile.private_key
    if not url:
        raise ConfigError(f"profile {profile.name!r} has no URL; set one with: predictex profile set {profile.name} --url URL")
    settings: dict[str, Any] = {"base_url": url, "timeout_s": arguments.timeout, "user_agent": CLI_USER_AGENT}
    if key_id and key_file:
        path = Path(key_file).expanduser()
        if not path.exists():
            raise ConfigError(f"private key file {path} does not exist")
        settings.update(key_id=key_id, private_key=path)
    elif need_key:
        raise ConfigError(f"this needs an API key: give --key-id and --key-file, or save them in a profile with "
                          f"predictex profile set {profile.name} --key-id ID --key-file PATH; no key yet? on a predictex exchange, "
                          f"predictex keys create --url {url} --email YOU@EXAMPLE.COM --profile {profile.name} makes one")
    return settings


command = out.command


def _client(arguments: argparse.Namespace, need_key: bool = True) -> Client:
    return Client(**client_settings(arguments, need_key))


def register(commands: Any) -> None:
    _markets(commands)
    _order(commands)
    for name, handler, helptext in (
        ("orders", run_orders, "your orders, newest first"),
        ("fills", run_fills, "your fills, newest first"),
        ("positions", run_positions, "your positions"),
        ("balance", run_balance, "your balance"),
    ):
        parser = commands.add_parser(name, help=helptext)
        connection_options(parser)
        if name in ("orders", "fills", "positions"):
            parser.add_argument("--ticker", default=None, help="only this market")
            parser.add_argument("--limit", type=out.whole_number(0, "0: all"), default=100, help="at most this many (0: all, with progress)")
        if name == "orders":
            parser.add_argument("--status", choices=("resting", "canceled", "executed"), default=None, help="only orders in this state")
        if name == "positions":
            parser.add_argument("--settled", action="store_true", help="settled positions too")
        parser.set_defaults(handler=command(name, handler))


def _limited(items: Iterator[Any], limit: int, what: str) -> list[Any]:
    source = out.with_progress(items, what) if limit == 0 else items
    return list(source if limit == 0 else islice(source, limit))


# --- markets -------------------------------------------------------------------------------------------

def _markets(commands: Any) -> None:
    markets = commands.add_parser("markets", help="list, search and show markets").add_subparsers(dest="action", required=True,
                                                                                                    metavar="ACTION")
    listing = markets.add_parser("list", help="list markets")
    search = markets.add_parser("search", help="markets whose ticker or title contains TEXT")
    search.add_argument("text", help="text to find in tickers and titles (any case)")
    for parser in (listing, search):
        connection_options(parser)
        parser.add_argument("--status", choices=("unopened", "open", "paused", "closed", "settled"), default=None,
                            help="only markets in this state")
        parser.add_argument("--event", default=None, help="only this event's markets")
        parser.add_argument("--series", default=None, help="only this series' markets")
        parser.add_argument("--limit", type=out.whole_number(0, "0: all"), default=0, help="at most this many (default: all, with progress)")
    listing.set_defaults(handler=command("markets list", run_markets_list))
    search.set_defaults(handler=command("markets search", run_markets_list))
    show = markets.add_parser("show", help="a market and its order book")
    connection_options(show)
    show.add_argument("ticker", help="the market, e.g. INXCHI-25JAN31-T69.5")
    show.add_argument("--depth", type=out.whole_number(1), default=10, help="levels of the book on each side (default 10)")
    show.add_argument("--watch", action="store_true", help="redraw the book live from the WebSocket (Ctrl-C to stop)")
    show.add_argument("--updates", type=out.whole_number(0, "0: until Ctrl-C"), default=0, help="with --watch: stop after this many redraws (default 0: until Ctrl-C)")
    show.set_defaults(handler=command("markets show", run_markets_show))


def run_markets_list(arguments: argparse.Namespace) -> int:
    text = getattr(arguments, "text", "").lower()
    with _client(arguments, need_key=False) as client:
        found = client.markets(status=arguments.status, event_ticker=arguments.event, series_ticker=arguments.series, limit=PAGE_LIMIT)
        matching = (m for m in found if not text or text in m.ticker.lower() or text in m.title.lower())
        markets = _limited(matching, arguments.limit, "markets")
    if arguments.json:
        out.print_json(markets)
        return out.EXIT_OK
    out.table(("ticker", "status", "yes bid", "yes ask", "last", "volume", "closes", "title"), (
        (m.ticker, m.status, m.yes_bid or None, m.yes_ask or None, m.last_price or None, m.volume, m.close_time, m.title)
        for m in markets))
    return out.EXIT_OK


def _book_rows(book: Orderbook, depth: int) -> list[tuple[Any, ...]]:
    bids, asks = book.bids[:depth], book.asks[:depth]
    rows = []
    for index in range(max(len(bids), len(asks))):
        bid = bids[index] if index < len(bids) else None
        ask = asks[index] if index < len(asks) else None
        rows.append((bid.count if bid else None, bid.price if bid else None, ask.price if ask else None, ask.count if ask else None))
    return rows


def print_market(market: Market | None, book: Orderbook, depth: int) -> None:
    if market is not None:
        print(f"{market.ticker}  {market.title}")
        print(f"status {market.status}   last {market.last_price}   volume {market.volume}   open interest {market.open_interest}"
              f"   closes {out.cell(market.close_time)}")
    spread = book.spread
    print(f"book (YES prices; bids buy YES, asks sell YES){f'   spread {spread}' if spread is not None else ''}")
    out.table(("bid size", "bid", "ask", "ask size"), _book_rows(book, depth))


def run_markets_show(arguments: argparse.Namespace) -> int:
    if arguments.watch:
        return asyncio.run(_watch(arguments))
    with _client(arguments, need_key=False) as client:
        market = client.market(arguments.ticker)
        book = client.orderbook(arguments.ticker)
    if arguments.json:
        out.print_json({"market": market, "orderbook": {"yes": book.yes, "no": book.no, "bids": book.bids, "asks": book.asks}})
        return out.EXIT_OK
    print_market(market, book, arguments.depth)
    return out.EXIT_OK


TICKER_CHANNEL = "ticker"
LIFECYCLE_CHANNEL = "market_lifecycle_v2"
CLEAR_SCREEN = "\x1b[H\x1b[2J"  # cursor home, then erase the screen
WATCH_CONNECTION_CHECK_S = 1.0  # how often a quiet watch checks that its connection is still up


async def _watch(arguments: argparse.Namespace) -> int:
    """Redraw the whole screen (the market's status, last price, volume and open interest, and its
    book) each time any of it changes, from the stream: the live book, the ticker channel, and the
    lifecycle channel (a status change fetches the market again). The order book channel needs an
    authenticated connection, on Kalshi and here."""
    settings = client_settings(arguments, need_key=True)
    ticker = arguments.ticker
    async with AsyncClient(**settings) as client:
        market = await client.market(ticker)
        async with client.stream() as stream:
            changes = stream.listen([BOOK_CHANNEL, TICKER_CHANNEL, LIFECYCLE_CHANNEL])
            book = await stream.book(ticker)
            await stream.subscribe(TICKER_CHANNEL, [ticker])
            await stream.subscribe(LIFECYCLE_CHANNEL)
            changes.clear()  # the snapshot is already in the book, and the market was just read
            redraws = 0
            lost_at: dt.datetime | None = None  # when the connection was lost, while it is
            while True:
                _draw(market, book.snapshot(), arguments, stream.reconnects, lost_at)
                redraws += 1
                if arguments.updates and redraws >= arguments.updates:
                    return out.EXIT_OK
                while True:  # until something shown changes (JSON lines show only the book)
                    try:
                        change = await asyncio.wait_for(changes.__anext__(), WATCH_CONNECTION_CHECK_S)
                    except TimeoutError:
                        if (lost_at is None) == stream.connected or arguments.json:
                            continue
                        lost_at = None if stream.connected else dt.datetime.now()
                        break  # the screen says whether it is live
                    if change.msg.get("market_ticker") != ticker:
                        continue
                    lost_at = None
                    if change.channel == TICKER_CHANNEL:
                        market = _with_ticker(market, change.msg)
                    elif change.channel == LIFECYCLE_CHANNEL:
                        market = await client.market(ticker)
                    if change.channel == BOOK_CHANNEL or not arguments.json:
                        break


def _with_ticker(market: Market, message: Any) -> Market:
    """The market with the ticker message's last price, volume and open interest."""
    try:
        return dataclasses.replace(market, last_price=Price(message["price_dollars"]), volume=Count(message["volume_fp"]),
                                   open_interest=Count(message["open_interest_fp"]))
    except (KeyError, TypeError, ValueError):
        return market  # a message without them changes nothing shown


def _draw(market: Market, book: Orderbook, arguments: argparse.Namespace, reconnects: int, lost_at: dt.datetime | None) -> None:
    if arguments.json:
        out.print_json({"ticker": book.ticker, "bids": book.bids, "asks": book.asks}, one_line=True)  # JSON lines
        return
    screen = io.StringIO()
    with contextlib.redirect_stdout(screen):
        print_market(market, book, arguments.depth)
        if reconnects:
            print(f"(reconnected {reconnects} time{'s' if reconnects > 1 else ''})")
        if lost_at is not None:
            print(f"NOT LIVE: the connection was lost at {lost_at.strftime('%H:%M:%S')}; reconnecting (this is the book as it was then); "
                  "Ctrl-C to stop")
        else:
            print(f"live from the WebSocket, {dt.datetime.now().strftime('%H:%M:%S')}; Ctrl-C to stop")
    if sys.stdout.isatty():
        sys.stdout.write(CLEAR_SCREEN + screen.getvalue())  # one write: the screen never shows half a redraw
    else:
        sys.stdout.write("---\n" + screen.getvalue())
    sys.stdout.flush()


# --- orders --------------------------------------------------------------------------------------------

def _order(commands: Any) -> None:
    order = commands.add_parser("order", help="place, amend, cancel or show an order").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    place = order.add_parser("place", help="place a limit order: TICKER SIDE COUNT PRICE (a YES price in dollars)")
    connection_options(place)
    place.add_argument("ticker", help="the market, e.g. INXCHI-25JAN31-T69.5")
    place.add_argument("side", choices=sorted(SIDES), help="bid/buy: buy YES; ask/sell: sell YES (= buy NO at 1 - price)")
    place.add_argument("count", help="contracts, e.g. 10 or 2.50")
    place.add_argument("price", help="YES price in dollars, e.g. 0.45")
    place.add_argument("--tif", choices=sorted(TIME_IN_FORCE), default="gtc", help="time in force (default gtc)")
    place.add_argument("--post-only", action="store_true", help="only rest: refuse the order if it would trade at once")
    place.add_argument("--reduce-only", action="store_true", help="only shrink your position, never open or grow one")
    place.add_argument("--stp", choices=("taker_at_cross", "maker"), default="taker_at_cross", help="self-trade prevention")
    place.add_argument("--client-order-id", default=None, help="your id for it (one is made if not given)")
    place.set_defaults(handler=command("order place", run_order_place))
    amend = order.add_parser("amend", help="change an order's price and/or total count")
    connection_options(amend)
    amend.add_argument("order_id", help="the order (from `predictex orders`)")
    amend.add_argument("--price", default=None, help="new YES price")
    amend.add_argument("--count", default=None, help="new total count (filled + remaining)")
    amend.set_defaults(handler=command("order amend", run_order_amend))
    cancel = order.add_parser("cancel", help="cancel orders (or --all)")
    connection_options(cancel)
    cancel.add_argument("order_ids", nargs="*", help="the orders (from `predictex orders`)")
    cancel.add_argument("--all", action="store_true", help="cancel every open order")
    cancel.set_defaults(handler=command("order cancel", run_order_cancel))
    show = order.add_parser("show", help="one order")
    connection_options(show)
    show.add_argument("order_id", help="the order (from `predictex orders`)")
    show.set_defaults(handler=command("order show", run_order_show))


def parse_price(text: str) -> Price:
    """A YES price in dollars, strictly between 0 and 1; the error says what a price is."""
    try:
        price = Price(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a price: prices are YES prices in dollars, from 0.01 to 0.99 (0.45 is 45¢)") from None
    if not Price("0") < price < Price("1"):
        cents = int(text) if text.isascii() and text.isdigit() else 0
        example = f"for {cents}¢ give 0.{cents:02d}" if 1 <= cents <= 99 else "0.45 is 45¢"
        raise ValueError(f"price {text} is out of range: prices are YES prices in dollars, from 0.01 to 0.99 ({example})")
    return price


def parse_count(text: str) -> Count:
    """A positive number of contracts; the error says what a count is."""
    try:
        count = Count(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a count: give a number of contracts, e.g. 10 (or 2.50 where a market allows fractions)") from None
    if not count > Count("0"):
        raise ValueError(f"count {text} must be positive: the number of contracts to buy or sell, e.g. 10")
    return count


def run_order_place(arguments: argparse.Namespace) -> int:
    count, price = parse_count(arguments.count), parse_price(arguments.price)
    with _client(arguments) as client:
        ack = client.create_order(
            arguments.ticker, SIDES[arguments.side], count, price, time_in_force=TIME_IN_FORCE[arguments.tif],
            self_trade_prevention_type=arguments.stp, post_only=arguments.post_only, reduce_only=arguments.reduce_only,
            client_order_id=arguments.client_order_id,
        )
    if arguments.json:
        out.print_json(ack)
        return out.EXIT_OK
    print(f"order {ack.order_id} ({ack.client_order_id}): {SIDES[arguments.side]} {count} {arguments.ticker} @ {price}")
    filled = f"filled {ack.fill_count}" + (f" at {ack.average_fill_price} on average" if ack.average_fill_price is not None else "")
    print(f"{filled}, resting {ack.remaining_count}")
    return out.EXIT_OK


def run_order_amend(arguments: argparse.Namespace) -> int:
    if arguments.price is None and arguments.count is None:
        raise ValueError("give --price and/or --count")
    with _client(arguments) as client:
        current = client.order(arguments.order_id)
        price = parse_price(arguments.price) if arguments.price is not None else current.yes_price
        total = parse_count(arguments.count) if arguments.count is not None else current.fill_count + current.remaining_count
        ack = client.amend_order(arguments.order_id, ticker=current.ticker, side=current.book_side, price=price, count=total)
    if arguments.json:
        out.print_json(ack)
        return out.EXIT_OK
    print(f"amended {ack.order_id}: {current.book_side} {total} @ {price}; filled {ack.fill_count}, resting {ack.remaining_count}")
    return out.EXIT_OK


def run_order_cancel(arguments: argparse.Namespace) -> int:
    if arguments.all == bool(arguments.order_ids):
        raise ValueError("give order ids or --all (not both)")
    with _client(arguments) as client:
        ids = [o.order_id for o in client.orders(status="resting")] if arguments.all else list(arguments.order_ids)
        results: list[tuple[str, Count | None, ApiError | None]]
        if len(ids) == 1 and not arguments.all:
            results = [(ids[0], client.cancel_order(ids[0]).reduced_by, None)]
        else:
            results = [(order_id, item.result.reduced_by if item.result else None, item.error)
                       for order_id, item in zip(ids, client.batch_cancel_orders(ids) if ids else [])]
    failed = [r for r in results if r[2] is not None]
    if arguments.json:
        out.print_json([{"order_id": i, "reduced_by": r, "error": out.describe(e) if e else None} for i, r, e in results])
    else:
        for order_id, reduced, error in results:
            print(f"{order_id}: {'not canceled: ' + out.describe(error) if error else f'canceled ({reduced} contracts)'}")
        if not results:
            print("no open orders")
    return out.EXIT_REFUSED if failed else out.EXIT_OK


def run_order_show(arguments: argparse.Namespace) -> int:
    with _client(arguments) as client:
        order = client.order(arguments.order_id)
    if arguments.json:
        out.print_json(order)
        return out.EXIT_OK
    out.table(("field", "value"), [(name, out.plain(getattr(order, name))) for name in (
        "order_id", "client_order_id", "ticker", "status", "book_side", "yes_price", "fill_count", "remaining_count",
        "initial_count", "taker_fees", "maker_fees", "created_time", "last_update_time")])
    return out.EXIT_OK


# --- portfolio -----------------------------------------------------------------------------------------

def run_orders(arguments: argparse.Namespace) -> int:
    with _client(arguments) as client:
        orders = _limited(client.orders(ticker=arguments.ticker, status=arguments.status, limit=PAGE_LIMIT), arguments.limit, "orders")
    if arguments.json:
        out.print_json(orders)
        return out.EXIT_OK
    out.table(("order id", "ticker", "side", "price", "filled", "remaining", "status", "created"), (
        (o.order_id, o.ticker, o.book_side, o.yes_price, o.fill_count, o.remaining_count, o.status, o.created_time) for o in orders))
    return out.EXIT_OK


def run_fills(arguments: argparse.Namespace) -> int:
    with _client(arguments) as client:
        fills = _limited(client.fills(ticker=arguments.ticker, limit=PAGE_LIMIT), arguments.limit, "fills")
    if arguments.json:
        out.print_json(fills)
        return out.EXIT_OK
    out.table(("time", "ticker", "side", "count", "price", "fee", "taker", "order id"), (
        (f.created_time, f.ticker, f.book_side, f.count, f.yes_price, f.fee_cost, f.is_taker, f.order_id) for f in fills))
    return out.EXIT_OK


def run_positions(arguments: argparse.Namespace) -> int:
    with _client(arguments) as client:
        found = client.positions(ticker=arguments.ticker, settlement_status="all" if arguments.settled else None, limit=PAGE_LIMIT)
        positions = _limited(found, arguments.limit, "positions")
    if arguments.json:
        out.print_json(positions)
        return out.EXIT_OK
    out.table(("ticker", "position", "exposure", "realized P&L", "fees", "traded"), (
        (p.ticker, p.position, p.market_exposure, p.realized_pnl, p.fees_paid, p.total_traded) for p in positions))
    return out.EXIT_OK


def run_balance(arguments: argparse.Namespace) -> int:
    with _client(arguments) as client:
        balance = client.balance()
    if arguments.json:
        out.print_json(balance)
        return out.EXIT_OK
    print(f"available  ${balance.balance}")
    print(f"positions  ${balance.portfolio_value}")
    return out.EXIT_OK
