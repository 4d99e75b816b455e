"""Frames per second and CPU load of the main window on BrainFlow's synthetic board.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui_fps.py \
        [--channels 16] [--seconds 10] [--fps 30] [--poll-hz 30]

The synthetic profile is copied with ``--channels`` EEG rows (16 = every EEG row BrainFlow's
synthetic board has, at 250 Hz) plus its PPG, EDA, accelerometer, gyroscope and temperature.
CPU is the process time of the whole process (Python, Qt and BrainFlow's native thread)
divided by wall time, so 100 % = one core. Frames are paint events of the plot view.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--poll-hz", type=float, default=30.0)
    args = parser.parse_args()

    from PySide6.QtCore import QTimer

    from biotrainer.acquisition.factory import open_source
    from biotrainer.ui.app import application
    from biotrainer.ui.main_window import MainWindow

    app = application()
    with tempfile.TemporaryDirectory() as tmp:
        source = open_source(synthetic_profile(args.channels, Path(tmp)))
        window = MainWindow(source, poll_hz=args.poll_hz, fps=args.fps)
        window.resize(1400, 860)
        window.show()
        if not window.start():
            print(f"could not start: {window.error}", file=sys.stderr)
            return 2
        marks: dict[str, tuple] = {}

        def mark(name: str) -> None:
            marks[name] = (
                time.perf_counter(),
                time.process_time(),
                window.plots.frames_painted,
                window.frames,
                window.bridge.polls,
                window.bridge.stats.total_samples,
            )

        QTimer.singleShot(round(args.warmup * 1000), lambda: mark("start"))
        QTimer.singleShot(round((args.warmup + args.seconds) * 1000), lambda: mark("end"))
        QTimer.singleShot(round((args.warmup + args.seconds) * 1000) + 50, window.close)
        app.exec()

    (w0, c0, p0, f0, q0, s0), (w1, c1, p1, f1, q1, s1) = marks["start"], marks["end"]
    wall = w1 - w0
    eeg = next(p for r, p in window.plots.panels.items() if r == "eeg")
    print(
        f"EEG channels: {eeg.trace.n_channels} at {eeg.trace.fs:g} Hz; "
        f"panels: {', '.join(window.plots.panels)}; window 1400x860; target {args.fps:g} fps"
    )
    print(f"measured over {wall:.1f} s wall time")
    print(
        f"frames painted: {(p1 - p0) / wall:.1f} fps (frame timer ticks {(f1 - f0) / wall:.1f}/s)"
    )
    print(
        f"polls: {(q1 - q0) / wall:.1f}/s, samples received: {(s1 - s0) / wall:.0f}/s (all roles)"
    )
    print(
        f"CPU: {100 * (c1 - c0) / wall:.0f} % of one core (process time / wall time), "
        f"{1000 * (c1 - c0) / max(1, p1 - p0):.1f} ms of CPU per painted frame"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
