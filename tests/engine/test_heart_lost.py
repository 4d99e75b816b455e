"""Beats that stop while the data flow on (an ECG electrode or a PPG sensor off): the heart
metrics are withdrawn and feedback on coherence holds with a reason, instead of the last values
standing for minutes with the quality "ok"."""

from __future__ import annotations

import math

import numpy as np
import pytest
from simulated_ecg import between, run_protocol, run_with_ecg

from biotrainer.acquisition.profiles import load_profile
from biotrainer.acquisition.simulator.render import render_scenario
from biotrainer.acquisition.simulator.scenario import load_scenario
from biotrainer.engine.engine import HEART_LOST_REASON
from biotrainer.engine.updates import BREATHING_FROM_RESP
from biotrainer.limits import BEATS_LOST_S


def _run_with_flat_ecg(protocol: str, off_s: float, on_s: float, until_s: float):
    """The simulator's resonance recording with its ECG held flat over [off_s, on_s) of data."""

    def held(ts, ecg, off):
        return ecg[np.flatnonzero(off)[0] - 1]

    t0, updates, _ = run_with_ecg(protocol, off_s, on_s, until_s, held)
    return t0, updates


def _run(layout, data, protocol: str, until_s: float):
    return run_protocol(layout, data, protocol, until_s)[0]


def test_coherence_feedback_holds_with_a_reason_while_no_beat_is_detected():
    t0, updates = _run_with_flat_ecg("hrv-resonance-breathing", 150.0, 210.0, 300.0)
    before = between(updates, t0, 140.0, 150.0)
    assert all(math.isfinite(u.hr_bpm) and math.isfinite(u.coherence) for u in before)
    assert all(u.quality_ok for u in before)
    # within BEATS_LOST_S (+ the detector's confirmation) of the last beat: withdrawn, held
    lost = between(updates, t0, 150.0 + BEATS_LOST_S + 1.5, 210.0)
    assert len(lost) > 400
    assert all(not u.quality_ok and u.quality_reason == HEART_LOST_REASON for u in lost)
    for name in ("hr_bpm", "rmssd_ms", "coherence", "feedback_z"):
        assert all(math.isnan(getattr(u, name)) for u in lost), name
    # no breathing rate from the heart rhythm; the simulator's respiration belt still gives one
    assert all(u.breathing_source == BREATHING_FROM_RESP for u in lost)
    assert not any(u.rewarded for u in lost)
    # the beats come back: so does the heart rate (counted once per beat: the simulated heart
    # beats at about 70/min), and coherence once a window of beats (64 s) has been seen again
    back = between(updates, t0, 215.0, 300.0)
    assert all(55.0 < u.hr_bpm < 90.0 for u in back)
    assert np.mean([u.quality_ok for u in back]) > 0.9
    assert any(math.isfinite(u.feedback_z) for u in between(updates, t0, 285.0, 300.0))


def test_an_eeg_protocol_goes_on_but_shows_no_stale_heart_rate():
    t0, updates = _run_with_flat_ecg("alpha-uptraining", 100.0, 200.0, 160.0)
    lost = between(updates, t0, 100.0 + BEATS_LOST_S + 1.5, 160.0)
    assert lost and all(math.isnan(u.hr_bpm) and math.isnan(u.coherence) for u in lost)
    assert HEART_LOST_REASON not in {u.quality_reason for u in lost}  # EEG feedback goes on
    assert np.mean([u.quality_ok for u in lost]) > 0.9


