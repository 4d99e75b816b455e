"""Helpers of the LSL tests: layouts, chunks, metric updates, bounded waits on real LSL."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pylsl

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout
from biotrainer.engine.updates import MetricUpdate

#: Longest any test waits for something to cross the loopback (s).
WAIT_S = 5.0

EEG_NAMES = ("AF7", "AF8", "TP9", "TP10")


def layout_eeg_ecg_ppg(fs: float = 250.0) -> SourceLayout:
    """4 EEG rows, 1 ECG row, 2 PPG rows, timestamp row 7 (one preset)."""
    return SourceLayout(
        device="testdev",
        board_id=-1,
        presets=(PresetLayout("default", fs, 8, 7),),
        groups=(
            ChannelGroup("eeg", "default", (0, 1, 2, 3), EEG_NAMES, "uV"),
            ChannelGroup("ecg", "default", (4,), ("ECG",), "uV"),
            ChannelGroup("ppg", "default", (5, 6), ("ppg_ir", "ppg_red"), "a.u."),
        ),
    )


def chunk_of(layout: SourceLayout, raw: np.ndarray) -> Chunk:
    raws = {"default": raw}
    return Chunk(raw=raws, signals=layout.split(raws), received_at=0.0)


def update(**kw) -> MetricUpdate:
    base = dict(session_s=0.0, sample_time=0.0, received_at=0.0, computed_at=0.0)
    base.update(kw)
    return MetricUpdate(**base)


def resolve_one(name: str, timeout: float = WAIT_S) -> pylsl.StreamInfo:
    found = pylsl.resolve_byprop("name", name, 1, timeout)
    assert found, f"stream {name} not found on loopback within {timeout} s"
    return found[0]


def open_inlet(name: str, **kw) -> pylsl.StreamInlet:
    inlet = pylsl.StreamInlet(resolve_one(name), **kw)
    inlet.open_stream(timeout=WAIT_S)
    return inlet


def pull_n(inlet: pylsl.StreamInlet, n: int, timeout: float = WAIT_S):
    """Pull until ``n`` samples arrived or ``timeout`` passed: (values (k, ch), stamps (k,))."""
    values, stamps = [], []
    deadline = time.monotonic() + timeout
    got = 0
    while got < n and time.monotonic() < deadline:
        v, t = inlet.pull_chunk(timeout=0.05, max_samples=n - got, min_samples=1, as_numpy=True)
        if len(t):
            values.append(np.asarray(v))
            stamps.append(np.asarray(t))
            got += len(t)
    if not values:
        return np.empty((0, inlet.channel_count)), np.empty(0)
    return np.concatenate(values), np.concatenate(stamps)


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT_S, step: float = 0.02) -> bool:
    """Poll ``predicate`` until true or ``timeout`` (bounded wait for network delivery)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def settle(qtbot, passes: int = 20) -> None:
    """Let Qt finish the layout a show, resize or refit set off.

    A resize posts layout events that post more (new fonts, new size hints): a fixed
    ``qtbot.wait(50)`` may end after one pass of the event loop when the machine is loaded.
    This counts passes instead of milliseconds (the monitor's layout uses no timers).
    """
    from PySide6.QtCore import QCoreApplication

    qtbot.wait(50)
    for _ in range(passes):
        QCoreApplication.sendPostedEvents()
        QCoreApplication.processEvents()
