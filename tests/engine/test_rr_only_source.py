"""A source of RR intervals only (a chest strap bridged to LSL: no fixed rate, often two
intervals a notification every two seconds) drives the protocol in real time: the time between
beats is no loss of signal, in the metrics nor in the recording (a review: protocol time ran at
a quarter of real time, most rows said "signal lost", a gap event every few seconds)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from memsource import MemorySource
from metricskit import new_data_updates

from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.session.recorder import Recorder

LAYOUT = SourceLayout(
    device="lsl",
    board_id=-100,
    presets=(PresetLayout("default", 0.0, 2, 1),),
    groups=(ChannelGroup("rr", "default", (0,), ("rr",), "ms"),),
)


def _notifications(seconds: float, per_notification: int, rr_ms: float = 1000.0) -> np.ndarray:
    """RR intervals stamped with the time of the notification that carried them."""
    rr, stamps, t, pending = [], [], 1000.0, []
    while t < 1000.0 + seconds:
        t += rr_ms / 1000.0
        pending.append(rr_ms)
        if len(pending) == per_notification:
            rr.extend(pending)
            stamps.extend([t] * len(pending))
            pending = []
    return np.vstack([rr, stamps])


@pytest.mark.parametrize("per_notification", [1, 2])
def test_beats_a_second_or_two_apart_are_no_loss_of_signal(tmp_path, per_notification):
    clock = SimulatedClock()
    source = MemorySource(LAYOUT, {"default": _notifications(200.0, per_notification)}, clock)
    recorder = Recorder.create(LAYOUT, data_directory=tmp_path, clock=clock)
    protocol = load_protocol("hrv-resonance-breathing")
    engine = Engine(source, protocol, clock=clock, recorder=recorder)
    engine.start()
    updates = []
    while clock.now() < 120.0:
        clock.advance(0.25)
        updates.extend(engine.tick())
    engine.close()
    fresh = new_data_updates(updates)
    lost = [u for u in fresh if u.quality_reason == "signal lost"]
    assert len(lost) <= 0.02 * len(fresh)
    assert engine.session_s == pytest.approx(118.0, abs=3.0)  # protocol time runs as real time
    assert fresh[-1].hr_bpm == pytest.approx(60.0, abs=0.5)
    with open(recorder.path / "events.csv", encoding="utf-8") as f:
        kinds = [row["kind"] for row in csv.DictReader(f)]
    assert "gap" not in kinds and "signal_lost" not in kinds


def test_beats_missing_for_longer_are_still_a_loss(tmp_path):
    clock = SimulatedClock()
    data = _notifications(200.0, 1)
    stamps = data[1]
    data = data[:, (stamps < 1040.0) | (stamps > 1060.0)]  # the strap off for 20 s
    source = MemorySource(LAYOUT, {"default": data}, clock)
    engine = Engine(source, load_protocol("hrv-resonance-breathing"), clock=clock)
    engine.start()
    updates = []
    while clock.now() < 100.0:
        clock.advance(0.25)
        updates.extend(engine.tick())
    lost = [u for u in new_data_updates(updates) if u.quality_reason == "signal lost"]
    assert 150 <= len(lost) <= 260  # about the 20 s without beats, a row per 0.1 s
