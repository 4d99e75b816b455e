"""Shared fixtures: real recordings in ../shared/data, a private temporary data dir."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pylsl
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# liblsl reads its configuration once per process, on first use. Every test that touches LSL runs
# on this machine only, isolated from any other LSL traffic: resolution limited to the machine,
# 127.0.0.1 as the only peer, no IPv6, and a session id unique to this test run, so streams of
# other programs or machines are never seen and ours are never announced beyond the machine.
LSL_TEST_CONFIG = f"""
[ports]
IPv6 = disable
[multicast]
ResolveScope = machine
KnownPeers = {{127.0.0.1}}
[lab]
SessionID = biotrainer-test-{os.getpid()}-{uuid.uuid4().hex[:8]}
"""
pylsl.set_config_content(LSL_TEST_CONFIG)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real public recordings; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real recordings not found at {SHARED_DATA} (see ../shared/data/MANIFEST.md)")
    return SHARED_DATA


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory, also exported as BIOTRAINER_DATA for code under test."""
    d = tmp_path / "biotrainer-data"
    monkeypatch.setenv("BIOTRAINER_DATA", str(d))
    return d
