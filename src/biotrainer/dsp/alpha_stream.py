"""Low-latency streaming alpha feedback value.

Per channel, causally:

0. **Mains notches**: 50 and 60 Hz and their harmonics below the Nyquist frequency are notched
   out of the input (:func:`mains_notch_sos`, Q = 30: both countries' mains, so nothing to
   set; a drift of ±0.1 Hz is still removed). Without them hum leaked into the flanking power
   through its 2nd-order band-pass's skirt (at 1000 Hz, 16 % of a 50 Hz amplitude passed the
   13–30 Hz band-pass; 0.6 % reached the alpha envelope), and the 120–375 µV of 60 Hz on an
   OpenBCI Cyton recording outweighed the EEG's whole flanking band. The notches leave the EEG
   and muscle bands below 45 Hz as they were (gain >= 0.99 up to 40 Hz from 125 Hz sampling
   up, up to 30 Hz at any rate; at 101 Hz 0.988 at 40 Hz, where 50 Hz sits near Nyquist) and
   add under 1 ms of delay at 10 Hz.
1. **Alpha power by complex demodulation** (quadrature / lock-in detection): the signal is
   high-passed 2 Hz below the band (2nd-order Butterworth; slow eye and movement potentials
   are often 10x stronger than alpha and would otherwise leak through the demodulator's skirt),
   multiplied by ``exp(-2πi f0 t)`` at the alpha band's centre ``f0`` and low-passed by a
   2nd-order Butterworth at the band's half-width (filters on complex samples that keep their
   ``zi``). The result is the band's complex envelope, so the alpha power ``2 |z|²`` needs
   neither a band-pass and squaring nor the moving average that squaring's 2·f0 ripple would
   then need: that average was most of the old design's delay.
2. **Flanking power**: the power of the neighbouring bands (reference low edge – alpha low
   edge, alpha high edge – reference high edge; 2–7 and 13–30 Hz by default, the usual
   "relative power" reference without the alpha band), each a 2nd-order Butterworth band-pass,
   squared and averaged: the larger of a slow (``reference_tau_s``, 1 s) and a fast
   (``reference_attack_s``, 0.1 s) first-order average, so it rises at once when a muscle or
   movement artifact starts (the ratio can only drop) and falls back slowly after it. It
   excludes alpha, so a change of alpha barely moves it, and between artifacts it changes
   slowly, so it adds little delay or noise to the ratio.
3. **Relative alpha** = alpha power / (alpha power + flanking power), in [0, 1]: amplifier gain
   and electrode impedance cancel; muscle (EMG) and eye artifacts raise the flanking power and
   so can only lower it. The feedback value is the median over channels.

Delay (measured in the tests and in ``benchmarks/bench_eeg.py``): the envelope filter's group
delay at the band centre is :attr:`AlphaStream.group_delay_s` (75 ms for 7–13 Hz); because the
ratio rises faster than the power it is made of, the value moves halfway after a
5 -> 20 µV 10 Hz step in 10 µV-RMS 1/f noise in about 60 ms (median over seeds), against
about 160 ms for the band-pass + 100 ms moving-average design used before, with less noise
at rest; BrainFlow's ``get_avg_band_powers`` on 1 / 2 / 4 s sliding windows takes 350 / 750 /
1440 ms measured the same way. On real recordings it separates eyes closed from eyes open
(and rest from mental arithmetic) at least as well as the old design on 1 s averages
(``benchmarks/bench_eeg.py``; asserted in ``tests/dsp/test_alpha_stream.py``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import signal

from biotrainer.dsp.eeg import _nanmedian_rows
from biotrainer.dsp.filters import (
    butter_sos,
    check_fs,
    notches_sos,
    sosfilt_rows,
)

#: Lowest sampling rate AlphaStream accepts (Hz): its 13 Hz band edge needs Nyquist well above.
MIN_FS_HZ = 32.0

#: Mains fundamentals (Hz) notched out of AlphaStream's input, with their harmonics.
MAINS_HZ = (50.0, 60.0)

#: Quality factor of the mains notches (centre / -3 dB width, the same for every harmonic, so the
#: width follows the harmonic's drift: 50 +- 0.8 Hz, 100 +- 1.7 Hz, ...).
MAINS_NOTCH_Q = 30.0


def mains_notch_frequencies(fs: float) -> list[float]:
    """50 and 60 Hz and their harmonics below the Nyquist frequency of ``fs`` (each once,
    ascending; 300 Hz is both the 6th of 50 and the 5th of 60)."""
    nyquist = 0.5 * check_fs(fs)
    freqs = {k * f0 for f0 in MAINS_HZ for k in range(1, int(nyquist // f0) + 1)}
    return sorted(f for f in freqs if f < nyquist)


def mains_notch_sos(fs: float, quality: float = MAINS_NOTCH_Q) -> np.ndarray | None:
    """Second-order sections of notches at :func:`mains_notch_frequencies`, or ``None`` when
    ``fs`` is too low for any (100 Hz and below)."""
    sos = notches_sos(fs, tuple(mains_notch_frequencies(fs)), quality)
    return sos if len(sos) else None


def _first_order(decay: float) -> np.ndarray:
    """The exponential average ``y[n] = (1 - decay) x[n] + decay y[n-1]`` as one second-order
    section (the numbers of ``lfilter([1 - decay], [1, -decay], ...)`` bit for bit)."""
    return np.array([[1.0 - decay, 0.0, 0.0, 1.0, -decay, 0.0]])


class _RowFilter:
    """A causal SOS filter over the channels (rows) of chunks, each with its own state, that
    can be pushed a subset of the channels (which :class:`~biotrainer.dsp.filters.StreamingFilter`
    cannot: a channel with a missing start begins later than the others). A channel's state
    starts at the steady state for its first sample's value, as in ``StreamingFilter`` (the
    same numbers)."""

    def __init__(self, sos: np.ndarray, n_channels: int) -> None:
        self.sos = np.ascontiguousarray(sos, dtype=np.float64)
        self._zi_unit = signal.sosfilt_zi(self.sos)  # (n_sections, 2)
        self.zi = np.zeros((n_channels, self.sos.shape[0], 2))  # see sosfilt_rows

    def push(self, x: np.ndarray, rows: slice | np.ndarray, new: np.ndarray | None) -> np.ndarray:
        """Filter ``x``, the next samples of the channels ``rows``, and return the output (a
        new array); the channels where the mask ``new`` (over ``rows``) is set start with it."""
        y = np.array(x, dtype=np.float64, order="C")
        zi = self.zi[rows]
        if new is not None:
            zi[new] = self._zi_unit[None, :, :] * y[new, :1, None]
        sosfilt_rows(self.sos, y, zi)
        self.zi[rows] = zi
        return y


@dataclass(frozen=True, eq=False)
class AlphaUpdate:
    """Output of one :meth:`AlphaStream.push` (one entry per input sample).

    Attributes
    ----------
    index : np.ndarray of int64, shape (n,)
        Absolute sample index, counted from the first sample pushed since construction/reset.
    value : np.ndarray, shape (n,)
        Feedback value: median over channels of ``relative`` (0..1), over the channels that
        have started (NaN before any signal, or while no channel has had a finite sample).
    relative : np.ndarray, shape (channels, n)
        Alpha power / (alpha power + flanking-band power) per channel; NaN before the
        channel's first finite sample.
    alpha_uv : np.ndarray, shape (channels, n)
        Alpha amplitude envelope (RMS of the alpha band, input units: µV); NaN before the
        channel's first finite sample.
    """

    index: np.ndarray
    value: np.ndarray
    relative: np.ndarray
    alpha_uv: np.ndarray

    @property
    def latest(self) -> float:
        """The last value of this update (NaN for an empty chunk)."""
        return float(self.value[-1]) if self.value.size else float("nan")


class AlphaStream:
    """Causal, low-latency relative alpha for an engine that pushes small chunks.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    n_channels : int
        Number of EEG channels (rows of each chunk).
    alpha_hz : (float, float)
        Alpha band (default 7–13 Hz; centre it on the person's IAF, e.g. IAF ± 2.5 Hz). The
        demodulation runs at its centre with a low-pass at its half-width.
    reference_hz : (float, float)
        Outer edges of the flanking bands (default 2–30 Hz: 2–7 and 13–30 Hz flank alpha).
    reference_tau_s, reference_attack_s : float
        Time constants of the flanking power's slow and fast averages (default 1 s, 0.1 s).

    Notes
    -----
    ``push(chunk)`` returns an :class:`AlphaUpdate` with a value for every sample, so the engine
    can read ``update.latest`` at any rate. Chunked pushes give the output of one big push
    (tested). Mains hum (50/60 Hz and harmonics) is notched out of the input ahead of both the
    alpha and the flanking filters, so it moves neither (tested). Non-finite input samples are
    replaced by the channel's last finite sample, so a dropout never poisons the filter state;
    :func:`biotrainer.dsp.quality.signal_quality` reports them.

    A channel that starts with missing (non-finite) samples, e.g. a headset that sends NaN
    until its electrode settles, starts at its first finite sample: until then its filters
    are left untouched and its ``relative`` and ``alpha_uv`` are NaN (so ``value`` is the
    median of the channels already running, NaN while there are none); from that sample on
    its filters start at that sample's steady state and its flanking averages at that sample's
    flanking power, as at the first sample of a stream, so its output is that of a stream
    begun there (up to rounding: the demodulation phase counts from the stream's first
    sample), however the missing start is cut into chunks (tested). Held at 0 instead, the
    missing start made a step to the signal's DC offset (often hundreds of µV) that rang
    through the band-passes as a false alpha burst of about a second.
    """

    def __init__(
        self,
        fs: float,
        n_channels: int,
        alpha_hz: tuple[float, float] = (7.0, 13.0),
        reference_hz: tuple[float, float] = (2.0, 30.0),
        reference_tau_s: float = 1.0,
        reference_attack_s: float = 0.1,
    ) -> None:
        self.fs = check_fs(fs)
        if self.fs < MIN_FS_HZ:
            raise ValueError(
                f"sampling rate {self.fs:g} Hz is too low for alpha feedback "
                f"(at least {MIN_FS_HZ:g} Hz: the alpha band must lie below Nyquist)"
            )
        if int(n_channels) < 1:
            raise ValueError(f"n_channels must be >= 1, got {n_channels}")
        lo, hi = float(alpha_hz[0]), float(alpha_hz[1])
        ref_lo = float(reference_hz[0])
        ref_hi = min(float(reference_hz[1]), 0.45 * self.fs)
        if not 0 < ref_lo < lo < hi < ref_hi:
            raise ValueError(
                f"bands must nest as reference low < alpha low < alpha high < reference high, "
                f"got alpha {alpha_hz} and reference {reference_hz} at {self.fs:g} Hz"
            )
        if not reference_tau_s > 0 or not reference_attack_s > 0:
            raise ValueError(
                f"reference_tau_s and reference_attack_s must be positive, "
                f"got {reference_tau_s} and {reference_attack_s}"
            )
        self.n_channels = int(n_channels)
        self.alpha_hz = (lo, hi)
        self.reference_hz = (ref_lo, ref_hi)
        self.centre_hz = 0.5 * (lo + hi)
        self._cycles_per_sample = self.centre_hz / self.fs
        self._highpass_sos = butter_sos(self.fs, low=max(0.5 * lo, lo - 2.0), order=2)
        self._envelope_sos = butter_sos(self.fs, high=0.5 * (hi - lo), order=2)
        # the demodulated signal is complex, and sosfilt_rows wants the sections in its dtype
        self._envelope_sos_c = self._envelope_sos.astype(np.complex128)
        self._mains_sos = mains_notch_sos(self.fs)
        self._low_sos = butter_sos(self.fs, ref_lo, lo, order=2)
        self._high_sos = butter_sos(self.fs, hi, ref_hi, order=2)
        self._averages = [
            _first_order(math.exp(-1.0 / (tau * self.fs)))
            for tau in (reference_tau_s, reference_attack_s)
        ]
        self.reset()

    @property
    def group_delay_s(self) -> float:
        """Group delay of the alpha envelope (s): the demodulation low-pass at 0 Hz, i.e. at
        the alpha band's centre."""
        b, a = signal.sos2tf(self._envelope_sos)
        _, gd = signal.group_delay((b, a), w=[0.0], fs=self.fs)
        return float(gd[0]) / self.fs

    def reset(self) -> None:
        """Start a new stream (filter states, averages and the sample counter)."""
        n_sections = self._envelope_sos.shape[0]
        self._zi_env = np.zeros((self.n_channels, n_sections, 2), dtype=np.complex128)
        self._mains = (
            None if self._mains_sos is None else _RowFilter(self._mains_sos, self.n_channels)
        )
        self._highpass = _RowFilter(self._highpass_sos, self.n_channels)
        self._low = _RowFilter(self._low_sos, self.n_channels)
        self._high = _RowFilter(self._high_sos, self.n_channels)
        # per average (channels, 1, 2); a channel's are set at its first sample
        self._zi_avg = [np.zeros((self.n_channels, 1, 2)) for _ in self._averages]
        self._started = np.zeros(self.n_channels, dtype=bool)  # had a finite sample
        self._last = np.zeros(self.n_channels)
        self._count = 0

    def _fill_nonfinite(self, x: np.ndarray) -> np.ndarray:
        bad = ~np.isfinite(x)
        if not bad.any():
            self._last = x[:, -1].copy()
            return x
        x = x.copy()
        for c in np.flatnonzero(bad.any(axis=1)):
            row = x[c]
            idx = np.where(~bad[c], np.arange(row.size), -1)
            np.maximum.accumulate(idx, out=idx)
            row[:] = np.where(idx >= 0, row[np.maximum(idx, 0)], self._last[c])
        self._last = x[:, -1].copy()
        return x

    def _relative(self, chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Filter the next chunk; return (sample index, relative alpha, alpha power)."""
        x = np.asarray(chunk, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[0] != self.n_channels:
            raise ValueError(
                f"expected a chunk of shape ({self.n_channels}, n), got {np.shape(chunk)}"
            )
        n = x.shape[1]
        index = np.arange(self._count, self._count + n, dtype=np.int64)
        self._count += n
        if n == 0:
            empty = np.empty((self.n_channels, 0))
            return index, empty, empty
        if self._started.all():
            rel, pa = self._filter(self._fill_nonfinite(x), index, slice(None), None)
        else:
            rel, pa = self._filter_starting(x, index)
        return index, rel, pa

    def _filter_starting(self, x: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_filter` for a chunk in which some channels have not started: each such
        channel starts at its first finite sample (NaN before it; left as it is when the
        chunk has none)."""
        n = x.shape[1]
        finite = np.isfinite(x)
        waiting = ~self._started
        lead = np.where(waiting & finite.any(axis=1), finite.argmax(axis=1), 0)
        lead[waiting & ~finite.any(axis=1)] = n
        x = self._fill_nonfinite(x)
        if not lead.any():  # every channel runs from the chunk's first sample
            out = self._filter(x, index, slice(None), waiting)
            self._started[:] = True
            return out
        rel = np.full(x.shape, np.nan)
        pa = np.full(x.shape, np.nan)
        for first in np.unique(lead[lead < n]).tolist():
            rows = np.flatnonzero(lead == first)
            rel[rows, first:], pa[rows, first:] = self._filter(
                x[rows, first:], index[first:], rows, waiting[rows]
            )
            self._started[rows] = True
        return rel, pa

    def _filter(
        self, x: np.ndarray, index: np.ndarray, rows: slice | np.ndarray, new: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Relative alpha and alpha power of ``x``, the next (finite) samples of the channels
        ``rows`` at the sample indices ``index``; the channels where the mask ``new`` (over
        ``rows``) is set start with these samples."""
        if self._mains is not None:
            x = self._mains.push(x, rows, new)  # both paths see the input without mains
        # The phase is taken from the absolute sample index, so chunking cannot shift it.
        turns = np.mod(index * self._cycles_per_sample, 1.0)
        z = self._highpass.push(x, rows, new) * np.exp(-2j * np.pi * turns)[None, :]
        zi_env = self._zi_env[rows]  # zero for a new channel: its high-passed signal starts at 0
        sosfilt_rows(self._envelope_sos_c, z, zi_env)  # in place: z is the envelope
        self._zi_env[rows] = zi_env
        # (in place where the arrays are our own: the same arithmetic, fewer temporaries)
        pa = z.real * z.real
        pa += z.imag * z.imag
        pa *= 2.0
        flank = self._low.push(x, rows, new)
        flank *= flank
        high = self._high.push(x, rows, new)
        high *= high
        flank += high
        pf = None
        for sos, zi_all in zip(self._averages, self._zi_avg, strict=True):
            zi = zi_all[rows]
            if new is not None:
                # Start the averages at the first sample's flanking power, not at zero.
                zi[new, 0, 0] = flank[new, 0] * -sos[0, 4]
            avg = flank.copy()
            sosfilt_rows(sos, avg, zi)
            zi_all[rows] = zi
            pf = avg if pf is None else np.maximum(pf, avg, out=pf)
        total = pa + pf
        rel = np.full(total.shape, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(pa, total, out=rel, where=total > 0)
        return rel, pa

    @staticmethod
    def median_over_channels(relative: np.ndarray) -> np.ndarray:
        """The feedback value from per-channel relative alpha ``(channels, n)``: the median
        over channels (NaN where every channel is NaN)."""
        # np.nanmedian(relative, axis=0) in one sort, without nanmedian's per-call overhead
        # (the engine asks ~20 times per second of data); all-NaN columns give NaN
        x = np.asarray(relative, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] == 0:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns -> NaN
                return np.nanmedian(x, axis=0)
        return _nanmedian_rows(x.T)[0]

    def push_relative(self, chunk: np.ndarray) -> np.ndarray:
        """Process the next chunk and return only the per-channel relative alpha
        ``(channels, n)`` (cheaper than :meth:`push` when the median is needed at few
        samples; see :meth:`median_over_channels`)."""
        return self._relative(chunk)[1]

    def push(self, chunk: np.ndarray) -> AlphaUpdate:
        """Process the next chunk, shape ``(channels, n)`` (1-D allowed for one channel)."""
        index, rel, pa = self._relative(chunk)
        if index.size == 0:
            return AlphaUpdate(index, np.empty(0), rel, pa)
        return AlphaUpdate(index, self.median_over_channels(rel), rel, np.sqrt(pa))
