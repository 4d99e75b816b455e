"""Audit 130, the reports: time in target says it is of the *clean* training and on what share
of the training it rests; a thin mean is a hollow marker on the progress charts (the legend
saying so); `report --csv` says the damaged rows it could not export; a name is masked in notes
whatever its accents; and minor wording and drawing fixes.

Found on a session whose EEG was flat for 77 % of its training: 54 % in target (12 % of the
training rewarded) looked like a clean session's 74 %.
"""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from reportkit import cli
from short_protocol import rest_then_train
from thin_session import FULL, phase_update, rewrite_metrics, store_summary_as_version

from biotrainer.reports import charts as ch
from biotrainer.reports.format import duration, mask_name
from biotrainer.reports.html import _compared_rows, progress_html, session_html
from biotrainer.reports.progress import ProgressRow, build_progress_report, progress_charts
from biotrainer.reports.session_report import build_session_report
from biotrainer.session.analysis import EMPTY_MEANS, format_phases, summarize_updates
from biotrainer.session.store import Store

#: The share of the training whose EEG was flat (unclean) in the recorded session.
FLAT_SHARE = 0.77


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&nbsp;", " ")


# -- the summary keeps the share time in target rests on --------------------------------------


def test_the_summary_keeps_the_clean_share_time_in_target_rests_on() -> None:
    """10 training rows, 7 unclean: 2 of the 3 clean ones rewarded is 67 % in target over 30 %
    of the training."""
    ups = [phase_update(i, 0, feedback_z=0.0, quality_ok=True) for i in range(10)]
    ups += [
        phase_update(10 + k, 1, feedback_z=0.5, quality_ok=k >= 7, rewarded=k in (7, 8))
        for k in range(10)
    ]
    s = summarize_updates(ups)
    train = s.phases[1].means
    assert train.time_in_target == pytest.approx(2 / 3)
    assert train.coverage("time_in_target") == pytest.approx(0.3)
    assert train.thin("time_in_target")
    assert math.isnan(s.phases[0].means.coverage("time_in_target"))  # (no reward in a baseline)
    assert s.overall is not None and s.overall.coverage("time_in_target") == pytest.approx(0.3)
    assert "   67*" in format_phases(s.phases)


# -- a recorded session whose EEG was flat for most of its training ----------------------------


def _record(protocol: Path, patient: str, data: str) -> int:
    rc, out, err = cli("run", "--protocol", str(protocol), "--patient", patient,
                       "--device", "simulator", "--speed", "max", "--data-dir", data)  # fmt: skip
    assert rc == 0, err
    (line,) = [x for x in out.splitlines() if x.startswith("session ")]
    return int(line.split()[1])


def _flatten_most_of_training(rows: list[dict[str, str]]) -> None:
    """Every protocol row as :data:`FULL`; the first :data:`FLAT_SHARE` of the training
    unclean (no z, never rewarded), every other clean row after it rewarded."""
    in_protocol = [r for r in rows if int(r["phase_index"]) >= 0 and r["finished"] != "1"]
    training = [r for r in in_protocol if r["phase_kind"] == "training"]
    flat = int(FLAT_SHARE * len(training))
    for r in in_protocol:
        r.update(FULL, rewarded="0")
    for i, r in enumerate(training):
        if i < flat:
            r.update(quality_ok="0", feedback_z="", rewarded="0", quality_reason="flat")
        else:
            r["rewarded"] = "1" if i % 2 else "0"


def _as_stored_before(store: Store, sid: int) -> None:
    """Store session ``sid``'s summary as the version before time in target kept its share."""
    store_summary_as_version(store, sid, 5, lambda key: key == "time_in_target_coverage")


