"""CPU of one live engine tick, headless, by part (issue 8, benchmark 3's engine share).

    .venv/bin/python benchmarks/bench_tick.py [--device simulator] [--tick-hz 60] [--seconds 20]

The engine runs the alpha-uptraining protocol on the device profile's source (the simulator's
16 EEG channels + ECG, PPG, respiration, EDA and motion at 250 Hz through BrainFlow's playback
board, in real time) with a recorder, ticking at ``--tick-hz`` (60, as the trainer does). Each
tick's CPU is the calling thread's CPU time (``time.thread_time``), so BrainFlow's own thread is
not counted. The parts are measured by wrapping the engine's methods with the same meter; a part
called inside another is also counted in its caller.
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import sys
import tempfile
import time

PARTS = (
    ("biotrainer.engine.engine", "Engine", "tick"),
    ("biotrainer.acquisition.brainflow_source", "BrainFlowSource", "poll"),
    ("biotrainer.acquisition.source", "SourceLayout", "split"),
    ("biotrainer.session.recorder", "Recorder", "write"),
    ("biotrainer.engine.processors", "EegProcessor", "receive"),
    ("biotrainer.engine.engine", "Engine", "_consume"),
    ("biotrainer.engine.engine", "Engine", "_make_update"),
    ("biotrainer.engine.engine", "Engine", "_preview"),
)


def meter_parts(cost: dict[str, list[float]]) -> None:
    """Wrap every method in PARTS so that its thread CPU time and calls add up in ``cost``."""
    import importlib

    for module, cls_name, name in PARTS:
        cls = getattr(importlib.import_module(module), cls_name)
        method = getattr(cls, name)
        label = f"{cls_name}.{name}"

        def wrapped(*args, _method=method, _label=label, **kwargs):
            t0 = time.thread_time()
            try:
                return _method(*args, **kwargs)
            finally:
                entry = cost[_label]
                entry[0] += time.thread_time() - t0
                entry[1] += 1

        setattr(cls, name, functools.wraps(method)(wrapped))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="simulator")
    parser.add_argument("--scenario", default="stressed-to-relaxed")
    parser.add_argument("--protocol", default="alpha-uptraining")
    parser.add_argument("--tick-hz", type=float, default=60.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    args = parser.parse_args()

    cost: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0])
    meter_parts(cost)
    from biotrainer.acquisition.factory import open_source
    from biotrainer.clock import MonotonicClock
    from biotrainer.engine.engine import Engine
    from biotrainer.engine.protocol import load_protocol
    from biotrainer.session.recorder import Recorder

    clock = MonotonicClock()
    source = open_source(args.device, clock=clock, scenario=args.scenario, seed=3)
    period = 1.0 / args.tick_hz
    with tempfile.TemporaryDirectory() as tmp:
        recorder = Recorder.create(source.layout, data_directory=tmp, clock=clock)
        engine = Engine(source, load_protocol(args.protocol), clock=clock, recorder=recorder)
        engine.start()
        start = time.monotonic()
        measure_from = start + args.warmup
        end = measure_from + args.seconds
        due = start
        total, ticks = 0.0, 0
        try:
            while (now := time.monotonic()) < end:
                due += period
                time.sleep(max(0.0, due - now))
                t0 = time.thread_time()
                engine.tick()
                spent = time.thread_time() - t0
                if time.monotonic() < measure_from:
                    cost.clear()
                else:
                    total += spent
                    ticks += 1
        finally:
            engine.close()
    one, five, _ = os.getloadavg()
    print(
        f"{args.device}, {args.protocol}, {args.tick_hz:g} ticks/s, {args.seconds:g} s after "
        f"{args.warmup:g} s warm-up; load average {one:.2f} (1 min), {five:.2f} (5 min)"
    )
    print(
        f"engine tick: {1e6 * total / max(ticks, 1):.0f} µs of CPU per tick = "
        f"{100 * total / args.seconds:.2f} % of one core ({ticks} ticks)"
    )
    from bench_wakeup import machine_state

    print(machine_state())
    for label, (cpu, calls) in sorted(cost.items(), key=lambda kv: -kv[1][0]):
        print(
            f"  {100 * cpu / args.seconds:5.2f} %  {calls / args.seconds:6.1f}/s  "
            f"{1e6 * cpu / max(calls, 1):6.0f} µs/call  {label}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
