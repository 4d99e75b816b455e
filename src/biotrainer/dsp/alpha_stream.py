"""Low-latency streaming alpha feedback value.

Per channel, causally:

1. alpha band-pass (Butterworth, 2nd order per edge = 4 poles, default 7–13 Hz) and a broadband
   reference band-pass (4–30 Hz, same design), each a
   :class:`~biotrainer.dsp.filters.StreamingFilter` that keeps its ``zi`` between chunks;
2. power envelopes: the squared outputs through a causal moving average of 100 ms (an FIR with
   kept state), so the envelope needs no Hilbert transform and no look-ahead;
3. relative alpha = alpha envelope / broadband envelope, in [0, 1] (amplitude scaling, electrode
   impedance and amplifier gain cancel); the feedback value is the median over channels.

Group delay (stated; see :attr:`AlphaStream.group_delay_s`, measured in the tests and in
``benchmarks/bench_eeg.py``): the 7–13 Hz band-pass delays a 10 Hz envelope by about 73 ms at
250 Hz, the 100 ms moving average by 50 ms (``(L - 1) / 2`` samples), about 121 ms in total.
Measured time for the output to move halfway after a 5 -> 20 µV 10 Hz step in 1/f noise:
median 162 ms, p95 253 ms over 20 seeds (``benchmarks/bench_eeg.py``), against 350 / 750 /
1440 ms for BrainFlow ``get_avg_band_powers`` on 1 / 2 / 4 s sliding windows measured the same
way. ``smooth_s=0.05`` is ~25 ms faster at the cost of a noisier value.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import signal

from biotrainer.dsp.filters import StreamingFilter, butter_sos, check_fs

#: Lowest sampling rate AlphaStream accepts (Hz): its 13 Hz band edge needs Nyquist well above.
MIN_FS_HZ = 32.0


@dataclass(frozen=True, eq=False)
class AlphaUpdate:
    """Output of one :meth:`AlphaStream.push` (one entry per input sample).

    Attributes
    ----------
    index : np.ndarray of int64, shape (n,)
        Absolute sample index, counted from the first sample pushed since construction/reset.
    value : np.ndarray, shape (n,)
        Feedback value: median over channels of ``relative`` (0..1; NaN before any signal).
    relative : np.ndarray, shape (channels, n)
        Alpha power over broadband (4–30 Hz) power per channel.
    alpha_uv : np.ndarray, shape (channels, n)
        Alpha amplitude envelope, RMS over the smoothing window in µV (input units).
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
    """Causal alpha feedback for an engine that pushes ~50 ms chunks.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    n_channels : int
        Number of EEG channels (rows of each chunk).
    alpha_hz : (float, float)
        Alpha band (default 7–13 Hz; centre it on the person's IAF, e.g. IAF ± 2.5 Hz).
    reference_hz : (float, float)
        Broadband reference band (default 4–30 Hz).
    smooth_s : float
        Moving-average length of the power envelopes (default 0.1 s).

    Notes
    -----
    ``push(chunk)`` returns an :class:`AlphaUpdate` with a value for every sample, so the engine
    can read ``update.latest`` at any rate (>= 10 Hz with 50 ms chunks). Chunked pushes give
    exactly the output of one big push (tested). Non-finite input samples are replaced by the
    channel's last finite sample (0 before the first), so a dropout never poisons the filter
    state; :func:`biotrainer.dsp.quality.signal_quality` reports them.
    """

    def __init__(
        self,
        fs: float,
        n_channels: int,
        alpha_hz: tuple[float, float] = (7.0, 13.0),
        reference_hz: tuple[float, float] = (4.0, 30.0),
        smooth_s: float = 0.1,
    ) -> None:
        self.fs = check_fs(fs)
        if self.fs < MIN_FS_HZ:
            raise ValueError(
                f"sampling rate {self.fs:g} Hz is too low for alpha feedback "
                f"(at least {MIN_FS_HZ:g} Hz: the alpha band must lie below Nyquist)"
            )
        if int(n_channels) < 1:
            raise ValueError(f"n_channels must be >= 1, got {n_channels}")
        self.n_channels = int(n_channels)
        self.alpha_hz = (float(alpha_hz[0]), float(alpha_hz[1]))
        self.reference_hz = (float(reference_hz[0]), min(float(reference_hz[1]), 0.45 * self.fs))
        self._alpha_sos = butter_sos(self.fs, *self.alpha_hz, order=2)
        self._ref_sos = butter_sos(self.fs, *self.reference_hz, order=2)
        self._n_smooth = max(1, int(round(smooth_s * self.fs)))
        self._ma = np.full(self._n_smooth, 1.0 / self._n_smooth)
        self.reset()

    @property
    def group_delay_s(self) -> float:
        """Stated group delay (s): alpha band-pass at the band centre plus the moving average."""
        centre = 0.5 * (self.alpha_hz[0] + self.alpha_hz[1])
        b, a = signal.sos2tf(self._alpha_sos)
        _, gd = signal.group_delay((b, a), w=[centre], fs=self.fs)
        return float(gd[0] + (self._n_smooth - 1) / 2) / self.fs

    def reset(self) -> None:
        """Start a new stream (filter states, envelopes and the sample counter)."""
        self._alpha = StreamingFilter(self._alpha_sos, self.n_channels)
        self._ref = StreamingFilter(self._ref_sos, self.n_channels)
        self._zi_a = np.zeros((self.n_channels, self._n_smooth - 1))
        self._zi_r = np.zeros((self.n_channels, self._n_smooth - 1))
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
        x = self._fill_nonfinite(x)
        a = self._alpha.push(x)
        r = self._ref.push(x)
        pa, self._zi_a = signal.lfilter(self._ma, [1.0], a * a, axis=1, zi=self._zi_a)
        pr, self._zi_r = signal.lfilter(self._ma, [1.0], r * r, axis=1, zi=self._zi_r)
        pa = np.maximum(pa, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(pr > 0, np.minimum(pa / pr, 1.0), np.nan)
        return index, rel, pa

    @staticmethod
    def _median(rel: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns -> NaN
            return np.nanmedian(rel, axis=0)

    def push(self, chunk: np.ndarray) -> AlphaUpdate:
        """Process the next chunk, shape ``(channels, n)`` (1-D allowed for one channel)."""
        index, rel, pa = self._relative(chunk)
        if index.size == 0:
            return AlphaUpdate(index, np.empty(0), rel, pa)
        return AlphaUpdate(index, self._median(rel), rel, np.sqrt(pa))

    def push_latest(self, chunk: np.ndarray, ends) -> np.ndarray:
        """Process the next chunk as consecutive pieces ending at sample counts ``ends``
        (increasing, the last one the chunk's length) and return the feedback value at the end
        of every piece (NaN for an empty piece): the ``latest`` of pushing the pieces one by
        one, for the cost of one push."""
        index, rel, _ = self._relative(chunk)
        ends = np.asarray(ends, dtype=np.int64)
        out = np.full(ends.size, np.nan)
        if index.size == 0:
            return out
        starts = np.concatenate(([0], ends[:-1]))
        nonempty = ends > starts
        if nonempty.any():
            out[nonempty] = self._median(rel[:, ends[nonempty] - 1])
        return out
