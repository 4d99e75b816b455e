"""Session trends: feedback score, HR, RMSSD, coherence and breathing rate over the last minutes.

Values are appended per metric update into growing numpy arrays (amortised doubling, cheap);
the curves are handed to pyqtgraph only when :meth:`TrendPlots.refresh` is called (twice a
second is plenty for metrics that change once per beat or every 5 s).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QGraphicsItem, QWidget

from biotrainer.engine.updates import BREATHING_FROM_HEART, BREATHING_FROM_RESP, MetricUpdate
from biotrainer.ui.signal_plots import Theme
from biotrainer.ui.traces import nice_step, smaller_step

#: (field of MetricUpdate, title, unit, colour, fixed y range or None, value format)
TRENDS: tuple[tuple[str, str, str, str, tuple[float, float] | None, str], ...] = (
    ("feedback_score", "Feedback score (2 s mean)", "", "#86cfc3", (0.0, 1.0), "{:.2f}"),
    ("hr_bpm", "Heart rate", "bpm", "#ef9d9d", None, "{:.0f}"),
    ("rmssd_ms", "RMSSD", "ms", "#f3c08f", None, "{:.0f}"),
    ("coherence", "Coherence", "", "#c6b3f0", None, "{:.2f}"),
    ("breathing_bpm", "Breathing rate", "/min", "#9fc3ee", None, "{:.1f}"),
)

#: How the breathing trend names where its rate comes from (``MetricUpdate.breathing_source``).
BREATHING_SOURCE_WORDS = {
    BREATHING_FROM_RESP: "respiration belt",
    BREATHING_FROM_HEART: "from heart rhythm",
}


#: Updates averaged in the feedback-score trend (2 s at 10 updates per second).
SCORE_MEAN_N = 20


def running_mean(v: np.ndarray, n: int) -> np.ndarray:
    """Trailing mean of the last ``n`` finite values at every point (NaN where all are NaN)."""
    finite = np.isfinite(v)
    c = np.concatenate([[0.0], np.cumsum(np.where(finite, v, 0.0))])
    k = np.concatenate([[0], np.cumsum(finite)])
    idx = np.arange(1, v.size + 1)
    lo = np.maximum(0, idx - n)
    count = k[idx] - k[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (c[idx] - c[lo]) / count
    out[count == 0] = np.nan
    return out


#: Tick labels of a trend's value axis are at least this many text lines apart.
TICK_GAP_LINES = 1.3
#: Height of a trend's title row besides its line of text (pixels).
TITLE_PAD_PX = 4


def sparse_ticks(lo: float, hi: float, size_px: float, min_gap_px: float) -> list[float]:
    """Tick values for a value axis ``size_px`` pixels long showing ``lo``..``hi``.

    The ticks are the multiples of the smallest 1-2-5 step that puts them at least
    ``min_gap_px`` pixels apart. When no multiple of that step lies in the range, the step is
    made smaller until one does; if that brings two ticks closer than ``min_gap_px``, only the
    one nearest the middle is kept. So a short axis gets one or two labels that never overlap,
    a tall one the usual few. Empty for an empty or invalid range.
    """
    span = hi - lo
    if not (math.isfinite(span) and span > 0 and size_px > 0 and min_gap_px > 0):
        return []
    step = nice_step(span * min_gap_px / size_px)

    def multiples(step: float) -> list[float]:
        first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        return [k * step for k in range(first, last + 1)]

    ticks = multiples(step)
    while not ticks:
        step = smaller_step(step)
        ticks = multiples(step)
    if len(ticks) > 1 and step * size_px / span < min_gap_px:
        middle = (lo + hi) / 2
        ticks = [min(ticks, key=lambda v: abs(v - middle))]
    return ticks


class SparseAxis(pg.AxisItem):
    """A value axis whose tick labels never crowd: :func:`sparse_ticks` at least
    :data:`TICK_GAP_LINES` lines of its tick font apart, one level (no minor ticks)."""

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 - pyqtgraph API
        lo, hi = sorted((float(minVal), float(maxVal)))
        ticks = sparse_ticks(lo, hi, float(size), self.min_gap_px)
        if not ticks:
            return []
        step = ticks[1] - ticks[0] if len(ticks) > 1 else _label_step(ticks[0], hi - lo)
        return [(step, ticks)]

    @property
    def min_gap_px(self) -> float:
        """Least distance between two tick labels (pixels)."""
        font = self.style.get("tickFont") or QFont()
        return TICK_GAP_LINES * QFontMetrics(font).height()


def _label_step(value: float, span: float) -> float:
    """The spacing that makes pyqtgraph print a lone tick ``value`` with the decimals it needs
    (within a range ``span`` wide)."""
    step = nice_step(span / 2) if span > 0 else 1.0
    while step > 1e-12 and abs(value / step - round(value / step)) > 1e-6:
        step /= 10
    return step


class _Series:
    """A growing (time, value) array pair."""

    def __init__(self) -> None:
        self.t = np.empty(1024)
        self.v = np.empty(1024)
        self.n = 0

    def append(self, t: float, v: float) -> None:
        if self.n == self.t.size:
            self.t = np.concatenate([self.t, np.empty_like(self.t)])
            self.v = np.concatenate([self.v, np.empty_like(self.v)])
        self.t[self.n] = t
        self.v[self.n] = v
        self.n += 1

    def view(self, t_min: float) -> tuple[np.ndarray, np.ndarray]:
        t, v = self.t[: self.n], self.v[: self.n]
        k = int(np.searchsorted(t, t_min))
        return t[k:], v[k:]


class TrendPlots(pg.GraphicsLayoutWidget):
    """Stacked trend plots sharing a time axis in minutes of session time.

    Parameters
    ----------
    fields : iterable of str
        Which of :data:`TRENDS` to show (all by default).
    span_min : float
        Minutes shown (the plot scrolls once the session is longer).
    theme : Theme, optional
    """

    def __init__(
        self,
        fields: Iterable[str] | None = None,
        span_min: float = 10.0,
        theme: Theme | None = None,
        parent: QWidget | None = None,
    ) -> None:
        self.theme = theme or Theme()
        super().__init__(parent=parent, show=False, size=None, title=None)
        self.setBackground(self.theme.background)
        self.span_min = float(span_min)
        wanted = set(fields) if fields is not None else None
        self.specs = [s for s in TRENDS if wanted is None or s[0] in wanted]
        self.series = {s[0]: _Series() for s in self.specs}
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._latest: dict[str, float] = {s[0]: math.nan for s in self.specs}
        self._titles: dict[str, str] = {}  # the title text each plot shows
        self._breathing_source = ""  # where the latest breathing rate came from
        self._t_now = 0.0
        self._dirty = False
        self.ci.setSpacing(2)
        th = self.theme
        font = QFont()
        font.setPointSize(th.font_pt)
        self._title_font = QFont()
        self._title_font.setPointSize(th.title_pt)
        first = None
        for row, (name, _title, _unit, color, yrange, _fmt) in enumerate(self.specs):
            plot = self.addPlot(row=row, col=0, axisItems={"left": SparseAxis("left")})
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setMouseEnabled(x=False, y=False)
            for axis_name in ("left", "bottom"):
                axis = plot.getAxis(axis_name)
                axis.setPen(pg.mkPen(th.axis))
                axis.setTextPen(pg.mkPen(th.text))
                axis.setTickFont(font)
            plot.getAxis("left").setWidth(th.axis_width_px - 12)
            plot.getAxis("left").setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            if row == len(self.specs) - 1:
                plot.setLabel("bottom", "session time (min)", color=th.text, size=f"{th.font_pt}pt")
            else:
                plot.getAxis("bottom").setStyle(showValues=False)
            if yrange is not None:
                plot.setYRange(*yrange, padding=0.05)
            else:
                plot.enableAutoRange(axis="y")
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            curve = plot.plot(pen=pg.mkPen(QColor(color), width=2), connect="finite")
            self.plots[name] = plot
            self.curves[name] = curve
            self._set_title(name)
        if first is not None:
            first.setXRange(0, self.span_min, padding=0)
        if "feedback_score" in self.plots:
            # the reward threshold: the score is centred on it (0.5 at the bar)
            self.threshold_line = pg.InfiniteLine(
                pos=0.5, angle=0, pen=pg.mkPen("#56616c", width=1, style=pg.QtCore.Qt.DashLine)
            )
            self.plots["feedback_score"].addItem(self.threshold_line, ignoreBounds=True)

    def _set_title(self, name: str) -> None:
        spec = next(s for s in self.specs if s[0] == name)
        _, title, unit, color, _, fmt = spec
        if name == "breathing_bpm" and self._breathing_source in BREATHING_SOURCE_WORDS:
            title = f"{title} ({BREATHING_SOURCE_WORDS[self._breathing_source]})"
        v = self._latest[name]
        value = fmt.format(v) if math.isfinite(v) else "–"
        text = f"{title}  <b style='color:{color}'>{value}</b> {unit}"
        if self._titles.get(name) == text:
            return  # (laying out rich text is the dearest part of a refresh)
        first = name not in self._titles
        self._titles[name] = text
        plot = self.plots[name]
        style = {"color": self.theme.title, "size": f"{self.theme.title_pt}pt", "justify": "left"}
        if not first:  # (setTitle would give the row its 30 pixels again)
            plot.titleLabel.setText(text, **style)
            return
        plot.setTitle(text, **style)
        # pyqtgraph gives a title row 30 pixels; a line of text needs about two thirds of that,
        # and five trends share a few hundred pixels on a small screen.
        height = QFontMetrics(self._title_font).height() + TITLE_PAD_PX
        plot.titleLabel.setMaximumHeight(height)
        plot.layout.setRowFixedHeight(0, height)

    def append(self, updates: Iterable[MetricUpdate]) -> None:
        """Add the values of ``updates`` (no painting)."""
        for u in updates:
            t = u.session_s / 60.0
            if u.source_state != "streaming":
                continue
            if u.breathing_source:  # (the source of the latest rate: kept while none comes)
                self._breathing_source = u.breathing_source
            for name in self.series:
                v = float(getattr(u, name))
                # Cardiac metrics change per beat / every 5 s: store changes only.
                s = self.series[name]
                if name != "feedback_score" and s.n:
                    prev = s.v[s.n - 1]
                    if prev == v or (math.isnan(prev) and math.isnan(v)):
                        continue
                s.append(t, v)
            self._t_now = t
            self._dirty = True
        if self._dirty:
            for name in self.series:
                s = self.series[name]
                if s.n:
                    self._latest[name] = float(s.v[s.n - 1])

    def refresh(self) -> bool:
        """Hand the visible part of each series to its curve; return True when anything changed."""
        if not self._dirty:
            return False
        self._dirty = False
        t_min = max(0.0, self._t_now - self.span_min)
        for name, curve in self.curves.items():
            t, v = self.series[name].view(t_min)
            if name == "feedback_score" and t.size > SCORE_MEAN_N:
                # 10 noisy values a second: a 2 s running mean (NaN = feedback on hold) shows
                # the trend, decimated to what a few hundred pixels can show.
                v = running_mean(v, SCORE_MEAN_N)
                step = t.size // 600 + 1
                t, v = t[::-step][::-1], v[::-step][::-1]  # the newest point is always shown
            curve.setData(t, v)
            self._set_title(name)
        if self._t_now > self.span_min:
            self.plots[self.specs[0][0]].setXRange(t_min, self._t_now, padding=0)
        return True
