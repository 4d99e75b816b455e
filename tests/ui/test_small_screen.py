"""The trainer on a 1024x600 screen (a small laptop, a clinic tablet, a projector at a low
resolution): the window's least size leaves room for its title bar and a taskbar, and at that
size every control is on screen, whole, and no plot is squeezed under its least height."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QRect, QSettings
from PySide6.QtWidgets import QApplication, QFrame, QPushButton, QWidget

from biotrainer.acquisition.factory import open_accelerated
from biotrainer.clock import SimulatedClock
from biotrainer.engine.protocol import load_protocol
from biotrainer.engine.resonance import RateResult, ResonanceResult
from biotrainer.engine.updates import MetricUpdate
from biotrainer.session.analysis import MetricMeans, PhaseStats
from biotrainer.ui.trainer_window import TITLE_BAR_PX, TrainerWindow

#: The most a window may take of a 1024x600 screen: a taskbar and the title bar beside it.
SMALL = (1024 - 24, 600 - 40)


def trainer(qtbot, tmp_path, protocol: str = "eeg-hrv-relaxation") -> TrainerWindow:
    clock = SimulatedClock()
    window = TrainerWindow(
        lambda: open_accelerated("simulator", clock, 1.0, seed=3),
        load_protocol(protocol),
        clock=clock,
        data_dir=tmp_path,
        patient="P-017",  # (the header then names the patient too)
        settings=QSettings(str(tmp_path / "trainer.ini"), QSettings.Format.IniFormat),
        fps=60,
        tick_hz=200,
        before_tick=lambda: clock.advance(1.0),
        patient_view_factory=lambda clock: None,
    )
    qtbot.addWidget(window)
    return window


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


def fits(window: TrainerWindow) -> bool:
    w, h = least(window)
    return w <= SMALL[0] and h <= SMALL[1]


def show(window: TrainerWindow, **kw) -> None:
    """Show an update with ``kw`` in the dashboard now."""
    update = MetricUpdate(session_s=90.0, sample_time=1000.0, received_at=0.0, computed_at=0.0)
    window.dashboard.show_update(replace(update, **kw))
    window.dashboard.refresh()


def test_the_trainer_fits_a_1024x600_screen_with_every_control_whole(qtbot, tmp_path, errors_shown):
    window = trainer(qtbot, tmp_path)
    window.resize(*SMALL)
    window.show()
    qtbot.waitExposed(window)
    assert fits(window), least(window)
    assert at_least_size_all_is_there(window) == []

    assert window.start_session()
    qtbot.waitUntil(lambda: window.engine.session_s > 20, timeout=30_000)
    assert fits(window), least(window)
    assert at_least_size_all_is_there(window) == []

    window.toggle_pause()
    assert fits(window), least(window)  # ("Resume" is wider than "Pause")
    window.toggle_pause()

    window.dashboard.open_note_box()
    assert fits(window), least(window)
    assert at_least_size_all_is_there(window) == []
    note = window.dashboard.note_box
    assert note.width() >= 250, "the note box has room to type in"
    assert not window.dashboard.path_label.isVisible()
    window.dashboard.take_note_draft()
    assert window.dashboard.path_label.isVisible() and window.dashboard.lsl_check.isVisible()

    window.stop_session()
    assert window.dashboard.banner.isVisible()  # "Stopped early (… of …)"
    assert fits(window), least(window)
    assert at_least_size_all_is_there(window) == []
    # a training phase: the pacer's rate in the instruction (cut to two lines if need be)
    show(window, phase_index=1, phase_name="Training", pacer_bpm=6.0)
    assert "pacer" in window.dashboard.instruction_label.text()
    assert fits(window), least(window)
    assert at_least_size_all_is_there(window) == []
    show(window, source_state="signal lost")
    assert window.dashboard.banner.text().startswith("SIGNAL LOST")
    assert fits(window), least(window)
    assert at_least_size_all_is_there(window) == []
    assert errors_shown == []
    window.close()


def test_the_signal_check_fits_too(qtbot, tmp_path, errors_shown):
    window = trainer(qtbot, tmp_path, "hrv-resonance-breathing")
    window.resize(*SMALL)
    window.show()
    assert window.start_signal_check(quiet=True)
    qtbot.waitUntil(lambda: window.dashboard.plots is not None, timeout=10_000)
    qtbot.wait(100)
    assert window.dashboard.banner.text().startswith("Signal check")
    assert fits(window), least(window)  # ("Stop signal check" is the widest button)
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
