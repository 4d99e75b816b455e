"""Engine(on_chunk=...): the raw chunks reach the views exactly as the engine consumed them."""

from __future__ import annotations

import numpy as np

from biotrainer.acquisition.factory import open_accelerated
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol


def test_on_chunk_sees_every_sample_once_and_in_order():
    clock = SimulatedClock()
    source = open_accelerated("simulator-muse2", clock, 1.0, scenario="stressed-to-relaxed", seed=3)
    seen = []
    engine = Engine(source, load_protocol("alpha-uptraining"), clock=clock, on_chunk=seen.append)
    updates = []
    try:
        for _ in range(40):
            clock.advance(0.25)
            updates.extend(engine.tick())
    finally:
        engine.close()
    assert seen and all(not c.empty for c in seen)
    t = np.concatenate([c.signals["eeg"].timestamps for c in seen])
    assert np.all(np.diff(t) > 0)  # in order, no sample twice
    fs = source.layout.preset("default").fs
    # 10 s of data at 256 Hz arrived through the hook (give or take the last partial poll)
    assert abs(t.size - 10.0 * fs) <= fs * 0.3
    assert updates[-1].sample_time <= t[-1] + 1e-9


def test_on_chunk_can_be_attached_after_construction():
    clock = SimulatedClock()
    source = open_accelerated("simulator", clock, 1.0, scenario="resonance-breathing", seed=3)
    engine = Engine(source, load_protocol("hrv-resonance-breathing"), clock=clock)
    assert engine.on_chunk is None
    engine.tick()
    roles: set[str] = set()
    engine.on_chunk = lambda chunk: roles.update(chunk.signals)
    try:
        clock.advance(1.0)
        engine.tick()
    finally:
        engine.close()
    assert {"eeg", "ecg", "ppg", "resp"} <= roles
