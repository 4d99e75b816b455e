"""The poll after the source stops drains what arrived before the stop: it is recorded, and
handed to ``on_chunk`` too (the trainer's LSL outlets lost it)."""

from __future__ import annotations

from faultkit import LAYOUT, World

from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.session import load_session
from biotrainer.session.recorder import Recorder


def test_the_chunk_drained_at_close_reaches_on_chunk_too(tmp_path):
    clock = SimulatedClock()
    world = World(clock)
    source = world.open()  # (a fake device whose poll after stop delivers what is due)
    recorder = Recorder.create(LAYOUT, out=tmp_path / "s", clock=clock, fsync=False)
    seen = []
    engine = Engine(
        source, load_protocol("alpha-uptraining"), clock=clock, recorder=recorder,
        on_chunk=seen.append,
    )  # fmt: skip
    engine.start()
    for _ in range(8):
        clock.advance(0.25)
        engine.tick()
    before = sum(c.raw["default"].shape[1] for c in seen)
    clock.advance(0.5)  # half a second arrives, then the session ends before the next tick
    engine.close()
    handed = sum(c.raw["default"].shape[1] for c in seen)
    assert handed - before >= 100  # (0.5 s at 256 Hz)
    assert handed == load_session(tmp_path / "s").raw["default"].shape[1]
