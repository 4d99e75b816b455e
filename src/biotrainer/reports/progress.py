"""A patient's progress across sessions: one row per session, charts across sessions."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from biotrainer.engine.feedback import FEEDBACK_Z_KEY, FIRST_VERSION_OF
from biotrainer.engine.protocol import Protocol
from biotrainer.errors import RecordingError
from biotrainer.reports import charts as ch
from biotrainer.reports.format import change, local_date
from biotrainer.reports.session_report import (
    installed_protocol,
    patient_label,
    protocol_title,
    recorded_nothing,
)
from biotrainer.session.analysis import COVERAGE_SUFFIX, MetricMeans, thin_share
from biotrainer.session.folder import read_meta
from biotrainer.session.store import STATUS_COMPLETED, SessionRecord, Store


@dataclass(frozen=True)
class ProgressRow:
    """One session in a progress report.

    Metric values are means over the session's training phases (of a resonance assessment: its
    paced breathing phases; over the whole session when the protocol has neither, see
    :func:`practice_means`); NaN where not available, and for a session that ended before its
    training. Ratings are 0-10 or None; changes are post − pre (negative = less pain/stress
    after the session). ``status`` is the session's
    :attr:`~biotrainer.session.store.SessionRecord.outcome` ("completed", "stopped early"...).
    ``z_coverage``, ``rmssd_ms_coverage``...: the share (0-1) of those phases' updates the mean
    rests on, as :class:`~biotrainer.session.analysis.MetricMeans` keeps it (NaN when not
    known; ``time_in_target_coverage``: the clean share of training); see :meth:`thin`.
    """

    session_id: int
    started_utc: datetime
    protocol: str
    status: str
    duration_s: float
    score: float
    time_in_target: float
    rmssd_ms: float
    coherence: float
    breathing_bpm: float
    hr_bpm: float
    clean_fraction: float
    pain_pre: int | None
    pain_post: int | None
    stress_pre: int | None
    stress_post: int | None
    #: Mean feedback z-score against the session's baseline (NaN for sessions stored before it
    #: was summarised): the progress figure; the feedback score is centred on the moving reward
    #: threshold and does not compare across sessions.
    z: float = math.nan
    #: A resonance assessment (paced breathing, no training): its figures are of its paced
    #: breathing phases, and it gave no feedback.
    assessment: bool = False
    #: The session's z-scores were made on an earlier scale (:func:`z_on_old_scale`): ``z`` is
    #: NaN, not set beside the others.
    z_old_scale: bool = False
    z_coverage: float = math.nan
    hr_bpm_coverage: float = math.nan
    rmssd_ms_coverage: float = math.nan
    coherence_coverage: float = math.nan
    breathing_bpm_coverage: float = math.nan
    time_in_target_coverage: float = math.nan
    #: False for a session closed before its first sample (see
    #: :func:`~biotrainer.reports.session_report.recorded_nothing`): it has no figures.
    recorded: bool = True
    #: How the session ended (:attr:`~biotrainer.session.store.SessionRecord.ended`).
    ended: str | None = None

    def coverage(self, field: str) -> float:
        """The share (0-1) of its phases' updates the mean ``field`` ("z", "rmssd_ms"...)
        rests on; NaN when not known."""
        return float(getattr(self, f"{field}{COVERAGE_SUFFIX}", math.nan))

    def thin(self, field: str) -> bool:
        """Whether the mean ``field`` rests on too small a share of its phases to be read as
        the session's without saying so (see :func:`~biotrainer.session.analysis.thin_share`)."""
        return thin_share(self.coverage(field))

    @property
    def completed(self) -> bool:
        """The session ran its whole protocol (not stopped early, interrupted, in progress...)."""
        return self.status == STATUS_COMPLETED

    @property
    def pain_change(self) -> float | None:
        return change(self.pain_pre, self.pain_post)

    @property
    def stress_change(self) -> float | None:
        return change(self.stress_pre, self.stress_post)


@dataclass(frozen=True)
class ProgressReport:
    """A patient's sessions, oldest first."""

    patient_code: str
    patient_label: str
    with_name: bool
    resonance_bpm: float | None
    rows: tuple[ProgressRow, ...]
    protocols: dict[str, str]
    generated_utc: datetime

    def charts(self) -> list[ch.Chart]:
        return progress_charts(self.rows, self.protocols)

    def mean_change(self, what: str) -> float | None:
        """Mean post − pre change of "pain" or "stress" over sessions rated both times."""
        values = [getattr(r, f"{what}_change") for r in self.rows]
        values = [v for v in values if v is not None]
        return float(np.mean(values)) if values else None


