"""The shortcuts of the EEG quality and relaxation code give exactly what the plain
computation gives (the engine's results may not depend on chunking or on which path ran)."""

from __future__ import annotations

import numpy as np

from biotrainer.dsp.eeg import _nanmedian_rows, _periodograms, linear_detrend, welch_density
from biotrainer.dsp.quality import (
    _clip_hits,
    _clipped_fraction,
    _low_frequency_ptp,
    signal_quality,
    signal_quality_windows,
)

FS = 250.0


def _eeg(rng: np.random.Generator, rows: int, n: int = 250) -> np.ndarray:
    t = np.arange(n) / FS
    x = rng.normal(0, 8, (rows, n)) + 20 * np.sin(2 * np.pi * 10 * t + rng.uniform(0, 6, (rows, 1)))
    x[0] = np.clip(x[0], -15, 15)  # clipped at both rails
    x[1] = np.round(x[1] / 4) * 4  # coarse quantisation: repeated extremes, no pile-up
    x[2, 40:48] = x[2].max() + 1  # a short plateau at the top
    x[3] = np.maximum(x[3], 5)  # railed at the bottom
    return x


def test_nanmedian_rows_equals_nanmedian() -> None:
    rng = np.random.default_rng(4)
    for _ in range(300):
        x = rng.normal(0, 1, (int(rng.integers(1, 6)), int(rng.integers(1, 17))))
        x[rng.random(x.shape) < 0.35] = np.nan
        med, has = _nanmedian_rows(x)
        for row, m, h in zip(x, med, has, strict=True):
            assert h == bool(np.any(~np.isnan(row)))
            if h:
                assert m == np.nanmedian(row)


def test_clipped_fraction_fast_path_equals_full_count() -> None:
    rng = np.random.default_rng(5)
    x = _eeg(rng, 40)
    hi, lo = x.max(axis=1), x.min(axis=1)
    at_hi, at_lo = x == hi[:, None], x == lo[:, None]
    full = _clip_hits(x, hi, lo, at_hi, at_lo, at_hi.sum(axis=1), at_lo.sum(axis=1)).mean(axis=1)
    fast = _clipped_fraction(x, None)
    np.testing.assert_array_equal(fast, full)
    assert fast[0] > 0.05 and fast[3] > 0.05 and (fast == 0).sum() > 30  # both kinds present


def test_one_segment_spectrum_and_blink_share_the_detrend() -> None:
    rng = np.random.default_rng(6)
    x = _eeg(rng, 24)
    d = linear_detrend(x)
    f1, p1 = welch_density(x, FS, x.shape[1])
    f2, p2 = _periodograms(x[:, None, :], FS, d[:, None, :])
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_array_equal(p1, p2[:, 0, :])
    np.testing.assert_array_equal(_low_frequency_ptp(x, FS), _low_frequency_ptp(x, FS, d))


def test_nonfinite_and_huge_rows_are_judged_per_row() -> None:
    rng = np.random.default_rng(7)
    x = _eeg(rng, 6)
    x[4, 17] = np.nan
    x[5, :3] = [np.inf, -np.inf, 1.0]
    batch = signal_quality_windows(np.stack([x, x[::-1]]), FS)
    for q, rows in zip(batch, (x, x[::-1]), strict=True):
        ref = [signal_quality(r, FS) for r in rows]
        assert q.nonfinite.tolist() == [bool(r.nonfinite[0]) for r in ref]
        assert list(q.reasons) == [r.reasons[0] for r in ref]
        np.testing.assert_array_equal(q.emg_rms_uv, [r.emg_rms_uv[0] for r in ref])
    assert batch[0].nonfinite.tolist() == [False] * 4 + [True, True]
