"""The PDF reports of very short sessions: phase labels inside their charts, charts that cannot
show a course said in words, and figures of seconds not passed off as results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from reportkit import cli, pdf_images, pdf_text

pypdf = pytest.importorskip("pypdf")

#: 35 s in all: a 20-s baseline and 15 s of training (the heart rate's 20-s means: two).
BRIEF = """
name = "brief"
title = "Brief"
feedback = "alpha"

[[phases]]
name = "Rest first"
kind = "baseline"
duration_s = 20
eyes = "open"

[[phases]]
name = "Train"
kind = "training"
duration_s = 15
eyes = "open"
"""

#: 8 s of baseline: the recording replayed into a longer protocol (ends during its baseline).
BLIP = """
name = "blip"
title = "Blip"
feedback = "alpha"

[[phases]]
name = "Rest first"
kind = "baseline"
duration_s = 8
eyes = "open"
"""


def session_id(out: str) -> str:
    (line,) = [x for x in out.splitlines() if x.startswith("session ")]
    return line.split()[1]  # "session 3 registered for patient P"


#: A scenario of 8 s: the simulator's session ends with it.
EIGHT_SECONDS = """name = "eight"
title = "Eight seconds"

[[segments]]
label = "calm"
duration_s = 8
relaxation = 0.5
breathing_rate_bpm = 12
eyes_closed = false
"""


@pytest.fixture(scope="module")
def short(tmp_path_factory) -> dict[str, str | Path]:
    """Two short simulator sessions: "brief" completed (35 s), and an 8-s scenario run with
    "longer" (a 20-s baseline, 60 s of training): it ends during its baseline. (It was an 8-s
    recording replayed for P-BLIP: a replay is no session of a patient now.)"""
    tmp = tmp_path_factory.mktemp("short")
    data = str(tmp / "data")
    (tmp / "brief.toml").write_text(BRIEF)
    (tmp / "blip.toml").write_text(BLIP)
    longer = BRIEF.replace("duration_s = 15", "duration_s = 60")
    (tmp / "longer.toml").write_text(longer.replace('"brief"', '"longer"'))
    for code in ("P-BRIEF", "P-BLIP"):
        assert cli("patients", "add", code, "--data-dir", data)[0] == 0
    sim = ("--device", "simulator-muse2", "--speed", "max", "--data-dir", data)
    rc, out, err = cli("run", "--protocol", str(tmp / "brief.toml"), "--patient", "P-BRIEF", *sim)
    assert rc == 0, err
    brief = session_id(out)
    (tmp / "eight.toml").write_text(EIGHT_SECONDS)
    rc, out, err = cli("run", "--protocol", str(tmp / "longer.toml"), "--patient", "P-BLIP",
                       "--scenario", str(tmp / "eight.toml"), *sim)  # fmt: skip
    assert rc == 0, err
    return {"tmp": tmp, "data": data, "brief": brief, "blip": session_id(out)}


def report(short, *what: str) -> Path:
    out = short["tmp"] / f"{'-'.join(what)}.pdf"
    rc, _, err = cli("report", *what, "--out", str(out), "--data-dir", short["data"])
    assert rc == 0, err
    return out


def test_seconds_of_a_session_are_said_too_short_to_chart_not_drawn(short):
    """8 s of baseline drew frames with a dot or a few 1-s means in them (the heart rate's an
    empty frame), and the tables' means of 8 s read like a session's results."""
    pdf = report(short, short["blip"])
    text = pdf_text(pdf)
    assert "Too short to chart: 8 s recorded (the charts need at least 30 s)." in text
    assert pdf_images(pdf) == 0
    assert "Shading: grey = baseline" not in text  # (no chart to shade)
    assert "Only 8 s was recorded: too short for the means below" in text
    assert "The session ended during its baseline: nothing came after it to compare" in text


def test_a_chart_with_too_few_means_says_so_in_its_place(short):
    """A 35-s session's heart rate (20-s means) was a frame with one segment, its 15 s of
    training read as the training's result."""
    pdf = report(short, short["brief"])
    text = pdf_text(pdf)
    assert (
        "Heart rate (means over 20 s): too short to chart: 2 means over the 35 s recorded." in text
    )
    assert "Only 15 s of training was recorded: too short for its means" in text
    assert "Too short to chart: 0 min" not in text and "ended during its baseline" not in text
    assert pdf_images(pdf) >= 4  # score, relaxation, RMSSD..., quality: drawn


def test_a_progress_chart_without_ratings_is_said_not_drawn_empty(short):
    """A patient with one unrated session got two empty frames (the ratings' charts)."""
    pdf = report(short, "--patient", "P-BLIP")
    text = pdf_text(pdf)
    assert "Pain before and after each session (0–10): no ratings recorded." in text
    assert "Stress before and after each session (0–10): no ratings recorded." in text


