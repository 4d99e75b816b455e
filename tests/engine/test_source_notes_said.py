"""A source's notes (``source_note`` events: what it assumed of its stream, e.g. an LSL stream's
unit) are said to the person running the session, not only written to ``events.csv``: the
engine keeps them for :meth:`Engine.take_notes`, `run` and `record` print them as
"biotrainer: note: ..." lines, and the trainer shows them in its status bar."""

from __future__ import annotations

import io
from functools import cache

from memsource import MemorySource

from biotrainer.acquisition.profiles import load_profile
from biotrainer.acquisition.simulator.render import render_scenario
from biotrainer.acquisition.simulator.scenario import load_scenario
from biotrainer.acquisition.source import EVENT_SOURCE_NOTE
from biotrainer.clock import SimulatedClock
from biotrainer.commands.record import Progress, record
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.session.reader import load_events
from biotrainer.session.recorder import Recorder

NOTE = "LSL stream 'x': its EEG channels give no unit: taken as microvolts"


@cache
def _rendered():
    layout = load_profile("simulator-muse2").layout()
    return render_scenario(load_scenario("eyes-open-closed"), layout, seed=3)


class NotingSource(MemorySource):
    """Queues one note with its first samples, and a reconnect-like event (not a note)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._events: list[tuple[str, str]] = []
        self._noted = False

    def poll(self):
        chunk = super().poll()
        if not chunk.empty and not self._noted:
            self._noted = True
            self._events += [(EVENT_SOURCE_NOTE, NOTE), ("reconnected", "reconnected after 1 s")]
        return chunk

    def take_events(self):
        events, self._events = self._events, []
        return events


def _source(clock: SimulatedClock) -> NotingSource:
    r = _rendered()
    data = {p: a[:, : int(20 * r.layout.preset(p).fs)] for p, a in r.data.items()}
    return NotingSource(r.layout, data, clock)


def test_the_engine_keeps_a_source_note_to_say_once_and_records_it(tmp_path):
    clock = SimulatedClock()
    source = _source(clock)
    recorder = Recorder.create(source.layout, out=tmp_path / "s", clock=clock, fsync=False)
    engine = Engine(source, load_protocol("alpha-uptraining"), clock=clock, recorder=recorder)
    engine.start()
    notes = []
    for _ in range(40):
        clock.advance(0.25)
        engine.tick()
        notes += engine.take_notes()
    engine.close()
    assert notes == [NOTE]  # (once; a reconnect is no note)
    events, _ = load_events(tmp_path / "s")
    assert [e.text for e in events if e.kind == EVENT_SOURCE_NOTE] == [NOTE]


def test_record_prints_a_source_note_on_a_line_of_its_own(tmp_path):
    clock = SimulatedClock()
    source = _source(clock)
    source.prepare()
    recorder = Recorder.create(source.layout, out=tmp_path / "r", clock=clock, fsync=False)
    out = io.StringIO()

    def sleep(s: float) -> None:
        clock.advance(s)

    record(source, recorder, 3.0, clock=clock, progress=Progress(out), sleep=sleep)
    lines = out.getvalue().splitlines()
    assert f"biotrainer: note: {NOTE}" in lines
    assert sum(NOTE in line for line in lines) == 1


def test_a_terminal_progress_line_is_cleared_before_the_note():
    """On a terminal the progress line is rewritten in place: the note takes its own line."""

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    progress = Progress(out)
    progress.show(0.0, "recording 1.0 / 10.0 s", force=True)
    progress.note(NOTE)
    progress.show(0.1, "recording 1.1 / 10.0 s")  # (shown again at once, under the note)
    text = out.getvalue()
    assert f"\r{' ' * 70}\rbiotrainer: note: {NOTE}\n" in text
    assert text.endswith("recording 1.1 / 10.0 s".ljust(70))
