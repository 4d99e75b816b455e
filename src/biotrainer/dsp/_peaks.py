"""Private code shared by the ECG and PPG peak detectors (not public API).

:class:`_AdaptivePeakStream` is the adaptive-threshold core both detectors run on a causal
feature signal (candidate grouping, learning period, refractory period, median-of-levels
threshold, noise level, causal search-back, relearning after a silence); the functions are small
input and interpolation helpers.
"""

from __future__ import annotations

import bisect
import math

import numpy as np
from scipy.ndimage import maximum_filter1d

from biotrainer.dsp.filters import IMPOSSIBLE_ABS

_LEARN_S = 2.0  # learning period: at the start and after a long silence
_RELEARN_S = 3.0  # a silence this long makes the levels be relearnt
_KEEP_S = 3.0  # signal history kept in the buffers
_SEARCHBACK_RR = 1.66  # threshold halved after this many mean beat intervals without a beat
_N_LEVEL = 8  # level = median feature of the last 8 beats; mean interval of the last 8
_FLOOR_S = 2.0  # the numerical floor follows the largest |input| of the last 2 s
_FLOOR_REL = 1e-9  # features below this fraction of that |input| are rounding noise
_BACKGROUND_Q = 30  # percentile of the learning window's feature taken as its background


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
    """Replace non-finite (and impossibly large, :data:`~biotrainer.dsp.filters.IMPOSSIBLE_ABS`)
    samples by the previous good one (``last`` before the chunk).

    Returns the filled chunk and the new last finite value. Holding the last value keeps a
    dropout from poisoning the filter state with NaN; the held stretch is flat, so no peaks
    are found in it.
    """
    ok = np.abs(x) <= IMPOSSIBLE_ABS  # (False for NaN and inf too)
    if ok.all():
        return x, float(x[-1]) if x.size else last
    idx = np.where(ok, np.arange(x.size), -1)
    np.maximum.accumulate(idx, out=idx)
    filled = np.where(idx >= 0, x[np.maximum(idx, 0)], last)
    return filled, float(filled[-1]) if x.size else last


def missing_lead(x: np.ndarray) -> int:
    """Number of missing samples (non-finite or impossibly large) that ``x`` starts with."""
    good = np.flatnonzero(np.abs(x) <= IMPOSSIBLE_ABS)
    return int(good[0]) if good.size else x.size


def _median(values: list[float]) -> float:
    """Median of a short list (the same value as ``np.median``)."""
    v = sorted(values)
    k = len(v) // 2
    return float(v[k]) if len(v) % 2 else (v[k - 1] + v[k]) / 2.0


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


