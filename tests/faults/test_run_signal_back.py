"""`biotrainer run`'s "signal back after N s" is the length of the loss, from the last samples.

It printed the time since the loss was noticed, which is the silence threshold after the last
samples (1.5 s for a sampled device, 5 s for a stream of RR intervals): "signal back after 4.0 s"
for a loss that ``events.csv`` logged as "reconnected after 5.5 s". Fake devices on a simulated
clock (no sleeping), through `run`'s own loop.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from unittest import mock

import pytest
from faultkit import FakeStrap, World

from biotrainer.acquisition.reconnect import SILENCE_S, ReconnectingSource
from biotrainer.acquisition.source import SourceState
from biotrainer.clock import SimulatedClock
from biotrainer.commands.run import _loop, _SignalWatch
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.limits import BEATS_LOST_S
from biotrainer.session import load_session
from biotrainer.session.analysis import MetricRows
from biotrainer.session.recorder import Recorder

PROTOCOL = """name = "short"
feedback = "{feedback}"
[[phases]]
kind = "baseline"
duration_s = 10
"""


def _run_loop(tmp_path: Path, source: ReconnectingSource, clock: SimulatedClock, feedback: str):
    """Run ``source`` through `biotrainer run`'s loop (on the simulated clock: ``--speed max``)
    for a 10-s protocol, recorded; return what it printed, timed [(clock s, line)], and the
    recording."""
    protocol = tmp_path / "short.toml"
    protocol.write_text(PROTOCOL.format(feedback=feedback))
    rec = Recorder.create(source.layout, out=tmp_path / "s", clock=clock, fsync=False)
    engine = Engine(source, load_protocol(protocol), clock=clock, recorder=rec)
    said: list[tuple[float, str]] = []

    def say(stream, text: str):
        said.extend((clock.now(), line) for line in text.splitlines())
        return stream

    with mock.patch("biotrainer.commands.run.say", say):
        assert _loop(engine, clock, math.inf, MetricRows(), None) is None
    engine.close()
    return [(t, line) for t, line in said if line.startswith("biotrainer: signal")], rec.path


def _seconds(pattern: str, text: str) -> float:
    m = re.search(pattern, text)
    assert m, (pattern, text)
    return float(m.group(1))


def _loss_lines(said, folder: Path, silence_s: float) -> float:
    """The two lines give the loss as ``events.csv`` does: "signal lost" after ``silence_s``
    without samples, "signal back after N s" counted from the last samples, the N of
    "reconnected after N s" and, to a poll, the gap in the timestamps; returns N."""
    assert [line[:23] for _, line in said] == ["biotrainer: signal lost", "biotrainer: signal back"]
    (t_lost, lost), (t_back, back) = said
    printed = _seconds(r"^biotrainer: signal back after ([0-9.]+) s$", back)
    events = load_session(folder).events
    logged = next(e.text for e in events if e.kind == "reconnected")
    assert printed == _seconds(r"^reconnected after ([0-9.]+) s$", logged)
    gap = _seconds(r"no samples for ([0-9.]+) s", next(e.text for e in events if e.kind == "gap"))
    assert printed == pytest.approx(gap, abs=0.11)
    quiet = _seconds(r"^biotrainer: signal lost: no new samples for ([0-9.]+) s; ", lost)
    assert quiet == pytest.approx(silence_s, abs=0.051)
    assert printed == pytest.approx(t_back - t_lost + quiet, abs=0.11)
    assert lost.endswith("; the session goes on as soon as they come back (Ctrl-C ends it)")
    return printed


def test_signal_back_counts_from_the_last_samples_as_events_csv_does(tmp_path: Path) -> None:
    """A headset mute from 5 s to 9 s: noticed at 6.5 s, re-opened at 8.5 s, back at 9 s. It
    printed "signal back after 2.5 s"."""
    clock = SimulatedClock()
    world = World(clock, mute=(5.0, 9.0), mute_sticks=True)
    src = ReconnectingSource(world.open, clock, retry_every_s=2.0)
    said, folder = _run_loop(tmp_path, src, clock, "alpha")
    assert _loss_lines(said, folder, SILENCE_S) == pytest.approx(4.0, abs=0.11)


def test_signal_back_of_an_rr_stream_counts_the_beats_wait_too(tmp_path: Path) -> None:
    """Beats stop after 9 s and come back at 18 s: a loss of 9 s (it printed 4.0 s, the 5 s
    an RR stream waits for a beat before it is lost left out)."""
    clock = SimulatedClock()
    src = ReconnectingSource(lambda: FakeStrap(clock, pause=(10.0, 18.0)), clock, retry_every_s=2.0)
    said, folder = _run_loop(tmp_path, src, clock, "coherence")
    assert _loss_lines(said, folder, BEATS_LOST_S) == pytest.approx(9.0, abs=0.11)


class _SilentSource:
    """A source that says nothing of when its samples stopped (a replayed recording's gap)."""

    state = SourceState.STREAMING


def test_a_source_that_does_not_say_when_the_loss_began_is_timed_from_its_notice() -> None:
    clock = SimulatedClock()
    watch, source = _SignalWatch(clock), _SilentSource()
    assert watch.line(source) is None
    source.state = SourceState.SILENT
    assert watch.line(source) == (
        "biotrainer: signal lost: no new samples; the session goes on as soon as they come back "
        "(Ctrl-C ends it)"
    )
    clock.advance(3.0)
    assert watch.line(source) is None
    source.state = SourceState.STREAMING
    assert watch.line(source) == "biotrainer: signal back after 3.0 s"
