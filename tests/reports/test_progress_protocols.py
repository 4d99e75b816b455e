"""Progress charts keep protocols apart, mark partial sessions, leave resonance assessments out
of the feedback trend and leave gaps where a session has no value; the progress table keeps its
dates whole."""

from __future__ import annotations

import dataclasses
import math
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from biotrainer.reports.progress import ProgressReport, ProgressRow, progress_charts

TITLES = {
    "hrv-resonance-breathing": "Resonance breathing (HRV coherence)",
    "eeg-hrv-relaxation": "Combined EEG and heart relaxation",
    "resonance-assessment": "Resonance-frequency assessment",
}


def _row(i: int, protocol: str, status: str = "completed", **values) -> ProgressRow:
    fields = {f.name: math.nan for f in dataclasses.fields(ProgressRow)}
    fields.update(
        session_id=i + 1,
        started_utc=datetime(2026, 9, 15, 8, 30, tzinfo=UTC) + timedelta(days=7 * i),
        protocol=protocol,
        status=status,
        duration_s=780.0,
        pain_pre=None,
        pain_post=None,
        stress_pre=None,
        stress_post=None,
        assessment=False,
    )
    fields.update(values)
    return ProgressRow(**fields)


def course() -> list[ProgressRow]:
    """As the reviewer's patient: two protocols alternating, one stopped after 4 minutes, one
    resonance assessment (z +31: paced against natural breathing)."""
    return [
        _row(0, "hrv-resonance-breathing", z=11.8, rmssd_ms=20.7, time_in_target=0.66),
        _row(1, "eeg-hrv-relaxation", z=12.7, rmssd_ms=14.3, time_in_target=0.73),
        _row(2, "hrv-resonance-breathing", "stopped early", z=0.6, rmssd_ms=5.2),
        _row(3, "resonance-assessment", z=31.4, rmssd_ms=23.4, assessment=True),
        _row(4, "hrv-resonance-breathing", z=11.8, rmssd_ms=20.7, time_in_target=0.66),
        _row(5, "eeg-hrv-relaxation", "interrupted", z=0.7, rmssd_ms=6.0),
    ]


def _chart(name: str, rows=None):
    return next(c for c in progress_charts(rows or course(), TITLES) if c.name == name)


def test_each_protocol_has_its_own_named_line_and_partial_sessions_are_hollow():
    """One unmarked line went through every session: alternating protocols zig-zagged and a
    session stopped after 4 of 13 minutes looked like a relapse (review)."""
    rmssd = _chart("rmssd")
    lines = [s for s in rmssd.series if not s.hollow]
    assert [s.label for s in lines] == list(TITLES.values())
    assert len({(s.color, s.symbol) for s in lines}) == 3  # each protocol drawn apart
    breathing = {s.label: s for s in lines}[TITLES["hrv-resonance-breathing"]]
    assert breathing.style == "linepoints"
    # the line joins the completed sessions of its protocol only
    assert list(breathing.x) == [1.0, 5.0] and list(breathing.y) == [20.7, 20.7]
    hollow = [s for s in rmssd.series if s.hollow]
    assert {(s.label, s.style) for s in hollow} == {
        (TITLES["hrv-resonance-breathing"], "points"),
        (TITLES["eeg-hrv-relaxation"], "points"),
    }
    assert sorted(float(x) for s in hollow for x in s.x) == [3.0, 6.0]  # not joined to a line
    assert rmssd.keyed  # the legend names the protocol even when it is the only one


def test_a_resonance_assessment_is_not_in_the_feedback_trend():
    z = _chart("z")
    drawn = {float(x) for s in z.series for x in s.x}
    assert 4.0 not in drawn and 31.4 not in {float(y) for s in z.series for y in s.y}
    assert "resonance assessments left out" in z.title
    assert TITLES["resonance-assessment"] not in {s.label for s in z.series}
    # without an assessment, nothing is said of one
    plain = [r for r in course() if not r.assessment]
    assert "assessment" not in _chart("z", plain).title


def test_every_panel_gives_a_protocol_the_same_colour_and_marker():
    styles = {}
    for chart in progress_charts(course(), TITLES):
        for s in chart.series:
            if s.label in TITLES.values():
                assert styles.setdefault(s.label, (s.color, s.symbol)) == (s.color, s.symbol)
    assert len(styles) == 3


