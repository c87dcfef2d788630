"""The journal's read-ahead: batches come in order from a thread of their own, the scan's errors are
raised to the reader, and a reader that stops early stops the scan."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from predictex.journal.base import StoredBatch, read_ahead


def _batch(n: int) -> StoredBatch:
    return StoredBatch(n, n, 1, bytes([n % 256]))


def test_every_batch_in_order_and_scanned_on_another_thread() -> None:
    threads: set[int] = set()

    def scan() -> Iterator[StoredBatch]:
        threads.add(threading.get_ident())
        yield from (_batch(n) for n in range(1, 101))

    assert [b.first_seq for b in read_ahead(scan)] == list(range(1, 101))
    assert threads and threading.get_ident() not in threads


def test_a_scan_error_reaches_the_reader_after_the_batches_before_it() -> None:
    def scan() -> Iterator[StoredBatch]:
        yield _batch(1)
        raise OSError("disk went away")

    reader = read_ahead(scan)
    assert next(reader).first_seq == 1
    with pytest.raises(OSError, match="disk went away"):
        next(reader)


def test_closing_the_reader_early_stops_the_scan() -> None:
    finished = threading.Event()
    produced: list[int] = []

    def scan() -> Iterator[StoredBatch]:
        try:
            for n in range(1, 1_000_000):
                produced.append(n)
                yield _batch(n)
        finally:
            finished.set()

    reader = read_ahead(scan, depth=2)
    assert next(reader).first_seq == 1
    reader.close()  # joins the scanning thread
    assert finished.is_set()
    assert len(produced) < 10  # it read at most a few batches ahead
