"""BrainFlowSource: lifecycle, no lost samples, silence/end states, actionable errors, playback."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from brainflow.board_shim import BoardIds, BrainFlowError
from brainflow.data_filter import DataFilter
from brainflow.exit_codes import BrainFlowExitCodes

from biotrainer.acquisition.brainflow_source import BrainFlowSource, ConnectionParams
from biotrainer.acquisition.factory import connection_from_args, open_playback, open_source
from biotrainer.acquisition.profiles import PRESET_IDS, load_profile, profile_names
from biotrainer.acquisition.source import SourceState
from biotrainer.cli import build_parser
from biotrainer.clock import SimulatedClock
from biotrainer.errors import ConfigError, DeviceError

# ------------------------------------------------------------------ a fake BoardShim


class FakeBoard:
    """Stands in for BoardShim: returns what the test queued, records the calls."""

    def __init__(self, board_id: int, params: object, fail: dict | None = None) -> None:
        self.board_id = board_id
        self.params = params
        self.queue: dict[int, list[np.ndarray]] = {}
        self.calls: list[str] = []
        self.fail = fail or {}
        self.num_rows: dict[int, int] = {}

    def _maybe_fail(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail:
            raise BrainFlowError(f"unable to {name}", int(self.fail[name]))

    def prepare_session(self) -> None:
        self._maybe_fail("prepare_session")

    def config_board(self, command: str) -> str:
        self._maybe_fail("config_board")
        self.calls.append(f"config:{command}")
        return ""

    def start_stream(self, num_samples: int) -> None:
        self._maybe_fail("start_stream")
        self.buffer = num_samples

    def get_board_data(self, num_samples: int | None = None, preset: int = 0) -> np.ndarray:
        self._maybe_fail("get_board_data")
        q = self.queue.get(preset, [])
        if q:
            return q.pop(0)
        return np.zeros((self.num_rows[preset], 0))

    def stop_stream(self) -> None:
        self._maybe_fail("stop_stream")

    def release_session(self) -> None:
        self.calls.append("release_session")


def fake_source(device: str, connection: ConnectionParams | None = None, **kw):
    """A BrainFlowSource over a FakeBoard; returns (source, board, clock)."""
    clock = SimulatedClock(100.0)
    holder: dict[str, FakeBoard] = {}
    fail = kw.pop("fail", None)

    def factory(board_id: int, params: object) -> FakeBoard:
        holder["board"] = FakeBoard(board_id, params, fail)
        return holder["board"]

    src = BrainFlowSource(load_profile(device), connection, clock, board_factory=factory, **kw)
    return src, holder, clock


def _prepared(src: BrainFlowSource, holder: dict) -> FakeBoard:
    src.prepare()
    board = holder["board"]
    board.num_rows = {PRESET_IDS[p.preset]: p.num_rows for p in src.layout.presets}
    return board


def _block(n: int, rows: int, ts_row: int, t0: float = 0.0, fs: float = 250.0) -> np.ndarray:
    a = np.zeros((rows, n))
    a[ts_row] = t0 + np.arange(n) / fs
    return a


# ------------------------------------------------------------------ silence / end (simulated clock)


def test_silence_is_a_state_not_a_hang() -> None:
    src, holder, clock = fake_source("synthetic")
    board = _prepared(src, holder)
    src.start()
    p = src.layout.preset("default")
    board.queue[0] = [_block(10, p.num_rows, p.timestamp_row)]
    chunk = src.poll()
    assert chunk.signals["eeg"].n_samples == 10
    assert src.state is SourceState.STREAMING
    clock.advance(1.9)
    assert src.poll().empty and src.state is SourceState.STREAMING
    clock.advance(0.1)
    assert src.poll().empty and src.state is SourceState.SILENT
    clock.advance(30.0)
    assert src.state is SourceState.SILENT
    board.queue[0] = [_block(3, p.num_rows, p.timestamp_row)]
    assert src.poll().signals["eeg"].n_samples == 3
    assert src.state is SourceState.STREAMING
    assert src.poll().received_at == clock.now()
    src.stop()
    assert src.state is SourceState.STOPPED
    src.release()
    assert src.state is SourceState.RELEASED and "release_session" in board.calls
    src.release()  # idempotent


def test_silence_timeout_is_configurable() -> None:
    src, holder, clock = fake_source("synthetic", silence_timeout=0.5)
    _prepared(src, holder)
    src.start()
    clock.advance(0.49)
    src.poll()
    assert src.state is SourceState.STREAMING
    clock.advance(0.01)
    src.poll()
    assert src.state is SourceState.SILENT


def _write_file(path: Path, rows: int, n: int, ts_row: int, fs: float) -> np.ndarray:
    rng = np.random.default_rng(n)
    data = np.round(rng.normal(size=(rows, n)) * 10, 4)
    data[0] = np.arange(n) % 256
    data[ts_row] = 1_700_000_000.0 + np.arange(n) / fs
    DataFilter.write_file(data, str(path), "w")
    return DataFilter.read_file(str(path))


def test_playback_ends_after_the_whole_file(tmp_path: Path) -> None:
    lay = load_profile("synthetic").layout()
    p = lay.preset("default")
    f = tmp_path / "a.csv"
    _write_file(f, p.num_rows, 50, p.timestamp_row, p.fs)
    conn = ConnectionParams(file=str(f), master_board="synthetic")
    src, holder, clock = fake_source("playback", conn)
    board = _prepared(src, holder)
    assert "config:loopback_false" in board.calls
    assert board.board_id == int(BoardIds.PLAYBACK_FILE_BOARD)
    assert board.params.master_board == int(BoardIds.SYNTHETIC_BOARD)
    src.start()
    board.queue[0] = [_block(30, p.num_rows, p.timestamp_row), _block(19, p.num_rows, 1)]
    src.poll()
    src.poll()
    assert src.state is SourceState.STREAMING  # 49 of 50 lines
    clock.advance(5.0)
    src.poll()
    assert src.state is SourceState.SILENT  # not all delivered: BrainFlow may still be behind
    board.queue[0] = [_block(1, p.num_rows, p.timestamp_row)]
    src.poll()
    assert src.state is SourceState.ENDED
    clock.advance(5.0)
    src.poll()
    assert src.state is SourceState.ENDED


def test_playback_with_loopback_never_ends(tmp_path: Path) -> None:
    lay = load_profile("synthetic").layout()
    p = lay.preset("default")
    f = tmp_path / "a.csv"
    _write_file(f, p.num_rows, 20, p.timestamp_row, p.fs)
    conn = ConnectionParams(file=str(f), master_board="SYNTHETIC_BOARD")
    src, holder, _clock = fake_source("playback", conn, loopback=True)
    board = _prepared(src, holder)
    assert "config:loopback_true" in board.calls
    src.start()
    board.queue[0] = [_block(20, p.num_rows, p.timestamp_row), _block(20, p.num_rows, 1)]
    src.poll()
    src.poll()
    assert src.state is SourceState.STREAMING


# ------------------------------------------------------------------ connection & errors


def test_missing_required_field_names_the_cli_option() -> None:
    with pytest.raises(DeviceError, match="cyton profile needs a serial port: pass --serial-port"):
        open_source("cyton")
    with pytest.raises(DeviceError, match="--file"):
        open_source("playback", ConnectionParams(master_board="muse2"))


def test_unused_field_is_refused() -> None:
    with pytest.raises(DeviceError, match="synthetic profile does not use --serial-port"):
        open_source("synthetic", ConnectionParams(serial_port="/dev/ttyUSB0"))


def test_connection_text_that_is_not_utf8_is_refused_before_brainflow_sees_it() -> None:
    """Bytes from a terminal in another encoding (argv decodes them to surrogates) made
    BrainFlow fail and then print a traceback when the board object was freed."""
    made = []
    serial = b"x\xff".decode("utf-8", "surrogateescape")
    with pytest.raises(DeviceError, match=r"serial number 'x\\xff' holds bytes that are not UTF-8"):
        BrainFlowSource(
            load_profile("muse2"),
            ConnectionParams(serial_number=serial),
            SimulatedClock(0.0),
            board_factory=lambda *a: made.append(a),
        )
    assert made == []  # no board object was made
    playback = ConnectionParams(file="/tmp/\udcffa.csv", master_board="muse2")
    with pytest.raises(DeviceError, match=r"file '/tmp/.*' holds bytes that are not UTF-8"):
        open_source("playback", playback)


def test_playback_needs_a_master_board(tmp_path: Path) -> None:
    with pytest.raises(DeviceError, match="--master-board"):
        open_source("playback", ConnectionParams(file=str(tmp_path / "x.csv")))


def test_cyton_on_a_missing_port_is_an_actionable_error() -> None:
    port = "/dev/ttyBIOTRAINER_NOPE0"
    src = open_source("cyton", ConnectionParams(serial_port=port))
    with pytest.raises(DeviceError) as info:
        src.prepare()
    msg = str(info.value)
    assert port in msg and "dongle plugged in" in msg
    assert "BrainFlowError" not in msg
    src.release()


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        (BrainFlowExitCodes.UNABLE_TO_OPEN_PORT_ERROR, "no device answered on /dev/ttyX9"),
        (BrainFlowExitCodes.PORT_ALREADY_OPEN_ERROR, "already in use"),
        (BrainFlowExitCodes.SER_PORT_ERROR, "dialout"),
        (BrainFlowExitCodes.BOARD_NOT_READY_ERROR, "switch it on"),
        (BrainFlowExitCodes.SYNC_TIMEOUT_ERROR, "did not answer in time"),
        (BrainFlowExitCodes.INVALID_ARGUMENTS_ERROR, "rejected the connection settings"),
        (BrainFlowExitCodes.GENERAL_ERROR, "BIOTRAINER_BRAINFLOW_LOG"),
    ],
)
def test_brainflow_exit_codes_become_device_errors(code: int, fragment: str) -> None:
    conn = ConnectionParams(serial_port="/dev/ttyX9")
    src, _holder, _ = fake_source("cyton", conn, fail={"prepare_session": code})
    with pytest.raises(DeviceError, match=fragment):
        src.prepare()
    assert src.state is SourceState.IDLE


def test_errors_while_streaming_are_device_errors() -> None:
    src, holder, _ = fake_source("synthetic")
    board = _prepared(src, holder)
    src.start()
    board.fail["get_board_data"] = BrainFlowExitCodes.BOARD_NOT_CREATED_ERROR
    with pytest.raises(DeviceError, match="not open"):
        src.poll()
    src.release()


def test_board_config_commands_are_sent() -> None:
    src, holder, _ = fake_source("muse2")
    board = _prepared(src, holder)
    # Muse PPG (ancillary preset) is off unless asked, with the command of the model: BrainFlow
    # refuses the Muse S one (p61) for a Muse 2, whose own example sends p50
    assert "config:p50" in board.calls and "config:p61" not in board.calls


def test_ring_buffer_holds_at_least_a_minute_for_every_profile(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("0\n")
    dummy = {
        "serial_port": "/dev/ttyUSB0",
        "file": str(f),
        "master_board": "muse2",
    }
    for name in profile_names():
        p = load_profile(name)
        conn = ConnectionParams(**{k: dummy[k] for k in p.connection.required if k in dummy})
        if p.is_playback:  # the generic one needs a master board; simulator ones have theirs
            master = None if p.master_board else "muse2"
            conn = ConnectionParams(file=str(f), master_board=master)
        src = BrainFlowSource(p, conn)
        fastest = max(q.fs for q in src.layout.presets)
        assert src.buffer_size >= 60 * fastest, name


# ------------------------------------------------------------------ real BrainFlow streams


def test_synthetic_stream_loses_no_sample_between_polls(tmp_path: Path) -> None:
    """A real ~3 s synthetic stream polled irregularly: consecutive package numbers, no gaps.

    Also guards the BrainFlow 5.23 pitfall: a (rejected) profile naming a preset the synthetic
    board lacks must not have asked BrainFlow about it, or start_stream would fail below.
    """
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "bad"\ntitle = "B"\nboard = "SYNTHETIC_BOARD"\n'
        '[[channels]]\nrole = "ppg"\npreset = "ancillary"\nrows = "ppg_channels"\n'
    )
    with pytest.raises(ConfigError, match="no ancillary preset"):
        load_profile(bad)

    src = open_source("synthetic")
    lay = src.layout
    p = lay.preset("default")
    chunks = []
    with src:
        src.prepare()
        src.start()
        deadline = time.monotonic() + 3.0
        pauses = [0.01, 0.05, 0.3, 0.02, 0.6]  # irregular, including long stalls
        i = 0
        while time.monotonic() < deadline:
            time.sleep(pauses[i % len(pauses)])
            i += 1
            chunks.append(src.poll())
            assert src.state is SourceState.STREAMING
        src.stop()
        chunks.append(src.poll())  # what arrived before the stop
    assert src.state is SourceState.RELEASED
    raw = np.concatenate([c.raw["default"] for c in chunks], axis=1)
    assert raw.shape[0] == p.num_rows
    assert raw.shape[1] > 0.5 * p.fs * 3.0
    steps = np.diff(raw[0]) % 256  # package number wraps at 256 on the synthetic board
    assert np.all(steps == 1), f"lost or repeated samples: {np.unique(steps)}"
    assert np.all(np.diff(raw[p.timestamp_row]) > 0)
    eeg = np.concatenate([c.signals["eeg"].samples for c in chunks], axis=1)
    np.testing.assert_array_equal(eeg, raw[list(lay.group("eeg").rows)])
    assert all(c.received_at > 0 for c in chunks)


def _play_until_end(src, limit_s: float = 10.0) -> list:
    chunks = []
    src.prepare()
    src.start()
    deadline = time.monotonic() + limit_s
    while src.state is not SourceState.ENDED and time.monotonic() < deadline:
        time.sleep(0.05)
        chunks.append(src.poll())
    src.release()
    return chunks


def test_playback_returns_the_file_samples(tmp_path: Path) -> None:
    """A synthetic-layout file written with DataFilter.write_file plays back sample for sample."""
    lay = load_profile("synthetic").layout()
    p = lay.preset("default")
    f = tmp_path / "synthetic.csv"
    expected = _write_file(f, p.num_rows, 100, p.timestamp_row, p.fs)  # 0.4 s
    src = open_source(
        "playback",
        ConnectionParams(file=str(f), master_board="SYNTHETIC_BOARD"),
        keep_file_timestamps=True,
    )
    assert src.layout.groups == lay.groups
    chunks = _play_until_end(src)
    assert src.state is SourceState.RELEASED
    raw = np.concatenate([c.raw["default"] for c in chunks], axis=1)
    # BrainFlow's playback board rewrites the marker row (markers inserted during playback, else
    # 0): recorded markers do not come back through it. Every other row does, exactly.
    rows = [r for r in range(p.num_rows) if r != p.marker_row]
    assert raw.shape == expected.shape
    np.testing.assert_array_equal(raw[rows], expected[rows])
    eeg = np.concatenate([c.signals["eeg"].samples for c in chunks], axis=1)
    np.testing.assert_array_equal(eeg, expected[list(lay.group("eeg").rows)])


def test_playback_of_a_three_preset_recording(tmp_path: Path) -> None:
    """Muse 2 layout: default, auxiliary and ancillary files replayed together (open_playback)."""
    lay = load_profile("muse2").layout()
    files, expected = {}, {}
    for p in lay.presets:
        files[p.preset] = tmp_path / f"muse_{p.preset}.csv"
        expected[p.preset] = _write_file(
            files[p.preset], p.num_rows, int(p.fs * 0.3), p.timestamp_row, p.fs
        )
    src = open_playback(files, lay)  # BrainFlow's default: new timestamps at play time
    ended = []
    chunks = []
    src.prepare()
    src.start()
    deadline = time.monotonic() + 10.0
    while src.state is not SourceState.ENDED and time.monotonic() < deadline:
        time.sleep(0.05)
        chunks.append(src.poll())
    ended.append(src.state)
    src.release()
    assert ended == [SourceState.ENDED]
    for p in lay.presets:
        raw = np.concatenate([c.raw[p.preset] for c in chunks], axis=1)
        others = [r for r in range(p.num_rows) if r not in (p.timestamp_row, p.marker_row)]
        np.testing.assert_array_equal(raw[others], expected[p.preset][others])
        assert np.all(np.diff(raw[p.timestamp_row]) >= 0)
    ppg = np.concatenate([c.signals["ppg"].samples for c in chunks], axis=1)
    assert ppg.shape == (3, expected["ancillary"].shape[1])
    assert chunks[0].signals["ppg"].fs == 64


def test_playback_of_a_file_from_another_board_is_refused(tmp_path: Path) -> None:
    p = load_profile("muse2").layout().preset("default")
    f = tmp_path / "muse.csv"
    _write_file(f, p.num_rows, 10, p.timestamp_row, p.fs)
    src = open_source("playback", ConnectionParams(file=str(f), master_board="synthetic"))
    with pytest.raises(DeviceError, match=r"8 columns .* 32: was it recorded by another board"):
        src.prepare()


def test_playback_layout_is_restricted_to_the_given_files(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    src = open_source("playback", ConnectionParams(file=str(f), master_board="muse2"))
    assert [p.preset for p in src.layout.presets] == ["default"]
    assert src.layout.roles == ("eeg",)


# ------------------------------------------------------------------ factory


def test_connection_from_cli_args() -> None:
    args = build_parser().parse_args(
        ["--device", "cyton", "--serial-port", "/dev/ttyUSB3", "--mac-address", ""]
    )
    conn = connection_from_args(args)
    assert conn == ConnectionParams(serial_port="/dev/ttyUSB3")
    assert conn.given() == ("serial_port",)


def test_open_source_rejects_unknown_options() -> None:
    with pytest.raises(TypeError, match="speed"):
        open_source("synthetic", speed=2.0)


def test_simulator_profiles_play_the_rendered_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prof = tmp_path / "sim-calm.toml"
    prof.write_text(
        'name = "sim-calm"\ntitle = "Sim"\nboard = "SYNTHETIC_BOARD"\n'
        '[[channels]]\nrole = "eeg"\nrows = "eeg_channels"\n[simulator]\nscenario = "calm"\n'
    )
    seen = {}

    def prepare_playback(profile, connection, options):
        seen.update(profile=profile.name, connection=connection, options=options)
        return ConnectionParams(file=str(tmp_path / "r.csv"), master_board="SYNTHETIC_BOARD")

    monkeypatch.setattr(
        "biotrainer.acquisition.simulator.prepare_playback", prepare_playback, raising=False
    )
    src = open_source(prof, None, None, seed=3, loopback=True)
    assert seen == {
        "profile": "sim-calm",
        "connection": None,
        "options": {"seed": 3, "loopback": True},
    }
    assert src.board_id == int(BoardIds.PLAYBACK_FILE_BOARD)
    assert src.layout.board_id == int(BoardIds.SYNTHETIC_BOARD)
    assert src.layout.device == "sim-calm"
    assert src.layout.roles == ("eeg",)


def test_playback_of_text_or_a_folder_is_refused(tmp_path: Path) -> None:
    """BrainFlow's playback board reads text as zeros: a session would record flat signals."""
    p = load_profile("synthetic").layout().preset("default")
    text = tmp_path / "text.csv"
    text.write_text("\n".join("\t".join(["abc"] * p.num_rows) for _ in range(50)) + "\n")
    src = open_source("playback", ConnectionParams(file=str(text), master_board="synthetic"))
    with pytest.raises(DeviceError, match=r"text.csv is not a BrainFlow recording \(line 1 is"):
        src.prepare()
    good = tmp_path / "good.csv"
    _write_file(good, p.num_rows, 20, p.timestamp_row, p.fs)
    with good.open("a") as fh:  # a damaged end
        fh.write("\t".join(["1.0"] * (p.num_rows - 1) + ["x"]) + "\n")
    src = open_source("playback", ConnectionParams(file=str(good), master_board="synthetic"))
    with pytest.raises(DeviceError, match=r"not a BrainFlow recording \(line 21 is not numbers"):
        src.prepare()
    src = open_source("playback", ConnectionParams(file=str(tmp_path), master_board="synthetic"))
    with pytest.raises(DeviceError, match="is a folder, not a file"):
        src.prepare()


