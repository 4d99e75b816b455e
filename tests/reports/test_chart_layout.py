"""The session report's stacked panels: one time axis, phase labels clear of the curves, and
the reward rate only where rewards are judged.

Seen on a simulated stressed-to-relaxed report: the heart-rate panel (20 s bins) had its time
axis shifted against the others (5 s bins), its curve ran through the "baseline" label, and the
running reward rate went on as a flat line through the rest phase after training.
"""

from __future__ import annotations

import numpy as np
import pytest

from biotrainer.reports.charts import Band, Chart, Series
from biotrainer.reports.session_report import session_charts
from biotrainer.session.analysis import MetricSeries


def _series(duration_s: float = 600.0) -> MetricSeries:
    """10 minutes: 90 s baseline, 420 s training, 90 s rest; the heart rate highest at the
    start, the reward rate frozen at its last training value in the rest (as the engine
    writes it)."""
    t = np.arange(0.0, duration_s, 0.1)
    kind = np.where(t < 90.0, "baseline", np.where(t < 510.0, "training", "rest")).astype(object)
    index = np.where(t < 90.0, 0, np.where(t < 510.0, 1, 2)).astype(float)
    reward = np.where(t < 90.0, np.nan, 0.5 + 0.3 * np.sin(t / 20.0))
    reward[t >= 510.0] = reward[t < 510.0][-1]
    nan = np.full(t.size, np.nan)
    return MetricSeries(
        {
            "session_s": t,
            "phase_index": index,
            "phase_kind": kind,
            "finished": np.zeros(t.size),
            "feedback_score": np.full(t.size, 0.5),
            "reward_rate": reward,
            "relaxation": np.linspace(0.3, 0.9, t.size),
            "hr_bpm": np.linspace(85.0, 65.0, t.size),
            "rmssd_ms": np.linspace(5.0, 35.0, t.size),
            "coherence": nan,
            "breathing_bpm": nan,
            "quality_ok": np.ones(t.size),
        }
    )


def test_the_reward_rate_is_drawn_in_training_only():
    (score,) = [c for c in session_charts(_series(), None) if c.name == "score"]
    (reward,) = [s for s in score.series if s.label == "reward rate"]
    x = np.asarray(reward.x) * 60.0
    drawn = np.isfinite(reward.y)
    assert drawn[(x > 95.0) & (x < 505.0)].all()
    assert not drawn[x > 515.0].any()  # (the engine repeats the last training rate there)
    assert not drawn[x < 85.0].any()


def test_stacked_panels_share_one_time_axis(qtbot):
    from biotrainer.ui.report_pdf import build_plot

    charts = {c.name: c for c in session_charts(_series(), None)}
    assert "20 s" in charts["hr_bpm"].title and "2 s" in charts["relaxation"].title
    ranges = set()
    for chart in charts.values():
        w = build_plot(chart)
        qtbot.addWidget(w)
        ranges.add(tuple(np.round(w.getPlotItem().getViewBox().viewRange()[0], 9)))
    assert len(ranges) == 1, ranges
    ((lo, hi),) = ranges
    assert lo <= 0.0 and 599.9 / 60.0 <= hi < 10.5


@pytest.mark.parametrize("duration_s", [101.0, 247.0])
def test_the_shared_time_axis_holds_every_panel_s_last_mean(duration_s):
    """A session that is not a whole number of the heart rate's 20-s bins: its last mean lies
    after the last row (101 s: at 110 s), and the shared axis cut it off."""
    charts = session_charts(_series(duration_s), None)
    (x_range,) = {c.x_range for c in charts}
    last = max(float(np.max(s.x)) for c in charts for s in c.series)
    assert last > (duration_s - 0.1) / 60.0  # (the situation)
    assert x_range[0] <= 0.0 and x_range[1] >= last


@pytest.mark.parametrize("y_range", [None, (0.0, 1.0)])
def test_a_phase_label_stays_clear_of_a_curve_at_the_top(qtbot, y_range):
    """A curve at its highest where the label sits (the heart rate of a stressed start)."""
    import pyqtgraph as pg
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtWidgets import QApplication

    from biotrainer.ui.report_pdf import build_plot

    x = np.linspace(0.0, 10.0, 200)
    y = np.linspace(1.0, 0.0, 200)
    chart = Chart(
        "c", "title", "y", (Series("s", x, y),), bands=(Band(0.0, 1.5, "#e0e0e0", "baseline"),),
        y_range=y_range,
    )  # fmt: skip
    w = build_plot(chart)
    qtbot.addWidget(w)
    w.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    w.show()
    QApplication.processEvents()
    item = w.getPlotItem()
    (label,) = [i for i in item.items if isinstance(i, pg.TextItem)]
    assert label.isVisible()
    box = label.sceneBoundingRect()
    view = item.getViewBox()
    # the curve is at its highest (1.0) at the label's left end, x = 0
    curve_top = view.mapViewToScene(QPointF(0.0, 1.0)).y()
    assert box.bottom() < curve_top  # (scene y grows downwards)
