"""A member's own pages: the portfolio, and settings (API keys, password, sessions).

The portfolio's figures are `readmodel/portfolio.py`'s (cash, collateral locked by resting orders,
positions marked to market at the last trade, unrealized P&L), the arithmetic REST's balance and
positions use; the lists (orders, fills, settlements, transfers) are read by the page's script from
the REST API. API keys are made and deleted through the REST routes too (`/web/api`); a generated
private key goes from the REST answer to the browser and nowhere else (the server keeps only the
public key, and logs neither)."""

from __future__ import annotations

import asyncio
from typing import Any

from predictex.accounts import AccountsError
from predictex.accounts.sessions import session_id
from predictex.core.units import format_count_fp
from predictex.gateways.shapes.position_limits import member_position_limits
from predictex.gateways.shapes.text import money, rfc3339
from predictex.gateways.web import security
from predictex.gateways.web.site import Site, Visitor, form
from predictex.readmodel import portfolio
from predictex.server.http import Request, Response, json_response
from predictex.server.router import Router

PASSWORD_LENGTH_MAX = 1024


def register(router: Router, site: Site) -> None:
    pages = AccountPages(site)
    router.add("GET", "/portfolio", pages.portfolio)
    router.add("GET", "/web/portfolio/summary", pages.summary)
    router.add("GET", "/settings", pages.settings)
    router.add("POST", "/settings/password", pages.change_password)
    router.add("POST", "/settings/sessions/end-others", pages.end_other_sessions)


class AccountPages:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.exchange = site.exchange

    def _summary(self, account_id: int) -> dict[str, Any]:
        live = self.exchange.live
        found = portfolio.balances(live, account_id)
        positions = []
        for ticker, holding in sorted(live.holdings.get(account_id, {}).items()):
            if holding.position_centicontracts == 0 and holding.realized_pnl_microdollars == 0 and not holding.hedged_centicontracts():
                continue
            market = live.markets.get(ticker)
            # a row per side held (both, for an account without netting that holds YES and NO); a flat
            # holding with a realized P&L keeps its one row
            sides = portfolio.valuations(live, ticker, holding) or [(True, portfolio.valuation(live, ticker, holding))]
            for index, (is_yes, value) in enumerate(sides):
                positions.append({
                    "ticker": ticker, "title": market.definition.title if market else ticker,
                    "side": "yes" if is_yes else "no",
                    "contracts": format_count_fp(value.quantity_centicontracts),
                    "cost": money(value.cost_microdollars), "value": money(value.value_microdollars),
                    "unrealized_pnl": money(value.unrealized_pnl_microdollars),
                    "realized_pnl": money(holding.realized_pnl_microdollars if index == 0 else 0),
                    "fees_paid": money(holding.fees_paid_microdollars if index == 0 else 0),
                })
        return {
            "cash": money(found.cash_microdollars), "locked": money(found.locked_microdollars),
            "positions_value": money(found.portfolio_value_microdollars), "total": money(found.total_microdollars),
            "pending_withdrawal": money(found.pending_withdrawal_microdollars), "positions": positions, "seq": live.seq,
        }

    def portfolio(self, request: Request, params: dict[str, str]) -> Response:
        visitor = self.site.visitor(request)
        if visitor.principal is None:
            return self.site.to_login(request)
        return self.site.page(request, visitor, "portfolio.html", title="Portfolio", summary=self._summary(visitor.principal.account_id),
                              demo=self.exchange.config.is_demo,
                              position_limits=member_position_limits(self.exchange.live, visitor.principal.account_id))

    def summary(self, request: Request, params: dict[str, str]) -> Response:
        visitor = self.site.visitor(request)
        if visitor.principal is None:
            return json_response(401, {"error": {"code": "authentication_error", "message": "log in first"}})
        return json_response(200, self._summary(visitor.principal.account_id), [("cache-control", "no-store")])

    # --- settings ---------------------------------------------------------------------------------

    def settings(self, request: Request, params: dict[str, str], *, status: int = 200, notice: str = "", error: str = "",
                 visitor: Visitor | None = None) -> Response:
        visitor = visitor or self.site.visitor(request)
        if visitor.principal is None:
            return self.site.to_login(request)
        keys = [{"id": key.key_id, "name": key.name, "scopes": " ".join(key.scopes), "type": key.key_type.value,
                 "created": rfc3339(key.created_ms)} for key in self.exchange.accounts.keys.list(visitor.principal.member.member_id)]
        return self.site.page(request, visitor, "settings.html", status, title="Settings", keys=keys, notice=notice, error=error)

    async def change_password(self, request: Request, params: dict[str, str]) -> Response:
        visitor = self.site.visitor(request)
        fields = form(request)
        if not security.csrf_ok(request, fields.get(security.CSRF_FIELD)):
            return self.site.forbidden(request, visitor, "This form has expired or came from another site. Reload the page and try again.")
        if visitor.principal is None or visitor.token is None:
            return self.site.to_login(request)
        current, new = fields.get("current_password", "")[:PASSWORD_LENGTH_MAX], fields.get("new_password", "")[:PASSWORD_LENGTH_MAX]
        if new != fields.get("new_password_again", ""):
            return self.settings(request, params, status=400, error="The two new passwords differ.", visitor=visitor)
        member = visitor.principal.member
        address = request.client[0] if request.client else None
        accounts = self.exchange.accounts
        if accounts.throttle.wait_ms(member.email, address):
            return self.settings(request, params, status=429, error="Too many wrong passwords; wait a while and try again.",
                                 visitor=visitor)

        def check_and_set() -> str:
            if accounts.members.authenticate(member.email, current) is None:
                accounts.throttle.failed(member.email, address)
                return "The current password is wrong."
            accounts.throttle.succeeded(member.email, address)
            try:
                accounts.members.set_password(member.member_id, new)
            except AccountsError as refused:
                return refused.message
            return ""

        refused = await asyncio.get_running_loop().run_in_executor(None, check_and_set)
        if refused:
            return self.settings(request, params, status=400, error=refused, visitor=visitor)
        ended = accounts.sessions.end_others(member.member_id, session_id(visitor.token))
        return self.settings(request, params, notice=f"Password changed; {ended} other session(s) logged out.", visitor=visitor)

    def end_other_sessions(self, request: Request, params: dict[str, str]) -> Response:
        visitor = self.site.visitor(request)
        if not security.csrf_ok(request, form(request).get(security.CSRF_FIELD)):
            return self.site.forbidden(request, visitor, "This form has expired or came from another site. Reload the page and try again.")
        if visitor.principal is None or visitor.token is None:
            return self.site.to_login(request)
        ended = self.exchange.accounts.sessions.end_others(visitor.principal.member.member_id, session_id(visitor.token))
        return self.settings(request, params, notice=f"{ended} other session(s) logged out.", visitor=visitor)
