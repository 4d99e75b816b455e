"""Frames per second, CPU load and lost samples of the main window (issue 8, benchmarks 3 and 5).

Benchmark 3, the full window on BrainFlow's synthetic board (16 EEG at 250 Hz + PPG, EDA,
accelerometer, gyroscope, temperature) at 60 fps::

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui_fps.py --fps 60

Benchmark 5, scale: the window on an in-process source that delivers N EEG channels at R Hz
in real time (BrainFlow's synthetic board is fixed at 250 Hz), for several N x R::

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui_fps.py --scale \
        [--combos 16x250,32x500,64x1000,128x1000]

``--traces scroll`` measures the scrolling display instead of the sweep (the default).

CPU is the process time of the whole process (Python, Qt and BrainFlow's native thread)
divided by wall time, so 100 % = one core; the load average is printed so other work on the
machine can be judged. Frames are frames in which at least one signal panel was painted.
Lost samples = samples the source delivered minus samples the display buffers received; the
delivered count is also compared with the nominal rate x elapsed source time.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout, SourceState
from biotrainer.clock import MonotonicClock

REPO = Path(__file__).resolve().parents[1]


def synthetic_profile(channels: int, folder: Path) -> Path:
    text = (REPO / "devices" / "synthetic.toml").read_text(encoding="utf-8")
    rows = ", ".join(str(r) for r in range(1, channels + 1))
    text, n = re.subn(
        r"(role = \"eeg\"\npreset = \"default\"\nrows = )\[[^\]]*\]", rf"\1[{rows}]", text
    )
    if n != 1:
        raise SystemExit("could not find the EEG rows in devices/synthetic.toml")
    text = re.sub(r'^name = "synthetic"', f'name = "synthetic{channels}"', text, flags=re.M)
    path = folder / f"synthetic{channels}.toml"
    path.write_text(text, encoding="utf-8")
    return path


class ScaleSource:
    """N EEG channels at R Hz, due samples computed from the monotonic clock on each poll.

    The samples (10 Hz rhythm + noise) are cut from a precomputed 4-second table, so the
    source itself costs about as little as a native driver copying samples out.
    """

    def __init__(self, channels: int, fs: float) -> None:
        self.clock = MonotonicClock()
        self.fs = float(fs)
        self.channels = channels
        ts_row = channels + 1
        self._layout = SourceLayout(
            device=f"scale{channels}x{fs:g}",
            board_id=-1,
            presets=(PresetLayout("default", fs, num_rows=channels + 2, timestamp_row=ts_row),),
            groups=(
                ChannelGroup(
                    "eeg",
                    "default",
                    tuple(range(1, channels + 1)),
                    tuple(f"E{i + 1}" for i in range(channels)),
                    "uV",
                ),
            ),
        )
        n = int(4 * fs)
        t = np.arange(n) / fs
        rng = np.random.default_rng(0)
        phase = rng.uniform(0, 2 * np.pi, (channels, 1))
        self._table = 20.0 * np.sin(2 * np.pi * 10.0 * t + phase) + rng.normal(0, 5, (channels, n))
        self._state = SourceState.IDLE
        self.delivered = 0
        self._t0 = 0.0

    @property
    def state(self):
        return self._state

    @property
    def layout(self):
        return self._layout

    def prepare(self) -> None:
        self._state = SourceState.PREPARED

    def start(self) -> None:
        self._t0 = self.clock.now()
        self._state = SourceState.STREAMING

    def elapsed(self) -> float:
        return self.clock.now() - self._t0

    def poll(self):
        now = self.clock.now()
        due = int((now - self._t0) * self.fs)
        k = np.arange(self.delivered, due)
        data = np.zeros((self.channels + 2, k.size))
        if k.size:
            data[1 : self.channels + 1] = self._table[:, k % self._table.shape[1]]
            data[self.channels + 1] = self._t0 + k / self.fs
        self.delivered = due
        raw = {"default": data}
        return Chunk(raw=raw, signals=self._layout.split(raw), received_at=now)

    def stop(self) -> None:
        self._state = SourceState.STOPPED

    def release(self) -> None:
        self._state = SourceState.RELEASED


def run_window(
    app, source, fps: float, poll_hz: float | None, warmup: float, seconds: float, sweep: bool
):
    """Run a MainWindow on ``source``; return the measurements between warm-up and end."""
    from PySide6.QtCore import QTimer

    from biotrainer.ui.main_window import MainWindow

    window = MainWindow(source, poll_hz=poll_hz, fps=fps, sweep=sweep)
    window.resize(1400, 860)
    window.show()
    if not window.start():
        raise SystemExit(f"could not start: {window.error}")
    marks: dict[str, tuple] = {}

    def mark(name: str) -> None:
        marks[name] = (
            time.perf_counter(),
            time.process_time(),
            window.plots.frames_painted,
            window.frames,
            window.bridge.polls,
            window.bridge.stats.total_samples,
            time.thread_time(),
        )

    def finish() -> None:
        mark("end")
        QTimer.singleShot(50, window.close)  # chained: Qt times waits >= 2 s only to +-5 %

    QTimer.singleShot(round(warmup * 1000), lambda: mark("start"))
    QTimer.singleShot(round((warmup + seconds) * 1000), finish)
    app.exec()
    (w0, c0, p0, f0, q0, s0, g0), (w1, c1, p1, f1, q1, s1, g1) = marks["start"], marks["end"]
    wall = w1 - w0
    return window, {
        "wall_s": wall,
        "fps": (p1 - p0) / wall,
        "ticks": (f1 - f0) / wall,
        "polls": (q1 - q0) / wall,
        "samples_per_s": (s1 - s0) / wall,
        "cpu_pct": 100 * (c1 - c0) / wall,
        "gui_thread_pct": 100 * (g1 - g0) / wall,
        "cpu_ms_per_frame": 1000 * (c1 - c0) / max(1, p1 - p0),
    }


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def bench_synthetic(args, app) -> int:
    from biotrainer.acquisition.factory import open_source

    with tempfile.TemporaryDirectory() as tmp:
        source = open_source(synthetic_profile(args.channels, Path(tmp)))
        print(f"before: {load()}")
        window, m = run_window(
            app, source, args.fps, args.poll_hz, args.warmup, args.seconds, args.traces == "sweep"
        )
    eeg = window.plots.panels["eeg"]
    print(
        f"EEG channels: {eeg.trace.n_channels} at {eeg.trace.fs:g} Hz; "
        f"panels: {', '.join(window.plots.panels)}; window 1400x860; target {args.fps:g} fps; "
        f"traces {args.traces}"
    )
    print(f"measured over {m['wall_s']:.1f} s wall time; after: {load()}")
    print(f"frames painted: {m['fps']:.1f} fps (frame timer ticks {m['ticks']:.1f}/s)")
    print(f"polls: {m['polls']:.1f}/s, samples received: {m['samples_per_s']:.0f}/s (all roles)")
    print(
        f"CPU: {m['cpu_pct']:.1f} % of one core (process time / wall time), "
        f"{m['cpu_ms_per_frame']:.2f} ms of CPU per painted frame"
    )
    print(
        f"  of which the GUI thread: {m['gui_thread_pct']:.1f} % (the rest is BrainFlow's "
        "board thread generating the synthetic signals)"
    )
    return 0


def bench_scale(args, app) -> int:
    combos = [tuple(int(v) for v in c.split("x")) for c in args.combos.split(",")]
    print(f"window 1400x860, target {args.fps:g} fps, {args.seconds:g} s each; {load()}")
    print(
        f"{'channels x Hz':>14} {'fps':>6} {'CPU %':>6} {'delivered':>10} {'expected':>10} "
        f"{'displayed':>10} {'lost':>5}"
    )
    for channels, fs in combos:
        source = ScaleSource(channels, fs)
        window, m = run_window(
            app, source, args.fps, args.poll_hz, args.warmup, args.seconds, args.traces == "sweep"
        )
        trace = window.plots.panels["eeg"].trace
        expected = round(source.elapsed() * fs)
        lost = source.delivered - trace.samples_received
        print(
            f"{f'{channels} x {fs}':>14} {m['fps']:6.1f} {m['cpu_pct']:6.1f} "
            f"{source.delivered:10d} {expected:10d} {trace.samples_received:10d} {lost:5d}"
        )
    print(f"after: {load()}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--fps", type=float, default=60.0)
    parser.add_argument("--poll-hz", type=float, default=None, help="default: the frame rate")
    parser.add_argument("--scale", action="store_true", help="benchmark 5: channels x rates")
    parser.add_argument("--combos", default="16x250,32x500,64x1000,128x1000")
    parser.add_argument(
        "--traces", choices=("sweep", "scroll"), default="sweep", help="as the app's --traces"
    )
    args = parser.parse_args()

    from biotrainer.ui.app import application

    app = application()
    return bench_scale(args, app) if args.scale else bench_synthetic(args, app)


if __name__ == "__main__":
    sys.exit(main())