def protocol_kinds(
    rec: SessionRecord, installed: Callable[[str], Protocol | None] = installed_protocol
) -> frozenset[str] | None:
    """The kinds of phase of a session's protocol, reached or not.

    Parameters
    ----------
    rec : SessionRecord
    installed : callable
        The installed protocol of a name, None when there is none (see
        :func:`~biotrainer.reports.session_report.installed_protocol`).

    Returns
    -------
    frozenset of str or None
        Those of the phases it recorded when it ran its whole protocol; else those of the
        installed protocol of its name; None when not known (a session stopped early whose
        protocol is not installed any more).
    """
    if rec.summary is not None and rec.outcome == STATUS_COMPLETED:
        return frozenset(p.kind for p in rec.summary.phases)
    protocol = installed(rec.protocol)
    return None if protocol is None else frozenset(p.kind for p in protocol.phases)


def practice_means(
    rec: SessionRecord, installed: Callable[[str], Protocol | None] = installed_protocol
) -> MetricMeans | None:
    """A session's figures in lists and progress reports: the means of its training phases (of
    a resonance assessment: its paced breathing phases), of the whole session when its protocol
    has neither (see :meth:`~biotrainer.session.analysis.SessionSummary.practice_of`); None
    without a summary, and for a session that ended before its training (its baseline is no
    result). ``installed``: see :func:`protocol_kinds`."""
    s = rec.summary
    if s is None:
        return None
    # (the protocol is read only for a session that reached neither)
    return s.practice_of(None if s.reached_practice else protocol_kinds(rec, installed))


def _is_assessment(rec: SessionRecord) -> bool:
    """The session paced breathing and trained nothing (a resonance assessment)."""
    s = rec.summary
    return s is not None and s.training is None and s.pacing is not None


def z_on_old_scale(
    rec: SessionRecord, installed: Callable[[str], Protocol | None] = installed_protocol
) -> bool:
    """The session's feedback z-scores were made on a scale used before 2026-11-29 (its
    ``session.json`` has no ``feedback_z_version``, or one before the first that compares for
    one of its protocol's feedback metrics, :data:`~biotrainer.engine.feedback.FIRST_VERSION_OF`:
    coherence z-scores up to ten times larger, relaxation z-scores squeezed near the index's
    top). False when that cannot be told (the protocol is not installed any more, the folder is
    unreadable)."""
    protocol = installed(rec.protocol)
    if protocol is None or rec.folder is None:
        return False
    needed = max(FIRST_VERSION_OF.get(k, 1) for k in protocol.feedback_kinds)
    if needed <= 1:
        return False
    try:
        version = read_meta(rec.folder).extra.get(FEEDBACK_Z_KEY, 1)
    except RecordingError:
        return False
    return not isinstance(version, int) or version < needed


def blanks_z(
    rec: SessionRecord,
    m: MetricMeans | None,
    installed: Callable[[str], Protocol | None] = installed_protocol,
) -> bool:
    """The session's mean z ``m.z`` is there but on an earlier scale (:func:`z_on_old_scale`),
    so lists and reports leave it blank."""
    return m is not None and math.isfinite(m.z) and z_on_old_scale(rec, installed)


def build_progress_report(
    store: Store, patient_code: str, *, with_name: bool = False, now: datetime | None = None
) -> ProgressReport:
    """Gather the progress report of a patient (StoreError if the code is unknown)."""
    patient = store.patient(patient_code)
    installed = functools.cache(installed_protocol)  # (read once per protocol)
    rows = []
    for rec in store.sessions(patient.code):
        m = practice_means(rec, installed)
        old_scale = blanks_z(rec, m, installed)
        reports = store.self_reports(rec.id)
        pre, post = reports.get("pre"), reports.get("post")

        def g(name: str, m: MetricMeans | None = m) -> float:
            return math.nan if m is None else float(getattr(m, name))

        rows.append(
            ProgressRow(
                session_id=rec.id,
                started_utc=rec.started_utc,
                protocol=rec.protocol,
                status=rec.outcome,
                duration_s=rec.duration_s,
                score=g("score"),
                time_in_target=g("time_in_target"),
                rmssd_ms=g("rmssd_ms"),
                coherence=g("coherence"),
                breathing_bpm=g("breathing_bpm"),
                hr_bpm=g("hr_bpm"),
                clean_fraction=g("clean_fraction"),
                pain_pre=pre.pain if pre else None,
                pain_post=post.pain if post else None,
                stress_pre=pre.stress if pre else None,
                stress_post=post.stress if post else None,
                z=math.nan if old_scale else g("z"),
                assessment=_is_assessment(rec),
                z_old_scale=old_scale,
                recorded=not recorded_nothing(rec),
                ended=rec.ended,
                **{
                    f"{f}{COVERAGE_SUFFIX}": math.nan
                    if old_scale and f == "z"  # (no z, no share of it)
                    else _coverage_of(m, f)
                    for f in ROW_COVERAGES
                },
            )
        )
    return ProgressReport(
        patient_code=patient.code,
        patient_label=patient_label(patient.code, patient.name, with_name),
        with_name=with_name,
        resonance_bpm=patient.resonance_bpm,
        rows=tuple(rows),
        protocols={r.protocol: protocol_title(r.protocol) for r in rows},
        generated_utc=now or datetime.now(UTC),
    )


