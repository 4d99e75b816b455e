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

Polarity
--------
The detector needs the pulse the way it is drawn, more blood = larger value, but devices differ:
raw photodiode counts of a reflectance sensor (MAX3010x, the Muse and EmotiBit optics as
BrainFlow passes them on) and a phone camera's brightness *fall* with each pulse, because blood
absorbs light. The detector therefore decides the orientation itself, from the shape of the pulse
(physiology, not a device setting): the systolic upstroke is **steeper and shorter** than the
diastolic decay. On the last 8 s of signal (zero-phase 0.5-8 Hz band-pass of the samples already
received, so it is causal) the slope ``s`` of the pulse must show both:

* steeper: skewness of ``s`` at least 0.3 (rare large positive slopes, many small negative ones);
* shorter: the signal rises during at most 45 % of the time (``P(s<0) - P(s>0) >= 0.05``).

Both negative means the signal is upside down; anything else (flat, noise, motion, the two
criteria disagreeing) is *undecided*. A jolt much larger than the pulses (the sensor put on a
few seconds after the stream started, a dropout, a knock) would outweigh them, so only the
signal after the last one is judged: cut into 1-s blocks, a block spreading over more than 4
times the median spread of the blocks, or a jump of the level (median) between two blocks as
large, is a disturbance, and the verdict is taken on the blocks after it, if at least 4 s of
them are left (undecided otherwise). Missing (NaN) samples before the first finite one are
left out (the stream starts there: the orientation is judged, the samples held and the pulses
learnt from it, positions still counted from the first sample pushed); later ones are held.

The shape is first judged at 4 s and then every second, for as long as the stream runs:

* **deciding**: two clear verdicts in a row that agree decide the orientation (undecided
  verdicts in between are skipped); until then the samples are held back (nothing is confirmed
  anyway during the first 2 s, the learning period), then the whole signal is analysed in the
  decided orientation, so a recording and its negation give the same pulses. If it is still
  undecided after 10 s, the detector starts on the signal as given (provisionally) and decides
  later by the same rule, negating the signal from then on if it is upside down.
* **correcting**: 8 clear verdicts in a row against the decided orientation (undecided ones
  skipped, an agreeing one starts the count again) correct it: the signal is negated from that
  point. On every PPG at hand, read the right way up, the longest run of wrong verdicts was 2;
  a correction needs 8 s of pulses that look upside down, so the orientation cannot swing back
  and forth faster than that.

After a negation the detector relearns its levels (2 s, as at the start);
:meth:`PpgPeakStream.reset` forgets the orientation. The rule depends only on the samples, not
on how they were cut into chunks. Measured on every PPG at hand (finger MAX3010x ir/red counts,
smartphone-camera red, NeuroKit's finger PPG at 100/64/25 Hz, the simulator's PPG), started at
every 2 s of each record and fed 30 s: decided after 5 s (95 % within 7 s), 1 wrong orientation
in 2257 starts (a camera recording starting in motion, corrected 28 s later), 11 undecided (a
camera recording with few clear pulses); the same, mirrored, for the negated records.

