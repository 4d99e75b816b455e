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
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGraphicsItem, QWidget

from biotrainer.engine.updates import MetricUpdate
from biotrainer.ui.signal_plots import Theme

#: (field of MetricUpdate, title, unit, colour, fixed y range or None, value format)
TRENDS: tuple[tuple[str, str, str, str, tuple[float, float] | None, str], ...] = (
    ("feedback_score", "Feedback score (2 s mean)", "", "#86cfc3", (0.0, 1.0), "{:.2f}"),
    ("hr_bpm", "Heart rate", "bpm", "#ef9d9d", None, "{:.0f}"),
    ("rmssd_ms", "RMSSD", "ms", "#f3c08f", None, "{:.0f}"),
    ("coherence", "Coherence", "", "#c6b3f0", None, "{:.2f}"),
    ("breathing_bpm", "Breathing rate", "/min", "#9fc3ee", None, "{:.1f}"),
)


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
        self._t_now = 0.0
        self._dirty = False
        self.ci.setSpacing(2)
        th = self.theme
        font = QFont()
        font.setPointSize(th.font_pt)
        first = None
        for row, (name, _title, _unit, color, yrange, _fmt) in enumerate(self.specs):
            plot = self.addPlot(row=row, col=0)
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
                mid = (yrange[0] + yrange[1]) / 2
                plot.getAxis("left").setTicks(
                    [[(y, f"{y:g}") for y in (yrange[0], mid, yrange[1])], []]
                )
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
            self.threshold_line = pg.InfiniteLine(
                pos=0.5, angle=0, pen=pg.mkPen("#56616c", width=1, style=pg.QtCore.Qt.DashLine)
            )
            self.plots["feedback_score"].addItem(self.threshold_line, ignoreBounds=True)

    def _set_title(self, name: str) -> None:
        spec = next(s for s in self.specs if s[0] == name)
        _, title, unit, color, _, fmt = spec
        v = self._latest[name]
        value = fmt.format(v) if math.isfinite(v) else "–"
        text = f"{title}  <b style='color:{color}'>{value}</b> {unit}"
        if self._titles.get(name) == text:
            return  # (laying out rich text is the dearest part of a refresh)
        self._titles[name] = text
        self.plots[name].setTitle(
            text,
            color=self.theme.title,
            size=f"{self.theme.title_pt}pt",
            justify="left",
        )

    def append(self, updates: Iterable[MetricUpdate]) -> None:
        """Add the values of ``updates`` (no painting)."""
        for u in updates:
            t = u.session_s / 60.0
            if u.source_state != "streaming":
                continue
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

    def set_threshold_score(self, score: float) -> None:
        """Draw the reward threshold on the score plot (as a score 0..1)."""
        if "feedback_score" in self.plots and math.isfinite(score):
            self.threshold_line.setPos(score)

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
