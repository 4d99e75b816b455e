"""The issue's yardstick on this machine: a bare pyqtgraph window that redraws everything.

Issue 8 gives two figures "for scale", measured on its author's machine: a bare pyqtgraph
window that redraws 16 stacked plots of 10 s each with ``setData`` every frame costs about
76 % of a core at 60 fps (benchmark 3), and manages about 13 fps at 64 channels x 1000 Hz
(benchmark 5). This script builds that window -- nothing of biotrainer's, only numpy and
pyqtgraph -- so the same yardstick can be measured on the machine that measures the trainer:

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_reference_window.py \
        [--channels 16] [--rate 250] [--fps 60] [--seconds 20] [--size 1600x960]

Each frame (a QTimer at ``--fps``) takes the samples due since the last frame from a
precomputed table (10 Hz rhythm + noise), rolls them into each channel's 10-s buffer and calls
``setData`` on all the curves. The window is one ``GraphicsLayoutWidget`` of stacked plots with
pyqtgraph's defaults (no downsampling, no clip-to-view: the "bare" window). CPU is process
time / wall time (100 % = one core); frames are paints of the view.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from bench_engine import machine


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--rate", type=float, default=250.0, help="samples per second per channel")
    ap.add_argument("--fps", type=float, default=60.0)
    ap.add_argument("--window-s", type=float, default=10.0, help="seconds shown per plot")
    ap.add_argument("--seconds", type=float, default=20.0, help="measured seconds")
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--size", default="1600x960", help="window size, WxH")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))

    import pyqtgraph as pg
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    n = int(round(args.window_s * args.rate))
    t = np.arange(int(4 * args.rate)) / args.rate
    rng = np.random.default_rng(0)
    phase = rng.uniform(0, 2 * np.pi, (args.channels, 1))
    table = 20.0 * np.sin(2 * np.pi * 10.0 * t + phase) + rng.normal(0, 5, (args.channels, t.size))
    buffers = np.zeros((args.channels, n))
    x = np.arange(n) / args.rate

    view = pg.GraphicsLayoutWidget()
    curves = []
    for i in range(args.channels):
        plot = view.addPlot(row=i, col=0)
        if i < args.channels - 1:
            plot.hideAxis("bottom")
        curves.append(plot.plot(x, buffers[i], pen=pg.mkPen(width=1)))
    view.resize(width, height)
    view.show()

    class PaintCounter(QObject):
        frames = 0

        def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
            if event.type() == QEvent.Type.Paint:
                self.frames += 1
            return False

    counter = PaintCounter()
    view.viewport().installEventFilter(counter)
    start = time.monotonic()
    delivered = 0

    def frame() -> None:
        nonlocal delivered
        due = int((time.monotonic() - start) * args.rate)
        k = np.arange(delivered, due)
        delivered = due
        if k.size:
            new = table[:, k % table.shape[1]]
            m = min(k.size, n)
            buffers[:, :-m] = buffers[:, m:]
            buffers[:, -m:] = new[:, -m:]
        for i, curve in enumerate(curves):
            curve.setData(x, buffers[i])

    timer = QTimer()
    timer.setInterval(max(1, round(1000 / args.fps)))
    timer.timeout.connect(frame)
    timer.start()
    marks: dict[str, tuple[float, float, int]] = {}

    def mark(name: str) -> None:
        marks[name] = (time.perf_counter(), time.process_time(), counter.frames)
        if name == "end":
            app.quit()

    QTimer.singleShot(round(args.warmup * 1000), lambda: mark("start"))
    QTimer.singleShot(round((args.warmup + args.seconds) * 1000), lambda: mark("end"))
    app.exec()
    timer.stop()
    (w0, c0, f0), (w1, c1, f1) = marks["start"], marks["end"]
    wall = w1 - w0
    one, five, _ = os.getloadavg()
    print(machine())
    print(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    print(
        f"bare pyqtgraph window: {args.channels} plots x {args.window_s:g} s at {args.rate:g} Hz "
        f"({n} points each), setData every frame, timer at {args.fps:g} fps, {width}x{height}"
    )
    print(
        f"CPU: {100 * (c1 - c0) / wall:.1f} % of one core; painted {(f1 - f0) / wall:.1f} fps "
        f"over {wall:.1f} s; load average {one:.2f} (1 min), {five:.2f} (5 min)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
