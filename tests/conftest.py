"""Test configuration: makes the shared helpers in tests/ importable and provides the `exchange`
fixture (see harness.py)."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from harness import Harness


@pytest.fixture
def exchange() -> Harness:
    return Harness()
