"""An exception escaping a Qt slot becomes one dialog and a logged traceback, not a terminal
traceback (biotrainer.ui.error_report)."""

from __future__ import annotations

import stat
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from biotrainer.ui.error_report import SlotErrorReporter, reporting_slot_errors


def _raise(exc: BaseException) -> None:
    raise exc


def test_a_slot_error_is_shown_once_and_logged(qapp, tmp_path, monkeypatch) -> None:
    log = tmp_path / "logs" / "errors.log"
    shown: list[tuple[str, str]] = []
    with reporting_slot_errors(log) as reporter:
        monkeypatch.setattr(reporter, "_show", lambda title, text: shown.append((title, text)))
        assert sys.excepthook is reporter
        for _ in range(3):  # the same failure on every tick
            QTimer.singleShot(0, lambda: _raise(ValueError("the poll broke")))
            QApplication.processEvents()
        QTimer.singleShot(0, lambda: _raise(KeyError("another")))
        QApplication.processEvents()
    assert sys.excepthook is not reporter  # restored after the event loop
    assert reporter.count == 4
    assert len(shown) == 2
    assert "ValueError: the poll broke" in shown[0][1] and str(log) in shown[0][1]
    assert "What was recorded so far is kept" in shown[0][1]
    text = log.read_text()
    assert text.count("Traceback (most recent call last)") == 4 and "KeyError" in text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700


def test_an_unwritable_log_still_shows_the_dialog(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    shown: list[str] = []
    reporter = SlotErrorReporter(
        blocker / "logs" / "errors.log", lambda t, text: shown.append(text)
    )
    try:
        raise OSError("disk gone")
    except OSError as exc:
        reporter(type(exc), exc, exc.__traceback__)
    assert len(shown) == 1 and "OSError: disk gone" in shown[0]
    assert "written to" not in shown[0]
