"""A recording process killed with SIGKILL leaves a readable recording missing at most ~1 s."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import numpy as np
import pytest

from biotrainer.session import load_session


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_loses_at_most_about_one_second(tmp_path: Path, kill_mid_recording) -> None:
    data = tmp_path / "data"
    killed = kill_mid_recording(
        ["record", "--device", "synthetic", "--duration", "60", "--data-dir", str(data)],
        data,
        run_s=3.0,  # let it record a few more seconds in real time
        start_timeout_s=30,
    )
    assert killed.returncode == -signal.SIGKILL
    rec = load_session(killed.folder)
    assert rec.interrupted and rec.status == "interrupted"
    ts = rec.timestamps("default")
    fs = rec.layout.preset("default").fs
    # all but at most ~1 s of the end is on disk ...
    assert killed.loss_s <= killed.MAX_LOSS_S
    assert rec.duration_s >= killed.min_duration_s
    # ... and nothing is missing in between: the sample count matches the time span
    assert rec.n_samples("default") == pytest.approx(rec.duration_s * fs, rel=0.03)
    assert np.all(np.diff(ts) >= 0)
