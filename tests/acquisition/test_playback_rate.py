"""A playback file recorded at another rate than its master board's is refused, not read wrongly.

BrainFlow's playback board paces a file by its timestamps, and the samples are taken at the
master board's nominal rate: before, a 220 Hz file played as a 256 Hz board gave heart rates
16 % high without a word.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from brainflow.data_filter import DataFilter

from biotrainer.acquisition import playback_rate
from biotrainer.acquisition.brainflow_source import ConnectionParams
from biotrainer.acquisition.factory import open_playback, open_source
from biotrainer.acquisition.playback_rate import estimate_rate, read_head_timestamps
from biotrainer.acquisition.profiles import load_profile
from biotrainer.errors import DeviceError

T0 = 1_700_000_000.0


def _write(path: Path, rows: int, ts_row: int, timestamps: np.ndarray) -> Path:
    """A BrainFlow file (DataFilter.write_file) of ``rows`` rows with these timestamps."""
    data = np.round(np.random.default_rng(0).normal(size=(rows, timestamps.size)), 4)
    data[0] = np.arange(timestamps.size) % 256
    data[ts_row] = timestamps
    DataFilter.write_file(data, str(path), "w")
    return path


def _file(tmp_path: Path, board: str, fs: float, seconds: float, preset: str = "default") -> Path:
    """A file with ``board``'s rows for ``preset`` whose timestamps step at ``fs``."""
    p = load_profile(board).layout().preset(preset)
    n = int(fs * seconds)
    return _write(tmp_path / f"{board}-{preset}-{fs:g}.csv", p.num_rows, p.timestamp_row,
                  T0 + np.arange(n) / fs)  # fmt: skip


def _prepare(path: Path, master: str, **files: str) -> None:
    src = open_source("playback", ConnectionParams(file=str(path), master_board=master, **files))
    try:
        src.prepare()
    finally:
        src.release()


# ------------------------------------------------------------------ the refusal


def test_a_220_hz_file_played_as_a_256_hz_board_is_refused(tmp_path: Path) -> None:
    f = _file(tmp_path, "muse2", 220.0, 3.0)
    with pytest.raises(DeviceError) as err:
        _prepare(f, "muse2")
    assert str(err.value) == (
        f"the playback file {f} was recorded at 220 Hz (by its timestamps), but MUSE_2_BOARD "
        "samples at 256 Hz: played as that board its heart rate, breathing rate and EEG bands "
        "would read 16 % high; choose the board the file was recorded with (--master-board)"
    )


def test_a_1000_hz_file_played_as_a_250_hz_board_is_refused(tmp_path: Path) -> None:
    f = _file(tmp_path, "cyton", 1000.0, 2.0)
    with pytest.raises(
        DeviceError, match=r"at 1000 Hz .* CYTON_BOARD samples at 250 Hz: .*75 % low"
    ):
        _prepare(f, "cyton")


def test_an_auxiliary_file_at_another_rate_is_refused_naming_its_preset(tmp_path: Path) -> None:
    eeg = _file(tmp_path, "muse2", 256.0, 3.0)
    aux = _file(tmp_path, "muse2", 100.0, 3.0, "auxiliary")
    with pytest.raises(DeviceError, match=r"the auxiliary preset of MUSE_2_BOARD samples at 52 Hz"):
        _prepare(eeg, "muse2", file_aux=str(aux))


def test_a_file_at_the_boards_rate_is_played(tmp_path: Path) -> None:
    _prepare(_file(tmp_path, "muse2", 256.0, 3.0), "muse2")
    _prepare(_file(tmp_path, "cyton", 250.0 * 1.04, 3.0), "cyton")  # under 5 % faster
    _prepare(_file(tmp_path, "cyton", 250.0 * 0.91, 3.0), "cyton")  # under 10 % slower
    with pytest.raises(DeviceError, match=r"at 265 Hz .* 6 % low"):
        _prepare(_file(tmp_path, "cyton", 265.0, 3.0), "cyton")
    with pytest.raises(DeviceError, match=r"at 222 Hz .* 13 % high"):
        _prepare(_file(tmp_path, "cyton", 222.0, 3.0), "cyton")


def test_a_recording_that_lost_bluetooth_packets_is_played(tmp_path: Path) -> None:
    """Lost packets make a file look slower than its board: 8 % of them lost is no refusal."""
    p = load_profile("muse2").layout().preset("default")
    stamps = _bluetooth_stamps(256.0, loss=0.08, seed=1)
    assert estimate_rate(stamps, 256.0) < 0.95 * 256.0  # (outside a 5 % tolerance)
    _prepare(_write(tmp_path / "lossy.csv", p.num_rows, p.timestamp_row, stamps), "muse2")


def test_a_file_without_usable_timestamps_is_not_refused_for_that(tmp_path: Path) -> None:
    """BrainFlow plays such a file as fast as it reads it; its rate cannot be told."""
    p = load_profile("muse2").layout().preset("default")
    n = 1000
    zero = _write(tmp_path / "zero.csv", p.num_rows, p.timestamp_row, np.zeros(n))
    same = _write(tmp_path / "same.csv", p.num_rows, p.timestamp_row, np.full(n, T0))
    for f in (zero, same):
        _prepare(f, "muse2")


