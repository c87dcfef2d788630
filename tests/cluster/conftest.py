"""The cluster tests' fixture: a three-server NATS JetStream cluster on loopback (`nats_cluster.py`),
started for the test in its temporary directory and stopped after it, whatever happened."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nats_cluster import NatsCluster


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    nats = NatsCluster(tmp_path)
    nats.start()
    try:
        yield nats
    finally:
        nats.stop()
