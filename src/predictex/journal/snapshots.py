"""Snapshots taken off the order path: the engine's state captured and encoded in a forked child.

Capturing a snapshot reads the whole engine (every order, account and holding), and it has to be a
consistent cut: taken between two commands. Done on the sequencer's thread, it held every command
behind it for as long as the read took (bench/journal.py --soak: tens of milliseconds on the soak's
state, more as the state grows). `os.fork()` makes the cut instead: the child is a copy-on-write
image of the process at that instant, between two commands, and the parent goes on at once (the
fork itself copies the page tables: about a millisecond per few hundred MiB of resident set). In the
child, at a lower priority, the snapshot is captured, encoded as canonical JSON, hashed and
compressed, exactly as `Journal.save_snapshot` does it, and sent back on a pipe; the child then
exits without running any of the parent's clean-up (`os._exit`). The parent reads the pipe on a
thread (`collect`, which waits for the child and checks its exit status) and hands the finished
`StoredSnapshot` to the journal's writer, which stores it after a batch that holds its sequence
number has committed.

Restart reproduces the exact state: the child's bytes are the snapshot `take_snapshot` gives of the
engine at that sequence number, with the state hash of those bytes, and recovery checks the hash
when it restores the engine (a snapshot whose hash does not match is skipped for an older one).

The child holds copies of the parent's file descriptors; it closes all of them but its pipe at once,
so that a connection the parent closes meanwhile is closed for real (a copy would keep the socket
open until the child exits), and it takes no lock the parent may hold (it writes to no store, logs
nothing). A child that fails, is killed, or outlives `timeout_s` yields `SnapshotFailed`: the snapshot
is skipped (the journal still holds every command; only the next restart replays more).

Where `os.fork` does not exist (Windows), `fork_available()` is false and the sequencer captures on its
own thread as before.
"""

from __future__ import annotations

import contextlib
import gc
import os
import select
import signal
import sys
import time
import zlib
from typing import Any

import orjson

from predictex.core.codec import decode_command, encode_events
from predictex.core.engine import Engine
from predictex.core.snapshot import canonical_json, snapshot_hash, take_snapshot
from predictex.journal.base import StoredBatch, StoredSnapshot
from predictex.journal.records import decode_batch

__all__ = ["ForkedCapture", "SnapshotFailed", "SnapshotFollower", "encode_snapshot", "fork_available"]

COMPRESSION_LEVEL = 1
CHILD_NICENESS = 5  # the child yields the cores to the sequencer and the gateways
CHILD_TIMEOUT_S = 300.0  # a child that has not answered by then is killed (and the snapshot skipped)
_HEADER_END = b"\n"
_READ_CHUNK = 1 << 20
_PR_SET_PDEATHSIG = 1
FOLLOWER_BACKLOG_MAX = 256 << 20  # bytes of batches the follower may be behind before it is given up
_PIPE_BYTES = 1 << 20  # asked for (F_SETPIPE_SZ) on the follower's pipe: bursts pass without the backlog


def _libc() -> Any:
    """The C library (for prctl), loaded in the parent: the child imports and loads nothing."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC = _libc()


class SnapshotFailed(Exception):
    """A snapshot's child failed; nothing was stored."""


def fork_available() -> bool:
    return hasattr(os, "fork")


def encode_snapshot(seq: int, snapshot: dict[str, Any]) -> StoredSnapshot:
    """A captured snapshot as the store keeps it: compressed canonical JSON and its state hash."""
    canonical = canonical_json(snapshot)
    return StoredSnapshot(seq, zlib.compress(canonical, COMPRESSION_LEVEL), snapshot_hash(canonical))


class ForkedCapture:
    """One snapshot of `engine` at sequence `seq`, captured in a child forked now (call it between two
    commands, on the thread that applies them). `collect()` (on another thread: it blocks until the
    child is done) returns the encoded snapshot; `fork_seconds` is what the fork held the caller for."""

    def __init__(self, engine: Engine, seq: int, timeout_s: float = CHILD_TIMEOUT_S) -> None:
        self.seq = seq
        self.timeout_s = timeout_s
        started = time.perf_counter()
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            raise
        if pid == 0:  # the child: never returns
            _child(engine, seq, read_end, write_end)
        os.close(write_end)
        self.pid = pid
        self._fd = read_end
        self.fork_seconds = time.perf_counter() - started
        self.child_seconds = 0.0  # from the fork to the child's last byte, once collected

    def collect(self) -> StoredSnapshot:
        """Wait for the child (at most `timeout_s`), check it exited cleanly, and return what it sent."""
        started = time.perf_counter()
        deadline = time.monotonic() + self.timeout_s
        chunks: list[bytes] = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    os.kill(self.pid, signal.SIGKILL)
                    raise SnapshotFailed(f"the snapshot's child (pid {self.pid}) took more than {self.timeout_s:.0f} s; killed")
                readable, _, _ = select.select([self._fd], [], [], left)
                if not readable:
                    continue
                chunk = os.read(self._fd, _READ_CHUNK)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(self._fd)
            status = _reap(self.pid)
        self.child_seconds = self.fork_seconds + time.perf_counter() - started
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            raise SnapshotFailed(f"the snapshot's child (pid {self.pid}) ended with {_describe(status)}")
        return _parse(b"".join(chunks), self.seq)


