"""The first window: live signals of one source and a status bar."""

from __future__ import annotations

import math

from PySide6.QtCore import QElapsedTimer, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QWidget

from biotrainer.acquisition.source import Source, SourceState
from biotrainer.errors import BiotrainerError
from biotrainer.ui.bridge import SourceBridge
from biotrainer.ui.error_report import capitalised, device_error_text
from biotrainer.ui.signal_plots import ROLE_TITLES, SignalPlots, Theme

#: Colour of the state dot in the status bar.
STATE_COLORS = {
    SourceState.STREAMING: "#7fd18b",
    SourceState.SILENT: "#f0a860",
    SourceState.ENDED: "#9fb2c4",
}

WINDOW_STYLE = """
QMainWindow, QWidget#central {{ background: {bg}; }}
QStatusBar {{ background: #0c1014; color: {text}; border-top: 1px solid #222b34; }}
QStatusBar QLabel {{ color: {text}; padding: 2px 10px; font-size: 10pt; }}
QStatusBar::item {{ border: none; }}
"""


class MainWindow(QMainWindow):
    """Live scrolling signals per modality with device state in the status bar.

    Parameters
    ----------
    source : Source
        A source not yet prepared; the window opens it in :meth:`start` and stops and releases
        it when closed.
    poll_hz : float, optional
        Source polls per second (the bridge's one timer). By default a little above ``fps``
        (the shortest whole-millisecond interval not longer than a frame), so every frame has
        fresh samples to draw.
    fps : float
        Frames per second of the plot repaint timer. A frame draws only the pixel columns
        completed since the previous one and repaints only the panels that changed.
    window_s : float
        Seconds of signal shown.
    sweep : bool
        The panels sweep (a cursor over a still picture) instead of scrolling.
    parent : QWidget, optional
    """

    def __init__(
        self,
        source: Source,
        *,
        poll_hz: float | None = None,
        fps: float = 30.0,
        window_s: float = 10.0,
        sweep: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.theme = Theme()
        self.window_s = window_s
        self.sweep = sweep
        self.fps = fps
        self.error: str | None = None
        self.frames = 0
        if poll_hz is None:
            poll_hz = min(200.0, 1000.0 / max(1, math.floor(1000.0 / fps)))
        self.bridge = SourceBridge(source, poll_hz=poll_hz, parent=self)
        self.bridge.state_changed.connect(self._on_state)
        self.bridge.failed.connect(self._on_failed)
        self.plots: SignalPlots | None = None
        self._frame_timer = QTimer(self)
        self._frame_timer.setTimerType(Qt.TimerType.PreciseTimer)
        # Frames are paced on deadlines k * 1000 / fps ms after the start (whole-millisecond
        # intervals of 16 or 17 ms at 60 fps): a fixed round(1000 / 60) = 17 ms gives 58.8 fps.
        self._frame_period_ms = 1000.0 / fps
        self._frame_timer.setInterval(max(1, round(self._frame_period_ms)))
        self._pace_clock = QElapsedTimer()
        self._deadline = 1  # the frame deadline the timer is aimed at, in frame periods
        self._frame_timer.timeout.connect(self._on_frame)
        self._rescale_every = max(1, round(fps))  # about once a second
        self._status_every = max(1, round(fps / 2))  # about twice a second
        self._fps_clock = QElapsedTimer()
        self._fps_mark = (0, 0)  # (elapsed ms, frames painted) at the last status update
        self.measured_fps: float | None = None

        self.setWindowTitle("biotrainer")
        self.setStyleSheet(WINDOW_STYLE.format(bg=self.theme.background, text=self.theme.text))
        self.resize(1280, 800)
        self._device_label = QLabel("")
        self._state_label = QLabel("starting…")
        self._rates_label = QLabel("")
        self._samples_label = QLabel("")
        self._fps_label = QLabel("")
        bar = self.statusBar()
        bar.setSizeGripEnabled(False)
        bar.addWidget(self._device_label)
        bar.addWidget(self._state_label)
        bar.addWidget(self._rates_label, 1)
        bar.addPermanentWidget(self._samples_label)
        bar.addPermanentWidget(self._fps_label)
        placeholder = QLabel("Opening the device…")
        placeholder.setObjectName("central")
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        placeholder.setStyleSheet(f"color: {self.theme.text}; font-size: 14pt;")
        self.setCentralWidget(placeholder)

    @property
    def frame_timer_active(self) -> bool:
        return self._frame_timer.isActive()

    def start(self) -> bool:
        """Open the source and start drawing.

        Returns
        -------
        bool
            False when the device could not be opened: the error was shown in a message box,
            the source released and the window closed.
        """
        source = self.bridge.source
        self._device_label.setText(source.layout.device)
        self.setWindowTitle(f"biotrainer — {source.layout.device}")
        try:
            self.bridge.open()
        except BiotrainerError as exc:
            self.error = str(exc)
            self.show_error("The device could not be opened", device_error_text(exc))
            self.close()
            return False
        self.plots = SignalPlots(
            source.layout, window_s=self.window_s, theme=self.theme, sweep=self.sweep
        )
        self.setCentralWidget(self.plots)
        self.bridge.chunk_ready.connect(self.plots.push)
        self._pace_clock.start()
        self._frame_timer.start()
        self._fps_clock.start()
        self._update_status()
        return True

    def show_error(self, title: str, message: str) -> None:
        """Tell the person what went wrong (a modal message box, no traceback; the message is a
        sentence there: capitalised)."""
        QMessageBox.critical(self, title, capitalised(message))

    def _pace(self) -> None:
        """Aim the next tick at the next frame deadline (restarts the repeating timer)."""
        now = self._pace_clock.elapsed()
        period = self._frame_period_ms
        self._deadline += 1
        if self._deadline * period < now:  # late by more than a frame: do not catch up
            self._deadline = math.floor(now / period) + 1
        self._frame_timer.setInterval(max(1, round(self._deadline * period - now)))

    def _on_frame(self) -> None:
        if self.plots is None:
            return
        self.frames += 1
        self._pace()
        self.plots.refresh()
        if self.frames % self._rescale_every == 0:
            self.plots.rescale()
        if self.frames % self._status_every == 0:
            self._update_status()

    def _on_state(self, state: SourceState) -> None:
        self._update_status()

    def _on_failed(self, message: str) -> None:
        self.error = message
        self._update_status()
        self.show_error("The device stopped", message)

    def _update_status(self) -> None:
        state = self.bridge.state
        if self.error is not None:
            text, color = "error", "#e57373"
        elif state is None:
            text, color = "starting…", "#9fb2c4"
        else:
            text, color = state.value, STATE_COLORS.get(state, "#9fb2c4")
        self._state_label.setText(f"<span style='color:{color}'>●</span> {text}")
        stats = self.bridge.stats
        rates = []
        if self.plots is not None:
            for role, panel in self.plots.panels.items():
                measured = stats.rate_hz(role)
                nominal = panel.trace.fs
                text = f"{ROLE_TITLES.get(role, role)} "
                if measured is None:
                    text += f"– / {nominal:g} Hz"
                elif abs(measured - nominal) > 0.05 * nominal:
                    text += f"{measured:.0f} Hz (expected {nominal:g})"
                else:
                    text += f"{measured:.0f} Hz"
                rates.append(text)
        self._rates_label.setText("  ·  ".join(rates))
        self._samples_label.setText(f"samples received {stats.total_samples:,}")
        if self.plots is not None and self._fps_clock.isValid():
            now_ms, painted = self._fps_clock.elapsed(), self.plots.frames_painted
            dt_ms = now_ms - self._fps_mark[0]
            if dt_ms >= 400:
                self.measured_fps = 1000.0 * (painted - self._fps_mark[1]) / dt_ms
                self._fps_mark = (now_ms, painted)
            if self.measured_fps is not None:
                self._fps_label.setText(f"display {self.measured_fps:.0f} fps")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Stop the timers and release the device before the window goes."""
        self._frame_timer.stop()
        self.bridge.close()
        super().closeEvent(event)
