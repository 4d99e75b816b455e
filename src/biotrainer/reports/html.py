"""HTML of the reports, in the subset of HTML/CSS that Qt's QTextDocument lays out.

Charts appear as ``<img src="chart:NAME" width=W>``; the renderer supplies the images of the
charts :func:`shown_session_charts` / :func:`shown_progress_charts` return. A chart that could
show no course (no data, too few means, a session of seconds) is said in words in its place.
"""

from __future__ import annotations

import math
from datetime import datetime
from html import escape

import numpy as np

from biotrainer import __version__
from biotrainer.engine.resonance import SETTLE_S
from biotrainer.reports.charts import Chart, plottable
from biotrainer.reports.format import (
    change,
    duration,
    local_time,
    minutes,
    num,
    part,
    pct,
    signed,
)
from biotrainer.reports.progress import ProgressReport, ProgressRow
from biotrainer.reports.session_events import BEATS_UNKNOWN, LOST_KIND, PAUSE_KIND
from biotrainer.reports.session_report import MIN_CHART_POINTS, MIN_CHART_S, SessionReport
from biotrainer.session.analysis import MetricMeans, PhaseStats, phase_rows, thin_share
from biotrainer.session.quality_causes import STARTING_UP

#: Width (px of the document) at which charts are placed.
CHART_WIDTH = 640

#: The reports' first-choice font (Qt falls back on other installed fonts per character).
REPORT_FONT = "DejaVu Sans"
_STYLE = """
body { font-family: 'REPORT_FONT', 'Helvetica', sans-serif; font-size: 9pt; color: #111; }
h1 { font-size: 16pt; margin-bottom: 2px; }
h2 { font-size: 11.5pt; margin-top: 14px; margin-bottom: 4px; color: #0b3d62; }
p.sub { color: #555; margin-top: 0px; }
table.data { border-collapse: collapse; border-color: #999; border-style: solid; }
table.data th { background-color: #e8eef4; font-weight: bold; padding: 3px; }
table.data td { padding: 3px; }
td.num { text-align: right; }
p.warn { color: #a33; font-weight: bold; }
p.foot { color: #666; font-size: 7.5pt; margin-top: 16px; }
""".replace("REPORT_FONT", REPORT_FONT)

DISCLAIMER = (
    "biotrainer is a relaxation training tool, not a medical device: these figures describe "
    "the training session and are no diagnosis."
)


