"""LSL tests run on this machine only, isolated from any other LSL traffic.

liblsl reads its configuration once, on first use: before any test touches LSL, this sets a
configuration that resolves on the machine only (ResolveScope = machine, KnownPeers = 127.0.0.1,
no IPv6) under a session id unique to this test run, so streams of other programs or other
machines on the network are never seen, and ours are never announced beyond the machine.
"""

from __future__ import annotations

import os
import uuid

import pylsl
import pytest

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


@pytest.fixture
def unique() -> str:
    """A short unique suffix for stream and station names (no crosstalk between tests)."""
    return uuid.uuid4().hex[:8]
