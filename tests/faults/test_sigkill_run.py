"""`biotrainer run` killed with SIGKILL mid-session: the recording, the store and the report hold.

(tests/session/test_sigkill.py does the same for `biotrainer record`.)
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from biotrainer.session import list_sessions, load_session
from biotrainer.session.store import DB_FILE, Store

CLI = [sys.executable, "-m", "biotrainer.cli"]

#: The 1-s flush interval + one 50-ms tick + scheduling slack on a loaded 2-core machine.
MAX_LOSS_S = 1.0 + 0.05 + 0.35


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_run_killed_mid_session_stays_readable_listed_and_reportable(tmp_path: Path) -> None:
    data = tmp_path / "data"
    r = _cli("patients", "add", "P1", "--data-dir", str(data))
    assert r.returncode == 0, r.stderr
    proc = subprocess.Popen(
        [*CLI, "run", "--device", "synthetic", "--protocol", "alpha-uptraining",
         "--patient", "P1", "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        end = time.monotonic() + 60
        while True:  # wait for the first flush, then let it run ~4 s of real time
            s = list_sessions(data)
            if s and (s[0] / "raw_default.csv").stat().st_size > 0:
                break
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < end, "the session never started recording"
            time.sleep(0.05)
        time.sleep(4.0)
        assert proc.poll() is None, proc.stderr.read().decode()
        kill_time = time.time()  # BrainFlow's synthetic board stamps samples with Unix time
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    # the recording: readable, interrupted, at most ~1 s lost, nothing missing in between
    (folder,) = list_sessions(data)
    rec = load_session(folder)
    assert rec.interrupted
    ts = rec.timestamps("default")
    assert 0 <= kill_time - ts[-1] <= MAX_LOSS_S
    assert rec.duration_s >= 4.0
    fs = rec.layout.preset("default").fs
    assert rec.n_samples("default") == pytest.approx(rec.duration_s * fs, rel=0.03)
    assert np.all(np.diff(ts) > 0)
    assert any(e.kind == "protocol" and "started" in e.text for e in rec.events)

    # the store: consistent, the session registered and interrupted
    con = sqlite3.connect(data / DB_FILE)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()
    with Store.open(data) as store:
        sessions = store.sessions()
        assert len(sessions) == 1
        session = sessions[0]
        assert Path(session.folder).resolve() == folder.resolve()

    r = _cli("sessions", "--data-dir", str(data))
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if str(session.id) in ln.split()[:1])
    assert "interrupted" in line

    pdf = tmp_path / "x.pdf"
    r = _cli("report", str(session.id), "--out", str(pdf), "--data-dir", str(data))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5000
