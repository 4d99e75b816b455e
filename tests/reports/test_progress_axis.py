"""The progress report's session axis stays readable however many sessions a patient has."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from biotrainer.reports.progress import (
    MAX_SESSION_LABELS,
    ProgressRow,
    labelled_sessions,
    progress_charts,
)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 10, 15, 20, 51, 200, 1000])
def test_at_most_a_few_evenly_spaced_labels_first_and_last_included(n):
    picked = labelled_sessions(n)
    assert picked[0] == 0 and picked[-1] == n - 1
    assert picked == sorted(set(picked))
    assert len(picked) == min(n, len(picked)) <= MAX_SESSION_LABELS
    if n <= MAX_SESSION_LABELS:
        assert len(picked) == n  # every session labelled
    gaps = [b - a for a, b in itertools.pairwise(picked)]
    if n > MAX_SESSION_LABELS:
        assert min(gaps) > max(gaps) / 2  # no two labels crowded together


def _row(i: int) -> ProgressRow:
    values = {f.name: float("nan") for f in dataclasses.fields(ProgressRow)}
    values.update(
        session_id=i + 1,
        started_utc=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=7 * i),
        protocol="alpha-uptraining",
        status="completed",
        score=0.5,
        pain_pre=None,
        pain_post=None,
        stress_pre=None,
        stress_post=None,
    )
    return ProgressRow(**values)


def test_a_long_course_of_sessions_labels_a_few_and_plots_all():
    """15 sessions overlapped their labels and 200 made a solid black bar (audit)."""
    rows = [_row(i) for i in range(200)]
    for chart in progress_charts(rows):
        assert chart.x_ticks is not None and len(chart.x_ticks) <= MAX_SESSION_LABELS
        assert chart.x_ticks[0][1].startswith("#1\n") and chart.x_ticks[-1][1].startswith("#200\n")
        assert all(len(s.x) == 200 for s in chart.series)


def test_the_rating_charts_say_when_no_rating_was_recorded():
    """Without any pain or stress rating the two charts were empty frames with a legend; they
    stay (a missing rating is worth seeing) and say why they are empty."""
    rows = [_row(i) for i in range(3)]
    titles = {c.name: c.title for c in progress_charts(rows)}
    assert titles["pain"] == "Pain before and after each session (0–10): no ratings recorded"
    rows[1] = dataclasses.replace(rows[1], stress_post=3.0)
    titles = {c.name: c.title for c in progress_charts(rows)}
    assert titles["stress"] == "Stress before and after each session (0–10)"
    assert titles["pain"].endswith(": no ratings recorded")
