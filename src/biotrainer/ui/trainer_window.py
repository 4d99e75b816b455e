"""The trainer: therapist dashboard in the main window, patient view in a window of its own.

:class:`TrainerWindow` runs one session at a time: Start opens the device, creates the session
folder (no session runs without its recording), builds the engine and its Qt bridge; Stop (or
the end of the protocol) closes them, shows the per-phase summary and hands a
:class:`SessionOutcome` to ``on_session_finished`` (the patient store's hook).
"""

from __future__ import annotations

import contextlib
import math
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QFont, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from biotrainer.acquisition.source import Source
from biotrainer.clock import Clock, MonotonicClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import Protocol
from biotrainer.engine.summary import PhaseSummary, format_summary, summarize
from biotrainer.engine.updates import MetricUpdate
from biotrainer.errors import BiotrainerError
from biotrainer.ui.dashboard import TherapistDashboard
from biotrainer.ui.engine_bridge import EngineBridge, LatencyMeter
from biotrainer.ui.signal_plots import Theme

SETTINGS_GROUP = "trainer"

WINDOW_STYLE = """
QMainWindow {{ background: {bg}; }}
QMenuBar {{ background: #0c1014; color: {text}; }}
QMenuBar::item:selected {{ background: #1f2833; }}
QMenu {{ background: #151b22; color: {text}; border: 1px solid #222b34; }}
QMenu::item:selected {{ background: #283442; }}
QMenu::item:disabled {{ color: #56616c; }}
QDialog, QPlainTextEdit {{ background: {bg}; color: {text}; }}
"""


@dataclass(frozen=True)
class SessionOutcome:
    """What a finished session leaves behind (given to ``on_session_finished``).

    Attributes
    ----------
    folder : Path or None
        The session folder (raw data, metrics.csv, events.csv, session.json).
    protocol : str
        Protocol name.
    patient : object or None
        Whatever was given as ``patient`` to the window (the patient store's record or id).
    completed : bool
        The session ended by itself: the protocol is over, or a recording / simulation ran
        out of data (False: stopped by the therapist or by an error).
    phases : tuple of PhaseSummary
        Per-phase means (see :func:`biotrainer.engine.summary.summarize`).
    resonance_bpm : float
        Best breathing rate of a resonance assessment (breaths/min; NaN otherwise).
    error : str or None
        The message of the error that stopped the session, if any.
    """

    folder: Path | None
    protocol: str
    patient: Any
    completed: bool
    phases: tuple[PhaseSummary, ...] = field(default=())
    resonance_bpm: float = math.nan
    error: str | None = None


def default_patient_view(clock: Clock) -> QWidget | None:
    """The patient view (:class:`biotrainer.ui.patient_view.PatientView`) on ``clock``."""
    try:
        from biotrainer.ui.patient_view import PatientView
    except ImportError:  # pragma: no cover - the module ships with the package
        return None
    return PatientView(clock=clock)


