"""The operator's surveillance API, under /predictex/v1/admin/surveillance: alerts (list, get, change
their state: open, dismissed, escalated, with a note), linked members (whom the wash-trade detector and
incentive scoring count as one) and the consumer's progress and thresholds. Alerts name members, orders
and trades by their wire ids, and each piece of evidence by the sequence number that committed it."""

from __future__ import annotations

from typing import Any

from predictex.accounts import Lane
from predictex.gateways.rest.handlers import Principal, private
from predictex.gateways.rest.wire import (
    ApiError,
    Query,
    bad_request,
    decode_cursor,
    encode_cursor,
    json_body,
    not_found,
    str_field,
)
from predictex.gateways.shapes.text import rfc3339
from predictex.server import ids
from predictex.server.context import Exchange
from predictex.server.http import Request, Response, json_response
from predictex.server.router import Router
from predictex.surveillance.detectors import KINDS, STATES, Alert
from predictex.surveillance.monitor import Surveillance, SurveillanceError

PREFIX = "/predictex/v1/admin/surveillance"
ALERTS_PAGE_MAX = 1_000
ALERTS_PAGE_DEFAULT = 100
_KINDS = {"order_placed": ids.ORDER, "order_canceled": ids.ORDER, "trade": ids.TRADE}


def register(router: Router, exchange: Exchange) -> None:
    def admin(handler: Any, write: bool = False) -> Any:
        if write:
            return private(exchange, handler, scope="write", lane=Lane.WRITE, admin=True)
        return private(exchange, handler, admin=True)

    router.add("GET", PREFIX + "/alerts", admin(list_alerts))
    router.add("GET", PREFIX + "/alerts/{alert_id}", admin(get_alert))
    router.add("PUT", PREFIX + "/alerts/{alert_id}", admin(update_alert, write=True))
    router.add("GET", PREFIX + "/links", admin(list_links))
    router.add("POST", PREFIX + "/links", admin(create_link, write=True))
    router.add("GET", PREFIX + "/status", admin(status))


def _surveillance(exchange: Exchange) -> Surveillance:
    surveillance = exchange.surveillance
    if surveillance is None:
        raise ApiError(503, "service_unavailable", "surveillance is not running on this server")
    if surveillance.catching_up:
        raise ApiError(503, "service_unavailable", "surveillance is still reading the journal after the start; ask again shortly")
    return surveillance


def member_id(exchange: Exchange, account_id: int) -> str:
    """A member's wire id from any of its engine accounts (a subaccount's member is its primary's)."""
    primary = exchange.live.subaccount_of.get(account_id, (account_id, 0))[0]
    member = exchange.accounts.members.get_by_account(primary)
    return exchange.ids.to_uuid(ids.MEMBER, member.member_id) if member is not None else exchange.ids.to_uuid(ids.ACCOUNT, primary)


def alert_json(exchange: Exchange, alert: Alert, evidence: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "alert_id": alert.key, "kind": alert.kind, "market_ticker": alert.ticker, "state": alert.state, "note": alert.note,
        "summary": alert.summary, "member_ids": [member_id(exchange, a) for a in alert.accounts],
        "created_time": rfc3339(alert.created_ms), "updated_time": rfc3339(alert.updated_ms),
        "state_changed_time": rfc3339(alert.state_changed_ms) if alert.state_changed_ms else None,
        "last_seq": alert.last_seq, "evidence_count": alert.evidence_count,
    }
    if evidence:
        body["evidence"] = [{
            "seq": item.seq, "what": item.what,
            ("trade_id" if item.what == "trade" else "order_id"): exchange.ids.to_uuid(_KINDS[item.what], item.item_id),
            "member_id": member_id(exchange, item.account_id), "subaccount": exchange.live.subaccount_number(item.account_id),
        } for item in sorted(alert.evidence, key=lambda x: (x.seq, x.what))]
    return body


def list_alerts(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Alerts newest first: `state`, `kind`, `market_ticker` and `member_id` filter; `limit` and `cursor` page"""
    query = Query(request.query_params())
    state, kind = query.text("state"), query.text("kind")
    if state and state not in STATES:
        raise bad_request(f"state must be one of {', '.join(STATES)}")
    if kind and kind not in KINDS:
        raise bad_request(f"kind must be one of {', '.join(KINDS)}")
    account = -1
    if query.text("member_id"):
        number = exchange.ids.from_uuid(ids.MEMBER, query.text("member_id"))
        member = exchange.accounts.members.get(number) if number is not None else None
        if member is None:
            raise not_found(f"no member {query.text('member_id')}")
        account = member.engine_account_id
    limit = query.limit(ALERTS_PAGE_DEFAULT, ALERTS_PAGE_MAX)
    cursor = decode_cursor(query.text("cursor"), (int,))
    found = _surveillance(exchange).alerts(state=state, kind=kind, ticker=query.text("market_ticker"), account=account)
    start = cursor[0] if cursor else 0
    page = found[start:start + limit]
    following = encode_cursor([start + limit]) if start + limit < len(found) else ""
    return {"alerts": [alert_json(exchange, a, evidence=False) for a in page], "cursor": following}


def get_alert(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """One alert with its evidence: the orders and trades, by sequence number"""
    alert = _surveillance(exchange).alert(params["alert_id"])
    if alert is None:
        raise not_found(f"no alert {params['alert_id']}")
    return {"alert": alert_json(exchange, alert)}


def update_alert(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Set an alert's state (open, dismissed, escalated) and the operator's note"""
    body = json_body(request.body)
    try:
        alert = _surveillance(exchange).set_state(params["alert_id"], str_field(body, "state", None, 16), str_field(body, "note", "", 2_000))
    except SurveillanceError as error:
        raise ApiError(404 if error.code == "not_found" else 400, error.code, error.message) from error
    return {"alert": alert_json(exchange, alert)}


def _link_json(exchange: Exchange, link: Any) -> dict[str, Any]:
    return {"link_id": link.link_id, "member_ids": [member_id(exchange, link.account_a), member_id(exchange, link.account_b)],
            "after_seq": link.after_seq, "created_time": rfc3339(link.created_ms)}


def list_links(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Members the operator linked: one for wash trades, left out of incentive rewards"""
    return {"links": [_link_json(exchange, link) for link in _surveillance(exchange).links]}


def create_link(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    """Link two members: from the next committed sequence number on, trades between them are wash trades"""
    body = json_body(request.body)
    accounts = []
    for name in ("member_id", "other_member_id"):
        text = str_field(body, name, None, 64)
        number = exchange.ids.from_uuid(ids.MEMBER, text)
        member = exchange.accounts.members.get(number) if number is not None else None
        if member is None:
            raise not_found(f"no member {text}")
        accounts.append(member.engine_account_id)
    try:
        link = _surveillance(exchange).link(accounts[0], accounts[1], exchange.sequencer.committed_seq)
    except SurveillanceError as error:
        raise ApiError(400, error.code, error.message) from error
    return json_response(201, {"link": _link_json(exchange, link)})


def status(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """How far the consumer has read (and where its last checkpoint and this start's resumption were),
    how many alerts it holds, and its thresholds"""
    surveillance = _surveillance(exchange)
    counts = {state: 0 for state in STATES}
    for alert in surveillance.detector.alerts.values():
        counts[alert.state] += 1
    return {"processed_seq": surveillance.processed_seq, "committed_seq": exchange.sequencer.committed_seq,
            "pending": surveillance.pending, "checkpoint_seq": surveillance.checkpoint_seq,
            "resumed_from_seq": surveillance.resumed_from_seq, "alerts": counts, "thresholds": surveillance.thresholds.as_dict()}
