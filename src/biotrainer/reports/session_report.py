"""Everything a session report shows, gathered from the store and the session folder."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from biotrainer.acquisition.counter import SUMMARY_START as LOSS_SUMMARY_START
from biotrainer.acquisition.counter import is_passing_loss_note
from biotrainer.acquisition.source import EVENT_SOURCE_NOTE
from biotrainer.engine.protocol import Protocol, load_protocol
from biotrainer.engine.resonance import ResonanceResult
from biotrainer.engine.updates import BREATHING_FROM_HEART, BREATHING_FROM_RESP
from biotrainer.errors import BiotrainerError, RecordingError
from biotrainer.reports import charts as ch
from biotrainer.reports.format import duration, mask_name
from biotrainer.reports.session_events import (
    LOST_KIND,
    PAUSE_KIND,
    ProtocolClock,
    Span,
    TimelineEntry,
    first_sample_time,
    loss_spans,
    lost_rows,
    open_loss,
    pause_spans,
    resonance_from_events,
    timeline,
    totals,
)
from biotrainer.session.analysis import (
    MetricSeries,
    SessionSummary,
    irregular_heart_share,
    phase_rows,
    read_metrics,
    summarize_series,
)
from biotrainer.session.analysis import (
    mean_coverage as mean_coverage,  # (re-exported: it was here before the summaries kept it)
)
from biotrainer.session.folder import ENDED_DEVICE_FAILED, ENDED_SOURCE, read_meta
from biotrainer.session.reader import Event, load_events
from biotrainer.session.store import (
    NOTHING_RECORDED,
    OUTCOME_DEVICE_FAILED,
    OUTCOME_STOPPED,
    Marker,
    SelfReport,
    SessionRecord,
    Store,
)


@dataclass(frozen=True)
class SignalShares:
    """The signal-quality shares a session report prints, from the rows its losses are listed
    from (so the two agree): every metrics row is ``interval_s`` of data, and a loss never
    restored (no rows) counts with its listed length.

    Attributes
    ----------
    clean_fraction, lost_fraction : float
        Share (0-1) of the session clean enough for feedback / with the device not streaming.
    reasons : tuple of (str, float)
        The most frequent reasons for unclean signal and their shares, most frequent first.
    covered_s : float
        Seconds the shares are of.
    """

    clean_fraction: float
    lost_fraction: float
    reasons: tuple[tuple[str, float], ...]
    covered_s: float


#: Least protocol time (s) a session must have recorded for its charts to be drawn (a shorter
#: one's report says so in words, and cautions that its means cover seconds).
MIN_CHART_S = 30.0
#: Fewest means with data a session's chart needs to show a course (one is a dot, two a
#: segment): with fewer, the report says so in words instead.
MIN_CHART_POINTS = 3
#: Least time (s) of training (or paced breathing) whose means are read without a caution.
MIN_PRACTICE_S = 30.0


@dataclass(frozen=True)
class SessionReport:
    """A session report's content.

    Attributes
    ----------
    session : SessionRecord
    patient_label : str
        The patient code (and name when the report was asked ``with_name``).
    with_name : bool
    protocol_title : str
        The protocol's title when it can be loaded, else its name.
    summary : SessionSummary or None
        Recomputed from the folder when readable (else the stored one).
    series : MetricSeries or None
        The metric time series (None when metrics.csv cannot be read).
    self_reports : dict of str to SelfReport
    markers : tuple of Marker
        Markers and notes as the store has them (times from the first sample; the patient's
        name masked unless ``with_name``).
    warnings : tuple of str
        What the reader should know (interrupted, damaged rows, missing metrics...).
    generated_utc : datetime
    timeline : tuple of TimelineEntry
        The markers, notes and pauses by time, on the charts' protocol clock when
        ``on_protocol_clock`` (else from the first sample: no metrics to map them with).
    on_protocol_clock : bool
    pauses : tuple of (int, float)
        How many pauses, and the seconds they lasted.
    losses : tuple of (int, float)
        How many signal losses, and the seconds they lasted (see :data:`spans`).
    spans : tuple of Span
        The pauses and signal losses (listed in ``timeline`` and shaded on the charts).
    shares : SignalShares or None
        The clean / not-streaming shares, consistent with the listed losses (None without
        readable metrics: then the summary's quality figures are all there is).
    resonance : ResonanceResult or None
        A resonance assessment's result (chosen rate and the rates tried), as the engine
        logged it; None for other sessions and for an assessment that did not reach its end.
    assessment : bool
        The session measured paced-breathing phases (a resonance assessment).
    """

    session: SessionRecord
    patient_label: str
    with_name: bool
    protocol_title: str
    summary: SessionSummary | None
    series: MetricSeries | None
    self_reports: dict[str, SelfReport]
    markers: tuple[Marker, ...]
    warnings: tuple[str, ...]
    generated_utc: datetime
    timeline: tuple[TimelineEntry, ...] = ()
    on_protocol_clock: bool = False
    pauses: tuple[int, float] = (0, 0.0)
    resonance: ResonanceResult | None = None
    assessment: bool = False
    losses: tuple[int, float] = (0, 0.0)
    spans: tuple[Span, ...] = ()
    shares: SignalShares | None = None

    def charts(self) -> list[ch.Chart]:
        """The metric-over-time panels that have data (see :func:`session_charts`), with the
        pauses and signal losses marked when on the protocol clock."""
        if self.series is None:
            return []
        spans = self.spans if self.on_protocol_clock else ()
        return session_charts(self.series, self.summary, spans)

    @property
    def recorded_s(self) -> float | None:
        """The protocol seconds the session recorded (its duration), None when unknown."""
        s = self.summary
        return s.duration_s if s is not None and math.isfinite(s.duration_s) else None

    @property
    def cautions(self) -> tuple[str, ...]:
        """What the report says before its figures besides :attr:`warnings` (see
        :func:`short_session_notes`; none for a session of normal length)."""
        return tuple(short_session_notes(self))


def short_session_notes(report: SessionReport) -> list[str]:
    """What a report of a very short session should say before its figures.

    Parameters
    ----------
    report : SessionReport

    Returns
    -------
    list of str
        That its means cover only seconds (under :data:`MIN_CHART_S` recorded, or under
        :data:`MIN_PRACTICE_S` of training or paced breathing), or that it ended during its
        baseline (its "Baseline vs training" table has nothing to compare); none already in
        ``report.warnings``, none for a session of normal length.
    """
    s = report.summary
    recorded = report.recorded_s
    if s is None or recorded is None or not s.n_updates:
        return []
    notes = []
    if recorded < MIN_CHART_S:
        notes.append(
            f"Only {duration(recorded)} was recorded: too short for the means below to describe "
            "a session."
        )
    practice, what = (s.training, "training") if s.training else (s.pacing, "paced breathing")
    if practice is not None and recorded >= MIN_CHART_S and practice.duration_s < MIN_PRACTICE_S:
        notes.append(
            f"Only {duration(practice.duration_s)} of {what} was recorded: too short for its "
            "means to describe the practice."
        )
    ended = report.session.ended_early or report.session.interrupted
    if ended and practice is None and s.baseline is not None:
        notes.append(
            "The session ended during its baseline: nothing came after it to compare with the "
            "baseline."
        )
    return [n for n in notes if n not in report.warnings]


def irregular_heart_notes(series: MetricSeries) -> list[str]:
    """What a report says when the heart beats were too irregular to measure for part of the
    session (:func:`~biotrainer.session.analysis.irregular_heart_share`); nothing otherwise."""
    share = irregular_heart_share(series)
    if share <= 0:
        return []
    part = f"{100 * share:.0f} %" if share >= 0.01 else "under 1 %"
    return [
        f"The heart beats were too irregular to measure heart-rate variability for {part} of "
        "the session (a heart sensor moving or loose, or irregular beats): its heart-rate "
        "variability figures are means over the rest."
    ]


def installed_protocol(name: str) -> Protocol | None:
    """The protocol called ``name``, None when it is not installed any more."""
    try:
        return load_protocol(name)
    except (BiotrainerError, OSError, ValueError):
        return None


def protocol_title(name: str, protocol: Protocol | None = None) -> str:
    """The protocol's title (``protocol``'s, else the installed one called ``name``), or its
    name when it is not installed any more."""
    protocol = protocol or installed_protocol(name)
    return protocol.title if protocol is not None else name


def recorded_nothing(rec: SessionRecord) -> bool:
    """The session closed before its first sample: its stored summary says nothing was
    recorded (:data:`~biotrainer.session.store.NOTHING_RECORDED`, set by the store when the
    closed recording holds no sample). Such a session is listed as interrupted."""
    return rec.summary is not None and NOTHING_RECORDED in rec.summary.warnings


#: Who or what ended a session that :func:`recorded_nothing`, by how it ended
#: (:attr:`~biotrainer.session.store.SessionRecord.ended`); otherwise it was stopped.
_NOTHING_RECORDED_BY = {
    ENDED_DEVICE_FAILED: "the device failed",
    ENDED_SOURCE: "the device or recording ended",
}


def nothing_recorded_phrase(ended: str | None) -> str:
    """How a session that :func:`recorded_nothing` ended (``ended``: its
    :attr:`~biotrainer.session.store.SessionRecord.ended`), without a capital: "stopped before
    any signal was recorded", "the device failed before..."."""
    return f"{_NOTHING_RECORDED_BY.get(ended or '', 'stopped')} before any signal was recorded"


