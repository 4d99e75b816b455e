"""Random processes the generators share: seeded streams, 1/f and band-limited noise, OU drifts."""

from __future__ import annotations

import zlib

import numpy as np
from scipy import signal


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent generator for one part of the model (``"heart"``, ``"eeg"``...).

    Each part draws from its own stream, so adding draws to one part never changes another,
    and the heart of a seed is the same whatever board layout it is rendered in.
    """
    return np.random.default_rng(
        np.random.SeedSequence([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode())])
    )


def _shaped(rng: np.random.Generator, n: int, fs: float, gain, channels: int) -> np.ndarray:
    """White noise shaped in the frequency domain by ``gain(freqs)``, scaled to unit RMS."""
    n_fft = max(int(n), 2)
    spec = rng.standard_normal((channels, n_fft // 2 + 1)) + 1j * rng.standard_normal(
        (channels, n_fft // 2 + 1)
    )
    freqs = np.fft.rfftfreq(n_fft, 1.0 / fs)
    spec *= gain(freqs)
    x = np.fft.irfft(spec, n=n_fft, axis=-1)[:, :n]
    rms = np.sqrt(np.mean(x**2, axis=-1, keepdims=True))
    return x / np.where(rms > 0, rms, 1.0)


def pink(
    rng: np.random.Generator,
    n: int,
    fs: float,
    exponent: float = 1.0,
    channels: int = 1,
    f_min: float = 0.5,
) -> np.ndarray:
    """Noise with power ∝ 1/f**exponent above ``f_min`` (flat below), unit RMS, (channels, n)."""

    def gain(f: np.ndarray) -> np.ndarray:
        return np.maximum(f, f_min) ** (-exponent / 2.0)

    return _shaped(rng, n, fs, gain, channels)


def narrowband(
    rng: np.random.Generator,
    n: int,
    fs: float,
    center_hz: float,
    width_hz: float,
    channels: int = 1,
) -> np.ndarray:
    """Noise with a Gaussian spectral peak (``width_hz`` standard deviation), unit RMS.

    Its envelope waxes and wanes like a real alpha rhythm.
    """

    def gain(f: np.ndarray) -> np.ndarray:
        return np.exp(-0.25 * ((f - center_hz) / width_hz) ** 2)

    return _shaped(rng, n, fs, gain, channels)


def band(
    rng: np.random.Generator, n: int, fs: float, low_hz: float, high_hz: float, channels: int = 1
) -> np.ndarray:
    """Noise confined to ``low_hz``–``high_hz`` (clipped to Nyquist), unit RMS."""
    high_hz = min(high_hz, 0.49 * fs)

    def gain(f: np.ndarray) -> np.ndarray:
        return ((f >= low_hz) & (f <= high_hz)).astype(float)

    return _shaped(rng, n, fs, gain, channels)


def ou(rng: np.random.Generator, n: int, fs: float, tau_s: float, sigma: float) -> np.ndarray:
    """An Ornstein–Uhlenbeck (AR(1)) process: stationary std ``sigma``, time constant ``tau_s``."""
    a = float(np.exp(-1.0 / (fs * tau_s)))
    w = rng.standard_normal(n) * sigma * np.sqrt(1.0 - a * a)
    x0 = rng.standard_normal() * sigma
    y, _ = signal.lfilter([1.0], [1.0, -a], w, zi=[a * x0])
    return y


def poisson_times(
    rng: np.random.Generator,
    rate_per_min: float,
    start_s: float,
    end_s: float,
    min_gap_s: float = 0.0,
) -> np.ndarray:
    """Event times of a Poisson process in [start_s, end_s), thinned to keep ``min_gap_s``."""
    dur = end_s - start_s
    if dur <= 0 or rate_per_min <= 0:
        return np.zeros(0)
    k = rng.poisson(rate_per_min * dur / 60.0)
    times = np.sort(rng.uniform(start_s, end_s, size=k))
    if min_gap_s > 0 and times.size > 1:
        keep = [times[0]]
        for x in times[1:]:
            if x - keep[-1] >= min_gap_s:
                keep.append(x)
        times = np.asarray(keep)
    return times