def test_playback_of_a_file_cut_mid_line_ends(tmp_path: Path) -> None:
    """A killed writer leaves half a line, which BrainFlow does not play: counting it kept the
    source waiting for a sample that never came (a replay never ended)."""
    lay = load_profile("synthetic").layout()
    p = lay.preset("default")
    f = tmp_path / "a.csv"
    _write_file(f, p.num_rows, 50, p.timestamp_row, p.fs)
    f.write_bytes(f.read_bytes()[:-20])
    src, holder, _clock = fake_source(
        "playback", ConnectionParams(file=str(f), master_board="synthetic")
    )
    board = _prepared(src, holder)
    src.start()
    board.queue[0] = [_block(49, p.num_rows, p.timestamp_row)]
    src.poll()
    assert src.state is SourceState.ENDED


# ------------------------------------------------------------------ master board names a profile


def test_master_board_naming_a_profile_plays_with_that_profiles_layout(tmp_path: Path) -> None:
    """--master-board simulator: the files have the simulator's rows (ECG, breathing, 16 named
    EEG), not those of the first profile of its board (synthetic), which dropped ECG and
    breathing and renamed the EEG."""
    sim = load_profile("simulator").layout()
    p = sim.preset("default")
    f = tmp_path / "raw_default.csv"
    _write_file(f, p.num_rows, 20, p.timestamp_row, p.fs)
    src, holder, _clock = fake_source(
        "playback", ConnectionParams(file=str(f), master_board="simulator")
    )
    assert src.layout.device == "playback"
    assert (src.layout.board_id, src.layout.presets, src.layout.groups) == (
        sim.board_id,
        sim.presets,
        sim.groups,
    )
    board = _prepared(src, holder)
    assert board.params.master_board == int(BoardIds.SYNTHETIC_BOARD)
    src.start()
    board.queue[0] = [_block(20, p.num_rows, p.timestamp_row)]
    chunk = src.poll()
    assert {"eeg", "ecg", "resp"} <= set(chunk.signals)
    assert chunk.signals["eeg"].channel_names[:2] == ("Fp1", "Fp2")
    # a board name still takes the first profile of that board
    by_board = open_source(
        "playback", ConnectionParams(file=str(f), master_board="SYNTHETIC_BOARD")
    )
    assert by_board.layout.groups == load_profile("synthetic").layout().groups


