"""The clinic monitor: one tile per biotrainer station found on the network.

All discovery and bookkeeping is in :class:`biotrainer.net.discovery.StationTracker`; this
window only asks it for :meth:`~biotrainer.net.discovery.StationTracker.update` on a QTimer and
renders the snapshots, one :class:`~biotrainer.ui.monitor_tile.StationTile` each. The tiles fill
the window: the columns and the text scale are chosen
(:func:`~biotrainer.ui.monitor_grid.choose_grid`) so that every tile fits without scrolling at
the largest text that allows it (sixteen stations fit the default 1100×700 size); only when the
text would have to go below its legible floor does the view scroll.

A station whose session ended, or whose stream went away, stays on the list until the therapist
removes it: right-click its tile, or *Stations → Remove ended and lost stations* (which also
removes streams that are no biotrainer station's; those also leave when their stream goes).

Tiles whose station names (or patient codes) are too long for them and would look alike once
shortened keep the part where they differ visible (see :class:`ElidedLabel`).
"""

from __future__ import annotations

import os

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QFont
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QScrollArea,
    QWidget,
)

from biotrainer.clock import Clock, MonotonicClock
from biotrainer.net.discovery import StationState, StationTracker
from biotrainer.ui.monitor_grid import GridChoice, choose_grid
from biotrainer.ui.monitor_labels import ElidedLabel
from biotrainer.ui.monitor_tile import StationTile, TileMeasure

#: Pixels between tiles and round the grid.
GAP = 8
#: States of a station the therapist may take off the list.
REMOVABLE = (StationState.ENDED, StationState.STREAM_LOST, StationState.INCOMPATIBLE)


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
        self._measure = TileMeasure(self)
        self._placed: tuple[int, list[str]] = (0, [])  # columns and order of the grid
        self._banners: list[str] = []  # each tile's banner text, in grid order
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setSpacing(GAP)
        self._grid.setContentsMargins(GAP, GAP, GAP, GAP)
        self._empty = QLabel(
            "Looking for biotrainer stations on the network…\n"
            "(start a session with --lsl on each station)"
        )
        font = QFont()
        font.setPointSize(18)
        self._empty.setFont(font)
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._grid.addWidget(self._empty, 0, 0)
        self._scroll = QScrollArea()
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setWidgetResizable(True)
        self._scroll.setWidget(self._grid_host)
        self._scroll.installEventFilter(self)
        self.setCentralWidget(self._scroll)
        self.timer = QTimer(self)
        self.timer.setInterval(int(refresh_ms))
        self.timer.timeout.connect(self.refresh)
        self._closed = False
        self.remove_ended_action = QAction("Remove ended and lost stations", self)
        self.remove_ended_action.triggered.connect(self.remove_ended)
        self.menuBar().addMenu("&Stations").addAction(self.remove_ended_action)

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
                tile.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
                tile.customContextMenuRequested.connect(
                    lambda pos, key=s.key: self._show_tile_menu(key, pos)
                )
            tile.show_status(s)
        if relayout:
            self.tiles = {k: self.tiles[k] for k in keys}
        self._tell_apart()
        banners = [t.banner.text() for t in self.tiles.values()]
        if relayout or banners != self._banners:  # a longer banner may need more room
            self._banners = banners
            self._fit()

    def _tell_apart(self) -> None:
        """Give each tile's title and patient label the other tiles' texts (see
        :meth:`ElidedLabel.set_others`)."""
        for part in ("title", "patient"):
            labels: list[ElidedLabel] = [getattr(t, part) for t in self.tiles.values()]
            texts = [label.text() for label in labels]
            for i, label in enumerate(labels):
                label.set_others(texts[:i] + texts[i + 1 :])

    def remove_station(self, key: str) -> None:
        """Take one station off the list (it comes back if its stream sends again)."""
        self.tracker.forget(key)
        self.refresh()

    def remove_ended(self) -> None:
        """Take every station whose session ended or whose stream went away off the list."""
        for key, tile in self.tiles.items():
            if tile.status is not None and tile.status.state in REMOVABLE:
                self.tracker.forget(key)
        self.refresh()

    def _show_tile_menu(self, key: str, pos: QPoint) -> None:
        tile = self.tiles.get(key)
        if tile is not None:
            self._tile_menu(key).popup(tile.mapToGlobal(pos))

    def _tile_menu(self, key: str) -> QMenu:
        """The context menu of a station's tile."""
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        tile = self.tiles.get(key)
        state = tile.status.state if tile is not None and tile.status is not None else None
        action = menu.addAction("Remove from the list")
        action.setEnabled(state in REMOVABLE)
        if state not in REMOVABLE:
            action.setToolTip("only a station whose session ended or whose stream went away")
        action.triggered.connect(lambda: self.remove_station(key))
        return menu

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        """Fit the tiles again when the view changes size."""
        if watched is self._scroll and event.type() == QEvent.Type.Resize:
            self._fit()
        return super().eventFilter(watched, event)

    def _fit(self) -> None:
        """Choose the columns and text scale for the view's size, then place the tiles."""
        n = len(self.tiles)
        self._empty.setVisible(not n)
        if not n:
            self._place(0)
            return
        room = self._scroll.maximumViewportSize()

        def choose(width: int) -> GridChoice:
            return choose_grid(
                n,
                width - 2 * GAP,
                room.height() - 2 * GAP,
                GAP,
                self._measure.width,
                lambda scale, w, i: self._measure.height(scale, w, self._banners[i]),
            )

        choice = choose(room.width())
        if not choice.fits:  # the view will scroll: leave room for its scroll bar
            choice = choose(room.width() - self._scroll.verticalScrollBar().sizeHint().width())
        for tile in self.tiles.values():
            tile.set_scale(choice.scale)
        self._place(choice.cols)

    def _place(self, cols: int) -> None:
        """Put the tiles in ``cols`` equal columns (the empty-view text when ``cols`` is 0)."""
        order = list(self.tiles)
        if (cols, order) == self._placed:
            return
        self._placed = (cols, order)
        while self._grid.count():
            self._grid.takeAt(0)
        if not cols:
            self._grid.addWidget(self._empty, 0, 0)
        for i, tile in enumerate(self.tiles.values()):
            self._grid.addWidget(tile, i // cols, i % cols)
        rows = -(-len(order) // cols) if cols else 1
        for r in range(self._grid.rowCount()):
            self._grid.setRowStretch(r, int(r < rows))
        for c in range(self._grid.columnCount()):
            self._grid.setColumnStretch(c, int(c < max(cols, 1)))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt name
        if not self._closed:
            self._closed = True
            self.timer.stop()
            self.tracker.close()
        super().closeEvent(event)


def run_monitor(
    *,
    stream_lost_after_s: float = 5.0,
    signal_lost_after_s: float = 5.0,
    refresh_ms: int = 250,
    data_directory: str | os.PathLike[str] | None = None,
) -> int:
    """Open the monitor window and run the event loop until it is closed (an unexpected error
    is logged under ``data_directory``, the user data folder by default)."""
    from biotrainer.ui.app import application, exec_until_closed

    app = application()
    tracker = StationTracker(
        stream_lost_after_s=stream_lost_after_s, signal_lost_after_s=signal_lost_after_s
    )
    window = MonitorWindow(tracker, refresh_ms=refresh_ms)
    window.show()
    window.start()
    return exec_until_closed(app, window, data_directory)
