"""The trainer on small screens: a 1280x720 clinic laptop holds the window beside a taskbar, and
nothing in it is cut or crowded there (audit 8, findings 11 and 12); on a 1024x600 screen (a
small laptop, a clinic tablet, a projector at a low resolution) the window's least size leaves
room for its title bar and a taskbar, and at that size every control is on screen, whole, and no
plot is squeezed under its least height."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QRect, QSettings
from PySide6.QtGui import QFont, QImage, QPainter, QTextDocument, QTextLayout
from PySide6.QtWidgets import QApplication, QFrame, QPushButton, QWidget

from biotrainer.acquisition.factory import open_accelerated
from biotrainer.clock import SimulatedClock
from biotrainer.engine.protocol import load_protocol
from biotrainer.engine.resonance import RateResult, ResonanceResult
from biotrainer.engine.updates import MetricUpdate
from biotrainer.session.analysis import MetricMeans, PhaseStats
from biotrainer.ui.dashboard import SPECTRUM_MIN_PX, TRENDS_MIN_PX, TherapistDashboard
from biotrainer.ui.quality_lights import QualityLights
from biotrainer.ui.spectrum import BAND_NAMES, SpectrumPanel
from biotrainer.ui.trainer_window import TITLE_BAR_PX, TrainerWindow
from biotrainer.ui.trends import TrendPlots

#: What a 1280x720 screen leaves a window's inside: a 48-pixel taskbar and the title bar.
SCREEN = (1280, 720 - 48 - TITLE_BAR_PX)


def trainer(
    qtbot, tmp_path, make_source, clock, protocol: str = "alpha-uptraining", **kw
) -> TrainerWindow:
    window = TrainerWindow(
        make_source,
        load_protocol(protocol),
        clock=clock,
        data_dir=tmp_path,
        settings=QSettings(str(tmp_path / "trainer.ini"), QSettings.Format.IniFormat),
        fps=60,
        tick_hz=200,
        before_tick=lambda: clock.advance(1.0),
        patient_view_factory=lambda clock: None,
        **kw,
    )
    qtbot.addWidget(window)
    return window


def fits(window, screen=SCREEN) -> bool:
    hint, least = window.minimumSizeHint(), window.minimumSize()
    return all(s.width() <= screen[0] and s.height() <= screen[1] for s in (hint, least))


def test_a_16_channel_session_fits_a_1280x720_screen_before_during_and_after(
    qtbot, tmp_path, errors_shown
):
    clock = SimulatedClock()
    window = trainer(
        qtbot, tmp_path, lambda: open_accelerated("simulator", clock, 1.0, seed=3), clock
    )
    window.resize(*SCREEN)
    window.show()
    qtbot.waitExposed(window)
    assert fits(window), window.minimumSizeHint()

    assert window.start_session()
    lights = window.dashboard.lights
    assert lights is not None and len(lights.lights) == 17  # 16 EEG channels and the heart
    # every light has its verdict (none grey), so the bar shows what it shows in a session
    qtbot.waitUntil(
        lambda: (
            window.engine.session_s > 20
            and "#56616c" not in set(window.dashboard.lights.colors().values())
        ),
        timeout=30_000,
    )
    assert fits(window), window.minimumSizeHint()
    window.resize(*SCREEN)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == SCREEN, timeout=5000)

    window.stop_session()
    assert fits(window), window.minimumSizeHint()
    assert errors_shown == []
    window.close()


def test_the_lights_take_two_rows_and_a_long_name_is_elided_with_its_tooltip(qtbot):
    names = (*(f"E{i}" for i in range(15)), "Fpz-referenced-to-A1")
    lights = QualityLights(names, has_heart=True)
    qtbot.addWidget(lights)
    grid = lights.layout()
    rows = {grid.getItemPosition(i)[0] for i in range(grid.count())}
    assert rows == {0, 1}
    long = lights.labels["Fpz-referenced-to-A1"]
    assert long.text() != "Fpz-referenced-to-A1" and long.text().endswith("…")
    assert "Fpz-referenced-to-A1" in long.toolTip()
    assert lights.labels["E3"].text() == "E3" and "E3" in lights.labels["E3"].toolTip()


@pytest.mark.parametrize(
    ("lo", "hi", "size_px"),
    [(80.2, 83.1, 22), (0.0, 1.0, 25), (-0.05, 1.05, 90), (14.9, 15.3, 18), (3.0, 80.0, 300)]
    + [
        (lo, lo + span, px)
        for lo, span, px in itertools.product((-7.3, 0.0, 61.0), (0.01, 2.5, 400.0), (12, 30, 120))
    ],
)
def test_sparse_ticks_are_apart_inside_the_range_and_never_none(lo, hi, size_px):
    from biotrainer.ui.trends import sparse_ticks

    gap = 18.0
    ticks = sparse_ticks(lo, hi, size_px, gap)
    assert ticks, "a valid range always gets a label"
    assert all(lo - 1e-9 <= t <= hi + 1e-9 for t in ticks)
    px = np.diff(ticks) * size_px / (hi - lo)
    assert np.all(px >= gap - 1e-6)
    assert sparse_ticks(lo, lo, size_px, gap) == [] and sparse_ticks(lo, hi, 0, gap) == []


def drawn_labels(axis) -> list[tuple[float, float, str]]:
    """(top, bottom, text) of the tick labels an axis draws, in its own pixels."""
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    p = QPainter(image)
    try:
        if axis.style["tickFont"]:
            p.setFont(axis.style["tickFont"])
        specs = axis.generateDrawSpecs(p)
    finally:
        p.end()
    if specs is None:
        return []
    return sorted((r.top(), r.bottom(), text) for r, _flags, text in specs[2])


def test_the_trend_axes_of_a_720_pixel_screen_carry_labels_that_do_not_overlap(qtbot):
    trends = TrendPlots()
    qtbot.addWidget(trends)
    trends.resize(496, TRENDS_MIN_PX)  # the trends' least share of a 1280x720 screen's window
    trends.show()
    qtbot.waitExposed(trends)
    rng = np.random.default_rng(1)
    updates = [
        MetricUpdate(
            session_s=60.0 + 0.1 * i,
            sample_time=1000.0 + 0.1 * i,
            received_at=0.0,
            computed_at=0.0,
            feedback_score=float(rng.uniform(0, 1)),
            hr_bpm=80.0 + 3.0 * np.sin(i / 40),
            rmssd_ms=4.0 + 2.0 * np.sin(i / 70),
            coherence=0.3 + 0.05 * np.sin(i / 90),
            breathing_bpm=15.0 + np.sin(i / 50),
        )
        for i in range(600)
    ]
    trends.append(updates)
    trends.refresh()
    qtbot.wait(50)
    for name, plot in trends.plots.items():
        axis = plot.getAxis("left")
        labels = drawn_labels(axis)
        assert labels, f"{name}: no value on its axis"
        for (_, bottom, a), (top, _, b) in itertools.pairwise(labels):
            assert bottom <= top, f"{name}: labels {a!r} and {b!r} overlap: {labels}"


def test_the_band_power_bars_and_their_values_fit_a_small_spectrum_panel(qtbot):
    panel = SpectrumPanel(250.0, 4)
    qtbot.addWidget(panel)
    panel.resize(496, SPECTRUM_MIN_PX)  # the spectrum's least share of a 1280x720 screen
    panel.show()
    qtbot.waitExposed(panel)
    panel.relative = np.array([0.48, 0.22, 0.09, 0.16, 0.05])
    panel._draw_bars()
    qtbot.wait(50)
    view = panel.bar_plot.vb.sceneBoundingRect()
    assert panel.bar_plot.sceneBoundingRect().right() <= panel.width()  # gamma is not cut
    for i, label in enumerate(panel.bar_labels):
        box = label.sceneBoundingRect()
        assert box.top() >= view.top() - 0.5, f"{BAND_NAMES[i]}: its value is cut at the top"
        assert view.left() <= box.center().x() <= view.right()


def test_the_pacer_rate_in_the_instruction_never_breaks(qtbot):
    dash = TherapistDashboard()
    qtbot.addWidget(dash)
    dash.set_protocol(load_protocol("hrv-resonance-breathing"))
    phase = next(i for i, p in enumerate(dash.protocol.phases) if p.pacer_bpm)
    dash.set_state("running")
    dash.add_updates(
        [
            MetricUpdate(
                session_s=75.0,
                sample_time=1000.0,
                received_at=5.0,
                computed_at=5.0,
                phase_index=phase,
                pacer_bpm=5.5,
            )
        ]
    )
    dash.refresh()
    text = dash.instruction_label.text()
    start = text.index("pacer")
    for width in range(60, 600, 5):
        layout = QTextLayout(text, QFont())
        layout.beginLayout()
        breaks = []
        while (line := layout.createLine()).isValid():
            line.setLineWidth(width)
            breaks.append(line.textStart())
        layout.endLayout()
        assert not any(start < b < len(text) for b in breaks), f"broken at {width} px"


def test_ppg_lanes_drop_the_role_prefix_the_title_already_says():
    from biotrainer.ui.signal_plots import lane_names

    assert lane_names("ppg", ("ppg_ir", "ppg_red", "ppg_ambient")) == ("ir", "red", "ambient")
    assert lane_names("eeg", ("Fp1", "Fp2")) == ("Fp1", "Fp2")
    assert lane_names("ppg", ("ppg_ir", "green")) == ("ppg_ir", "green")
    assert lane_names("ppg", ("ppg_",)) == ("ppg_",)


def option_whole_on_a_line(text: str, option: str, width: int) -> bool:
    doc = QTextDocument()
    doc.setDefaultFont(QFont())
    if text.lstrip().startswith("<"):
        doc.setHtml(text)
    else:
        doc.setPlainText(text)
    doc.setTextWidth(width)
    doc.size()  # (lays the text out)
    block = doc.begin()
    while block.isValid():
        layout, body = block.layout(), block.text()
        for i in range(layout.lineCount()):
            line = layout.lineAt(i)
            if option in body[line.textStart() : line.textStart() + line.textLength()]:
                return True
        block = block.next()
    return False


def test_a_missing_serial_port_is_told_the_gui_way_in_a_dialog(qtbot, tmp_path, errors_shown):
    from biotrainer.cli import build_parser
    from biotrainer.commands.sources import source_factory

    clock = SimulatedClock()
    args = build_parser().parse_args(["gui", "--device", "cyton"])
    window = trainer(qtbot, tmp_path, source_factory(args, clock), clock)
    window.resize(*SCREEN)
    window.show()
    assert not window.start_session()
    title, text = errors_shown[-1]
    assert title == "The device could not be opened"
    doc = QTextDocument()
    doc.setHtml(text)
    plain = doc.toPlainText()
    assert plain[:1].isupper() and "pass --" not in plain
    assert "serial port" in plain and "start it again" in plain
    for width in range(120, 620, 10):  # a message box's text is 200-600 pixels wide
        assert option_whole_on_a_line(text, "--serial-port", width), f"broken at {width} px"
    # the status bar of the check that starts with the window says it on one line
    assert not window.start_signal_check(quiet=True)
    status = window.statusBar().currentMessage()
    assert "serial port" in status and "pass --" not in status and "\n" not in status
    window.close()


def test_the_signal_window_says_a_missing_serial_port_the_gui_way_too(qtbot, errors_shown):
    """``biotrainer gui --signals``: the message box says what to do from the desktop, not the
    command line's "pass --serial-port" (the error the CLI prints stays that one line)."""
    from biotrainer.cli import build_parser
    from biotrainer.commands.sources import source_factory
    from biotrainer.errors import BiotrainerError
    from biotrainer.ui.app import run_main_window

    args = build_parser().parse_args(["gui", "--signals", "--device", "cyton"])
    with pytest.raises(BiotrainerError, match="pass --serial-port"):
        run_main_window(source_factory(args, SimulatedClock()))
    (_title, text), *_ = errors_shown
    doc = QTextDocument()
    doc.setHtml(text)
    plain = doc.toPlainText()
    assert plain[:1].isupper() and "pass --" not in plain and "start it again" in plain
    assert option_whole_on_a_line(text, "--serial-port", 300)


