"""What the machine charges for work done after a pause: the CPU and wall time of one small
numpy sum (10,000 doubles) right after the thread slept or spun for a while.

    .venv/bin/python benchmarks/bench_wakeup.py [--calls 300]

A live session wakes up 60 times a second (the engine's ticks, the frames) and does a little
work each time; on a shared virtual machine the caches the work needs can be cold after each
pause (the host ran something else meanwhile), and that cost is charged to the process. The same
code then measures differently from hour to hour and from machine to machine, which this shows
directly. Pure measurement: nothing of biotrainer runs.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

PAUSES_S = (0.0, 0.004, 0.016, 0.05)


def after_pause(x: np.ndarray, pause_s: float, calls: int, spin: bool) -> tuple[float, float]:
    """Mean CPU and wall microseconds of ``x.sum()`` right after each pause."""
    cpu = wall = 0.0
    for _ in range(calls):
        if spin:
            until = time.perf_counter() + pause_s
            while time.perf_counter() < until:
                pass
        else:
            time.sleep(pause_s)
        c0, w0 = time.thread_time(), time.perf_counter()
        x.sum()
        wall += time.perf_counter() - w0
        cpu += time.thread_time() - c0
    return 1e6 * cpu / calls, 1e6 * wall / calls


def machine_state(calls: int = 200) -> str:
    """One line on how warm the machine keeps a paused thread's caches now (for other
    benchmarks to print beside their CPU figures)."""
    x = np.random.default_rng(0).random(10_000)
    warm = after_pause(x, 0.0, calls, spin=False)[0]
    cold = after_pause(x, 0.016, calls, spin=False)[0]
    return (
        f"machine: a small numpy sum takes {cold:.0f} µs CPU right after a 16 ms sleep, "
        f"{warm:.0f} µs back to back (benchmarks/bench_wakeup.py)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    x = np.random.default_rng(0).random(10_000)
    one, five, _ = os.getloadavg()
    print(f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores")
    print("| pause | after sleeping: CPU / wall µs | after spinning: CPU / wall µs |")
    print("|---|---|---|")
    for pause in PAUSES_S:
        slept = after_pause(x, pause, args.calls, spin=False)
        spun = after_pause(x, pause, args.calls, spin=True)
        print(
            f"| {1000 * pause:g} ms | {slept[0]:.1f} / {slept[1]:.1f} | "
            f"{spun[0]:.1f} / {spun[1]:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
