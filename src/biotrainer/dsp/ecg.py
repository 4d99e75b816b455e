"""Causal R-peak detection for single-lead ECG (offline and streaming are one algorithm).

The detector is in the Pan & Tompkins (1985) family, rebuilt for streaming:

1. causal 5-20 Hz Butterworth band-pass (QRS energy band), kept with its ``zi`` between chunks;
2. feature = RMS envelope of the first difference of the band-passed signal over a 100 ms
   moving window (linear in amplitude, independent of polarity);
3. candidates = local maxima of the feature; candidates closer than 120 ms form a group and
   only the largest one is considered (decided 120 ms after the first one);
4. adaptive thresholds: a candidate is a QRS when it exceeds ``noise + 0.3 (signal - noise)``,
   with ``signal`` the median of the last 8 accepted QRS features and ``noise`` an exponential
   mean of rejected candidates; the threshold is halved when no beat has been seen for
   1.66 mean RR (the causal form of Pan-Tompkins' search-back), a 220 ms refractory period
   applies, and a candidate 220-360 ms after a beat whose maximal slope is below half the
   previous QRS's is taken for a T wave; after 3 s without a beat the levels are relearnt
   over the 2 s that follow (learnt over the silence, P and T waves would be counted); levels
   are learnt only from 2 s whose largest feature stands 5 times above their 30th percentile,
   so an electrode off with only noise on the trace gives no beats (before: ~3 a second), and
   once such noise was seen, from the 2 s after each candidate until the next beat;
5. the R time is the largest deflection from the median of a causal 0.5-40 Hz band-passed copy
   in the 200 ms before the feature peak (either polarity, the usual one preferred unless the
   other is 1.5x larger), refined below one sample by parabolic interpolation. While the
   0.5 Hz high-pass of that copy is still ringing after a huge burst (its range in the window
   over 20x that of the 5-20 Hz band; under 5x on real ECG), the largest 5-20 Hz deflection
   is used instead. A QRS whose 200 ms window begins before the first sample is left out of
   the output: the start (a recording cut there, a stream joined mid-beat) may cut it, and its
   R was then put on the first sample or on the S wave (the first RR interval wrong by one to
   tens of ms). It still counts as a beat for the detector (refractory period, T-wave test,
   levels), so the later beats do not change; a whole QRS in the first ~0.2 s is left out too.

Steps 3-4 are the adaptive-threshold core shared with :mod:`biotrainer.dsp.ppg`
(``_AdaptivePeakStream`` in :mod:`biotrainer.dsp._peaks`); this module supplies the filters, the
envelope feature, the T-wave test and the R-time location.

All durations are in seconds, so the same parameters work at any sampling rate from 100 Hz
(MIT-BIH SVDB at 128 Hz) to 1000 Hz. A peak is confirmed at most ~0.25 s after it occurred
(band-pass delay + half the envelope window + 120 ms grouping), so a stream fed 0.1 s chunks
returns every peak within 0.35 s.

References
----------
Pan J, Tompkins WJ. A real-time QRS detection algorithm. IEEE Trans Biomed Eng 1985;32:230-236.
"""

from __future__ import annotations

import math

import numpy as np

from biotrainer.dsp._peaks import _AdaptivePeakStream, _median, parabolic_offset
from biotrainer.dsp.filters import StreamingFilter, butter_sos, check_fs

__all__ = ["EcgPeakStream", "ecg_peaks"]

_BAND_HZ = (5.0, 20.0)
_WIDE_HZ = (0.5, 40.0)
_ENVELOPE_S = 0.10
_GROUP_S = 0.12
_REFRACTORY_S = 0.22
_TWAVE_S = 0.36
_REFINE_BACK_S = 0.20
_THRESHOLD_FRACTION = 0.3
_POLARITY_BIAS = 1.5  # prefer the usual QRS polarity unless the other is 1.5x larger
# the wide-band range this many times the QRS band's: still ringing (real ECG: < 5)
_RINGING_RATIO = 20.0
# A learning window's largest feature must be 5x its 30th percentile to be learnt as a beat. Noise
# never reached it (white, pink, brown; 2 h each at 100, 250, 500 Hz: largest 4.35); simulated
# sinus ECG at 150-220 bpm did in every 2-s window (smallest 5.0; a faster heart may not be
# learnt). On MIT-BIH and the resting ECGs a window that does not (a noisy stretch: 1 % of the
# windows of the noisiest lead, 106 V1, are under 3.5) only delays learning, which slides on.
_MIN_PROMINENCE = 5.0


