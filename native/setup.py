"""predictex-native: the modules of predictex where a bench shows that compiling pays, compiled with
mypyc into extension modules that install beside predictex's own sources (an extension module is
imported before a .py file of the same name, so the compiled ones are used; uninstall this package
and the same code runs as plain Python). docs/performance.md says what each module buys.

Built by `pip install '.[server]'` at the repository's root (the `server` extra requires it), never by
`pip install .` (the SDK and the command line alone). The build prints its progress on the terminal
(pip shows a build's output only with -v): mypyc's type check and translation to C, then each C file
as the compiler finishes it, the files compiled in parallel on every core."""

import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

SOURCES = Path(__file__).resolve().parent.parent / "src"

# Relative to src/predictex; one module a line, by package.
COMPILED_MODULES = [
    "core/book.py",
    "core/codec.py",
    "core/commands.py",
    "core/engine.py",
    "core/events.py",
    "core/fees.py",
    "core/instruments.py",
    "core/ledger.py",
    "core/lifecycle.py",
    "core/limits.py",
    "core/markets.py",
    "core/orders.py",
    "core/rejects.py",
    "core/scope.py",
    "core/settlement.py",
    "core/timers.py",
    "core/trading.py",
    "core/units.py",
    "gateways/fix/acceptor.py",
    "gateways/fix/codec.py",
    "gateways/fix/dictionary.py",
    "gateways/fix/gateway.py",
    "gateways/fix/order_entry.py",
    "gateways/fix/reports.py",
    "gateways/fix/requests.py",
    "gateways/fix/session.py",
    "gateways/shapes/kalshi.py",
    "journal/journal.py",
    "journal/records.py",
    "readmodel/depth.py",
    "readmodel/history.py",
    "readmodel/live.py",
    "server/http.py",
    "server/router.py",
    "server/sequencer.py",
]

# The build environment holds only the build requirements: modules the compiled ones import but that are
# not compiled (the journal's stores, orjson, psycopg) are checked silently, as Any where their packages
# are absent. The full strict check is the test suite's mypy run (tests/unit/test_static_checks.py).
MYPY_OPTIONS = ["--ignore-missing-imports", "--follow-imports=silent"]
BUILDING = {"bdist_wheel", "build", "build_ext", "install"}


def _terminal() -> TextIO:
    """Where progress goes: the terminal itself when there is one (pip captures a build's output and shows
    it only with -v), standard error otherwise."""
    try:
        return open("/dev/tty", "w")
    except OSError:
        return sys.stderr


class BuildCompiled(build_ext):
    """Runs mypyc when the extensions are built (not when pip only asks for the metadata), then compiles
    the C files in parallel, saying how far it is."""

    def finalize_options(self) -> None:
        # pip's metadata steps finalize this command too (to list source files): mypyc runs only for a build.
        if BUILDING & set(self.distribution.commands):
            from mypyc.build import mypycify

            out = self._progress = _terminal()
            self._started = time.monotonic()
            paths = [str(SOURCES / "predictex" / module) for module in COMPILED_MODULES]
            print(f"predictex-native: mypyc is type-checking {len(paths)} modules and translating them to C ...", file=out, flush=True)
            # multi_file: a C file per module, so that the compiler can run on every core.
            self.distribution.ext_modules = mypycify([*MYPY_OPTIONS, *paths], opt_level="3", debug_level="0", multi_file=True)
        super().finalize_options()

    def run(self) -> None:
        print(f"predictex-native: C ready after {time.monotonic() - self._started:.0f} s; compiling it on {_jobs()} cores",
              file=self._progress, flush=True)
        super().run()
        print(f"predictex-native: compiled in {time.monotonic() - self._started:.0f} s", file=self._progress, flush=True)

    def build_extensions(self) -> None:
        self.check_extensions_list(self.extensions)
        sources = sum(len(ext.sources) for ext in self.extensions)
        done = [0]
        counting = threading.Lock()
        compile_one = self.compiler.compile

        def compile_each(sources_of_ext: list[str], *args: Any, **kwargs: Any) -> list[str]:
            def one(source: str) -> list[str]:
                objects: list[str] = compile_one([source], *args, **kwargs)
                with counting:
                    done[0] += 1
                    print(f"predictex-native: [{done[0]}/{sources}] {Path(source).name} "
                          f"({time.monotonic() - self._started:.0f} s)", file=self._progress, flush=True)
                return objects

            for directory in {os.path.dirname(o) for o in self.compiler.object_filenames(sources_of_ext, output_dir=kwargs.get("output_dir", ""))}:
                os.makedirs(directory, exist_ok=True)
            with ThreadPoolExecutor(_jobs()) as pool:  # each compile is a compiler process of its own
                return [o for objects in pool.map(one, sources_of_ext) for o in objects]

        self.compiler.compile = compile_each  # type: ignore[method-assign]
        # The big extension (the whole compiled group) first, its C files in parallel; then the small
        # per-module shims, also in parallel.
        extensions = sorted(self.extensions, key=lambda ext: -len(ext.sources))
        self.build_extension(extensions[0])
        with ThreadPoolExecutor(_jobs()) as pool:
            list(pool.map(self.build_extension, extensions[1:]))


def _jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


# A placeholder, so that the wheel is built as one with extension modules; the build command replaces it
# with what mypyc makes.
setup(ext_modules=[Extension("predictex_native_placeholder", sources=[])], cmdclass={"build_ext": BuildCompiled}, packages=[])
