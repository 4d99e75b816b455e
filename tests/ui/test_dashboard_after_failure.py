"""After the device fails mid-session, the dashboard's header says the session stopped (it kept
the last phase's name and clock, as if the protocol were still running), as after a stop."""

from __future__ import annotations

from biotrainer.clock import SimulatedClock

from .fakes import FakeSource
from .test_trainer import make_window, settings  # noqa: F401


def started_window_that_fails(qtbot, settings, tmp_path, after_polls: int):  # noqa: F811
    """A trainer window whose session has started on a device that fails after some polls."""
    clock = SimulatedClock()
    source = FakeSource(clock, n_eeg=4, fail_after_polls=after_polls)
    window = make_window(qtbot, settings, tmp_path, lambda: source, "alpha-uptraining", clock, 0.1)
    assert window.start_session()
    return window


def test_the_header_stops_when_the_device_fails(
    qtbot,
    settings,  # noqa: F811
    tmp_path,
    errors_shown,
):
    window = started_window_that_fails(qtbot, settings, tmp_path, 30)
    qtbot.waitUntil(lambda: len(window.updates) >= 1, timeout=10_000)
    window.dashboard.refresh()
    phase = window.protocol.phases[window.updates[-1].phase_index].name
    assert phase in window.dashboard.phase_label.text()  # (running: the phase is shown)
    qtbot.waitUntil(lambda: window.outcome is not None, timeout=10_000)
    assert errors_shown == [("The session stopped", "The fake device was unplugged")]
    assert window.state == "failed"
    dash = window.dashboard
    assert dash.phase_label.text() == "Stopped by an error"
    assert phase not in dash.phase_label.text()
    assert dash.phase_clock.text() == ""
    banner = dash.banner.text()
    assert dash.banner.isVisibleTo(dash)
    assert banner.startswith("Stopped by an error (0:0") and banner.endswith(" of 12:00)"), banner
    window.close()


def test_the_header_says_so_when_the_device_fails_before_its_first_sample(
    qtbot,
    settings,  # noqa: F811
    tmp_path,
    errors_shown,
):
    window = started_window_that_fails(qtbot, settings, tmp_path, 0)
    qtbot.waitUntil(lambda: window.outcome is not None, timeout=10_000)
    assert window.state == "failed" and not window.outcome.recorded
    dash = window.dashboard
    assert dash.phase_label.text() == "Stopped by an error" and dash.phase_clock.text() == ""
    assert dash.banner.text() == (
        "Stopped by an error before the first sample: nothing was recorded"
    )
    window.close()


def test_the_quality_line_and_lights_stop_saying_the_signal_is_clean_when_the_device_fails(
    qtbot,
    settings,  # noqa: F811
    tmp_path,
    errors_shown,
):
    """The last live verdict ("signals clean", green lights, a feedback score) stayed on screen
    after the device failed, as if the signal were still good."""
    window = started_window_that_fails(qtbot, settings, tmp_path, 30)
    qtbot.waitUntil(lambda: len(window.updates) >= 1, timeout=10_000)
    window.dashboard.refresh()
    dash = window.dashboard
    assert dash.quality_label.full_text().startswith("Quality: ")
    assert "no signal" not in dash.quality_label.full_text()
    qtbot.waitUntil(lambda: window.outcome is not None, timeout=10_000)
    assert window.state == "failed"
    dash.refresh()  # (a frame after the end must not bring the last verdict back)
    text = dash.quality_label.full_text()
    assert text == "Quality: – (no signal: the device stopped with an error)", text
    assert "live signals only" in dash.quality_label.toolTip()
    lights = dash.lights
    assert set(lights.colors().values()) == {"#56616c"}  # all grey: nothing is analysed
    said = "no signal: the device stopped with an error"
    for name in lights.lights:
        assert lights.lights[name].toolTip() == f"{name}: {said}"
    assert lights.hum_marked() == []
    assert dash.score_label.text() == "Feedback –" and dash.score_bar.value() == 0
    window.close()
