"""The store survives a process killed (SIGKILL) in the middle of writing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from biotrainer.session.store import Store

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from biotrainer.session.store import Store

    store = Store.open(sys.argv[1])
    store.add_patient("K")
    folder = Path(sys.argv[1]) / "s"
    folder.mkdir()
    sid = store.add_session("K", folder, "p", "d").id
    i = 0
    while True:
        i += 1
        store.add_marker(sid, f"marker {i} " + "x" * 500, time_s=float(i))
        store.add_patient(f"K{i}", notes="n" * 2000)
        print(i, flush=True)  # committed
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_database_survives_sigkill_mid_write(data_dir, tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    committed = 0
    try:
        for line in proc.stdout:
            committed = int(line)
            if committed >= 150:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # while it keeps writing
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert committed >= 150
    with Store.open(data_dir) as store:
        assert store.integrity_check() == "ok"
        texts = [m.text for m in store.markers(1)]
        codes = {p.code for p in store.patients()}
        # every write reported as committed is there, in order; at most the one in flight more
        assert len(texts) >= committed
        assert [t.split()[1] for t in texts] == [str(i) for i in range(1, len(texts) + 1)]
        assert {f"K{i}" for i in range(1, committed + 1)} <= codes
        # and the store is still writable
        store.add_patient("after-kill")
