"""Heart-rate variability from RR intervals: time domain, frequency domain, coherence, breathing.

All functions take RR intervals in milliseconds (clean them first with
:func:`biotrainer.dsp.rr.clean_rr`); non-finite entries and intervals outside
:data:`RR_RANGE_MS` (200-6000 ms) are dropped. When there
are too few beats for a metric it is NaN (documented per function), never an exception.

Spectral method: the RR series (each interval placed at the time of the beat that ends it) is
**resampled at 4 Hz by cubic spline** and analysed with Welch / Hann periodograms. This is the
Task Force (1996) practice used by Kubios and NeuroKit2, so absolute powers (ms²) are comparable
with theirs; Lomb-Scargle avoids the resampling but its power scaling and the leakage of its
uneven sampling make band powers less comparable, and on cleaned series (see ``clean_rr``) the
resampling loses nothing below 0.4 Hz at resting heart rates.

References
----------
Task Force of the European Society of Cardiology and the North American Society of Pacing and
Electrophysiology. Heart rate variability: standards of measurement, physiological
interpretation and clinical use. Circulation 1996;93:1043-1065.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft
from scipy import signal
from scipy.interpolate import CubicSpline

from biotrainer.dsp._peaks import local_maxima, parabolic_offset
from biotrainer.dsp.eeg import _hann

__all__ = [
    "HrvFrequency",
    "HrvTime",
    "breathing_rate",
    "coherence",
    "heart_rate",
    "hrv_frequency",
    "hrv_time",
    "rmssd",
]

_RESAMPLE_HZ = 4.0
_VLF = (0.0033, 0.04)
_LF = (0.04, 0.15)
_HF = (0.15, 0.4)
_COHERENCE_PEAK_BAND = (0.04, 0.26)
_COHERENCE_TOTAL_BAND = (0.0033, 0.4)
_COHERENCE_HALF_WIDTH = 0.015
_NFFT_MIN = 8192  # zero padding: ~0.0005 Hz bins at 4 Hz


#: RR intervals outside this range (ms) are not heartbeats (300-10 bpm): a gap in the data or a
#: corrupt value. They are dropped before any metric, so one absurd value cannot dominate a
#: spectrum or ask for terabytes of resampled series.
RR_RANGE_MS = (200.0, 6000.0)


def _rr(rr_ms: np.ndarray) -> np.ndarray:
    x = np.asarray(rr_ms, dtype=np.float64).ravel()
    return x[np.isfinite(x) & (x >= RR_RANGE_MS[0]) & (x <= RR_RANGE_MS[1])]


@dataclass(frozen=True)
class HrvTime:
    """Time-domain HRV (Task Force 1996).

    Attributes
    ----------
    mean_rr : float
        Mean RR interval, ms.
    mean_hr : float
        Mean heart rate, beats/min (60000 / mean_rr).
    sdnn : float
        Standard deviation of the RR intervals (ddof=1), ms.
    rmssd : float
        Root mean square of successive RR differences, ms.
    pnn50 : float
        Percentage of successive differences larger than 50 ms, %.
    """

    mean_rr: float
    mean_hr: float
    sdnn: float
    rmssd: float
    pnn50: float


def hrv_time(rr_ms: np.ndarray) -> HrvTime:
    """Time-domain HRV of an RR series (Task Force 1996 definitions).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms.

    Returns
    -------
    HrvTime
        ``mean_rr``/``mean_hr`` need 1 interval, ``sdnn``/``rmssd``/``pnn50`` need 2; missing
        ones are NaN.
    """
    rr = _rr(rr_ms)
    nan = float("nan")
    if rr.size == 0:
        return HrvTime(nan, nan, nan, nan, nan)
    mean_rr = float(rr.mean())
    if rr.size < 2:
        return HrvTime(mean_rr, 60000.0 / mean_rr, nan, nan, nan)
    d = np.diff(rr)
    return HrvTime(
        mean_rr=mean_rr,
        mean_hr=60000.0 / mean_rr,
        sdnn=float(rr.std(ddof=1)),
        rmssd=_rmssd(d),
        pnn50=float(100.0 * np.mean(np.abs(d) > 50.0)),
    )


def _rmssd(d: np.ndarray) -> float:
    return float(np.sqrt(np.mean(d * d)))


def rmssd(rr_ms: np.ndarray) -> float:
    """RMSSD alone: the ``rmssd`` of :func:`hrv_time` (Task Force 1996: root mean square of the
    successive differences of the RR intervals, ms) without the other metrics, for the engine,
    which needs it after every beat.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms.

    Returns
    -------
    float
        ms; NaN with fewer than 2 intervals.
    """
    rr = _rr(rr_ms)
    return _rmssd(np.diff(rr)) if rr.size >= 2 else float("nan")


def heart_rate(rr_ms: np.ndarray, window_s: float = 10.0) -> float:
    """Heart rate (beats/min) over the last ``window_s`` seconds: beats counted over time.

    The intervals of the last ``window_s`` are counted over that time, the oldest of them in
    the part that lies inside it (fewer intervals than the window: all of them over their
    sum), as a monitor counts beats. Pass intervals whose count
    is corrected but not their values (``clean_rr(...).counted_ms``): in bigeminy or atrial
    fibrillation a median of recent intervals, or intervals interpolated around ectopic
    beats, give a rate far from the number of beats (a review: 125 against 85 beats/min on
    MIT-BIH 106).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms, oldest first.
    window_s : float
        Span counted over, s.

    Returns
    -------
    float
        Beats per minute; NaN without an interval.
    """
    rr = np.asarray(rr_ms, dtype=np.float64).ravel()
    if rr.size == 0:
        return float("nan")
    span = window_s * 1000.0
    total, count = 0.0, 0.0
    for value in rr[-64:][::-1].tolist():  # (a few dozen values: plain Python is quicker)
        if total + value >= span:
            return 60000.0 * (count + (span - total) / value) / span
        total += value
        count += 1.0
    return 60000.0 * count / total


def _resampled(rr: np.ndarray, window_s: float | None = None) -> np.ndarray | None:
    """RR (ms) resampled at 4 Hz over the last ``window_s`` seconds (all if None)."""
    t = np.cumsum(rr) / 1000.0
    if window_s is not None:
        keep = t >= t[-1] - window_s
        # keep one beat before the window so the spline covers its start
        first = max(0, int(np.argmax(keep)) - 1)
        t, rr = t[first:], rr[first:]
    if rr.size < 4:
        return None
    start = t[-1] - window_s if window_s is not None and t[0] <= t[-1] - window_s else t[0]
    grid = np.arange(start, t[-1], 1.0 / _RESAMPLE_HZ)
    if grid.size < 8:
        return None
    return CubicSpline(t, rr)(grid)


def _band_power(f: np.ndarray, p: np.ndarray, lo: float, hi: float) -> float:
    """Trapezoidal power (ms²) of the bins of the ascending frequencies ``f`` in ``[lo, hi)``
    (0 with fewer than 2 bins)."""
    sel = _bins(f, lo, hi)
    if sel.stop - sel.start < 2:
        return 0.0
    return float(np.trapezoid(p[sel], f[sel]))


@dataclass(frozen=True)
class HrvFrequency:
    """Frequency-domain HRV (Task Force 1996 bands).

    Attributes
    ----------
    vlf, lf, hf : float
        Power (ms²) in 0.0033-0.04, 0.04-0.15 and 0.15-0.4 Hz.
    lf_hf : float
        lf / hf (dimensionless).
    lf_nu, hf_nu : float
        lf and hf in normalised units, 100 * x / (lf + hf), %.
    lf_peak_hz : float
        Frequency of the largest spectral value in the LF band, Hz.
    """

    vlf: float
    lf: float
    hf: float
    lf_hf: float
    lf_nu: float
    hf_nu: float
    lf_peak_hz: float


def hrv_frequency(rr_ms: np.ndarray) -> HrvFrequency:
    """Frequency-domain HRV: Welch PSD of the 4 Hz cubic-spline-resampled RR series.

    Welch: Hann windows of min(256 s, whole series) with 50 % overlap, linear detrend per
    segment, density scaling, band powers by trapezoidal integration (ms²).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms; at least 60 s of beats (Task Force: 1 min for HF, 2 min for LF,
        5 min for VLF; shorter spans give noisier LF/VLF).

    Returns
    -------
    HrvFrequency
        All fields NaN when the series spans less than 60 s or has fewer than 10 intervals.
    """
    rr = _rr(rr_ms)
    nan = float("nan")
    empty = HrvFrequency(nan, nan, nan, nan, nan, nan, nan)
    if rr.size < 10 or rr.sum() < 60000.0:
        return empty
    x = _resampled(rr)
    if x is None:
        return empty
    nperseg = min(x.size, int(256 * _RESAMPLE_HZ))
    f, p = signal.welch(
        x,
        fs=_RESAMPLE_HZ,
        window="hann",
        nperseg=nperseg,
        noverlap=nperseg // 2,
        nfft=max(nperseg, 2048),
        detrend="linear",
        scaling="density",
    )
    vlf = _band_power(f, p, *_VLF)
    lf = _band_power(f, p, *_LF)
    hf = _band_power(f, p, *_HF)
    lf_sel = (f >= _LF[0]) & (f < _LF[1])
    lf_peak = float(f[lf_sel][np.argmax(p[lf_sel])])
    total = lf + hf
    if total <= 1e-12 * float(np.mean(rr)) ** 2:  # no variability: ratios are undefined
        hf = total = 0.0
    return HrvFrequency(
        vlf=vlf,
        lf=lf,
        hf=hf,
        lf_hf=lf / hf if hf > 0 else nan,
        lf_nu=100.0 * lf / total if total > 0 else nan,
        hf_nu=100.0 * hf / total if total > 0 else nan,
        lf_peak_hz=lf_peak,
    )


def _periodogram(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hann periodogram (density, ms²/Hz) of a linearly detrended series, zero padded.

    ``scipy.signal.periodogram(x, 4, "hann", nfft, detrend="linear", scaling="density")``
    (equal to rounding) with the window cached and the straight line removed in closed form:
    it runs for every coherence and breathing-rate update of a session.
    """
    n = x.size
    nfft = max(_NFFT_MIN, 1 << int(np.ceil(np.log2(n))))
    t = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    d = x - x.mean() - (x @ t) / (t @ t) * t if n > 1 else x - x.mean()
    win, ss = _hann(n)
    spec = sp_fft.rfft(d * win, n=nfft)
    p = spec.real * spec.real + spec.imag * spec.imag
    p *= 1.0 / (_RESAMPLE_HZ * ss)
    if nfft % 2:
        p[1:] *= 2.0
    else:
        p[1:-1] *= 2.0
    return _rfftfreq(nfft), p