@pytest.fixture(scope="module")
def patient(tmp_path_factory) -> dict:
    """Three simulator sessions (20-s baseline, 40 s of training) of one patient: the first's
    EEG flat for most of its training (its summary stored as before the share was kept), the
    second's metrics.csv with three damaged rows, the third without a folder on record (a
    store migrated from the old schema)."""
    tmp = tmp_path_factory.mktemp("a130")
    data = str(tmp / "data")
    protocol = tmp / "flatmost.toml"
    protocol.write_text(rest_then_train("flatmost", "Flat most", training_s=40))
    assert cli("patients", "add", "P-130", "--data-dir", data)[0] == 0
    flat, damaged, no_folder = (_record(protocol, "P-130", data) for _ in range(3))
    with Store.open(data) as store:
        folders = {sid: store.session(sid).folder for sid in (flat, damaged)}
    rewrite_metrics(folders[flat] / "metrics.csv", _flatten_most_of_training)

    def damage(rows: list[dict[str, str]]) -> None:
        for r in rows[100:103]:
            r["session_s"] = "x"

    rewrite_metrics(folders[damaged] / "metrics.csv", damage)
    with Store.open(data) as store:
        _as_stored_before(store, flat)
        with store._write() as c:
            c.execute("UPDATE sessions SET folder = NULL WHERE id = ?", (no_folder,))
    return {"tmp": tmp, "data": data, "flat": flat, "damaged": damaged, "no_folder": no_folder}


def _flat_row(patient: dict):
    with Store.open(patient["data"]) as store:
        report = build_progress_report(store, "P-130")
    (row,) = [r for r in report.rows if r.session_id == patient["flat"]]
    return report, row


def test_the_progress_table_gives_time_in_target_its_clean_share(patient) -> None:
    report, row = _flat_row(patient)
    share = row.coverage("time_in_target")
    assert share == pytest.approx(1 - FLAT_SHARE, abs=0.02) and row.thin("time_in_target")
    said = f"{math.floor(100 * share)} %"
    html = progress_html(report)
    table = _text(html[html.index("<h2>Sessions</h2>") :].split("</table>")[0])
    assert f"{round(100 * row.time_in_target)} % ({said})" in table
    assert "time in target (the share of clean training time rewarded)" in _text(html)


def test_the_history_window_gives_it_too(patient) -> None:
    from biotrainer.ui.history_view import MEAN_CELLS, THIN_MEAN_TIP, cell_tip, row_cells

    _, row = _flat_row(patient)
    (column,) = [c for c, f in MEAN_CELLS.items() if f == "time_in_target"]
    said = f"{math.floor(100 * row.coverage('time_in_target'))} %"
    assert row_cells(row)[column] == f"{round(100 * row.time_in_target)} % ({said})"
    assert THIN_MEAN_TIP in cell_tip(row, column)


def test_the_session_report_gives_it_too(patient) -> None:
    with Store.open(patient["data"]) as store:
        report = build_session_report(store, patient["flat"])
    text = _text(session_html(report))
    training = report.summary.training
    said = f"{math.floor(100 * training.coverage('time_in_target'))} %"
    shown = f"{round(100 * training.time_in_target)} %"
    assert f"Time in target (share of clean time rewarded) – {shown} ({said} of training)" in text
    phases = text[text.index("Phases") : text.index("HR in beats/min")]
    assert f"{shown} ({said})" in phases


def test_the_sessions_list_and_the_end_of_session_table_mark_it_too(patient) -> None:
    """`biotrainer sessions` printed "54 %" unmarked beside a marked z; the end-of-session
    summary's "Rewarded" column had no "*"."""
    from biotrainer.commands.sessions import THIN_LIST_NOTE
    from biotrainer.ui.session_summary import MEAN_CELLS, PHASE_COLUMNS

    _, row = _flat_row(patient)
    rc, out, err = cli("sessions", "--data-dir", patient["data"])
    assert rc == 0, err
    (line,) = [x for x in out.splitlines() if x.split()[:1] == [str(patient["flat"])]]
    assert f"{round(100 * row.time_in_target)} %*" in line
    assert THIN_LIST_NOTE in out
    assert MEAN_CELLS[PHASE_COLUMNS.index("Rewarded")] == "time_in_target"


