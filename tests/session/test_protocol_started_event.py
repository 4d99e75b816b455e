"""The "protocol started" event lies at the protocol's first sample: in ``events.csv`` (it was
logged before any sample, with time NaN) and in the EDF+ export (where it then read back up to
100 µs before the file's start, -0.00007 s in the review: edflib cuts the start's sub-100 µs
part off every annotation onset)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyedflib
import pytest
from sessionkit import fixed_wall_clock

from biotrainer.acquisition.factory import open_accelerated
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.session import load_session
from biotrainer.session.edf import export_edf
from biotrainer.session.recorder import Recorder

PROTOCOL = """
name = "started-event"
title = "Started event test"
feedback = "alpha"
target_reward_rate = 0.6

[[phases]]
name = "Rest first"
kind = "baseline"
duration_s = 3
eyes = "open"
instruction = "Rest."

[[phases]]
name = "Train"
kind = "training"
duration_s = 2
eyes = "open"
instruction = "Train."
"""
#: edflib's annotation onsets are in 100 µs.
EDF_ONSET_STEP_S = 1e-4
#: Farthest an onset may read back from its moment: half a step, and 1 µs more for a tie (the
#: EDF's time axis places a moment between its samples to within a µs of its raw time).
HALF_STEP_S = EDF_ONSET_STEP_S / 2 + 1e-6


def _record(tmp_path: Path, start_utc: datetime) -> Path:
    protocol = tmp_path / "started-event.toml"
    protocol.write_text(PROTOCOL)
    clock = SimulatedClock()
    source = open_accelerated("simulator-muse2", clock, 1.0)
    source.prepare()
    recorder = Recorder.create(
        source.layout, out=tmp_path / "session", clock=clock, wall_clock=fixed_wall_clock(start_utc)
    )
    engine = Engine(source, load_protocol(protocol), clock=clock, recorder=recorder)
    engine.start()
    while not engine.finished:
        clock.advance(0.05)
        engine.tick()
    engine.close()
    return recorder.path


def _started(events) -> list:
    return [e for e in events if e.kind == "protocol" and e.text.endswith(": started")]


def test_protocol_started_is_logged_at_the_first_sample(tmp_path: Path) -> None:
    rec = load_session(_record(tmp_path, datetime(2024, 5, 6, 7, 8, 9, 33372, tzinfo=UTC)))
    (started,) = _started(rec.events)
    assert math.isfinite(started.time)
    assert started.time == rec.timestamps("default")[0]  # (the Muse's EEG: the primary signal)
    first_phase = next(e for e in rec.events if e.kind == "phase")
    assert started.time <= first_phase.time


@pytest.mark.parametrize("microsecond", [33372, 999999, 500050, 0])
def test_protocol_started_is_annotated_at_the_edf_start(tmp_path: Path, microsecond: int) -> None:
    """Whatever the start's fraction of a second, the annotation reads back at the first
    sample (0 s, to edflib's 100 µs, never before it) and the others where they were."""
    folder = _record(tmp_path, datetime(2024, 5, 6, 7, 8, 9, microsecond, tzinfo=UTC))
    export_edf(folder, tmp_path / "out.edf")
    f = pyedflib.EdfReader(str(tmp_path / "out.edf"))
    try:
        onsets, _, texts = f.readAnnotations()
    finally:
        f.close()
    by_text = dict(zip(texts.tolist(), onsets.tolist(), strict=True))
    started = by_text["protocol: started-event: started"]
    assert 0.0 <= started < EDF_ONSET_STEP_S
    rec = load_session(folder)
    t0 = rec.timestamps("default")[0]
    for e in rec.events:
        if e.kind == "phase":
            expected = e.time - t0
            assert by_text[f"phase: {e.text}"] == pytest.approx(expected, abs=HALF_STEP_S)
    assert np.all(onsets >= 0.0)
