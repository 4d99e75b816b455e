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

from dataclasses import dataclass

import numpy as np
from scipy import signal

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


def check_fs(fs: float) -> float:
    """Return ``fs`` as a float, or raise ``ValueError`` when it is not a positive finite number."""
    try:
        value = float(fs)
    except (TypeError, ValueError):
        raise ValueError(f"sampling rate must be a positive number of Hz, got {fs!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"sampling rate must be a positive number of Hz, got {fs!r}")
    return value


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
    design = np.column_stack([np.ones_like(lf), -lf])
    for c in range(n_ch):
        pc = psd[c, mask]
        if not np.all(np.isfinite(pc)) or np.any(pc <= 0):
            continue
        lp = np.log10(pc)
        coef, *_ = np.linalg.lstsq(design, lp, rcond=None)
        resid = lp - design @ coef
        keep = resid <= np.percentile(resid, 75)
        if keep.sum() >= 3:
            coef, *_ = np.linalg.lstsq(design[keep], lp[keep], rcond=None)
        offset[c], exponent[c] = coef
    return AperiodicFit(offset, exponent)


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
    for c in range(n_ch):
        r = resid_db[c]
        if not np.all(np.isfinite(r)):
            continue
        k = int(np.argmax(r))
        height[c] = r[k]
        # A clear peak: above the threshold and a local maximum inside the search range.
        if r[k] < MIN_ALPHA_PEAK_DB or k == 0 or k == r.size - 1:
            continue
        denom = r[k - 1] - 2 * r[k] + r[k + 1]
        shift = 0.5 * (r[k - 1] - r[k + 1]) / denom if denom < 0 else 0.0
        iaf[c] = freqs_hz[sel[k]] + float(np.clip(shift, -0.5, 0.5)) * df
    return iaf, height


def _band_sum(freqs_hz: np.ndarray, psd: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Power in ``[lo, hi)`` per channel (rectangle rule), ``lo``/``hi`` per channel."""
    df = freqs_hz[1] - freqs_hz[0]
    m = (freqs_hz[None, :] >= lo[:, None]) & (freqs_hz[None, :] < hi[:, None])
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
    abs_p = {}
    for name, (lo, hi) in BANDS_HZ.items():
        abs_p[name] = _band_sum(f, p, np.full(n_ch, lo), np.full(n_ch, min(hi, fs / 2 + 1e-9)))
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
    fit = fit_aperiodic(f, p, fs)
    iaf, _ = _alpha_peak(f, p, fit)
    centre = np.where(np.isfinite(iaf), iaf, 10.0)
    alpha = _band_sum(f, p, centre - 2.0, centre + 2.0)
    theta = _band_sum(f, p, centre - 6.0, centre - 2.0)
    beta = _band_sum(f, p, centre + 2.0, np.full(n_ch, min(30.0, fs / 2)))
    aperiodic = _band_sum(f[1:], fit.power(f[1:]), centre - 2.0, centre + 2.0)
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
    scores = relaxation_log_score(eeg, fs)
    if usable is not None:
        mask = np.asarray(usable, dtype=bool).reshape(-1)
        if mask.shape != scores.shape:
            raise ValueError(f"usable has {mask.size} entries for {scores.size} channels")
        scores = np.where(mask, scores, np.nan)
    if not np.any(np.isfinite(scores)):
        return float("nan")
    r = float(np.nanmedian(scores))
    return float(1.0 / (1.0 + np.exp(-(r - RELAXATION_CENTRE) / RELAXATION_SCALE)))
