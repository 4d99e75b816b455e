"""The session report's markers, notes and pauses are on its charts' protocol clock, and a
resonance assessment's report gives its result (chosen rate and the rates tried)."""

from __future__ import annotations

import contextlib
import csv
import io
import math
import re
from pathlib import Path

import pytest
from reportkit import cli
from short_protocol import rest_then_train

from biotrainer.acquisition.factory import open_accelerated
from biotrainer.cli import main
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.reports.format import minutes
from biotrainer.reports.html import session_html
from biotrainer.reports.session_events import (
    BEATS_UNKNOWN,
    ProtocolClock,
    resonance_from_events,
)
from biotrainer.reports.session_report import build_session_report
from biotrainer.session.reader import Event, load_events
from biotrainer.session.recorder import Recorder
from biotrainer.session.store import Store

PROTOCOL = rest_then_train("pause-test", "Pause test", training_s=30)

#: Clock seconds of the pause, then of the marker and the note after it.
PAUSE = (25.0, 40.0)
MARKER_AT = 45.0
NOTE_AT = 48.0


@pytest.fixture(scope="module")
def paused(tmp_path_factory):
    """A session paused for 15 s of data, with a marker and a note after the pause, in a
    store."""
    tmp = tmp_path_factory.mktemp("paused")
    path = tmp / "pause-test.toml"
    path.write_text(PROTOCOL)
    clock = SimulatedClock()
    source = open_accelerated("simulator-muse2", clock, 1.0, scenario="stressed-to-relaxed")
    source.prepare()
    recorder = Recorder.create(source.layout, out=tmp / "session", clock=clock)
    engine = Engine(source, load_protocol(path), clock=clock, recorder=recorder)
    engine.start()
    marker_session_s = note_session_s = None
    while not engine.finished:
        clock.advance(0.05)
        now = clock.now()
        if PAUSE[0] <= now < PAUSE[1]:
            engine.pause()
        elif engine.paused:
            engine.resume()
        if marker_session_s is None and now >= MARKER_AT:
            engine.add_marker("patient yawned")
            marker_session_s = engine.session_s
        if note_session_s is None and now >= NOTE_AT:
            engine.add_note("Zelda Testperson moved")
            note_session_s = engine.session_s
        engine.tick()
    engine.close()
    data = tmp / "data"
    with Store.open(data) as store:
        store.add_patient("P-PAUSE", name="Zelda Testperson")
        rec = store.import_folder(recorder.path, "P-PAUSE")
        report = build_session_report(store, rec.id)
    return {
        "folder": recorder.path,
        "report": report,
        "marker_s": marker_session_s,
        "note_s": note_session_s,
        "data": data,
        "id": rec.id,
        "tmp": tmp,
    }


def test_markers_are_listed_at_the_protocol_time_of_the_charts(paused):
    report = paused["report"]
    assert report.on_protocol_clock
    entries = {e.kind: e for e in report.timeline}
    marker, note = entries["marker"], entries["note"]
    # the engine's protocol clock when the marker was pressed, not the time since the first
    # sample (which counts the 15 s of pause too)
    assert marker.time_s == pytest.approx(paused["marker_s"], abs=0.11)
    assert note.time_s == pytest.approx(paused["note_s"], abs=0.11)
    assert marker.recording_s - marker.time_s == pytest.approx(PAUSE[1] - PAUSE[0], abs=0.3)
    assert note.text == "[name] moved"  # de-identified
    # the store's markers are unchanged (times from the first sample)
    (stored,) = [m for m in report.markers if m.kind == "marker"]
    assert stored.time_s == marker.recording_s
    # the charts' axis: the marker falls inside the protocol time they cover
    (score,) = [c for c in report.charts() if c.name == "score"]
    assert score.series[0].x.max() * 60 >= marker.time_s - 15


def test_the_pause_is_listed_where_it_happened_and_how_long(paused):
    report = paused["report"]
    (pause,) = [e for e in report.timeline if e.kind == "pause"]
    assert pause.time_s == pytest.approx(PAUSE[0] - 0.0, abs=0.6)  # the clock starts at 0
    assert "Paused for 0:15" in pause.text
    n, seconds = report.pauses
    assert n == 1 and seconds == pytest.approx(15.0, abs=0.2)
    order = [e.kind for e in report.timeline]
    assert order == ["pause", "marker", "note"]


def test_the_pdf_shows_markers_on_the_charts_clock_and_the_pause(paused):
    pypdf = pytest.importorskip("pypdf")
    out = paused["tmp"] / "paused.pdf"
    argv = ["report", str(paused["id"]), "--out", str(out), "--data-dir", str(paused["data"])]
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        assert main(argv) == 0, err.getvalue()
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(out).pages)
    text = re.sub(r"\s+", " ", text.replace("\ufb01", "fi"))
    report = paused["report"]
    marker = next(e for e in report.timeline if e.kind == "marker")
    assert f"{minutes(marker.time_s)} marker patient yawned" in text
    assert f"{minutes(marker.recording_s)} marker" not in text
    assert "Paused for 0:15" in text and "Markers, notes, pauses and signal losses" in text
    assert "1 pause, 0:15 in all" in text
    assert "Zelda" not in text


def test_protocol_clock_takes_the_last_update_at_or_before():
    clock = ProtocolClock([10.0, 10.1, 10.2, 30.2, 30.3], [0.0, 0.1, 0.2, 0.2, 0.3])
    assert clock.at(9.0) == 0.0  # before the first update
    assert clock.at(10.1) == 0.1
    assert clock.at(10.1999996) == 0.2  # sample_time is written rounded
    assert clock.at(20.0) == 0.2  # paused: the clock stands still
    assert clock.at(99.0) == 0.3
    assert clock.at(math.nan) is None
    assert ProtocolClock([], []).at(10.0) is None


