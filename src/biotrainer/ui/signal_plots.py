"""Live scrolling signals, one panel per physiological role (pyqtgraph).

Chunks are pushed into per-role :class:`~biotrainer.ui.traces.DisplayTrace` buffers as they
arrive; :meth:`SignalPlots.refresh` (called by a frame timer) hands only the changed traces to
pyqtgraph. Multi-channel roles are stacked in lanes named on the left axis (EEG and motion
channels share one 1-2-5 scale; PPG wavelengths etc. are scaled each to fit); single-channel
roles get a real axis in their unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView, QWidget

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.source import SourceLayout
from biotrainer.ui.traces import (
    COMMON_SCALE_ROLES,
    DisplayTrace,
    StackScale,
    robust_range,
    stack_scale,
    to_lanes,
)

#: Roles that are never drawn as signals.
HIDDEN_ROLES = frozenset({"marker"})

#: Roles drawn in the main (left) column when other roles exist too.
PRIMARY_ROLES = ("eeg", "ecg")

#: Display order of roles.
ROLE_ORDER = ("eeg", "ecg", "ppg", "resp", "eda", "accel", "gyro", "temp")


@dataclass(frozen=True)
class Theme:
    """Colours and sizes of the signal view (calm, dark, legible)."""

    background: str = "#11161c"
    axis: str = "#8794a1"
    text: str = "#c9d2db"
    title: str = "#e2e8ee"
    grid_alpha: float = 0.22
    font_pt: int = 9
    title_pt: int = 10
    axis_width_px: int = 56
    trace: tuple[tuple[str, str], ...] = (
        ("eeg", "#86cfc3"),
        ("ecg", "#ef9d9d"),
        ("ppg", "#f3c08f"),
        ("resp", "#9fc3ee"),
        ("eda", "#c6b3f0"),
        ("accel", "#b5d694"),
        ("gyro", "#d9d28f"),
        ("temp", "#e6adc9"),
    )
    default_trace: str = "#c9d2db"

    def trace_color(self, role: str) -> str:
        return dict(self.trace).get(role, self.default_trace)


#: Nice names for roles in panel titles.
ROLE_TITLES = {
    "eeg": "EEG",
    "ecg": "ECG",
    "ppg": "PPG",
    "resp": "Respiration",
    "eda": "EDA",
    "accel": "Accelerometer",
    "gyro": "Gyroscope",
    "temp": "Temperature",
}


def pretty_unit(units: str) -> str:
    """Return a display form of a unit string (``uV`` -> ``µV``, ``degC`` -> ``°C``)."""
    return {"uV": "µV", "uS": "µS", "degC": "°C", "deg/s": "°/s"}.get(units, units)


class RolePanel:
    """One plot showing the traces of one role.

    Multi-channel roles are stacked: channel ``i`` is drawn in lane ``-i`` (height 1, named on
    the left axis), scaled by :func:`~biotrainer.ui.traces.stack_scale` and clipped to its lane.
    A single channel gets a real axis in its unit.

    Parameters
    ----------
    plot : pg.PlotItem
        The plot to draw into (owned by :class:`SignalPlots`).
    trace : DisplayTrace
        The buffer this panel draws.
    theme : Theme
    """

    def __init__(self, plot: pg.PlotItem, trace: DisplayTrace, theme: Theme) -> None:
        self.plot = plot
        self.trace = trace
        self.theme = theme
        self.drawn_version = -1
        self.stacked = trace.n_channels > 1
        self.common_scale = trace.role in COMMON_SCALE_ROLES
        self.scale: StackScale | None = None
        self.y_range: tuple[float, float] | None = None
        color = QColor(theme.trace_color(trace.role))
        self.curves: list[pg.PlotDataItem] = []
        for i in range(trace.n_channels):
            c = QColor(color)
            if self.stacked and i % 2:
                c = c.darker(125)  # alternate shades help the eye follow neighbours
            curve = pg.PlotDataItem(pen=pg.mkPen(c, width=1), antialias=False)
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            curve.setSkipFiniteCheck(True)
            plot.addItem(curve)
            self.curves.append(curve)
        self._set_title()
        if self.stacked:
            ticks = [(-float(i), name) for i, name in enumerate(trace.channel_names)]
            plot.getAxis("left").setTicks([ticks, []])
            plot.setYRange(-(trace.n_channels - 0.5), 0.5, padding=0)

    def _set_title(self) -> None:
        t = self.trace
        unit = pretty_unit(t.units)
        parts = [ROLE_TITLES.get(t.role, t.role), f"{t.fs:g} Hz"]
        if self.stacked:
            common = self.scale.common if self.scale is not None else None
            if not self.common_scale:
                parts.append("each channel scaled to fit")
            elif common is not None:
                parts.append(f"{common:g} {unit} / division")
        elif unit:
            parts.append(unit)
        if t.band is not None:
            lo, hi = t.band
            if hi is not None and hi >= t.fs / 2 * 0.99:
                hi = None
            if lo is not None and hi is not None:
                parts.append(f"display filter {lo:g}–{hi:g} Hz")
            elif lo is not None:
                parts.append(f"display high-pass {lo:g} Hz")
        self.plot.setTitle(
            "  ·  ".join(parts),
            color=self.theme.title,
            size=f"{self.theme.title_pt}pt",
            justify="left",
        )

    def refresh(self) -> bool:
        """Hand new samples to the curves; return True when anything changed."""
        if self.trace.version == self.drawn_version:
            return False
        self.drawn_version = self.trace.version
        x, y = self.trace.snapshot()
        if self.scale is None and self.y_range is None:
            self.rescale(y)
        if self.stacked:
            if self.scale is None:
                return True
            y = to_lanes(y, self.scale)
        for curve, row in zip(self.curves, y, strict=True):
            curve.setData(x, row)
        return True

    def rescale(self, y: np.ndarray | None = None) -> None:
        """Recompute the vertical scale from the current window (about once a second)."""
        if y is None:
            _, y = self.trace.snapshot()
        if y.shape[1] == 0:
            return
        if self.stacked:
            scale = stack_scale(y, common=self.common_scale)
            if scale is None:
                return
            old = self.scale
            self.scale = scale
            if old is None or not np.array_equal(old.divisions, scale.divisions):
                self._set_title()
            self.drawn_version = -1  # redraw with the new scale on the next frame
        else:
            rng = robust_range(y[0])
            if rng is None:
                return
            if self.y_range is None or _range_moved(self.y_range, rng):
                self.y_range = rng
                self.plot.setYRange(*rng, padding=0)

    @property
    def has_data(self) -> bool:
        """True when every curve holds at least one point."""
        return all(c.xData is not None and len(c.xData) > 0 for c in self.curves)


def _range_moved(old: tuple[float, float], new: tuple[float, float]) -> bool:
    """True when ``new`` differs enough from ``old`` to be worth a visible rescale."""
    span = max(old[1] - old[0], 1e-12)
    return abs(new[0] - old[0]) > 0.1 * span or abs(new[1] - old[1]) > 0.1 * span


class SignalPlots(pg.GraphicsLayoutWidget):
    """All live signal panels of a source in one graphics view.

    Parameters
    ----------
    layout : SourceLayout
        Which roles, channel names, units and rates the source delivers.
    window_s : float
        Seconds shown.
    theme : Theme, optional
    parent : QWidget, optional
    """

    def __init__(
        self,
        layout: SourceLayout,
        window_s: float = 10.0,
        theme: Theme | None = None,
        parent: QWidget | None = None,
    ) -> None:
        self.theme = theme or Theme()
        super().__init__(parent=parent, show=False, size=None, title=None)
        self.setBackground(self.theme.background)
        # Every panel scrolls on every frame, so repainting the whole view at once is cheaper
        # than tracking the union of dirty item regions (~20 % less CPU, measured).
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.window_s = float(window_s)
        self.frames_painted = 0
        self.panels: dict[str, RolePanel] = {}
        self._build(layout)

    def _build(self, layout: SourceLayout) -> None:
        groups = [g for g in layout.groups if g.role not in HIDDEN_ROLES]
        order = {r: i for i, r in enumerate(ROLE_ORDER)}
        groups.sort(key=lambda g: order.get(g.role, len(order)))
        primary = [g for g in groups if g.role in PRIMARY_ROLES]
        secondary = [g for g in groups if g.role not in PRIMARY_ROLES]
        # EEG/ECG on the left, the other signals stacked on the right; one column otherwise.
        columns = [primary, secondary] if primary and secondary else [groups]
        first_plot: pg.PlotItem | None = None
        self.ci.setSpacing(0)
        for col, col_groups in enumerate(columns):
            column = self.ci.addLayout(row=0, col=col)
            column.setSpacing(8)
            for k, g in enumerate(col_groups):
                fs = layout.preset(g.preset).fs
                trace = DisplayTrace(g.role, fs, g.names, g.units, window_s=self.window_s)
                plot = self._make_plot(last_in_column=k == len(col_groups) - 1)
                column.addItem(plot, row=k, col=0)
                if first_plot is None:
                    first_plot = plot
                else:
                    plot.setXLink(first_plot)
                panel = RolePanel(plot, trace, self.theme)
                plot.titleLabel.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
                self.panels[g.role] = panel
                # Stacked many-channel panels get more height than single traces.
                weight = min(4, max(1, len(g.rows) // 3))
                column.layout.setRowStretchFactor(k, weight)
        if len(columns) == 2:
            self.ci.layout.setColumnStretchFactor(0, 3)
            self.ci.layout.setColumnStretchFactor(1, 2)

    def _make_plot(self, last_in_column: bool) -> pg.PlotItem:
        th = self.theme
        plot = pg.PlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=False, y=False)
        plot.setXRange(-self.window_s, 0.0, padding=0)
        if th.grid_alpha > 0:
            # Faint lines at whole seconds, drawn as static items: the axis grid of pyqtgraph
            # repaints the axis (text included) with every frame and costs ~20 % more CPU.
            grid = QColor(th.axis)
            grid.setAlphaF(th.grid_alpha)
            pen = pg.mkPen(grid, width=1)
            for sec in range(1, math.ceil(self.window_s)):
                line = pg.InfiniteLine(pos=-float(sec), angle=90, pen=pen, movable=False)
                line.setZValue(-10)
                plot.addItem(line, ignoreBounds=True)
        font = QFont()
        font.setPointSize(th.font_pt)
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen(th.axis))
            axis.setTextPen(pg.mkPen(th.text))
            axis.setTickFont(font)
            # The axes never move: cache them as pixmaps instead of replaying their text
            # every time a curve next to them is repainted.
            axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.getAxis("left").setWidth(th.axis_width_px)
        if last_in_column:
            plot.setLabel("bottom", "time (s)", color=th.text, size=f"{th.font_pt}pt")
        else:
            plot.getAxis("bottom").setStyle(showValues=False)
        return plot

    def push(self, chunk: Chunk) -> None:
        """Buffer the role blocks of ``chunk`` for display (no painting)."""
        for role, block in chunk.signals.items():
            panel = self.panels.get(role)
            if panel is not None:
                panel.trace.push(block)

    def refresh(self) -> int:
        """Update the curves of traces that changed; return how many panels changed."""
        return sum(p.refresh() for p in self.panels.values())

    def rescale(self) -> None:
        """Recompute the vertical scales of all panels."""
        for p in self.panels.values():
            p.rescale()

    @property
    def has_data(self) -> bool:
        """True when every panel has drawn at least one point on each curve."""
        return bool(self.panels) and all(p.has_data for p in self.panels.values())

    def paintEvent(self, ev) -> None:  # noqa: N802 - Qt override
        super().paintEvent(ev)
        self.frames_painted += 1
