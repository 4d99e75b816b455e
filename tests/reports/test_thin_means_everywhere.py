"""A mean over less than half of its phase says so wherever it is shown, not only in the session
report: the summary keeps the share each mean rests on (computed once, with the means), the
table ``biotrainer run`` prints marks such a mean with "*" and a note under it, and the progress
report and the history window give a session's thin mean its share, as the session report does.
A summary stored before the shares were kept is computed again from its folder.

Found on a 20-s baseline and 40 s of simulator training: ``biotrainer run`` printed a training
coherence of 0.24 that rested on 1 of its 200 rows, with nothing to tell it from a phase's.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from reportkit import cli, pdf_text
from short_protocol import rest_then_train
from thin_session import FULL, THIN_RMSSD, phase_update, set_thin_metrics, store_summary_as_version

from biotrainer.engine.updates import MetricUpdate
from biotrainer.reports.html import progress_html
from biotrainer.reports.progress import build_progress_report
from biotrainer.session import analysis
from biotrainer.session.analysis import (
    SUMMARY_VERSION,
    MetricMeans,
    SessionSummary,
    format_phases,
    read_metrics,
    summarize_updates,
)
from biotrainer.session.store import Store

#: The means whose share is kept, and the metrics.csv column of each.
COLUMNS = {
    "z": "feedback_z",
    "relaxation": "relaxation",
    "hr_bpm": "hr_bpm",
    "rmssd_ms": "rmssd_ms",
    "coherence": "coherence",
    "breathing_bpm": "breathing_bpm",
}
#: The columns of the table ``biotrainer run`` prints, by the mean each shows.
PRINTED = {"z": "z", "hr_bpm": "HR", "rmssd_ms": "RMSSD", "coherence": "coher",
           "breathing_bpm": "breath"}  # fmt: skip


# -- the summary keeps the shares -------------------------------------------------------------


def _two_phases() -> list[MetricUpdate]:
    """10 baseline rows, all values there; 10 training rows: RMSSD on 4, coherence on none,
    the first 3 unclean (relaxation on 1 of them and 2 clean ones), 2 of the clean paused (z
    on the 5 others: half the phase)."""
    nan = math.nan
    out = [
        phase_update(i, 0, feedback_z=0.1, relaxation=0.5, hr_bpm=70.0, rmssd_ms=40.0,
                coherence=1.0, breathing_bpm=6.0, quality_ok=True)
        for i in range(10)
    ]  # fmt: skip
    for k in range(10):
        clean = k >= 3
        out.append(
            phase_update(
                10 + k, 1, feedback_z=0.3, relaxation=0.5 if k in (1, 3, 7) else nan,
                hr_bpm=71.0, rmssd_ms=45.0 if k < 4 else nan, coherence=nan,
                breathing_bpm=6.0, quality_ok=clean, paused=k in (5, 6),
            )
        )  # fmt: skip
    return out


def test_the_summary_keeps_the_share_each_mean_rests_on() -> None:
    s = summarize_updates(_two_phases())
    base, train = s.phases[0].means, s.phases[1].means
    # (a baseline is the reference of the z-scores: no z of its own)
    assert {f: base.coverage(f) for f in COLUMNS} == {**dict.fromkeys(COLUMNS, 1.0), "z": 0.0}
    assert train.coverage("rmssd_ms") == pytest.approx(0.4)
    assert train.coverage("coherence") == 0.0  # no value at all: "–", never "thin"
    assert train.coverage("relaxation") == pytest.approx(0.2)  # over clean rows only
    assert train.coverage("z") == pytest.approx(0.5)  # clean, unpaused; half is enough
    assert train.coverage("hr_bpm") == 1.0
    assert train.thin("rmssd_ms") and train.thin("relaxation")
    assert not train.thin("coherence") and not train.thin("z") and not train.thin("hr_bpm")
    # pooled means: the training alone (one phase), and the whole session over 20 rows
    assert s.training is not None and s.training.coverage("rmssd_ms") == pytest.approx(0.4)
    assert s.overall is not None and s.overall.coverage("rmssd_ms") == pytest.approx(0.7)
    # kept through the store's JSON; a summary stored without them: not known, never thin
    again = SessionSummary.from_dict(json.loads(json.dumps(s.to_dict())))
    assert again.phases[1].means.coverage("rmssd_ms") == pytest.approx(0.4)
    old = s.to_dict()
    for m in (*[p["means"] for p in old["phases"]], old["baseline"], old["training"]):
        for f in COLUMNS:
            del m[f"{f}_coverage"]
    older = SessionSummary.from_dict(old).phases[1].means
    assert math.isnan(older.coverage("rmssd_ms")) and not older.thin("rmssd_ms")
    assert analysis.MIN_COVERAGE == 0.5


# -- the table biotrainer run prints -----------------------------------------------------------


def _cell_marks(table: str) -> dict[tuple[str, str], str]:
    """The printed table's cells by (phase name, column heading): the value with its mark."""
    lines = table.splitlines()
    head = lines[0]
    ends = {name: m.end() for m in re.finditer(r"\S+", head) for name in [m.group()]}
    cells = {}
    for line in lines[1:]:
        if line.startswith("* "):
            continue  # (the note under the table)
        name = line[:28].strip()
        for heading, end in ends.items():
            if heading in ("phase", "min"):
                continue
            start = end - 6
            text = line[start:end]
            mark = line[end : end + 1]
            cells[(name, heading)] = text.strip() + ("*" if mark == "*" else "")
    return cells


