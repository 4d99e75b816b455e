"""The trainer window: every protocol through the Qt bridge on the simulator in simulated time,
shortcuts, errors as dialogs, remembered layout, and nothing left running after closing."""

from __future__ import annotations

import csv
import math
import threading

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from biotrainer.acquisition.factory import open_accelerated
from biotrainer.acquisition.profiles import load_profile
from biotrainer.acquisition.simulator import render_session
from biotrainer.acquisition.simulator.render import render_scenario
from biotrainer.acquisition.simulator.scenario import load_scenario
from biotrainer.acquisition.source import SourceState
from biotrainer.clock import MonotonicClock, SimulatedClock
from biotrainer.engine.protocol import load_protocol
from biotrainer.errors import DeviceError
from biotrainer.session.folder import read_meta
from biotrainer.ui.quality_lights import LOST
from biotrainer.ui.trainer_window import SessionOutcome, TrainerWindow

from .fakes import FakeSource

#: (protocol, device, scenario, protocol seconds to run through the GUI; None = all of it)
RUNS = [
    ("alpha-uptraining", "simulator-muse2", "stressed-to-relaxed", 125),
    ("eyes-closed-relaxation", "simulator-muse2", "stressed-to-relaxed", 95),
    ("eeg-hrv-relaxation", "simulator-muse2", "stressed-to-relaxed", 95),
    ("hrv-resonance-breathing", "simulator", "resonance-breathing", 125),
    ("resonance-assessment", "simulator", "resonance-breathing", None),
]


@pytest.fixture
def settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "trainer.ini"), QSettings.Format.IniFormat)


def _visible_top_levels() -> list:
    return [w for w in QApplication.topLevelWidgets() if w.isVisible()]


def make_window(qtbot, settings, data_dir, make_source, protocol, clock, step_s=1.0, **kw):
    kw.setdefault("tick_hz", 200)
    window = TrainerWindow(
        make_source,
        load_protocol(protocol),
        clock=clock,
        data_dir=data_dir,
        settings=settings,
        fps=60,
        before_tick=(lambda: clock.advance(step_s)) if isinstance(clock, SimulatedClock) else None,
        **kw,
    )
    qtbot.addWidget(window)
    if window.patient_view is not None:
        qtbot.addWidget(window.patient_view)
        window.patient_view.resize(480, 300)  # a small view paints fast
    window.resize(1280, 800)
    window.show()
    return window


def muse2_window(qtbot, settings, data_dir, clock, **kw):
    """:func:`make_window` on the accelerated simulator-muse2 source, alpha-uptraining."""
    return make_window(
        qtbot,
        settings,
        data_dir,
        lambda: open_accelerated("simulator-muse2", clock, 1.0, seed=3),
        "alpha-uptraining",
        clock,
        **kw,
    )


def assert_closed_cleanly(window, threads_before) -> None:
    window.close()
    QApplication.processEvents()
    assert _visible_top_levels() == []
    assert not window.frame_timer_active
    assert window.bridge is None or (not window.bridge.running and window.bridge.closed)
    if window.patient_view is not None:
        assert not window.patient_view.timer_active
    if window.engine is not None:
        assert window.engine.source.state is SourceState.RELEASED
    assert set(threading.enumerate()) <= threads_before