def test_a_window_too_big_for_its_screen_opens_maximized_and_one_that_fits_as_it_is(qtbot):
    """Shrunk to the screen's free area, the trainer's frame went beyond it by its title bar
    (the bottom row, Stop included, under the taskbar): a window that does not fit with its
    title bar opens maximized, and the window manager fits it whole."""
    from PySide6.QtWidgets import QApplication, QWidget

    from biotrainer.ui.trainer_window import show_fitted

    free = QApplication.primaryScreen().availableGeometry()
    sizes = {
        "wide": (free.width() + 100, free.height() // 2),
        "tall only with its title bar": (free.width() // 2, free.height() - TITLE_BAR_PX // 2),
        "fits": (free.width() // 2, free.height() - TITLE_BAR_PX - 10),
    }
    shown = {}
    for name, (w, h) in sizes.items():
        window = QWidget()
        qtbot.addWidget(window)
        window.resize(w, h)
        show_fitted(window)
        assert window.isVisible(), name
        shown[name] = window.isMaximized()
    assert shown == {"wide": True, "tall only with its title bar": True, "fits": False}


#: The simulator's 16 EEG channels.
CAP_16 = ("Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4",
          "O1", "O2", "F7", "F8", "T7", "T8", "Pz", "Oz")  # fmt: skip
#: What the artifacts scenario's 16 channels say at once (every channel poor).
ALL_POOR = "; ".join(
    f"{name}: " + ("50 Hz mains 21 dB, " if name == "O1" else "") + f"blink/motion {300 + i} µV"
    for i, name in enumerate(CAP_16)
)


def test_a_long_quality_reason_keeps_the_dashboard_still_on_a_1280x640_window(
    qtbot, tmp_path, errors_shown
):
    """With every channel poor the quality line grew to nine lines at 1280x640: the bar under
    the plots grew with it, the trends were pushed out of view and the dashboard jumped as
    the quality changed. It says it in two lines at most now, all of it in its tooltip."""
    clock = SimulatedClock()
    source = open_accelerated("simulator", clock, 1.0, seed=3)
    window = trainer(qtbot, tmp_path, lambda: source, clock)
    dash = window.dashboard
    dash.set_layout(source.layout)
    window.resize(1280, 640)
    window.show()
    qtbot.waitExposed(window)
    dash.set_state("running")

    def show(**kw) -> None:
        dash.show_update(
            MetricUpdate(session_s=90.0, sample_time=1000.0, received_at=0.0, computed_at=0.0, **kw)
        )
        dash.refresh()
        QApplication.processEvents()

    show(channel_ok=(True,) * 16)
    label = dash.quality_label
    clean_height = label.height()
    trends_before = dash.trends.geometry()
    show(channel_ok=(False,) * 16, quality_ok=False, quality_reason=ALL_POOR)
    assert label.text().startswith("Quality: 16 channels: blinks/movement")
    # (O1's 21 dB of mains is weak hum, not named on the line: its tooltip has it)
    assert label.full_text() == "Quality: 16 channels: blinks/movement"
    assert label.toolTip().count("µV") == 16 and "O1: 50 Hz mains 21 dB" in label.toolTip()
    lines = label.fontMetrics().lineSpacing()
    assert label.height() == clean_height <= 2 * lines + 4  # two lines, whatever it says
    assert dash.trends.geometry() == trends_before  # nothing moved
    assert window.height() == 640 and window.minimumSizeHint().height() <= 640
    trends = dash.trends
    bottom = trends.mapTo(window, trends.rect().bottomLeft()).y()
    label_top = label.mapTo(window, label.rect().topLeft()).y()
    assert trends.height() >= TRENDS_MIN_PX and bottom < label_top  # above the bar
    for plot in trends.plots.values():  # every trend on screen, none squeezed to nothing
        box = plot.sceneBoundingRect()  # (the trends' own pixels)
        assert plot.isVisible() and box.height() > 20
        assert box.top() >= 0 and box.bottom() <= trends.height() + 1

    window.close()


def test_the_quality_line_is_cut_to_two_lines_with_all_of_it_in_the_tooltip(qtbot):
    from biotrainer.ui.dashboard import ElidedLabel

    label = ElidedLabel(lines=2)
    qtbot.addWidget(label)
    label.resize(160, label.height())
    label.show()
    height = label.height()
    label.set_full_text("Quality: short")
    assert label.text() == "Quality: short"
    text = "Quality: " + "; ".join(f"{c}: flat" for c in "ABCDEFGHIJKL") + "; signal lost"
    label.set_full_text(text)
    shown = label.text().split("\n")
    assert len(shown) == 2 and shown[1].endswith("…")
    assert all(label.fontMetrics().horizontalAdvance(line) <= 160 for line in shown)
    assert label.toolTip() == text and label.full_text() == text and label.height() == height
    label.resize(2000, height)  # room again: all of it
    assert label.text() == text


#: The most a window may take of a 1024x600 screen: a taskbar and the title bar beside it.
SMALL = (1024 - 24, 600 - 40)


def small_trainer(qtbot, tmp_path, protocol: str = "eeg-hrv-relaxation") -> TrainerWindow:
    """The trainer on the simulator, with a patient (the header then names the patient too)."""
    clock = SimulatedClock()
    source = lambda: open_accelerated("simulator", clock, 1.0, seed=3)  # noqa: E731
    return trainer(qtbot, tmp_path, source, clock, protocol=protocol, patient="P-017")


def least(window: QWidget) -> tuple[int, int]:
    """The window's least size: the larger of its minimum size and its layout's."""
    QApplication.processEvents()
    hint, size = window.minimumSizeHint(), window.minimumSize()
    return max(hint.width(), size.width()), max(hint.height(), size.height())


def whole_on_screen(widget: QWidget) -> bool:
    """``widget`` is shown, at least its least size, and inside its window, nothing of it cut
    off by a parent."""
    if not widget.isVisible():
        return False
    hint = widget.minimumSizeHint()
    if widget.width() < hint.width() or widget.height() < hint.height():
        return False
    window = widget.window()
    top_left = widget.mapTo(window, widget.rect().topLeft())
    if not window.rect().contains(QRect(top_left, widget.size())):
        return False
    return widget.visibleRegion().boundingRect() == widget.rect()


def controls(window: TrainerWindow) -> dict[str, QWidget]:
    """The dashboard's controls (LSL's not while a note is typed: the note box is there)."""
    d = window.dashboard
    names = ["check_button", "start_button", "pause_button", "stop_button", "marker_button"]
    names += ["note_button", "patient_button", "threshold_slider", "auto_check", "target_spin"]
    shown = {name: getattr(d, name) for name in names}
    if d.note_box.isVisible():
        shown["note box"] = d.note_box
    else:
        shown |= {"lsl_check": d.lsl_check, "station_edit": d.station_edit}
    return shown | {"menu bar": window.menuBar()}


def at_least_size_all_is_there(window: TrainerWindow) -> list[str]:
    """Shrink ``window`` to its least size; what is then cut, hidden or squeezed (none: [])."""
    from biotrainer.ui.signal_plots import MIN_TRACE_PX

    window.resize(1, 1)
    QApplication.processEvents()
    assert (window.width(), window.height()) == least(window)
    d = window.dashboard
    wrong = [name for name, w in controls(window).items() if not whole_on_screen(w)]
    squeezed = [("spectrum", d._spectrum_holder), ("trends", d.trends)]
    if d.plots is not None:
        squeezed += list(d.plots.panels.items())
        wrong += [
            f"{role} traces"
            for role, panel in d.plots.panels.items()
            if panel.data_rect().height() < MIN_TRACE_PX
        ]
    wrong += [name for name, w in squeezed if w.isVisible() and w.height() < w.minimumHeight()]
    for bar in (d.findChild(QFrame, "header"), d.quality_label.parentWidget()):
        if bar.height() != bar.minimumSizeHint().height():
            wrong.append(f"{bar.objectName()} is {bar.height()} px, not as counted")
    spectrum = d.spectrum
    if spectrum is not None and spectrum.bar_plot.sceneBoundingRect().right() > spectrum.width():
        wrong.append("band-power bars cut")
    return wrong


def fits_1024(window: TrainerWindow) -> bool:
    w, h = least(window)
    return w <= SMALL[0] and h <= SMALL[1]


def show(window: TrainerWindow, **kw) -> None:
    """Show an update with ``kw`` in the dashboard now."""
    update = MetricUpdate(session_s=90.0, sample_time=1000.0, received_at=0.0, computed_at=0.0)
    window.dashboard.show_update(replace(update, **kw))
    window.dashboard.refresh()


def test_the_trainer_fits_a_1024x600_screen_with_every_control_whole(qtbot, tmp_path, errors_shown):
    window = small_trainer(qtbot, tmp_path)
    window.resize(*SMALL)
    window.show()
    qtbot.waitExposed(window)
    assert fits_1024(window), least(window)
    assert at_least_size_all_is_there(window) == []

    assert window.start_session()
    qtbot.waitUntil(lambda: window.engine.session_s > 20, timeout=30_000)
    assert fits_1024(window), least(window)
    assert at_least_size_all_is_there(window) == []

    window.toggle_pause()
    assert fits_1024(window), least(window)  # ("Resume" is wider than "Pause")
    window.toggle_pause()

    window.dashboard.open_note_box()
    assert fits_1024(window), least(window)
    assert at_least_size_all_is_there(window) == []
    note = window.dashboard.note_box
    assert note.width() >= 250, "the note box has room to type in"
    assert not window.dashboard.path_label.isVisible()
    window.dashboard.take_note_draft()
    assert window.dashboard.path_label.isVisible() and window.dashboard.lsl_check.isVisible()

    window.stop_session()
    assert window.dashboard.banner.isVisible()  # "Stopped early (… of …)"
    assert fits_1024(window), least(window)
    assert at_least_size_all_is_there(window) == []
    # a training phase: the pacer's rate in the instruction (cut to two lines if need be);
    # the read-outs of a next session (a session that ended shows no update any more)
    window.dashboard.new_session()
    show(window, phase_index=1, phase_name="Training", pacer_bpm=6.0)
    assert "pacer" in window.dashboard.instruction_label.text()
    assert fits_1024(window), least(window)
    assert at_least_size_all_is_there(window) == []
    show(window, source_state="signal lost")
    assert window.dashboard.banner.text().startswith("SIGNAL LOST")
    assert fits_1024(window), least(window)
    assert at_least_size_all_is_there(window) == []
    assert errors_shown == []
    window.close()


def test_the_signal_check_fits_too(qtbot, tmp_path, errors_shown):
    window = small_trainer(qtbot, tmp_path, "hrv-resonance-breathing")
    window.resize(*SMALL)
    window.show()
    assert window.start_signal_check(quiet=True)
    qtbot.waitUntil(lambda: window.dashboard.plots is not None, timeout=10_000)
    qtbot.wait(100)
    assert window.dashboard.banner.text().startswith("Signal check")
    assert fits_1024(window), least(window)  # ("Stop signal check" is the widest button)
    assert at_least_size_all_is_there(window) == []
    window.toggle_signal_check()
    assert errors_shown == []
    window.close()


def test_a_label_that_must_be_narrow_cuts_what_it_shows_never_its_text(qtbot):
    from biotrainer.ui.dashboard import FitLabel

    text = "SIGNAL LOST — check the headset and its connection"
    label = FitLabel(text, least_px=120)
    qtbot.addWidget(label)
    label.show()
    assert label.minimumSizeHint().width() == 120
    label.resize(2000, 30)
    assert label.shown_text() == text and label.toolTip() == ""
    label.resize(150, 30)
    assert label.text() == text and label.toolTip() == text
    shown = label.shown_text()
    assert shown.endswith("…") and label.fontMetrics().horizontalAdvance(shown) <= 150

    two = FitLabel("", least_px=100, lines=2)
    qtbot.addWidget(two)
    two.show()
    height = two.height()
    two.resize(160, height)
    two.setText("Follow the circle with your breath and let the scene brighten. · pacer 6/min")
    lines = two.shown_text().split("\n")
    assert len(lines) == 2 and lines[1].endswith("…") and two.height() == height
    assert "pacer" in two.text() and "pacer" in two.toolTip()


def test_the_dialogs_the_trainer_opens_fit_a_1024x600_screen(qtbot, tmp_path):
    from biotrainer.session.store import Store
    from biotrainer.ui.patient_dialogs import PatientDialog, SelfReportDialog
    from biotrainer.ui.session_summary import SessionSummaryDialog
    from biotrainer.ui.trainer_window import fit_on_screen

    free = QRect(0, 0, 1024, 600 - 48)  # a 1024x600 screen's free area beside a taskbar
    with Store.open(tmp_path) as store:
        for i in range(40):
            store.add_patient(f"P-{i:03d}")
        dialogs: list[QWidget] = [PatientDialog(store), SelfReportDialog("pre")]
        dialogs.append(SelfReportDialog("post"))
        means = MetricMeans(120.0, 0.5, 0.6, 0.5, 70.0, 40.0, 0.5, 6.0, 0.98, 0.3)
        phases = [
            PhaseStats(i, f"{6.5 - i / 4:g} breaths/min", "pacing", i * 120.0, means)
            for i in range(12)
        ]
        rates = tuple(RateResult(6.5 - i / 4, 1000.0 + i, 10.0, 120) for i in range(10))
        summary = SessionSummaryDialog(
            "Resonance-frequency assessment",
            phases,
            "Completed.",
            patient_code="P-017",
            resonance=ResonanceResult(rates, best_bpm=5.5),
        )
        dialogs.append(summary)
        for dialog in dialogs:
            qtbot.addWidget(dialog)
            fit_on_screen(dialog, free)
            dialog.show()
            QApplication.processEvents()
            name = type(dialog).__name__
            assert least(dialog)[0] <= SMALL[0] and least(dialog)[1] <= SMALL[1], name
            assert dialog.width() <= free.width(), name
            assert dialog.height() <= free.height() - TITLE_BAR_PX, name
        assert summary.height() < 300 + 28 * (len(phases) + len(rates))  # it was shrunk
        for button in summary.findChildren(QPushButton):
            assert whole_on_screen(button), button.text()