# ------------------------------------------------------------------ lines BrainFlow skips


def _lines_brainflow_skips(tmp_path: Path) -> tuple[Path, int]:
    """A synthetic-layout file with every kind of line BrainFlow 5.23's playback board skips or
    plays unexpectedly; returns it and the number of lines the board plays (checked against
    BrainFlow by test_playback_of_a_file_with_malformed_lines_ends)."""
    p = load_profile("synthetic").layout().preset("default")
    f = tmp_path / "odd.csv"
    _write_file(f, p.num_rows, 30, p.timestamp_row, p.fs)
    lines = f.read_bytes().splitlines(keepends=True)
    fields = lines[5].rstrip(b"\n").split(b"\t")
    long = list(fields)
    long[3] = b"1." + b"0" * 9000  # read in pieces by fgets: skipped
    empty = list(fields)
    empty[4] = b""  # an empty field is a field: played
    out = [
        *lines[:3],
        b"\t".join(fields[:29]) + b"\n",  # too few fields: skipped
        b"\n",  # blank: skipped
        b"  \n",
        b",".join(fields) + b"\n",  # commas, no tab: played
        b"\t".join(fields) + b"\t\n",  # a tab before the newline: played
        b"\t".join(fields) + b"\r\n",  # CRLF: played
        b"\t".join(fields[:8]) + b"\0" + b"\t".join(fields[8:]) + b"\n",  # NUL: skipped
        b"\t".join(long) + b"\n",
        b"\t".join(empty) + b"\n",
        b"\t".join(fields + fields[:2]) + b"\n",  # too many fields: skipped
        *lines[3:],
    ]
    f.write_bytes(b"".join(out).rstrip(b"\n"))  # the last line has no newline: played
    return f, 30 + 4


