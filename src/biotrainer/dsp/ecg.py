"""Causal R-peak detection for single-lead ECG (offline and streaming are one algorithm).

The detector is in the Pan & Tompkins (1985) family, rebuilt for streaming:

1. causal 5-20 Hz Butterworth band-pass (QRS energy band), kept with its ``zi`` between chunks;
2. feature = RMS envelope of the band-passed signal over a 100 ms moving window (linear in
   amplitude, independent of polarity);
3. candidates = local maxima of the feature; candidates closer than 120 ms form a group and
   only the largest one is considered (decided 120 ms after the first one);
4. adaptive thresholds: a candidate is a QRS when it exceeds ``noise + 0.3 (signal - noise)``,
   with ``signal`` the median of the last 8 accepted QRS features and ``noise`` an exponential
   mean of rejected candidates; the threshold is halved when no beat has been seen for
   1.66 mean RR (the causal form of Pan-Tompkins' search-back), a 220 ms refractory period
   applies, and a candidate 220-360 ms after a beat whose maximal slope is below half the
   previous QRS's is taken for a T wave; after 3 s without a beat the levels are relearnt;
5. the R time is the largest absolute band-passed deflection in the 200 ms before the feature
   peak, refined below one sample by parabolic interpolation.

All durations are in seconds, so the same parameters work at any sampling rate from 100 Hz
(MIT-BIH SVDB at 128 Hz) to 1000 Hz. A peak is confirmed at most ~0.25 s after it occurred
(band-pass delay + half the envelope window + 120 ms grouping), so a stream fed 0.1 s chunks
returns every peak within 0.35 s.

References
----------
Pan J, Tompkins WJ. A real-time QRS detection algorithm. IEEE Trans Biomed Eng 1985;32:230-236.
"""

from __future__ import annotations

import numpy as np

from biotrainer.dsp._peaks import as_signal, check_fs, hold_nan, local_maxima, parabolic_offset
from biotrainer.dsp.filters import StreamingFilter, butter_sos

__all__ = ["EcgPeakStream", "ecg_peaks"]

_BAND_HZ = (5.0, 20.0)
_WIDE_HZ = (0.5, 40.0)
_ENVELOPE_S = 0.10
_GROUP_S = 0.12
_REFRACTORY_S = 0.22
_TWAVE_S = 0.36
_REFINE_BACK_S = 0.20
_RELEARN_S = 3.0
_LEARN_S = 2.0
_KEEP_S = 3.0
_THRESHOLD_FRACTION = 0.3
_SEARCHBACK_RR = 1.66
_N_LEVEL = 8
_POLARITY_BIAS = 1.5  # prefer the usual QRS polarity unless the other is 1.5x larger