References
----------
Peralta E, Lazaro J, Bailon R, Marozas V, Gil E. Optimal fiducial points for pulse rate
variability analysis from forehead and finger photoplethysmographic signals. Physiol Meas
2019;40:025007.
"""

from __future__ import annotations

import bisect
import math
from functools import cache

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.ndimage import uniform_filter1d
from scipy.signal import find_peaks, sosfiltfilt
from scipy.stats import rankdata

from biotrainer.dsp._peaks import (
    _FLOOR_REL,
    _AdaptivePeakStream,
    as_signal,
    hold_nan,
    missing_lead,
)
from biotrainer.dsp.filters import StreamingFilter, butter_sos, check_fs

__all__ = ["PpgPeakStream", "ppg_peaks", "pulse_polarity"]

_BAND_HZ = (0.5, 8.0)
_GROUP_S = 0.15
_REFRACTORY_S = 0.30
_THRESHOLD_FRACTION = 0.4
_SPLINE_HALF = 4  # samples each side of the slope maximum used for the spline
_SPLINE_STEPS = 64  # evaluation points per sample when locating the slope maximum

# orientation of the pulse (see the module docstring "Polarity")
_POLARITY_FIRST_S = 4.0  # the pulse shape is first judged after 4 s of signal ...
_POLARITY_STEP_S = 1.0  # ... and again every second for as long as the stream runs
_POLARITY_WINDOW_S = 8.0  # on the last 8 s
_POLARITY_WAIT_S = 10.0  # samples are held back at most this long, then used as given
_POLARITY_AGREE = 2  # clear verdicts in a row that decide the orientation ...
_POLARITY_OVERRULE = 8  # ... and that correct it once decided
_DISTURBANCE = 4.0  # a 1-s block spreading (or a level jumping) 4x the median spread of blocks
_STEEPER_SKEW = 0.3  # skewness of the slope: the upstroke is steeper than the decay
_SHORTER_GAP = 0.05  # P(falling) - P(rising): the upstroke is shorter than the decay

# levels are learnt only from pulse-like signal (see _pulse_likeness)
_PULSE_LIKE_S = 10.0  # judged on the 10 s up to the learning period's end ...
_PULSE_LIKE_MIN_S = 6.0  # ... or on those after a disturbance, if at least 6 s
# at the stream's start the signal so far is judged at 6 s and then every second until 10 s;
# deciding waits for the first judgement that passes (at most 10 s)
_PULSE_LIKE_WAIT_S = 10.0
_PULSE_LIKE_MIN = 0.5  # on 10 s; on a shorter stretch of L s: 0.5 sqrt(10 / L)
_PULSE_LAGS_S = (0.3, 2.0)  # a pulse repeats after 0.3-2 s (200-30 bpm)
_PULSE_ENVELOPE_S = 0.2  # the slope's magnitude is smoothed over 0.2 s (beat-to-beat jitter)
_PULSE_LIKE_HZ = 50.0  # judged on the band-passed pulse taken down to 50-100 Hz (cost)
# ... or pulse-like by shape, whatever the rhythm (atrial fibrillation, ectopic beats): the
# upstrokes (slope maxima at least 0.3 s apart, at least half the 80th percentile of them) are
# alike: their slope from 0.15 s before to 0.35 s after correlates at least 0.85 in the median
# with the median of them (on a shorter stretch of L s: 1 - 0.15 L / 10; noise reached 0.90
# on 6 s, 0.81 on 8 s, 0.79 on 10 s); and there are at least 6 in 10 s (36 a minute: knocks on
# a sensor lying on a table ring alike, but come more rarely)
_SHAPE_SPAN_S = (0.15, 0.35)
_SHAPE_SEPARATION_S = 0.3
_SHAPE_TALL = (0.5, 80.0)  # (fraction, percentile) of the slope maxima kept
_SHAPE_LIKE_MIN = 0.85
_SHAPE_MIN_RATE_HZ = 0.6


def pulse_polarity(ppg: np.ndarray, fs: float) -> int:
    """Orientation of a stretch of PPG judged from the shape of its pulses.

    Parameters
    ----------
    ppg : array_like
        A few seconds of PPG (8 s is what :class:`PpgPeakStream` uses); finite samples.
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    int
        +1 when the systolic upstroke rises (more blood = larger value: steeper *and* shorter
        than the decay), -1 when it falls (the signal is upside down), 0 when the shape does not
        tell (flat, noise, motion, or the two criteria disagree). Odd: the negated stretch gives
        the opposite answer. A stretch holding a disturbance much larger than the pulses (a
        1-s block spreading over, or a level jump between 1-s blocks of, more than 4 times the
        median spread of its 1-s blocks) is judged only after it, and not at all (0) when less
        than 4 s are left.
    """
    x = np.asarray(ppg, dtype=np.float64)
    start = _settled_start(x, fs)
    if start:
        x = x[start:]
        if x.size < _POLARITY_FIRST_S * fs:
            return 0
    if x.size < 16:
        return 0
    scale = float(np.max(np.abs(x)))
    band = sosfiltfilt(_band_sos(float(fs)), x - x.mean())
    s = np.diff(band)
    m2 = float(np.mean(s * s))
    if not np.sqrt(m2) > _FLOOR_REL * scale:
        return 0  # flat (or rounding noise on an offset): no shape
    skew = float(np.mean(s**3)) / m2**1.5
    shorter = float(np.mean(s < 0) - np.mean(s > 0))
    if skew >= _STEEPER_SKEW and shorter >= _SHORTER_GAP:
        return 1
    if skew <= -_STEEPER_SKEW and shorter <= -_SHORTER_GAP:
        return -1
    return 0


def _settled_start(ppg: np.ndarray, fs: float) -> int:
    """Where a stretch of PPG is free of disturbances much larger than its pulses.

    The stretch is cut into 1-s blocks counted back from its end (the first one may be
    shorter). A block whose spread (max - min) exceeds 4 times the median spread of the blocks
    holds a disturbance (a step, a spike); so does the boundary between two blocks whose levels
    (medians) differ by as much. Pulses vary far less from second to second (at most 1.8 times
    the median on clean finger and simulated PPG).

    Parameters
    ----------
    ppg : array_like
        PPG samples, finite.
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    int
        Index of the first sample after the last disturbance (the start of the next block);
        0 when there is none.
    """
    x = np.asarray(ppg, dtype=np.float64)
    block = max(1, int(round(fs)))
    if x.size < 2 * block:
        return 0
    head = x.size % block  # samples of a shorter first block (none if 0)
    whole = x[head:].reshape(-1, block)
    spread, level = np.ptp(whole, axis=1), np.median(whole, axis=1)
    bounds = head + block * np.arange(whole.shape[0] + 1)  # block i: bounds[i] to bounds[i+1]
    if head:
        spread = np.concatenate([[np.ptp(x[:head])], spread])
        level = np.concatenate([[np.median(x[:head])], level])
        bounds = np.concatenate([[0], bounds])
    limit = _DISTURBANCE * float(np.median(spread))
    wide = np.flatnonzero(spread > limit)  # blocks holding a disturbance
    jumps = np.flatnonzero(np.abs(np.diff(level)) > limit) + 1  # blocks starting with one
    after_wide = int(bounds[wide[-1] + 1]) if wide.size else 0
    after_jump = int(bounds[jumps[-1]]) if jumps.size else 0
    return max(after_wide, after_jump)


def _pulse_likeness(bp: np.ndarray, fs: float) -> float:
    """How much a stretch of band-passed PPG looks like pulses rather than noise.

    Two properties of a pulse wave that noise of any colour lacks, added:

    * periodicity: the largest, over lags of 0.3-2 s, of the mean correlation of the pulse, its
      slope and its slope's magnitude (smoothed over 0.2 s) with themselves that lag later. The
      correlations are of ranks, so a knock or a step on the trace weighs as one sample, not
      as its size (with values, two knocks 0.3-2 s apart looked like a pulse repeating);
    * asymmetry: ``|P(slope < 0) - P(slope > 0)|``, the upstroke being shorter than the decay
      (either orientation).

    Parameters
    ----------
    bp : array_like
        The 0.5-8 Hz band-passed PPG (any orientation), a few seconds of it.
    fs : float
        Its sampling rate in Hz; above 100 Hz it is judged on every k-th sample (50-100 Hz).

    Returns
    -------
    float
        0 for a flat stretch; on 10 s, at most 0.41 for noise alone and 0.65-1.1 (median 1.0)
        for the resting finger PPG at hand (see :data:`_PULSE_LIKE_MIN`).
    """
    step = max(1, int(fs // _PULSE_LIKE_HZ))
    x = np.asarray(bp, dtype=np.float64)
    x = x[(x.size - 1) % step :: step]  # (ending on the last sample)
    rate = fs / step
    slope = np.diff(x)
    lags = np.arange(
        int(round(_PULSE_LAGS_S[0] * rate)),
        min(int(round(_PULSE_LAGS_S[1] * rate)), slope.size - 1) + 1,
    )
    if lags.size == 0:
        return 0.0
    envelope = uniform_filter1d(np.abs(slope), max(1, int(round(_PULSE_ENVELOPE_S * rate))))
    r = sum(_rank_autocorrelation(y, lags) for y in (x[1:], slope, envelope)) / 3.0
    asymmetry = abs(float(np.mean(slope < 0) - np.mean(slope > 0)))
    return float(r.max()) + asymmetry


def _pulse_shape_consistency(bp: np.ndarray, fs: float) -> float:
    """How alike the upstrokes of a stretch of band-passed PPG are, whatever their rhythm.

    The upstrokes are the slope maxima at least 0.3 s apart that reach half the 80th percentile
    of them; each is cut 0.15 s before to 0.35 s after (the slope, its mean removed) and
    correlated with the median of them all.

    Parameters
    ----------
    bp : array_like
        The 0.5-8 Hz band-passed PPG, oriented (the pulse rising), a few seconds of it.
    fs : float
        Its sampling rate in Hz; above 100 Hz it is judged on every k-th sample (50-100 Hz).

    Returns
    -------
    float
        The median correlation; 0 with fewer than 0.6 upstrokes a second (and at least 4).
        On 10 s of noise of any colour at most 0.79 (25 Hz; 0.72 at 50-250 Hz); a median of
        0.91-1.0 for the real PPG at hand, 0.95 and more for the resting finger's beats
        re-spaced at random 0.4-1.2 s (see :data:`_SHAPE_LIKE_MIN`).
    """
    step = max(1, int(fs // _PULSE_LIKE_HZ))
    x = np.asarray(bp, dtype=np.float64)
    slope = np.diff(x[(x.size - 1) % step :: step])
    rate = fs / step
    before, after = (int(round(t * rate)) for t in _SHAPE_SPAN_S)
    tops, _ = find_peaks(slope, distance=max(1, int(round(_SHAPE_SEPARATION_S * rate))))
    tops = tops[(tops >= before) & (tops < slope.size - after)]
    if tops.size:
        fraction, percentile = _SHAPE_TALL
        tops = tops[slope[tops] >= fraction * np.percentile(slope[tops], percentile)]
    if tops.size < max(4, _SHAPE_MIN_RATE_HZ * slope.size / rate):
        return 0.0
    cuts = np.stack([slope[t - before : t + after] for t in tops])
    cuts -= cuts.mean(axis=1, keepdims=True)
    template = np.median(cuts, axis=0)
    template -= template.mean()
    norms = np.linalg.norm(cuts, axis=1) * np.linalg.norm(template)
    r = np.divide(cuts @ template, norms, out=np.zeros(tops.size), where=norms > 0)
    return float(np.median(r))


def _rank_autocorrelation(x: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """Correlation of the ranks of ``x[:-k]`` with those of ``x[k:]`` for each lag ``k`` (0 where
    either part is constant)."""
    r = rankdata(x)
    r -= r.mean()
    n = r.size
    spectrum = np.fft.rfft(r, 2 * n)
    products = np.fft.irfft(spectrum * np.conj(spectrum), 2 * n)[lags]
    energy = np.concatenate([[0.0], np.cumsum(r * r)])
    spread = np.sqrt(energy[n - lags] * (energy[n] - energy[lags]))
    return np.divide(products, spread, out=np.zeros_like(products), where=spread > 0)


@cache
def _band_sos(fs: float) -> np.ndarray:
    """The 0.5-8 Hz band-pass of :func:`pulse_polarity` (designed once per rate)."""
    return butter_sos(fs, *_BAND_HZ, order=2)


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
    float64 positions, which is what beat-to-beat intervals should be computed from.

    Either orientation of the signal may be pushed (raw photodiode counts, a camera's
    brightness, or a PPG already drawn with more blood = larger value): the stream decides it
    from the shape of the pulse (see "Polarity" in the module docstring and
    :func:`pulse_polarity`) and :attr:`polarity` tells what it decided. While it is undecided
    (at least the first 5 s, at most the first 10 s) the samples are held back, so the first
    pulses come out when the orientation is known. The shape is judged again every second for
    as long as the stream runs, and a decision that the pulses keep contradicting is corrected.
    """

    _what = "PPG"

    def __init__(self, fs: float) -> None:
        fs = check_fs(fs, 10.0, 10000.0, "PPG")
        self._bandpass = StreamingFilter(_band_sos(float(fs)))
        self._first_check = int(round(_POLARITY_FIRST_S * fs))
        self._check_step = max(1, int(round(_POLARITY_STEP_S * fs)))
        self._window = int(round(_POLARITY_WINDOW_S * fs))
        self._max_hold = int(round(_POLARITY_WAIT_S * fs))
        self._judged = int(round(_PULSE_LIKE_S * fs))
        self._judged_min = int(round(_PULSE_LIKE_MIN_S * fs))
        self._judge_wait = int(round(_PULSE_LIKE_WAIT_S * fs))
        self._judge_step = max(1, int(round(_POLARITY_STEP_S * fs)))
        super().__init__(
            fs,
            group_s=_GROUP_S,
            refractory_s=_REFRACTORY_S,
            threshold_fraction=_THRESHOLD_FRACTION,
            # the spline needs _SPLINE_HALF samples after the candidate
            lookahead=_SPLINE_HALF + 1,
            # and the learning judgement the 10 s before its period's end
            # (ending up to a second before it)
            history=max(_SPLINE_HALF, self._judged + self._judge_step),
        )

    def reset(self) -> None:
        """Forget everything; the next chunk starts a new stream at sample 0."""
        super().reset()
        self._bandpass.reset()
        self._sign = 1.0  # applied to the band-passed signal
        self._polarity = 0  # decided orientation; 0 while undecided
        self._holding = True  # samples held back until the orientation is decided
        self._held: list[np.ndarray] = []
        self._seen = 0  # samples pushed so far (held ones included)
        self._next_check = self._first_check
        self._tail = np.empty(0)  # the last _window samples (non-finite ones held), to judge
        self._tail_last = np.nan  # the last finite sample; NaN until the first one came
        self._streak = 0  # clear verdicts in a row equal to _streak_sign (undecided skipped)
        self._streak_sign = 0
        self._last_pulse = -1  # the last pulse found (absolute sample), kept when relearning
        self._start_verdicts: dict[int, bool] = {}  # end sample -> judged pulse-like (first 10 s)
        self._verdict_base = 0  # the start of the learning those verdicts are for
        self._last_verdict: tuple[int, int, bool] = (-1, -1, False)  # (end, last pulse, verdict)
        self._last_settled: tuple[int, int, int] = (-1, -1, 0)  # (end, last pulse, settled from)

    @property
    def polarity(self) -> int:
        """+1: the signal is used as given; -1: it is negated (it is upside down); 0: not
        decided yet (samples held back, or used as given provisionally after 10 s). May change
        sign later once, or again after as long, if the pulses keep contradicting it."""
        return self._polarity

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
        if self._sign < 0:
            bp = -bp
        prev = self._bp[-1] if self._bp.size else bp[0]
        return bp, np.diff(bp, prepend=prev)

    def _accept(self, m: int, last: int | None) -> float | None:
        self._last_pulse = m  # (every candidate accepted here is a pulse)
        return self._refine(m)

    def _learning_window(self, head: int) -> tuple[int, int]:
        """The core's learning period, except during the first 10 s of the stream or of a
        relearning: whether the signal is pulse-like is judged on the signal so far (shorter
        stretches of noise look periodic more often, so at least 6 s and a stricter
        threshold), 6 s after it began and then every second; the period is the 2 s that end
        at the first judgement that passes, at the latest 10 s after it began. Until then
        nothing is decided, so the first pulses are not lost. After pulses were lost, it
        begins where the signal settled after the disturbance that ended them (a finger put
        back), and candidates before that are judged on what they follow (not pulse-like):
        the pulses that come back are found from their first one, where judging from the
        relearning's start (in the disturbance) waited 10 s and lost those."""
        lo, hi = super()._learning_window(head)
        base = self._learn_from
        if self._last_pulse >= 0:
            settled = self._settled_from(head)
            if head < settled:
                return lo, hi
            base = max(base, settled)
        if base != self._verdict_base:
            self._verdict_base, self._start_verdicts = base, {}
        if hi >= base + self._judge_wait:
            return lo, hi
        end = base + self._judged_min
        while end < base + self._judge_wait:
            if end >= hi:
                if end >= self._n:  # (the core waits for this sample)
                    break
                if end not in self._start_verdicts:
                    self._start_verdicts[end] = self._pulse_like(end)
                if self._start_verdicts[end]:
                    break
            end += self._judge_step
        end = min(end, base + self._judge_wait)
        return end - self._learn, end

    def _settled_from(self, head: int) -> int:
        """The absolute sample where the band-passed signal up to ``head`` settled after the
        last disturbance since the last pulse (within the 10 s before ``head``; see
        :func:`_settled_start`), judged once per second and last pulse."""
        end = head - head % self._judge_step
        if self._last_settled[:2] != (end, self._last_pulse):
            start = max(0, end - self._judged, self._last_pulse + 1)
            bp = self._bp[max(0, start - self._off) : max(0, end - self._off + 1)]
            self._last_settled = (end, self._last_pulse, start + _settled_start(bp, self.fs))
        return self._last_settled[2]

    def _learnable_max(self, lo: int, hi: int) -> float:
        """The largest slope of the learning period, or inf (no candidate passes) when the
        signal up to its end is not pulse-like (see :meth:`_pulse_like`): noise alone (a
        sensor lying on the table, a stream begun before the finger is on) gives no pulses,
        where its largest wiggles were learnt as pulses and counted at ~2 a second."""
        verdict = self._start_verdicts.get(hi)
        if verdict is None:
            verdict = self._pulse_like_by_second(hi)
        if not verdict:
            return math.inf
        return float(self._feat[max(0, lo - self._off) : hi - self._off + 1].max())

    def _pulse_like_by_second(self, hi: int) -> bool:
        """:meth:`_pulse_like` up to the last whole second before ``hi`` (counted from the
        stream's start), judged once: during noise a learning period ends at every candidate,
        several a second, and judging costs ~1 ms."""
        end = hi - hi % self._judge_step
        if self._last_verdict[:2] != (end, self._last_pulse):
            self._last_verdict = (end, self._last_pulse, self._pulse_like(end))
        return self._last_verdict[2]

    def _pulse_like(self, hi: int) -> bool:
        """Whether the band-passed signal up to absolute sample ``hi`` is pulse-like: the 10 s
        before it (those after the last pulse or the last disturbance, if fewer; at least 6 s)
        reach :data:`_PULSE_LIKE_MIN` of :func:`_pulse_likeness`, scaled by ``sqrt(10 / L)``
        on a stretch of L s, or :data:`_SHAPE_LIKE_MIN` of :func:`_pulse_shape_consistency`
        (``1 - 0.15 L / 10``: pulses alike whatever their rhythm)."""
        start = max(0, hi - self._judged, self._last_pulse + 1)
        bp = self._bp[start - self._off : hi - self._off + 1]
        bp = bp[_settled_start(bp, self.fs) :]
        if bp.size < self._judged_min:
            return False
        needed = _PULSE_LIKE_MIN * math.sqrt(self._judged / bp.size)
        if _pulse_likeness(bp, self.fs) >= needed:
            return True
        alike = 1.0 - (1.0 - _SHAPE_LIKE_MIN) * bp.size / self._judged  # (0.91 on 6 s)
        return _pulse_shape_consistency(bp, self.fs) >= alike

    # -- orientation ---------------------------------------------------------------------------

    def _push_positions_split(self, chunk: np.ndarray, ends) -> list[np.ndarray]:
        x = as_signal(chunk, self._what)
        ends = [int(e) for e in ends]
        if not ends or ends[-1] != x.size:
            raise ValueError(f"the pieces must end at the chunk's end ({x.size}), got {ends}")
        out = [np.empty(0) for _ in ends]
        pos = 0
        while pos < x.size:
            if np.isnan(self._tail_last):  # no finite sample yet
                lead = missing_lead(x[pos:])
                if lead:
                    # left out by the core, as if the stream began after them; the orientation
                    # is judged and the samples held from the first finite one
                    super()._push_positions_split(x[pos : pos + lead], (lead,))
                    pos += lead
                    continue
            stop = min(x.size, pos + self._next_check - self._seen)  # up to the next judgement
            part = x[pos:stop]
            filled, self._tail_last = hold_nan(part, self._tail_last)
            self._tail = np.concatenate([self._tail, filled])[-self._window :]
            if self._holding:
                self._held.append(part)
            else:
                self._feed(part, pos, ends, out)
            self._seen += stop - pos
            pos = stop
            if self._seen == self._next_check:
                self._judge(pos, ends, out)
        return out

    def _feed(self, part: np.ndarray, pos: int, ends: list[int], out: list[np.ndarray]) -> None:
        """Push ``part`` (chunk samples from ``pos``) to the detector, adding the pulses to the
        pieces (ending at ``ends`` in the chunk) in which pushing them piece by piece would
        have confirmed them."""
        stop = pos + part.size
        local = [e - pos for e in ends if pos < e < stop] + [part.size]
        for end, found in zip(local, super()._push_positions_split(part, local), strict=True):
            _add(out, ends, pos + end, found)

    def _judge(self, pos: int, ends: list[int], out: list[np.ndarray]) -> None:
        """Judge the orientation on the last samples (chunk position ``pos``): decide it after
        _POLARITY_AGREE clear verdicts in a row, correct it after _POLARITY_OVERRULE against
        it; release the held samples once decided or after _POLARITY_WAIT_S."""
        verdict = pulse_polarity(self._tail, self.fs)
        self._next_check += self._check_step
        if verdict:
            same = verdict == self._streak_sign
            self._streak, self._streak_sign = (self._streak + 1 if same else 1), verdict
        needed = _POLARITY_OVERRULE if self._polarity else _POLARITY_AGREE
        new = 0
        if self._streak >= needed and self._streak_sign != self._polarity:
            new = self._streak_sign
        if self._holding:
            if new or self._seen >= self._max_hold:
                self._release(new, pos, ends, out)
        elif new:
            self._polarity = new
            if new != self._sign:
                self._flip()

    def _release(self, polarity: int, pos: int, ends: list[int], out: list[np.ndarray]) -> None:
        """Stop holding samples back: push the held ones in the orientation ``polarity`` (as
        given while 0), adding their pulses to the piece that holds chunk position ``pos``."""
        self._polarity, self._holding = polarity, False
        self._sign = -1.0 if polarity < 0 else 1.0
        held = np.concatenate(self._held)
        self._held = []
        _add(out, ends, pos, super()._push_positions_split(held, (held.size,))[0])

    def _flip(self) -> None:
        """Negate the signal from now on (it was used as given provisionally, or in the
        orientation decided before, and is upside down): the kept band-passed signal and slope
        are negated and the levels relearnt over the next 2 s, as at the start."""
        self._sign = -self._sign
        self._bp = -self._bp
        self._feat = -self._feat
        self._cands.clear()
        self._levels.clear()
        self._rr.clear()
        self._noise = 0.0
        self._max_seen = 0.0
        self._last = None
        self._learn_from = self._n

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


def _add(out: list[np.ndarray], ends: list[int], at: int, found: np.ndarray) -> None:
    """Append ``found`` to the output of the piece (ending at ``ends``) that holds sample
    count ``at``."""
    if found.size:
        j = bisect.bisect_left(ends, at)
        out[j] = np.concatenate([out[j], found])


def ppg_peaks(ppg: np.ndarray, fs: float, *, subsample: bool = False) -> np.ndarray:
    """Detect pulses (maximum-upslope fiducial) in a whole PPG recording.

    Exactly :class:`PpgPeakStream` fed the whole signal (see the module docstring).

    Parameters
    ----------
    ppg : array_like
        PPG samples in either orientation (raw optical counts or more blood = larger value;
        see "Polarity" in the module docstring).
    fs : float
        Sampling rate in Hz (10-10000).
    subsample : bool
        If True return float64 sub-sample positions (use these for intervals), else int64.

    Returns
    -------
    np.ndarray
        Pulse positions in samples from the start of ``ppg``; empty for a flat, all-NaN or
        too-short signal (under 5 s: the orientation is not decided before).
    """
    pos = PpgPeakStream(fs).push_positions(ppg)
    return pos if subsample else np.rint(pos).astype(np.int64)
