"""Replay yields exactly the recorded samples: FileSource (simulated time), BrainFlow playback."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from sessionkit import MUSE2, T0, make_raw, record_arrays

from biotrainer.acquisition.file_source import FileSource
from biotrainer.acquisition.source import SourceState
from biotrainer.clock import MonotonicClock, SimulatedClock
from biotrainer.errors import RecordingError
from biotrainer.session import load_session
from biotrainer.session.replay import open_replay


def _drain(source, clock, step: float, limit: int = 100_000):
    parts: dict[str, list[np.ndarray]] = {p.preset: [] for p in source.layout.presets}
    states = []
    for _ in range(limit):
        clock.advance(step)
        chunk = source.poll()
        due = T0 + (clock.now() - 0.0) * source.speed
        for preset, a in chunk.raw.items():
            ts = a[source.layout.preset(preset).timestamp_row]
            assert np.all(ts <= due + 1e-9)  # nothing served before it is due
            parts[preset].append(a)
        states.append(source.state)
        if source.state is SourceState.ENDED:
            break
    return {k: np.concatenate(v, axis=1) for k, v in parts.items()}, states


def test_ten_minutes_served_exactly_in_simulated_time(tmp_path: Path) -> None:
    raw = make_raw(MUSE2, 600.0)
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s", dt=0.5).path
    clock = SimulatedClock()
    source = FileSource(folder, clock, speed=8.0, block_lines=1000)
    source.prepare()
    assert source.layout == MUSE2
    assert source.duration_s == pytest.approx(599 + 255 / 256, abs=1e-6)
    source.start()
    got, states = _drain(source, clock, step=0.05)
    for p in MUSE2.presets:
        np.testing.assert_array_equal(got[p.preset], load_session(folder).raw[p.preset])
        np.testing.assert_allclose(got[p.preset], raw[p.preset], atol=1e-6)
    assert states[-1] is SourceState.ENDED
    assert SourceState.SILENT not in states
    # 600 recording seconds at speed 8 take 75 clock seconds
    assert clock.now() == pytest.approx(600 / 8, abs=0.1)
    source.stop()
    source.release()
    assert source.state is SourceState.RELEASED


def test_speed_decides_how_much_is_due(tmp_path: Path) -> None:
    folder = record_arrays(MUSE2, make_raw(MUSE2, 20.0), out=tmp_path / "s").path
    clock = SimulatedClock(100.0)
    source = FileSource(folder, clock, speed=4.0)
    source.start()
    assert source.poll().raw["default"].shape[1] == 1  # the first sample is due at once
    clock.advance(1.0)
    chunk = source.poll()
    assert chunk.raw["default"].shape[1] == 4 * 256  # 4 recording seconds per clock second
    assert chunk.raw["ancillary"].shape[1] == 4 * 64
    assert chunk.signals["eeg"].samples.shape == (4, 1024)
    assert chunk.received_at == 101.0
    assert source.position_s == pytest.approx(4.0)


def test_recorded_gap_reads_as_signal_lost(tmp_path: Path) -> None:
    raw = make_raw(MUSE2, 10.0)
    for p in MUSE2.presets:  # every preset stops for 5 s after 4 s
        ts = raw[p.preset][p.timestamp_row]
        ts[ts >= T0 + 4.0] += 5.0
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s").path
    clock = SimulatedClock()
    source = FileSource(folder, clock, silence_timeout=2.0)
    source.start()
    seen = []
    while source.state is not SourceState.ENDED:
        clock.advance(0.25)
        source.poll()
        seen.append((clock.now(), source.state))
    silent = [t for t, s in seen if s is SourceState.SILENT]
    assert silent and min(silent) == pytest.approx(6.25, abs=0.3)  # 4 s + 2 s timeout
    assert max(silent) < 9.0 + 0.3  # samples resume at 9 s
    assert any(s is SourceState.STREAMING and t > 9.0 for t, s in seen)


def test_bad_folders_raise_recording_errors(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="no session folder"):
        FileSource(tmp_path / "nothing", SimulatedClock()).prepare()
    with pytest.raises(RecordingError, match="speed"):
        FileSource(tmp_path, SimulatedClock(), speed=0)
    folder = record_arrays(MUSE2, make_raw(MUSE2, 1.0), out=tmp_path / "s").path
    for p in MUSE2.presets:
        (folder / f"raw_{p.preset}.csv").write_bytes(b"")
    with pytest.raises(RecordingError, match="holds no samples"):
        FileSource(folder, SimulatedClock()).prepare()


def test_brainflow_playback_yields_the_recorded_samples(tmp_path: Path) -> None:
    """Real time through PLAYBACK_FILE_BOARD (master board MUSE_2, three presets): ~2.5 s."""
    raw = make_raw(MUSE2, 2.5)
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s").path
    clock = MonotonicClock()
    source = open_replay(folder, clock=clock)
    assert type(source).__name__ != "FileSource"
    source.prepare()
    source.start()
    parts: dict[str, list[np.ndarray]] = {p.preset: [] for p in MUSE2.presets}
    deadline = clock.now() + 15.0
    try:
        while source.state is not SourceState.ENDED and clock.now() < deadline:
            chunk = source.poll()
            for k, a in chunk.raw.items():
                parts[k].append(a)
            time.sleep(0.05)
    finally:
        source.stop()
        source.release()
    assert source.state is SourceState.RELEASED
    for p in MUSE2.presets:
        got = np.concatenate(parts[p.preset], axis=1)
        np.testing.assert_allclose(got, raw[p.preset], rtol=0, atol=1e-6)
