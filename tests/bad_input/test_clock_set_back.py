"""A recording whose clock was set back mid-session: `replay`, `run --replay` and `export`
accept it alike and say the same one line about it.

The audit case: raw_default.csv steps back 1.6 s at line 1001. `replay` refused it as corrupt,
`run --replay` replayed it silently and `export` exported it with a note of its own. Now all
three keep every sample in recorded order and print the note of
:meth:`biotrainer.session.timestamps.TimestampScan.note`; the recording is never changed.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from badinputkit import record_session

from biotrainer.cli import main
from biotrainer.session.reader import check_session_folder
from biotrainer.session.store import Store

RAW = "raw_default.csv"
TS_COL = 6  # the timestamp row of badinputkit's layout
KEPT = "every sample is kept in recorded order, times near it may be off"
NOTE = (
    f"biotrainer: note: {RAW}: the timestamps go back by 1.6 s at line 1001 (a clock change?); "
    f"{KEPT}"
)

COMMANDS = {
    "replay-real-time": ["replay", "{s}"],  # BrainFlow's playback board
    "replay-fast": ["replay", "{s}", "--speed", "50"],
    "replay-max": ["replay", "{s}", "--speed", "max"],
    "run-replay": ["run", "--replay", "{s}", "--speed", "max", "--no-record", "--data-dir", "{d}"],
    "export": ["export", "{s}", "--edf", "{tmp}/x.edf"],
}


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """A 4-s session (1024 lines) as it was recorded."""
    return record_session(tmp_path_factory.mktemp("clock"), seconds=4.0)


def _set_back(src: Path, dst: Path, line: int, seconds: float) -> Path:
    """A copy of ``src`` whose clock was set back by ``seconds`` just before ``line``."""
    shutil.copytree(src, dst)
    rows = [ln.split("\t") for ln in (dst / RAW).read_text().splitlines()]
    for cols in rows[line - 1 :]:
        cols[TS_COL] = f"{float(cols[TS_COL]) - seconds:.6f}"
    (dst / RAW).write_text("".join("\t".join(c) + "\n" for c in rows))
    return dst


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def _raw_notes(err: str) -> list[str]:
    assert "Traceback" not in err
    return [ln for ln in err.splitlines() if ln.startswith("biotrainer: note: raw_")]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_accepts_it_and_says_the_same_line(
    recording, tmp_path, capsys, command
) -> None:
    s = _set_back(recording, tmp_path / "s", 1001, 1.6)
    before = _digest(s)
    fill = {"s": s, "tmp": tmp_path, "d": tmp_path / "d"}
    assert main([a.format(**fill) for a in COMMANDS[command]]) == 0
    out, err = capsys.readouterr()
    assert _raw_notes(err) == [NOTE]
    if command.startswith("replay"):
        assert "replayed 1024 default samples" in out  # every sample, none dropped
    if command == "export":
        assert (tmp_path / "x.edf").stat().st_size > 0
    assert _digest(s) == before  # the recording is never changed


def test_a_clock_set_back_further_than_the_session_went(recording, tmp_path, capsys) -> None:
    """Set back 60 s after 4 s: the last line is earlier than the first. Still a recording in
    order (sessions import reads the whole file to tell), unlike a file of reversed lines."""
    s = _set_back(recording, tmp_path / "s", 1001, 60.0)
    check_session_folder(s)
    data = tmp_path / "data"
    with Store.open(data) as store:
        store.add_patient("P1")
    argvs = [
        ["replay", str(s), "--speed", "max"],
        ["run", "--replay", str(s), "--speed", "max", "--no-record", "--data-dir", str(data)],
        ["export", str(s), "--edf", str(tmp_path / "x.edf")],
    ]
    for argv in argvs:
        assert main(argv) == 0, argv
        (note,) = _raw_notes(capsys.readouterr().err)
        assert note.startswith(f"biotrainer: note: {RAW}: the timestamps go back by 60.0 s at")
    assert main(["sessions", "import", str(s), "--patient", "P1", "--data-dir", str(data)]) == 0


def _alpha(folder: Path) -> list[tuple[float, str]]:
    with open(folder / "metrics.csv", newline="") as f:
        return [(float(r["sample_time"]), r["alpha"]) for r in csv.DictReader(f)]


def test_run_replay_metrics_are_those_of_the_recording(tmp_path, capsys) -> None:
    """The samples after the step are served at once (by BrainFlow's playback board as by the
    file source) until their times pass the earlier ones; the engine takes them in one update,
    as it did live. Every other update is the one the recording without the step gives: the
    step costs updates, never wrong values."""
    (tmp_path / "good").mkdir()
    good = record_session(tmp_path / "good", seconds=12.0)
    s = _set_back(good, tmp_path / "s", 1537, 1.6)  # 6 s in
    runs = {}
    for name, folder in (("good", good), ("set-back", s)):
        argv = [
            "run",
            "--replay",
            str(folder),
            "--speed",
            "max",
            "--out",
            str(tmp_path / "out" / name),
        ]
        assert main(argv) == 0
        runs[name] = _alpha(tmp_path / "out" / name)
    assert _raw_notes(capsys.readouterr().err) == [NOTE.replace("line 1001", "line 1537")]
    good_rows, set_back = runs["good"], runs["set-back"]
    step_t = 1000.0 + 1536 / 256
    before = [r for r in set_back if r[0] < step_t]
    assert before == good_rows[: len(before)]
    # from the step on, each update of the set-back run is the good run's update 1.6 s later
    after = [(round(t + 1.6, 6), a) for t, a in set_back[len(before) :]]
    good_by_t = {round(t, 6): a for t, a in good_rows}
    assert after and all(good_by_t.get(t) == a for t, a in after)
    values = [float(a) for _, a in set_back if a]
    assert values and np.all(np.isfinite(values))


def test_the_trainer_says_it_too_before_its_window_opens(
    recording, tmp_path, capsys, monkeypatch
) -> None:
    import biotrainer.ui.trainer_window as trainer_window

    opened: list[Path] = []
    monkeypatch.setattr(trainer_window, "run_trainer", lambda *a, **kw: opened.append(a) or 0)
    s = _set_back(recording, tmp_path / "s", 1001, 1.6)
    args = ["gui", "--replay", str(s), "--no-patient", "--data-dir", str(tmp_path / "d")]
    assert main(args) == 0
    assert _raw_notes(capsys.readouterr().err) == [NOTE]
    assert len(opened) == 1
