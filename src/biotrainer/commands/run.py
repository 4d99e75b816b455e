"""`biotrainer run`: run a training protocol headless (developers, scripts, CI, demos).

The same engine as the GUI: source -> dsp -> protocol -> metric updates, recorded into a session
folder (raw samples, metrics.csv, events.csv) unless ``--no-record``. With ``--speed`` a
simulator device or a recording (``--replay``) runs faster than real time through the same code;
``--speed max`` runs as fast as the CPU allows on a simulated clock. ``--patient CODE`` registers
the session in the local store (and stores an assessed resonance rate); a replay is never a
patient's session (``--patient`` refused: ``sessions import`` registers a recording);
``--lsl STATION`` publishes the raw signals and metrics on Lab Streaming Layer (off by default).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import time
from pathlib import Path

from biotrainer.acquisition.source import Source, SourceState
from biotrainer.cli import (
    add_data_dir_argument,
    add_device_arguments,
    check_brainflow_path,
    text_option,
)
from biotrainer.clock import MonotonicClock, SimulatedClock
from biotrainer.commands.record import say
from biotrainer.commands.sources import parse_speed, source_factory
from biotrainer.errors import BiotrainerError, DeviceError, RecordingError

TICK_S = 0.05
#: A progress line every this many protocol seconds.
PROGRESS_EVERY_S = 10.0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run",
        help="run a training protocol headless and record it",
        description="Run a training protocol without a window. Ctrl-C stops cleanly.",
    )
    p.add_argument(
        "--protocol",
        default="alpha-uptraining",
        type=text_option("--protocol"),
        help="protocol name or .toml file",
    )
    add_device_arguments(p)
    p.add_argument(
        "--replay",
        metavar="SESSION_DIR",
        type=text_option("--replay"),
        help="use a recorded session as the source",
    )
    p.add_argument(
        "--speed",
        default="1",
        help="times real time for simulator devices and --replay, or 'max' (default 1)",
    )
    p.add_argument(
        "--patient",
        metavar="CODE",
        type=text_option("--patient"),
        help="register the session for this patient (not with --replay: a replay is no new "
        "session; 'sessions import' registers a recording)",
    )
    p.add_argument(
        "--lsl",
        metavar="STATION",
        help="publish signals and metrics on Lab Streaming Layer as this station (off by default)",
    )
    p.add_argument("--no-record", action="store_true", help="do not write a session folder")
    p.add_argument(
        "--out",
        metavar="DIR",
        type=text_option("--out"),
        help="record into this (new or empty) folder",
    )
    add_data_dir_argument(p)


def run(args: argparse.Namespace) -> int:
    from biotrainer.engine.engine import Engine, missing_signals
    from biotrainer.engine.protocol import load_protocol
    from biotrainer.session.analysis import MetricRows, format_phases, summarize_series
    from biotrainer.session.recorder import Recorder

    if args.replay and args.patient:
        raise BiotrainerError(replay_with_patient(args.replay, args.patient))
    speed = parse_speed(args.speed, allow_max=True)
    protocol = load_protocol(args.protocol)
    if args.lsl and speed != 1.0:
        raise BiotrainerError("--lsl streams live sessions only: leave out --speed")
    if args.patient and args.no_record:
        raise BiotrainerError("--patient registers the recording: it cannot go with --no-record")
    if args.out is not None and args.no_record:
        raise BiotrainerError("--out names the recording's folder: it cannot go with --no-record")
    if args.lsl is not None and not args.lsl.strip():
        raise BiotrainerError("--lsl is empty: give a station name (for instance room1)")
    clock = SimulatedClock() if math.isinf(speed) else MonotonicClock()
    make_source = source_factory(args, clock, speed)  # options a source would ignore: refused
    if args.replay:
        from biotrainer.session.replay import scan_recording

        # Every line is read before the session starts, as `replay` does: a damaged file is
        # refused with its file and line, a step back of the clock said in the line `export` says.
        for note in scan_recording(args.replay).notes:
            say(sys.stderr, f"biotrainer: note: {note}\n")
    if not args.no_record:
        # A session never runs without its recording: say so before any device is opened.
        check_recording_folder(args.data_dir, args.out)
    store = patient = None
    if args.patient:
        from biotrainer.session.store import Store

        store = Store.open(args.data_dir)
        patient = store.patient(args.patient)  # unknown code: a clear error before any device
    code = patient.code if patient is not None else None
    if args.lsl:
        from biotrainer.net.lsl_outlets import check_names

        # LSL names allow fewer characters than the store: check before any device opens.
        check_names(args.lsl, code)
    source = live_source(args, make_source, clock, speed)
    outlets = recorder = None
    session_id = None
    try:
        source.prepare()
        # (before a folder or a stream is made: a monitor would see a session start and stop)
        problem = missing_signals(protocol, source.layout)
        if problem is not None:
            raise DeviceError(problem)
        if args.lsl:
            from biotrainer.net.lsl_outlets import LslOutlets, LslTee

            outlets = LslOutlets(source.layout, args.lsl, code, protocol=protocol)
            source = LslTee(source, outlets)
        # Connect before anything is made: a device that never answers leaves no session
        # folder and registers no session (the engine does not start a started source again).
        source.start()
        if not args.no_record:
            extra = {"protocol": protocol.name, "recorded_by": "biotrainer run"}
            if patient is not None:
                extra["patient_code"] = patient.code
            if args.replay:
                from biotrainer.session.store import REPLAY_KEY

                extra[REPLAY_KEY] = True  # (never imported as a session of a patient)
            recorder = Recorder.create(
                source.layout, data_directory=args.data_dir, out=args.out, clock=clock, extra=extra
            )
        if store is not None and recorder is not None:
            session_id = _register(store, patient.code, recorder, protocol.name, source)
    except BaseException:
        if recorder is not None:
            recorder.discard()  # (nothing recorded yet: no folder left for a phantom session)
        source.release()
        if outlets is not None:
            outlets.close()
        if store is not None:
            store.close()
        raise
    pacer = patient.resonance_bpm if patient is not None else None
    engine = Engine(source, protocol, clock=clock, recorder=recorder, pacer_bpm=pacer)
    rows = MetricRows()  # (the summary's rows, compactly: not every update of a long session)
    try:
        _run_to_the_end(engine, clock, speed, rows, outlets, protocol)
    except BaseException:
        # A recording that failed (a full disk, a folder made read-only) or a device failure:
        # what was recorded is kept, and the store is told how the session ended.
        if store is not None:
            with contextlib.closing(store):
                problem = _finish(store, session_id, recorder, patient.code, math.nan)
            if problem:
                say(sys.stderr, f"biotrainer: {problem}\n")
        raise
    resonance = engine.resonance.best_bpm if engine.resonance is not None else math.nan
    problem = None
    if store is not None:
        # The store first: output that cannot be written (a closed pipe) must not leave it
        # out of step with the recording.
        with contextlib.closing(store):
            problem = _finish(store, session_id, recorder, patient.code, resonance)
    print(format_phases(summarize_series(rows.series()).phases))
    if math.isfinite(resonance):
        print(f"resonance breathing rate: {resonance:g} breaths/min")
    if session_id is not None:
        print(f"session {session_id} registered for patient {patient.code}")
    if recorder is not None:
        print(Path(recorder.path).resolve())
    if problem:
        raise BiotrainerError(problem)
    return 0


def replay_with_patient(replay: str, code: str) -> str:
    """The refusal of ``--replay`` with ``--patient`` (``run`` and the trainer): a replay plays
    an old recording again, so it is no new session of the patient, and its figures and any
    resonance rate it finds are the old recording's.

    Parameters
    ----------
    replay, code : str
        The ``--replay`` folder and the ``--patient`` code, as given.
    """
    from shlex import quote

    return (
        "--replay plays a recording again, which is not a new session of a patient: it cannot "
        "go with --patient (nothing was registered, no resonance rate stored). To register the "
        f"recording itself: biotrainer sessions import {quote(replay)} --patient {quote(code)}"
    )


def _run_to_the_end(engine, clock, speed: float, rows, outlets, protocol) -> None:
    """Run the session until its protocol or its source ends or a signal stops it, then close
    the engine (and so the recording) and the LSL outlets, also when it fails."""
    from biotrainer.session.folder import ENDED_SOURCE

    try:
        stopped_by = _loop(engine, clock, speed, rows, outlets)
        if stopped_by is None and engine.ending == ENDED_SOURCE:
            # the source ran out (a replay or scenario shorter than the protocol; one as long
            # as the protocol may end a few samples before it is finished)
            note = (
                f"the source ended after {engine.session_s / 60:.1f} of the protocol's "
                f"{protocol.duration_s / 60:.1f} minutes: the protocol did not finish"
            )
            engine.add_note(note)
            say(sys.stderr, f"biotrainer: note: {note}\n")
    finally:
        try:
            engine.close()
        finally:
            if outlets is not None:
                outlets.close()
        for note in engine.take_notes():  # (what the source lost in all, found at the close)
            say(sys.stderr, f"biotrainer: note: {note}\n")


def _register(store, code: str, recorder, protocol: str, source) -> int:
    """Register the session just started in the store; its id.

    Raises
    ------
    StoreError
        The store is busy or cannot be written: said with "the session did not start" (the
        caller discards the empty recording).
    """
    from biotrainer.session.store import StoreError

    try:
        return store.add_session(
            code, recorder.path, protocol, source.layout.device, started_utc=recorder.meta.start_utc
        ).id
    except StoreError as exc:
        raise StoreError(f"{exc} (the session did not start: nothing was recorded)") from exc


def _finish(store, session_id: int | None, recorder, code: str, resonance: float) -> str | None:
    """Register the end of the session (status and summary from its folder) and an assessed
    resonance rate (NaN: none).

    Returns
    -------
    str or None
        None when done; else the one line that says what the store is missing and how to
        repair it (the store busy, read-only or on a full disk).
    """
    from shlex import quote

    from biotrainer.paths import shown
    from biotrainer.session.store import StoreError

    finished = session_id is None
    try:
        if session_id is not None:
            store.finish_session(session_id)
            finished = True
        if math.isfinite(resonance):
            store.set_resonance(code, resonance)
    except StoreError as exc:
        why = str(exc).removesuffix(": try again")
        repair = []
        if not finished:
            folder = shown(Path(recorder.path).resolve())
            repair.append(
                f"session {session_id} is recorded in {folder}; to register how it ended, run "
                f"'biotrainer sessions import {quote(folder)} --patient {quote(code)}'"
            )
        if math.isfinite(resonance):
            repair.append(
                "to keep the resonance rate, run "
                f"'biotrainer patients resonance {quote(code)} {resonance:g}'"
            )
        return f"{why}: " + "; ".join(repair)
    return None


def check_recording_folder(data_directory: str | None, out: str | None) -> None:
    """Refuse early (RecordingError) when the session folder cannot be made or the disk is full.

    Creates the data folder (0700) as recording would; ``--out`` is checked where it would be
    created. A folder name that is not UTF-8 text (the raw files are written by BrainFlow, which
    cannot take it) is refused before anything is created.
    """
    from biotrainer.paths import data_dir, ensure_private_dir, nearest_existing
    from biotrainer.session.folder import check_out_folder, sessions_root
    from biotrainer.session.recorder import check_free_space

    if out is not None:
        check_brainflow_path(Path(out).expanduser(), "--out")
        target = check_out_folder(out)
        existing = nearest_existing(target)
        if not existing.is_dir():
            raise RecordingError(f"cannot record into {target}: {existing} is a file")
        if not os.access(existing, os.W_OK):
            raise RecordingError(f"cannot record into {target}: {existing} is not writable")
        check_free_space(existing)
        return
    check_brainflow_path(
        data_dir(data_directory), "--data-dir" if data_directory else "the data folder"
    )
    ensure_private_dir(data_dir(data_directory))
    check_free_space(ensure_private_dir(sessions_root(data_directory)))


def reconnects(args: argparse.Namespace, speed: float) -> bool:
    """True when the session streams live, from a device or an LSL stream, which is re-opened
    after a drop (not a recording, a simulator scenario or a playback file: those end, not drop).

    An LSL stream is looked for again by its name and type, so a sender that quits and comes
    back is picked up whatever its source id (liblsl's own recovery follows one source id).

    Raises
    ------
    ConfigError, DeviceError
        Unknown or malformed device profile.
    """
    from biotrainer.acquisition.reconnect import is_live_device

    if getattr(args, "replay", None) or speed != 1.0:
        return False
    if getattr(args, "lsl_name", None) or getattr(args, "lsl_type", None):
        return True
    return is_live_device(getattr(args, "device", None) or "synthetic")


def live_source(args: argparse.Namespace, make_source, clock, speed: float):
    """The source to run on: a live device is wrapped so it reconnects after a drop.

    The device is re-opened on a thread of its own: an attempt may wait for the device's
    discovery timeout (15 s for a Muse, 5 s for an LSL stream), and meanwhile the session goes
    on ticking, so Ctrl-C and ``record --duration`` act on time.
    """
    from biotrainer.acquisition.reconnect import ReconnectingSource

    if not reconnects(args, speed):
        return make_source()
    return ReconnectingSource(make_source, clock, open_in_background=True)


def _loop(engine, clock, speed: float, rows, outlets) -> str | None:
    """Tick the engine until the protocol ends, the source ends, or SIGINT/SIGTERM arrives,
    adding the updates to ``rows`` (:class:`~biotrainer.session.analysis.MetricRows`); return
    the signal's name when one stopped it (the recording is then closed normally)."""
    from biotrainer.commands.record import StopFlag, stop_on_signals

    next_print = 0.0  # protocol seconds of the next progress line (every PROGRESS_EVERY_S)
    progress = sys.stderr  # None once it cannot be written: the session goes on
    signal = _SignalWatch(clock)
    with stop_on_signals(StopFlag()) as stop:
        engine.start()
        while not engine.finished and not stop:
            if math.isinf(speed):
                clock.advance(TICK_S)
            else:
                time.sleep(TICK_S)
            new = engine.tick()
            said = signal.line(engine.source)
            if said:
                progress = say(progress, said + "\n")
            for note in engine.take_notes():  # (what the source assumed of its stream)
                progress = say(progress, f"biotrainer: note: {note}\n")
            rows.add(new)
            if outlets is not None:
                for u in new:
                    outlets.push_update(u)
            u = engine.latest
            # (on a grid, to within half an update: protocol seconds come from float32
            # timestamps, 9.99999 for 10, and "10 s since the last line" drifted 10.1, 20.2...)
            if u is not None and u.session_s >= next_print - 0.05:
                next_print = (math.floor((u.session_s + 0.05) / PROGRESS_EVERY_S) + 1) * (
                    PROGRESS_EVERY_S
                )
                progress = say(progress, _line(u) + "\n")
    if stop:
        engine.add_note(f"stopped by {stop.signal_name}")
        say(sys.stderr, f"biotrainer: stopped ({stop.signal_name})\n")
    return stop.signal_name


class _SignalWatch:
    """The lines `run` prints when the signal is lost and when it comes back: the progress lines
    follow protocol time, which stands still while no sample comes.

    A loss is timed from the last samples, as the session's ``events.csv`` times it ("reconnected
    after N s"), when the source says when they came (:attr:`ReconnectingSource.lost_since
    <biotrainer.acquisition.reconnect.ReconnectingSource.lost_since>`, every live device);
    otherwise from the moment the loss was noticed.
    """

    def __init__(self, clock) -> None:
        self._clock = clock
        self._lost_at: float | None = None

    def line(self, source: Source) -> str | None:
        """A line to print for the state of ``source`` now, or None.

        Parameters
        ----------
        source : Source
            The session's source, looked at after each of its polls.
        """
        state, now = source.state, self._clock.now()
        if state is SourceState.SILENT and self._lost_at is None:
            since = getattr(source, "lost_since", None)
            self._lost_at = now if since is None else since
            quiet = "" if since is None else f" for {now - self._lost_at:.1f} s"
            return (
                f"biotrainer: signal lost: no new samples{quiet}; the session goes on as soon "
                "as they come back (Ctrl-C ends it)"
            )
        if state is SourceState.STREAMING and self._lost_at is not None:
            lost_s, self._lost_at = now - self._lost_at, None
            return f"biotrainer: signal back after {lost_s:.1f} s"
        return None


def _line(u) -> str:
    def f(x: float, nd: int = 1) -> str:
        return "-" if not math.isfinite(x) else f"{x:.{nd}f}"

    return (
        f"{u.session_s:7.1f} s  {u.phase_name[:24]:24s} score {f(u.feedback_score, 2):>5s}  "
        f"HR {f(u.hr_bpm):>5s}  RMSSD {f(u.rmssd_ms):>5s}  coherence {f(u.coherence, 2):>5s}  "
        f"breathing {f(u.breathing_bpm):>4s}  {u.quality_reason[:30]}"
    )
