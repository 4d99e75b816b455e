"""What a session says once it is over: per-phase summaries, baseline vs training, quality.

The one per-phase summary of the project: the store, the reports, the end-of-session dialog and
the table printed by ``biotrainer run`` all use it, so the numbers agree wherever they are shown.

It reads the ``metrics.csv`` the engine writes (one row per feedback update, 10 per second of
data; columns are ``MetricUpdate.csv_columns()``) by column name, or the same rows made from the
live updates (:func:`series_from_updates`), so this module needs neither the engine nor Qt.
Averages are means of the finite values per phase; the reward fraction ("time in target") counts
clean, unpaused training updates only. Progress against the person's baseline is the mean z-score
(``feedback_z``): the feedback score is centred on the reward threshold, which moves, so its
means do not compare across phases or sessions. A baseline phase is the reference of the
z-scores, so it has no mean z of its own (:func:`z_outside_baselines`), and the baseline a
session's practice is compared with pools the baseline phases of the practice's eyes.

A missing or damaged ``metrics.csv`` (a recorder killed mid-line) yields what can be read plus
warnings, never a traceback.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from biotrainer.errors import RecordingError
from biotrainer.session.folder import METRICS_FILE
from biotrainer.session.quality_causes import count_causes

#: Columns read as numbers (missing ones become NaN).
NUMERIC_COLUMNS = (
    "session_s",
    "sample_time",
    "phase_index",
    "phase_elapsed_s",
    "pacer_bpm",
    "paused",
    "finished",
    "feedback_value",
    "feedback_z",
    "feedback_score",
    "rewarded",
    "threshold_z",
    "reward_rate",
    "target_reward_rate",
    "relaxation",
    "alpha",
    "hr_bpm",
    "rmssd_ms",
    "coherence",
    "breathing_bpm",
    "quality_ok",
    "heart_irregular",
)
#: Columns read as text.
TEXT_COLUMNS = (
    "phase_name",
    "phase_kind",
    "phase_eyes",
    "quality_reason",
    "source_state",
    "breathing_source",  # (empty in files written before it)
)
#: Columns a metrics.csv must have to be summarised.
REQUIRED_COLUMNS = ("session_s", "phase_index", "phase_name", "phase_kind")
#: Largest ``phase_index`` a row may hold (-1 is before the protocol starts, the number of
#: phases after it ends); a row with another value, or one that is not a whole number, is damaged.
MAX_PHASE_INDEX = 2**31 - 1


@dataclass(frozen=True)
class MetricSeries:
    """The time series of one ``metrics.csv``.

    Attributes
    ----------
    columns : dict of str to np.ndarray
        Numeric columns (float arrays, NaN where empty) and text columns (object arrays of str).
    warnings : tuple of str
        Damage found while reading (rows skipped).
    """

    columns: dict[str, np.ndarray]
    warnings: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.columns["session_s"].size)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]


def read_metrics(folder: str | os.PathLike[str]) -> MetricSeries:
    """Read ``metrics.csv`` of a session folder.

    Raises
    ------
    RecordingError
        If the file is missing, unreadable, or lacks the phase/time columns.
    """
    path = Path(folder) / METRICS_FILE
    if not path.is_file():
        raise RecordingError(
            f"{path} is missing: the session has no metrics (it was recorded without a protocol "
            "or stopped before it started)"
        )
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, csv.Error) as exc:
        raise RecordingError(f"cannot read {path}: {exc}") from exc
    if not rows:
        raise RecordingError(f"{path} is empty")
    header = rows[0]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise RecordingError(f"{path} is not a biotrainer metrics file: no column {missing[0]}")
    return _series(header, rows[1:])


def series_from_updates(updates: Iterable[Any]) -> MetricSeries:
    """The :class:`MetricSeries` that ``metrics.csv`` holds for these live updates.

    Parameters
    ----------
    updates : iterable of MetricUpdate
        As the engine returned them (:class:`biotrainer.engine.updates.MetricUpdate`; only its
        ``csv_columns()`` and ``csv_row()`` are used). Heartbeats -- the updates the engine
        sends while no new data arrives, which repeat the previous ``sample_time`` and are not
        written to ``metrics.csv`` -- are left out.

    Returns
    -------
    MetricSeries
        Equal, value for value, to :func:`read_metrics` of the session's folder: the rows go
        through the same text form (``csv_row``, rounded as written) and the same parser.
    """
    rows = MetricRows()
    rows.add(updates)
    return rows.series()


class MetricRows:
    """The rows ``metrics.csv`` gets for live updates, kept as compact columns while a session
    runs, so that it can be summarised at any time (:meth:`series`) without keeping the updates.

    An hour of updates (36,000) takes about 8 MB here, against about 55 MB as
    ``MetricUpdate`` objects of a 16-channel headset. Each cell goes through the text form of
    ``metrics.csv`` (``csv_row``, rounded as written) and is parsed as :func:`read_metrics`
    parses it, so :meth:`series` equals :func:`read_metrics` of the session's folder. Repeated
    texts (phase names, quality reasons) are stored once. The numbers are kept in blocks of
    :data:`BLOCK_ROWS` rows, so a long session's rows grow by a block at a time (a doubling
    array had grown by 13 MB at once, copying the whole table, near the second hour).
    """

    #: Rows of numbers per block (about 0.8 MB).
    BLOCK_ROWS = 4096

    def __init__(self) -> None:
        self._blocks: list[np.ndarray] = []
        self._texts: dict[str, list[str]] = {name: [] for name in TEXT_COLUMNS}
        self._pool: dict[str, str] = {}
        self._cells: tuple[list[tuple[int, int]], list[tuple[str, int]]] | None = None
        self._n = 0
        self._last = -math.inf

    def __len__(self) -> int:
        return self._n

    def add(self, updates: Iterable[Any]) -> None:
        """Add the rows of ``updates`` (MetricUpdate; heartbeats, which repeat the previous
        ``sample_time`` and are not written to ``metrics.csv``, are left out)."""
        for u in updates:
            if not u.sample_time > self._last:
                continue  # a heartbeat (or an update out of order): not in metrics.csv either
            self._last = u.sample_time
            if self._cells is None:
                index = {name: i for i, name in enumerate(u.csv_columns())}
                numeric = [(j, index[c]) for j, c in enumerate(NUMERIC_COLUMNS) if c in index]
                text = [(c, index[c]) for c in TEXT_COLUMNS if c in index]
                self._cells = (numeric, text)
            numeric, text = self._cells
            row = u.csv_row()
            at = self._n % self.BLOCK_ROWS
            if at == 0:
                self._blocks.append(np.full((self.BLOCK_ROWS, len(NUMERIC_COLUMNS)), math.nan))
            values = self._blocks[-1][at]
            for j, i in numeric:
                values[j] = number_or_nan(str(row[i]))
            for name, i in text:
                cell = str(row[i])
                self._texts[name].append(self._pool.setdefault(cell, cell))
            self._n += 1

    def series(self) -> MetricSeries:
        """The :class:`MetricSeries` of the rows so far (a copy: adding more leaves it alone)."""
        n = self._n
        numbers = (
            np.concatenate(self._blocks)[:n]
            if self._blocks
            else np.empty((0, len(NUMERIC_COLUMNS)))
        )
        columns: dict[str, np.ndarray] = {
            name: numbers[:, j].copy() for j, name in enumerate(NUMERIC_COLUMNS)
        }
        for name in TEXT_COLUMNS:
            cells = self._texts[name] if self._texts[name] else [""] * n
            columns[name] = np.array(cells, dtype=object).reshape(n)
        return _checked_series(columns, 0)


def _series(header: list[str], rows: list[list[str]]) -> MetricSeries:
    """Parse the rows of a metrics table (text cells) by column name; damaged rows (a wrong
    number of cells, no finite ``session_s``, a ``phase_index`` that is not a whole number from
    -1 to :data:`MAX_PHASE_INDEX`) are skipped with a warning."""
    index = {name: i for i, name in enumerate(header)}
    good = []
    skipped = 0
    for row in rows:
        if len(row) != len(header):
            skipped += 1
            continue
        good.append(row)
    columns: dict[str, np.ndarray] = {}
    for name in NUMERIC_COLUMNS:
        i = index.get(name)
        columns[name] = np.array(
            [number_or_nan(r[i]) for r in good] if i is not None else [math.nan] * len(good),
            dtype=float,
        )
    for name in TEXT_COLUMNS:
        i = index.get(name)
        columns[name] = np.array([r[i] if i is not None else "" for r in good], dtype=object)
    return _checked_series(columns, skipped)


def _checked_series(columns: dict[str, np.ndarray], skipped: int) -> MetricSeries:
    """The series of ``columns`` without its damaged rows (no finite ``session_s``, a
    ``phase_index`` that is not a whole number from -1 to :data:`MAX_PHASE_INDEX`), with a
    warning counting them and the ``skipped`` ones."""
    phase = columns["phase_index"]  # (NaN and the infinities fail the range: damaged too)
    whole = (phase >= -1) & (phase <= MAX_PHASE_INDEX) & (phase == np.floor(phase))
    bad = ~np.isfinite(columns["session_s"]) | ~whole
    if bad.any():
        skipped += int(bad.sum())
        keep = ~bad
        columns = {k: v[keep] for k, v in columns.items()}
    warnings = ()
    if skipped:
        warnings = (f"{METRICS_FILE}: {skipped} damaged row(s) skipped",)
    return MetricSeries(columns, warnings)


def number_or_nan(text: str) -> float:
    """``text`` as a float; NaN when it is empty or not a number (a damaged cell)."""
    try:
        return float(text) if text else math.nan
    except ValueError:
        return math.nan


def _mean(a: np.ndarray) -> float:
    a = a[np.isfinite(a)]
    if not a.size:
        return math.nan
    with np.errstate(over="ignore"):  # (a damaged metrics.csv: inf, not a warning on stderr)
        return float(a.mean())


@dataclass(frozen=True)
class MetricMeans:
    """Means over a set of updates (NaN where a metric was never available).

    Attributes
    ----------
    duration_s : float
        Protocol seconds covered.
    score : float
        Mean feedback score (0-1; 0.5 = the reward threshold, above it while rewarded) over the
        clean, unpaused updates (those ``time_in_target`` counts). Relative to a threshold that
        moves: use ``z`` to compare phases or sessions.
    time_in_target : float
        Fraction (0-1) of clean, unpaused training updates that were rewarded (NaN outside
        training): the "reward rate" the auto-threshold aims at.
    relaxation : float
        Mean EEG relaxation index (0-1) over the clean updates.
    hr_bpm, rmssd_ms, coherence, breathing_bpm : float
        Mean heart rate (beats/min), RMSSD (ms), HRV coherence (0-1), breathing rate (breaths/min).
    clean_fraction : float
        Fraction (0-1) of updates whose signals were clean enough for feedback.
    z : float
        Mean z-score of the feedback metric against the person's baseline (``feedback_z``) over
        the clean, unpaused updates: the progress against the baseline (NaN in summaries stored
        before it existed). NaN in a baseline phase, the reference of the z-scores (see
        :func:`z_outside_baselines`; its share 0). While a signal is not clean the engine
        holds the feedback down (an artifact may lower it, never raise it), so those updates
        say nothing of the person: a few seconds of blinks took a session's mean z from -0.6
        to -1.5 when they were counted.
    z_coverage, relaxation_coverage, hr_bpm_coverage, rmssd_ms_coverage : float
        The share (0-1) of the updates of these means that the mean of ``z``, ``relaxation``...
        rests on: the rows it is taken over (see :data:`MEAN_COLUMNS`) that have a value (0
        for a mean over none; NaN where not known: summaries stored before it was kept). A mean
        over less than :data:`MIN_COVERAGE` of them is no value of the phase without saying so
        (see :meth:`thin`): a phase's RMSSD of 116.7 ms rested on 38 of its 600 rows, the beats
        too irregular for the rest.
    coherence_coverage, breathing_bpm_coverage : float
        Likewise for ``coherence`` and ``breathing_bpm``.
    alpha, alpha_coverage : float
        Mean relative alpha (0-1: alpha power over alpha and its neighbouring bands, the value
        an alpha protocol trains) over the clean updates, and the share of the updates it rests
        on (NaN in summaries stored before it was kept).
    time_in_target_coverage : float
        The share (0-1) of the training updates ``time_in_target`` rests on: the clean,
        unpaused ones (NaN outside training, and in summaries stored before it was kept). A
        session whose EEG was flat for 77 % of its training showed 54 % in target, only 12 % of
        its training rewarded.
    """

    duration_s: float
    score: float
    time_in_target: float
    relaxation: float
    hr_bpm: float
    rmssd_ms: float
    coherence: float
    breathing_bpm: float
    clean_fraction: float
    z: float = math.nan
    z_coverage: float = math.nan
    relaxation_coverage: float = math.nan
    hr_bpm_coverage: float = math.nan
    rmssd_ms_coverage: float = math.nan
    coherence_coverage: float = math.nan
    breathing_bpm_coverage: float = math.nan
    alpha: float = math.nan
    alpha_coverage: float = math.nan
    time_in_target_coverage: float = math.nan

    def coverage(self, field: str) -> float:
        """The share (0-1) of its updates the mean ``field`` ("z", "rmssd_ms"...) rests on;
        NaN when not known (a stored summary from before it was kept, a mean of
        :class:`MetricMeans` without a coverage such as ``score``)."""
        return float(getattr(self, f"{field}{COVERAGE_SUFFIX}", math.nan))

    def thin(self, field: str) -> bool:
        """Whether the mean ``field`` rests on too small a share of its updates to be read as
        their value without saying so (see :func:`thin_share`)."""
        return thin_share(self.coverage(field))


#: What the coverage field of a mean of :class:`MetricMeans` adds to its name ("rmssd_ms" ->
#: "rmssd_ms_coverage").
COVERAGE_SUFFIX = "_coverage"

#: Least share of its updates a mean of :class:`MetricMeans` must rest on to be read as the
#: value of its phase (or pooled phases) without saying on what share: a phase's RMSSD from 38
#: of its 600 rows, the beats too irregular for the rest, was read as the phase's.
MIN_COVERAGE = 0.5

#: The means of :class:`MetricMeans` that keep their coverage: the metrics column each is of,
#: and the rows of its updates it is taken over ("all" of them, the "clean" ones, or the clean
#: and unpaused ones it "counts").
MEAN_COLUMNS: dict[str, tuple[str, str]] = {
    "z": ("feedback_z", "counted"),
    "relaxation": ("relaxation", "clean"),
    "alpha": ("alpha", "clean"),
    "hr_bpm": ("hr_bpm", "all"),
    "rmssd_ms": ("rmssd_ms", "all"),
    "coherence": ("coherence", "all"),
    "breathing_bpm": ("breathing_bpm", "all"),
}


def thin_share(share: float | None) -> bool:
    """Whether a mean resting on ``share`` (0-1) of its updates must say so: under
    :data:`MIN_COVERAGE`, and over some of them (a mean over none is no value, shown as such);
    False for a share not known (None or NaN)."""
    return share is not None and 0 < share < MIN_COVERAGE


@dataclass(frozen=True)
class PhaseStats:
    """One protocol phase (index, name, kind) and its :class:`MetricMeans`."""

    index: int
    name: str
    kind: str
    start_s: float
    means: MetricMeans


@dataclass(frozen=True)
class QualityStats:
    """Signal quality over the whole session.

    Attributes
    ----------
    clean_fraction : float
        Fraction (0-1) of updates with signals clean enough for feedback.
    lost_fraction : float
        Fraction (0-1) of updates while the device was not streaming (signal lost...).
    reasons : tuple of (str, float)
        The most frequent causes of unclean signal, by kind
        (:func:`~biotrainer.session.quality_causes.count_causes`), and the fraction of updates
        each covers (an update with two kinds counts for both).
    """

    clean_fraction: float
    lost_fraction: float
    reasons: tuple[tuple[str, float], ...]


#: The kinds of phase a session practises (:meth:`SessionSummary.practice_of`): training, or
#: the paced breathing of a resonance assessment.
PRACTICE_KINDS = ("training", "pacing")

#: How a summary is computed: 2 since the feedback means (z, score, relaxation) cover clean
#: updates only (1: every update); 3 since its means keep the share of their updates they rest
#: on (``MetricMeans.z_coverage``...); 4 since a baseline phase's z is taken against the baseline
#: it ended with; 5 since it keeps the mean relative alpha (``MetricMeans.alpha``), its causes
#: of unclean signal leave the wait for the first second of EEG out, a baseline phase has no
#: mean z (:func:`z_outside_baselines`) and ``baseline`` pools the baseline phases of the
#: practice's eyes; 6 since its means keep the share of training time in target rests on
#: (``MetricMeans.time_in_target_coverage``). A stored summary of an older version is computed
#: again.
SUMMARY_VERSION = 6


@dataclass(frozen=True)
class SessionSummary:
    """A session summarised: phases, baseline vs training, overall, quality.

    ``training`` / ``pacing`` pool every phase of that kind, ``baseline`` the baseline phases
    the practice is compared with: those of the eyes of its first training (else paced
    breathing) phase where the recording says, else all (None when the protocol has none;
    ``pacing`` is None in summaries stored before it was kept). ``version``
    is :data:`SUMMARY_VERSION` when computed (1 in summaries stored before it was kept): a
    stored summary of an older version is computed again from its folder where it can be.
    """

    duration_s: float
    n_updates: int
    phases: tuple[PhaseStats, ...]
    baseline: MetricMeans | None
    training: MetricMeans | None
    overall: MetricMeans | None
    quality: QualityStats
    warnings: tuple[str, ...] = ()
    pacing: MetricMeans | None = None
    version: int = SUMMARY_VERSION

    def practice_of(self, protocol_kinds: Collection[str] | None) -> MetricMeans | None:
        """The means of what the session practised: its figures in lists and progress reports.

        Parameters
        ----------
        protocol_kinds : collection of str or None
            The kinds of phase of the session's protocol (all of them, reached or not); None
            when not known.

        Returns
        -------
        MetricMeans or None
            Its training phases' means, else its paced breathing phases' (a resonance
            assessment; the whole session's in a summary stored before they were pooled). A
            session that reached neither: the whole session's means when its protocol has
            neither (nothing else to practise); else (or when the protocol is not known) None:
            a session stopped during its baseline has no figures, its baseline is no result.
        """
        pooled = self.training or self.pacing
        if pooled is not None:
            return pooled
        if self.reached_practice:
            return self.overall
        if protocol_kinds is None or set(protocol_kinds) & set(PRACTICE_KINDS):
            return None
        return self.overall

    @property
    def practice(self) -> MetricMeans | None:
        """:meth:`practice_of` a protocol not known: the means of the training phases, else of
        the paced breathing phases; None for a session that reached neither (lists and reports
        ask with the protocol's phases, which may have neither: then the whole session)."""
        return self.practice_of(None)

    @property
    def reached_practice(self) -> bool:
        """The session reached a training or paced breathing phase (see
        :meth:`practice_of`)."""
        return any(p.kind in PRACTICE_KINDS for p in self.phases)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN -> None)."""
        return _clean(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SessionSummary:
        """Inverse of :meth:`to_dict` (None -> NaN); tolerant of missing keys."""

        def means(m: Any) -> MetricMeans | None:
            if not isinstance(m, dict):
                return None
            return MetricMeans(**{f.name: _f(m.get(f.name)) for f in fields(MetricMeans)})

        q = d.get("quality") or {}
        return cls(
            duration_s=_f(d.get("duration_s")),
            n_updates=int(d.get("n_updates") or 0),
            phases=tuple(
                PhaseStats(
                    index=int(p.get("index", i)),
                    name=str(p.get("name", "")),
                    kind=str(p.get("kind", "")),
                    start_s=_f(p.get("start_s")),
                    means=means(p.get("means")) or EMPTY_MEANS,
                )
                for i, p in enumerate(d.get("phases") or [])
            ),
            baseline=means(d.get("baseline")),
            training=means(d.get("training")),
            overall=means(d.get("overall")),
            quality=QualityStats(
                clean_fraction=_f(q.get("clean_fraction")),
                lost_fraction=_f(q.get("lost_fraction")),
                reasons=tuple((str(r), _f(v)) for r, v in (q.get("reasons") or [])),
            ),
            warnings=tuple(str(w) for w in d.get("warnings") or ()),
            pacing=means(d.get("pacing")),
            version=_version(d.get("version")),
        )


def _version(v: Any) -> int:
    """A stored summary's version (1 when absent or not a whole number)."""
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else 1


EMPTY_MEANS = MetricMeans(*(math.nan,) * len(fields(MetricMeans)))


def _f(v: Any) -> float:
    try:
        return math.nan if v is None else float(v)
    except (TypeError, ValueError):
        return math.nan


def _clean(x: Any) -> Any:
    if isinstance(x, float):
        return None if not math.isfinite(x) else x
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def _row_sets(s: MetricSeries, mask: np.ndarray) -> dict[str, np.ndarray]:
    """The rows of ``mask`` the means are taken over, by the names of :data:`MEAN_COLUMNS`:
    "all" of them, the "clean" ones, and the clean and unpaused ones feedback "counts"."""
    clean = mask & (s["quality_ok"] == 1)
    return {"all": mask, "clean": clean, "counted": clean & (s["paused"] != 1)}


def mean_coverage(series: MetricSeries, mask: np.ndarray) -> dict[str, float]:
    """The share of the rows in ``mask`` each mean of :data:`MEAN_COLUMNS` rests on.

    Parameters
    ----------
    series : MetricSeries
    mask : numpy.ndarray of bool
        The rows of a phase (or of all phases of a kind), from :func:`phase_rows`.

    Returns
    -------
    dict of str to float
        By :class:`MetricMeans` field: the rows the mean is taken over that have a finite
        value, as a share (0-1) of the rows in ``mask``; empty when ``mask`` has no rows.
    """
    n = int(mask.sum())
    if not n:
        return {}
    rows = _row_sets(series, mask)
    return {
        field: int((rows[which] & np.isfinite(series[column])).sum()) / n
        for field, (column, which) in MEAN_COLUMNS.items()
    }


def _means(s: MetricSeries, mask: np.ndarray, durations: float, training: bool) -> MetricMeans:
    rows = _row_sets(s, mask)
    clean, counted = rows["clean"], rows["counted"]
    n = int(mask.sum())
    reward = reward_coverage = math.nan
    if training and n:
        reward_coverage = float(counted.sum() / n)
    if training and counted.any():
        reward = float((s["rewarded"][counted] == 1).mean())
    means = {
        field: _mean(s[column][rows[which]]) for field, (column, which) in MEAN_COLUMNS.items()
    }
    coverage = {f"{f}{COVERAGE_SUFFIX}": share for f, share in mean_coverage(s, mask).items()}
    return MetricMeans(
        duration_s=durations,
        score=_mean(s["feedback_score"][counted]),
        time_in_target=reward,
        time_in_target_coverage=reward_coverage,
        clean_fraction=float(clean.sum() / n) if n else math.nan,
        **means,
        **coverage,
    )


def phase_rows(series: MetricSeries) -> np.ndarray:
    """Which rows of ``series`` lie in a phase of the protocol (not before it, not after its
    end): the rows every summary and report share counts."""
    return (series["phase_index"] >= 0) & (series["finished"] != 1)


def irregular_heart_share(series: MetricSeries) -> float:
    """The share of the protocol's rows (:func:`phase_rows`) in which the heart beats were too
    irregular to measure variability (``heart_irregular``: RMSSD NaN there, coherence and
    breathing rate over their own windows likewise); 0 for a recording made before the column
    existed or without rows."""
    valid = phase_rows(series)
    n = int(valid.sum())
    return int((valid & (series["heart_irregular"] == 1)).sum()) / n if n else 0.0


def z_outside_baselines(series: MetricSeries) -> np.ndarray:
    """The ``feedback_z`` column as the summaries average it: NaN in every baseline phase.

    A baseline is the reference of the z-scores, so it has no z of its own. Live, an update of
    a baseline phase is scored against the baseline learnt so far, the only reference there is
    at that moment; averaged, those z-scores describe how the baseline was learnt, not the
    person: on a Muse recording of meditation, training that lay 0.31 above its baseline was
    reported as 0.25 *below* it, the baseline phase's own z-scores averaging +0.55. Nor is a
    baseline phase's mean against the baseline it ended with a figure of it: an eyes-closed
    baseline is scored against the eyes-closed baseline it makes, not against the eyes-open one
    the training is scored against, and a baseline phase after training joins the baseline of
    the phases before it.

    Parameters
    ----------
    series : MetricSeries

    Returns
    -------
    numpy.ndarray
        A new array; the series is not changed.
    """
    z = np.array(series["feedback_z"], dtype=np.float64)
    z[series["phase_kind"] == "baseline"] = math.nan
    return z


def _practice_baselines(phases: Sequence[PhaseStats], eyes: dict[int, str]) -> list[int]:
    """The baseline phases (indices) a session's practice is compared with: those of the eyes
    of its first training phase (else paced breathing phase) when the recording says
    (``phase_eyes``: an eyes-closed baseline's alpha is no reference for eyes-open training;
    the engine scores each phase against the baseline of its eyes), every baseline phase
    otherwise."""
    baselines = [p.index for p in phases if p.kind == "baseline"]
    practice = next((p.index for k in PRACTICE_KINDS for p in phases if p.kind == k), None)
    want = eyes.get(practice, "") if practice is not None else ""
    return [i for i in baselines if want and eyes.get(i) == want] or baselines


def summarize_series(series: MetricSeries, max_reasons: int = 5) -> SessionSummary:
    """Summarise a :class:`MetricSeries` (see :class:`SessionSummary`)."""
    s = MetricSeries({**series.columns, "feedback_z": z_outside_baselines(series)}, series.warnings)
    valid = phase_rows(s)
    phases: list[PhaseStats] = []
    kind_masks: dict[str, np.ndarray] = {}
    kind_durations: dict[str, float] = {}
    phase_masks: dict[int, np.ndarray] = {}
    phase_eyes: dict[int, str] = {}
    for index in dict.fromkeys(int(i) for i in s["phase_index"][valid]):
        mask = valid & (s["phase_index"] == index)
        first = int(np.flatnonzero(mask)[0])
        kind = str(s["phase_kind"][first])
        t = s["session_s"][mask]
        duration = float(t[-1] - t[0])
        phases.append(
            PhaseStats(
                index=index,
                name=str(s["phase_name"][first]),
                kind=kind,
                start_s=float(t[0]),
                means=_means(s, mask, duration, kind == "training"),
            )
        )
        kind_masks[kind] = kind_masks.get(kind, np.zeros_like(mask)) | mask
        kind_durations[kind] = kind_durations.get(kind, 0.0) + duration
        phase_masks[index], phase_eyes[index] = mask, str(s["phase_eyes"][first])

    def pooled(kind: str) -> MetricMeans | None:
        if kind not in kind_masks:
            return None
        return _means(s, kind_masks[kind], kind_durations[kind], kind == "training")

    baseline = None
    if "baseline" in kind_masks:
        chosen = _practice_baselines(phases, phase_eyes)
        mask = np.logical_or.reduce([phase_masks[i] for i in chosen])
        seconds = sum(p.means.duration_s for p in phases if p.index in chosen)
        baseline = _means(s, mask, seconds, False)

    n = int(valid.sum())
    overall = None
    if n:
        overall = _means(s, valid, sum(kind_durations.values()), False)
        if "training" in kind_masks:
            overall = _replace_reward(overall, pooled("training"))
    unclean = valid & (s["quality_ok"] != 1)
    counts = count_causes(str(r) for r in s["quality_reason"][unclean])
    reasons = tuple((r, c / n) for r, c in counts[:max_reasons]) if n else ()
    lost = valid & (s["source_state"] != "streaming") & (s["source_state"] != "")
    quality = QualityStats(
        clean_fraction=float((valid & (s["quality_ok"] == 1)).sum() / n) if n else math.nan,
        lost_fraction=float(lost.sum() / n) if n else math.nan,
        reasons=reasons,
    )
    duration = float(s["session_s"][valid].max() - s["session_s"][valid].min()) if n else 0.0
    return SessionSummary(
        duration_s=duration,
        n_updates=n,
        phases=tuple(phases),
        baseline=baseline,
        training=pooled("training"),
        overall=overall,
        quality=quality,
        warnings=series.warnings,
        pacing=pooled("pacing"),
    )


def _replace_reward(m: MetricMeans, training: MetricMeans | None) -> MetricMeans:
    if training is None:
        return replace(m, time_in_target=math.nan, time_in_target_coverage=math.nan)
    return replace(
        m,
        time_in_target=training.time_in_target,
        time_in_target_coverage=training.time_in_target_coverage,
    )


def summarize_folder(folder: str | os.PathLike[str]) -> SessionSummary:
    """Read and summarise ``metrics.csv`` of a session folder (RecordingError if unusable)."""
    return summarize_series(read_metrics(folder))


def summarize_updates(updates: Iterable[Any]) -> SessionSummary:
    """Summarise live updates (heartbeats left out, see :func:`series_from_updates`): the same
    :class:`SessionSummary` as :func:`summarize_folder` of the session's recording."""
    return summarize_series(series_from_updates(updates))


#: What the table of :func:`format_phases` says under it when a mean in it is marked thin.
THIN_MEAN_NOTE = (
    "* mean over less than half of the phase (no value for the rest: signal unclean or lost, "
    "or heart beats too irregular)"
)


def format_phases(phases: Sequence[PhaseStats]) -> str:
    """A plain-text table of the phases of a :class:`SessionSummary` (``biotrainer run``); ``z``
    is the mean feedback z-score against the person's baseline. A mean over a thin share of its
    phase (:meth:`MetricMeans.thin`) is followed by "*", explained once under the table."""

    def f(x: float, nd: int = 1) -> str:
        return "-" if not math.isfinite(x) else f"{x:.{nd}f}"

    lines = [
        f"{'phase':28s} {'min':>5s} {'z':>6s} {'reward':>6s} {'clean':>6s} "
        f"{'HR':>6s} {'RMSSD':>6s} {'coher':>6s} {'breath':>6s}"
    ]
    marked = False
    for p in phases:
        m = p.means
        cells = [
            (f(m.z, 1), m.thin("z")),
            (f(100 * m.time_in_target, 0), m.thin("time_in_target")),
            (f(100 * m.clean_fraction, 0), False),
            (f(m.hr_bpm), m.thin("hr_bpm")),
            (f(m.rmssd_ms), m.thin("rmssd_ms")),
            (f(m.coherence, 2), m.thin("coherence")),
            (f(m.breathing_bpm), m.thin("breathing_bpm")),
        ]
        lines.append(f"{p.name[:28]:28s} {m.duration_s / 60:5.1f}" + _marked_cells(cells))
        marked = marked or any(thin for _, thin in cells)
    if marked:
        lines.append(THIN_MEAN_NOTE)
    return "\n".join(lines)


def _marked_cells(cells: Sequence[tuple[str, bool]]) -> str:
    """Cells of :func:`format_phases`, each right-aligned in 6 characters after a space; a
    marked one's "*" takes the place of the space after it, so the columns stay where an
    unmarked table has them."""
    out = ""
    after_mark = False
    for text, mark in cells:
        out += ("*" if after_mark else " ") + f"{text:>6s}"
        after_mark = mark
    return out + ("*" if after_mark else "")
