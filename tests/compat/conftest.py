"""The compat tests' shared fixture: the official Kalshi SDK's virtualenv (kalshi_sdk.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kalshi_sdk import sdk_or_fail, sdk_python


@pytest.fixture(scope="module")
def python313() -> Path:
    """The interpreter of the SDK 3.34.0 virtualenv (made on first use); the test fails if it cannot be set up."""
    return sdk_or_fail(sdk_python)
