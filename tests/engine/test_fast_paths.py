"""The engine's fast paths give exactly what the plain numpy/scipy formulations give.

Each shortcut taken for the offline re-analysis benchmark (issue 8, benchmark 4) is compared
with the straightforward computation it replaces, bit for bit (``==``, not approx): the live
and offline results must not move when the code gets faster.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections import deque

import numpy as np
import pytest
from scipy import signal

from biotrainer.dsp import eeg
from biotrainer.dsp.alpha_stream import AlphaStream
from biotrainer.engine.feedback import AutoThreshold, linear_quantile
from biotrainer.engine.updates import MetricUpdate


@pytest.mark.parametrize("q", [0.0, 0.01, 0.1, 0.35, 0.5, 1.0 - 0.65, 0.9, 0.99, 1.0])
def test_linear_quantile_equals_numpy(q):
    rng = np.random.default_rng(11)
    for n in range(1, 320, 7):
        x = rng.standard_normal(n) * rng.uniform(0.01, 100.0)
        if n % 3 == 0:
            x = np.round(x, 1)  # ties
        assert linear_quantile(sorted(x.tolist()), q) == float(np.quantile(x, q))


class _QuantileThreshold:
    """The auto-threshold written plainly (a deque and np.quantile per update): the oracle."""

    def __init__(self, target_rate, window_s=30.0, tau_s=5.0):
        self.target_rate, self.window_s, self.tau_s = target_rate, window_s, tau_s
        self.threshold_z = 0.0
        self.history: deque = deque()
        self.last_t = None

    def update(self, t, z):
        if not math.isfinite(z):
            return False
        rewarded = z > self.threshold_z
        self.history.append((t, z))
        while self.history and self.history[0][0] < t - self.window_s:
            self.history.popleft()
        if len(self.history) >= 5:
            goal = float(np.quantile([h[1] for h in self.history], 1.0 - self.target_rate))
            dt = 0.0 if self.last_t is None else max(0.0, t - self.last_t)
            self.threshold_z += (1.0 - math.exp(-dt / self.tau_s)) * (goal - self.threshold_z)
        self.last_t = t
        return rewarded


@pytest.mark.parametrize("target", [0.3, 0.65])
def test_auto_threshold_equals_quantile_oracle(target):
    rng = np.random.default_rng(5)
    fast, plain = AutoThreshold(target), _QuantileThreshold(target)
    for i in range(4000):
        t = i / 10 + (30.0 if i > 2000 else 0.0)  # a jump in time empties the window
        z = float(np.round(rng.normal(i / 2000, 1.0), 2)) if i % 50 else math.nan
        assert fast.update(t, z) == plain.update(t, z)
        assert fast.threshold_z == plain.threshold_z
    assert len(fast._sorted) == len(fast._history)


def test_auto_threshold_reset_forgets_sorted_history():
    th = AutoThreshold()
    for i in range(50):
        th.update(i / 10, float(i))
    th.reset()
    assert th._sorted == [] and math.isnan(th.reward_rate)


def test_median_over_channels_equals_nanmedian():
    rng = np.random.default_rng(2)
    for n_ch in (1, 2, 3, 4, 7, 8, 16):
        x = rng.uniform(0.0, 1.0, (n_ch, 400))
        x[rng.uniform(size=x.shape) < 0.3] = np.nan
        x[:, :3] = np.nan  # all-NaN columns
        x[0, 5] = np.inf
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            want = np.nanmedian(x, axis=0)
        got = AlphaStream.median_over_channels(x)
        np.testing.assert_array_equal(got, want)
        for c in range(0, 400, 37):
            np.testing.assert_array_equal(AlphaStream.median_over_channels(x[:, c : c + 1]),
                                          want[c : c + 1])  # fmt: skip


def _update_values() -> dict[str, object]:
    names = [f.name for f in dataclasses.fields(MetricUpdate)]
    values: dict[str, object] = {name: float(i) + 0.5 for i, name in enumerate(names)}
    values.update(phase_index=2, phase_name="Training", phase_kind="training", paused=False,
                  finished=False, rewarded=True, beats=(1.0, 2.0), band_powers=None,
                  quality_ok=True, quality_reason="ok", channel_ok=(True, False),
                  source_state="streaming")  # fmt: skip
    return values


def test_metric_update_of_equals_the_constructor():
    values = _update_values()
    fast, plain = MetricUpdate.of(**values), MetricUpdate(**values)
    assert fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain)
    assert fast.csv_row() == plain.csv_row()
    assert dataclasses.replace(fast, hr_bpm=70.0).hr_bpm == 70.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.hr_bpm = 1.0  # type: ignore[misc]


def test_metric_update_of_needs_every_field():
    values = _update_values()
    del values["alpha"]
    with pytest.raises(TypeError, match="alpha"):
        MetricUpdate.of(**values)
    with pytest.raises(TypeError, match="bogus"):
        MetricUpdate.of(**_update_values(), bogus=1)


@pytest.mark.parametrize(("size", "segment_s"), [(1000, 1.0), (1000, 2.0), (999, 1.0), (600, 0.7)])
def test_welch_windows_flat_and_nonfinite_windows(size, segment_s):
    """Windows flat on a channel give 0, windows with NaN give NaN, the others scipy's Welch."""
    fs = 250.0
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 3600)) * 10.0
    x[1, 1200:2700] = 4.0  # flat in some windows only
    x[2, 3000] = np.nan
    ends = np.arange(size, 3601, 125)
    _, p = eeg.welch_psd_windows(x, ends, size, fs, segment_s)
    nperseg = int(round(segment_s * fs))
    for i, e in enumerate(ends):
        w = x[:, e - size : e]
        for c in range(3):
            if not np.all(np.isfinite(w[c])):
                assert np.all(np.isnan(p[i, c]))
            elif np.ptp(w[c]) == 0.0:
                assert np.all(p[i, c] == 0.0)
            else:
                _, want = signal.welch(w[c], fs, "hann", nperseg, nperseg // 2, detrend="linear")
                np.testing.assert_allclose(p[i, c], want, rtol=1e-9, atol=1e-12)


def test_relaxation_aperiodic_power_only_where_summed():
    """The aperiodic alpha power is summed from the power law at the bins in use only: the
    same value as from the power law at every bin."""
    fs = 250.0
    rng = np.random.default_rng(8)
    t = np.arange(1000) / fs
    x = rng.standard_normal((8, 1000)) * 3.0
    for c in range(8):
        x[c] += 15.0 * np.sin(2 * np.pi * (7.0 + c) * t)  # IAFs 7-14 Hz
    f, p = eeg.welch_psd(x, fs, eeg.RELAXATION_SEGMENT_S)
    fit = eeg.fit_aperiodic(f, p, fs)
    iaf, _ = eeg._alpha_peak(f, p, fit)
    centre = np.where(np.isfinite(iaf), iaf, 10.0)
    lo, hi = centre - 2.0, centre + 2.0
    full = eeg._band_sum(f[1:], fit.power(f[1:]), lo, hi)
    part = eeg._band_sum(f[1:], eeg._power_in(fit, f[1:], lo, hi), lo, hi)
    np.testing.assert_array_equal(part, full)
    assert np.isfinite(iaf).sum() >= 6  # the bands really differ between channels


def test_segment_cache_gives_the_uncached_spectra_block_after_block():
    """A stream analysed block by block with a SegmentCache: every block's spectra equal
    those computed from scratch (and the cache holds only what a later window can use)."""
    fs, size = 250.0, 1000
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 12000)) * 10.0
    x[1, 5000:5300] = np.nan
    caches = {1.0: eeg.SegmentCache(), 2.0: eeg.SegmentCache()}
    total = 0
    for block in (2500, 1830, 125, 3000, 2545, 2000):  # samples per block
        held = min(total, size)
        full = x[:, total - held : total + block]
        ends = [e for e in range(held + 1, held + block + 1) if (total - held + e) % 125 == 0]
        ends = [e for e in ends if e >= size]
        if ends:
            for seg_s, cache in caches.items():
                want = eeg.welch_psd_windows(full, ends, size, fs, seg_s)
                got = eeg.welch_psd_windows(full, ends, size, fs, seg_s, cache=cache,
                                            offset=total - held)  # fmt: skip
                np.testing.assert_array_equal(got[0], want[0])
                np.testing.assert_array_equal(got[1], want[1])
                assert cache.starts.size == 0 or cache.starts[0] >= total - held + ends[-1] - size
        total += block
    # a cache used with other segments (a new key) starts afresh
    cache = caches[1.0]
    want = eeg.welch_psd_windows(x[:, -3000:], [3000], size, fs, 2.0)
    got = eeg.welch_psd_windows(x[:, -3000:], [3000], size, fs, 2.0, cache=cache, offset=9000)
    np.testing.assert_array_equal(got[1], want[1])
    assert cache.key[1] == 500


