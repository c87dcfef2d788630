"""The operator's API (admin role), under /predictex/v1/admin: instruments, the lifecycle, the
exchange's switches, members and money. Everything goes through the sequencer like any other
command, so it is journaled and replayed like everything else."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from predictex.accounts import AccountsError, Lane
from predictex.accounts.eligibility import (
    COMPLETED,
    DEPOSIT,
    FAILED,
    METHODS,
    PENDING,
    US_STATES,
    VERIFICATIONS,
    VERIFIED,
    WITHDRAWAL,
)
from predictex.accounts.members import Role, Tier
from predictex.core import commands as c
from predictex.core.fees import FEE_MULTIPLIER_ONE_BPS, FEE_TYPES
from predictex.core.instruments import ACTIVE, INACTIVE
from predictex.core.limits import SETTLEMENT_TIMER_SECONDS_MAX, TICKER_LENGTH_MAX, TIME_MS_MAX
from predictex.core.position_limits import POSITION_LIMIT_CENTICONTRACTS_MAX
from predictex.core.text import is_ascii_digits
from predictex.core.units import UnitError, count_from_contracts, money_from_cents, parse_price_dollars
from predictex.gateways.rest.handlers import Principal, execute, private
from predictex.gateways.rest.kalshi_v2.keys import accounts_error
from predictex.gateways.rest.wire import (
    ApiError,
    Query,
    bad_request,
    bool_field,
    int_field,
    json_body,
    not_found,
    parse_money_field,
    str_field,
)
from predictex.gateways.shapes.position_limits import position_limits_json
from predictex.gateways.shapes.text import money, rfc3339
from predictex.journal import audit
from predictex.server import eligibility, ids, payments
from predictex.server.context import Exchange
from predictex.server.http import Request, Response, empty_response, json_response, text_response
from predictex.server.membership import MembershipError, sign_up
from predictex.server.router import Router
from predictex.server.sequencer import SequencerStopped

PREFIX = "/predictex/v1/admin"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def register(router: Router, exchange: Exchange) -> None:
    def admin(handler: Any) -> Any:
        return private(exchange, handler, scope="write", lane=Lane.WRITE, admin=True)

    router.add("POST", PREFIX + "/series", admin(create_series))
    router.add("POST", PREFIX + "/events", admin(create_event))
    router.add("POST", PREFIX + "/markets", admin(create_market))
    router.add("POST", PREFIX + "/markets/{ticker}/pause", admin(pause_market))
    router.add("POST", PREFIX + "/markets/{ticker}/resume", admin(resume_market))
    router.add("POST", PREFIX + "/markets/{ticker}/times", admin(set_times))
    router.add("POST", PREFIX + "/markets/{ticker}/determine", admin(determine))
    router.add("POST", PREFIX + "/markets/{ticker}/dispute", admin(dispute))
    router.add("POST", PREFIX + "/markets/{ticker}/amend", admin(amend_result))
    router.add("POST", PREFIX + "/markets/{ticker}/finalize", admin(finalize))
    router.add("POST", PREFIX + "/exchange/status", admin(exchange_status))
    router.add("GET", PREFIX + "/members", admin(list_members))
    router.add("PUT", PREFIX + "/members/{member_id}/eligibility", admin(set_eligibility))
    router.add("GET", PREFIX + "/restricted_states", private(exchange, get_restricted_states, admin=True))
    router.add("PUT", PREFIX + "/restricted_states", admin(set_restricted_states))
    router.add("GET", PREFIX + "/payments", private(exchange, list_payments, admin=True))
    router.add("POST", PREFIX + "/members/{member_id}/payments", admin(create_payment))
    router.add("POST", PREFIX + "/payments/{payment_id}/complete", admin(complete_payment))
    router.add("POST", PREFIX + "/payments/{payment_id}/fail", admin(fail_payment))
    router.add("GET", PREFIX + "/position_limits", private(exchange, list_position_limits, admin=True))
    router.add("POST", PREFIX + "/position_limits", admin(set_position_limit))
    router.add("GET", PREFIX + "/members/{member_id}/audit", private(exchange, member_audit, admin=True))
    router.add("POST", PREFIX + "/members", admin(create_member))
    router.add("PUT", PREFIX + "/members/{member_id}/tier", admin(set_tier))
    router.add("POST", PREFIX + "/members/{member_id}/suspend", admin(suspend_member))
    router.add("POST", PREFIX + "/members/{member_id}/reinstate", admin(reinstate_member))
    router.add("POST", PREFIX + "/members/{member_id}/close", admin(close_member))
    router.add("DELETE", PREFIX + "/members/{member_id}/login_failures", admin(clear_login_failures))
    router.add("POST", PREFIX + "/members/{member_id}/deposits", admin(member_deposit))
    router.add("POST", PREFIX + "/members/{member_id}/withdrawals", admin(member_withdrawal))
    router.add("POST", PREFIX + "/withdrawals/{withdrawal_id}/complete", admin(complete_withdrawal))
    router.add("POST", PREFIX + "/withdrawals/{withdrawal_id}/cancel", admin(cancel_withdrawal))


# --- reading bodies -----------------------------------------------------------------------------------

def time_field(body: dict[str, Any], name: str, default: int | None = None) -> int:
    """A time as Unix seconds (int) or an RFC 3339 string, in milliseconds."""
    value = body.get(name)
    if value is None:
        if default is None:
            raise ApiError(400, "missing_parameters", f"{name} is required")
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return _in_range(name, value * 1000)
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as error:
            raise bad_request(f"{name} must be Unix seconds or an RFC 3339 time") from error
        if moment.tzinfo is None:
            raise bad_request(f"{name} needs a time zone (e.g. Z)")
        return _in_range(name, (moment - _EPOCH) // dt.timedelta(milliseconds=1))
    raise bad_request(f"{name} must be Unix seconds or an RFC 3339 time")


def _in_range(name: str, ms: int) -> int:
    # every time is shown as RFC 3339 later: one past year 9999 (or before 1970) would fail every read of it
    if not 0 <= ms <= TIME_MS_MAX:
        raise bad_request(f"{name} must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
    return ms


def fee_multiplier_field(body: dict[str, Any]) -> int:
    value = body.get("fee_multiplier", 1)
    if isinstance(value, int) and not isinstance(value, bool):
        return value * FEE_MULTIPLIER_ONE_BPS
    if isinstance(value, str):
        try:
            return parse_price_dollars(value)  # four decimals, like a multiplier in basis points
        except UnitError as error:
            raise bad_request(f"fee_multiplier: {error}") from error
    raise bad_request("fee_multiplier must be an integer or a decimal string such as \"0.5\"")


def _string_list(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"{name} must be a list of strings")
    return value


def _sources(body: dict[str, Any]) -> list[list[str]]:
    value = body.get("settlement_sources", [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise bad_request("settlement_sources must be a list of {name, url}")
    return [[str_field(v, "name", "", 500), str_field(v, "url", "", 2000)] for v in value]


def _settlement_value(body: dict[str, Any]) -> int:
    value = body.get("settlement_value_dollars")
    if value is None:
        return -1
    if not isinstance(value, str):
        raise bad_request("settlement_value_dollars must be a dollar string such as \"0.3300\"")
    try:
        return parse_price_dollars(value)
    except UnitError as error:
        raise bad_request(f"settlement_value_dollars: {error}") from error


# --- instruments and lifecycle ------------------------------------------------------------------------

async def create_series(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    body = json_body(request.body)
    fee_type = str_field(body, "fee_type", "quadratic", 64)
    if fee_type not in FEE_TYPES:
        raise bad_request(f"fee_type must be one of {', '.join(FEE_TYPES)}")
    await execute(exchange, c.CreateSeries(
        str_field(body, "ticker", None, TICKER_LENGTH_MAX), str_field(body, "title", ""), str_field(body, "category", ""),
        str_field(body, "frequency", ""), fee_type, fee_multiplier_field(body), _string_list(body, "tags"), _sources(body),
        str_field(body, "contract_url", ""), str_field(body, "contract_terms_url", ""),
    ))
    return json_response(201, {"series_ticker": body["ticker"]})


async def create_event(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    body = json_body(request.body)
    strike_date = time_field(body, "strike_date", 0) if body.get("strike_date") is not None else 0
    await execute(exchange, c.CreateEvent(
        str_field(body, "event_ticker", None, TICKER_LENGTH_MAX), str_field(body, "series_ticker", None, TICKER_LENGTH_MAX), str_field(body, "title", ""),
        str_field(body, "sub_title", ""), bool_field(body, "mutually_exclusive"), strike_date, str_field(body, "strike_period", ""),
    ))
    return json_response(201, {"event_ticker": body["event_ticker"]})


async def create_market(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    body = json_body(request.body)
    now = exchange.clock.now_ms()
    outcome = await execute(exchange, c.CreateMarket(
        str_field(body, "ticker", None, TICKER_LENGTH_MAX), str_field(body, "event_ticker", None, TICKER_LENGTH_MAX), str_field(body, "title", ""),
        time_field(body, "open_time", now), time_field(body, "close_time"),
        market_type=str_field(body, "market_type", "binary", 16), subtitle=str_field(body, "subtitle", ""),
        yes_sub_title=str_field(body, "yes_sub_title", ""), no_sub_title=str_field(body, "no_sub_title", ""),
        rules_primary=str_field(body, "rules_primary", ""), rules_secondary=str_field(body, "rules_secondary", ""),
        expected_expiration_ms=time_field(body, "expected_expiration_time", 0) if body.get("expected_expiration_time") else 0,
        settlement_timer_s=int_field(body, "settlement_timer_seconds", 0, 0, SETTLEMENT_TIMER_SECONDS_MAX),
        price_level_structure=str_field(body, "price_level_structure", "linear_cent", 64),
        fractional_trading=bool_field(body, "fractional_trading_enabled"), can_close_early=bool_field(body, "can_close_early"),
        strike_type=str_field(body, "strike_type", "", 32), floor_strike=strike_field(body, "floor_strike"),
        cap_strike=strike_field(body, "cap_strike"),
        fee_waiver_expiration_ms=time_field(body, "fee_waiver_expiration_time", 0) if body.get("fee_waiver_expiration_time") else 0,
    ))
    return json_response(201, {
        "ticker": body["ticker"], "market_id": exchange.ids.to_uuid(ids.MARKET, outcome.value),
    })


def strike_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        whole, _, fraction = value.removeprefix("-").partition(".")
        if is_ascii_digits(whole) and (not fraction or is_ascii_digits(fraction)) and len(value) <= 32:
            return value
    raise bad_request(f"{name} must be a number written as a string (e.g. \"69.5\") or an integer")


async def pause_market(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    await execute(exchange, c.PauseMarket(params["ticker"]))
    return {"ticker": params["ticker"], "status": INACTIVE}


async def resume_market(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    await execute(exchange, c.ResumeMarket(params["ticker"]))
    return {"ticker": params["ticker"], "status": ACTIVE}


async def set_times(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    body = json_body(request.body)
    open_ms = time_field(body, "open_time", 0) if body.get("open_time") is not None else 0
    close_ms = time_field(body, "close_time", 0) if body.get("close_time") is not None else 0
    if not open_ms and not close_ms:
        raise ApiError(400, "missing_parameters", "give open_time and/or close_time")
    await execute(exchange, c.SetMarketTimes(params["ticker"], open_ms, close_ms))
    market = exchange.live.markets[params["ticker"]]
    return {"ticker": market.ticker, "open_time": rfc3339(market.open_time_ms), "close_time": rfc3339(market.close_time_ms), "status": market.status}


async def determine(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    body = json_body(request.body)
    await execute(exchange, c.DetermineMarket(
        params["ticker"], str_field(body, "result", None, 16), _settlement_value(body), str_field(body, "source", ""),
    ))
    return _status(exchange, params["ticker"])


async def dispute(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    body = json_body(request.body, required=False)
    await execute(exchange, c.DisputeMarket(params["ticker"], str_field(body, "reason", "")))
    return _status(exchange, params["ticker"])


async def amend_result(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    body = json_body(request.body)
    await execute(exchange, c.AmendMarketResult(
        params["ticker"], str_field(body, "result", None, 16), _settlement_value(body), str_field(body, "source", ""),
    ))
    return _status(exchange, params["ticker"])


async def finalize(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    await execute(exchange, c.FinalizeMarket(params["ticker"]))
    return _status(exchange, params["ticker"])


def _status(exchange: Exchange, ticker: str) -> dict[str, Any]:
    market = exchange.live.markets[ticker]
    return {"ticker": ticker, "status": market.status, "result": market.result}


async def exchange_status(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    body = json_body(request.body)
    exchange_active = bool_field(body, "exchange_active", True)
    trading_active = bool_field(body, "trading_active", True)
    await execute(exchange, c.SetExchangeStatus(exchange_active, trading_active))
    return {"exchange_active": exchange_active, "trading_active": trading_active}


# --- members and money ------------------------------------------------------------------------------

def _member_json(exchange: Exchange, member: Any) -> dict[str, Any]:
    verification, residence = exchange.accounts.eligibility.of(member.member_id)
    return {
        "member_id": exchange.ids.to_uuid(ids.MEMBER, member.member_id), "email": member.email, "role": member.role.value,
        "tier": member.tier.value, "created_time": rfc3339(member.created_ms), "suspended": member.suspended,
        "simulated": member.simulated, "closed": member.closed,
        "verification": verification, "state_of_residence": residence or None,
        "trading_refused_because": exchange.live.not_eligible.get(member.engine_account_id) or None,
    }


def _member(exchange: Exchange, member_id: str) -> Any:
    number = exchange.ids.from_uuid(ids.MEMBER, member_id)
    member = exchange.accounts.members.get(number) if number is not None else None
    if member is None:
        raise not_found(f"no member {member_id}")
    return member


def list_position_limits(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    return position_limits_json(exchange.live)


async def set_position_limit(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Position limits per member for a series (`series_ticker`: `market_limit` per market and
    `event_limit` per event) or one market (`market_ticker`: `market_limit`, overriding its series'),
    in whole contracts; 0 lifts a limit. Enforced by the engine at order entry."""
    body = json_body(request.body)
    series, market = body.get("series_ticker"), body.get("market_ticker")
    if (series is None) == (market is None):
        raise bad_request("give series_ticker or market_ticker (one of them)")
    ticker = str_field(body, "series_ticker" if series is not None else "market_ticker", None, TICKER_LENGTH_MAX)
    market_limit = int_field(body, "market_limit", 0, 0, POSITION_LIMIT_CENTICONTRACTS_MAX // count_from_contracts(1))
    event_limit = int_field(body, "event_limit", 0, 0, POSITION_LIMIT_CENTICONTRACTS_MAX // count_from_contracts(1))
    await execute(exchange, c.SetPositionLimit(
        "series" if series is not None else "market", ticker, count_from_contracts(market_limit), count_from_contracts(event_limit)))
    return position_limits_json(exchange.live)


async def member_audit(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    """The member's order events from the journal, in sequence, with each command's source (the
    audit export; `predictex audit export` writes the same): `from` and `to` are RFC 3339 times or Unix
    milliseconds, `format` csv or json."""
    member = _member(exchange, params["member_id"])
    query = Query(request.query_params())
    window = {name: _query_time(name, query.text(name), default) for name, default in (("from", 0), ("to", TIME_MS_MAX))}
    if window["to"] < window["from"]:
        raise bad_request("to is before from")
    form = query.text("format", "json")
    if form not in ("csv", "json"):
        raise bad_request("format must be csv or json")
    journal = exchange.sequencer.journal
    rows = await asyncio.get_running_loop().run_in_executor(
        None, lambda: list(audit.order_events(journal, member.engine_account_id, window["from"], window["to"])))
    if form == "csv":
        return text_response(200, audit.to_csv(rows), "text/csv; charset=utf-8")
    return Response(200, audit.to_json(rows))


def _query_time(name: str, text: str, default: int) -> int:
    """A query's time: Unix milliseconds (digits) or an RFC 3339 string."""
    if not text:
        return default
    if is_ascii_digits(text) and len(text) <= 16:
        return _in_range(name, int(text))
    return time_field({name: text}, name)


# --- eligibility and payments ----------------------------------------------------------------------

async def set_eligibility(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """A member's `verification` (pending, verified, rejected) and/or `state_of_residence` (a US
    state's two-letter code, or "" for none on record); the engine refuses their orders from then on
    if they may not trade."""
    body = json_body(request.body)
    member = _member(exchange, params["member_id"])
    verification = str_field(body, "verification", "", 16) or None
    residence = body.get("state_of_residence")
    if residence is not None and not isinstance(residence, str):
        raise bad_request("state_of_residence must be a string")
    try:
        exchange.accounts.eligibility.set(member.member_id, verification, residence)
    except AccountsError as error:
        raise accounts_error(error) from error
    await eligibility.sync(exchange, [(member.member_id, member.engine_account_id)], principal.member.member_id)
    return _member_json(exchange, member)


def get_restricted_states(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    return {"restricted_states": list(exchange.accounts.eligibility.restricted_states())}


async def set_restricted_states(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """The states whose residents may not trade (`states`: two-letter codes; [] restricts none)."""
    states = json_body(request.body).get("states")
    if not isinstance(states, list) or not all(isinstance(s, str) for s in states):
        raise bad_request("states must be a list of two-letter state codes")
    try:
        exchange.accounts.eligibility.set_restricted_states(states)
    except AccountsError as error:
        raise accounts_error(error) from error
    await eligibility.reconcile(exchange)
    return get_restricted_states(exchange, principal, request, params)


def _payment_json(exchange: Exchange, payment: Any) -> dict[str, Any]:
    return {
        "payment_id": payment.payment_id, "member_id": exchange.ids.to_uuid(ids.MEMBER, payment.member_id),
        "direction": payment.direction, "method": payment.method, "amount_dollars": money(payment.amount_microdollars),
        "status": payment.status, "reason": payment.reason or None, "created_time": rfc3339(payment.created_ms),
        "updated_time": rfc3339(payment.changed_ms),
    }


def list_payments(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    member_id = Query(request.query_params()).text("member_id")
    number = _member(exchange, member_id).member_id if member_id else None
    return {"payments": [_payment_json(exchange, p) for p in exchange.accounts.eligibility.payments(number)]}


async def create_payment(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    """A deposit or withdrawal record (`direction`), by `method` (ach, wire, card), of `amount_dollars`,
    pending until the operator completes it or marks it failed. Verified members only. A withdrawal
    sets the money aside at once (at least $10, never more than the available cash: the engine's
    rules); a deposit moves money only when completed."""
    body = json_body(request.body)
    member = _member(exchange, params["member_id"])
    direction = str_field(body, "direction", None, 16)
    method = str_field(body, "method", None, 16)
    if direction not in (DEPOSIT, WITHDRAWAL):
        raise bad_request("direction must be deposit or withdrawal")
    if method not in METHODS:
        raise bad_request(f"method must be one of {', '.join(METHODS)}")
    verification, _ = exchange.accounts.eligibility.of(member.member_id)
    if verification != VERIFIED:
        raise ApiError(403, "member_not_verified", "only verified members may deposit or withdraw",
                       f"member {params['member_id']} is {verification}: verify the member first")
    amount = _amount(body)
    records = exchange.accounts.eligibility
    payment = records.new_payment(member.member_id, direction, method, amount, 0)  # first: a crash leaves a record to resolve
    if direction == WITHDRAWAL:
        records.settling.add(payment.payment_id)
        try:
            withdrawal = (await execute(exchange, c.RequestWithdrawal(member.engine_account_id, amount))).value
        except ApiError as error:
            if not isinstance(error.__cause__, SequencerStopped):  # a stopped journal may have written it: a restart resolves it
                records.delete_payment(payment)  # refused: nothing was set aside, and no record stays
            raise
        finally:
            records.settling.discard(payment.payment_id)
        records.attach_withdrawal(payment, withdrawal)
    return json_response(201, _payment_json(exchange, payment))


def _pending_payment(exchange: Exchange, payment_id: str) -> Any:
    payment = exchange.accounts.eligibility.payment(int(payment_id)) if is_ascii_digits(payment_id) and len(payment_id) < 19 else None
    if payment is None:
        raise not_found(f"no payment {payment_id}")
    if payment.payment_id in exchange.accounts.eligibility.settling:
        raise ApiError(409, "payment_in_progress", "the payment is being settled", f"payment {payment_id} has a request on its way")
    payment = payments.resolve(exchange, payment)  # what a crash mid-payment left: never moved twice
    if payment.status != PENDING:
        raise ApiError(409, "payment_not_pending", "the payment is no longer pending", f"payment {payment_id} is {payment.status}")
    return payment


async def complete_payment(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    payment = _pending_payment(exchange, params["payment_id"])
    member = exchange.accounts.members.get(payment.member_id)
    command = c.Deposit(member.engine_account_id, payment.amount_microdollars, payments.deposit_reference(payment)) \
        if payment.direction == DEPOSIT else c.CompleteWithdrawal(payment.withdrawal_id)
    await _settling(exchange, payment, command)
    return _payment_json(exchange, exchange.accounts.eligibility.settle_payment(payment, COMPLETED))


async def _settling(exchange: Exchange, payment: Any, command: Any) -> None:
    """The payment's engine command, with the payment marked as settling until it is answered."""
    settling = exchange.accounts.eligibility.settling
    settling.add(payment.payment_id)
    try:
        await execute(exchange, command)
    finally:
        settling.discard(payment.payment_id)


async def fail_payment(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    payment = _pending_payment(exchange, params["payment_id"])
    reason = str_field(json_body(request.body) if request.body else {}, "reason", "", 500)
    if payment.direction == WITHDRAWAL:
        await _settling(exchange, payment, c.CancelWithdrawal(payment.withdrawal_id))  # the money set aside is available again
    return _payment_json(exchange, exchange.accounts.eligibility.settle_payment(payment, FAILED, reason))


def list_members(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    return {"members": [_member_json(exchange, m) for m in exchange.accounts.members.list(limit=1000)]}


async def create_member(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    body = json_body(request.body)
    try:
        role = Role(str_field(body, "role", "member", 16))
        tier = Tier(str_field(body, "tier", "basic", 16))
    except ValueError as error:
        raise bad_request(str(error)) from error
    simulated = bool_field(body, "simulated")
    verification, residence = str_field(body, "verification", "", 16), str_field(body, "state_of_residence", "", 8).upper()
    if verification and verification not in VERIFICATIONS:
        raise bad_request(f"verification must be one of {', '.join(VERIFICATIONS)}")
    if residence and residence not in US_STATES:
        raise bad_request(f"{residence!r} is not a US state's two-letter code")
    try:
        member = await sign_up(exchange, str_field(body, "email", None, 320), str_field(body, "password", None, 1024), role=role, tier=tier,
                               simulated=simulated)  # the market simulator's traders, marked for operators
    except MembershipError as error:
        raise ApiError(409 if error.code == "duplicate_email" else 400, error.code, error.message) from error
    if verification or residence:  # the operator's word at creation (default: verified, no state on record)
        try:
            exchange.accounts.eligibility.set(member.member_id, verification or None, residence or None)
        except AccountsError as error:
            raise accounts_error(error) from error
        await eligibility.sync(exchange, [(member.member_id, member.engine_account_id)], principal.member.member_id)
    return json_response(201, _member_json(exchange, member))


def set_tier(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    body = json_body(request.body)
    member = _member(exchange, params["member_id"])
    try:
        updated = exchange.accounts.members.set_tier(member.member_id, Tier(str_field(body, "tier", None, 16)))
    except ValueError as error:
        raise bad_request(f"tier must be one of {', '.join(t.value for t in Tier)}") from error
    except AccountsError as error:
        raise accounts_error(error) from error
    return _member_json(exchange, updated)


async def suspend_member(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Suspend a member: every key, session and logon of theirs refused, every open session ended

    From the commit on; their resting orders are canceled too unless `cancel_orders` is false."""
    body = json_body(request.body, required=False)
    member = _member(exchange, params["member_id"])
    if member.member_id == principal.member.member_id:
        raise bad_request("an operator cannot suspend their own account")
    reason = str_field(body, "reason", "", 500)
    cancel_orders = bool_field(body, "cancel_orders", True)
    try:
        suspended = exchange.accounts.suspend(member.member_id, reason)
    except AccountsError as error:
        raise accounts_error(error) from error
    if cancel_orders:  # after the revocation: nothing of theirs can be placed behind this cancel
        await execute(exchange, c.CancelAllOrders(member.engine_account_id, ""))
    return _member_json(exchange, suspended)


def reinstate_member(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Lift a suspension: the member's keys and password work again"""
    member = _member(exchange, params["member_id"])
    try:
        return _member_json(exchange, exchange.accounts.members.reinstate(member.member_id))
    except AccountsError as error:
        raise accounts_error(error) from error


async def close_member(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    """Close a member's account for good, as Kalshi closes one: only when it holds nothing

    Refused (409 member_not_empty, nothing changed) while any of the member's accounts (subaccounts
    included) has resting orders, a position, cash or a withdrawal pending: cancel or suspend, wait for
    settlement, withdraw first. A closed member is suspended for good: every key, session and logon
    refused and ended, never reinstated; the email stays taken and the history stays theirs."""
    body = json_body(request.body, required=False)
    member = _member(exchange, params["member_id"])
    if member.member_id == principal.member.member_id:
        raise bad_request("an operator cannot close their own account")
    reason = str_field(body, "reason", "", 500)
    holding = _still_held(exchange, member.engine_account_id)
    if holding:
        raise ApiError(409, "member_not_empty", "the member's account is not empty", "; ".join(holding))
    try:
        closed = exchange.accounts.close(member.member_id, reason)
    except AccountsError as error:
        raise accounts_error(error) from error
    # after the revocation: an order that was on its way when the account was found empty rests no more
    await execute(exchange, c.CancelAllOrders(member.engine_account_id, ""))
    return _member_json(exchange, closed)


def _still_held(exchange: Exchange, primary: int) -> list[str]:
    """What keeps a member's account open, in words (empty when nothing does)."""
    live = exchange.live
    orders, markets, cash, pending = 0, set(), 0, 0
    for account in live.member_accounts(primary).values():
        orders += len(live.orders_by_account.get(account, {}))
        markets |= {ticker for ticker, holding in live.holdings.get(account, {}).items()
                    if holding.position_centicontracts or holding.yes_centicontracts or holding.no_centicontracts}
        balance = live.balances.get(account)
        if balance is not None:
            cash += balance.cash_microdollars
            pending += balance.pending_withdrawal_microdollars
    held = []
    if orders:
        held.append(f"{orders} resting order(s): cancel them (suspending the member cancels them)")
    if markets:
        held.append(f"positions in {', '.join(sorted(markets)[:5])}{' ...' if len(markets) > 5 else ''}: wait for settlement")
    if cash or pending:
        held.append(f"${money(cash + pending)} in cash or pending withdrawal: withdraw it first")
    return held


def clear_login_failures(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    """Forget a member's failed password logins, ending a login throttle at once"""
    member = _member(exchange, params["member_id"])
    exchange.accounts.throttle.clear(member.email)
    return empty_response(204)


def _amount(body: dict[str, Any]) -> int:
    if "amount_dollars" in body:
        return parse_money_field(body["amount_dollars"], "amount_dollars")
    if "amount_cents" in body:
        return money_from_cents(int_field(body, "amount_cents", None, 1))
    raise ApiError(400, "missing_parameters", "give amount_dollars (\"12.50\") or amount_cents")


async def member_deposit(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    body = json_body(request.body)
    member = _member(exchange, params["member_id"])
    await execute(exchange, c.Deposit(member.engine_account_id, _amount(body), str_field(body, "reference", "", 500)))
    return json_response(201, {"member_id": params["member_id"], "status": "completed"})


async def member_withdrawal(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> Response:
    body = json_body(request.body)
    member = _member(exchange, params["member_id"])
    outcome = await execute(exchange, c.RequestWithdrawal(member.engine_account_id, _amount(body)))
    return json_response(201, {"withdrawal_id": exchange.ids.to_uuid(ids.WITHDRAWAL, outcome.value), "status": "pending"})


def _withdrawal_number(exchange: Exchange, withdrawal_id: str) -> int:
    number = exchange.ids.from_uuid(ids.WITHDRAWAL, withdrawal_id)
    if number is None:
        raise not_found(f"no withdrawal {withdrawal_id}")
    return number


async def complete_withdrawal(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    await execute(exchange, c.CompleteWithdrawal(_withdrawal_number(exchange, params["withdrawal_id"])))
    return {"withdrawal_id": params["withdrawal_id"], "status": "completed"}


async def cancel_withdrawal(exchange: Exchange, principal: Principal, request: Request, params: dict[str, str]) -> dict[str, Any]:
    await execute(exchange, c.CancelWithdrawal(_withdrawal_number(exchange, params["withdrawal_id"])))
    return {"withdrawal_id": params["withdrawal_id"], "status": "cancelled"}