def test_recordings_and_short_files_are_not_judged(tmp_path: Path) -> None:
    """A recording's replay has its layout from session.json (the check is for files a person
    names); half a second of samples is too little to judge."""
    f = _file(tmp_path, "muse2", 220.0, 3.0)
    src = open_playback({"default": f}, load_profile("muse2").layout())
    src.prepare()
    src.release()
    _prepare(_file(tmp_path, "muse2", 220.0, 0.5), "muse2")


# ------------------------------------------------------------------ the estimate


def test_the_rate_is_estimated_through_bursts_gaps_and_steps_back() -> None:
    """Host timestamps come in bursts (a serial board: a few samples per USB transfer); a file
    may hold a pause or the clock set back. The median of single steps fails on bursts."""
    fs = 250.0
    k = np.arange(4000)
    bursts = T0 + (k // 4) * 4 / fs + (k % 4) * 1e-5  # 4 samples per 16 ms transfer
    steps = np.diff(bursts)
    assert 1 / np.median(steps[steps > 0]) > 10 * fs  # (what a median of steps would say)
    assert estimate_rate(bursts, fs) == pytest.approx(fs, rel=1e-3)
    gappy = T0 + k / fs
    gappy[1000:] += 30.0  # a pause of 30 s
    gappy[2500:] -= 3600.0  # the clock set back an hour
    assert estimate_rate(gappy, fs) == pytest.approx(fs, rel=1e-6)


def _bluetooth_stamps(fs: float, loss: float, seed: int) -> np.ndarray:
    """Muse-like timestamps (BrainFlow's muse.cpp): 12 samples per packet, the time between
    two packets' arrivals spread over the second's samples; arrivals jitter by up to 30 ms and
    a fraction ``loss`` of the packets is lost."""
    rng = np.random.default_rng(seed)
    per_packet = 12
    packets = np.arange(700)
    packets = packets[rng.random(packets.size) >= loss]
    arrivals = T0 + (packets + 1) * per_packet / fs + rng.uniform(0, 0.03, packets.size)
    arrivals = np.maximum.accumulate(arrivals)
    return np.concatenate(
        [a + (b - a) * np.arange(1, per_packet + 1) / per_packet
         for a, b in itertools.pairwise(arrivals)]
    )  # fmt: skip


def test_bluetooth_timestamps_with_jitter_give_the_rate() -> None:
    for seed in range(3):
        assert estimate_rate(_bluetooth_stamps(256.0, 0.0, seed), 256.0) == pytest.approx(
            256.0, rel=0.005
        )


def test_missing_constant_or_too_few_timestamps_give_no_estimate() -> None:
    assert estimate_rate(np.zeros(2000), 250.0) is None
    assert estimate_rate(np.full(2000, T0), 250.0) is None
    half_zero = T0 + np.arange(2000) / 250.0
    half_zero[:1200] = 0.0
    assert estimate_rate(half_zero, 250.0) is None
    assert estimate_rate(T0 + np.arange(200) / 250.0, 250.0) is None  # under a second
    assert estimate_rate(T0 + np.arange(251) / 220.0, 250.0) == pytest.approx(220.0)


def test_only_the_head_of_a_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long recording is not read whole: the estimate takes its first lines."""
    p = load_profile("muse2").layout().preset("default")
    stamps = np.concatenate([T0 + np.arange(600) / 256.0, T0 + 10 + np.arange(2000) / 100.0])
    f = _write(tmp_path / "long.csv", p.num_rows, p.timestamp_row, stamps)
    monkeypatch.setattr(playback_rate, "HEAD_LINES", 500)
    head = read_head_timestamps(f, p.num_rows, p.timestamp_row)
    np.testing.assert_allclose(head, stamps[:500])
    _prepare(f, "muse2")  # the head is at 256 Hz


def test_lines_brainflow_skips_are_left_out_of_the_head(tmp_path: Path) -> None:
    p = load_profile("muse2").layout().preset("default")
    f = _write(tmp_path / "odd.csv", p.num_rows, p.timestamp_row, T0 + np.arange(5) / 256.0)
    lines = f.read_bytes().splitlines(keepends=True)
    fields = lines[1].rstrip(b"\n").split(b"\t")
    bad_ts = list(fields)
    bad_ts[p.timestamp_row] = b"x"
    f.write_bytes(
        b"".join(
            [
                lines[0],
                b"\t".join(fields[:-1]) + b"\n",  # too few fields
                b"\n",
                b"\t".join(bad_ts) + b"\n",
                b",".join(fields) + b"\n",  # commas: played
                b"\t".join(fields[:2]) + b"\0" + b"\t".join(fields[2:]) + b"\n",  # NUL
                b"x" * 9000 + b"\n",  # longer than BrainFlow's line buffer
                *lines[2:],
            ]
        )
    )
    head = read_head_timestamps(f, p.num_rows, p.timestamp_row)
    np.testing.assert_allclose(head, T0 + np.array([0, 1, 2, 3, 4]) / 256.0)
