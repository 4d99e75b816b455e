"""An LSL sender that quits mid-session and comes back (real LSL over loopback).

A headset app restarted by the patient, a laptop's Bluetooth bridge that crashes: the stream
disappears and a new one of the same name appears, often with another source id (or none),
which liblsl's own recovery does not follow. `biotrainer run` says "signal lost", looks for the
stream again by name and goes on with the new sender; the recording marks the gap.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time

import numpy as np
import pylsl

from biotrainer.cli import main
from biotrainer.commands.run import reconnects
from biotrainer.session import load_session

FS = 250.0
CHUNK = 25  # samples per push: 0.1 s
#: Longest the session may take before the test stops it (SIGINT, handled by `run`).
DEADLINE_S = 60.0

PROTOCOL = """name = "short"
feedback = "alpha"
[[phases]]
kind = "baseline"
duration_s = 8
"""


def _sender(name: str, source_id: str, seconds: float, stop: threading.Event) -> None:
    """A 4-channel EEG sender pushing 10 Hz alpha in real time for ``seconds`` (or until
    ``stop``), then gone."""
    info = pylsl.StreamInfo(name, "EEG", 4, FS, pylsl.cf_float32, source_id)
    outlet = pylsl.StreamOutlet(info)
    k, start = 0, time.monotonic()
    while time.monotonic() - start < seconds and not stop.is_set():
        t = (k + np.arange(CHUNK)) / FS
        x = 20.0 * np.sin(2 * np.pi * 10.0 * t)[:, None] + np.arange(4)[None, :]
        outlet.push_chunk(x.astype(np.float32))
        k += CHUNK
        time.sleep(max(0.0, start + k / FS - time.monotonic()))
    del outlet


def test_an_lsl_input_is_looked_for_again_after_a_drop() -> None:
    args = argparse.Namespace(lsl_name="Muse-1234", lsl_type=None, replay=None, device=None)
    assert reconnects(args, 1.0)
    assert not reconnects(args, 2.0)  # (refused elsewhere: LSL streams live sessions only)


def test_run_goes_on_with_a_sender_back_under_another_source_id(tmp_path, capsys, unique):
    """The first sender streams 4 s and quits; 1.5 s later another one of the same name but
    another source id starts. The session says "signal lost", then takes the new sender on and
    ends with its protocol; the recording holds both senders' samples and the gap."""
    name = f"back-{unique}"
    protocol = tmp_path / "short.toml"
    protocol.write_text(PROTOCOL)
    stop = threading.Event()

    def senders() -> None:
        _sender(name, f"{name}-first", 4.0, stop)
        time.sleep(1.5)
        _sender(name, f"{name}-second", DEADLINE_S, stop)

    sending = threading.Thread(target=senders, daemon=True)
    sending.start()
    # (the old code waited for ever: the test ends the session itself, as Ctrl-C would)
    watchdog = threading.Timer(DEADLINE_S, os.kill, (os.getpid(), signal.SIGINT))
    watchdog.start()
    out = tmp_path / "rec"
    try:
        argv = ["run", "--lsl-name", name, "--protocol", str(protocol), "--out", str(out)]
        code = main([*argv, "--data-dir", str(tmp_path / "data")])
    finally:
        watchdog.cancel()
        stop.set()
        sending.join(10.0)
    err = capsys.readouterr().err
    assert code == 0, err
    assert "stopped (SIGINT)" not in err, err
    lost = err.index("biotrainer: signal lost: no new samples")
    back = err.index("biotrainer: signal back after ")
    assert lost < back
    rec = load_session(out)
    kinds = [e.kind for e in rec.events]
    assert "reconnected" in kinds and "gap" in kinds, kinds
    ts = rec.timestamps("default")
    jump = int(np.argmax(np.diff(ts)))
    assert ts[jump + 1] - ts[jump] >= 1.5  # the sender's absence is kept in the timestamps
    gaps = [e.time for e in rec.events if e.kind == "gap"]
    assert any(abs(t - ts[jump]) < 1e-3 for t in gaps), (gaps, ts[jump])
    assert jump + 1 >= FS  # the first sender's last seconds (found after its start)
    assert ts.size - (jump + 1) >= 5 * FS  # and the second's, to the protocol's end