class SnapshotFollower:
    """A child forked once, when the sequencer starts, that keeps a copy of the engine current from the
    batches the writer has committed and takes the periodic snapshots from it: the sequencer is then held
    for no snapshot at all (a fork per snapshot copies the page tables of the whole process, which grow
    with it: tens of milliseconds for a few hundred MiB on a virtual machine), and pays one write to
    a pipe per batch.

    The child applies each record as recovery does (the command decoded and applied, the events it
    gives compared with the stored ones byte for byte), so its snapshots are the journal's state at
    their sequence number; every `every` commands it sends one back, encoded. It stops, and `collect`
    raises SnapshotFailed, if a record does not replay to its stored events, if it is killed, or when
    the parent closes the pipe (`close`, or the parent's death). `feed` never blocks: what the pipe
    does not take waits in the parent, and a follower more than FOLLOWER_BACKLOG_MAX behind is given up
    (`failed`)."""

    def __init__(self, engine: Engine, seq: int, every: int) -> None:
        to_child_read, to_child_write = os.pipe()
        from_child_read, from_child_write = os.pipe()
        with contextlib.suppress(OSError, AttributeError):  # Linux: a pipe of 1 MiB, not 64 KiB
            import fcntl  # POSIX only (the follower runs where os.fork does)

            fcntl.fcntl(to_child_write, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        try:
            pid = os.fork()
        except OSError:
            for fd in (to_child_read, to_child_write, from_child_read, from_child_write):
                os.close(fd)
            raise
        if pid == 0:
            _follower_child(engine, seq, every, to_child_read, from_child_write, (to_child_write, from_child_read))
        os.close(to_child_read)
        os.close(from_child_write)
        os.set_blocking(to_child_write, False)
        self.pid = pid
        self.seq = seq
        self._to = to_child_write
        self._from = from_child_read
        self._backlog: list[bytes] = []
        self._backlog_bytes = 0
        self._received = b""
        self.failed: str | None = None
        self._closed = False

    def feed(self, batch: StoredBatch) -> None:
        """A committed batch (on the thread that writes the journal); never blocks."""
        if self.failed is not None or self._closed:
            return
        header = f"{batch.first_seq} {batch.record_count} {len(batch.data)}".encode("ascii") + _HEADER_END
        self._backlog += (header, batch.data)
        self._backlog_bytes += len(header) + len(batch.data)
        self._flush()

    def _flush(self) -> None:
        backlog = self._backlog
        try:
            while backlog:
                written = os.write(self._to, backlog[0])
                self._backlog_bytes -= written
                if written < len(backlog[0]):
                    backlog[0] = backlog[0][written:]
                    break
                backlog.pop(0)
        except BlockingIOError:
            pass
        except OSError as error:  # the child is gone
            self._give_up(f"the snapshot follower's pipe failed: {error}")
            return
        if self._backlog_bytes > FOLLOWER_BACKLOG_MAX:
            self._give_up(f"the snapshot follower fell {self._backlog_bytes >> 20} MiB behind")

    def _give_up(self, reason: str) -> None:
        self.failed = reason
        self._backlog.clear()
        self._backlog_bytes = 0
        self.kill()

    def collect(self) -> StoredSnapshot:
        """The child's next snapshot (blocks: on a thread of its own); SnapshotFailed once it has stopped."""
        while True:
            header, found, rest = self._received.partition(_HEADER_END)
            if found:
                try:
                    length = int(header.split(b" ")[2])
                except (IndexError, ValueError):
                    length = -1
                if length < 0:
                    raise SnapshotFailed(f"the snapshot follower sent a bad header {header[:80]!r}")
                if len(rest) >= length:
                    self._received = rest[length:]
                    seq = int(header.split(b" ")[0])
                    return _parse(header + _HEADER_END + rest[:length], seq)
            chunk = os.read(self._from, _READ_CHUNK)
            if not chunk:
                raise SnapshotFailed(self.failed or f"the snapshot follower (pid {self.pid}) stopped: {self._end()}")
            self._received += chunk

    def _end(self) -> str:
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return "already reaped"
        return _describe(status) if pid else "its pipe closed"

    def end_input(self) -> None:
        """No more batches: the child applies what the pipe holds, sends a snapshot if one is due, and
        exits. A backlog the pipe did not take is dropped (never a blocking write here)."""
        if self._closed:
            return
        self._closed = True
        self._flush()
        self._backlog.clear()
        with contextlib.suppress(OSError):
            os.close(self._to)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)

    def close(self) -> None:
        """End the child's input, reap it (blocks until it exits) and close the pipes."""
        self.end_input()
        with contextlib.suppress(ChildProcessError):
            _reap(self.pid)
        with contextlib.suppress(OSError):
            os.close(self._from)


