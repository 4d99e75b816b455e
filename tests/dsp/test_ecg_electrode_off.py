"""An ECG electrode off with only the amplifier's noise on the trace (or a stream begun before
the electrodes are on): the detector finds no beats in the noise, so the loss of the heart signal
shows, and it finds the beats again once the electrode is back. Before, the largest wiggles of
the noise were learnt as beats and counted at about 3 a second for as long as it lasted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biotrainer.dsp.ecg import EcgPeakStream, ecg_peaks

wfdb = pytest.importorskip("wfdb")

BEATS = set("NLRBAaJSVrFejnE/fQ?")


def _mitdb(shared_data: Path, rec: str) -> tuple[np.ndarray, float, np.ndarray]:
    path = str(shared_data / "ecg_mitdb" / rec)
    r = wfdb.rdrecord(path)
    a = wfdb.rdann(path, "atr")
    ref = np.array([s for s, y in zip(a.sample, a.symbol, strict=True) if y in BEATS])
    return r.p_signal[:, 0].astype(np.float64), float(r.fs), ref


def _noise(colour: str, n: int, rng: np.random.Generator) -> np.ndarray:
    steps = rng.normal(0.0, 0.005, n)  # 5 uV (the trace in mV)
    return np.cumsum(steps) * 0.05 if colour == "brown" else steps


@pytest.mark.parametrize("fs", [100.0, 250.0, 360.0, 1000.0])
@pytest.mark.parametrize("colour", ["white", "brown"])
def test_noise_alone_gives_no_beats(fs: float, colour: str) -> None:
    x = _noise(colour, int(300 * fs), np.random.default_rng(int(fs)))
    assert ecg_peaks(x, fs).size == 0


@pytest.mark.parametrize("rec", ["100", "113"])
def test_an_electrode_off_with_noise_on_the_trace_gives_no_beats(shared_data, rec) -> None:
    x, fs, ref = _mitdb(shared_data, rec)
    rng = np.random.default_rng(7)
    wrong = []
    for start in np.arange(300.0, 900.0, 61.7):
        for off_s in (10.0, 40.0):
            a, b = int(start * fs), int((start + off_s) * fs)
            y = np.concatenate([x[:a], _noise("white", b - a, rng), x[b:]])
            det = ecg_peaks(y, fs)
            in_noise = int(np.sum((det > a + 0.5 * fs) & (det < b)))
            # found again once back: every annotated beat of the half minute after, once
            lo, hi = b + 5.0 * fs, b + 35.0 * fs
            n_det = int(np.sum((det > lo) & (det < hi)))
            n_ref = int(np.sum((ref > lo) & (ref < hi)))
            if in_noise or abs(n_det - n_ref) > 1:
                wrong.append((round(start, 1), off_s, in_noise, n_det, n_ref))
    assert wrong == []


def test_a_stream_begun_before_the_electrodes_are_on(shared_data) -> None:
    x, fs, ref = _mitdb(shared_data, "100")
    lead_in = int(20 * fs)
    y = np.concatenate([_noise("white", lead_in, np.random.default_rng(3)), x[: int(120 * fs)]])
    det = EcgPeakStream(fs)
    step = int(0.1 * fs)
    found = np.concatenate([det.push(y[k : k + step]) for k in range(0, y.size, step)])
    assert not np.any(found < lead_in)
    on = found[found >= lead_in] - lead_in
    expected = ref[(ref > 5 * fs) & (ref < 115 * fs)]
    assert abs(int(np.sum((on > 5 * fs) & (on < 115 * fs))) - expected.size) <= 1


@pytest.mark.parametrize("hr", [150, 180, 210])
def test_fast_hearts_are_still_learnt(hr: int) -> None:
    """The rule that keeps noise from being learnt compares the largest feature of 2 s with its
    30th percentile, which a fast heart lowers: sinus rhythm up to 210 bpm must still pass."""
    nk = pytest.importorskip("neurokit2")
    fs = 250
    x = nk.ecg_simulate(duration=60, sampling_rate=fs, heart_rate=hr, noise=0.1, random_state=hr)
    peaks = ecg_peaks(x, fs, subsample=True)
    assert 60.0 / np.median(np.diff(peaks) / fs) == pytest.approx(hr, rel=0.03)
    assert abs(peaks.size - hr) <= 3
