"""A channel read from a row that carries no signal, or two channels of one name, are refused.

The profile check took a board's timestamp, package-number or marker row as a signal row:
``rows = [30, 1]`` on the synthetic board loaded and recorded, and the export then failed with
"EEG A: a value of 1.79584e+09 is too large for EDF's 8-character header"; ``names = ["A",
"A"]`` loaded too. A profile now names the row and what it is ("row 30 is the board's
timestamp row"), or the repeated name; a session folder whose hand-edited ``session.json``
reads a signal from its preset's timestamp or marker row is refused as corrupt (repeated
names stay readable there: an LSL stream may label two channels alike).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from badinputkit import LAYOUT, one_line, record_session

from biotrainer.acquisition.profiles import list_profiles, load_profile, service_row
from biotrainer.acquisition.source import ChannelGroup
from biotrainer.cli import main
from biotrainer.session.folder import META_FILE, read_meta

PROFILE = """name = "{name}"
title = "T"
board = "SYNTHETIC_BOARD"
[connection]
required = []
[[channels]]
role = "{role}"
preset = "default"
rows = {rows}
{names}
"""

# (profile, role, rows, names line, the line's end) on the synthetic board (32 rows: package
# number 0, timestamp 30, marker 31)
CASES = [
    ("timestamp", "eeg", "[30, 1]", "", "rows: row 30 is the board's timestamp row, not a signal"),
    ("package", "eeg", "[0, 1]", "", "rows: row 0 is the board's package-number row, not a signal"),
    ("marker", "ecg", "[1, 31]", "", "rows: row 31 is the board's marker row, not a signal"),
    (
        "names",
        "eeg",
        "[1, 2]",
        'names = ["A", "A"]',
        "names: repeats the name 'A': each channel needs its own (['A', 'A'])",
    ),
]


def _write(folder: Path, name: str, role: str, rows: str, names: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(PROFILE.format(name=name, role=role, rows=rows, names=names))
    return path


@pytest.mark.parametrize(
    ("name", "role", "rows", "names", "end"), [pytest.param(*c, id=c[0]) for c in CASES]
)
def test_a_profile_naming_such_a_row_or_name_is_refused(
    tmp_path, capsys, name, role, rows, names, end
) -> None:
    path = _write(tmp_path, name, role, rows, names)
    line = one_line(main(["devices", str(path)]), capsys.readouterr().err)
    where = "(SYNTHETIC_BOARD, default preset)" if "row" in end else ""
    assert line == f"biotrainer: {path}: channels[0].{end}" + (f" {where}" if where else "")


def test_nothing_is_recorded_with_such_a_profile(tmp_path, capsys) -> None:
    path = _write(tmp_path, "timestamp", "eeg", "[30, 1]", "")
    data = tmp_path / "data"
    argv = ["record", "--device", str(path), "--duration", "1", "--data-dir", str(data)]
    line = one_line(main(argv), capsys.readouterr().err)
    assert "row 30 is the board's timestamp row" in line
    assert not (data / "sessions").exists() or not any((data / "sessions").iterdir())


def test_the_marker_row_is_a_marker_channel_signal(tmp_path) -> None:
    profile = load_profile(_write(tmp_path, "markers", "marker", "[31]", ""))
    assert profile.layout().group("marker").rows == (31,)


def test_a_board_without_such_rows_is_asked_nothing_about_them() -> None:
    """(BrainFlow's descriptions of some boards lack the package-number or marker key.)"""
    assert service_row({"timestamp_channel": 6}, 0, "eeg") is None
    assert service_row({"timestamp_channel": 6}, 6, "eeg") == "timestamp"
    assert service_row({"marker_channel": 7}, 7, "marker") is None


def test_every_shipped_profile_reads_signals_only() -> None:
    assert len(list_profiles()) > 10  # (each loads: none is refused by the new rule)


# -- session.json edited by hand ---------------------------------------------------------------


def _recorded(folder: Path, layout=LAYOUT) -> Path:
    folder.mkdir()
    return record_session(folder, seconds=2.0, layout=layout)


@pytest.mark.parametrize(("row", "what"), [(6, "timestamp row"), (7, "marker row")])
@pytest.mark.parametrize("command", ["export", "replay"])
def test_a_session_layout_reading_a_signal_from_such_a_row_is_corrupt(
    tmp_path, capsys, row, what, command
) -> None:
    folder = _recorded(tmp_path / "s")
    meta = folder / META_FILE
    d = json.loads(meta.read_text())
    d["layout"]["groups"][0]["rows"][1] = row
    meta.write_text(json.dumps(d))
    before = meta.read_bytes()
    argv = ["export", str(folder), "--edf", str(tmp_path / "o.edf")]
    if command == "replay":
        argv = ["replay", str(folder), "--speed", "max"]
    line = one_line(main(argv), capsys.readouterr().err)
    assert line == (
        f"biotrainer: {meta} is corrupt: 'layout.groups[0].rows[1]' is {row}, the default "
        f"preset's {what}, not a signal"
    )
    assert meta.read_bytes() == before
    assert not (tmp_path / "o.edf").exists()


def test_a_session_with_a_marker_channel_and_repeated_names_is_read(tmp_path) -> None:
    eeg = dataclasses.replace(LAYOUT.groups[0], names=("A", "A", "B", "C"))
    markers = ChannelGroup("marker", "default", (7,), ("marker",), "")
    layout = dataclasses.replace(LAYOUT, groups=(eeg, markers))
    folder = _recorded(tmp_path / "s", layout)
    assert read_meta(folder).layout.groups == (eeg, markers)