def test_percentile_and_median_rows_equal_numpy():
    from biotrainer.dsp.quality import _median_rows

    rng = np.random.default_rng(6)
    for n in range(1, 40):
        x = rng.standard_normal((12, n)) * rng.uniform(0.1, 10.0)
        if n % 3 == 0:
            x = np.round(x, 1)
        for pct in (0.0, 25.0, 75.0, 90.0, 100.0):
            np.testing.assert_array_equal(eeg._percentile_rows(x, pct),
                                          np.percentile(x, pct, axis=1))  # fmt: skip
        np.testing.assert_array_equal(_median_rows(x), np.median(x, axis=1))
        x[2, 0] = np.nan
        np.testing.assert_array_equal(_median_rows(x), np.median(x, axis=1))
        np.testing.assert_array_equal(eeg._percentile_rows(x, 75.0),
                                      np.percentile(x, 75.0, axis=1))  # fmt: skip


def test_block_cut_after_lines_equals_counting_forward():
    from biotrainer.session import rawfile

    rng = np.random.default_rng(3)
    for _ in range(300):
        lines = [b"1.5\t2" * int(k) for k in rng.integers(0, 6, rng.integers(0, 900))]
        buf = b"\n".join(lines) + (b"\n" if rng.uniform() < 0.7 else b"3\t4")
        total, want = buf.count(b"\n"), int(rng.integers(1, 1000))
        cut, n = rawfile._after_lines(buf, total, want)
        assert n == min(want, total)
        assert buf[:cut].count(b"\n") == n and (cut == 0 or buf[cut - 1 : cut] == b"\n")


