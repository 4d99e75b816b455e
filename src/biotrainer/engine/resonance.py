"""Resonance-frequency assessment (Lehrer & Vaschillo).

The person breathes to a pacer at 6.5, 6.0, 5.5, 5.0 and 4.5 breaths/min for 2 minutes each.
For each rate we measure the low-frequency (0.04-0.15 Hz) HRV power and the mean peak-to-trough
heart-rate swing per breath. The resonance rate is the one ranking best on both (sum of ranks;
ties go to the higher LF power).

References
----------
Lehrer PM, Vaschillo E, Vaschillo B. Resonant frequency biofeedback training to increase cardiac
variability: rationale and manual for training. Appl Psychophysiol Biofeedback 2000;25:177-191.
Shaffer F, Meehan ZM. A practical guide to resonance frequency assessment for heart rate
variability biofeedback. Front Neurosci 2020;14:570400.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import interp1d

from biotrainer.dsp.hrv import hrv_frequency
from biotrainer.dsp.rr import clean_rr, rr_too_irregular

#: Seconds at the start of each rate left out while breathing settles into the new pace.
SETTLE_S = 20.0


@dataclass(frozen=True)
class RateResult:
    """What one paced rate produced.

    Attributes
    ----------
    bpm : float
        Paced breathing rate, breaths/min.
    lf_power_ms2 : float
        LF power (0.04-0.15 Hz) of the cleaned RR series, ms².
    hr_swing_bpm : float
        Mean peak-to-trough heart-rate difference per breath cycle, beats/min.
    n_beats : int
        Beats analysed.
    irregular : bool
        The cleaned beats were too irregular to measure
        (:func:`~biotrainer.dsp.rr.rr_too_irregular`): LF power and swing are NaN, so the rate
        is not chosen.
    """

    bpm: float
    lf_power_ms2: float
    hr_swing_bpm: float
    n_beats: int
    irregular: bool = False


#: Said in the log of a resonance assessment that ended before its last rate.
NOT_DECIDED = "not decided"


@dataclass(frozen=True)
class ResonanceResult:
    """The assessment: per-rate results and the chosen resonance rate (NaN if undecidable).

    ``complete`` is False when the assessment ended before its last paced rate (a recording or
    scenario shorter than the protocol): no rate is chosen from part of the rates, and nothing
    replaces the rate stored for the patient.
    """

    rates: tuple[RateResult, ...]
    best_bpm: float
    complete: bool = True


def hr_swing(beat_times_s: np.ndarray, breath_period_s: float) -> float:
    """Mean peak-to-trough heart rate (beats/min) per breath cycle.

    The instantaneous heart rate (60 / RR, at each beat) is interpolated at 4 Hz and cut into
    consecutive breath cycles of ``breath_period_s``; the max - min of each full cycle is
    averaged.
    """
    t = np.asarray(beat_times_s, dtype=float)
    if t.size < 4:
        return math.nan
    rr = np.diff(t)
    hr = 60.0 / rr
    tt = t[1:]
    grid = np.arange(tt[0], tt[-1], 0.25)
    if grid.size < 8:
        return math.nan
    hr_grid = interp1d(tt, hr, kind="linear")(grid)
    per_cycle = int(round(breath_period_s / 0.25))
    n_cycles = grid.size // per_cycle
    if n_cycles < 1:
        return math.nan
    cycles = hr_grid[: n_cycles * per_cycle].reshape(n_cycles, per_cycle)
    return float(np.mean(cycles.max(axis=1) - cycles.min(axis=1)))


def assess_rate(bpm: float, beat_times_s: np.ndarray) -> RateResult:
    """Measure one paced rate from its beat times (the first :data:`SETTLE_S` are skipped)."""
    t = np.asarray(beat_times_s, dtype=float)
    if t.size:
        t = t[t >= t[0] + SETTLE_S]
    rr = clean_rr(np.diff(t) * 1000.0).rr_ms if t.size > 2 else np.empty(0)
    if rr_too_irregular(rr):
        # a sensor that moved or slipped: its beats' LF power would outrank every real rate
        return RateResult(float(bpm), math.nan, math.nan, int(t.size), irregular=True)
    lf = hrv_frequency(rr).lf if rr.size >= 10 else math.nan
    # Rebuild beat times from the cleaned intervals so ectopic beats do not fake a swing.
    clean_t = np.concatenate([[0.0], np.cumsum(rr) / 1000.0]) if rr.size else t
    return RateResult(float(bpm), float(lf), hr_swing(clean_t, 60.0 / bpm), int(t.size))


def choose_resonance(rates: list[RateResult] | tuple[RateResult, ...]) -> ResonanceResult:
    """Pick the rate ranking best on LF power and heart-rate swing together."""
    valid = [r for r in rates if math.isfinite(r.lf_power_ms2) and math.isfinite(r.hr_swing_bpm)]
    if not valid:
        return ResonanceResult(tuple(rates), math.nan)
    lf_rank = {id(r): i for i, r in enumerate(sorted(valid, key=lambda r: -r.lf_power_ms2))}
    sw_rank = {id(r): i for i, r in enumerate(sorted(valid, key=lambda r: -r.hr_swing_bpm))}
    best = min(valid, key=lambda r: (lf_rank[id(r)] + sw_rank[id(r)], lf_rank[id(r)]))
    return ResonanceResult(tuple(rates), best.bpm)
