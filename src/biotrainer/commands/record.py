"""`biotrainer record`: record a device headless into a new session folder.

Polls the source at ~20 Hz, writes every chunk through the :class:`~biotrainer.session.Recorder`
(flushed at least once a second) and shows a progress line on stderr. Ctrl-C (SIGINT) and SIGTERM
stop the recording cleanly: the last samples are drained, the files closed and the session marked
completed. The session folder is printed on stdout at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from biotrainer.acquisition.counter import SourceLosses
from biotrainer.acquisition.reconnect import REOPENED_KINDS
from biotrainer.acquisition.source import EVENT_SOURCE_NOTE, Source, SourceState
from biotrainer.cli import (
    MAX_DURATION_S,
    MIN_DURATION_S,
    add_data_dir_argument,
    add_device_arguments,
    seconds_option,
    text_option,
)
from biotrainer.clock import Clock, MonotonicClock
from biotrainer.session.recorder import EVENT_SIGNAL_LOST, EVENT_SIGNAL_RESTORED, Recorder

POLL_INTERVAL_S = 0.05


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "record",
        help="record a device headless into a session folder",
        description="Record a device headless into a new session folder. Ctrl-C stops cleanly.",
    )
    add_device_arguments(p)
    p.add_argument(
        "--duration",
        type=seconds_option("--duration", MAX_DURATION_S, MIN_DURATION_S),
        required=True,
        metavar="SECONDS",
        help=f"how long to record ({MIN_DURATION_S:g} to {MAX_DURATION_S:g} s)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        type=text_option("--out"),
        help="record into this (new or empty) folder",
    )
    add_data_dir_argument(p)


class StopFlag:
    """Set by SIGINT, SIGTERM or SIGHUP while recording, so the loop ends between two polls."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def __bool__(self) -> bool:
        return self.signal_name is not None

    def set(self, signum: int, _frame: object = None) -> None:
        self.signal_name = signal.Signals(signum).name


