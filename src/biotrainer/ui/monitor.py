"""The clinic monitor: one large tile per biotrainer station found on the network.

All discovery and bookkeeping is in :class:`biotrainer.net.discovery.StationTracker`; this
window only asks it for :meth:`~biotrainer.net.discovery.StationTracker.update` on a QTimer and
renders the snapshots. A tile shows the station, the patient code, the protocol phase, the
feedback score (large), HR and RMSSD and the signal quality; its frame and banner turn amber when
the signal is lost and red when the stream is gone.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QFont
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from biotrainer.clock import Clock, MonotonicClock
from biotrainer.net.discovery import StationState, StationStatus, StationTracker

#: Frame / banner colour of each state.
STATE_COLOURS = {
    StationState.CONNECTING: "#7f8c8d",
    StationState.LIVE: "#27ae60",
    StationState.SIGNAL_LOST: "#e67e22",
    StationState.STREAM_LOST: "#c0392b",
}


def _fmt(value: float, unit: str, digits: int = 0) -> str:
    return "–" if not math.isfinite(value) else f"{value:.{digits}f} {unit}"


def _label(point_size: int, bold: bool = False) -> QLabel:
    lab = QLabel()
    f = QFont()
    f.setPointSize(point_size)
    f.setBold(bold)
    lab.setFont(f)
    return lab


class StationTile(QFrame):
    """One station, large and legible from across a room."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tile")
        self.setMinimumSize(320, 260)
        lay = QVBoxLayout(self)
        self.title = _label(22, bold=True)
        self.patient = _label(16)
        self.phase = _label(14)
        self.phase.setWordWrap(True)
        self.score = _label(44, bold=True)
        self.score.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setTextVisible(False)
        self.cardiac = _label(16)
        self.quality = _label(14)
        self.banner = _label(16, bold=True)
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for w in (
            self.title,
            self.patient,
            self.phase,
            self.score,
            self.bar,
            self.cardiac,
            self.quality,
            self.banner,
        ):
            lay.addWidget(w)
        self.status: StationStatus | None = None

    def show_status(self, s: StationStatus) -> None:
        """Render one snapshot."""
        self.status = s
        self.title.setText(s.station)
        self.patient.setText(f"Patient {s.patient_code}" if s.patient_code else "Patient –")
        self.phase.setText(
            f"{s.protocol}: {s.phase_name}" if s.phase_name else (s.protocol or "waiting…")
        )
        score = s.feedback_score
        self.score.setText("–" if not math.isfinite(score) else f"{round(100 * score)}")
        self.bar.setValue(0 if not math.isfinite(score) else int(round(100 * score)))
        self.cardiac.setText(f"HR {_fmt(s.hr_bpm, 'bpm')}   RMSSD {_fmt(s.rmssd_ms, 'ms')}")
        q = {None: "quality –", True: "signal clean", False: "signal NOT clean"}[s.quality_ok]
        self.quality.setText(q)
        # Values of a station that is not live are stale: greyed, never mistaken for live ones.
        stale = "color: #95a5a6;" if s.state is not StationState.LIVE else ""
        for w in (self.score, self.cardiac, self.quality, self.phase):
            w.setStyleSheet(stale)
        colour = STATE_COLOURS[s.state]
        self.banner.setText(s.alert.upper() if s.alert else s.state.value)
        self.banner.setStyleSheet(
            f"background: {colour}; color: white; padding: 4px; border-radius: 4px;"
        )
        self.setStyleSheet(f"#tile {{ border: 4px solid {colour}; border-radius: 8px; }}")


class MonitorWindow(QMainWindow):
    """The clinic monitor window.

    Parameters
    ----------
    tracker : StationTracker
        Owned by the window: closed when the window closes.
    clock : Clock, optional
        Time passed to ``tracker.update`` (monotonic by default).
    refresh_ms : int
        Update period.
    """

    def __init__(
        self, tracker: StationTracker, clock: Clock | None = None, refresh_ms: int = 250
    ) -> None:
        super().__init__()
        self.tracker = tracker
        self.clock = clock or MonotonicClock()
        self.setWindowTitle("biotrainer — clinic monitor")
        self.resize(1100, 700)
        self.tiles: dict[str, StationTile] = {}
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setSpacing(16)
        self._empty = _label(18)
        self._empty.setText(
            "Looking for biotrainer stations on the network…\n"
            "(start a session with --lsl on each station)"
        )
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._grid.addWidget(self._empty, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._grid_host)
        self.setCentralWidget(scroll)
        self.timer = QTimer(self)
        self.timer.setInterval(int(refresh_ms))
        self.timer.timeout.connect(self.refresh)
        self._closed = False

    def start(self) -> None:
        """Refresh now and then every ``refresh_ms``."""
        self.refresh()
        self.timer.start()

    def refresh(self) -> None:
        """Ask the tracker for the stations and render them."""
        if self._closed:
            return
        statuses = self.tracker.update(self.clock.now())
        keys = [s.key for s in statuses]
        relayout = keys != list(self.tiles)
        for key in list(self.tiles):
            if key not in keys:
                self.tiles.pop(key).deleteLater()
        for s in statuses:
            tile = self.tiles.get(s.key)
            if tile is None:
                tile = self.tiles[s.key] = StationTile(self._grid_host)
            tile.show_status(s)
        if relayout:
            self._relayout(keys)

    def _relayout(self, keys: list[str]) -> None:
        while self._grid.count():
            self._grid.takeAt(0)
        self._empty.setVisible(not keys)
        if not keys:
            self._grid.addWidget(self._empty, 0, 0)
            return
        cols = max(1, math.ceil(math.sqrt(len(keys))))
        ordered = {k: self.tiles[k] for k in keys}
        self.tiles = ordered
        for i, tile in enumerate(ordered.values()):
            self._grid.addWidget(tile, i // cols, i % cols)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt name
        if not self._closed:
            self._closed = True
            self.timer.stop()
            self.tracker.close()
        super().closeEvent(event)


def run_monitor(
    *, stream_lost_after_s: float = 5.0, signal_lost_after_s: float = 5.0, refresh_ms: int = 250
) -> int:
    """Open the monitor window and run the event loop until it is closed."""
    from biotrainer.ui.app import application, exec_until_closed

    app = application()
    tracker = StationTracker(
        stream_lost_after_s=stream_lost_after_s, signal_lost_after_s=signal_lost_after_s
    )
    window = MonitorWindow(tracker, refresh_ms=refresh_ms)
    window.show()
    window.start()
    return exec_until_closed(app, window)