def test_count_lines_counts_only_the_lines_brainflow_plays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from biotrainer.acquisition import brainflow_source

    f, played = _lines_brainflow_skips(tmp_path)
    assert brainflow_source._count_lines(f, 32) == (played, 32)
    monkeypatch.setattr(brainflow_source, "_COUNT_BLOCK", 1000)  # lines across blocks
    with pytest.raises(ValueError, match="line 11 is over 1000 bytes long"):  # the long one
        brainflow_source._count_lines(f, 32)
    short = tmp_path / "short.csv"
    short.write_bytes(b"".join(ln for ln in f.read_bytes().splitlines(True) if len(ln) < 900))
    monkeypatch.setattr(brainflow_source, "_COUNT_BLOCK", 1 << 22)
    whole = brainflow_source._count_lines(short, 32)
    monkeypatch.setattr(brainflow_source, "_COUNT_BLOCK", 1000)
    assert brainflow_source._count_lines(short, 32) == whole == (played, 32)


def test_playback_of_a_file_with_a_malformed_middle_line_ends(tmp_path: Path) -> None:
    """BrainFlow skips a line without the board's number of fields: counting it kept the
    source waiting for a sample that never came ("signal lost" instead of "ended")."""
    p = load_profile("synthetic").layout().preset("default")
    f = tmp_path / "a.csv"
    _write_file(f, p.num_rows, 50, p.timestamp_row, p.fs)
    lines = f.read_bytes().splitlines(keepends=True)
    lines[20] = b"\t".join(lines[20].split(b"\t")[:29]) + b"\n"
    f.write_bytes(b"".join(lines))
    src, holder, clock = fake_source(
        "playback", ConnectionParams(file=str(f), master_board="synthetic")
    )
    board = _prepared(src, holder)
    src.start()
    board.queue[0] = [_block(49, p.num_rows, p.timestamp_row)]
    src.poll()
    assert src.state is SourceState.ENDED
    clock.advance(5.0)
    src.poll()
    assert src.state is SourceState.ENDED


