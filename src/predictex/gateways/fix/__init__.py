"""The FIX gateway: FIX 4.4 and FIXT.1.1/FIX 5.0 SP2 on one acceptor per session kind (the BeginString
decides), with Kalshi's logon signing, order entry, drop copy, market data and the RFQ session (reference §11).

    codec.py       framing, checksums, fields            session.py   the session layer, no I/O
    dictionary.py  what is accepted, 373 reasons         store.py     durable sequence numbers, messages
    requests.py    FIX requests -> engine commands       reports.py   ExecutionReports
    order_entry.py D F G q UOG                            market_data.py  V -> W/X, e -> f
    drop_copy.py   U1 -> U2/U3                            gateway.py   sessions, the bus, routing
    rfq.py         R S Z U7 UA -> commands, refusals      rfq_reports.py  events -> R, S, AI
    acceptor.py    sockets, TLS                           errors.py    refusals -> FIX
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from predictex.gateways.fix.kinds import DEFAULT_PORTS, TARGET_COMP_IDS, Kind, parse_ports

if TYPE_CHECKING:
    from predictex.gateways.fix.acceptor import FixAcceptor
    from predictex.gateways.fix.gateway import FixGateway
    from predictex.gateways.fix.store import StoreWriter
    from predictex.server.context import Exchange

__all__ = ["DEFAULT_PORTS", "TARGET_COMP_IDS", "FixServer", "Kind", "parse_ports"]


class FixServer:
    """Everything FIX for one exchange: the store writer, the gateway and the listeners."""

    def __init__(self, exchange: Exchange) -> None:
        from predictex.gateways.fix.acceptor import FixAcceptor
        from predictex.gateways.fix.gateway import FixGateway
        from predictex.gateways.fix.store import StoreWriter

        self.writer: StoreWriter = StoreWriter(exchange.store)
        self.gateway: FixGateway = FixGateway(exchange, self.writer)
        self.acceptor: FixAcceptor = FixAcceptor(self.gateway)

    async def start(self, host: str, ports: dict[Kind, int], tls_certificate: str = "", tls_key: str = "") -> None:
        from predictex.gateways.fix.acceptor import tls_context

        tls = tls_context(tls_certificate, tls_key) if tls_certificate else None
        await self.acceptor.start(host, ports, tls)

    def port(self, kind: Kind) -> int:
        return self.acceptor.port(kind)

    async def stop(self) -> None:
        await self.acceptor.stop()
        self.gateway.close()
        await self.writer.close()
