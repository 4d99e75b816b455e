"""LSL test fixtures. The machine-only LSL configuration is set once in tests/conftest.py."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def unique() -> str:
    """A short unique suffix for stream and station names (no crosstalk between tests)."""
    return uuid.uuid4().hex[:8]
