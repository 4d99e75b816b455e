"""AlphaStream and mains hum: 50/60 Hz (and harmonics) must not enter the relative-alpha ratio.

Before the mains notches, hum leaked through the 13-30 Hz flanking band-pass's 2nd-order skirt
into the ratio's denominator (at 1000 Hz, 16 % of a 50 Hz amplitude), so a 100 µV hum pulled
the value of a clear 20 µV alpha from 0.74 to 0.49, and a Cyton's 60 Hz made eyes closed hard to
tell from eyes open.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal
from test_eeg import auc, read_openbci_txt

from biotrainer.dsp.alpha_stream import AlphaStream

SECONDS = 20.0
SETTLE_S = 3.0  # filters and the 1 s flanking average settle; the notches within ~0.2 s

#: Largest change of the mean value that hum may cause. With value v = A / (A + F), a relative
#: change dF / F of the flanking power moves v by v (1 - v) dF / F, about 0.2 dF / F at the
#: v ~ 0.73 of these signals: 0.002 lets hum add at most 1 % to the flanking power (the shipped
#: 2nd-order band-pass let 30 µV of 60 Hz at 250 Hz add 3 %, 100 µV of 50 Hz at 1000 Hz 120 %).
TOLERANCE = 0.002


def pink_with_alpha(fs: float, seed: int = 0) -> np.ndarray:
    """20 s of 10 µV-RMS 1/f noise plus a 20 µV 10 Hz alpha rhythm."""
    rng = np.random.default_rng(seed)
    n = int(SECONDS * fs)
    f = np.fft.rfftfreq(n, 1 / fs)
    amp = np.zeros_like(f)
    amp[1:] = 1 / np.sqrt(f[1:])
    x = np.fft.irfft(amp * np.exp(2j * np.pi * rng.random(f.size)), n)
    t = np.arange(n) / fs
    return x / x.std() * 10.0 + 20.0 * np.sin(2 * np.pi * 10.0 * t)


def hum(fs: float, n: int, freq: float, amp_uv: float) -> np.ndarray:
    return amp_uv * np.sin(2 * np.pi * freq * np.arange(n) / fs + 0.3)


def mean_after_settling(x: np.ndarray, fs: float) -> tuple[float, float]:
    """Mean feedback value and mean alpha amplitude (µV) after :data:`SETTLE_S`."""
    out = AlphaStream(fs, 1).push(x[None, :])
    k = int(SETTLE_S * fs)
    return float(np.mean(out.value[k:])), float(np.mean(out.alpha_uv[0, k:]))


@pytest.mark.parametrize("fs", [250.0, 500.0, 1000.0])
@pytest.mark.parametrize("mains_hz", [50.0, 60.0])
@pytest.mark.parametrize("amp_uv", [30.0, 100.0])
def test_mains_hum_leaves_the_value_unchanged(fs: float, mains_hz: float, amp_uv: float) -> None:
    x = pink_with_alpha(fs)
    clean_value, clean_alpha = mean_after_settling(x, fs)
    value, alpha = mean_after_settling(x + hum(fs, x.size, mains_hz, amp_uv), fs)
    assert clean_value > 0.6  # a clear alpha, so there is a value for hum to pull down
    assert abs(value - clean_value) <= TOLERANCE
    assert alpha == pytest.approx(clean_alpha, rel=0.01)


def test_mains_harmonics_leave_the_value_unchanged() -> None:
    fs = 1000.0
    x = pink_with_alpha(fs, seed=1)
    n = x.size
    mains = hum(fs, n, 60.0, 100.0) + hum(fs, n, 120.0, 30.0) + hum(fs, n, 180.0, 30.0)
    clean_value, _ = mean_after_settling(x, fs)
    value, _ = mean_after_settling(x + mains, fs)
    assert abs(value - clean_value) <= TOLERANCE


@pytest.mark.parametrize("mains_hz", [49.9, 60.1])
def test_slightly_off_mains_frequency_is_removed_too(mains_hz: float) -> None:
    """The grid runs within about ±0.1 Hz of its nominal frequency; 100 µV of such hum may
    add at most 5 % to the flanking power (0.01 in the value)."""
    fs = 1000.0
    x = pink_with_alpha(fs, seed=2)
    clean_value, _ = mean_after_settling(x, fs)
    value, _ = mean_after_settling(x + hum(fs, x.size, mains_hz, 100.0), fs)
    assert abs(value - clean_value) <= 0.01


def test_notch_frequencies_are_both_mains_and_harmonics_below_nyquist() -> None:
    from biotrainer.dsp.alpha_stream import mains_notch_frequencies

    assert mains_notch_frequencies(250.0) == [50.0, 60.0, 100.0, 120.0]
    assert mains_notch_frequencies(128.0) == [50.0, 60.0]
    assert mains_notch_frequencies(100.0) == []  # 50 Hz is the Nyquist frequency itself
    assert mains_notch_frequencies(64.0) == []
    at_1000 = mains_notch_frequencies(1000.0)
    assert at_1000.count(300.0) == 1 and max(at_1000) == 480.0 and 450.0 in at_1000
    # no notch at 100 Hz sampling and below: the stream still works
    assert np.isfinite(AlphaStream(64.0, 1).push(pink_with_alpha(64.0)).value[-1])


# -- real recording: an OpenBCI Cyton with 118-375 µV of 60 Hz on every channel ---------------


def _one_second_means(x: np.ndarray, fs: float, start_s: float, stop_s: float) -> np.ndarray:
    v = AlphaStream(fs, 1).push(x[None, :]).value
    n = int(fs)
    seg = v[int(start_s * fs) : int(stop_s * fs)]
    k = seg.size // n
    return seg[: k * n].reshape(k, n).mean(axis=1)


@pytest.mark.parametrize("channel", [0, 1])
def test_cyton_with_mains_tells_eyes_closed_from_open(shared_data, channel: int) -> None:
    """Eyes closed 22-74 s, eyes open 75-90 s; OpenBCI's EXG channels 1 and 2 (the second has
    the most hum, 375 µV). At the recording's 250 Hz and resampled to 1000 Hz, where the shipped
    design leaked more mains (AUC 0.85 / 0.77 at 250 Hz, 0.74 / 0.65 at 1000 Hz)."""
    x, fs = read_openbci_txt(
        shared_data / "eeg_headsets" / "OpenBCI_GUI-v6-blinks-jawClench-alpha.txt"
    )
    row = x[channel]
    fast = signal.resample_poly(row - np.median(row), 4, 1)
    for rate, y in ((fs, row), (4 * fs, fast)):
        closed = _one_second_means(y, rate, 22.0, 74.0)
        opened = _one_second_means(y, rate, 75.0, 90.0)
        assert auc(closed, opened) >= 0.9, f"at {rate:g} Hz"