@functools.lru_cache(maxsize=8)
def _rfftfreq(nfft: int) -> np.ndarray:
    """Frequencies (Hz, ascending) of the bins of :func:`_periodogram` (cached, read-only)."""
    f = sp_fft.rfftfreq(nfft, 1.0 / _RESAMPLE_HZ)
    f.setflags(write=False)
    return f


def _bins(f: np.ndarray, lo: float, hi: float, closed: bool = False) -> slice:
    """The bins of the ascending frequencies ``f`` in ``[lo, hi)`` (``[lo, hi]`` if
    ``closed``), as a slice: the same bins as the mask ``(f >= lo) & (f < hi)``."""
    a = int(np.searchsorted(f, lo, "left"))
    b = int(np.searchsorted(f, hi, "right" if closed else "left"))
    return slice(a, max(a, b))


def coherence(rr_ms: np.ndarray, window_s: float = 64.0) -> float:
    """HeartMath-style cardiac coherence ratio over the last ``window_s`` seconds.

    Definition (McCraty et al. 2009): on the HRV power spectrum of the last 64 s, find the
    highest peak in 0.04-0.26 Hz; *peak power* is the power within ±0.015 Hz of it; *total
    power* is the power in 0.0033-0.4 Hz; coherence ratio = peak power / (total power - peak
    power). Here the spectrum is a Hann periodogram of the 4 Hz cubic-spline-resampled,
    linearly detrended RR series, zero padded to ~0.0005 Hz bins.

    A sinusoidal RR rhythm (slow paced breathing) gives ratios well above 1; white-noise RR
    gives a ratio near 0.3 (the ±0.015 Hz band is ~8 % of the total band).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms; the last ``window_s`` seconds are used.
    window_s : float
        Analysis window, s (64 s in the published definition).

    Returns
    -------
    float
        The ratio (dimensionless, >= 0); NaN when the series is shorter than 90 % of the
        window or has fewer than 10 intervals.

    References
    ----------
    McCraty R, Atkinson M, Tomasino D, Bradley RT. The coherent heart: heart-brain
    interactions, psychophysiological coherence, and the emergence of system-wide order.
    Integral Review 2009;5(2):10-115.
    """
    rr = _rr(rr_ms)
    if rr.size < 10 or rr.sum() < 0.9 * window_s * 1000.0:
        return float("nan")
    x = _resampled(rr, window_s)
    if x is None:
        return float("nan")
    f, p = _periodogram(x)
    sel = _bins(f, *_COHERENCE_PEAK_BAND, closed=True)
    f_peak = float(f[sel.start + int(np.argmax(p[sel]))])
    lo, hi = _COHERENCE_TOTAL_BAND
    total = _band_power(f, p, lo, hi)
    peak = _band_power(
        f, p, max(lo, f_peak - _COHERENCE_HALF_WIDTH), min(hi, f_peak + _COHERENCE_HALF_WIDTH)
    )
    rest = total - peak
    if rest <= 0:
        return float("inf") if peak > 0 else float("nan")
    return peak / rest


