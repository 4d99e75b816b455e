"""A recording process killed with SIGKILL leaves a readable recording missing at most ~1 s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from biotrainer.session import list_sessions, load_session

#: Allowed loss at the end: the 1-s flush interval + one 50-ms poll + scheduling slack on a
#: loaded 2-core machine.
MAX_LOSS_S = 1.0 + 0.05 + 0.35


def _wait_for(predicate, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for the recorder")
        time.sleep(0.05)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_loses_at_most_about_one_second(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "biotrainer.cli", "record", "--device", "synthetic",
         "--duration", "60", "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:

        def first_flush_done() -> bool:
            s = list_sessions(data)
            return bool(s) and (s[0] / "raw_default.csv").stat().st_size > 0

        _wait_for(first_flush_done, timeout=30)
        time.sleep(3.0)  # let it record a few more seconds in real time
        assert proc.poll() is None, proc.stderr.read().decode()
        kill_time = time.time()  # BrainFlow's synthetic board stamps samples with Unix time
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    (folder,) = list_sessions(data)
    rec = load_session(folder)
    assert rec.interrupted and rec.status == "interrupted"
    ts = rec.timestamps("default")
    fs = rec.layout.preset("default").fs
    # all but at most ~1 s of the end is on disk ...
    assert kill_time - ts[-1] <= MAX_LOSS_S
    assert rec.duration_s >= 3.0
    # ... and nothing is missing in between: the sample count matches the time span
    assert rec.n_samples("default") == pytest.approx(rec.duration_s * fs, rel=0.03)
    assert np.all(np.diff(ts) >= 0)