def nothing_recorded_warning(rec: SessionRecord) -> str:
    """What a report says of a session that :func:`recorded_nothing` (in place of "the figures
    cover what was recorded")."""
    what = _NOTHING_RECORDED_BY.get(rec.ended or "", "this session was stopped")
    return f"{what[0].upper()}{what[1:]} before any signal was recorded: there are no figures."


def ended_early_warning(
    rec: SessionRecord, summary: SessionSummary | None, protocol: Protocol | None
) -> str | None:
    """What a report says of a session that ended before its protocol's end (else None);
    ``protocol``: the session's protocol, None when it is not installed any more."""
    if not rec.ended_early:
        return None
    done = summary.duration_s if summary is not None else None
    span = f"after {duration(done)}"
    if protocol is not None:
        span += f" of the protocol's {duration(protocol.duration_s)}"
    if rec.outcome == OUTCOME_STOPPED:
        return f"This session was stopped early ({span}): the figures cover what was recorded."
    if rec.outcome == OUTCOME_DEVICE_FAILED:
        return (
            f"The device failed before the end of the protocol ({span}): the figures cover "
            "what was recorded."
        )
    return (
        f"The device or recording stopped delivering signal before the end of the protocol "
        f"({span}): the figures cover what was recorded."
    )


def signal_shares(
    series: MetricSeries,
    summary: SessionSummary,
    interval_s: float,
    open_s: float = 0.0,
) -> SignalShares | None:
    """The clean / not-streaming shares of ``series`` (``summary`` its summary, for the
    reasons), with ``open_s`` seconds of a loss never restored added as not streaming."""
    valid = phase_rows(series)
    n = int(valid.sum())
    covered = n * interval_s + open_s
    if not covered > 0:
        return None
    clean = int((valid & (series["quality_ok"] == 1)).sum()) * interval_s
    lost = int(lost_rows(series).sum()) * interval_s + open_s
    reasons = {r: f * n * interval_s for r, f in summary.quality.reasons}
    if open_s > 0:
        reasons[LOST_KIND] = reasons.get(LOST_KIND, 0.0) + open_s
    ranked = sorted(reasons.items(), key=lambda kv: -kv[1])[: max(len(summary.quality.reasons), 1)]
    return SignalShares(
        clean / covered, lost / covered, tuple((r, v / covered) for r, v in ranked), covered
    )