class TrainerWindow(QMainWindow):
    """The trainer application window.

    Parameters
    ----------
    make_source : callable
        Builds a new, unprepared source for each session (may raise BiotrainerError).
    protocol : Protocol
    clock : Clock, optional
        The one clock of the session (engine, recorder, latency, patient animation).
    data_dir : path-like, optional
        Session store (``--data-dir``); None = BIOTRAINER_DATA or the platform default.
    patient : object, optional
        The patient this session is for (the patient store's record or id); stored in
        ``session.json`` (``extra.patient``, as ``str(patient)`` unless it has an ``id``) and
        handed back in :class:`SessionOutcome`.
    pacer_bpm : float, optional
        The patient's stored resonance rate (overrides the protocol's pacer).
    outlets : object, optional
        LSL outlets: ``push_chunk(chunk)`` and ``push_update(update)``.
    on_session_finished : callable, optional
        Called with the :class:`SessionOutcome` when a session ends.
    settings : QSettings, optional
        Where the window layout is remembered (default: the application's QSettings).
    patient_view_factory : callable, optional
        ``factory(clock) -> QWidget | None`` building the patient view (a top-level window
        with ``show_update``, ``set_instruction``, ``toggle_fullscreen``, ``show_on_screen``,
        ``set_audio_enabled``, ``set_show_numbers``). Default: :func:`default_patient_view`.
    tick_hz, fps : float
        Engine ticks and dashboard frames per second.
    before_tick : callable, optional
        Called before each engine tick (tests advance a SimulatedClock there).
    """

    def __init__(
        self,
        make_source: Callable[[], Source],
        protocol: Protocol,
        *,
        clock: Clock | None = None,
        data_dir: str | Path | None = None,
        patient: Any = None,
        pacer_bpm: float | None = None,
        outlets: object | None = None,
        on_session_finished: Callable[[SessionOutcome], None] | None = None,
        settings: QSettings | None = None,
        patient_view_factory: Callable[[Clock], QWidget | None] | None = None,
        tick_hz: float = 25.0,
        fps: float = 30.0,
        before_tick: Callable[[], object] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.make_source = make_source
        self.protocol = protocol
        self.clock: Clock = clock or MonotonicClock()
        self.data_dir = data_dir
        self.patient = patient
        self.pacer_bpm = pacer_bpm
        self.outlets = outlets
        self.on_session_finished = on_session_finished
        self.settings = settings if settings is not None else QSettings()
        self.tick_hz = tick_hz
        self.before_tick = before_tick
        self.theme = Theme()
        self.engine: Engine | None = None
        self.bridge: EngineBridge | None = None
        self.session_folder: Path | None = None
        self.outcome: SessionOutcome | None = None
        self.error: str | None = None
        self.updates: list[MetricUpdate] = []
        self.latency = LatencyMeter(self.clock)
        self.patient_latency = LatencyMeter(self.clock)
        self._painted_update: MetricUpdate | None = None
        self._phase_index = -2
        self._summary_dialog: QDialog | None = None

        self.setWindowTitle(f"biotrainer — {protocol.title}")
        self.setStyleSheet(WINDOW_STYLE.format(bg=self.theme.background, text=self.theme.text))
        self.resize(1440, 900)
        self.dashboard = TherapistDashboard(theme=self.theme)
        self.dashboard.set_protocol(protocol)
        self.setCentralWidget(self.dashboard)
        self.dashboard.start_clicked.connect(self.start_session)
        self.dashboard.pause_clicked.connect(self.toggle_pause)
        self.dashboard.stop_clicked.connect(self.stop_session)
        self.dashboard.marker_clicked.connect(self.add_marker)
        self.dashboard.note_entered.connect(self.add_note)
        self.dashboard.threshold_changed.connect(self._on_threshold)
        self.dashboard.auto_threshold_requested.connect(self._on_auto_threshold)
        self.dashboard.patient_view_clicked.connect(self.toggle_patient_view)

        factory = patient_view_factory or default_patient_view
        self.patient_view: QWidget | None = factory(self.clock)
        if self.patient_view is not None:
            self.patient_view.setWindowTitle(f"biotrainer — {protocol.title}")
            if hasattr(self.patient_view, "update_painted"):
                self.patient_view.update_painted.connect(self._on_patient_painted)
            if protocol.phases:
                self.patient_view.set_instruction(protocol.phases[0].instruction)
        else:
            self.dashboard.patient_button.setEnabled(False)

        self._frame_timer = QTimer(self)
        self._frame_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._frame_timer.setInterval(max(1, round(1000.0 / fps)))
        self._frame_timer.timeout.connect(self._on_frame)
        self._build_actions()
        self._restore_layout()

    # -- actions and shortcuts ---------------------------------------------------------------

    def _action(self, menu, text: str, slot, shortcut: str | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            # The keys also work while the patient view (another window) has the focus.
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_actions(self) -> None:
        bar = self.menuBar()
        session = bar.addMenu("&Session")
        self.start_pause_action = self._action(
            session, "Start / pause", self.start_or_toggle_pause, "Space"
        )
        self.stop_action = self._action(session, "Stop", lambda: self.stop_session())
        session.addSeparator()
        self.marker_action = self._action(session, "Marker", lambda: self.add_marker(), "M")
        self.note_action = self._action(session, "Note…", self.dashboard.open_note_box, "N")
        view = bar.addMenu("&View")
        self.fullscreen_action = self._action(
            view, "Patient view full screen", self.toggle_patient_fullscreen, "F11"
        )
        self.patient_action = self._action(
            view, "Show / hide patient view", self.toggle_patient_view
        )
        self.numbers_action = self._action(view, "Show numbers to the patient", self._on_numbers)
        self.numbers_action.setCheckable(True)
        self.audio_action = self._action(view, "Sound feedback", self._on_audio)
        self.audio_action.setCheckable(True)
        self.audio_action.setChecked(self.protocol.audio)
        for a in (
            self.patient_action,
            self.numbers_action,
            self.audio_action,
            self.fullscreen_action,
        ):
            a.setEnabled(self.patient_view is not None)

    # -- session lifecycle -------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self.dashboard.state

    @property
    def running(self) -> bool:
        return self.bridge is not None and not self.bridge.closed

    def start_session(self) -> bool:
        """Open the device, create the recording and start the protocol.

        Returns
        -------
        bool
            False when something failed; the reason was shown in a dialog and nothing runs.
        """
        if self.bridge is not None:
            return False
        try:
            source = self.make_source()
        except BiotrainerError as exc:
            return self._fail_to_start("The device could not be opened", str(exc))
        try:
            source.prepare()
        except BiotrainerError as exc:
            _release(source)
            return self._fail_to_start("The device could not be opened", str(exc))
        from biotrainer.session.recorder import Recorder

        try:
            recorder = Recorder.create(
                source.layout,
                data_directory=self.data_dir,
                clock=self.clock,
                extra=self._recording_extra(),
            )
        except BiotrainerError as exc:
            _release(source)
            return self._fail_to_start(
                "The session cannot be recorded",
                f"{exc}\n\nNo session runs without its recording.",
            )
        self.session_folder = Path(recorder.path)
        engine = Engine(
            source, self.protocol, clock=self.clock, recorder=recorder, pacer_bpm=self.pacer_bpm
        )
        bridge = EngineBridge(
            engine,
            tick_hz=self.tick_hz,
            outlets=self.outlets,
            before_tick=self.before_tick,
            parent=self,
        )
        self.engine, self.bridge = engine, bridge
        self.dashboard.set_layout(source.layout)
        self.dashboard.set_session_folder(self.session_folder)
        bridge.chunk_ready.connect(self.dashboard.push_chunk)
        bridge.updates_ready.connect(self._on_updates)
        bridge.finished.connect(self._on_finished)
        bridge.failed.connect(self._on_failed)
        bridge.warning.connect(self._on_warning)
        if self.patient_view is not None:
            bridge.update_ready.connect(self.patient_view.show_update)
            self.patient_view.set_audio_enabled(self.audio_action.isChecked())
        try:
            bridge.start()
        except BiotrainerError as exc:
            self.bridge = None
            return self._fail_to_start("The device could not be started", str(exc))
        if not self.dashboard.auto_check.isChecked():
            bridge.set_threshold(self.dashboard.threshold_z)
        elif self.dashboard.target_spin.value() != round(100 * self.protocol.target_reward_rate):
            bridge.set_auto_threshold(self.dashboard.target_spin.value() / 100.0)
        self.dashboard.set_state("running")
        self._frame_timer.start()
        if self.patient_view is not None and not self.patient_view.isVisible():
            self.patient_view.show()
        return True

    def _recording_extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"protocol": self.protocol.name, "recorded_by": "biotrainer gui"}
        if self.patient is not None:
            extra["patient"] = str(getattr(self.patient, "id", self.patient))
        if self.pacer_bpm is not None:
            extra["pacer_bpm"] = float(self.pacer_bpm)
        return extra

    def _fail_to_start(self, title: str, message: str) -> bool:
        self.error = message
        self.show_error(title, message)
        return False

    def start_or_toggle_pause(self) -> None:
        """Space: start the session, or pause / resume it."""
        if self.bridge is None:
            self.start_session()
        elif self.running:
            self.toggle_pause()

    def toggle_pause(self) -> None:
        if not self.running:
            return
        self.bridge.toggle_pause()
        self.dashboard.set_state("paused" if self.bridge.paused else "running")

    def add_marker(self, text: str = "") -> None:
        """M: a marker in events.csv at the newest sample's time."""
        if self.running:
            self.bridge.add_marker(text)
            self.statusBar().showMessage("Marker added", 2000)

    def add_note(self, text: str) -> None:
        if self.running:
            self.bridge.add_note(text)
            self.statusBar().showMessage("Note saved", 2000)

    def _on_threshold(self, z: float) -> None:
        if self.running:
            self.bridge.set_threshold(z)

    def _on_auto_threshold(self, target: float) -> None:
        if self.running:
            self.bridge.set_auto_threshold(target)

    def stop_session(
        self, error: str | None = None, *, completed: bool = False
    ) -> SessionOutcome | None:
        """Stop the protocol, release the device and close the recording (idempotent).

        ``completed`` says the session ended by itself (the bridge's ``finished``).
        """
        if not self.running:
            return None
        bridge = self.bridge
        bridge.stop()
        self._frame_timer.stop()
        self.dashboard.refresh()
        if bridge.close_error and error is None:
            error = bridge.close_error
        resonance = self.engine.resonance if self.engine is not None else None
        self.outcome = SessionOutcome(
            folder=self.session_folder,
            protocol=self.protocol.name,
            patient=self.patient,
            completed=completed and error is None,
            phases=tuple(summarize(self.updates)),
            resonance_bpm=resonance.best_bpm if resonance is not None else math.nan,
            error=error,
        )
        self.dashboard.set_state("failed" if error else "finished")
        if self.patient_view is not None and self.updates:
            # The patient view keeps its last picture; a final update says the session is over.
            from dataclasses import replace

            self.patient_view.show_update(replace(self.updates[-1], finished=True, paused=False))
        self._show_summary(self.outcome)
        if self.on_session_finished is not None:
            self.on_session_finished(self.outcome)
        return self.outcome

    def _show_summary(self, outcome: SessionOutcome) -> None:
        text = format_summary(list(outcome.phases)) if outcome.phases else "No data."
        if math.isfinite(outcome.resonance_bpm):
            text += f"\n\nResonance breathing rate: {outcome.resonance_bpm:g} breaths/min"
        text += f"\n\nRecording: {outcome.folder}"
        dialog = QDialog(self)
        dialog.setWindowTitle("Session summary")
        view = QPlainTextEdit(text)
        view.setReadOnly(True)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        view.setFont(font)
        QVBoxLayout(dialog).addWidget(view)
        dialog.resize(760, 320)
        self._summary_dialog = dialog
        self.summary_text = text
        dialog.show()

    # -- from the bridge ---------------------------------------------------------------------

    def _on_updates(self, updates: list[MetricUpdate]) -> None:
        self.updates.extend(updates)
        self.dashboard.add_updates(updates)
        u = updates[-1]
        if u.phase_index != self._phase_index:
            self._phase_index = u.phase_index
            if self.patient_view is not None and 0 <= u.phase_index < len(self.protocol.phases):
                self.patient_view.set_instruction(self.protocol.phases[u.phase_index].instruction)

    def _on_finished(self) -> None:
        self.stop_session(completed=True)

    def _on_failed(self, message: str) -> None:
        self.error = message
        self.show_error("The session stopped", message)
        self.stop_session(error=message)

    def _on_warning(self, message: str) -> None:
        self.statusBar().showMessage(message, 10_000)

    def _on_patient_painted(self, latency_s: float) -> None:
        if math.isfinite(latency_s) and latency_s >= 0:
            self.patient_latency.recent.append(latency_s)
            self.patient_latency.all.append(latency_s)

    # -- painting ----------------------------------------------------------------------------

    def _on_frame(self) -> None:
        shown = self.dashboard.refresh()
        if shown is not None:
            self._painted_update = shown
        if self.dashboard.frames % 15 == 0:
            self._show_latency()

    def _show_latency(self) -> None:
        parts = []
        if self.latency.recent:
            parts.append(f"dashboard {self.latency.median_ms:.0f} ms")
        if self.patient_latency.recent:
            parts.append(f"patient {self.patient_latency.median_ms:.0f} ms")
        if parts:
            self.dashboard.latency_label.setText("latency " + " · ".join(parts))

    def event(self, e: QEvent) -> bool:
        """Stamp the paint time: the whole window is painted while handling UpdateRequest."""
        result = super().event(e)
        if e.type() == QEvent.Type.UpdateRequest and self._painted_update is not None:
            self.latency.painted(self._painted_update)
            self._painted_update = None
        return result

    # -- patient view ------------------------------------------------------------------------

    def toggle_patient_view(self) -> None:
        pv = self.patient_view
        if pv is None:
            return
        pv.setVisible(not pv.isVisible())

    def toggle_patient_fullscreen(self) -> None:
        """F11: the patient view full screen (shown first if hidden) or back to a window."""
        pv = self.patient_view
        if pv is None:
            return
        if not pv.isVisible():
            pv.show()
        pv.toggle_fullscreen()

    def _on_numbers(self, on: bool) -> None:
        if self.patient_view is not None:
            self.patient_view.set_show_numbers(on)

    def _on_audio(self, on: bool) -> None:
        if self.patient_view is not None and self.running:
            self.patient_view.set_audio_enabled(on)

    # -- errors, layout, closing -------------------------------------------------------------

    def show_error(self, title: str, message: str) -> None:
        """Tell the person what went wrong (a modal message box, never a traceback)."""
        QMessageBox.critical(self, title, message)

    def _restore_layout(self) -> None:
        s = self.settings
        geometry = s.value(f"{SETTINGS_GROUP}/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        for key, splitter in self._splitters().items():
            state = s.value(f"{SETTINGS_GROUP}/{key}")
            if state is not None:
                splitter.restoreState(state)

    def _splitters(self) -> dict[str, Any]:
        return {
            "mainSplitter": self.dashboard.splitter,
            "sideSplitter": self.dashboard.side_splitter,
        }

    def save_layout(self) -> None:
        """Remember the window geometry and the splitter positions."""
        s = self.settings
        s.setValue(f"{SETTINGS_GROUP}/geometry", self.saveGeometry())
        for key, splitter in self._splitters().items():
            s.setValue(f"{SETTINGS_GROUP}/{key}", splitter.saveState())
        s.sync()

    @property
    def frame_timer_active(self) -> bool:
        return self._frame_timer.isActive()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Stop the session (closing its recording), remember the layout, close every window."""
        self.stop_session()
        self._frame_timer.stop()
        self.save_layout()
        if self._summary_dialog is not None:
            self._summary_dialog.close()
        if self.patient_view is not None:
            self.patient_view.close()
        super().closeEvent(event)


def _release(source: Source) -> None:
    # nothing more can be done with a device that will not let go
    with contextlib.suppress(BiotrainerError):
        source.release()


def show_startup_error(message: str) -> None:
    """Show an error met before the window opens in a dialog (no dialog without a display)."""
    from biotrainer.ui.app import application

    try:
        application()
    except BiotrainerError:
        return  # no display: the caller's stderr line is all there is
    QMessageBox.critical(None, "biotrainer", message)


def run_trainer(make_source: Callable[[], Source], protocol: Protocol, **kwargs: Any) -> int:
    """Open the trainer window and run the event loop until it is closed.

    Keyword arguments go to :class:`TrainerWindow`. Returns the event loop's exit code.
    """
    from biotrainer.ui.app import application

    app = application()
    window = TrainerWindow(make_source, protocol, **kwargs)
    window.show()
    previous = signal.signal(signal.SIGINT, lambda *_: window.close())
    try:
        return int(app.exec())
    finally:
        signal.signal(signal.SIGINT, previous)
        window.close()
