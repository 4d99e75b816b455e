"""The record loop of `biotrainer record`, driven on a simulated clock (no real time)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sessionkit import MUSE2, T0, make_raw, record_arrays

from biotrainer.acquisition.file_source import FileSource
from biotrainer.clock import SimulatedClock
from biotrainer.commands.record import StopFlag, record
from biotrainer.session import EVENT_SIGNAL_LOST, EVENT_SIGNAL_RESTORED, Recorder, load_session


def _source_with_gap(tmp_path: Path):
    raw = make_raw(MUSE2, 12.0)
    for p in MUSE2.presets:  # the device goes quiet for 4 s after 5 s
        ts = raw[p.preset][p.timestamp_row]
        ts[ts >= T0 + 5.0] += 4.0
    folder = record_arrays(MUSE2, raw, out=tmp_path / "original").path
    return raw, folder


def test_records_everything_and_marks_signal_loss(tmp_path: Path) -> None:
    raw, original = _source_with_gap(tmp_path)
    clock = SimulatedClock()
    source = FileSource(original, clock)
    source.prepare()
    rec = Recorder(_mkdir(tmp_path / "copy"), source.layout, clock=clock, fsync=False)
    n = record(source, rec, duration=60.0, clock=clock, sleep=clock.advance)
    copy = load_session(rec.path)
    assert copy.status == "completed"
    for p in MUSE2.presets:
        np.testing.assert_array_equal(copy.raw[p.preset], load_session(original).raw[p.preset])
    assert n == sum(a.shape[1] for a in raw.values())
    kinds = [e.kind for e in copy.events]
    assert kinds.count(EVENT_SIGNAL_LOST) == 1 and kinds.count(EVENT_SIGNAL_RESTORED) == 1
    lost = next(e for e in copy.events if e.kind == EVENT_SIGNAL_LOST)
    assert lost.time == pytest.approx(T0 + 5.0, abs=0.05)  # last sample before the silence
    assert clock.now() < 16.2  # ended with the 16-s source, not at the 60 s duration


def test_stops_at_duration_or_on_signal(tmp_path: Path) -> None:
    _, original = _source_with_gap(tmp_path)
    clock = SimulatedClock()
    source = FileSource(original, clock)
    source.prepare()
    rec = Recorder(_mkdir(tmp_path / "short"), source.layout, clock=clock, fsync=False)
    record(source, rec, duration=2.0, clock=clock, sleep=clock.advance)
    short = load_session(rec.path)
    assert short.status == "completed"
    assert short.duration_s == pytest.approx(2.0, abs=0.1)

    clock2 = SimulatedClock()
    source2 = FileSource(original, clock2)
    source2.prepare()
    rec2 = Recorder(_mkdir(tmp_path / "stopped"), source2.layout, clock=clock2, fsync=False)
    stop = StopFlag()

    def sleep_then_signal(dt: float) -> None:
        clock2.advance(dt)
        if clock2.now() >= 1.0:
            stop.set(15)  # SIGTERM

    record(source2, rec2, duration=60.0, clock=clock2, stop=stop, sleep=sleep_then_signal)
    stopped = load_session(rec2.path)
    assert stopped.status == "completed" and stopped.duration_s < 1.2
    assert any(e.kind == "stop" and "SIGTERM" in e.text for e in stopped.events)


def _mkdir(p: Path) -> Path:
    p.mkdir(mode=0o700)
    return p


def test_what_a_lossy_link_lost_is_recorded_and_said(tmp_path: Path, monkeypatch) -> None:
    """`record` keeps no metrics, but a headset losing packets is said as the trainer says it
    (the session's total at the end, in events.csv too): it was said nowhere."""
    from biotrainer.acquisition.profiles import load_profile
    from biotrainer.acquisition.simulator import render_session

    profile = load_profile("simulator-muse2-lossy")
    rendered = render_session(profile, {"scenario": "eyes-open-closed", "cache_dir": tmp_path})
    clock = SimulatedClock()
    source = FileSource(rendered, clock)
    source.prepare()
    rec = Recorder(_mkdir(tmp_path / "copy"), source.layout, clock=clock, fsync=False)
    said: list[str] = []

    class Said:
        def show(self, *args) -> None:
            pass

        def note(self, text: str) -> None:
            said.append(text)

        def done(self) -> None:
            pass

    record(source, rec, duration=90.0, clock=clock, sleep=clock.advance, progress=Said())
    notes = [e.text for e in load_session(rec.path).events if e.kind == "source_note"]
    assert notes == said
    assert notes[-1].startswith("over the session the device lost ")
    assert "of its EEG samples" in notes[-1] and "of its PPG samples" in notes[-1]
