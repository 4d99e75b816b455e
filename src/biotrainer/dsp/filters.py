"""Causal streaming IIR filters that keep their state (``zi``) between chunks.

Processing a signal in chunks through a :class:`StreamingFilter` gives exactly the same output
as one :func:`scipy.signal.sosfilt` pass over the whole signal (tested).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal


def check_fs(fs: float, low: float = 0.0, high: float = math.inf, what: str = "") -> float:
    """Return ``fs`` as a float, or raise ``ValueError`` when it is not a positive finite number
    of Hz or lies outside ``[low, high]``; ``what`` (e.g. "ECG") prefixes the message."""
    name = f"{what} sampling rate" if what else "sampling rate"
    try:
        value = float(fs)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of Hz, got {fs!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} {value:g} Hz is outside the supported range {low:g}-{high:g} Hz")
    return value


def butter_sos(
    fs: float, low: float | None = None, high: float | None = None, order: int = 4
) -> np.ndarray:
    """Design a Butterworth filter as second-order sections.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    low, high : float, optional
        Pass-band edges in Hz. Only ``low``: high-pass; only ``high``: low-pass; both: band-pass.
        An edge at or above Nyquist is dropped.
    order : int
        Filter order (per edge).
    """
    fs = check_fs(fs)
    nyq = fs / 2
    if high is not None and high >= nyq * 0.99:
        high = None
    if low is not None and high is not None:
        return signal.butter(order, [low, high], btype="bandpass", fs=fs, output="sos")
    if low is not None:
        return signal.butter(order, low, btype="highpass", fs=fs, output="sos")
    if high is not None:
        return signal.butter(order, high, btype="lowpass", fs=fs, output="sos")
    raise ValueError("butter_sos needs at least one of low and high")


def notch_sos(fs: float, freq: float, quality: float = 30.0) -> np.ndarray:
    """Design an IIR notch at ``freq`` Hz (e.g. 50 or 60 Hz mains) as second-order sections."""
    fs = check_fs(fs)
    b, a = signal.iirnotch(freq, quality, fs=fs)
    return signal.tf2sos(b, a)


class StreamingFilter:
    """A causal SOS filter applied chunk by chunk along the last axis.

    Parameters
    ----------
    sos : np.ndarray
        Second-order sections, shape ``(n_sections, 6)``.
    n_channels : int, optional
        Number of channels (rows) of the chunks; ``None`` for 1-D chunks.

    Notes
    -----
    The state starts at the steady state for the first sample's value (``sosfilt_zi`` scaled by
    it), so a DC offset does not ring at the start of a stream.
    """

    def __init__(self, sos: np.ndarray, n_channels: int | None = None) -> None:
        self.sos = np.asarray(sos, dtype=np.float64)
        self.n_channels = n_channels
        self._zi_unit = signal.sosfilt_zi(self.sos)  # (n_sections, 2)
        self._zi: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the filter state; the next chunk starts a new stream."""
        self._zi = None

    def push(self, chunk: np.ndarray) -> np.ndarray:
        """Filter the next chunk and return the output (same shape)."""
        x = np.asarray(chunk, dtype=np.float64)
        if x.shape[-1] == 0:
            return x.copy()
        if self._zi is None:
            first = x[..., 0]
            if x.ndim == 1:
                self._zi = self._zi_unit * first
            else:
                self._zi = self._zi_unit[:, None, :] * first[None, :, None]
        y, self._zi = signal.sosfilt(self.sos, x, axis=-1, zi=self._zi)
        return y

    def process(self, x: np.ndarray) -> np.ndarray:
        """Filter a whole signal in one pass from a fresh state (the offline equivalent)."""
        self.reset()
        return self.push(x)
