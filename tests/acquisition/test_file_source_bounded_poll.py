"""A FileSource far behind its clock (a speed the engine cannot keep up with) serves the
recording a bounded stretch a poll, and still every sample, exactly as at speed 1.

Before: the first poll at ``--speed 1e6`` served the whole recording at once (a 6-min muse2
scenario peaked at 252 MB against 157 MB at ``--speed max``), and a session that ended before
its source recorded all of it, with thousands of "Finished" rows in ``metrics.csv``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.file_source import MAX_POLL_S, FileSource
from biotrainer.acquisition.profiles import load_profile
from biotrainer.acquisition.source import SourceLayout, SourceState
from biotrainer.clock import SimulatedClock
from biotrainer.session import load_session
from biotrainer.session.recorder import Recorder

T0 = 1_700_000_000.0
TICK_S = 0.05  # run's poll period
FAR_AHEAD = 1e6
SECONDS = 40.0
GAP_AT_S, GAP_S = 20.0, 12.0  # a recorded hole longer than a poll's bound


def _layout() -> SourceLayout:
    return load_profile("simulator-muse2").layout()


def _raw(layout: SourceLayout) -> dict[str, np.ndarray]:
    """Random samples of every preset with a hole of GAP_S seconds after GAP_AT_S."""
    rng = np.random.default_rng(5)
    out = {}
    for p in layout.presets:
        n = round(SECONDS * p.fs)
        a = np.round(rng.normal(0, 50, size=(p.num_rows, n)), 6)
        ts = T0 + np.arange(n) / p.fs
        a[p.timestamp_row] = np.round(np.where(ts >= T0 + GAP_AT_S, ts + GAP_S, ts), 6)
        a[p.marker_row] = 0.0
        out[p.preset] = a
    return out


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    layout = _layout()
    raw = _raw(layout)
    clock = SimulatedClock()
    wall = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    rec = Recorder.create(
        layout,
        out=tmp_path_factory.mktemp("rec") / "s",
        clock=clock,
        fsync=False,
        wall_clock=lambda: wall,
    )
    end = T0 + SECONDS + GAP_S
    for lo in np.arange(T0, end, 1.0):
        part = {}
        for p in layout.presets:
            ts = raw[p.preset][p.timestamp_row]
            i, j = np.searchsorted(ts, [lo, lo + 1.0])
            part[p.preset] = raw[p.preset][:, i:j]
        rec.write(Chunk(raw=part, signals=layout.split(part), received_at=lo - T0 + 1.0))
        clock.advance(1.0)
    rec.close()
    return Path(rec.path)


def _serve(folder: Path, speed: float):
    """Poll every TICK_S clock seconds until ENDED: (chunks, states, positions)."""
    clock = SimulatedClock()
    source = FileSource(folder, clock, speed=speed)
    source.start()
    chunks, states, positions = [], [], []
    for _ in range(100_000):
        chunks.append(source.poll())
        states.append(source.state)
        positions.append(source.position_s)
        if source.state is SourceState.ENDED:
            break
        clock.advance(TICK_S)
    source.release()
    return chunks, states, positions


def _joined(chunks, preset: str) -> np.ndarray:
    return np.concatenate([c.raw[preset] for c in chunks], axis=1)


def test_far_ahead_no_poll_serves_more_than_the_bound(folder: Path) -> None:
    layout = _layout()
    chunks, states, positions = _serve(folder, FAR_AHEAD)
    assert len(chunks) > (SECONDS + GAP_S) / MAX_POLL_S  # not all at once
    for c in chunks:
        stamps = [c.raw[p.preset][p.timestamp_row] for p in layout.presets]
        stamps = np.concatenate([s for s in stamps if s.size] or [np.empty(0)])
        if stamps.size:
            assert stamps.max() - stamps.min() <= MAX_POLL_S
        for p in layout.presets:
            assert c.raw[p.preset].shape[1] <= MAX_POLL_S * p.fs + 1
    assert np.all(np.diff(positions) <= MAX_POLL_S + 1e-9)
    # the hole reads as a signal loss, and the rest streams again: no loss while held back
    lost = [i for i, s in enumerate(states) if s is SourceState.SILENT]
    assert lost and lost[-1] < len(states) - 1
    assert all(positions[i] > GAP_AT_S for i in lost)


def test_far_ahead_serves_every_sample_as_speed_one_does(folder: Path) -> None:
    far, _, _ = _serve(folder, FAR_AHEAD)
    real, _, _ = _serve(folder, 1.0)  # what --speed max serves (speed 1 on a simulated clock)
    recorded = load_session(folder).raw
    for p in _layout().presets:
        np.testing.assert_array_equal(_joined(far, p.preset), recorded[p.preset])
        np.testing.assert_array_equal(_joined(far, p.preset), _joined(real, p.preset))


def test_far_ahead_ends_only_after_the_last_sample(folder: Path) -> None:
    layout = _layout()
    chunks, states, positions = _serve(folder, FAR_AHEAD)
    assert states[-1] is SourceState.ENDED
    assert SourceState.ENDED not in states[:-1]
    end = T0 + SECONDS + GAP_S - 1 / 256  # the recording's last sample (the 256-Hz preset's)
    last_poll = [chunks[-1].raw[p.preset][p.timestamp_row] for p in layout.presets]
    assert max(float(ts.max()) for ts in last_poll if ts.size) == pytest.approx(end, abs=1e-6)
    assert positions[-1] == pytest.approx(end - T0, abs=1e-6)


def test_a_speed_kept_up_with_serves_all_that_is_due(folder: Path) -> None:
    """At a speed whose polls stay under the bound, each poll serves everything due."""
    layout = _layout()
    speed = 20.0
    chunks, _, positions = _serve(folder, speed)
    for k, c in enumerate(chunks):
        due = T0 + k * TICK_S * speed
        for p in layout.presets:
            ts = c.raw[p.preset][p.timestamp_row]
            assert np.all(ts <= due + 1e-9)
        if k < len(chunks) - 1:
            assert positions[k] == pytest.approx(k * TICK_S * speed)
    for p in layout.presets:
        np.testing.assert_array_equal(_joined(chunks, p.preset), load_session(folder).raw[p.preset])
