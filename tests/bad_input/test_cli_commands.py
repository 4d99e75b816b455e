"""Bad input to the commands themselves (options, ids, paths), end to end through the CLI.

The same promise as tests/bad_input/test_cli_corpus.py: every case runs
``biotrainer.cli.main([...])`` in-process and gets exit code 2, exactly one line on stderr
starting with ``biotrainer: `` holding the case's specific words, no traceback; nothing recorded
before is lost or changed (a data folder with a recorded, registered session of patient P1 is
fingerprinted before and after every case, file bytes included), and no half-made session folder
or stray file is left behind.

Covered here: ``report --csv`` pointed at recordings, the database or an empty path; ratings
that erased stored values; session ids too large for SQLite; NaN / infinite / negative /
absurd ``--timeout`` and ``--duration``; a non-UTF-8 scenario file; ``--seed`` blamed on the
profile; folder names BrainFlow cannot take; a device that never connects leaving a session
behind; empty ``--data-dir`` / ``--patient`` / ``--out``; a folder given as a file or a file as
a folder; a port out of range; a missing profile folder.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from badinputkit import SHORT_PROTOCOL, fingerprint, one_line, run_recorded_session

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout, SourceState
from biotrainer.cli import main
from biotrainer.clock import SimulatedClock
from biotrainer.errors import DeviceError
from biotrainer.session import list_sessions
from biotrainer.session.folder import read_meta
from biotrainer.session.recorder import Recorder
from biotrainer.session.store import Store

HUGE_ID = "99999999999999999999999"
NOT_UTF8 = "\udcff"  # how Python spells the byte 0xff of a file name that is not UTF-8


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """A data dir with patient P1 and one recorded, registered session (with metrics)."""
    return run_recorded_session(tmp_path_factory.mktemp("commands"))


# -- setups --------------------------------------------------------------------------------


def _not_utf8_scenario(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp / "s.toml").write_bytes(b'name = "s"\n\xff')
    (tmp / "scenarios").mkdir()
    (tmp / "scenarios" / "latin1.toml").write_bytes(b'name = "latin1"\ntitle = "caf\xe9"\n')
    monkeypatch.setenv("BIOTRAINER_SCENARIOS", str(tmp / "scenarios"))


def _a_file(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp / "afile").write_text("not a folder")


def _old_export(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp / "old.csv").write_text("the user's own file\n")


def _no_profile_folder(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOTRAINER_DEVICES", str(tmp / "nonexistent"))


Setup = Callable[[Path, pytest.MonkeyPatch], None] | None

# (id, setup or None, argv with {tmp} {data} {folder} {sid}, words the one line must hold)
CASES: list[tuple[str, Setup, list[str], str]] = [
    # 1. report --csv never overwrites a recording, the database or any existing file
    *(
        (
            f"report-csv-onto-{name}",
            None,
            ["report", "{sid}", "--csv", target, "--data-dir", "{data}"],
            words,
        )
        for name, target, words in [
            ("raw-file", "{folder}/raw_default.csv", "raw_default.csv already exists"),
            ("metrics-file", "{folder}/metrics.csv", "metrics.csv already exists"),
            ("session-json", "{folder}/session.json", "should end in .csv"),
            ("database", "{data}/biotrainer.sqlite3", "should end in .csv"),
            ("new-file-in-data-dir", "{data}/x.csv", "is inside the data folder"),
            ("new-file-in-session", "{folder}/x.csv", "is inside the data folder"),
            ("a-folder", "{tmp}", "should end in .csv"),
            ("empty-path", "", "--csv is empty"),
            ("blank-path", "  ", "--csv is empty"),
        ]
    ),
    (
        "report-csv-onto-an-existing-export",
        _old_export,
        ["report", "{sid}", "--csv", "{tmp}/old.csv", "--data-dir", "{data}"],
        "old.csv already exists",
    ),
    ("report-out-empty", None, ["report", "{sid}", "--out", "", "--data-dir", "{data}"], "--out"),
    (  # (the CSV never held the name: the option was silently ignored)
        "report-csv-with-name",
        None,
        ["report", "{sid}", "--csv", "{tmp}/m.csv", "--with-name", "--data-dir", "{data}"],
        "--with-name applies to the PDF report",
    ),
    # simulator devices and LSL streams took connection and device options and ignored them
    (
        "run-simulator-with-a-serial-port",
        None,
        ["run", "--device", "simulator", "--speed", "max", "--serial-port", "/dev/ttyUSB0"],
        "--serial-port does not apply to the simulator device",
    ),
    (
        "record-simulator-with-a-serial-number",
        None,
        [
            "record",
            "--device",
            "simulator-muse2",
            "--serial-number",
            "Muse-1234",
            "--duration",
            "1",
            "--out",
            "{tmp}/r",
        ],
        "--serial-number does not apply to the simulator-muse2 device",
    ),
    (
        "run-lsl-with-a-device",
        None,
        ["run", "--lsl-name", "nobody", "--device", "cyton", "--timeout", "1"],
        "--device does not apply to an LSL stream",
    ),
    (
        "run-lsl-with-a-scenario",
        None,
        ["run", "--lsl-name", "nobody", "--scenario", "artifacts", "--timeout", "1"],
        "--scenario does not apply to an LSL stream",
    ),
    # 2. a rating without values would have erased the stored ones
    (
        "rate-nothing",
        None,
        ["sessions", "rate", "{sid}", "post", "--data-dir", "{data}"],
        "nothing to save: give --pain, --stress",
    ),
    (
        "rate-pain-text",
        None,
        ["sessions", "rate", "{sid}", "post", "--pain", "x", "--data-dir", "{data}"],
        "--pain must be a whole number from 0 to 10",
    ),
    # 3. ids beyond SQLite's integers
    (
        "rate-huge-id",
        None,
        ["sessions", "rate", HUGE_ID, "pre", "--pain", "3", "--data-dir", "{data}"],
        f"no session with id {HUGE_ID}",
    ),
    ("report-huge-id", None, ["report", HUGE_ID, "--data-dir", "{data}"], "no session with id"),
    ("report-id-zero", None, ["report", "0", "--data-dir", "{data}"], "no session with id 0"),
    # 4. numeric options: finite and within sensible ranges
    *(
        (
            f"record-timeout-{value}",
            None,
            ["record", "--duration", "1", "--timeout", value],
            "--timeout must be a positive number of seconds",
        )
        for value in ("nan", "inf", "-5", "0", "601", "1e308", "abc")
    ),
    (
        "run-timeout-nan",
        None,
        ["run", "--device", "simulator", "--speed", "max", "--timeout", "nan", "--no-record"],
        "--timeout must be a positive number of seconds",
    ),
    *(
        (
            f"record-duration-{value}",
            None,
            ["record", "--duration", value],
            "--duration must be a positive number of seconds",
        )
        for value in ("nan", "inf", "1e308", "1e-9", "0.5", "86401", "-1", "ten")
    ),
    (
        "record-duration-missing",
        None,
        ["record"],
        "required: --duration (see 'biotrainer record --help')",
    ),
    # 5. a scenario file that is not UTF-8, by path and by name
    (
        "scenario-not-utf8-path",
        _not_utf8_scenario,
        ["record", "--device", "simulator", "--scenario", "{tmp}/s.toml", "--duration", "1"],
        "s.toml: not UTF-8 text",
    ),
    (
        "scenario-not-utf8-by-name",
        _not_utf8_scenario,
        ["run", "--device", "simulator", "--scenario", "latin1", "--speed", "max"],
        "latin1.toml: not UTF-8 text",
    ),
    # 6. --seed is the user's option, not the profile's key
    (
        "seed-negative",
        None,
        ["record", "--device", "simulator", "--seed", "-1", "--duration", "1"],
        "--seed must be a whole number from 0 to 4294967295, not '-1'",
    ),
    ("seed-text", None, ["run", "--device", "simulator", "--seed", "x"], "--seed must be"),
    (  # (the generator draws from 32 bits: 2**32 rendered seed 0's person under another name)
        "seed-beyond-32-bits",
        None,
        ["run", "--device", "simulator", "--seed", "4294967296"],
        "--seed must be a whole number from 0 to 4294967295",
    ),
    # 7. folder names BrainFlow cannot take, refused before anything is made
    (
        "record-out-not-utf8",
        None,
        ["record", "--duration", "1", "--out", "{tmp}/" + NOT_UTF8 + "out"],
        "--out {tmp}/\\xffout is not UTF-8 text",
    ),
    (
        "run-out-not-utf8",
        None,
        ["run", "--device", "simulator", "--speed", "max", "--out", "{tmp}/" + NOT_UTF8 + "o"],
        "is not UTF-8 text",
    ),
    (
        "record-data-dir-not-utf8",
        None,
        ["record", "--duration", "1", "--data-dir", "{tmp}/" + NOT_UTF8 + "data"],
        "--data-dir {tmp}/\\xffdata is not UTF-8 text",
    ),
    (
        "run-data-dir-not-utf8",
        None,
        ["run", "--device", "simulator", "--speed", "max", "--data-dir", "{tmp}/" + NOT_UTF8],
        "is not UTF-8 text",
    ),
    # 9. --data-dir empty or a file
    *(
        (f"{argv[0]}-data-dir-empty", None, [*argv, "--data-dir", ""], "--data-dir is empty")
        for argv in (["record", "--duration", "1"], ["run"], ["sessions"], ["patients"])
    ),
    *(
        (
            f"{argv[0]}-data-dir-a-file",
            _a_file,
            [*argv, "--data-dir", "{tmp}/afile"],
            "{tmp}/afile is a file, not a folder",
        )
        for argv in (["record", "--duration", "1"], ["run"], ["sessions"], ["report", "1"])
    ),
    (
        "data-dir-under-a-file",
        _a_file,
        ["record", "--duration", "1", "--data-dir", "{tmp}/afile/sub"],
        "{tmp}/afile is a file, not a folder",
    ),
    ("record-out-empty", None, ["record", "--duration", "1", "--out", ""], "--out is empty"),
    # 10. a folder given as the playback file
    *(
        (
            f"{cmd[0]}-playback-file-a-folder",
            None,
            [*cmd, "--device", "playback", "--file", "{tmp}", "--master-board", "muse2"],
            "the playback file {tmp} (--file) is a folder, not a file",
        )
        for cmd in (["record", "--duration", "1"], ["run"])
    ),
    # 11. an empty patient code
    *(
        (f"run-patient-{name}", None, ["run", "--patient", code], "--patient is empty")
        for name, code in (("empty", ""), ("blank", "   "))
    ),
    # options that cannot go together, or empty station names (later audit items)
    (
        "run-replay-with-device",
        None,
        ["run", "--replay", "{folder}", "--device", "cyton", "--no-record"],
        "--replay plays a recording: --device would be ignored",
    ),
    (
        "run-out-with-no-record",
        None,
        ["run", "--no-record", "--out", "{tmp}/o"],
        "--out names the recording's folder: it cannot go with --no-record",
    ),
    ("run-lsl-empty", None, ["run", "--lsl", " "], "--lsl is empty"),
    ("gui-patient-empty", None, ["gui", "--patient", ""], "--patient is empty"),
    ("gui-lsl-empty", None, ["gui", "--lsl", ""], "--lsl is empty"),
    # optional ones
    (
        "ip-port-out-of-range",
        None,
        ["record", "--duration", "1", "--ip-port", "99999"],
        "--ip-port 99999: port out of range (1-65535)",
    ),
    (
        "ip-port-zero",
        None,
        ["run", "--ip-port", "0"],
        "port out of range (1-65535)",
    ),
    (
        "devices-folder-missing",
        _no_profile_folder,
        ["devices"],
        "the device profile folder {tmp}/nonexistent (set by $BIOTRAINER_DEVICES) does not exist",
    ),
    (
        "device-by-name-folder-missing",
        _no_profile_folder,
        ["record", "--device", "muse2", "--duration", "1"],
        "does not exist",
    ),
]


@pytest.mark.parametrize(
    ("setup", "argv", "words"), [pytest.param(s, a, w, id=i) for i, s, a, w in CASES]
)
def test_bad_option_gives_one_specific_line(
    world, tmp_path, capsys, monkeypatch, setup, argv, words
) -> None:
    monkeypatch.chdir(tmp_path)  # a report written "here" by mistake would show up
    if setup is not None:
        setup(tmp_path, monkeypatch)
    fmt = {"tmp": tmp_path, "data": world["data"], "folder": world["folder"], "sid": world["sid"]}
    argv = [a.format(**fmt) for a in argv]
    if "--data-dir" not in argv and argv[0] in ("run", "record"):
        argv += ["--data-dir", str(tmp_path / "d")]
    before = fingerprint(world["data"])
    files_before = set(tmp_path.iterdir())
    line = one_line(main(argv), capsys.readouterr().err)
    assert words.format(tmp=tmp_path) in line
    assert "argument --" not in line  # the option is named once, in the sentence
    # nothing recorded before is lost or changed, no half-made session, no stray file
    assert fingerprint(world["data"]) == before
    new = {p.name for p in set(tmp_path.iterdir()) - files_before}
    assert new <= {"d"}, new
    assert not (tmp_path / "d" / "sessions").exists() or not any(
        (tmp_path / "d" / "sessions").iterdir()
    )


def test_the_seed_message_names_the_option_not_the_profile(world, tmp_path, capsys) -> None:
    argv = ["record", "--device", "simulator", "--seed", "-1", "--duration", "1"]
    line = one_line(main([*argv, "--data-dir", str(tmp_path)]), capsys.readouterr().err)
    assert "simulator.toml" not in line and "simulator.seed" not in line


def test_the_csv_export_writes_a_new_file_outside_the_data_folder(world, tmp_path, capsys):
    out = tmp_path / "metrics-export.csv"
    sid = str(world["sid"])
    before = fingerprint(world["data"])
    assert main(["report", sid, "--csv", str(out), "--data-dir", str(world["data"])]) == 0
    assert len(out.read_text().splitlines()) > 100  # a header and a row per metric update
    assert fingerprint(world["data"]) == before
    capsys.readouterr()
    # a second export to the same name is refused: the first one stays as it was
    first = out.read_bytes()
    code = main(["report", sid, "--csv", str(out), "--data-dir", str(world["data"])])
    assert "already exists" in one_line(code, capsys.readouterr().err)
    assert out.read_bytes() == first


# -- 2. ratings update only what is given ----------------------------------------------------


def test_a_rating_keeps_the_stored_values_not_given(world, tmp_path, capsys) -> None:
    data = tmp_path / "data"
    shutil.copytree(world["data"], data)
    sid = str(world["sid"])

    def rate(*extra: str) -> str:
        assert main(["sessions", "rate", sid, "post", *extra, "--data-dir", str(data)]) == 0
        return capsys.readouterr().out.strip()

    def stored() -> tuple:
        with Store.open(data) as store:
            r = store.self_reports(int(sid))["post"]
            return r.pain, r.stress, r.note

    assert rate("--pain", "6", "--stress", "7") == f"session {sid} post: pain 6, stress 7"
    assert rate("--note", "calmer") == (
        f"session {sid} post: pain 6, stress 7, with a note (pain and stress kept)"
    )
    assert stored() == (6, 7, "calmer")
    assert rate("--stress", "2").startswith(f"session {sid} post: pain 6, stress 2")
    assert stored() == (6, 2, "calmer")
    assert (
        rate("--pain", "0", "--note", "") == f"session {sid} post: pain 0, stress 2 (stress kept)"
    )
    assert stored() == (0, 2, "")
    with Store.open(data) as store:
        assert "pre" not in store.self_reports(int(sid))  # the other moment is untouched
    assert rate("--note", "only a note").endswith("with a note (pain and stress kept)")


def test_a_first_rating_with_a_note_only_says_nothing_is_rated(world, tmp_path, capsys) -> None:
    data = tmp_path / "data"
    shutil.copytree(world["data"], data)
    sid = str(world["sid"])
    assert main(["sessions", "rate", sid, "pre", "--note", "x", "--data-dir", str(data)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"session {sid} pre: pain not rated, stress not rated, with a note"
    )


# -- 8. a device that never connects leaves no session behind --------------------------------

LAYOUT = SourceLayout(
    device="synthetic",
    board_id=-1,
    presets=(PresetLayout("default", 256.0, 8, 6, 7),),
    groups=(ChannelGroup("eeg", "default", (1, 2, 3, 4), ("TP9", "AF7", "AF8", "TP10"), "uV"),),
)


class _NeverConnects:
    """A device that prepares but never starts streaming (like a Crown that is switched off)."""

    layout = LAYOUT

    def __init__(self) -> None:
        self.state = SourceState.IDLE

    def prepare(self) -> None:
        self.state = SourceState.PREPARED

    def start(self) -> None:
        raise DeviceError("the test device is not ready: switch it on")

    def poll(self) -> Chunk:
        return Chunk(raw={}, signals={}, received_at=0.0)

    def stop(self) -> None:
        self.state = SourceState.STOPPED

    def release(self) -> None:
        self.state = SourceState.RELEASED


@pytest.fixture
def never_connects(monkeypatch: pytest.MonkeyPatch) -> None:
    import biotrainer.commands.run as run_command
    import biotrainer.commands.sources as sources

    def factory(args, clock, speed=1.0):
        return _NeverConnects

    monkeypatch.setattr(sources, "source_factory", factory)  # record imports it when it runs
    monkeypatch.setattr(run_command, "source_factory", factory)


@pytest.mark.parametrize(
    "argv",
    [
        ["record", "--duration", "1"],
        ["record", "--duration", "1", "--device", "muse2"],
        ["run", "--protocol", "alpha-uptraining"],
        ["run", "--protocol", "alpha-uptraining", "--patient", "P1"],
        ["run", "--protocol", "alpha-uptraining", "--patient", "P1", "--device", "muse2"],
    ],
    ids=["record", "record-live", "run", "run-patient", "run-patient-live"],
)
def test_a_device_that_never_connects_leaves_no_session(
    world, tmp_path, capsys, never_connects, argv
) -> None:
    data = tmp_path / "data"
    shutil.copytree(world["data"], data)
    before = fingerprint(data)
    folders = list_sessions(data)
    line = one_line(main([*argv, "--data-dir", str(data)]), capsys.readouterr().err)
    assert "the test device is not ready" in line
    assert list_sessions(data) == folders
    assert sorted(p.name for p in (data / "sessions").iterdir()) == [f.name for f in folders]
    assert fingerprint(data) == before  # P1's history has no "interrupted" session either


def test_a_device_that_never_connects_leaves_no_out_folder(
    tmp_path, capsys, never_connects
) -> None:
    out = tmp_path / "new"
    code = main(["record", "--duration", "1", "--out", str(out), "--data-dir", str(tmp_path)])
    assert "not ready" in one_line(code, capsys.readouterr().err)
    assert not out.exists()


def test_record_loop_removes_a_recording_that_never_got_a_sample(tmp_path) -> None:
    from biotrainer.commands.record import record

    clock = SimulatedClock()
    recorder = Recorder.create(LAYOUT, data_directory=tmp_path, clock=clock, fsync=False)
    source = _NeverConnects()
    source.prepare()
    with pytest.raises(DeviceError):
        record(source, recorder, 5.0, clock=clock, sleep=clock.advance)
    assert not recorder.path.exists()
    assert list_sessions(tmp_path) == []


def test_discard_keeps_a_recording_that_holds_samples(tmp_path) -> None:
    clock = SimulatedClock(1000.0)
    recorder = Recorder.create(LAYOUT, data_directory=tmp_path, clock=clock, fsync=False)
    a = np.zeros((8, 10))
    a[6] = 1000.0 + np.arange(10) / 256.0
    recorder.write(Chunk(raw={"default": a}, signals=LAYOUT.split({"default": a}), received_at=0))
    assert recorder.discard() is False
    assert (recorder.path / "raw_default.csv").stat().st_size > 0
    assert list_sessions(tmp_path) == [recorder.path]


def test_discard_leaves_an_out_folder_the_user_made(tmp_path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    recorder = Recorder.create(LAYOUT, out=out, clock=SimulatedClock(), fsync=False)
    assert recorder.discard() is True
    assert out.is_dir() and not any(out.iterdir())


def test_a_source_shorter_than_the_protocol_is_said(tmp_path, capsys) -> None:
    """A scenario (or replay) that ends before the protocol: the run says so and the recording
    holds a note, instead of the session passing for a full one (audit)."""
    long_protocol = tmp_path / "short.toml"
    long_protocol.write_text(SHORT_PROTOCOL.replace("duration_s = 20", "duration_s = 900"))
    argv = ["run", "--device", "simulator-muse2", "--scenario", "eyes-open-closed"]
    out = tmp_path / "rec"
    assert main([*argv, "--speed", "max", "--protocol", str(long_protocol), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "biotrainer: note: the source ended after " in err
    assert "of the protocol's 30.0 minutes: the protocol did not finish" in err
    assert "the protocol did not finish" in (out / "events.csv").read_text()
    assert read_meta(out).ended == "source ended"


def test_lsl_source_waits_as_long_as_timeout_says(monkeypatch) -> None:
    """--timeout applies to finding an LSL stream too (it said 'within 5 s' whatever was given)."""
    import argparse

    import biotrainer.acquisition.lsl_source as lsl
    from biotrainer.commands.sources import source_factory

    seen: dict = {}
    monkeypatch.setattr(lsl, "open_lsl_source", lambda *a, **kw: seen.update(kw))
    for timeout, expected in ((2.0, {"resolve_timeout": 2.0}), (None, {})):
        seen.clear()
        args = argparse.Namespace(lsl_name="Muse", lsl_type=None, timeout=timeout, device=None)
        source_factory(args, SimulatedClock(), 1.0)()
        assert seen == expected


def test_devices_names_each_invalid_profile_on_one_prefixed_line(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "profiles"
    folder.mkdir()
    repo = Path(__file__).resolve().parents[2]
    (folder / "muse2.toml").write_text((repo / "devices" / "muse2.toml").read_text())
    (folder / "bad.toml").write_text("garbage = [\n")
    monkeypatch.setenv("BIOTRAINER_DEVICES", str(folder))
    assert main(["devices"]) == 2
    out, err = capsys.readouterr()
    assert "muse2" in out  # the good profiles are still listed
    (line,) = err.splitlines()
    assert line.startswith("biotrainer: invalid profile: ") and "bad.toml" in line


def test_replay_at_max_speed_is_served_on_the_simulated_clock(world) -> None:
    """'--speed max' with --replay chose BrainFlow's playback board, which plays in real time
    whatever the clock: the run went slower than real time at 100 % CPU."""
    import argparse

    from biotrainer.acquisition.file_source import FileSource
    from biotrainer.commands.sources import source_factory

    args = argparse.Namespace(replay=str(world["folder"]), lsl_name=None, lsl_type=None)
    assert isinstance(source_factory(args, SimulatedClock(), math.inf)(), FileSource)
