"""Chart descriptions: what to draw, not how (the renderer lives in :mod:`biotrainer.ui`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Colour-blind-safe palette (Okabe & Ito 2008).
BLUE = "#0072B2"
ORANGE = "#E69F00"
GREEN = "#009E73"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
SKY = "#56B4E9"
GREY = "#7F7F7F"
BAND_BASELINE = "#E6E6E6"
BAND_TRAINING = "#DCEEFB"
BAND_PACING = "#E3F4EA"
#: Strips over the phases: a pause (grey, darker than the baseline's) and a signal loss (red).
MARK_PAUSE = "#B4B4B4"
MARK_LOST = "#F2A38C"
#: Narrowest strip drawn, as a fraction of the x axis (a pause or a loss takes no protocol
#: time, so on the protocol clock its strip would have no width at all).
MARK_MIN_FRACTION = 0.01


#: What hollow markers stand for by default (:attr:`Series.hollow_keys`): the sessions of a
#: progress chart that did not complete.
INCOMPLETE_KEY = "did not complete"

#: Marker shapes of :attr:`Series.symbol` (pyqtgraph's names): circle, square, triangle up,
#: diamond, triangle down, star.
SYMBOLS = ("o", "s", "t1", "d", "t", "star")


@dataclass(frozen=True)
class Series:
    """One line or set of points; NaN values leave gaps (the line is not drawn across them).

    ``style`` is "line", "points" or "linepoints"; ``dashed`` draws a dashed line. ``symbol``
    is the marker's shape (one of :data:`SYMBOLS`); ``hollow`` draws the markers as outlines
    (the sessions of a progress chart that did not complete, or whose mean rests on less than
    half of its phases), and ``hollow_keys`` says what they stand for, each named once in the
    legend (none given: :data:`INCOMPLETE_KEY`). An empty ``label`` keeps the series out of the
    legend.
    """

    label: str
    x: np.ndarray
    y: np.ndarray
    color: str = BLUE
    style: str = "line"
    dashed: bool = False
    symbol: str = "o"
    hollow: bool = False
    hollow_keys: tuple[str, ...] = ()

    @property
    def has_data(self) -> bool:
        return bool(np.isfinite(self.y).any())


@dataclass(frozen=True)
class Band:
    """A shaded span of the x axis (a protocol phase) with an optional label."""

    x0: float
    x1: float
    color: str
    label: str = ""


@dataclass(frozen=True)
class Chart:
    """One panel.

    Attributes
    ----------
    name : str
        Identifier (the image resource is ``chart:<name>``).
    title, y_label, x_label : str
    series : tuple of Series
    bands : tuple of Band
    y_range : (float, float) or None
        Fixed y range (None = fit the data).
    marks : tuple of Band
        Strips drawn over the phases and named in the legend by their label: the pauses and
        signal losses of a session.
    x_ticks : tuple of (float, str) or None
        Labelled x ticks (sessions by date); None = numeric axis.
    reference : float or None
        A horizontal dotted reference line (0.5 = the reward threshold for the score).
    min_span : float
        With an automatic y range, show at least this span (so noise is not blown up).
    keyed : bool
        Name every series in the legend, even a single one (a progress chart names its
        protocol); otherwise a chart of one series has no legend.
    x_range : (float, float) or None
        The x range to show (None = fit the data): panels stacked over one time axis share it,
        so the same moment is at the same place in each (their bins differ in width).
    """

    name: str
    title: str
    y_label: str
    series: tuple[Series, ...]
    x_label: str = ""
    bands: tuple[Band, ...] = ()
    marks: tuple[Band, ...] = ()
    y_range: tuple[float, float] | None = None
    x_ticks: tuple[tuple[float, str], ...] | None = None
    reference: float | None = None
    min_span: float = 0.0
    keyed: bool = False
    x_range: tuple[float, float] | None = None

    @property
    def has_data(self) -> bool:
        return any(s.has_data for s in self.series)


def mark_strip(
    x: float, x_lo: float, x_hi: float, min_width: float, color: str, label: str
) -> Band:
    """A strip marking something at ``x`` on an axis showing ``[x_lo, x_hi]``: centred on ``x``,
    ``min_width`` wide or :data:`MARK_MIN_FRACTION` of the axis (whichever is more), and moved
    inside the axis when it would stick out of it."""
    width = max(min_width, MARK_MIN_FRACTION * max(x_hi - x_lo, 0.0))
    x0 = x - width / 2
    x0 = min(max(x0, x_lo), x_hi - width) if x_hi - x_lo >= width else x_lo
    return Band(x0, x0 + width, color, label)


def bin_means(t: np.ndarray, y: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Means of ``y`` over consecutive bins of ``width`` along ``t`` (NaN-aware; empty -> NaN).

    Returns the bin centres and the means; a plot of 10-per-second updates over half an hour
    stays readable on paper.
    """
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    if t.size == 0 or not width > 0:
        return np.empty(0), np.empty(0)
    start = float(np.nanmin(t))
    idx = np.floor((t - start) / width).astype(int)
    n = int(idx.max()) + 1
    ok = np.isfinite(y)
    sums = np.bincount(idx[ok], weights=y[ok], minlength=n)
    counts = np.bincount(idx[ok], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), math.nan)
    centres = start + (np.arange(n) + 0.5) * width
    return centres, means


