"""UI tests run offscreen (set before Qt is imported by pytest-qt)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def errors_shown(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Record QMessageBox.critical calls (title, text) instead of blocking on a modal dialog."""
    from PySide6.QtWidgets import QMessageBox  # (after the platform is set above)

    shown: list[tuple[str, str]] = []

    def fake_critical(parent, title, text, *args, **kwargs):
        shown.append((title, text))
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "critical", staticmethod(fake_critical))
    # (start errors are shown offscreen too, where a person would never close them)
    monkeypatch.setattr("biotrainer.ui.app.UNSEEN_PLATFORMS", frozenset())
    return shown


@pytest.fixture
def dash(qtbot):
    """A therapist dashboard running alpha-uptraining on a 4-channel EEG layout, shown (a test
    file may define its own ``dash``)."""
    from biotrainer.engine.protocol import load_protocol
    from biotrainer.ui.dashboard import TherapistDashboard

    from .fakes import fake_layout

    d = TherapistDashboard()
    qtbot.addWidget(d)
    d.set_protocol(load_protocol("alpha-uptraining"))
    d.set_layout(fake_layout(n_eeg=4))
    d.resize(1300, 800)
    d.show()
    d.set_state("running")
    return d
