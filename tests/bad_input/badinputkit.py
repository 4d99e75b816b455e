"""What the bad-input tests share: a small recorded session, a data folder with a patient and
a session recorded by ``biotrainer run``, a fingerprint of a data folder (to show a refused
command lost or changed nothing), and the one-line check of a refusal."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout
from biotrainer.clock import SimulatedClock
from biotrainer.session.recorder import Recorder
from biotrainer.session.store import Store

FS = 256.0
LAYOUT = SourceLayout(
    device="muse2",
    board_id=38,
    presets=(PresetLayout("default", FS, 8, 6, 7),),
    groups=(ChannelGroup("eeg", "default", (1, 2, 3, 4), ("TP9", "AF7", "AF8", "TP10"), "uV"),),
)


def record_session(folder: Path, seconds: float = 12.0, layout: SourceLayout = LAYOUT) -> Path:
    """A completed session folder of EEG-like samples (10-Hz alpha on noise) with a marker."""
    clock = SimulatedClock(1000.0)
    rng = np.random.default_rng(1)
    rec = Recorder(folder, layout, clock=clock, fsync=False)
    p = layout.presets[0]
    n_total = int(seconds * p.fs)
    step = int(p.fs / 10)
    for k0 in range(0, n_total, step):
        k = np.arange(k0, min(k0 + step, n_total))
        t = 1000.0 + k / p.fs
        a = np.zeros((p.num_rows, k.size))
        a[0] = k % 256
        for row in layout.groups[0].rows:
            a[row] = np.round(10 * np.sin(2 * np.pi * 10 * t + row) + rng.normal(0, 3, k.size), 6)
        a[p.timestamp_row] = np.round(t, 6)
        clock.set(t[-1])
        rec.write(Chunk(raw={p.preset: a}, signals=layout.split({p.preset: a}), received_at=t[-1]))
    rec.add_event("marker", "eyes closed")
    rec.close()
    return folder


def fingerprint(data: Path) -> tuple:
    """Every file of every session folder (bytes), and what the store holds: patients,
    sessions and self-reports."""
    files = sorted(p for p in (data / "sessions").rglob("*") if p.is_file())
    digest = tuple(
        (str(p.relative_to(data)), hashlib.sha256(p.read_bytes()).hexdigest()) for p in files
    )
    with Store.open(data) as store:
        patients = tuple((p.code, p.name, p.notes) for p in store.patients())
        sessions = tuple((s.id, s.status, str(s.folder)) for s in store.sessions())
        reports = tuple(
            (s.id, m, r.pain, r.stress, r.note)
            for s in store.sessions()
            for m, r in sorted(store.self_reports(s.id).items())
        )
    return digest, patients, sessions, reports


#: A 40-s protocol for the sessions :func:`run_recorded_session` records.
SHORT_PROTOCOL = """name = "short"
feedback = "alpha"
[[phases]]
kind = "baseline"
duration_s = 20
[[phases]]
kind = "training"
duration_s = 20
"""


def run_recorded_session(root: Path) -> dict[str, Path]:
    """A data folder ``root / "data"`` with patient P1 and one session of a short protocol
    recorded and registered by ``biotrainer run`` on the accelerated simulator: ``{"data":
    the data folder, "folder": the session folder, "sid": its id (as a path, for argv)}``."""
    from biotrainer.cli import main

    data = root / "data"
    (root / "short.toml").write_text(SHORT_PROTOCOL)
    assert main(["patients", "add", "P1", "--data-dir", str(data)]) == 0
    argv = ["run", "--device", "simulator-muse2", "--speed", "max", "--patient", "P1"]
    assert main([*argv, "--protocol", str(root / "short.toml"), "--data-dir", str(data)]) == 0
    with Store.open(data) as store:
        (rec,) = store.sessions()
    return {"data": data, "folder": Path(rec.folder), "sid": Path(str(rec.id))}


def one_line(code: int, err: str) -> str:
    """The one ``biotrainer: `` line of a refused command (exit code 2, no traceback)."""
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("biotrainer: "), err
    assert code == 2
    return lines[0]
