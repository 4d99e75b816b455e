"""Small private helpers shared by the ECG and PPG peak detectors (not public API)."""

from __future__ import annotations

import numpy as np


def check_fs(fs: float, low: float, high: float, what: str) -> float:
    """Return ``fs`` as float or raise ValueError if it is not a plausible sampling rate."""
    try:
        value = float(fs)
    except (TypeError, ValueError):
        raise ValueError(f"{what} sampling rate must be a number of Hz, got {fs!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{what} sampling rate must be a positive number of Hz, got {fs!r}")
    if not low <= value <= high:
        raise ValueError(
            f"{what} sampling rate {value:g} Hz is outside the supported range {low:g}-{high:g} Hz"
        )
    return value


def as_signal(x: object, what: str) -> np.ndarray:
    """Return ``x`` as a 1-D float64 array or raise ValueError naming the problem."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} samples must be numbers") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{what} samples must be a 1-D array, got shape {arr.shape}")
    return arr


def hold_nan(x: np.ndarray, last: float) -> tuple[np.ndarray, float]:
    """Replace non-finite samples by the previous finite one (``last`` before the chunk).

    Returns the filled chunk and the new last finite value. Holding the last value keeps a
    dropout from poisoning the filter state with NaN; the held stretch is flat, so no peaks
    are found in it.
    """
    ok = np.isfinite(x)
    if ok.all():
        return x, float(x[-1]) if x.size else last
    idx = np.where(ok, np.arange(x.size), -1)
    np.maximum.accumulate(idx, out=idx)
    filled = np.where(idx >= 0, x[np.maximum(idx, 0)], last)
    return filled, float(filled[-1]) if x.size else last


def parabolic_offset(y0: float, y1: float, y2: float) -> float:
    """Sub-sample offset in [-0.5, 0.5] of the vertex of the parabola through 3 samples."""
    den = y0 - 2.0 * y1 + y2
    if den == 0 or not np.isfinite(den):
        return 0.0
    off = 0.5 * (y0 - y2) / den
    return float(min(0.5, max(-0.5, off)))


def local_maxima(f: np.ndarray, start: int) -> np.ndarray:
    """Indices ``i >= start`` (``1 <= i <= len(f) - 2``) where ``f[i-1] < f[i] >= f[i+1]``."""
    if f.size < 3:
        return np.empty(0, dtype=np.int64)
    mid = f[1:-1]
    idx = np.flatnonzero((mid > f[:-2]) & (mid >= f[2:])) + 1
    return idx[idx >= start]
