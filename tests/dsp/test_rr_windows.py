"""The fast paths of RR cleaning give exactly what the one-window reference path gives.

``clean_rr_windows`` (many windows of one series classified together, what an accelerated replay
uses after every beat of a long block) must equal ``clean_rr`` per window bit for bit, and the
sorted-window order statistics must equal ``scipy.ndimage.rank_filter``: the engine's results
may not depend on how a recording is chunked.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from biotrainer.dsp.hrv import hrv_time, rmssd
from biotrainer.dsp.rr import _rank_filter, clean_rr, clean_rr_windows


def _series(rng: np.random.Generator, n: int) -> np.ndarray:
    """RSA-like RR series with ectopic pairs, missed and extra beats, quantised stretches."""
    k = np.arange(n)
    rr = 850 + 45 * np.sin(2 * np.pi * k / 5.5) + rng.normal(0, 12, n)
    for j in rng.integers(1, max(2, n - 2), size=max(1, n // 25)):
        kind = rng.integers(0, 4)
        if kind == 0:  # premature beat and compensatory pause
            rr[j], rr[j + 1] = rr[j] * 0.6, rr[j + 1] * 1.4
        elif kind == 1:
            rr[j] *= 2.0  # missed beat
        elif kind == 2:
            rr[j] *= 0.45  # extra detection
        else:
            rr[j : j + 5] = np.round(rr[j : j + 5] / 7.8125) * 7.8125
    return rr


@pytest.mark.parametrize("seed", range(4))
def test_windows_equal_one_by_one(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rr = _series(rng, 900)
    if seed % 2:
        rr[rng.integers(0, 900, 3)] = [np.nan, -5.0, 0.0]  # invalid entries
    starts = rng.integers(0, 850, 300)
    lengths = rng.choice([0, 1, 3, 4, 5, 12, 45, 46, 70, 71, 80, 91, 120, 300], 300)
    stops = np.minimum(starts + lengths, rr.size)
    got = clean_rr_windows(rr, starts, stops)
    n_corrected = 0
    for a, b, g in zip(starts, stops, got, strict=True):
        ref = clean_rr(rr[a:b]).rr_ms
        np.testing.assert_array_equal(g, ref)
        n_corrected += ref.size != b - a or not np.array_equal(ref, rr[a:b])
    assert n_corrected > 20  # the artefacts were corrected in many windows


def test_sorted_windows_equal_ndimage_rank_filter() -> None:
    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 4, 6, 11, 45, 46, 90, 91, 200, 256, 257, 400):
        x = np.round(rng.normal(0, 3, (3, n)))  # ties on purpose
        for size in sorted({1, 3, 11, min(91, 2 * n - 1) | 1}):
            if size // 2 > n - 1:
                continue
            ranks = (0, size // 4, size // 2, (3 * size) // 4, size - 1)
            got = _rank_filter(x, size, ranks)
            for r, g in zip(ranks, got, strict=True):
                for row in range(3):
                    ref = ndimage.rank_filter(x[row], r, size=size, mode="reflect")
                    np.testing.assert_array_equal(g[row], ref)


def test_rmssd_is_hrv_time_rmssd() -> None:
    rng = np.random.default_rng(2)
    for n in (0, 1, 2, 3, 10, 77):
        rr = rng.uniform(150, 7000, n)  # some outside the plausible range: dropped by both
        a, b = rmssd(rr), hrv_time(rr).rmssd
        assert (np.isnan(a) and np.isnan(b)) or a == b
