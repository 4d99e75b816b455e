"""Display-side signal handling without Qt: ring buffers, display filters, scales, rates.

Everything here is plain numpy so it can be unit-tested headless. The Qt panels of
:mod:`biotrainer.ui.trace_canvas` read the new samples with :meth:`DisplayTrace.since` on their
frame timer, and the whole window (:meth:`DisplayTrace.snapshot`) only to rescale or redraw.

This module keeps the last window of samples per role, filtered for display, and computes
the min/max ("peak") decimation to pixel columns that :mod:`biotrainer.ui.trace_canvas` draws
(:func:`column_peaks`), so a frame only costs the samples that arrived since the last one.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from biotrainer.acquisition.chunk import Chunk, SignalBlock
from biotrainer.dsp.filters import StreamingFilter, butter_sos, notches_sos

#: Display pass-bands in Hz per role: (high-pass edge, low-pass edge); ``None`` = no edge.
#: They remove DC offsets and drift so signals stay visible; they are for the eye only and
#: never feed a metric. Roles not listed (EDA, accelerometer, temperature...) are drawn raw,
#: centred on their median when stacked.
DISPLAY_BANDS: dict[str, tuple[float | None, float | None]] = {
    "eeg": (1.0, 40.0),
    "ecg": (0.5, 40.0),
    "ppg": (0.3, 8.0),
    "resp": (0.05, 2.0),
}

#: Order of the display Butterworth filters (per edge); low to keep the cost per chunk small.
DISPLAY_FILTER_ORDER = 2

#: Mains frequencies (Hz) notched out of the display of :data:`DISPLAY_MAINS_ROLES`, those below
#: the Nyquist frequency: both countries' mains, so nothing to set. The 2nd-order 40 Hz low-pass
#: alone passed 32 % of a 60 Hz amplitude at 250 Hz (49 % of 50 Hz), so the 80-240 µV RMS of
#: hum on an OpenBCI Cyton recording hid its 5-10 µV of alpha.
DISPLAY_MAINS_HZ = (50.0, 60.0)
#: Roles whose display is notched at :data:`DISPLAY_MAINS_HZ`.
DISPLAY_MAINS_ROLES = frozenset({"eeg", "ecg"})
#: Quality factor of the display notches (centre / -3 dB width: 60 +- 3 Hz, 50 +- 2.5 Hz), wide
#: enough that a hum off by 0.2 Hz (mains drift, a sampling clock off by 0.3 %) still passes
#: < 3 % with the band-pass, narrow enough that 10 Hz passes >= 0.998 with < 1.3 ms more delay
#: (from 125 Hz sampling up; the cost of a chunk barely changes: 4 sections instead of 2).
DISPLAY_NOTCH_Q = 10.0


def display_sos(
    fs: float, band: tuple[float | None, float | None] | None, mains_notch: bool
) -> np.ndarray | None:
    """The display filter of a trace as second-order sections, or None when it has none.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    band : tuple or None
        ``(low, high)`` pass-band edges in Hz (either ``None``), a Butterworth of order
        :data:`DISPLAY_FILTER_ORDER` per edge; ``None`` for no band-pass.
    mains_notch : bool
        Add notches at those of :data:`DISPLAY_MAINS_HZ` below the Nyquist frequency.
    """
    sections = []
    if band is not None and any(edge is not None for edge in band):
        sections.append(butter_sos(fs, band[0], band[1], order=DISPLAY_FILTER_ORDER))
    if mains_notch:
        sections.append(notches_sos(fs, DISPLAY_MAINS_HZ, DISPLAY_NOTCH_Q))
    sos = np.vstack(sections) if sections else np.zeros((0, 6))
    return sos if sos.shape[0] else None


class DisplayTrace:
    """The last ``window_s`` seconds of one role, filtered for display.

    Parameters
    ----------
    role : str
        Physiological role (``"eeg"``, ``"ecg"``...).
    fs : float
        Nominal sampling rate in Hz.
    channel_names : sequence of str
        One label per channel.
    units : str
        Physical unit of the samples.
    window_s : float
        Seconds kept for display.
    band : tuple or None
        ``(low, high)`` display pass-band in Hz; defaults to :data:`DISPLAY_BANDS` for the role,
        no band-pass when the role has none.
    mains_notch : bool, optional
        Notch 50 and 60 Hz mains out of the display (where below Nyquist); defaults to True for
        the roles of :data:`DISPLAY_MAINS_ROLES`.

    Notes
    -----
    Samples are kept in a linear buffer twice the size of the history, so the newest samples
    are always one contiguous view (:meth:`since`, no copy); the buffer is compacted once per
    history length. A little more than the window is kept so a pixel column that straddles
    the window's left edge can still be drawn whole.

    The time axis is built from the sample count (``x[i] = -(n - 1 - i) / fs``, 0 = newest
    sample), not from timestamps, so the picture scrolls evenly; gaps are reported by the
    source state (``signal lost``), not drawn.
    """

    def __init__(
        self,
        role: str,
        fs: float,
        channel_names: tuple[str, ...] | list[str],
        units: str,
        window_s: float = 10.0,
        band: tuple[float | None, float | None] | None = None,
        mains_notch: bool | None = None,
    ) -> None:
        if not fs > 0:
            raise ValueError(f"{role}: sampling rate must be positive, got {fs}")
        self.role = role
        self.fs = float(fs)
        self.channel_names = tuple(channel_names)
        self.units = units
        self.window_s = float(window_s)
        capacity = max(2, int(round(self.window_s * self.fs)))
        self.n_window = capacity  #: samples in the displayed window
        self._keep = capacity + capacity // 4 + 4
        self._buf = np.zeros((len(self.channel_names), 2 * self._keep), dtype=np.float64)
        self._end = 0  # samples held, at [0, _end) of the buffer
        self._total = 0
        self._x = (np.arange(capacity, dtype=np.float64) - (capacity - 1)) / self.fs
        band = DISPLAY_BANDS.get(role) if band is None else band
        self.band = band
        if mains_notch is None:
            mains_notch = role in DISPLAY_MAINS_ROLES
        self.mains_notch = mains_notch
        sos = display_sos(self.fs, band, mains_notch)
        self._filter: StreamingFilter | None = None
        if sos is not None:  # (one filter: one compiled call per chunk for the whole chain)
            self._filter = StreamingFilter(sos, n_channels=len(self.channel_names))
        self._last_finite = np.zeros(len(self.channel_names))
        self.version = 0  #: increments whenever new samples arrive
        self.last_timestamp: float | None = None  #: newest source timestamp (s)

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)

    @property
    def samples_received(self) -> int:
        """Samples appended since creation (per channel): the index of the next sample."""
        return self._total

    def since(self, start: int) -> tuple[int, np.ndarray]:
        """Return ``(first, y)``: the held samples from absolute index ``start`` on (or from the
        oldest one held, when ``start`` is older), as a read-only view ``(n_channels, n)``
        whose first sample has index ``first``."""
        oldest = self._total - self._end
        first = min(max(int(start), oldest), self._total)
        view = self._buf[:, first - oldest : self._end]
        view.flags.writeable = False
        return first, view

    def _append(self, y: np.ndarray) -> None:
        n = y.shape[1]
        keep = self._keep
        if n >= keep:
            self._buf[:, :keep] = y[:, n - keep :]
            self._end = keep
        else:
            if self._end + n > self._buf.shape[1]:
                self._buf[:, :keep] = self._buf[:, self._end - keep : self._end]
                self._end = keep
            self._buf[:, self._end : self._end + n] = y
            self._end += n
        self._total += n

    def push(self, block: SignalBlock) -> None:
        """Filter the new samples of ``block`` for display and append them."""
        x = np.asarray(block.samples, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        if x.shape[-1] == 0:
            return
        if not np.isfinite(x).all():
            x = self._hold_last_finite(x)
        self._last_finite = x[:, -1].copy()
        if self._filter is not None:
            if self._total == 0:
                # Start the filter settled at the first block's mean rather than at its first
                # sample (which may sit on a peak), so the trace does not open with a swoop.
                self._filter.push(x.mean(axis=1, keepdims=True))
            y = self._filter.push(x)
        else:
            y = x
        self._append(y)
        if len(block.timestamps):
            self.last_timestamp = float(block.timestamps[-1])
        self.version += 1

    def _hold_last_finite(self, x: np.ndarray) -> np.ndarray:
        """Replace non-finite samples by the previous finite value of their channel."""
        x = x.copy()
        for ch in range(x.shape[0]):
            row = x[ch]
            bad = ~np.isfinite(row)
            if not bad.any():
                continue
            idx = np.where(bad, 0, np.arange(row.size))
            np.maximum.accumulate(idx, out=idx)
            filled = row[idx]
            # Leading bad samples (before any finite one in this block) take the last value.
            lead = bad & ~np.isfinite(filled)
            filled[lead] = self._last_finite[ch]
            x[ch] = filled
        return x

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(x, y)``: seconds relative to the newest sample ``(n,)`` and samples
        ``(n_channels, n)``, oldest first."""
        n = min(self._end, self.n_window)
        y = self._buf[:, self._end - n : self._end].copy()
        return self._x[self._x.size - n :], y


