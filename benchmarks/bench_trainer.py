"""CPU, frame rate and latency of the trainer (dashboard + patient view) in real time.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_trainer.py \
        [--device simulator] [--protocol alpha-uptraining] [--seconds 20] [--no-patient-view] \
        [--paint-profile] [--traces sweep|scroll] [--phase training|start]

The simulator profile streams 16 EEG channels + ECG + PPG + respiration + EDA + motion at
250 Hz through BrainFlow's playback board (the live data path) in real time; the engine runs
the protocol and records into a temporary folder. CPU is process time / wall time (100 % = one
core), measured 5 s into the protocol's first training phase (the working state: rewards fade
the orb's halo in and out, so its glow is re-rendered far more often than in a baseline;
``--phase start`` measures from the start instead, in the first baseline). Latency is sample
arrival -> painted frame, as the dashboard shows it (median and 95th percentile of every update
painted during the measurement).
``--paint-profile`` adds the CPU of every paint, window repaint and timer by receiver.

Qt's raster engine splits large fills over a thread pool of its own; on a small shared machine
the hand-over costs more CPU than it saves. ``QT_NO_GUI_THREADPOOL=1`` in the environment turns
that pool off (compare runs with and without it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def training_start_s(protocol: str) -> float:
    """Protocol seconds at which the first training phase of ``protocol`` starts (0 if none)."""
    from biotrainer.engine.protocol import load_protocol

    start = 0.0
    for phase in load_protocol(protocol).phases:
        if phase.kind == "training":
            return start
        start += phase.duration_s
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="simulator")
    parser.add_argument("--scenario", default="stressed-to-relaxed")
    parser.add_argument("--protocol", default="alpha-uptraining")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--warmup",
        type=float,
        default=None,
        help="seconds before measuring (default: 5 s into the first training phase, see --phase)",
    )
    parser.add_argument(
        "--phase",
        choices=("training", "start"),
        default="training",
        help="measure in the protocol's first training phase (default: the working state, with "
        "rewards and the orb's halo) or from the start (its first baseline; the figures before "
        "2026-11-27 06:30 were taken there)",
    )
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=960)
    parser.add_argument("--no-patient-view", action="store_true")
    parser.add_argument(
        "--traces", choices=("sweep", "scroll"), default="sweep", help="as the app's --traces"
    )
    parser.add_argument(
        "--paint-profile",
        action="store_true",
        help="also time every paint, window repaint and timer event by receiver (slows the "
        "app a little: compare CPU figures without it)",
    )
    args = parser.parse_args()
    where = "as asked"
    if args.warmup is None:
        args.warmup = 5.0 + (training_start_s(args.protocol) if args.phase == "training" else 0.0)
        where = "in the first training phase" if args.phase == "training" else "from the start"

    from PySide6.QtCore import QSettings, QTimer

    from biotrainer.acquisition.factory import open_source
    from biotrainer.clock import MonotonicClock
    from biotrainer.engine.protocol import load_protocol
    from biotrainer.ui.app import application
    from biotrainer.ui.trainer_window import TrainerWindow, default_patient_view

    app = application()
    clock = MonotonicClock()
    profiler = EventProfiler() if args.paint_profile else None
    if profiler is not None:
        app.installEventFilter(profiler)
    with tempfile.TemporaryDirectory() as tmp:
        window = TrainerWindow(
            lambda: open_source(args.device, clock=clock, scenario=args.scenario, seed=3),
            load_protocol(args.protocol),
            clock=clock,
            data_dir=tmp,
            fps=args.fps,
            settings=QSettings(str(Path(tmp) / "t.ini"), QSettings.Format.IniFormat),
            patient_view_factory=(lambda c: None) if args.no_patient_view else default_patient_view,
            sweep=args.traces == "sweep",
        )
        window.resize(args.width, args.height)
        window.show()
        if not window.start_session():
            print(f"could not start: {window.error}", file=sys.stderr)
            return 2
        pv = window.patient_view
        if pv is not None:
            pv.resize(1280, 800)
        marks: dict[str, tuple] = {}

        def mark(name: str) -> None:
            if profiler is not None:
                profiler.reset() if name == "start" else profiler.freeze()
            plots = window.dashboard.plots
            marks[name] = (
                time.perf_counter(),
                time.process_time(),
                window.dashboard.frames,
                plots.frames_painted if plots is not None else 0,
                pv.frames_painted if pv is not None else 0,
                window.bridge.ticks,
                window.bridge.update_count,
                len(window.latency.all),
                len(window.patient_latency.all),
                time.thread_time(),
                pv.orb.layer_renders if pv is not None else 0,
                orb_renders(pv),
            )

        def finish() -> None:
            mark("end")
            # chained, not scheduled from the start: Qt times waits >= 2 s only to +-5 %
            QTimer.singleShot(50, window.close)
            QTimer.singleShot(100, app.quit)

        QTimer.singleShot(round(args.warmup * 1000), lambda: mark("start"))
        QTimer.singleShot(round((args.warmup + args.seconds) * 1000), finish)
        app.exec()
        window.close()

    w0, c0, f0, p0, v0, t0, u0, l0, m0, g0, r0, o0 = marks["start"]
    w1, c1, f1, p1, v1, t1, u1, l1, m1, g1, r1, o1 = marks["end"]
    wall = w1 - w0
    import numpy as np

    dash = np.array(list(window.latency.all)[l0:l1]) * 1000
    pat = np.array(list(window.patient_latency.all)[m0:m1]) * 1000
    layout = window.engine.source.layout
    eeg = layout.group("eeg")
    print(
        f"device {args.device}: {len(eeg.names) if eeg else 0} EEG channels, "
        f"{layout.preset('default').fs:g} Hz, roles {', '.join(layout.roles)}; "
        f"protocol {args.protocol}; window {args.width}x{args.height}; traces {args.traces}"
        f"{'' if pv is not None else '; no patient view'}"
    )
    print(f"measured over {wall:.1f} s wall time after {args.warmup:g} s warm-up ({where})")
    one, five, _ = os.getloadavg()
    print(
        f"CPU: {100 * (c1 - c0) / wall:.1f} % of one core (process time / wall time); "
        f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"
    )
    print(f"  of which the GUI thread: {100 * (g1 - g0) / wall:.1f} %")
    from bench_wakeup import machine_state

    print(f"  {machine_state()}")
    print(
        f"dashboard: frame timer {(f1 - f0) / wall:.1f}/s (target {args.fps:g}), "
        f"signal view painted {(p1 - p0) / wall:.1f} fps"
    )
    if pv is not None:
        print(
            f"patient view painted {(v1 - v0) / wall:.1f} fps, "
            f"orb layer re-rendered {(r1 - r0) / wall:.1f}/s ("
            + ", ".join(f"{k} {(o1[k] - o0[k]) / wall:.1f}/s" for k in o1)
            + ")"
        )
    print(f"engine: {(t1 - t0) / wall:.1f} ticks/s, {(u1 - u0) / wall:.1f} updates/s")
    for name, lat in (("dashboard", dash), ("patient view", pat)):
        if lat.size:
            print(
                f"latency ({name}): median {np.median(lat):.0f} ms, "
                f"p95 {np.percentile(lat, 95):.0f} ms over {lat.size} updates"
            )
    if profiler is not None:
        profiler.report(wall)
    return 0


def orb_renders(pv) -> dict[str, int]:
    """The patient view's orb renders so far by kind (halo, backdrop, body)."""
    orb = getattr(pv, "orb", None)
    kinds = ("halo", "backdrop", "body")
    return {k: getattr(orb, f"{k}_renders", 0) for k in kinds} if orb is not None else {}


