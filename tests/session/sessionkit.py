"""Helpers for the session tests: layouts, generated BrainFlow arrays, chunked recording."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout
from biotrainer.clock import SimulatedClock
from biotrainer.session import Recorder

#: The Muse 2 row layout of BrainFlow 5.23 (board 38): three presets at 256 / 52 / 64 Hz.
MUSE2 = SourceLayout(
    device="muse2",
    board_id=38,
    presets=(
        PresetLayout("default", 256.0, 8, 6, 7),
        PresetLayout("auxiliary", 52.0, 9, 7, 8),
        PresetLayout("ancillary", 64.0, 6, 4, 5),
    ),
    groups=(
        ChannelGroup("eeg", "default", (1, 2, 3, 4), ("TP9", "AF7", "AF8", "TP10"), "uV"),
        ChannelGroup("accel", "auxiliary", (1, 2, 3), ("x", "y", "z"), "g"),
        ChannelGroup("gyro", "auxiliary", (4, 5, 6), ("x", "y", "z"), "deg/s"),
        ChannelGroup("ppg", "ancillary", (1, 2, 3), ("ambient", "ir", "red"), "a.u."),
    ),
)

T0 = 1_700_000_000.0


def make_raw(
    layout: SourceLayout, seconds: float, t0: float = T0, seed: int = 0
) -> dict[str, np.ndarray]:
    """Random BrainFlow arrays (values with 6 decimals, as the file format keeps them)."""
    rng = np.random.default_rng(seed)
    out = {}
    for p in layout.presets:
        n = round(seconds * p.fs)
        a = np.round(rng.normal(0, 50, size=(p.num_rows, n)), 6)
        a[0] = np.arange(n) % 256  # package counter
        a[p.timestamp_row] = np.round(t0 + np.arange(n) / p.fs, 6)
        if p.marker_row is not None:
            a[p.marker_row] = 0.0
        out[p.preset] = a
    return out


def chunks_of(layout: SourceLayout, raw: dict[str, np.ndarray], dt: float):
    """Cut ``raw`` into consecutive chunks of ``dt`` seconds (by timestamp)."""
    starts = {p.preset: float(raw[p.preset][p.timestamp_row, 0]) for p in layout.presets}
    t_first = min(starts.values())
    t_last = max(float(raw[p.preset][p.timestamp_row, -1]) for p in layout.presets)
    k = 0
    while t_first + k * dt <= t_last:
        lo, hi = t_first + k * dt, t_first + (k + 1) * dt
        part = {}
        for p in layout.presets:
            ts = raw[p.preset][p.timestamp_row]
            i, j = np.searchsorted(ts, [lo, hi])
            part[p.preset] = raw[p.preset][:, i:j]
        yield Chunk(raw=part, signals=layout.split(part), received_at=hi)
        k += 1


def fixed_wall_clock(t: datetime | None = None) -> Callable[[], datetime]:
    t = t or datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    return lambda: t


def record_arrays(
    layout: SourceLayout,
    raw: dict[str, np.ndarray],
    *,
    data_directory=None,
    out=None,
    dt: float = 0.05,
    events: tuple[tuple[float, str, str], ...] = (),
) -> Recorder:
    """Record ``raw`` chunk by chunk on a simulated clock; returns the closed recorder."""
    clock = SimulatedClock()
    rec = Recorder.create(
        layout,
        data_directory=data_directory,
        out=out,
        clock=clock,
        fsync=False,
        wall_clock=fixed_wall_clock(),
    )
    for chunk in chunks_of(layout, raw, dt):
        rec.write(chunk)
        clock.advance(dt)
    for t, kind, text in events:
        rec.add_event(kind, text, time=t)
    rec.close()
    return rec
