"""Per-channel signal-quality lights: a green or amber dot per EEG channel, plus the heart."""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from biotrainer.engine.updates import MetricUpdate

GOOD = "#7fd18b"
BAD = "#f0a860"
LOST = "#e57373"
UNKNOWN = "#56616c"


def channel_reasons(quality_reason: str) -> dict[str, str]:
    """Split an update's ``quality_reason`` ("AF7: EMG; TP9: flat") into channel -> reason."""
    out: dict[str, str] = {}
    for part in quality_reason.split(";"):
        name, sep, reason = part.strip().partition(":")
        if sep and name.strip() and " " not in name.strip():
            out[name.strip()] = reason.strip()
    return out


class Light(QWidget):
    """A round indicator light."""

    def __init__(self, diameter: int = 14, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.diameter = diameter
        self.color = QColor(UNKNOWN)
        self.setFixedSize(QSize(diameter + 2, diameter + 2))

    def set_color(self, color: str) -> None:
        c = QColor(color)
        if c != self.color:
            self.color = c
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self.color)
        p.drawEllipse(QRectF(1, 1, self.diameter, self.diameter))


class QualityLights(QWidget):
    """One light per EEG channel (named) and one for the heart signal.

    Green: usable; amber: not usable now (the tooltip says why); red: signal lost; grey: no
    verdict yet.

    Parameters
    ----------
    eeg_names : tuple of str
        EEG channel names (may be empty).
    has_heart : bool
        Show a light for the ECG/PPG beat detection.
    columns : int
        Lights per row.
    """

    def __init__(
        self,
        eeg_names: tuple[str, ...] = (),
        has_heart: bool = False,
        columns: int = 8,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.eeg_names = tuple(eeg_names)
        self.lights: dict[str, Light] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 2, 4, 2)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(4)
        names = list(self.eeg_names) + (["Heart"] if has_heart else [])
        for i, name in enumerate(names):
            light = Light()
            label = QLabel(name)
            label.setObjectName("lightLabel")
            cell = QWidget()
            row = QGridLayout(cell)
            row.setContentsMargins(0, 0, 0, 0)
            row.setHorizontalSpacing(4)
            row.addWidget(light, 0, 0)
            row.addWidget(label, 0, 1)
            grid.addWidget(cell, i // columns, i % columns)
            self.lights[name] = light
            light.setToolTip(f"{name}: waiting for signal")
        grid.setColumnStretch(columns, 1)

    def show_update(self, update: MetricUpdate) -> None:
        """Colour the lights from ``update.channel_ok``, its reasons and the heart rate.

        A lost signal turns every light red; a source that is not streaming for another reason
        (a recording that ended, a device stopped) greys them: nothing is wrong with the signal.
        """
        streaming = update.source_state == "streaming"
        off = LOST if update.source_state == "signal lost" else UNKNOWN
        reasons = channel_reasons(update.quality_reason)
        for i, name in enumerate(self.eeg_names):
            light = self.lights[name]
            if not streaming:
                light.set_color(off)
                light.setToolTip(f"{name}: {update.source_state}")
            elif i < len(update.channel_ok):
                ok = update.channel_ok[i]
                light.set_color(GOOD if ok else BAD)
                light.setToolTip(f"{name}: {'ok' if ok else reasons.get(name, 'not usable')}")
            else:
                light.set_color(UNKNOWN)
                light.setToolTip(f"{name}: not analysed by this protocol")
        heart = self.lights.get("Heart")
        if heart is not None:
            if not streaming:
                heart.set_color(off)
                heart.setToolTip(f"Heart: {update.source_state}")
            elif math.isfinite(update.hr_bpm):
                heart.set_color(GOOD)
                heart.setToolTip(f"Heart: beats detected, {update.hr_bpm:.0f} bpm")
            else:
                heart.set_color(UNKNOWN)
                heart.setToolTip("Heart: no beats detected yet")

    def colors(self) -> dict[str, str]:
        """Current colour of every light (tests)."""
        return {name: light.color.name() for name, light in self.lights.items()}