def read_events(folder) -> list[dict[str, str]]:
    with open(folder / "events.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(("name", "device", "scenario", "run_s"), RUNS)
def test_each_protocol_runs_through_the_gui(
    qtbot, settings, tmp_path, errors_shown, name, device, scenario, run_s
):
    threads_before = set(threading.enumerate())
    clock = SimulatedClock()
    outcomes: list[SessionOutcome] = []
    step = 1.0 if run_s is not None else 3.0

    def make_source():
        return open_accelerated(device, clock, 1.0, scenario=scenario, seed=3)

    window = make_window(
        qtbot,
        settings,
        tmp_path,
        make_source,
        name,
        clock,
        step_s=step,
        on_session_finished=outcomes.append,
        patient="patient-7",
    )
    protocol = window.protocol
    pv = window.patient_view
    assert pv is not None
    assert window.start_session()
    assert window.state == "running" and pv.isVisible()
    folder = window.session_folder
    assert window.dashboard.path_label.text().endswith(str(folder))
    assert read_meta(folder).extra["patient_code"] == "patient-7"

    # Phase 1 reached: the dashboard names it, the patient view shows its instruction.
    qtbot.waitUntil(
        lambda: window.engine.session_s > protocol.phases[0].duration_s + 3, timeout=30_000
    )
    qtbot.waitUntil(
        lambda: protocol.phases[1].name in window.dashboard.phase_label.text(), timeout=5000
    )
    assert pv.instruction == protocol.phases[1].instruction
    if run_s is None:
        qtbot.waitUntil(lambda: window.outcome is not None, timeout=60_000)
    else:
        qtbot.waitUntil(lambda: window.engine.session_s >= run_s, timeout=30_000)
        window.stop_session()

    # (the whole session's rows: the window keeps only its newest updates as objects)
    indices = window.metric_rows.series()["phase_index"].tolist()
    assert indices == sorted(indices) and indices[0] == 0 and indices[-1] >= 1
    # the patient view painted updates, and latency was measured on both views
    assert len(window.patient_latency.all) > 10
    assert len(window.latency.all) > 10
    assert all(lat >= 0 and math.isfinite(lat) for lat in window.latency.all)
    assert window.dashboard.latency_label.text().startswith("latency")
    assert window.dashboard.trends.series["feedback_score"].n > 0

    assert len(outcomes) == 1
    outcome = outcomes[0]
    assert outcome.folder == folder and outcome.patient == "patient-7"
    assert [p.index for p in outcome.phases] == sorted(set(indices))
    events = read_events(folder)
    phases_logged = [e["text"] for e in events if e["kind"] == "phase"]
    assert phases_logged[:2] == [f"0: {protocol.phases[0].name}", f"1: {protocol.phases[1].name}"]
    with open(folder / "metrics.csv") as f:
        assert sum(1 for _ in f) > 100
    assert read_meta(folder).status == "completed"
    assert errors_shown == []
    if run_s is None:
        # the whole assessment ran: the rate the simulator was built with is handed back
        truth = render_scenario(
            load_scenario(scenario), load_profile(device).layout(), seed=3
        ).truth.resonance_breaths_per_min
        assert outcome.completed
        assert outcome.resonance_bpm == pytest.approx(truth)
        assert window.state == "finished"
        assert "Resonance breathing rate" in window.summary_text
    assert_closed_cleanly(window, threads_before)


def test_shortcuts_pause_marker_note_and_fullscreen(qtbot, settings, tmp_path, errors_shown):
    threads_before = set(threading.enumerate())
    clock = SimulatedClock()
    window = muse2_window(
        qtbot,
        settings,
        tmp_path,
        clock,
        step_s=0.2,
    )
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Space)  # space starts the session
    assert window.running and window.state == "running"
    qtbot.waitUntil(lambda: window.engine.session_s > 3, timeout=10_000)
    qtbot.keyClick(window, Qt.Key.Key_Space)  # ... and pauses it
    assert window.engine.paused and window.state == "paused"
    frozen = window.engine.session_s
    ticks = window.bridge.ticks
    qtbot.waitUntil(lambda: window.bridge.ticks > ticks + 10, timeout=10_000)
    assert window.engine.session_s == pytest.approx(frozen)
    qtbot.waitUntil(lambda: window.dashboard.banner.text().startswith("Paused"), timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.engine.paused and window.state == "running"

    window.activateWindow()  # starting showed the patient view
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_M)
    window.dashboard.marker_button.click()
    qtbot.keyClick(window, Qt.Key.Key_N)  # N opens the note box; typing M there is text
    assert window.dashboard.note_box.isVisible()
    qtbot.keyClicks(window.dashboard.note_box, "Moved, itch")
    qtbot.keyClick(window.dashboard.note_box, Qt.Key.Key_Return)
    assert not window.dashboard.note_box.isVisible()

    pv = window.patient_view
    full = pv.isFullScreen()
    qtbot.keyClick(window, Qt.Key.Key_F11)
    assert pv.isFullScreen() is not full
    qtbot.keyClick(window, Qt.Key.Key_F11)
    assert pv.isFullScreen() is full

    # manual threshold from the slider, then back to auto with another target
    window.dashboard.threshold_slider.setValue(80)
    assert not window.dashboard.auto_check.isChecked()
    assert window.engine.threshold.threshold_z == pytest.approx(0.8)
    window.dashboard.target_spin.setValue(50)
    window.dashboard.auto_check.setChecked(True)
    assert window.engine.threshold.target_rate == pytest.approx(0.5)

    folder = window.session_folder
    window.stop_session()
    events = read_events(folder)
    kinds = [e["kind"] for e in events]
    assert kinds.count("marker") == 2
    assert kinds.count("pause") == 1 and kinds.count("resume") == 1
    assert [e["text"] for e in events if e["kind"] == "note"] == ["Moved, itch"]
    thresholds = [e["text"] for e in events if e["kind"] == "threshold"]
    assert thresholds == ["manual 0.80", "auto, target 0.50"]
    marker_times = [float(e["time"]) for e in events if e["kind"] == "marker"]
    assert all(math.isfinite(t) for t in marker_times)
    assert_closed_cleanly(window, threads_before)


