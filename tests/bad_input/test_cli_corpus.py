"""Bad-input corpus, end to end through the CLI: one specific line, exit 2, nothing lost.

Every case runs ``biotrainer.cli.main([...])`` in-process and checks: return code 2, exactly one
line on stderr starting with ``biotrainer: `` and holding the case's specific words, no
traceback; and that nothing already recorded was lost or changed (a data folder holding a
recorded, registered session is fingerprinted before and after every case, and no half-made
session folder is left behind).

Bad input covered elsewhere, not repeated here:

* malformed device profiles, 23 kinds, file/key/problem named: tests/acquisition/test_profiles.py
  (``MALFORMED``); missing/unused connection fields, BrainFlow exit codes -> messages, playback
  files missing/empty/of another board: tests/acquisition/test_brainflow_source.py
* malformed protocols, 11 kinds, and a non-UTF-8 protocol: tests/engine/test_protocol.py
* corrupt / truncated / empty session folders at the reader (bad JSON, missing keys, newer
  format, missing raw file, partial last line, garbage mid-file naming the line, wrong column
  count, another board's file, empty recording, damaged events):
  tests/session/test_session_reader.py
* odd EDF (non-integer sampling rate, record duration, physical range):
  tests/session/test_edf_export.py
* non-UTF-8, over-long, control-character and SQL-special text in the store, failed writes
  rolled back, kill mid-write: tests/store/test_store.py, tests/store/test_store_kill.py
* bad arguments of record/replay/export and an unwritable data dir through a subprocess:
  tests/test_cli_record.py; unwritable / full data dir for run and record: tests/faults/
* NaN / Inf / flat / railed / huge samples and absurd sampling rates through dsp and the
  engine: tests/bad_input/test_bad_samples.py; quality flags on real artifacts:
  tests/dsp/test_quality.py
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from badinputkit import fingerprint, record_session

from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout
from biotrainer.cli import main
from biotrainer.session import list_sessions
from biotrainer.session.store import Store


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """A data dir with patient P1 and one recorded, registered session; and a spare good copy."""
    root = tmp_path_factory.mktemp("corpus")
    data = root / "data"
    folder = data / "sessions" / "20250101-000000-muse2"
    folder.mkdir(parents=True)
    record_session(folder)
    with Store.open(data) as store:
        store.add_patient("P1", name="Ann O'Neil; DROP TABLE patients;--", notes="ok")
        sid = store.add_session("P1", folder, "alpha-uptraining", "muse2").id
        store.finish_session(sid)
    good = root / "good"
    shutil.copytree(folder, good)
    return {"data": data, "folder": folder, "good": good, "sid": Path(str(sid))}


# -- helpers that make bad files -----------------------------------------------------------


def _text(name: str, content: str | bytes) -> Callable[[Path, dict], None]:
    def make(tmp: Path, w: dict) -> None:
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())

    return make


def _copy_good(change: Callable[[Path], None]) -> Callable[[Path, dict], None]:
    def make(tmp: Path, w: dict) -> None:
        s = tmp / "s"
        shutil.copytree(w["good"], s)
        change(s)

    return make


def _meta(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def change(s: Path) -> None:
        d = json.loads((s / "session.json").read_text())
        edit(d)
        (s / "session.json").write_text(json.dumps(d))

    return change


def _set_rate(rate: float) -> Callable[[dict], None]:
    def edit(d: dict) -> None:
        d["layout"]["presets"][0]["fs"] = rate

    return edit


def _garble_line(s: Path) -> None:
    raw = s / "raw_default.csv"
    lines = raw.read_bytes().split(b"\n")
    lines[100] = b"1.0\tgarbage\t3.0"
    raw.write_bytes(b"\n".join(lines))


PROFILE = """name = "{name}"
title = "T"
board = "SYNTHETIC_BOARD"
[connection]
required = []
[[channels]]
role = "eeg"
preset = "default"
rows = "eeg_channels"
"""

PROTOCOL = """name = "p"
feedback = "alpha"
[[phases]]
kind = "baseline"
duration_s = 60
[[phases]]
kind = "training"
duration_s = 60
"""

# (id, setup or None, argv with {tmp} {data} {sid}, words the one line must hold)
CASES: list[tuple[str, Callable | None, list[str], str]] = [
    # -- devices and profiles
    ("unknown-device", None, ["run", "--device", "nosuch"], "unknown device profile 'nosuch'"),
    (
        "profile-bad-toml",
        _text("bad.toml", 'name = "bad\n'),
        ["run", "--device", "{tmp}/bad.toml"],
        "bad.toml: not valid TOML",
    ),
    (
        "profile-unknown-board",
        _text("bad.toml", PROFILE.format(name="bad").replace("SYNTHETIC_BOARD", "NOPE_BOARD")),
        ["record", "--device", "{tmp}/bad.toml", "--duration", "1"],
        "bad.toml: board:",
    ),
    (
        "profile-missing-title",
        _text("bad.toml", PROFILE.format(name="bad").replace('title = "T"\n', "")),
        ["run", "--device", "{tmp}/bad.toml"],
        "bad.toml: title: missing",
    ),
    (
        "profile-not-utf8",
        _text("bad.toml", b'name = "\xff\xfe"\n'),
        ["devices", "{tmp}/bad.toml"],
        "bad.toml",
    ),
    (
        "profile-empty",
        _text("bad.toml", ""),
        ["run", "--device", "{tmp}/bad.toml"],
        "bad.toml: name: missing",
    ),
    (
        "profile-missing-file",
        None,
        ["run", "--device", "{tmp}/nothere.toml"],
        "nothere.toml",
    ),
    (
        "serial-port-missing",
        None,
        ["record", "--device", "cyton", "--duration", "1"],
        "needs a serial port: pass --serial-port",
    ),
    (
        "serial-port-bad",
        None,
        ["run", "--device", "cyton", "--serial-port", "/dev/biotrainer-no-such-tty"],
        "/dev/biotrainer-no-such-tty",
    ),
    (
        "mac-malformed",
        None,
        ["run", "--device", "muse2", "--mac-address", "00:55:DA:B3:12"],
        "'00:55:DA:B3:12' is not a Bluetooth address",
    ),
    (
        "mac-not-hex",
        None,
        [
            "record",
            "--device",
            "ganglion",
            "--serial-port",
            "/dev/ttyX",
            "--mac-address",
            "zz:55:da:b3:12:34",
            "--duration",
            "1",
        ],
        "is not a Bluetooth address",
    ),
    (
        "mac-unused",
        None,
        ["run", "--device", "synthetic", "--mac-address", "00:55:DA:B3:12:34"],
        "does not use --mac-address",
    ),
    (
        "playback-file-missing",
        None,
        ["run", "--device", "playback", "--file", "{tmp}/none.csv", "--master-board", "muse2"],
        "none.csv does not exist",
    ),
    (
        "playback-file-empty",
        _text("empty.csv", ""),
        ["run", "--device", "playback", "--file", "{tmp}/empty.csv", "--master-board", "muse2"],
        "empty.csv is empty",
    ),
    (
        "scenario-on-a-real-device",
        None,
        ["run", "--device", "synthetic", "--scenario", "artifacts"],
        "--scenario only applies to simulator devices",
    ),
    (
        "scenario-unknown",
        None,
        ["run", "--device", "simulator-muse2", "--speed", "max", "--scenario", "nosuch"],
        "nosuch",
    ),
    (
        "speed-on-a-live-device",
        None,
        ["run", "--device", "synthetic", "--speed", "10"],
        "a live device cannot deliver data faster than real time",
    ),
    ("speed-zero", None, ["run", "--speed", "0"], "--speed must be a positive number"),
    ("speed-text", None, ["run", "--speed", "fast"], "--speed must be a positive number"),
    ("duration-zero", None, ["record", "--duration", "0"], "--duration must be a positive"),
    # -- protocols
    ("protocol-unknown", None, ["run", "--protocol", "nosuch"], "no such protocol file"),
    (
        "protocol-bad-toml",
        _text("p.toml", "name = 'p'\nphases = ["),
        ["run", "--protocol", "{tmp}/p.toml"],
        "p.toml: not valid TOML",
    ),
    (
        "protocol-negative-duration",
        _text(
            "p.toml", PROTOCOL.replace("duration_s = 60\n[[phases]]", "duration_s = -5\n[[phases]]")
        ),
        ["run", "--protocol", "{tmp}/p.toml"],
        "phases[0].duration_s",
    ),
    # -- session folders: replay, export, report
    ("replay-missing", None, ["replay", "{tmp}/nothere"], "no session folder at"),
    ("replay-empty-folder", _text("s/.keep", ""), ["replay", "{tmp}/s"], "session.json is missing"),
    (
        "replay-empty-json",
        _copy_good(lambda s: (s / "session.json").write_text("")),
        ["replay", "{tmp}/s", "--speed", "50"],
        "session.json is empty",
    ),
    (
        "export-truncated-json",
        _copy_good(
            lambda s: (s / "session.json").write_text((s / "session.json").read_text()[:200])
        ),
        ["export", "{tmp}/s", "--edf", "{tmp}/x.edf"],
        "session.json is corrupt: invalid JSON",
    ),
    (
        "export-raw-missing",
        _copy_good(lambda s: (s / "raw_default.csv").unlink()),
        ["export", "{tmp}/s", "--edf", "{tmp}/x.edf"],
        "raw_default.csv is missing",
    ),
    (
        "export-garbage-line",
        _copy_good(_garble_line),
        ["export", "{tmp}/s", "--edf", "{tmp}/x.edf"],
        "at line 101",
    ),
    (
        "export-rate-zero",
        _copy_good(_meta(_set_rate(0))),
        ["export", "{tmp}/s", "--edf", "{tmp}/x.edf"],
        "sampling rate",
    ),
    (
        "run-replay-rate-negative",
        _copy_good(_meta(_set_rate(-256))),
        ["run", "--replay", "{tmp}/s", "--speed", "max", "--no-record"],
        "sampling rate",
    ),
    (
        "export-rate-absurd",
        _copy_good(_meta(_set_rate(1e12))),
        ["export", "{tmp}/s", "--edf", "{tmp}/x.edf"],
        "sampling rate",
    ),
    (
        "run-replay-rate-tiny",
        _copy_good(_meta(_set_rate(0.5))),
        ["run", "--replay", "{tmp}/s", "--speed", "max", "--no-record"],
        "sampling rate",
    ),
    (
        "export-to-a-folder-under-a-file",
        _text("blocker", "x"),
        ["export", "{data}/sessions/20250101-000000-muse2", "--edf", "{tmp}/blocker/x.edf"],
        "blocker",
    ),
    (
        "report-unknown-id",
        None,
        ["report", "999", "--data-dir", "{data}"],
        "no session with id 999",
    ),
    (
        "report-id-not-a-number",
        None,
        ["report", "abc", "--data-dir", "{data}"],
        "a session id is a number",
    ),
    (
        "report-not-pdf",
        None,
        ["report", "{sid}", "--out", "{tmp}/x.txt", "--data-dir", "{data}"],
        "should end in .pdf",
    ),
    # -- patients and the store
    (
        "patient-name-too-long",
        None,
        ["patients", "add", "P2", "--name", "N" * 5000, "--data-dir", "{data}"],
        "too long (5000 characters",
    ),
    (
        "patient-code-too-long",
        None,
        ["patients", "add", "C" * 100, "--data-dir", "{data}"],
        "too long",
    ),
    (
        "patient-notes-not-utf8",
        None,
        ["patients", "add", "P3", "--notes", "caf\udce9", "--data-dir", "{data}"],
        "not valid UTF-8",
    ),
    (
        "patient-duplicate-code",
        None,
        ["patients", "add", "p1", "--data-dir", "{data}"],
        "a patient with code 'p1' already exists",
    ),
    (
        "run-unknown-patient",
        None,
        ["run", "--patient", "Robert'); DROP TABLE sessions;--", "--data-dir", "{data}"],
        "no patient with code",
    ),
    (
        "self-report-out-of-range",
        None,
        ["sessions", "rate", "{sid}", "pre", "--pain", "11", "--data-dir", "{data}"],
        "pain",
    ),
    (
        "note-not-utf8",
        None,
        [
            "sessions",
            "rate",
            "{sid}",
            "post",
            "--pain",
            "3",
            "--note",
            "\udcff\udcfe",
            "--data-dir",
            "{data}",
        ],
        "not valid UTF-8",
    ),
    (
        "patient-with-no-record",
        None,
        ["run", "--patient", "P1", "--no-record", "--data-dir", "{data}"],
        "cannot go with --no-record",
    ),
]


#: Cases that fail today (strict xfail: fixing the bug turns them into failures to unmark).
KNOWN_BUGS: dict[str, str] = {}


def _params():
    for case_id, setup, argv, words in CASES:
        marks = ()
        if case_id in KNOWN_BUGS:
            marks = pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[case_id])
        yield pytest.param(setup, argv, words, id=case_id, marks=marks)


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) - len(KNOWN_BUGS) >= 30
    assert len({c[0] for c in CASES}) == len(CASES)
    assert set(KNOWN_BUGS) <= {c[0] for c in CASES}


@pytest.mark.parametrize(("setup", "argv", "words"), list(_params()))
def test_bad_input_gives_one_specific_line(world, tmp_path, capsys, setup, argv, words) -> None:
    if setup is not None:
        setup(tmp_path, world)
    argv = [a.format(tmp=tmp_path, data=world["data"], sid=world["sid"]) for a in argv]
    before = fingerprint(world["data"])
    folders = list_sessions(tmp_path / "d")
    if "--data-dir" not in argv and argv[0] in ("run", "record"):
        argv += ["--data-dir", str(tmp_path / "d")]
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("biotrainer: "), err
    assert code == 2
    assert words.format(tmp=tmp_path) in lines[0]
    # nothing recorded before is lost or changed, no half-made session
    assert fingerprint(world["data"]) == before
    assert list_sessions(tmp_path / "d") == folders


def test_sql_special_characters_and_long_notes_are_kept_verbatim(world, tmp_path, capsys) -> None:
    """The other side of the store cases: awkward but valid text goes in and out unchanged."""
    data = tmp_path / "d"
    name = "Ann O'Neil\"; DROP TABLE patients;-- %_\\"
    notes = "línea 1 — ünïcödé ✓ " + "x" * 9000
    assert (
        main(["patients", "add", "Q-1", "--name", name, "--notes", notes, "--data-dir", str(data)])
        == 0
    )
    assert main(["patients", "--with-name", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "Q-1" in out and "Ann O'Neil" in out
    with Store.open(data) as store:
        (p,) = store.patients()
        assert (p.code, p.name, p.notes) == ("Q-1", name, notes)


def test_export_of_a_one_channel_non_integer_rate_session(world, tmp_path, capsys) -> None:
    """Odd EDF: one EEG channel at 250.3 Hz exports, and says how it handled the rate."""
    import pyedflib

    layout = SourceLayout(
        device="odd",
        board_id=-1,
        presets=(PresetLayout("default", 250.3, 4, 2, 3),),
        groups=(ChannelGroup("eeg", "default", (1,), ("Cz",), "uV"),),
    )
    (tmp_path / "odd").mkdir()
    folder = record_session(tmp_path / "odd", seconds=6.0, layout=layout)
    before = __fingerprint_folder(folder)
    out = tmp_path / "odd.edf"
    assert main(["export", str(folder), "--edf", str(out)]) == 0, capsys.readouterr().err
    f = pyedflib.EdfReader(str(out))
    try:
        assert f.signals_in_file == 1 and f.getSignalLabels() == ["EEG Cz"]
        assert f.getSampleFrequency(0) == pytest.approx(250.3)  # 10-s records of 2503 samples
        y = f.readSignal(0)
        step = (f.getPhysicalMaximum(0) - f.getPhysicalMinimum(0)) / 65535
    finally:
        f.close()
    from biotrainer.session import load_session

    x = load_session(folder).signals()["eeg"].samples[0]
    assert x.size == round(6.0 * 250.3) or abs(x.size - 6.0 * 250.3) <= 1
    assert np.max(np.abs(y[: x.size] - x)) <= step / 2 + 1e-9
    assert __fingerprint_folder(folder) == before


def __fingerprint_folder(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_export_keeps_the_events_of_a_file_with_a_damaged_header(tmp_path, capsys) -> None:
    """A flipped byte in events.csv's column names refused the export outright ("is corrupt:
    its first line should be ..."), so the signals could not be taken out: now the EDF is
    written with the events below the header as annotations, and the damage is noted."""
    import pyedflib

    (tmp_path / "s").mkdir()
    folder = record_session(tmp_path / "s")
    events = folder / "events.csv"
    text = events.read_text(encoding="utf-8")
    events.write_text("t\xefme" + text[4:], encoding="utf-8")
    out = tmp_path / "x.edf"
    assert main(["export", str(folder), "--edf", str(out)]) == 0
    err = capsys.readouterr().err
    assert "biotrainer: note: events.csv line 1 is damaged" in err and "Traceback" not in err
    f = pyedflib.EdfReader(str(out))
    try:
        assert "marker: eyes closed" in list(f.readAnnotations()[2])
    finally:
        f.close()
