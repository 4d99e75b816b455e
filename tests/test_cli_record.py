"""`biotrainer record` -> `replay` -> `export --edf` round trip, signals, and bad arguments."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyedflib
import pytest

from biotrainer.session import list_sessions, load_session

CLI = [sys.executable, "-m", "biotrainer.cli"]


def _run(*args: str, timeout: float = 60, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=env)


def _one_clean_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("biotrainer: ")
    return lines[0]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`biotrainer record --device synthetic --duration 3` into BIOTRAINER_DATA."""
    data = tmp_path_factory.mktemp("cli") / "data"
    env = {**os.environ, "BIOTRAINER_DATA": str(data)}
    r = _run("record", "--device", "synthetic", "--duration", "3", env=env)
    assert r.returncode == 0, r.stderr
    folder = Path(r.stdout.strip().splitlines()[-1])
    assert folder.parent == (data / "sessions").resolve()
    assert re.search(r"recording +\d+\.\d / 3\.0 s +samples \d+ +streaming", r.stderr)
    return folder


def test_record_writes_a_completed_session(recorded: Path) -> None:
    rec = load_session(recorded)
    assert rec.status == "completed" and rec.meta.device == "synthetic"
    n = rec.n_samples("default")
    fs = rec.layout.preset("default").fs
    assert rec.meta.samples["default"] == n
    # ~3 s of samples, none missing between the first and the last
    assert 2.5 * fs <= n <= 4.0 * fs
    assert n == pytest.approx(rec.duration_s * fs, rel=0.03)


def test_replay_real_time_and_fast_deliver_every_sample(recorded: Path) -> None:
    n = load_session(recorded).n_samples("default")
    for speed in ("1", "25", "max"):
        r = _run("replay", str(recorded), "--speed", speed)
        assert r.returncode == 0, r.stderr
        assert f"replayed {n} default samples" in r.stdout, (speed, r.stdout)
        assert "session completed" in r.stdout


def test_replay_at_max_speed_never_waits(recorded: Path, monkeypatch, capsys) -> None:
    """`replay --speed max` serves the file on a simulated clock, as `run --replay --speed max`
    does (it was refused: "--speed must be a positive number, not 'max'")."""
    from biotrainer.cli import main
    from biotrainer.commands import replay

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"--speed max slept {seconds} s")

    monkeypatch.setattr(replay.time, "sleep", no_sleep)
    assert main(["replay", str(recorded), "--speed", "max"]) == 0
    out, err = capsys.readouterr()
    n = load_session(recorded).n_samples("default")
    assert f"replayed {n} default samples" in out
    assert re.search(r"replay +\d+\.\d / \d+\.\d s \(max\) +samples default:", err)
    # time.sleep back first: subprocess.run sleeps while the child it waits for exits (on a
    # loaded machine a child that closed its pipes may not have exited yet)
    monkeypatch.undo()
    assert "max" in _run("replay", "--help").stdout


