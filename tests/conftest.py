"""Shared fixtures: real recordings in ../shared/data, a private temporary data dir, a CLI process
killed with SIGKILL mid-recording."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pylsl
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# liblsl reads its configuration once per process, on first use. Every test that touches LSL runs
# on this machine only, isolated from any other LSL traffic: resolution limited to the machine,
# 127.0.0.1 as the only peer, no IPv6, and a session id unique to this test run, so streams of
# other programs or machines are never seen and ours are never announced beyond the machine.
# Given as the file LSLAPICFG names, so the CLI processes tests start use it too (and biotrainer
# takes it for a user's own configuration: it leaves it as it is).
LSL_TEST_CONFIG = f"""
[log]
level = -2
[ports]
IPv6 = disable
[multicast]
ResolveScope = machine
KnownPeers = {{127.0.0.1}}
[lab]
SessionID = biotrainer-test-{os.getpid()}-{uuid.uuid4().hex[:8]}
"""
_LSL_CONFIG_DIR = tempfile.mkdtemp(prefix="biotrainer-test-lsl-")
atexit.register(shutil.rmtree, _LSL_CONFIG_DIR, ignore_errors=True)
LSL_TEST_CONFIG_FILE = Path(_LSL_CONFIG_DIR) / "lsl_api.cfg"
LSL_TEST_CONFIG_FILE.write_text(LSL_TEST_CONFIG)
os.environ["LSLAPICFG"] = str(LSL_TEST_CONFIG_FILE)
pylsl.set_config_content(LSL_TEST_CONFIG)  # in case this liblsl ignores LSLAPICFG

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    """Simulator renders go to a cache of the tests' own (BIOTRAINER_CACHE, inherited by the
    CLI processes tests start), never the user's: the tests' renders would push the user's
    out of the six kept. It lasts between runs in pytest's cache folder (a temporary folder
    when pytest's cache is off), so a second run does not render again."""
    cache = getattr(config, "cache", None)
    if cache is not None:
        folder = Path(cache.mkdir("biotrainer-simulator"))
    else:
        folder = Path(tempfile.mkdtemp(prefix="biotrainer-test-simulator-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    from biotrainer.acquisition.simulator import CACHE_ENV_VAR

    os.environ[CACHE_ENV_VAR] = str(folder)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real public recordings; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real recordings not found at {SHARED_DATA} (see ../shared/data/MANIFEST.md)")
    return SHARED_DATA


#: A 20-s protocol: a patient's session of a second or two at ``run --speed max``.
SHORT_PROTOCOL = """name = "short"
feedback = "alpha"
[[phases]]
kind = "baseline"
duration_s = 10
[[phases]]
kind = "training"
duration_s = 10
"""


@pytest.fixture(scope="session")
def short_run_argv() -> Callable[[Path, Path], list[str]]:
    """``argv(data, where)``: the arguments of a short ``biotrainer run`` of patient P-1 into
    the data folder ``data`` (the protocol file is written in the folder ``where``)."""

    def argv(data: Path, where: Path) -> list[str]:
        protocol = where / "short.toml"
        protocol.write_text(SHORT_PROTOCOL)
        out = ["run", "--device", "simulator-muse2", "--scenario", "eyes-open-closed"]
        out += ["--speed", "max", "--protocol", str(protocol), "--patient", "P-1"]
        return [*out, "--data-dir", str(data)]

    return argv


@pytest.fixture(autouse=True)
def _never_the_users_data(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the real user data folder: unless a test chooses one, the
    default data folder (BIOTRAINER_DATA, inherited by the CLI processes tests start) is an
    empty temporary folder."""
    monkeypatch.setenv("BIOTRAINER_DATA", str(tmp_path_factory.mktemp("default-data")))


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory, also exported as BIOTRAINER_DATA for code under test."""
    d = tmp_path / "biotrainer-data"
    monkeypatch.setenv("BIOTRAINER_DATA", str(d))
    return d


#: Allowed loss at the end of a killed recording: the 1-s flush interval + one 50-ms poll or tick
#: + scheduling slack on a loaded 2-core machine.
MAX_KILL_LOSS_S = 1.0 + 0.05 + 0.35

#: The recorder's flush interval (s): its first flush, which the kill helper waits for, comes at
#: least this long after the first sample.
FLUSH_INTERVAL_S = 1.0


@dataclass(frozen=True)
class KilledRun:
    """A ``biotrainer`` CLI process killed with SIGKILL while recording.

    Attributes
    ----------
    folder : Path
        The one session folder it was recording into.
    kill_time : float
        Unix time (s) of the kill (BrainFlow's synthetic board stamps samples with Unix time).
    loss_s : float
        ``kill_time`` minus the timestamp of the last sample on disk (default preset): the data
        lost to the kill.
    returncode : int
        The process's exit status (``-SIGKILL``).
    MAX_LOSS_S : float
        The loss allowed (:data:`MAX_KILL_LOSS_S`).
    min_duration_s : float
        The shortest recording the kill may leave: the kill came ``run_s`` after the first
        flush, itself at least :data:`FLUSH_INTERVAL_S` after the first sample, and all but
        ``MAX_LOSS_S`` of it is on disk. (``run_s`` alone left ~0.05 s of slack: a loss of
        1.05 s, allowed, failed it.)
    """

    MAX_LOSS_S: ClassVar[float] = MAX_KILL_LOSS_S

    folder: Path
    kill_time: float
    loss_s: float
    returncode: int
    min_duration_s: float


def _kill_mid_recording(
    args: Sequence[str], data: Path, run_s: float, start_timeout_s: float = 60.0
) -> KilledRun:
    """Start ``python -m biotrainer.cli *args`` (recording into ``data``), wait for its first
    raw-data flush, let it run ``run_s`` more seconds of real time, SIGKILL it and measure what
    the recording lost."""
    from biotrainer.session import list_sessions, load_session

    proc = subprocess.Popen(
        [sys.executable, "-m", "biotrainer.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        end = time.monotonic() + start_timeout_s
        while True:  # the first flush: the session is recording
            s = list_sessions(data)
            raw = s[0] / "raw_default.csv" if s else None
            if raw is not None and raw.is_file() and raw.stat().st_size > 0:
                break  # (the folder is made a moment before its raw file)
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < end, "the session never started recording"
            time.sleep(0.05)
        time.sleep(run_s)
        assert proc.poll() is None, proc.stderr.read().decode()
        kill_time = time.time()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (folder,) = list_sessions(data)
    last = float(load_session(folder).timestamps("default")[-1])
    min_duration_s = run_s + FLUSH_INTERVAL_S - MAX_KILL_LOSS_S
    return KilledRun(folder, kill_time, kill_time - last, proc.returncode, min_duration_s)


@pytest.fixture
def kill_mid_recording() -> Callable[..., KilledRun]:
    """``kill_mid_recording(args, data, run_s)`` -> :class:`KilledRun` (POSIX only)."""
    if sys.platform == "win32":
        pytest.skip("SIGKILL is POSIX")
    return _kill_mid_recording