def with_open_loss(
    summary: SessionSummary, series: MetricSeries, interval_s: float, open_s: float
) -> SessionSummary:
    """``summary`` with a loss never restored (``open_s`` seconds, no rows) counted as unclean
    time of the phase it began in (the last one with rows) and of that kind of phase, so the
    report's phase and baseline/training "clean" shares agree with its listed losses."""
    valid = phase_rows(series)
    if not open_s > 0 or not valid.any() or not summary.phases:
        return summary
    last = int(series["phase_index"][valid][-1])

    def diluted(means, mask):
        n = int(mask.sum())
        if means is None or not n or not math.isfinite(means.clean_fraction):
            return means
        rows_s = n * interval_s
        return replace(means, clean_fraction=means.clean_fraction * rows_s / (rows_s + open_s))

    phases = tuple(
        replace(p, means=diluted(p.means, valid & (series["phase_index"] == p.index)))
        if p.index == last
        else p
        for p in summary.phases
    )
    kind = next((p.kind for p in summary.phases if p.index == last), "")
    kind_mask = valid & (series["phase_kind"] == kind)
    return replace(
        summary,
        phases=phases,
        baseline=diluted(summary.baseline, kind_mask) if kind == "baseline" else summary.baseline,
        training=diluted(summary.training, kind_mask) if kind == "training" else summary.training,
    )


