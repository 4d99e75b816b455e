"""`biotrainer run` killed with SIGKILL mid-session: the recording, the store and the report hold.

(tests/session/test_sigkill.py does the same for `biotrainer record`.)
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from biotrainer.session import load_session
from biotrainer.session.store import DB_FILE, Store

CLI = [sys.executable, "-m", "biotrainer.cli"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_run_killed_mid_session_stays_readable_listed_and_reportable(
    tmp_path: Path, kill_mid_recording
) -> None:
    data = tmp_path / "data"
    r = _cli("patients", "add", "P1", "--data-dir", str(data))
    assert r.returncode == 0, r.stderr
    killed = kill_mid_recording(
        ["run", "--device", "synthetic", "--protocol", "alpha-uptraining",
         "--patient", "P1", "--data-dir", str(data)],
        data,
        run_s=4.0,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL

    # the recording: readable, interrupted, at most ~1 s lost, nothing missing in between
    folder = killed.folder
    rec = load_session(folder)
    assert rec.interrupted
    ts = rec.timestamps("default")
    assert 0 <= killed.loss_s <= killed.MAX_LOSS_S
    assert rec.duration_s >= killed.min_duration_s
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
