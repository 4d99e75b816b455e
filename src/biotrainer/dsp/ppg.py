"""Causal pulse detection for photoplethysmography (PPG), offline and streaming alike.

Fiducial point: the **maximum upslope** of each pulse (the steepest point of the systolic
upstroke). It is sharper and less shaped by wave reflection than the systolic peak, and it is the
fiducial usually recommended for pulse-rate variability; one consistent fiducial is what HRV
needs. Its time is refined below one sample by fitting a cubic spline through the band-passed
pulse and locating the maximum of its derivative, so that beat timing from slow consumer sensors
(Muse 64 Hz, EmotiBit 25 Hz) is not quantised to the sample period.

Algorithm (all durations in seconds, so it is rate independent):

1. causal 0.5-8 Hz Butterworth band-pass, kept with its ``zi`` between chunks;
2. slope = first difference of the band-passed pulse; candidates = local maxima of the slope;
   candidates closer than 150 ms form a group of which only the steepest is considered;
3. a candidate is a pulse when its slope exceeds ``noise + 0.4 (level - noise)`` (``level`` =
   median slope of the last 8 pulses, ``noise`` = exponential mean of rejected candidates), at
   least 300 ms (200 bpm) after the previous pulse; the threshold is halved after 1.66 mean
   pulse intervals without a pulse, and levels are relearnt (2 s) after 3 s without one.

Steps 2-3 are the adaptive-threshold core shared with :mod:`biotrainer.dsp.ecg`
(``_AdaptivePeakStream`` in :mod:`biotrainer.dsp._peaks`); this module supplies the band-pass,
the slope feature and the spline refinement.

A pulse is confirmed 150 ms plus a few samples after its upslope, well before the systolic peak
of the next beat. A stream fed chunks of any size finds exactly what :func:`ppg_peaks` finds.

References
----------
Peralta E, Lazaro J, Bailon R, Marozas V, Gil E. Optimal fiducial points for pulse rate
variability analysis from forehead and finger photoplethysmographic signals. Physiol Meas
2019;40:025007.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline

from biotrainer.dsp._peaks import _AdaptivePeakStream
from biotrainer.dsp.filters import StreamingFilter, butter_sos, check_fs

__all__ = ["PpgPeakStream", "ppg_peaks"]

_BAND_HZ = (0.5, 8.0)
_GROUP_S = 0.15
_REFRACTORY_S = 0.30
_THRESHOLD_FRACTION = 0.4
_SPLINE_HALF = 4  # samples each side of the slope maximum used for the spline
_SPLINE_STEPS = 64  # evaluation points per sample when locating the slope maximum


class PpgPeakStream(_AdaptivePeakStream):
    """Streaming pulse detector: push PPG chunks, get the confirmed pulses (max upslope).

    Parameters
    ----------
    fs : float
        Sampling rate in Hz (10-10000).

    Notes
    -----
    :meth:`push` returns int64 absolute sample indices (counted from the first sample pushed
    since construction or :meth:`reset`); :meth:`push_positions` returns the sub-sample
    float64 positions, which is what beat-to-beat intervals should be computed from. The
    polarity is that of a transmission/reflectance PPG where more blood = larger value; invert
    the signal first for devices that report absorbance the other way.
    """

    _what = "PPG"

    def __init__(self, fs: float) -> None:
        fs = check_fs(fs, 10.0, 10000.0, "PPG")
        self._bandpass = StreamingFilter(butter_sos(fs, *_BAND_HZ, order=2))
        super().__init__(
            fs,
            group_s=_GROUP_S,
            refractory_s=_REFRACTORY_S,
            threshold_fraction=_THRESHOLD_FRACTION,
            # the spline needs _SPLINE_HALF samples after the candidate
            lookahead=_SPLINE_HALF + 1,
            history=_SPLINE_HALF,
        )

    def reset(self) -> None:
        """Forget everything; the next chunk starts a new stream at sample 0."""
        super().reset()
        self._bandpass.reset()

    def push(self, chunk: np.ndarray) -> np.ndarray:
        """Process the next chunk; return int64 sample indices of the pulses it confirms."""
        return np.rint(self.push_positions(chunk)).astype(np.int64)

    def push_positions(self, chunk: np.ndarray) -> np.ndarray:
        """Like :meth:`push` but return sub-sample (float64) pulse positions in samples."""
        return self._push_positions(chunk)

    # -- hooks of the adaptive-threshold core ------------------------------------------------

    def _features(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # feature = slope: slope[i] = bp[i] - bp[i-1], aligned with bp
        bp = self._bandpass.push(x)
        prev = self._bp[-1] if self._bp.size else bp[0]
        return bp, np.diff(bp, prepend=prev)

    def _accept(self, m: int, last: int | None) -> float | None:
        return self._refine(m)

    def _refine(self, m: int) -> float:
        """Sub-sample time of the maximal slope near sample ``m`` (slope[m] = bp[m] - bp[m-1])."""
        lo = max(self._off, m - 1 - _SPLINE_HALF)
        hi = min(self._n - 1, m + _SPLINE_HALF)
        y = self._bp[lo - self._off : hi - self._off + 1]
        if y.size < 4:
            return m - 0.5
        spline = CubicSpline(np.arange(lo, hi + 1, dtype=np.float64), y)
        t = np.linspace(m - 1.5, m + 0.5, 2 * _SPLINE_STEPS + 1)
        return float(t[np.argmax(spline(t, 1))])


def ppg_peaks(ppg: np.ndarray, fs: float, *, subsample: bool = False) -> np.ndarray:
    """Detect pulses (maximum-upslope fiducial) in a whole PPG recording.

    Exactly :class:`PpgPeakStream` fed the whole signal (see the module docstring).

    Parameters
    ----------
    ppg : array_like
        PPG samples, larger = more blood volume.
    fs : float
        Sampling rate in Hz (10-10000).
    subsample : bool
        If True return float64 sub-sample positions (use these for intervals), else int64.

    Returns
    -------
    np.ndarray
        Pulse positions in samples from the start of ``ppg``; empty for a flat, all-NaN or
        too-short signal.
    """
    pos = PpgPeakStream(fs).push_positions(ppg)
    return pos if subsample else np.rint(pos).astype(np.int64)
