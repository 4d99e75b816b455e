"""The breathing rate stays inside its band (3-30 breaths/min by default) or says it found no
peak (NaN): a band edge on the slope of slow heart-rate waves is not a breathing peak, and the
parabolic refinement moves the peak by at most half a bin. (A review found -97 breaths/min on
a plausible series and 18 negative one-minute windows in a day of healthy RR.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biotrainer.dsp.hrv import breathing_rate
from biotrainer.dsp.rr import clean_rr


def _slow_wave_rr(seed: int) -> np.ndarray:
    """70 s of RR with a slow heart-rate wave (0.005-0.04 Hz, below the band) plus noise."""
    rng = np.random.default_rng(seed)
    hr = rng.uniform(50, 90)
    n = int(70 * hr / 60)
    t = np.arange(n) * 60 / hr
    wave = rng.uniform(0, 80) * np.sin(2 * np.pi * rng.uniform(0.005, 0.04) * t + rng.uniform(0, 6))
    return 60000 / hr + wave + rng.normal(0, rng.uniform(2, 30), n)


def _in_band_or_nan(bpm: float, lo: float = 3.0, hi: float = 30.0) -> bool:
    return bool(np.isnan(bpm) or lo <= bpm <= hi)


def test_slow_heart_rate_waves_never_give_a_rate_outside_the_band() -> None:
    rates = np.array([breathing_rate(_slow_wave_rr(seed)) for seed in range(400)])
    outside = rates[~np.isnan(rates) & ((rates < 3.0) | (rates > 30.0))]
    assert outside.size == 0, f"{outside.size} rates outside 3-30/min, e.g. {outside[:5]}"


@pytest.mark.parametrize("rate_bpm", [4.5, 6.0, 12.0, 20.0])
def test_a_breathing_wave_on_a_slow_wave_is_still_found(rate_bpm: float) -> None:
    hr = 65.0
    t = np.arange(int(75 * hr / 60)) * 60 / hr
    slow = 90 * np.sin(2 * np.pi * 0.012 * t)
    rr = 60000 / hr + slow + 40 * np.sin(2 * np.pi * rate_bpm / 60 * t)
    assert breathing_rate(rr) == pytest.approx(rate_bpm, abs=0.3)


@pytest.mark.parametrize("name", ["nsr001_rr_secs.txt", "000.txt"])
def test_a_day_of_healthy_rr_stays_in_the_band(shared_data: Path, name: str) -> None:
    values = np.loadtxt(shared_data / "rr_long" / name)
    rr = values * 1000.0 if name.endswith("_secs.txt") else values
    rr = rr[(rr > 250) & (rr < 2500)][:30_000]  # (a few hours; the leading offset dropped)
    t = np.cumsum(rr) / 1000.0
    rates = []
    for start in np.arange(0.0, t[-1] - 70.0, 60.0):
        window = rr[(t >= start) & (t < start + 70.0)]
        rates.append(breathing_rate(clean_rr(window).rr_ms))
    rates = np.array(rates)
    assert rates.size > 200
    assert all(_in_band_or_nan(r) for r in rates), rates[~np.isnan(rates)].min()
    assert np.isfinite(rates).mean() > 0.5  # most windows still give a rate
