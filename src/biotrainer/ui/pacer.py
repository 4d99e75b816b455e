"""Painting the breathing pacer: a soft ring around the orb that grows on the inhale."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QRadialGradient, QRegion

from biotrainer.ui.orb import Geometry, Palette, annulus, rgba
from biotrainer.ui.paint_cache import Discs
from biotrainer.ui.smoothing import Frame


class PacerPainter:
    """Draws the pacer ring of a :class:`~biotrainer.ui.smoothing.Frame`.

    The ring's radius follows ``frame.pacer_open`` (breathed out = small, in = large) and it
    fades in and out with ``frame.pacer``.

    The ring is one clear line added to the sky. It is painted as a radial gradient (clear,
    a flat band of the line's width with a one-pixel ramp on each side, clear) filling a thin
    annulus: the same picture as an antialiased stroke, at any sub-pixel radius, but a few
    long spans per scanline for the raster engine instead of many antialiased ones (about a
    fifth of the cost of stroking an ellipse in additive blending).
    """

    def __init__(self, palette: Palette | None = None) -> None:
        self.palette = palette or Palette()

    @staticmethod
    def line_width(g: Geometry) -> float:
        """Width of the ring's line (pixels)."""
        return max(2.0, g.unit * 0.0045)

    def changed_region(self, g: Geometry, old: Frame | None, new: Frame, discs: Discs) -> QRegion:
        """The pixels that painting the ring of frame ``new`` may change over the ring of frame
        ``old`` (None: no ring painted yet): both rings, when they show and differ."""
        if old is not None and (old.pacer, old.pacer_open) == (new.pacer, new.pacer_open):
            return QRegion()
        region = QRegion()
        c = g.centre
        cx, cy, line = round(c.x()), round(c.y()), self.line_width(g)
        for f in (old, new):
            if f is not None and f.pacer >= 0.01:
                radius = g.pacer_radius(f.pacer_open)
                inner, outer = math.floor(radius - line) - 2, math.ceil(radius + line) + 2
                region = region.united(discs.ring(cx, cy, inner, outer))
        return region

    def paint(self, p: QPainter, g: Geometry, f: Frame) -> None:
        if f.pacer < 0.01:
            return
        c = g.centre
        radius = g.pacer_radius(f.pacer_open)
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # the gradient is the edge
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(
            ring_gradient(c, radius, self.line_width(g), rgba(self.palette.pacer, 0.55 * f.pacer))
        )
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Plus)
        p.drawPath(annulus(c, radius - self.line_width(g), radius + self.line_width(g)))
        p.restore()


def ring_gradient(c: QPointF, radius: float, width: float, colour: QColor) -> QRadialGradient:
    """A radial gradient that is ``colour`` on a band ``width`` wide centred on ``radius``,
    ramping to clear over one pixel on either side (an antialiased line's profile), and clear
    elsewhere."""
    h = width / 2.0
    outer = radius + h + 1.0
    clear = QColor(colour)
    clear.setAlpha(0)
    grad = QRadialGradient(c, outer)
    grad.setColorAt(max(0.0, radius - h - 0.5) / outer, clear)
    grad.setColorAt(max(0.0, radius - h + 0.5) / outer, colour)
    grad.setColorAt((radius + h - 0.5) / outer, colour)
    grad.setColorAt((radius + h + 0.5) / outer, clear)
    return grad
