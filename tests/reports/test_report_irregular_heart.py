"""A session whose heart beats were too irregular to measure for part of it: the report says
for how much, beside means that cover only the rest."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from reportkit import cli, pdf_text

from biotrainer.engine.updates import MetricUpdate
from biotrainer.reports.session_report import irregular_heart_notes
from biotrainer.session.analysis import irregular_heart_share, read_metrics, series_from_updates

pypdf = pytest.importorskip("pypdf")

PROTOCOL = """
name = "brief-heart"
title = "Brief heart"
feedback = "alpha"

[[phases]]
name = "Rest first"
kind = "baseline"
duration_s = 20
eyes = "open"

[[phases]]
name = "Train"
kind = "training"
duration_s = 20
eyes = "open"
"""


def _updates(flags: list[bool], phase_index: int = 0) -> list[MetricUpdate]:
    return [
        MetricUpdate(
            session_s=0.1 * i, sample_time=100.0 + 0.1 * i, received_at=0.0, computed_at=0.0,
            phase_index=phase_index, phase_name="Rest", phase_kind="baseline",
            heart_irregular=flag,
        )
        for i, flag in enumerate(flags)
    ]  # fmt: skip


def test_the_share_counts_the_protocol_rows_marked_irregular() -> None:
    series = series_from_updates(_updates([False] * 30 + [True] * 10))
    assert irregular_heart_share(series) == pytest.approx(0.25)
    (note,) = irregular_heart_notes(series)
    assert "too irregular" in note and "25 %" in note
    assert irregular_heart_share(series_from_updates(_updates([False] * 40))) == 0.0
    assert irregular_heart_notes(series_from_updates(_updates([False] * 40))) == []
    # rows before the protocol (phase -1) do not count
    before = _updates([True] * 10, phase_index=-1)
    after = _updates([False] * 10)
    rows = before + [
        MetricUpdate(**{**u.__dict__, "sample_time": u.sample_time + 10.0}) for u in after
    ]
    assert irregular_heart_share(series_from_updates(rows)) == 0.0
    # a sliver is said as such, not as "0 %"
    (sliver,) = irregular_heart_notes(series_from_updates(_updates([True] + [False] * 299)))
    assert "under 1 %" in sliver


def test_a_recording_without_the_column_has_no_share(tmp_path: Path) -> None:
    """metrics.csv files written before the column existed read as 0 (no note)."""
    header = [c for c in MetricUpdate.csv_columns() if c != "heart_irregular"]
    u = _updates([True] * 5)
    with open(tmp_path / "metrics.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for x in u:
            row = dict(zip(MetricUpdate.csv_columns(), x.csv_row(), strict=True))
            w.writerow([row[c] for c in header])
    assert irregular_heart_share(read_metrics(tmp_path)) == 0.0


def test_the_session_report_says_how_much_was_too_irregular(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    protocol = tmp_path / "brief-heart.toml"
    protocol.write_text(PROTOCOL)
    assert cli("patients", "add", "P-IRR", "--data-dir", data)[0] == 0
    rc, out, err = cli("run", "--protocol", str(protocol), "--patient", "P-IRR",
                       "--device", "simulator", "--speed", "max", "--data-dir", data)  # fmt: skip
    assert rc == 0, err
    (line,) = [x for x in out.splitlines() if x.startswith("session ")]
    sid = line.split()[1]
    (metrics,) = Path(data).rglob("metrics.csv")
    with open(metrics, newline="") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index("heart_irregular")
    phase = rows[0].index("phase_index")
    in_protocol = [r for r in rows[1:] if int(r[phase]) >= 0]
    for r in in_protocol[: len(in_protocol) // 2]:  # the beats irregular for half the session
        r[col] = "1"
    with open(metrics, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    pdf = tmp_path / "r.pdf"
    rc, _, err = cli("report", sid, "--out", str(pdf), "--data-dir", data)
    assert rc == 0, err
    text = pdf_text(pdf)
    assert "too irregular to measure heart-rate variability for 50 % of the session" in text
    # the exported time series carries the mark, so a blank RMSSD can be told apart
    out = tmp_path / "m.csv"
    rc, _, err = cli("report", sid, "--csv", str(out), "--data-dir", data)
    assert rc == 0, err
    with open(out, newline="") as fh:
        exported = list(csv.DictReader(fh))
    marked = [r for r in exported if r["heart_irregular"] == "1"]
    assert len(marked) == len(in_protocol) // 2
    assert all(r["heart_irregular"] in ("0", "1") for r in exported)
