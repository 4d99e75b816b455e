"""Artifact intervals in the ground truth are where the artifacts are in the signals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal
from simulator_helpers import rows_of

from biotrainer.acquisition.simulator import load_scenario, render_scenario


@pytest.fixture(scope="module", params=["research", "muse"])
def rendered(request, research_layout, muse_layout):
    layout = research_layout if request.param == "research" else muse_layout
    return render_scenario(load_scenario("artifacts"), layout, seed=3)


def _rows(rendered, kind):
    return [a for a in rendered.truth.artifacts if a.kind == kind]


def _window(x, fs, a, b):
    return x[int(a * fs) : int(b * fs)]


def test_every_scripted_kind_is_in_the_truth(rendered):
    kinds = {a.kind for a in rendered.truth.artifacts}
    assert {"blink", "jaw_clench", "electrode_pop", "motion", "flat", "line_noise"} <= kinds


def test_flat_channel_is_flat_exactly_in_its_interval(rendered):
    eeg, fs, names = rows_of(rendered, "eeg")
    (flat,) = _rows(rendered, "flat")
    assert flat.channel in ("AF8", "F8")
    x = eeg[names.index(flat.channel)]
    inside = _window(x, fs, flat.start_s + 0.01, flat.end_s - 0.01)
    assert np.ptp(inside) == 0.0
    # no other channel and no other time is flat
    one_s = int(fs)
    for i in range(len(names)):
        segs = eeg[i][: eeg.shape[1] // one_s * one_s].reshape(-1, one_s)
        flat_secs = np.flatnonzero(np.ptp(segs, axis=1) == 0)
        if names[i] == flat.channel:
            assert flat_secs.min() >= int(flat.start_s) and flat_secs.max() <= int(flat.end_s)
        else:
            assert flat_secs.size == 0


def test_jaw_clench_is_broadband_emg_on_temporal_sites(rendered):
    eeg, fs, names = rows_of(rendered, "eeg")
    clench = _rows(rendered, "jaw_clench")
    channels = {a.channel for a in clench}
    assert channels & {"TP9", "TP10", "T7", "T8"}
    sos = signal.butter(4, [25, min(100, 0.45 * fs)], btype="bandpass", fs=fs, output="sos")
    a = clench[0]
    for ch in channels:
        hf = signal.sosfiltfilt(sos, eeg[names.index(ch)])
        inside = np.std(_window(hf, fs, a.start_s + 0.2, a.end_s - 0.2))
        before = np.std(_window(hf, fs, a.start_s - 8, a.start_s - 1))
        assert inside > 4 * before, ch


def test_blinks_are_frontal_deflections_where_the_truth_says(rendered):
    eeg, fs, names = rows_of(rendered, "eeg")
    blinks = [a for a in _rows(rendered, "blink") if not a.spontaneous]
    assert len({a.start_s for a in blinks}) >= 1  # a burst of 30/min over 10 s
    frontal = {a.channel for a in blinks}
    assert frontal <= {"Fp1", "Fp2", "AF7", "AF8", "F3", "F4", "F7", "F8"}
    ch = sorted(frontal)[0]
    x = signal.sosfiltfilt(
        signal.butter(2, [0.5, 6], btype="bandpass", fs=fs, output="sos"), eeg[names.index(ch)]
    )
    peak_in = [np.max(_window(x, fs, a.start_s, a.end_s)) for a in blinks if a.channel == ch]
    # the quietest 5-s stretch without any artifact on this channel
    quiet = []
    for lo in range(1, 175, 5):
        busy = [
            a
            for a in rendered.truth.artifacts
            if a.channel == ch and a.end_s > lo - 1 and a.start_s < lo + 6
        ]
        if not busy:
            quiet.append(np.max(np.abs(_window(x, fs, lo, lo + 5))))
    assert len(quiet) >= 5
    assert min(peak_in) > 2 * max(quiet)


def test_electrode_pops_jump_on_their_channel(rendered):
    eeg, fs, names = rows_of(rendered, "eeg")
    pops = _rows(rendered, "electrode_pop")
    assert len(pops) == 2
    for a in pops:
        x = eeg[names.index(a.channel)]
        i = int(round(a.start_s * fs))
        jump = x[i + 1] - np.median(x[i - int(fs) : i])
        assert jump > 250


def test_motion_shows_on_the_accelerometer_and_eeg(rendered):
    accel, fs_a, _ = rows_of(rendered, "accel")
    a = next(a for a in _rows(rendered, "motion") if a.role == "accel")
    inside = np.std(_window(accel[0], fs_a, a.start_s + 1, a.end_s - 1))
    outside = np.std(_window(accel[0], fs_a, a.start_s - 10, a.start_s - 1))
    assert inside > 10 * outside
    roles = {m.role for m in _rows(rendered, "motion")}
    assert {"eeg", "ppg", "accel"} <= roles


def test_line_noise_burst(rendered):
    eeg, fs, names = rows_of(rendered, "eeg")
    (a, *_) = _rows(rendered, "line_noise")
    x = eeg[names.index(a.channel)]

    def mains(seg):
        f, p = signal.welch(seg, fs, nperseg=int(fs))
        return p[np.argmin(np.abs(f - 50))]

    assert mains(_window(x, fs, a.start_s + 1, a.end_s - 1)) > 20 * mains(
        _window(x, fs, a.start_s - 9, a.start_s - 1)
    )


def test_spontaneous_blinks_only_with_eyes_open(research_layout):
    r = render_scenario(load_scenario("eyes-open-closed"), research_layout, seed=1)
    g = r.truth
    starts = np.array([a.start_s for a in g.artifacts if a.kind == "blink"])
    assert starts.size > 0
    closed = g.eyes_closed[np.searchsorted(g.t_s, starts)]
    assert not closed.any()