class _AdaptivePeakStream:
    """Adaptive-threshold beat detection on a causal feature signal, fed chunk by chunk.

    A subclass supplies the signal-specific parts through hooks:

    * :meth:`_features` turns a (NaN-free) chunk into the band-passed signal and the feature
      whose local maxima are the candidates (kept aligned in ``_bp`` and ``_feat``);
    * :meth:`_accept` gets a candidate that passed the threshold and returns its refined beat
      position, NaN for a beat whose position cannot be measured (a QRS cut by the start of
      the signal: it counts as a beat in the detector's state, so the later decisions do not
      change, but is not returned), or None to reject it as a non-beat (e.g. a T wave), which
      counts as noise;
    * :meth:`_drop_front` may be extended to trim extra per-sample buffers.

    The shared core: candidates within ``group_s`` of the first one of a group are decided
    together (the largest feature wins) once ``lookahead`` samples after the first have
    arrived, and nothing is decided during the first 2 s (learning period). A candidate is a
    beat when its feature exceeds ``noise + threshold_fraction (level - noise)``, with ``level``
    the median feature of the last 8 beats and ``noise`` an exponential mean of rejected
    candidates; until the first beat the threshold is ``threshold_fraction`` times the maximum
    feature of the learning period (none passes while :meth:`_learnable_max` does not judge the
    period beat-like: with ``_min_prominence``, while that maximum does not stand out of the
    period's feature as a beat does out of noise; a subclass may judge otherwise). The
    threshold is halved when no beat has been seen for 1.66
    mean beat intervals (causal search-back); a beat that only the halved threshold lets
    through replaces the largest of the 8 levels rather than the oldest, so levels raised by
    an artefact's ringing come down within a few beats. Candidates closer than
    ``refractory_s`` to the previous beat are ignored, and after 3 s without a beat the
    levels are relearnt from the preceding 2 s (the following 2 s with ``_relearn_ahead``,
    the first candidate after the silence left undecided); until a beat is found again, that
    2 s window
    slides on with the signal, so a burst of any size blinds the detector only until its
    filters have rung down. Features below ``1e-9`` times the largest ``|input|`` of the last
    2 s are floating-point noise (a flat but offset signal) and never candidates; the floor is
    per sample, so it forgets a burst 2 s after it ends and does not depend on how the signal
    was cut into chunks.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz, already checked by the subclass.
    group_s, refractory_s : float
        Candidate grouping window and refractory period in seconds.
    threshold_fraction : float
        Position of the threshold between the noise and the beat level.
    lookahead : int
        Samples after a group's first candidate needed to decide it (at least the grouping
        window is always waited for).
    history : int
        Samples before a candidate that :meth:`_accept`, or before a learning period's end that
        :meth:`_learnable_max`, reads (kept in the buffers).
    """

    _what = "signal"  # name used in error messages
    #: After a long silence, learn the levels over the 2 s that follow its end (True) rather
    #: than the 2 s before it. ECG needs this: learnt over a flat stretch (an electrode put
    #: back), the threshold is so low that a P wave is taken first, its QRS falls in the
    #: refractory period, and P and T waves are counted from then on, at twice the heart rate.
    #: While relearning so, candidates below the threshold are not taken as noise (they may be
    #: beats below a threshold a burst raised).
    _relearn_ahead = False
    #: Levels are learnt only from a learning window whose largest feature is at least this
    #: many times its background (the 30th percentile); None: from any window. Noise alone (an
    #: electrode off with the amplifier's noise on the trace) has no such peak, so without this
    #: rule its largest wiggles were learnt as beats and counted at ~3 a second for as long as
    #: the electrode was off, hiding the loss of the heart signal. With ``_relearn_ahead``,
    #: after a window without such a peak the learning period looks ahead (see
    #: :meth:`_learning_window`).
    _min_prominence: float | None = None

    def __init__(
        self,
        fs: float,
        *,
        group_s: float,
        refractory_s: float,
        threshold_fraction: float,
        lookahead: int = 0,
        history: int = 0,
    ) -> None:
        self.fs = fs
        self._group = max(1, int(round(group_s * self.fs)))
        self._refractory = int(round(refractory_s * self.fs))
        self._threshold_fraction = threshold_fraction
        self._wait = max(self._group, lookahead)
        self._lookahead = lookahead
        self._history = history
        self._learn = int(round(_LEARN_S * self.fs))
        self._floor_win = max(1, int(round(_FLOOR_S * self.fs)))
        self._relearn = int(round(_RELEARN_S * self.fs))
        # (what a subclass reads before a learning period's end must still be there when a
        # candidate is decided with no candidate waiting before it)
        self._keep = max(int(round(_KEEP_S * self.fs)), history + 2)
        self.reset()

    def reset(self) -> None:
        """Forget everything; the next chunk starts a new stream at sample 0."""
        self._n = 0  # samples pushed so far
        self._off = 0  # absolute index of _bp[0] / _feat[0]
        self._bp = np.empty(0)
        self._feat = np.empty(0)
        self._floor = np.empty(0)  # per sample: _FLOOR_REL * max |input| of the last _FLOOR_S
        self._abs_tail = np.zeros(self._floor_win - 1)  # |input| of the last samples pushed
        self._last_finite = 0.0
        self._started = False  # a good sample has come (see _skip_missing_start)
        self._skipped = 0  # missing samples before the first good one
        self._scan = 1  # next absolute index to test for a local maximum
        self._cands: list[int] = []  # absolute indices of undecided candidates
        self._max_seen = 0.0
        self._levels: list[float] = []
        self._noise = 0.0
        self._rr: list[int] = []
        self._last: int | None = None  # absolute index of the last beat's feature peak
        self._learn_from = 0
        self._noise_only = False  # a learning period since the last relearning had no beat

    # -- hooks -------------------------------------------------------------------------------

    def _features(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the band-passed chunk and its feature (same length as ``x``)."""
        raise NotImplementedError

    def _accept(self, m: int, last: int | None) -> float | None:
        """Beat position for the above-threshold candidate ``m``, NaN for a beat that cannot
        be placed (not returned), or None to reject it."""
        raise NotImplementedError

    def _drop_front(self, drop: int) -> None:
        """Drop the first ``drop`` samples of the per-sample buffers."""
        self._bp = self._bp[drop:]
        self._feat = self._feat[drop:]
        self._floor = self._floor[drop:]

    # -- core --------------------------------------------------------------------------------

    def _push_positions(self, chunk: np.ndarray) -> np.ndarray:
        x = as_signal(chunk, self._what)
        return self._push_positions_split(x, (x.size,))[0]

    def _push_positions_split(self, chunk: np.ndarray, ends) -> list[np.ndarray]:
        """Push ``chunk`` as if it came in consecutive pieces ending at ``ends`` (increasing
        sample counts into the chunk, the last one ``len(chunk)``); return the positions each
        piece confirms. Exactly the output of pushing the pieces one by one, at the cost of
        one push: the filters and the feature run once over the whole chunk and only the
        candidate decisions are taken at every piece's end."""
        x = as_signal(chunk, self._what)
        ends = [int(e) for e in ends]
        if not ends or ends[-1] != x.size:
            raise ValueError(f"the pieces must end at the chunk's end ({x.size}), got {ends}")
        if x.size == 0:
            return [np.empty(0) for _ in ends]
        if not self._started:
            x, ends = self._skip_missing_start(x, ends)
            if not x.size:
                return [np.empty(0) for _ in ends]
        out = self._push_present(x, ends)
        return [p + self._skipped for p in out] if self._skipped else out

    def _skip_missing_start(self, x: np.ndarray, ends: list[int]) -> tuple[np.ndarray, list[int]]:
        """Leave out the missing samples (non-finite or impossibly large) before the first good
        one: the detector starts there, as if the stream had begun with it (its filters at that
        sample's steady state, its learning period from it), and the positions it finds are
        shifted by the samples left out. Held at 0 instead, a missing start made a step at the
        first good sample (a false beat) or the levels were learnt on a flat stretch."""
        k = missing_lead(x)
        self._skipped += k
        if k == x.size:
            return x[:0], ends
        self._started = True
        self._last_finite = float(x[k])
        return x[k:], [max(0, e - k) for e in ends]

    def _push_present(self, x: np.ndarray, ends: list[int]) -> list[np.ndarray]:
        """:meth:`_push_positions_split` from the first good sample on (positions counted
        from it)."""
        x, self._last_finite = hold_nan(x, self._last_finite)
        bp, feat = self._features(x)
        self._bp = np.concatenate([self._bp, bp])
        self._feat = np.concatenate([self._feat, feat])
        self._floor = np.concatenate([self._floor, self._floor_of(x)])
        n0 = self._n
        base = max(0, self._scan - 1 - self._off)
        # local maxima of the whole chunk; index i is known once n >= i + 2 samples arrived
        found = local_maxima(self._feat[base:], self._scan - self._off - base) + base + self._off
        found_list = found.tolist()  # (bisect on a list: ~100 pieces a block)
        out: list[np.ndarray] = []
        j = 0
        for start, end in zip([0, *ends[:-1]], ends, strict=True):
            if end == start:
                out.append(np.empty(0))
                continue
            self._n = n0 + end
            k = bisect.bisect_right(found_list, self._n - 2, j)
            if k > j:
                self._cands.extend(found_list[j:k])
                j = k
            self._scan = max(self._scan, self._n - 1)
            decided = self._decide()
            out.append(np.array(decided, dtype=np.float64) if decided else np.empty(0))
            self._trim()
        return out

    def _floor_of(self, x: np.ndarray) -> np.ndarray:
        """Per-sample numerical floor: ``_FLOOR_REL`` times the running maximum of ``|x|`` over
        the last ``_FLOOR_S`` seconds (continued across chunks through ``_abs_tail``)."""
        w = self._floor_win
        a = np.concatenate([self._abs_tail, np.abs(x)])
        self._abs_tail = a[a.size - (w - 1) :] if w > 1 else a[:0]
        # origin shifts the window to end at each sample (trailing, causal maximum)
        return _FLOOR_REL * maximum_filter1d(a, w, origin=(w - 1) // 2)[w - 1 :]

    def _trim(self) -> None:
        # Keep what deciding the oldest waiting candidate reads: the history _accept looks
        # back over, and the learning window before it (the threshold before the first beat
        # and after a silence is set from it). Keeping less made the decisions depend on how
        # the signal was cut into chunks.
        cut = self._n - self._keep
        if self._cands:
            cut = min(cut, self._cands[0] - max(self._history, self._learn) - 2)
        drop = cut - self._off
        if drop > 0:
            self._drop_front(drop)
            self._off += drop

    def _decide(self) -> list[float]:
        out: list[float] = []
        cands = self._cands
        feat, off = self._feat, self._off
        while cands and self._n > self._learn_from + self._learn:
            head = cands[0]
            # Decided only when nothing later can change the decision, so that it does not
            # depend on how the signal was cut into chunks: the group (candidates up to _group
            # samples after the head) is complete once the sample after its last possible
            # member arrived (a local maximum needs its right neighbour), and its peak has
            # the _lookahead samples after it that _accept reads.
            if head + self._wait + 1 >= self._n:
                break
            k = 1
            while k < len(cands) and cands[k] <= head + self._group:
                k += 1
            group = cands[:k]
            m = max(group, key=lambda i: feat[i - off])
            if m + self._lookahead > self._n:
                break
            if not self._levels:
                # until the first beat the threshold is relative to the maximum of the learning
                # period; while no beat is found that window slides on, so an artefact leaves it
                # after 2 s
                lo, hi = self._learning_window(head)
                if hi >= self._n:
                    break
            del cands[:k]
            if not self._levels:
                self._max_seen = self._learnable_max(lo, hi)
                if math.isinf(self._max_seen):
                    self._noise_only = True  # (until the levels are relearnt)
            r = self._classify(m, float(feat[m - off]))
            if r is not None and not math.isnan(r):  # (NaN: a beat with no position)
                out.append(r)
        return out

    def _learning_window(self, head: int) -> tuple[int, int]:
        """First and last sample of the learning period for deciding ``head`` before a beat
        is known: the first 2 s, or the 2 s before a long silence ended (with
        ``_relearn_ahead``: after), sliding on with ``head``. With ``_relearn_ahead``, once a
        learning period had nothing beat-like (noise), the 2 s from ``head`` on until the next
        beat: the levels of a signal that comes back are learnt from what follows, not from
        the noise and the signal's first moments (the step of an electrode put back was taken
        for the first beat and the P waves then passed the threshold it set, at twice the
        heart rate)."""
        if self._relearn_ahead and self._noise_only:
            return head, head + self._learn
        hi = max(self._learn_from + self._learn, head + self._group)
        return max(self._learn_from, hi - self._learn), hi

    def _learnable_max(self, lo: int, hi: int) -> float:
        """The largest feature of the learning window (absolute samples ``lo`` to ``hi``), or
        inf (no candidate passes a fraction of it) when it does not stand
        :attr:`_min_prominence` times above the window's background. A subclass may judge the
        window otherwise; it may read up to ``history`` samples before ``hi``."""
        window = self._feat[max(0, lo - self._off) : hi - self._off + 1]
        top = float(window.max())
        if self._min_prominence is None:
            return top
        background = float(np.percentile(window, _BACKGROUND_Q))
        return top if top >= self._min_prominence * background else math.inf

    def _classify(self, m: int, v: float) -> float | None:
        if v <= self._floor[m - self._off] or v <= 0:
            return None
        last = self._last
        if last is not None and m - last > self._relearn:
            # a long silence: relearn the levels
            self._levels.clear()
            self._rr.clear()
            self._noise = 0.0
            self._last = None
            self._noise_only = False
            if self._relearn_ahead:
                # over the 2 s from here, as at the start (see _relearn_ahead); this candidate
                # is not decided
                self._learn_from = m
                return None
            # from the recent signal
            self._learn_from = m - self._learn
            self._max_seen = self._learnable_max(self._learn_from, m)
            last = None
        if last is not None and m - last < self._refractory:
            return None
        searchback = False
        if self._levels:
            level = _median(self._levels)  # <= 8 values: plain Python is 20x faster
            thr = self._noise + self._threshold_fraction * (level - self._noise)
            mean_rr = sum(self._rr) / len(self._rr) if self._rr else self.fs
            if last is not None and m - last > _SEARCHBACK_RR * mean_rr:
                thr *= 0.5
                searchback = v < 2.0 * thr  # a beat only the halved threshold lets through
        else:
            thr = self._threshold_fraction * self._max_seen
        pos = self._accept(m, last) if v >= thr else None
        if pos is None:
            if self._levels or not (self._relearn_ahead or math.isinf(self._max_seen)):
                self._noise = 0.875 * self._noise + 0.125 * v
            # (else still learning after a silence: a candidate below a threshold raised by
            # the burst that ended it may be a beat; as noise it would hide the next ones; or
            # learning from a window not judged beat-like: such a candidate is not judged, and
            # the ringing of a step taken as noise hid the pulses that followed)
            return None
        if last is not None:
            self._rr.append(m - last)
            if len(self._rr) > _N_LEVEL:
                self._rr.pop(0)
        if searchback and len(self._levels) == _N_LEVEL:
            # found only by search-back: the levels are too high (an artefact entered them, or
            # the beats got smaller), so this beat replaces the largest level, not the oldest
            self._levels[self._levels.index(max(self._levels))] = v
        else:
            self._levels.append(v)
            if len(self._levels) > _N_LEVEL:
                self._levels.pop(0)
        self._last = m
        return pos