def column_peaks(
    y: np.ndarray, first: int, n_window: int, width: int, col_lo: int, col_hi: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min/max ("peak") decimation of samples to pixel columns on an absolute grid.

    Sample ``i`` (absolute index since the stream began) falls in column
    ``i * width // n_window``, so a window of ``n_window`` samples spans ``width`` columns and
    a column holds ``n_window / width`` samples (fractional or below one allowed). The grid
    does not move with the window, so a column's min/max never changes once it is complete:
    that is what lets a display draw only the new columns.

    Parameters
    ----------
    y : np.ndarray
        ``(n_channels, m)`` samples with absolute indices ``first .. first + m - 1``.
    first : int
        Absolute index of ``y[:, 0]``.
    n_window, width : int
        Samples per window and columns per window.
    col_lo, col_hi : int
        Columns wanted, ``[col_lo, col_hi)``; samples of ``y`` outside them are ignored.

    Returns
    -------
    cols, mins, maxs : np.ndarray
        The columns that hold at least one sample ``(k,)``, and per channel the smallest and
        largest sample of each ``(n_channels, k)``.
    """
    y = np.atleast_2d(y)
    if col_hi - col_lo <= 16:
        return _few_column_peaks(y, first, n_window, width, col_lo, col_hi)
    cols = np.arange(col_lo, col_hi + 1, dtype=np.int64)
    # First sample of each column: ceil(c * n_window / width).
    starts = -((-cols * n_window) // width) - first
    np.clip(starts, 0, y.shape[1], out=starts)
    bounds, ends = starts[:-1], starts[1:]
    nonempty = ends > bounds
    if not nonempty.any():
        empty = np.zeros((y.shape[0], 0))
        return cols[:0], empty, empty
    seg = y[:, bounds[nonempty][0] : ends[nonempty][-1]]
    offsets = bounds[nonempty] - bounds[nonempty][0]
    return (
        cols[:-1][nonempty],
        np.minimum.reduceat(seg, offsets, axis=1),
        np.maximum.reduceat(seg, offsets, axis=1),
    )


#: Span of a column that draws nothing (top row below bottom row).
_NO_SPAN = (np.inf, -np.inf)


def column_spans(
    cols: np.ndarray, a: np.ndarray, b: np.ndarray, x_lo: int, x_hi: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel rows lit in each pixel column by the min/max polyline of :func:`column_peaks`.

    The polyline visits, per occupied column ``c``, its min then its max: a vertical stroke
    from row ``a`` to row ``b`` at ``x = c``, then a join to the next occupied column's
    ``a``. It is rasterised as a 1-pixel aliased line the way Qt's cosmetic stroker does it
    (qcosmeticstroker.cpp): pixel column ``x`` holds the part of the line with
    ``x <= u < x + 1``; a steep join lights the rows whose centre it crosses there, a shallow
    one the row it passes at the column centre; a vertical stroke lights rows
    ``floor(b) .. floor(a)``. Every column's lit rows are then one run ``top .. bottom``, and
    a column depends only on its own samples and those of the next occupied column, so a
    stretch drawn in pieces is the same as one drawn whole.

    Parameters
    ----------
    cols : np.ndarray
        Occupied absolute columns ``(k,)``, ascending.
    a, b : np.ndarray
        ``(n_channels, k)`` rows (0 = top, growing downwards) of each column's min and max
        sample, ``a >= b``.
    x_lo, x_hi : int
        Pixel columns wanted, ``[x_lo, x_hi)``. A column before ``cols[0]`` or after
        the last occupied column (unless occupied) draws nothing.

    Returns
    -------
    top, bottom : np.ndarray
        ``(n_channels, x_hi - x_lo)`` float rows, inclusive; ``top > bottom`` draws nothing.
    """
    k = cols.size
    if k and cols[0] <= x_lo and cols[-1] == x_hi - 1 == cols[0] + k - 1:
        return _dense_column_spans(a[:, x_lo - cols[0] :], b[:, x_lo - cols[0] :])
    return _column_spans(cols, a, b, x_lo, x_hi)


def _dense_column_spans(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`column_spans` when every column holds a sample (joins one column wide; the
    last column has no join yet). A rising join adds rows above the stroke, a falling one
    rows below it."""
    top, bottom = np.floor(b), np.floor(a)
    y0, y1 = b[:, :-1], a[:, 1:]
    mid = np.floor(0.5 * (y0 + y1))
    up = y1 < y0
    rise = np.where(up, np.minimum(np.floor(y1) + 1.0, mid), np.inf)
    fall = np.where(up, -np.inf, np.maximum(np.ceil(y1 - 0.5) - 1.0, mid))
    np.minimum(top[:, :-1], rise, out=top[:, :-1])
    np.maximum(bottom[:, :-1], fall, out=bottom[:, :-1])
    return top, bottom


def _column_spans(
    cols: np.ndarray, a: np.ndarray, b: np.ndarray, x_lo: int, x_hi: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`column_spans` in general (columns without samples between occupied ones)."""
    x = np.arange(x_lo, x_hi)
    k = cols.size
    j = np.searchsorted(cols, x, side="right") - 1  # last occupied column <= x
    valid = j >= 0
    j = np.maximum(j, 0)
    nxt = np.minimum(j + 1, k - 1)
    occ = valid & (cols[j] == x)
    has_next = valid & (j + 1 < k)
    bj = b[:, j]
    # The join from (cols[j], b) to (cols[j + 1], a), over x <= u < x + 1.
    slope = (a[:, nxt] - bj) / np.where(has_next, cols[nxt] - cols[j], 1)
    y0 = bj + slope * (x - cols[j])
    y1 = np.where(x + 1 == cols[nxt], a[:, nxt], y0 + slope)  # the end exactly when reached
    mid = np.floor(0.5 * (y0 + y1))
    down = slope >= 0
    j_top = np.minimum(np.where(down, np.ceil(y0 - 0.5), np.floor(y1) + 1), mid)
    j_bot = np.maximum(np.where(down, np.ceil(y1 - 0.5) - 1, np.floor(y0)), mid)
    v_top, v_bot = np.floor(bj), np.floor(a[:, j])
    top = np.where(has_next, np.where(occ, np.minimum(v_top, j_top), j_top), v_top)
    bottom = np.where(has_next, np.where(occ, np.maximum(v_bot, j_bot), j_bot), v_bot)
    empty = ~(occ | has_next)
    if empty.any():
        top[:, empty], bottom[:, empty] = _NO_SPAN
    return top, bottom


def _few_column_peaks(
    y: np.ndarray, first: int, n_window: int, width: int, col_lo: int, col_hi: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`column_peaks` for the handful of columns of a frame: the column bounds in plain
    integers (numpy's per-call cost would dominate)."""
    m = y.shape[1]
    starts = [
        min(max(-((-c * n_window) // width) - first, 0), m) for c in range(col_lo, col_hi + 1)
    ]
    cols, offsets = [], []
    for c, s0, s1 in zip(range(col_lo, col_hi), starts, starts[1:], strict=False):
        if s1 > s0:
            cols.append(c)
            offsets.append(s0)
    if not cols:
        empty = np.zeros((y.shape[0], 0))
        return np.zeros(0, dtype=np.int64), empty, empty
    base = offsets[0]
    seg = y[:, base : starts[-1]]  # (the starts do not decrease: the last is the last end)
    offsets = [o - base for o in offsets]
    return (
        np.array(cols, dtype=np.int64),
        np.minimum.reduceat(seg, offsets, axis=1),
        np.maximum.reduceat(seg, offsets, axis=1),
    )


def axis_ticks(lo: float, hi: float, max_ticks: int) -> tuple[np.ndarray, int]:
    """Round tick values for a value axis from ``lo`` to ``hi``.

    Returns the ticks (multiples of a 1-2-5 step, at most about ``max_ticks`` of them) and the
    number of decimals that shows the step exactly.
    """
    if not hi > lo or max_ticks < 1:
        return np.zeros(0), 0
    step = nice_step((hi - lo) / max_ticks)
    while True:
        ticks = np.arange(math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9) + 1) * step
        if ticks.size >= 2 or max_ticks < 2:
            break
        step = smaller_step(step)  # at least two labels, so that the scale can be read
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return ticks, decimals


def smaller_step(step: float) -> float:
    """The next smaller number of the form {1, 2, 5} x 10^k below the 1-2-5 ``step``."""
    mantissa = round(step / 10.0 ** math.floor(math.log10(step) + 1e-9))
    return step * (0.4 if mantissa == 5 else 0.5)


def nice_step(value: float) -> float:
    """Return the smallest number of the form {1, 2, 5} x 10^k that is >= ``value`` (> 0)."""
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"nice_step needs a positive finite value, got {value}")
    exp = math.floor(math.log10(value))
    for m in (1.0, 2.0, 5.0, 10.0):
        step = m * 10.0**exp
        if step >= value * (1 - 1e-12):
            return step
    return 10.0 ** (exp + 1)  # pragma: no cover - unreachable


#: Roles whose channels share one scale when stacked (same sensor kind, comparable amplitudes).
#: Other roles (PPG wavelengths, mixed sensors) scale each channel to its own lane.
COMMON_SCALE_ROLES = frozenset({"eeg", "ecg", "emg", "eog", "accel", "gyro"})


@dataclass(frozen=True)
class StackScale:
    """Vertical layout of stacked channels, one lane of height 1 per channel.

    Attributes
    ----------
    divisions : np.ndarray
        Per channel, the signal amplitude (in its unit) that fills one lane height. All equal
        when the channels share a scale.
    centers : np.ndarray
        Per channel, the value drawn on the lane's baseline (median of the window).
    """

    divisions: np.ndarray
    centers: np.ndarray

    @property
    def common(self) -> float | None:
        """The shared division when all channels have the same, else None."""
        d = self.divisions
        return float(d[0]) if d.size and np.all(d == d[0]) else None


def stack_scale(y: np.ndarray, common: bool = True, minimum: float = 1e-6) -> StackScale | None:
    """Choose lane scales for stacked traces.

    A channel's spread is its 2nd-98th percentile range. With ``common``, the division is the
    upper quartile of the spreads over channels times 1.25, rounded up to a 1-2-5 step, so
    most channels fit their lane and one wild or flat channel does not set the scale for all
    (:func:`to_lanes` clips the few that overflow). Without it, each channel gets its own
    1-2-5 division from its own spread.

    Parameters
    ----------
    y : np.ndarray
        ``(n_channels, n)`` samples.
    common : bool
        One shared division for all channels.
    minimum : float
        Smallest division (for flat signals).

    Returns
    -------
    StackScale or None
        None when there are no finite samples.
    """
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    if y.shape[1] == 0:
        return None
    finite = np.isfinite(y)
    if finite.all():
        lo, med, hi = np.percentile(y, [2.0, 50.0, 98.0], axis=1)  # much faster than nan*
    elif not finite.any():
        return None
    else:
        lo, med, hi = np.nanpercentile(y, [2.0, 50.0, 98.0], axis=1)
    spreads = np.nan_to_num(hi - lo, nan=0.0)
    med = np.nan_to_num(med, nan=0.0)
    if common:
        d = nice_step(max(float(np.percentile(spreads, 75.0)) * 1.25, minimum))
        divisions = np.full(y.shape[0], d)
    else:
        divisions = np.array([nice_step(max(float(s) * 1.25, minimum)) for s in spreads])
    return StackScale(divisions=divisions, centers=med)


def to_lanes(y: np.ndarray, scale: StackScale, half: float = 0.5) -> np.ndarray:
    """Map stacked channels to lane coordinates: channel ``i`` around ``-i``, clipped to
    ``+-half`` of its lane so it never spills into its neighbours.

    Clipped stretches show as flat tops, the usual sign of an out-of-scale signal.
    """
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    lanes = (y - scale.centers[:, None]) / scale.divisions[:, None]
    np.clip(lanes, -half, half, out=lanes)
    lanes -= np.arange(y.shape[0], dtype=np.float64)[:, None]
    return lanes


def robust_range(y: np.ndarray, pad: float = 0.15) -> tuple[float, float] | None:
    """Return a y-range covering the 1st-99th percentile of ``y`` plus ``pad`` on each side.

    A flat signal gets a range of +-1 % of its value (or +-1 when it is zero).
    """
    y = np.asarray(y, dtype=np.float64).ravel()
    y = y[np.isfinite(y)]
    if y.size == 0:
        return None
    lo, hi = np.percentile(y, [1.0, 99.0])
    span = hi - lo
    if span <= 1e-12 * max(1.0, abs(hi)):
        half = 0.01 * abs(hi) or 1.0
        return float(lo - half), float(hi + half)
    return float(lo - pad * span), float(hi + pad * span)


class RateMeter:
    """Measured sampling rate from source timestamps over a sliding span.

    Parameters
    ----------
    span_s : float
        Seconds of timestamps the estimate covers.
    """

    def __init__(self, span_s: float = 2.0) -> None:
        self.span_s = float(span_s)
        self._marks: deque[tuple[float, int]] = deque()
        self._count = 0

    def update(self, timestamps: np.ndarray) -> None:
        """Account for a block of new samples with these timestamps (seconds)."""
        n = len(timestamps)
        if n == 0:
            return
        if not self._marks:
            # The first sample opens the span; it is not counted as an interval.
            self._marks.append((float(timestamps[0]), self._count))
            self._count += 1
            n -= 1
        self._count += n
        t_last = float(timestamps[-1])
        self._marks.append((t_last, self._count - 1))
        while len(self._marks) > 2 and t_last - self._marks[1][0] >= self.span_s:
            self._marks.popleft()

    @property
    def rate_hz(self) -> float | None:
        """Samples per second over the span, or None before two timestamps are known."""
        if len(self._marks) < 2:
            return None
        (t0, c0), (t1, c1) = self._marks[0], self._marks[-1]
        if t1 <= t0:
            return None
        return (c1 - c0) / (t1 - t0)


class StreamStats:
    """Samples received and measured sampling rate per role (for the status bar)."""

    def __init__(self, span_s: float = 2.0) -> None:
        self.span_s = span_s
        self.samples: dict[str, int] = {}
        self._rates: dict[str, RateMeter] = {}

    def update(self, chunk: Chunk) -> None:
        """Account for every role block of ``chunk``."""
        for role, block in chunk.signals.items():
            self.samples[role] = self.samples.get(role, 0) + block.n_samples
            meter = self._rates.setdefault(role, RateMeter(self.span_s))
            meter.update(block.timestamps)

    def rate_hz(self, role: str) -> float | None:
        """Measured sampling rate of ``role`` in Hz (None until known)."""
        meter = self._rates.get(role)
        return meter.rate_hz if meter else None

    @property
    def total_samples(self) -> int:
        """Samples received over all roles."""
        return sum(self.samples.values())