def missing_folder_warning(folder: Path | None) -> str:
    """What a report says of a session whose folder cannot be read: none on record (a store
    migrated from an older schema kept none), or the one on record is missing."""
    if folder is None:
        return "No session folder is on record for this session: no time series."
    return f"The session folder {folder} is missing: no time series."


#: Most of a recording's source notes a report repeats (the rest are counted).
MAX_SOURCE_NOTES = 5


def source_note_warnings(events: Sequence[Event]) -> list[str]:
    """What the source said of its stream while recording (``source_note`` events: an LSL
    stream's unit taken as microvolts, its clock's steps back), once each, for the report's
    warnings: they bear on the figures (a unit taken wrongly moves every quality limit)."""
    notes = list(dict.fromkeys(e.text for e in events if e.kind == EVENT_SOURCE_NOTE))
    # what the device lost over the whole session first (said at the end, after the rest), in
    # place of what it lost along the way
    if any(text.startswith(LOSS_SUMMARY_START) for text in notes):
        notes = [text for text in notes if not is_passing_loss_note(text)]
        notes.sort(key=lambda text: not text.startswith(LOSS_SUMMARY_START))
    said = [f"From the device: {text}" for text in notes[:MAX_SOURCE_NOTES]]
    if len(notes) > MAX_SOURCE_NOTES:
        more = len(notes) - MAX_SOURCE_NOTES
        said.append(f"From the device: {more} more note{'s' if more > 1 else ''} in events.csv")
    return said


def _wall_end_s(folder, t0: float | None) -> float | None:
    """Seconds from the first sample to the session's end by the wall clock (``session.json``
    start and end UTC, the first sample taken at the start), None when not recorded."""
    try:
        meta = read_meta(folder)
    except RecordingError:
        return None
    if meta.end_utc is None or t0 is None:
        return None
    return (meta.end_utc - meta.start_utc).total_seconds()


def patient_label(code: str, name: str | None, with_name: bool) -> str:
    return f"{code} — {name}" if with_name and name else code


