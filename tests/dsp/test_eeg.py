"""Band powers, individual alpha frequency and the relaxation index.

Simulated signals with known answers, then the real recordings in ../shared/data/eeg_eyes and
eeg_headsets (skipped when absent).

About eeg_ec.txt / eeg_eo.txt (BioSPPy): the header says 125 Hz, but the spectrum says 250 Hz —
the mains peak sits at 25 "Hz" (no grid runs at 25 Hz; 50 Hz at 250 Hz sampling does) and the
eyes-closed alpha peak at 4.75 "Hz" (9.5 Hz at 250 Hz). ``test_eyes_file_is_sampled_at_250_hz``
checks that evidence with our own line-noise detector; the AUC test then uses 250 Hz.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biotrainer.dsp.eeg import BANDS_HZ, band_powers, relaxation_index
from biotrainer.dsp.quality import QualityThresholds, signal_quality

BANDS = tuple(BANDS_HZ)


def pink(n: int, fs: float, rng: np.random.Generator, rms: float = 10.0) -> np.ndarray:
    """1/f (pink) noise with the given RMS."""
    f = np.fft.rfftfreq(n, 1 / fs)
    amp = np.zeros_like(f)
    amp[1:] = 1 / np.sqrt(f[1:])
    x = np.fft.irfft(amp * np.exp(2j * np.pi * rng.random(f.size)), n)
    return x / x.std() * rms


def alpha_eeg(fs: float, seconds: float, iaf: float, amp: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    return pink(n, fs, rng) + amp * np.sin(2 * np.pi * iaf * t + rng.random() * 6)


def windows(x: np.ndarray, n: int) -> list[np.ndarray]:
    return [x[..., i : i + n] for i in range(0, x.shape[-1] - n + 1, n)]


def auc(pos, neg) -> float:
    pos, neg = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


# ---------------------------------------------------------------- simulated, known answers


@pytest.mark.parametrize("iaf", [8.6, 9.3, 10.2, 11.7, 12.4])
def test_iaf_found_within_quarter_hz(iaf: float) -> None:
    x = alpha_eeg(250.0, 8.0, iaf, amp=15.0, seed=int(iaf * 10))
    bp = band_powers(x, 250.0)
    assert abs(bp.iaf_hz[0] - iaf) <= 0.25


def test_no_alpha_peak_gives_nan_iaf() -> None:
    x = pink(2000, 250.0, np.random.default_rng(3))
    assert np.isnan(band_powers(x, 250.0).iaf_hz[0])


def test_relative_powers_sum_to_one_and_absolute_is_calibrated() -> None:
    fs = 200.0
    rng = np.random.default_rng(1)
    t = np.arange(int(10 * fs)) / fs
    x = np.vstack(
        [20.0 * np.sin(2 * np.pi * 10.0 * t) + rng.normal(0, 1, t.size), pink(t.size, fs, rng)]
    )
    bp = band_powers(x, fs)
    total = sum(bp.relative(b) for b in BANDS)
    np.testing.assert_allclose(total, 1.0, atol=1e-9)
    # a 20 µV-amplitude sine carries 200 µV² (A²/2), nearly all of it in the alpha band
    assert bp.alpha_uv2[0] == pytest.approx(200.0, rel=0.05)
    assert bp.alpha_rel[0] > 0.9


def test_dc_offset_and_drift_do_not_change_relative_powers() -> None:
    fs = 250.0
    x = alpha_eeg(fs, 8.0, 10.0, amp=10.0, seed=5)
    t = np.arange(x.size) / fs
    drifted = x + 60000.0 + 400.0 * t  # Cyton-like offset and a slow drift
    a, b = band_powers(x, fs), band_powers(drifted, fs)
    for band in BANDS:
        assert b.relative(band)[0] == pytest.approx(a.relative(band)[0], abs=0.02)


def test_bad_inputs_give_documented_results() -> None:
    fs = 250.0
    good = alpha_eeg(fs, 4.0, 10.0, amp=10.0)
    x = np.vstack([good, good.copy(), np.full_like(good, 7.0)])
    x[1, 100] = np.nan
    bp = band_powers(x, fs)
    assert np.isfinite(bp.alpha_rel[0])
    assert np.isnan(bp.alpha_rel[1])  # NaN sample -> NaN channel
    assert bp.alpha_uv2[2] < 1e-20 and np.isnan(bp.alpha_rel[2])  # flat
    assert np.all(np.isnan(band_powers(good[:100], fs).alpha_uv2))  # < 1 s
    # relaxation_index uses the good channel only
    assert relaxation_index(x, fs) == pytest.approx(relaxation_index(good, fs))
    assert np.isnan(relaxation_index(x[1:], fs))
    with pytest.raises(ValueError):
        relaxation_index(x, fs, usable=[True, False])


@pytest.mark.parametrize("fs", [0, -250, float("nan"), float("inf"), "abc"])
def test_invalid_sampling_rate_raises(fs) -> None:
    x = np.zeros(1000)
    with pytest.raises(ValueError, match="sampling rate"):
        band_powers(x, fs)
    with pytest.raises(ValueError, match="sampling rate"):
        relaxation_index(x, fs)


def test_relaxation_index_is_scale_invariant_bounded_and_monotone_in_alpha() -> None:
    fs = 250.0
    values = [relaxation_index(alpha_eeg(fs, 4.0, 10.0, amp=a, seed=2), fs) for a in (0, 5, 15, 40)]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert values == sorted(values) and values[-1] - values[0] > 0.5
    x = np.vstack([alpha_eeg(fs, 4.0, 10.0, 8.0, s) for s in range(3)])
    assert relaxation_index(1000.0 * x + 5.0, fs) == pytest.approx(
        relaxation_index(x, fs), abs=1e-6
    )


def test_emg_burst_does_not_raise_relaxation_index() -> None:
    """Jaw clench: broadband 20-100 Hz muscle activity lowers, never raises, the index."""
    from scipy import signal

    fs = 250.0
    rng = np.random.default_rng(11)
    sos = signal.butter(4, [20, 100], btype="bandpass", fs=fs, output="sos")
    for seed in range(5):
        x = np.vstack([alpha_eeg(fs, 4.0, 10.0, amp=a, seed=seed + 10 * a) for a in (4, 8, 16)])
        clean = relaxation_index(x, fs)
        for emg_uv in (5.0, 20.0, 60.0):
            emg = signal.sosfilt(sos, rng.normal(0, 1, x.shape), axis=1)
            emg *= emg_uv / emg.std()
            assert relaxation_index(x + emg, fs) <= clean + 1e-9


# ---------------------------------------------------------------- real recordings


def _read_biosppy_txt(path: Path) -> np.ndarray:
    return np.loadtxt(path, comments="#")


def test_eyes_file_is_sampled_at_250_hz(shared_data: Path) -> None:
    ec = _read_biosppy_txt(shared_data / "eeg_eyes" / "eeg_ec.txt")
    q = signal_quality(ec, 250.0, "eeg", thresholds=QualityThresholds(line_noise_db=6.0))
    assert q.line_noise_hz[0] == 50.0  # at 125 Hz it would be a 25 Hz "mains"
    assert band_powers(ec, 250.0).iaf_hz[0] == pytest.approx(9.5, abs=1.0)


def test_eyes_closed_above_eyes_open_auc(shared_data: Path) -> None:
    fs = 250.0  # see module docstring
    ec = _read_biosppy_txt(shared_data / "eeg_eyes" / "eeg_ec.txt")
    eo = _read_biosppy_txt(shared_data / "eeg_eyes" / "eeg_eo.txt")
    n = int(4 * fs)
    ri_ec = [relaxation_index(w, fs) for w in windows(ec, n)]
    ri_eo = [relaxation_index(w, fs) for w in windows(eo, n)]
    assert auc(ri_ec, ri_eo) >= 0.85


def _read_edf(path: Path, labels: tuple[str, ...]) -> tuple[np.ndarray, float]:
    pyedflib = pytest.importorskip("pyedflib")
    with pyedflib.EdfReader(str(path)) as r:
        names = r.getSignalLabels()
        idx = [i for i, name in enumerate(names) if name.replace("EEG ", "") in labels]
        return np.array([r.readSignal(i) for i in idx]), float(r.getSampleFrequency(idx[0]))


def test_rest_eyes_closed_above_mental_arithmetic(shared_data: Path) -> None:
    posterior = ("O1", "O2", "P3", "P4", "Pz")
    rest, fs = _read_edf(shared_data / "eeg_eyes" / "Subject00_1.edf", posterior)
    task, fs2 = _read_edf(shared_data / "eeg_eyes" / "Subject04_2.edf", posterior)
    assert rest.shape[0] == 5 and fs == fs2 == 500.0
    n = int(4 * fs)
    ri_rest = [relaxation_index(w, fs) for w in windows(rest, n)]
    ri_task = [relaxation_index(w, fs) for w in windows(task, n)]
    assert np.median(ri_rest) - np.median(ri_task) >= 0.1
    assert auc(ri_rest, ri_task) >= 0.85


def read_openbci_txt(path: Path) -> tuple[np.ndarray, float]:
    """EXG channels (µV) and sampling rate of an OpenBCI GUI v5/v6 raw text file."""
    fs = None
    header = None
    with open(path) as fh:
        for line in fh:
            if line.startswith("%"):
                if "Sample Rate" in line:
                    fs = float(line.split("=")[1].split()[0])
                continue
            header = [h.strip() for h in line.split(",")]
            break
        cols = [i for i, h in enumerate(header or []) if h.startswith("EXG Channel")]
        data = np.loadtxt(fh, delimiter=",", usecols=cols)
    assert fs is not None
    return data.T, fs


def test_openbci_eyes_closed_scores_above_blink_and_clench_start(shared_data: Path) -> None:
    x, fs = read_openbci_txt(
        shared_data / "eeg_headsets" / "OpenBCI_GUI-v6-blinks-jawClench-alpha.txt"
    )
    assert x.shape[0] == 8 and fs == 250.0
    n = int(4 * fs)
    start = [relaxation_index(w, fs) for w in windows(x[:, : int(20 * fs)], n)]
    closed = [relaxation_index(w, fs) for w in windows(x[:, int(22 * fs) : int(74 * fs)], n)]
    assert np.median(closed) > np.median(start) + 0.1
    assert auc(closed, start) >= 0.85
