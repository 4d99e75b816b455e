"""The clinic monitor: one large tile per biotrainer station found on the network.

All discovery and bookkeeping is in :class:`biotrainer.net.discovery.StationTracker`; this
window only asks it for :meth:`~biotrainer.net.discovery.StationTracker.update` on a QTimer and
renders the snapshots. A tile shows the station, the patient code, the protocol phase, the
feedback score (large), HR and RMSSD and the signal quality; its frame and banner turn amber when
the signal is lost and red when the stream is gone, purple when two stations use the same name.
Long station names and patient codes are shortened in the middle ("…", full text in the tooltip)
so that two codes differing only at the end still look different; a long banner gets a smaller
font, then wraps.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QFont, QFontMetrics, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
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
#: Frame / banner colour of a station whose name another station on the air also uses.
SAME_NAME_COLOUR = "#8e44ad"
#: Colour of the values (and progress bar) of a station that is not live.
STALE_COLOUR = "#95a5a6"


def _fmt(value: float, unit: str, digits: int = 0) -> str:
    return "–" if not math.isfinite(value) else f"{value:.{digits}f} {unit}"


class ElidedLabel(QLabel):
    """A one-line label that shortens its text in the middle ("…") to the width it is given
    instead of being clipped or widening its tile; :meth:`text` stays the full text (also the
    tooltip), :meth:`shown_text` is what is painted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt name
        if text != self.text():
            super().setText(text)
            self.setToolTip(text)

    def shown_text(self) -> str:
        width = max(self.contentsRect().width(), 1)
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideMiddle, width)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt name
        painter = QPainter(self)
        self.style().drawItemText(
            painter,
            self.contentsRect(),
            int(self.alignment()),
            self.palette(),
            self.isEnabled(),
            self.shown_text(),
            self.foregroundRole(),
        )


class BannerLabel(QLabel):
    """The state banner, word-wrapped (never cut): the largest font (16 down to 12 pt) that keeps
    its text on one line, else the largest that keeps it on two."""

    POINT_SIZES = (16, 15, 14, 13, 12)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        # Word-wrapped labels ask for little width: take the whole tile width, and keep the
        # height-for-width of a wrapping label (two lines get two lines' room).
        policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        f = QFont()
        f.setPointSize(self.POINT_SIZES[0])
        f.setBold(True)
        self.setFont(f)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt name
        if text != self.text():
            super().setText(text)
            self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit()

    def _fit(self) -> None:
        width = self.contentsRect().width()
        if width <= 0:
            return
        font = QFont(self.font())
        best = None
        for size in self.POINT_SIZES:
            font.setPointSize(size)
            fm = QFontMetrics(font)
            if fm.horizontalAdvance(self.text()) <= width:
                best = size  # one line
                break
            if best is None:
                flags = int(Qt.TextFlag.TextWordWrap) | int(Qt.AlignmentFlag.AlignCenter)
                rect = fm.boundingRect(0, 0, width, 10_000, flags, self.text())
                if rect.width() <= width and rect.height() <= 2 * fm.lineSpacing():
                    best = size  # two lines, unless a smaller font gets it on one
        size = self.POINT_SIZES[-1] if best is None else best
        if size != self.font().pointSize():
            font.setPointSize(size)
            self.setFont(font)


def _label(point_size: int, bold: bool = False, elide: bool = False) -> QLabel:
    lab = ElidedLabel() if elide else QLabel()
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
        lay.setContentsMargins(8, 4, 8, 4)
        lay.setSpacing(2)  # compact: ten tiles fit a 1400x1000 window
        self.title = _label(22, bold=True, elide=True)
        self.patient = _label(16, elide=True)
        self.phase = _label(14)
        self.phase.setWordWrap(True)
        self.score = _label(40, bold=True)
        self.score.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setTextVisible(False)
        self.cardiac = _label(16)
        self.quality = _label(14)
        self.banner = BannerLabel()
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
        live = s.state is StationState.LIVE
        stale = "" if live else f"color: {STALE_COLOUR};"
        for w in (self.score, self.cardiac, self.quality, self.phase):
            w.setStyleSheet(stale)
        self.bar.setStyleSheet(
            "" if live else f"QProgressBar::chunk {{ background-color: {STALE_COLOUR}; }}"
        )
        if s.same_name:
            colour = SAME_NAME_COLOUR
            self.banner.setText(s.alert)  # not upper-cased: the name and --lsl must read as typed
        else:
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
