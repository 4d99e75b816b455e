"""Device profiles: every shipped profile validates against the installed BrainFlow; malformed
profiles are rejected with the file, the dotted key and the problem."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from brainflow.board_shim import BoardIds, BoardShim

from biotrainer.acquisition.chunk import ROLES
from biotrainer.acquisition.profiles import (
    PRESET_IDS,
    board_presets,
    layout_for_board,
    list_profiles,
    load_profile,
    profile_names,
    profiles_dir,
    resolve_board,
)
from biotrainer.cli import main
from biotrainer.errors import ConfigError, DeviceError

REQUIRED_PROFILES = {
    "synthetic",
    "playback",
    "cyton",
    "cyton-daisy",
    "ganglion",
    "muse2",
    "muse-s",
    "muse-s-athena",
    "muse-2016",
    "brainbit",
    "unicorn",
    "crown",
    "callibri-ecg",
    "emotibit",
}


def test_required_profiles_are_shipped() -> None:
    assert set(profile_names()) >= REQUIRED_PROFILES


@pytest.mark.parametrize("name", profile_names(profiles_dir()))
def test_every_shipped_profile_matches_brainflow(name: str) -> None:
    p = load_profile(name)
    assert p.name == name == p.path.stem
    if p.is_playback and p.master_board is None:
        assert p.channels == ()
        return
    layout = p.layout()
    assert layout.board_id == p.data_board_id()
    assert len(set(layout.roles)) == len(layout.roles)
    board_has = board_presets(layout.board_id)
    for g in layout.groups:
        assert g.role in ROLES
        assert g.preset in board_has
        descr = BoardShim.get_board_descr(layout.board_id, PRESET_IDS[g.preset])
        pl = layout.preset(g.preset)
        assert pl.num_rows == descr["num_rows"]
        assert pl.fs == descr["sampling_rate"]
        assert pl.timestamp_row == descr["timestamp_channel"]
        assert all(0 <= r < pl.num_rows for r in g.rows)
        assert pl.timestamp_row not in g.rows
        assert len(g.names) == len(g.rows)
    if p.defaults.hr_source:
        assert p.defaults.hr_source in layout.roles


def test_brainflow_facts_in_profiles() -> None:
    """BrainFlow 5.23 facts: Muse PPG ancillary 64 Hz; EmotiBit PPG aux 25 Hz, EDA anc 15 Hz."""
    for name in ("muse2", "muse-s"):
        lay = load_profile(name).layout()
        assert lay.group("eeg").names == ("TP9", "AF7", "AF8", "TP10")
        assert lay.group("ppg").preset == "ancillary"
        assert lay.preset("ancillary").fs == 64
        assert lay.preset("default").fs == 256
    emo = load_profile("emotibit").layout()
    assert (emo.group("ppg").preset, emo.preset("auxiliary").fs) == ("auxiliary", 25)
    assert (emo.group("eda").preset, emo.preset("ancillary").fs) == ("ancillary", 15)
    syn = load_profile("synthetic").layout()
    assert syn.group("ecg") is None  # the synthetic "ECG" rows are the EEG sines
    assert len(syn.group("eeg").rows) in (8, 16)
    assert [p.preset for p in syn.presets] == ["default"]
    assert load_profile("callibri-ecg").layout().roles == ("ecg",)
    assert load_profile("cyton").connection.required == ("serial_port",)


def test_generic_playback_takes_the_master_boards_layout() -> None:
    pb = load_profile("playback")
    with pytest.raises(DeviceError, match="--master-board"):
        pb.layout()
    muse = load_profile("muse2").layout()
    lay = pb.layout(int(BoardIds.MUSE_2_BOARD))
    assert lay.device == "playback"
    assert (lay.board_id, lay.presets, lay.groups) == (muse.board_id, muse.presets, muse.groups)


def test_layout_derived_for_a_board_without_profile() -> None:
    lay = layout_for_board(int(BoardIds.GANGLION_NATIVE_BOARD))
    descr = BoardShim.get_board_descr(int(BoardIds.GANGLION_NATIVE_BOARD), 0)
    assert lay.group("eeg").rows == tuple(descr["eeg_channels"])
    assert lay.group("accel").rows == tuple(descr["accel_channels"])
    assert lay.group("ecg") is None  # same rows as EEG: not a separate signal


def test_resolve_board_accepts_profile_and_board_names() -> None:
    mid = int(BoardIds.MUSE_2_BOARD)
    assert resolve_board("muse2") == resolve_board("MUSE_2_BOARD") == resolve_board(mid) == mid
    assert resolve_board(str(mid)) == mid
    with pytest.raises(DeviceError, match="neither"):
        resolve_board("toaster")


def test_resolve_master_board_gives_the_profile_it_names() -> None:
    """A profile name gives the profile (its layout is the file's), a board name none."""
    from biotrainer.acquisition.profiles import resolve_master_board

    sid = int(BoardIds.SYNTHETIC_BOARD)
    board_id, named = resolve_master_board("simulator")
    assert board_id == sid and named is not None and named.name == "simulator"
    assert resolve_master_board("SYNTHETIC_BOARD") == (sid, None)
    assert resolve_master_board(str(sid)) == (sid, None)


_NOT_DESCRIBED = "has no channel description in BrainFlow: name the board that recorded the file"
_PLAYS_FILES = "plays files, it does not record them: name the board that recorded the file"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("NO_BOARD", f"board NO_BOARD (-100) {_NOT_DESCRIBED}"),
        ("-100", f"board NO_BOARD (-100) {_NOT_DESCRIBED}"),
        (-100, f"board NO_BOARD (-100) {_NOT_DESCRIBED}"),
        ("-2", f"board STREAMING_BOARD (-2) {_NOT_DESCRIBED}"),
        ("streaming_board", f"board STREAMING_BOARD (-2) {_NOT_DESCRIBED}"),
        ("PLAYBACK_FILE_BOARD", f"board PLAYBACK_FILE_BOARD (-3) {_PLAYS_FILES}"),
        ("-3", f"board PLAYBACK_FILE_BOARD (-3) {_PLAYS_FILES}"),
        (
            "playback",
            "the playback profile plays files of any board: name the board that recorded the "
            "file (e.g. muse2 or MUSE_2_BOARD)",
        ),
    ],
)
def test_boards_that_cannot_have_recorded_a_file_are_refused(
    value: str | int, message: str
) -> None:
    """NO_BOARD (in the session.json of LSL recordings) and STREAMING_BOARD have no channel
    description: they gave BrainFlowError and KeyError tracebacks; the playback board and the
    generic playback profile asked for --master-board when it was given."""
    with pytest.raises(DeviceError) as info:
        resolve_board(value)
    assert str(info.value) == message


