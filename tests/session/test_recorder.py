"""Recorder: chunks in, BrainFlow files + session.json + events.csv out, flushed <= 1 s."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest
from brainflow.data_filter import DataFilter
from sessionkit import MUSE2, T0, chunks_of, fixed_wall_clock, make_raw, record_arrays

from biotrainer.acquisition.chunk import Chunk
from biotrainer.clock import SimulatedClock
from biotrainer.errors import RecordingError
from biotrainer.session import (
    EVENT_GAP,
    STATUS_COMPLETED,
    STATUS_RECORDING,
    Recorder,
    list_sessions,
    load_session,
    raw_file_name,
    read_meta,
)
from biotrainer.session.rawfile import read_raw


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_chunks_in_files_out_exactly(data_dir: Path) -> None:
    raw = make_raw(MUSE2, 5.0)
    rec = record_arrays(MUSE2, raw)
    assert rec.path.parent == data_dir / "sessions"
    loaded = load_session(rec.path)
    assert loaded.status == STATUS_COMPLETED and not loaded.interrupted
    for p in MUSE2.presets:
        assert loaded.raw[p.preset].shape == raw[p.preset].shape
        np.testing.assert_allclose(loaded.raw[p.preset], raw[p.preset], rtol=0, atol=1e-6)
        # The files are BrainFlow's own format: BrainFlow reads them back identically.
        bf = DataFilter.read_file(str(rec.path / raw_file_name(p.preset)))
        np.testing.assert_allclose(bf, loaded.raw[p.preset], rtol=0, atol=1e-6)
    meta = read_meta(rec.path)
    assert meta.start_timestamp == pytest.approx(T0)
    assert meta.end_timestamp == pytest.approx(
        max(float(a[MUSE2.preset(k).timestamp_row, -1]) for k, a in raw.items())
    )
    assert meta.samples == {k: a.shape[1] for k, a in raw.items()}
    assert meta.layout == MUSE2
    assert meta.sampling_rates == {"default": 256.0, "auxiliary": 52.0, "ancillary": 64.0}
    d = json.loads((rec.path / "session.json").read_text())
    assert {c["label"] for c in d["channels"]} >= {"EEG AF7", "PPG ir", "ACCEL z"}
    assert d["software"]["version"] and d["brainflow_version"]
    assert d["start"]["utc"].startswith("2024-05-06T07:08:09")


def test_appends_across_flushes_and_lags_at_most_the_flush_interval(data_dir: Path) -> None:
    raw = make_raw(MUSE2, 6.0)
    clock = SimulatedClock()
    rec = Recorder.create(MUSE2, clock=clock, fsync=False, flush_interval=1.0)
    path = rec.path / raw_file_name("default")
    sizes = []
    for chunk in chunks_of(MUSE2, raw, 0.05):
        rec.write(chunk)
        clock.advance(0.05)
        on_disk = read_raw(path, 8).data.shape[1]
        assert on_disk == rec.samples_written["default"]
        # never more than ~1 s (+ one chunk) of samples only in memory
        assert rec.samples_received["default"] - on_disk <= 256 * 1.05 + 13
        sizes.append(on_disk)
    flushes = np.unique(sizes)
    assert len(flushes) >= 5  # several appends, each growing the same file
    rec.close()
    np.testing.assert_allclose(read_raw(path, 8).data, raw["default"], atol=1e-6)


def test_a_slow_disk_does_not_stretch_the_flush_interval(data_dir: Path, monkeypatch) -> None:
    """Syncs taking 0.1 s each (a slow or busy disk) do not delay the next flush: the interval
    runs from the start of a flush (from its end, a killed process lost 1 s + the syncs)."""
    import biotrainer.session.recorder as recorder_module

    clock = SimulatedClock()
    monkeypatch.setattr(recorder_module, "_fsync", lambda path: clock.advance(0.1))
    rec = Recorder.create(MUSE2, clock=clock, fsync=True, flush_interval=1.0)
    starts, written = [], 0
    for chunk in chunks_of(MUSE2, make_raw(MUSE2, 8.0), 0.05):
        t = clock.now()
        rec.write(chunk)
        if rec.samples_written["default"] > written:  # flushed in this write
            starts.append(t)
            written = rec.samples_written["default"]
        clock.advance(0.05)
    rec.close()
    assert len(starts) >= 4
    assert np.diff(starts).max() <= 1.0 + 0.05 + 1e-9  # the interval + one write's step


def test_private_permissions(tmp_path: Path) -> None:
    root = tmp_path / "store"
    rec = record_arrays(MUSE2, make_raw(MUSE2, 1.5), data_directory=root)
    assert _mode(root) == 0o700
    assert _mode(root / "sessions") == 0o700
    assert _mode(rec.path) == 0o700
    files = list(rec.path.iterdir())
    assert {f.name for f in files} >= {
        "session.json",
        "events.csv",
        "raw_default.csv",
        "raw_auxiliary.csv",
        "raw_ancillary.csv",
    }
    for f in files:
        assert _mode(f) == 0o600, f


def test_data_dir_from_env_or_override_and_unique_names(data_dir: Path, tmp_path: Path) -> None:
    a = record_arrays(MUSE2, make_raw(MUSE2, 1.0))
    b = record_arrays(MUSE2, make_raw(MUSE2, 1.0))
    assert a.path.parent == b.path.parent == data_dir / "sessions"
    assert re.fullmatch(r"20240506-070809-muse2", a.path.name)
    assert b.path.name == a.path.name + "-2"
    assert list_sessions() == [a.path, b.path]
    other = tmp_path / "elsewhere"
    c = record_arrays(MUSE2, make_raw(MUSE2, 1.0), data_directory=other)
    assert c.path.parent == other / "sessions"
    out = tmp_path / "exact"
    d = record_arrays(MUSE2, make_raw(MUSE2, 1.0), out=out)
    assert d.path == out and (out / "session.json").is_file()


def test_refuses_unwritable_or_used_folders(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(RecordingError, match="cannot create the data folder"):
        Recorder.create(MUSE2, data_directory=blocker / "data")
    used = tmp_path / "used"
    used.mkdir()
    (used / "something").write_text("x")
    with pytest.raises(RecordingError, match="not an empty folder"):
        Recorder.create(MUSE2, out=used)


def test_events_round_trip_with_awkward_text_and_gaps(data_dir: Path) -> None:
    raw = make_raw(MUSE2, 4.0)
    # A 3-s hole in the default preset's timestamps (device dropped out).
    raw["default"][6, 512:] += 3.0
    texts = [
        ("marker", 'eyes "closed", relax'),
        ("note", "line one\nline two"),
        ("note", "bad \udcff bytes ünïcødé"),
    ]
    rec = record_arrays(MUSE2, raw, events=tuple((T0 + i, k, t) for i, (k, t) in enumerate(texts)))
    loaded = load_session(rec.path)
    gaps = [e for e in loaded.events if e.kind == EVENT_GAP]
    assert len(gaps) == 1 and gaps[0].time == pytest.approx(T0 + 511 / 256)
    assert "3.0" in gaps[0].text
    mine = [e for e in loaded.events if e.kind != EVENT_GAP]
    assert [(e.kind, e.text.replace("?", "\udcff")) for e in mine] == texts
    assert [e.time for e in mine] == [T0, T0 + 1, T0 + 2]


def test_metrics_csv_shares_the_appender(data_dir: Path) -> None:
    clock = SimulatedClock()
    rec = Recorder.create(MUSE2, clock=clock, fsync=False)
    metrics = rec.open_csv("metrics.csv", ("time", "score"))
    metrics.append((1.5, 0.25))
    rec.write(next(chunks_of(MUSE2, make_raw(MUSE2, 1.0), 0.5)))
    clock.advance(1.0)
    rec.write(Chunk())
    # flushed with the raw data, before close
    assert (rec.path / "metrics.csv").read_text() == "time,score\n1.5,0.25\n"
    rec.close()
    assert _mode(rec.path / "metrics.csv") == 0o600


def test_rejects_chunks_that_do_not_fit_the_layout(data_dir: Path) -> None:
    rec = Recorder.create(MUSE2, clock=SimulatedClock(), fsync=False)
    with pytest.raises(RecordingError, match="rows"):
        rec.write(Chunk(raw={"default": np.zeros((5, 3))}))
    with pytest.raises(RecordingError, match="preset 'other'"):
        rec.write(Chunk(raw={"other": np.zeros((8, 3))}))
    rec.close()


def test_exception_leaves_the_session_interrupted(data_dir: Path) -> None:
    clock = SimulatedClock()
    r = Recorder.create(MUSE2, clock=clock, fsync=False, wall_clock=fixed_wall_clock())
    with pytest.raises(RuntimeError), r:
        for chunk in chunks_of(MUSE2, make_raw(MUSE2, 2.0), 0.1):
            r.write(chunk)
            clock.advance(0.1)
        raise RuntimeError("boom")
    loaded = load_session(r.path)
    assert read_meta(r.path).status == STATUS_RECORDING
    assert loaded.interrupted and loaded.status == "interrupted"
    assert loaded.n_samples("default") == 512  # the buffered tail was still flushed


def test_connection_details_kept_without_identifiers(data_dir: Path) -> None:
    from biotrainer.acquisition.factory import ConnectionParams

    conn = ConnectionParams(serial_port="/dev/ttyUSB0", mac_address="00:55:DA:B3:12:34")
    rec = Recorder.create(MUSE2, clock=SimulatedClock(), fsync=False, connection=conn)
    rec.close()
    text = (rec.path / "session.json").read_text()
    assert "/dev/ttyUSB0" in text and "00:55:DA" not in text
    assert read_meta(rec.path).connection == {
        "serial_port": "/dev/ttyUSB0",
        "mac_address": "(given)",
    }


def test_an_existing_data_folder_keeps_its_permissions(tmp_path: Path) -> None:
    """A shared folder chosen as the data folder (here world-writable with the sticky bit, as
    /tmp) was made 0700 by every command; what biotrainer makes inside it stays owner-only."""
    root = tmp_path / "shared"
    root.mkdir()
    os.chmod(root, 0o1777)
    rec = record_arrays(MUSE2, make_raw(MUSE2, 1.0), data_directory=root)
    assert stat.S_IMODE(root.stat().st_mode) == 0o1777
    assert _mode(root / "sessions") == 0o700 and _mode(rec.path) == 0o700
    assert all(_mode(f) == 0o600 for f in rec.path.iterdir())


@pytest.mark.parametrize("kind", ["dangling", "loop"])
def test_a_data_folder_link_to_nothing_is_named_as_such(tmp_path: Path, kind: str) -> None:
    """A dangling link or a loop of links said "cannot create the data folder: File exists"."""
    if kind == "dangling":
        (tmp_path / "data").symlink_to(tmp_path / "nowhere")
    else:
        (tmp_path / "data").symlink_to(tmp_path / "other")
        (tmp_path / "other").symlink_to(tmp_path / "data")
    with pytest.raises(RecordingError, match="is a link to nothing"):
        Recorder.create(MUSE2, data_directory=tmp_path / "data")


def test_a_gap_inside_one_chunk_is_marked(tmp_path: Path) -> None:
    """A process suspended mid-session (a laptop lid closed, SIGSTOP) gets, after it resumes,
    one chunk holding samples from before and after the pause: the jump inside it was not
    logged (only jumps between chunks were)."""
    raw = make_raw(MUSE2, 4.0)
    raw["default"][6, 512:] += 20.0
    rec = Recorder.create(MUSE2, out=tmp_path / "rec", clock=SimulatedClock(), fsync=False)
    rec.write(Chunk(raw=raw, signals=MUSE2.split(raw), received_at=0.0))  # one chunk, all of it
    rec.close()
    gaps = [e for e in load_session(rec.path).events if e.kind == EVENT_GAP]
    assert len(gaps) == 1 and gaps[0].time == pytest.approx(T0 + 511 / 256)
    assert "no samples for 20.0" in gaps[0].text


def test_a_replay_faster_than_real_time_keeps_at_most_a_second_of_samples_in_memory(
    data_dir: Path,
) -> None:
    """At ``--speed 20`` the clock (wall time) passes 1 s while 20 s of samples arrive: flushed
    by the clock alone, a SIGKILL lost up to 20 s of the recording. The buffered samples'
    own timestamps bound what is held too."""
    raw = make_raw(MUSE2, 6.0)
    clock = SimulatedClock()
    rec = Recorder.create(MUSE2, clock=clock, fsync=False, flush_interval=1.0)
    path = rec.path / raw_file_name("default")
    for chunk in chunks_of(MUSE2, raw, 0.05):
        rec.write(chunk)
        clock.advance(0.05 / 20)  # 20 times faster than real time
        on_disk = read_raw(path, 8).data.shape[1]
        assert rec.samples_received["default"] - on_disk <= 256 * 1.05 + 13
    assert rec.samples_written["default"] >= 5 * 256
    rec.close()
    np.testing.assert_allclose(read_raw(path, 8).data, raw["default"], atol=1e-6)


def test_a_preset_whose_clock_lags_another_does_not_flush_at_every_write(data_dir: Path) -> None:
    """The span held is counted per preset: a preset stamped 5 s behind another (its own
    clock) is no reason to write and sync every chunk."""
    raw = make_raw(MUSE2, 6.0)
    aux = MUSE2.preset("auxiliary")
    raw["auxiliary"][aux.timestamp_row] -= 5.0
    clock = SimulatedClock()
    rec = Recorder.create(MUSE2, clock=clock, fsync=False, flush_interval=1.0)
    flushes, written = 0, 0
    for chunk in chunks_of(MUSE2, raw, 0.05):
        rec.write(chunk)
        clock.advance(0.05)
        if rec.samples_written["default"] > written:
            flushes, written = flushes + 1, rec.samples_written["default"]
    rec.close()
    assert 4 <= flushes <= 7, flushes  # about one a second of the 6 s
