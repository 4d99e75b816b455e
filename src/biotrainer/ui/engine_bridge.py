"""The Qt adapter of the engine: one QTimer drives :meth:`Engine.tick`, signals carry the results.

The bridge never paints. It forwards what the engine produces (metric updates, raw chunks) as
Qt signals; the views keep the latest and repaint on their own frame timer. Commands from the
dashboard (pause, marker, note, threshold) go to the engine as plain calls.

Latency (sample arrival -> painted frame) is measured by :class:`LatencyMeter`: the window that
paints calls :meth:`LatencyMeter.painted` with the update it has just shown, on the same clock
the engine stamped ``received_at`` with. :class:`FrameLatency` keeps a window's three figures
(dashboard, patient view, data age) and does that stamping for it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from biotrainer.acquisition.chunk import Chunk
from biotrainer.clock import Clock, EpochClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.preview import FeedbackPreview
from biotrainer.engine.updates import MetricUpdate
from biotrainer.errors import BiotrainerError
from biotrainer.ui.error_report import log_unexpected


class LatencyMeter:
    """Latency from sample arrival (``update.received_at``) to the painted frame.

    Parameters
    ----------
    clock : Clock
        The engine's clock (``received_at`` is on it).
    window : int
        Number of recent measurements the median is taken over.
    """

    def __init__(self, clock: Clock, window: int = 50) -> None:
        self.clock = clock
        self.recent: deque[float] = deque(maxlen=window)
        self.all: deque[float] = deque(maxlen=100_000)  # for benchmarks
        self._last_received = -math.inf

    def painted(self, update: MetricUpdate | None) -> float | None:
        """Record that ``update`` is on screen now; return its latency in seconds.

        Each batch of samples is measured once (the first frame that shows it); heartbeat
        updates without new samples are not measured.
        """
        if update is None:
            return None
        return self.painted_stamp(update.received_at)

    def painted_stamp(self, stamp: float, max_s: float = math.inf) -> float | None:
        """Record that what was stamped ``stamp`` (on :attr:`clock`) is on screen now; return
        the latency in seconds. Each stamp is measured once; a latency above ``max_s`` (a stamp
        on another clock) is not recorded."""
        if not math.isfinite(stamp) or stamp <= self._last_received:
            return None
        self._last_received = stamp
        latency = max(0.0, self.clock.now() - stamp)
        if latency > max_s:
            return None
        self.record(latency)
        return latency

    def record(self, latency_s: float) -> None:
        """Add a latency measured elsewhere (seconds; e.g. by the patient view)."""
        self.recent.append(latency_s)
        self.all.append(latency_s)

    @property
    def median_ms(self) -> float:
        """Median of the recent latencies in ms (NaN before the first)."""
        return 1000.0 * float(np.median(self.recent)) if self.recent else math.nan

    def percentile_ms(self, q: float) -> float:
        """Percentile ``q`` (0-100) of every latency measured, in ms (NaN before the first)."""
        return 1000.0 * float(np.percentile(list(self.all), q)) if self.all else math.nan


#: A data age above this means the source does not stamp samples on the epoch clock.
MAX_DATA_AGE_S = 5.0


class FrameLatency:
    """The latency figures of one trainer window, stamped when its frame is painted.

    The window tells what its next frame shows (:meth:`shown`, :meth:`previewed`) and calls
    :meth:`painted` once the frame is painted; the patient view measures its own figure
    (:meth:`patient_painted`).

    Parameters
    ----------
    clock : Clock
        The engine's clock (``received_at`` is on it).

    Attributes
    ----------
    dashboard : LatencyMeter
        Poll that brought the newest samples into the app -> dashboard frame showing them.
    patient : LatencyMeter
        The same, measured by the patient view on its own frames.
    data_age : LatencyMeter
        Age of the newest sample on screen: BrainFlow's timestamp (epoch seconds, when the
        sample entered its buffer) to the painted frame. Sources stamping on another clock
        (a replayed file, LSL) give no figure (ages above :data:`MAX_DATA_AGE_S`).
    """

    def __init__(self, clock: Clock) -> None:
        self.dashboard = LatencyMeter(clock)
        self.patient = LatencyMeter(clock)
        self.data_age = LatencyMeter(EpochClock())
        self._update: MetricUpdate | None = None
        self._preview: FeedbackPreview | None = None

    def shown(self, update: MetricUpdate | None) -> None:
        """``update`` is on the next frame (None: nothing new)."""
        if update is not None:
            self._update = update

    def previewed(self, preview: FeedbackPreview) -> None:
        """``preview`` (newer than every update) is on the next frame."""
        self._preview = preview

    def patient_painted(self, latency_s: float) -> None:
        """Record a latency measured by the patient view (seconds; negative/NaN ignored)."""
        if math.isfinite(latency_s) and latency_s >= 0:
            self.patient.record(latency_s)

    def painted(self) -> None:
        """The frame is painted: measure what it shows (each sample batch once)."""
        newest = None
        if self._update is not None:
            self.dashboard.painted(self._update)
            newest = self._update.sample_time
            self._update = None
        if self._preview is not None:
            newest = self._preview.sample_time
            self._preview = None
        if newest is not None:
            self.data_age.painted_stamp(newest, max_s=MAX_DATA_AGE_S)

    def text(self) -> str | None:
        """The status line ("latency dashboard 40 ms · ..."), None before the first figure."""
        named = (
            ("dashboard", self.dashboard),
            ("patient", self.patient),
            ("data age", self.data_age),
        )
        parts = [f"{name} {m.median_ms:.0f} ms" for name, m in named if m.recent]
        return "latency " + " · ".join(parts) if parts else None


class EngineBridge(QObject):
    """Tick an :class:`~biotrainer.engine.engine.Engine` from the Qt event loop.

    Parameters
    ----------
    engine : Engine
        Not yet started; the bridge starts it in :meth:`start` and closes it in :meth:`stop`
        (which stops the source and closes the recording).
    tick_hz : float
        Engine ticks per second (25 Hz: each tick polls the source once).
    outlets : object, optional
        Anything with ``push_chunk(chunk)`` and ``push_update(update)`` (the LSL outlets).
        A :class:`BiotrainerError` from it is reported once through ``warning`` and the outlets
        are dropped; the session goes on.
    before_tick : callable, optional
        Called before every tick (tests and screenshots advance a SimulatedClock here).
    parent : QObject, optional

    Signals
    -------
    update_ready(MetricUpdate)
        The newest update of a tick (at most one per tick).
    updates_ready(list)
        Every update of a tick, in order (trends, summaries).
    chunk_ready(Chunk)
        The raw samples the tick polled (signal plots).
    preview_ready(FeedbackPreview)
        The feedback at the newest sample, when a tick has one newer than its updates (the
        score shown between the 0.1 s updates; display only).
    ticked()
        After every tick, once its updates and preview are out (with or without new data): a
        view that advances its frames on it shows the samples polled just before each frame.
    finished()
        The protocol is over or the source ended; ticking has stopped (call :meth:`stop`).
    failed(str)
        The engine raised a :class:`BiotrainerError`; ticking has stopped.
    warning(str)
        Something non-fatal went wrong (the outlets).
    """

    update_ready = Signal(object)
    updates_ready = Signal(list)
    chunk_ready = Signal(object)
    preview_ready = Signal(object)
    ticked = Signal()
    finished = Signal()
    failed = Signal(str)
    warning = Signal(str)
    #: What a wireless link is losing now, when it changes ("" when nothing worth saying).
    link_losing = Signal(str)

    def __init__(
        self,
        engine: Engine,
        *,
        tick_hz: float = 25.0,
        outlets: object | None = None,
        before_tick: Callable[[], object] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        if not 1.0 <= tick_hz <= 1000.0:
            raise ValueError(f"tick rate must be within 1-1000 Hz, got {tick_hz}")
        self.engine = engine
        self.outlets = outlets
        self.before_tick = before_tick
        self.ticks = 0
        self.update_count = 0
        self.close_error: str | None = None
        self._closed = False
        self._finished = False
        self._losing = ""
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(max(1, round(1000.0 / tick_hz)))
        self._timer.timeout.connect(self.tick_once)
        previous = engine.on_chunk
        if previous is None:
            engine.on_chunk = self._on_chunk
        else:
            engine.on_chunk = lambda chunk: (previous(chunk), self._on_chunk(chunk))

    @property
    def clock(self) -> Clock:
        return self.engine.clock

    @property
    def running(self) -> bool:
        """True while the tick timer is active."""
        return self._timer.isActive()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def paused(self) -> bool:
        return self.engine.paused

    def start(self) -> None:
        """Start the engine (prepares and starts the source) and the tick timer.

        Raises
        ------
        BiotrainerError
            The source could not be opened; the engine has been closed again.
        """
        if self._closed:
            raise RuntimeError("a stopped session cannot be restarted")
        try:
            self.engine.start()
        except BiotrainerError:
            self.stop()
            raise
        self._timer.start()

    def tick_once(self) -> list[MetricUpdate]:
        """One engine tick; emits the signals. Returns the updates."""
        if self._closed or self._finished:
            self._timer.stop()
            return []
        if self.before_tick is not None:
            self.before_tick()
        try:
            updates = self.engine.tick()
        except BiotrainerError as exc:
            self._timer.stop()
            self.failed.emit(str(exc))
            return []
        except Exception as exc:  # a bug, or a source raising outside the Source contract
            self._timer.stop()
            logged = log_unexpected(exc)
            where = f"; the details are in {logged}" if logged else ""
            self.failed.emit(
                f"an unexpected error stopped the session ({type(exc).__name__}: {exc}); what "
                f"was recorded so far is kept{where}"
            )
            return []
        self.ticks += 1
        for note in self.engine.take_notes():  # (what the source assumed: the status bar)
            self.warning.emit(note)
        losing = self.engine.link_losing
        if losing != self._losing:  # (the dashboard's quality line)
            self._losing = losing
            self.link_losing.emit(losing)
        if updates:
            self.update_count += len(updates)
            if self.outlets is not None:
                for u in updates:
                    self._to_outlets("push_update", u)
            self.updates_ready.emit(updates)
            self.update_ready.emit(updates[-1])
        if self.engine.preview is not None:
            self.preview_ready.emit(self.engine.preview)
        self.ticked.emit()
        if self.engine.finished and not self._finished:
            self._finished = True
            self._timer.stop()
            self.finished.emit()
        return updates

    def _on_chunk(self, chunk: Chunk) -> None:
        self._to_outlets("push_chunk", chunk)
        self.chunk_ready.emit(chunk)

    def _to_outlets(self, method: str, item: object) -> None:
        if self.outlets is None:
            return
        try:
            getattr(self.outlets, method)(item)
        except BiotrainerError as exc:
            self.outlets = None
            self.warning.emit(f"streaming to the network stopped: {exc}")

    # -- commands (forwarded to the engine) --------------------------------------------------

    def pause(self) -> None:
        self.engine.pause()

    def resume(self) -> None:
        self.engine.resume()

    def toggle_pause(self) -> None:
        self.engine.toggle_pause()

    def add_marker(self, text: str = "") -> None:
        self.engine.add_marker(text)

    def add_note(self, text: str) -> None:
        self.engine.add_note(text)

    def set_threshold(self, threshold_z: float) -> None:
        self.engine.set_threshold(threshold_z)

    def set_auto_threshold(self, target_rate: float | None = None) -> None:
        self.engine.set_auto_threshold(target_rate)

    def stop(self) -> None:
        """Stop ticking and close the engine (source released, recording closed). Idempotent."""
        self._timer.stop()
        if self._closed:
            return
        self._closed = True
        try:
            self.engine.close()  # (releases the source and closes the recording even on error)
        except BiotrainerError as exc:
            self.close_error = str(exc)
        except Exception as exc:  # as in tick_once: outside the Source contract
            log_unexpected(exc)
            self.close_error = f"{type(exc).__name__}: {exc}"
        for note in self.engine.take_notes():  # (what the device lost in all: the status bar)
            self.warning.emit(note)
