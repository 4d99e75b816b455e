"""The CSV export carries ``feedback_z``, the figure every progress view ranks sessions by."""

from __future__ import annotations

import csv

from biotrainer.reports.csv_export import EXPORT_COLUMNS, export_metrics_csv

HEADER = [
    "session_s", "phase_index", "phase_name", "phase_kind", "paused", "finished",
    "feedback_value", "feedback_score", "feedback_z", "rewarded", "quality_ok",
]  # fmt: skip


def test_the_export_has_the_feedback_z_score_after_the_feedback_value(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    with open(folder / "metrics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerow([0.0, 0, "Baseline", "baseline", 0, 0, 10.0, 0.5, 0.0, 0, 1])
        w.writerow([0.1, 1, "Training", "training", 0, 0, 14.0, 0.7, 1.25, 1, 1])
        w.writerow([0.2, 1, "Training", "training", 0, 0, 9.0, 0.4, "", 0, 1])
    out = tmp_path / "m.csv"
    assert export_metrics_csv(folder, out) == 3
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    names = list(rows[0])
    assert names == list(EXPORT_COLUMNS)
    assert names.index("feedback_z") == names.index("feedback_value") + 1
    assert [r["feedback_z"] for r in rows] == ["0.0", "1.25", ""]  # empty: not available
