"""The signal check before a session: the device streams, nothing is recorded.

A therapist fits the headset and wants to see the live signals and the quality lights before
pressing Start. :class:`SignalCheck` opens the source, polls it from a QTimer through an engine
that has no recorder and analyses every EEG channel and the heart signal (the same quality
verdicts as in a session), and emits the raw chunks and metric updates.
:meth:`SignalCheck.take_source` hands the still-streaming source over to the session: the
session's first poll returns everything that arrived since the check's last poll, so no sample
is lost between the check and the recording.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from biotrainer.acquisition.source import Source, SourceLayout, SourceState
from biotrainer.clock import Clock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import Phase, Protocol
from biotrainer.errors import BiotrainerError

#: The check runs as one long baseline phase (no protocol events, no phase changes).
CHECK_PHASE_S = 24 * 3600.0


def check_protocol(protocol: Protocol, layout: SourceLayout) -> Protocol:
    """``protocol`` as one long eyes-open baseline that analyses every signal of ``layout``.

    The check judges all the EEG channels and the heart signal the device has (feedback
    ``combined``, ``relaxation`` or ``coherence``), even those the session's protocol will not
    feed back on: an electrode check looks at every electrode.
    """
    eeg = layout.group("eeg") is not None
    heart = any(layout.group(r) is not None for r in ("ecg", "ppg", "rr"))
    if eeg and heart:
        feedback = "combined"
    elif eeg:
        feedback = "relaxation"
    elif heart:
        feedback = "coherence"
    else:
        feedback = protocol.feedback
    phase = Phase(name="signal check", kind="baseline", duration_s=CHECK_PHASE_S)
    return replace(protocol, feedback=feedback, phases=(phase,))


class SignalCheck(QObject):
    """Stream a source without recording and report its signals and quality.

    Parameters
    ----------
    make_source : callable
        Builds a new, unprepared source (may raise BiotrainerError).
    protocol : Protocol
        The session's protocol (its phases are not run; see :func:`check_protocol`).
    clock : Clock
    tick_hz : float
        Polls per second.
    before_tick : callable, optional
        Called before each poll (tests advance a SimulatedClock here).

    Signals
    -------
    update_ready(MetricUpdate)
        Newest update of a poll (quality, channel_ok, heart rate, band powers).
    chunk_ready(Chunk)
        Raw samples of a poll.
    failed(str)
        The source failed or ended; the check has stopped and released it.
    """

    update_ready = Signal(object)
    chunk_ready = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        make_source: Callable[[], Source],
        protocol: Protocol,
        clock: Clock,
        *,
        tick_hz: float = 25.0,
        before_tick: Callable[[], object] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.make_source = make_source
        self.protocol = protocol
        self.clock = clock
        self.before_tick = before_tick
        self.engine: Engine | None = None
        self.polls = 0
        self.chunks = 0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(max(1, round(1000.0 / tick_hz)))
        self._timer.timeout.connect(self.tick_once)

    @property
    def active(self) -> bool:
        """True while a source is open for the check."""
        return self.engine is not None

    @property
    def timer_active(self) -> bool:
        return self._timer.isActive()

    @property
    def source(self) -> Source | None:
        return self.engine.source if self.engine is not None else None

    def start(self) -> None:
        """Open, prepare and start the source; start polling.

        Raises
        ------
        BiotrainerError
            The source could not be opened (it has been released).
        """
        if self.engine is not None:
            return
        source = self.make_source()
        try:
            source.prepare()
            source.start()
            protocol = check_protocol(self.protocol, source.layout)
            engine = Engine(source, protocol, clock=self.clock)
            engine.on_chunk = self._on_chunk
            engine.start()
        except BaseException:
            release_source(source)
            raise
        self.engine = engine
        self.polls = self.chunks = 0
        self._timer.start()

    def _on_chunk(self, chunk) -> None:
        self.chunks += 1
        self.chunk_ready.emit(chunk)

    def tick_once(self) -> None:
        """Poll the source once and emit what it delivered."""
        engine = self.engine
        if engine is None:
            self._timer.stop()
            return
        if self.before_tick is not None:
            self.before_tick()
        try:
            updates = engine.tick()
        except BiotrainerError as exc:
            self.stop()
            self.failed.emit(str(exc))
            return
        self.polls += 1
        if updates:
            self.update_ready.emit(updates[-1])
        if engine.source.state is SourceState.ENDED:
            self.stop()
            self.failed.emit("the source has no more data")

    def take_source(self) -> Source | None:
        """Stop polling and hand over the open, streaming source (None when not checking).

        The caller owns the source from now on (an :class:`Engine` started on it continues the
        stream without preparing or starting it again).
        """
        self._timer.stop()
        engine, self.engine = self.engine, None
        if engine is None:
            return None
        engine.on_chunk = None
        return engine.source

    def stop(self) -> None:
        """Stop polling and release the source (idempotent)."""
        self._timer.stop()
        engine, self.engine = self.engine, None
        if engine is not None:
            with contextlib.suppress(BiotrainerError):
                engine.close()


def release_source(source: Source) -> None:
    """Release ``source``, ignoring a failure (nothing more can be done with a device that will
    not let go)."""
    with contextlib.suppress(BiotrainerError):
        source.release()