def test_report_csv_says_the_damaged_rows_it_could_not_export(patient) -> None:
    out = patient["tmp"] / "damaged.csv"
    rc, stdout, err = cli("report", str(patient["damaged"]), "--csv", str(out),
                          "--data-dir", patient["data"])  # fmt: skip
    assert rc == 0, err
    assert stdout.strip().endswith(" rows")
    assert f"biotrainer: note: metrics.csv: 3 damaged row(s) skipped, so not in {out}" in err
    assert len(err.strip().splitlines()) == 1


def test_a_session_without_a_folder_on_record_says_so(patient) -> None:
    with Store.open(patient["data"]) as store:
        report = build_session_report(store, patient["no_folder"])
    assert "No session folder is on record for this session: no time series." in report.warnings
    assert not any("None" in w for w in report.warnings)


# -- the progress charts -----------------------------------------------------------------------


def _row(i: int, protocol: str, status: str = "completed", **values) -> ProgressRow:
    fields = {f.name: math.nan for f in dataclasses.fields(ProgressRow)}
    fields.update(
        session_id=i + 1,
        started_utc=datetime(2026, 9, 15, 8, 30, tzinfo=UTC) + timedelta(days=7 * i),
        protocol=protocol, status=status, duration_s=630.0, pain_pre=None, pain_post=None,
        stress_pre=None, stress_post=None, assessment=False,
    )  # fmt: skip
    fields.update(values)
    return ProgressRow(**fields)


def _clean_and_flat() -> list[ProgressRow]:
    """A clean session (74 % in target) and one whose EEG was flat for 77 % of its training
    (54 % in target over 23 % of it; its z over 23 % too)."""
    return [
        _row(0, "eeg-hrv-relaxation", z=0.4, time_in_target=0.74, z_coverage=1.0,
             time_in_target_coverage=1.0, rmssd_ms=30.0, rmssd_ms_coverage=1.0),
        _row(1, "eeg-hrv-relaxation", z=-0.3, time_in_target=0.54, z_coverage=0.23,
             time_in_target_coverage=0.23, rmssd_ms=31.0, rmssd_ms_coverage=1.0),
    ]  # fmt: skip


def _chart(rows: list[ProgressRow], name: str) -> ch.Chart:
    return next(c for c in progress_charts(rows) if c.name == name)


def test_time_in_target_is_titled_a_share_of_clean_training() -> None:
    assert "share of clean training rewarded" in _chart(_clean_and_flat(), "target").title


@pytest.mark.parametrize("name", ["z", "target"])
def test_a_thin_mean_is_a_hollow_marker_off_the_line(name: str) -> None:
    from biotrainer.reports.progress import THIN_KEY

    series = _chart(_clean_and_flat(), name).series
    (line,) = [s for s in series if not s.hollow]
    (hollow,) = [s for s in series if s.hollow]
    assert list(line.x) == [1.0] and list(hollow.x) == [2.0]
    assert hollow.hollow_keys == (THIN_KEY,)  # (it completed)
    # a mean over the whole of its training stays on the line
    rmssd = _chart(_clean_and_flat(), "rmssd").series
    assert [list(s.x) for s in rmssd] == [[1.0, 2.0]]


def test_the_legend_names_what_hollow_markers_stand_for() -> None:
    from biotrainer.reports.progress import THIN_KEY
    from biotrainer.ui.report_pdf import _series_keys

    legend = " ".join(_series_keys(_chart(_clean_and_flat(), "z"))).replace("&nbsp;", " ")
    assert f"○ {THIN_KEY}" in legend and "did not complete" not in legend
    # a session that did not complete, and one whose mean is thin: both said
    rows = [*_clean_and_flat(), _row(2, "eeg-hrv-relaxation", "stopped early", z=0.1)]
    legend = " ".join(_series_keys(_chart(rows, "z"))).replace("&nbsp;", " ")
    assert f"○ {THIN_KEY}" in legend and "○ did not complete" in legend


