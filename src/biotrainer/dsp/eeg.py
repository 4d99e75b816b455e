"""EEG spectral metrics: band powers, individual alpha frequency, relaxation index.

All functions take EEG as ``(channels, samples)`` (or 1-D for one channel) in µV with an explicit
sampling rate in Hz. Spectra are Welch estimates (:func:`scipy.signal.welch`): Hann window of
2 s (or the whole window when it is shorter), 50 % overlap, linear detrend of every segment (so a
DC offset or slow electrode drift does not leak into the delta band).

The aperiodic ("1/f") component is a straight line fitted to log10 power against log10 frequency
over 2–40 Hz outside the alpha search range (7–14 Hz), refitted once on the points that are not
peaks (the spirit of FOOOF: Donoghue et al., Nat Neurosci 2020, without its Gaussian peak model).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft
from scipy import signal

from biotrainer.dsp.filters import check_fs

#: Canonical frequency bands in Hz, half-open ``[low, high)``.
BANDS_HZ: dict[str, tuple[float, float]] = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 45.0),
}

#: Range searched for the individual alpha peak frequency (Hz).
ALPHA_SEARCH_HZ = (7.0, 14.0)
#: Range of the aperiodic fit (Hz); capped at 90 % of Nyquist.
APERIODIC_FIT_HZ = (2.0, 40.0)
#: Minimum height of the alpha peak above the aperiodic fit for an IAF to be reported, in dB
#: (a factor 2; the spread of a few-segment Welch estimate alone reaches 2-3 dB).
MIN_ALPHA_PEAK_DB = 3.0
#: Shortest window accepted (s); shorter windows give NaN results.
MIN_WINDOW_S = 1.0
#: Welch segment length (s) of :func:`band_powers` (0.5 Hz resolution for the IAF).
WELCH_SEGMENT_S = 2.0
#: Welch segment length (s) of :func:`relaxation_index`: 1 Hz resolution is enough for bands
#: >= 4 Hz wide, and a 4 s window then averages 7 half-overlapping segments instead of 3.
RELAXATION_SEGMENT_S = 1.0


def as_channels(x: np.ndarray) -> np.ndarray:
    """Return ``x`` as a float64 array of shape ``(channels, samples)`` (1-D -> one channel)."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        return arr[None, :]
    if arr.ndim != 2:
        raise ValueError(
            f"expected EEG of shape (channels, samples) or (samples,), got {arr.shape}"
        )
    return arr


def linear_detrend(x: np.ndarray) -> np.ndarray:
    """Remove the least-squares straight line from every row (last axis) of ``x``.

    The same fit as ``scipy.signal.detrend(x, type="linear")`` in closed form (mean and slope
    against centred sample times), without its per-call least-squares solver; each row's
    result does not depend on the other rows. Used as the Welch segment detrend.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    # Rows with NaN/Inf give NaN rows (quality reports them); no warning per window.
    with np.errstate(invalid="ignore", over="ignore"):
        if n < 2:
            return x - x.mean(axis=-1, keepdims=True) if n else x.copy()
        t, tt = _centred_times(n)
        # (the products x * t are summed, then their array takes x minus the mean: the same
        # arithmetic as fresh arrays, one large temporary less)
        out = np.multiply(x, t)
        slope = out.sum(axis=-1, keepdims=True)
        slope /= tt
        np.subtract(x, x.mean(axis=-1, keepdims=True), out=out)
        out -= slope * t
        return out


@functools.lru_cache(maxsize=16)
def _centred_times(n: int) -> tuple[np.ndarray, float]:
    """Sample times centred on the middle of ``n`` samples, and their sum of squares."""
    t = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    t.setflags(write=False)
    return t, float(t @ t)


@functools.lru_cache(maxsize=16)
def _hann(n: int) -> tuple[np.ndarray, float]:
    """Periodic Hann window of ``n`` samples (``scipy.signal.get_window("hann", n)``) and the
    sum of its squares."""
    w = signal.get_window("hann", n)
    w.setflags(write=False)
    return w, float(np.sum(w * w))


def welch_density(x: np.ndarray, fs: float, nperseg: int) -> tuple[np.ndarray, np.ndarray]:
    """One-sided Welch PSD along the last axis: periodic Hann segments of ``nperseg`` samples,
    50 % overlap, linear detrend per segment (:func:`linear_detrend`), density scaling, mean.

    The estimate of ``scipy.signal.welch(x, fs, "hann", nperseg, nperseg // 2,
    detrend="linear")`` (equal to rounding) with the window cached and without its general
    machinery, which dominates on the short windows a live session analyses many times a
    second. Each row's result does not depend on the other rows.
    """
    n = x.shape[-1]
    step = nperseg - nperseg // 2
    n_seg = 1 + (n - nperseg) // step
    segs = np.lib.stride_tricks.sliding_window_view(x, nperseg, axis=-1)[..., ::step, :]
    f, p = _periodograms(segs[..., :n_seg, :], fs)
    return f, p.mean(axis=-2)


def _periodograms(
    segs: np.ndarray, fs: float, detrended: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One-sided density periodograms of the segments on the last axis (detrended, Hann);
    ``detrended``: ``linear_detrend(segs)`` when the caller has it already."""
    nperseg = segs.shape[-1]
    win, ss = _hann(nperseg)
    with np.errstate(invalid="ignore", over="ignore"):
        if detrended is None:
            tapered = linear_detrend(segs)
            tapered *= win  # (our own copy: windowed in place)
        else:
            tapered = detrended * win
        spec = sp_fft.rfft(tapered, axis=-1, overwrite_x=True)
        p = spec.real * spec.real
        p += spec.imag * spec.imag
    p *= 1.0 / (fs * ss)
    if nperseg % 2:
        p[..., 1:] *= 2.0
    else:
        p[..., 1:-1] *= 2.0
    return sp_fft.rfftfreq(nperseg, 1.0 / fs), p


