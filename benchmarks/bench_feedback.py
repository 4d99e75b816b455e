"""Coherence feedback against a short baseline, on real day-long and Holter RR series. Run from the
repository root:

    .venv/bin/python benchmarks/bench_feedback.py [--data ../shared/data]
        [--only spread|z-at-rest] [--baseline-s 90]

``spread``: how much coherence varies from one minute to the next in a person -- the
spread of ln(coherence) (and of coherence / its mean) between consecutive independent 70-s
windows, in ten-minute stretches of the day-long ambulatory RR series (sleep and activity
included) and MIT-BIH 100. The floor of a
coherence baseline's spread (``feedback.COHERENCE_MIN_LN_SD``) comes from it.

``z-at-rest``: a baseline of ``--baseline-s`` seconds, then 8 minutes more of the same record,
through the engine's own pieces (:class:`CardiacProcessor` on the RR intervals, coherence every
5 s over 70 s of cleaned beats, held on the 0.1 s grid; the baseline learns every grid value).
Nothing changes after the baseline, so a z-score should spread like one (robust SD about 1).
Printed for the coherence baseline the engine uses (:func:`feedback.metric_baseline`) and for a
plain linear one (the engine's before 2026-11-29), on the day-long series (a start every 30 min)
and on MIT-BIH 100, 113, 106, 231 (a start every 2 min; 106 and 231 arrhythmic).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from biotrainer.dsp.hrv import coherence
from biotrainer.dsp.rr import clean_rr
from biotrainer.engine.feedback import Baseline, metric_baseline
from biotrainer.engine.processors import CardiacProcessor

BEATS = set("NLRBAaJSVrFejnE/fQ?")


def day_long(data: Path) -> Iterator[tuple[str, np.ndarray]]:
    """The two day-long RR series (ms)."""
    yield "nsr001", np.loadtxt(data / "rr_long" / "nsr001_rr_secs.txt")[1:] * 1000.0
    yield "000", np.loadtxt(data / "rr_long" / "000.txt")


def mitbih(data: Path, records: tuple[str, ...]) -> Iterator[tuple[str, np.ndarray]]:
    """RR (ms) between the annotated beats of MIT-BIH records."""
    import wfdb

    for rec in records:
        ann = wfdb.rdann(str(data / "ecg_mitdb" / rec), "atr")
        beats = ann.sample[np.isin(ann.symbol, list(BEATS))]
        yield rec, np.diff(beats) / 360.0 * 1000.0


def spread(data: Path) -> None:
    print("## Coherence from one independent 70-s window to the next (10-min stretches)")
    print("| record | stretches | coherence (median) | SD of ln(coherence) median / p25 / p10 |")
    print("|---|---|---|---|")
    every: list[float] = []
    for name, rr in (*day_long(data), *mitbih(data, ("100",))):
        t = np.cumsum(rr) / 1000.0
        stretch = min(600.0, float(t[-1]))
        sds, means = [], []
        for s0 in np.arange(0.0, t[-1] - stretch + 1.0, stretch):
            logs = []
            for w0 in np.arange(s0, s0 + stretch - 70.0 + 1e-9, 70.0):
                sel = (t > w0) & (t <= w0 + 70.0)
                if sel.sum() >= 20:
                    c = coherence(clean_rr(rr[sel]).rr_ms)
                    if np.isfinite(c) and c > 0:
                        logs.append(math.log(c))
            if len(logs) >= 2:
                d = np.diff(logs)
                sds.append(math.sqrt(np.mean(d**2) / 2.0))  # one window's spread
                means.append(float(np.exp(np.mean(logs))))
        every += sds
        p = np.percentile(sds, [50, 25, 10])
        quantiles = " / ".join(f"{q:.2f}" for q in p)
        print(f"| {name} | {len(sds)} | {np.median(means):.2f} | {quantiles} |")
    p = np.percentile(every, [50, 25, 10])
    print(f"| all | {len(every)} | | **{p[0]:.2f} / {p[1]:.2f} / {p[2]:.2f}** |")


def z_at_rest(rr: np.ndarray, baseline: Baseline, baseline_s: float, after_s: float) -> np.ndarray:
    """Coherence z-scores on the 0.1 s grid for ``after_s`` after a ``baseline_s`` baseline."""
    t = np.cumsum(rr) / 1000.0
    heart = CardiacProcessor(250.0, "rr", t0=float(t[0]) - 1.0)
    zs: list[float] = []
    j = 0
    for g in np.arange(t[0] + 0.1, t[0] + baseline_s + after_s, 0.1):
        k = int(np.searchsorted(t, g, "right"))
        if k > j:
            heart.push_rr(rr[j:k], t[j:k])
            j = k
        c = heart.coherence
        if g < t[0] + baseline_s:
            baseline.add(c)
        elif math.isfinite(c):
            zs.append(baseline.z(c))
    return np.array(zs)


def z_table(
    label: str,
    series: list[tuple[str, np.ndarray]],
    starts_every_s: float,
    skip_s: float,
    baseline_s: float,
) -> None:
    after_s = 480.0
    kinds: dict[str, Callable[[], Baseline]] = {
        "engine (ln, spread >= 0.45)": lambda: metric_baseline("coherence"),
        "plain (linear, its own spread)": Baseline,
    }
    print(f"\n## Coherence z over 8 min after a {baseline_s:g} s baseline: {label}")
    print("| baseline | starts | robust SD of z: median / p90 / max | max abs z: median / p90 |")
    print("|---|---|---|---|")
    for kind, make in kinds.items():
        spreads, peaks = [], []
        for _, rr in series:
            t = np.cumsum(rr) / 1000.0
            for s in np.arange(skip_s, t[-1] - baseline_s - after_s - 60.0, starts_every_s):
                i = int(np.searchsorted(t, s))
                n = int(np.searchsorted(t, s + baseline_s + after_s + 60.0)) - i
                z = z_at_rest(rr[i : i + n], make(), baseline_s, after_s)
                z = z[np.isfinite(z)]
                if z.size >= 10:
                    q1, q3 = np.percentile(z, [25, 75])
                    spreads.append((q3 - q1) / 1.349)
                    peaks.append(float(np.max(np.abs(z))))
        a, b = np.percentile(spreads, [50, 90]), np.percentile(peaks, [50, 90])
        print(
            f"| {kind} | {len(spreads)} | {a[0]:.2f} / {a[1]:.2f} / {max(spreads):.1f} | "
            f"{b[0]:.1f} / {b[1]:.1f} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
    parser.add_argument("--only", choices=("spread", "z-at-rest"))
    parser.add_argument("--baseline-s", type=float, default=90.0)
    args = parser.parse_args()
    if not (args.data / "rr_long").is_dir():
        print(f"no real data at {args.data}: nothing to measure")
        return 1
    if args.only in (None, "spread"):
        spread(args.data)
    if args.only in (None, "z-at-rest"):
        z_table("day-long RR series", list(day_long(args.data)), 1800.0, 600.0, args.baseline_s)
        mit = list(mitbih(args.data, ("100", "113", "106", "231")))
        z_table("MIT-BIH 100, 113, 106, 231", mit, 120.0, 0.0, args.baseline_s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
