"""The simulated physiology checked against its ground truth with independent tools.

NeuroKit2 (a test-only dependency, not used by the generator) must find the simulated R peaks
and PPG systolic peaks within a few ms of the truth; Welch spectra must show relative alpha
rising with the script; heart-rate swings must follow the RSA resonance.
"""

from __future__ import annotations

import itertools

import neurokit2 as nk
import numpy as np
import pytest
from scipy import signal
from simulator_helpers import nearest_error, rows_of, steady_scenario

from biotrainer.acquisition.simulator import load_scenario, render_scenario


def _rel_alpha(x: np.ndarray, fs: float) -> float:
    f, p = signal.welch(x, fs, nperseg=int(4 * fs))
    return p[(f >= 8) & (f <= 13)].sum() / p[(f >= 1) & (f <= 40)].sum()


def test_neurokit_finds_the_r_peaks(stressed_research):
    ecg, fs, _ = rows_of(stressed_research, "ecg")
    _, info = nk.ecg_peaks(ecg[0], sampling_rate=int(fs))
    detected = np.asarray(info["ECG_R_Peaks"]) / fs
    truth = stressed_research.truth.r_peak_s
    err = nearest_error(detected, truth)
    assert abs(len(detected) - len(truth)) <= 2
    assert np.median(np.abs(err)) < 0.004
    assert np.percentile(np.abs(err), 95) < 0.008
    # heart rate falls as the person relaxes (first vs last 2 minutes)
    rr = np.diff(detected)
    early = 60 / np.median(rr[detected[1:] < 120])
    late = 60 / np.median(rr[detected[1:] > 480])
    assert early - late > 8
    # dropped beats really have no QRS
    dropped = stressed_research.truth.beat_s[stressed_research.truth.beat_kind == "dropped"]
    if dropped.size:
        assert np.all(np.abs(nearest_error(detected, dropped)) > 0.2)


@pytest.mark.parametrize("which", ["research", "muse"])
def test_neurokit_finds_the_ppg_peaks(which, stressed_research, short_muse):
    rendered = stressed_research if which == "research" else short_muse
    ppg, fs, names = rows_of(rendered, "ppg")
    row = names.index("ppg_ir")
    clean = nk.ppg_clean(ppg[row], sampling_rate=int(fs))
    detected = np.asarray(nk.ppg_findpeaks(clean, sampling_rate=int(fs))["PPG_Peaks"]) / fs
    truth = rendered.truth.ppg_peak_s
    truth = truth[np.isfinite(truth) & (rendered.truth.beat_kind == "N")]
    err = nearest_error(detected, truth)
    sample = 1.0 / fs
    assert np.median(np.abs(err)) < max(0.004, 0.5 * sample)
    assert np.percentile(np.abs(err), 90) < max(0.008, 1.0 * sample)


def test_pulse_follows_r_peak_by_a_realistic_varying_transit_time(stressed_research):
    g = stressed_research.truth
    ptt = g.ptt_s[np.isfinite(g.ptt_s)]
    assert 0.18 < np.median(ptt) < 0.30
    assert ptt.std() > 0.003  # it varies
    lag = (g.ppg_peak_s - g.beat_s)[np.isfinite(g.ppg_peak_s)]
    assert np.all(lag > ptt.min()) and np.all(lag < 0.6)


def test_relative_alpha_rises_with_relaxation(stressed_research):
    eeg, fs, names = rows_of(stressed_research, "eeg")
    n = int(120 * fs)
    for ch in ("O1", "Pz", "F3", "T7"):
        x = eeg[names.index(ch)]
        early, late = _rel_alpha(x[:n], fs), _rel_alpha(x[-n:], fs)
        assert late > 1.5 * early, ch
    # theta + beta power (absolute) falls
    x = eeg[names.index("F3")]

    def band(seg, lo, hi):
        f, p = signal.welch(seg, fs, nperseg=int(4 * fs))
        return p[(f >= lo) & (f <= hi)].sum()

    assert band(x[-n:], 16, 28) < 0.8 * band(x[:n], 16, 28)


def test_alpha_is_spatial_and_peaks_at_the_individual_frequency(stressed_research):
    eeg, fs, names = rows_of(stressed_research, "eeg")
    late = eeg[:, -int(120 * fs) :]
    f, p = signal.welch(late, fs, nperseg=int(4 * fs))
    alpha = p[:, (f >= 8) & (f <= 13)].sum(axis=1)
    assert alpha[names.index("O1")] > 2 * alpha[names.index("Fp1")]
    assert alpha[names.index("Pz")] > alpha[names.index("F3")]
    band = (f >= 7) & (f <= 14)
    peak = f[band][np.argmax(p[names.index("Oz")][band])]
    assert abs(peak - stressed_research.truth.iaf_hz) <= 0.5
    # truth: expected alpha RMS is larger late than early and larger at O1 than Fp1
    a = stressed_research.truth.alpha_rms_uv
    assert a[names.index("O1"), -1] > a[names.index("O1"), 0]
    assert a[names.index("O1"), -1] > a[names.index("Fp1"), -1]