def _laid_out(qtbot, chart):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from biotrainer.ui.report_pdf import build_plot

    w = build_plot(chart)
    qtbot.addWidget(w)
    w.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    w.show()
    QApplication.processEvents()
    return w


def _shown_labels(plot):
    import pyqtgraph as pg

    return [t for t in plot.getPlotItem().items if isinstance(t, pg.TextItem) and t.isVisible()]


def test_phase_labels_are_never_cut_off_at_the_chart_edge(qtbot):
    """Stopped 2 s into training: "traini" cut at the chart's right edge, and "seline" at its
    left where the heart rate's first mean lies after the baseline's start."""
    from biotrainer.reports.charts import BAND_BASELINE, BAND_TRAINING, Band, Chart, Series

    x = np.linspace(0.17, 2.03, 50)  # minutes: the first mean after the start
    bands = (
        Band(0.0, 1.0, BAND_BASELINE, "baseline"),
        Band(1.0, 2.0, BAND_BASELINE),
        Band(2.0, 2.04, BAND_TRAINING, "training"),
    )
    plot = _laid_out(qtbot, Chart("hr", "HR", "bpm", (Series("hr", x, np.sin(x)),), bands=bands))
    view = plot.getPlotItem().getViewBox().sceneBoundingRect()
    labels = _shown_labels(plot)
    for t in labels:
        assert view.contains(t.sceneBoundingRect()), (t.toPlainText(), t.sceneBoundingRect())
    assert [t.toPlainText() for t in labels] == ["baseline"]  # training: too narrow to hold it


def test_a_phase_label_goes_to_a_later_phase_of_its_kind_that_holds_it(qtbot):
    """A first baseline of a few seconds cannot hold its label; the next baseline can."""
    from biotrainer.reports.charts import BAND_BASELINE, BAND_TRAINING, Band, Chart, Series

    x = np.linspace(0.0, 10.0, 50)
    bands = (
        Band(0.0, 0.05, BAND_BASELINE, "baseline"),
        Band(0.05, 5.0, BAND_TRAINING, "training"),
        Band(5.0, 10.0, BAND_BASELINE),
    )
    plot = _laid_out(qtbot, Chart("s", "S", "u", (Series("s", x, x),), bands=bands))
    item = plot.getPlotItem()
    view = item.getViewBox().sceneBoundingRect()
    labels = {t.toPlainText(): t for t in _shown_labels(plot)}
    assert set(labels) == {"baseline", "training"}
    assert labels["baseline"].pos().x() == pytest.approx(5.0)
    assert labels["training"].pos().x() == pytest.approx(0.05)
    for t in labels.values():
        assert view.contains(t.sceneBoundingRect())


def test_minutes_below_one_are_not_scaled_on_the_axis(qtbot):
    """A 35-s session's time axis read "minutes ... (x0.001)" over ticks 100 to 500."""
    from biotrainer.reports.charts import Chart, Series

    x = np.linspace(0.0, 0.58, 30)
    chart = Chart("q", "Q", "ratio", (Series("q", x, x / 2),), x_label="minutes")
    item = _laid_out(qtbot, chart).getPlotItem()
    for name in ("bottom", "left"):
        assert "0.001" not in item.getAxis(name).labelString()


def test_the_reports_html_says_in_words_what_is_not_drawn(short):
    """The words are the reports' own (their HTML and cautions), not the PDF writer's: the
    HTML of a session of seconds had an image for every chart, later rewritten."""
    from biotrainer.reports import html
    from biotrainer.reports.progress import build_progress_report
    from biotrainer.reports.session_report import build_session_report
    from biotrainer.session.store import Store

    with Store.open_to_read(short["data"]) as store:
        blip = build_session_report(store, int(short["blip"]))
        brief = build_session_report(store, int(short["brief"]))
        progress = build_progress_report(store, "P-BLIP")
    text = html.session_html(blip)
    assert 'src="chart:' not in text and "Shading:" not in text
    assert "Too short to chart: 8 s recorded (the charts need at least 30 s)." in text
    assert "The session ended during its baseline" in text
    assert any(c.startswith("The session ended during its baseline") for c in blip.cautions)
    assert html.shown_session_charts(blip) == []
    text = html.session_html(brief)
    drawn = [c.name for c in html.shown_session_charts(brief)]
    assert len(drawn) >= 4 and "hr_bpm" not in drawn
    assert all(f'src="chart:{name}"' in text for name in drawn)
    assert 'src="chart:hr_bpm"' not in text and "Shading: grey = baseline" in text
    assert "Heart rate (means over 20 s): too short to chart: 2 means over the 35 s" in text
    text = html.progress_html(progress)
    assert 'src="chart:pain"' not in text and 'src="chart:stress"' not in text
    assert "Pain before and after each session (0–10): no ratings recorded." in text
