"""The displayed EEG and ECG traces are free of 50/60 Hz mains hum (notched for the eye only)."""

from __future__ import annotations

import numpy as np
import pytest

from biotrainer.ui.traces import DISPLAY_BANDS, DisplayTrace, display_sos

from .fakes import signal_block

ALPHA_UV = 10.0
HUM_UV = 200.0


def _amplitude(y: np.ndarray, fs: float, freq: float) -> np.ndarray:
    """Amplitude of the ``freq`` Hz sinusoid in each row of ``y`` (least squares)."""
    t = np.arange(y.shape[1]) / fs
    basis = np.column_stack([np.cos(2 * np.pi * freq * t), np.sin(2 * np.pi * freq * t)])
    coef, *_ = np.linalg.lstsq(basis, y.T, rcond=None)
    return np.hypot(coef[0], coef[1])


def _hummed_alpha(fs: float, seconds: float, hum_hz: tuple[float, ...]) -> np.ndarray:
    """Two channels of 10 Hz alpha plus strong hum at ``hum_hz`` and a DC offset."""
    t = np.arange(int(seconds * fs)) / fs
    x = ALPHA_UV * np.sin(2 * np.pi * 10.0 * t)
    for f in hum_hz:
        x = x + HUM_UV * np.sin(2 * np.pi * f * t + 0.7)
    return np.vstack([x + 300.0, x - 150.0])


def _stream(trace: DisplayTrace, x: np.ndarray, sizes: list[int]) -> np.ndarray:
    """Push ``x`` through ``trace`` in chunks of the sizes given (cycled) and return what the
    trace holds."""
    i, k = 0, 0
    while i < x.shape[1]:
        n = sizes[k % len(sizes)]
        trace.push(signal_block(x[:, i : i + n], trace.fs, i / trace.fs, trace.role))
        i, k = i + n, k + 1
    return trace.snapshot()[1]


@pytest.mark.parametrize("role", ["eeg", "ecg"])
@pytest.mark.parametrize("fs", [125.0, 250.0, 256.0, 500.0, 1000.0])
@pytest.mark.parametrize("drift_hz", [0.0, 0.2])
def test_streamed_display_shows_the_alpha_not_the_hum(role: str, fs: float, drift_hz: float):
    hum = (50.0 + drift_hz, 60.0 + drift_hz)
    x = _hummed_alpha(fs, 8.0, hum)
    trace = DisplayTrace(role, fs, ("a", "b"), "uV", window_s=4.0)
    y = _stream(trace, x, [int(fs) // 30, int(fs) // 30 + 1])  # 1/30 s frames
    for f in hum:
        assert np.all(_amplitude(y, fs, f) < 0.05 * HUM_UV), f
    alpha = _amplitude(y, fs, 10.0)
    assert np.all(alpha >= 0.9 * ALPHA_UV) and np.all(alpha <= 1.1 * ALPHA_UV)


@pytest.mark.parametrize("fs", [250.0, 500.0])
def test_notch_state_carries_across_chunks(fs: float):
    """Chunks of any size (one sample, empty, a frame, odd sizes) give what one push gives,
    and the hum is gone in both."""
    x = _hummed_alpha(fs, 6.0, (50.0, 60.0))
    chunked = DisplayTrace("eeg", fs, ("a", "b"), "uV", window_s=4.0)
    whole = DisplayTrace("eeg", fs, ("a", "b"), "uV", window_s=4.0)
    # the first chunk primes the filter at its mean: the same first chunk for both
    first = int(fs) // 4
    chunked.push(signal_block(x[:, :first], fs, 0.0, "eeg"))
    whole.push(signal_block(x[:, :first], fs, 0.0, "eeg"))
    y_chunked = _stream(chunked, x[:, first:], [1, 0, 7, 8, 33, 2, 1, 101])
    y_whole = _stream(whole, x[:, first:], [x.shape[1]])
    np.testing.assert_allclose(y_chunked, y_whole, rtol=0, atol=1e-9)
    assert np.all(_amplitude(y_whole, fs, 60.0) < 0.05 * HUM_UV)
    assert np.all(_amplitude(y_whole, fs, 50.0) < 0.05 * HUM_UV)


@pytest.mark.parametrize(
    ("fs", "notched"), [(64.0, ()), (100.0, ()), (110.0, (50.0,)), (120.0, (50.0,))]
)
def test_rates_with_mains_at_or_above_nyquist(fs: float, notched: tuple[float, ...]):
    """Only the mains frequencies below Nyquist are notched; the display still works."""
    band = DISPLAY_BANDS["eeg"]
    with_notch = display_sos(fs, band, mains_notch=True)
    without = display_sos(fs, band, mains_notch=False)
    assert with_notch.shape[0] == without.shape[0] + len(notched)
    x = _hummed_alpha(fs, 8.0, notched)
    trace = DisplayTrace("eeg", fs, ("a", "b"), "uV", window_s=4.0)
    y = _stream(trace, x, [3, 4])
    assert np.isfinite(y).all()
    assert np.all(_amplitude(y, fs, 10.0) >= 0.9 * ALPHA_UV)
    for f in notched:
        assert np.all(_amplitude(y, fs, f) < 0.05 * HUM_UV)


def test_roles_without_mains_notch_are_unchanged():
    """PPG and respiration (below 10 Hz) and raw roles get no notch; a caller can turn it off."""
    assert not DisplayTrace("ppg", 250.0, ("a",), "au").mains_notch
    assert DisplayTrace("eda", 250.0, ("a",), "uS")._filter is None
    assert display_sos(250.0, None, mains_notch=False) is None
    assert display_sos(250.0, None, mains_notch=True).shape == (2, 6)
    off = DisplayTrace("eeg", 250.0, ("a",), "uV", mains_notch=False)
    x = _hummed_alpha(250.0, 4.0, (60.0,))[:1]
    y = _stream(off, x, [8])
    assert np.all(_amplitude(y, 250.0, 60.0) > 0.2 * HUM_UV)  # the old display: hum shows
