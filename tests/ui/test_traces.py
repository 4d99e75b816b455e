"""The Qt-free display logic: ring buffer, display filter, scales and measured rates."""

from __future__ import annotations

import numpy as np
import pytest

from biotrainer.acquisition.chunk import Chunk
from biotrainer.dsp.buffers import RingBuffer
from biotrainer.ui.traces import (
    DisplayTrace,
    RateMeter,
    StackScale,
    StreamStats,
    axis_ticks,
    nice_step,
    robust_range,
    stack_scale,
    to_lanes,
)

from .fakes import signal_block


@pytest.mark.parametrize("sizes", [[3, 4, 5, 6, 1], [25], [7, 7, 7, 7], [9, 1, 1, 1, 12]])
def test_ring_buffer_keeps_latest_samples_in_order(sizes: list[int]) -> None:
    ring = RingBuffer(2, capacity=10)
    total = np.arange(sum(sizes), dtype=float)
    signal = np.vstack([total, -total])
    start = 0
    for n in sizes:
        ring.push(signal[:, start : start + n])
        start += n
        expected = signal[:, max(0, start - 10) : start]
        np.testing.assert_array_equal(ring.latest(), expected)
    assert ring.total == sum(sizes)
    assert ring.size == min(10, sum(sizes))


def test_ring_buffer_latest_is_a_copy_and_checks_shape() -> None:
    ring = RingBuffer(1, 4)
    ring.push(np.array([1.0, 2.0]))
    out = ring.latest()
    out[:] = 99
    np.testing.assert_array_equal(ring.latest(), [[1.0, 2.0]])
    with pytest.raises(ValueError, match="channel"):
        ring.push(np.zeros((3, 2)))


def test_display_trace_removes_dc_and_keeps_the_rhythm() -> None:
    fs = 250.0
    trace = DisplayTrace("eeg", fs, ("a", "b"), "uV", window_s=4.0)
    t = np.arange(int(20 * fs)) / fs
    rhythm = 20.0 * np.sin(2 * np.pi * 10.0 * t)
    raw = np.vstack([5000.0 + rhythm, -3000.0 + rhythm])
    for i in range(0, t.size, 37):  # odd chunk size on purpose
        trace.push(signal_block(raw[:, i : i + 37], fs, t0=t[i]))
    x, y = trace.snapshot()
    assert y.shape == (2, int(4 * fs))
    assert x[-1] == 0.0 and x[0] == pytest.approx(-(y.shape[1] - 1) / fs)
    np.testing.assert_allclose(np.diff(x), 1 / fs)
    # DC offset gone, 10 Hz amplitude kept (within the passband ripple of a 1-40 Hz filter).
    assert np.all(np.abs(y.mean(axis=1)) < 1.0)
    amp = np.sqrt(2) * y.std(axis=1)
    np.testing.assert_allclose(amp, 20.0, rtol=0.08)
    assert trace.samples_received == t.size
    assert trace.last_timestamp == pytest.approx(t[-1])


def test_display_trace_without_band_keeps_raw_values_and_holds_non_finite() -> None:
    trace = DisplayTrace("eda", 15.0, ("EDA",), "uS", window_s=2.0)
    assert trace.band is None
    trace.push(signal_block(np.array([[1.0, 2.0, np.nan, 4.0]]), 15.0, role="eda"))
    trace.push(signal_block(np.array([[np.inf, 6.0]]), 15.0, role="eda"))
    _, y = trace.snapshot()
    np.testing.assert_array_equal(y, [[1.0, 2.0, 2.0, 4.0, 4.0, 6.0]])
    assert trace.version == 2


def test_display_trace_version_only_moves_with_samples() -> None:
    trace = DisplayTrace("eeg", 250.0, ("a",), "uV")
    trace.push(signal_block(np.zeros((1, 0)), 250.0))
    assert trace.version == 0
    trace.push(signal_block(np.ones((1, 3)), 250.0))
    assert trace.version == 1


@pytest.mark.parametrize(
    ("value", "step"), [(0.9, 1.0), (1.0, 1.0), (1.01, 2.0), (3.0, 5.0), (7.0, 10.0), (0.013, 0.02)]
)
def test_nice_step(value: float, step: float) -> None:
    assert nice_step(value) == pytest.approx(step)


def test_stack_scale_ignores_one_wild_channel() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(0.0, 10.0, (8, 2000)) + np.arange(8)[:, None] * 500.0
    y[3] *= 50.0  # one artefact-ridden channel
    scale = stack_scale(y)
    assert scale is not None
    # 2-98 % spread of N(0, 10) is ~41; x1.25 -> ~51 -> next 1-2-5 step is 100.
    assert scale.common == pytest.approx(100.0)
    np.testing.assert_allclose(np.delete(scale.centers, 3), np.delete(np.arange(8) * 500.0, 3),
                               atol=2.0)  # fmt: skip
    assert stack_scale(np.zeros((3, 0))) is None