def test_the_sound_feedback_ends_with_the_session(
    qtbot, settings, tmp_path, errors_shown, monkeypatch
):
    """Eyes-closed relaxation plays sound: it stops when the session ends (before: the drone
    went on under "Well done" until the window closed) and the menu can turn it off at any
    time."""
    from biotrainer.ui.audio_feedback import AudioFeedback

    from .test_patient_view import FakeDevice, FakeSink

    def open_fake_output(self) -> None:
        sink = FakeSink(8000 * 2)
        self.attach(sink, FakeDevice(sink), 8000, "int16", 1)

    monkeypatch.setattr(AudioFeedback, "_open", open_fake_output)
    clock = SimulatedClock()
    source = FakeSource(clock, n_eeg=4)
    window = make_window(
        qtbot, settings, tmp_path, lambda: source, "eyes-closed-relaxation", clock, 0.1
    )
    assert window.audio_action.isChecked()
    assert window.start_session()
    qtbot.waitUntil(lambda: window.engine.session_s > 2, timeout=10_000)
    assert window.patient_view.audio_active
    window.stop_session()
    assert not window.patient_view.audio_active
    assert window.audio_action.isChecked()  # the choice stays for the next session
    assert window.start_session()
    assert window.patient_view.audio_active
    window.stop_session()
    window.patient_view.set_audio_enabled(True)  # (as if something had left it on)
    window.audio_action.trigger()  # View > Sound feedback, unticked after the session
    assert not window.audio_action.isChecked() and not window.patient_view.audio_active
    window.close()


def test_shortcuts_act_in_the_trainer_and_the_patient_view_only(
    qtbot, settings, tmp_path, errors_shown
):
    """Space in another window of the app (the session summary, the history) is that window's
    key: it does not start or pause a session (before, every shortcut was application-wide and
    Space on the summary's check box started a new session)."""
    from PySide6.QtWidgets import QCheckBox, QDialog, QVBoxLayout

    clock = SimulatedClock()
    window = muse2_window(qtbot, settings, tmp_path, clock, step_s=0.2)
    other = QDialog()
    qtbot.addWidget(other)
    box = QCheckBox("Name in the report", other)
    QVBoxLayout(other).addWidget(box)
    other.show()
    other.activateWindow()
    box.setFocus()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is other, timeout=5000)
    qtbot.keyClick(box, Qt.Key.Key_Space)
    assert window.state == "idle" and not window.running
    assert box.isChecked()  # the key went to the box
    qtbot.keyClick(box, Qt.Key.Key_M)
    other.close()

    pv = window.patient_view  # the keys do work in the patient view
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.running
    qtbot.waitUntil(lambda: window.engine.session_s > 1, timeout=10_000)
    pv.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is pv, timeout=5000)
    qtbot.keyClick(pv, Qt.Key.Key_Space)
    assert window.engine.paused
    qtbot.keyClick(pv, Qt.Key.Key_M)
    qtbot.keyClick(pv, Qt.Key.Key_N)  # the note box takes the typing, in the trainer window
    assert window.dashboard.note_box.isVisible()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    assert QApplication.focusWidget() is window.dashboard.note_box
    folder = window.session_folder
    window.stop_session(ask=False)
    kinds = [e["kind"] for e in read_events(folder)]
    assert kinds.count("marker") == 1 and kinds.count("pause") == 1
    window.close()


