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
