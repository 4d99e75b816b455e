"""Coherence z-scores against a short baseline: on the ratio's logarithm, with a spread of at
least :data:`COHERENCE_MIN_LN_SD`.

Coherence comes every 5 s over 64 s of beats, so a 90 s baseline holds about one independent
window, and the spread of its overlapping values said nothing of the person: on day-long RR
series, with nothing changed after the baseline, coherence z-scores spread by up to 26 (robust
SD; max |z| up to 22 in one start in ten), and a simulated stressed-to-relaxed session showed a
training z of +39 (``benchmarks/bench_feedback.py``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from biotrainer.engine.feedback import (
    COHERENCE_MIN_LN_SD,
    MIN_DISTINCT_VALUES,
    Baseline,
    metric_baseline,
)
from biotrainer.engine.processors import CardiacProcessor


def test_coherence_is_scored_on_its_logarithm_against_its_own_spread_when_wide():
    values = [0.2, 0.5, 1.1, 0.3, 2.0, 0.8]
    base = metric_baseline("coherence")
    for v in values:
        base.add(v)
    logs = np.log(values)
    assert np.std(logs, ddof=1) > COHERENCE_MIN_LN_SD  # (its own spread counts here)
    assert base.z(3.0) == pytest.approx((math.log(3.0) - logs.mean()) / np.std(logs, ddof=1))
    # a ratio twice the baseline's geometric mean scores as far above as half scores below
    centre = math.exp(logs.mean())
    assert base.z(2 * centre) == pytest.approx(-base.z(centre / 2))


def test_a_steady_short_coherence_baseline_gives_a_readable_z():
    """Five almost equal values (one independent window seen five times): a twentyfold rise
    is ln 20 / 0.45 = 6.7 spreads, not hundreds."""
    base = metric_baseline("coherence")
    for v in (0.170, 0.172, 0.168, 0.171, 0.169):
        base.add(v)
    assert base.ready and base.distinct == MIN_DISTINCT_VALUES
    assert base.sd == COHERENCE_MIN_LN_SD
    assert base.z(0.17 * 20) == pytest.approx(math.log(20) / COHERENCE_MIN_LN_SD, rel=0.01)
    assert base.z(0.0) == pytest.approx(base.z(1e-3))  # a ratio of 0 has no logarithm


def test_alpha_keeps_its_linear_baseline():
    """(The relaxation index is scored on its log-odds: tests/engine/test_relaxation_baseline.py)"""
    base = metric_baseline("alpha")
    for v in (0.30, 0.34, 0.29, 0.33, 0.31):
        base.add(v)
    plain = Baseline()
    for v in (0.30, 0.34, 0.29, 0.33, 0.31):
        plain.add(v)
    assert base.z(0.5) == plain.z(0.5)


def _z_after_baseline(rr: np.ndarray, baseline_s: float, after_s: float) -> np.ndarray:
    """As the engine does it: coherence every 5 s over the cleaned beats, held on the 0.1 s
    grid, each grid value learnt during the baseline, scored after it."""
    t = np.cumsum(rr) / 1000.0
    heart = CardiacProcessor(250.0, "rr", t0=float(t[0]) - 1.0)
    base = metric_baseline("coherence")
    zs = []
    j = 0
    for g in np.arange(t[0] + 0.1, t[0] + baseline_s + after_s, 0.1):
        k = int(np.searchsorted(t, g, "right"))
        if k > j:
            heart.push_rr(rr[j:k], t[j:k])
            j = k
        if g < t[0] + baseline_s:
            base.add(heart.coherence)
        elif math.isfinite(heart.coherence):
            zs.append(base.z(heart.coherence))
    return np.array(zs)


def _spread_and_peak(z: np.ndarray) -> tuple[float, float]:
    """Robust SD (IQR / 1.349) and largest |z| of the finite z-scores."""
    z = z[np.isfinite(z)]
    q1, q3 = np.percentile(z, [25, 75])
    return (q3 - q1) / 1.349, float(np.max(np.abs(z)))


def test_coherence_z_with_nothing_changed_after_a_90_s_baseline_spreads_like_a_z_score(
    shared_data,
):
    """Day-long ambulatory RR series (the floor's spread was measured on them), a start every 2
    hours: 90 s of baseline, then 8 minutes more. The z-scores should spread like z-scores
    (before: robust SD up to 26)."""
    spreads, peaks = [], []
    for rr in (
        np.loadtxt(shared_data / "rr_long" / "nsr001_rr_secs.txt")[1:] * 1000.0,
        np.loadtxt(shared_data / "rr_long" / "000.txt"),
    ):
        t = np.cumsum(rr) / 1000.0
        for start in np.arange(600.0, t[-1] - 1200.0, 7200.0):
            i = int(np.searchsorted(t, start))
            z = _z_after_baseline(rr[i : i + 1500], 90.0, 480.0)
            assert np.isfinite(z).sum() > 3000
            spread, peak = _spread_and_peak(z)
            spreads.append(spread)
            peaks.append(peak)
    assert len(spreads) >= 18
    assert max(spreads) < 3.0  # (before: 6.99)
    assert np.percentile(peaks, 90) < 9.0  # (before: 13.9)


def test_coherence_z_on_records_the_floor_was_not_measured_on(shared_data):
    """MIT-BIH 113 (sinus arrhythmia), 106 (many ectopic beats) and 231 (2:1 block), a start
    every 5 minutes: the median robust SD of the z-scores was 3.30 before, 1.04 now (one start
    on 106 spreads by 6.8, its baseline minute unusually steady)."""
    wfdb = pytest.importorskip("wfdb")
    spreads = []
    for record in ("113", "106", "231"):
        ann = wfdb.rdann(str(shared_data / "ecg_mitdb" / record), "atr")
        beats = ann.sample[np.isin(ann.symbol, list("NLRBAaJSVrFejnE/fQ?"))]
        rr = np.diff(beats) / 360.0 * 1000.0
        t = np.cumsum(rr) / 1000.0
        for start in np.arange(0.0, t[-1] - 630.0, 300.0):
            z = _z_after_baseline(rr[int(np.searchsorted(t, start)) :], 90.0, 480.0)
            if np.isfinite(z).sum() > 100:  # (106 at 15 min: too irregular for coherence)
                spreads.append(_spread_and_peak(z)[0])
    assert len(spreads) >= 10
    assert np.median(spreads) < 2.0