def _table(
    head: list[str], rows: list[list[str]], numeric_from: int = 1, nowrap: tuple[int, ...] = ()
) -> str:
    """A data table: the columns from ``numeric_from`` on are numbers (right-aligned), those
    in ``nowrap`` are never broken but where a cell has a ``<br>``."""
    out = ['<table class="data" border="1" cellspacing="0" cellpadding="3" width="100%">', "<tr>"]
    # numbers and headings are never broken inside a word ("10:0|0", "Pai|n")
    out += [f'<th style="white-space: nowrap">{escape(h)}</th>' for h in head]
    out.append("</tr>")
    for row in rows:
        out.append("<tr>")
        for i, cell in enumerate(row):
            if i >= numeric_from:
                attrs = ' class="num" align="right" style="white-space: nowrap"'
            else:
                attrs = ' style="white-space: nowrap"' if i in nowrap else ""
            out.append(f"<td{attrs}>{cell}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def _kv(rows: list[tuple[str, str]]) -> str:
    cells = "".join(
        f'<tr><td width="28%"><b>{escape(k)}</b></td><td>{v}</td></tr>' for k, v in rows
    )
    return f'<table cellspacing="0" cellpadding="2" width="100%">{cells}</table>'


def _doc(title: str, body: list[str]) -> str:
    return (
        f"<html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>"
    )


def _footer(report: SessionReport | ProgressReport) -> str:
    ident = (
        "Contains the patient's name (requested)."
        if report.with_name
        else "De-identified: the patient is shown by code only."
    )
    return (
        f'<p class="foot">Generated {escape(local_time(report.generated_utc))} by biotrainer '
        f"{escape(__version__)}. {ident} {escape(DISCLAIMER)}</p>"
    )


def _img(name: str, width: int = CHART_WIDTH) -> str:
    return f'<p align="center"><img src="chart:{escape(name)}" width="{width}"></p>'


def _points(chart: Chart) -> int:
    """How many points with data the fullest series of ``chart`` has."""
    counts = [
        int((np.isfinite(plottable(s.x)) & np.isfinite(plottable(s.y))).sum()) for s in chart.series
    ]
    return max(counts, default=0)


def chart_note(chart: Chart, recorded_s: float | None, min_points: int = 1) -> str | None:
    """Why ``chart`` is not drawn, in words for the reader (None: it is drawn).

    Parameters
    ----------
    chart : Chart
    recorded_s : float or None
        Seconds the chart's session recorded (said in the note), None when not known.
    min_points : int
        Fewest points with data that make a chart (a session's: :data:`MIN_CHART_POINTS`).

    Returns
    -------
    str or None
        "TITLE: no data recorded." for a chart without data (its title when it says so
        already), "TITLE: too short to chart: N means over the ... recorded." for one with fewer
        than ``min_points`` points.
    """
    n = _points(chart)
    if n >= max(min_points, 1):
        return None
    if n == 0:
        said = "recorded" in chart.title  # ("... (0–10): no ratings recorded")
        return f"{chart.title}." if said else f"{chart.title}: no data recorded."
    means = "1 mean" if n == 1 else f"{n} means"
    over = f" over the {duration(recorded_s)} recorded" if recorded_s is not None else ""
    return f"{chart.title}: too short to chart: {means}{over}."


def session_chart_notes(report: SessionReport, charts: list[Chart]) -> dict[str, str]:
    """The session charts to put in words instead of drawing, by name, with their words ("":
    left out).

    A session shorter than :data:`MIN_CHART_S` is not charted: its first chart's place says
    so, once; otherwise each chart with fewer than :data:`MIN_CHART_POINTS` means says why it
    is not drawn.
    """
    recorded = report.recorded_s
    if charts and recorded is not None and recorded < MIN_CHART_S:
        first = (
            f"Too short to chart: {duration(recorded)} recorded (the charts need at least "
            f"{MIN_CHART_S:g} s)."
        )
        return {c.name: first if i == 0 else "" for i, c in enumerate(charts)}
    notes = {c.name: chart_note(c, recorded, MIN_CHART_POINTS) for c in charts}
    return {name: note for name, note in notes.items() if note is not None}


def progress_chart_notes(charts: list[Chart]) -> dict[str, str]:
    """The progress charts to put in words instead of drawing (those without data: no
    ratings), by name, with their words."""
    return {c.name: note for c in charts if (note := chart_note(c, None)) is not None}


def _chart_places(charts: list[Chart], notes: dict[str, str]) -> list[str]:
    """Each chart's place in the HTML: its image, or its words from ``notes`` (nothing for
    "")."""
    out = []
    for c in charts:
        note = notes.get(c.name)
        if note is None:
            out.append(_img(c.name))
        elif note:
            out.append(f"<p>{escape(note)}</p>")
    return out


def shown_session_charts(report: SessionReport) -> list[Chart]:
    """The charts :func:`session_html` shows as images (the others are said in words)."""
    charts = report.charts()
    notes = session_chart_notes(report, charts)
    return [c for c in charts if c.name not in notes]


def shown_progress_charts(report: ProgressReport) -> list[Chart]:
    """The charts :func:`progress_html` shows as images (the others are said in words)."""
    charts = report.charts()
    notes = progress_chart_notes(charts)
    return [c for c in charts if c.name not in notes]


_METRIC_ROWS = (
    ("Feedback vs own baseline (z-score)", "z", 1, ""),
    ("Time in target (share of clean time rewarded)", "time_in_target", -1, ""),
    ("EEG relaxation index (0–1)", "relaxation", 2, ""),
    ("Relative alpha (0–1)", "alpha", 2, ""),
    ("Heart rate", "hr_bpm", 1, "beats/min"),
    ("RMSSD", "rmssd_ms", 1, "ms"),
    ("HRV coherence ratio (peak / rest of spectrum)", "coherence", 2, ""),
    ("Breathing rate", "breathing_bpm", 1, "breaths/min"),
    ("Clean signal", "clean_fraction", -1, ""),
)


#: The baseline's cell of the z-score row: the z-scores are against it.
BASELINE_Z = "0 (reference)"

#: What a table with means over part of their phases says under it (once).
COVERAGE_NOTE = (
    "A share in brackets with a mean is the part of its phase's time the mean is over, when "
    "less than half: for the rest the metric had no value (the signal unclean or lost, or the "
    "heart beats too irregular to measure)."
)


def thin_coverage(share: float | None) -> bool:
    """Whether a mean resting on ``share`` (0-1) of its phase says so: under
    :data:`~biotrainer.session.analysis.MIN_COVERAGE`, and over some rows (a mean over none is
    no value: "–"); see :func:`~biotrainer.session.analysis.thin_share`."""
    return thin_share(share)


def coverage_words(share: float | None, of: str = "") -> str | None:
    """A thin ``share`` (:func:`thin_coverage`) of a mean's time in words: "6 %", or with ``of``
    what: "6 % of training"; None for any other share."""
    if share is None or not thin_coverage(share):
        return None
    return f"{part(share)}{' of ' + of if of else ''}"


def coverage_text(share: float | None, of: str = "") -> str | None:
    """What a mean resting on a thin ``share`` (:func:`thin_coverage`) of its time says after
    its value: "(6 %)", or with ``of`` what: "(6 % of training)"; None for any other share."""
    words = coverage_words(share, of)
    return None if words is None else f"({words})"


def with_coverage(text: str, share: float | None, of: str = "") -> str:
    """A mean's ``text`` followed by its :func:`coverage_text` when it has one, e.g.
    "4.3 ms (6 % of training)"; else ``text``."""
    said = coverage_text(share, of)
    return text if said is None else f"{text} {said}"


def _val(m: MetricMeans | None, field: str, nd: int, unit: str, of: str) -> str:
    """A mean of ``m`` as a percentage (``nd`` < 0) or a number, followed by its share of the
    ``of`` phases when thin (:func:`with_coverage`)."""
    if m is None:
        return "–"
    v = getattr(m, field)
    text = pct(v) if nd < 0 else num(v, nd, unit)
    return with_coverage(text, m.coverage(field), of)


def _rating(v: int | None) -> str:
    return "not rated" if v is None else f"{v} / 10"


def session_html(report: SessionReport) -> str:
    """The session report's HTML (charts as ``chart:<name>`` images)."""
    r = report.session
    s = report.summary
    b: list[str] = [
        "<h1>Session report</h1>",
        f'<p class="sub">biotrainer relaxation training · session #{r.id}</p>',
    ]
    if r.in_progress:
        status = "<b>In progress</b> (being recorded)"
    elif r.interrupted:
        status = "<font color='#a33'><b>Interrupted</b></font>"
    elif r.ended_early:
        status = f"<b>{escape(r.outcome.capitalize())}</b> (before the end of the protocol)"
    else:
        status = "Completed"
    b.append(
        _kv(
            [
                ("Patient", escape(report.patient_label)),
                ("Date", escape(local_time(r.started_utc))),
                ("Protocol", f"{escape(report.protocol_title)} ({escape(r.protocol)})"),
                ("Device", escape(r.device)),
                ("Duration", escape(duration(s.duration_s if s else None))),
                ("Status", status),
                *_spans_row(
                    "Paused", report.pauses, "pause", "pauses", "not counted in the duration; "
                ),
                *_spans_row(
                    "Signal lost",
                    report.losses,
                    "loss",
                    "losses",
                    "no data; not counted in the duration; ",
                ),
                *_resonance_row(report),
            ]
        )
    )
    for w in (*report.warnings, *report.cautions):
        b.append(f'<p class="warn">{escape(w)}</p>')
    b.extend(_resonance_section(report))

    b.append("<h2>Self-reports (0 = none, 10 = worst imaginable)</h2>")
    pre, post = report.self_reports.get("pre"), report.self_reports.get("post")
    rows = []
    for label, field in (("Pain", "pain"), ("Stress", "stress")):
        before = getattr(pre, field) if pre else None
        after = getattr(post, field) if post else None
        rows.append(
            [label, _rating(before), _rating(after), escape(signed(change(before, after), 0))]
        )
    b.append(_table(["", "Before", "After", "Change"], rows))
    for label, rep in (("Before", pre), ("After", post)):
        if rep and rep.note:
            b.append(f"<p><b>{label}:</b> {escape(rep.note)}</p>")
    if not pre and not post:
        b.append("<p>No self-report was given for this session.</p>")

    b.extend(_practice_section(report))

    if s is not None and s.phases:
        b.append("<h2>Phases</h2>")
        rows = [_phase_row(p) for p in s.phases]
        thin = any(p.means.thin(f) for p in s.phases for f in _PHASE_MEANS)
        b.append(
            _table(
                [
                    "Phase",
                    "Kind",
                    "m:ss",
                    "z",
                    "In target",
                    "HR",
                    "RMSSD",
                    "Coher.",
                    "Breath",
                    "Clean",
                ],
                rows,
                numeric_from=2,
            )
        )
        units = "HR in beats/min, RMSSD in ms, breathing in breaths/min."
        b.append(f"<p class='sub'>{escape(units + (' ' + COVERAGE_NOTE if thin else ''))}</p>")

    charts = report.charts()
    if charts:
        notes = session_chart_notes(report, charts)
        b.append("<h2>Metrics over time</h2>")
        if len(notes) < len(charts):  # (the shading is said of charts that are drawn)
            b.append(
                "<p class='sub'>Shading: grey = baseline, blue = training, green = paced "
                "breathing. A score of 0.5 is the reward threshold (above it, rewarded)."
                + _marks_caption(report)
                + "</p>"
            )
        b.extend(_chart_places(charts, notes))

    b.append("<h2>Signal quality</h2>")
    if s is None or not s.n_updates:
        b.append("<p>No metrics were recorded.</p>")
    else:
        q = report.shares or s.quality
        n, lost_s = report.losses
        listed = ""
        if n:
            what = "1 signal loss" if n == 1 else f"{n} signal losses"
            listed = f" ({what}, {minutes(lost_s)} in all, listed below)"
        b.append(
            f"<p>Clean enough for feedback: <b>{escape(pct(q.clean_fraction))}</b> of the session"
            f" · device not streaming: {escape(pct(q.lost_fraction))}{escape(listed)}.</p>"
        )
        if q.reasons:
            items = "".join(
                f"<li>{escape(reason)} — {escape(pct(frac))} of the time</li>"
                for reason, frac in q.reasons
            )
            b.append(f"<p>Most frequent reasons for unclean signal:</p><ul>{items}</ul>")
        starting = _starting_up_share(report)
        if starting > 0:
            b.append(
                f"<p>Not counted clean while the EEG check started (the session's first "
                f"second, before its first verdict; no fault of the signal): "
                f"{escape(pct(starting))} of the time.</p>"
            )

    b.append("<h2>Markers, notes, pauses and signal losses</h2>")
    if report.timeline:
        rows = [
            [
                escape(minutes(e.time_s)),
                escape(e.kind),
                escape(e.text),
                escape(minutes(e.duration_s)) if e.duration_s is not None else "",
            ]
            for e in report.timeline
        ]
        b.append(_table(["Time (m:ss)", "Kind", "Text", "Lasted"], rows, numeric_from=3))
        b.extend(_totals_line(report))
        b.append(
            "<p class='sub'>Times are minutes from the start of the protocol, as on the charts' "
            "axes: the protocol clock stops while the session is paused or the signal is "
            "lost.</p>"
            if report.on_protocol_clock
            else "<p class='sub'>Times are minutes from the first sample (no metrics to put "
            "them on the protocol clock).</p>"
        )
    else:
        b.append("<p>None.</p>")
    b.append(_footer(report))
    return _doc(f"Session {r.id}", b)


#: The means of the per-phase table that say their coverage when it is thin.
_PHASE_MEANS = ("z", "time_in_target", "hr_bpm", "rmssd_ms", "coherence", "breathing_bpm")


def _share_under(text: str, share: float) -> str:
    """A mean's cell in a wide table: its ``text``, and its :func:`coverage_text` under it when
    it has one."""
    # the share alone, under the value: ten columns have no room for more on A4 (five beside
    # their values ran off the page); the note under the table says of what
    said = coverage_text(share)
    if said is None:
        return escape(text)
    return f"{escape(text)}<br><span style='color:#555'>{escape(said)}</span>"


def _phase_row(p: PhaseStats) -> list[str]:
    """A phase's cells in the per-phase table; a mean over a thin share of the phase says
    it."""
    m = p.means

    def mean(field: str, text: str) -> str:
        return _share_under(text, m.coverage(field))

    return [
        escape(f"{p.index + 1}. {p.name}"),
        escape(p.kind),
        escape(minutes(m.duration_s)),
        mean("z", signed(m.z)),
        mean("time_in_target", pct(m.time_in_target)),
        mean("hr_bpm", num(m.hr_bpm, 1)),
        mean("rmssd_ms", num(m.rmssd_ms, 1)),
        mean("coherence", num(m.coherence, 2)),
        mean("breathing_bpm", num(m.breathing_bpm, 1)),
        escape(pct(m.clean_fraction)),
    ]


def _compared_rows(
    base: MetricMeans | None, other: MetricMeans | None, names: tuple[str, str]
) -> list[list[str]]:
    """The metric rows of a "Baseline vs ..." table: baseline, the other, and the change (of a
    share, in percentage points: 91 % to 100 % is "+9 pts", not a relative "+9 %"). A mean
    over a thin share of its phases says it, as a share of its ``names``' phases (the
    baseline's, the other's), and so does the change from it (:func:`_change_cell`). The
    z-scores are against the baseline: its own is the reference (0), so the change is the
    other's z."""
    rows = []
    for label, field, nd, unit in _METRIC_ROWS:
        reference = field == "z" and base is not None
        before = (0.0 if reference else getattr(base, field)) if base else None
        delta = change(before, getattr(other, field) if other else None)
        d = (
            "–"
            if delta is None or not math.isfinite(delta)
            else (signed(100 * delta, 0) + " pts" if nd < 0 else signed(delta, max(nd, 0)))
        )
        row = [
            label,
            BASELINE_Z if reference else _val(base, field, nd, unit, names[0]),
            _val(other, field, nd, unit, names[1]),
            _change_cell(d, (None if reference else base, other), field, names),
        ]
        rows.append([escape(cell) for cell in row])
    return rows


def _change_cell(
    text: str,
    means: tuple[MetricMeans | None, MetricMeans | None],
    field: str,
    names: tuple[str, str],
) -> str:
    """A change's ``text`` followed by the share each of its two ``means`` (the baseline's,
    None for the z-scores' reference, and the other's) rests on when it is thin, as their own
    cells say it: "+0.54 (< 1 % of baseline)"; "–" alone."""
    if text == "–":
        return text
    said = [
        words
        for m, of in zip(means, names, strict=True)
        if m is not None and (words := coverage_words(m.coverage(field), of)) is not None
    ]
    return f"{text} ({', '.join(said)})" if said else text


def _starting_up_share(report: SessionReport) -> float:
    """The share of the session's rows that waited for the first second of EEG
    (:data:`~biotrainer.session.quality_causes.STARTING_UP`): not clean, and no cause listed; 0
    without readable metrics."""
    series = report.series
    if series is None:
        return 0.0
    valid = phase_rows(series)
    n = int(valid.sum())
    return int((valid & (series["quality_reason"] == STARTING_UP)).sum()) / n if n else 0.0


def _practice_section(report: SessionReport) -> list[str]:
    """The baseline against what the session practised: its training phases, else its paced
    breathing phases (a resonance assessment: the figures of its row in the progress report);
    a mean over less than half of its phases says over what share."""
    s = report.summary
    paced = s is not None and s.training is None and s.pacing is not None
    name = "Paced breathing" if paced else "Training"
    out = [f"<h2>Baseline vs {name.lower()}</h2>"]
    practice = None if s is None else (s.pacing if paced else s.training)
    if s is None or (s.baseline is None and practice is None):
        return [*out, "<p>No metrics were recorded.</p>"]
    rows = _compared_rows(s.baseline, practice, ("baseline", name.lower()))
    out.append(_table(["Metric", "Baseline", name, "Change"], rows))
    thin = any(
        m is not None and m.thin(field)
        for m in (s.baseline, practice)
        for _, field, _, _ in _METRIC_ROWS
    )
    if paced:
        note = (
            "Means over all baseline and all paced breathing phases. The assessment gives no "
            "feedback: its z-score is the paced breathing against the baseline's natural "
            "breathing."
        )
    else:
        note = (
            "Means over the baseline phases with the training's eyes (open or closed: the "
            "training is scored against their baseline; all of them in a recording that does "
            "not say) and all training phases; the z-score, "
            "relaxation and relative alpha over clean signal only (while it is not, the "
            "feedback is held down). Relative alpha is alpha power over alpha and its "
            "neighbouring bands: what an alpha protocol trains. "
            "Time in target is the share of clean training time the feedback was rewarding."
        )
    if thin:
        note += f" {COVERAGE_NOTE} A change from such a mean says the same share."
    out.append(f"<p class='sub'>{escape(note)}</p>")
    return out


def _spans_row(
    label: str, totals: tuple[int, float], one: str, many: str, note: str
) -> list[tuple[str, str]]:
    """The header row of the pauses' or the losses' count and total (none when there are
    none)."""
    n, seconds = totals
    if not n:
        return []
    what = f"1 {one}" if n == 1 else f"{n} {many}"
    return [(label, escape(f"{what}, {minutes(seconds)} in all ({note}marked on the charts)"))]


def _totals_line(report: SessionReport) -> list[str]:
    """The pauses' and losses' totals under the table (the sums of its "Lasted" column)."""
    parts = []
    for (n, seconds), one, many in (
        (report.pauses, "pause", "pauses"),
        (report.losses, "signal loss", "signal losses"),
    ):
        if n:
            parts.append(f"{n} {one if n == 1 else many}: {minutes(seconds)}")
    if not parts:
        return []
    return [f"<p><b>In all:</b> {escape(' · '.join(parts))}</p>"]


def _marks_caption(report: SessionReport) -> str:
    """What the strips on the charts are (nothing when there are none)."""
    kinds = {sp.kind for sp in report.spans} if report.on_protocol_clock else set()
    if not kinds:
        return ""
    names = [
        name
        for kind, name in (
            (PAUSE_KIND, "darker grey strip = paused"),
            (LOST_KIND, "red strip = signal lost"),
        )
        if kind in kinds
    ]
    both = len(names) > 1
    during = "pause or signal loss" if both else ("pause" if PAUSE_KIND in kinds else "loss")
    return (
        f" {', '.join(names).capitalize()}. The protocol clock stops during a {during}, so each "
        "is a narrow strip at the moment it began, however long it lasted (see the table at "
        "the end)"
        + (
            "; what was recorded during a pause is averaged into that moment."
            if PAUSE_KIND in kinds
            else "."
        )
    )


def _resonance_text(report: SessionReport) -> str | None:
    """The assessment's chosen rate as the end-of-session dialog says it (None: no assessment)."""
    res = report.resonance
    if res is None:
        if not report.assessment:
            return None
        return "not decided (the assessment did not reach its end)"
    if not res.complete:
        return "not decided (the assessment did not reach its end; the rate stored before is kept)"
    if math.isfinite(res.best_bpm):
        return f"{res.best_bpm:g} breaths/min"
    return "undecided (not enough clean beats)"


def _resonance_row(report: SessionReport) -> list[tuple[str, str]]:
    text = _resonance_text(report)
    return [] if text is None else [("Resonance breathing rate", f"<b>{escape(text)}</b>")]


def _resonance_section(report: SessionReport) -> list[str]:
    """The rates a resonance assessment tried, the chosen one marked (as in the dialog)."""
    res = report.resonance
    if res is None or not res.rates:
        return []
    best = res.best_bpm
    beats = any(r.n_beats != BEATS_UNKNOWN for r in res.rates)
    rows = []
    for r in res.rates:
        row = [
            escape(f"{r.bpm:g}"),
            "✓" if math.isfinite(best) and r.bpm == best else "",
            escape(num(r.lf_power_ms2, 0)),
            escape(num(r.hr_swing_bpm, 1)),
        ]
        if beats:
            row.append(escape(str(r.n_beats)) if r.n_beats != BEATS_UNKNOWN else "–")
        rows.append(row)
    head = ["Rate (breaths/min)", "Chosen", "LF power (ms²)", "HR swing (beats/min)"]
    out = [
        "<h2>Resonance-frequency assessment</h2>",
        _table([*head, "Beats"] if beats else head, rows),
        "<p class='sub'>For each paced rate: the low-frequency (0.04–0.15 Hz) power of the heart "
        "rate variability and the mean peak-to-trough heart-rate swing per breath, after the "
        f"first {SETTLE_S:g} s of the rate. The chosen rate ranks best on both.</p>",
    ]
    return out


def _status_note(status: str) -> str:
    """What follows a session's protocol in the progress table (nothing when completed)."""
    if status == "completed":
        return ""
    return f" <i>({escape('in progress' if status == 'recording' else status)})</i>"


def _status_counts(statuses: list[str]) -> str:
    """ "5 completed, 1 stopped early, 0 interrupted": completed and interrupted always, the
    other outcomes when there are any."""
    order = (
        "completed",
        "stopped early",
        "source ended",
        "device failed",
        "interrupted",
        "recording",
    )
    shown = {"recording": "in progress"}
    parts = []
    for status in order:
        n = statuses.count(status)
        if n or status in ("completed", "interrupted"):
            parts.append(f"{n} {shown.get(status, status)}")
    return ", ".join(parts)


def _date_cell(t: datetime) -> str:
    """A session's start in a narrow table cell: the date over the time and zone (the cell is
    never broken elsewhere: "2026-09-1 / 5 10:30")."""
    date, _, clock = local_time(t).partition(" ")
    return escape(date) + (f"<br>{escape(clock)}" if clock else "")


def progress_html(report: ProgressReport) -> str:
    """The progress report's HTML (charts as ``chart:<name>`` images)."""
    rows_ = report.rows
    b: list[str] = ["<h1>Progress report</h1>", '<p class="sub">biotrainer relaxation training</p>']
    span = (
        f"{local_time(rows_[0].started_utc)} to {local_time(rows_[-1].started_utc)}"
        if rows_
        else "–"
    )
    counts = _status_counts([r.status for r in rows_])
    info = [
        ("Patient", escape(report.patient_label)),
        ("Sessions", f"{len(rows_)} ({counts})"),
        ("Period", escape(span)),
        (
            "Resonance breathing rate",
            escape(num(report.resonance_bpm, 1, "breaths/min"))
            if report.resonance_bpm
            else "not assessed",
        ),
    ]
    pain, stress = report.mean_change("pain"), report.mean_change("stress")
    info.append(
        (
            "Mean change within a session",
            f"pain {escape(signed(pain))}, stress {escape(signed(stress))} (after − before, "
            "0–10 scale)",
        )
    )
    b.append(_kv(info))
    if not rows_:
        b.append("<p>No session is registered for this patient yet.</p>")
        b.append(_footer(report))
        return _doc("Progress", b)

    b.append("<h2>Sessions</h2>")
    table = [_session_row(r) for r in rows_]
    b.append(
        _table(
            [
                "Session",
                "Date",
                "Protocol",
                "m:ss",
                "z",
                "In target",
                "RMSSD",
                "Coher.",
                "Breath",
                "Pain",
                "Stress",
            ],
            table,
            numeric_from=3,
            nowrap=(1,),
        )
    )
    thin = any(r.thin(f) for r in rows_ for f in _SESSION_MEANS)
    old_scale = any(r.z_old_scale for r in rows_)
    b.append(
        "<p class='sub'>z (the feedback against the person's baseline, in SDs), time in "
        "target (the share of clean training time rewarded), RMSSD (ms), coherence and "
        "breathing rate "
        "(breaths/min) are means over the training phases (of a resonance assessment: its "
        f"paced breathing phases).{' ' + PROGRESS_COVERAGE_NOTE if thin else ''}"
        f"{' ' + OLD_SCALE_NOTE if old_scale else ''} Pain and "
        "stress: before → after (change).</p>"
    )
    charts = report.charts()
    if charts:
        b.append("<h2>Progress across sessions</h2>")
        b.append(f"<p class='sub'>{escape(_charts_caption(report))}</p>")
        b.extend(_chart_places(charts, progress_chart_notes(charts)))
    b.append(_footer(report))
    return _doc("Progress", b)


#: What the progress table says under it (once) when a session's mean in it is over a thin
#: share of its phases (after saying which phases its means are over).
PROGRESS_COVERAGE_NOTE = (
    "A share in brackets under a mean is the part of those phases' time the mean rests on, "
    "when less than half: for the rest the metric had no value (the signal unclean or lost, or "
    "the heart beats too irregular to measure)."
)

#: What the progress table says under it when a session's z is left out for its scale.
OLD_SCALE_NOTE = (
    "z is left blank (–) for sessions recorded before 2026-11-29 that fed back coherence or the "
    "EEG relaxation index: those were scored on other scales, with z-scores that do not compare "
    "with the later ones."
)

#: The means of the progress table that say their coverage when it is thin.
_SESSION_MEANS = ("z", "time_in_target", "rmssd_ms", "coherence", "breathing_bpm")


def _session_row(r: ProgressRow) -> list[str]:
    """A session's cells in the progress table; a mean over a thin share of its phases says
    it, under its value (as in the session report's per-phase table)."""
    return [
        escape(f"#{r.session_id}"),
        _date_cell(r.started_utc),
        escape(r.protocol) + _status_note(r.status),
        escape(minutes(r.duration_s)),
        _share_under(signed(r.z), r.coverage("z")),
        _share_under(pct(r.time_in_target), r.coverage("time_in_target")),
        _share_under(num(r.rmssd_ms, 1), r.coverage("rmssd_ms")),
        _share_under(num(r.coherence, 2), r.coverage("coherence")),
        _share_under(num(r.breathing_bpm, 1), r.coverage("breathing_bpm")),
        escape(_pair(r.pain_pre, r.pain_post)),
        escape(_pair(r.stress_pre, r.stress_post)),
    ]


def _charts_caption(report: ProgressReport) -> str:
    """How to read the progress charts: a line per protocol, partial sessions and means over
    less than half of their phases apart, resonance assessments out of the feedback charts
    (each said only when it applies)."""
    text = "Each protocol has its own colour and marker; its line joins its completed sessions."
    if any(not r.completed for r in report.rows):
        text += (
            " Hollow markers, not joined: sessions that did not complete (stopped early, "
            "interrupted...), whose figures cover only what was recorded."
        )
    if any(r.thin(f) for r in report.rows for f in _SESSION_MEANS):
        text += (
            " A mean over less than half of its phases' time (its share in brackets in the "
            "table) is a hollow marker off the line too: it is no value of the session."
        )
    if any(r.assessment for r in report.rows):
        text += (
            " Resonance assessments give no feedback: they are left out of the feedback and "
            "time-in-target charts."
        )
    return text


def _pair(before: int | None, after: int | None) -> str:
    if before is None and after is None:
        return "–"
    a = "–" if before is None else str(before)
    z = "–" if after is None else str(after)
    d = change(before, after)
    return f"{a} → {z}" + ("" if d is None else f" ({signed(d, 0)})")