def test_a_note_being_typed_when_the_session_ends_is_kept_in_that_session(
    qtbot, settings, tmp_path, errors_shown
):
    clock = SimulatedClock()
    window = make_window(
        qtbot,
        settings,
        tmp_path,
        lambda: FakeSource(clock, n_eeg=4),
        "alpha-uptraining",
        clock,
        0.1,
    )
    assert window.start_session()
    qtbot.waitUntil(lambda: window.engine.session_s > 2, timeout=10_000)
    window.dashboard.open_note_box()
    qtbot.keyClicks(window.dashboard.note_box, "coughed at 3 min")
    first = window.session_folder
    window.stop_session(ask=False)
    assert not window.dashboard.note_box.isVisible()
    assert window.dashboard.note_box.text() == ""
    notes = [e["text"] for e in read_events(first) if e["kind"] == "note"]
    assert notes == ["coughed at 3 min"]  # (before: lost, or saved in the next session)
    assert window.start_session()
    qtbot.waitUntil(lambda: window.engine.session_s > 1, timeout=10_000)
    second = window.session_folder
    window.stop_session(ask=False)
    assert [e for e in read_events(second) if e["kind"] == "note"] == []
    window.close()


def test_signal_loss_is_shown_clearly_to_the_therapist(qtbot, settings, tmp_path, errors_shown):
    clock = SimulatedClock()
    source = FakeSource(clock, n_eeg=4)
    window = make_window(qtbot, settings, tmp_path, lambda: source, "alpha-uptraining", clock, 0.1)
    assert window.start_session()
    qtbot.waitUntil(lambda: window.engine.session_s > 2, timeout=10_000)
    assert not window.dashboard.banner.text().startswith("SIGNAL LOST")
    source.go_silent()
    qtbot.waitUntil(
        lambda: window.dashboard.banner.text().startswith("SIGNAL LOST"), timeout=10_000
    )
    assert window.dashboard.banner.isVisible()
    assert window.dashboard.lights.colors()["Fz"] == QColor(LOST).name()
    assert window.running  # the session waits for the signal instead of ending
    assert errors_shown == []
    window.close()


def test_a_device_that_drops_mid_session_is_reopened_and_the_session_goes_on(
    qtbot, settings, tmp_path, errors_shown
):
    """The trainer opened as `biotrainer` opens it, on BrainFlow's synthetic board: the board's
    session dies under the running session; the device is re-opened and the session goes on
    (before: the session ended with "The session stopped")."""
    from biotrainer.cli import build_parser
    from biotrainer.commands.gui import session_sources

    threads_before = set(threading.enumerate())
    clock = MonotonicClock()
    make_source = session_sources(build_parser().parse_args(["--device", "synthetic"]), clock)
    window = make_window(qtbot, settings, tmp_path, make_source, "alpha-uptraining", clock)
    window.patient_view.close()  # the patient view is not what this test is about
    assert window.start_session()
    qtbot.waitUntil(lambda: window.engine.session_s > 1.0, timeout=10_000)
    source = window.engine.source
    first = getattr(source, "inner", source)
    first._board.release_session()  # the BrainFlow session dies under the running session
    qtbot.waitUntil(
        lambda: not window.running or getattr(source, "reconnects", 0) == 1, timeout=10_000
    )
    assert window.running and errors_shown == []
    assert source.inner is not first
    resumed_at = window.engine.session_s
    qtbot.waitUntil(lambda: window.engine.session_s > resumed_at + 1.0, timeout=10_000)
    assert window.running and errors_shown == []
    window.stop_session()
    kinds = [e["kind"] for e in read_events(window.session_folder)]
    assert "device_error" in kinds and "reconnected" in kinds
    assert_closed_cleanly(window, threads_before)


def test_device_errors_are_dialogs_and_nothing_runs(qtbot, settings, tmp_path, errors_shown):
    clock = SimulatedClock()

    def no_device():
        raise DeviceError("no headset found on /dev/rfcomm0")

    window = make_window(qtbot, settings, tmp_path, no_device, "alpha-uptraining", clock)
    assert not window.start_session()
    assert errors_shown[-1] == (
        "The device could not be opened",
        "No headset found on /dev/rfcomm0",  # (a sentence in a dialog: a capital)
    )
    assert window.bridge is None and window.state == "idle"

    failing = FakeSource(clock, fail_on_prepare="the dongle is not plugged in")
    window2 = make_window(qtbot, settings, tmp_path, lambda: failing, "alpha-uptraining", clock)
    assert not window2.start_session()
    assert "dongle" in errors_shown[-1][1]
    assert failing.calls[-1] == "release"
    assert not (tmp_path / "sessions").exists()  # no recording without a session either
    window.close()
    window2.close()


