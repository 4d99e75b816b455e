"""Memory of the trainer window over a long session (issue 8, the soak, with the GUI).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_trainer_soak.py [--minutes 60]

The full simulator (16 EEG + ECG + PPG + respiration at 250 Hz, the stressed-to-relaxed arc
repeated, as ``bench_engine.py soak`` renders it) is replayed into the real trainer window --
dashboard, trends, signal panels, patient view -- on a simulated clock, as fast as the window
takes it (``--step`` seconds of data per engine tick, 200 ticks a second), with a protocol as
long as the session (a 2-minute eyes-open baseline, then training; combined EEG + heart
feedback), recorded into a temporary folder. Resident memory (VmRSS) is sampled every
simulated minute; exceptions reaching ``sys.excepthook`` and Qt warnings are counted. At the
end the session is stopped as the therapist's Stop does, and the end-of-session summary is
compared with the recording's ``metrics.csv`` (``summarize_folder``).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_engine

PROTOCOL = """
name = "soak-{minutes}min"
title = "Soak"
description = "A baseline, then training for the rest of the session."
feedback = "combined"
target_reward_rate = 0.65

[[phases]]
name = "Baseline"
kind = "baseline"
duration_s = 120
eyes = "open"
instruction = "Rest your eyes on the screen."

[[phases]]
name = "Training"
kind = "training"
duration_s = {training_s}
eyes = "open"
instruction = "Let the light grow."
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--step", type=float, default=0.5, help="data seconds per engine tick")
    parser.add_argument(
        "--trace",
        type=float,
        default=None,
        metavar="MINUTE",
        help="also print where Python's memory grew from this session minute to the end "
        "(tracemalloc; slow)",
    )
    args = parser.parse_args(argv)

    from PySide6.QtCore import QSettings, QTimer, qInstallMessageHandler

    from biotrainer.acquisition.file_source import FileSource
    from biotrainer.clock import SimulatedClock
    from biotrainer.engine.protocol import load_protocol
    from biotrainer.session.analysis import format_phases, summarize_folder
    from biotrainer.ui.app import application
    from biotrainer.ui.trainer_window import TrainerWindow

    folder = bench_engine.rendered_session(args.minutes, full=True)
    import pandas  # noqa: F401  (the replay's file reader; a live board never imports it)

    errors: list[str] = []
    warnings: list[str] = []
    previous_hook = sys.excepthook

    def hook(kind, value, tb) -> None:
        errors.append(f"{kind.__name__}: {value}")
        previous_hook(kind, value, tb)

    sys.excepthook = hook
    qInstallMessageHandler(lambda mode, context, message: warnings.append(message))

    app = application()
    clock = SimulatedClock()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"soak-{args.minutes}min.toml"
        training_s = args.minutes * 60 - 120 + 60  # (ends after the data: stopped by hand)
        path.write_text(PROTOCOL.format(minutes=args.minutes, training_s=training_s))
        window = TrainerWindow(
            lambda: FileSource(folder, clock, speed=1.0),
            load_protocol(path),
            clock=clock,
            data_dir=Path(tmp) / "data",
            settings=QSettings(str(Path(tmp) / "trainer.ini"), QSettings.Format.IniFormat),
            fps=60,
            tick_hz=200,
            before_tick=lambda: clock.advance(args.step),
            ask_ratings=False,
        )
        window.resize(1600, 960)
        window.show()
        if window.patient_view is not None:
            window.patient_view.resize(1280, 800)
            window.patient_view.show()
        rss0 = bench_engine.rss_mb()
        samples: list[tuple[float, float]] = []  # (session minutes, RSS MB)
        wall = time.perf_counter()
        cpu = time.process_time()
        if not window.start_session():
            print(f"the session did not start: {window.error}", file=sys.stderr)
            return 2
        end_s = args.minutes * 60 - 30  # (a little before the recording ends)

        def sample() -> None:
            engine = window.engine
            if engine is None or window.outcome is not None:
                app.quit()
                return
            minute = engine.session_s / 60.0
            if not samples or minute >= samples[-1][0] + 1.0:
                samples.append((minute, bench_engine.rss_mb()))
                if args.trace is not None and minute >= args.trace and not traced:
                    traced.append(tracemalloc.take_snapshot())
            if engine.session_s >= end_s:
                app.quit()

        traced: list = []
        if args.trace is not None:
            tracemalloc.start(8)
        timer = QTimer()
        timer.timeout.connect(sample)
        timer.start(50)
        app.exec()
        timer.stop()
        session_s = window.engine.session_s if window.engine is not None else math.nan
        if traced:
            growth = tracemalloc.take_snapshot().compare_to(traced[0], "traceback")
            print(
                f"Python memory grown from minute {args.trace:g} to the end (tracemalloc, top 8):"
            )
            for stat in growth[:8]:
                print(f"  {stat.size_diff / 1e6:+.2f} MB in {stat.count_diff:+d} blocks")
                for line in stat.traceback.format()[-6:]:
                    print(f"      {line}")
        held = len(window.updates)
        window.stop_session(ask=False)
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        rss1 = bench_engine.rss_mb()
        outcome = window.outcome
        recorded = summarize_folder(window.session_folder)
        same = outcome is not None and format_phases(outcome.phases) == format_phases(
            recorded.phases
        )
        window.close()

    warm = next((mb for minute, mb in samples if minute >= 5.0), samples[-1][1])
    peak = max(mb for _, mb in samples)
    print(f"{args.minutes}-min full simulator into the trainer window (dashboard, patient view)")
    print(f"  {session_s / 60:.1f} min of session in {wall:.0f} s wall, {cpu:.0f} s CPU "
          f"({args.step:g} s of data per tick)")  # fmt: skip
    print(f"  exceptions: {len(errors)} {errors[:3] if errors else ''}")
    print(f"  Qt warnings: {len(warnings)} {sorted(set(warnings))[:3] if warnings else ''}")
    print(f"  RSS: start {rss0:.1f} MB, at 5 min {warm:.1f} MB, max {peak:.1f} MB, "
          f"after stop {rss1:.1f} MB -> growth after 5 min {peak - warm:+.1f} MB")  # fmt: skip
    every = max(1, len(samples) // 12)
    print("  RSS by session minute: " + ", ".join(
        f"{m:.0f}: {mb:.0f}" for m, mb in samples[::every]))  # fmt: skip
    print(f"  updates held by the window at the end: {held}")
    print(f"  end-of-session summary equals the recording's metrics.csv: {same}")
    return 0 if not errors and same else 1


if __name__ == "__main__":
    sys.exit(main())
