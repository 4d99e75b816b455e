"""End-to-end feedback latency of the trainer (issue 8, benchmarks 1 and 2).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_latency.py \
        [--training 120] [--block 4] [--seed 0] [--tick-hz 25] [--fps 30] [--interval 0.1]

**Benchmark 1, step response.** The simulator's 16-channel recording is rendered with its EEG
replaced by 1/f background (10 µV RMS, independent per channel) plus a 10 Hz alpha rhythm whose
amplitude steps between 5 and 20 µV every ``--block`` seconds, and played through BrainFlow's
playback board in real time, which stamps every sample with the time it enters BrainFlow's
buffer. The full trainer runs on it (engine, dashboard, patient view; offscreen) with a protocol
of a stepped baseline followed by training. For every step, the latency is the time from the
step's first sample entering BrainFlow to the first painted frame whose score has moved halfway
from its level before the step (median over the last second) to its level after it (median
over 2-3.5 s after the step). Measured for the dashboard's feedback bar (the score as computed)
and for the patient view's orb (the score as the patient sees it, after its motion smoothing).

**Benchmark 2, app overhead.** Per update, the time from the poll that brought its samples into
the app to the first painted frame showing it (the dashboard's live "latency" figure), p50 and
p99.

Times are wall-clock (``time.time()``, BrainFlow's clock for its timestamps).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FS = 250.0


def pink(n: int, rng: np.random.Generator, rms: float) -> np.ndarray:
    f = np.fft.rfftfreq(n, 1 / FS)
    amp = np.zeros_like(f)
    amp[1:] = 1 / np.sqrt(f[1:])
    x = np.fft.irfft(amp * np.exp(2j * np.pi * rng.random(f.size)), n)
    return x / x.std() * rms


def protocol_file(folder: Path, baseline_s: float, training_s: float) -> Path:
    path = folder / "latency-steps.toml"
    path.write_text(
        f"""name = "latency-steps"
title = "Latency benchmark"
description = "Stepped alpha: baseline, then training."
feedback = "alpha"
audio = false
target_reward_rate = 0.65

[[phases]]
name = "Baseline"
kind = "baseline"
duration_s = {baseline_s:g}
eyes = "open"
instruction = "Baseline"

[[phases]]
name = "Training"
kind = "training"
duration_s = {training_s:g}
eyes = "open"
instruction = "Training"
""",
        encoding="utf-8",
    )
    return path


def step_recording(folder: Path, seconds: float, block_s: float, seed: int):
    """Render the simulator with stepped alpha EEG; return (files, layout, step sample indices)."""
    from biotrainer.acquisition.profiles import load_profile
    from biotrainer.acquisition.simulator.render import render_scenario, write_rendered
    from biotrainer.acquisition.simulator.scenario import load_scenario

    profile = load_profile("simulator")
    scenario = load_scenario("eyes-open-closed")
    if scenario.duration_s < seconds:
        raise SystemExit(f"the scenario is shorter than {seconds:g} s")
    rendered = render_scenario(scenario, profile.layout(), seed)
    data = rendered.data["default"]
    layout = rendered.layout
    rows = layout.group("eeg").rows
    n = data.shape[1]
    t = np.arange(n) / FS
    rng = np.random.default_rng(seed)
    high = (np.floor(t / block_s).astype(int) % 2) == 1
    amplitude = np.where(high, 20.0, 5.0)
    for row in rows:
        phase = rng.random() * 2 * np.pi
        data[row] = pink(n, rng, 10.0) + amplitude * np.sin(2 * np.pi * 10.0 * t + phase)
    files = write_rendered(rendered, folder)
    steps = np.flatnonzero(np.diff(high.astype(int)) != 0) + 1
    return files, layout, steps


@dataclass
class Probe:
    """Collects what was painted, and when each step's first sample entered BrainFlow."""

    steps: np.ndarray
    step_times: dict[int, float] = field(default_factory=dict)
    eeg_count: int = 0
    bar: list[tuple[float, float]] = field(default_factory=list)
    orb: list[tuple[float, float]] = field(default_factory=list)

    def on_chunk(self, chunk) -> None:
        block = chunk.signals.get("eeg")
        if block is None or block.n_samples == 0:
            return
        lo, hi = self.eeg_count, self.eeg_count + block.n_samples
        for k in self.steps[(self.steps >= lo) & (self.steps < hi)]:
            self.step_times[int(k)] = float(block.timestamps[int(k) - lo])
        self.eeg_count = hi


