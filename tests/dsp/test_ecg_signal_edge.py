"""An ECG that starts inside or just after a QRS (a recording cut there, an LSL stream joined
mid-beat) gives no misplaced first beat.

The R time is searched in the 200 ms before the QRS energy peak; when that window begins before
the first sample, the QRS may be cut and the R was placed at sample 1 or on the S wave (the
first RR interval 1-2 samples short, early RMSSD inflated). Such a QRS is no beat in the
output, and every other beat stays where it was, offline and streamed alike.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biotrainer.dsp.ecg import EcgPeakStream, ecg_peaks

FS = 250.0


def synthetic_ecg(seconds: float = 30.0, seed: int = 0) -> np.ndarray:
    """An ECG-like signal: P, Q, R, S, T waves (RR 0.75-0.9 s) on an offset, low noise.

    The detector's R times lag the waves' by ~1.3 samples (its causal filters), so the tests
    compare a cut signal's beats with the detector's beats in the whole signal."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    t = np.arange(n) / FS
    x = 0.5 + 0.01 * rng.standard_normal(n)
    r_times = np.cumsum(rng.uniform(0.75, 0.9, int(seconds / 0.75) + 1)) - 0.4
    r_times = r_times[r_times < seconds - 0.5]
    waves = [(0.1, -0.2, 0.02), (-0.1, -0.03, 0.008), (1.0, 0.0, 0.01), (-0.25, 0.03, 0.008)]
    for r in r_times:
        for amp, at, sd in [*waves, (0.3, 0.25, 0.04)]:
            x += amp * np.exp(-0.5 * ((t - r - at) / sd) ** 2)
    return x


def streamed_like_the_engine(x: np.ndarray, fs: float) -> np.ndarray:
    """The live path: 0.1 s pieces in one split push (as the cardiac processor does)."""
    k = int(0.1 * fs)
    ends = [*range(k, x.size, k), x.size]
    return np.concatenate(EcgPeakStream(fs).push_positions_split(x, ends))


def assert_beats_are_true_r_peaks(peaks: np.ndarray, truth: np.ndarray, tol: float) -> None:
    assert peaks.size > 10
    err = np.array([np.min(np.abs(truth - p)) for p in peaks])
    off = err > tol
    assert not off.any(), f"beats off the R peaks: {peaks[off]} (errors {err[off]})"


@pytest.mark.parametrize("offset", [-2, -1, 0, 1, 2, 3])
def test_a_qrs_cut_by_the_start_gives_no_misplaced_beat(offset: int) -> None:
    x = synthetic_ecg()
    whole = ecg_peaks(x, FS, subsample=True)
    start = int(round(whole[3])) + offset  # the stream begins at, or 1-3 samples after, an R
    cut = x[start:]
    truth = whole - start
    peaks = ecg_peaks(cut, FS, subsample=True)
    assert_beats_are_true_r_peaks(peaks, truth, tol=1.0)
    # the first RR interval is a true one, not 1-2 samples short
    first_rr = np.diff(peaks[:2])[0]
    true_rr = np.diff(truth[(truth > peaks[0] - 1)][:2])[0]
    assert abs(first_rr - true_rr) <= 1.0
    np.testing.assert_array_equal(streamed_like_the_engine(cut, FS), peaks)


def test_the_later_beats_do_not_change_when_the_first_is_left_out() -> None:
    """The cut QRS still counts for the detector (refractory period, T-wave test, levels): the
    beats after it are exactly those of a start 0.2 s earlier, where that QRS is whole."""
    x = synthetic_ecg(seed=3)
    whole = ecg_peaks(x, FS, subsample=True)
    r3 = int(round(whole[3]))
    cut = ecg_peaks(x[r3 + 1 :], FS, subsample=True) + r3 + 1
    earlier = ecg_peaks(x[r3 - 50 :], FS, subsample=True) + r3 - 50
    assert abs(earlier[0] - whole[3]) <= 1.0  # there the QRS is whole and found
    assert abs(cut[0] - whole[4]) <= 1.0  # the cut one is left out, the next one is the first
    # (the starts differ, so the filters' start transients leave sub-sample differences)
    np.testing.assert_allclose(cut, earlier[1:], atol=0.05)


def test_a_qrs_cut_by_the_end_gives_no_misplaced_beat() -> None:
    """At the end nothing is cut: a beat is confirmed only 120 ms after its QRS energy peak,
    and its R lies before that peak."""
    x = synthetic_ecg(seed=5)
    whole = ecg_peaks(x, FS, subsample=True)
    for k in range(-5, 40, 3):
        end = int(round(whole[-3])) + k
        peaks = ecg_peaks(x[:end], FS, subsample=True)
        np.testing.assert_array_equal(peaks, whole[: peaks.size])
        assert peaks[-1] >= whole[-4]  # only the QRS cut by the end is not (yet) confirmed


def test_mit_bih_record_100_cut_inside_a_qrs(shared_data: Path) -> None:
    wfdb = pytest.importorskip("wfdb")
    rec = wfdb.rdrecord(str(shared_data / "ecg_mitdb" / "100"), sampto=360 * 40)
    x, fs = rec.p_signal[:, 0], float(rec.fs)
    whole = ecg_peaks(x, fs, subsample=True)
    for b in (10, 20, 30):
        for offset in (-3, -1, 0, 1, 2, 3):
            start = int(round(whole[b])) + offset
            peaks = ecg_peaks(x[start : start + int(15 * fs)], fs, subsample=True)
            assert_beats_are_true_r_peaks(peaks, whole - start, tol=1.0)