def build_session_report(
    store: Store,
    session_id: int,
    *,
    with_name: bool = False,
    now: datetime | None = None,
) -> SessionReport:
    """Gather a session report.

    Parameters
    ----------
    store : Store
    session_id : int
    with_name : bool
        Show the patient's name (off by default: de-identified).
    now : datetime, optional
        Generation time printed in the footer (now by default).

    Raises
    ------
    StoreError
        Unknown session.
    """
    rec = store.session(session_id)
    patient = store.patient(rec.patient_code)
    warnings: list[str] = []
    if recorded_nothing(rec):
        warnings.append(nothing_recorded_warning(rec))
    elif rec.interrupted:
        warnings.append(
            "This session was interrupted (the program was closed or failed before it could "
            "close the recording): the figures cover what was recorded."
        )
    elif rec.in_progress:
        warnings.append(
            "This session is still being recorded: the figures cover what was recorded so far."
        )
    series = None
    summary = rec.summary
    if rec.folder is None or not rec.folder.is_dir():
        warnings.append(missing_folder_warning(rec.folder))
    else:
        try:
            series = read_metrics(rec.folder)
            summary = summarize_series(series)
        except BiotrainerError as exc:
            warnings.append(str(exc))
    protocol = installed_protocol(rec.protocol)
    early = None if recorded_nothing(rec) else ended_early_warning(rec, summary, protocol)
    if early is not None:
        warnings.insert(0, early)
    if summary is not None:
        warnings.extend(w for w in summary.warnings if w not in warnings)
    if series is not None:
        warnings.extend(irregular_heart_notes(series))
    name = None if with_name else patient.name
    markers = tuple(
        Marker(m.id, m.session_id, m.time_s, m.kind, mask_name(m.text, name), m.from_recording)
        for m in store.markers(rec.id)
    )
    events: tuple[Event, ...] = ()
    clock = ProtocolClock([], [])
    t0 = None
    spans: list[Span] = []
    shares = None
    if rec.folder is not None and rec.folder.is_dir():
        try:
            events, _ = load_events(rec.folder)
        except RecordingError as exc:
            warnings.append(f"{exc}: no pauses or resonance result")
        warnings += source_note_warnings(events)
        clock = ProtocolClock.of_folder(rec.folder, series)
        t0 = first_sample_time(rec.folder, events)
        spans = pause_spans(events, clock, t0, clock.last_sample_time)
        interval = clock.interval_s
        if series is not None:
            spans += loss_spans(series, interval, clock.row_sample_time, t0)
        still_lost = open_loss(events, clock, t0, _wall_end_s(rec.folder, t0))
        if still_lost is not None:
            spans.append(still_lost)
        if series is not None and summary is not None:
            open_s = still_lost.duration_s if still_lost else 0.0
            shares = signal_shares(series, summary, interval, open_s)
            summary = with_open_loss(summary, series, interval, open_s)
    reports = {
        k: SelfReport(
            r.session_id, r.moment, r.pain, r.stress, mask_name(r.note, name), r.created_utc
        )
        for k, r in store.self_reports(rec.id).items()
    }
    return SessionReport(
        session=rec,
        patient_label=patient_label(patient.code, patient.name, with_name),
        with_name=with_name,
        protocol_title=protocol_title(rec.protocol, protocol),
        summary=summary,
        series=series,
        self_reports=reports,
        markers=markers,
        warnings=tuple(warnings),
        generated_utc=now or datetime.now(UTC),
        timeline=timeline(markers, events, clock, t0, spans),
        on_protocol_clock=bool(clock),
        pauses=totals(spans, PAUSE_KIND),
        losses=totals(spans, LOST_KIND),
        spans=tuple(spans),
        shares=shares,
        resonance=resonance_from_events(events),
        assessment=summary is not None and any(p.kind == "pacing" for p in summary.phases),
    )


#: Shortest averaging bin (s) of the heart-rate chart. The heart rate swings with each breath
#: (by 10 beats/min and more in slow, resonance breathing): means over 5 s of a 10-s breath
#: alternate high and low, a zig-zag that looks like an unsteady heart (64 % of the swing
#: passes at 6/min). 20 s holds two breaths at 6/min; at most 21 % of the swing passes between
#: 4 and 15 breaths/min, 12 % or less from 5.5/min up.
HR_BIN_S = 20.0


_BANDS = {"baseline": ch.BAND_BASELINE, "training": ch.BAND_TRAINING, "pacing": ch.BAND_PACING}


_MARKS = {PAUSE_KIND: (ch.MARK_PAUSE, "paused"), LOST_KIND: (ch.MARK_LOST, "signal lost")}


def breathing_source_words(series: MetricSeries, rows: np.ndarray) -> str:
    """Where the breathing rates of ``rows`` came from, for the chart's title: ", respiration
    belt", ", from the heart rhythm", or the belt with the heart rhythm's share when both
    ("" for a session recorded before ``breathing_source`` was written, or without a rate)."""
    source = series.columns.get("breathing_source")
    if source is None:
        return ""
    rated = source[rows][np.isfinite(series["breathing_bpm"][rows])]
    belt = int(np.count_nonzero(rated == BREATHING_FROM_RESP))
    heart = int(np.count_nonzero(rated == BREATHING_FROM_HEART))
    if not belt and not heart:
        return ""
    if not heart:
        return ", respiration belt"
    if not belt:
        return ", from the heart rhythm"
    share = max(1, round(100.0 * heart / (belt + heart)))
    return f", respiration belt; {share} % from the heart rhythm"


