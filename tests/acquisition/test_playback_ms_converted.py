"""A playback file stamped in Unix milliseconds or microseconds (a Crown's, as BrainFlow writes
it) plays, from a private copy with its timestamps in seconds.

Before, it was refused with how to convert it: BrainFlow's playback board waits the steps between
timestamps as seconds, so it would have played a sample every 3.9 s. The copy is owner-only, in
the cache, deleted when the source is released (or its preparation fails, or it is
garbage-collected), and the original is never changed.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from brainflow.board_shim import BrainFlowError
from brainflow.data_filter import DataFilter
from brainflow.exit_codes import BrainFlowExitCodes

from biotrainer.acquisition import playback_copy
from biotrainer.acquisition.brainflow_source import BrainFlowSource, ConnectionParams
from biotrainer.acquisition.factory import open_source
from biotrainer.acquisition.profiles import load_profile
from biotrainer.acquisition.source import SourceState
from biotrainer.errors import DeviceError

T0 = 1_764_000_000.0
CROWN = load_profile("crown").layout().preset("default")


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cache of these tests (its ``playback`` folder holds the copies)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("BIOTRAINER_CACHE", str(folder))
    return folder


def _crown_file(
    tmp_path: Path, seconds: float, unit: float, fs: float = 256.0, first: float | None = None
) -> Path:
    """``seconds`` of a Crown's rows at ``fs`` Hz (the same samples whatever ``unit``),
    timestamps in Unix seconds times ``unit``; the first line stamped ``first`` when given."""
    n = int(seconds * fs)
    data = np.round(np.random.default_rng(0).normal(size=(CROWN.num_rows, n)), 4)
    data[CROWN.timestamp_row] = (T0 + np.arange(n) / fs) * unit
    if first is not None:
        data[CROWN.timestamp_row, 0] = first
    path = tmp_path / f"crown-{fs:g}-{unit:g}.csv"
    DataFilter.write_file(data, str(path), "w")
    return path


def _source(path: Path, **kwargs) -> BrainFlowSource:
    conn = ConnectionParams(file=str(path), master_board="crown")
    if "board_factory" in kwargs:
        return BrainFlowSource(load_profile("playback"), conn, **kwargs)
    return open_source("playback", conn, **kwargs)  # type: ignore[return-value]


def _play(path: Path) -> tuple[np.ndarray, float]:
    """Every sample of the file as the source delivers it (file timestamps), and the seconds
    from start to the end of the file."""
    src = _source(path, keep_file_timestamps=True)
    chunks = []
    src.prepare()
    try:
        src.start()
        began = time.monotonic()
        deadline = began + 5.0
        while src.state is not SourceState.ENDED and time.monotonic() < deadline:
            time.sleep(0.02)
            chunks.append(src.poll().raw["default"])
        took = time.monotonic() - began
    finally:
        src.release()
    return np.concatenate(chunks, axis=1), took


def _copies(cache: Path) -> list[Path]:
    folder = cache / "playback"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


# ------------------------------------------------------------------ it plays


@pytest.mark.parametrize("unit", [1e3, 1e6], ids=["milliseconds", "microseconds"])
def test_a_crown_file_in_ms_or_us_plays_as_the_same_file_in_seconds(
    tmp_path: Path, cache: Path, unit: float
) -> None:
    seconds_file = _crown_file(tmp_path, 0.5, 1.0)
    stamped = _crown_file(tmp_path, 0.5, unit)
    before = _digest(stamped)

    expected, _ = _play(seconds_file)
    got, took = _play(stamped)

    # at the file's rate: 0.5 s of samples in about 0.5 s (as seconds: 128 samples in 500 s)
    assert 0.3 < took < 2.0
    assert got.shape == expected.shape == (CROWN.num_rows, 128)
    rows = [r for r in range(CROWN.num_rows) if r not in (CROWN.timestamp_row, CROWN.marker_row)]
    np.testing.assert_array_equal(got[rows], expected[rows])
    # the timestamps in seconds (the seconds file holds them to the microsecond)
    np.testing.assert_allclose(got[CROWN.timestamp_row], expected[CROWN.timestamp_row], atol=2e-6)
    assert _copies(cache) == []
    assert _digest(stamped) == before


# ------------------------------------------------------------------ the copy


def test_the_copy_is_private_exact_and_gone_after_release(tmp_path: Path, cache: Path) -> None:
    f = _crown_file(tmp_path, 1.5, 1e3, first=0.0)
    before = _digest(f)
    seen: list[str] = []

    def factory(board_id, params):
        seen.append(params.file)
        from brainflow.board_shim import BoardShim

        return BoardShim(board_id, params)

    src = _source(f, board_factory=factory)
    src.prepare()
    try:
        [copy] = _copies(cache)
        assert seen == [str(copy)]  # BrainFlow plays the copy
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o700
        original = np.loadtxt(f, delimiter="\t")
        converted = np.loadtxt(copy, delimiter="\t")
        ts = CROWN.timestamp_row
        np.testing.assert_array_equal(converted[:, ts], original[:, ts] / 1000)
        others = [c for c in range(CROWN.num_rows) if c != ts]
        np.testing.assert_array_equal(converted[:, others], original[:, others])
    finally:
        src.release()
    assert _copies(cache) == []
    assert _digest(f) == before


def test_the_copy_is_deleted_when_preparing_fails_or_the_source_is_dropped(
    tmp_path: Path, cache: Path
) -> None:
    f = _crown_file(tmp_path, 1.5, 1e3)

    def failing(board_id, params):
        class Board:
            def prepare_session(self):
                raise BrainFlowError("no", int(BrainFlowExitCodes.GENERAL_ERROR))

        return Board()

    with pytest.raises(DeviceError):
        _source(f, board_factory=failing).prepare()
    assert _copies(cache) == []

    src = _source(f)
    src.prepare()
    assert len(_copies(cache)) == 1
    del src  # never released: the copy goes with the source
    gc.collect()
    assert _copies(cache) == []


def test_a_copy_left_by_a_killed_process_is_deleted_by_the_next(
    tmp_path: Path, cache: Path
) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    folder = cache / "playback"
    folder.mkdir(parents=True)
    left = folder / f"{playback_copy._host()}-{int(dead.stdout)}-abc123.csv"
    left.write_text("1\t2\n")
    alive = folder / f"{playback_copy._host()}-{os.getpid()}-def456.csv"
    alive.write_text("1\t2\n")
    src = _source(_crown_file(tmp_path, 1.5, 1e3))
    src.prepare()
    try:
        assert not left.exists()
        assert alive.exists() and len(_copies(cache)) == 2
    finally:
        src.release()
    assert _copies(cache) == [alive]


def test_only_the_timestamp_of_lines_brainflow_plays_changes() -> None:
    """Lines it skips (wrong field count), cut at a NUL, comma-separated or ending in a
    separator are copied byte for byte, but for the timestamp of those it plays."""
    line = playback_copy._seconds_line
    assert line(b"1.5\t1764000000123.456055\t0.000000", 3, 1, 1e3) == (
        b"1.5\t" + repr(1764000000123.456055 / 1e3).encode() + b"\t0.000000"
    )
    assert line(b"1.5,1764000000123456.0,7", 3, 1, 1e6) == b"1.5,1764000000.123456,7"
    assert line(b"1,2\t1764000000123.5\t3\t", 3, 1, 1e3) == b"1,2\t1764000000.1235\t3\t"
    assert line(b"1\t1764000000123.5\t3\r", 3, 1, 1e3) == b"1\t1764000000.1235\t3\r"
    assert line(b"1\t2\t3\t4", 3, 1, 1e3) == b"1\t2\t3\t4"  # skipped: four fields
    assert line(b"1\t17e5\t3\0junk\t", 3, 1, 1e3) == b"1\t1700.0\t3\0junk\t"
    assert line(b"1\tx\t3", 3, 1, 1e3) == b"1\tx\t3"  # std::stod fails: left as it is
    long = b"1\t1764000000123.5\t3" + b" " * 8200  # read by BrainFlow in pieces
    assert line(long, 3, 1, 1e3) == long
    # a block of lines as numpy converts it: as line by line
    lines = [b"1.5\t1764000000123.456055\t-2", b"1\t2", b"0\t17e5\t3\t", long, b"4\t-0.5\t5"]
    block = b"\n".join(lines) + b"\n"
    converted = b"\n".join(line(x, 3, 1, 1e3) for x in lines) + b"\n"
    assert playback_copy._seconds_text(block, 3, 1, 1e3) == converted
    assert playback_copy._seconds_text(block[:-1], 3, 1, 1e3) == converted[:-1]


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize("unit", [1e3, 1e6], ids=["milliseconds", "microseconds"])
def test_a_crown_file_in_ms_or_us_at_another_rate_is_still_refused(
    tmp_path: Path, cache: Path, unit: float
) -> None:
    f = _crown_file(tmp_path, 3.0, unit, fs=128.0)
    with pytest.raises(DeviceError) as err:
        _source(f).prepare()
    assert str(err.value).startswith(
        f"the playback file {f} was recorded at 128 Hz (by its timestamps), but CROWN_BOARD "
        "samples at 256 Hz"
    )
    assert _copies(cache) == []


def test_a_cache_folder_that_cannot_be_written_is_a_clear_error(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = _crown_file(tmp_path, 1.5, 1e3)
    not_a_folder = tmp_path / "cache-file"
    not_a_folder.write_text("")
    monkeypatch.setenv("BIOTRAINER_CACHE", str(not_a_folder))
    with pytest.raises(DeviceError) as err:
        _source(f).prepare()
    assert str(err.value) == (
        f"cannot play the playback file {f}: its timestamps are in Unix milliseconds, so it is "
        f"played from a copy with them in seconds, which cannot be written under "
        f"{not_a_folder / 'playback'} (Not a directory); free some space there or set "
        "BIOTRAINER_CACHE to a writable folder with room"
    )


def test_a_full_disk_is_a_clear_error_and_leaves_no_partial_copy(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = _crown_file(tmp_path, 1.5, 1e6)

    def full(out, data):
        out.write(data[:100])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(playback_copy, "_write_all", full, raising=False)
    with pytest.raises(DeviceError) as err:
        _source(f).prepare()
    assert "its timestamps are in Unix microseconds" in str(err.value)
    assert f"cannot be written under {cache / 'playback'} (No space left on device)" in str(
        err.value
    )
    assert _copies(cache) == []
