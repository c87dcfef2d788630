"""The leader's side of gateway nodes: commands that gateways forward over NATS request/reply.

A gateway (`predictex.cluster.gateway`) authenticates its client, applies its rate limits and builds the
engine command exactly as the leader's own REST, WebSocket and FIX surfaces do; it then sends the
command, as the journal stores it, with its source (the member, the key or session, the surface, and
`via`: which gateway and which forward) on `predictex.command.<leader's node name>`. The leader submits
it to its sequencer like any producer and answers once the batch holding it is committed (replicated
on a majority and in its journal), or with why it was not taken:

    {"seq": N}                                committed; N is the last record's sequence
    {"error": "busy" | "invalid", ...}       refused before it was queued: it was not applied
    {"error": "stopped" | "failed", ...}     this leader stopped or lost its lease; the command may or
                                              may not be in the log (a batch can be stored and then
                                              not acknowledged), and the new leader's log says which

The answer is a hint: the gateway answers its client only once it has read the command's records from
the replicated log itself (found by `via` in their source), so a leader that dies between committing and
answering loses nothing, and a read on the gateway after the answer sees the change.

Only the process holding the lease subscribes, under its own node name, so a deposed leader that is
paused never receives what is meant for its successor. Anyone who can publish on the cluster's NATS
can submit commands as any member: the NATS servers are the cluster's private network
(docs/operations.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import orjson
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from predictex.cluster.log import NatsThread
from predictex.core.codec import decode_command
from predictex.core.commands import Command
from predictex.core.limits import SEQUENCER_BATCH_MAX
from predictex.server.sequencer import Sequencer
from predictex.server.sequencer_errors import SequencerBusy, SequencerFailed, SequencerStopped, UnjournalableCommand

__all__ = ["COMMAND_SUBJECT", "CommandService", "command_subject", "encode_request"]

log = logging.getLogger("predictex.cluster.commands")

COMMAND_SUBJECT = "predictex.command"


def command_subject(node: str) -> str:
    return f"{COMMAND_SUBJECT}.{node}"


def encode_request(commands_json: list[bytes], source: bytes) -> bytes:
    """The request a gateway sends: the commands as the journal stores them, and their source."""
    return b'{"source":' + orjson.dumps(source.decode()) + b',"commands":[' + b",".join(commands_json) + b"]}"


def _decode_request(data: bytes) -> tuple[list[Command], bytes]:
    found: Any = orjson.loads(data)
    commands = found["commands"]
    if not isinstance(commands, list) or not 1 <= len(commands) <= SEQUENCER_BATCH_MAX:
        raise ValueError(f"a request holds 1 to {SEQUENCER_BATCH_MAX} commands")
    return [decode_command(command) for command in commands], str(found["source"]).encode()


class CommandService:
    """Takes forwarded commands while this node leads. Subscribes on the NATS thread's loop; submits on
    the exchange's loop (`loop`), where the sequencer runs."""

    def __init__(self, nats_thread: NatsThread, node: str, sequencer: Sequencer, loop: asyncio.AbstractEventLoop) -> None:
        self.nats = nats_thread
        self.node = node
        self.sequencer = sequencer
        self.loop = loop
        self._subscription: Subscription | None = None
        self._serving: set[asyncio.Task[None]] = set()
        self.served = 0

    async def start(self) -> None:
        self._subscription = await self.nats.client.subscribe(command_subject(self.node), cb=self._received)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    async def _received(self, message: Msg) -> None:
        """nats-py awaits a subscription's callbacks one at a time: each request is served by a task of
        its own, so that many wait for their commit together (group commit)."""
        task = asyncio.get_running_loop().create_task(self._serve(message))
        self._serving.add(task)
        task.add_done_callback(self._serving.discard)

    async def _serve(self, message: Msg) -> None:
        try:
            commands, source = _decode_request(message.data)
        except Exception as error:  # a request no gateway of this version makes
            await _reply(message, {"error": "invalid", "detail": f"{type(error).__name__}: {error}"})
            return
        try:
            seq = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._submit(commands, source), self.loop))
            answer: dict[str, Any] = {"seq": seq}
            self.served += 1
        except SequencerBusy as busy:
            answer = {"error": "busy", "detail": str(busy)}
        except UnjournalableCommand as refused:
            answer = {"error": "invalid", "detail": str(refused)}
        except SequencerStopped as stopped:
            answer = {"error": "stopped", "detail": str(stopped)}
        except SequencerFailed as failed:
            answer = {"error": "failed", "detail": str(failed)}
        except Exception as error:  # the exchange's loop is gone (stopping)
            log.warning("a forwarded command was not served: %s: %s", type(error).__name__, error)
            answer = {"error": "stopped", "detail": f"{type(error).__name__}: {error}"}
        await _reply(message, answer)

    def _submit(self, commands: list[Command], source: bytes) -> Coroutine[Any, Any, int]:
        return _committed_seq(self.sequencer, commands, source)


async def _committed_seq(sequencer: Sequencer, commands: list[Command], source: bytes) -> int:
    if len(commands) == 1:
        return (await sequencer.submit(commands[0], source)).seq
    return (await sequencer.submit_many(commands, source))[-1].seq


async def _reply(message: Msg, answer: dict[str, Any]) -> None:
    try:
        await message.respond(orjson.dumps(answer))
    except Exception as error:  # the connection dropped: the gateway times out and reads the log
        log.info("could not answer a forwarded command: %s", error)