def session_charts(
    series: MetricSeries, summary: SessionSummary | None, spans: tuple[Span, ...] = ()
) -> list[ch.Chart]:
    """Panels of the metrics over protocol time (minutes), averaged in bins.

    Feedback score with the running reward rate, EEG relaxation, heart rate, RMSSD, coherence,
    breathing rate, and the fraction of clean signal; panels without data are left out. Phases
    are shaded (baseline grey, training blue, pacing green); each pause (a darker grey strip)
    and signal loss (red) of ``spans`` is marked where it began. The protocol clock stops
    during both, so a strip is as wide as an averaging bin, or 1 % of the axis: its bin holds
    the rows of the whole pause or loss (its length is in the report's table).
    """
    valid = phase_rows(series)
    t = series["session_s"][valid]
    if t.size == 0:
        return []
    width = ch.bin_width_s(float(t.max() - t.min()))

    def binned(column: str, bin_s: float = width) -> tuple[np.ndarray, np.ndarray]:
        x, y = ch.bin_means(t, series[column][valid], bin_s)
        return x / 60.0, y

    bands = []
    labels_done = set()
    for p in summary.phases if summary else ():
        color = _BANDS.get(p.kind)
        if color is None:
            continue
        label = p.kind if p.kind not in labels_done else ""
        labels_done.add(p.kind)
        end = p.start_s + p.means.duration_s
        bands.append(ch.Band(p.start_s / 60.0, end / 60.0, color, label))
    lo, hi = float(t.min()) / 60.0, float(t.max()) / 60.0
    marks = []
    for sp in spans:
        shade = _MARKS.get(sp.kind)
        if shade is None or sp.time_s is None or not math.isfinite(sp.time_s):
            continue
        marks.append(ch.mark_strip(sp.time_s / 60.0, lo, hi, width / 60.0, *shade))
    common = {"bands": tuple(bands), "marks": tuple(marks)}
    out = []
    x, score = binned("feedback_score")
    # rewards are judged in training only: elsewhere the engine repeats the rate it last had
    training = series["phase_kind"][valid] == "training"
    _, reward = ch.bin_means(t, np.where(training, series["reward_rate"][valid], np.nan), width)
    out.append(
        ch.Chart(
            "score",
            f"Feedback score and running reward rate (means over {width:g} s)",
            "0–1",
            (
                ch.Series("feedback score", x, score, ch.BLUE),
                ch.Series("reward rate", x, reward, ch.ORANGE, dashed=True),
            ),
            y_range=(0.0, 1.0),
            reference=0.5,
            **common,
        )
    )
    for column, title, unit, color, y_range, span in (
        ("relaxation", "EEG relaxation index", "0–1", ch.PURPLE, (0.0, 1.0), 0),
        ("hr_bpm", "Heart rate", "beats/min", ch.VERMILLION, None, 10),
        ("rmssd_ms", "RMSSD (heart rate variability)", "ms", ch.GREEN, None, 10),
        ("coherence", "HRV coherence ratio", "ratio", ch.PURPLE, None, 1),
        ("breathing_bpm", "Breathing rate", "breaths/min", ch.SKY, None, 4),
    ):
        # the heart rate rises and falls with every breath: bins of whole slow breaths
        bin_s = max(width, HR_BIN_S) if column == "hr_bpm" else width
        x, y = binned(column, bin_s)
        if column == "breathing_bpm":
            title += breathing_source_words(series, valid)
        chart = ch.Chart(
            column,
            f"{title} (means over {bin_s:g} s)",
            unit,
            (ch.Series(title, x, y, color),),
            y_range=y_range,
            min_span=span,
            **common,
        )
        if chart.has_data:
            out.append(chart)
    clean = (series["quality_ok"][valid] == 1).astype(float)
    x, y = ch.bin_means(t, clean, width)
    out.append(
        ch.Chart(
            "quality",
            f"Clean signal (fraction of each {width:g} s)",
            "0–1",
            (ch.Series("clean", x / 60.0, y, ch.GREY),),
            y_range=(0.0, 1.0),
            x_label="minutes from the start of the protocol",
            **common,
        )
    )
    # one time axis for all: the session, and every bin's centre (the heart rate's 20-s bins
    # end past the last row when the session is not a whole number of them)
    centres = [float(np.max(s.x)) for c in out for s in c.series if np.size(s.x)]
    return [replace(c, x_range=(lo, max([hi, *centres]))) for c in out]