class EcgPeakStream(_AdaptivePeakStream):
    """Streaming R-peak detector: push chunks of one ECG lead, get confirmed R peaks.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz (100-20000).

    Notes
    -----
    :meth:`push` returns absolute sample indices (counted from the first sample pushed since
    construction or :meth:`reset`) of the peaks confirmed by that chunk; :meth:`push_positions`
    returns the same peaks as sub-sample (fractional) positions. Feeding a recording in chunks of
    any size gives exactly the peaks of :func:`ecg_peaks` on the whole recording. Non-finite
    samples are replaced by the previous finite sample (a flat stretch, so no peaks there);
    those before the first finite one are left out: the detector starts at it, so a stream that
    begins with missing samples gives the peaks of the same stream without them (positions
    still counted from the first sample pushed).
    """

    _what = "ECG"
    _relearn_ahead = True  # (P and T waves: see _AdaptivePeakStream._relearn_ahead)
    _min_prominence = _MIN_PROMINENCE

    def __init__(self, fs: float) -> None:
        fs = check_fs(fs, 100.0, 20000.0, "ECG")
        self._bandpass = StreamingFilter(butter_sos(fs, *_BAND_HZ, order=2))
        self._wideband = StreamingFilter(butter_sos(fs, *_WIDE_HZ, order=2))
        self._win = max(2, int(round(_ENVELOPE_S * fs)))
        self._twave = int(round(_TWAVE_S * fs))
        self._back = int(round(_REFINE_BACK_S * fs))
        super().__init__(
            fs,
            group_s=_GROUP_S,
            refractory_s=_REFRACTORY_S,
            threshold_fraction=_THRESHOLD_FRACTION,
            history=self._back,
        )

    def reset(self) -> None:
        """Forget everything; the next chunk starts a new stream at sample 0."""
        super().reset()
        self._bandpass.reset()
        self._wideband.reset()
        self._wide = np.empty(0)
        self._prev_bp = 0.0
        self._polarity = 0.0
        self._sq_tail = np.zeros(self._win - 1)
        self._last_slope = 0.0

    # -- public ------------------------------------------------------------------------------

    def push(self, chunk: np.ndarray) -> np.ndarray:
        """Process the next chunk; return int64 sample indices of the R peaks it confirms."""
        return np.rint(self.push_positions(chunk)).astype(np.int64)

    def push_positions(self, chunk: np.ndarray) -> np.ndarray:
        """Like :meth:`push` but return sub-sample (float64) R-peak positions in samples."""
        return self._push_positions(chunk)

    def push_positions_split(self, chunk: np.ndarray, ends) -> list[np.ndarray]:
        """Push ``chunk`` as consecutive pieces ending at sample counts ``ends`` (the last one
        ``len(chunk)``) and return the sub-sample R positions each piece confirms: exactly what
        pushing the pieces one by one returns, for the cost of one push (batch replay)."""
        return self._push_positions_split(chunk, ends)

    # -- hooks of the adaptive-threshold core ------------------------------------------------

    def _features(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # feature = RMS over _win samples of the band-passed first difference
        bp = self._bandpass.push(x)
        self._wide = np.concatenate([self._wide, self._wideband.push(x)])
        d = np.diff(bp, prepend=self._prev_bp if self._n else bp[0])
        self._prev_bp = float(bp[-1])
        sq = np.concatenate([self._sq_tail, d * d])
        self._sq_tail = sq[-(self._win - 1) :]
        feat = np.sqrt(np.maximum(np.convolve(sq, np.full(self._win, 1.0 / self._win), "valid"), 0))
        return bp, feat

    def _drop_front(self, drop: int) -> None:
        super()._drop_front(drop)
        self._wide = self._wide[drop:]

    def _accept(self, m: int, last: int | None) -> float | None:
        # T-wave rejection: soon after a beat, with less than half the previous QRS's slope
        lo = max(m - self._back, self._off + 1)
        seg = self._bp[lo - self._off : m - self._off + 1]
        slope = float(np.max(np.abs(np.diff(seg)))) if seg.size > 1 else 0.0
        if last is not None and m - last < self._twave and slope < 0.5 * self._last_slope:
            return None
        self._last_slope = slope
        pos = self._locate_r(lo, m)
        # The R search window begins before the signal (only at its start: _trim keeps the
        # history): the QRS may be cut, the R was then placed at the first samples or on the
        # S wave. A beat for the detector, with no position (see _AdaptivePeakStream._accept).
        return pos if lo == m - self._back else math.nan

    def _locate_r(self, lo: int, m: int) -> float:
        seg = self._wide[lo - self._off : m - self._off + 1]
        qrs = self._bp[lo - self._off : m - self._off + 1]
        if np.ptp(seg) > _RINGING_RATIO * np.ptp(qrs):
            # the wide-band copy still rings after a burst: the QRS band is the better clock
            a = np.abs(qrs)
            j = int(np.argmax(a))
            off = parabolic_offset(a[j - 1], a[j], a[j + 1]) if 0 < j < a.size - 1 else 0.0
            return float(lo + j) + off
        # np.median's value without its overhead on a few dozen samples (NaN stays NaN)
        dev = seg - (math.nan if np.isnan(seg).any() else _median(seg.tolist()))
        up, down = float(dev.max()), float(-dev.min())
        bias = _POLARITY_BIAS if self._polarity >= 0 else 1 / _POLARITY_BIAS
        sign = 1.0 if up * bias >= down else -1.0
        self._polarity = 0.9 * self._polarity + 0.1 * sign
        a = sign * dev
        j = int(np.argmax(a))
        pos = float(lo + j)
        if 0 < j < a.size - 1:
            pos += parabolic_offset(a[j - 1], a[j], a[j + 1])
        return pos


def ecg_peaks(ecg: np.ndarray, fs: float, *, subsample: bool = False) -> np.ndarray:
    """Detect R peaks in a whole single-lead ECG recording.

    This is exactly :class:`EcgPeakStream` fed the whole signal, so offline results equal
    what a live session saw (see the module docstring for the algorithm).

    Parameters
    ----------
    ecg : array_like
        One ECG lead, any unit and polarity.
    fs : float
        Sampling rate in Hz (100-20000).
    subsample : bool
        If True return float64 sub-sample positions (for RR intervals), else int64 indices.

    Returns
    -------
    np.ndarray
        R-peak positions in samples from the start of ``ecg``; empty for a flat, all-NaN or
        too-short signal. A QRS cut by the start of ``ecg`` is left out (module docstring, 5).
    """
    pos = EcgPeakStream(fs).push_positions(ecg)
    return pos if subsample else np.rint(pos).astype(np.int64)