#: The means of a :class:`ProgressRow` that keep their coverage.
ROW_COVERAGES = ("z", "time_in_target", "hr_bpm", "rmssd_ms", "coherence", "breathing_bpm")


def _coverage_of(m: MetricMeans | None, field: str) -> float:
    """The share of its updates the mean ``field`` of ``m`` rests on; NaN without means."""
    return math.nan if m is None else m.coverage(field)


def _f(values: list[float | int | None]) -> np.ndarray:
    return np.array([math.nan if v is None else float(v) for v in values], dtype=float)


#: Most sessions labelled under a progress chart: more labels ("#id" over a date) overlap on a
#: panel of the report's width.
MAX_SESSION_LABELS = 8


def labelled_sessions(n: int, most: int = MAX_SESSION_LABELS) -> list[int]:
    """Indices of the sessions to label under a chart of ``n``: all up to ``most``, else about
    ``most`` evenly spaced, always the first and the last.

    Examples
    --------
    >>> labelled_sessions(5)
    [0, 1, 2, 3, 4]
    >>> labelled_sessions(20)
    [0, 3, 6, 9, 12, 15, 19]
    """
    if n <= most:
        return list(range(n))
    step = math.ceil((n - 1) / (most - 1))
    picked = list(range(0, n - 1, step))
    if n - 1 - picked[-1] <= step / 2:
        picked.pop()  # too close to the last, which is always labelled
    return [*picked, n - 1]


#: Colours of the protocols' series, in order of first appearance (Okabe & Ito; the grey and
#: the vermillion of the ratings' "before" and "after" are other charts).
PROTOCOL_COLORS = (ch.BLUE, ch.VERMILLION, ch.GREEN, ch.PURPLE, ch.ORANGE, ch.SKY)


