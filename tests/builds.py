"""Which build of predictex a test run imports: "compiled" (predictex-native's extension modules, as
`pip install '.[server,test]'` installs them) or "pure" (the plain sources: an editable install, or the
checkout's src/ first on the path); and a fingerprint of a seeded workload, which both builds must give
alike (tests/test_pure_build.py runs it under each).

    python tests/builds.py SEED COMMANDS

prints one JSON object: the build imported, the engine's state hash after the seed's workload, and a
SHA-256 of the journal batches the workload makes (every command and its events through the core's codec
and the journal's record framing, with its CRCs), as the sequencer would write them."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from typing import Any

BUILD_ENV = "PREDICTEX_TEST_BUILD"  # set to the build a run must import (tests/test_pure_build.py sets "pure")
BATCH_RECORDS = 64  # records a journal batch in the fingerprint (the sequencer's batches vary; any size covers the framing)


def running_build() -> str:
    import predictex.core.engine as engine

    return "compiled" if (engine.__file__ or "").endswith((".so", ".pyd")) else "pure"


def fingerprint(seed: int, commands: int) -> dict[str, Any]:
    """The seed's workload (tests/sim/workload.py) through the engine alone, without the reference model:
    the state hash at the end and a digest of the journal batches it makes."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "sim"))
    from reference import ReferenceModel
    from workload import Workload

    from predictex.core.codec import encode_command, encode_events
    from predictex.core.engine import Engine
    from predictex.core.snapshot import state_hash
    from predictex.journal.records import Record, encode_batch

    engine = Engine()
    model = ReferenceModel()  # the workload reads the model's state to choose what comes next: it sees every command too
    workload = Workload(seed, model)
    digest = hashlib.sha256()
    records: list[Record] = []
    total = commands + len(workload.pending)
    trades = refusals = 0
    for seq in range(1, total + 1):
        command, now_ms = workload.next()
        outcome = engine.apply(command, now_ms)
        model.apply(command, now_ms)
        trades += sum(1 for event in outcome.events if type(event).__name__ == "Trade")
        refusals += outcome.reject is not None
        records.append(Record.of(seq, now_ms, encode_command(command), encode_events(outcome.events)))
        if len(records) == BATCH_RECORDS or seq == total:
            digest.update(encode_batch(records))
            records = []
    return {"build": running_build(), "seed": seed, "commands": total, "trades": trades, "refusals": refusals,
            "state_hash": state_hash(engine), "journal_sha256": digest.hexdigest()}


if __name__ == "__main__":
    print(json.dumps(fingerprint(int(sys.argv[1]), int(sys.argv[2]))))
