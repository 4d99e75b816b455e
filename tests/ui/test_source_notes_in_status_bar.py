"""The trainer shows a source's note (what it assumed of its stream: an LSL stream's unit) in
its status bar; it went only to events.csv, which nobody reads during a session."""

from __future__ import annotations

from biotrainer.acquisition.source import EVENT_SOURCE_NOTE
from biotrainer.clock import SimulatedClock

from .fakes import FakeSource
from .test_trainer import make_window, settings  # noqa: F401

NOTE = "LSL stream 'x': its EEG channels give no unit: taken as microvolts"


class NotingSource(FakeSource):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._events = [(EVENT_SOURCE_NOTE, NOTE)]

    def take_events(self):
        events, self._events = self._events, []
        return events


def test_a_source_note_is_shown_in_the_status_bar(
    qtbot,
    settings,  # noqa: F811
    tmp_path,
    errors_shown,
):
    clock = SimulatedClock()
    source = NotingSource(clock, n_eeg=4)
    window = make_window(qtbot, settings, tmp_path, lambda: source, "alpha-uptraining", clock, 0.1)
    assert window.start_session()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == NOTE, timeout=10_000)
    window.stop_session(ask=False)
    window.close()
