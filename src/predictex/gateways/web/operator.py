"""The operator's console: series, events and markets (create, schedule, pause and resume, determine,
dispute, amend, finalize), the exchange's status, members (list, deposit, withdraw, suspend), the
exchange's health and surveillance (alerts with their evidence, the operator's decision on each, linked
members). Every change is the operator API's own route (`/predictex/v1/admin/...`) called by
the page's script through /web/api, so the forms are validated by exactly the rules `predictex admin`
meets; the browser checks what HTML can (required fields, patterns) before sending. A member who
opens one of these pages gets 403; a visitor who is not logged in is sent to log in.

`journal verify` runs as the command line's own `predictex journal verify` in a child process (it
opens the store read-only and replays it into a fresh engine), so the server's writer is not shared."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from predictex.core.fees import FEE_TYPES
from predictex.core.instruments import PRICE_LEVEL_STRUCTURES
from predictex.gateways.rest.admin_surveillance import alert_json, member_id
from predictex.gateways.shapes.text import money, rfc3339
from predictex.gateways.web import security
from predictex.gateways.web.site import Site, Visitor
from predictex.server import ids
from predictex.server.http import Request, Response, json_response
from predictex.server.router import Router
from predictex.surveillance.detectors import STATES

MEMBERS_LISTED_MAX = 500
ALERTS_LISTED_MAX = 500
VERIFY_TIMEOUT_S = 300.0
VERIFY_OUTPUT_CHARS_MAX = 4000
RESULTS = ("yes", "no", "scalar", "void")


def register(router: Router, site: Site) -> None:
    console = Console(site)
    router.add("GET", "/operator", console.markets)
    router.add("GET", "/operator/members", console.members)
    router.add("GET", "/operator/health", console.health)
    router.add("GET", "/operator/surveillance", console.surveillance)
    router.add("POST", "/web/operator/verify", console.verify)


class Console:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.exchange = site.exchange

    def _operator(self, request: Request) -> tuple[Visitor, Response | None]:
        visitor = self.site.visitor(request)
        if visitor.principal is None:
            return visitor, self.site.to_login(request)
        if not visitor.is_operator:
            return visitor, self.site.forbidden(request, visitor, "This page is for the exchange's operator.")
        return visitor, None

    def markets(self, request: Request, params: dict[str, str]) -> Response:
        visitor, refused = self._operator(request)
        if refused is not None:
            return refused
        live = self.exchange.live
        markets = [{
            "ticker": m.ticker, "title": m.definition.title, "event": m.event_ticker, "status": m.status, "result": m.result,
            "open": rfc3339(m.open_time_ms), "close": rfc3339(m.close_time_ms),
        } for m in sorted(live.markets.values(), key=lambda m: (m.event_ticker, m.ticker))]
        return self.site.page(
            request, visitor, "operator.html", title="Operator: markets", markets=markets, series=sorted(live.series),
            events=sorted(live.events), fee_types=FEE_TYPES, structures=sorted(PRICE_LEVEL_STRUCTURES), results=RESULTS,
            exchange_active=live.exchange_active, trading_active=live.trading_active,
        )

    def members(self, request: Request, params: dict[str, str]) -> Response:
        visitor, refused = self._operator(request)
        if refused is not None:
            return refused
        live = self.exchange.live
        rows: list[dict[str, Any]] = []
        for member in self.exchange.accounts.members.list(limit=MEMBERS_LISTED_MAX):
            balance = live.balances.get(member.engine_account_id)
            rows.append({
                "id": self.exchange.ids.to_uuid(ids.MEMBER, member.member_id),
                "email": member.email, "role": member.role.value, "tier": member.tier.value, "suspended": member.suspended,
                "cash": money(balance.cash_microdollars) if balance else "0.0000",
            })
        return self.site.page(request, visitor, "operator_members.html", title="Operator: members", members=rows)

    def surveillance(self, request: Request, params: dict[str, str]) -> Response:
        visitor, refused = self._operator(request)
        if refused is not None:
            return refused
        surveillance = self.exchange.surveillance
        if surveillance is None:
            return self.site.forbidden(request, visitor, "Surveillance is not running on this server.")
        state = (request.query_params().get("state") or [""])[-1]
        found = surveillance.alerts(state=state if state in STATES else "")
        alerts = [alert_json(self.exchange, a) for a in found[:ALERTS_LISTED_MAX]]
        links = [{"member_ids": [member_id(self.exchange, x) for x in (link.account_a, link.account_b)], "after_seq": link.after_seq}
                 for link in surveillance.links]
        return self.site.page(
            request, visitor, "operator_surveillance.html", title="Operator: surveillance", alerts=alerts, shown=len(alerts),
            total=len(found), state=state if state in STATES else "", states=STATES, links=links,
            processed_seq=surveillance.processed_seq, committed_seq=self.exchange.sequencer.committed_seq,
        )

    def _health(self) -> dict[str, Any]:
        exchange = self.exchange
        sequencer = exchange.sequencer
        store = exchange.store
        snapshot = store.query("SELECT MAX(seq) FROM snapshots", ())
        batches = store.query("SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM journal_batches", ())
        return {
            "status": "failed" if sequencer.failed else "ok", "environment": exchange.config.environment,
            "journal": store.description, "committed_seq": sequencer.committed_seq, "applied_seq": sequencer.last_seq,
            "last_snapshot_seq": int(snapshot[0][0] or 0), "journal_batches": int(batches[0][0]), "journal_bytes": int(batches[0][1]),
            "batches_committed": sequencer.batches_committed, "queued": sequencer.queued,
            "markets": len(exchange.live.markets), "open_orders": len(exchange.live.orders),
            "exchange_active": exchange.live.exchange_active, "trading_active": exchange.live.trading_active,
        }

    def health(self, request: Request, params: dict[str, str]) -> Response:
        visitor, refused = self._operator(request)
        if refused is not None:
            return refused
        if "application/json" in (request.headers.get("accept") or ""):
            return json_response(200, self._health(), [("cache-control", "no-store")])
        return self.site.page(request, visitor, "operator_health.html", title="Operator: health", health=self._health())

    async def verify(self, request: Request, params: dict[str, str]) -> Response:
        """`predictex journal verify` on this server's journal, in a child process."""
        _visitor, refused = self._operator(request)
        if refused is not None:
            return refused
        if not security.csrf_ok(request, request.headers.get(security.CSRF_HEADER)):
            return json_response(403, {"error": {"code": "csrf_failed", "message": "this request needs the page's CSRF token"}})
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "predictex.cli.main", "journal", "verify", "--database", self.exchange.config.database_url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            output, _ = await asyncio.wait_for(process.communicate(), VERIFY_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            return json_response(200, {"ok": False, "output": f"journal verify took more than {VERIFY_TIMEOUT_S:.0f} s; run it from the shell"})
        text = output.decode("utf-8", "replace")[-VERIFY_OUTPUT_CHARS_MAX:]
        return json_response(200, {"ok": process.returncode == 0, "output": text})
