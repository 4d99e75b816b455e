"""The first window: samples arrive and are drawn, errors are shown, closing leaves nothing."""

from __future__ import annotations

import importlib.util
import threading

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from biotrainer.acquisition.source import SourceState
from biotrainer.errors import BiotrainerError
from biotrainer.ui.main_window import MainWindow

from .fakes import FakeSource

HAVE_FACTORY = importlib.util.find_spec("biotrainer.acquisition.factory") is not None


@pytest.fixture
def errors_shown(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record QMessageBox.critical calls instead of blocking on a modal dialog."""
    shown: list[str] = []

    def fake_critical(parent, title, text, *args, **kwargs):
        shown.append(text)
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "critical", staticmethod(fake_critical))
    # (start errors are shown offscreen too, where a person would never close them)
    monkeypatch.setattr("biotrainer.ui.app.UNSEEN_PLATFORMS", frozenset())
    return shown


def _visible_top_levels() -> list:
    return [w for w in QApplication.topLevelWidgets() if w.isVisible()]


def _run_and_close(
    qtbot, source, *, timeout_ms: int = 10_000, while_running=None, sweep: bool = True
) -> MainWindow:
    threads_before = set(threading.enumerate())
    window = MainWindow(source, poll_hz=40, fps=30, sweep=sweep)
    qtbot.addWidget(window)
    window.show()
    assert window.start()
    assert window.bridge.running and window.frame_timer_active
    roles = set(source.layout.roles) - {"marker"}
    assert set(window.plots.panels) == roles

    # Samples arrive for every role, and every panel has drawn some of them.
    qtbot.waitUntil(
        lambda: (
            all(window.bridge.stats.samples.get(r, 0) > 0 for r in roles) and window.plots.has_data
        ),
        timeout=timeout_ms,
    )
    assert window.plots.frames_painted > 0
    if while_running is not None:
        while_running()
    for panel in window.plots.panels.values():
        assert panel.columns_drawn > 0
        a, b = panel.trace_rgb()
        img = panel.image_array()
        assert ((img == a) | (img == b)).any()

    window.close()
    assert not window.isVisible()
    assert _visible_top_levels() == []
    assert not window.bridge.running and not window.frame_timer_active
    assert window.bridge.closed
    assert source.state is SourceState.RELEASED
    assert set(threading.enumerate()) <= threads_before
    return window


@pytest.mark.parametrize("sweep", [True, False], ids=["sweep", "scroll"])
def test_fake_source_is_drawn_and_closing_releases_it(qtbot, errors_shown, sweep: bool) -> None:
    source = FakeSource()
    window = _run_and_close(qtbot, source, sweep=sweep)
    assert all(p.sweep == sweep for p in window.plots.panels.values())
    assert source.calls[:2] == ["prepare", "start"]
    assert source.calls[-2:] == ["stop", "release"]
    assert errors_shown == []
    # The EEG panel stacks its 16 channels, named on the left axis, DC offsets removed.
    eeg = window.plots.panels["eeg"]
    assert eeg.stacked and eeg.scale is not None
    assert eeg.lane_labels == source.layout.group("eeg").names
    # Fake EEG has offsets of 1000-16000 uV and a 20 uV rhythm: the common display division
    # follows the rhythm, not the offsets, and every drawn channel stays inside its lane.
    assert eeg.scale.common is not None and eeg.scale.common <= 200.0
    img = eeg.image_array()
    shades = eeg.trace_rgb()
    n_ch = eeg.trace.n_channels
    lane_of_row = np.zeros(img.shape[0], dtype=int)
    for i in range(n_ch):
        lane_of_row[slice(*eeg.lane_rows(i))] = i
    for i in range(n_ch):
        top, bottom = eeg.lane_rows(i)
        rows = np.flatnonzero((img == shades[i % 2]).any(axis=1))
        in_lane = rows[(rows >= top) & (rows < bottom)]
        assert in_lane.size >= 3  # the rhythm is visible, not flattened
        assert not np.any(np.abs(lane_of_row[rows] - i) == 1)  # never in a neighbour's lane
    # Polling stopped with the window: no further poll after release.
    n_polls = source.calls.count("poll")
    qtbot.wait(100)
    assert source.calls.count("poll") == n_polls


@pytest.mark.skipif(not HAVE_FACTORY, reason="acquisition.factory not available yet")
def test_synthetic_board_is_drawn_and_released(qtbot, errors_shown) -> None:
    from biotrainer.acquisition.factory import open_source

    source = open_source(device="synthetic")
    seen_prepared: list[bool] = []
    _run_and_close(
        qtbot,
        source,
        timeout_ms=20_000,
        while_running=lambda: seen_prepared.append(_synthetic_session_prepared()),
    )
    assert errors_shown == []
    # BrainFlow's synthetic board streams from its own native thread (invisible to
    # threading.enumerate): the session was live while the window ran and is gone after close.
    assert seen_prepared == [True]
    assert not _synthetic_session_prepared()


def _synthetic_session_prepared() -> bool:
    """Whether BrainFlow holds a live synthetic-board session (its registry is process-wide)."""
    from brainflow.board_shim import BoardIds, BoardShim, BrainFlowInputParams

    return bool(BoardShim(BoardIds.SYNTHETIC_BOARD, BrainFlowInputParams()).is_prepared())


def test_open_failure_shows_the_message_and_closes(qtbot, errors_shown) -> None:
    message = "no device answered on /dev/ttyUSB0: is the dongle plugged in and the port right?"
    source = FakeSource(fail_on_prepare=message)
    window = MainWindow(source)
    qtbot.addWidget(window)
    window.show()
    assert window.start() is False
    assert errors_shown == ["N" + message[1:]]  # a sentence in a dialog: capitalised
    assert window.error == message  # (the CLI's line, as it was)
    assert not window.isVisible()
    assert source.calls == ["prepare", "release"]
    assert not window.bridge.running and not window.frame_timer_active


def test_poll_failure_stops_polling_and_reports(qtbot, errors_shown) -> None:
    source = FakeSource(fail_after_polls=3)
    window = MainWindow(source, poll_hz=50)
    qtbot.addWidget(window)
    window.show()
    assert window.start()
    qtbot.waitUntil(lambda: bool(errors_shown), timeout=5_000)
    assert errors_shown == ["The fake device was unplugged"]
    assert not window.bridge.running
    assert window.error == "the fake device was unplugged"
    assert "error" in window._state_label.text()
    window.close()
    assert source.state is SourceState.RELEASED


def test_status_bar_reports_device_state_rates_and_samples(qtbot, errors_shown) -> None:
    source = FakeSource()
    window = MainWindow(source, poll_hz=50)
    qtbot.addWidget(window)
    window.show()
    assert window.start()
    qtbot.waitUntil(lambda: window.bridge.stats.rate_hz("ppg") is not None, timeout=5_000)
    qtbot.waitUntil(lambda: "PPG 64 Hz" in window._rates_label.text(), timeout=5_000)
    assert "EEG 250 Hz" in window._rates_label.text()
    assert window._device_label.text() == "fake"
    assert "streaming" in window._state_label.text()
    qtbot.waitUntil(lambda: "samples received" in window._samples_label.text(), timeout=5_000)

    source.go_silent()
    qtbot.waitUntil(lambda: "signal lost" in window._state_label.text(), timeout=5_000)
    received = window.bridge.stats.total_samples
    qtbot.wait(100)
    assert window.bridge.stats.total_samples == received
    window.close()
    assert "released" in window._state_label.text()


def test_run_main_window_runs_the_event_loop_until_closed(qtbot, errors_shown) -> None:
    from biotrainer.ui.app import run_main_window

    sources: list[FakeSource] = []

    def make_source() -> FakeSource:
        sources.append(FakeSource())
        return sources[-1]

    QTimer.singleShot(50, _close_main_window_when_drawn)
    assert run_main_window(make_source) == 0
    assert sources[0].state is SourceState.RELEASED
    assert _visible_top_levels() == []


def test_run_main_window_reports_a_source_that_cannot_be_built(qtbot, errors_shown) -> None:
    from biotrainer.ui.app import run_main_window

    def make_source():
        raise BiotrainerError("unknown device 'nope': see 'biotrainer devices'")

    with pytest.raises(BiotrainerError, match="unknown device"):
        run_main_window(make_source)
    assert errors_shown == ["Unknown device 'nope': see 'biotrainer devices'"]
    assert _visible_top_levels() == []


def test_run_main_window_says_a_bad_data_folder_before_it_opens(
    qtbot, errors_shown, monkeypatch
) -> None:
    """The error log's folder was first needed once the window was open: the error reached
    the terminal only, with the window and the device left to close."""
    from biotrainer.ui.app import run_main_window

    monkeypatch.setenv("BIOTRAINER_DATA", "relative-folder")
    sources: list[FakeSource] = []
    with pytest.raises(BiotrainerError, match="BIOTRAINER_DATA must be"):
        run_main_window(lambda: sources.append(FakeSource()) or sources[-1])
    assert len(errors_shown) == 1 and "BIOTRAINER_DATA must be" in errors_shown[0]
    assert sources == [] and _visible_top_levels() == []


def test_check_display_explains_a_missing_display(monkeypatch) -> None:
    from biotrainer.ui import app

    monkeypatch.setattr(app.sys, "platform", "linux")
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(BiotrainerError, match="no display"):
        app.check_display()
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    app.check_display()


def _close_main_window_when_drawn() -> None:
    windows = [w for w in _visible_top_levels() if isinstance(w, MainWindow)]
    if windows and windows[0].plots is not None and windows[0].plots.has_data:
        windows[0].close()
    else:
        QTimer.singleShot(50, _close_main_window_when_drawn)


@pytest.mark.skipif(not HAVE_FACTORY, reason="acquisition.factory not available yet")
@pytest.mark.parametrize(
    "argv", [["--signals"], ["gui", "--signals"], ["--signals", "--device", "synthetic"]]
)
def test_cli_signals_option_opens_the_window_on_the_synthetic_board(
    qtbot, errors_shown, capsys, argv
) -> None:
    from biotrainer.cli import main

    QTimer.singleShot(50, _close_main_window_when_drawn)
    assert main(argv) == 0
    assert errors_shown == []
    assert _visible_top_levels() == []


@pytest.mark.skipif(not HAVE_FACTORY, reason="acquisition.factory not available yet")
def test_cli_unknown_device_shows_one_message_and_exits_non_zero(qtbot, errors_shown, capsys):
    from biotrainer.cli import main

    assert main(["--device", "no-such-headset"]) == 2
    err = capsys.readouterr().err
    assert len(errors_shown) == 1 and "no-such-headset" in errors_shown[0]
    assert err.count("\n") == 1 and "Traceback" not in err
    assert _visible_top_levels() == []
