"""Bad session files through the CLI: one specific line, exit 2, nothing lost.

The session-file layer: ``session.json`` fields of the wrong type or out of range (infinite or
huge numbers, row indices outside the raw file, text where a number belongs, a list where an
object belongs), raw files whose timestamps are reversed or not numbers, raw values EDF cannot
hold, EDF files that cannot be written (non-UTF-8 names, a full disk), and folders that
``sessions import`` should refuse. Same checks as tests/bad_input/test_cli_corpus.py: return code
2, exactly one ``biotrainer: `` line on stderr holding the case's words, no traceback, and the data
folder holding a recorded, registered session fingerprinted before and after.

A real full disk is checked by hand (tmpfs of 64 KiB, see the module's report); here the failing
write is simulated by monkeypatching pyedflib.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyedflib
import pytest
from badinputkit import fingerprint, one_line, record_session

from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout
from biotrainer.cli import main
from biotrainer.errors import RecordingError
from biotrainer.session import list_sessions
from biotrainer.session.folder import META_FILE, SessionMeta, read_meta, write_meta
from biotrainer.session.reader import check_session_folder, load_session
from biotrainer.session.store import Store

RAW = "raw_default.csv"
TS_COL = 6  # LAYOUT's timestamp row = column of the raw file


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """A data dir with patient P1 and one recorded, registered session; and a spare good copy."""
    root = tmp_path_factory.mktemp("session-files")
    data = root / "data"
    folder = data / "sessions" / "20250101-000000-muse2"
    folder.mkdir(parents=True)
    record_session(folder, seconds=4.0)
    with Store.open(data) as store:
        store.add_patient("P1")
        store.finish_session(store.add_session("P1", folder, "alpha-uptraining", "muse2").id)
    good = root / "good"
    shutil.copytree(folder, good)
    return {"data": data, "good": good}


def _one_line(capsys, code: int) -> str:
    return one_line(code, capsys.readouterr().err)


def _copy(world: dict, tmp: Path) -> Path:
    s = tmp / "s"
    shutil.copytree(world["good"], s)
    return s


# -- session.json fields -------------------------------------------------------------------


def _edit_meta(s: Path, edit: Callable[[dict], None]) -> None:
    d = json.loads((s / META_FILE).read_text())
    edit(d)
    (s / META_FILE).write_text(json.dumps(d))  # allow_nan: inf is written as Infinity


def _set(*path: str | int, value: object) -> Callable[[dict], None]:
    def edit(d: dict) -> None:
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value

    return edit


INF = float("inf")
GROUP = ("layout", "groups", 0)
PRESET = ("layout", "presets", 0)

# (id, edit of session.json, words the one line must hold)
META_CASES: list[tuple[str, Callable[[dict], None], str]] = [
    ("groups-empty", _set("layout", "groups", value=[]), "'layout.groups' is empty"),
    ("board-id-infinity", _set("layout", "board_id", value=INF), "'layout.board_id' should be"),
    ("board-id-huge", _set("layout", "board_id", value=10**400), "'layout.board_id' is 1000"),
    ("top-board-id-infinity", _set("board_id", value=INF), "'board_id' should be a whole"),
    ("samples-infinity", _set("samples", "default", value=INF), "'samples.default' should be"),
    ("samples-huge", _set("samples", "default", value=10**30), "'samples.default' is"),
    ("row-infinity", _set(*GROUP, "rows", 0, value=INF), "'layout.groups[0].rows[0]' should be"),
    ("row-500", _set(*GROUP, "rows", 0, value=500), "'layout.groups[0].rows[0]' is 500, outside"),
    ("row-negative", _set(*GROUP, "rows", 1, value=-40), "'layout.groups[0].rows[1]' is -40"),
    ("timestamp-row-999", _set(*PRESET, "timestamp_row", value=999), "timestamp_row' is 999"),
    ("marker-row-8", _set(*PRESET, "marker_row", value=8), "marker_row' is 8, outside the 8 rows"),
    ("num-rows-text", _set(*PRESET, "num_rows", value="many"), "num_rows' should be a whole"),
    ("num-rows-zero", _set(*PRESET, "num_rows", value=0), "num_rows' is 0"),
    ("fs-text", _set(*PRESET, "fs", value="fast"), "'layout.presets[0].fs' should be a finite"),
    ("connection-text", _set("connection", value="x"), "'connection' should be an object"),
    ("extra-list", _set("extra", value=[1]), "'extra' should be an object, not [1]"),
    ("names-fewer-than-rows", _set(*GROUP, "names", value=["a"]), "has 1 names for 4 rows"),
    ("units-null", _set(*GROUP, "units", value=None), "'layout.groups[0].units' is missing"),
    ("units-number", _set(*GROUP, "units", value=3), "'layout.groups[0].units' should be a text"),
    ("group-of-no-preset", _set(*GROUP, "preset", value="aux"), "names no preset"),
    ("rows-not-a-list", _set(*GROUP, "rows", value=5), "'layout.groups[0].rows' should be a list"),
    ("start-timestamp-inf", _set("start", "timestamp", value=INF), "'start.timestamp' should"),
    ("format-version-text", _set("format_version", value="1"), "'format_version' should be a"),
    # a preset's packet counter rule (how its package numbers count, for lost samples)
    ("counter-text", _set(*PRESET, "counter", value="12"), "counter' should be an object"),
    (
        "counter-row-8",
        _set(*PRESET, "counter", value={"row": 8, "samples_per_value": 1, "step": 1, "modulo": 2}),
        "'layout.presets[0].counter.row' is 8, outside the 8 rows",
    ),
    (
        "counter-step-0",
        _set(*PRESET, "counter", value={"row": 0, "samples_per_value": 1, "step": 0, "modulo": 2}),
        "'layout.presets[0].counter.step' is 0, outside 1..1",
    ),
]

COMMANDS = {
    "replay": ["replay", "{s}", "--speed", "50"],
    "export": ["export", "{s}", "--edf", "{tmp}/x.edf"],
    "run-replay": ["run", "--replay", "{s}", "--speed", "max", "--no-record", "--data-dir", "{d}"],
    "import": ["sessions", "import", "{s}", "--patient", "P1", "--data-dir", "{data}"],
}


def _run(world: dict, tmp: Path, s: Path, argv: list[str]) -> int:
    fill = {"s": s, "tmp": tmp, "d": tmp / "d", "data": world["data"]}
    return main([a.format(**fill) for a in argv])


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(("edit", "words"), [pytest.param(e, w, id=i) for i, e, w in META_CASES])
def test_bad_session_json_field(world, tmp_path, capsys, command, edit, words) -> None:
    s = _copy(world, tmp_path)
    _edit_meta(s, edit)
    before = fingerprint(world["data"])
    line = _one_line(capsys, _run(world, tmp_path, s, COMMANDS[command]))
    assert f"{s / META_FILE} is corrupt: " in line
    assert words in line
    assert fingerprint(world["data"]) == before
    assert not (tmp_path / "x.edf").exists()
    assert list_sessions(tmp_path / "d") == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('"samples": {"default": 1' + "0" * 5000 + "}", "a number with too many digits"),
        ('"samples": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ],
    ids=["5000-digit-number", "deep-nesting"],
)
def test_session_json_python_cannot_parse(world, tmp_path, capsys, text, words) -> None:
    s = _copy(world, tmp_path)
    meta = (s / META_FILE).read_text()
    start = meta.index('"samples": {')
    (s / META_FILE).write_text(meta[:start] + text + meta[meta.index("}", start) + 1 :])
    line = _one_line(capsys, main(["replay", str(s), "--speed", "50"]))
    assert f"{s / META_FILE} is corrupt: " in line and words in line


def test_newer_format_still_asks_for_an_update(world, tmp_path, capsys) -> None:
    s = _copy(world, tmp_path)
    _edit_meta(s, _set("format_version", value=2))
    line = _one_line(capsys, main(["export", str(s), "--edf", str(tmp_path / "x.edf")]))
    assert "format_version 2 is not supported" in line and "update biotrainer" in line


def test_valid_metadata_round_trips(tmp_path) -> None:
    """The checks refuse nothing a recorder writes: several presets, no marker row, rate 0."""
    layout = SourceLayout(
        device="odd",
        board_id=-100,
        presets=(
            PresetLayout("default", 250.0, 5, 3, None),
            PresetLayout("ancillary", 0.0, 3, 1, 2),
        ),
        groups=(
            ChannelGroup("ecg", "default", (0, 1, 4), ("I", "II", "III"), "uV"),
            ChannelGroup("rr", "ancillary", (0,), ("rr",), "ms"),
            ChannelGroup("marker", "ancillary", (), (), ""),
        ),
    )
    meta = SessionMeta(
        layout=layout,
        device="odd",
        start_utc=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        start_timestamp=12.5,
        samples={"default": 10, "ancillary": 0},
        connection={"serial_port": "/dev/x"},
        extra={"protocol": "p", "nested": {"a": [1, 2]}},
    )
    write_meta(tmp_path, meta)
    assert read_meta(tmp_path) == meta


# -- raw data: timestamps and values -------------------------------------------------------


def _edit_raw(s: Path, edit: Callable[[list[list[str]]], list[list[str]]]) -> None:
    lines = [ln.split("\t") for ln in (s / RAW).read_text().splitlines()]
    (s / RAW).write_text("".join("\t".join(c) + "\n" for c in edit(lines)))


def _value(line: int, col: int, text: str) -> Callable[[list[list[str]]], list[list[str]]]:
    def edit(lines: list[list[str]]) -> list[list[str]]:
        lines[line][col] = text
        return lines

    return edit


def _all_timestamps_nan(lines: list[list[str]]) -> list[list[str]]:
    for c in lines:
        c[TS_COL] = "nan"
    return lines


TIMESTAMP_CASES = [
    ("reversed", lambda lines: lines[::-1], "timestamps are not increasing"),
    ("one-nan", _value(40, TS_COL, "nan"), "the timestamp at line 41 is not a number"),
    ("all-nan", _all_timestamps_nan, "is not a number"),
    ("one-inf", _value(3, TS_COL, "inf"), "the timestamp at line 4 is not a number"),
]
# (A step back of the clock is no damage: tests/bad_input/test_clock_set_back.py.)


def _timestamp_params():
    for command in ("replay", "export", "run-replay"):
        for case_id, edit, words in TIMESTAMP_CASES:
            if command == "export" and case_id == "reversed":
                continue  # test_export_keeps_samples_out_of_order
            yield pytest.param(command, edit, words, id=f"{command}-{case_id}")


def test_export_keeps_samples_out_of_order(world, tmp_path, capsys) -> None:
    """Lines that are not in recording order cannot be replayed, but an export keeps every
    sample and says where the order breaks."""
    s = _copy(world, tmp_path)
    _edit_raw(s, lambda lines: lines[::-1])
    assert main(["export", str(s), "--edf", str(tmp_path / "x.edf")]) == 0
    err = capsys.readouterr().err
    assert (
        "biotrainer: note: raw_default.csv: the timestamps are not increasing (line 258 is 1.004 "
        "s earlier than a line before it); every sample is kept in recorded order" in err
    )
    assert (tmp_path / "x.edf").stat().st_size > 0


@pytest.mark.parametrize(("command", "edit", "words"), list(_timestamp_params()))
def test_bad_timestamps(world, tmp_path, capsys, command, edit, words) -> None:
    s = _copy(world, tmp_path)
    _edit_raw(s, edit)
    line = _one_line(capsys, _run(world, tmp_path, s, COMMANDS[command]))
    assert f"{s / RAW} is corrupt: " in line
    assert words in line
    if "increasing" in words:  # the samples are not lost: say where they can be had
        assert line.endswith("; biotrainer export keeps every sample")
    assert not (tmp_path / "x.edf").exists()


def test_small_timestamp_jitter_is_accepted(world, tmp_path, capsys) -> None:
    """Bluetooth timestamps step back by milliseconds: not an error."""
    s = _copy(world, tmp_path)
    _edit_raw(s, _value(100, TS_COL, "1000.38"))  # line 101 is at 1000.39 s: 10 ms back
    assert main(["export", str(s), "--edf", str(tmp_path / "x.edf")]) == 0, capsys.readouterr()
    assert main(["replay", str(s), "--speed", "50"]) == 0, capsys.readouterr()


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("1e308", "1e+308"),
        ("inf", "inf"),
        ("-inf", "-inf"),
        ("1e30", "1e+30"),
        ("-1e300", "-1e+300"),
    ],
)
def test_export_of_a_value_edf_cannot_hold(world, tmp_path, capsys, value, shown) -> None:
    """A wild value (a glitch, an infinity) is written at the edge of the channel's range with a
    note; the rest of the channel keeps its resolution, and the raw file keeps the value."""
    s = _copy(world, tmp_path)
    _edit_raw(s, _value(50, 2, value))  # row 2 = EEG AF7, line 51
    out = tmp_path / "x.edf"
    out.write_bytes(b"an older export")
    assert main(["export", str(s), "--edf", str(out), "--overwrite"]) == 0
    err = capsys.readouterr().err
    assert "EEG AF7: 1 sample outside " in err
    assert f"(up to {shown}) written at the range's edge" in err
    raw = np.loadtxt(s / RAW, delimiter="\t", ndmin=2)[:, 2]
    with pyedflib.EdfReader(str(out)) as edf:
        i = edf.getSignalLabels().index("EEG AF7")
        got = edf.readSignal(i)[: raw.size]
        lo, hi = edf.getPhysicalMinimum(i), edf.getPhysicalMaximum(i)
    step = (hi - lo) / 65535
    others = np.arange(raw.size) != 50
    assert step < 0.01 * np.ptp(raw[others])  # the glitch did not coarsen the channel
    np.testing.assert_allclose(got[others], raw[others], atol=0.51 * step)
    assert got[50] == pytest.approx(hi if raw[50] > 0 else lo, abs=step)


# -- writing the EDF file ------------------------------------------------------------------


def test_export_to_a_non_utf8_file_name(world, tmp_path, capsys) -> None:
    out = os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.edf")
    assert main(["export", str(world["good"]), "--edf", out]) == 0
    printed = capsys.readouterr().out
    assert "caf\\xe9.edf" in printed
    copy = tmp_path / "copy.edf"
    shutil.copy(out, copy)
    f = pyedflib.EdfReader(str(copy))
    try:
        assert f.signals_in_file == 4
    finally:
        f.close()
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"
    assert sorted(os.listdir(tmp_path)) == sorted(["copy.edf", os.path.basename(out)])


def test_export_into_a_non_utf8_folder(world, tmp_path, capsys) -> None:
    folder = os.fsdecode(os.fsencode(tmp_path) + b"/d\xfe")
    os.mkdir(folder)
    code = main(["export", str(world["good"]), "--edf", folder + "/x.edf"])
    line = _one_line(capsys, code)
    assert "d\\xfe/x.edf" in line and "valid UTF-8" in line
    assert os.listdir(folder) == []


def test_export_under_a_file_says_so(world, tmp_path, capsys) -> None:
    (tmp_path / "afile").write_text("")
    line = _one_line(
        capsys, main(["export", str(world["good"]), "--edf", f"{tmp_path}/afile/x.edf"])
    )
    assert line.endswith("afile is a file, not a folder")


def _failing_write(monkeypatch) -> None:
    def write_samples(self, *args, **kwargs):
        raise OSError("Unknown error while calling blockWriteSamples: -1")

    monkeypatch.setattr(pyedflib.EdfWriter, "writeSamples", write_samples)


def test_export_to_a_full_disk(world, tmp_path, capsys, monkeypatch) -> None:
    out = tmp_path / "x.edf"
    out.write_bytes(b"an older export")
    _failing_write(monkeypatch)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: SimpleNamespace(total=10**6, free=0))
    argv = ["export", str(world["good"]), "--edf", str(out), "--overwrite"]
    line = _one_line(capsys, main(argv))
    assert f"could not write {out}: the disk is full" in line
    assert out.read_bytes() == b"an older export"  # kept, and no partial file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.edf"]


def test_export_write_error_with_room_left(world, tmp_path, capsys, monkeypatch) -> None:
    out = tmp_path / "x.edf"
    _failing_write(monkeypatch)
    line = _one_line(capsys, main(["export", str(world["good"]), "--edf", str(out)]))
    assert f"could not write {out}: Unknown error while calling blockWriteSamples" in line
    assert list(tmp_path.iterdir()) == []


def test_export_that_comes_out_short_is_refused(world, tmp_path, capsys, monkeypatch) -> None:
    """edflib writes its last buffer on close without reporting a failure: the size is checked."""
    close = pyedflib.EdfWriter.close

    def short_close(self) -> None:
        was_open = self.handle >= 0
        close(self)
        if was_open:
            with open(self.path, "r+b") as f:
                f.truncate(2000)

    monkeypatch.setattr(pyedflib.EdfWriter, "close", short_close)
    out = tmp_path / "x.edf"
    line = _one_line(capsys, main(["export", str(world["good"]), "--edf", str(out)]))
    assert f"could not write {out}: the file came out incomplete" in line
    assert list(tmp_path.iterdir()) == []


# -- sessions import -----------------------------------------------------------------------


def _garbage(s: Path) -> None:
    (s / RAW).write_text("hello world\nfoo\n")


def _commas(s: Path) -> None:
    (s / RAW).write_text((s / RAW).read_text().replace("\t", ","))


def _missing(s: Path) -> None:
    (s / RAW).unlink()


def _reversed(s: Path) -> None:
    _edit_raw(s, lambda lines: lines[::-1])


IMPORT_CASES = [
    ("raw-missing", _missing, f"{RAW} is missing from"),
    ("raw-garbage", _garbage, "not a number: 'hello world' at line 1"),
    ("raw-commas", _commas, "separated by commas, not tabs"),
    ("raw-reversed", _reversed, "timestamps are not increasing"),
]


@pytest.mark.parametrize(
    ("damage", "words"), [pytest.param(d, w, id=i) for i, d, w in IMPORT_CASES]
)
def test_check_session_folder_refuses_a_damaged_raw_file(world, tmp_path, damage, words) -> None:
    s = _copy(world, tmp_path)
    damage(s)
    with pytest.raises(RecordingError, match=words):
        check_session_folder(s)


def test_check_session_folder_accepts_good_and_unstarted_folders(world, tmp_path) -> None:
    s = _copy(world, tmp_path)
    assert check_session_folder(s) == read_meta(s)
    (s / RAW).write_bytes(b"")  # stopped before the first sample
    check_session_folder(s)
    # killed between writing session.json and creating the raw files
    _edit_meta(s, _set("status", value="recording"))
    (s / RAW).unlink()
    check_session_folder(s)


@pytest.mark.parametrize(
    ("damage", "words"), [pytest.param(d, w, id=i) for i, d, w in IMPORT_CASES]
)
def test_sessions_import_refuses_a_damaged_raw_file(world, tmp_path, capsys, damage, words) -> None:
    s = _copy(world, tmp_path)
    damage(s)
    before = fingerprint(world["data"])
    line = _one_line(capsys, _run(world, tmp_path, s, COMMANDS["import"]))
    assert words in line
    assert fingerprint(world["data"]) == before


def test_load_session_names_the_file_of_bad_timestamps(world, tmp_path) -> None:
    s = _copy(world, tmp_path)
    _edit_raw(s, _value(7, TS_COL, "nan"))
    with pytest.raises(
        RecordingError, match=r"raw_default.csv is corrupt: the timestamp at line 8"
    ):
        load_session(s)


def _device(s: Path) -> None:
    (s / RAW).unlink()
    (s / RAW).symlink_to("/dev/zero")


def _pipe(s: Path) -> None:
    (s / RAW).unlink()
    os.mkfifo(s / RAW)


def _zeros(s: Path) -> None:
    with open(s / RAW, "wb") as f:  # a sparse file of NUL bytes, no line end
        f.truncate(64 << 20)


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(
    ("damage", "words"),
    [
        pytest.param(_device, "is a device, not a regular file", id="dev-zero"),
        pytest.param(_pipe, "is a pipe, not a regular file", id="fifo"),
        pytest.param(_zeros, "not a BrainFlow raw file: line 1 is longer than 64 KB", id="zeros"),
    ],
)
def test_a_raw_file_that_never_ends_is_refused_not_read(
    world, tmp_path, capsys, command, damage, words
) -> None:
    """/dev/zero or a pipe as the raw file hung every reader (11 GB of memory in 30 s)."""
    s = _copy(world, tmp_path)
    damage(s)
    before = fingerprint(world["data"])
    line = _one_line(capsys, _run(world, tmp_path, s, COMMANDS[command]))
    assert words in line
    assert fingerprint(world["data"]) == before
