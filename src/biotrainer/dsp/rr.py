"""RR-interval series: from peak positions, and artefact detection/correction.

:func:`clean_rr` follows Lipponen & Tarvainen (2019): beats are classified from the successive
differences ``dRR`` and from the deviation ``mRR`` of each interval from its local median, each
normalised by a time-varying threshold (5.2 quartile deviations over the 91 surrounding beats).

References
----------
Lipponen JA, Tarvainen MP. A robust algorithm for heart rate variability time series artefact
correction using novel beat classification. J Med Eng Technol 2019;43(3):173-181.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from biotrainer.dsp.filters import check_fs

__all__ = [
    "RrCleaning",
    "clean_and_count_rr_windows",
    "clean_rr",
    "clean_rr_windows",
    "fill_rr_holes",
    "rr_from_peaks",
    "rr_irregular_fraction",
    "rr_too_irregular",
]

_ALPHA = 5.2  # threshold in quartile deviations (Lipponen & Tarvainen 2019)
_QD_BEATS = 91  # window of the quartile deviations
_MEDIAN_BEATS = 11  # window of the local median RR
_C1, _C2 = 0.13, 0.17  # ectopic decision boundary
_MRR_LIMIT = 3.0
_MIN_THRESHOLD = 0.05  # of the local median RR

#: Malik et al. (1989): an interval that differs from the one before it by more than this
#: fraction of it is not taken for a normal-to-normal interval.
IRREGULAR_STEP = 0.2
#: A window of cleaned intervals in which more than this fraction of the steps still break
#: that rule is too irregular for variability metrics (RMSSD, coherence, breathing rate).
MAX_IRREGULAR_FRACTION = 0.2


def rr_from_peaks(peaks: np.ndarray, fs: float) -> np.ndarray:
    """RR intervals in ms from (possibly fractional) peak positions in samples at ``fs`` Hz."""
    fs = check_fs(fs, 1e-3, 1e6, "peak")
    p = np.asarray(peaks, dtype=np.float64).ravel()
    return np.diff(p) * (1000.0 / fs)


def fill_rr_holes(rr_ms: np.ndarray, at, span_ms) -> np.ndarray:
    """Replace the intervals that span holes in the data by beats spread over the true time.

    Interval ``at[h]`` of ``rr_ms`` joins the last beat before a hole and the first after it;
    its true length is ``span_ms[h]`` (the hole included). It is replaced by ``k`` intervals,
    ``k`` the whole number of the neighbouring intervals' mean length closest to the span,
    running linearly from the interval before to the interval after and scaled to add up to
    the span exactly. So the time axis of the series stays true (a breathing rhythm goes on in
    phase across the hole) while the beats the hole took are made up as smoothly as the
    neighbours allow.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms.
    at : sequence of int
        Indices of the intervals that span holes (distinct).
    span_ms : sequence of float
        The true length of each of them, ms.

    Returns
    -------
    np.ndarray
        The series with each spanning interval replaced (as long or longer than the input).
    """
    rr = np.asarray(rr_ms, dtype=np.float64).ravel()
    at = np.asarray(at, dtype=np.intp).tolist()
    if len(set(at)) != len(at):
        raise ValueError(f"the intervals that span holes must be distinct, got {at}")
    parts = {}
    for i, total in zip(at, span_ms, strict=True):
        near = [rr[j] for j in (i - 1, i + 1) if 0 <= j < rr.size and j not in at]
        near = [v for v in near if math.isfinite(v) and v > 0]
        if not near:  # nothing to shape it by: the span as one interval
            parts[i] = np.array([float(total)])
            continue
        k = max(1, round(float(total) / float(np.mean(near))))
        ramp = np.linspace(near[0], near[-1], k + 2)[1:-1]
        parts[i] = ramp * (float(total) / float(ramp.sum()))
    pieces = []
    start = 0
    for i in sorted(parts):
        pieces += [rr[start:i], parts[i]]
        start = i + 1
    pieces.append(rr[start:])
    return np.concatenate(pieces)


@dataclass(frozen=True)
class RrCleaning:
    """Result of :func:`clean_rr`.

    Attributes
    ----------
    rr_ms : np.ndarray
        Corrected RR intervals (ms): ectopic/long/short intervals replaced by interpolation, a
        missed beat's interval split in two, an extra beat's two intervals merged, invalid
        entries (non-finite or <= 0) dropped. Its length may differ from the input's.
    ectopic, missed, extra, long, short, invalid : np.ndarray
        Boolean flags, one per *input* interval.
    counted_ms : np.ndarray
        The intervals with the beat count corrected only: a missed beat's interval split, an
        extra beat's two merged, invalid entries dropped, and nothing interpolated, so they
        add up to the time the valid input spans. Heart rate counts beats over time with them
        (:func:`biotrainer.dsp.hrv.heart_rate`): an ectopic beat is a beat, and interpolating
        around it changes that time (in bigeminy, nearly every interval would be replaced).
    """

    rr_ms: np.ndarray
    ectopic: np.ndarray
    missed: np.ndarray
    extra: np.ndarray
    long: np.ndarray
    short: np.ndarray
    invalid: np.ndarray
    counted_ms: np.ndarray

    @property
    def flagged(self) -> np.ndarray:
        """Boolean per input interval: any flag set."""
        return self.ectopic | self.missed | self.extra | self.long | self.short | self.invalid

    @property
    def n_flagged(self) -> int:
        """Number of input intervals with any flag."""
        return int(self.flagged.sum())


#: Rows longer than this (intervals) get their order statistics from
#: :func:`scipy.ndimage.rank_filter` row by row instead of one sort of every window.
_SORT_MAX_N = 256


def _rank_filter(x: np.ndarray, size: int, ranks: tuple[int, ...]) -> list[np.ndarray]:
    """Running order statistics of every row of ``x`` ``(rows, n)``: for each rank ``r`` the
    ``r``-th smallest of the ``size`` centred samples, mirrored at the ends (``mode="reflect"``,
    ``size // 2 <= n - 1``).

    Exactly :func:`scipy.ndimage.rank_filter` (order statistics are exact, so both ways give
    the same values): short rows (the live case, a window of ~100 beats re-cleaned on every
    beat) sort all windows at once, which avoids its per-call overhead; long ones use it.
    """
    n = x.shape[1]
    h = size // 2
    if n > _SORT_MAX_N:
        return [
            np.stack([ndimage.rank_filter(row, r, size=size, mode="reflect") for row in x])
            for r in ranks
        ]
    if h == 0:
        return [x.copy() for _ in ranks]
    padded = np.concatenate((x[:, h - 1 :: -1], x, x[:, : -h - 1 : -1]), axis=1)
    w = padded[:, _window_index(n, size)]  # (rows, n, size), a copy sorted in place
    w.sort(axis=-1)
    return [w[:, :, r] for r in ranks]


@functools.lru_cache(maxsize=64)
def _window_index(n: int, size: int) -> np.ndarray:
    """Indices of the ``n`` windows of ``size`` samples in a series padded by ``size // 2``."""
    idx = np.arange(n)[:, None] + np.arange(size)[None, :]
    idx.setflags(write=False)
    return idx


def _percentile_ranks(size: int) -> tuple[int, int]:
    """Ranks of the 25th and 75th percentile in a window of ``size`` (scipy.ndimage's rule)."""
    return int(float(size) * 25.0 / 100.0), int(float(size) * 75.0 / 100.0)


@dataclass(frozen=True)
class _Flags:
    """Beat classes of ``(rows, n)`` valid RR series (see :func:`clean_rr`)."""

    ectopic: np.ndarray
    missed: np.ndarray
    extra: np.ndarray
    merged: np.ndarray
    long: np.ndarray
    short: np.ndarray

    @property
    def any(self) -> np.ndarray:
        """Per row: some interval is corrected."""
        return (self.ectopic | self.missed | self.extra | self.long | self.short).any(axis=1)


def _classify(rr: np.ndarray) -> _Flags:
    """Classify every interval of every row of ``rr`` ``(rows, n)`` (valid intervals, n >= 4).

    Element-wise operations and exact order statistics only, so each row's flags are those of
    the row classified alone.
    """
    n = rr.shape[1]
    drr = np.diff(rr, axis=1, prepend=rr[:, :1])
    m_size = min(_MEDIAN_BEATS, 2 * n - 1) | 1
    (med,) = _rank_filter(rr, m_size, (m_size // 2,))
    mrr = rr - med
    mrr[mrr < 0] *= 2.0
    q_size = min(_QD_BEATS, 2 * n - 1) | 1
    q1, q3 = _rank_filter(np.concatenate((np.abs(drr), np.abs(mrr))), q_size,
                          _percentile_ranks(q_size))  # fmt: skip
    qd = (q3 - q1) / 2.0
    rows = rr.shape[0]
    th1 = _ALPHA * qd[:rows]
    th2 = _ALPHA * qd[rows:]
    # floor: jumps below 5 % of the local median RR are never artefacts (quantised or very
    # regular series would otherwise get thresholds of a few ms)
    floor = _MIN_THRESHOLD * med
    th1 = np.maximum(th1, floor)
    th2 = np.maximum(th2, floor)
    drrs = drr / th1
    mrrs = mrr / th2

    zero = np.zeros((rows, 1))
    pad = np.concatenate([zero, drrs, zero, zero], axis=1)  # pad[:, j+1] == drrs[:, j]
    prev, nxt, nxt2 = pad[:, :-3], pad[:, 2:-1], pad[:, 3:]
    # S12: the same-signed extreme of the neighbouring jumps (both reverse around an ectopic
    # beat's compensatory interval); S22: the opposite-signed extreme of the next two jumps
    s12 = np.where(drrs > 0, np.maximum(prev, nxt), np.minimum(prev, nxt))
    s22 = np.where(drrs >= 0, np.minimum(nxt, nxt2), np.maximum(nxt, nxt2))
    ectopic = ((drrs > 1) & (s12 < -_C1 * drrs - _C2)) | ((drrs < -1) & (s12 > -_C1 * drrs + _C2))
    longshort = ((drrs > 1) & (s22 < -1)) | ((drrs < -1) & (s22 > 1)) | (np.abs(mrrs) > _MRR_LIMIT)
    longshort &= ~ectopic
    none = np.zeros(rr.shape, dtype=bool)
    if not longshort.any():
        return _Flags(ectopic, none, none, none, none, none)

    nxt_rr = np.concatenate([rr[:, 1:], np.full((rows, 1), np.nan)], axis=1)
    missed = longshort & (np.abs(rr / 2 - med) < th2)
    extra = longshort & ~missed & (np.abs(rr + nxt_rr - med) < th2)
    extra[:, -1] = False
    # an "extra" merges j with j+1, so j+1 must not be merged or split again
    for i, j in zip(*np.nonzero(extra[:, 1:] & extra[:, :-1]), strict=True):
        if extra[i, j]:  # (earlier pairs of a run already cleared j)
            extra[i, j + 1] = False
    merged = np.concatenate([none[:, :1], extra[:, :-1]], axis=1)  # second half of an extra pair
    rest = longshort & ~missed & ~extra & ~merged
    ectopic &= ~merged
    long_ = rest & (rr > med)
    short = rest & ~long_
    return _Flags(ectopic, missed, extra, merged, long_, short)


def _corrected(rr: np.ndarray, f: _Flags, i: int, interpolate: bool = True) -> np.ndarray:
    """Row ``i`` of ``rr`` corrected: ectopic/long/short interpolated from unflagged neighbours
    (unless not ``interpolate``: the beat count corrected only), then missed intervals split
    and extra pairs merged (from the measured values)."""
    x = rr[i]
    ectopic, missed, extra, merged = f.ectopic[i], f.missed[i], f.extra[i], f.merged[i]
    interp = ectopic | f.long[i] | f.short[i]
    out = x.copy()
    good = ~(interp | missed | extra | merged)
    if interpolate and good.sum() >= 2 and interp.any():
        idx = np.arange(x.size)
        out[interp] = np.interp(idx[interp], idx[good], x[good])
    if not (missed.any() or extra.any()):
        return out
    out[extra] = x[extra] + x[np.flatnonzero(extra) + 1]
    reps = np.where(missed, 2, 1)
    reps[merged] = 0
    return np.repeat(np.where(missed, out / 2, out), reps)


def clean_rr(rr_ms: np.ndarray) -> RrCleaning:
    """Detect and correct artefacts in an RR-interval series (Lipponen & Tarvainen 2019).

    For interval ``j``: ``dRR(j) = RR(j) - RR(j-1)``; ``mRR(j) = RR(j) - median of the 11
    surrounding RR`` (negative values doubled); both are divided by 5.2 times their quartile
    deviation over the 91 surrounding beats (``dRRs``, ``mRRs``), a threshold floored here at
    5 % of the local median RR so that quantised (e.g. 1/128 s) or very regular series do not
    get thresholds of a few ms (a deviation from the paper). Then

    * **ectopic**: ``dRRs(j) > 1`` and ``S12 < -0.13 dRRs(j) - 0.17``, or ``dRRs(j) < -1`` and
      ``S12 > -0.13 dRRs(j) + 0.17``, with ``S12`` the maximum (for ``dRRs(j) > 0``, else the
      minimum) of ``dRRs(j-1), dRRs(j+1)``: a jump with reversals on both sides, as around
      the compensatory pause of a premature beat;
    * **long/short**: ``|dRRs(j)| > 1`` followed within two beats by a jump of opposite sign
      beyond 1, or ``|mRRs(j)| > 3``; a long one is **missed** when ``|RR(j)/2 - med(j)|`` is
      below the mRR threshold, a short one is **extra** when ``|RR(j) + RR(j+1) - med(j)|`` is.

    Corrections: missed -> interval split in two; extra -> merged with the next; ectopic,
    long and short -> replaced by linear interpolation from the unflagged neighbours.

    Live use: the flags of interval ``j`` depend on intervals ``j-45 .. j+45`` (only
    ``j-1 .. j+2`` strongly), so call it on a trailing window of recent beats (e.g. the last
    2-5 minutes, a few ms of compute); the flags of the last two intervals are provisional
    until two more beats have arrived.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms. Non-finite or non-positive entries are flagged ``invalid`` and
        dropped.

    Returns
    -------
    RrCleaning
        Corrected series and per-interval flags. With fewer than 4 valid intervals nothing is
        flagged except invalid entries.
    """
    rr_in = np.asarray(rr_ms, dtype=np.float64).ravel()
    n_in = rr_in.size
    invalid = ~(np.isfinite(rr_in) & (rr_in > 0))
    valid_idx = np.flatnonzero(~invalid)
    rr = rr_in[valid_idx]
    n = rr.size
    flags = {k: np.zeros(n_in, dtype=bool) for k in ("ectopic", "missed", "extra", "long", "short")}
    if n < 4:
        return RrCleaning(rr_ms=rr.copy(), invalid=invalid, counted_ms=rr.copy(), **flags)
    f = _classify(rr[None, :])
    for key in flags:
        flags[key][valid_idx] = getattr(f, key)[0]
    return RrCleaning(
        rr_ms=_corrected(rr[None, :], f, 0),
        invalid=invalid,
        counted_ms=_corrected(rr[None, :], f, 0, interpolate=False),
        **flags,
    )


def clean_rr_windows(rr_ms: np.ndarray, starts, stops) -> list[np.ndarray]:
    """Corrected intervals of several windows of one RR series at once.

    Entry ``k`` equals ``clean_rr(rr_ms[starts[k]:stops[k]]).rr_ms`` (the same arithmetic,
    bit for bit): windows of equal length are classified together in arrays, which is what a
    replay does when it re-cleans the last minute of beats after every beat of a long block.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms.
    starts, stops : sequences of int
        Window bounds (slices of ``rr_ms``).

    Returns
    -------
    list of np.ndarray
    """
    return clean_and_count_rr_windows(rr_ms, starts, stops)[0]


def clean_and_count_rr_windows(
    rr_ms: np.ndarray, starts, stops
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """:func:`clean_rr_windows` and, from the same classification, each window's intervals
    with the beat count corrected only (``clean_rr(...).counted_ms``, bit for bit).

    Returns
    -------
    cleaned, counted : list of np.ndarray
    """
    rr = np.asarray(rr_ms, dtype=np.float64).ravel()
    starts = np.asarray(starts, dtype=np.intp)
    stops = np.asarray(stops, dtype=np.intp)
    out: list[np.ndarray | None] = [None] * starts.size
    counted: list[np.ndarray | None] = [None] * starts.size
    bad = ~(np.isfinite(rr) & (rr > 0))
    if bad.any():  # windows with invalid entries go one by one (their flags keep positions)
        n_bad = np.concatenate(([0], np.cumsum(bad)))
        one_by_one = n_bad[stops] > n_bad[starts]
    else:
        one_by_one = np.zeros(starts.size, dtype=bool)
    lengths = stops - starts
    one_by_one |= lengths < 4
    for k in np.flatnonzero(one_by_one):
        one = clean_rr(rr[starts[k] : stops[k]])
        out[k], counted[k] = one.rr_ms, one.counted_ms
    rest = np.flatnonzero(~one_by_one)
    for n in np.unique(lengths[rest]):
        group = rest[lengths[rest] == n]
        x = rr[starts[group, None] + np.arange(n)]
        f = _classify(x)
        fix = f.any
        for row, k in enumerate(group):
            if fix[row]:
                out[k] = _corrected(x, f, row)
                counted[k] = _corrected(x, f, row, interpolate=False)
            else:
                out[k] = counted[k] = x[row].copy()
    return out, counted  # type: ignore[return-value]


def rr_irregular_fraction(rr_ms: np.ndarray, step: float = IRREGULAR_STEP) -> float:
    """Fraction of successive RR intervals that differ from the one before by more than
    ``step`` of it (Malik's 20 % rule).

    After :func:`clean_rr` a window of sinus beats keeps few: on the resting, paced and
    day-long recordings of the benchmarks (MIT-BIH 100, 113, 231, 800, two 21-23 h RR series,
    resting ECG and PPG, chest-strap RR, paced breathing down to 4.5 breaths/min) at most 0.11
    of a 60-s window. Beats the cleaning could not repair -- a detector following a moving or
    loose sensor, or beats that are irregular in themselves (bigeminy, atrial fibrillation) --
    keep many (camera PPG that missed the pulses 0.41-0.66).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms (typically cleaned); steps with a non-finite or non-positive
        interval are not counted.
    step : float
        Largest relative change from one interval to the next counted as regular.

    Returns
    -------
    float
        The fraction in [0, 1]; NaN with no countable step.
    """
    rr = np.asarray(rr_ms, dtype=np.float64).ravel()
    before, after = rr[:-1], rr[1:]
    with np.errstate(invalid="ignore"):
        countable = np.isfinite(before) & np.isfinite(after) & (before > 0) & (after > 0)
        n = int(np.count_nonzero(countable))
        if n == 0:
            return math.nan
        jumps = np.abs(after - before) > step * before
    return float(np.count_nonzero(jumps & countable)) / n


def rr_too_irregular(rr_ms: np.ndarray) -> bool:
    """True when more than :data:`MAX_IRREGULAR_FRACTION` of the steps of ``rr_ms`` (cleaned
    RR intervals, ms) break Malik's 20 % rule (:func:`rr_irregular_fraction`): variability
    metrics of such a window describe the detector's errors or the irregular beats, not the
    heart's relaxation. The limit sits between what sinus beats keep after cleaning (at most
    0.11 of a 60-s window on the benchmarks' recordings) and what beats the cleaning failed on
    keep (0.41 and more); ``docs/BENCHMARKS.md`` has the figures."""
    return bool(rr_irregular_fraction(rr_ms) > MAX_IRREGULAR_FRACTION)
