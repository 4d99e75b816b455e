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

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from biotrainer.dsp.filters import check_fs

__all__ = ["RrCleaning", "clean_rr", "rr_from_peaks"]

_ALPHA = 5.2  # threshold in quartile deviations (Lipponen & Tarvainen 2019)
_QD_BEATS = 91  # window of the quartile deviations
_MEDIAN_BEATS = 11  # window of the local median RR
_C1, _C2 = 0.13, 0.17  # ectopic decision boundary
_MRR_LIMIT = 3.0
_MIN_THRESHOLD = 0.05  # of the local median RR


def rr_from_peaks(peaks: np.ndarray, fs: float) -> np.ndarray:
    """RR intervals in ms from (possibly fractional) peak positions in samples at ``fs`` Hz."""
    fs = check_fs(fs, 1e-3, 1e6, "peak")
    p = np.asarray(peaks, dtype=np.float64).ravel()
    return np.diff(p) * (1000.0 / fs)


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
    """

    rr_ms: np.ndarray
    ectopic: np.ndarray
    missed: np.ndarray
    extra: np.ndarray
    long: np.ndarray
    short: np.ndarray
    invalid: np.ndarray

    @property
    def flagged(self) -> np.ndarray:
        """Boolean per input interval: any flag set."""
        return self.ectopic | self.missed | self.extra | self.long | self.short | self.invalid

    @property
    def n_flagged(self) -> int:
        """Number of input intervals with any flag."""
        return int(self.flagged.sum())


def _quartile_deviation(x: np.ndarray, size: int) -> np.ndarray:
    """Running (Q3 - Q1) / 2 over ``size`` centred samples (mirrored at the ends)."""
    size = min(size, 2 * x.size - 1) | 1  # reflect mode needs the window within one mirror
    q1 = ndimage.percentile_filter(x, 25, size=size, mode="reflect")
    q3 = ndimage.percentile_filter(x, 75, size=size, mode="reflect")
    return (q3 - q1) / 2.0


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
        return RrCleaning(rr_ms=rr.copy(), invalid=invalid, **flags)

    drr = np.diff(rr, prepend=rr[0])
    th1 = _ALPHA * _quartile_deviation(np.abs(drr), _QD_BEATS)
    med = ndimage.median_filter(rr, size=min(_MEDIAN_BEATS, 2 * n - 1) | 1, mode="reflect")
    mrr = rr - med
    mrr[mrr < 0] *= 2.0
    th2 = _ALPHA * _quartile_deviation(np.abs(mrr), _QD_BEATS)
    # floor: jumps below 5 % of the local median RR are never artefacts (quantised or very
    # regular series would otherwise get thresholds of a few ms)
    floor = _MIN_THRESHOLD * med
    th1 = np.maximum(th1, floor)
    th2 = np.maximum(th2, floor)
    drrs = drr / th1
    mrrs = mrr / th2

    pad = np.concatenate([[0.0], drrs, [0.0, 0.0]])  # pad[j+1] == drrs[j]
    prev, nxt, nxt2 = pad[:-3], pad[2:-1], pad[3:]
    # S12: the same-signed extreme of the neighbouring jumps (both reverse around an ectopic
    # beat's compensatory interval); S22: the opposite-signed extreme of the next two jumps
    s12 = np.where(drrs > 0, np.maximum(prev, nxt), np.minimum(prev, nxt))
    s22 = np.where(drrs >= 0, np.minimum(nxt, nxt2), np.maximum(nxt, nxt2))
    ectopic = ((drrs > 1) & (s12 < -_C1 * drrs - _C2)) | ((drrs < -1) & (s12 > -_C1 * drrs + _C2))
    longshort = ((drrs > 1) & (s22 < -1)) | ((drrs < -1) & (s22 > 1)) | (np.abs(mrrs) > _MRR_LIMIT)
    longshort &= ~ectopic

    nxt_rr = np.append(rr[1:], np.nan)
    missed = longshort & (np.abs(rr / 2 - med) < th2)
    extra = longshort & ~missed & (np.abs(rr + nxt_rr - med) < th2)
    extra[-1] = False
    # an "extra" merges j with j+1, so j+1 must not be merged or split again
    for j in np.flatnonzero(extra):
        if j > 0 and extra[j - 1]:
            extra[j] = False
    merged = np.concatenate([[False], extra[:-1]])  # the second half of an extra pair
    rest = longshort & ~missed & ~extra & ~merged
    ectopic &= ~merged
    long_ = rest & (rr > med)
    short = rest & ~long_

    # corrections: interpolate ectopic/long/short from unflagged neighbours, then split
    # missed intervals and merge extra pairs (from the measured values)
    interp = ectopic | long_ | short
    out = rr.copy()
    good = ~(interp | missed | extra | merged)
    if good.sum() >= 2 and interp.any():
        idx = np.arange(n)
        out[interp] = np.interp(idx[interp], idx[good], rr[good])
    out[extra] = rr[extra] + rr[np.flatnonzero(extra) + 1]
    reps = np.where(missed, 2, 1)
    reps[merged] = 0
    out = np.repeat(np.where(missed, out / 2, out), reps)

    for key, arr in (
        ("ectopic", ectopic),
        ("missed", missed),
        ("extra", extra),
        ("long", long_),
        ("short", short),
    ):
        flags[key][valid_idx] = arr
    return RrCleaning(rr_ms=out, invalid=invalid, **flags)
