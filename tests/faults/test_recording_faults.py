"""Unwritable or full data directory: one clear line, exit 2, no session without its recording.

Tests run as root, where ``chmod`` does not stop writes: an unwritable folder is made by putting
the data dir under a regular *file*. A full disk is simulated by making the raw append (or the
events log) fail with ``ENOSPC``, and by reporting no free space.
"""

from __future__ import annotations

import errno
import os
from collections import namedtuple
from pathlib import Path

import pytest

import biotrainer.acquisition.factory as factory
import biotrainer.session.rawfile as rawfile
import biotrainer.session.recorder as recorder_module
from biotrainer.cli import main
from biotrainer.session import list_sessions, load_session


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("biotrainer: ")
    return lines[0]


@pytest.fixture
def no_device(monkeypatch):
    """Fail the test if a device is opened at all."""
    opened = []

    def refuse(*a, **k):
        opened.append(a)
        raise AssertionError("a device was opened although the session cannot be recorded")

    monkeypatch.setattr(factory, "open_source", refuse)
    monkeypatch.setattr(factory, "open_accelerated", refuse)
    return opened


@pytest.fixture
def blocker(tmp_path) -> Path:
    f = tmp_path / "a-file"
    f.write_text("not a folder")
    return f


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--device", "synthetic", "--data-dir", "{blocker}/sub"], "cannot create"),
        (["run", "--device", "synthetic", "--out", "{blocker}/sub"], "is a file"),
        (["run", "--device", "synthetic", "--out", "{blocker}"], "not an empty folder"),
        (["record", "--duration", "5", "--data-dir", "{blocker}/sub"], "cannot create"),
        (["record", "--duration", "5", "--out", "{blocker}/x/y"], "is a file"),
        (
            ["run", "--device", "simulator-muse2", "--speed", "max", "--data-dir", "{blocker}"],
            "cannot create",
        ),
    ],
)
def test_unwritable_data_dir_stops_before_any_device(
    argv, message, blocker, no_device, capsys
) -> None:
    argv = [a.format(blocker=blocker) for a in argv]
    assert main(argv) == 2
    line = _one_line(capsys)
    assert message in line and str(blocker) in line
    assert no_device == []
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("command", ["run", "record"])
def test_a_full_disk_is_refused_before_the_session(
    command, tmp_path, no_device, monkeypatch, capsys
) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(
        recorder_module.shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 10**6, 10**6)
    )
    argv = [command, "--device", "synthetic", "--data-dir", str(tmp_path / "d")]
    argv += ["--duration", "5"] if command == "record" else []
    assert main(argv) == 2
    line = _one_line(capsys)
    assert "is full (1 MB free" in line
    assert no_device == [] and list_sessions(tmp_path / "d") == []


def _fail_after(monkeypatch, n_ok: int) -> list[int]:
    """The default preset's raw append works ``n_ok`` times (one per ~1-s flush), then the
    disk is full."""
    calls = [0]
    real = rawfile.append_raw

    def append(path, data):
        calls[0] += Path(path).name == "raw_default.csv"
        if calls[0] > n_ok:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(path, data)

    monkeypatch.setattr(rawfile, "append_raw", append)
    return calls


def _check_kept(folder: Path, stopped_s: float, tolerance_s: float) -> None:
    rec = load_session(folder)
    assert rec.interrupted
    # everything written before the failure is there and readable
    assert rec.duration_s == pytest.approx(stopped_s, abs=tolerance_s)
    assert rec.n_samples("default") > 0


def test_disk_full_mid_run_stops_the_session_cleanly(tmp_path, monkeypatch, capsys) -> None:
    calls = _fail_after(monkeypatch, n_ok=8)
    data = tmp_path / "d"
    argv = ["run", "--device", "simulator-muse2", "--speed", "max", "--data-dir", str(data)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("biotrainer: the disk is full: cannot write raw_")
    assert "recording stopped at" in last
    stopped = float(last.split("recording stopped at ")[1].split(" s")[0])
    assert 6.0 <= stopped <= 9.0  # 8 flushes of ~1 s of data went to disk
    assert calls[0] == 9  # the session stopped at the first failure
    (folder,) = list_sessions(data)
    _check_kept(folder, stopped, 0.1)
    assert any(e.kind == "protocol" for e in load_session(folder).events)


def test_disk_full_mid_record_stops_cleanly(tmp_path, monkeypatch, capsys) -> None:
    _fail_after(monkeypatch, n_ok=1)
    data = tmp_path / "d"
    argv = ["record", "--device", "synthetic", "--duration", "30", "--data-dir", str(data)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("biotrainer: the disk is full: cannot write raw_default.csv")
    stopped = float(last.split("recording stopped at ")[1].split(" s")[0])
    (folder,) = list_sessions(data)
    _check_kept(folder, stopped, 0.1)


def test_disk_full_while_logging_an_event(tmp_path, monkeypatch) -> None:
    from faultkit import LAYOUT, World, pump

    from biotrainer.clock import SimulatedClock
    from biotrainer.errors import RecordingError
    from biotrainer.session.csvlog import CsvAppender

    clock = SimulatedClock()
    world = World(clock)
    src = world.open()
    src.prepare()
    src.start()
    rec = recorder_module.Recorder.create(LAYOUT, out=tmp_path / "s", clock=clock, fsync=False)
    pump(src, clock, 2.5, on_poll=lambda t, s, chunk: rec.write(chunk))

    def full(self):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(CsvAppender, "_sync", full)
    with pytest.raises(RecordingError, match=r"^the disk is full: cannot write events\.csv"):
        rec.add_event("marker", "x")
    # the recording is closed, later writes say the same thing, nothing raises differently
    assert rec.closed
    with pytest.raises(RecordingError, match="the disk is full"):
        pump(src, clock, 3.5, on_poll=lambda t, s, chunk: rec.write(chunk))
    monkeypatch.undo()
    _check_kept(tmp_path / "s", 2.0, 0.06)  # the flushes at 1 s and 2 s


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 400-kB tmpfs (needs root with mount rights; skipped elsewhere)."""
    import shutil
    import subprocess

    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mnt)], capture_output=True
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def test_a_really_full_disk_is_noticed(tiny_disk, monkeypatch, capsys) -> None:
    """BrainFlow's write_file does not report ENOSPC; the recorder must notice by itself."""
    monkeypatch.setattr(recorder_module, "check_free_space", lambda *a, **k: None)
    out = tiny_disk / "s"
    assert main(["record", "--device", "synthetic", "--duration", "30", "--out", str(out)]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("biotrainer: the disk is full: cannot write raw_default.csv")
    stopped = float(last.split("recording stopped at ")[1].split(" s")[0])
    assert stopped < 10  # 400 kB hold ~5 s of the synthetic board, not 30
    rec = load_session(out)
    assert rec.interrupted and rec.duration_s >= stopped - 0.05
