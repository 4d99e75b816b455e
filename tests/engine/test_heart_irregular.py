"""Beats the cleaning cannot make regular (a detector following a moving sensor): the heart's
variability metrics are withdrawn and feedback on coherence holds with a reason, while the
heart rate, a count of beats, stays."""

from __future__ import annotations

import math

import numpy as np
from simulated_ecg import between, run_with_ecg

from biotrainer.engine.engine import HEART_IRREGULAR_REASON
from biotrainer.engine.processors import CardiacProcessor
from biotrainer.engine.updates import BREATHING_FROM_RESP


def _chaotic_ecg(ts: np.ndarray, ecg: np.ndarray, part: np.ndarray) -> np.ndarray:
    """R-like spikes at random intervals of 0.4-1.2 s on the recording's ECG baseline over
    ``part``: what an R-peak detector sees when it follows movement rather than the heart."""
    rng = np.random.default_rng(5)
    t = ts[part]
    times = np.cumsum(rng.uniform(0.4, 1.2, size=int((t[-1] - t[0]) / 0.4) + 2)) + t[0]
    height = np.percentile(ecg, 99.5) - np.median(ecg)
    out = np.full(t.size, float(np.median(ecg))) + rng.normal(0.0, 0.01 * height, t.size)
    for beat in times[times < t[-1]]:
        out += height * np.exp(-0.5 * ((t - beat) / 0.008) ** 2)
    return out


def _run(protocol: str, chaos_from: float, chaos_to: float, until_s: float):
    """(first sample time, updates, engine) with the ECG chaotic over [chaos_from, chaos_to)."""
    return run_with_ecg(protocol, chaos_from, chaos_to, until_s, _chaotic_ecg)


def test_coherence_feedback_holds_while_the_beats_are_too_irregular_to_measure():
    t0, updates, _ = _run("hrv-resonance-breathing", 130.0, 250.0, 360.0)
    before = between(updates, t0, 110.0, 130.0)
    assert all(math.isfinite(u.coherence) and math.isfinite(u.rmssd_ms) for u in before)
    assert all(u.quality_ok and not u.heart_irregular for u in before)
    # a minute into the chaos every window is mostly chaos: no variability, feedback held
    chaos = between(updates, t0, 200.0, 250.0)
    assert len(chaos) > 400
    for name in ("rmssd_ms", "coherence", "feedback_z"):
        assert all(math.isnan(getattr(u, name)) for u in chaos), name
    # no breathing rate from the heart rhythm; the simulator's respiration belt still gives one
    assert all(u.breathing_source == BREATHING_FROM_RESP for u in chaos)
    assert all(not u.quality_ok and u.quality_reason == HEART_IRREGULAR_REASON for u in chaos)
    assert not any(u.rewarded for u in chaos)
    assert all(math.isfinite(u.hr_bpm) and u.heart_irregular for u in chaos)  # still counted
    # the heart's own beats back: variability returns once its windows are regular again
    back = between(updates, t0, 330.0, 360.0)
    assert all(math.isfinite(u.coherence) and math.isfinite(u.rmssd_ms) for u in back)
    assert not any(u.heart_irregular for u in back)
    # the mark is RMSSD's own verdict: blank exactly when marked (what the exports rely on)
    assert all(u.heart_irregular == math.isnan(u.rmssd_ms) for u in between(updates, t0, 110, 360))
    assert np.mean([u.quality_ok for u in back]) > 0.9


def test_an_eeg_protocol_goes_on_without_the_irregular_variability():
    t0, updates, _ = _run("alpha-uptraining", 100.0, 200.0, 190.0)
    chaos = between(updates, t0, 170.0, 190.0)
    assert chaos and all(math.isnan(u.rmssd_ms) and math.isnan(u.coherence) for u in chaos)
    assert HEART_IRREGULAR_REASON not in {u.quality_reason for u in chaos}
    assert np.mean([u.quality_ok for u in chaos]) > 0.9


def test_an_rr_source_with_irregular_intervals_gives_no_variability():
    """The one-block-at-a-time path (RR sources): regular intervals give RMSSD and coherence;
    a minute of intervals at random 400-1200 ms withdraws them and says so."""
    rng = np.random.default_rng(1)
    proc = CardiacProcessor(1.0, "rr", t0=0.0)
    t = 0.0
    for _ in range(150):  # regular beats with a 6-a-minute breathing rhythm
        rr = 900.0 + 60.0 * math.sin(2 * math.pi * 0.1 * t)
        t += rr / 1000.0
        proc.push_rr(np.array([rr]), np.array([t]))
    assert math.isfinite(proc.rmssd_ms) and math.isfinite(proc.coherence)
    assert not proc.irregular
    for rr in rng.uniform(400.0, 1200.0, size=90):
        t += rr / 1000.0
        proc.push_rr(np.array([rr]), np.array([t]))
    assert math.isnan(proc.rmssd_ms) and math.isnan(proc.coherence)
    assert math.isnan(proc.breathing_bpm) and proc.irregular and proc.slow_irregular
    assert 40.0 < proc.hr_bpm < 150.0


def test_a_paced_rate_with_irregular_beats_is_not_chosen_as_the_resonance_rate():
    """The resonance assessment on the simulated person (resonance at 5.5 breaths/min) with
    the ECG following movement through the 4.5/min step: that rate is marked irregular, not
    measured, and the person's own rate is still found (the chaos's LF power would have
    outranked every real rate)."""
    _, _, engine = _run("resonance-assessment", 605.0, 720.0, 800.0)
    result = engine.resonance
    assert result is not None and result.complete
    by_rate = {r.bpm: r for r in result.rates}
    assert by_rate[4.5].irregular
    assert math.isnan(by_rate[4.5].lf_power_ms2) and math.isnan(by_rate[4.5].hr_swing_bpm)
    assert not any(by_rate[b].irregular for b in (6.5, 6.0, 5.5, 5.0))
    assert result.best_bpm == 5.5