def test_unwritable_data_dir_means_no_session(qtbot, settings, tmp_path, errors_shown):
    clock = SimulatedClock()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    source = FakeSource(clock)
    window = make_window(
        qtbot, settings, blocker / "data", lambda: source, "alpha-uptraining", clock
    )
    assert not window.start_session()
    title, text = errors_shown[-1]
    assert title == "The session cannot be recorded" and "No session runs" in text
    assert window.bridge is None and window.engine is None
    assert source.state is SourceState.RELEASED
    window.close()


def test_an_error_during_the_session_stops_it_with_a_dialog(
    qtbot, settings, tmp_path, errors_shown
):
    threads_before = set(threading.enumerate())
    clock = SimulatedClock()
    source = FakeSource(clock, n_eeg=4, fail_after_polls=30)
    outcomes: list[SessionOutcome] = []
    window = make_window(
        qtbot,
        settings,
        tmp_path,
        lambda: source,
        "alpha-uptraining",
        clock,
        0.1,
        on_session_finished=outcomes.append,
    )
    assert window.start_session()
    qtbot.waitUntil(lambda: window.outcome is not None, timeout=10_000)
    assert errors_shown == [("The session stopped", "The fake device was unplugged")]
    assert outcomes[0].error == "the fake device was unplugged" and not outcomes[0].completed
    assert window.state == "failed"
    assert source.state is SourceState.RELEASED
    assert read_meta(window.session_folder).status == "completed"  # what was recorded is kept
    # The patient is not told the session is complete ("Well done...") when a device failed.
    from biotrainer.ui.patient_view import ENDED

    assert window.updates and window.patient_view.instruction == ENDED
    assert_closed_cleanly(window, threads_before)


def test_window_layout_is_remembered(qtbot, settings, tmp_path):
    clock = SimulatedClock()
    first = make_window(qtbot, settings, tmp_path, lambda: None, "alpha-uptraining", clock)
    # (the offscreen screen is 800 px wide: restoreGeometry clamps wider windows to the screen,
    # then the window's minimum width applies; so the width tested is that minimum)
    size = (first.minimumSizeHint().width(), 700)
    first.resize(*size)
    first.dashboard.splitter.setSizes([400, 600])
    QApplication.processEvents()
    sizes = first.dashboard.splitter.sizes()
    first.close()
    second = TrainerWindow(
        lambda: None,
        load_protocol("alpha-uptraining"),
        clock=clock,
        settings=settings,
        patient_view_factory=lambda clock: None,
    )
    qtbot.addWidget(second)
    second.show()
    QApplication.processEvents()
    assert (second.width(), second.height()) == size
    assert second.dashboard.splitter.sizes() == sizes
    assert not second.dashboard.patient_button.isEnabled()  # no patient view: nothing to toggle
    second.close()


def test_real_time_latency_is_measured_on_a_monotonic_clock(qtbot, settings, tmp_path):
    clock = MonotonicClock()
    render_session(load_profile("simulator-muse2"), {"seed": 3})
    window = make_window(
        qtbot,
        settings,
        tmp_path,
        lambda: open_accelerated("simulator-muse2", clock, 20.0, seed=3),
        "alpha-uptraining",
        clock,
    )
    assert window.start_session()
    qtbot.waitUntil(lambda: len(window.latency.recent) >= 20, timeout=20_000)
    median = window.latency.median_ms
    assert median > 0 and math.isfinite(median)
    QTimer.singleShot(0, window.close)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)


def test_sweep_or_scroll_is_chosen_in_the_view_menu_and_remembered(qtbot, settings, tmp_path):
    clock = SimulatedClock()
    first = muse2_window(qtbot, settings, tmp_path, clock, patient_view_factory=lambda c: None)
    assert first.dashboard.sweep and first.sweep_action.isChecked()  # sweeping at first
    assert first.start_signal_check()
    qtbot.waitUntil(lambda: first.dashboard.plots is not None and first.dashboard.plots.has_data)
    panels = first.dashboard.plots.panels.values()
    assert all(p.sweep for p in panels)
    first.sweep_action.trigger()  # the therapist picks scrolling
    assert not first.dashboard.sweep and not any(p.sweep for p in panels)
    first.close()
    second = muse2_window(qtbot, settings, tmp_path, clock, patient_view_factory=lambda c: None)
    assert not second.dashboard.sweep and not second.sweep_action.isChecked()  # remembered
    second.close()
    # --traces sweep: this run sweeps, whatever was chosen before
    third = muse2_window(
        qtbot, settings, tmp_path, clock, patient_view_factory=lambda c: None, sweep=True
    )
    assert third.dashboard.sweep and third.sweep_action.isChecked()
    third.close()