def bin_width_s(duration_s: float, points: int = 300) -> float:
    """A round bin width (s) giving about ``points`` bins over ``duration_s`` (at least 1 s)."""
    raw = max(1.0, duration_s / points)
    for w in (1, 2, 5, 10, 15, 20, 30, 60, 120, 300):
        if w >= raw:
            return float(w)
    return float(math.ceil(raw / 60) * 60)


#: Values beyond this are not drawn (no time or metric is that large: a damaged metrics.csv;
#: the plot's range arithmetic would overflow on them).
PLOTTABLE_LIMIT = 1e12


def plottable(values) -> np.ndarray:
    """``values`` as floats with NaN for what cannot be drawn (non-finite or absurdly large)."""
    a = np.array(values, dtype=float)
    a[~(np.abs(a) <= PLOTTABLE_LIMIT)] = np.nan
    return a


#: Room above the data for the phases' labels (drawn at the top of a chart with labelled
#: bands), as a fraction of the data's range: a curve near its top ran through the label (an
#: 8-pt label is about a sixth of a report panel's plot; with :func:`auto_range`'s padding this
#: leaves it clear).
LABEL_ROOM = 0.22


#: Room below and above the data, as a fraction of its range: for curves, and for markers (a
#: marker of a progress chart at the data's minimum was drawn on the axis line, as a fraction
#: of a panel's plot 8 % is less than a marker's radius and a gap).
LINE_PAD = 0.08
MARKER_PAD = 0.15


def has_markers(chart: Chart) -> bool:
    """Some series of ``chart`` draws markers ("points" or "linepoints")."""
    return any(s.style in ("points", "linepoints") for s in chart.series)


def auto_range(chart: Chart, pad: float | None = None) -> tuple[float, float] | None:
    """The y range to show: ``chart.y_range`` or the data's, widened to ``min_span``, padded
    (by ``pad`` of it; by default :data:`MARKER_PAD` when a series draws markers, else
    :data:`LINE_PAD`), with :data:`LABEL_ROOM` more at the top when phases are labelled."""
    if pad is None:
        pad = MARKER_PAD if has_markers(chart) else LINE_PAD
    if chart.y_range is not None:
        lo, hi = chart.y_range
    else:
        ys = [plottable(s.y) for s in chart.series]
        ys = [y[np.isfinite(y)] for y in ys]
        ys = [y for y in ys if y.size]
        if not ys:
            return None
        lo = float(min(y.min() for y in ys))
        hi = float(max(y.max() for y in ys))
        span = max(hi - lo, chart.min_span, 1e-9)
        mid = (hi + lo) / 2
        lo, hi = mid - span / 2, mid + span / 2
    d = pad * (hi - lo)
    room = LABEL_ROOM * (hi - lo) if any(b.label for b in chart.bands) else 0.0
    return lo - d, hi + d + room
