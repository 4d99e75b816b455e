"""The Qt bridge: one QTimer pumps a :class:`~biotrainer.acquisition.source.Source`.

The bridge only polls and forwards. It never paints: views buffer the chunks it emits and
repaint on their own frame timer. Later the same timer will drive the engine's ``tick``.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from biotrainer.acquisition.source import Source, SourceState, poll_checked
from biotrainer.errors import BiotrainerError
from biotrainer.ui.traces import StreamStats


class SourceBridge(QObject):
    """Poll a source from the Qt event loop and emit what it delivers.

    Parameters
    ----------
    source : Source
        A source not yet prepared; the bridge owns its lifecycle from :meth:`open` to
        :meth:`close`.
    poll_hz : float
        Polls per second (25-50 Hz keeps the latency low and the chunks small).
    parent : QObject, optional

    Signals
    -------
    chunk_ready(Chunk)
        A poll returned new samples.
    state_changed(SourceState)
        The source's state changed (streaming, signal lost, ended, released...).
    failed(str)
        Polling raised a :class:`BiotrainerError`; polling has stopped. The text is its message.
    """

    chunk_ready = Signal(object)
    state_changed = Signal(object)
    failed = Signal(str)

    def __init__(
        self, source: Source, poll_hz: float = 30.0, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        if not 1.0 <= poll_hz <= 200.0:
            raise ValueError(f"poll rate must be within 1-200 Hz, got {poll_hz}")
        self.source = source
        self.stats = StreamStats()
        self.polls = 0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(round(1000.0 / poll_hz))
        self._timer.timeout.connect(self.poll_once)
        self._state: SourceState | None = None
        self._opened = False
        self._closed = False
        #: Message of a stop/release failure during :meth:`close` (None when clean).
        self.close_error: str | None = None

    @property
    def running(self) -> bool:
        """True while the poll timer is active."""
        return self._timer.isActive()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has stopped and released the source."""
        return self._closed

    @property
    def state(self) -> SourceState | None:
        """The source state last seen by the bridge."""
        return self._state

    def open(self) -> None:
        """Prepare and start the source, then start polling.

        Raises
        ------
        BiotrainerError
            The device could not be opened; the source has been released again.
        """
        if self._closed:
            raise RuntimeError("a closed bridge cannot be reopened")
        try:
            self.source.prepare()
            self.source.start()
        except BiotrainerError:
            self._release_quietly()
            self._closed = True
            raise
        self._opened = True
        self._check_state()
        self._timer.start()

    def poll_once(self) -> None:
        """Poll the source once and emit the chunk when it holds samples."""
        try:
            chunk = poll_checked(self.source)
        except BiotrainerError as exc:
            self._timer.stop()
            self._check_state()
            self.failed.emit(str(exc))
            return
        self.polls += 1
        if not chunk.empty:
            self.stats.update(chunk)
            self.chunk_ready.emit(chunk)
        self._check_state()

    def close(self) -> None:
        """Stop polling, then stop and release the source. Safe to call more than once."""
        self._timer.stop()
        if self._closed:
            return
        self._closed = True
        if self._opened:
            try:
                self.source.stop()
            except BiotrainerError as exc:
                # Releasing below is what matters; a stop failure must not block it.
                self.close_error = str(exc)
        self._release_quietly()
        self._check_state()

    def _release_quietly(self) -> None:
        try:
            self.source.release()
        except BiotrainerError as exc:
            # Nothing more can be done with a device that will not let go; keep the reason.
            self.close_error = str(exc)

    def _check_state(self) -> None:
        state = self.source.state
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)
