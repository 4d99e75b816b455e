"""Causal streaming IIR filters that keep their state (``zi``) between chunks.

Processing a signal in chunks through a :class:`StreamingFilter` gives exactly the same output
as one :func:`scipy.signal.sosfilt` pass over the whole signal (tested).

Live use pushes a few samples per call, sixty times a second, so the filters call scipy's
compiled SOS loop (the one :func:`scipy.signal.sosfilt` runs) on state kept in that loop's own
layout: :func:`scipy.signal.sosfilt` spends 25-40 µs per call checking and reshaping its
arguments, 15-25 times what filtering 16 channels x 5 samples takes. The loop is a private part
of scipy, so it is used only if it imports and gives :func:`scipy.signal.sosfilt`'s numbers on
a small check at import; otherwise (a future scipy may move or change it) :func:`sosfilt_rows`
falls back to :func:`scipy.signal.sosfilt` itself. Both give the same numbers bit for bit
(tested).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

#: Magnitude beyond which a sample cannot be a measurement (1e15 µV is a million kilovolts):
#: such values (a broken conversion, uninitialised memory) are treated like NaN, because
#: squaring them overflows and would poison every filter and spectrum downstream.
IMPOSSIBLE_ABS = 1e15


def mask_impossible(x: np.ndarray) -> np.ndarray:
    """``x`` with samples beyond :data:`IMPOSSIBLE_ABS` (and infinities) set to NaN; ``x``
    itself when it holds none (no copy)."""
    x = np.asarray(x, dtype=np.float64)
    if not x.size or (x.max() <= IMPOSSIBLE_ABS and x.min() >= -IMPOSSIBLE_ABS):
        return x  # the usual case, without a temporary (NaN compares False: checked below)
    with np.errstate(invalid="ignore"):
        bad = np.abs(x) > IMPOSSIBLE_ABS
    if not bad.any():
        return x
    out = x.copy()
    out[bad] = np.nan
    return out


def _compiled_sosfilt():
    """scipy's compiled SOS loop (without sosfilt's per-call argument handling) when it
    imports and gives :func:`scipy.signal.sosfilt`'s numbers on a small check; else None."""
    try:
        from scipy.signal._sosfilt import _sosfilt

        sos = signal.butter(4, 0.2, output="sos")
        x = np.sin(np.arange(24.0)).reshape(2, 12)
        zi = np.cos(np.arange(sos.shape[0] * 4.0)).reshape(2, sos.shape[0], 2)
        y, z = x.copy(), zi.copy()
        _sosfilt(sos, y, z)
        expected, z_expected = signal.sosfilt(sos, x, axis=-1, zi=zi.transpose(1, 0, 2))
    except Exception:  # any surprise from a private API: use the public function
        return None
    if np.array_equal(y, expected) and np.array_equal(z, z_expected.transpose(1, 0, 2)):
        return _sosfilt
    return None  # pragma: no cover - depends on the installed scipy


_sosfilt_kernel = _compiled_sosfilt()


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


def below_nyquist(fs: float, freqs: tuple[float, ...]) -> tuple[float, ...]:
    """Those of ``freqs`` (Hz) strictly between 0 and the Nyquist frequency of ``fs``: where a
    notch can be placed (:func:`notches_sos`)."""
    return tuple(f for f in freqs if 0.0 < f < fs / 2)


def notches_sos(fs: float, freqs: tuple[float, ...], quality: float = 30.0) -> np.ndarray:
    """Notches (:func:`notch_sos`) at those of ``freqs`` that lie below the Nyquist frequency
    of ``fs``, stacked as second-order sections.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    freqs : tuple of float
        Notch centres in Hz (e.g. 50 and 60 Hz mains); those not :func:`below_nyquist` (where
        a notch cannot be placed) are left out.
    quality : float
        Quality factor (centre / -3 dB width) of every notch.

    Returns
    -------
    np.ndarray
        ``(n_notches, 6)`` sections; ``(0, 6)`` when no frequency is below Nyquist.
    """
    fs = check_fs(fs)
    sections = [notch_sos(fs, f, quality) for f in below_nyquist(fs, freqs)]
    return np.vstack(sections) if sections else np.zeros((0, 6))


def sosfilt_rows(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> None:
    """Filter every row of ``x`` in place, continuing from and updating the state ``zi``.

    Parameters
    ----------
    sos : np.ndarray
        Second-order sections ``(n_sections, 6)`` of the same dtype as ``x``.
    x : np.ndarray
        Signals ``(rows, n)``, C-contiguous, float64 or complex128; overwritten by the output.
    zi : np.ndarray
        Filter state ``(rows, n_sections, 2)``, C-contiguous, of ``x``'s dtype (the axes of
        :func:`scipy.signal.sosfilt`'s ``zi`` in another order); updated in place.

    Notes
    -----
    The numbers are those of ``scipy.signal.sosfilt(sos, x, axis=-1, zi=zi.transpose(1, 0, 2))``
    bit for bit.
    """
    if _sosfilt_kernel is not None:
        _sosfilt_kernel(sos, x, zi)
        return
    y, z = signal.sosfilt(sos, x, axis=-1, zi=zi.transpose(1, 0, 2))
    x[...] = y
    zi[...] = z.transpose(1, 0, 2)


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
        self.sos = np.ascontiguousarray(sos, dtype=np.float64)
        self.n_channels = n_channels
        self._zi_unit = signal.sosfilt_zi(self.sos)  # (n_sections, 2)
        self._zi: np.ndarray | None = None  # (signals, n_sections, 2): see sosfilt_rows

    def reset(self) -> None:
        """Forget the filter state; the next chunk starts a new stream."""
        self._zi = None

    def push(self, chunk: np.ndarray) -> np.ndarray:
        """Filter the next chunk and return the output (same shape)."""
        # a C-contiguous copy, filtered in place, one row per signal
        y = np.array(chunk, dtype=np.float64, order="C")
        if y.shape[-1] == 0:
            return y
        rows = y.reshape(-1, y.shape[-1])
        if self._zi is None:
            self._zi = self._zi_unit[None, :, :] * rows[:, :1, None]
        elif self._zi.shape[0] != rows.shape[0]:
            raise ValueError(
                f"expected chunks of {self._zi.shape[0]} signal(s) like the first one, "
                f"got shape {y.shape}"
            )
        sosfilt_rows(self.sos, rows, self._zi)
        return y

    def process(self, x: np.ndarray) -> np.ndarray:
        """Filter a whole signal in one pass from a fresh state (the offline equivalent)."""
        self.reset()
        return self.push(x)
