"""Build hook: the engine (predictex.core), the journal's record framing and replay, the read model's event
projections (the code on the sequencer's path for every command), the HTTP server, router, request
signing, rate limits and v2 order requests, and the FIX wire layer (framing, validation, session,
requests and reports) are plain, strictly typed Python,
compiled with mypyc when mypyc is available (it is a build requirement), which makes them several times
faster. Set
PREDICTEX_PURE=1 to skip compilation. An editable install never compiles: extension modules built in
place would shadow the sources being edited and go stale."""

import os
import sys

from setuptools import setup

COMPILED_MODULES = [
    "src/predictex/accounts/limits.py",
    "src/predictex/accounts/signing.py",
    "src/predictex/core/book.py",
    "src/predictex/core/codec.py",
    "src/predictex/core/invariants.py",
    "src/predictex/core/snapshot.py",
    "src/predictex/core/engine.py",
    "src/predictex/core/events.py",
    "src/predictex/core/commands.py",
    "src/predictex/core/fees.py",
    "src/predictex/core/instruments.py",
    "src/predictex/core/ledger.py",
    "src/predictex/core/lifecycle.py",
    "src/predictex/core/limits.py",
    "src/predictex/core/markets.py",
    "src/predictex/core/orders.py",
    "src/predictex/core/rejects.py",
    "src/predictex/core/scope.py",
    "src/predictex/core/settlement.py",
    "src/predictex/core/timers.py",
    "src/predictex/core/trading.py",
    "src/predictex/core/units.py",
    "src/predictex/gateways/rest/kalshi_v2/order_requests.py",
    "src/predictex/gateways/shapes/kalshi.py",
    "src/predictex/gateways/fix/acceptor.py",
    "src/predictex/gateways/fix/codec.py",
    "src/predictex/gateways/fix/dictionary.py",
    "src/predictex/gateways/fix/gateway.py",
    "src/predictex/gateways/fix/order_entry.py",
    "src/predictex/gateways/fix/reports.py",
    "src/predictex/gateways/fix/requests.py",
    "src/predictex/gateways/fix/session.py",
    "src/predictex/journal/journal.py",
    "src/predictex/journal/records.py",
    "src/predictex/server/http.py",
    "src/predictex/server/router.py",
    "src/predictex/server/sequencer.py",
    "src/predictex/readmodel/depth.py",
    "src/predictex/readmodel/history.py",
    "src/predictex/readmodel/live.py",
]


def _extensions() -> list:
    if os.environ.get("PREDICTEX_PURE") == "1":
        return []
    if any(arg in ("editable_wheel", "develop") for arg in sys.argv):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        return []
    # The build environment holds only the build requirements: modules the compiled ones import but
    # that are not compiled (the journal's stores, orjson, psycopg) are checked silently, as Any if
    # their packages are absent. The full strict check is the test suite's mypy run.
    options = ["--ignore-missing-imports", "--follow-imports=silent"]
    return mypycify([*options, *COMPILED_MODULES], opt_level="3", debug_level="0")


setup(ext_modules=_extensions())
