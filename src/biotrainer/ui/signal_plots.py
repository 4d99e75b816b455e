"""Live signals, one panel per physiological role, sweeping or scrolling.

Chunks are pushed into per-role :class:`~biotrainer.ui.traces.DisplayTrace` buffers as they
arrive; :meth:`SignalPlots.refresh` (called by a frame timer) lets each panel draw only the
pixel columns completed since the last frame (:class:`~biotrainer.ui.trace_canvas.TraceCanvas`)
and repaint only its trace area. Multi-channel roles are stacked in lanes named on the left
axis (EEG and motion channels share one 1-2-5 scale; PPG wavelengths etc. are scaled each to
fit); single-channel roles get a real axis in their unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QFontMetrics, QPalette
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.source import SourceLayout
from biotrainer.ui.trace_canvas import ROLE_TITLES, TICK_PX, TraceCanvas, pretty_unit
from biotrainer.ui.traces import DisplayTrace

__all__ = ["ROLE_TITLES", "RolePanel", "SignalPlots", "Theme", "lane_names", "pretty_unit"]

#: Roles that are never drawn as signals.
HIDDEN_ROLES = frozenset({"marker"})

#: Roles drawn in the main (left) column when other roles exist too.
PRIMARY_ROLES = ("eeg", "ecg")

#: Display order of roles.
ROLE_ORDER = ("eeg", "ecg", "ppg", "resp", "eda", "accel", "gyro", "temp")

#: Least height of a panel's traces (pixels): a trace and one value label beside it...
MIN_TRACE_PX = 16
#: ... and of each lane of a stacked panel (EEG's 16 channels: 80 pixels).
MIN_LANE_PX = 5
#: Pixels between two panels of a column.
PANEL_SPACING_PX = 6


def lane_names(role: str, names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Channel names as the lanes show them: without a prefix naming the role the panel's
    title already names ("ppg_red", "ppg_ambient" -> "red", "ambient"), so that they fit the
    left axis."""
    prefix = f"{role}_".lower()
    if names and all(n.lower().startswith(prefix) and len(n) > len(prefix) for n in names):
        return tuple(n[len(prefix) :] for n in names)
    return tuple(names)


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
    axis_width_px: int = 60
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


#: One panel per role (the incremental trace renderer).
RolePanel = TraceCanvas


class SignalPlots(QWidget):
    """All live signal panels of a source: EEG/ECG in a left column, the rest on the right.

    Parameters
    ----------
    layout : SourceLayout
        Which roles, channel names, units and rates the source delivers.
    window_s : float
        Seconds shown.
    theme : Theme, optional
    sweep : bool
        Sweep (a cursor writes over a still picture, like a bedside monitor; the cheaper to
        draw) instead of scrolling; see :meth:`set_sweep`.
    parent : QWidget, optional
    """

    def __init__(
        self,
        layout: SourceLayout,
        window_s: float = 10.0,
        theme: Theme | None = None,
        parent: QWidget | None = None,
        *,
        sweep: bool = True,
    ) -> None:
        super().__init__(parent)
        self.theme = theme or Theme()
        self.window_s = float(window_s)
        self.sweep = sweep
        #: Frames in which at least one panel was painted.
        self.frames_painted = 0
        self._frame_seq = 0
        self._painted_seq = -1
        self.panels: dict[str, RolePanel] = {}
        title_font = QFont()
        title_font.setPointSize(self.theme.title_pt)
        self._title_metrics = QFontMetrics(title_font)
        pal = self.palette()
        pal.setColor(QPalette.ColorRole.Window, QColor(self.theme.background))
        self.setPalette(pal)
        self.setAutoFillBackground(True)
        self._build(layout)

    def _build(self, layout: SourceLayout) -> None:
        groups = [g for g in layout.groups if g.role not in HIDDEN_ROLES]
        order = {r: i for i, r in enumerate(ROLE_ORDER)}
        groups.sort(key=lambda g: order.get(g.role, len(order)))
        primary = [g for g in groups if g.role in PRIMARY_ROLES]
        secondary = [g for g in groups if g.role not in PRIMARY_ROLES]
        # EEG/ECG on the left, the other signals stacked on the right; one column otherwise.
        columns = [primary, secondary] if primary and secondary else [groups]
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 4, 4, 2)
        row.setSpacing(12)
        for col_groups in columns:
            column = QVBoxLayout()
            column.setSpacing(PANEL_SPACING_PX)
            for k, g in enumerate(col_groups):
                fs = layout.preset(g.preset).fs
                names = lane_names(g.role, g.names)
                trace = DisplayTrace(g.role, fs, names, g.units, window_s=self.window_s)
                panel = RolePanel(
                    trace,
                    self.theme,
                    show_time_axis=k == len(col_groups) - 1,
                    on_painted=self._panel_painted,
                    sweep=self.sweep,
                )
                panel.setMinimumHeight(self.least_height(panel))
                self.panels[g.role] = panel
                # Stacked many-channel panels get more height than single traces.
                column.addWidget(panel, stretch=min(4, max(1, len(g.rows) // 3)))
            row.addLayout(column, stretch=3 if len(columns) == 2 and not row.count() else 2)

    def least_height(self, panel: RolePanel) -> int:
        """The least height of ``panel`` (pixels): its title and time axis (as
        :meth:`TraceCanvas.data_rect` leaves them) and :data:`MIN_TRACE_PX` of traces, or
        :data:`MIN_LANE_PX` per lane. Six panels of a column then fit a 1024x600 screen (the
        canvas' own least height, 60 pixels, made the window taller than that)."""
        font = QFont()
        font.setPointSize(self.theme.font_pt)
        axis = QFontMetrics(font).height()
        chrome = self._title_metrics.height() + 6 + TICK_PX + 2
        if panel.show_time_axis:
            chrome += 2 * axis + 4
        lanes = len(panel.trace.channel_names)
        return chrome + max(MIN_TRACE_PX, axis + 2, MIN_LANE_PX * lanes)

    def _panel_painted(self) -> None:
        if self._painted_seq != self._frame_seq:
            self._painted_seq = self._frame_seq
            self.frames_painted += 1

    def push(self, chunk: Chunk) -> None:
        """Buffer the role blocks of ``chunk`` for display (no painting)."""
        for role, block in chunk.signals.items():
            panel = self.panels.get(role)
            if panel is not None:
                panel.trace.push(block)

    def refresh(self) -> int:
        """Draw what is new in every panel; return how many panels changed.

        Only the changed panels' trace areas are scheduled for repainting.
        """
        changed = sum(p.refresh() for p in self.panels.values())
        if changed:
            self._frame_seq += 1
        return changed

    def set_sweep(self, sweep: bool) -> None:
        """Sweep (True) or scroll (False) every panel from now on."""
        self.sweep = sweep
        for p in self.panels.values():
            p.set_sweep(sweep)

    def rescale(self) -> None:
        """Recompute the vertical scales of all panels (redrawn only when they changed), and
        give a panel whose title is cut short the whole title as its tooltip."""
        for p in self.panels.values():
            p.rescale()
            self._title_tip(p)

    def _title_tip(self, panel: RolePanel) -> None:
        fits = self._title_metrics.horizontalAdvance(panel.title) <= (
            panel.width() - self.theme.axis_width_px - 8
        )
        tip = "" if fits else panel.title
        if panel.toolTip() != tip:
            panel.setToolTip(tip)

    @property
    def has_data(self) -> bool:
        """True when every panel has drawn samples."""
        return bool(self.panels) and all(p.has_data for p in self.panels.values())
