"""The history window's progress charts are the report's: a line per protocol, interrupted
sessions hollow, the resonance assessment out of the feedback chart."""

from __future__ import annotations

import csv
import html

import pytest

pytest.importorskip("pytestqt")

from biotrainer.session.store import Store
from biotrainer.ui.history_view import HistoryView

COLUMNS = [
    "session_s", "phase_index", "phase_name", "phase_kind", "paused", "finished",
    "feedback_score", "feedback_z", "rewarded", "hr_bpm", "rmssd_ms", "quality_ok",
    "quality_reason", "source_state",
]  # fmt: skip


def _session(store: Store, tmp_path, protocol: str, kind: str, z: float, status: str):
    """A registered session of 60 s: baseline, then ``kind`` ("training" or "pacing")."""
    folder = tmp_path / f"s{len(store.sessions())}"
    folder.mkdir()
    with open(folder / "metrics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for i in range(600):
            second = i >= 300
            phase = (kind.capitalize(), kind) if second else ("Baseline", "baseline")
            w.writerow([i / 10, int(second), *phase, 0, 0, 0.6, z if second else 0.0,
                        int(second), 70.0, 40.0, 1, "ok", "streaming"])  # fmt: skip
    rec = store.add_session("H-1", folder, protocol, "simulator")
    return store.finish_session(rec.id, status=status)


def test_history_charts_keep_protocols_apart(qtbot, data_dir, tmp_path):
    with Store.open(data_dir) as store:
        store.add_patient("H-1")
        _session(store, tmp_path, "alpha-uptraining", "training", 1.5, "completed")
        _session(store, tmp_path, "resonance-assessment", "pacing", 30.0, "completed")
        _session(store, tmp_path, "eeg-hrv-relaxation", "training", 2.0, "completed")
        _session(store, tmp_path, "alpha-uptraining", "training", 0.2, "interrupted")
        view = HistoryView(store, "H-1")
        qtbot.addWidget(view)
        plots = [view.chart_grid.itemAt(k).widget() for k in range(view.chart_grid.count())]
        z = plots[0].getPlotItem()
        title = html.unescape(z.titleLabel.text).replace("\xa0", " ").replace("\u2011", "-")
        assert title.startswith("Feedback against the person's baseline")
        assert "resonance assessments left out" in title
        assert "Alpha up-training" in title and "Combined EEG and heart relaxation" in title
        assert "○ did not complete" in title
        drawn = [item.getData() for item in z.listDataItems()]
        points = {(float(x), float(y)) for xs, ys in drawn for x, y in zip(xs, ys, strict=True)}
        # sessions 1 and 3 on their protocols' lines, 4 hollow; the assessment (2, z 30) left out
        assert {x for x, _ in points} == {1.0, 3.0, 4.0}
        assert all(y < 30 for _, y in points)
