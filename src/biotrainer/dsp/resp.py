"""Breathing rate from a respiration signal (a chest or belly belt, a nasal thermistor...).

A respiration sensor measures the breath itself, so its rate does not have the weakness of the
rate read from the heart rhythm (:func:`biotrainer.dsp.hrv.breathing_rate`), which at ordinary
breathing often locks onto a slower heart-rate wave. The method is breath counting:

1. band-pass 0.05-1 Hz (3-60 breaths/min; 2nd-order Butterworth, causal, state kept between
   chunks), then keep about 10 samples a second (the low-pass edge is the anti-alias filter);
2. in the last 60 s, find the breaths as peaks of the filtered signal with
   :func:`scipy.signal.find_peaks`: at least :data:`MIN_BREATH_S` apart, standing out by at
   least :data:`MIN_RIPPLE` of the window's spread (5th to 95th percentile) and by at least
   :data:`MIN_PROMINENCE` of the median such peak, so a ripple on a breath is not a breath
   but a shallow breath among deep ones is; the sign of the signal does not matter (inhale up
   or down);
3. the rate is the number of whole breath cycles between the first and the last peak over the
   time they take.

The sensor's units do not matter (a.u., ADC counts, ohms): every threshold is relative to the
signal itself. A window that is flat (a sensor off or railed for the whole window), jumps from
one sample to the next (:data:`MAX_STEP_SHARE`: a knock, a spike, the sensor railing), holds too
many missing samples, or shows fewer than three breaths gives NaN.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator, Sequence

import numpy as np
from scipy import signal

from biotrainer.dsp.filters import StreamingFilter, butter_sos, check_fs, mask_impossible

__all__ = [
    "RespRateStream",
    "resp_filter",
    "resp_peaks",
    "resp_rate",
]

#: Lowest sampling rate (Hz) of a respiration channel the filter takes.
MIN_FS = 4.0
#: Pass band of the respiration filter (Hz): 3-60 breaths/min.
RESP_BAND_HZ = (0.05, 1.0)
#: Samples per second kept after filtering (at least; the rate divided by a whole number).
KEPT_HZ = 10.0
#: Shortest breath cycle counted (s): 40 breaths/min.
MIN_BREATH_S = 1.5
#: Peaks standing out by less than this share of the window's spread (5th-95th percentile)
#: are ripples, not breath candidates.
MIN_RIPPLE = 0.1
#: A breath's peak must stand out by this share of the median candidate's (Khodadad et al.
#: 2018's rule, NeuroKit2's default: a shallow breath among deep ones still counts).
MIN_PROMINENCE = 0.3
#: Fewest breath peaks a rate is given for (two whole cycles).
MIN_PEAKS = 3
#: A stretch without a breath at an end of the window longer than this many times the longest
#: cycle between its peaks is a pause (a breath held) and counts in the rate (see
#: :func:`resp_rate`).
PAUSE_CYCLES = 1.5
#: A step between raw samples is a jump (:data:`MAX_STEP_SHARE`) only when it is also this many
#: times the typical largest step of a tenth of a second in the window: broadband noise on a
#: belt is no knock (the largest of 15,000 steps of white noise is about twice the median of
#: the 0.1-s maxima).
NOISE_STEP_FACTOR = 4.0
#: A window whose spread is below this share of the signal's level is flat (no breathing seen).
FLAT_RELATIVE = 1e-6
#: Most missing (NaN, infinite, impossible) samples a window may hold (share).
MAX_MISSING = 0.2
#: A step from one sample to the next larger than this share of the window's spread (5th-95th
#: percentile of the raw signal) is no breath (a breath takes a second or more even at 40/min):
#: a sensor knocked, railed or reconnected. The filter rings for seconds after it, so a window
#: with one gives NaN.
MAX_STEP_SHARE = 0.5


def resp_filter(x: np.ndarray, fs: float) -> np.ndarray:
    """Band-pass a whole respiration signal (:data:`RESP_BAND_HZ`) in one causal pass, from a
    state settled on its first sample: what :class:`RespRateStream` computes chunk by chunk.

    Parameters
    ----------
    x : array_like
        One respiration channel, any units; must be finite.
    fs : float
        Sampling rate, Hz (at least 4 Hz).
    """
    fs = check_fs(fs, MIN_FS, what="respiration")
    return StreamingFilter(_sos(fs)).process(np.asarray(x, dtype=np.float64).ravel())


def _sos(fs: float) -> np.ndarray:
    return np.ascontiguousarray(butter_sos(fs, *RESP_BAND_HZ, order=2))


def resp_peaks(filtered: np.ndarray, fs: float) -> np.ndarray:
    """Indices of the breath peaks in a band-passed respiration window (see the module).

    Parameters
    ----------
    filtered : array_like
        The window after :func:`resp_filter` (finite).
    fs : float
        Its sampling rate, Hz.

    Returns
    -------
    np.ndarray
        Peak indices in order, of whichever of the signal and its negative shows more breaths
        (the inhale may be either); empty for a flat window.
    """
    fs = check_fs(fs)
    y = np.asarray(filtered, dtype=np.float64).ravel()
    if y.size < 3:
        return np.empty(0, dtype=np.intp)
    spread = _spread(y)
    if not spread > 0.0:
        return np.empty(0, dtype=np.intp)
    distance = max(1, round(MIN_BREATH_S * fs))
    best = np.empty(0, dtype=np.intp)
    for side in (y, -y):
        peaks, props = signal.find_peaks(side, distance=distance, prominence=MIN_RIPPLE * spread)
        if peaks.size:
            prominence = props["prominences"]
            median = statistics.median(prominence.tolist())  # (a few dozen: no numpy call)
            peaks = peaks[prominence >= MIN_PROMINENCE * median]
        # (the two sides agree on clean breaths; where they differ, the one with more cycles)
        if peaks.size > best.size:
            best = peaks
    return best


def _spread(y: np.ndarray) -> float:
    """The 5th to 95th percentile range of ``y`` (the nearest ranks: computed every second)."""
    n = y.size
    lo, hi = int(0.05 * (n - 1)), math.ceil(0.95 * (n - 1))
    part = np.partition(y, (lo, hi))
    return float(part[hi] - part[lo])


def resp_rate(filtered: np.ndarray, fs: float) -> float:
    """Breaths per minute in a band-passed respiration window (see the module).

    Parameters
    ----------
    filtered : array_like
        The window after :func:`resp_filter` (finite).
    fs : float
        Its sampling rate, Hz.

    Returns
    -------
    float
        Whole breath cycles between the first and the last breath peak per minute of the time
        they span. A stretch without a breath at either end of the window longer than
        :data:`PAUSE_CYCLES` times the longest cycle between the peaks (a breath held, a long
        pause) counts as one more cycle lasting that long, so the rate falls while the breath
        is held instead of repeating the rate before. NaN with fewer than :data:`MIN_PEAKS`
        peaks.
    """
    y = np.asarray(filtered, dtype=np.float64).ravel()
    peaks = resp_peaks(y, fs)
    if peaks.size < MIN_PEAKS:
        return math.nan
    cycles = float(peaks.size - 1)
    span = float(peaks[-1] - peaks[0])
    longest = float(np.diff(peaks).max())
    for pause in (float(peaks[0]), float(y.size - 1 - peaks[-1])):
        if pause > PAUSE_CYCLES * longest:
            cycles += 1.0
            span += pause
    return 60.0 * cycles * fs / span


class RespRateStream:
    """Breathing rate from a respiration channel, pushed in chunks.

    Parameters
    ----------
    fs : float
        Sampling rate of the channel, Hz (at least 4 Hz).
    window_s : float
        Breaths counted over the last ``window_s`` seconds (60 s: two breaths even at 3/min).
    every_s : float
        How often (seconds of data) the rate is recomputed.
    settle_s : float
        Filtered samples left out after a start or restart while the filter settles; the
        first rate comes once the window holds :attr:`min_span_s` after that.

    Notes
    -----
    Pushing a signal in any chunks gives the same rates at the same sample counts as pushing it
    whole (:meth:`push_many` with the same ``ends``): the filter keeps its state, the samples
    kept are chosen by their index in the stream, and a rate is computed at the first piece
    end at or after each ``every_s`` of samples. A missing sample (NaN, infinite or
    impossibly large) is replaced by the last good one for the filter and counted: a window
    with more than :data:`MAX_MISSING` of them gives NaN.
    """

    def __init__(
        self, fs: float, window_s: float = 60.0, every_s: float = 1.0, settle_s: float = 10.0
    ) -> None:
        self.fs = check_fs(fs, MIN_FS, what="respiration")
        self.step = max(1, int(self.fs // KEPT_HZ))  # keep every step-th sample
        self.kept_fs = self.fs / self.step
        self.window = max(MIN_PEAKS, round(window_s * self.kept_fs))
        self.min_span = round(min(20.0, window_s) * self.kept_fs)
        self.every = max(1, round(every_s * self.fs))
        self.settle = round(settle_s * self.fs)
        self._first_kept = self.settle + (-self.settle) % self.step  # (a multiple of step)
        self._filter = StreamingFilter(_sos(self.fs))
        #: The latest rate, breaths/min (NaN until the first window, and for a bad window).
        self.breathing_bpm = math.nan
        self.restart()

    @property
    def min_span_s(self) -> float:
        """Seconds of settled signal the first rate waits for."""
        return self.min_span / self.kept_fs

    def restart(self) -> None:
        """Forget everything (after a hole in the data): the next sample starts a new stream."""
        self._filter.reset()
        self._started = False  # (the stream starts at its first good sample)
        self._n = 0  # samples pushed since the start
        self._last_good = math.nan
        self._last_raw = math.nan
        self._last_missing = False  # (the sample before the next chunk was missing)
        # per kept sample (every step-th of the stream once settled; the last window of them
        # and those of the latest push): the filtered value, the raw one (held where missing),
        # the raw samples missing and the largest raw step since the kept one before
        self._kept = np.empty(0)
        self._raw = np.empty(0)
        self._missing = np.empty(0, dtype=np.int64)
        self._steps = np.empty(0)
        self._kept_total = 0  # kept samples since the start (the buffers hold the last ones)
        self._step_max = 0.0  # largest step since the last kept sample
        self._missing_n = 0  # samples missing since the last kept sample
        self._due = self.settle + self.every
        self.breathing_bpm = math.nan

    def push(self, samples: np.ndarray) -> None:
        """Process the next chunk of the channel, shape ``(n,)``."""
        for _ in self.push_many(samples, (np.size(samples),)):
            pass

    def push_many(
        self, samples: np.ndarray, ends: Sequence[int], restarts: Sequence[int] = ()
    ) -> Iterator[None]:
        """Process a chunk as pieces ending at the sample counts ``ends`` (the last one the
        chunk's length); the iterator steps through the pieces, after step ``i``
        :attr:`breathing_bpm` is what pushing pieces ``0..i`` one by one gives.

        The chunk is filtered in one pass and the rates of all its pieces computed at once
        (a replay pushes 10 s of data with 100 piece ends).

        ``restarts``: offsets in the chunk where the data resumes after a hole; the stream
        :meth:`restart` s there (a breath cannot be counted across missing seconds).
        """
        x = mask_impossible(np.asarray(samples, dtype=np.float64).ravel())
        ends = [int(e) for e in ends]
        at = {int(r) for r in restarts}
        if 0 in at:
            self.restart()
        cuts = sorted(r for r in at if 0 < r < x.size)
        values: list[float] = []
        e = 0
        for a, b in zip([0, *cuts], [*cuts, x.size], strict=True):
            if a > 0:
                self.restart()
            n0, kept0 = self._n, self._kept_total
            offsets = self._take(x[a:b])  # (segment offsets of the samples kept)
            while e < len(ends) and ends[e] <= b:
                n_at = n0 + ends[e] - a
                if n_at >= self._due:
                    kept_at = kept0 + int(np.searchsorted(offsets, ends[e] - a))
                    self.breathing_bpm = self._rate(kept_at)
                    self._due += self.every * (1 + (n_at - self._due) // self.every)
                values.append(self.breathing_bpm)
                e += 1
        values.extend([self.breathing_bpm] * (len(ends) - e))  # (ends past the chunk)
        self._trim()
        return self._hand_out(values)

    def _hand_out(self, values: list[float]) -> Iterator[None]:
        for v in values:
            self.breathing_bpm = v
            yield None

    def _take(self, x: np.ndarray) -> np.ndarray:
        """Filter the samples ``x`` and keep every step-th once settled; return the offsets in
        ``x`` of those kept."""
        none = np.empty(0, dtype=np.intp)
        if x.size == 0:
            return none
        x, missing = self._held(x)
        n0 = self._n
        self._n += x.size
        skip = 0
        if not self._started:
            good = np.flatnonzero(~missing)
            if not good.size:
                return none  # nothing good yet: the stream starts at its first good sample
            skip = int(good[0])
            x, missing, n0 = x[skip:], missing[skip:], n0 + skip
            self._started = True
        y = self._filter.push(x)[None, :]  # (from the steady state of its first sample)
        first = max(self._first_kept, n0)
        first += (-first) % self.step
        idx = np.arange(first, self._n, self.step) - n0
        if not self._kept_total:
            # steps and missing samples count from the first kept sample's stretch on: what
            # came before, while the filter settled, is not held against the window
            lo = self._first_kept - self.step + 1 - n0
            if lo >= x.size:
                self._last_raw = float(x[-1])
                self._last_missing = bool(missing[-1])
                return none
            if lo > 0:
                self._last_raw = float(x[lo - 1])
                self._last_missing = bool(missing[lo - 1])
                x, missing, idx, y = x[lo:], missing[lo:], idx - lo, y[:, lo:]
                skip += lo
        steps = self._largest_steps(x, missing, idx)
        gone = self._missing_counts(missing, idx)
        if idx.size:
            self._kept = np.concatenate((self._kept, y[0, idx]))
            self._raw = np.concatenate((self._raw, x[idx]))
            self._missing = np.concatenate((self._missing, gone))
            self._steps = np.concatenate((self._steps, steps))
            self._kept_total += idx.size
        return idx + skip

    def _missing_counts(self, missing: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """How many raw samples were missing up to each kept sample ``idx`` since the kept one
        before (carried across chunks)."""
        m = missing.astype(np.int64)
        if not idx.size:
            self._missing_n += int(m.sum())
            return np.empty(0, dtype=np.int64)
        # (up to the last kept sample only: the rest is carried to the next one)
        out = np.add.reduceat(m[: idx[-1] + 1], np.concatenate(([0], idx[:-1] + 1)))
        out[0] += self._missing_n
        self._missing_n = int(m[idx[-1] + 1 :].sum())
        return out

    def _largest_steps(self, x: np.ndarray, missing: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """The largest step between consecutive raw samples up to each kept sample ``x[idx]``
        since the kept one before (carried across chunks). The step back from a held value
        to the first sample after missing ones is not counted: missing samples have their own
        limit (a short dropout is no knock)."""
        prev = self._last_raw if math.isfinite(self._last_raw) else x[0]
        d = np.abs(np.diff(x, prepend=prev))
        after_missing = np.concatenate(([self._last_missing], missing[:-1])) & ~missing
        d[after_missing] = 0.0
        self._last_raw = float(x[-1])
        self._last_missing = bool(missing[-1])
        if not idx.size:
            self._step_max = max(self._step_max, float(d.max()))
            return np.empty(0)
        out = np.maximum.reduceat(d[: idx[-1] + 1], np.concatenate(([0], idx[:-1] + 1)))
        out[0] = max(out[0], self._step_max)
        tail = d[idx[-1] + 1 :]
        self._step_max = float(tail.max()) if tail.size else 0.0
        return out

    def _held(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``x`` with missing samples replaced by the last good one before them (NaN before
        the first good sample), and the mask of the missing ones."""
        missing = ~np.isfinite(x)
        if not missing.any():
            self._last_good = float(x[-1])
            return x, missing
        out = x.copy()
        good = np.flatnonzero(~missing)
        # index of the last good sample at or before each one (-1: none in this chunk)
        last = np.maximum.accumulate(np.where(missing, -1, np.arange(x.size)))
        before = last[missing]
        out[missing] = np.where(before >= 0, x[np.maximum(before, 0)], self._last_good)
        if good.size:
            self._last_good = float(x[good[-1]])
        return out, missing

    def _trim(self) -> None:
        """Keep the last window of kept samples (all a later rate can look back on)."""
        extra = self._kept.size - self.window
        if extra > 0:
            self._kept = self._kept[extra:]
            self._raw = self._raw[extra:]
            self._missing = self._missing[extra:]
            self._steps = self._steps[extra:]

    def _rate(self, kept_at: int) -> float:
        """The rate over the window of kept samples that ends with the ``kept_at``-th."""
        if kept_at < self.min_span:
            return math.nan
        end = kept_at - (self._kept_total - self._kept.size)  # (index in the buffers)
        begin = max(0, end - self.window)
        y = self._kept[begin:end]
        if self._missing[begin:end].sum() > MAX_MISSING * y.size * self.step:
            return math.nan
        raw = self._raw[begin:end]
        spread = _spread(raw)
        if spread <= FLAT_RELATIVE * max(abs(float(raw[-1])), 1e-300):
            return math.nan  # flat: no breathing in the window (a sensor off, railed)
        steps = self._steps[begin:end]
        typical = float(np.partition(steps, steps.size // 2)[steps.size // 2])
        if steps.max() > max(MAX_STEP_SHARE * spread, NOISE_STEP_FACTOR * typical):
            return math.nan  # a jump: the filtered window rings with it
        return resp_rate(y, self.kept_fs)
