"""Freed memory given back to the system (:mod:`biotrainer.memory`)."""

from __future__ import annotations

import platform
import sys

import pytest

from biotrainer import memory


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="malloc_trim is glibc's (most Linux systems); elsewhere nothing is done",
)
def test_memory_freed_between_blocks_still_in_use_goes_back_to_the_system() -> None:
    # blocks of a few KB come from the C heap (not Python's small-object pools); keeping every
    # tenth leaves the freed ones between blocks in use, where the heap cannot shrink
    blocks = [bytearray(3000) for _ in range(40_000)]  # about 120 MB
    for b in blocks:
        b[::512] = b"x" * len(b[::512])  # touched: resident
    kept = blocks[::10]
    del blocks
    before = _rss_mb()
    assert memory.release_free_memory()
    after = _rss_mb()
    assert before - after > 50.0, f"{before:.0f} -> {after:.0f} MB"
    assert len(kept) == 4000


def test_nothing_is_done_without_the_call(monkeypatch) -> None:
    monkeypatch.setattr(memory, "_malloc_trim", lambda: None)
    assert memory.release_free_memory() is False
