"""The whole flow headless: patient, two simulator sessions, ratings, both PDFs read back."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import pytest
from reportkit import cli, pdf_images, pdf_text

pypdf = pytest.importorskip("pypdf")

NAME = "Zelda Testperson"
CODE = "P-FLOW"
PROTOCOL = """
name = "flow-test"
title = "Flow test protocol"
feedback = "alpha"
target_reward_rate = 0.65

[[phases]]
name = "Quiet baseline"
kind = "baseline"
duration_s = 25
eyes = "open"
instruction = "Rest."

[[phases]]
name = "Alpha training"
kind = "training"
duration_s = 35
eyes = "open"
instruction = "Train."
"""


def metrics_rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / "metrics.csv", newline="") as f:
        return [r for r in csv.DictReader(f) if r["finished"] == "0" and r["phase_index"] != "-1"]


def mean(values: list[float]) -> float:
    values = [v for v in values if math.isfinite(v)]
    return sum(values) / len(values)


def expected(folder: Path) -> dict[str, str]:
    """The headline numbers computed here, independently of biotrainer.session.analysis."""
    rows = metrics_rows(folder)
    f = lambda r, k: float(r[k]) if r[k] else math.nan  # noqa: E731
    train = [r for r in rows if r["phase_kind"] == "training"]
    base = [r for r in rows if r["phase_kind"] == "baseline"]
    clean = [r for r in train if r["quality_ok"] == "1" and r["paused"] == "0"]
    return {
        # the feedback against the baseline (mean z; the score is centred on the threshold)
        "train_z": f"{abs(mean([f(r, 'feedback_z') for r in train])):.1f}",
        "base_z": f"{abs(mean([f(r, 'feedback_z') for r in base])):.1f}",
        "in_target": f"{100 * sum(r['rewarded'] == '1' for r in clean) / len(clean):.0f} %",
        "train_hr": f"{mean([f(r, 'hr_bpm') for r in train]):.1f}",
        "train_rmssd": f"{mean([f(r, 'rmssd_ms') for r in train]):.1f}",
    }


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flow")
    data = tmp / "data"
    protocol = tmp / "flow-test.toml"
    protocol.write_text(PROTOCOL)
    assert cli("patients", "add", CODE, "--name", NAME, "--data-dir", str(data))[0] == 0
    folders = []
    for seed in ("1", "2"):
        rc, out, err = cli(
            "run", "--protocol", str(protocol), "--device", "simulator-muse2",
            "--scenario", "stressed-to-relaxed", "--speed", "max", "--seed", seed,
            "--data-dir", str(data),
        )  # fmt: skip
        assert rc == 0, err
        folders.append(Path(out.strip().splitlines()[-1]))
    rc, out, err = cli("sessions", "import", *map(str, folders), "--patient", CODE,
                       "--data-dir", str(data))  # fmt: skip
    assert rc == 0, err
    ids = [line.split("\t")[0] for line in out.strip().splitlines()]
    for sid, (pain, stress) in zip(ids, ((6, 8), (5, 6)), strict=True):
        assert cli("sessions", "rate", sid, "pre", "--pain", str(pain), "--stress", str(stress),
                   "--note", f"{NAME} slept badly", "--data-dir", str(data))[0] == 0  # fmt: skip
        assert cli("sessions", "rate", sid, "post", "--pain", str(pain - 2),
                   "--stress", str(stress - 3), "--data-dir", str(data))[0] == 0  # fmt: skip
    return {"tmp": tmp, "data": str(data), "folders": folders, "ids": ids}


def test_sessions_listing_rows_start_with_the_report_id(flow):
    rc, out, _ = cli("sessions", "--patient", CODE.lower(), "--data-dir", flow["data"])
    assert rc == 0
    rows = out.strip().splitlines()[1:]
    assert [r.split()[0] for r in rows] == flow["ids"]
    assert all("completed" in r and CODE in r for r in rows)
    rc, out, _ = cli("patients", "--data-dir", flow["data"])
    assert CODE in out and NAME not in out


def test_session_pdf_contains_the_numbers_and_no_name(flow):
    out = flow["tmp"] / "s1.pdf"
    rc, _, err = cli("report", flow["ids"][0], "--out", str(out), "--data-dir", flow["data"])
    assert rc == 0, err
    text = pdf_text(out)
    e = expected(flow["folders"][0])
    for needle in (
        CODE, "flow-test", "simulator-muse2", "Completed",
        "Quiet baseline", "Alpha training", "Baseline vs training", "Signal quality",
        e["train_z"], e["base_z"], e["in_target"], e["train_hr"], e["train_rmssd"],
        "6 / 10", "4 / 10", "8 / 10", "5 / 10", "−2", "−3",
    ):  # fmt: skip
        assert needle in text, needle
    assert NAME not in text and "Zelda" not in text  # de-identified, also in the notes
    assert "[name] slept badly" in text
    assert pdf_images(out) >= 4  # score, relaxation, heart rate..., quality charts


def test_with_name_shows_the_name(flow):
    out = flow["tmp"] / "named.pdf"
    assert cli("report", flow["ids"][1], "--out", str(out), "--with-name",
               "--data-dir", flow["data"])[0] == 0  # fmt: skip
    text = pdf_text(out)
    assert NAME in text and f"{NAME} slept badly" in text


def test_progress_pdf_lists_every_session_and_the_changes(flow):
    out = flow["tmp"] / "progress.pdf"
    rc, _, err = cli("report", "--patient", CODE, "--out", str(out), "--data-dir", flow["data"])
    assert rc == 0, err
    text = pdf_text(out)
    assert CODE in text and NAME not in text
    assert "2 (2 completed, 0 interrupted)" in text
    for sid, folder in zip(flow["ids"], flow["folders"], strict=True):
        e = expected(folder)
        assert f"#{sid}" in text
        assert e["train_z"] in text and e["in_target"] in text and e["train_rmssd"] in text
    for needle in ("6 → 4 (−2)", "8 → 5 (−3)", "5 → 3 (−2)", "6 → 3 (−3)",
                   "pain −2.0, stress −3.0"):  # fmt: skip
        assert needle in text, needle
    assert pdf_images(out) >= 4


def test_csv_export_has_the_time_series_without_dates_or_names(flow):
    out = flow["tmp"] / "m.csv"
    rc, _, _ = cli("report", flow["ids"][0], "--csv", str(out), "--data-dir", flow["data"])
    assert rc == 0 and not (flow["tmp"] / f"biotrainer-session-{flow['ids'][0]}.pdf").exists()
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(flow["folders"][0] / "metrics.csv", newline="") as f:
        source = list(csv.DictReader(f))
    assert len(rows) == len(source)
    assert "sample_time" not in rows[0] and "received_at" not in rows[0]
    assert [float(r["session_s"]) for r in rows] == pytest.approx(
        [float(r["session_s"]) for r in source]
    )
    assert rows[400]["feedback_score"] == "" or float(rows[400]["feedback_score"]) == (
        pytest.approx(float(source[400]["feedback_score"]), abs=1e-5)
    )
    assert NAME not in out.read_text()


def test_an_interrupted_session_is_listed_and_reported(flow):
    killed = flow["tmp"] / "killed"
    shutil.copytree(flow["folders"][1], killed)
    raw = killed / "raw_default.csv"  # killed: its last samples never reached the disk (else
    lines = raw.read_text().splitlines(keepends=True)  # it is a copy of a registered one)
    raw.write_text("".join(lines[:-256]))
    meta = json.loads((killed / "session.json").read_text())
    meta["status"] = "recording"
    meta["end"] = {"utc": None, "timestamp": None}
    (killed / "session.json").write_text(json.dumps(meta))
    with open(killed / "metrics.csv", "a") as f:
        f.write("61.2,1700000061.3,0.4")  # the kill cut a row in half
    rc, out, err = cli("sessions", "import", str(killed), "--patient", CODE,
                       "--data-dir", flow["data"])  # fmt: skip
    assert rc == 0, err
    sid = out.split("\t")[0]
    assert "interrupted" in out
    rc, listing, _ = cli("sessions", "--data-dir", flow["data"])
    (row,) = [r for r in listing.splitlines() if r.split()[0] == sid]
    assert "interrupted" in row
    pdf = flow["tmp"] / "killed.pdf"
    assert cli("report", sid, "--out", str(pdf), "--data-dir", flow["data"])[0] == 0
    text = pdf_text(pdf)
    assert "Interrupted" in text and "1 damaged row(s) skipped" in text
    assert expected(killed)["train_z"] in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("report",), "either a SESSION_ID or --patient"),
        (("report", "1", "--patient", CODE), "either a SESSION_ID or --patient"),
        (("report", "999"), "no session with id 999"),
        (("report", "abc"), "session id is a number"),
        (("report", "--patient", "NOPE"), "no patient with code 'NOPE'"),
        (("report", "1", "--out", "x.txt"), "should end in .pdf"),
        (("report", "1", "--out", "/nonexistent-dir/x.pdf"), "does not exist"),
        (("patients", "add", CODE), "already exists"),
        (("sessions", "rate", "1", "pre", "--pain", "12"), "0 to 10"),
        (("sessions", "--patient", "NOPE"), "no patient"),
    ],
)
def test_errors_are_one_line_and_exit_2(flow, args, message):
    rc, _, err = cli(*args, "--data-dir", flow["data"])
    assert rc == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_report_needs_no_display_whatever_qt_is_told(flow):
    """QT_QPA_PLATFORM=xcb with no display (a desktop profile used over ssh) aborted the
    report with a core dump: a report is always made offscreen."""
    import os
    import subprocess
    import sys

    out = flow["tmp"] / "no-display.pdf"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "xcb"
    argv = ["report", flow["ids"][0], "--out", str(out), "--data-dir", flow["data"]]
    done = subprocess.run(
        [sys.executable, "-m", "biotrainer.cli", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 10_000


def _has_font_for_chinese() -> bool:
    from PySide6.QtGui import QFontDatabase

    from biotrainer.ui.report_pdf import ensure_application

    ensure_application()
    return bool(QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese))


def test_a_name_no_installed_font_can_draw_is_said(flow):
    """A name in a script no installed font covers was printed as empty boxes, silently."""
    if _has_font_for_chinese():
        pytest.skip("this machine has a font for Chinese: nothing would be printed as boxes")
    data = flow["tmp"] / "cjk-data"
    assert cli("patients", "add", "P-CJK", "--name", "王小明 Zoë", "--data-dir", str(data))[0] == 0
    rc, _, err = cli("sessions", "import", str(flow["folders"][0]), "--patient", "P-CJK",
                     "--data-dir", str(data))  # fmt: skip
    assert rc == 0, err
    for args in (["1"], ["--patient", "P-CJK"]):
        out = flow["tmp"] / "cjk.pdf"
        argv = ["--out", str(out), "--overwrite", "--data-dir", str(data)]  # (the same file)
        rc, _, err = cli("report", *args, "--with-name", *argv)
        assert rc == 0 and out.stat().st_size > 0  # written all the same
        note = "biotrainer: note: no installed font can draw 王 小 明: the PDF shows them as empty"
        assert err.startswith(note) and err.count("\n") == 1, err
        assert "ë" not in err  # what the font can draw is not listed
        # de-identified, the name is not printed: nothing to say
        rc, _, err = cli("report", *args, *argv)
        assert rc == 0 and err == ""
