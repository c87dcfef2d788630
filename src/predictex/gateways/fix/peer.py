"""A FIX session's connection as the application layer sees it (the gateway, order entry, market data
and drop copy), and who is logged on over it.

The transport (`acceptor.Connection`) provides `Peer`; the application modules are written against
this protocol rather than the transport, so the imports go one way: acceptor -> gateway -> order
entry, market data, drop copy -> peer. (A static test finds import cycles among modules.)"""

from __future__ import annotations

from typing import Any, Protocol

from predictex.accounts import Watch
from predictex.gateways.fix.kinds import Kind
from predictex.gateways.fix.reports import ExecReport
from predictex.gateways.fix.session import Session


class Principal:
    """Who is logged on: the member, the engine account they trade with, and the API key they used."""

    __slots__ = ("account_id", "authenticated", "key_id", "member", "source")

    def __init__(self, member: Any, key_id: str, authenticated: Any = None) -> None:
        self.member = member
        self.account_id: int = member.engine_account_id
        self.key_id = key_id
        self.authenticated = authenticated  # what the logon proved (accounts.Authenticated): watched for revocation
        self.source = b""  # what the session's commands are journaled as coming from (server/sources.py), set at logon


class Peer(Protocol):
    kind: Kind
    session: Session
    principal: Principal | None
    flags: dict[int, bool]  # the logon's session flags (UseDollars, CancelOrdersOnDisconnect, ...)
    use_dollars: bool
    placed: set[int]  # orders this session placed (cancelled on disconnect when asked)
    subscriptions: int  # market-data subscriptions held
    watch: Watch | None  # the revocation watch of the logon's key (set by the gateway)
    transport: Any  # the asyncio transport, None once the connection is gone

    def now_ms(self) -> int: ...

    def send(self, msg_type: bytes, body: bytes) -> None:
        """An application message (dropped if the session is not active)."""

    def send_report(self, report: ExecReport) -> None: ...

    def keep_report(self, report: ExecReport) -> bool:
        """Number and store a report for a retransmitting session whose connection has gone."""

    def send_logout(self, text: str) -> None: ...

    def revoked(self, reason: str) -> None:
        """The logon's key or member was revoked: Logout with the reason, then close."""

    def flush(self) -> None:
        """Write what was queued in this turn of the loop."""
