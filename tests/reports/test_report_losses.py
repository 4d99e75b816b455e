"""Pauses and signal losses in the session report: listed on the charts' protocol clock with how
long they lasted, totalled, marked on every time chart, and the "clean" / "device not
streaming" shares agree with the listed losses (audit 8, finding 2 and the pause of finding 3).

Before: the charts showed neither, the table listed no loss, and a loss never restored counted
nowhere. The sessions are made by the real Engine on the simulator (``simulator-muse2``) whose
data a proxy drops for a while, as a headset out of reach does.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from short_protocol import rest_then_train

from biotrainer.acquisition.factory import open_accelerated
from biotrainer.acquisition.source import SourceState
from biotrainer.cli import main
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.reports import charts as ch
from biotrainer.reports.format import minutes, pct
from biotrainer.reports.html import session_html
from biotrainer.reports.session_events import (
    LOST_KIND,
    PAUSE_KIND,
    ProtocolClock,
    loss_spans,
    open_loss,
)
from biotrainer.reports.session_report import build_session_report
from biotrainer.session.analysis import MetricSeries, read_metrics, summarize_folder
from biotrainer.session.reader import Event
from biotrainer.session.recorder import Recorder
from biotrainer.session.store import Store

PROTOCOL = rest_then_train("loss-test", "Loss test", training_s=40)

#: Clock seconds of the pause, of the signal loss, and (second session) of a loss never
#: restored, the session being stopped at STOP_AT.
PAUSE = (12.0, 17.0)
LOSS = (30.0, 38.0)
OPEN_LOSS_AT, STOP_AT = 45.0, 60.0
WALL_T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class DropsOut:
    """The simulator, whose samples are lost while the clock is in ``[lose_at, back_at)``: they
    are taken from it and thrown away (a hole in the recording), and the state says SILENT as
    a live source's does."""

    def __init__(self, inner, clock, lose_at: float, back_at: float) -> None:
        self.inner, self.clock = inner, clock
        self.lose_at, self.back_at = lose_at, back_at

    def _lost(self) -> bool:
        return self.lose_at <= self.clock.now() < self.back_at

    @property
    def state(self) -> SourceState:
        s = self.inner.state
        return SourceState.SILENT if s is SourceState.STREAMING and self._lost() else s

    def poll(self):
        chunk = self.inner.poll()
        return self.inner.layout.empty_chunk(self.clock.now()) if self._lost() else chunk

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _record(tmp, name: str, lose: tuple[float, float], stop_at: float | None):
    path = tmp / "loss-test.toml"
    path.write_text(PROTOCOL)
    clock = SimulatedClock()
    inner = open_accelerated("simulator-muse2", clock, 1.0, scenario="stressed-to-relaxed")
    source = DropsOut(inner, clock, *lose)
    source.prepare()
    recorder = Recorder.create(
        source.layout,
        out=tmp / name,
        clock=clock,
        fsync=False,
        wall_clock=lambda: WALL_T0 + timedelta(seconds=clock.now()),
    )
    engine = Engine(source, load_protocol(path), clock=clock, recorder=recorder)
    engine.start()
    at: dict[str, float] = {}  # the engine's protocol time when each began
    while not engine.finished and (stop_at is None or clock.now() < stop_at):
        clock.advance(0.05)
        now = clock.now()
        if PAUSE[0] <= now < PAUSE[1]:
            at.setdefault(PAUSE_KIND, engine.session_s)
            engine.pause()
        elif engine.paused:
            engine.resume()
        if source._lost():
            at.setdefault(LOST_KIND, engine.session_s)
        engine.tick()
    engine.close()
    return recorder.path, at


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("losses")
    restored, at = _record(tmp, "restored", LOSS, None)
    never, at_never = _record(tmp, "never", (OPEN_LOSS_AT, math.inf), STOP_AT)
    data = tmp / "data"
    with Store.open(data) as store:
        store.add_patient("P-LOSS")
        ids = {k: store.import_folder(f, "P-LOSS").id for k, f in (("r", restored), ("n", never))}
        reports = {k: build_session_report(store, i) for k, i in ids.items()}
    return {
        "tmp": tmp,
        "data": data,
        "folders": {"r": restored, "n": never},
        "ids": ids,
        "reports": reports,
        "at": {"r": at, "n": at_never},
    }


def _entries(report, kind):
    return [e for e in report.timeline if e.kind == kind]


def _lost_rows_protocol_time(folder) -> np.ndarray:
    s = read_metrics(folder)
    return s["session_s"][s["source_state"] == LOST_KIND]