def test_blocked_found_for_all_windows_equals_the_rule_per_verdict():
    from biotrainer.dsp.quality import SignalQuality, feedback_blocked, signal_quality_windows

    def plain(q):  # the rule of feedback_blocked written out
        if not q.usable.any():
            return True
        alive = ~(q.nonfinite | q.flat | q.railed)
        n_alive = int(np.count_nonzero(alive))
        return n_alive == 0 or int(np.count_nonzero((q.emg | q.blink) & alive)) * 2 >= n_alive

    rng = np.random.default_rng(12)
    seen = set()
    for trial in range(60):
        w = rng.standard_normal((10, 6, 250)) * 10.0
        for c in rng.integers(0, 6, trial % 5):
            w[:, c, 100:140] += 300.0  # blinks on some channels
        w[rng.integers(0, 10), rng.integers(0, 6)] = 0.0  # a flat channel
        if trial % 3 == 0:
            w[rng.integers(0, 10)] = 1.0  # a window flat everywhere
        for q in signal_quality_windows(w, 250.0):
            want = plain(q)
            seen.add(want)
            assert feedback_blocked(q) is want
            fresh = SignalQuality(*(getattr(q, f.name) for f in dataclasses.fields(q)))
            assert feedback_blocked(fresh) is want  # (computed on demand)
    assert seen == {True, False}