def test_gui_command_traces_option() -> None:
    from biotrainer.cli import build_parser
    from biotrainer.commands.gui import _sweep

    parser = build_parser()
    assert _sweep(parser.parse_args(["gui"])) is None
    assert _sweep(parser.parse_args(["gui", "--traces", "scroll"])) is False
    assert _sweep(parser.parse_args(["--traces", "sweep"])) is True


def test_gui_command_picks_a_protocol_for_the_device():
    from biotrainer.commands.gui import default_protocol, parse_speed
    from biotrainer.errors import BiotrainerError

    assert default_protocol(load_profile("simulator-muse2").layout().roles) == "alpha-uptraining"
    assert default_protocol(("ecg", "accel")) == "hrv-resonance-breathing"
    assert default_protocol(("ppg",)) == "hrv-resonance-breathing"
    with pytest.raises(BiotrainerError, match="neither EEG"):
        default_protocol(("accel",))
    assert parse_speed("4") == 4.0
    for bad in ("0", "-2", "fast", "inf"):
        with pytest.raises(BiotrainerError, match="--speed"):
            parse_speed(bad)


def test_feedback_previews_reach_both_views_between_updates(qtbot, settings, tmp_path):
    """Ticks that do not fall on the 0.1 s update grid bring previews (the score at the newest
    sample); the patient's orb and the therapist's bar take them as they come."""
    clock = SimulatedClock()
    window = muse2_window(
        qtbot,
        settings,
        tmp_path,
        clock,
        step_s=0.25,
    )
    previews = []
    assert window.start_session()
    window.bridge.preview_ready.connect(previews.append)
    qtbot.waitUntil(
        lambda: window.engine.latest is not None and window.engine.latest.session_s > 125,
        timeout=60_000,
    )
    scored = [p for p in previews if math.isfinite(p.feedback_score)]
    assert len(scored) > 20
    last = previews[-1]
    latest = window.engine.latest
    assert last.sample_time > latest.sample_time  # newer than every update
    assert math.isfinite(last.feedback_score) and math.isfinite(latest.feedback_score)
    assert window.patient_view.animation.level.target == pytest.approx(last.feedback_score)
    assert window.dashboard.score_bar.value() == round(100 * last.feedback_score)
    QTimer.singleShot(0, window.close)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)


def test_patient_frames_step_on_the_engine_ticks_during_a_session(qtbot, settings, tmp_path):
    """Each patient frame comes right after a poll (no wait for an unrelated timer); before
    and after the session the view animates on its own timer."""
    clock = SimulatedClock()
    window = muse2_window(
        qtbot,
        settings,
        tmp_path,
        clock,
        step_s=0.05,
        tick_hz=66,  # near the patient view's 60 fps: its frames follow the ticks
    )
    pv = window.patient_view
    assert window.start_session()
    assert pv.following and not pv.timer_active
    frames = []
    window.bridge.ticked.connect(lambda: frames.append(pv.frame.t))
    qtbot.waitUntil(lambda: len(frames) >= 40, timeout=20_000)
    # every tick stepped the animation to the tick's clock time
    assert np.allclose(np.diff(frames[-30:]), 0.05)
    window.stop_session(ask=False)
    assert not pv.following and pv.timer_active
    QTimer.singleShot(0, window.close)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)

    def unstarted(**kw) -> TrainerWindow:
        w = TrainerWindow(
            lambda: None,
            load_protocol("alpha-uptraining"),
            data_dir=tmp_path,
            settings=settings,
            **kw,
        )
        qtbot.addWidget(w)
        if w.patient_view is not None:
            qtbot.addWidget(w.patient_view)
        return w

    default = unstarted()
    assert default.tick_hz == default.patient_view.fps == 60  # the pace of the patient's frames
    no_view = unstarted(patient_view_factory=lambda c: None)
    # far from the view's rate, the view keeps its own timer
    fast = muse2_window(qtbot, settings, tmp_path, clock)
    assert fast.tick_hz == 200 and fast.start_session()
    assert not fast.patient_view.following and fast.patient_view.timer_active
    fast.stop_session(ask=False)
    assert no_view.tick_hz == 50