def test_the_pause_and_the_loss_are_listed_on_the_protocol_clock(sessions):
    report = sessions["reports"]["r"]
    (pause,) = _entries(report, PAUSE_KIND)
    (loss,) = _entries(report, LOST_KIND)
    # where the engine's protocol clock was when each began (it stands still during both)
    at = sessions["at"]["r"]
    assert pause.time_s == pytest.approx(at[PAUSE_KIND], abs=0.11)
    assert pause.duration_s == pytest.approx(PAUSE[1] - PAUSE[0], abs=0.2)
    assert loss.time_s == pytest.approx(at[LOST_KIND], abs=0.11)
    assert at[LOST_KIND] - at[PAUSE_KIND] == pytest.approx(LOSS[0] - PAUSE[1], abs=0.2)
    assert set(_lost_rows_protocol_time(sessions["folders"]["r"])) == {loss.time_s}
    assert loss.duration_s == pytest.approx(LOSS[1] - LOSS[0], abs=0.25)
    assert loss.recording_s == pytest.approx(LOSS[0], abs=0.3)
    assert "Signal lost for 0:08" in loss.text
    assert [e.kind for e in report.timeline] == [PAUSE_KIND, LOST_KIND]
    html = session_html(report)
    assert f"{minutes(loss.time_s)}</td><td>signal lost</td>" in html
    assert ">0:08</td>" in html and ">0:05</td>" in html  # the "Lasted" column


def test_the_totals_and_the_shares_agree_with_the_listed_rows(sessions):
    report = sessions["reports"]["r"]
    listed = [e.duration_s for e in report.timeline if e.kind == LOST_KIND]
    assert report.losses == (len(listed), pytest.approx(sum(listed)))
    paused = [e.duration_s for e in report.timeline if e.kind == PAUSE_KIND]
    assert report.pauses == (1, pytest.approx(sum(paused)))
    # "device not streaming" is the listed loss time over the session's rows, 0.1 s each
    summary = summarize_folder(sessions["folders"]["r"])
    q = report.shares
    assert q.covered_s == pytest.approx(summary.n_updates * 0.1, rel=1e-6)
    assert q.lost_fraction * q.covered_s == pytest.approx(sum(listed), abs=1e-6)
    assert q.lost_fraction == pytest.approx(summary.quality.lost_fraction, abs=1e-9)
    assert q.clean_fraction == pytest.approx(summary.quality.clean_fraction, abs=1e-9)
    assert q.clean_fraction + q.lost_fraction <= 1 + 1e-9
    html = session_html(report)
    assert f"device not streaming: {100 * q.lost_fraction:.0f} %" in html
    assert f"1 signal loss, {minutes(sum(listed))} in all" in html
    assert f"1 loss, {minutes(sum(listed))} in all" in html  # the header's row
    assert f"1 pause: {minutes(sum(paused))} · 1 signal loss: {minutes(sum(listed))}" in html


def test_every_time_chart_marks_the_pause_and_the_loss(sessions):
    report = sessions["reports"]["r"]
    (pause,) = _entries(report, PAUSE_KIND)
    (loss,) = _entries(report, LOST_KIND)
    charts = report.charts()
    assert len(charts) >= 3  # score, relaxation, quality at least
    for chart in charts:
        kinds = {m.label: m for m in chart.marks}
        assert set(kinds) == {"paused", "signal lost"}, chart.name
        x = np.concatenate([s.x for s in chart.series])
        span = np.nanmax(x) - np.nanmin(x)
        for mark, entry in ((kinds["paused"], pause), (kinds["signal lost"], loss)):
            assert mark.x0 <= entry.time_s / 60 <= mark.x1, chart.name
            assert 0 < mark.x1 - mark.x0 <= 0.05 * span  # a strip, not a phase
        # each its own tint: not a phase's, not each other's
        phase_colors = {b.color for b in chart.bands}
        assert kinds["paused"].color not in phase_colors | {kinds["signal lost"].color}
        assert kinds["signal lost"].color not in phase_colors
    html = session_html(report)
    assert "darker grey strip = paused, red strip = signal lost" in html.lower()


