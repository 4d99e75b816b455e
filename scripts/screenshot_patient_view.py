"""Save screenshots of the patient view in a few states, driven by a simulated clock.

    QT_QPA_PLATFORM=offscreen python scripts/screenshot_patient_view.py [--out-dir docs/screenshots]
    QT_QPA_PLATFORM=offscreen python scripts/screenshot_patient_view.py --bench [training]

Writes patient_low.png (low score early in a session), patient_high.png (high score, rewarded,
pacer mid-inhale) and patient_signal_lost.png (signal lost for a few seconds). ``--bench``
instead times full repaints at 1280x800 and 1920x1080 and prints milliseconds per frame (CPU:
process time, which counts the work Qt's raster engine hands to its thread pool; and wall);
``--bench training`` does so with the score wandering about the reward bar, the reward coming
and going as in a training phase.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

INSTRUCTIONS = {
    "low": "Sit comfortably, let your shoulders drop, and rest your eyes on the screen.",
    "high": "Breathe with the circle: in as it grows, out slowly as it shrinks.",
    "signal_lost": "Let the light grow. There is nothing to force: notice what helps it open.",
}


def update_at(t: float, score: float, **fields):
    """A metric update made at time ``t``."""
    from biotrainer.engine.updates import MetricUpdate

    times = dict(session_s=t, sample_time=t, received_at=t, computed_at=t)
    return MetricUpdate(**times, feedback_score=score, **fields)


def drive(view, clock, seconds: float, **fields) -> None:
    """Feed 10 updates a second for ``seconds`` and step the animation at 60 frames a second."""
    score = fields.pop("score", math.nan)
    steps = round(seconds * 60)
    for i in range(steps):
        clock.advance(1 / 60)
        if i % 6 == 0:
            t = clock.now()
            s = score(t) if callable(score) else score
            view.show_update(update_at(t, s, **fields))
        view.animation.step(clock.now())


def make_view(width: int, height: int):
    from biotrainer.clock import SimulatedClock
    from biotrainer.ui.app import application
    from biotrainer.ui.patient_view import PatientView

    application()
    clock = SimulatedClock(100.0)
    view = PatientView(clock=clock)
    view.resize(width, height)
    return view, clock


def state_low(view, clock) -> None:
    view.set_instruction(INSTRUCTIONS["low"])
    drive(view, clock, 8.0, score=0.18, phase_name="Training", phase_kind="training")


def state_high(view, clock) -> None:
    view.set_instruction(INSTRUCTIONS["high"])
    train = dict(phase_name="Training", phase_kind="training", pacer_bpm=6.0, inhale_ratio=0.4)
    drive(view, clock, 20.0, score=lambda t: 0.6, **train)
    # 38 s of reward: about half of the ring of lights; end 2 s into a 10 s breath (mid-inhale).
    drive(view, clock, 38.0, score=lambda t: 0.84 + 0.03 * math.sin(t), rewarded=True, **train)
    phase = view.animation.pacer.phase(clock.now())
    drive(view, clock, ((0.2 - phase) % 1.0) * 10.0, score=0.86, rewarded=True, **train)


def state_signal_lost(view, clock) -> None:
    view.set_instruction(INSTRUCTIONS["signal_lost"])
    drive(view, clock, 10.0, score=0.55, phase_name="Training", phase_kind="training")
    lost = dict(quality_ok=False, quality_reason="signal lost", source_state="signal lost")
    drive(view, clock, 6.0, phase_name="Training", phase_kind="training", **lost)


STATES = {"low": state_low, "high": state_high, "signal_lost": state_signal_lost}


def wandering_score(t: float) -> float:
    """A score that wanders about the reward bar (0.5) as in a training phase, so the reward
    comes and goes every second or two (deterministic: two slow waves and a fast one)."""
    slow, fast = math.sin(2 * math.pi * t / 7.0), math.sin(2 * math.pi * t / 1.3 + 1.0)
    return 0.5 + 0.12 * slow + 0.08 * fast


def bench(frames: int, wander: bool, sizes: list[tuple[int, int]]) -> None:
    """Time frames the way the view's timer makes them: step, then repaint what changed
    (``wander``: with the score wandering about the reward bar, else held high and rewarded)."""
    from biotrainer.ui.app import application

    app = application()
    for w, h in sizes:
        view, clock = make_view(w, h)
        view.show()
        app.processEvents()
        state_high(view, clock)
        renders0, bodies0 = view.orb.layer_renders, view.orb.body_renders
        painted0 = view.frames_painted
        start, cpu0 = time.perf_counter(), time.process_time()
        for i in range(frames):
            clock.advance(1 / 60)
            if i % 6 == 0:  # 10 updates a second
                t = clock.now()
                score = wandering_score(t) if wander else 0.84 + 0.03 * math.sin(t)
                view.show_update(update_at(t, score, rewarded=score > 0.5 if wander else True,
                                           pacer_bpm=6.0, phase_kind="training"))  # fmt: skip
            view.advance()
            app.processEvents()  # paints the region the step marked
        ms = (time.perf_counter() - start) * 1000 / max(1, frames)
        cpu_ms = (time.process_time() - cpu0) * 1000 / max(1, frames)
        renders = view.orb.layer_renders - renders0
        bodies = view.orb.body_renders - bodies0
        print(
            f"{w}x{h}: {cpu_ms:.2f} ms CPU per frame -> {cpu_ms * 60 / 10:.1f} % of a core at "
            f"60 fps ({ms:.2f} ms wall; {view.frames_painted - painted0} paints, {renders} "
            f"orb layer and {bodies} body renders)"
        )
        view.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=REPO / "docs/screenshots")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--numbers", action="store_true", help="show the therapist's numbers")
    parser.add_argument(
        "--bench",
        nargs="?",
        const="rewarded",
        choices=("rewarded", "training"),
        help="time repaints instead: with the score held high and rewarded (default), or "
        "wandering about the reward bar as in a training phase, the reward coming and going",
    )
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument(
        "--size",
        action="append",
        type=lambda text: tuple(int(v) for v in text.lower().split("x")),
        help="WxH to bench (repeatable; default 1280x800 and 1920x1080)",
    )
    args = parser.parse_args(argv)

    if args.bench:
        bench(args.frames, args.bench == "training", args.size or [(1280, 800), (1920, 1080)])
        return 0
    args.out_dir.mkdir(parents=True, exist_ok=True)
    ok = True
    for name, make_state in STATES.items():
        view, clock = make_view(args.width, args.height)
        view.set_show_numbers(args.numbers)
        make_state(view, clock)
        out = args.out_dir / f"patient_{name}.png"
        saved = view.grab().save(str(out))
        print(f"{'saved' if saved else 'could not save'} {out}")
        ok = ok and saved
        view.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