def test_playback_of_a_file_with_malformed_lines_ends(tmp_path: Path) -> None:
    """Through BrainFlow's playback board: it plays exactly the lines counted, and ends."""
    f, played = _lines_brainflow_skips(tmp_path)
    src = open_source("playback", ConnectionParams(file=str(f), master_board="synthetic"))
    chunks = _play_until_end(src)
    assert src.state is SourceState.RELEASED
    assert sum(c.raw["default"].shape[1] for c in chunks) == played
    assert len(chunks) < 100  # ended, not stopped by the time limit


@pytest.mark.parametrize(("unit", "factor"), [("s", 1.0), ("ms", 1e3), ("us", 1e6)])
def test_timestamps_of_a_board_in_unix_milliseconds_become_seconds(unit, factor) -> None:
    """The Crown's OSC stream carries the headset's clock, which BrainFlow copies as sent: in
    Unix milliseconds every 4-ms step between samples was read as a 4-s gap."""
    src, holder, _ = fake_source("crown")
    board = _prepared(src, holder)
    src.start()
    p = src.layout.preset("default")
    t0 = 1_764_000_000.0  # (November 2025, in seconds)
    first = _block(256, p.num_rows, p.timestamp_row, t0=t0, fs=256.0)
    later = _block(256, p.num_rows, p.timestamp_row, t0=t0 + 1.0, fs=256.0)
    for block in (first, later):
        block[p.timestamp_row] *= factor
    board.queue[0] = [first, later]
    for k in range(2):
        ts = src.poll().signals["eeg"].timestamps
        np.testing.assert_allclose(ts, t0 + k + np.arange(256) / 256.0, rtol=0, atol=1e-6)