def test_a_protocol_drawn_only_hollow_has_a_hollow_legend_marker() -> None:
    """ "■ Alpha up-training" was keyed filled though its only session was hollow."""
    from biotrainer.ui.report_pdf import _series_keys

    rows = [
        _row(0, "eeg-hrv-relaxation", rmssd_ms=30.0),
        _row(1, "alpha-uptraining", "source ended", rmssd_ms=25.0),
    ]
    legend = " ".join(_series_keys(_chart(rows, "rmssd"))).replace("&nbsp;", " ")
    legend = legend.replace("\u2011", "-")  # (the legend's no-break hyphens)
    assert "□ alpha-uptraining" in legend and "■" not in legend
    assert "━●━ eeg-hrv-relaxation" in legend


@pytest.mark.parametrize(
    ("name", "field", "values"),
    [("breathing", "breathing_bpm", (6.0, 12.0)), ("coherence", "coherence", (0.87, 2.07))],
)
def test_markers_at_the_extremes_stay_clear_of_the_frame(
    name: str, field: str, values: tuple[float, float]
) -> None:
    """Breathing 6.0 and coherence 0.87 were drawn on the x axis's line: 8 % of the range
    below the lowest point is less than a marker's radius and a gap on a report's panel."""
    rows = [_row(i, "eeg-hrv-relaxation", **{field: v}) for i, v in enumerate(values)]
    chart = _chart(rows, name)
    lo, hi = ch.auto_range(chart)
    room = np.array([min(values) - lo, hi - max(values)]) / (hi - lo)
    assert (room >= 0.1).all(), room


# -- the baseline-vs-training change from a thin mean ------------------------------------------


def test_a_change_from_a_thin_baseline_mean_says_so() -> None:
    base = dataclasses.replace(EMPTY_MEANS, coherence=1.53, coherence_coverage=0.004)
    train = dataclasses.replace(EMPTY_MEANS, coherence=2.07, coherence_coverage=1.0)
    rows = {r[0]: r for r in _compared_rows(base, train, ("baseline", "training"))}
    label = "HRV coherence ratio (peak / rest of spectrum)"
    assert rows[label][1:] == [
        "1.53 (&lt; 1 % of baseline)",
        "2.07",
        "+0.54 (&lt; 1 % of baseline)",
    ]
    # both sides thin: both said; a change not known: "–" alone
    train = dataclasses.replace(train, coherence_coverage=0.3)
    (row,) = [r for r in _compared_rows(base, train, ("baseline", "training")) if r[0] == label]
    assert row[3] == "+0.54 (&lt; 1 % of baseline, 30 % of training)"
    train = dataclasses.replace(train, coherence=math.nan, coherence_coverage=0.0)
    (row,) = [r for r in _compared_rows(base, train, ("baseline", "training")) if r[0] == label]
    assert row[3] == "–"


# -- names in notes, durations -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "note", "masked"),
    [
        ("Zoë Müller", "Zoe felt dizzy", "[name] felt dizzy"),
        ("Zoë Müller", "Muller called; ZOË too", "[name] called; [name] too"),
        ("José García", "Jose said Garcia", "[name] said [name]"),
        ("Jose Garcia", "José García came", "[name] came"),
        ("Anna Straße", "Strasse 5, Straße 6", "[name] 5, [name] 6"),
    ],
)
def test_a_name_is_masked_whatever_its_accents(name: str, note: str, masked: str) -> None:
    assert mask_name(note, name) == masked


def test_guard_names_still_masked_as_before() -> None:
    """Guard (passes before and after): whole words only, a short first name too, and a common
    word that is also a name goes wherever it stands (the safer side)."""
    assert mask_name("Ann planned; Jo went", "Jo Ann") == "[name] planned; [name] went"
    assert mask_name("pain will return in may", "Will May") == "pain [name] return in [name]"
    assert mask_name("", "Zoë") == "" and mask_name("Zoë", None) == "Zoë"
    assert mask_name("Zoe\u0308 and Zoëy planned", "Zoë") == "[name] and Zoëy planned"


def test_durations_under_a_minute_are_in_seconds() -> None:
    assert [duration(s) for s in (0.2, 8.4, 59.4, 60, 725)] == [
        "0 s", "8 s", "59 s", "1 min", "12 min 5 s",
    ]  # fmt: skip
