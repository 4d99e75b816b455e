"""The end-of-session summary marks a mean that rests on less than half of its phase.

Its table showed a training RMSSD of 116.7 ms, from 6 % of the phase (the beats too irregular for
the rest), as the phase's, where the table ``biotrainer run`` prints marks it: the dialog follows
such a mean with "*", gives its share in the cell's tooltip and explains the mark under the table.
"""

from __future__ import annotations

import json
import math

from reports.thin_session import FULL, THIN_RMSSD, THIN_SHARE  # (tests/ is on the path)

from biotrainer.engine.updates import MetricUpdate
from biotrainer.reports.format import part
from biotrainer.session.analysis import THIN_MEAN_NOTE, SessionSummary, summarize_updates
from biotrainer.ui.session_summary import PHASE_COLUMNS, SessionSummaryDialog

#: Updates a second.
RATE_HZ = 10
#: The means whose share is kept that the dialog shows, by its column heading.
SHOWN = {"z": "vs baseline (z)", "hr_bpm": "HR (bpm)", "rmssd_ms": "RMSSD (ms)",
         "coherence": "Coherence", "breathing_bpm": "Breathing (/min)"}  # fmt: skip


def _updates(training_rows: int, rmssd_rows: int) -> list[MetricUpdate]:
    """A 10-s baseline then ``training_rows`` of training, every metric of :data:`FULL` on
    every row but the training's RMSSD: :data:`THIN_RMSSD` on its first ``rmssd_rows``."""
    values = {k: float(v) for k, v in FULL.items() if k not in ("quality_ok", "paused")}
    out = []
    for i in range(10 * RATE_HZ + training_rows):
        phase = 0 if i < 10 * RATE_HZ else 1
        row = dict(values)
        if phase == 1:
            k = i - 10 * RATE_HZ
            row["rmssd_ms"] = float(THIN_RMSSD) if k < rmssd_rows else math.nan
        out.append(
            MetricUpdate(
                session_s=i / RATE_HZ, sample_time=100.0 + i / RATE_HZ, received_at=0.0,
                computed_at=0.0, phase_index=phase, phase_name=["Rest first", "Train"][phase],
                phase_kind=["baseline", "training"][phase], quality_ok=FULL["quality_ok"] == "1",
                paused=FULL["paused"] == "1", **row,
            )
        )  # fmt: skip
    return out


def _shown(dialog: SessionSummaryDialog) -> dict[tuple[str, str], tuple[str, str]]:
    """The phase table's mean cells by (phase, heading): (text, tooltip)."""
    table = dialog.phase_table
    cells = {}
    for i in range(table.rowCount()):
        for j, heading in enumerate(PHASE_COLUMNS):
            if heading in SHOWN.values():
                item = table.item(i, j)
                cells[(table.item(i, 0).text(), heading)] = (item.text(), item.toolTip())
    return cells


def test_the_dialog_marks_a_thin_mean_and_says_why_once(qtbot) -> None:
    rows = 600
    kept = round(THIN_SHARE * rows)
    summary = summarize_updates(_updates(rows, kept))
    dialog = SessionSummaryDialog("Thin means", summary.phases, "Completed.")
    qtbot.addWidget(dialog)
    cells = _shown(dialog)
    text, tip = cells[("Train", "RMSSD (ms)")]
    assert text == f"{THIN_RMSSD}*"
    assert f"over {part(kept / rows)} of the phase" in tip  # ("over 6 % of the phase")
    marked = [key for key, (text, _) in cells.items() if text.endswith("*")]
    assert marked == [("Train", "RMSSD (ms)")]
    assert [key for key, (_, tip) in cells.items() if tip] == marked
    assert cells[("Rest first", "RMSSD (ms)")][0] == FULL["rmssd_ms"]
    assert dialog.thin_note is not None and dialog.thin_note.text() == THIN_MEAN_NOTE
    # the same session with an RMSSD on most of its training: nothing marked, no note
    half = summarize_updates(_updates(rows, rows // 2))  # (half is enough)
    whole = SessionSummaryDialog("Thin means", half.phases, "Completed.")
    qtbot.addWidget(whole)
    assert not any(text.endswith("*") or tip for text, tip in _shown(whole).values())
    assert whole.thin_note is None
    # the thin session as a summary stored before the shares were kept: nothing marked
    stored = summary.to_dict()
    for p in stored["phases"]:
        for key in [k for k in p["means"] if k.endswith("_coverage")]:
            del p["means"][key]
    before = SessionSummary.from_dict(json.loads(json.dumps(stored)))
    older = SessionSummaryDialog("Thin means", before.phases, "Completed.")
    qtbot.addWidget(older)
    assert _shown(older)[("Train", "RMSSD (ms)")] == (THIN_RMSSD, "")
    assert older.thin_note is None
