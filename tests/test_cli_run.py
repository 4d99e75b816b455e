"""`biotrainer run` at the end of its source."""

from __future__ import annotations

from biotrainer.cli import main
from biotrainer.session.folder import read_meta

#: As long as the eyes-open-closed scenario (6 x 60 s).
SAME_LENGTH = """name = "same"
feedback = "alpha"
[[phases]]
kind = "baseline"
duration_s = 180
[[phases]]
kind = "training"
duration_s = 180
"""


def test_a_source_as_long_as_the_protocol_is_not_said_to_end_it(tmp_path, capsys) -> None:
    """The scenario ends within a tick of the protocol: no "the protocol did not finish" note
    (the README's resonance example printed one, for 11.0 of 11.0 minutes)."""
    protocol = tmp_path / "same.toml"
    protocol.write_text(SAME_LENGTH)
    out = tmp_path / "rec"
    argv = ["run", "--device", "simulator-muse2", "--scenario", "eyes-open-closed"]
    assert main([*argv, "--speed", "max", "--protocol", str(protocol), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "did not finish" not in err
    assert "did not finish" not in (out / "events.csv").read_text()
    assert read_meta(out).ended == "finished"
    # a progress line every 10 protocol seconds, on the grid (before: 10.1, 20.2, 30.3...)
    times = [line.split(" s  ")[0].strip() for line in err.splitlines() if " s  " in line]
    assert len(times) >= 30 and times == [f"{10.0 * k:.1f}" for k in range(len(times))]


def test_a_broken_progress_pipe_does_not_stop_the_session(tmp_path) -> None:
    """`run ... 2>&1 | head -2`: the progress lines' reader goes away; the session runs to its
    end and the store is finished (the session stopped after 20 s with exit 1, its store
    entry left "recording")."""
    import os
    import subprocess
    import sys

    from biotrainer.session.store import Store

    data = tmp_path / "data"
    assert main(["patients", "add", "P-1", "--data-dir", str(data)]) == 0
    protocol = tmp_path / "same.toml"
    protocol.write_text(SAME_LENGTH)
    argv = ["run", "--device", "simulator-muse2", "--scenario", "eyes-open-closed", "--speed"]
    argv += ["max", "--protocol", str(protocol), "--patient", "P-1", "--data-dir", str(data)]
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "biotrainer.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=write_end,
        text=True,
    )
    os.close(write_end)
    with os.fdopen(read_end) as progress:
        progress.readline()  # one progress line, then the reader is gone
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert "session 1 registered for patient P-1" in stdout
    with Store.open(data) as store:
        rec = store.session(1)
    assert rec.status == "completed" and rec.duration_s >= 359
    assert rec.outcome == "completed" and not rec.ended_early
