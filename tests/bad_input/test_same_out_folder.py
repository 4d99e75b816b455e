"""Two recordings started at once into one folder: the second is refused, the first untouched.

Two ``biotrainer record --out SAME`` started together both passed the "new or empty folder"
check, then both wrote ``session.json`` (the second replacing the first's) and one of them failed
on the raw files, or on the shared temporary metadata file: the second was not refused and the
first could fail. The folder is now claimed by creating its ``session.json`` exclusively: the
second recorder is refused before it writes anything, and the first records on. Two sessions
started in the same second under the data folder get two folders.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from badinputkit import LAYOUT
from badinputkit import one_line as _one_line

from biotrainer.acquisition.chunk import Chunk
from biotrainer.clock import SimulatedClock
from biotrainer.errors import RecordingError
from biotrainer.session import load_session
from biotrainer.session.recorder import Recorder

PRESET = LAYOUT.presets[0]
ALREADY = "is already being recorded"


def _chunk(k0: int, n: int = 64) -> Chunk:
    """``n`` samples of the default preset, from sample number ``k0`` (timestamps from 1000 s)."""
    a = np.zeros((PRESET.num_rows, n))
    k = np.arange(k0, k0 + n)
    a[0] = k % 256
    a[1] = np.sin(k / 10)
    a[PRESET.timestamp_row] = 1000.0 + k / PRESET.fs
    return Chunk(raw={"default": a}, signals=LAYOUT.split({"default": a}), received_at=0.0)


def _start(out: Path, who: str, clock: SimulatedClock) -> Recorder:
    return Recorder.create(LAYOUT, out=out, clock=clock, fsync=False, extra={"who": who})


def _record(recorder: Recorder, clock: SimulatedClock, chunks: range) -> None:
    for i in chunks:
        recorder.write(_chunk(i * 64))
        clock.advance(0.25)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _check_complete(folder: Path, who: str, chunks: int) -> None:
    rec = load_session(folder)
    assert rec.status == "completed" and rec.warnings == ()
    assert rec.meta.extra == {"who": who}
    assert rec.n_samples("default") == chunks * 64
    ts = rec.timestamps("default")
    assert np.allclose(np.diff(ts), 1 / PRESET.fs, atol=1e-5)  # every sample, once, in order
    assert sorted(p.name for p in folder.iterdir()) == [
        "events.csv",
        "raw_default.csv",
        "session.json",
    ]


@pytest.mark.parametrize("out_exists", [False, True], ids=["new-folder", "empty-folder"])
def test_a_second_recorder_in_a_folder_being_recorded_is_refused(tmp_path, out_exists) -> None:
    out = tmp_path / "same"
    if out_exists:
        out.mkdir()
    clock = SimulatedClock()
    first = _start(out, "first", clock)
    _record(first, clock, range(10))
    before = _files(out)
    # the second got past the "new or empty folder" check before the first made its files
    with pytest.raises(RecordingError, match=ALREADY) as info:
        Recorder(out, LAYOUT, clock=clock, fsync=False, extra={"who": "second"})
    assert str(info.value) == (
        f"cannot record into {out}: it is already being recorded (its session.json already "
        "exists). Choose a new folder with --out."
    )
    assert _files(out) == before  # not a byte changed
    _record(first, clock, range(10, 20))
    first.close()
    _check_complete(out, "first", 20)


def test_a_second_create_past_the_folder_check_is_refused(tmp_path, monkeypatch) -> None:
    import biotrainer.session.folder as folder

    out = tmp_path / "same"
    clock = SimulatedClock()
    first = _start(out, "first", clock)
    _record(first, clock, range(5))
    before = _files(out)
    monkeypatch.setattr(folder, "check_out_folder", lambda path: Path(path))  # passed earlier
    with pytest.raises(RecordingError, match=ALREADY):
        _start(out, "second", SimulatedClock())
    assert _files(out) == before
    _record(first, clock, range(5, 10))
    first.close()
    _check_complete(out, "first", 10)


def test_two_recorders_racing_for_one_folder(tmp_path) -> None:
    """Started together (threads released at once), over and over: exactly one records."""
    for round_ in range(20):
        out = tmp_path / f"race{round_}"
        barrier = threading.Barrier(2)
        won: list[tuple[str, Recorder, SimulatedClock]] = []
        refused: list[str] = []

        def start(who: str, out: Path = out, barrier=barrier, won=won, refused=refused) -> None:
            clock = SimulatedClock()
            barrier.wait()
            try:
                won.append((who, _start(out, who, clock), clock))
            except RecordingError as exc:
                refused.append(str(exc))

        threads = [threading.Thread(target=start, args=(w,)) for w in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(won) == 1 and len(refused) == 1, (won, refused)
        assert ALREADY in refused[0] or "already exists" in refused[0]
        who, recorder, clock = won[0]
        _record(recorder, clock, range(4))
        recorder.close()
        _check_complete(out, who, 4)


def test_two_sessions_started_in_the_same_second_get_two_folders(tmp_path) -> None:
    """Under the data folder the name is the start second: the second one gets '-2'."""
    started = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    recorders = []
    for who in ("first", "second"):
        clock = SimulatedClock()
        r = Recorder.create(
            LAYOUT,
            data_directory=tmp_path,
            clock=clock,
            fsync=False,
            wall_clock=lambda: started,
            extra={"who": who},
        )
        recorders.append((who, r, clock))
    names = [r.path.name for _, r, _ in recorders]
    assert names == ["20250101-120000-muse2", "20250101-120000-muse2-2"]
    for who, r, clock in recorders:
        _record(r, clock, range(3))
        r.close()
        _check_complete(r.path, who, 3)


def test_two_record_commands_into_one_folder(tmp_path) -> None:
    """Two ``biotrainer record --out SAME`` started at the same moment, as processes."""
    out = tmp_path / "same"
    argv = [sys.executable, "-m", "biotrainer.cli", "record", "--device", "simulator"]
    argv += ["--duration", "2", "--out", str(out), "--data-dir", str(tmp_path / "data")]
    procs = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        done = [(p.returncode, *p.communicate(timeout=120)) for p in procs]
        done = [(p.returncode, o, e) for p, (_, o, e) in zip(procs, done, strict=True)]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    done.sort(key=lambda d: d[0])
    (ok_code, ok_out, ok_err), (refused_code, _, refused_err) = done
    assert ok_code == 0, ok_err
    assert Path(ok_out.strip()) == out.resolve()
    line = _one_line(refused_code, refused_err)
    assert f"cannot record into {out}: " in line
    assert ALREADY in line or "it already exists and is not an empty folder" in line
    rec = load_session(out)
    assert rec.status == "completed" and rec.warnings == ()
    meta = json.loads((out / "session.json").read_text())
    assert meta["extra"]["recorded_by"] == "biotrainer record"
    fs = rec.layout.preset("default").fs
    assert 1.5 * fs <= rec.n_samples("default") <= 3.0 * fs
    assert rec.meta.samples["default"] == rec.n_samples("default")
