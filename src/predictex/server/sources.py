"""Where a command came from, journaled with it (a record's `source`, journal/records.py): the surface
(rest, ws, fix, web, cli, admin, sim, system), the member, the API key or session, the FIX session and
the operator. The audit export (journal/audit.py) lists it beside every order event.

A gateway states the source as it submits (`Sequencer.submit(command, source)`), or, for the REST
handlers, which reach the sequencer through shared helpers, sets `current` around the handler: the
HTTP server runs each request's coroutine in a copy of the context the handler was called in, so the
source set for a request stays with it however long it waits."""

from __future__ import annotations

import contextvars

import orjson

SURFACES = ("rest", "ws", "fix", "web", "cli", "admin", "sim", "system")
SESSION_ID_CHARS = 16  # of a session token's hash: enough to tell sessions apart, too little to be the token's hash

current: contextvars.ContextVar[bytes] = contextvars.ContextVar("predictex_command_source", default=b"")


def source_json(surface: str, *, member: int = 0, key: str = "", session: str = "", fix_session: str = "", operator: int = 0) -> bytes:
    """The source as the journal keeps it: a compact JSON object holding only what is known."""
    if surface not in SURFACES:
        raise ValueError(f"unknown command source surface {surface!r}")
    fields: dict[str, object] = {"surface": surface}
    if member:
        fields["member"] = member
    if key:
        fields["key"] = key
    if session:
        fields["session"] = session[:SESSION_ID_CHARS]
    if fix_session:
        fields["fix_session"] = fix_session
    if operator:
        fields["operator"] = operator
    return orjson.dumps(fields)


SYSTEM = source_json("system")
UNSTATED = b""  # a record without a source: a timer's tick, or a path that states none
