"""`biotrainer replay`: replay a recorded session headless.

At ``--speed 1`` (the default) the recording goes through BrainFlow's ``PLAYBACK_FILE_BOARD`` in
real time, the path live data takes. Any other speed serves the file directly
(:class:`~biotrainer.acquisition.file_source.FileSource`): BrainFlow's playback board has no speed
control. ``--speed max`` serves it as fast as the CPU allows, on a simulated clock, as
``run --replay --speed max`` does.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.source import Source, SourceState
from biotrainer.clock import Clock, MonotonicClock, SimulatedClock
from biotrainer.commands.record import Progress, StopFlag, say, stop_on_signals
from biotrainer.commands.sources import parse_speed
from biotrainer.session.folder import describe_recording, read_meta
from biotrainer.session.replay import open_replay, scan_recording

POLL_INTERVAL_S = 0.05
#: Give up waiting for the playback board this long (clock seconds) after the expected end.
END_GRACE_S = 3.0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "replay",
        help="replay a recorded session",
        description="Replay a session folder headless: in real time through BrainFlow's "
        "playback board, or from the file at --speed X times real time or --speed max (as fast "
        "as possible). Every line is read first: a damaged file is refused, a step back of the "
        "clock is said in one note.",
    )
    p.add_argument("session_dir", metavar="SESSION_DIR", help="a session folder")
    p.add_argument(
        "--speed",
        default="1",
        help="times real time, or 'max' (default 1: real time through BrainFlow's playback "
        "board; other speeds read the file)",
    )


def replay(
    source: Source,
    duration_s: float,
    *,
    speed: float = 1.0,
    clock: Clock,
    expected: dict[str, int] | None = None,
    on_chunk: Callable[[Chunk], None] | None = None,
    stop: StopFlag | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], object] = time.sleep,
    wall: Callable[[], float] = time.monotonic,
) -> dict[str, int]:
    """Poll a prepared replay source until it ends; return the samples delivered per preset.

    Ends when the source reports ENDED, when every ``expected`` sample (preset -> count) was
    delivered, when ``stop`` is set, or :data:`END_GRACE_S` after the expected end
    (``duration_s / speed``) if the source stays silent.

    Parameters
    ----------
    speed : float
        Recording seconds per ``clock`` second, or ``inf`` (``--speed max``): the source serves
        the recording in real time on ``clock``, a simulated clock that ``sleep`` advances.
    wall : callable
        Real time (s) for the progress line, which is shown about once a second of it.
    """
    counts = {p.preset: 0 for p in source.layout.presets}
    pace = 1.0 if math.isinf(speed) else speed  # recording seconds per clock second
    source.start()
    t0 = clock.now()
    while True:
        chunk = source.poll()
        for preset, a in chunk.raw.items():
            counts[preset] = counts.get(preset, 0) + int(a.shape[1])
        if on_chunk is not None and not chunk.empty:
            on_chunk(chunk)
        now = clock.now()
        elapsed = now - t0
        state = source.state
        if progress is not None:
            progress.show(wall(), _text(elapsed * pace, duration_s, speed, counts, state))
        overdue = elapsed > duration_s / pace + END_GRACE_S and state is not SourceState.STREAMING
        complete = expected is not None and all(counts.get(k, 0) >= n for k, n in expected.items())
        if state is SourceState.ENDED or complete or stop or overdue:
            break
        sleep(max(0.0, POLL_INTERVAL_S - (clock.now() - now)))
    source.stop()
    if progress is not None:
        position = (clock.now() - t0) * pace
        progress.show(wall(), _text(position, duration_s, speed, counts, state), force=True)
        progress.done()
    return counts


def _text(
    position: float, duration: float, speed: float, counts: dict[str, int], state: SourceState
) -> str:
    total = " ".join(f"{k}:{v}" for k, v in counts.items())
    shown = "max" if math.isinf(speed) else f"x{speed:g}"
    return (
        f"replay {min(position, duration):6.1f} / {duration:.1f} s ({shown})  "
        f"samples {total}  {state.value}"
    )


def run(args: argparse.Namespace) -> int:
    speed = parse_speed(args.speed, allow_max=True)
    meta = read_meta(args.session_dir)
    # Every line is read first: a damaged file is refused before the replay starts, with the
    # file and line named; a step back of the clock is said in the line `export` says.
    scan = scan_recording(args.session_dir)
    for note in scan.notes:
        say(sys.stderr, f"biotrainer: note: {note}\n")
    fastest = math.isinf(speed)
    clock: Clock = MonotonicClock()
    sleep: Callable[[float], object] = time.sleep
    if fastest:
        # 'max' serves the file in real time on a simulated clock advanced at each poll, as
        # `run --replay --speed max` does (BrainFlow's playback board runs in real time only).
        clock = simulated = SimulatedClock()
        sleep = simulated.advance
    source = open_replay(
        args.session_dir,
        speed=1.0 if fastest else speed,
        clock=clock,
        playback_board=False if fastest else None,
    )
    try:
        source.prepare()
        with stop_on_signals(StopFlag()) as stop:
            counts = replay(
                source,
                scan.duration_s,
                speed=speed,
                clock=clock,
                expected=scan.samples,
                stop=stop,
                progress=Progress(sys.stderr),
                sleep=sleep,
            )
    finally:
        source.release()
    total = ", ".join(f"{n} {p}" for p, n in counts.items())
    state = describe_recording(meta, args.session_dir)
    print(f"replayed {total} samples from {args.session_dir} ({meta.device}, session {state})")
    return 0