def test_the_printed_table_marks_a_thin_mean_and_says_why_once() -> None:
    s = summarize_updates(_two_phases())
    table = format_phases(s.phases)
    cells = _cell_marks(table)
    assert cells[("P1", "RMSSD")] == "45.0*"
    assert cells[("P1", "coher")] == "-"  # no value: nothing to mark
    assert cells[("P1", "z")] == "0.3" and cells[("P1", "HR")] == "71.0"
    assert not any(v.endswith("*") for (name, _), v in cells.items() if name == "P0")
    assert table.count("*") == 2 and table.splitlines()[-1] == analysis.THIN_MEAN_NOTE
    assert analysis.THIN_MEAN_NOTE.startswith("* mean over less than half of the phase")
    # the columns stay where an unmarked table has them
    plain = format_phases(summarize_updates(_two_phases()[:10]).phases)
    assert "*" not in plain and len(plain.splitlines()) == 2
    assert plain.splitlines()[0] == table.splitlines()[0]
    marked = table.splitlines()[2]
    assert len(marked) in (len(plain.splitlines()[1]), len(plain.splitlines()[1]) + 1)


def _run(protocol: Path, patient: str, data: str) -> str:
    """What ``biotrainer run`` of ``protocol`` on the simulator, at full speed, prints."""
    rc, out, err = cli("run", "--protocol", str(protocol), "--patient", patient,
                       "--device", "simulator", "--speed", "max", "--data-dir", data)  # fmt: skip
    assert rc == 0, err
    return out


def test_biotrainer_run_marks_the_means_its_recording_says_are_thin(tmp_path) -> None:
    """The simulator session of the finding: the marks printed are those the recorded
    metrics.csv calls for, counted here from its rows."""
    data = str(tmp_path / "data")
    protocol = tmp_path / "thin.toml"
    protocol.write_text(rest_then_train("thin", "Thin", training_s=40))
    assert cli("patients", "add", "P-THIN", "--data-dir", data)[0] == 0
    lines = _run(protocol, "P-THIN", data).splitlines()
    table = "\n".join(lines[: next(i for i, x in enumerate(lines) if x.startswith("session "))])
    (metrics,) = Path(data).rglob("metrics.csv")
    series = read_metrics(metrics.parent)
    in_protocol = (series["phase_index"] >= 0) & (series["finished"] != 1)
    cells = _cell_marks(table)
    thin_seen = 0
    for index in sorted({int(i) for i in series["phase_index"][in_protocol]}):
        rows = in_protocol & (series["phase_index"] == index)
        name = str(series["phase_name"][rows][0])
        for field, heading in PRINTED.items():
            which = rows
            if field == "z":
                which = rows & (series["quality_ok"] == 1) & (series["paused"] != 1)
            share = int((which & np.isfinite(series[COLUMNS[field]])).sum()) / int(rows.sum())
            thin = 0 < share < 0.5
            thin_seen += thin
            assert cells[(name, heading)].endswith("*") == thin, (name, heading, share)
    assert thin_seen, "the simulator session has no thin mean any more: nothing was tested"
    assert (
        table.count(analysis.THIN_MEAN_NOTE) == 1
        and table.splitlines()[-1] == analysis.THIN_MEAN_NOTE
    )


# -- older stored summaries, the progress report and the history window -----------------------


def _as_stored_before(store: Store, sid: int) -> None:
    """Store session ``sid``'s summary as a version-2 biotrainer did: no shares."""
    store_summary_as_version(store, sid, 2, lambda key: key.endswith("_coverage"))


