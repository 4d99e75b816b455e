"""Strong mains is named as mains, never as blink/motion, at every sampling rate.

The blink/motion measure's 100 ms moving average nulls 50 and 60 Hz only when 100 ms is a whole
number of samples (250, 500, 1000 Hz); at 128, 256 and 512 Hz it must do so too, and at 128 Hz
60 Hz mains (4 Hz below the Nyquist frequency) must still be detected.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from biotrainer.dsp.eeg import linear_detrend
from biotrainer.dsp.quality import (
    StreamingQuality,
    _low_frequency_ptp,
    signal_quality,
    signal_quality_windows,
)

RATES = (128.0, 200.0, 250.0, 256.0, 500.0, 512.0, 1000.0)
ODD_RATES = (128.0, 256.0, 512.0)  # 100 ms is not a whole number of samples
MAINS_UV = 2500.0  # 2.5 mV: a badly attached electrode near a mains cable


def eeg_at(fs: float, seconds: float = 1.0, channels: int = 6, seed: int = 3) -> np.ndarray:
    """The same continuous EEG-like signal (µV) sampled at ``fs``: 1-40 Hz components with 1/f
    amplitudes and a 25 µV 10 Hz alpha (about 20 µV RMS), random phases per channel."""
    rng = np.random.default_rng(seed)
    freqs = np.arange(1.0, 40.5, 0.5)
    amp = 6.0 / freqs
    phases = rng.uniform(0, 2 * np.pi, (channels, freqs.size))
    t = np.arange(int(round(seconds * fs))) / fs
    x = np.einsum(
        "f,cft->ct", amp, np.sin(2 * np.pi * freqs[None, :, None] * t + phases[..., None])
    )
    return 2.0 * x + 25.0 * np.sin(2 * np.pi * 10.0 * t + phases[:, :1])


def with_mains(x: np.ndarray, fs: float, hz: float, amp_uv: float = MAINS_UV) -> np.ndarray:
    t = np.arange(x.shape[1]) / fs
    phases = np.linspace(0.3, 2.8, x.shape[0])[:, None]  # every channel its own phase
    return x + amp_uv * np.sin(2 * np.pi * hz * t + phases)


@pytest.mark.parametrize("fs", RATES)
@pytest.mark.parametrize("hz", [50.0, 60.0])
def test_strong_mains_is_named_and_is_not_blink_at_every_rate(fs: float, hz: float) -> None:
    q = signal_quality(with_mains(eeg_at(fs), fs, hz), fs)
    assert not q.blink.any(), q.reasons
    assert q.usable.all() and not q.blocked
    np.testing.assert_array_equal(q.line_noise_hz, hz)  # named at 128 Hz too (60 Hz < 64 Hz)
    assert all(
        r == f"{hz:.0f} Hz mains {db:.0f} dB"
        for r, db in zip(q.reasons, q.line_noise_db, strict=True)
    )


@pytest.mark.parametrize(
    "fs", [120.0, 125.0, 128.0, 200.0, 220.0, 250.0, 256.0, 300.0, 512.0, 1024.0]
)
@pytest.mark.parametrize("hz", [50.0, 60.0])
def test_the_100_ms_average_removes_mains_at_every_rate(fs: float, hz: float) -> None:
    # the smoothing alone (the mains handed in as already detrended), every phase
    t = np.arange(int(fs)) / fs
    mains = MAINS_UV * np.sin(2 * np.pi * hz * t + np.linspace(0, np.pi, 8)[:, None])
    assert np.max(_low_frequency_ptp(mains, fs, mains)) < 0.012 * MAINS_UV  # 30 µV of 5 mV


@pytest.mark.parametrize("fs", ODD_RATES)
def test_a_blink_is_still_flagged_among_strong_mains(fs: float) -> None:
    x = with_mains(eeg_at(fs), fs, 50.0)
    t = np.arange(x.shape[1]) / fs
    x[0] += 250.0 * np.exp(-(((t - 0.5) / 0.1) ** 2))  # 250 µV frontal blink
    q = signal_quality(x, fs)
    assert q.blink.tolist() == [True] + [False] * (x.shape[0] - 1)
    assert q.reasons[0].startswith("50 Hz mains") and "blink/motion" in q.reasons[0]


@pytest.mark.parametrize("fs", [125.0, 128.0])
def test_60_hz_mains_is_detected_just_below_nyquist_without_false_alarms(fs: float) -> None:
    clean = signal_quality(eeg_at(fs), fs)
    assert np.isnan(clean.line_noise_hz).all() and clean.reason == "ok"
    q = signal_quality(with_mains(eeg_at(fs), fs, 60.0, 40.0), fs)  # 40 µV: everyday mains
    np.testing.assert_array_equal(q.line_noise_hz, 60.0)


def _box_ptp(d: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return np.array([np.ptp(np.convolve(row, weights / weights.sum(), "valid")) for row in d])


@pytest.mark.parametrize("fs", [100.0, 250.0, 500.0, 1000.0])
def test_whole_sample_average_is_the_plain_moving_average(fs: float) -> None:
    d = linear_detrend(eeg_at(fs, 2.0))
    k = int(round(0.1 * fs))
    np.testing.assert_allclose(_low_frequency_ptp(d, fs, d), _box_ptp(d, np.ones(k)), rtol=1e-12)


@pytest.mark.parametrize("fs", ODD_RATES)
def test_fractional_average_lasts_exactly_100_ms(fs: float) -> None:
    d = linear_detrend(eeg_at(fs, 2.0))
    length = 0.1 * fs
    k = int(length)
    box = np.r_[(length - k) / 2, np.ones(k), (length - k) / 2]
    want = _box_ptp(d, np.convolve(box, [1.0, 1.0]))
    np.testing.assert_allclose(_low_frequency_ptp(d, fs), want, rtol=1e-12)


@pytest.mark.parametrize("fs", ODD_RATES)
def test_batched_and_streaming_paths_equal_one_by_one_at_odd_rates(fs: float) -> None:
    x = with_mains(eeg_at(fs, 3.0), fs, 60.0)
    n = int(fs)
    starts = range(0, x.shape[1] - n + 1, n // 4)
    batch = signal_quality_windows(np.stack([x[:, s : s + n] for s in starts]), fs)
    for s, got in zip(starts, batch, strict=True):
        want = signal_quality(x[:, s : s + n], fs)
        np.testing.assert_array_equal(got.blink_ptp_uv, want.blink_ptp_uv)
        np.testing.assert_array_equal(got.line_noise_db, want.line_noise_db)
        assert got.reasons == want.reasons and got.blocked == want.blocked
    one, many = StreamingQuality(fs, x.shape[0]), StreamingQuality(fs, x.shape[0])
    step = int(fs) // 10
    ends = list(range(step, x.shape[1] + 1, step))
    singles = [one.push(x[:, e - step : e]) for e in ends]
    for a, b in zip(singles, many.push_many(x[:, : ends[-1]], ends), strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.blink_ptp_uv, b.blink_ptp_uv)
            assert a.reasons == b.reasons


@pytest.mark.parametrize("fs", ODD_RATES)
def test_real_resting_eeg_with_strong_mains_stays_usable(shared_data: Path, fs: float) -> None:
    pyedflib = pytest.importorskip("pyedflib")
    path = shared_data / "eeg_eyes" / "Subject00_1.edf"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with pyedflib.EdfReader(str(path)) as r:
        x = np.array([r.readSignal(i) for i in range(19)])[:, : 10 * 500]  # µV, 500 Hz
    y = resample_poly(x, int(fs), 500, axis=1)
    n = int(fs)
    windows = np.stack([y[:, s : s + n] for s in range(0, y.shape[1] - n + 1, n)])
    for hz in (50.0, 60.0):
        t = np.arange(n) / fs
        for q in signal_quality_windows(windows + MAINS_UV * np.sin(2 * np.pi * hz * t + 0.3), fs):
            assert q.usable.all() and not q.blocked, q.reason
            np.testing.assert_array_equal(q.line_noise_hz, hz)
