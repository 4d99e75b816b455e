"""Random processes the generators share: seeded streams, 1/f and band-limited noise, OU drifts."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator

import numpy as np
from scipy import signal

#: Spectral gain of shaped noise as a function of frequency (Hz).
Gain = Callable[[np.ndarray], np.ndarray]


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent generator for one part of the model (``"heart"``, ``"eeg"``...).

    Each part draws from its own stream, so adding draws to one part never changes another,
    and the heart of a seed is the same whatever board layout it is rendered in.
    """
    return np.random.default_rng(
        np.random.SeedSequence([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode())])
    )


def shaped_rows(
    rng: np.random.Generator, n: int, fs: float, gain: Gain, channels: int
) -> Iterator[np.ndarray]:
    """White noise shaped by ``gain(freqs)`` (e.g. :func:`pink_gain`), unit RMS, a row at a
    time: the rows of :func:`pink`, :func:`narrowband` or :func:`band` without holding them all.

    The real parts of every row's spectrum are drawn first (half the memory of the result),
    then each row's imaginary parts as that row is produced. The rows, and the state ``rng`` is
    left in once all have been taken, are those of :func:`_shaped`: take every row before
    drawing anything else from ``rng``.
    """
    n_fft = max(int(n), 2)
    m = n_fft // 2 + 1
    re = rng.standard_normal((channels, m))
    g = gain(np.fft.rfftfreq(n_fft, 1.0 / fs))
    for i in range(channels):
        spec = re[i] + 1j * rng.standard_normal(m)
        spec *= g
        x = np.fft.irfft(spec, n=n_fft)[:n]
        del spec
        rms = np.sqrt(np.mean(x**2))
        x /= rms if rms > 0 else 1.0
        yield x


def _shaped(rng: np.random.Generator, n: int, fs: float, gain: Gain, channels: int) -> np.ndarray:
    """White noise shaped in the frequency domain by ``gain(freqs)``, scaled to unit RMS.

    Row ``i`` is ``irfft((a[i] + 1j * b[i]) * gain)`` over its RMS, with ``a`` and ``b`` two
    successive ``(channels, n // 2 + 1)`` standard-normal draws. It is computed a row at a time
    (:func:`shaped_rows`) with the same values as doing it on the whole array at once.
    """
    out = np.empty((channels, max(int(n), 0)))
    for i, row in enumerate(shaped_rows(rng, n, fs, gain, channels)):
        out[i] = row
    return out


def pink_gain(exponent: float = 1.0, f_min: float = 0.5) -> Gain:
    """The spectral gain of :func:`pink` (power ∝ 1/f**exponent above ``f_min``)."""

    def gain(f: np.ndarray) -> np.ndarray:
        return np.maximum(f, f_min) ** (-exponent / 2.0)

    return gain


def narrowband_gain(center_hz: float, width_hz: float) -> Gain:
    """The spectral gain of :func:`narrowband` (a Gaussian peak)."""

    def gain(f: np.ndarray) -> np.ndarray:
        return np.exp(-0.25 * ((f - center_hz) / width_hz) ** 2)

    return gain


def band_gain(low_hz: float, high_hz: float, fs: float) -> Gain:
    """The spectral gain of :func:`band` (``low_hz``–``high_hz``, clipped to Nyquist)."""
    high_hz = min(high_hz, 0.49 * fs)

    def gain(f: np.ndarray) -> np.ndarray:
        return ((f >= low_hz) & (f <= high_hz)).astype(float)

    return gain


def pink(
    rng: np.random.Generator,
    n: int,
    fs: float,
    exponent: float = 1.0,
    channels: int = 1,
    f_min: float = 0.5,
) -> np.ndarray:
    """Noise with power ∝ 1/f**exponent above ``f_min`` (flat below), unit RMS, (channels, n)."""
    return _shaped(rng, n, fs, pink_gain(exponent, f_min), channels)


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
    return _shaped(rng, n, fs, narrowband_gain(center_hz, width_hz), channels)


def band(
    rng: np.random.Generator, n: int, fs: float, low_hz: float, high_hz: float, channels: int = 1
) -> np.ndarray:
    """Noise confined to ``low_hz``–``high_hz`` (clipped to Nyquist), unit RMS."""
    return _shaped(rng, n, fs, band_gain(low_hz, high_hz, fs), channels)


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
