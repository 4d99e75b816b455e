"""A resonance assessment's session report shows the figures its progress row shows (those of
its paced breathing phases); a session with training keeps its "Training" column."""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import UTC, datetime

from biotrainer.reports.html import session_html
from biotrainer.reports.session_report import SessionReport
from biotrainer.session.analysis import MetricMeans, QualityStats, SessionSummary
from biotrainer.session.store import SessionRecord


def _means(z: float, rmssd: float, coherence: float, breathing: float) -> MetricMeans:
    return MetricMeans(
        duration_s=600.0,
        score=math.nan,
        time_in_target=math.nan,
        relaxation=math.nan,
        hr_bpm=70.0,
        rmssd_ms=rmssd,
        coherence=coherence,
        breathing_bpm=breathing,
        clean_fraction=1.0,
        z=z,
    )


def _report(training: MetricMeans | None, pacing: MetricMeans | None) -> SessionReport:
    baseline = _means(-0.7, 9.1, 0.57, 13.7)
    summary = SessionSummary(
        duration_s=720.0,
        n_updates=7200,
        phases=(),
        baseline=baseline,
        training=training,
        overall=baseline,
        quality=QualityStats(1.0, 0.0, ()),
        pacing=pacing,
    )
    started = datetime(2026, 11, 27, 16, 15, tzinfo=UTC)
    rec = SessionRecord(
        id=1,
        patient_id=1,
        patient_code="P-1",
        protocol="resonance-assessment",
        device="simulator",
        started_utc=started,
        ended_utc=started,
        folder=None,
        status="completed",
        summary=summary,
    )
    return SessionReport(
        session=rec,
        patient_label="P-1",
        with_name=False,
        protocol_title="Resonance-frequency assessment",
        summary=summary,
        series=None,
        self_reports={},
        markers=(),
        warnings=(),
        generated_utc=started,
    )


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_resonance_assessment_report_shows_its_paced_breathing_figures():
    """Its progress row showed z +31.4, RMSSD 23.4, coherence 5.35 and breathing 5.9 (the
    paced breathing phases); its own report showed only a baseline column (review)."""
    report = _report(None, _means(31.4, 23.4, 5.35, 5.9))
    text = _text(session_html(report))
    assert "Baseline vs paced breathing" in text
    assert "Metric Baseline Paced breathing Change" in text
    assert "Feedback vs own baseline (z-score) 0 (reference) 31.4 +31.4" in text
    assert "RMSSD 9.1 ms 23.4 ms +14.3" in text
    assert "HRV coherence ratio (peak / rest of spectrum) 0.57 5.35 +4.78" in text
    assert "Breathing rate 13.7 breaths/min 5.9 breaths/min −7.8" in text


def test_a_training_session_keeps_its_training_column():
    report = _report(_means(1.5, 20.0, 2.0, 9.0), None)
    text = _text(session_html(report))
    assert "Baseline vs training" in text and "Metric Baseline Training Change" in text
    assert "Paced breathing" not in text
    assert "RMSSD 9.1 ms 20.0 ms +10.9" in text


def test_a_change_of_a_share_is_in_percentage_points():
    """Clean signal from 91 % to 100 % read "+9 %" in the Change column, a relative change to
    the eye; it is 9 percentage points (review)."""
    report = _report(_means(1.5, 20.0, 2.0, 9.0), None)
    summary = report.summary
    baseline = dataclasses.replace(summary.baseline, clean_fraction=0.91)
    summary = dataclasses.replace(summary, baseline=baseline)
    text = _text(session_html(dataclasses.replace(report, summary=summary)))
    assert re.search(r"Clean signal 91 % 100 % \+9 pts", text), text
