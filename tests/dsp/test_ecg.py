"""R-peak detection: MIT-BIH accuracy (offline and streamed), latency, robustness, validation."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from biotrainer.dsp.ecg import EcgPeakStream, ecg_peaks

wfdb = pytest.importorskip("wfdb")

RECORDS = ["100", "106", "113", "202", "231", "800"]
BEATS = set("NLRBAaJSVrFejnE/fQ?")


@cache
def _load(folder: str, rec: str) -> tuple[np.ndarray, float, np.ndarray]:
    path = str(Path(folder) / rec)
    r = wfdb.rdrecord(path)
    a = wfdb.rdann(path, "atr")
    ref = np.array(
        [s for s, sym in zip(a.sample, a.symbol, strict=True) if sym in BEATS], dtype=np.int64
    )
    return r.p_signal[:, 0].astype(np.float64), float(r.fs), ref


def load(shared_data: Path, rec: str) -> tuple[np.ndarray, float, np.ndarray]:
    return _load(str(shared_data / "ecg_mitdb"), rec)


def match(det: np.ndarray, ref: np.ndarray, fs: float, tol_s: float = 0.15):
    """Greedy nearest matching within the tolerance; returns (Se %, PPV %, timing SD ms)."""
    det = np.sort(np.asarray(det, dtype=np.float64))
    tol = tol_s * fs
    used = np.zeros(det.size, dtype=bool)
    diffs = []
    for r, k in zip(ref, np.searchsorted(det, ref), strict=True):
        best = None
        for c in (k - 1, k):
            if (0 <= c < det.size and not used[c] and abs(det[c] - r) <= tol) and (
                best is None or abs(det[c] - r) < abs(det[best] - r)
            ):
                best = c
        if best is not None:
            used[best] = True
            diffs.append(det[best] - r)
    tp = len(diffs)
    se = 100.0 * tp / max(ref.size, 1)
    ppv = 100.0 * tp / max(det.size, 1)
    sd = float(np.std(diffs) / fs * 1000.0) if diffs else float("nan")
    return se, ppv, sd


@cache
def _offline(folder: str, rec: str) -> np.ndarray:
    x, fs, _ = _load(folder, rec)
    return ecg_peaks(x, fs, subsample=True)


@pytest.mark.parametrize("rec", RECORDS)
def test_mitdb_offline_accuracy(shared_data: Path, rec: str) -> None:
    _, fs, ref = load(shared_data, rec)
    det = _offline(str(shared_data / "ecg_mitdb"), rec)
    se, ppv, sd = match(det, ref, fs)
    assert se >= 99.5, f"record {rec}: Se {se:.2f} %"
    assert ppv >= 99.5, f"record {rec}: PPV {ppv:.2f} %"
    assert sd <= 10.0, f"record {rec}: timing SD {sd:.1f} ms"


def test_mitdb_median_timing_sd(shared_data: Path) -> None:
    sds = []
    for rec in RECORDS:
        _, fs, ref = load(shared_data, rec)
        sds.append(match(_offline(str(shared_data / "ecg_mitdb"), rec), ref, fs)[2])
    assert np.median(sds) <= 5.0, sds


@pytest.mark.parametrize("rec", RECORDS)
def test_mitdb_stream_equals_offline(shared_data: Path, rec: str) -> None:
    """0.1 s chunks give exactly the offline peaks.

    The first 10 minutes of each record keep the suite fast; benchmarks/bench_cardiac.py
    streams the whole records.
    """
    x, fs, ref = load(shared_data, rec)
    x = x[: int(600 * fs)]
    ref = ref[ref < x.size - 0.2 * fs]
    stream = EcgPeakStream(fs)
    n = int(round(0.1 * fs))
    det = np.concatenate([stream.push_positions(x[i : i + n]) for i in range(0, x.size, n)])
    offline = _offline(str(shared_data / "ecg_mitdb"), rec)
    offline = offline[offline < x.size - 0.2 * fs]
    det = det[det < x.size - 0.2 * fs]
    np.testing.assert_array_equal(det, offline)
    se, ppv, _ = match(det, ref, fs)
    assert se >= 99.5 and ppv >= 99.5


@pytest.mark.parametrize("rec", ["100", "800"])
def test_stream_latency_within_0_35_s(shared_data: Path, rec: str) -> None:
    x, fs, _ = load(shared_data, rec)
    x = x[: int(300 * fs)]
    stream = EcgPeakStream(fs)
    n = int(round(0.1 * fs))
    lat = []
    for i in range(0, x.size, n):
        chunk = x[i : i + n]
        for p in stream.push_positions(chunk):
            if p > 2.5 * fs:  # after the 2 s learning period
                lat.append((i + chunk.size - 1 - p) / fs)
    assert len(lat) > 250
    assert max(lat) <= 0.35, max(lat)


def test_random_chunk_sizes_give_identical_peaks(shared_data: Path) -> None:
    x, fs, _ = load(shared_data, "106")
    x = x[: int(120 * fs)]
    whole = ecg_peaks(x, fs, subsample=True)
    rng = np.random.default_rng(3)
    stream = EcgPeakStream(fs)
    out, i = [], 0
    while i < x.size:
        k = int(rng.integers(1, 400))
        out.append(stream.push_positions(x[i : i + k]))
        i += k
    out = np.concatenate(out)
    np.testing.assert_array_equal(out, whole)
    stream.reset()
    np.testing.assert_array_equal(stream.push_positions(x), whole)


@pytest.mark.parametrize(
    "name", ["inverted", "tiny", "huge", "wander", "noise", "250", "500", "1000", "128"]
)
def test_robust_to_polarity_amplitude_wander_and_rate(shared_data: Path, name: str) -> None:
    x, fs, ref = load(shared_data, "106")
    x, ref = x[: int(300 * fs)], ref[ref < int(300 * fs) - 0.2 * fs]
    t = np.arange(x.size) / fs
    rates = {"250": (25, 36), "500": (25, 18), "1000": (25, 9), "128": (16, 45)}
    if name == "inverted":
        y, f = -x, fs
    elif name == "tiny":
        y, f = x * 1e-4, fs
    elif name == "huge":
        y, f = x * 1e4 + 5e4, fs
    elif name == "wander":
        y, f = x + 2.0 * np.sin(2 * np.pi * 0.3 * t) + 1.5 * np.sin(2 * np.pi * 0.05 * t), fs
    elif name == "noise":
        y, f = x + np.random.default_rng(0).normal(0, 0.05, x.size), fs
    else:
        up, down = rates[name]
        y, f = resample_poly(x, up, down), fs * up / down
        ref = ref * up / down
    se, ppv, sd = match(ecg_peaks(y, f, subsample=True), ref, f)
    assert se >= 99.5 and ppv >= 99.5, (se, ppv)
    assert sd <= 10.0


@pytest.mark.parametrize("rec", ["100", "113"])
def test_beats_are_found_again_after_a_flat_stretch(shared_data: Path, rec: str) -> None:
    """An electrode off and on again: the signal flat for 10 or 30 s, ending at phases all
    over the beat. Afterwards every beat is found once (before: wrong in 22 of 34 such cases
    on 100 and 4 of 34 on 113: the detector learnt over the flat stretch, took a P wave
    first, lost the QRS in the refractory period and went on counting P and T waves, at
    twice the heart rate)."""
    x, fs, ref = load(shared_data, rec)
    wrong = []
    for start in np.arange(300.0, 900.0, 37.3):
        for flat_s in (10.0, 30.0):
            y = x.copy()
            a, b = int(start * fs), int((start + flat_s) * fs)
            y[a:b] = y[a - 1]
            det = ecg_peaks(y, fs)
            lo, hi = (start + flat_s + 5.0) * fs, (start + flat_s + 35.0) * fs
            n_det = int(np.sum((det > lo) & (det < hi)))
            n_ref = int(np.sum((ref > lo) & (ref < hi)))
            if abs(n_det - n_ref) > 1:
                wrong.append((round(start, 1), flat_s, n_det, n_ref))
    assert wrong == []


@pytest.mark.parametrize(("fs", "hr"), [(250, 60), (500, 95), (1000, 130)])
def test_simulated_ecg_known_heart_rate(fs: int, hr: int) -> None:
    nk = pytest.importorskip("neurokit2")
    x = nk.ecg_simulate(duration=60, sampling_rate=fs, heart_rate=hr, random_state=1)
    peaks = ecg_peaks(x, fs, subsample=True)
    rr = np.diff(peaks) / fs
    assert 60.0 / np.median(rr) == pytest.approx(hr, abs=1.5)
    # every beat after the start is found: count matches duration x rate
    assert abs(peaks.size - hr) <= 2


def test_int_indices_are_rounded_positions(shared_data: Path) -> None:
    x, fs, _ = load(shared_data, "100")
    idx = ecg_peaks(x[: int(60 * fs)], fs)
    pos = ecg_peaks(x[: int(60 * fs)], fs, subsample=True)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, np.rint(pos).astype(np.int64))


@pytest.mark.parametrize("fs", [0, -360, float("nan"), float("inf"), 10, 1e9, "abc"])
def test_bad_sampling_rate_is_a_clear_value_error(fs: object) -> None:
    with pytest.raises(ValueError, match="sampling rate"):
        EcgPeakStream(fs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sampling rate"):
        ecg_peaks(np.zeros(1000), fs)  # type: ignore[arg-type]


def test_degenerate_signals_give_no_peaks_without_crashing() -> None:
    fs = 250.0
    assert ecg_peaks(np.zeros(5000), fs).size == 0
    assert ecg_peaks(np.full(5000, 3.3), fs).size == 0
    assert ecg_peaks(np.full(5000, np.nan), fs).size == 0
    assert ecg_peaks(np.zeros(10), fs).size == 0
    assert ecg_peaks(np.array([]), fs).size == 0
    with pytest.raises(ValueError, match="1-D"):
        ecg_peaks(np.zeros((2, 100)), fs)


def test_nan_dropout_does_not_poison_the_stream(shared_data: Path) -> None:
    x, fs, ref = load(shared_data, "100")
    x = x[: int(120 * fs)].copy()
    ref = ref[ref < x.size]
    x[int(40 * fs) : int(42 * fs)] = np.nan  # a 2 s dropout
    det = ecg_peaks(x, fs, subsample=True)
    assert np.all(np.isfinite(det))
    keep = (ref < 39.5 * fs) | (ref > 46 * fs)  # beats away from the dropout and relearning
    se, ppv, _ = match(det[(det < 39.5 * fs) | (det > 46 * fs)], ref[keep], fs)
    assert se >= 99.0 and ppv >= 99.0
