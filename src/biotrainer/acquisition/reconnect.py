"""A source that survives a device dropping out mid-session.

:class:`ReconnectingSource` wraps the source made by a callable (``source_factory`` of the
commands returns exactly such a callable) and keeps the session going when the device fails:

* When the wrapped source raises a :class:`~biotrainer.errors.BiotrainerError` (a
  ``DeviceError``), a ``BrainFlowError`` or an ``OSError`` from ``poll``, or delivers no sample
  for ``silence_s`` of clock time, the state becomes :attr:`SourceState.SILENT` ("signal lost")
  in that same poll. The engine shows it at once and pauses the feedback.
* Once silent for ``retry_every_s``, the broken source is released and a fresh one is opened
  (``open_source()``, ``prepare()``, ``start()``), again every ``retry_every_s`` until samples
  flow; then the state is STREAMING again and a ``reconnected`` event ("reconnected after N s")
  is queued for :meth:`take_events` (the engine and ``biotrainer record`` log it in
  ``events.csv``; the recorder adds its own ``gap`` event from the jump in the timestamps).
* The re-opened device must have the same layout (same profile): a device with another layout
  is refused with a :class:`DeviceError`, since one recording cannot change its rows.
* A :class:`~biotrainer.errors.SourceRefusedError` from ``poll`` (a stream that works but sends
  what the session cannot use, such as another rate than it announces) is raised, not retried.
* A source without a fixed rate (RR intervals, one sample a beat, some bridges sending two
  every two seconds) is silent only after :data:`~biotrainer.limits.BEATS_LOST_S` without one.
* A finite source that ends (a playback file) is not a drop: ``ENDED`` passes through.
* ``poll`` never raises except for the unrecoverable: a different layout after reconnecting, or
  no data for ``give_up_after_s`` (when set).

Opening a source may block for the device's discovery timeout (BrainFlow's
``prepare_session``). By default a reconnect attempt happens inside ``poll``, so it may block too.
With ``open_in_background=True`` (every command: the trainer's windows, ``run``, ``record``)
each attempt runs on a thread of its own and ``poll`` only looks whether it has finished, so a
window keeps painting "signal lost" while a headset is searched for and Ctrl-C stops a headless
session at once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.source import Source, SourceLayout, SourceState
from biotrainer.clock import Clock
from biotrainer.errors import BiotrainerError, DeviceError, SourceRefusedError
from biotrainer.limits import loss_after_s

#: Seconds of clock time without a sample before the wrapper reports "signal lost". Shorter than
#: BrainFlowSource's 2-s silence timeout so "signal lost" is shown within 2 s of the last sample,
#: counting one poll interval and the sample's own age.
SILENCE_S = 1.5

#: Seconds a re-opened device is given to send its first sample before it is re-opened again
#: (a Bluetooth or WiFi device may take a few seconds after it started streaming).
FIRST_SAMPLE_S = 5.0

#: Event kind queued when samples flow again after a drop.
EVENT_RECONNECTED = "reconnected"
#: Event kind queued for every failed attempt to re-open the device.
EVENT_RECONNECT_FAILED = "reconnect_failed"
#: Event kind queued when the device failed (error text) and will be re-opened.
EVENT_DEVICE_ERROR = "device_error"
#: Event kinds after which the device is (being) opened again: what counted its packets
#: counts afresh (:meth:`biotrainer.acquisition.counter.SourceLosses.restart`).
REOPENED_KINDS = (EVENT_RECONNECTED, EVENT_DEVICE_ERROR)


def is_live_device(device: str) -> bool:
    """True when the device profile streams from hardware (or BrainFlow's synthetic board):
    not a playback of files and not a rendered simulator scenario, which end rather than drop.

    Raises
    ------
    ConfigError, DeviceError
        Unknown or malformed profile.
    """
    from biotrainer.acquisition.profiles import load_profile

    return load_profile(device).is_live


def _failures() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the device failed" (BrainFlow is imported only if installed)."""
    kinds: list[type[BaseException]] = [BiotrainerError, OSError]
    try:
        from brainflow.board_shim import BrainFlowError
    except ImportError:  # pragma: no cover - brainflow is a dependency
        pass
    else:
        kinds.append(BrainFlowError)
    return tuple(kinds)


class ReconnectingSource:
    """A :class:`~biotrainer.acquisition.source.Source` that re-opens its device after a drop.

    Parameters
    ----------
    open_source : callable
        Returns a fresh, unprepared source of the device each time it is called.
    clock : Clock
        Times the silence and the retries (the session's clock; simulated in tests).
    retry_every_s : float
        Seconds of silence before the first re-open, and between two attempts.
    give_up_after_s : float or None
        Raise a :class:`DeviceError` from ``poll`` once the signal has been lost this long
        (None: keep trying for as long as the session runs).
    silence_s : float
        Seconds without a sample that count as "signal lost" even if the wrapped source has
        not said so yet (at least :data:`~biotrainer.limits.BEATS_LOST_S` for a source without
        a fixed rate).
    open_in_background : bool
        Re-open the device on a thread of its own (``poll`` never waits for it); the first
        open, in :meth:`prepare`, is always done in the caller's thread.

    Raises
    ------
    ValueError
        If a duration is not positive.
    """

    def __init__(
        self,
        open_source: Callable[[], Source],
        clock: Clock,
        *,
        retry_every_s: float = 2.0,
        give_up_after_s: float | None = None,
        silence_s: float = SILENCE_S,
        open_in_background: bool = False,
    ) -> None:
        if not retry_every_s > 0 or not silence_s > 0:
            raise ValueError("retry_every_s and silence_s must be positive")
        if give_up_after_s is not None and not give_up_after_s > 0:
            raise ValueError("give_up_after_s must be positive (or None)")
        self._open = open_source
        self._clock = clock
        self.retry_every_s = float(retry_every_s)
        self.give_up_after_s = None if give_up_after_s is None else float(give_up_after_s)
        self.silence_s = float(silence_s)
        self.open_in_background = bool(open_in_background)
        self._opening: _Opening | None = None  # a re-open running in the background
        self._failures = _failures()
        self._inner: Source | None = None
        self._layout: SourceLayout | None = None
        self._state = SourceState.IDLE
        self._last_data_at = 0.0
        self._lost_at: float | None = None
        self._next_retry = 0.0
        self._events: list[tuple[str, str]] = []
        self._reopened = False
        #: Times the device was re-opened and delivered again.
        self.reconnects = 0
        #: The message of the latest failure (None before any).
        self.last_error: str | None = None

    # ------------------------------------------------------------------ properties

    @property
    def state(self) -> SourceState:
        return self._state

    @property
    def layout(self) -> SourceLayout:
        if self._layout is None:
            self._inner = self._open()
            self._layout = self._inner.layout
        return self._layout

    @property
    def lost_since(self) -> float | None:
        """Clock time at which the last samples before the loss arrived, while the signal is
        lost (None while samples flow): what "reconnected after N s" counts from. The loss is
        noticed later, :attr:`silence_s` after it for a silent device."""
        return self._lost_at

    @property
    def inner(self) -> Source | None:
        """The source in use now (None between a drop and a successful re-open)."""
        return self._inner

    def take_events(self) -> list[tuple[str, str]]:
        """Return and forget the ``(kind, text)`` events queued since the previous call: the
        wrapped source's own (an LSL stream's notes) and this one's."""
        self._take_inner_events()
        events, self._events = self._events, []
        return events

    def _take_inner_events(self) -> None:
        take = getattr(self._inner, "take_events", None) if self._inner is not None else None
        if callable(take):
            with contextlib.suppress(*self._failures):
                self._events.extend(take())

    # ------------------------------------------------------------------ lifecycle

    def prepare(self) -> None:
        """Open and prepare the first source; its failures are raised (nothing to fall back on)."""
        if self._state not in (SourceState.IDLE, SourceState.RELEASED):
            raise DeviceError("the device is already prepared")
        if self._inner is None:
            self._inner = self._open()
        self._layout = self._inner.layout
        self.silence_s = loss_after_s(max(p.fs for p in self._layout.presets), self.silence_s)
        self._inner.prepare()
        self._state = SourceState.PREPARED

    def start(self) -> None:
        if self._state is SourceState.IDLE:
            self.prepare()
        if self._state is not SourceState.PREPARED:
            raise DeviceError("the device must be prepared before it starts")
        self._inner.start()
        self._last_data_at = self._clock.now()
        self._state = SourceState.STREAMING

    def poll(self) -> Chunk:
        """New samples since the previous poll; an empty chunk while the device is lost."""
        now = self._clock.now()
        if self._state not in (SourceState.STREAMING, SourceState.SILENT):
            return self._drain(now)
        if self._inner is None:
            self._retry(now)
            return self._empty(now)
        try:
            chunk = self._inner.poll()
        except SourceRefusedError:
            raise  # the device works: re-opening it would bring the same refusal
        except self._failures as exc:
            self._drop(now, f"{exc}", error=True)
            return self._empty(now)
        inner_state = self._inner.state
        if inner_state is SourceState.ENDED:
            self._state = SourceState.ENDED
            return chunk
        if inner_state not in (SourceState.STREAMING, SourceState.SILENT):
            # stopped or released behind our back (e.g. the board session was closed)
            self._drop(now, f"the device stopped streaming ({inner_state.value})", error=True)
            return chunk if not chunk.empty else self._empty(now)
        if not chunk.empty:
            self._restored(now)
            return chunk
        if inner_state is SourceState.SILENT or now - self._last_data_at >= self.silence_s:
            if self._state is not SourceState.SILENT:
                self._drop(now, "no new samples")
            else:
                self._retry(now)
        return chunk

    def stop(self) -> None:
        """Stop streaming (buffered samples can be polled once more)."""
        if self._state in (SourceState.IDLE, SourceState.STOPPED, SourceState.RELEASED):
            return
        self._state = SourceState.STOPPED
        self._abandon_opening()
        if self._inner is not None:
            try:
                self._inner.stop()
            except self._failures:
                self._release_inner()

    def release(self) -> None:
        """Release the device (safe to call more than once)."""
        self._abandon_opening()
        self._release_inner()
        self._state = SourceState.RELEASED

    # ------------------------------------------------------------------ internals

    def _drain(self, now: float) -> Chunk:
        if self._inner is None or self._state in (SourceState.IDLE, SourceState.PREPARED):
            return self._empty(now)
        try:
            return self._inner.poll()
        except self._failures:
            return self._empty(now)

    def _drop(self, now: float, why: str, error: bool = False) -> None:
        """The signal is lost: say so now, schedule the first re-open."""
        fresh = self._state is not SourceState.SILENT
        if fresh:
            self._state = SourceState.SILENT
            self._lost_at = self._last_data_at
            # A source that failed outright is re-opened at once; a silent one gets its time.
            self._next_retry = now if error else now + self.retry_every_s
        elif error:
            # a re-opened source that fails again: no need to wait for its first sample, but
            # the retry period is kept (each attempt may block on discovery and is logged)
            self._next_retry = min(self._next_retry, now + self.retry_every_s)
        if error:
            self.last_error = why
            self._events.append((EVENT_DEVICE_ERROR, why))
            self._release_inner()

    def _retry(self, now: float) -> None:
        """Release the broken source and try to open a fresh one (once per retry period)."""
        if self._opening is not None:
            if not self._opening.done:
                self._check_give_up(now)
                return
            opening, self._opening = self._opening, None
            self._settle(opening.source, opening.error)
            return
        if now < self._next_retry:
            self._check_give_up(now)
            return
        self._release_inner()
        if self.open_in_background:
            self._opening = _Opening(self._open_fresh)
            return
        try:
            source = self._open_fresh()
        except (*self._failures, _LayoutChangedError) as exc:
            self._settle(None, exc)
        else:
            self._settle(source, None)

    def _open_fresh(self) -> Source:
        """Open, prepare and start a new source of the device (released again on failure).

        Raises
        ------
        _LayoutChangedError
            The device that answered has another channel layout.
        """
        source = self._open()
        try:
            source.prepare()
            if source.layout != self._layout:
                raise _LayoutChangedError(source.layout)
            source.start()
        except BaseException:
            with contextlib.suppress(*self._failures):
                source.release()
            raise
        return source

    def _settle(self, source: Source | None, error: BaseException | None) -> None:
        """Take the outcome of a re-open: the new source, or its failure."""
        if isinstance(error, _LayoutChangedError):
            raise DeviceError(
                f"the device that reconnected {_layout_change(self._layout, error.layout)} "
                "than the one this session started with: one recording cannot change its "
                "channels or rates, start a new session"
            ) from None
        if error is not None:
            if not isinstance(error, self._failures):
                raise error  # a bug in the source, not a device failing: not hidden
            self.last_error = str(error)
            self._events.append((EVENT_RECONNECT_FAILED, str(error)))
            self._next_retry = self._clock.now() + self.retry_every_s
            self._check_give_up(self._clock.now())
            return
        self._inner = source
        self._reopened = True
        # the new source gets time to send its first sample before it is given up again
        self._next_retry = self._clock.now() + max(self.retry_every_s, FIRST_SAMPLE_S)

    def _check_give_up(self, now: float) -> None:
        if self.give_up_after_s is None or self._lost_at is None:
            return
        lost = now - self._lost_at
        if lost >= self.give_up_after_s:
            why = f": {self.last_error}" if self.last_error else ""
            raise DeviceError(f"the device did not come back after {lost:.0f} s{why}")

    def _restored(self, now: float) -> None:
        if self._state is SourceState.SILENT and self._lost_at is not None:
            if self._reopened:
                self.reconnects += 1
                self._events.append(
                    (EVENT_RECONNECTED, f"reconnected after {now - self._lost_at:.1f} s")
                )
            self._lost_at = None
        self._state = SourceState.STREAMING
        self._last_data_at = now
        self._reopened = False

    def _abandon_opening(self) -> None:
        if self._opening is not None:
            self._opening.abandon()
            self._opening = None

    def _release_inner(self) -> None:
        if self._inner is not None:
            self._take_inner_events()  # (what it queued before it failed is kept)
            with contextlib.suppress(*self._failures):
                self._inner.release()
            self._inner = None

    def _empty(self, now: float) -> Chunk:
        if self._layout is None:
            return Chunk(received_at=now)
        return self._layout.empty_chunk(now)

    def __getattr__(self, name: str):
        # Extras of the wrapped source (profile, connection, insert_marker...).
        if name.startswith("_"):
            raise AttributeError(name)
        inner = self.__dict__.get("_inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)

    def __repr__(self) -> str:
        return f"ReconnectingSource({self._inner!r}, state={self._state.name})"


def _layout_change(was: SourceLayout, now: SourceLayout) -> str:
    """How a re-opened device differs from the session's, in words ("has 2 rows at 500 Hz
    (Fz, Cz) instead of 2 rows at 250 Hz (Fz, Cz), ..."; "is another device (muse_s, board 39)
    instead of ...")."""
    if (now.device, now.board_id) != (was.device, was.board_id):
        return (
            f"is another device ({now.device}, board {now.board_id}) instead of "
            f"({was.device}, board {was.board_id}), so it has another channel layout"
        )

    def channels(layout: SourceLayout) -> str:
        parts = [
            f"{p.num_rows - 1} rows at {p.fs:g} Hz" if p.fs > 0 else f"{p.num_rows - 1} rows"
            for p in layout.presets
        ]
        names = [n for g in layout.groups for n in g.names]
        return f"{' + '.join(parts)} ({', '.join(names)})"

    return f"has {channels(now)} instead of {channels(was)}, another channel layout"


class _LayoutChangedError(Exception):
    def __init__(self, layout: SourceLayout) -> None:
        super().__init__("layout changed")
        self.layout = layout


class _Opening:
    """One attempt to open a source, run on a daemon thread (:meth:`ReconnectingSource._retry`).

    The thread only builds, prepares and starts the new source; whoever polls looks at
    :attr:`done` and takes :attr:`source` or :attr:`error`. An attempt nobody will take
    (:meth:`abandon`: the session stopped meanwhile) releases its source when it succeeds.
    """

    def __init__(self, attempt: Callable[[], Source]) -> None:
        self._attempt = attempt
        self.source: Source | None = None
        self.error: BaseException | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._abandoned = False
        threading.Thread(target=self._run, name="biotrainer-reconnect", daemon=True).start()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def _run(self) -> None:
        try:
            source = self._attempt()
        except BaseException as exc:  # handed to the polling thread, raised there if a bug
            self.error = exc
            source = None
        with self._lock:
            self.source = source
            self._done.set()
            abandoned = self._abandoned
        if abandoned:
            _release_quietly(source)

    def abandon(self) -> None:
        """Nobody will take the outcome: release the source now or once it is open."""
        with self._lock:
            self._abandoned = True
            source = self.source if self._done.is_set() else None
        _release_quietly(source)


def _release_quietly(source: Source | None) -> None:
    if source is not None:
        with contextlib.suppress(*_failures()):
            source.release()
