"""`biotrainer replay`: replay a recorded session headless.

At ``--speed 1`` (the default) the recording goes through BrainFlow's ``PLAYBACK_FILE_BOARD`` in
real time, the path live data takes. Any other speed serves the file directly
(:class:`~biotrainer.acquisition.file_source.FileSource`): BrainFlow's playback board has no speed
control.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.source import Source, SourceState
from biotrainer.clock import Clock, MonotonicClock
from biotrainer.commands.record import Progress, StopFlag, stop_on_signals
from biotrainer.commands.sources import parse_speed
from biotrainer.session.folder import describe_recording, read_meta
from biotrainer.session.replay import complete_lines, open_replay, recorded_span

POLL_INTERVAL_S = 0.05
#: Give up waiting for the playback board this long (clock seconds) after the expected end.
END_GRACE_S = 3.0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "replay",
        help="replay a recorded session",
        description="Replay a session folder headless (real time through BrainFlow's playback "
        "board, or faster from the file with --speed).",
    )
    p.add_argument("session_dir", metavar="SESSION_DIR", help="a session folder")
    p.add_argument(
        "--speed",
        default="1",
        help="replay speed (1 = real time through BrainFlow; other values read the file)",
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
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, int]:
    """Poll a prepared replay source until it ends; return the samples delivered per preset.

    Ends when the source reports ENDED, when every ``expected`` sample (preset -> count) was
    delivered, when ``stop`` is set, or :data:`END_GRACE_S` after the expected end
    (``duration_s / speed``) if the source stays silent.
    """
    counts = {p.preset: 0 for p in source.layout.presets}
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
            progress.show(now, _text(elapsed * speed, duration_s, speed, counts, state))
        overdue = elapsed > duration_s / speed + END_GRACE_S and state is not SourceState.STREAMING
        complete = expected is not None and all(counts.get(k, 0) >= n for k, n in expected.items())
        if state is SourceState.ENDED or complete or stop or overdue:
            break
        sleep(max(0.0, POLL_INTERVAL_S - (clock.now() - now)))
    source.stop()
    if progress is not None:
        end = clock.now()
        progress.show(end, _text((end - t0) * speed, duration_s, speed, counts, state), force=True)
        progress.done()
    return counts


def _text(
    position: float, duration: float, speed: float, counts: dict[str, int], state: SourceState
) -> str:
    total = " ".join(f"{k}:{v}" for k, v in counts.items())
    return (
        f"replay {min(position, duration):6.1f} / {duration:.1f} s (x{speed:g})  "
        f"samples {total}  {state.value}"
    )


def run(args: argparse.Namespace) -> int:
    speed = parse_speed(args.speed)
    meta = read_meta(args.session_dir)
    # Both read the raw files (every line, then the ends): a damaged file is refused before
    # the replay starts, with the file and line named.
    expected = complete_lines(args.session_dir)
    first, last = recorded_span(args.session_dir)
    duration = last - first
    clock = MonotonicClock()
    source = open_replay(args.session_dir, speed=speed, clock=clock)
    try:
        source.prepare()
        with stop_on_signals(StopFlag()) as stop:
            counts = replay(
                source,
                duration,
                speed=speed,
                clock=clock,
                expected=expected,
                stop=stop,
                progress=Progress(sys.stderr),
            )
    finally:
        source.release()
    total = ", ".join(f"{n} {p}" for p, n in counts.items())
    state = describe_recording(meta, args.session_dir)
    print(f"replayed {total} samples from {args.session_dir} ({meta.device}, session {state})")
    return 0