def protocol_styles(protocols: Iterable[str]) -> dict[str, tuple[str, str]]:
    """The colour and marker of each protocol's series, in order of first appearance.

    The same on every panel of a report; no two of the first 36 protocols alike (the marker
    tells them apart in grey print too).

    Examples
    --------
    >>> protocol_styles(["a", "b", "a"])
    {'a': ('#0072B2', 'o'), 'b': ('#D55E00', 's')}
    """
    out: dict[str, tuple[str, str]] = {}
    n = len(PROTOCOL_COLORS)
    for name in protocols:
        if name not in out:
            i = len(out)
            out[name] = (PROTOCOL_COLORS[i % n], ch.SYMBOLS[(i + i // n) % len(ch.SYMBOLS)])
    return out


def protocol_series(
    rows: Sequence[ProgressRow],
    x: np.ndarray,
    values: list[float],
    titles: dict[str, str],
    leave_out: Callable[[ProgressRow], bool] = lambda r: False,
    thin: Callable[[ProgressRow], bool] = lambda r: False,
) -> tuple[ch.Series, ...]:
    """The series of one metric across sessions: for each protocol a line through its
    completed sessions (named by ``titles``), and hollow markers, not joined, at its sessions
    that did not complete (stopped early, interrupted...: a part of a session is no relapse)
    or whose mean is ``thin`` (rests on less than half of its phases: no value of the
    session), their legend saying which of the two there are (:func:`hollow_keys`).

    A session without a value leaves a gap in its protocol's line; the rows for which
    ``leave_out`` is true are not drawn.
    """
    y = _f(values)
    lines: list[ch.Series] = []
    apart: list[ch.Series] = []
    for name, (color, symbol) in protocol_styles(r.protocol for r in rows).items():
        mine = [i for i, r in enumerate(rows) if r.protocol == name and not leave_out(r)]
        title = titles.get(name, name)
        done = [i for i in mine if rows[i].completed and not thin(rows[i])]
        rest = [i for i in mine if i not in done]
        if done:
            lines.append(ch.Series(title, x[done], y[done], color, "linepoints", symbol=symbol))
        if rest:
            keys = hollow_keys([rows[i] for i in rest if math.isfinite(y[i])], thin)
            apart.append(
                ch.Series(
                    title,
                    x[rest],
                    y[rest],
                    color,
                    "points",
                    symbol=symbol,
                    hollow=True,
                    hollow_keys=keys,
                )
            )
    return (*lines, *apart)


#: What the hollow marker of a session whose mean is over less than half of its phases stands
#: for in a progress chart's legend (:func:`hollow_keys`).
THIN_KEY = "mean over less than half"


def hollow_keys(
    rows: Sequence[ProgressRow], thin: Callable[[ProgressRow], bool]
) -> tuple[str, ...]:
    """What the hollow markers of ``rows`` stand for in the legend: sessions that did not
    complete (:data:`~biotrainer.reports.charts.INCOMPLETE_KEY`), means over less than half
    of their phases (:data:`THIN_KEY`); each only when one of ``rows`` is so."""
    why = ((ch.INCOMPLETE_KEY, lambda r: not r.completed), (THIN_KEY, thin))
    return tuple(key for key, test in why if any(test(r) for r in rows))


def _is_assessment_row(r: ProgressRow) -> bool:
    return r.assessment


def progress_charts(
    rows: Sequence[ProgressRow], titles: dict[str, str] | None = None
) -> list[ch.Chart]:
    """Panels across sessions (x = session number, ticks = "#id date").

    Feedback against the person's baseline (mean z); time in target; RMSSD; coherence;
    breathing rate: one line per protocol (named by ``titles``, protocol name to title; by
    default the names), hollow markers for the sessions that did not complete and for means
    over less than half of their phases (see :func:`protocol_series`); resonance assessments
    give no feedback and are left out of the first two. Pain before/after; stress
    before/after. Panels without data are left out, except the ratings.
    """
    if not rows:
        return []
    titles = titles or {}
    x = np.arange(1, len(rows) + 1, dtype=float)
    ticks = tuple(
        (float(x[i]), f"#{rows[i].session_id}\n{local_date(rows[i].started_utc)}")
        for i in labelled_sessions(len(rows))
    )
    common = {"x_label": "session", "x_ticks": ticks}
    lp = "linepoints"

    def series(field: str, feedback: bool = False) -> tuple[ch.Series, ...]:
        values = [getattr(r, field) for r in rows]
        leave_out = _is_assessment_row if feedback else (lambda r: False)
        return protocol_series(rows, x, values, titles, leave_out, lambda r: r.thin(field))

    # (said in the title: the assessment's z, paced against natural breathing, is no feedback)
    left_out = "; resonance assessments left out" if any(r.assessment for r in rows) else ""
    old = sum(r.z_old_scale and not r.assessment for r in rows)  # (assessments: said above)
    z_left_out = left_out + (
        f"; {old} session{'s' if old > 1 else ''} scored on a scale used before 2026-11-29 left out"
        if old
        else ""
    )
    charts = [
        ch.Chart(
            "z",
            f"Feedback against the person's baseline (mean z-score{z_left_out})",
            "z",
            series("z", feedback=True),
            reference=0.0,
            min_span=2,
            keyed=True,
            **common,
        ),
        ch.Chart(
            "target",
            f"Time in target (share of clean training rewarded{left_out})",
            "0–1",
            series("time_in_target", feedback=True),
            y_range=(0.0, 1.0),
            keyed=True,
            **common,
        ),
        ch.Chart(
            "rmssd",
            "RMSSD (heart rate variability)",
            "ms",
            series("rmssd_ms"),
            min_span=10,
            keyed=True,
            **common,
        ),
        ch.Chart(
            "coherence",
            "HRV coherence ratio",
            "ratio",
            series("coherence"),
            min_span=1,
            keyed=True,
            **common,
        ),
        ch.Chart(
            "breathing",
            "Breathing rate",
            "breaths/min",
            series("breathing_bpm"),
            min_span=4,
            keyed=True,
            **common,
        ),
    ]
    charts = [c for c in charts if c.has_data]
    for what, label in (("pain", "Pain"), ("stress", "Stress")):
        series_ = (
            ch.Series("before", x, _f([getattr(r, f"{what}_pre") for r in rows]), ch.GREY, lp),
            ch.Series("after", x, _f([getattr(r, f"{what}_post") for r in rows]), ch.VERMILLION,
                      lp),
        )  # fmt: skip
        # kept without ratings (their absence is worth seeing), and said so
        rated = any(s.has_data for s in series_)
        title = f"{label} before and after each session (0–10)"
        charts.append(
            ch.Chart(
                what,
                title if rated else f"{title}: no ratings recorded",
                "0–10",
                series_,
                y_range=(0.0, 10.0),
                **common,
            )
        )
    return charts