def test_muse_sites_show_alpha_rising(muse_layout):
    r = render_scenario(load_scenario("stressed-to-relaxed"), muse_layout, seed=4)
    eeg, fs, names = rows_of(r, "eeg")
    n = int(120 * fs)
    for ch in ("TP9", "TP10", "AF7", "AF8"):
        x = eeg[names.index(ch)]
        assert _rel_alpha(x[-n:], fs) > 1.5 * _rel_alpha(x[:n], fs), ch


def test_eyes_closed_raises_posterior_alpha(research_layout):
    sc = load_scenario("eyes-open-closed")
    r = render_scenario(sc, research_layout, seed=8)
    eeg, fs, names = rows_of(r, "eeg")
    x = eeg[names.index("O2")]
    per_block = [
        _rel_alpha(x[int((k * 60 + 5) * fs) : int((k + 1) * 60 * fs)], fs)
        for k in range(int(sc.duration_s // 60))
    ]
    opened, closed = per_block[0::2], per_block[1::2]
    assert min(closed) > max(opened)


def _hr_swing(rendered, t_from: float) -> float:
    """Mean per-breath peak-to-trough of NeuroKit-detected instantaneous heart rate."""
    ecg, fs, _ = rows_of(rendered, "ecg")
    _, info = nk.ecg_peaks(ecg[0], sampling_rate=int(fs))
    r = np.asarray(info["ECG_R_Peaks"]) / fs
    g = rendered.truth
    # leave out intervals touching an ectopic or dropped beat (as any HRV analysis would)
    odd = g.beat_s[g.beat_kind != "N"]
    rr_mid = 0.5 * (r[1:] + r[:-1])
    ok = (
        np.array([np.all(np.abs(odd - m) > 1.3) for m in rr_mid])
        if odd.size
        else np.ones(rr_mid.size, bool)
    )
    hr, t = 60.0 / np.diff(r)[ok], r[1:][ok]
    onsets = g.inhale_s[g.inhale_s > t_from]
    swings = [
        np.ptp(hr[(t >= a) & (t < b)])
        for a, b in itertools.pairwise(onsets)
        if np.sum((t >= a) & (t < b)) >= 3
    ]
    return float(np.mean(swings))


def test_rsa_is_larger_at_6_than_at_12_breaths_per_min(research_layout):
    slow = render_scenario(steady_scenario(90, 6.0, paced=True), research_layout, seed=2)
    fast = render_scenario(steady_scenario(90, 12.0, paced=True), research_layout, seed=2)
    s6, s12 = _hr_swing(slow, 10.0), _hr_swing(fast, 10.0)
    assert s6 > 2.0 * s12
    # and the truth says so too
    assert slow.truth.rsa_bpm.mean() > 2.0 * fast.truth.rsa_bpm.mean()


def test_resonance_scenario_peaks_at_the_persons_resonance_rate(research_layout):
    sc = load_scenario("resonance-breathing")
    r = render_scenario(sc, research_layout, seed=9)
    ecg, fs, _ = rows_of(r, "ecg")
    _, info = nk.ecg_peaks(ecg[0], sampling_rate=int(fs))
    peaks = np.asarray(info["ECG_R_Peaks"]) / fs
    g = r.truth
    odd = g.beat_s[g.beat_kind != "N"]
    swings = []
    for seg in sc.segments:
        rr_t = peaks[1:]
        hr = 60.0 / np.diff(peaks)
        keep = (rr_t > seg.start_s + 15) & (rr_t < seg.end_s)
        if odd.size:
            keep &= np.array([np.all(np.abs(odd - x) > 1.3) for x in rr_t])
        onsets = g.inhale_s[(g.inhale_s > seg.start_s + 15) & (g.inhale_s < seg.end_s)]
        sw = [
            np.ptp(hr[keep & (rr_t >= a) & (rr_t < b)])
            for a, b in itertools.pairwise(onsets)
            if np.sum(keep & (rr_t >= a) & (rr_t < b)) >= 3
        ]
        swings.append(np.median(sw))
    rates = [seg.breathing_rate_bpm[0] for seg in sc.segments]
    assert rates[int(np.argmax(swings))] == sc.person.resonance_breaths_per_min


def test_breathing_rate_in_truth_matches_the_resp_signal(stressed_research):
    resp, fs, _ = rows_of(stressed_research, "resp")
    x = resp[0]
    g = stressed_research.truth
    for lo, hi in ((10, 110), (500, 600)):
        seg = x[int(lo * fs) : int(hi * fs)]
        peaks, _ = signal.find_peaks(seg, distance=int(fs * 2.5), prominence=np.ptp(seg) * 0.3)
        measured = len(peaks) / ((hi - lo) / 60.0)
        sel = (g.t_s >= lo) & (g.t_s < hi)
        expected = g.breathing_rate_bpm[sel].mean()
        assert abs(measured - expected) < 0.15 * expected + 1.0
