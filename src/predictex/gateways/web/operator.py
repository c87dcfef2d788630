"""The operator's console: series, events and markets (create, schedule, pause and resume, determine,
dispute, amend, finalize), the exchange's status, members (list, deposit, withdraw, suspend, close), the
exchange's health, surveillance (alerts with their evidence, the operator's decision on each, linked
members) and a member's audit trail (their order events with each command's source, read from the
journal as `predictex audit export` reads it). Every change is the operator API's own route
(`/predictex/v1/admin/...`) called by the page's script through /web/api, so the forms are validated
by exactly the rules `predictex admin` meets; the browser checks what HTML can (required fields,
patterns) before sending. A member who
opens one of these pages gets 403; a visitor who is not logged in is sent to log in.

`journal verify` runs as the command line's own `predictex journal verify` in a child process (it
opens the store read-only and replays it into a fresh engine), so the server's writer is not shared."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from typing import Any

from predictex.accounts.eligibility import DEPOSIT, METHODS, VERIFICATIONS, WITHDRAWAL
from predictex.core.fees import FEE_TYPES
from predictex.core.instruments import PRICE_LEVEL_STRUCTURES
from predictex.core.limits import TIME_MS_MAX
from predictex.gateways.rest.admin_surveillance import alert_json, member_id
from predictex.gateways.shapes.position_limits import position_limits_json
from predictex.gateways.shapes.text import money, rfc3339
from predictex.gateways.web import security
from predictex.gateways.web.site import Site, Visitor
from predictex.journal import audit as audit_export
from predictex.server import ids
from predictex.server.http import Request, Response, json_response
from predictex.server.router import Router
from predictex.surveillance.detectors import STATES

MEMBERS_LISTED_MAX = 500
PAYMENTS_LISTED_MAX = 500  # the newest
ALERTS_LISTED_MAX = 500
AUDIT_ROWS_SHOWN_MAX = 2_000  # on the page; the CSV and JSON links carry every row
AUDIT_FIELD_CHARS_MAX = 64
VERIFY_TIMEOUT_S = 300.0
VERIFY_OUTPUT_CHARS_MAX = 4000
RESULTS = ("yes", "no", "scalar", "void")


def _iso_ms(text: str, default: int) -> int:
    """A UTC time from the audit form (ISO 8601; no zone means UTC), in ms."""
    if not text:
        return default
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a time: write it as 2026-12-07T17:00:00 (UTC).") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    ms = int(moment.timestamp() * 1000)
    if not 0 <= ms <= TIME_MS_MAX:
        raise ValueError(f"{text!r} is outside 1970-9999.")
    return ms


def register(router: Router, site: Site) -> None:
    console = Console(site)
    router.add("GET", "/operator", console.markets)
    router.add("GET", "/operator/members", console.members)
    router.add("GET", "/operator/health", console.health)
    router.add("GET", "/operator/surveillance", console.surveillance)
    router.add("GET", "/operator/audit", console.audit)
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
            position_limits=position_limits_json(live),
        )

    def members(self, request: Request, params: dict[str, str]) -> Response:
        visitor, refused = self._operator(request)
        if refused is not None:
            return refused
        live = self.exchange.live
        eligibility = self.exchange.accounts.eligibility
        rows: list[dict[str, Any]] = []
        emails: dict[int, str] = {}
        for member in self.exchange.accounts.members.list(limit=MEMBERS_LISTED_MAX):
            balance = live.balances.get(member.engine_account_id)
            verification, residence = eligibility.of(member.member_id)
            emails[member.member_id] = member.email
            rows.append({
                "id": self.exchange.ids.to_uuid(ids.MEMBER, member.member_id),
                "email": member.email, "role": member.role.value, "tier": member.tier.value, "suspended": member.suspended,
                "closed": member.closed, "cash": money(balance.cash_microdollars) if balance else "0.0000",
                "verification": verification, "state": residence, "refused": live.not_eligible.get(member.engine_account_id, ""),
            })
        payments = [{
            "payment_id": p.payment_id, "email": emails.get(p.member_id, str(p.member_id)), "direction": p.direction,
            "method": p.method, "amount": money(p.amount_microdollars), "status": p.status, "reason": p.reason,
        } for p in eligibility.payments()[-PAYMENTS_LISTED_MAX:]]
        return self.site.page(request, visitor, "operator_members.html", title="Operator: members", members=rows, payments=payments,
                              verifications=VERIFICATIONS, restricted=eligibility.restricted_states(), methods=METHODS,
                              directions=(DEPOSIT, WITHDRAWAL))

    def surveillance(self, request: Request, params: dict[str, str]) -> Response:
        visitor, refused = self._operator(request)
        if refused is not None:
            return refused
        surveillance = self.exchange.surveillance
        if surveillance is None or surveillance.catching_up:
            return self.site.forbidden(request, visitor, "Surveillance is not running yet (it reads the journal after a start).")
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

    async def audit(self, request: Request, params: dict[str, str]) -> Response:
        """A member's order events in a window (times in UTC, ISO 8601; blank: from the start, to now),
        with links to the operator API's CSV and JSON of the same rows."""
        visitor, refused = self._operator(request)
        if refused is not None:
            return refused
        query = {name: (values[0] if values else "").strip()[:AUDIT_FIELD_CHARS_MAX] for name, values in request.query_params().items()}
        chosen = {"member_id": query.get("member_id", ""), "from": query.get("from", ""), "to": query.get("to", "")}
        rows: list[dict[str, Any]] | None = None
        problem = ""
        links: dict[str, str] = {}
        if chosen["member_id"]:
            try:
                account, window = self._audit_terms(chosen)
            except ValueError as error:
                problem = str(error)
            else:
                journal = self.exchange.sequencer.journal
                found = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: list(audit_export.order_events(journal, account, window[0], window[1])))
                rows = [dict(row, source=audit_export.source_text(row["source"])) for row in found[:AUDIT_ROWS_SHOWN_MAX]]
                shown = f"from={window[0]}&to={window[1]}"
                base = f"/web/api/predictex/v1/admin/members/{chosen['member_id']}/audit?{shown}"
                links = {"csv": base + "&format=csv", "json": base + "&format=json", "total": str(len(found))}
        members = [{"id": self.exchange.ids.to_uuid(ids.MEMBER, m.member_id), "email": m.email}
                   for m in self.exchange.accounts.members.list(limit=MEMBERS_LISTED_MAX)]
        return self.site.page(request, visitor, "operator_audit.html", title="Operator: audit trail", members=members,
                              chosen=chosen, rows=rows, problem=problem, links=links, columns=audit_export.COLUMNS)

    def _audit_terms(self, chosen: dict[str, str]) -> tuple[int, tuple[int, int]]:
        number = self.exchange.ids.from_uuid(ids.MEMBER, chosen["member_id"])
        member = self.exchange.accounts.members.get(number) if number is not None else None
        if member is None:
            raise ValueError(f"No member {chosen['member_id']}.")
        window = (_iso_ms(chosen["from"], 0), _iso_ms(chosen["to"], TIME_MS_MAX))
        if window[1] < window[0]:
            raise ValueError("The end of the window is before its start.")
        return member.engine_account_id, window

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
