"""HRV time/frequency metrics, coherence and breathing rate: known answers, NeuroKit2, real data."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from biotrainer.dsp.hrv import breathing_rate, coherence, hrv_frequency, hrv_time
from biotrainer.dsp.rr import clean_rr


def _modulated_rr(
    duration_s: float,
    components: list[tuple[float, float]],
    base: float = 900.0,
    noise_ms: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """RR series whose value at beat time t is base + sum(a sin(2 pi f t)) (+ white noise)."""
    rng = np.random.default_rng(seed)
    rr, t = [], 0.0
    while t < duration_s:
        v = base + sum(a * math.sin(2 * math.pi * f * t) for a, f in components)
        v += rng.normal(0, noise_ms) if noise_ms else 0.0
        rr.append(v)
        t += v / 1000.0
    return np.array(rr)


def test_time_domain_definitions() -> None:
    rr = np.array([800.0, 860.0, 790.0, 800.0, 900.0])
    h = hrv_time(rr)
    assert h.mean_rr == pytest.approx(830.0)
    assert h.mean_hr == pytest.approx(60000 / 830.0)
    assert h.sdnn == pytest.approx(np.std(rr, ddof=1))
    assert h.rmssd == pytest.approx(np.sqrt(np.mean(np.array([60, -70, 10, 100]) ** 2)))
    assert h.pnn50 == pytest.approx(75.0)


def test_time_domain_matches_neurokit(shared_data: Path) -> None:
    nk = pytest.importorskip("neurokit2")
    rr = clean_rr(np.loadtxt(shared_data / "rr_long" / "000.txt")[:600]).rr_ms
    peaks = np.round(np.cumsum(np.r_[0, rr])).astype(int)
    ref = nk.hrv_time(peaks, sampling_rate=1000).iloc[0]
    h = hrv_time(np.diff(peaks).astype(float))
    assert h.mean_rr == pytest.approx(ref["HRV_MeanNN"], rel=1e-6)
    assert h.sdnn == pytest.approx(ref["HRV_SDNN"], rel=1e-6)
    assert h.rmssd == pytest.approx(ref["HRV_RMSSD"], rel=1e-6)
    assert h.pnn50 == pytest.approx(ref["HRV_pNN50"], abs=0.5)


def test_frequency_domain_known_powers() -> None:
    # LF 30 ms at 0.1 Hz -> 450 ms², HF 50 ms at 0.25 Hz -> 1250 ms²
    rr = _modulated_rr(300, [(30.0, 0.1), (50.0, 0.25)])
    f = hrv_frequency(rr)
    assert f.lf == pytest.approx(450.0, rel=0.1)
    assert f.hf == pytest.approx(1250.0, rel=0.1)
    assert f.vlf < 20.0
    assert f.lf_peak_hz == pytest.approx(0.1, abs=0.005)
    assert f.lf_nu + f.hf_nu == pytest.approx(100.0)
    assert f.lf_hf == pytest.approx(f.lf / f.hf)


def test_frequency_domain_agrees_with_neurokit(shared_data: Path) -> None:
    nk = pytest.importorskip("neurokit2")
    rr_all = clean_rr(np.loadtxt(shared_data / "rr_long" / "000.txt")).rr_ms
    diffs = []
    for start in range(0, 3200, 400):
        rr = rr_all[start : start + 330]
        peaks = np.round(np.cumsum(np.r_[0, rr])).astype(int)
        ref = nk.hrv_frequency(peaks, sampling_rate=1000).iloc[0]
        ref_nu = 100 * ref["HRV_LF"] / (ref["HRV_LF"] + ref["HRV_HF"])
        diffs.append(hrv_frequency(rr).lf_nu - ref_nu)
    diffs = np.abs(diffs)
    assert np.median(diffs) < 6.0 and diffs.max() < 12.0, diffs


def test_coherence_high_for_sinusoid_low_for_noise() -> None:
    paced = _modulated_rr(120, [(60.0, 0.1)], noise_ms=8.0, seed=1)
    noise = _modulated_rr(120, [], noise_ms=40.0, seed=2)
    assert coherence(paced) > 3.0
    assert coherence(noise) < 0.8
    # only the last 64 s count: a coherent minute after a noisy one is coherent
    mixed = np.concatenate([noise, paced[-80:]])
    assert coherence(mixed) > 2.0


def test_breathing_rate_simulated() -> None:
    for br in (4.5, 6.0, 9.0, 15.0):
        rr = _modulated_rr(90, [(40.0, br / 60.0), (20.0, 0.02)], base=850.0, noise_ms=5.0, seed=3)
        assert breathing_rate(rr) == pytest.approx(br, abs=0.15)


def test_breathing_rate_paced_trials(shared_data: Path) -> None:
    folder = shared_data / "breathing_paced"
    with open(folder / "trials.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 5
    coh = []
    for row in rows:
        rr = clean_rr(np.loadtxt(folder / row["file"])).rr_ms
        paced = float(row["paced_rate_breaths_per_min"])
        assert breathing_rate(rr, window_s=60.0) == pytest.approx(paced, abs=0.3), row["file"]
        coh.append(coherence(rr))
    assert np.median(coh) > 1.0  # slow paced breathing is mostly coherent


def test_too_few_beats_give_nan_not_errors() -> None:
    assert math.isnan(hrv_time([]).mean_rr)
    one = hrv_time([800.0])
    assert one.mean_hr == pytest.approx(75.0) and math.isnan(one.rmssd)
    short = [800.0] * 20
    assert all(math.isnan(v) for v in vars(hrv_frequency(short)).values())
    assert math.isnan(coherence(short))
    assert math.isnan(breathing_rate(short))
    assert math.isnan(breathing_rate([np.nan] * 100))
    # NaN/non-positive entries are dropped, not propagated
    h = hrv_time([800.0, np.nan, 820.0, -1.0, 810.0])
    assert h.mean_rr == pytest.approx(810.0)
    flat = np.full(200, 1000.0)
    assert hrv_time(flat).rmssd == 0.0
    f = hrv_frequency(flat)
    assert f.lf == pytest.approx(0.0, abs=1e-9) and math.isnan(f.lf_hf)
