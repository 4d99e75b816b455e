"""``--device playback`` with a file recorded at another rate than ``--master-board``'s: one
line naming the file, both rates and what to do; exit 2; no session folder left behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from badinputkit import one_line
from brainflow.data_filter import DataFilter

from biotrainer.acquisition.profiles import load_profile
from biotrainer.cli import main
from biotrainer.session import list_sessions


def _muse2_file(path: Path, fs: float, seconds: float = 3.0) -> Path:
    p = load_profile("muse2").layout().preset("default")
    n = int(fs * seconds)
    data = np.round(np.random.default_rng(2).normal(size=(p.num_rows, n)), 4)
    data[p.timestamp_row] = 1_700_000_000.0 + np.arange(n) / fs
    DataFilter.write_file(data, str(path), "w")
    return path


@pytest.mark.parametrize("command", ["run", "record"])
def test_a_file_at_another_rate_than_the_master_board_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    f = _muse2_file(tmp_path / "at220.csv", 220.0)
    data = tmp_path / "d"
    argv = [command, "--device", "playback", "--file", str(f), "--master-board", "muse2"]
    if command == "record":
        argv += ["--duration", "1"]
    code = main([*argv, "--data-dir", str(data)])
    line = one_line(code, capsys.readouterr().err)
    assert line == (
        f"biotrainer: the playback file {f} was recorded at 220 Hz (by its timestamps), but "
        "MUSE_2_BOARD samples at 256 Hz: played as that board its heart rate, breathing rate "
        "and EEG bands would read 16 % high; choose the board the file was recorded with "
        "(--master-board)"
    )
    assert list_sessions(data) == []