def _follower_child(engine: Engine, seq: int, every: int, read_end: int, write_end: int, parents: tuple[int, int]) -> None:
    code = 1
    try:
        gc.disable()  # what it allocates lives (the state) or dies by reference counting
        _default_signals()
        _die_with_parent()
        for fd in parents:
            os.close(fd)
        _detach_standard_streams()
        low, high = sorted((read_end, write_end))
        os.closerange(3, low)
        os.closerange(low + 1, high)
        os.closerange(high + 1, _max_fd())
        with contextlib.suppress(OSError):
            os.nice(CHILD_NICENESS)
        _follow(engine, seq, every, read_end, write_end)
        code = 0
    except BaseException:  # the parent learns of it from the closed pipe and the exit status
        code = 1
    finally:
        os._exit(code)


def _follow(engine: Engine, seq: int, every: int, read_end: int, write_end: int) -> None:
    """Apply the batches that come in, in order, and send a snapshot every `every` commands; return at
    the end of the input."""
    stream = os.fdopen(read_end, "rb", buffering=_READ_CHUNK)
    last_snapshot = seq
    while True:
        header = stream.readline()
        if not header:
            return
        first_seq, count, length = (int(part) for part in header.split(b" "))
        data = stream.read(length)
        if len(data) != length:
            return
        for record in decode_batch(data, first_seq, count):
            if record.seq <= seq:
                continue
            if record.seq != seq + 1:
                raise SnapshotFailed(f"record {seq + 1} is missing (got {record.seq})")
            events = engine.apply(decode_command(orjson.loads(record.command_json)), record.time_ms).events
            if orjson.dumps(encode_events(events)) != record.events_json:
                raise SnapshotFailed(f"record {record.seq} replayed to other events than were stored")
            seq = record.seq
        if seq - last_snapshot >= every:
            stored = encode_snapshot(seq, take_snapshot(engine))
            _write_all(write_end, f"{seq} {stored.state_hash} {len(stored.data)}".encode("ascii") + _HEADER_END)
            _write_all(write_end, stored.data)
            last_snapshot = seq


def _reap(pid: int) -> int:
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:
            continue


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    if os.WIFEXITED(status):
        return f"exit status {os.WEXITSTATUS(status)}"
    return f"status {status}"


def _parse(payload: bytes, seq: int) -> StoredSnapshot:
    """`<seq> <state hash> <length>\\n<compressed canonical JSON>`, all of it."""
    header, _, data = payload.partition(_HEADER_END)
    try:
        sent_seq, state_hash, length = header.decode("ascii").split(" ")
        complete = int(sent_seq) == seq and int(length) == len(data) and len(state_hash) == 64
    except (UnicodeDecodeError, ValueError):
        complete = False
    if not complete:
        raise SnapshotFailed(f"the snapshot's child sent {len(payload)} bytes that are not a whole snapshot at {seq}")
    return StoredSnapshot(seq, data, state_hash)


def _child(engine: Engine, seq: int, read_end: int, write_end: int) -> None:
    """In the forked child: capture, encode, send, and exit without returning to the parent's code."""
    code = 1
    try:
        gc.disable()  # short-lived: a collection would only touch (and copy) pages
        _default_signals()
        os.close(read_end)
        _detach_standard_streams()
        os.closerange(3, write_end)  # every inherited descriptor but the pipe (sockets, the journal's files)
        os.closerange(write_end + 1, _max_fd())
        with contextlib.suppress(OSError):
            os.nice(CHILD_NICENESS)
        stored = encode_snapshot(seq, take_snapshot(engine))
        header = f"{seq} {stored.state_hash} {len(stored.data)}".encode("ascii") + _HEADER_END
        _write_all(write_end, header)
        _write_all(write_end, stored.data)
        code = 0
    except BaseException:  # the parent learns of it from the exit status
        code = 1
    finally:
        os._exit(code)


def _default_signals() -> None:
    """The parent's handlers and its event loop's wakeup descriptor go: a signal meant for the process
    group ends the child, and never looks to the parent's loop like one of its own."""
    try:
        signal.set_wakeup_fd(-1)
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_DFL)
    except ValueError:  # not the main thread of the main interpreter: the handlers stay the parent's
        pass


def _die_with_parent() -> None:
    """Linux: the kernel kills the follower when the parent dies, whatever the follower is doing (it
    also ends at the end of its input, which the parent's death closes)."""
    prctl = getattr(_LIBC, "prctl", None) if _LIBC is not None else None
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
        if os.getppid() == 1:  # the parent died before that took effect
            os._exit(1)


def _detach_standard_streams() -> None:
    """The child's standard streams go to /dev/null: whoever reads the parent's output (a supervisor, a
    pipe to `tee`) sees its end when the parent ends, not when a child does."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _max_fd() -> int:
    try:
        return int(os.sysconf("SC_OPEN_MAX"))
    except (ValueError, OSError):
        return 1 << 16