def test_export_edf_matches_the_recording(recorded: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.edf"
    r = _run("export", str(recorded), "--edf", str(out))
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout
    rec = load_session(recorded)
    eeg = rec.signals()["eeg"]
    f = pyedflib.EdfReader(str(out))
    try:
        labels = f.getSignalLabels()
        for i, name in enumerate(eeg.channel_names):
            k = labels.index(f"EEG {name}")
            y = f.readSignal(k)
            step = (f.getPhysicalMaximum(k) - f.getPhysicalMinimum(k)) / 65535
            x = eeg.samples[i]
            assert np.max(np.abs(y[: len(x)] - x)) <= step / 2 + 1e-9
            assert f.getPhysicalDimension(k) == "uV"
    finally:
        f.close()


def _signal_once_writing(
    argv: list[str], file: Path, min_bytes: int, sig: signal.Signals
) -> subprocess.CompletedProcess:
    """Start the CLI with ``argv``, send ``sig`` once ``file`` holds ``min_bytes``, and return
    what it printed and its exit code."""
    proc = subprocess.Popen(
        [*CLI, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        end = time.monotonic() + 30
        while not file.is_file() or file.stat().st_size < min_bytes:
            assert time.monotonic() < end and proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_ctrl_c_and_sigterm_stop_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    out = tmp_path / "session"
    argv = ["record", "--device", "synthetic", "--duration", "60", "--out", str(out)]
    done = _signal_once_writing(argv, out / "raw_default.csv", 1, sig)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert Path(done.stdout.strip()) == out.resolve()
    rec = load_session(out)
    assert rec.status == "completed" and rec.warnings == ()
    assert any(e.kind == "stop" and sig.name in e.text for e in rec.events)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_run_stops_cleanly_on_ctrl_c_and_sigterm(tmp_path: Path, sig: signal.Signals) -> None:
    """SIGTERM ended `run` with exit 143 and session.json still "recording"; SIGHUP (the
    terminal closed) with 129."""
    out = tmp_path / "session"
    argv = ["run", "--device", "synthetic", "--protocol", "alpha-uptraining", "--out", str(out)]
    done = _signal_once_writing(argv, out / "metrics.csv", 2000, sig)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and f"biotrainer: stopped ({sig.name})" in done.stderr
    assert "the source ended" not in done.stderr  # the person stopped it, not the source
    assert Path(done.stdout.strip().splitlines()[-1]) == out.resolve()
    rec = load_session(out)
    assert rec.status == "completed" and rec.warnings == ()
    assert any(e.kind == "note" and f"stopped by {sig.name}" in e.text for e in rec.events)
    # stored as stopped before the protocol's end, not as a session that ran its protocol
    assert rec.meta.ended == "stopped" and rec.meta.extra["protocol_s"] < 60
    assert any(e.kind == "protocol" and "(stopped after " in e.text for e in rec.events)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["record", "--device", "nosuch", "--duration", "1"], "unknown device profile 'nosuch'"),
        (["record", "--device", "cyton", "--duration", "1"], "--serial-port"),
        (
            ["record", "--device", "synthetic", "--duration", "-1"],
            "--duration must be a positive number",
        ),
        (["replay", "/nonexistent/session"], "no session folder at /nonexistent/session"),
        (["replay", ".", "--speed", "0"], "--speed must be a positive number or 'max', not '0'"),
        (
            ["replay", ".", "--speed", "inf"],
            "--speed must be a positive number or 'max', not 'inf'",
        ),
        (["export", "/nonexistent/s", "--edf", "x.edf"], "no session folder at"),
    ],
)
def test_bad_arguments_give_one_clean_line(args: list[str], message: str, tmp_path: Path) -> None:
    r = _run(*args, "--data-dir", str(tmp_path)) if args[0] == "record" else _run(*args)
    assert r.returncode == 2
    assert message in _one_clean_line(r.stderr)
    assert list_sessions(tmp_path) == []  # no half-made session left behind


def test_unwritable_data_dir_refuses_to_record(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = _run("record", "--device", "synthetic", "--duration", "1", "--data-dir", str(blocker))
    assert r.returncode == 2
    assert "cannot create the data folder" in _one_clean_line(r.stderr)


def test_a_device_that_sends_nothing_is_said_and_exits_non_zero(tmp_path, monkeypatch, capsys):
    """`record` printed the folder and exited 0 after recording nothing at all."""
    import biotrainer.commands.run as run_command
    from biotrainer.cli import main

    sys.path.insert(0, str(Path(__file__).parent / "ui"))
    from fakes import FakeSource

    from biotrainer.clock import MonotonicClock

    class Silent(FakeSource):
        def start(self) -> None:
            super().start()
            self.go_silent()

    def silent(args, make_source, clock, speed):
        return Silent(MonotonicClock())

    monkeypatch.setattr(run_command, "live_source", silent)
    args = ["record", "--device", "synthetic", "--duration", "1"]
    assert main([*args, "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "biotrainer: nothing was recorded: " in err and "sent no sample in 1 s" in err