def test_a_loss_never_restored_runs_to_the_end_of_the_session(sessions):
    report = sessions["reports"]["n"]
    folder = sessions["folders"]["n"]
    (loss,) = _entries(report, LOST_KIND)
    # no sample came back: no "signal lost" rows, only the event
    assert _lost_rows_protocol_time(folder).size == 0
    assert loss.duration_s == pytest.approx(STOP_AT - OPEN_LOSS_AT, abs=0.3)
    s = read_metrics(folder)
    assert loss.time_s == pytest.approx(float(s["session_s"].max()), abs=1e-9)
    assert loss.time_s == pytest.approx(sessions["at"]["n"][LOST_KIND], abs=0.11)
    assert "until the end of the session (0:15; never restored)" in loss.text
    assert report.losses == (1, pytest.approx(loss.duration_s))
    # the shares count it: the listed loss time over the rows' time plus the loss
    q = report.shares
    n = summarize_folder(folder).n_updates
    assert q.covered_s == pytest.approx(n * 0.1 + loss.duration_s, rel=1e-6)
    assert q.lost_fraction * q.covered_s == pytest.approx(loss.duration_s, abs=1e-6)
    # (the rows cover the data time up to the loss, the pause included: 10 rows a second)
    assert q.lost_fraction == pytest.approx(15 / (OPEN_LOSS_AT + 15), abs=0.01)
    assert (LOST_KIND, pytest.approx(q.lost_fraction)) in q.reasons
    # ... and so do the phase table's and the training's "clean" shares (the loss was in
    # training: its rows' clean time over their time plus the loss)
    stored = summarize_folder(folder)
    (train,) = [p for p in report.summary.phases if p.kind == "training"]
    (train_rows,) = [p for p in stored.phases if p.kind == "training"]
    rows_s = float(((s["phase_kind"] == "training") & (s["finished"] != 1)).sum()) * 0.1
    clean_s = train_rows.means.clean_fraction * rows_s
    assert train.means.clean_fraction == pytest.approx(clean_s / (rows_s + loss.duration_s))
    assert report.summary.training.clean_fraction == pytest.approx(train.means.clean_fraction)
    assert report.summary.baseline == stored.baseline  # the loss was not in the baseline
    assert train.means.clean_fraction < train_rows.means.clean_fraction - 0.1
    assert f">{pct(train.means.clean_fraction)}</td>" in session_html(report)
    # marked at the charts' end
    for chart in report.charts():
        (mark,) = [m for m in chart.marks if m.label == "signal lost"]
        x = np.concatenate([c.x for c in chart.series])
        assert mark.x0 <= loss.time_s / 60 <= mark.x1 + 1e-9
        assert mark.x1 >= np.nanmax(x)


def test_the_pdf_lists_and_totals_the_pause_and_the_loss(sessions):
    pypdf = pytest.importorskip("pypdf")
    out = sessions["tmp"] / "loss.pdf"
    argv = ["report", str(sessions["ids"]["r"]), "--out", str(out)]
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        assert main([*argv, "--data-dir", str(sessions["data"])]) == 0, err.getvalue()
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(out).pages)
    text = re.sub(r"\s+", " ", text)
    report = sessions["reports"]["r"]
    (loss,) = _entries(report, LOST_KIND)
    assert f"{minutes(loss.time_s)} signal lost Signal lost for 0:08" in text
    assert "Signal lost 1 loss, 0:08 in all" in text
    assert "Paused for 0:05" in text


def _series(states: list[str], session_s: list[float]) -> MetricSeries:
    n = len(states)
    return MetricSeries(
        {
            "session_s": np.asarray(session_s, dtype=float),
            "phase_index": np.zeros(n),
            "finished": np.zeros(n),
            "source_state": np.asarray(states, dtype=object),
        }
    )


def test_each_run_of_lost_rows_is_one_loss():
    ok, lost = "streaming", LOST_KIND
    states = [ok, lost, lost, lost, ok, ok, lost, lost, ok]
    session_s = [0.0, 0.1, 0.1, 0.1, 0.1, 0.2, 0.3, 0.3, 0.3]
    st = np.arange(len(states)) * 0.1 + 100.0
    spans = loss_spans(_series(states, session_s), 0.1, st, 100.0)
    assert [(s.time_s, round(s.duration_s, 9), s.recording_s) for s in spans] == [
        (0.1, 0.3, pytest.approx(0.1)),
        (0.3, 0.2, pytest.approx(0.6)),
    ]
    assert loss_spans(_series([ok, ok], [0.0, 0.1]), 0.1) == []


def test_a_lost_event_with_rows_after_it_is_not_counted_again():
    clock = ProtocolClock([10.0, 10.1, 12.0, 12.1], [0.0, 0.1, 0.1, 0.2])
    lost = [Event(10.1, "signal_lost", "no new samples")]
    # the data came back (rows after it) without a "signal_restored": its rows are the loss
    assert open_loss(lost, clock, 10.0) is None
    restored = [*lost, Event(12.0, "signal_restored", "")]
    assert open_loss(restored, clock, 10.0) is None
    late = [Event(12.1, "signal_lost", "no new samples")]
    span = open_loss(late, clock, 10.0, wall_end_s=20.0)
    assert span.to_end and span.time_s == 0.2
    assert span.duration_s == pytest.approx(10.0 + 20.0 - 12.1)
    # without a wall-clock end: to the last row (nothing known after it)
    assert open_loss(late, clock, 10.0).duration_s == 0.0


def test_a_strip_is_visible_and_stays_on_the_axis():
    a = ch.mark_strip(5.0, 0.0, 10.0, 0.01, ch.MARK_LOST, "signal lost")
    assert a.x1 - a.x0 == pytest.approx(0.1) and a.x0 < 5.0 < a.x1
    end = ch.mark_strip(10.0, 0.0, 10.0, 0.5, ch.MARK_LOST, "signal lost")
    assert end.x1 == pytest.approx(10.0) and end.x1 - end.x0 == pytest.approx(0.5)
    start = ch.mark_strip(0.0, 0.0, 10.0, 0.5, ch.MARK_PAUSE, "paused")
    assert start.x0 == 0.0
