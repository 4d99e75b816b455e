"""The trainer: therapist dashboard in the main window, patient view in a window of its own.

:class:`TrainerWindow` runs one session at a time, as many as wanted one after the other:

1. *Check signals* (optional, or at once when the window opens): the device streams into the
   dashboard — signals, spectrum, quality lights — and nothing is recorded
   (:class:`~biotrainer.ui.signal_check.SignalCheck`).
2. *Start*: with a patient store, the patient is chosen or created (once per window; *Patient >
   Choose patient* changes it) and rates pain and stress (skippable). The checked source is
   taken over as it streams (a fresh one is opened otherwise), the session folder is created
   (no session runs without its recording), registered in the store, and the engine starts,
   pacing at the patient's assessed resonance rate. With *Stream to LSL* ticked, LSL outlets
   carrying the patient code (never a name) publish the session.
3. *Stop* (or the end of the protocol): the engine, source, recording and outlets close, the
   store gets the session's summary (and an assessed resonance rate), the patient rates again
   (saved apart: a process ended while the rating is open leaves the session closed in the
   store), and a summary dialog shows the phases, the resonance result and the session report
   button.
   ``on_session_finished`` gets a :class:`SessionOutcome`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QRect, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMessageBox, QPushButton, QWidget

from biotrainer import memory
from biotrainer.acquisition.source import Source, SourceLayout
from biotrainer.clock import Clock, MonotonicClock
from biotrainer.engine.engine import (
    LACKING_HEART,
    Engine,
    EngineConfig,
    missing_signals,
    signals_lacking,
)
from biotrainer.engine.protocol import Protocol
from biotrainer.engine.updates import MetricUpdate
from biotrainer.errors import BiotrainerError, RecordingError
from biotrainer.session.analysis import MetricRows, PhaseStats, format_phases, summarize_series
from biotrainer.session.folder import ENDED_FINISHED, ENDED_SOURCE, ENDED_STOPPED
from biotrainer.ui.dashboard import TherapistDashboard, fmt_clock
from biotrainer.ui.engine_bridge import EngineBridge, FrameLatency, LatencyMeter
from biotrainer.ui.error_report import capitalised, device_error_text
from biotrainer.ui.signal_check import SignalCheck, release_source
from biotrainer.ui.signal_plots import Theme

SETTINGS_GROUP = "trainer"

#: Engine ticks per second when no patient view sets the pace (each tick polls the device;
#: 50 Hz keeps the feedback preview fresh).
DEFAULT_TICK_HZ = 50.0

#: Updates a window keeps as objects (:attr:`TrainerWindow.updates`: at least the last five
#: minutes' worth, at most twice that); the session's summary comes from its compact rows.
RECENT_UPDATES = 3000

#: The patient view's window title: no protocol name (jargon on the patient's screen).
PATIENT_WINDOW_TITLE = "biotrainer"

#: Seconds of the window's clock between two returns of freed memory to the system
#: (:meth:`TrainerWindow._release_memory`).
RELEASE_MEMORY_EVERY_S = 60.0

WINDOW_STYLE = """
QMainWindow {{ background: {bg}; }}
QMenuBar {{ background: #0c1014; color: {text}; }}
QMenuBar::item:selected {{ background: #1f2833; }}
QMenu {{ background: #151b22; color: {text}; border: 1px solid #222b34; }}
QMenu::item:selected {{ background: #283442; }}
QMenu::item:disabled {{ color: #56616c; }}
QStatusBar {{ background: #0c1014; color: {text}; }}
QStatusBar::item {{ border: none; }}
QStatusBar QLabel#latency {{ color: #8794a1; font-size: 9pt; padding: 0 8px; }}
QStatusBar QPushButton {{ background: #3a3320; color: #fff; border: 1px solid #6b5a2a;
    border-radius: 3px; padding: 2px 10px; }}
"""


@dataclass(frozen=True)
class UnsavedEnding:
    """What closing a session could not save in the patient store (a full disk): kept to be
    saved at the next session's start or when the window closes."""

    session_id: int
    post: Any  # the rating after the session (SelfReportValues) or None
    resonance_bpm: float
    patient_code: str | None


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
        The patient (the store's :class:`~biotrainer.session.store.Patient`, or whatever was
        given as ``patient`` without a store).
    completed : bool
        The session ended by itself: the protocol is over, or a recording / simulation ran
        out of data (False: stopped by the therapist or by an error).
    phases : tuple of PhaseStats
        Per-phase means (:func:`biotrainer.session.analysis.summarize_series`: the numbers
        of the store and the reports).
    resonance_bpm : float
        Best breathing rate of a resonance assessment (breaths/min; NaN otherwise).
    error : str or None
        The message of the error that stopped the session, if any.
    session_id : int or None
        The session's id in the patient store (None when not registered).
    recorded : bool
        At least one sample arrived and was recorded (False: stopped before the first one).
    ended : str
        How it ended, as recorded in ``session.json``: ``"finished"`` (the protocol ran to its
        end), ``"source ended"`` or ``"stopped"``.
    protocol_s, protocol_total_s : float
        Protocol time reached and the protocol's length (s).
    """

    folder: Path | None
    protocol: str
    patient: Any
    completed: bool
    phases: tuple[PhaseStats, ...] = field(default=())
    resonance_bpm: float = math.nan
    error: str | None = None
    session_id: int | None = None
    recorded: bool = True
    ended: str = ENDED_FINISHED
    protocol_s: float = math.nan
    protocol_total_s: float = math.nan


def default_patient_view(clock: Clock) -> QWidget | None:
    """The patient view (:class:`biotrainer.ui.patient_view.PatientView`) on ``clock``."""
    try:
        from biotrainer.ui.patient_view import PatientView
    except ImportError:  # pragma: no cover - the module ships with the package
        return None
    return PatientView(clock=clock)


def lsl_outlets(
    layout: SourceLayout, station: str, patient_code: str | None, protocol: Protocol
) -> object:
    """The default outlets factory: :class:`biotrainer.net.lsl_outlets.LslOutlets`."""
    from biotrainer.net.lsl_outlets import LslOutlets

    return LslOutlets(layout, station, patient_code, protocol=protocol)


def patient_code_of(patient: Any) -> str | None:
    """The pseudonymous code of a patient record (``.code``), or ``str(patient)``."""
    if patient is None:
        return None
    code = getattr(patient, "code", None)
    return str(code) if code is not None else str(patient)


class TrainerWindow(QMainWindow):
    """The trainer application window.

    Parameters
    ----------
    make_source : callable
        Builds a new, unprepared source (may raise BiotrainerError).
    protocol : Protocol
    clock : Clock, optional
        The one clock of the session (engine, recorder, latency, patient animation).
    data_dir : path-like, optional
        Session store (``--data-dir``); None = BIOTRAINER_DATA or the platform default.
    patient : Patient or str, optional
        The patient (``--patient``). With a ``store``: a store record or a code (the patient
        dialog is then not shown). Its code goes to ``session.json`` (``extra.patient_code``).
    pacer_bpm : float, optional
        Pacer rate overriding the protocol's (default: the patient's stored resonance rate).
    outlets : object, optional
        Outlets for every session (``push_chunk(chunk)``, ``push_update(update)``); not closed
        by the window. The LSL checkbox creates per-session outlets instead.
    on_session_finished : callable, optional
        Called with the :class:`SessionOutcome` when a session ends.
    settings : QSettings, optional
        Where the window layout is remembered (default: the application's QSettings).
    patient_view_factory : callable, optional
        ``factory(clock) -> QWidget | None`` building the patient view. Default:
        :func:`default_patient_view`.
    store : Store, optional
        The patient store (open; the caller closes it). Without it no patient is asked for and
        sessions are not registered.
    ask_patient : bool
        With a store and no patient: ask for one before the first session (False: sessions
        without a patient run unregistered, for demonstrations).
    ask_ratings : bool
        Ask the patient for the pain and stress ratings before and after each session.
    lsl_station : str, optional
        Tick "Stream to LSL" with this station name (``--lsl``).
    outlets_factory : callable, optional
        ``factory(layout, station, patient_code, protocol)`` making the per-session outlets
        (default :func:`lsl_outlets`); must have ``close()``.
    check_on_open : bool
        Start the signal check as soon as the event loop runs.
    tick_hz : float, optional
        Engine ticks per second (each polls the device). Default: the patient view's frame
        rate when it can follow the ticks (its frames then step on them, each showing the
        samples polled just before it; :meth:`PatientView.follow`), else 50 Hz. At a rate
        more than 25 % away from the view's, the view keeps its own timer.
    fps : float
        Dashboard frames per second.
    engine_config : EngineConfig, optional
        Engine settings for every session (update interval...; default ``EngineConfig()``).
    before_tick : callable, optional
        Called before each engine tick (tests advance a SimulatedClock there).
    sweep : bool, optional
        The signal panels sweep (a cursor over a still picture, like a bedside monitor) or
        scroll (``--traces``); None: as last chosen in the View menu (remembered), sweeping
        at first.
    replay : bool
        The source replays an earlier recording (``--replay``): each session's recording is
        marked so (:data:`~biotrainer.session.store.REPLAY_KEY`), never imported as a session
        of a patient. Give no ``store`` with it: a replay is no patient's session.
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
        store=None,
        ask_patient: bool = True,
        ask_ratings: bool = True,
        lsl_station: str | None = None,
        outlets_factory: Callable[..., object] | None = None,
        check_on_open: bool = False,
        tick_hz: float | None = None,
        fps: float = 30.0,
        engine_config: EngineConfig | None = None,
        before_tick: Callable[[], object] | None = None,
        sweep: bool | None = None,
        replay: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.make_source = make_source
        self.protocol = protocol
        self.clock: Clock = clock or MonotonicClock()
        self.data_dir = data_dir
        self.flow = None
        #: A session ending the store could not take yet (see :meth:`save_unsaved_ending`).
        self.unsaved_ending: UnsavedEnding | None = None
        self._patient: Any = patient
        if store is not None:
            from biotrainer.ui.patient_flow import PatientFlow

            self.flow = PatientFlow(store, self, patient)  # StoreError: unknown code
        self.ask_patient = ask_patient
        self.replay = replay
        self.ask_ratings = ask_ratings
        self.pacer_bpm = pacer_bpm
        self.outlets = outlets
        self.outlets_factory = outlets_factory or lsl_outlets
        self.session_outlets: object | None = None
        self.on_session_finished = on_session_finished
        self.settings = settings if settings is not None else QSettings()
        self.engine_config = engine_config
        self.before_tick = before_tick
        self.theme = Theme()
        self.engine: Engine | None = None
        self.bridge: EngineBridge | None = None
        self.session_folder: Path | None = None
        self.session_id: int | None = None
        self.outcome: SessionOutcome | None = None
        self.error: str | None = None
        #: What the status bar said when the sound could not be played (None: no problem seen).
        self.sound_problem: str | None = None
        # the newest updates (between RECENT_UPDATES and twice as many), and every row of the
        # session compactly for its summary: an hour of updates held whole takes ~55 MB
        self.updates: list[MetricUpdate] = []
        self.metric_rows = MetricRows()
        self.frame_latency = FrameLatency(self.clock)
        self._phase_index = -2
        self._starting = False
        self._summary_dialog = None
        self.summary_text = ""
        self.history_window: QWidget | None = None
        self.import_button: QPushButton | None = None

        self.setStyleSheet(WINDOW_STYLE.format(bg=self.theme.background, text=self.theme.text))
        self.resize(1440, 900)
        self.dashboard = TherapistDashboard(theme=self.theme)
        if sweep is None:
            sweep = bool(self.settings.value(f"{SETTINGS_GROUP}/sweep", True, type=bool))
        self.dashboard.set_sweep(sweep)
        self.dashboard.set_protocol(protocol)
        self.setCentralWidget(self.dashboard)
        self.statusBar()  # created now, so that it is shown with the window
        # The latency read-out sits in the status bar (its right end), not in the dashboard's
        # bar, whose width goes to the quality lights and the feedback.
        self.dashboard.latency_label.setObjectName("latency")
        self.statusBar().addPermanentWidget(self.dashboard.latency_label)
        self.dashboard.start_clicked.connect(self.start_session)
        self.dashboard.pause_clicked.connect(self.toggle_pause)
        self.dashboard.stop_clicked.connect(self.stop_session)
        self.dashboard.marker_clicked.connect(self.add_marker)
        self.dashboard.note_entered.connect(self.add_note)
        self.dashboard.threshold_changed.connect(self._on_threshold)
        self.dashboard.auto_threshold_requested.connect(self._on_auto_threshold)
        self.dashboard.patient_view_clicked.connect(self.toggle_patient_view)
        self.dashboard.check_clicked.connect(self.toggle_signal_check)
        if self.flow is not None:
            self.dashboard.set_patient(self.flow.code)
        elif patient is not None:
            self.dashboard.set_patient(patient_code_of(patient))
        station = lsl_station or str(self.settings.value(f"{SETTINGS_GROUP}/lsl_station", ""))
        self.dashboard.station_edit.setText(station)
        self.dashboard.lsl_check.setChecked(lsl_station is not None)

        factory = patient_view_factory or default_patient_view
        self.patient_view: QWidget | None = factory(self.clock)
        view_fps = (
            float(getattr(self.patient_view, "fps", DEFAULT_TICK_HZ))
            if self.patient_view is not None and hasattr(self.patient_view, "follow")
            else None
        )
        if tick_hz is None:
            tick_hz = view_fps if view_fps is not None else DEFAULT_TICK_HZ
        # The patient's frames step on the ticks only at about their own rate; at another tick
        # rate (tests, benchmarks) the view keeps its own timer.
        self._patient_on_ticks = view_fps is not None and math.isclose(
            tick_hz, view_fps, rel_tol=0.25
        )
        self.tick_hz = tick_hz
        self.signal_check = SignalCheck(
            make_source, protocol, self.clock, tick_hz=tick_hz, before_tick=before_tick, parent=self
        )
        self.signal_check.chunk_ready.connect(self.dashboard.push_chunk)
        self.signal_check.update_ready.connect(self.dashboard.show_update)
        self.signal_check.failed.connect(self._on_check_failed)

        if self.patient_view is not None:
            self.patient_view.setWindowTitle(PATIENT_WINDOW_TITLE)  # (no protocol jargon)
            if hasattr(self.patient_view, "update_painted"):
                self.patient_view.update_painted.connect(self.frame_latency.patient_painted)
            if protocol.phases:
                self.patient_view.set_instruction(protocol.phases[0].instruction)
        else:
            self.dashboard.patient_button.setEnabled(False)

        self._frame_timer = QTimer(self)
        self._frame_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._frame_timer.setInterval(max(1, round(1000.0 / fps)))
        self._frame_timer.timeout.connect(self._on_frame)
        # freed memory back to the system once a minute of the window's clock (a simulated
        # clock runs faster: checked every second of real time)
        self._memory_released_at = self.clock.now()
        self._memory_timer = QTimer(self)
        self._memory_timer.setInterval(1000)
        self._memory_timer.timeout.connect(self._release_memory)
        self._memory_timer.start()
        self._build_actions()
        self._update_title()
        self._restore_layout()
        if self.flow is not None:
            QTimer.singleShot(0, self.offer_import)
        if check_on_open:
            QTimer.singleShot(0, lambda: self.start_signal_check(quiet=True))

    # -- the patient -------------------------------------------------------------------------

    @property
    def patient(self) -> Any:
        """The current patient (the store's record with a store), or None."""
        return self.flow.patient if self.flow is not None else self._patient

    @property
    def patient_code(self) -> str | None:
        return patient_code_of(self.patient)

    def _update_title(self) -> None:
        code = self.patient_code
        self.setWindowTitle(
            f"biotrainer — {self.protocol.title}" + (f" — patient {code}" if code else "")
        )
        if self.flow is not None or code is not None:
            self.dashboard.set_patient(code)

    def choose_patient(self) -> Any:
        """Patient > Choose patient: ask for the patient of the next sessions."""
        if self.flow is None or self.running:
            return None
        chosen = self.flow.choose()
        self._update_title()
        if chosen is not None and self.history_window is not None:
            self.history_window.reload_patients(chosen.code)
        return chosen

    def open_history(self) -> QWidget | None:
        """Patient > History: the current patient's sessions, progress charts and reports."""
        if self.flow is None:
            self.statusBar().showMessage("No patient store: no history", 5000)
            return None
        if self.flow.patient is None and self.running:
            # (choosing a patient now would put this unregistered session under their name)
            self.statusBar().showMessage(
                "This session has no patient: the history opens after it", 5000
            )
            return None
        if self.flow.ensure_patient() is None:
            return None
        self._update_title()
        from biotrainer.ui.history_view import HistoryView

        hv = self.history_window
        if hv is None:
            hv = HistoryView(self.flow.store, self.flow.code)
            hv.setWindowTitle("biotrainer — patient history")
            hv.resize(1100, 760)
            fit_on_screen(hv)
            self.history_window = hv
        else:
            hv.reload_patients(self.flow.code)
        hv.show()
        hv.raise_()
        return hv

    def offer_import(self) -> int:
        """A small notice in the status bar when session folders are missing from the store.

        Folders naming a known patient (``session.json`` ``extra.patient_code``) can be imported
        with one click; returns how many.
        """
        if self.flow is None:
            return 0
        try:
            scan = self.flow.scan_unregistered()
        except BiotrainerError:
            return 0
        if scan.damaged:
            self.statusBar().showMessage(scan.damaged_text, 30_000)
        n = len(scan.importable)
        if n == 0:
            if self.import_button is not None:
                self.import_button.setVisible(False)
            return 0
        if self.import_button is None:
            self.import_button = QPushButton()
            self.import_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.import_button.clicked.connect(self.import_unregistered)
            self.statusBar().addPermanentWidget(self.import_button)
        self.import_button.setText(scan.offer_text)
        self.import_button.setToolTip(scan.offer_details)
        self.import_button.setVisible(True)
        return n

    def import_unregistered(self) -> int:
        """Register every unregistered folder that names a known patient; report in the bar."""
        if self.flow is None:
            return 0
        result = self.flow.import_unregistered()
        self.statusBar().showMessage(result.message, 15_000)
        if self.import_button is not None:
            self.import_button.setVisible(False)
        if self.history_window is not None:
            self.history_window.refresh()
        return result.done

    # -- actions and shortcuts ---------------------------------------------------------------

    def _action(self, menu, text: str, slot, shortcut: str | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut:
            # The keys work in this window and in the patient view (see _build_actions), not
            # in the other windows: Space in the session summary ticks its box, it does not
            # start a session; Space in the history's table does not pause one.
            action.setShortcut(QKeySequence(shortcut))
            self._shortcut_actions.append(action)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_actions(self) -> None:
        self._shortcut_actions: list[QAction] = []
        bar = self.menuBar()
        session = bar.addMenu("&Session")
        self.check_action = self._action(
            session, "Check signals (no recording)", self.toggle_signal_check, "Ctrl+K"
        )
        self.start_pause_action = self._action(
            session, "Start / pause", self.start_or_toggle_pause, "Space"
        )
        self.stop_action = self._action(session, "Stop", lambda: self.stop_session())
        session.addSeparator()
        self.marker_action = self._action(session, "Marker", lambda: self.add_marker(), "M")
        self.note_action = self._action(session, "Note…", self.dashboard.open_note_box, "N")
        session.addSeparator()
        self.lsl_action = QAction("Stream to LSL", self)
        self.lsl_action.setCheckable(True)
        self.lsl_action.setChecked(self.dashboard.lsl_check.isChecked())
        self.lsl_action.setToolTip(self.dashboard.lsl_check.toolTip())
        self.lsl_action.toggled.connect(self.dashboard.lsl_check.setChecked)
        self.dashboard.lsl_check.toggled.connect(self.lsl_action.setChecked)
        session.addAction(self.lsl_action)
        session.setToolTipsVisible(True)

        patients = bar.addMenu("&Patient")
        self.choose_patient_action = self._action(
            patients, "Choose patient…", self.choose_patient, "Ctrl+P"
        )
        self.history_action = self._action(
            patients, "Patient history and reports…", self.open_history, "Ctrl+H"
        )
        self.import_action = self._action(
            patients, "Import unregistered sessions", self.import_unregistered
        )
        for a in (self.choose_patient_action, self.history_action, self.import_action):
            a.setEnabled(self.flow is not None)

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
        view.addSeparator()
        self.sweep_action = self._action(
            view, "Sweep signals (still picture, moving cursor)", self._on_sweep
        )
        self.sweep_action.setCheckable(True)
        self.sweep_action.setChecked(self.dashboard.sweep)
        self.sweep_action.setToolTip(
            "On: a cursor writes the newest samples over a still picture, like a bedside "
            "monitor (the lighter to draw). Off: the picture scrolls, newest on the right."
        )
        view.setToolTipsVisible(True)
        for a in (
            self.patient_action,
            self.numbers_action,
            self.audio_action,
            self.fullscreen_action,
        ):
            a.setEnabled(self.patient_view is not None)
        if self.patient_view is not None:
            self.patient_view.addActions(self._shortcut_actions)

    def _set_state(self, state: str) -> None:
        self.dashboard.set_state(state)
        active = state in ("running", "paused")
        self.lsl_action.setEnabled(not active)
        self.choose_patient_action.setEnabled(self.flow is not None and not active)

    # -- the signal check --------------------------------------------------------------------

    @property
    def checking(self) -> bool:
        """True while the signal check streams (nothing recorded)."""
        return self.signal_check.active

    def start_signal_check(self, quiet: bool = False) -> bool:
        """Open the device and show its signals and quality without recording.

        ``quiet``: a failure goes to the status bar instead of a dialog (the check started
        by itself when the window opened).
        """
        if self.running or self.checking:
            return self.checking
        try:
            self.signal_check.start()
        except BiotrainerError as exc:
            if quiet:
                self.statusBar().showMessage(
                    "Signal check: the device could not be opened: "
                    + device_error_text(exc, rich=False)
                )
            else:
                self.show_error("The device could not be opened", device_error_text(exc))
            return False
        layout = self.signal_check.source.layout
        if self.dashboard.shown_layout != layout:
            self.dashboard.set_layout(layout)
        self.dashboard.latest = None
        self._patient_ready()  # (the last session's "well done" is not the check's)
        self._set_state("preview")
        self._frame_timer.start()
        self.statusBar().showMessage("Signal check: the device streams, nothing is recorded", 5000)
        return True

    def stop_signal_check(self) -> None:
        """Stop the check and release the device."""
        if not self.checking:
            return
        self.signal_check.stop()
        self._frame_timer.stop()
        self._set_state("idle")

    def toggle_signal_check(self) -> None:
        if self.checking:
            self.stop_signal_check()
        else:
            self.start_signal_check()

    def _on_check_failed(self, message: str) -> None:
        self._frame_timer.stop()
        if not self.running:
            self._set_state("idle")
        self.statusBar().showMessage(f"Signal check stopped: {message}", 15_000)

    # -- session lifecycle -------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self.dashboard.state

    @property
    def running(self) -> bool:
        return self.bridge is not None and not self.bridge.closed

    def start_session(self) -> bool:
        """Ask for the patient and the pre rating, then open, record and start the protocol.

        Returns
        -------
        bool
            False when nothing started: the patient dialog was cancelled, or something failed
            (the reason was shown in a dialog).
        """
        if self.running or self._starting:
            return False
        self._starting = True
        try:
            self.save_unsaved_ending()
            return self._start()
        finally:
            self._starting = False

    def _start(self) -> bool:
        self._patient_ready()  # (the last session's ending is not shown through the rating)
        station = None
        if self.dashboard.lsl_check.isChecked():
            station = self.dashboard.station_edit.text().strip()
            if not station:
                return self._fail_to_start(
                    "Streaming to LSL needs a station name",
                    "Type a station name (for instance room1) next to 'Stream to LSL', "
                    "or untick it.",
                )
            self.settings.setValue(f"{SETTINGS_GROUP}/lsl_station", station)
        room = recording_room_problem(self.data_dir)
        if room is not None:
            # (as the CLI: said before a device is opened or the patient rates)
            return self._fail_to_start(
                "The session cannot be recorded",
                f"{room}\n\nNo session runs without its recording.",
            )
        pre = source = None
        with_patient = self.flow is not None and (self.ask_patient or self.flow.patient is not None)
        if with_patient:
            if self.flow.ensure_patient() is None:
                self.statusBar().showMessage("No patient chosen: the session did not start", 8000)
                return False
            self._update_title()
        # (the patient's code is known now: said before a device is opened or anyone rates)
        if station is not None and not self._lsl_names_fit(station):
            return False
        if with_patient and self.ask_ratings:
            if not self.signal_check.active:
                # A device that cannot be opened is said before the patient rates, not after
                # (the rating was thrown away and asked again at the next try). The signal
                # check's source is taken after the rating: it streams meanwhile.
                source = self._open_source()
                if source is None:
                    return False
            pre = self.flow.ask_rating("pre")
        if source is None:
            source = self._open_source()
        if source is None:
            return False
        outlets = self.outlets
        session_outlets = None
        if station is not None:
            try:
                session_outlets = self.outlets_factory(
                    source.layout, station, self.patient_code, self.protocol
                )
            except BiotrainerError as exc:
                release_source(source)
                return self._fail_to_start("Streaming to LSL could not start", str(exc))
            outlets = session_outlets

        from biotrainer.session.recorder import Recorder

        pacer = self._session_pacer()
        try:
            recorder = Recorder.create(
                source.layout,
                data_directory=self.data_dir,
                clock=self.clock,
                extra=self._recording_extra(pacer, station),
            )
        except BiotrainerError as exc:
            release_source(source)
            _close(session_outlets)
            return self._fail_to_start(
                "The session cannot be recorded",
                f"{exc}\n\nNo session runs without its recording.",
            )
        self.session_folder = Path(recorder.path)
        self.session_id = self._register(recorder, source.layout.device, pre)
        engine = Engine(
            source,
            self.protocol,
            clock=self.clock,
            recorder=recorder,
            config=self.engine_config,
            pacer_bpm=pacer,
        )
        previous = self.bridge
        bridge = EngineBridge(
            engine,
            tick_hz=self.tick_hz,
            outlets=outlets,
            before_tick=self.before_tick,
            parent=self,
        )
        if previous is not None:
            previous.deleteLater()
        self.engine, self.bridge = engine, bridge
        self.session_outlets = session_outlets
        self.updates = []
        self.metric_rows = MetricRows()
        self.outcome = None
        self.error = None
        self._phase_index = -2
        if self.dashboard.shown_layout != source.layout:
            self.dashboard.set_layout(source.layout)
        self.dashboard.new_session()  # (the patient view's was made new by _patient_ready)
        self.dashboard.set_session_folder(self.session_folder)
        self._connect(bridge)
        try:
            bridge.start()
        except BiotrainerError as exc:
            _close(session_outlets)
            self.session_outlets = None
            self._finish_in_store(None, math.nan)
            self._patient_follows(None)
            self.bridge = None
            if isinstance(exc, RecordingError):  # (the metrics log, on a full disk)
                return self._fail_to_start(
                    "The session cannot be recorded",
                    f"{exc}\n\nNo session runs without its recording.",
                )
            return self._fail_to_start("The device could not be started", str(exc))
        if not self.dashboard.auto_check.isChecked():
            bridge.set_threshold(self.dashboard.threshold_z)
        elif self.dashboard.target_spin.value() != round(100 * self.protocol.target_reward_rate):
            bridge.set_auto_threshold(self.dashboard.target_spin.value() / 100.0)
        self._set_state("running")
        self._frame_timer.start()
        if station is not None:
            self.statusBar().showMessage(
                f"Streaming to LSL as station {station} (patient code only)", 10_000
            )
        if self.patient_view is not None and not self.patient_view.isVisible():
            self.patient_view.show()
        return True

    def _lsl_names_fit(self, station: str) -> bool:
        """Whether the station name and the patient's code can name LSL streams (fewer
        characters than the store allows): said before a device opens or the patient rates,
        not after (the rating was thrown away)."""
        from biotrainer.net.lsl_outlets import check_names

        try:
            check_names(station, self.patient_code)
        except BiotrainerError as exc:
            return self._fail_to_start("Streaming to LSL could not start", str(exc))
        return True

    def _open_source(self) -> Source | None:
        """The signal check's streaming source, else a newly opened one (None: failed).

        A replayed recording is opened again from its start (the check had used up its first
        part, which the session then never recorded nor analysed)."""
        source = self.signal_check.take_source()
        if source is not None and not getattr(source, "replays_recording", False):
            return source
        if source is not None:
            release_source(source)
        try:
            source = self.make_source()
        except BiotrainerError as exc:
            self._fail_to_start("The device could not be opened", str(exc), device_error_text(exc))
            return None
        try:
            source.prepare()
        except BiotrainerError as exc:
            release_source(source)
            self._fail_to_start("The device could not be opened", str(exc), device_error_text(exc))
            return None
        problem = missing_signals(self.protocol, source.layout)  # (before the patient rates)
        if problem is not None:
            release_source(source)
            self._fail_to_start(
                "The protocol does not fit this device",
                problem,
                protocol_fit_text(self.protocol, source.layout),
            )
            return None
        return source

    def _register(self, recorder, device: str, pre) -> int | None:
        """Register the recording for the patient (and the pre rating); the session id."""
        if self.flow is None or self.flow.patient is None:
            return None
        from biotrainer.ui.patient_flow import RatingNotSavedError

        try:
            rec = self.flow.register(
                recorder.path,
                self.protocol.name,
                device,
                started_utc=recorder.meta.start_utc,
                pre=pre,
            )
        except RatingNotSavedError as exc:
            self.statusBar().showMessage(f"The session is registered, but {exc}", 30_000)
            return exc.record.id
        except BiotrainerError as exc:
            # The recording goes on; the folder can be imported later (Patient menu).
            self.statusBar().showMessage(
                f"The session is recorded but not registered in the patient store: {exc}",
                30_000,
            )
            return None
        return rec.id

    def _connect(self, bridge: EngineBridge) -> None:
        bridge.chunk_ready.connect(self.dashboard.push_chunk)
        bridge.updates_ready.connect(self._on_updates)
        bridge.preview_ready.connect(self.dashboard.show_preview)
        bridge.preview_ready.connect(self.frame_latency.previewed)
        bridge.finished.connect(self._on_finished)
        bridge.failed.connect(self._on_failed)
        bridge.warning.connect(self._on_warning)
        bridge.link_losing.connect(self.dashboard.show_link_losing)
        if self.patient_view is not None:
            bridge.update_ready.connect(self.patient_view.show_update)
            if hasattr(self.patient_view, "show_preview"):
                bridge.preview_ready.connect(self.patient_view.show_preview)
            self._patient_follows(bridge)
            self._enable_sound(self.audio_action.isChecked())
            if self.protocol.phases:
                self.patient_view.set_instruction(self.protocol.phases[0].instruction)

    def _show_patient_ending(self, cut: bool) -> None:
        """The patient view says the session is over: the sound stops, the breathing guide goes,
        and the text is "well done" only for a session that ran its protocol to the end (``cut``
        False); a session stopped early, cut by the device or the recording's end, or stopped
        before its first update gets the neutral "the session has ended"."""
        pv = self.patient_view
        if pv is None:
            return
        pv.set_audio_enabled(False)  # the sound feedback ends with the session
        if hasattr(pv, "set_finished_text"):
            from biotrainer.ui.patient_view import ENDED as PATIENT_ENDED
            from biotrainer.ui.patient_view import FINISHED as PATIENT_FINISHED

            pv.set_finished_text(PATIENT_ENDED if cut else PATIENT_FINISHED)
        if self.updates:  # the view keeps its last picture
            last = replace(self.updates[-1], finished=True, paused=False, pacer_bpm=math.nan)
        else:  # (stopped or failed before the first update: the first instruction stayed)
            now = self.clock.now()
            last = MetricUpdate(session_s=0.0, sample_time=math.nan, received_at=now,
                                computed_at=now, finished=True)  # fmt: skip
        pv.show_update(last)

    def _patient_ready(self) -> None:
        """The patient view as in a new window (not the last session's orb level, halo and
        lights, nor its "well done" or "the session has ended"): before the next session's
        rating or signal check."""
        pv = self.patient_view
        if pv is None:
            return
        if hasattr(pv, "new_session"):
            pv.new_session()
        if self.protocol.phases:
            pv.set_instruction(self.protocol.phases[0].instruction)

    def _patient_follows(self, bridge: EngineBridge | None) -> None:
        """Step the patient view's frames on ``bridge``'s ticks (None: on its own timer)."""
        if self._patient_on_ticks:
            self.patient_view.follow(None if bridge is None else bridge.ticked)

    def _session_pacer(self) -> float | None:
        """The pacer rate: the one given, else the patient's assessed resonance rate."""
        if self.pacer_bpm is not None:
            return float(self.pacer_bpm)
        if self.flow is not None:
            return self.flow.resonance_bpm
        return None

    def _recording_extra(
        self, pacer: float | None = None, station: str | None = None
    ) -> dict[str, Any]:
        """session.json's ``extra``: protocol, patient code, pacer, LSL station, and whether
        the session replays a recording (``replay``: such a folder is never imported as a
        session)."""
        extra: dict[str, Any] = {"protocol": self.protocol.name, "recorded_by": "biotrainer gui"}
        if self.replay:
            from biotrainer.session.store import REPLAY_KEY

            extra[REPLAY_KEY] = True
        code = self.patient_code
        if code is not None:
            # the pseudonymous code (what Store.import_folder reads), never the database id
            extra["patient_code"] = code
        if pacer is not None:
            extra["pacer_bpm"] = float(pacer)
        if station is not None:
            extra["lsl_station"] = station
        return extra

    def _fail_to_start(self, title: str, message: str, shown: str | None = None) -> bool:
        """Keep ``message`` as the error; show ``shown`` (default: the message) in a dialog."""
        self.error = message
        if self.state == "preview" and not self.checking:
            self._set_state("idle")
            self._frame_timer.stop()
        self.show_error(title, message if shown is None else shown)
        return False

    def start_or_toggle_pause(self) -> None:
        """Space: start the session, or pause / resume it."""
        if self.running:
            self.toggle_pause()
        else:
            self.start_session()

    def toggle_pause(self) -> None:
        if not self.running:
            return
        if self._command(self.bridge.toggle_pause):
            self._set_state("paused" if self.bridge.paused else "running")

    def add_marker(self, text: str = "") -> None:
        """M: a marker in events.csv at the newest sample's time."""
        if self.running and self._command(lambda: self.bridge.add_marker(text)):
            self.statusBar().showMessage("Marker added", 2000)

    def add_note(self, text: str) -> None:
        if self.running and self._command(
            lambda: self.bridge.add_note(text), f'the note "{text}" was not saved'
        ):
            self.statusBar().showMessage("Note saved", 2000)

    def _on_threshold(self, z: float) -> None:
        if self.running:
            self._command(lambda: self.bridge.set_threshold(z))

    def _on_auto_threshold(self, target: float) -> None:
        if self.running:
            self._command(lambda: self.bridge.set_auto_threshold(target))

    def _command(self, call: Callable[[], object], lost: str = "") -> bool:
        """Pass a command (pause, marker, note, threshold) to the running session: True when
        done. Its event cannot be written when the recording failed (a full disk): the session
        stops with that message, as when a tick finds it (``lost`` says what the therapist
        typed that was not saved, so that it can be copied from the message)."""
        try:
            call()
        except BiotrainerError as exc:
            self._on_failed(f"{exc}; {lost}" if lost else str(exc))
            return False
        return True

    def stop_session(
        self, error: str | None = None, *, completed: bool = False, ask: bool = True
    ) -> SessionOutcome | None:
        """Stop the protocol, release the device and close the recording (idempotent).

        ``completed`` says the session ended by itself (the bridge's ``finished``). ``ask``:
        ask for the post-session rating and show the summary (not when the window closes).
        """
        if not self.running:
            return None
        draft = self.dashboard.take_note_draft()
        if draft:  # a note being typed when the session ends belongs to this session
            self.add_note(draft)
        bridge = self.bridge
        bridge.stop()
        self._frame_timer.stop()
        self._patient_follows(None)
        self.dashboard.refresh()
        _close(self.session_outlets)
        self.session_outlets = None
        if bridge.close_error and error is None:
            error = bridge.close_error
        resonance = self.engine.resonance if self.engine is not None else None
        resonance_bpm = resonance.best_bpm if resonance is not None else math.nan
        recorder = self.engine.recorder if self.engine is not None else None
        recorded = recorder is None or any(recorder.samples_received.values())
        self.outcome = SessionOutcome(
            folder=self.session_folder,
            protocol=self.protocol.name,
            patient=self.patient,
            completed=completed and error is None and recorded,
            phases=summarize_series(self.metric_rows.series()).phases,
            resonance_bpm=resonance_bpm,
            error=error,
            session_id=self.session_id,
            recorded=recorded,
            ended=self.engine.ending if self.engine is not None else ENDED_STOPPED,
            protocol_s=self.engine.session_s if self.engine is not None else 0.0,
            protocol_total_s=self.protocol.duration_s,
        )
        self._set_state("failed" if error else "finished")
        self.dashboard.show_ending(*ending_banner(self.outcome))
        self._show_patient_ending(cut=not self.outcome.completed)
        # The store is closed first: the rating dialog may stay open long, and a process killed
        # meanwhile left a completed session "interrupted" in the store.
        store_error = self._finish_in_store(None, resonance_bpm)
        if ask and self.ask_ratings and self.session_id is not None:
            post = self.flow.ask_rating("post")
            if post is not None:
                store_error = self._save_post_rating(post) or store_error
        if ask:
            self._show_summary(self.outcome, resonance, store_error)
        if self.on_session_finished is not None:
            self.on_session_finished(self.outcome)
        return self.outcome

    def _finish_in_store(self, post, resonance_bpm: float) -> str | None:
        """Close the session in the store and keep an assessed resonance rate; the store's
        error, if it could not be updated (None when it was, or there is no store)."""
        if self.flow is None or self.flow.patient is None:
            return None
        problem = None
        self.save_unsaved_ending()  # (an earlier session's first: the store may have room again)
        try:
            if self.session_id is not None:
                self.flow.finish(self.session_id, post, resonance_bpm)
            else:
                self.flow.keep_resonance(resonance_bpm)
        except BiotrainerError as exc:
            problem = str(exc)
            if self.session_id is not None:
                self.unsaved_ending = UnsavedEnding(
                    self.session_id, post, resonance_bpm, self.flow.patient.code
                )
            self.statusBar().showMessage(f"The patient store could not be updated: {exc}", 30_000)
        if self.history_window is not None:
            self.history_window.refresh()
        return problem

    def _save_post_rating(self, post: Any) -> str | None:
        """Save the rating after this session (a SelfReportValues) in the store, or keep it to
        be saved later when the store cannot take it (as an ending it could not take); the
        store's error, or None."""
        pending = self.unsaved_ending
        if pending is not None and pending.session_id == self.session_id:
            # closing the session failed: the rating waits with it
            self.unsaved_ending = replace(pending, post=post)
            return None
        try:
            self.flow.save_rating(self.session_id, "post", post)
        except BiotrainerError as exc:
            self.unsaved_ending = UnsavedEnding(
                self.session_id, post, math.nan, self.flow.patient.code
            )
            self.statusBar().showMessage(
                f"The rating after the session could not be saved in the patient store: {exc}",
                30_000,
            )
            return str(exc)
        if self.history_window is not None:
            self.history_window.refresh()
        return None

    def save_unsaved_ending(self) -> bool:
        """Save in the patient store what closing a session could not (its outcome, the rating
        after it, an assessed resonance rate); True when nothing is left unsaved. Tried before
        the next session starts and when the window closes."""
        pending = self.unsaved_ending
        if pending is None or self.flow is None:
            return pending is None
        try:
            self.flow.finish(
                pending.session_id, pending.post, pending.resonance_bpm, pending.patient_code
            )
        except BiotrainerError as exc:
            self.statusBar().showMessage(
                f"Session {pending.session_id} is still not updated in the patient store: {exc}",
                30_000,
            )
            return False
        self.unsaved_ending = None
        self.statusBar().showMessage(
            f"Session {pending.session_id} is now updated in the patient store.", 30_000
        )
        if self.history_window is not None:
            self.history_window.refresh()
        return True

    def _show_summary(
        self, outcome: SessionOutcome, resonance=None, store_error: str | None = None
    ) -> None:
        from biotrainer.ui.session_summary import SessionSummaryDialog

        if not outcome.recorded:
            text = "No samples arrived before the session stopped: nothing was recorded."
        else:
            text = format_phases(outcome.phases) if outcome.phases else "No data."
        if math.isfinite(outcome.resonance_bpm):
            text += f"\n\nResonance breathing rate: {outcome.resonance_bpm:g} breaths/min"
        text += f"\n\nRecording: {outcome.folder}"
        self.summary_text = text
        if outcome.error:
            status = f"Stopped by an error: {outcome.error}"
        elif not outcome.recorded:
            status = "Stopped before the first sample arrived: nothing was recorded."
        elif outcome.completed and outcome.ended == ENDED_SOURCE:
            status = (
                f"The device or recording ended before the protocol did, after "
                f"{outcome.protocol_s / 60:.1f} of {outcome.protocol_total_s / 60:.1f} minutes."
            )
        elif outcome.completed:
            status = "Completed."
        else:
            status = (
                f"Stopped by the therapist after {outcome.protocol_s / 60:.1f} of "
                f"{outcome.protocol_total_s / 60:.1f} minutes."
            )
        if self.session_id is not None and store_error is not None:
            status += (
                f"  Session {self.session_id} is in the patient store, but it could not be "
                f"updated ({store_error}): the rating after the session and its outcome are kept "
                "here and saved there when it has room again (before the next session, or when "
                "this window closes). The recording is kept."
            )
        elif self.session_id is not None:
            status += f"  Session {self.session_id} in the patient store."
        if self._summary_dialog is not None:
            self._summary_dialog.close()
        dialog = SessionSummaryDialog(
            self.protocol.title,
            outcome.phases,
            status,
            folder=outcome.folder,
            patient_code=self.patient_code,
            resonance=resonance,
            store=self.flow.store if self.session_id is not None else None,  # registered: a flow
            session_id=self.session_id,
            theme=self.theme,
            parent=self,
        )
        self._summary_dialog = dialog
        fit_on_screen(dialog)
        dialog.show()

    @property
    def summary_dialog(self):
        """The last session's summary dialog (None before the first)."""
        return self._summary_dialog

    # -- from the bridge ---------------------------------------------------------------------

    def _on_updates(self, updates: list[MetricUpdate]) -> None:
        self.metric_rows.add(updates)
        self.updates.extend(updates)
        if len(self.updates) > 2 * RECENT_UPDATES:
            del self.updates[:-RECENT_UPDATES]
        self.dashboard.add_updates(updates)
        # numbers at once, not at the next frame
        self.frame_latency.shown(self.dashboard.show_latest())
        u = updates[-1]
        if u.phase_index != self._phase_index:
            self._phase_index = u.phase_index
            if self.patient_view is not None and 0 <= u.phase_index < len(self.protocol.phases):
                self.patient_view.set_instruction(self.protocol.phases[u.phase_index].instruction)

    def _on_finished(self) -> None:
        self.stop_session(completed=True)

    def _on_failed(self, message: str) -> None:
        self.error = message
        # The patient hears and sees the end now, not once the therapist has read the dialog
        # (the sound, the breathing guide and "please stay still" went on meanwhile).
        self._show_patient_ending(cut=True)
        self.show_error("The session stopped", message)
        self.stop_session(error=message)

    def _on_warning(self, message: str) -> None:
        self.statusBar().showMessage(message, 10_000)

    def _release_memory(self) -> None:
        """Give freed memory back to the system (:func:`biotrainer.memory.release_free_memory`)
        when :data:`RELEASE_MEMORY_EVERY_S` of the window's clock have passed since it last
        did: a long session's resident memory otherwise creeps up."""
        now = self.clock.now()
        if now - self._memory_released_at >= RELEASE_MEMORY_EVERY_S:
            self._memory_released_at = now
            memory.release_free_memory()

    # -- painting ----------------------------------------------------------------------------

    def _on_frame(self) -> None:
        self.frame_latency.shown(self.dashboard.refresh())
        if self.dashboard.frames % 15 == 0:
            text = self.frame_latency.text()
            if text is not None:
                self.dashboard.latency_label.setText(text)

    @property
    def latency(self) -> LatencyMeter:
        """Dashboard latency: the poll bringing the newest samples -> the frame showing them."""
        return self.frame_latency.dashboard

    @property
    def patient_latency(self) -> LatencyMeter:
        """The same latency, measured by the patient view."""
        return self.frame_latency.patient

    @property
    def data_age(self) -> LatencyMeter:
        """Age of the newest sample on screen (BrainFlow timestamp -> painted frame)."""
        return self.frame_latency.data_age

    def event(self, e: QEvent) -> bool:
        """Stamp the paint time: the whole window is painted while handling UpdateRequest."""
        result = super().event(e)
        if e.type() == QEvent.Type.UpdateRequest:
            self.frame_latency.painted()
        return result

    # -- patient view ------------------------------------------------------------------------

    def toggle_patient_view(self) -> None:
        pv = self.patient_view
        if pv is None:
            return
        pv.setVisible(not pv.isVisible())

    def toggle_patient_fullscreen(self) -> None:
        """F11: the patient view full screen (shown first if hidden) -- on a monitor that does
        not hold this window when there are two (the patient's) -- or back to a window."""
        pv = self.patient_view
        if pv is None:
            return
        if not pv.isVisible():
            pv.show()
        if pv.window().isFullScreen() or not hasattr(pv, "show_on_screen"):
            pv.toggle_fullscreen()
        else:  # on the second monitor when there is one, not over the therapist's screen
            pv.show_on_screen(self._patient_screen())

    def _patient_screen(self) -> int | None:
        """The index of the monitor for the patient's full-screen view: the last one that does
        not hold this (the therapist's) window; None with one monitor (the view's own rule)."""
        screens = QGuiApplication.screens()
        mine = self.screen()
        others = [i for i, s in enumerate(screens) if s is not mine]
        return others[-1] if others and len(screens) > 1 else None

    def _on_numbers(self, on: bool) -> None:
        if self.patient_view is not None:
            self.patient_view.set_show_numbers(on)

    def _on_sweep(self, on: bool) -> None:
        self.dashboard.set_sweep(on)
        self.settings.setValue(f"{SETTINGS_GROUP}/sweep", on)

    def _on_audio(self, on: bool) -> None:
        # (sound plays only during a session; turning it off works at any time)
        if self.patient_view is not None and (self.running or not on):
            self._enable_sound(on)

    def _enable_sound(self, on: bool) -> None:
        """Turn the patient's sound feedback on or off; when it cannot play, say so in the status
        bar (until another message) and untick "Sound feedback" (ticking it tries again)."""
        pv = self.patient_view
        if pv is None or pv.set_audio_enabled(on) or not on or getattr(pv, "audio_waiting", False):
            return  # (playing, off, or waiting for the closed view to be shown again)
        why = getattr(getattr(pv, "audio", None), "status", "") or "no sound output"
        self.audio_action.blockSignals(True)
        self.audio_action.setChecked(False)
        self.audio_action.blockSignals(False)
        if self.protocol.audio:
            text = (
                f"No sound can be played ({why}): this protocol gives its feedback by sound, so "
                "the patient hears none. Check the speakers or the computer's sound output, "
                "then tick View > Sound feedback"
            )
        else:
            text = f"No sound can be played ({why}): the feedback is visual only"
        self.sound_problem = text
        self.statusBar().showMessage(text)

    # -- errors, layout, closing -------------------------------------------------------------

    def show_error(self, title: str, message: str) -> None:
        """Tell the person what went wrong (a modal message box, never a traceback; the message
        is a sentence there: capitalised)."""
        QMessageBox.critical(self, title, capitalised(message))

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
        self.stop_session(ask=False)
        if not self.save_unsaved_ending():
            pending = self.unsaved_ending
            self.show_error(
                "Not saved in the patient store",
                f"Session {pending.session_id}'s outcome and the rating after it could not be "
                "saved in the patient store (is the disk full?). The recording is kept in its "
                "folder.",
            )
        self.signal_check.stop()
        self._frame_timer.stop()
        self.save_layout()
        for w in (self._summary_dialog, self.history_window, self.patient_view):
            if w is not None:
                w.close()
        super().closeEvent(event)


def _close(outlets: object | None) -> None:
    if outlets is not None:
        with contextlib.suppress(BiotrainerError):
            outlets.close()


def protocol_fit_text(protocol: Protocol, layout: SourceLayout) -> str:
    """What the window says when ``protocol`` needs a signal the device of ``layout`` does not
    have (:func:`~biotrainer.engine.engine.signals_lacking`; the engine's own message is for
    the command line). The window has no protocol or device to choose: it runs those
    biotrainer was started with, so the way out is to start it again with another one."""
    lacking = signals_lacking(protocol, layout)
    need = " and ".join(lacking) or "signals"
    short = " and ".join("a heart signal" if s == LACKING_HEART else s for s in lacking)
    return (
        f"The protocol “{protocol.title}” needs {need}, and this device ({layout.device}) has "
        "none.\n\nThis window runs the protocol and the device biotrainer was started with. To "
        "train with this device, close biotrainer and start it again with a protocol for the "
        f"signals this device has, or with a device that measures {short or 'them'}. Nothing "
        "was recorded."
    )


def recording_room_problem(data_directory: str | Path | None) -> str | None:
    """Why a session could not be recorded under ``data_directory`` for lack of room (the
    disk holding its sessions folder has less free space than a session needs, as the CLI
    refuses), or None. Nothing is created: the folder's nearest existing parent is checked.
    """
    from biotrainer.paths import nearest_existing
    from biotrainer.session.folder import sessions_root
    from biotrainer.session.recorder import check_free_space

    try:
        check_free_space(nearest_existing(sessions_root(data_directory)))
    except BiotrainerError as exc:
        return str(exc)
    return None


def ending_banner(outcome: SessionOutcome) -> tuple[str, str]:
    """What the dashboard's banner says after a session, and how it ended (a key of
    :data:`~biotrainer.ui.dashboard.ENDINGS`): an error (the device failed...) stops its
    header as a stop does."""
    done = f"{fmt_clock(outcome.protocol_s)} of {fmt_clock(outcome.protocol_total_s)}"
    if outcome.error is not None:
        if not outcome.recorded:
            return "Stopped by an error before the first sample: nothing was recorded", "failed"
        return f"Stopped by an error ({done})", "failed"
    if not outcome.recorded:
        return "Stopped before the first sample: nothing was recorded", "stopped"
    if outcome.completed and outcome.ended == ENDED_SOURCE:
        return f"The device or recording ended early ({done})", "source"
    if outcome.completed:
        return "Session complete", "complete"
    return f"Stopped early ({done})", "stopped"


def run_trainer(make_source: Callable[[], Source], protocol: Protocol, **kwargs: Any) -> int:
    """Open the trainer window and run the event loop until it is closed.

    Keyword arguments go to :class:`TrainerWindow`. Returns the event loop's exit code.
    """
    from biotrainer.ui.app import application, exec_until_closed

    app = application()
    window = TrainerWindow(make_source, protocol, **kwargs)
    show_fitted(window)
    return exec_until_closed(app, window, kwargs.get("data_dir"))


#: Height of a window's title bar where it is not known yet (before the window is shown).
TITLE_BAR_PX = 32


def show_fitted(window: QWidget) -> None:
    """Show ``window``, maximized when it does not fit its screen's free area with its title
    bar (its first size, 1440x900, or a size remembered from a larger screen, on a 1280x720
    laptop): the window manager then fits frame and all beside the taskbar. Shrinking the
    window to the free area left its title bar over the edge, and the Stop button under the
    taskbar."""
    screen = window.screen()
    if screen is not None:
        free = screen.availableGeometry()
        if window.width() > free.width() or window.height() + TITLE_BAR_PX > free.height():
            window.showMaximized()
            return
    window.show()


def fit_on_screen(window: QWidget, free: QRect | None = None) -> None:
    """Shrink ``window`` (not below its least size) to fit with its title bar in ``free``:
    its screen's free area by default. The session summary of a resonance assessment and the
    patient history open taller than a 1024x600 screen, their buttons under the taskbar."""
    if free is None:
        screen = window.screen()
        if screen is None:
            return
        free = screen.availableGeometry()
    width = min(window.width(), free.width())
    height = min(window.height(), free.height() - TITLE_BAR_PX)
    if (width, height) != (window.width(), window.height()):
        window.resize(width, height)  # (Qt keeps it at least its least size)
