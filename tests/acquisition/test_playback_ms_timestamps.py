"""A playback file stamped in Unix milliseconds (a Crown's, as BrainFlow writes it) is judged on
its timestamps in seconds, as a live board's are, and refused only for what is really wrong with it.

Its rate was estimated from the raw timestamps: a 256 Hz Crown file "was recorded at 0.256 Hz",
read "99900 % high" and the user was sent to --master-board, which no board could satisfy. (It
is now played from a copy in seconds: tests/acquisition/test_playback_ms_converted.py.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from brainflow.data_filter import DataFilter

from biotrainer.acquisition.brainflow_source import ConnectionParams
from biotrainer.acquisition.factory import open_source
from biotrainer.acquisition.profiles import load_profile
from biotrainer.errors import DeviceError

T0 = 1_764_000_000.0


def _crown_file(tmp_path: Path, fs: float, unit: float, first: float | None = None) -> Path:
    """3 s of a Crown's rows at ``fs`` Hz, timestamps in Unix seconds times ``unit``; the
    first line stamped ``first`` when given."""
    p = load_profile("crown").layout().preset("default")
    n = int(3 * fs)
    data = np.round(np.random.default_rng(0).normal(size=(p.num_rows, n)), 4)
    data[p.timestamp_row] = (T0 + np.arange(n) / fs) * unit
    if first is not None:
        data[p.timestamp_row, 0] = first
    path = tmp_path / f"crown-{fs:g}-{unit:g}.csv"
    DataFilter.write_file(data, str(path), "w")
    return path


def _prepare(path: Path) -> None:
    src = open_source("playback", ConnectionParams(file=str(path), master_board="crown"))
    try:
        src.prepare()
    finally:
        src.release()


def test_a_file_in_milliseconds_at_another_rate_names_its_rate_in_hertz(tmp_path: Path) -> None:
    """The rate is read from the timestamps in seconds: 128 Hz, not 0.128 Hz."""
    f = _crown_file(tmp_path, 128.0, 1e3)
    with pytest.raises(DeviceError) as err:
        _prepare(f)
    assert f"the playback file {f} was recorded at 128 Hz (by its timestamps), but " in str(
        err.value
    )
    assert "CROWN_BOARD samples at 256 Hz" in str(err.value) and "100 % high" in str(err.value)


def test_the_same_crown_file_in_seconds_is_played(tmp_path: Path) -> None:
    _prepare(_crown_file(tmp_path, 256.0, 1.0))


def test_the_scale_is_judged_from_the_first_positive_timestamp() -> None:
    from biotrainer.acquisition.playback_rate import file_timestamp_scale

    ms = (T0 + np.arange(5) / 256.0) * 1e3
    assert file_timestamp_scale(ms) == 1e-3
    assert file_timestamp_scale(np.concatenate([[0.0, -1.0], ms])) == 1e-3
    assert file_timestamp_scale(ms * 1e3) == 1e-6
    assert file_timestamp_scale(ms / 1e3) == 1.0
    assert file_timestamp_scale(np.zeros(5)) == 1.0
    assert file_timestamp_scale(np.empty(0)) == 1.0