#: The signals that ask a command to end (the terminal closed: SIGHUP, not on Windows).
TERMINATION_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextlib.contextmanager
def signals_handled_by(handler, signals) -> Iterator[None]:
    """Route ``signals`` to ``handler`` while the block runs (main thread only: elsewhere
    nothing changes) and restore the handlers after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in signals}
    try:
        for s in previous:
            signal.signal(s, handler)
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextlib.contextmanager
def stop_on_signals(flag: StopFlag) -> Iterator[StopFlag]:
    """Route SIGINT, SIGTERM and SIGHUP (the terminal closed) to ``flag`` (main thread only)
    and restore the handlers after."""
    with signals_handled_by(flag.set, (signal.SIGINT, *TERMINATION_SIGNALS)):
        yield flag


@contextlib.contextmanager
def interrupted_by_signals() -> Iterator[None]:
    """Make SIGTERM and SIGHUP (the terminal closed) raise :class:`KeyboardInterrupt`, as
    SIGINT does, while an export or report is written (main thread only), and restore the
    handlers after.

    The writers remove their temporary file on any exception, so a terminated export leaves
    nothing behind, as one interrupted with Ctrl+C. (SIGKILL cannot be caught: its temporary
    file is removed by a later export to the same folder,
    :func:`biotrainer.paths.remove_stale_export_temps`.)
    """

    def interrupt(signum: int, _frame: object = None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    with signals_handled_by(interrupt, TERMINATION_SIGNALS):
        yield


class Progress:
    """One progress line on a terminal (rewritten in place), else a line every second.

    Progress is never worth a session: once ``stream`` cannot be written (a closed terminal, a
    pipe whose reader is gone, no stream at all), the lines are dropped and recording goes on.
    """

    def __init__(self, stream: TextIO | None, every_s: float = 1.0) -> None:
        self.stream = stream
        try:
            self.tty = stream is not None and stream.isatty()
        except (OSError, ValueError):
            self.tty = False
        self.every_s = every_s if not self.tty else 0.2
        self._last = -float("inf")
        self._shown = False

    def show(self, now: float, text: str, force: bool = False) -> None:
        if not force and now - self._last < self.every_s:
            return
        self._last = now
        self._shown = self._write("\r" + text.ljust(70) if self.tty else text + "\n")

    def done(self) -> None:
        if self.tty and self._shown:
            self._write("\n")

    def note(self, text: str) -> None:
        """Say ``text`` on a line of its own ("biotrainer: note: ..."), the progress line
        going on under it on a terminal."""
        start = "\r" + " " * 70 + "\r" if self.tty and self._shown else ""
        self._write(f"{start}biotrainer: note: {text}\n")
        self._last = -float("inf")  # (the progress line again at the next poll)

    def _write(self, text: str) -> bool:
        if self.stream is None:
            return False
        self.stream = say(self.stream, text)
        return self.stream is not None


def say(stream: TextIO | None, text: str) -> TextIO | None:
    """Write and flush ``text`` on ``stream``; return the stream, or None once it cannot be
    written (closed, a broken pipe, a full disk): what is only said must never stop a session.
    """
    if stream is None:
        return None
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):
        return None
    return stream


def record(
    source: Source,
    recorder: Recorder,
    duration: float,
    *,
    clock: Clock,
    stop: StopFlag | None = None,
    progress: Progress | None = None,
    sleep=time.sleep,
) -> int:
    """Poll ``source`` into ``recorder`` for ``duration`` seconds of ``clock``.

    The source must be prepared (or already started); it is started here if needed and stopped
    (not released) at the end, after its last samples were drained. The recorder is closed as
    completed. Returns the number of default-preset samples recorded. When anything fails, a
    recording that never received a sample is removed (:meth:`Recorder.discard`), any other is
    kept as interrupted.
    """
    stop = stop if stop is not None else StopFlag()
    layout = source.layout
    losses = SourceLosses(layout.presets, layout.groups)  # (said: see _say_losses)
    try:
        if source.state in (SourceState.IDLE, SourceState.PREPARED):
            source.start()
        t0 = clock.now()
        state = source.state
        while True:
            chunk = source.poll()
            recorder.write(chunk)
            now = clock.now()
            for kind, text in _source_events(source):
                recorder.add_event(kind, text)  # e.g. "reconnected after 4.1 s"
                if kind in REOPENED_KINDS:
                    losses.restart()  # (a device opened again counts from scratch)
                if kind == EVENT_SOURCE_NOTE and progress is not None:
                    progress.note(text)  # (what the source assumed of its stream)
            losses.push(chunk.raw)
            _say_losses(losses.take_notes(), recorder, progress)
            if source.state is not state:
                if source.state is SourceState.SILENT:
                    recorder.add_event(EVENT_SIGNAL_LOST, "no new samples")
                elif state is SourceState.SILENT:
                    recorder.add_event(EVENT_SIGNAL_RESTORED, "")
                state = source.state
            elapsed = now - t0
            if progress is not None:
                progress.show(now, _progress_text(elapsed, duration, recorder, state))
            if stop or elapsed >= duration or state is SourceState.ENDED:
                break
            sleep(max(0.0, POLL_INTERVAL_S - (clock.now() - now)))
        source.stop()
        last = source.poll()
        recorder.write(last)
        losses.push(last.raw)
        _say_losses(losses.closing_notes(), recorder, progress)
        if stop:
            recorder.add_event("stop", f"stopped by {stop.signal_name}")
        recorder.close()
    except BaseException:
        recorder.discard()  # kept (abandoned, read as interrupted) if it holds samples
        raise
    if progress is not None:
        progress.show(
            clock.now(), _progress_text(clock.now() - t0, duration, recorder, state), True
        )
        progress.done()
    return sum(recorder.samples_written.values())


def _say_losses(notes: list[str], recorder: Recorder, progress: Progress | None) -> None:
    """Record and say what the device's packet numbers tell of samples lost on the way
    (:class:`~biotrainer.acquisition.counter.SourceLosses`: a link losing packets, the
    session's total at its end)."""
    for text in notes:
        recorder.add_event(EVENT_SOURCE_NOTE, text)
        if progress is not None:
            progress.note(text)


def _source_events(source: Source) -> list[tuple[str, str]]:
    take = getattr(source, "take_events", None)
    return take() if callable(take) else []


def _progress_text(elapsed: float, duration: float, recorder: Recorder, state: SourceState) -> str:
    n = recorder.samples_received
    samples = " ".join(f"{k}:{v}" for k, v in n.items()) if len(n) > 1 else str(sum(n.values()))
    return (
        f"recording {min(elapsed, duration):6.1f} / {duration:.1f} s  "
        f"samples {samples}  {state.value}"
    )


def run(args: argparse.Namespace) -> int:
    from biotrainer.acquisition.factory import connection_from_args
    from biotrainer.commands.run import check_recording_folder, live_source
    from biotrainer.commands.sources import source_factory

    duration = float(args.duration)  # checked by the parser (seconds_option)
    clock = MonotonicClock()
    connection = connection_from_args(args)
    # A recording needs a folder: say so before any device is opened.
    check_recording_folder(getattr(args, "data_dir", None), args.out)
    # The same source choice as `run` (device, LSL stream); a live device reconnects after a drop.
    source = live_source(args, source_factory(args, clock), clock, 1.0)
    try:
        # Connect first: a device that never answers leaves no empty session folder behind.
        source.prepare()
        source.start()
        recorder = Recorder.create(
            source.layout,
            data_directory=getattr(args, "data_dir", None),
            out=args.out,
            clock=clock,
            connection=connection,
            extra={"recorded_by": "biotrainer record", "requested_duration_s": duration},
        )
        with stop_on_signals(StopFlag()) as stop:
            n = record(
                source, recorder, duration, clock=clock, stop=stop, progress=Progress(sys.stderr)
            )
    finally:
        source.release()
    print(Path(recorder.path).resolve())
    if n == 0:
        say(
            sys.stderr,
            f"biotrainer: nothing was recorded: {source.layout.device} sent no sample in "
            f"{duration:g} s (check that it is on and streaming)\n",
        )
        return 1
    return 0
