"""``--speed`` with ``--device playback``: BrainFlow's playback board plays a file in real time
only, but a playback file is no live device, so the refusal says what it is and how to replay the
file faster (record it once into a session folder, then ``--replay DIR --speed X``); a real device
is still refused as a live one. One line, exit 2, no traceback."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from badinputkit import one_line
from brainflow.data_filter import DataFilter

from biotrainer.acquisition.profiles import load_profile
from biotrainer.cli import main
from biotrainer.session import list_sessions


def _muse2_file(path: Path, seconds: float) -> Path:
    p = load_profile("muse2").layout().preset("default")
    fs = float(p.fs)
    n = int(fs * seconds)
    data = np.round(np.random.default_rng(5).normal(size=(p.num_rows, n)), 4)
    data[p.timestamp_row] = 1_700_000_000.0 + np.arange(n) / fs
    DataFilter.write_file(data, str(path), "w")
    return path


def _refusal(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    return one_line(main(argv), capsys.readouterr().err)


@pytest.mark.parametrize("speed", ["20", "max"])
def test_speed_on_a_playback_file_says_how_to_replay_it_faster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], speed: str
) -> None:
    f = _muse2_file(tmp_path / "muse.csv", 2.0)
    data = tmp_path / "d"
    argv = ["run", "--device", "playback", "--file", str(f), "--master-board", "muse2"]
    line = _refusal([*argv, "--speed", speed, "--data-dir", str(data)], capsys)
    assert "live device" not in line
    assert "playback device" in line and "real time only" in line
    assert f"biotrainer record --device playback --file {f} --master-board muse2 " in line
    assert "--replay DIR --speed X" in line
    assert list_sessions(data) == []
    # a real device is still refused as a live one
    argv = ["run", "--device", "cyton", "--serial-port", "/dev/ttyUSB0", "--speed", speed]
    line = _refusal([*argv, "--data-dir", str(data)], capsys)
    assert "a live device cannot deliver data faster than real time" in line
    assert "playback" not in line


def test_the_advice_given_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The two commands the refusal names, filled in: record the file (real time, 1 s), then
    replay the session folder at --speed 20."""
    f = _muse2_file(tmp_path / "muse.csv", 1.0)
    folder = tmp_path / "session"
    argv = ["run", "--device", "playback", "--file", str(f), "--master-board", "muse2"]
    line = _refusal([*argv, "--speed", "20", "--no-record"], capsys)
    record = re.search(r"biotrainer (record [^:]*):", line)
    replay = re.search(r"(--replay DIR --speed X)", line)
    assert record and replay, line
    fill = {"FILE": str(f), "BOARD": "muse2", "SECONDS": "60", "DIR": str(folder), "X": "20"}
    assert main([fill.get(w, w) for w in record.group(1).split()]) == 0
    capsys.readouterr()
    code = main(["run", *[fill.get(w, w) for w in replay.group(1).split()], "--no-record"])
    err = capsys.readouterr().err
    assert code == 0 and "Traceback" not in err


def test_the_advice_names_the_file_and_board_given(tmp_path: Path) -> None:
    """The record command of the refusal names the files and the master board given (quoted
    as a shell needs them), not FILE and BOARD."""
    from biotrainer.acquisition.brainflow_source import ConnectionParams
    from biotrainer.acquisition.factory import accelerable_profile
    from biotrainer.errors import DeviceError

    f = tmp_path / "my recording.csv"
    aux = tmp_path / "aux.csv"
    given = ConnectionParams(file=str(f), file_aux=str(aux), master_board="muse2")
    with pytest.raises(DeviceError) as refused:
        accelerable_profile("playback", given)
    line = str(refused.value)
    file_aux = f"--file {shlex.quote(str(f))} --file-aux {shlex.quote(str(aux))}"
    assert "'" in file_aux  # (the space in the name is quoted)
    record = f"record --device playback {file_aux} --master-board muse2 "
    assert record in line and "FILE" not in line and "BOARD" not in line
    # nothing given: the placeholders
    with pytest.raises(DeviceError) as refused:
        accelerable_profile("playback")
    assert "--file FILE --master-board BOARD --duration" in str(refused.value)
