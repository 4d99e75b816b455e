"""The trainer window as `biotrainer gui` runs it, in a process of its own: SIGTERM (logout,
shutdown, kill) and SIGHUP (the terminal closed) close it as Ctrl-C does, and the session
running in it is stopped and closed, not left "recording"."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from biotrainer.session.folder import read_meta

FAKES = Path(__file__).resolve().parent

#: The trainer on a fake device in real time, run by exec_until_closed; with "session" a
#: session starts at once and its folder is printed once samples are recorded.
SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
from PySide6.QtCore import QSettings, QTimer
from biotrainer.engine.protocol import load_protocol
from biotrainer.ui.app import application, exec_until_closed
from biotrainer.ui.trainer_window import TrainerWindow
from fakes import FakeSource

app = application()
window = TrainerWindow(
    lambda: FakeSource(n_eeg=4),
    load_protocol("alpha-uptraining"),
    data_dir=sys.argv[2],
    settings=QSettings(sys.argv[2] + "/trainer.ini", QSettings.Format.IniFormat),
    ask_ratings=False,
    patient_view_factory=lambda clock: None,
)
window.show()

def started():
    if sys.argv[3] != "session":
        print("idle", flush=True)
    elif window.updates:
        print(window.session_folder, flush=True)
    else:
        QTimer.singleShot(50, started)

if sys.argv[3] == "session":
    QTimer.singleShot(0, window.start_session)
QTimer.singleShot(100, started)
print("exit", exec_until_closed(app, window, sys.argv[2]), flush=True)
"""


@pytest.mark.parametrize(
    ("sig", "mode"),
    [(signal.SIGTERM, "session"), (signal.SIGHUP, "session"), (signal.SIGTERM, "idle")],
)
def test_sigterm_and_sighup_close_the_window_and_its_session(
    tmp_path: Path, sig: signal.Signals, mode: str
) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "BIOTRAINER_DATA": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(FAKES), str(tmp_path), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first = proc.stdout.readline().strip()  # the session records (or the window is up)
        assert first, proc.stderr.read()
        time.sleep(0.3)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err  # (not killed by the signal: -15, -1)
    assert out.strip().endswith("exit 0") and "Traceback" not in err
    if mode == "session":
        meta = read_meta(Path(first))
        assert meta.status == "completed" and meta.ended == "stopped"