def make_paint_filter(probe: Probe, dashboard, orb_view):
    from PySide6.QtCore import QEvent, QObject

    class PaintFilter(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 - Qt override
            if event.type() == QEvent.Type.Paint:
                now = time.time()
                if obj is dashboard.score_bar:
                    u = dashboard._shown  # the latest update shown (None before the first)
                    if u is not None and math.isfinite(u.feedback_score):
                        probe.bar.append((now, obj.value() / 100.0))
                elif obj is orb_view:
                    probe.orb.append((now, orb_view.frame.level))
            return False

    return PaintFilter()


def halfway_latencies(
    painted: list[tuple[float, float]], step_times: list[float], min_move: float = 0.05
) -> tuple[np.ndarray, int]:
    """Per step: seconds from the step to the first painted value past the halfway level."""
    if not painted:
        return np.empty(0), 0
    tp = np.array([p[0] for p in painted])
    vp = np.array([p[1] for p in painted])
    out, skipped = [], 0
    for t0 in step_times:
        pre = vp[(tp >= t0 - 1.0) & (tp < t0)]
        post = vp[(tp >= t0 + 2.0) & (tp < t0 + 3.5)]
        if pre.size < 5 or post.size < 5:
            skipped += 1
            continue
        a, b = float(np.median(pre)), float(np.median(post))
        if abs(b - a) < min_move:
            skipped += 1
            continue
        mid = 0.5 * (a + b)
        after = tp >= t0
        crossed = (vp >= mid) if b > a else (vp <= mid)
        hits = np.flatnonzero(after & crossed)
        if hits.size == 0:
            skipped += 1
            continue
        out.append(tp[hits[0]] - t0)
    return np.array(out), skipped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=float, default=24.0)
    parser.add_argument("--training", type=float, default=120.0)
    parser.add_argument("--block", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tick-hz", type=float, default=None)
    parser.add_argument("--fps", type=float, default=None)
    parser.add_argument("--interval", type=float, default=None, help="engine update interval (s)")
    args = parser.parse_args()

    from PySide6.QtCore import QTimer

    from biotrainer.acquisition.factory import open_playback
    from biotrainer.engine.engine import EngineConfig
    from biotrainer.engine.protocol import load_protocol
    from biotrainer.ui.app import application
    from biotrainer.ui.trainer_window import TrainerWindow

    app = application()
    options = {}
    if args.tick_hz is not None:
        options["tick_hz"] = args.tick_hz
    if args.fps is not None:
        options["fps"] = args.fps
    if args.interval is not None:
        options["engine_config"] = EngineConfig(update_interval_s=args.interval)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        total = args.baseline + args.training
        files, layout, steps = step_recording(
            folder / "render", total + 30.0, args.block, args.seed
        )
        protocol = load_protocol(protocol_file(folder, args.baseline, args.training))
        probe = Probe(steps=steps)
        window = TrainerWindow(
            lambda: open_playback(files, layout),
            protocol,
            data_dir=folder / "data",
            ask_patient=False,
            ask_ratings=False,
            **options,
        )
        window.resize(1600, 960)
        window.show()
        pv = window.patient_view
        pv.resize(1280, 800)
        pv.show()
        paint_filter = make_paint_filter(probe, window.dashboard, pv)
        window.dashboard.score_bar.installEventFilter(paint_filter)
        pv.installEventFilter(paint_filter)
        if not window.start_session():
            print(f"could not start: {window.error}", file=sys.stderr)
            return 2
        window.bridge.chunk_ready.connect(probe.on_chunk)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        QTimer.singleShot(round((total + 1.0) * 1000), window.close)
        app.exec()
        cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)

    training_start = args.baseline + 2 * args.block  # let the baseline settle first
    first = probe.step_times.get(int(steps[0]))
    times = [
        probe.step_times[int(k)]
        for k in steps
        if int(k) in probe.step_times
        and first is not None
        and probe.step_times[int(k)] - first >= training_start - args.block
    ]
    print(
        f"steps measured: {len(times)} (alpha 5 <-> 20 µV every {args.block:g} s, 16 ch 250 Hz); "
        f"engine update interval {window.engine.config.update_interval_s:g} s, "
        f"tick {window.tick_hz:g} Hz; CPU {100 * cpu:.0f} % of a core"
    )
    for name, painted in (("dashboard feedback bar", probe.bar), ("patient orb", probe.orb)):
        lat, skipped = halfway_latencies(painted, times)
        if lat.size:
            print(
                f"  step -> halfway painted, {name:24s}: median {1000 * np.median(lat):4.0f} ms"
                f"  p95 {1000 * np.percentile(lat, 95):4.0f} ms  (n={lat.size}, skipped {skipped})"
            )
        else:
            print(f"  step -> halfway painted, {name}: no step measured (skipped {skipped})")
    meters = (
        ("dashboard", window.latency),
        ("patient view", window.patient_latency),
    )
    for name, meter in meters:
        print(
            f"  poll -> painted (app overhead), {name:12s}: p50 {meter.percentile_ms(50):5.1f} ms"
            f"  p99 {meter.percentile_ms(99):5.1f} ms  (n={len(meter.all)})"
        )
    age = window.data_age
    print(
        f"  newest sample entered BrainFlow -> painted (data age, dashboard): "
        f"p50 {age.percentile_ms(50):5.1f} ms  p99 {age.percentile_ms(99):5.1f} ms"
        f"  (n={len(age.all)})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