@pytest.mark.parametrize("heart_rate_bpm", [35.0, 180.0])
def test_a_slow_or_fast_heart_is_not_taken_for_lost_beats(heart_rate_bpm):
    from biotrainer.engine.processors import CardiacProcessor

    fs = 250.0
    t = np.arange(0, 90 * fs) / fs
    beat_t = np.arange(0.5, 90.0, 60.0 / heart_rate_bpm)
    ecg = np.zeros_like(t)
    for b in beat_t:  # narrow QRS-like spikes
        ecg += 1.0 * np.exp(-0.5 * ((t - b) / 0.012) ** 2)
    proc = CardiacProcessor(fs, "ecg", 0.0)
    worst = 0.0
    for i in range(0, t.size, 25):
        proc.push(ecg[i : i + 25])
        if i / fs > 10:
            worst = max(worst, proc.beatless_s())
    assert worst < BEATS_LOST_S
    assert proc.hr_bpm == pytest.approx(heart_rate_bpm, rel=0.03)


@pytest.mark.parametrize("hole_s", [4.0, 20.0])
def test_a_hole_in_the_data_is_not_taken_for_lost_beats(hole_s):
    """A device that dropped and came back: its beats are timed by the samples counted, the
    update grid by the timestamps, and after a hole of 5 s or more every update said "no heart
    beats" for the rest of the session (a 4 s hole made it flicker)."""
    layout = load_profile("simulator").layout()
    raw = render_scenario(load_scenario("resonance-breathing"), layout, seed=3).data["default"]
    ts = raw[layout.preset("default").timestamp_row]
    t0 = float(ts[0])
    keep = ~((ts >= t0 + 150.0) & (ts < t0 + 150.0 + hole_s))
    updates = _run(layout, {"default": raw[:, keep].copy()}, "hrv-resonance-breathing", 300.0)
    after = [
        u
        for u in between(updates, t0, 150.0 + hole_s + 2.0, 300.0)
        if u.source_state == "streaming"
    ]
    assert len(after) > 1000
    assert HEART_LOST_REASON not in {u.quality_reason for u in after}
    assert all(math.isfinite(u.hr_bpm) for u in after)


def test_a_heart_signal_that_stops_coming_while_the_eeg_flows_is_lost():
    """The Muse 2's PPG comes in its own preset: when that stream stalls, the heart rate must not
    stand at its last value."""
    layout = load_profile("simulator-muse2").layout()
    r = render_scenario(load_scenario("stressed-to-relaxed"), layout, seed=3)
    data = {k: v.copy() for k, v in r.data.items()}
    anc = data["ancillary"]
    row = layout.preset("ancillary").timestamp_row
    t0 = float(data["default"][layout.preset("default").timestamp_row][0])
    data["ancillary"] = anc[:, anc[row] < t0 + 100.0]  # the PPG stream stalls at 100 s
    updates = _run(layout, data, "alpha-uptraining", 140.0)
    before = between(updates, t0, 80.0, 100.0)
    assert all(math.isfinite(u.hr_bpm) for u in before)
    stalled = between(updates, t0, 100.0 + BEATS_LOST_S + 1.5, 140.0)
    assert stalled and all(math.isnan(u.hr_bpm) for u in stalled)


def test_an_ecg_electrode_off_with_noise_on_the_trace_is_lost_beats_too():
    """The trace only the amplifier's noise (a hundredth of the QRS) instead of flat: before,
    the detector learnt the noise's wiggles as beats (about 3 a second) and the loss never
    showed; a rate of ~180 and coherence from them were fed back."""
    rng = np.random.default_rng(5)

    def noise(ts, ecg, off):
        return ecg[np.flatnonzero(off)[0] - 1] + rng.normal(0.0, 0.01 * np.std(ecg), off.sum())

    t0, updates, _ = run_with_ecg("hrv-resonance-breathing", 150.0, 210.0, 300.0, noise)
    lost = between(updates, t0, 150.0 + BEATS_LOST_S + 1.5, 210.0)
    assert len(lost) > 400
    assert all(not u.quality_ok and u.quality_reason == HEART_LOST_REASON for u in lost)
    assert all(math.isnan(u.hr_bpm) and math.isnan(u.coherence) for u in lost)
    back = between(updates, t0, 215.0, 300.0)
    assert all(55.0 < u.hr_bpm < 90.0 for u in back)
