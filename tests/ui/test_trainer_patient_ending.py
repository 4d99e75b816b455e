"""What the patient sees and hears as a session ends, from the trainer window (audit-133).

* A device failing: the sound, the breathing guide and "please stay still" went on while the
  therapist's error dialog was open (modal); the patient view ends before the dialog now.
* A session stopped or failed before its first update left the first instruction on the
  patient's screen for good; it says the session has ended.
* "Well done. The session is complete." after a session the therapist stopped at 30 s; it is
  the neutral "The session has ended. Thank you." unless the protocol ran to its end, and a
  next session's rating or signal check does not show the last ending.
* F11 put the patient view full screen wherever it was (over the therapist's dashboard); it
  goes to the monitor that is not the primary one.
* With no sound output the sound-guided protocol ran in silence, nobody told.
* The patient view's title named the protocol (jargon).
"""

from __future__ import annotations

import pytest

from biotrainer.clock import SimulatedClock
from biotrainer.ui.patient_view import ENDED, FINISHED, PatientView
from biotrainer.ui.trainer_window import PATIENT_WINDOW_TITLE

from .fakes import FakeSource
from .test_trainer import make_window, settings  # noqa: F401


@pytest.fixture
def sound(monkeypatch) -> list[bool]:
    """Every set_audio_enabled asked of a patient view (it plays as asked)."""
    asked: list[bool] = []

    def set_audio_enabled(self, enabled: bool) -> bool:
        asked.append(enabled)
        return enabled

    monkeypatch.setattr(PatientView, "set_audio_enabled", set_audio_enabled)
    return asked


def _window(qtbot, settings, tmp_path, protocol="alpha-uptraining", **source_kw):  # noqa: F811
    clock = SimulatedClock()
    source = FakeSource(clock, n_eeg=4, **source_kw)
    return make_window(qtbot, settings, tmp_path, lambda: source, protocol, clock, 0.1)


def test_the_patient_view_ends_before_the_error_dialog(
    qtbot,
    settings,  # noqa: F811
    tmp_path,
    sound,
    monkeypatch,
):
    window = _window(qtbot, settings, tmp_path, fail_after_polls=30)
    pv = window.patient_view
    seen = {}

    def show_error(title: str, message: str) -> None:  # (the modal dialog is open now)
        seen.update(instruction=pv.instruction, sound=sound[-1])

    monkeypatch.setattr(window, "show_error", show_error)
    assert window.start_session()
    qtbot.waitUntil(lambda: window.outcome is not None, timeout=10_000)
    assert seen["instruction"] == ENDED, seen
    assert seen["sound"] is False
    window.close()


def test_a_session_stopped_before_its_first_update_says_it_ended(
    qtbot,
    settings,  # noqa: F811
    tmp_path,
    errors_shown,
):
    window = _window(qtbot, settings, tmp_path, fail_after_polls=0)
    pv = window.patient_view
    assert window.start_session()
    qtbot.waitUntil(lambda: window.outcome is not None, timeout=10_000)
    assert window.updates == []
    assert pv.instruction == ENDED  # (it kept "Sit comfortably, let your shoulders drop...")
    window.close()


def test_well_done_only_for_a_protocol_run_to_its_end(
    qtbot,
    settings,  # noqa: F811
    tmp_path,
    errors_shown,
):
    window = _window(qtbot, settings, tmp_path)
    pv = window.patient_view
    assert window.start_session()
    qtbot.waitUntil(lambda: len(window.updates) > 20, timeout=10_000)
    window.stop_session(ask=False)
    assert not window.outcome.completed
    assert pv.instruction == ENDED  # ("Well done. The session is complete." at 2 s of 12 min)
    assert window.start_signal_check(quiet=True)
    first = window.protocol.phases[0].instruction
    assert pv.instruction == first  # (the last ending is not the check's)
    window.stop_signal_check()
    window.close()


def test_guard_a_protocol_run_to_its_end_says_well_done(
    qtbot,
    settings,  # noqa: F811
    tmp_path,
    errors_shown,
):
    """Guard: a session whose protocol ran to its end still says "well done"."""
    window = _window(qtbot, settings, tmp_path)
    assert window.start_session()
    qtbot.waitUntil(lambda: len(window.updates) > 5, timeout=10_000)
    window.stop_session(completed=True)
    assert window.outcome.completed and window.patient_view.instruction == FINISHED
    window.close()


def test_f11_puts_the_patient_view_on_the_patients_screen(
    qtbot,
    settings,  # noqa: F811
    tmp_path,
    errors_shown,
    monkeypatch,
):
    window = _window(qtbot, settings, tmp_path)
    pv = window.patient_view
    placed = []
    monkeypatch.setattr(pv, "show_on_screen", lambda index=None: placed.append(index) or 0)
    window.toggle_patient_fullscreen()
    assert placed == [None]  # (the monitor that is not the primary one, when there are two)
    pv.window().showFullScreen()
    window.toggle_patient_fullscreen()
    assert placed == [None] and not pv.window().isFullScreen()  # F11 again: a window
    window.close()


@pytest.mark.parametrize(
    ("protocol", "words"),
    [
        ("eyes-closed-relaxation", "this protocol gives its feedback by sound"),
        ("alpha-uptraining", "the feedback is visual only"),
    ],
)
def test_no_sound_output_is_said_and_the_menu_unticked(
    qtbot,
    settings,  # noqa: F811
    tmp_path,
    errors_shown,
    monkeypatch,
    protocol,
    words,
):
    monkeypatch.setattr(PatientView, "set_audio_enabled", lambda self, enabled: False)
    window = _window(qtbot, settings, tmp_path, protocol)
    window.audio_action.setChecked(True)
    assert window.start_session()
    message = window.statusBar().currentMessage()
    assert message.startswith("No sound can be played (") and words in message, message
    assert window.sound_problem == message
    assert not window.audio_action.isChecked()
    window.stop_session(ask=False)
    window.close()


def test_guard_sound_waiting_for_a_closed_view_is_no_failure(
    qtbot,
    settings,  # noqa: F811
    tmp_path,
    errors_shown,
):
    """Guard: with the patient view closed, sound asked for waits for it to be shown again;
    that is not said as a sound output that fails."""
    window = _window(qtbot, settings, tmp_path)
    window.patient_view.show()
    window.patient_view.close()
    window._enable_sound(True)
    assert window.sound_problem is None and window.patient_view.audio_waiting
    window.close()


def test_the_patient_view_title_names_no_protocol(
    qtbot,
    settings,  # noqa: F811
    tmp_path,
    errors_shown,
):
    window = _window(qtbot, settings, tmp_path)
    assert window.patient_view.windowTitle() == PATIENT_WINDOW_TITLE == "biotrainer"
    window.close()
