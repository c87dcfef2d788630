"""Position limits: the most a member may hold, per market and per event, set by the operator for a
series (its markets and events) or for one market (overriding its series' per-market limit).

A member is its primary account with its subaccounts. An order (and a trade off the book: an RFQ's
accept and confirm, a block trade's accept, counted as an order of its size) is refused (`position_limit`) when the
position it could leave the member with, if it and the member's resting orders on the same side all
filled, would exceed a limit and be larger than before:
- per market, on the order's side: YES for a bid (position + resting bids + the order), NO for an ask
  (resting asks + the order - position);
- per event: the sum over the event's markets of each market's larger side so computed.
So an order that reduces a position is never refused, even past a limit lowered since. The check runs
before matching, with the other risk checks; the reject's message states the limit and the position."""

from __future__ import annotations

from predictex.core.instruments import Market
from predictex.core.ledger import Account, Ledger
from predictex.core.limits import ORDER_COUNT_CENTICONTRACTS_MAX
from predictex.core.rejects import RejectCode, Rejected
from predictex.core.units import format_count_fp

SERIES = "series"
MARKET = "market"
SCOPES = (SERIES, MARKET)
POSITION_LIMIT_CENTICONTRACTS_MAX = ORDER_COUNT_CENTICONTRACTS_MAX * 1_000


class PositionLimits:
    """The limits in force: per series (per-market and per-event), per market (per-market only). 0:
    no limit."""

    def __init__(self) -> None:
        self.by_series: dict[str, tuple[int, int]] = {}  # series -> (per market, per event)
        self.by_market: dict[str, int] = {}

    def is_empty(self) -> bool:
        return not self.by_series and not self.by_market

    def set(self, scope: str, ticker: str, market_limit_centicontracts: int, event_limit_centicontracts: int) -> None:
        if scope == SERIES:
            if market_limit_centicontracts or event_limit_centicontracts:
                self.by_series[ticker] = (market_limit_centicontracts, event_limit_centicontracts)
            else:
                self.by_series.pop(ticker, None)
        elif market_limit_centicontracts:
            self.by_market[ticker] = market_limit_centicontracts
        else:
            self.by_market.pop(ticker, None)

    def for_market(self, market: Market) -> tuple[int, int]:
        """(per-market limit, per-event limit) that apply to an order in `market` (0: none)."""
        series_market, series_event = self.by_series.get(market.series_ticker, (0, 0))
        return self.by_market.get(market.ticker, series_market), series_event

    def check(self, ledger: Ledger, markets: dict[str, Market], account: Account, market: Market, is_bid: bool,
              added_centicontracts: int, what: str = "this order") -> None:
        """Raise Rejected(POSITION_LIMIT) when `added_centicontracts` more on this side of `market`
        would take the member past a limit (see the module's rule)."""
        market_limit, event_limit = self.for_market(market)
        if not market_limit and not event_limit:
            return
        accounts = member_accounts(ledger, account)
        before = _side_exposure(accounts, market.ticker, is_bid, 0)
        after = _side_exposure(accounts, market.ticker, is_bid, added_centicontracts)
        if market_limit and after > market_limit and after > before:
            raise Rejected(RejectCode.POSITION_LIMIT, (
                f"at most {format_count_fp(market_limit)} contracts per member in {market.ticker}: "
                f"the position is {_position_text(accounts, market.ticker)}, and with {what} and the resting "
                f"{'bids' if is_bid else 'asks'} it could reach {format_count_fp(after)} {'YES' if is_bid else 'NO'}"
            ))
        if event_limit:
            tickers = _event_tickers(accounts, markets, market)
            event_before = _event_exposure(accounts, tickers, market.ticker, is_bid, 0)
            event_after = _event_exposure(accounts, tickers, market.ticker, is_bid, added_centicontracts)
            if event_after > event_limit and event_after > event_before:
                raise Rejected(RejectCode.POSITION_LIMIT, (
                    f"at most {format_count_fp(event_limit)} contracts per member in event {market.event_ticker}: "
                    f"the positions there come to {format_count_fp(sum(abs(_position(accounts, t)) for t in tickers))}, and with "
                    f"{what} and the resting orders they could reach {format_count_fp(event_after)}"
                ))


def member_accounts(ledger: Ledger, account: Account) -> list[Account]:
    """The member's primary account and its subaccounts."""
    owner = ledger.subaccounts.owner.get(account.account_id)
    primary = owner[0] if owner is not None else account.account_id
    accounts = [ledger.accounts[primary]] if primary in ledger.accounts else [account]
    for sub in ledger.subaccounts.by_primary.get(primary, {}).values():
        if sub in ledger.accounts:
            accounts.append(ledger.accounts[sub])
    return accounts


def _resting(account: Account, ticker: str, is_bid: bool) -> int:
    am = account.markets.get(ticker)
    if am is None:
        return 0
    return sum(order.remaining_centicontracts for order in (am.bids if is_bid else am.asks).ordered())


def _position(accounts: list[Account], ticker: str) -> int:
    total = 0
    for account in accounts:
        am = account.markets.get(ticker)
        if am is not None:
            total += am.position_centicontracts
    return total


def _position_text(accounts: list[Account], ticker: str) -> str:
    position = _position(accounts, ticker)
    if position == 0:
        return "flat"
    return f"{format_count_fp(abs(position))} {'YES' if position > 0 else 'NO'}"


def _side_exposure(accounts: list[Account], ticker: str, is_bid: bool, added: int) -> int:
    """The YES (bid side) or NO (ask side) position the member could reach in `ticker` (never below 0)."""
    position = _position(accounts, ticker)
    resting = sum(_resting(account, ticker, is_bid) for account in accounts)
    reach = position + resting + added if is_bid else resting + added - position
    return max(reach, 0)


def _event_tickers(accounts: list[Account], markets: dict[str, Market], market: Market) -> list[str]:
    """The tickers of the event's markets in which the member holds a position or resting orders."""
    tickers = {market.ticker}
    for account in accounts:
        for ticker in account.markets:
            other = markets.get(ticker)
            if other is not None and other.event_ticker == market.event_ticker:
                tickers.add(ticker)
    return sorted(tickers)


def _event_exposure(accounts: list[Account], tickers: list[str], order_ticker: str, is_bid: bool, added: int) -> int:
    total = 0
    for ticker in tickers:
        extra = added if ticker == order_ticker else 0
        yes = _side_exposure(accounts, ticker, True, extra if is_bid else 0)
        no = _side_exposure(accounts, ticker, False, 0 if is_bid else extra)
        total += max(yes, no)
    return total
