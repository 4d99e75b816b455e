"""The session report's charts over protocol time."""

from __future__ import annotations

import numpy as np

from biotrainer.reports.session_report import session_charts
from biotrainer.session.analysis import MetricSeries


def _series(minutes: float, hr: np.ndarray | None = None) -> MetricSeries:
    t = np.arange(0.0, minutes * 60.0, 0.1)
    nan = np.full(t.size, np.nan)
    columns = {
        "session_s": t,
        "phase_index": np.zeros(t.size),
        "phase_kind": np.full(t.size, "training", dtype=object),
        "finished": np.zeros(t.size),
        "feedback_score": np.full(t.size, 0.5),
        "reward_rate": np.full(t.size, 0.6),
        "relaxation": np.full(t.size, 0.4),
        "hr_bpm": hr if hr is not None else np.full(t.size, 70.0),
        "rmssd_ms": nan,
        "coherence": nan,
        "breathing_bpm": nan,
        "quality_ok": np.ones(t.size),
    }
    return MetricSeries(columns)


def test_the_heart_rate_chart_does_not_zigzag_with_slow_breathing():
    """Heart rate swinging ±5 beats/min with breathing at 6/min (resonance breathing): the
    chart's short means rose and fell by up to 9 beats/min, a zig-zag that read as an
    unsteady heart. Bins of whole breaths show the steady mean; the other charts keep theirs."""
    t = np.arange(0.0, 600.0, 0.1)
    series = _series(10.0, 70.0 + 5.0 * np.sin(2 * np.pi * t / 10.0))
    charts = {c.name: c for c in session_charts(series, None)}
    hr = charts["hr_bpm"]
    y = hr.series[0].y[np.isfinite(hr.series[0].y)]
    assert np.ptp(y) < 1.0, np.ptp(y)
    assert "means over 20 s" in hr.title
    assert "means over 2 s" in charts["relaxation"].title  # (10 min: about 300 bins)


def test_the_breathing_chart_says_where_its_rate_came_from():
    series = _series(4.0)
    n = len(series)
    series.columns["breathing_bpm"] = np.full(n, 12.0)
    assert session_chart_title(series, "breathing_bpm").startswith("Breathing rate (means")
    source = np.full(n, "resp", dtype=object)
    series.columns["breathing_source"] = source
    assert "Breathing rate, respiration belt (means" in session_chart_title(series, "breathing_bpm")
    source[: n // 4] = "heart"
    assert "belt; 25 % from the heart rhythm (means" in session_chart_title(series, "breathing_bpm")
    source[:] = "heart"
    assert "Breathing rate, from the heart rhythm (" in session_chart_title(series, "breathing_bpm")


def session_chart_title(series: MetricSeries, name: str) -> str:
    return next(c.title for c in session_charts(series, None) if c.name == name)
