"""`biotrainer run`: run a training protocol headless (developers, scripts, CI, demos).

The same engine as the GUI: source -> dsp -> protocol -> metric updates, recorded into a session
folder (raw samples, metrics.csv, events.csv) unless ``--no-record``. With ``--speed`` a
simulator device or a recording (``--replay``) runs faster than real time through the same code;
``--speed max`` runs as fast as the CPU allows on a simulated clock.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from biotrainer.cli import add_data_dir_argument, add_device_arguments
from biotrainer.clock import MonotonicClock, SimulatedClock
from biotrainer.errors import BiotrainerError

TICK_S = 0.05


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run",
        help="run a training protocol headless and record it",
        description="Run a training protocol without a window. Ctrl-C stops cleanly.",
    )
    p.add_argument("--protocol", default="alpha-uptraining", help="protocol name or .toml file")
    add_device_arguments(p)
    p.add_argument("--replay", metavar="SESSION_DIR", help="use a recorded session as the source")
    p.add_argument(
        "--speed",
        default="1",
        help="times real time for simulator devices and --replay, or 'max' (default 1)",
    )
    p.add_argument("--no-record", action="store_true", help="do not write a session folder")
    p.add_argument("--out", metavar="DIR", help="record into this (new or empty) folder")
    add_data_dir_argument(p)


def _speed(text: str) -> float:
    if text == "max":
        return math.inf
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not (v > 0 and math.isfinite(v)):
        raise BiotrainerError(f"--speed must be a positive number or 'max', not {text!r}")
    return v


def _open(args: argparse.Namespace, speed: float, clock):
    from biotrainer.acquisition.factory import (
        connection_from_args,
        open_accelerated,
        open_source,
        source_options_from_args,
    )
    from biotrainer.acquisition.file_source import FileSource
    from biotrainer.session.replay import open_replay

    source_speed = 1.0 if math.isinf(speed) else speed
    if args.replay:
        if speed == 1.0:
            return open_replay(args.replay, clock=clock)
        return FileSource(args.replay, clock, speed=source_speed)
    options = source_options_from_args(args)
    if speed == 1.0:
        return open_source(args.device, connection_from_args(args), clock, **options)
    return open_accelerated(args.device, clock, source_speed, **options)


def run(args: argparse.Namespace) -> int:
    from biotrainer.engine.engine import Engine
    from biotrainer.engine.protocol import load_protocol
    from biotrainer.engine.summary import format_summary, summarize
    from biotrainer.session.recorder import Recorder

    speed = _speed(args.speed)
    protocol = load_protocol(args.protocol)
    clock = SimulatedClock() if math.isinf(speed) else MonotonicClock()
    source = _open(args, speed, clock)
    source.prepare()
    recorder = None
    if not args.no_record:
        try:
            recorder = Recorder.create(
                source.layout,
                data_directory=args.data_dir,
                out=args.out,
                clock=clock,
                extra={"protocol": protocol.name, "recorded_by": "biotrainer run"},
            )
        except BaseException:
            source.release()
            raise
    engine = Engine(source, protocol, clock=clock, recorder=recorder)
    updates = []
    last_print = -math.inf
    try:
        engine.start()
        while not engine.finished:
            if math.isinf(speed):
                clock.advance(TICK_S)
            else:
                time.sleep(TICK_S)
            updates.extend(engine.tick())
            u = engine.latest
            if u is not None and u.session_s - last_print >= 10:
                last_print = u.session_s
                print(_line(u), file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        engine.add_note("stopped with Ctrl-C")
        print("biotrainer: stopped", file=sys.stderr)
    finally:
        engine.close()
    print(format_summary(summarize(updates)))
    if engine.resonance is not None and math.isfinite(engine.resonance.best_bpm):
        print(f"resonance breathing rate: {engine.resonance.best_bpm:g} breaths/min")
    if recorder is not None:
        print(Path(recorder.path).resolve())
    return 0


def _line(u) -> str:
    def f(x: float, nd: int = 1) -> str:
        return "-" if not math.isfinite(x) else f"{x:.{nd}f}"

    return (
        f"{u.session_s:7.1f} s  {u.phase_name[:24]:24s} score {f(u.feedback_score, 2):>5s}  "
        f"HR {f(u.hr_bpm):>5s}  RMSSD {f(u.rmssd_ms):>5s}  coherence {f(u.coherence, 2):>5s}  "
        f"breathing {f(u.breathing_bpm):>4s}  {u.quality_reason[:30]}"
    )