def EventProfiler():  # noqa: N802 - builds a QObject subclass after Qt is imported
    """An application event filter that times paint, window-repaint and timer events by
    receiver (self time: nested events are subtracted), as process time: Qt's raster engine
    splits large fills over its thread pool, and that work belongs to the paint that asked for
    it (the other threads, BrainFlow's, add about 1 % of noise)."""
    from PySide6.QtCore import QEvent, QObject

    kinds = {
        QEvent.Type.Paint: "paint",
        QEvent.Type.UpdateRequest: "window repaint",
        QEvent.Type.Timer: "timer",
    }

    class Profiler(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.reset()
            self._stack: list[float] = []

        def reset(self) -> None:
            self.cost: dict[str, list[float]] = {}
            self._frozen: dict[str, list[float]] | None = None

        def freeze(self) -> None:
            self._frozen = {k: list(v) for k, v in self.cost.items()}

        def eventFilter(self, obj, e) -> bool:  # noqa: N802 - Qt override
            kind = kinds.get(e.type())
            if kind is None:
                return False
            name = type(obj).__name__
            if kind == "timer":
                parent = obj.parent()
                name = f"{name} of {type(parent).__name__ if parent else '-'}"
            elif obj.objectName():
                name += f"#{obj.objectName()}"
            target = obj.event
            if obj.objectName() == "qt_scrollarea_viewport":
                area = obj.parent()
                if not hasattr(area, "viewportEvent"):
                    return False
                target = area.viewportEvent  # what the scroll area's own filter does
                name = f"{type(area).__name__} viewport"
            self._stack.append(0.0)
            t0 = time.process_time()
            target(e)
            dt = time.process_time() - t0
            nested = self._stack.pop()
            if self._stack:
                self._stack[-1] += dt
            entry = self.cost.setdefault(f"{kind}: {name}", [0.0, 0])
            entry[0] += dt - nested
            entry[1] += 1
            return True

        def report(self, wall: float) -> None:
            print("self time by receiver (% of one core, events per second):")
            rows = sorted((self._frozen or self.cost).items(), key=lambda kv: -kv[1][0])
            for key, (cpu, n) in rows[:25]:
                print(f"  {100 * cpu / wall:5.1f} %  {n / wall:6.1f}/s  {key}")

    return Profiler()


if __name__ == "__main__":
    sys.exit(main())