def test_protocol_clock_reads_metrics_csv(paused):
    clock = ProtocolClock.of_folder(paused["folder"])
    with open(paused["folder"] / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    row = rows[len(rows) // 2]
    assert clock.at(float(row["sample_time"])) == float(row["session_s"])


# -- resonance assessment -------------------------------------------------------------------

ASSESSMENT = """
name = "short-assessment"
title = "Short resonance assessment"
feedback = "coherence"

[[phases]]
name = "Baseline"
kind = "baseline"
duration_s = 20

[[phases]]
name = "6.0 breaths/min"
kind = "pacing"
duration_s = 90
pacer_bpm = 6.0

[[phases]]
name = "5.0 breaths/min"
kind = "pacing"
duration_s = 90
pacer_bpm = 5.0
"""


@pytest.fixture(scope="module")
def assessment(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("assessment")
    data = tmp / "data"
    protocol = tmp / "short-assessment.toml"
    protocol.write_text(ASSESSMENT)
    assert cli("patients", "add", "P-RES", "--data-dir", str(data))[0] == 0
    rc, out, err = cli(
        "run", "--protocol", str(protocol), "--device", "simulator",
        "--scenario", "resonance-breathing", "--speed", "max", "--seed", "3",
        "--patient", "P-RES", "--data-dir", str(data),
    )  # fmt: skip
    assert rc == 0, err
    folder = Path(out.strip().splitlines()[-1])
    with Store.open(data) as store:
        (rec,) = store.sessions("P-RES")
        report = build_session_report(store, rec.id)
    return {"tmp": tmp, "data": data, "folder": folder, "id": rec.id, "report": report}


def test_the_assessment_result_is_in_the_session_report(assessment):
    report = assessment["report"]
    events, _ = load_events(assessment["folder"])
    (logged,) = [e for e in events if e.kind == "resonance"]
    res = report.resonance
    assert res is not None and report.assessment
    assert [r.bpm for r in res.rates] == [6.0, 5.0]
    assert math.isfinite(res.best_bpm) and res.best_bpm in (6.0, 5.0)
    assert logged.text.startswith(f"best {res.best_bpm:g}/min")
    for r in res.rates:
        assert f"{r.bpm:g}/min LF {r.lf_power_ms2:.0f} ms² swing {r.hr_swing_bpm:.1f}" in (
            logged.text
        )
    html = session_html(report)
    assert "Resonance-frequency assessment" in html
    assert f"<b>{res.best_bpm:g} breaths/min</b>" in html


def test_the_assessment_pdf_shows_the_chosen_rate_and_the_rates_tried(assessment):
    pypdf = pytest.importorskip("pypdf")
    out = assessment["tmp"] / "assessment.pdf"
    rc, _, err = cli(
        "report", str(assessment["id"]), "--out", str(out), "--data-dir", str(assessment["data"])
    )
    assert rc == 0, err
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(out).pages)
    text = re.sub(r"\s+", " ", text)
    res = assessment["report"].resonance
    assert f"Resonance breathing rate {res.best_bpm:g} breaths/min" in text
    assert "LF power (ms²)" in text and "HR swing (beats/min)" in text
    for r in res.rates:
        assert f"{r.lf_power_ms2:.0f}" in text and f"{r.hr_swing_bpm:.1f}" in text


def test_resonance_event_is_read_back_as_the_engine_wrote_it():
    text = (
        "best 5.5/min (6.5/min LF 1424 ms² swing 9.0 bpm, 6/min LF 2532 ms² swing 12.1 bpm, "
        "5.5/min LF 3116 ms² swing 12.8 bpm, 5/min LF nan ms² swing nan bpm)"
    )
    res = resonance_from_events([Event(1.0, "phase", "x"), Event(2.0, "resonance", text)])
    assert res.best_bpm == 5.5
    assert [(r.bpm, r.lf_power_ms2) for r in res.rates[:3]] == [
        (6.5, 1424.0),
        (6.0, 2532.0),
        (5.5, 3116.0),
    ]
    assert math.isnan(res.rates[3].lf_power_ms2) and math.isnan(res.rates[3].hr_swing_bpm)
    assert {r.n_beats for r in res.rates} == {BEATS_UNKNOWN}
    undecided = resonance_from_events([Event(2.0, "resonance", "best nan/min ()")])
    assert math.isnan(undecided.best_bpm) and undecided.rates == ()
    assert resonance_from_events([Event(1.0, "marker", "")]) is None
    assert resonance_from_events([Event(1.0, "resonance", "garbled")]) is None


def test_an_assessment_stopped_before_its_end_says_no_rate_was_chosen(assessment, tmp_path):
    import shutil

    folder = tmp_path / "stopped"
    shutil.copytree(assessment["folder"], folder)
    lines = (folder / "events.csv").read_text().splitlines(keepends=True)
    (folder / "events.csv").write_text("".join(x for x in lines if ",resonance," not in x))
    with Store.open(tmp_path / "data") as store:
        store.add_patient("P-RES")
        rec = store.import_folder(folder, "P-RES")
        report = build_session_report(store, rec.id)
    assert report.resonance is None and report.assessment
    assert "not decided (the assessment did not reach its end)" in session_html(report)