def test_stack_scale_per_channel_fits_very_different_amplitudes() -> None:
    rng = np.random.default_rng(2)
    y = np.vstack([rng.normal(500.0, 1.0, 3000), rng.normal(2e5, 1e4, 3000)])
    scale = stack_scale(y, common=False)
    assert scale.common is None
    # spreads ~4.1 and ~41000, x1.25 -> 5.1 and 51000 -> 1-2-5 steps 10 and 1e5.
    np.testing.assert_allclose(scale.divisions, [10.0, 1e5])
    lanes = to_lanes(y, scale)
    for i in range(2):
        assert -i - 0.5 <= lanes[i].min() and lanes[i].max() <= -i + 0.5
        assert lanes[i].std() > 0.05  # both channels visible, neither flattened


def test_to_lanes_centres_scales_and_clips() -> None:
    scale = StackScale(divisions=np.array([40.0, 2.0]), centers=np.array([100.0, 0.0]))
    y = np.array([[-500.0, 90.0, 100.0, 110.0, 900.0], [0.0, 0.5, -0.5, 3.0, -3.0]])
    np.testing.assert_allclose(
        to_lanes(y, scale),
        [[-0.5, -0.25, 0.0, 0.25, 0.5], [-1.0, -0.75, -1.25, -0.5, -1.5]],
    )


def test_robust_range_covers_signal_and_handles_flat() -> None:
    y = np.linspace(-1.0, 1.0, 1001)
    lo, hi = robust_range(y)
    assert lo < -0.98 * (1 + 0.1) and hi > 0.98 * (1 + 0.1)
    lo, hi = robust_range(np.full(10, 36.5))
    assert lo < 36.5 < hi
    assert robust_range(np.array([np.nan])) is None


def test_rate_meter_measures_the_timestamp_rate() -> None:
    meter = RateMeter(span_s=2.0)
    assert meter.rate_hz is None
    fs = 256.0
    t = np.arange(int(10 * fs)) / fs
    for i in range(0, t.size, 20):
        meter.update(t[i : i + 20])
    assert meter.rate_hz == pytest.approx(fs, rel=1e-3)
    # The estimate follows a rate change within its span.
    t2 = t[-1] + np.arange(1, 3 * 128 + 1) / 128.0
    for i in range(0, t2.size, 10):
        meter.update(t2[i : i + 10])
    assert meter.rate_hz == pytest.approx(128.0, rel=0.02)


def test_stream_stats_counts_per_role() -> None:
    stats = StreamStats()
    for k in range(5):
        stats.update(Chunk(signals={"eeg": signal_block(np.zeros((4, 50)), 250.0, t0=k * 0.2)}))
    assert stats.samples == {"eeg": 250}
    assert stats.total_samples == 250
    assert stats.rate_hz("eeg") == pytest.approx(250.0)
    assert stats.rate_hz("ppg") is None


def test_display_filter_starts_without_a_swoop() -> None:
    """A trace whose first sample sits on a peak settles at once (filter primed at the mean)."""
    fs = 250.0
    trace = DisplayTrace("eeg", fs, ("a",), "uV", window_s=2.0)
    t = np.arange(int(2 * fs)) / fs
    x = 800.0 + 50.0 * np.cos(2 * np.pi * 10.0 * t)  # starts at its maximum
    trace.push(signal_block(x[None, :125], fs))
    trace.push(signal_block(x[None, 125:], fs, t0=t[125]))
    _, y = trace.snapshot()
    # The 10 Hz wave keeps its 50 uV amplitude from the first cycles on; no offset lingers.
    assert np.abs(y[0, :50].mean()) < 10.0
    assert np.max(np.abs(y)) < 75.0


@pytest.mark.parametrize(
    ("lo", "hi", "n", "ticks", "decimals"),
    [
        (0.0, 10.0, 5, [0, 2, 4, 6, 8, 10], 0),
        (36.585, 36.615, 3, [36.59, 36.60, 36.61], 2),
        (-1.2, 1.2, 2, [-1, 0, 1], 0),  # one step of 2 would label 0 only: smaller step
        (6.96, 7.04, 2, [6.96, 6.98, 7.0, 7.02, 7.04], 2),
        (1.0, 1.0, 3, [], 0),
    ],
)
def test_axis_ticks_are_round_and_at_least_two(lo, hi, n, ticks, decimals) -> None:
    got, dec = axis_ticks(lo, hi, n)
    np.testing.assert_allclose(got, ticks, atol=1e-9)
    assert dec == decimals