class SegmentCache:
    """Periodograms of Welch segments kept between calls of :func:`welch_psd_windows` on one
    stream, by the absolute sample index of each segment's start: a sliding window analysed
    block by block then transforms the segments that straddle two blocks once, not twice.

    Only the segments a later window can still use are kept (those starting at or after the
    start of the last window analysed). A segment's periodogram depends on its samples alone,
    so the results are those computed without the cache.
    """

    def __init__(self) -> None:
        self.key: tuple[int, int, float] | None = None  # (channels, nperseg, fs)
        self.starts = np.empty(0, dtype=np.int64)  # absolute segment starts, ascending
        self.per: np.ndarray | None = None  # (channels, len(starts), n_freqs)

    def clear(self) -> None:
        """Forget every segment (a new stream)."""
        self.key, self.starts, self.per = None, np.empty(0, dtype=np.int64), None


def _cached_periodograms(
    x: np.ndarray, unique: np.ndarray, nperseg: int, fs: float, cache: SegmentCache,
    offset: int, keep_from: int,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """:func:`_periodograms` of the segments of ``x`` starting at ``unique`` (ascending),
    taking those in ``cache`` from it and keeping those starting at ``keep_from`` or later
    (absolute indices: ``offset`` is the absolute index of ``x[:, 0]``)."""
    key = (x.shape[0], nperseg, float(fs))
    if cache.key != key:
        cache.clear()
        cache.key = key
    absolute = unique + offset
    pos = np.searchsorted(cache.starts, absolute)
    hit = pos < cache.starts.size
    hit[hit] = cache.starts[pos[hit]] == absolute[hit]
    missing = np.flatnonzero(~hit)
    f = sp_fft.rfftfreq(nperseg, 1.0 / fs)
    if missing.size == unique.size:
        _, per = _periodograms(x[:, unique[:, None] + np.arange(nperseg)[None, :]], fs)
    else:
        per = np.empty((x.shape[0], unique.size, f.size))
        per[:, hit, :] = cache.per[:, pos[hit], :]
        if missing.size:
            segs = x[:, unique[missing][:, None] + np.arange(nperseg)[None, :]]
            per[:, missing, :] = _periodograms(segs, fs)[1]
    keep = absolute >= keep_from
    cache.starts = absolute[keep]
    cache.per = per[:, keep, :]
    return f, per


def welch_psd_windows(
    x: np.ndarray,
    ends,
    size: int,
    fs: float,
    segment_s: float = WELCH_SEGMENT_S,
    *,
    cache: SegmentCache | None = None,
    offset: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`welch_psd` of the windows ``x[:, e - size : e]`` for every ``e`` in ``ends``.

    Overlapping windows (a sliding analysis window re-evaluated every half segment) share
    Welch segments: each distinct segment is transformed once and every window averages its
    own, so the result equals calling :func:`welch_psd` per window at a fraction of the cost.
    With a :class:`SegmentCache` (and ``offset``, the absolute sample index of ``x[:, 0]`` in
    the stream) segments shared with the previous call are taken from it.

    Returns
    -------
    freqs_hz : np.ndarray, shape (n_freqs,)
    psd : np.ndarray, shape (len(ends), channels, n_freqs)
    """
    fs = check_fs(fs)
    x = as_channels(x)
    ends = np.asarray(ends, dtype=np.int64)
    n_ch = x.shape[0]
    nperseg = max(2, min(size, int(round(segment_s * fs))))
    step = nperseg - nperseg // 2
    n_seg = 1 + (size - nperseg) // step
    starts = (ends - size)[:, None] + step * np.arange(n_seg)[None, :]  # (windows, n_seg)
    unique, where = np.unique(starts, return_inverse=True)
    if cache is not None:
        keep_from = int(ends.max()) - size + offset  # the last window's start
        f, per = _cached_periodograms(x, unique, nperseg, fs, cache, offset, keep_from)
    else:
        segs = x[:, unique[:, None] + np.arange(nperseg)[None, :]]  # (ch, unique, nperseg)
        f, per = _periodograms(segs, fs)
    p = per[:, where.reshape(starts.shape), :].mean(axis=-2)  # (ch, windows, n_freqs)
    p = np.ascontiguousarray(p.transpose(1, 0, 2))
    if nperseg == 2 * step and size % step == 0:
        # the windows are tiled by half-segments: a window's extremes are those of its blocks,
        # each block's found once (exact; NaN propagates)
        blocks = (ends - size)[:, None] + step * np.arange(size // step)[None, :]
        b_unique, b_where = np.unique(blocks, return_inverse=True)
        b = x[:, b_unique[:, None] + np.arange(step)[None, :]]  # (ch, blocks, step)
        idx = b_where.reshape(blocks.shape)
        hi = np.max(b, axis=-1)[:, idx].max(axis=-1).T  # (windows, ch)
        lo = np.min(b, axis=-1)[:, idx].min(axis=-1).T
    elif (size - nperseg) % step == 0:
        # the segments tile each window: its extremes are those of its segments (exact)
        idx = where.reshape(starts.shape)
        segs = x[:, unique[:, None] + np.arange(nperseg)[None, :]]
        hi = np.max(segs, axis=-1)[:, idx].max(axis=-1).T  # NaN propagates: (windows, ch)
        lo = np.min(segs, axis=-1)[:, idx].min(axis=-1).T
    if (size - nperseg) % step == 0:
        finite = np.isfinite(hi) & np.isfinite(lo)
        hi, lo = np.where(finite, hi, 0.0), np.where(finite, lo, 0.0)
        with np.errstate(over="ignore"):  # extremes near the float limit: a range of inf
            flat = hi - lo <= 1e-12 * np.maximum(1.0, np.maximum(np.abs(hi), np.abs(lo)))
    else:
        win = x[:, (ends - size)[:, None] + np.arange(size)[None, :]].transpose(1, 0, 2)
        finite = np.all(np.isfinite(win), axis=-1)
        safe = np.where(finite[..., None], win, 0.0)
        flat = np.ptp(safe, axis=-1) <= 1e-12 * np.maximum(1.0, np.max(np.abs(safe), axis=-1))
    p[flat] = 0.0
    p[~finite] = np.nan
    return f, p.reshape(len(ends), n_ch, -1)


def welch_psd(
    eeg: np.ndarray, fs: float, segment_s: float = WELCH_SEGMENT_S
) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectral density per channel.

    Hann window of ``min(segment_s, n)`` samples (default 2 s), 50 % overlap, linear detrend
    per segment, one-sided density (units² / Hz). Channels containing NaN/Inf give a NaN
    spectrum, constant channels a zero spectrum.

    Returns
    -------
    freqs_hz : np.ndarray, shape (n_freqs,)
    psd : np.ndarray, shape (channels, n_freqs)
    """
    fs = check_fs(fs)
    x = as_channels(eeg)
    n = x.shape[1]
    if n >= 2:
        # the engine's path (segments shared between overlapping windows), so an offline call
        # gives bit for bit what a live session computed
        f, p = welch_psd_windows(x, [n], n, fs, segment_s)
        return f, p[0]
    nperseg = max(2, min(n, int(round(segment_s * fs))))
    finite = np.all(np.isfinite(x), axis=1)
    safe = np.where(finite[:, None], x, 0.0)
    f, p = signal.welch(
        safe, fs=fs, window="hann", nperseg=nperseg, noverlap=nperseg // 2, detrend="linear"
    )
    # a constant channel: exactly zero power (not detrending round-off)
    flat = np.ptp(safe, axis=1) <= 1e-12 * np.maximum(1.0, np.max(np.abs(safe), axis=1))
    p[flat] = 0.0
    p[~finite] = np.nan
    return f, p


@dataclass(frozen=True, eq=False)
class AperiodicFit:
    """Aperiodic component ``log10 P(f) = offset - exponent * log10 f`` per channel."""

    offset: np.ndarray
    exponent: np.ndarray

    def power(self, freqs_hz: np.ndarray) -> np.ndarray:
        """Aperiodic power density at ``freqs_hz``, shape (channels, n_freqs)."""
        lf = np.log10(np.asarray(freqs_hz, dtype=np.float64))
        return 10.0 ** (self.offset[:, None] - self.exponent[:, None] * lf[None, :])


def fit_aperiodic(freqs_hz: np.ndarray, psd: np.ndarray, fs: float) -> AperiodicFit:
    """Robust log-log line fit of the aperiodic spectrum (see module docstring).

    Fits over :data:`APERIODIC_FIT_HZ` excluding :data:`ALPHA_SEARCH_HZ`; a second pass keeps the
    points whose residual is at or below the 75th percentile, so narrow peaks (mains, beta bumps)
    do not lift the line. Channels with a non-positive or non-finite spectrum give NaN.
    """
    hi = min(APERIODIC_FIT_HZ[1], 0.9 * fs / 2)
    mask = (freqs_hz >= APERIODIC_FIT_HZ[0]) & (freqs_hz <= hi)
    mask &= ~((freqs_hz >= ALPHA_SEARCH_HZ[0]) & (freqs_hz <= ALPHA_SEARCH_HZ[1]))
    n_ch = psd.shape[0]
    offset = np.full(n_ch, np.nan)
    exponent = np.full(n_ch, np.nan)
    if mask.sum() < 4:
        return AperiodicFit(offset, exponent)
    lf = np.log10(freqs_hz[mask])
    pm = psd[:, mask]
    ok = np.all(np.isfinite(pm), axis=1) & np.all(pm > 0, axis=1)
    if not ok.any():
        return AperiodicFit(offset, exponent)
    lp = np.log10(pm[ok])
    # least squares of lp = offset - exponent * lf for every row at once (closed form)
    coef_o, coef_e = _line_fit(lf, lp, np.ones_like(lp, dtype=bool))
    resid = lp - (coef_o[:, None] - coef_e[:, None] * lf[None, :])
    keep = resid <= _percentile_rows(resid, 75.0)[:, None]
    refit = keep.sum(axis=1) >= 3
    if refit.any():
        o2, e2 = _line_fit(lf, lp[refit], keep[refit])
        coef_o[refit], coef_e[refit] = o2, e2
    offset[ok], exponent[ok] = coef_o, coef_e
    return AperiodicFit(offset, exponent)


def _percentile_rows(x: np.ndarray, percent: float) -> np.ndarray:
    """``np.percentile(x, percent, axis=1)`` (its default 'linear' method: virtual index
    ``(n - 1) q``, interpolated from the nearer neighbour as numpy does) with one sort for
    all rows and none of numpy's per-call machinery; the same values. Rows with NaN/Inf go
    through numpy itself."""
    n = x.shape[1]
    if n == 0 or not np.all(np.isfinite(x)):
        return np.percentile(x, percent, axis=1)
    q = percent / 100.0
    v = (n - 1) * q
    s = np.sort(x, axis=1)
    if v >= n - 1:
        return s[:, -1].copy()
    i = int(math.floor(v))
    g = v - i
    a, b = s[:, i], s[:, i + 1]
    diff = b - a
    return b - diff * (1 - g) if g >= 0.5 else a + diff * g


def _line_fit(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares ``y = offset - exponent * x`` per row of ``y`` over the points ``w``."""
    wf = w.astype(np.float64)
    n = wf.sum(axis=1)
    mx = (wf * x).sum(axis=1) / n
    my = (wf * y).sum(axis=1) / n
    dx = x[None, :] - mx[:, None]
    slope = (wf * dx * (y - my[:, None])).sum(axis=1) / (wf * dx * dx).sum(axis=1)
    return my - slope * mx, -slope


def _alpha_peak(
    freqs_hz: np.ndarray, psd: np.ndarray, fit: AperiodicFit
) -> tuple[np.ndarray, np.ndarray]:
    """IAF (Hz, parabolic-interpolated) and its height above the aperiodic fit (dB) per channel."""
    sel = np.flatnonzero((freqs_hz >= ALPHA_SEARCH_HZ[0]) & (freqs_hz <= ALPHA_SEARCH_HZ[1]))
    n_ch = psd.shape[0]
    iaf = np.full(n_ch, np.nan)
    height = np.full(n_ch, np.nan)
    if sel.size < 3:
        return iaf, height
    with np.errstate(divide="ignore", invalid="ignore"):
        resid_db = 10.0 * np.log10(psd[:, sel] / fit.power(freqs_hz[sel]))
    df = freqs_hz[1] - freqs_hz[0]
    rows = np.flatnonzero(np.all(np.isfinite(resid_db), axis=1))
    if rows.size == 0:
        return iaf, height
    r = resid_db[rows]
    k = np.argmax(r, axis=1)
    peak = r[np.arange(rows.size), k]
    height[rows] = peak
    # A clear peak: above the threshold and a local maximum inside the search range.
    clear = (peak >= MIN_ALPHA_PEAK_DB) & (k > 0) & (k < r.shape[1] - 1)
    if clear.any():
        i = np.flatnonzero(clear)
        kk = k[i]
        y0, y1, y2 = r[i, kk - 1], r[i, kk], r[i, kk + 1]
        denom = y0 - 2 * y1 + y2
        with np.errstate(divide="ignore", invalid="ignore"):
            shift = np.where(denom < 0, 0.5 * (y0 - y2) / np.where(denom < 0, denom, 1.0), 0.0)
        iaf[rows[i]] = freqs_hz[sel[kk]] + np.clip(shift, -0.5, 0.5) * df
    return iaf, height


def _power_in(fit: AperiodicFit, freqs_hz: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """``fit.power(freqs_hz)`` where some row's ``[lo, hi)`` holds the frequency, 0 elsewhere:
    all that :func:`_band_sum` over those bands reads of it (the same values, without the
    power law at every bin)."""
    out = np.zeros((fit.offset.size, freqs_hz.size))
    if lo.size == 0:
        return out
    cols = np.flatnonzero((freqs_hz >= lo.min()) & (freqs_hz < hi.max()))
    if cols.size:
        out[:, cols[0] : cols[-1] + 1] = fit.power(freqs_hz[cols[0] : cols[-1] + 1])
    return out


def _band_sum(freqs_hz: np.ndarray, psd: np.ndarray, lo, hi) -> np.ndarray:
    """Power in ``[lo, hi)`` per channel (rectangle rule), ``lo``/``hi`` per channel (arrays)
    or one band for every channel (scalars: one mask for all)."""
    df = freqs_hz[1] - freqs_hz[0]
    m = (freqs_hz >= np.asarray(lo)[..., None]) & (freqs_hz < np.asarray(hi)[..., None])
    return np.where(m, psd, 0.0).sum(axis=1) * df


@dataclass(frozen=True, eq=False)
class BandPowers:
    """Band powers per channel (arrays of shape ``(channels,)``).

    ``*_uv2`` are absolute powers in µV² (when the input is in µV), the integral of the Welch PSD
    over the band. ``*_rel`` are fractions of the 1–45 Hz total (they sum to 1). ``iaf_hz`` is
    the individual alpha peak frequency (NaN when no peak rises :data:`MIN_ALPHA_PEAK_DB` above
    the aperiodic fit in 7–14 Hz), ``alpha_peak_db`` the height of the highest 7–14 Hz point above
    that fit, ``aperiodic_exponent`` the fitted 1/f exponent. Channels with NaN/Inf samples, and
    windows shorter than :data:`MIN_WINDOW_S`, give NaN; a flat channel gives zero absolute and NaN
    relative powers.
    """

    delta_uv2: np.ndarray
    theta_uv2: np.ndarray
    alpha_uv2: np.ndarray
    beta_uv2: np.ndarray
    gamma_uv2: np.ndarray
    total_uv2: np.ndarray
    delta_rel: np.ndarray
    theta_rel: np.ndarray
    alpha_rel: np.ndarray
    beta_rel: np.ndarray
    gamma_rel: np.ndarray
    iaf_hz: np.ndarray
    alpha_peak_db: np.ndarray
    aperiodic_exponent: np.ndarray

    def absolute(self, band: str) -> np.ndarray:
        """Absolute power of ``band`` (one of :data:`BANDS_HZ`) in µV²."""
        return getattr(self, f"{band}_uv2")

    def relative(self, band: str) -> np.ndarray:
        """Relative power of ``band`` (fraction of the 1–45 Hz total)."""
        return getattr(self, f"{band}_rel")


def band_powers(eeg: np.ndarray, fs: float) -> BandPowers:
    """Absolute and relative delta/theta/alpha/beta/gamma power and the alpha peak per channel.

    Parameters
    ----------
    eeg : np.ndarray
        EEG in µV, shape ``(channels, samples)`` or ``(samples,)``.
    fs : float
        Sampling rate in Hz.

    Notes
    -----
    Bands are :data:`BANDS_HZ` (the IFCN/BrainFlow convention: delta 1–4, theta 4–8, alpha 8–13,
    beta 13–30, gamma 30–45 Hz; gamma is cut at Nyquist). Power is the rectangle-rule integral of
    the Welch PSD (see :func:`welch_psd`). The individual alpha frequency is the maximum of the
    PSD above the aperiodic fit in 7–14 Hz, refined by a parabola through the three bins around
    it (Klimesch, Brain Res Rev 1999, for IAF; Donoghue et al. 2020 for the aperiodic correction).
    """
    fs = check_fs(fs)
    x = as_channels(eeg)
    n_ch, n = x.shape
    if n < MIN_WINDOW_S * fs:
        nan = np.full(n_ch, np.nan)
        return BandPowers(*([nan] * 14))
    f, p = welch_psd(x, fs)
    return _band_powers_psd(f, p, fs)


def _band_powers_psd(f: np.ndarray, p: np.ndarray, fs: float) -> BandPowers:
    """:func:`band_powers` from the Welch PSD rows ``p``."""
    abs_p = {}
    for name, (lo, hi) in BANDS_HZ.items():
        abs_p[name] = _band_sum(f, p, lo, min(hi, fs / 2 + 1e-9))
    total = sum(abs_p.values())
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = {k: np.where(total > 0, v / total, np.nan) for k, v in abs_p.items()}
    fit = fit_aperiodic(f, p, fs)
    iaf, height = _alpha_peak(f, p, fit)
    return BandPowers(
        delta_uv2=abs_p["delta"],
        theta_uv2=abs_p["theta"],
        alpha_uv2=abs_p["alpha"],
        beta_uv2=abs_p["beta"],
        gamma_uv2=abs_p["gamma"],
        total_uv2=total,
        delta_rel=rel["delta"],
        theta_rel=rel["theta"],
        alpha_rel=rel["alpha"],
        beta_rel=rel["beta"],
        gamma_rel=rel["gamma"],
        iaf_hz=iaf,
        alpha_peak_db=height,
        aperiodic_exponent=fit.exponent,
    )


def relaxation_log_score(eeg: np.ndarray, fs: float) -> np.ndarray:
    """Per-channel relaxation score ``r`` in log10 units (see :func:`relaxation_index`).

    ``r = log10(alpha / (theta + beta)) + log10(alpha / alpha_aperiodic)``:

    * alpha dominance — IAF-centred bands after Klimesch (1999): alpha = IAF ± 2 Hz,
      theta = IAF − 6 … IAF − 2 Hz, beta = IAF + 2 … 30 Hz; IAF = 10 Hz (the canonical
      8–12 / 4–8 / 12–30 Hz split) when the channel has no clear alpha peak;
    * alpha prominence — alpha power over the power the aperiodic 1/f fit predicts in the same
      band (Donoghue et al. 2020), 0 when there is no oscillatory alpha at all.

    Welch with :data:`RELAXATION_SEGMENT_S` segments. NaN for channels with NaN/Inf samples, flat
    channels, and windows shorter than :data:`MIN_WINDOW_S`.
    """
    fs = check_fs(fs)
    x = as_channels(eeg)
    n_ch, n = x.shape
    if n < MIN_WINDOW_S * fs:
        return np.full(n_ch, np.nan)
    f, p = welch_psd(x, fs, RELAXATION_SEGMENT_S)
    return _relaxation_score_psd(f, p, fs)


def _relaxation_score_psd(f: np.ndarray, p: np.ndarray, fs: float) -> np.ndarray:
    """:func:`relaxation_log_score` from the Welch PSD rows ``p``."""
    fit = fit_aperiodic(f, p, fs)
    iaf, _ = _alpha_peak(f, p, fit)
    centre = np.where(np.isfinite(iaf), iaf, 10.0)
    alpha = _band_sum(f, p, centre - 2.0, centre + 2.0)
    theta = _band_sum(f, p, centre - 6.0, centre - 2.0)
    beta = _band_sum(f, p, centre + 2.0, min(30.0, fs / 2))
    aperiodic = _band_sum(f[1:], _power_in(fit, f[1:], centre - 2.0, centre + 2.0),
                          centre - 2.0, centre + 2.0)  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.log10(alpha / (theta + beta)) + np.log10(alpha / aperiodic)
    score[~np.isfinite(score)] = np.nan
    return score


#: Logistic centre of :func:`relaxation_index` in log10 units: alpha as strong as theta + beta
#: together and no alpha above the 1/f background (or any balance of the two).
RELAXATION_CENTRE = 0.0
#: Logistic scale of :func:`relaxation_index` in log10 units: ``r`` = ±1.5 (a factor ~30) maps to
#: 0.05 / 0.95.
RELAXATION_SCALE = 0.5


def relaxation_index(eeg: np.ndarray, fs: float, usable: np.ndarray | None = None) -> float:
    """Relaxation index in [0, 1] (higher = more relaxed) of an EEG window.

    Parameters
    ----------
    eeg : np.ndarray
        EEG window, shape ``(channels, samples)`` or ``(samples,)``; 4 s is a good length,
        at least :data:`MIN_WINDOW_S`. Units cancel (the index is scale invariant).
    fs : float
        Sampling rate in Hz.
    usable : array of bool, optional
        Per-channel mask (e.g. ``signal_quality(...).usable``); channels marked False are left out.

    Returns
    -------
    float
        ``1 / (1 + exp(-(r - c) / s))`` where ``r`` is the median over usable channels of
        :func:`relaxation_log_score` (alpha dominance over theta + beta plus alpha prominence over
        the 1/f background, both log10 ratios), ``c`` = :data:`RELAXATION_CENTRE`,
        ``s`` = :data:`RELAXATION_SCALE`. NaN when no channel is usable.

    Notes
    -----
    Alpha-up / theta-and-beta-down is the classic relaxation neurofeedback target (e.g.
    Gruzelier, Cogn Process 2009); centring the bands on the IAF (Klimesch 1999) keeps slow- and
    fast-alpha people comparable, and measuring alpha against the aperiodic fit (Donoghue et al.
    2020) ignores broadband power shifts. Artifacts lower the index rather than raise it: EMG (jaw
    clench) adds beta power and flattens the 1/f fit, blinks and movement add delta/theta power;
    the median across channels makes one bad channel harmless. Gate the feedback with
    :func:`biotrainer.dsp.quality.gate_feedback` so an artifact can never raise it.
    """
    return relaxation_indices(as_channels(eeg)[None], fs, [usable])[0]


def relaxation_indices(
    windows: np.ndarray, fs: float, usable: list[np.ndarray | None] | None = None
) -> list[float]:
    """:func:`relaxation_index` of several windows of equal shape at once.

    ``windows`` has shape ``(n_windows, channels, samples)``; ``usable`` holds one mask (or
    None) per window. One spectral pass over every channel of every window (what an
    accelerated replay uses); the result equals calling :func:`relaxation_index` per window.
    """
    w = np.asarray(windows, dtype=np.float64)
    k, n_ch, n = w.shape
    scores = relaxation_log_score(w.reshape(k * n_ch, n), fs).reshape(k, n_ch)
    return _indices(scores, usable)


def relaxation_indices_at(
    x: np.ndarray,
    ends,
    size: int,
    fs: float,
    usable: list[np.ndarray | None] | None = None,
    *,
    cache: SegmentCache | None = None,
    offset: int = 0,
) -> list[float]:
    """:func:`relaxation_index` of the windows ``x[:, e - size : e]`` for every ``e`` in
    ``ends`` (``usable``: one mask or None per window), sharing the Welch segments of
    overlapping windows (:func:`welch_psd_windows`, also for ``cache`` and ``offset``);
    equals calling it per window."""
    fs = check_fs(fs)
    x = as_channels(x)
    k, n_ch = len(ends), x.shape[0]
    if size < MIN_WINDOW_S * fs:
        return _indices(np.full((k, n_ch), np.nan), usable)
    f, p = welch_psd_windows(x, ends, size, fs, RELAXATION_SEGMENT_S, cache=cache, offset=offset)
    scores = _relaxation_score_psd(f, p.reshape(k * n_ch, -1), fs).reshape(k, n_ch)
    return _indices(scores, usable)


def _indices(scores: np.ndarray, usable: list[np.ndarray | None] | None) -> list[float]:
    """Relaxation indices from per-window, per-channel log scores and usable masks."""
    k, n_ch = scores.shape
    if usable is None:
        usable = [None] * k
    for i, u in enumerate(usable):
        if u is None:
            continue
        mask = np.asarray(u, dtype=bool).reshape(-1)
        if mask.shape != (n_ch,):
            raise ValueError(f"usable has {mask.size} entries for {n_ch} channels")
        scores[i] = np.where(mask, scores[i], np.nan)
    medians, has = _nanmedian_rows(scores)
    out = []
    for r, ok in zip(medians.tolist(), has.tolist(), strict=True):
        if not ok:
            out.append(float("nan"))
            continue
        out.append(float(1.0 / (1.0 + np.exp(-(r - RELAXATION_CENTRE) / RELAXATION_SCALE))))
    return out


def _nanmedian_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median of the non-NaN values of every row of ``x`` (``np.nanmedian`` row by row: the
    middle value, or the mean of the middle two), and whether the row has any.

    One sort for all rows (NaN sorts last) instead of one ``nanmedian`` call per window.
    """
    s = np.sort(x, axis=1)
    k = np.sum(~np.isnan(x), axis=1)
    lo = np.maximum(k - 1, 0) // 2
    hi = k // 2
    rows = np.arange(x.shape[0])
    return (s[rows, lo] + s[rows, np.minimum(hi, x.shape[1] - 1)]) / 2.0, k > 0


def band_powers_at(
    x: np.ndarray, ends, size: int, fs: float, *, cache: SegmentCache | None = None,
    offset: int = 0,
) -> list[BandPowers]:  # fmt: skip
    """:func:`band_powers` of the windows ``x[:, e - size : e]`` for every ``e`` in ``ends``,
    sharing the Welch segments of overlapping windows (:func:`welch_psd_windows`, also for
    ``cache`` and ``offset``); equals calling it per window."""
    fs = check_fs(fs)
    x = as_channels(x)
    k, n_ch = len(ends), x.shape[0]
    if size < MIN_WINDOW_S * fs:
        nan = np.full(n_ch, np.nan)
        return [BandPowers(*([nan] * 14)) for _ in range(k)]
    f, p = welch_psd_windows(x, ends, size, fs, cache=cache, offset=offset)
    return _split_band_powers(_band_powers_psd(f, p.reshape(k * n_ch, -1), fs), k, n_ch)


def _split_band_powers(bp: BandPowers, k: int, n_ch: int) -> list[BandPowers]:
    fields = [getattr(bp, f.name) for f in dataclasses.fields(BandPowers)]
    return [BandPowers(*(a[i * n_ch : (i + 1) * n_ch] for a in fields)) for i in range(k)]