def breathing_rate(
    rr_ms: np.ndarray, window_s: float = 60.0, band_hz: tuple[float, float] = (0.05, 0.5)
) -> float:
    """Breathing rate (breaths/min) from respiratory sinus arrhythmia in the RR series.

    The RR series of the last ``window_s`` seconds is resampled at 4 Hz (cubic spline),
    linearly detrended, Hann windowed and zero padded (~0.0005 Hz bins); the breathing
    frequency is the highest spectral peak in ``band_hz`` (default 0.05-0.5 Hz = 3-30
    breaths/min, capped below half the mean heart rate, the Nyquist rate of beat sampling),
    refined by parabolic interpolation of the log power around the peak bin (by at most half
    a bin, and kept inside the band). A peak is a bin above its lower neighbour and not below
    its upper one: a band edge on the slope of slower heart-rate waves is not taken for one.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms.
    window_s : float
        Analysis window, s (at least two breaths should fit: 60 s covers 3 breaths/min).
    band_hz : (float, float)
        Respiratory band searched, Hz.

    Returns
    -------
    float
        Breaths per minute, inside ``band_hz``; NaN when fewer than 20 s or 10 intervals are
        available, the band is empty or holds no peak.

    References
    ----------
    Schäfer A, Kratky KW. Estimation of breathing rate from respiratory sinus arrhythmia:
    comparison of various methods. Ann Biomed Eng 2008;36(3):476-485.
    """
    rr = _rr(rr_ms)
    if rr.size < 10 or rr.sum() < 20000.0:
        return float("nan")
    x = _resampled(rr, window_s)
    if x is None:
        return float("nan")
    f, p = _periodogram(x)
    mean_hr_hz = 1000.0 / float(np.mean(rr[-max(10, int(window_s)) :]))
    lo, hi = band_hz[0], min(band_hz[1], 0.5 * mean_hr_hz)
    sel = _bins(f, lo, hi, closed=True)
    if sel.stop - sel.start < 3:
        return float("nan")
    # the highest peak of the spectrum in the band: a bin above its lower neighbour and not
    # below its upper one (a band edge on a slope down from slower heart-rate waves is no peak)
    peaks = local_maxima(p, sel.start)
    peaks = peaks[peaks < sel.stop]
    if peaks.size == 0:
        return float("nan")
    k = int(peaks[np.argmax(p[peaks])])
    freq = float(f[k])
    if np.all(p[k - 1 : k + 2] > 0):
        freq += parabolic_offset(*np.log(p[k - 1 : k + 2])) * (f[1] - f[0])
    return 60.0 * min(max(freq, lo), hi)