@pytest.mark.parametrize("board", ["NO_BOARD", "STREAMING_BOARD", "PLAYBACK_FILE_BOARD"])
def test_no_layout_for_a_board_that_cannot_have_recorded_a_file(board: str) -> None:
    with pytest.raises(DeviceError, match="name the board that recorded the file"):
        layout_for_board(int(BoardIds[board]))
    with pytest.raises(DeviceError, match="name the board that recorded the file"):
        load_profile("playback").layout(int(BoardIds[board]))


def test_cli_playback_with_a_board_without_description_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "raw_default.csv"
    f.write_text("\t".join(["0"] * 32) + "\n")
    for value in ("NO_BOARD", "-2", "PLAYBACK_FILE_BOARD", "playback"):
        code = main(
            [
                "record",
                "--device",
                "playback",
                "--file",
                str(f),
                f"--master-board={value}",
                "--duration",
                "1",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        err = capsys.readouterr().err
        assert code == 2, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert "name the board that recorded the file" in err
        assert not (tmp_path / "out").exists()


def test_unknown_profile_name_suggests_a_close_one() -> None:
    with pytest.raises(DeviceError, match=r"(?i)did you mean 'muse2'") as info:
        load_profile("muse3")
    assert "biotrainer devices" in str(info.value)


def test_devices_dir_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mine.toml").write_text(
        'name = "mine"\ntitle = "Mine"\nboard = "CALLIBRI_ECG_BOARD"\n'
        '[[channels]]\nrole = "ecg"\nrows = "ecg_channels"\n'
    )
    monkeypatch.setenv("BIOTRAINER_DEVICES", str(tmp_path))
    assert profile_names() == ["mine"]
    p = load_profile("mine")
    assert p.layout().group("ecg").units == "uV"
    assert p.layout().group("ecg").names == ("ecg1",)


# ------------------------------------------------------------------ malformed profiles

GOOD = """
name = "{name}"
title = "T"
board = "SYNTHETIC_BOARD"
[connection]
required = []
[[channels]]
role = "eeg"
preset = "default"
rows = "eeg_channels"
"""

MALFORMED = [
    # (id, text, expected dotted key, problem fragment)
    ("toml-syntax", 'name = "x\n', "", "not valid TOML"),
    ("missing-title", 'name = "{name}"\nboard = "SYNTHETIC_BOARD"\n', "title", "missing"),
    ("name-not-stem", GOOD.replace('name = "{name}"', 'name = "other"'), "name", "file name"),
    ("unknown-board", GOOD.replace("SYNTHETIC_BOARD", "SYNTHETIK_BOARD"), "board", "SYNTHETIC"),
    ("board-wrong-type", GOOD.replace('"SYNTHETIC_BOARD"', "-1"), "board", "string"),
    (
        "preset-board-lacks",
        GOOD.replace('preset = "default"', 'preset = "ancillary"'),
        "channels[0].preset",
        "no ancillary preset",
    ),
    (
        "unknown-preset",
        GOOD.replace('preset = "default"', 'preset = "extra"'),
        "channels[0].preset",
        "unknown preset",
    ),
    (
        "row-key-absent",
        GOOD.replace('"eeg_channels"', '"optical_channels"'),
        "channels[0].rows",
        "not in the default description",
    ),
    (
        "row-out-of-range",
        GOOD.replace('"eeg_channels"', "[1, 2, 32]"),
        "channels[0].rows",
        "row 32 is out of range",
    ),
    (
        "rows-wrong-type",
        GOOD.replace('"eeg_channels"', '[1, "2"]'),
        "channels[0].rows",
        "list of row numbers",
    ),
    ("unknown-role", GOOD.replace('role = "eeg"', 'role = "eyes"'), "channels[0].role", "unknown"),
    (
        "duplicate-role",
        GOOD + '[[channels]]\nrole = "eeg"\nrows = [17]\n',
        "channels[1].role",
        "declared twice",
    ),
    (
        "names-count",
        GOOD + 'names = ["a", "b"]\n',
        "channels[0].names",
        "2 names for 16 rows",
    ),
    (
        "unknown-connection-field",
        GOOD.replace("required = []", 'required = ["serial_prot"]'),
        "connection.required",
        "unknown connection field 'serial_prot'",
    ),
    (
        "timeout-negative",
        GOOD.replace("required = []", "timeout = -1"),
        "connection.timeout",
        "positive",
    ),
    # TOML's inf and nan passed the check and broke the connection with a traceback
    # (OverflowError / ValueError from rounding them to BrainFlow's whole seconds)
    (
        "timeout-inf",
        GOOD.replace("required = []", "timeout = inf"),
        "connection.timeout",
        "at most 600, got inf",
    ),
    (
        "timeout-nan",
        GOOD.replace("required = []", "timeout = nan"),
        "connection.timeout",
        "at most 600, got nan",
    ),
    (
        "timeout-huge",
        GOOD.replace("required = []", "timeout = 1e300"),
        "connection.timeout",
        "at most 600",
    ),
    ("unknown-top-key", 'bord = "x"\n' + GOOD, "bord", "unknown key"),
    (
        "unknown-channel-key",
        GOOD + 'unit = "uV"\n',
        "channels[0].unit",
        "did you mean 'units'",
    ),
    (
        "master-board-not-playback",
        GOOD.replace('title = "T"', 'title = "T"\nmaster_board = "MUSE_2_BOARD"'),
        "master_board",
        "PLAYBACK_FILE_BOARD",
    ),
    ("no-channels", GOOD.split("[[channels]]")[0], "channels", "at least one"),
    (
        "line-frequency",
        GOOD + "[defaults]\nline_frequency = 55\n",
        "defaults.line_frequency",
        "50 or 60",
    ),
    (
        "alpha-channel-unknown",
        GOOD + '[defaults]\nalpha_channels = ["Pz", "XX"]\n',
        "defaults.alpha_channels",
        "XX",
    ),
    (
        "hr-source-undeclared",
        GOOD + '[defaults]\nhr_source = "ecg"\n',
        "defaults.hr_source",
        "no ecg channels",
    ),
    # [counters.<preset>]: how the board's package numbers count (read for lost samples)
    (
        "counter-preset-board-lacks",
        GOOD + "[counters.ancillary]\nsamples_per_value = 6\nmodulo = 256\n",
        "counters.ancillary",
        "no ancillary preset",
    ),
    (
        "counter-not-a-table",
        GOOD + "[counters]\ndefault = 12\n",
        "counters.default",
        "must be a table",
    ),
    (
        "counter-samples-zero",
        GOOD + "[counters.default]\nsamples_per_value = 0\nmodulo = 256\n",
        "counters.default.samples_per_value",
        "whole number in 1..4096, got 0",
    ),
    (
        "counter-modulo-missing",
        GOOD + "[counters.default]\nsamples_per_value = 12\n",
        "counters.default.modulo",
        "missing",
    ),
    (
        "counter-modulo-fraction",
        GOOD + "[counters.default]\nsamples_per_value = 12\nmodulo = 256.5\n",
        "counters.default.modulo",
        "whole number in 2..4294967296, got 256.5",
    ),
    (
        "counter-step-too-big",
        GOOD + "[counters.default]\nsamples_per_value = 1\nmodulo = 256\nstep = 256\n",
        "counters.default.step",
        "whole number in 1..255",
    ),
    (
        "counter-step-bool",
        GOOD + "[counters.default]\nsamples_per_value = 1\nmodulo = 256\nstep = true\n",
        "counters.default.step",
        "got True",
    ),
    (
        "counter-unknown-key",
        GOOD + "[counters.default]\nsamples = 12\nmodulo = 256\n",
        "counters.default.samples",
        "unknown key",
    ),
    (
        "counter-playback-without-master",
        'name = "{name}"\ntitle = "T"\nboard = "PLAYBACK_FILE_BOARD"\n'
        "[counters.default]\nsamples_per_value = 1\nmodulo = 256\n",
        "counters",
        "without master_board",
    ),
    (
        "playback-rows-without-master",
        GOOD.replace("SYNTHETIC_BOARD", "PLAYBACK_FILE_BOARD"),
        "channels",
        "without master_board",
    ),
]


@pytest.mark.parametrize(
    ("text", "key", "problem"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_profile_names_file_key_problem(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(textwrap.dedent(text).replace("{name}", "bad"))
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    err = info.value
    assert err.path == str(path)
    assert err.key == key
    assert problem in err.problem
    assert str(path) in str(err)


def test_good_template_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "good.toml"
    path.write_text(GOOD.replace("{name}", "good"))
    assert load_profile(path).roles == ("eeg",)


def test_playback_profile_with_master_board(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(
        'name = "sim"\ntitle = "S"\nboard = "PLAYBACK_FILE_BOARD"\nmaster_board = "MUSE_2_BOARD"\n'
        '[[channels]]\nrole = "ppg"\npreset = "ancillary"\nrows = "ppg_channels"\n'
        "[simulator]\nscenario = 'calm'\n"
    )
    p = load_profile(path)
    assert p.simulator == {"scenario": "calm"}
    lay = p.layout()
    assert lay.board_id == int(BoardIds.MUSE_2_BOARD)
    assert [q.preset for q in lay.presets] == ["default", "ancillary"]
    with pytest.raises(ValueError):
        p.layout(int(BoardIds.SYNTHETIC_BOARD))


# ------------------------------------------------------------------ CLI


def test_devices_command_lists_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    for p in list_profiles():
        line = next(ln for ln in out.splitlines() if ln.startswith(p.name + " "))
        assert p.title in line
        for role in p.roles:
            assert role in line
    cyton = next(ln for ln in out.splitlines() if ln.startswith("cyton "))
    assert "--serial-port" in cyton


def test_devices_command_detail_and_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "muse2"]) == 0
    out = capsys.readouterr().out
    assert "TP9, AF7, AF8, TP10" in out and "ancillary 64 Hz" in out
    assert "losses from: ancillary packet numbers (6 samples each, wrap at 65536)" in out
    assert main(["devices", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown device profile 'nosuch'" in err


def test_devices_command_reports_a_broken_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "good.toml").write_text(GOOD.replace("{name}", "good"))
    (tmp_path / "bad.toml").write_text(GOOD.replace("{name}", "bad").replace("eeg_", "egg_"))
    monkeypatch.setenv("BIOTRAINER_DEVICES", str(tmp_path))
    assert main(["devices"]) == 2
    captured = capsys.readouterr()
    assert "good" in captured.out
    assert "bad.toml: channels[0].rows" in captured.err


@pytest.mark.parametrize(
    ("board", "native"),
    [("MUSE_2_BLED_BOARD", "MUSE_2_BOARD"), ("MUSE_S_BLED_BOARD", "MUSE_S_BOARD")],
)
def test_a_muse_through_the_dongle_takes_its_heart_rate_from_the_row_the_native_one_does(
    board, native
):
    """A Muse recorded through a BLED112 dongle (its own BrainFlow board) had no profile: its
    layout came from BrainFlow's description, whose unnamed PPG rows put the heart rate on the
    first one, the ambient light (BrainFlow fills the rows as for the native board)."""
    from biotrainer.engine.engine import pulse_channel

    def heart_row(board_name: str) -> int:
        ppg = layout_for_board(int(BoardIds[board_name])).group("ppg")
        return ppg.rows[pulse_channel(ppg.names)]

    assert heart_row(board) == heart_row(native) == 2
