"""Per-phase summaries of a run: what a therapist reads at the end of a session."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from biotrainer.engine.updates import MetricUpdate


@dataclass(frozen=True)
class PhaseSummary:
    """Means over the updates of one phase (NaN where a metric was never available).

    Attributes
    ----------
    index, name, kind : the phase.
    duration_s : float
        Protocol seconds covered by the updates.
    score, relaxation, hr_bpm, rmssd_ms, coherence, breathing_bpm : float
        Means of the finite values.
    reward_fraction : float
        Fraction of clean, unpaused training updates that were rewarded (NaN outside training).
    clean_fraction : float
        Fraction of updates whose signals were clean enough for feedback.
    """

    index: int
    name: str
    kind: str
    duration_s: float
    score: float
    relaxation: float
    hr_bpm: float
    rmssd_ms: float
    coherence: float
    breathing_bpm: float
    reward_fraction: float
    clean_fraction: float


def _mean(values: list[float]) -> float:
    a = np.asarray(values, dtype=float)
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else math.nan


def summarize(updates: Iterable[MetricUpdate]) -> list[PhaseSummary]:
    """Group updates by phase (in order) and average each metric."""
    groups: dict[int, list[MetricUpdate]] = {}
    for u in updates:
        if u.phase_index >= 0 and not u.finished:
            groups.setdefault(u.phase_index, []).append(u)
    out = []
    for index, us in groups.items():
        clean = [u for u in us if u.quality_ok]
        # Same rule as session.analysis (the store and the reports): paused updates do not
        # count towards the reward fraction.
        counted = [u for u in clean if not u.paused]
        training = us[0].phase_kind == "training"
        out.append(
            PhaseSummary(
                index=index,
                name=us[0].phase_name,
                kind=us[0].phase_kind,
                duration_s=us[-1].session_s - us[0].session_s,
                score=_mean([u.feedback_score for u in us]),
                relaxation=_mean([u.relaxation for u in us]),
                hr_bpm=_mean([u.hr_bpm for u in us]),
                rmssd_ms=_mean([u.rmssd_ms for u in us]),
                coherence=_mean([u.coherence for u in us]),
                breathing_bpm=_mean([u.breathing_bpm for u in us]),
                reward_fraction=(
                    sum(u.rewarded for u in counted) / len(counted)
                    if training and counted
                    else math.nan
                ),
                clean_fraction=len(clean) / len(us),
            )
        )
    return out


def format_summary(rows: list[PhaseSummary]) -> str:
    """A plain-text table of :func:`summarize` output."""

    def f(x: float, nd: int = 1) -> str:
        return "-" if not math.isfinite(x) else f"{x:.{nd}f}"

    lines = [
        f"{'phase':28s} {'min':>5s} {'score':>6s} {'reward':>6s} {'clean':>6s} "
        f"{'HR':>6s} {'RMSSD':>6s} {'coher':>6s} {'breath':>6s}"
    ]
    for r in rows:
        lines.append(
            f"{r.name[:28]:28s} {r.duration_s / 60:5.1f} {f(r.score, 2):>6s} "
            f"{f(100 * r.reward_fraction, 0):>6s} {f(100 * r.clean_fraction, 0):>6s} "
            f"{f(r.hr_bpm):>6s} {f(r.rmssd_ms):>6s} {f(r.coherence, 2):>6s} "
            f"{f(r.breathing_bpm):>6s}"
        )
    return "\n".join(lines)
