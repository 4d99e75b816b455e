"""Coherence feedback against a short baseline, on real day-long and Holter RR series. Run from the
repository root:

    .venv/bin/python benchmarks/bench_feedback.py [--data ../shared/data]
        [--only spread|z-at-rest|relaxation-spread|orb] [--baseline-s 90]

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

``relaxation-spread``: how much the EEG relaxation index and its log-odds vary within a minute
(4-s windows a second apart, 60-s stretches every 30 s) on the four eyes-open/eyes-closed
recordings of ``eeg_eyes``; the floor of a relaxation baseline's spread
(``feedback.RELAXATION_MIN_LOGIT_SD``) is half the least of their medians.

``orb``: the whole engine on the simulator's stressed-to-relaxed scenario (as ``biotrainer run
--device simulator --scenario stressed-to-relaxed --speed max``) for four protocols: per phase
the relaxation index, the mean and SD of the feedback z-scores and the SD and 5th-95th
percentiles of the score the orb shows.
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


def relaxation_spread(data: Path) -> None:
    """The spread of the relaxation index and of its log-odds within a minute, per recording."""
    import pyedflib

    from biotrainer.dsp.eeg import relaxation_index

    folder = data / "eeg_eyes"
    records = []
    for name in ("eeg_ec.txt", "eeg_eo.txt"):
        x = np.loadtxt(folder / name)
        records.append((name, (x if x.ndim == 1 else x[:, -1])[None], 125))
    for name in ("Subject00_1.edf", "Subject04_2.edf"):
        with pyedflib.EdfReader(str(folder / name)) as r:
            fs = round(r.getSampleFrequency(0))
            records.append((name, np.array([r.readSignal(i) for i in range(19)]), fs))
    print("\n## relaxation index within a minute (4-s windows 1 s apart; 60-s stretches)")
    print(f"{'recording':18s} {'windows':>7s} {'index median':>12s} {'index SD':>9s} "
          f"{'log-odds SD p25 / median':>25s}")  # fmt: skip
    for name, x, fs in records:
        n = 4 * fs
        idx = np.array(
            [relaxation_index(x[:, i : i + n], fs) for i in range(0, x.shape[1] - n, fs)]
        )
        p = np.clip(idx, 1e-4, 1 - 1e-4)
        odds = np.log(p / (1 - p))
        step = 30 if idx.size > 90 else 10
        starts = range(0, max(1, idx.size - 60), step)
        sd = [np.nanstd(idx[a : a + 60]) for a in starts]
        sd_odds = [np.nanstd(odds[a : a + 60]) for a in starts]
        print(f"{name:18s} {idx.size:7d} {np.nanmedian(idx):12.3f} {np.median(sd):9.3f} "
              f"{np.percentile(sd_odds, 25):12.2f} / {np.median(sd_odds):.2f}")  # fmt: skip


def orb(protocols: tuple[str, ...]) -> None:
    """Per phase of a simulated stressed-to-relaxed session: index, z-scores and score."""
    from biotrainer.acquisition.factory import open_accelerated
    from biotrainer.clock import SimulatedClock
    from biotrainer.engine.engine import Engine
    from biotrainer.engine.protocol import load_protocol

    print("\n## the orb on simulated stressed-to-relaxed sessions (seed 3; per phase)")
    for name in protocols:
        clock = SimulatedClock()
        source = open_accelerated("simulator", clock, 1.0, scenario="stressed-to-relaxed", seed=3)
        engine = Engine(source, load_protocol(name), clock=clock)
        updates = []
        engine.start()
        while not engine.finished:
            clock.advance(10.0)
            updates.extend(engine.tick())
        engine.close()
        print(f"{name}:")
        for index in sorted({u.phase_index for u in updates if not u.finished}):
            ups = [u for u in updates if u.phase_index == index and u.source_state == "streaming"]
            relax = np.array([u.relaxation for u in ups])
            z = np.array([u.feedback_z for u in ups])
            score = np.array([u.feedback_score for u in ups])
            score = score[np.isfinite(score)]
            lo, hi = np.percentile(score, (5, 95)) if score.size else (math.nan, math.nan)
            index_mean = f"{np.nanmean(relax):5.3f}" if np.isfinite(relax).any() else "  –  "
            print(f"  {ups[0].phase_name:28s} index {index_mean} | z mean "
                  f"{np.nanmean(z):+5.2f} SD {np.nanstd(z):5.2f} | score SD "
                  f"{np.std(score):.3f}, 5-95 % {lo:.2f}-{hi:.2f}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
    parser.add_argument("--only", choices=("spread", "z-at-rest", "relaxation-spread", "orb"))
    parser.add_argument("--baseline-s", type=float, default=90.0)
    args = parser.parse_args()
    if not (args.data / "rr_long").is_dir():
        print(f"no real data at {args.data}: nothing to measure")
        return 1
    if args.only in (None, "relaxation-spread"):
        relaxation_spread(args.data)
    if args.only in (None, "orb"):
        orb(("eyes-closed-relaxation", "eeg-hrv-relaxation", "hrv-resonance-breathing",
             "alpha-uptraining"))  # fmt: skip
    if args.only in (None, "spread"):
        spread(args.data)
    if args.only in (None, "z-at-rest"):
        z_table("day-long RR series", list(day_long(args.data)), 1800.0, 600.0, args.baseline_s)
        mit = list(mitbih(args.data, ("100", "113", "106", "231")))
        z_table("MIT-BIH 100, 113, 106, 231", mit, 120.0, 0.0, args.baseline_s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