def test_timestamp_scale_leaves_a_board_clock_it_cannot_tell() -> None:
    from biotrainer.acquisition.brainflow_source import timestamp_scale

    assert timestamp_scale(1_764_000_000.0) == 1.0  # Unix seconds
    assert timestamp_scale(12_345.678) == 1.0  # seconds since the board started
    assert timestamp_scale(1_764_000_000_000.0) == 1e-3
    assert timestamp_scale(1_764_000_000_000_000.0) == 1e-6
    assert timestamp_scale(float("nan")) == 1.0


@pytest.mark.parametrize("factor", [1e3, 1.0])
@pytest.mark.parametrize("bad", [0.0, float("nan"), -5.0, 9e18])
def test_one_bad_first_timestamp_does_not_decide_the_unit(bad, factor) -> None:
    """The unit was judged from the first sample alone: a board in Unix milliseconds whose first
    stamp was 0, NaN or negative was read in seconds for the whole session (every 4-ms step a
    3.9-s gap), and one garbage huge first stamp scaled a board in seconds by 1e-6."""
    src, holder, _ = fake_source("crown")
    board = _prepared(src, holder)
    src.start()
    p = src.layout.preset("default")
    t0 = 1_764_000_000.0
    first = _block(256, p.num_rows, p.timestamp_row, t0=t0, fs=256.0)
    first[p.timestamp_row] *= factor
    first[p.timestamp_row, 0] = bad
    board.queue[0] = [first]
    ts = src.poll().signals["eeg"].timestamps
    np.testing.assert_allclose(ts[1:], t0 + np.arange(1, 256) / 256.0, rtol=0, atol=1e-6)