@pytest.fixture(scope="module")
def patient(tmp_path_factory) -> dict:
    """Two simulator sessions (20-s baseline, 40 s of training), their metrics then set as
    :data:`FULL` (the first's training RMSSD thin) and their summaries stored as before the
    shares were kept."""
    tmp = tmp_path_factory.mktemp("thin")
    data = str(tmp / "data")
    protocol = tmp / "thinmeans.toml"
    protocol.write_text(rest_then_train("thinmeans", "Thin means", training_s=40))
    assert cli("patients", "add", "P-TM", "--data-dir", data)[0] == 0
    shares = {}
    for thin in (True, False):
        out = _run(protocol, "P-TM", data)
        (line,) = [x for x in out.splitlines() if x.startswith("session ")]
        sid = int(line.split()[1])
        with Store.open(data) as store:
            folder = store.session(sid).folder
        shares[sid] = set_thin_metrics(folder / "metrics.csv", thin)
        with Store.open(data) as store:
            _as_stored_before(store, sid)
    return {"tmp": tmp, "data": data, "shares": shares}


def test_an_older_stored_summary_is_computed_again_with_its_shares(patient) -> None:
    thin_sid, full_sid = patient["shares"]
    with Store.open(patient["data"]) as store:
        records = {r.id: r for r in store.sessions("P-TM")}
        stored = dict(store._conn.execute("SELECT id, summary FROM sessions").fetchall())
    training = records[thin_sid].summary.training
    assert records[thin_sid].summary.version == SUMMARY_VERSION
    assert training.coverage("rmssd_ms") == pytest.approx(patient["shares"][thin_sid])
    assert training.rmssd_ms == pytest.approx(float(THIN_RMSSD))
    assert records[full_sid].summary.training.coverage("rmssd_ms") == 1.0
    # stored so: computed once
    again = json.loads(stored[thin_sid])
    assert again["version"] == SUMMARY_VERSION
    assert again["training"]["rmssd_ms_coverage"] == pytest.approx(patient["shares"][thin_sid])


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _session_rows(html: str) -> dict[int, str]:
    """The progress table's rows as text, by session id."""
    table = html[html.index("<h2>Sessions</h2>") :].split("</table>")[0]
    rows = [_text(r) for r in table.split("<tr>")[2:]]
    return {int(re.search(r"#(\d+)", r).group(1)): r for r in rows}


def test_the_progress_report_gives_a_thin_session_mean_its_share(patient) -> None:
    thin_sid, full_sid = patient["shares"]
    said = f"({math.floor(100 * patient['shares'][thin_sid])} %)"
    with Store.open(patient["data"]) as store:
        report = build_progress_report(store, "P-TM")
    html = progress_html(report)
    rows = _session_rows(html)
    assert f" {THIN_RMSSD} {said} " in rows[thin_sid]
    assert rows[thin_sid].count(" %)") == 1  # its z, coherence, breathing: over the whole
    assert " %)" not in rows[full_sid] and f" {FULL['rmssd_ms']} " in rows[full_sid]
    assert _text(html).count("A share in brackets under a mean") == 1
    # a report whose sessions have no thin mean says nothing of shares
    alone = replace(report, rows=tuple(r for r in report.rows if r.session_id == full_sid))
    assert "A share in brackets" not in progress_html(alone)
    # and in its PDF
    pdf = patient["tmp"] / "progress.pdf"
    rc, _, err = cli("report", "--patient", "P-TM", "--out", str(pdf), "--data-dir",
                     patient["data"])  # fmt: skip
    assert rc == 0, err
    pytest.importorskip("pypdf")
    assert f"{THIN_RMSSD} {said}" in pdf_text(pdf)


def test_the_history_window_gives_it_too(patient) -> None:
    from biotrainer.ui.history_view import MEAN_CELLS, THIN_MEAN_TIP, cell_tip, row_cells

    thin_sid, full_sid = patient["shares"]
    said = f"({math.floor(100 * patient['shares'][thin_sid])} %)"
    with Store.open(patient["data"]) as store:
        rows = {r.session_id: r for r in build_progress_report(store, "P-TM").rows}
    cells = row_cells(rows[thin_sid])
    (rmssd,) = [c for c, f in MEAN_CELLS.items() if f == "rmssd_ms"]
    assert cells[rmssd] == f"{THIN_RMSSD} {said}"
    assert THIN_MEAN_TIP in cell_tip(rows[thin_sid], rmssd)
    assert sum(" %)" in c for c in cells) == 1
    assert not any(" %)" in c for c in row_cells(rows[full_sid]))
    assert THIN_MEAN_TIP not in cell_tip(rows[full_sid], rmssd)


def test_means_without_shares_are_not_marked() -> None:
    """A :class:`MetricMeans` built without its shares (an older caller) marks nothing."""
    m = MetricMeans(60.0, 0.5, 0.6, 0.5, 70.0, 40.0, 0.5, 6.0, 0.98, 0.3)
    assert not any(m.thin(f) for f in COLUMNS)
    table = format_phases(summarize_updates(_two_phases()[:10]).phases)
    assert analysis.THIN_MEAN_NOTE not in table
