"""Signal quality per channel, and the rule that keeps artifacts from being rewarded.

:func:`signal_quality` looks at one window (about 1 s is typical, from a ring buffer: see
:class:`StreamingQuality`) and reports per channel: NaN/Inf present, flat, railed (clipped), mains
line noise (50 or 60 Hz, detected), EMG contamination (jaw clench, EEG only) and blink / motion
deflections (EEG only), with an overall ``usable`` flag and a short reason.

:func:`gate_feedback` (and the stateful :class:`FeedbackGate`) turn the quality into the rule the
engine applies: while an artifact is present the feedback may fall but never rise.

Thresholds are in µV for EEG (the unit BrainFlow delivers) and are documented in
:class:`QualityThresholds`; they are generic physiological bounds, not fitted to one recording.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field, fields

import numpy as np

from biotrainer.dsp.eeg import _periodograms, as_channels, linear_detrend, welch_density
from biotrainer.dsp.filters import IMPOSSIBLE_ABS, check_fs

KINDS = ("eeg", "ecg", "ppg")


@dataclass(frozen=True)
class QualityThresholds:
    """Thresholds of :func:`signal_quality`; the defaults are for EEG in µV.

    Attributes
    ----------
    flat_std_uv : float
        A channel whose standard deviation is below this is flat (EEG: 0.5 µV — even a quiet
        scalp EEG has several µV RMS; a disconnected amplifier input with a shorted or
        saturated reference has less). For ECG/PPG the default is 0: only exactly constant
        signals, or signals that do not change in >= 90 % of sample steps, are flat, since their
        units vary by device.
    rail_fraction : float
        Railed when at least this fraction (5 %) of the samples are clipped: equal to the
        window's own maximum (or minimum) where that value piles up — at least 3 samples and
        twice as many as take the values within 5 % of the range inside it (an ADC or amplifier
        stuck at its limit repeats the same code, while a real crest passes through the
        neighbouring values too) — or, when ``adc_limits`` are given to
        :func:`signal_quality`, within 1 % of the range from either limit.
    line_noise_db : float
        Mains is reported (``line_noise_hz`` 50 or 60) when the power at that frequency exceeds
        the median of its neighbours (±2–6 Hz, those below the Nyquist frequency: at 128 Hz,
        60 Hz against 54–58 and 62–64 Hz) by at least this many dB (10 dB); ``line_noise``
        is flagged at 20 dB. Line noise alone does not make a channel unusable (the live alpha
        value notches 50/60 Hz and their harmonics out of its input, and the EEG bands stop at
        45 Hz).
    emg_rms_uv : float
        EEG only: EMG when the RMS amplitude in 30–45 Hz exceeds this (10 µV). Scalp EEG there is
        about 1–3 µV RMS; a jaw clench or frown adds tens of µV of broadband muscle activity.
        The 30–45 Hz band stays below 50/60 Hz mains and exists from fs = 100 Hz up.
    blink_ptp_uv : float
        EEG only: blink / motion when the low-frequency deflection (linear detrend, 100 ms moving
        average: < ~5 Hz, alpha and mains nulled at every sampling rate) spans more than this
        peak-to-peak (150 µV).
        Frontal blinks are 100–400 µV; slow EEG rarely exceeds 100 µV.
    """

    flat_std_uv: float = 0.5
    rail_fraction: float = 0.05
    line_noise_db: float = 10.0
    line_noise_flag_db: float = 20.0
    emg_rms_uv: float = 10.0
    blink_ptp_uv: float = 150.0

    @classmethod
    def for_kind(cls, kind: str) -> QualityThresholds:
        """Default thresholds for ``kind`` ("eeg", "ecg" or "ppg")."""
        if kind == "eeg":
            return cls()
        return cls(flat_std_uv=0.0)


#: Shortest window :func:`signal_quality` judges (s); shorter ones are reported not usable.
MIN_QUALITY_WINDOW_S = 0.5
#: EMG band (Hz) of EEG.
EMG_BAND_HZ = (30.0, 45.0)
#: Moving-average length (s) of the blink/motion measure: 100 ms nulls 10 Hz (alpha) and every
#: multiple of 10 Hz, so both 50 and 60 Hz mains, and passes the 0.5-4 Hz blink waveform (when
#: 100 ms is not a whole number of samples, see :func:`_fractional_average_ptp`).
BLINK_SMOOTH_S = 0.1
MAINS_HZ = (50.0, 60.0)


@dataclass(frozen=True, eq=False)
class SignalQuality:
    """Per-channel quality of one window (arrays of shape ``(channels,)``).

    Attributes
    ----------
    kind : str
        "eeg", "ecg" or "ppg".
    nonfinite, flat, railed, line_noise, emg, blink : np.ndarray of bool
        The individual findings (``emg`` and ``blink`` are always False for ECG/PPG).
    line_noise_hz : np.ndarray of float
        50.0 or 60.0 where mains was detected, else NaN.
    line_noise_db : np.ndarray of float
        Mains peak over its neighbours (dB) at the stronger of 50/60 Hz.
    emg_rms_uv : np.ndarray of float
        RMS in 30–45 Hz (EEG; NaN otherwise).
    blink_ptp_uv : np.ndarray of float
        Peak-to-peak low-frequency deflection (EEG; NaN otherwise), see ``blink_ptp_uv`` of
        :class:`QualityThresholds`.
    usable : np.ndarray of bool
        No NaN/Inf, not flat, not railed, no EMG, no blink/motion.
    reasons : tuple of str
        Per channel: "ok" or the findings joined by ", ".
    """

    kind: str
    nonfinite: np.ndarray
    flat: np.ndarray
    railed: np.ndarray
    line_noise: np.ndarray
    line_noise_hz: np.ndarray
    line_noise_db: np.ndarray
    emg: np.ndarray
    emg_rms_uv: np.ndarray
    blink: np.ndarray
    blink_ptp_uv: np.ndarray
    usable: np.ndarray
    reasons: tuple[str, ...] = field(default=())

    @property
    def n_channels(self) -> int:
        """Number of channels judged."""
        return int(self.usable.size)

    @functools.cached_property
    def blocked(self) -> bool:
        """:func:`feedback_blocked` of this verdict (computed once)."""
        return _blocked(self.usable, self.nonfinite | self.flat | self.railed, self.artifact)

    @property
    def artifact(self) -> np.ndarray:
        """Transient artifacts per channel: EMG or blink/motion."""
        return self.emg | self.blink

    @property
    def reason(self) -> str:
        """One line for people: "ok" or e.g. "ch 1: EMG; ch 3: flat"."""
        bad = [f"ch {i}: {r}" for i, r in enumerate(self.reasons) if r != "ok"]
        return "; ".join(bad) if bad else "ok"


def _clipped_fraction(x: np.ndarray, adc_limits: tuple[float, float] | None) -> np.ndarray:
    """Fraction of samples judged clipped per row of ``x`` ``(rows, samples)`` (see
    :attr:`QualityThresholds.rail_fraction`)."""
    hi_, lo_ = x.max(axis=1), x.min(axis=1)
    at_hi, at_lo = x == hi_[:, None], x == lo_[:, None]
    n_hi, n_lo = at_hi.sum(axis=1), at_lo.sum(axis=1)
    if adc_limits is None:
        # a pile-up needs 3 samples at an extreme: only those rows are looked at further
        rows = np.flatnonzero((n_hi >= 3) | (n_lo >= 3))
        out = np.zeros(x.shape[0])
        if rows.size:
            out[rows] = _clip_hits(x[rows], hi_[rows], lo_[rows], at_hi[rows], at_lo[rows],
                                   n_hi[rows], n_lo[rows]).mean(axis=1)  # fmt: skip
        return out
    hits = _clip_hits(x, hi_, lo_, at_hi, at_lo, n_hi, n_lo)
    lo, hi = float(adc_limits[0]), float(adc_limits[1])
    margin = 0.01 * (hi - lo)
    hits |= (x <= lo + margin) | (x >= hi - margin)
    return hits.mean(axis=1)


def _clip_hits(x, hi_, lo_, at_hi, at_lo, n_hi, n_lo) -> np.ndarray:
    """Samples sitting in a pile-up at the row's maximum or minimum (see
    :func:`_clipped_fraction`)."""
    hits = np.zeros(x.shape, dtype=bool)
    span = (hi_ - lo_)[:, None]
    for extreme, at, n_at in ((hi_[:, None], at_hi, n_hi), (lo_[:, None], at_lo, n_lo)):
        # "Just inside" the extreme: within 5 % of the range, or up to the next value the
        # signal takes when its quantisation step is coarser than that (a quiet signal on a
        # 10-bit headset spans a dozen steps), but never beyond a quarter of the range.
        others = np.where(at, np.nan, x)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # (rows all at the extreme)
            step = np.nanmin(np.abs(others - extreme), axis=1, keepdims=True)
        reach = np.maximum(0.05 * span, np.where(step <= 0.25 * span, step, 0.0))
        near = ((np.abs(x - extreme) <= reach) & ~at).sum(axis=1)
        # a pile-up at the extreme: a clipped signal sits on the rail and crosses the values
        # just inside it quickly; a smooth (even coarsely quantised) crest does not pile up
        pile = (n_at >= 3) & (n_at >= 2 * near)
        hits |= at & pile[:, None]
    return hits


def _low_frequency_ptp(x: np.ndarray, fs: float, detrended: np.ndarray | None = None) -> np.ndarray:
    """Peak-to-peak per row of the linearly detrended window after a 100 ms moving average.

    ``x`` has shape ``(channels, samples)`` (finite); ``detrended``: ``linear_detrend(x)`` when
    the caller has it. The moving average is applied in "valid" mode (no edge transients,
    unlike a zero-phase IIR on a short window carrying strong mains). When 100 ms is not a
    whole number of samples (128, 256, 512 Hz...) it is :func:`_fractional_average_ptp`.
    """
    d = linear_detrend(x) if detrended is None else detrended
    length = BLINK_SMOOTH_S * fs
    k = max(1, int(round(length)))
    if abs(length - k) > 1e-6:
        return _fractional_average_ptp(d, length)
    if d.shape[-1] <= k:
        return np.ptp(d, axis=-1)
    # running sums of k samples from the cumulative sum: c[j] = d[0] + ... + d[j] (the sum
    # from a leading 0 has the same values), window j = c[j + k - 1] - c[j - 1]
    c = np.cumsum(d, axis=-1)
    sums = c[:, k:] - c[:, :-k]
    first = c[:, k - 1]
    # ptp of sums / k: dividing is monotone, so the extremes of the quotients are the
    # quotients of the extremes (the same values, fewer passes over the window)
    hi = np.maximum(np.max(sums, axis=-1), first)
    lo = np.minimum(np.min(sums, axis=-1), first)
    return hi / k - lo / k


def _fractional_average_ptp(d: np.ndarray, length: float) -> np.ndarray:
    """Peak-to-peak per row of ``d`` after a moving average of ``length`` samples (not whole).

    The average spans ``int(length)`` whole samples plus half the remainder at each end: it
    lasts exactly 100 ms and passes only a few % of 10 Hz and its multiples, most near the
    Nyquist frequency, where mains lies at low rates (60 Hz at 125 or 128 Hz); a two-sample
    average after it removes that. 50/60 Hz mains then passes at most about 0.5 % from 120 Hz
    up (0.3 % at 128, 256 and 512 Hz; with a whole number of samples: 0 at exactly 50/60 Hz,
    0.4 % at 0.2 Hz off), and the 0.5-4 Hz blink waveform as with a whole number of samples.
    """
    k = int(length)
    half = (length - k) / 2.0
    if d.shape[-1] <= k + 2:
        return np.ptp(d, axis=-1)
    c = np.cumsum(d, axis=-1)
    # window j: d[j + 1] + ... + d[j + k] = c[j + k] - c[j], plus half the remainder times
    # d[j] and d[j + k + 1]
    sums = c[..., k:-1] - c[..., : -k - 1] + half * (d[..., : -k - 1] + d[..., k + 1 :])
    pairs = sums[..., 1:] + sums[..., :-1]
    return (np.max(pairs, axis=-1) - np.min(pairs, axis=-1)) / (2.0 * length)


def _median_rows(x: np.ndarray) -> np.ndarray:
    """``np.median(x, axis=1)`` (the middle value, or the mean of the middle two) with one
    sort and without numpy's per-call machinery: the same values. Rows with NaN go through
    numpy itself."""
    n = x.shape[1]
    if n == 0 or np.isnan(x).any():
        return np.median(x, axis=1)
    s = np.sort(x, axis=1)
    m = n // 2
    return s[:, m].copy() if n % 2 else (s[:, m - 1] + s[:, m]) / 2.0


def _line_noise(f: np.ndarray, p: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """(mains Hz or NaN, peak over neighbours in dB) per row of the PSDs ``p``."""
    rows = p.shape[0]
    best_hz, best_db = np.full(rows, np.nan), np.full(rows, -np.inf)
    for f0 in MAINS_HZ:
        # up to the Nyquist frequency: at 128 Hz, 60 Hz against 54-58 and 62-64 Hz
        at = (f >= f0 - 1.0) & (f <= f0 + 1.0)
        near = ((f >= f0 - 6.0) & (f <= f0 - 2.0)) | ((f >= f0 + 2.0) & (f <= f0 + 6.0))
        if f0 >= fs / 2 or not at.any() or not near.any():
            continue
        peak = p[:, at].max(axis=1)
        ref = _median_rows(p[:, near])
        ok = (ref > 0) & (peak > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            db = np.where(ok, 10.0 * np.log10(np.where(ok, peak / np.where(ok, ref, 1.0), 1.0)),
                          -np.inf)  # fmt: skip
        better = db > best_db
        best_hz = np.where(better, f0, best_hz)
        best_db = np.where(better, db, best_db)
    return best_hz, best_db


def _too_short(data: np.ndarray, kind: str) -> SignalQuality:
    n_ch = data.shape[0]
    z = np.zeros(n_ch, dtype=bool)
    nan = np.full(n_ch, np.nan)
    nonfinite = ~np.all(np.isfinite(data), axis=1)
    return SignalQuality(
        kind, nonfinite, z, z.copy(), z.copy(), nan, nan.copy(), z.copy(), nan.copy(), z.copy(),
        nan.copy(), z.copy(), tuple(["window too short"] * n_ch),
    )  # fmt: skip


#: Lowest sampling rate judged (Hz): slow consumer PPG is 25 Hz; below 10 Hz no check here holds.
MIN_QUALITY_FS_HZ = 10.0


def _check_quality_fs(fs: float) -> float:
    fs = check_fs(fs)
    if fs < MIN_QUALITY_FS_HZ:
        raise ValueError(
            f"sampling rate {fs:g} Hz is too low for a signal-quality check "
            f"(at least {MIN_QUALITY_FS_HZ:g} Hz)"
        )
    return fs


def signal_quality(
    x: np.ndarray,
    fs: float,
    kind: str = "eeg",
    *,
    thresholds: QualityThresholds | None = None,
    adc_limits: tuple[float, float] | None = None,
) -> SignalQuality:
    """Judge the quality of each channel of one window.

    Parameters
    ----------
    x : np.ndarray
        Window, shape ``(channels, samples)`` or ``(samples,)``; EEG in µV. About 1 s is the
        intended length; at least :data:`MIN_QUALITY_WINDOW_S` (shorter: every channel is
        reported not usable, reason "window too short").
    fs : float
        Sampling rate in Hz (``ValueError`` if not positive and finite).
    kind : {"eeg", "ecg", "ppg"}
        Signal type; EMG and blink checks apply to EEG only.
    thresholds : QualityThresholds, optional
        Defaults: :meth:`QualityThresholds.for_kind`.
    adc_limits : (low, high), optional
        The device's input range in the same unit as ``x`` (e.g. ±187500 µV for an OpenBCI
        Cyton at gain 24), to flag samples near the rails.

    Returns
    -------
    SignalQuality
        Channels with NaN/Inf are reported with ``nonfinite`` and no other measurement.
    """
    data = as_channels(x)
    return signal_quality_windows(
        data[None], fs, kind, thresholds=thresholds, adc_limits=adc_limits
    )[0]


def signal_quality_windows(
    windows: np.ndarray,
    fs: float,
    kind: str = "eeg",
    *,
    thresholds: QualityThresholds | None = None,
    adc_limits: tuple[float, float] | None = None,
) -> list[SignalQuality]:
    """:func:`signal_quality` of several windows of equal shape at once.

    ``windows`` has shape ``(n_windows, channels, samples)``; the result is one
    :class:`SignalQuality` per window, the same as calling :func:`signal_quality` on each (one
    Welch call and array operations over every channel of every window: what an accelerated
    replay uses).
    """
    fs = _check_quality_fs(fs)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    th = thresholds if thresholds is not None else QualityThresholds.for_kind(kind)
    w = np.asarray(windows, dtype=np.float64)
    if w.ndim != 3:
        raise ValueError(f"expected windows of shape (n, channels, samples), got {w.shape}")
    n_win, n_ch, n = w.shape
    if n_win == 0:
        return []
    if n < MIN_QUALITY_WINDOW_S * fs or n < 8:
        return [_too_short(w[i], kind) for i in range(n_win)]
    data = w.reshape(n_win * n_ch, n)
    rows = data.shape[0]
    nperseg = min(n, int(round(fs)))  # 1 Hz resolution
    is_eeg = kind == "eeg"
    # usable numbers only: NaN, inf and impossibly large values (IMPOSSIBLE_ABS, whose squares
    # overflow) make a row "nonfinite"
    with np.errstate(invalid="ignore"):  # (NaN rows compare False)
        finite = np.maximum(data.max(axis=1), -data.min(axis=1)) <= IMPOSSIBLE_ABS
    # such rows: zeros here, reported below
    safe = data if finite.all() else np.where(finite[:, None], data, 0.0)
    # One Welch call for every channel of every window. A window of one segment (the usual
    # 1 s) is detrended once for both the spectrum and the blink measure.
    detrended = None
    if nperseg == n:
        detrended = linear_detrend(safe)
        f, psd = _periodograms(safe[:, None, :], fs, detrended[:, None, :])
        psd = psd[:, 0, :]
    else:
        f, psd = welch_density(safe, fs, nperseg)
    nonfinite = ~finite
    std = np.std(safe, axis=1)
    # the fraction of steps without change (``np.mean(np.diff(safe, axis=1) == 0, axis=1)``:
    # finite values differ by 0 exactly when they are equal; a count over n - 1 is that mean)
    still = np.count_nonzero(safe[:, 1:] == safe[:, :-1], axis=1) / (n - 1)
    flat = finite & ((std <= th.flat_std_uv) | (std == 0.0) | (still >= 0.9))
    live = finite & ~flat  # rows measured further
    railed = live & (_clipped_fraction(safe, adc_limits) >= th.rail_fraction)
    hz, db = _line_noise(f, psd, fs)
    nan = np.full(rows, np.nan)
    line_db = np.where(live, db, nan)
    line_hz = np.where(live & (db >= th.line_noise_db), hz, nan)
    line = live & (db >= th.line_noise_flag_db)
    emg = np.zeros(rows, dtype=bool)
    blink = np.zeros(rows, dtype=bool)
    emg_rms = nan.copy()
    blink_ptp = nan.copy()
    if is_eeg:
        hi = min(EMG_BAND_HZ[1], 0.45 * fs)
        band = (f >= EMG_BAND_HZ[0]) & (f < hi)
        if band.any():
            rms = np.sqrt(psd[:, band].sum(axis=1) * (f[1] - f[0]))
            emg_rms = np.where(live, rms, nan)
            emg = live & (rms > th.emg_rms_uv)
        ptp = _low_frequency_ptp(safe, fs, detrended)
        blink_ptp = np.where(live, ptp, nan)
        blink = live & (ptp > th.blink_ptp_uv)
    usable = ~(nonfinite | flat | railed | emg | blink)
    reasons = np.full(rows, "ok", dtype=object)
    reasons[nonfinite] = "NaN/Inf or impossible samples"
    reasons[flat] = "flat"
    for r in np.flatnonzero(railed | line | emg | blink):
        found: list[str] = []
        if railed[r]:
            found.append("railed/clipped")
        if line[r]:
            found.append(f"{hz[r]:.0f} Hz mains {db[r]:.0f} dB")
        if emg[r]:
            found.append(f"EMG {emg_rms[r]:.0f} µV")
        if blink[r]:
            found.append(f"blink/motion {blink_ptp[r]:.0f} µV")
        reasons[r] = ", ".join(found)
    per_channel = (nonfinite, flat, railed, line, line_hz, line_db, emg, emg_rms, blink,
                   blink_ptp, usable)  # fmt: skip
    # one verdict per window: rows of (windows, channels) views, set without the frozen
    # dataclass's per-field __setattr__ (an accelerated replay makes 14,400 per hour)
    by_window = [a.reshape(n_win, n_ch) for a in per_channel]
    texts = reasons.reshape(n_win, n_ch).tolist()
    shape = (n_win, n_ch)
    blocked = _blocked(usable.reshape(shape), (nonfinite | flat | railed).reshape(shape),
                       (emg | blink).reshape(shape)).tolist()  # fmt: skip
    out = []
    # per window, its row of every field (the same views as indexing each array by window)
    rows_of = zip(*(list(a) for a in by_window), strict=True)
    for per, text, blocks in zip(rows_of, texts, blocked, strict=True):
        q = object.__new__(SignalQuality)
        d = q.__dict__
        d.update(zip(_QUALITY_FIELDS, (kind, *per, tuple(text)), strict=True))
        d["blocked"] = blocks  # (the cached property, found for all windows at once)
        out.append(q)
    return out


#: The fields of SignalQuality in order (what signal_quality_windows sets).
_QUALITY_FIELDS = tuple(f.name for f in fields(SignalQuality))


def feedback_blocked(quality: SignalQuality) -> bool:
    """True when the feedback must not rise (see :func:`gate_feedback`).

    Blocked when no channel is usable, or when transient artifacts (EMG, blink/motion) affect at
    least half of the channels that are not persistently broken (flat, railed, NaN/Inf). A jaw
    clench reaches every channel, so it always blocks; a blink on one frontal channel of four
    only removes that channel from the index.
    """
    return quality.blocked


def _blocked(usable: np.ndarray, broken: np.ndarray, artifact: np.ndarray):
    """The rule of :func:`feedback_blocked` on the last axis (one verdict per row, or a bool
    for 1-D arrays): no channel usable, or artifacts on at least half of the channels that
    are not broken."""
    alive = ~broken
    n_alive = np.count_nonzero(alive, axis=-1)
    hit = np.count_nonzero(artifact & alive, axis=-1)
    out = ~usable.any(axis=-1) | (n_alive == 0) | (hit * 2 >= n_alive)
    return bool(out) if out.ndim == 0 else out


def gate_feedback(value: float, quality: SignalQuality, last_clean: float) -> float:
    """Apply the never-reward-artifacts rule to one feedback value.

    Parameters
    ----------
    value : float
        The new feedback value (e.g. :func:`~biotrainer.dsp.eeg.relaxation_index` computed with
        ``usable=quality.usable``).
    quality : SignalQuality
        Quality of the window the value came from.
    last_clean : float
        The last value produced while the signal was clean (NaN if none yet).

    Returns
    -------
    float
        ``value`` when the signal is clean; otherwise ``min(value, last_clean)`` — the feedback
        may fall during an artifact but never rise — or NaN (no feedback) when neither is finite.
    """
    if not feedback_blocked(quality) and np.isfinite(value):
        return float(value)
    if np.isfinite(value) and np.isfinite(last_clean):
        return float(min(value, last_clean))
    return float("nan")


class FeedbackGate:
    """Stateful :func:`gate_feedback`: remembers the last clean value.

    ``push(value, quality) -> float`` returns the gated value; ``reset()`` forgets it.
    """

    def __init__(self) -> None:
        self._last_clean = float("nan")

    def reset(self) -> None:
        """Forget the last clean value."""
        self._last_clean = float("nan")

    def push(self, value: float, quality: SignalQuality) -> float:
        """Gate ``value`` by ``quality`` (see :func:`gate_feedback`)."""
        out = gate_feedback(value, quality, self._last_clean)
        if not feedback_blocked(quality) and np.isfinite(value):
            self._last_clean = float(value)
        return out


class StreamingQuality:
    """Quality of the last ``window_s`` seconds, re-evaluated every ``every_s`` seconds.

    Keeps a ring buffer of the last window per channel and calls :func:`signal_quality` on it;
    cost per evaluation is one 1-s Welch PSD and one 100 ms moving average per channel
    (well under a millisecond per channel at 250 Hz), so at the default 4 evaluations per second
    it is negligible next to the display.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    n_channels : int
        Channels per chunk.
    kind : {"eeg", "ecg", "ppg"}
    window_s, every_s : float
        Window length (default 1 s) and evaluation interval (default 0.25 s).
    **kwargs
        Passed to :func:`signal_quality` (``thresholds``, ``adc_limits``).
    """

    def __init__(
        self,
        fs: float,
        n_channels: int,
        kind: str = "eeg",
        window_s: float = 1.0,
        every_s: float = 0.25,
        **kwargs: object,
    ) -> None:
        self.fs = _check_quality_fs(fs)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        self.kind = kind
        self.n_channels = int(n_channels)
        self._n_win = max(8, int(round(window_s * self.fs)))
        self._every = max(1, int(round(every_s * self.fs)))
        self._kwargs = kwargs
        self.reset()

    def reset(self) -> None:
        """Empty the buffer."""
        self._buf = np.zeros((self.n_channels, self._n_win))
        self._filled = 0
        self._since = 0
        self.latest: SignalQuality | None = None

    def push(self, chunk: np.ndarray) -> SignalQuality | None:
        """Add a chunk ``(channels, n)``; return a new quality when one was evaluated, else None.

        Until a full window has arrived nothing is evaluated (``latest`` stays None).
        """
        x = as_channels(chunk)
        return self.push_many(x, (x.shape[1],))[0]

    def push_many(self, chunk: np.ndarray, ends) -> list[SignalQuality | None]:
        """Add a chunk as consecutive pieces ending at sample counts ``ends`` (increasing, the
        last one the chunk's length); return what :meth:`push` returns for every piece (the
        evaluations are computed together, see :func:`signal_quality_windows`)."""
        x = as_channels(chunk)
        if x.shape[0] != self.n_channels:
            raise ValueError(f"expected {self.n_channels} channels, got {x.shape[0]}")
        ends = [int(e) for e in ends]
        nw = self._n_win
        evals: list[int] = []  # piece indices evaluated
        start = 0
        for i, end in enumerate(ends):
            k = end - start
            start = end
            if k == 0:
                continue
            self._filled = min(nw, self._filled + k)
            self._since += k
            if self._filled < nw or self._since < self._every:
                continue
            # (the remainder carries over: 0.1 s pieces at 250 Hz are checked 4 times a second,
            # not every third piece; one check per piece however long it is)
            self._since %= self._every
            evals.append(i)
        out: list[SignalQuality | None] = [None] * len(ends)
        full = np.concatenate((self._buf, x), axis=1)  # the last window, then the chunk
        if evals:
            windows = np.stack([full[:, nw + ends[i] - nw : nw + ends[i]] for i in evals])
            for i, q in zip(
                evals,
                signal_quality_windows(windows, self.fs, self.kind, **self._kwargs),  # type: ignore[arg-type]
                strict=True,
            ):
                out[i] = q
            self.latest = out[evals[-1]]
        self._buf = full[:, -nw:].copy()
        return out
