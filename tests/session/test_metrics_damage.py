"""session.analysis: a damaged ``phase_index`` cell in metrics.csv is a damaged row, not a
traceback in ``sessions import`` or the reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from biotrainer.session.analysis import read_metrics, summarize_folder

HEADER = "session_s,phase_index,phase_name,phase_kind,quality_ok,finished\n"


def _metrics(folder: Path, bad_cell: str) -> Path:
    rows = [f"{k / 10:.1f},0,Rest,baseline,1,0\n" for k in range(5)]
    rows.append(f"0.5,{bad_cell},Rest,baseline,1,0\n")
    rows += [f"{k / 10:.1f},1,Train,training,1,0\n" for k in range(6, 10)]
    folder.mkdir()
    (folder / "metrics.csv").write_text(HEADER + "".join(rows), encoding="utf-8")
    return folder


@pytest.mark.parametrize("bad_cell", ["inf", "-inf", "2.5", "nan", "", "-7", "1e300", "x"])
def test_a_damaged_phase_index_is_a_damaged_row(tmp_path: Path, bad_cell: str) -> None:
    """`inf` gave an OverflowError (int(inf)), `2.5` an IndexError (a phase with no rows)."""
    folder = _metrics(tmp_path / "s", bad_cell)
    summary = summarize_folder(folder)
    assert [(p.index, p.name, p.kind) for p in summary.phases] == [
        (0, "Rest", "baseline"),
        (1, "Train", "training"),
    ]
    assert summary.n_updates == 9
    assert summary.warnings == ("metrics.csv: 1 damaged row(s) skipped",)
    series = read_metrics(folder)
    assert len(series) == 9 and series.warnings == summary.warnings


def test_phase_index_before_the_start_and_after_the_end_is_not_damage(tmp_path: Path) -> None:
    """-1 (before the protocol starts) and the number of phases (after its end) are written by
    the engine: they are not damaged rows."""
    folder = tmp_path / "s"
    folder.mkdir()
    rows = "0.0,-1,,,1,0\n0.1,0,Rest,baseline,1,0\n0.2,0,Rest,baseline,1,0\n0.3,1,,,1,1\n"
    (folder / "metrics.csv").write_text(HEADER + rows, encoding="utf-8")
    summary = summarize_folder(folder)
    assert summary.warnings == () and summary.n_updates == 2
    assert [p.index for p in summary.phases] == [0]