def _drawn_pixels(chart, x: float, y: float, color: str, qtbot) -> int:
    """Pixels of ``color`` (± a little) within 3 px of the data point (x, y) of the drawn
    ``chart``."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor

    from biotrainer.ui.report_pdf import build_plot

    w = build_plot(chart)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    view = w.getPlotItem().getViewBox()
    point = w.mapFromScene(view.mapViewToScene(QPointF(x, y)))
    image = w.grab().toImage()
    want = QColor(color)
    n = 0
    for dx in range(-3, 4):
        for dy in range(-3, 4):
            c = image.pixelColor(point.x() + dx, point.y() + dy)
            if all(abs(a - b) < 40 for a, b in zip(c.getRgb()[:3], want.getRgb()[:3], strict=True)):
                n += 1
    return n


def test_a_session_without_a_value_leaves_a_gap_in_the_line(qtbot):
    """The renderer dropped the NaN points before drawing, so the line bridged the session
    without a value (connect="finite" had nothing to do) (review)."""
    from biotrainer.reports.charts import BLUE, Chart, Series

    x = np.array([1.0, 2.0, 3.0])
    bridged = Chart(
        "c", "t", "y", (Series("s", x, np.array([1.0, math.nan, 1.0]), BLUE, "linepoints"),),
        y_range=(0.0, 2.0),
    )  # fmt: skip
    joined = dataclasses.replace(
        bridged, series=(dataclasses.replace(bridged.series[0], y=np.array([1.0, 1.0, 1.0])),)
    )
    assert _drawn_pixels(joined, 2.0, 1.0, BLUE, qtbot) > 0  # (the probe sees a line)
    assert _drawn_pixels(bridged, 2.0, 1.0, BLUE, qtbot) == 0
    assert _drawn_pixels(bridged, 1.5, 1.0, BLUE, qtbot) == 0
    assert _drawn_pixels(bridged, 1.0, 1.0, BLUE, qtbot) > 0  # the markers are drawn


def test_partial_sessions_are_drawn_hollow_and_named_in_the_legend(qtbot):
    from biotrainer.ui.report_pdf import build_plot

    chart = _chart("rmssd")
    w = build_plot(chart)
    qtbot.addWidget(w)
    legend = w.getPlotItem().titleLabel.text.replace("&nbsp;", " ").replace("\u2011", "-")
    for title in TITLES.values():
        assert title in legend
    assert "○ did not complete" in legend
    hollow = [
        item
        for item in w.getPlotItem().listDataItems()
        if item.opts["symbol"] is not None and item.opts["symbolBrush"].color().name() == "#ffffff"
    ]
    assert sorted(float(x) for item in hollow for x in item.getData()[0]) == [3.0, 6.0]


@pytest.fixture
def berlin_time(monkeypatch):
    """Local time with the longest zone names of the reports' users ("CEST")."""
    if not hasattr(time, "tzset"):
        pytest.skip("no time.tzset on this system")
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_progress_table_dates_break_only_between_date_and_time(qtbot, berlin_time):
    """The date column was cut anywhere: "2026-09-1 / 5 10:30 / CEST" (review)."""
    from PySide6.QtCore import QSizeF
    from PySide6.QtGui import QTextDocument

    from biotrainer.reports.html import progress_html

    rows = tuple(
        dataclasses.replace(
            r, status="stopped early", pain_pre=10, pain_post=3, stress_pre=10, stress_post=2
        )
        for r in course()
    )
    report = ProgressReport(
        "P-1", "P-1", False, None, rows, TITLES, datetime(2026, 12, 1, tzinfo=UTC)
    )
    doc = QTextDocument()
    doc.setDocumentMargin(0)
    doc.setHtml(progress_html(report))
    doc.setPageSize(QSizeF((210 - 30) / 25.4 * 96, (297 - 30) / 25.4 * 96))  # as the PDF lays out
    doc.size()
    dates = {r.started_utc.astimezone().strftime("%Y-%m-%d") for r in rows}
    seen = set()
    block = doc.begin()
    while block.isValid():
        text = block.text().replace("\xa0", " ")
        if text[:10] in dates and " to " not in text:  # (not the "Period" line)
            layout = block.layout()
            lines = [
                text[layout.lineAt(i).textStart() : layout.lineAt(i).textStart()
                     + layout.lineAt(i).textLength()].strip(" \u2028")
                for i in range(layout.lineCount())
            ]  # fmt: skip
            assert lines == [text[:10], "10:30 CEST"], lines
            seen.add(text[:10])
        block = block.next()
    assert seen == dates
