"""A session stopped during its baseline has no figures of its own: its baseline is no result.

The progress report, its charts, the history window and ``biotrainer sessions`` showed the
baseline's z and RMSSD as the session's (an 8-s session: z -0.2 and RMSSD 4.4, its baseline
row's). The whole session stands for what was practised only when the protocol has no training
or paced breathing phase at all.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math

import pytest

from biotrainer.cli import main
from biotrainer.engine.protocol import protocols_dir
from biotrainer.reports.html import progress_html
from biotrainer.reports.progress import build_progress_report
from biotrainer.session.store import Store

COLUMNS = [
    "session_s", "phase_index", "phase_name", "phase_kind", "paused", "finished",
    "feedback_score", "feedback_z", "rewarded", "hr_bpm", "rmssd_ms", "quality_ok",
    "quality_reason", "source_state",
]  # fmt: skip

#: A protocol without training or paced breathing (installed by the test, see ``protocols``).
REST_ONLY = """
name = "rest-only"
title = "Rest only"
feedback = "alpha"

[[phases]]
name = "Baseline"
kind = "baseline"
duration_s = 30
eyes = "open"

[[phases]]
name = "Rest"
kind = "rest"
duration_s = 30
eyes = "open"
"""


def _session(store: Store, tmp_path, protocol: str, phases, status: str):
    """A registered session of 10-s phases, each ``(kind, z, rmssd_ms)``."""
    folder = tmp_path / f"s{len(store.sessions())}"
    folder.mkdir()
    with open(folder / "metrics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for index, (kind, z, rmssd) in enumerate(phases):
            for i in range(100):
                w.writerow([index * 10 + i / 10, index, kind.capitalize(), kind, 0, 0, 0.6, z,
                            0, 70.0, rmssd, 1, "ok", "streaming"])  # fmt: skip
    rec = store.add_session("P1", folder, protocol, "simulator")
    return store.finish_session(rec.id, status=status)


@pytest.fixture
def store(data_dir, tmp_path, monkeypatch):
    """P1's sessions: 1 completed alpha up-training (z +1.5 in training), 2 interrupted during
    its baseline (z -0.2, RMSSD 4.4), 3 and 4 of a protocol without training (completed, and
    interrupted), 5 interrupted during the baseline of a protocol not installed any more."""
    protocols = tmp_path / "protocols"
    protocols.mkdir()
    (protocols / "rest-only.toml").write_text(REST_ONLY)
    shipped = protocols_dir() / "alpha-uptraining.toml"
    (protocols / shipped.name).write_text(shipped.read_text())
    monkeypatch.setenv("BIOTRAINER_PROTOCOLS", str(protocols))
    with Store.open(data_dir) as s:
        s.add_patient("P1")
        train = [("baseline", 0.0, 20.0), ("training", 1.5, 30.0)]
        _session(s, tmp_path, "alpha-uptraining", train, "completed")
        _session(s, tmp_path, "alpha-uptraining", [("baseline", -0.2, 4.4)], "interrupted")
        rest = [("baseline", 0.3, 25.0), ("rest", 0.7, 35.0)]
        _session(s, tmp_path, "rest-only", rest, "completed")
        _session(s, tmp_path, "rest-only", rest[:1], "interrupted")
        _session(s, tmp_path, "uninstalled", [("baseline", -0.2, 4.4)], "interrupted")
        yield s


def test_progress_rows_of_sessions_stopped_in_their_baseline_have_no_figures(store):
    rows = build_progress_report(store, "P1").rows
    assert rows[0].z == pytest.approx(1.5) and rows[0].rmssd_ms == pytest.approx(30.0)
    for r in (rows[1], rows[4]):  # (the protocol not installed: not known to have none)
        assert math.isnan(r.z) and math.isnan(r.rmssd_ms) and math.isnan(r.hr_bpm), r


def test_a_protocol_without_training_keeps_the_whole_session_as_its_figures(store):
    rows = build_progress_report(store, "P1").rows
    # (a baseline is the reference of the z-scores: it has none of its own)
    assert rows[2].z == pytest.approx(0.7) and rows[2].rmssd_ms == pytest.approx(30.0)
    assert math.isnan(rows[3].z) and rows[3].rmssd_ms == pytest.approx(25.0)


def test_the_progress_table_and_charts_show_no_baseline_as_a_result(store):
    report = build_progress_report(store, "P1")
    text = progress_html(report)
    row = text.split("#2</td>")[1].split("</tr>")[0]
    assert "4.4" not in row and "−0.2" not in row
    assert row.count(">–</td>") >= 5  # z, in target, RMSSD, coherence, breathing
    charts = {c.name: c for c in report.charts()}
    for name in ("z", "rmssd"):
        drawn = {
            float(x)
            for s in charts[name].series
            for x, y in zip(s.x, s.y, strict=True)
            if math.isfinite(y)
        }
        # (sessions 2 and 5 have no figures, session 4 only a baseline: no z)
        assert drawn == ({1.0, 3.0} if name == "z" else {1.0, 3.0, 4.0}), name


def test_the_sessions_listing_shows_no_baseline_as_a_result(store, data_dir):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(["sessions", "--data-dir", str(data_dir)]) == 0, err.getvalue()
    lines = {line.split()[0]: line for line in out.getvalue().splitlines()[1:]}
    assert "+1.5" in lines["1"] and "30.0" in lines["1"]
    for sid in ("2", "5"):
        assert "4.4" not in lines[sid] and "−0.2" not in lines[sid], lines[sid]
        assert lines[sid].split()[-5:-2] == ["–", "–", "–"]  # z, target, RMSSD
    assert lines["4"].split()[-5:-2] == ["–", "–", "25.0"]


def test_the_history_window_shows_no_baseline_as_a_result(store, qtbot):
    from biotrainer.ui.history_view import HistoryView

    view = HistoryView(store, "P1")
    qtbot.addWidget(view)
    header = [view.table.horizontalHeaderItem(j).text() for j in range(view.table.columnCount())]
    z, rmssd = header.index("vs baseline (z)"), header.index("RMSSD (ms)")
    cells = [[view.table.item(i, j).text() for j in (z, rmssd)] for i in range(5)]
    assert cells[0] == ["+1.5", "30.0"]
    assert cells[1] == cells[4] == ["–", "–"]
    assert cells[3] == ["–", "25.0"]


def test_an_assessment_stored_before_paced_breathing_was_pooled_keeps_its_figures():
    """Summaries stored before ``pacing`` was kept have the phases but not their pooled means:
    the session reached its paced breathing, so its whole session stands for it as before."""
    from biotrainer.session.analysis import SessionSummary

    means = {"duration_s": 60.0, "z": 2.0, "rmssd_ms": 50.0}
    phases = [
        {"index": 0, "name": "Baseline", "kind": "baseline", "start_s": 0.0, "means": means},
        {"index": 1, "name": "Pace 6", "kind": "pacing", "start_s": 60.0, "means": means},
    ]
    old = SessionSummary.from_dict({"duration_s": 120.0, "phases": phases, "overall": means})
    assert old.pacing is None
    assert old.practice_of({"baseline", "pacing"}).rmssd_ms == 50.0
    stopped = SessionSummary.from_dict({"duration_s": 60, "phases": phases[:1], "overall": means})
    assert stopped.practice_of({"baseline", "pacing"}) is None
    assert stopped.practice_of(None) is None
    assert stopped.practice_of({"baseline"}).rmssd_ms == 50.0
