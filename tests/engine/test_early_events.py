"""Markers, notes and pauses given before the first sample: stamped with the protocol's start.

A therapist's marker, note or pause right after Start, before the device's first sample, was
written with time NaN ("nan,marker,") ahead of "protocol: started", and the store listed it
after the whole session (untimed last). It is now held and written at the first sample's time,
right after the start; a session in which no sample ever comes still keeps it (NaN time).
"""

from __future__ import annotations

import math

from biotrainer.acquisition.factory import open_accelerated
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.session.reader import load_events
from biotrainer.session.recorder import Recorder


def _engine(tmp_path, source, clock) -> Engine:
    source.prepare()
    recorder = Recorder.create(source.layout, out=tmp_path / "session", clock=clock)
    return Engine(source, load_protocol("alpha-uptraining"), clock=clock, recorder=recorder)


def test_events_before_the_first_sample_are_stamped_with_the_start(tmp_path) -> None:
    clock = SimulatedClock()
    source = open_accelerated("simulator-muse2", clock, 1.0, seed=1)
    engine = _engine(tmp_path, source, clock)
    engine.start()
    engine.add_marker("")
    engine.add_note("before the first sample")
    engine.pause()
    engine.resume()
    assert engine.tick() == []  # (no time has passed: no sample yet)
    for _ in range(30):
        clock.advance(0.1)
        engine.tick()
    engine.add_marker("later")
    clock.advance(0.1)
    engine.tick()
    engine.close()
    events, warnings = load_events(tmp_path / "session")
    assert not warnings
    kinds = [(e.kind, e.text) for e in events]
    start = kinds.index(("protocol", "alpha-uptraining: started"))
    assert kinds[start + 1 : start + 5] == [
        ("marker", ""),
        ("note", "before the first sample"),
        ("pause", ""),
        ("resume", ""),
    ]
    t0 = events[start].time
    assert math.isfinite(t0)
    assert all(e.time == t0 for e in events[start : start + 5])
    assert all(math.isfinite(e.time) for e in events)
    later = events[kinds.index(("marker", "later"))]
    assert later.time > t0 + 2.5


def test_events_of_a_session_without_a_sample_are_kept(tmp_path) -> None:
    """A device that never streams: the note is still written (no data time to give it)."""
    clock = SimulatedClock()
    layout = open_accelerated("simulator-muse2", clock, 1.0, seed=1).layout
    source = _SilentSource(layout)
    engine = _engine(tmp_path, source, clock)
    engine.start()
    engine.add_note("the headset would not stream")
    for _ in range(5):
        clock.advance(0.5)
        engine.tick()
    engine.close()
    events, _ = load_events(tmp_path / "session")
    notes = [e for e in events if e.kind == "note"]
    assert [e.text for e in notes] == ["the headset would not stream"]
    assert math.isnan(notes[0].time)


class _SilentSource:
    """Opens and starts, then never delivers a sample."""

    def __init__(self, layout) -> None:
        from biotrainer.acquisition.source import SourceState

        self._layout, self._state, self._states = layout, SourceState.IDLE, SourceState

    @property
    def layout(self):
        return self._layout

    @property
    def state(self):
        return self._state

    def prepare(self) -> None:
        self._state = self._states.PREPARED

    def start(self) -> None:
        self._state = self._states.STREAMING

    def poll(self):
        from biotrainer.acquisition.chunk import Chunk

        return Chunk(received_at=0.0)

    def stop(self) -> None:
        self._state = self._states.STOPPED

    def release(self) -> None:
        self._state = self._states.RELEASED
