"""load_session on good, truncated, corrupt and empty session folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sessionkit import MUSE2, make_raw, record_arrays

from biotrainer.clock import SimulatedClock
from biotrainer.errors import RecordingError
from biotrainer.session import Recorder, load_session


@pytest.fixture
def session(tmp_path: Path) -> Path:
    return record_arrays(MUSE2, make_raw(MUSE2, 3.0), out=tmp_path / "s").path


def _copy(session: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(session, dst)
    return dst


def test_reads_metadata_signals_and_durations(session: Path) -> None:
    rec = load_session(session)
    assert rec.layout == MUSE2 and rec.warnings == ()
    sig = rec.signals()
    assert sig["eeg"].channel_names == ("TP9", "AF7", "AF8", "TP10")
    assert sig["eeg"].samples.shape == (4, 768) and sig["ppg"].fs == 64.0
    assert rec.duration_s == pytest.approx(767 / 256, abs=1e-6)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"no session folder at"):
        load_session(tmp_path / "nope")


def test_folder_without_metadata(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecordingError, match=r"not a biotrainer session folder: session.json"):
        load_session(tmp_path / "empty")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ('{"format": "biotrainer-session", ', "invalid JSON at line 1"),
        ("[1, 2]", "does not hold a JSON object"),
        ('{"hello": 1}', "not a biotrainer session file"),
    ],
)
def test_corrupt_metadata(session: Path, content: str, message: str) -> None:
    (session / "session.json").write_text(content)
    with pytest.raises(RecordingError, match=message):
        load_session(session)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("layout", "'layout' is missing"),
        ("start", "'start.utc' is missing"),
        ("status", "'status' is missing"),
    ],
)
def test_metadata_missing_keys(session: Path, key: str, message: str) -> None:
    d = json.loads((session / "session.json").read_text())
    del d[key]
    (session / "session.json").write_text(json.dumps(d))
    with pytest.raises(RecordingError, match=message):
        load_session(session)


def test_newer_format_is_refused(session: Path) -> None:
    d = json.loads((session / "session.json").read_text())
    d["format_version"] = 99
    (session / "session.json").write_text(json.dumps(d))
    with pytest.raises(RecordingError, match=r"format_version 99 is not supported"):
        load_session(session)


def test_missing_raw_file(session: Path) -> None:
    (session / "raw_ancillary.csv").unlink()
    with pytest.raises(RecordingError, match=r"raw_ancillary.csv is missing"):
        load_session(session)


@pytest.mark.parametrize("cut", [1, 7, 40])
def test_truncated_last_line_is_dropped(session: Path, cut: int) -> None:
    path = session / "raw_default.csv"
    blob = path.read_bytes()
    path.write_bytes(blob[:-cut])  # a writer killed in the middle of the last line
    rec = load_session(session)
    assert rec.n_samples("default") == 767
    full = make_raw(MUSE2, 3.0)["default"]
    np.testing.assert_allclose(rec.raw["default"], full[:, :767], atol=1e-6)
    assert any("incomplete last line" in w for w in rec.warnings)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (b"\x00\x00garbage\tline\n", "the number of columns changed from 9 to 2 at line 11"),
        (b"1\t2\t3\tx\t5\t6\t7\t8\t9\n", "not a number: 'x' at line 11, column 4"),
        # control bytes shown as escapes, a long value cut short (not sent raw to a terminal)
        (b"1\t\x00\x07z\t3\t4\t5\t6\t7\t8\t9\n", r"not a number: '\\x00\\x07z' at line 11"),
        (
            b"1\t" + b"y" * 300 + b"\t3\t4\t5\t6\t7\t8\t9\n",
            r"not a number: 'y{36}\.\.\. at line 11",
        ),
    ],
)
def test_garbage_in_the_middle_names_file_and_line(session: Path, bad: bytes, message: str):
    path = session / "raw_auxiliary.csv"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[10] = bad
    path.write_bytes(b"".join(lines))
    with pytest.raises(RecordingError, match=r"raw_auxiliary.csv is corrupt \(" + message):
        load_session(session)


def test_wrong_number_of_columns(session: Path) -> None:
    path = session / "raw_default.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[3] = "\t".join(lines[3].split("\t")[:5]) + "\n"
    path.write_text("".join(lines))
    with pytest.raises(RecordingError, match=r"raw_default.csv is corrupt.*8 to 5 at line 4"):
        load_session(session)


def test_file_from_another_board(session: Path) -> None:
    # every line consistent, but 6 columns where the layout says 8
    shutil.copy(session / "raw_ancillary.csv", session / "raw_default.csv")
    with pytest.raises(RecordingError, match=r"6 values per line but session.json describes 8"):
        load_session(session)


def test_empty_recording(tmp_path: Path) -> None:
    rec = Recorder.create(MUSE2, out=tmp_path / "empty", clock=SimulatedClock(), fsync=False)
    # killed before the first flush: metadata and empty raw files only
    with pytest.raises(RecordingError, match=r"holds no samples"):
        load_session(rec.path)


def test_damaged_events_are_skipped_with_a_warning(session: Path) -> None:
    with open(session / "events.csv", "a", encoding="utf-8") as f:
        f.write("1700000000.5,marker,ok\nnot-a-time,marker,bad\n1700000001.0,note\n")
    rec = load_session(session)
    assert [e.text for e in rec.events] == ["ok"]
    assert sum("damaged" in w for w in rec.warnings) == 2


def test_a_damaged_header_keeps_the_events_below_it(session: Path) -> None:
    """A flipped byte in events.csv's first line refused the whole session (export, replay),
    and the patient store lost its markers: the events are kept, with one warning."""
    path = session / "events.csv"
    with open(path, "a", encoding="utf-8") as f:
        f.write('1700000000.5,marker,eyes closed\n1700000002.0,note,"calm, ""settled"""\n')
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("tim\x01,kind,text\n" + "".join(lines[1:]), encoding="utf-8")
    rec = load_session(session)
    assert [e.text for e in rec.events] == ["eyes closed", 'calm, "settled"']
    assert [w for w in rec.warnings if "events.csv" in w] == [
        "events.csv line 1 is damaged (it should be time,kind,text): the lines below it were "
        "read as events"
    ]


def test_many_damaged_event_lines_make_one_warning(session: Path) -> None:
    """A file of garbage gives one summed-up warning, not one per line on the terminal."""
    with open(session / "events.csv", "a", encoding="utf-8") as f:
        f.write("garbage\n" * 500 + "1700000000.5,marker,ok\n")
    rec = load_session(session)
    assert rec.events[-1].text == "ok"
    notes = [w for w in rec.warnings if "events.csv" in w]
    assert notes == ["events.csv: 500 damaged lines were skipped (lines 2, 3, 4, ...)"]


def test_missing_events_file_is_not_fatal(session: Path) -> None:
    (session / "events.csv").unlink()
    rec = load_session(session)
    assert rec.events == () and any("events.csv is missing" in w for w in rec.warnings)