def test_latency_meter_measures_each_stamp_once_and_ignores_other_clocks():
    from biotrainer.ui.engine_bridge import LatencyMeter

    clock = SimulatedClock(100.0)
    meter = LatencyMeter(clock)
    assert meter.painted_stamp(99.95) == pytest.approx(0.05)
    assert meter.painted_stamp(99.95) is None  # the same samples painted again
    clock.advance(0.02)
    assert meter.painted_stamp(100.0) == pytest.approx(0.02)
    assert meter.median_ms == pytest.approx(35.0)
    foreign = LatencyMeter(clock)
    assert foreign.painted_stamp(3.0, max_s=5.0) is None  # stamped on another clock
    assert not foreign.all


def _baseline_frame(qtbot, window, n_updates: int):
    """The patient's frame once the running session sent ``n_updates`` (a baseline: no score)."""
    qtbot.waitUntil(lambda: len(window.updates) >= n_updates, timeout=10_000)
    assert all(u.phase_kind == "baseline" for u in window.updates)
    assert all(not math.isfinite(u.feedback_score) for u in window.updates)
    f = window.patient_view.advance()
    return f.level, f.bloom, f.reward, window.patient_view.animation.rewarded


def test_the_next_session_starts_with_the_patient_view_of_a_new_window(
    qtbot, settings, tmp_path, errors_shown
):
    """The patient view carried the last session's open orb and reward lights into the next
    session's baseline (the score is NaN there, so the level held; the lights faded over two
    minutes). The second session's baseline looks as in a window just opened."""
    clock = SimulatedClock()
    window = muse2_window(qtbot, settings, tmp_path / "a", clock, step_s=3.0)
    pv = window.patient_view
    assert window.start_session()
    qtbot.waitUntil(lambda: pv.frame.bloom > 0.001, timeout=60_000)  # training, rewarded
    window.stop_session(ask=False)
    before = pv.advance()
    assert before.bloom > 0.001 and before.level != pytest.approx(0.5)  # what would carry over

    window.before_tick = lambda: clock.advance(1.0)  # (the first run went fast)
    assert window.start_session()
    second = _baseline_frame(qtbot, window, 3)
    window.stop_session(ask=False)

    fresh_clock = SimulatedClock()
    fresh = muse2_window(qtbot, settings, tmp_path / "b", fresh_clock, step_s=1.0)
    assert fresh.start_session()
    first = _baseline_frame(qtbot, fresh, 3)
    fresh.stop_session(ask=False)
    assert second == pytest.approx(first)
    assert second == (0.5, 0.0, 0.0, False)  # a new view's level, no halo, no lights
    assert errors_shown == []
    window.close()
    fresh.close()


def test_the_breathing_guide_ends_with_a_stopped_session(qtbot, settings, tmp_path):
    """Stopped during paced breathing, the patient view said "Well done" under a pacer that
    went on breathing (the numbers line with it)."""
    clock = SimulatedClock()
    window = make_window(
        qtbot,
        settings,
        tmp_path,
        lambda: FakeSource(clock, n_eeg=4),
        "hrv-resonance-breathing",
        clock,
        step_s=3.0,
    )
    pv = window.patient_view
    pv.set_show_numbers(True)
    assert window.start_session()
    qtbot.waitUntil(lambda: window.engine.session_s > 130, timeout=20_000)
    assert math.isfinite(window.updates[-1].pacer_bpm)
    qtbot.waitUntil(lambda: pv.frame.pacer > 0.5, timeout=10_000)
    window.stop_session(ask=False)
    for _ in range(8 * 60):  # 8 s of frames
        clock.advance(1 / 60)
        pv.advance()
    assert pv.frame.pacer < 0.01 and pv.cue_text == ""
    assert "guide" not in pv.numbers_text
    window.close()


def test_a_long_session_keeps_the_newest_updates_and_summarises_all(
    qtbot, settings, tmp_path, monkeypatch
):
    """The window keeps only the newest updates as objects (an hour of a 16-channel headset's
    takes about 55 MB); the end-of-session summary still covers the whole session, exactly as
    the recording's metrics.csv gives it."""
    import biotrainer.ui.trainer_window as trainer_window
    from biotrainer.session.analysis import format_phases, summarize_folder

    monkeypatch.setattr(trainer_window, "RECENT_UPDATES", 50)
    clock = SimulatedClock()
    window = muse2_window(qtbot, settings, tmp_path, clock)
    assert window.start_session()
    qtbot.waitUntil(lambda: window.engine.session_s > 75, timeout=30_000)
    window.stop_session()
    assert 50 <= len(window.updates) <= 100
    assert window.updates[-1].session_s > 75
    recorded = summarize_folder(window.session_folder)
    assert recorded.duration_s > 75 and len(recorded.phases) >= 2
    assert format_phases(window.outcome.phases) == format_phases(recorded.phases)
    assert [p.means.duration_s for p in window.outcome.phases] == [
        p.means.duration_s for p in recorded.phases
    ]
    window.close()


