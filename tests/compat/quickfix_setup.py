"""QuickFIX for the compatibility tests: installed from the wheel cache when it is there, otherwise
built from PyPI's source distribution (about ten minutes) into the cache first, so a fresh machine
works and the next run is quick."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

VERSION = "1.16.0"
CACHE = Path(os.environ.get("PREDICTEX_WHEEL_CACHE", Path.home() / ".cache" / "predictex" / "wheels"))


def quickfix() -> ModuleType:
    try:
        return importlib.import_module("quickfix")
    except ImportError:
        pass
    wheels = sorted(CACHE.glob(f"quickfix-{VERSION}-*.whl"))
    if not wheels:
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", f"quickfix=={VERSION}", "-w", str(CACHE)], check=True)
        wheels = sorted(CACHE.glob(f"quickfix-{VERSION}-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", str(wheels[-1])], check=True)
    importlib.invalidate_caches()
    return importlib.import_module("quickfix")


def dictionaries() -> Path:
    """Where the wheel put its data dictionaries (FIX44.xml, FIXT11.xml, FIX50SP2.xml...)."""
    found = Path(sys.prefix) / "share" / "quickfix"
    assert (found / "FIX44.xml").exists(), f"QuickFIX's data dictionaries are not in {found}"
    return found
