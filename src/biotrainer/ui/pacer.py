"""Painting the breathing pacer: a soft ring around the orb that grows on the inhale."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPen

from biotrainer.ui.orb import Geometry, Palette, rgba
from biotrainer.ui.smoothing import Frame


class PacerPainter:
    """Draws the pacer ring of a :class:`~biotrainer.ui.smoothing.Frame`.

    The ring's radius follows ``frame.pacer_open`` (breathed out = small, in = large) and it
    fades in and out with ``frame.pacer``. A faint disc fills the ring so the growing and
    shrinking area reads at a glance, even in peripheral vision.
    """

    def __init__(self, palette: Palette | None = None) -> None:
        self.palette = palette or Palette()
        self._pen = QPen()
        self._pen.setCapStyle(Qt.PenCapStyle.RoundCap)

    def paint(self, p: QPainter, g: Geometry, f: Frame) -> None:
        if f.pacer < 0.01:
            return
        pal = self.palette
        c = g.centre
        radius = g.pacer_radius(f.pacer_open)
        # One clear line: an opaque pen faded with the painter's opacity (the raster engine's
        # fast path), added to the sky like the rest of the light.
        p.setBrush(Qt.BrushStyle.NoBrush)
        self._pen.setColor(rgba(pal.pacer, 1.0))
        self._pen.setWidthF(max(2.0, g.unit * 0.0045))
        p.setPen(self._pen)
        p.setOpacity(0.55 * f.pacer)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Plus)
        p.drawEllipse(c, radius, radius)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        p.setOpacity(1.0)