class EcgPeakStream:
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
    samples are replaced by the previous finite sample (a flat stretch, so no peaks there).
    """

    def __init__(self, fs: float) -> None:
        self.fs = check_fs(fs, 100.0, 20000.0, "ECG")
        self._bandpass = StreamingFilter(butter_sos(self.fs, *_BAND_HZ, order=2))
        self._wideband = StreamingFilter(butter_sos(self.fs, *_WIDE_HZ, order=2))
        self._win = max(2, int(round(_ENVELOPE_S * self.fs)))
        self._group = int(round(_GROUP_S * self.fs))
        self._refractory = int(round(_REFRACTORY_S * self.fs))
        self._twave = int(round(_TWAVE_S * self.fs))
        self._back = int(round(_REFINE_BACK_S * self.fs))
        self._relearn = int(round(_RELEARN_S * self.fs))
        self._learn = int(round(_LEARN_S * self.fs))
        self._keep = int(round(_KEEP_S * self.fs))
        self.reset()

    def reset(self) -> None:
        """Forget everything; the next chunk starts a new stream at sample 0."""
        self._bandpass.reset()
        self._wideband.reset()
        self._wide = np.empty(0)
        self._prev_bp = 0.0
        self._polarity = 0.0
        self._n = 0  # samples pushed so far
        self._off = 0  # absolute index of _bp[0] / _feat[0]
        self._bp = np.empty(0)
        self._feat = np.empty(0)
        self._sq_tail = np.zeros(self._win - 1)
        self._last_finite = 0.0
        self._scan = 1  # next absolute index to test for a local maximum
        self._cands: list[int] = []  # absolute indices of undecided candidates
        self._max_seen = 0.0
        self._abs_level = 0.0
        self._levels: list[float] = []
        self._noise = 0.0
        self._rr: list[int] = []
        self._last_m: int | None = None
        self._last_slope = 0.0
        self._learn_from = 0

    # -- public ------------------------------------------------------------------------------

    def push(self, chunk: np.ndarray) -> np.ndarray:
        """Process the next chunk; return int64 sample indices of the R peaks it confirms."""
        return np.rint(self.push_positions(chunk)).astype(np.int64)

    def push_positions(self, chunk: np.ndarray) -> np.ndarray:
        """Like :meth:`push` but return sub-sample (float64) R-peak positions in samples."""
        x = as_signal(chunk, "ECG")
        if x.size == 0:
            return np.empty(0)
        x, self._last_finite = hold_nan(x, self._last_finite)
        self._abs_level = max(self._abs_level, float(np.mean(np.abs(x))))
        bp = self._bandpass.push(x)
        wide = self._wideband.push(x)
        d = np.diff(bp, prepend=self._prev_bp if self._n else bp[0])
        self._prev_bp = float(bp[-1])
        sq = np.concatenate([self._sq_tail, d * d])
        self._sq_tail = sq[-(self._win - 1) :]
        feat = np.sqrt(np.maximum(np.convolve(sq, np.full(self._win, 1.0 / self._win), "valid"), 0))
        self._bp = np.concatenate([self._bp, bp])
        self._wide = np.concatenate([self._wide, wide])
        self._feat = np.concatenate([self._feat, feat])
        self._n += x.size

        base = max(0, self._scan - 1 - self._off)
        found = local_maxima(self._feat[base:], self._scan - self._off - base)
        self._cands.extend((found + base + self._off).tolist())
        self._scan = max(self._scan, self._n - 1)
        out = self._decide()
        self._trim()
        return np.asarray(out, dtype=np.float64)

    # -- internals ---------------------------------------------------------------------------

    def _trim(self) -> None:
        cut = self._n - self._keep
        if self._cands:
            cut = min(cut, self._cands[0] - self._back - 2)
        drop = cut - self._off
        if drop > 0:
            self._bp = self._bp[drop:]
            self._wide = self._wide[drop:]
            self._feat = self._feat[drop:]
            self._off += drop

    def _decide(self) -> list[float]:
        out: list[float] = []
        cands = self._cands
        feat, off = self._feat, self._off
        while (
            cands and cands[0] + self._group < self._n and self._n > self._learn_from + self._learn
        ):
            head = cands[0]
            k = 1
            while k < len(cands) and cands[k] <= head + self._group:
                k += 1
            group = cands[:k]
            del cands[:k]
            m = max(group, key=lambda i: feat[i - off])
            if not self._levels:
                # until the first beat the threshold is relative to the maximum of the learning
                # period (the first 2 s, or the 2 s after a long silence)
                lo = max(0, self._learn_from - off)
                hi = max(self._learn_from + self._learn, head + self._group) - off + 1
                self._max_seen = max(self._max_seen, float(feat[lo:hi].max()))
            r = self._classify(m, float(feat[m - off]))
            if r is not None:
                out.append(r)
        return out

    def _classify(self, m: int, v: float) -> float | None:
        if v <= 1e-9 * self._abs_level or v <= 0:
            return None
        last = self._last_m
        if last is not None and m - last > self._relearn:
            # a long silence: relearn the levels from the recent signal
            self._levels.clear()
            self._rr.clear()
            self._noise = 0.0
            self._learn_from = m - self._learn
            lo = max(0, self._learn_from - self._off)
            self._max_seen = float(self._feat[lo : m - self._off + 1].max())
            last = self._last_m = None
        if last is not None and m - last < self._refractory:
            return None
        if self._levels:
            level = float(np.median(self._levels))
            thr = self._noise + _THRESHOLD_FRACTION * (level - self._noise)
            mean_rr = np.mean(self._rr) if self._rr else self.fs
            if last is not None and m - last > _SEARCHBACK_RR * mean_rr:
                thr *= 0.5
        else:
            thr = _THRESHOLD_FRACTION * self._max_seen
        if v < thr:
            self._noise = 0.875 * self._noise + 0.125 * v
            return None
        lo = max(m - self._back, self._off + 1)
        seg = self._bp[lo - self._off : m - self._off + 1]
        slope = float(np.max(np.abs(np.diff(seg)))) if seg.size > 1 else 0.0
        if last is not None and m - last < self._twave and slope < 0.5 * self._last_slope:
            self._noise = 0.875 * self._noise + 0.125 * v
            return None
        # accepted: locate and refine the R time
        pos = self._locate_r(lo, m)
        if last is not None:
            self._rr.append(m - last)
            if len(self._rr) > _N_LEVEL:
                self._rr.pop(0)
        self._levels.append(v)
        if len(self._levels) > _N_LEVEL:
            self._levels.pop(0)
        self._last_m = m
        self._last_slope = slope
        return pos

    def _locate_r(self, lo: int, m: int) -> float:
        seg = self._wide[lo - self._off : m - self._off + 1]
        dev = seg - np.median(seg)
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
        too-short signal.
    """
    pos = EcgPeakStream(fs).push_positions(ecg)
    return pos if subsample else np.rint(pos).astype(np.int64)