@pytest.mark.parametrize("command", ["marker", "note", "pause", "threshold", "auto threshold"])
def test_a_command_whose_event_cannot_be_written_stops_the_session_with_a_dialog(
    qtbot, settings, tmp_path, errors_shown, command
):
    """A full disk found by a marker, a note, a pause or a threshold change (their events go to
    events.csv) stops the session with the disk's message, as a tick finding it does: no error
    escapes the command, the recording is closed, and a note that could not be saved is in the
    message, to be copied from it."""
    import errno

    from biotrainer.session import load_session

    class FullDisk:
        def writerow(self, row):
            raise OSError(errno.ENOSPC, "No space left on device")

    clock = SimulatedClock()
    window = muse2_window(qtbot, settings, tmp_path, clock)
    assert window.start_session()
    qtbot.waitUntil(lambda: window.engine.session_s > 3, timeout=10_000)
    window.engine.recorder.events._writer = FullDisk()  # (the next event fails to be written)
    if command == "marker":
        window.add_marker("")
    elif command == "note":
        window.add_note("felt dizzy")
    elif command == "pause":
        window.toggle_pause()
    elif command == "threshold":
        window.dashboard.threshold_changed.emit(1.0)
    else:
        window.dashboard.auto_threshold_requested.emit(0.6)
    assert window.state == "failed" and window.outcome is not None
    assert [title for title, _ in errors_shown] == ["The session stopped"]
    assert "disk is full" in errors_shown[0][1]
    if command == "note":
        assert '"felt dizzy" was not saved' in errors_shown[0][1]
    assert window.outcome.error is not None and not window.running
    assert load_session(window.session_folder).duration_s > 3  # what was recorded is kept
    window.close()


def test_a_replay_checked_before_the_session_is_recorded_from_its_start(
    qtbot, settings, tmp_path, errors_shown
):
    """A signal check on a replayed recording took its first part, and the session after it
    went on from there: it recorded and analysed only the rest ("ended after 0.3 of 12 min").
    A replay is opened again from its start for the session (a live device goes on
    streaming: tests/ui/test_trainer_patients.py)."""
    from biotrainer.session import load_session

    clock = SimulatedClock()
    window = muse2_window(qtbot, settings, tmp_path, clock)
    checked = []
    window.signal_check.chunk_ready.connect(checked.append)
    assert window.start_signal_check()

    def checked_in(chunk) -> int:
        return chunk.raw["default"].shape[1] if "default" in chunk.raw else 0

    def checked_samples() -> int:
        return sum(checked_in(c) for c in checked)

    qtbot.waitUntil(lambda: checked_samples() > 2000, timeout=10_000)
    assert window.start_session()
    qtbot.waitUntil(lambda: window.engine.session_s > 5, timeout=10_000)
    window.stop_session()
    assert errors_shown == []
    rec = load_session(window.session_folder)
    ts_row = rec.layout.preset("default").timestamp_row
    first_checked = min(float(c.raw["default"][ts_row, 0]) for c in checked if checked_in(c))
    assert float(rec.raw["default"][ts_row, 0]) == first_checked  # the recording's first sample
    window.close()


def test_freed_memory_goes_back_to_the_system_once_a_minute(qtbot, settings, tmp_path, monkeypatch):
    """A long session's resident memory creeps up as the C library keeps what was freed: the
    window hands it back once a minute of its clock (a simulated clock runs faster than the
    one-second check, so a session minute may pass between two checks)."""
    from biotrainer import memory

    calls: list[float] = []
    clock = SimulatedClock()
    monkeypatch.setattr(memory, "release_free_memory", lambda: calls.append(clock.now()))
    window = muse2_window(qtbot, settings, tmp_path, clock)
    start = clock.now()
    clock.advance(59.0)
    qtbot.wait(1300)  # (more than a check's interval)
    assert calls == []  # not before a minute
    clock.advance(2.0)
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=3000)
    assert calls[0] - start >= 60.0
    qtbot.wait(1300)
    assert len(calls) == 1  # once a minute, not at every check
    window.close()
