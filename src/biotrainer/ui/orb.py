"""Painting the patient's feedback visual: a glowing orb on a night sky that opens like a flower.

Everything is drawn with QPainter from a :class:`~biotrainer.ui.smoothing.Frame`. The sky is
rendered once per size into a pixmap; per frame only a handful of gradient-filled shapes are
drawn, so painting full-screen at 60 frames per second stays cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QImage,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QRadialGradient,
)

from biotrainer.ui.smoothing import Frame

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class Palette:
    """Colours of the patient view (RGB 0-255): a deep blue / teal night, warm light as reward."""

    sky_top: RGB = (9, 20, 42)
    sky_bottom: RGB = (4, 10, 24)
    sky_centre: RGB = (18, 42, 66)
    orb_low_core: RGB = (70, 120, 150)
    orb_low_edge: RGB = (18, 52, 80)
    orb_high_core: RGB = (232, 252, 248)
    orb_high_edge: RGB = (52, 170, 172)
    glow: RGB = (80, 200, 210)
    petal: RGB = (120, 220, 215)
    warm: RGB = (255, 172, 84)
    warm_core: RGB = (255, 226, 176)
    text: RGB = (214, 228, 240)
    pacer: RGB = (190, 225, 240)


def mix(a: RGB, b: RGB, t: float, alpha: float = 1.0) -> QColor:
    """The colour ``t`` of the way from ``a`` to ``b`` (0-1), with opacity ``alpha`` (0-1)."""
    t = 0.0 if t < 0 else 1.0 if t > 1 else t
    alpha = 0.0 if alpha < 0 else 1.0 if alpha > 1 else alpha
    return QColor(
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
        round(255 * alpha),
    )


def rgba(c: RGB, alpha: float) -> QColor:
    """``c`` with opacity ``alpha`` (0-1)."""
    return mix(c, c, 0.0, alpha)


def scaled(c: RGB, k: float) -> RGB:
    """``c`` darkened (k < 1) towards black."""
    return (c[0] * k, c[1] * k, c[2] * k)


@dataclass(frozen=True)
class Geometry:
    """Where things go for a widget of a given size (pixels)."""

    width: int
    height: int

    @property
    def unit(self) -> float:
        """The scale of the scene: the shorter side, so the visual fits any screen."""
        return float(min(self.width, self.height))

    @property
    def centre(self) -> QPointF:
        return QPointF(self.width / 2.0, self.height * 0.52)

    def orb_radius(self, level: float) -> float:
        return self.unit * (0.105 + 0.06 * level)

    def pacer_radius(self, openness: float) -> float:
        return self.unit * (0.19 + 0.15 * openness)

    @property
    def glow_radius(self) -> float:
        return self.unit * 0.40


class OrbPainter:
    """Paints the sky, the orb, its petals, the reward halo and the ring of reward lights.

    The glow, halo and petals depend only on (level, presence, reward); they are rendered
    into a cached layer, redrawn only when one of them moves by more than a step too small to
    see (1/64 of the level range: under a pixel of petal growth and about 1 % of glow; 1/64 of
    presence and reward). The orb's body, whose crisp edge would show steps, has a cache of
    its own on a finer level step (1/256: a fifth of a pixel of radius at 800 pixels), and it
    is small, so redrawing it is cheap. Each frame then costs a few blits, whatever the size
    of the screen, and a layer redraw every few frames while the level moves.

    Parameters
    ----------
    palette : Palette, optional
    petals : int
        Number of petals that open around the orb as the score rises.
    lights : int
        Number of warm lights in the full reward ring.
    """

    LEVEL_STEPS = 256
    LAYER_LEVEL_STEPS = 64
    FADE_STEPS = 64

    def __init__(self, palette: Palette | None = None, *, petals: int = 7, lights: int = 12):
        self.palette = palette or Palette()
        self.petals = petals
        self.lights = lights
        self.geometry = Geometry(1, 1)
        self.layer_renders = 0
        self.body_renders = 0
        self._sky: QPixmap | None = None
        self._glow: QPixmap | None = None
        self._light: QPixmap | None = None
        self._layer: QPixmap | None = None
        self._body: QPixmap | None = None
        self._layer_key: tuple[int, int, int] | None = None
        self._body_key: tuple[int, int, int] | None = None
        self._dpr = 1.0
        self._light_radius = 1.0
        self._petal_gradient = QLinearGradient(0.0, 0.0, 1.0, 0.0)
        self._no_pen = QPen(Qt.PenStyle.NoPen)

    def resize(self, width: int, height: int, device_pixel_ratio: float = 1.0) -> None:
        """Prepare the sky and the sprites for a widget of ``width`` x ``height`` pixels."""
        width, height = max(1, width), max(1, height)
        if (
            self._sky is not None
            and self.geometry == Geometry(width, height)
            and self._dpr == device_pixel_ratio
        ):
            return
        self.geometry = g = Geometry(width, height)
        pal = self.palette
        self._dpr = device_pixel_ratio
        self._sky = self._sky_pixmap()

        self._glow = self._glow_sprite(g.glow_radius, pal.glow, ((0.0, 0.55), (0.30, 0.30)))
        self._light_radius = r = g.unit * 0.016
        self._light = self._glow_sprite(r, pal.warm, ((0.0, 1.0), (0.3, 0.8)), core=pal.warm_core)
        self._layer = None
        self._layer_key = None
        self._body = None
        self._body_key = None

    def _sky_pixmap(self) -> QPixmap:
        """The night sky: a vertical gradient with a soft haze behind the orb, computed in
        floating point and dithered, so the dark gradient shows no bands."""
        g, pal, dpr = self.geometry, self.palette, self._dpr
        w, h = max(1, round(g.width * dpr)), max(1, round(g.height * dpr))
        y = (np.arange(h, dtype=np.float32) / max(1, h - 1))[:, None, None]
        top, bottom = np.array(pal.sky_top, np.float32), np.array(pal.sky_bottom, np.float32)
        rgb = top + (bottom - top) * y  # (h, 1, 3)
        yy = (np.arange(h, dtype=np.float32)[:, None] / dpr - g.centre.y()) ** 2
        xx = (np.arange(w, dtype=np.float32)[None, :] / dpr - g.centre.x()) ** 2
        q = np.clip(1.0 - np.sqrt(xx + yy) / (g.unit * 0.75), 0.0, 1.0)
        haze = (0.85 * q * q * (3.0 - 2.0 * q))[..., None]  # smoothstep: no visible edge
        rgb = rgb + (np.array(pal.sky_centre, np.float32) - rgb) * haze  # (h, w, 3)
        noise = np.random.default_rng(0).random((h, w, 1), dtype=np.float32)
        noise -= np.random.default_rng(1).random((h, w, 1), dtype=np.float32)  # triangular
        rgb = np.clip(np.rint(rgb + noise), 0, 255).astype(np.uint8)
        bgra = np.empty((h, w, 4), np.uint8)
        bgra[..., 0], bgra[..., 1], bgra[..., 2], bgra[..., 3] = (
            rgb[..., 2],
            rgb[..., 1],
            rgb[..., 0],
            255,
        )
        image = QImage(bgra.data, w, h, 4 * w, QImage.Format.Format_RGB32)
        pm = QPixmap.fromImage(image)  # copies the pixels
        pm.setDevicePixelRatio(dpr)
        return pm

    def _pixmap(self, width: float, height: float) -> QPixmap:
        dpr = self._dpr
        pm = QPixmap(max(1, round(width * dpr)), max(1, round(height * dpr)))
        pm.setDevicePixelRatio(dpr)
        pm.fill(Qt.GlobalColor.transparent)
        return pm

    def _glow_sprite(
        self,
        radius: float,
        colour: RGB,
        stops: tuple[tuple[float, float], ...],
        core: RGB | None = None,
    ) -> QPixmap:
        size = 2 * math.ceil(radius)
        pm = self._pixmap(size, size)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        centre = QPointF(size / 2, size / 2)
        grad = QRadialGradient(centre, radius)
        for at, alpha in stops:
            grad.setColorAt(at, rgba(core if (core and at == 0.0) else colour, alpha))
        grad.setColorAt(1.0, rgba(colour, 0.0))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(grad)
        p.drawEllipse(centre, radius, radius)
        p.end()
        return pm

    def dirty_rect(self) -> QRectF:
        """The part of the widget the animation may change (the rest is repainted rarely)."""
        g = self.geometry
        # The glow layer (the largest sprite, 2 px of rounding), the pacer ring at its widest
        # with its line, and the lights' orbit (well inside the glow) all fit.
        r = max(g.glow_radius, g.pacer_radius(1.0) + g.unit * 0.01) + 3.0
        c = g.centre
        return QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r)

    def paint_sky(self, p: QPainter) -> None:
        if self._sky is not None:
            p.drawPixmap(0, 0, self._sky)

    def paint(self, p: QPainter, f: Frame) -> None:
        """Paint the feedback visual of frame ``f`` (after :meth:`paint_sky`)."""
        g = self.geometry
        fade = (round(f.presence * self.FADE_STEPS), round(f.reward * self.FADE_STEPS))
        key = (round(f.level * self.LAYER_LEVEL_STEPS), *fade)
        if key != self._layer_key or self._layer is None:
            self._render_layer(*key)
        body_key = (round(f.level * self.LEVEL_STEPS), *fade)
        if body_key != self._body_key or self._body is None:
            self._render_body(*body_key)
        c = g.centre
        if self._layer is not None:
            # Light adds to the night sky (additive blending keeps it luminous, never grey).
            half = g.glow_radius
            p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Plus)
            p.drawPixmap(QPointF(c.x() - half, c.y() - half), self._layer)
            p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        if self._body is not None:
            half = self._body.width() / self._dpr / 2
            p.drawPixmap(QPointF(c.x() - half, c.y() - half), self._body)
        self._paint_lights(p, f)

    def _render_layer(self, level_q: int, presence_q: int, reward_q: int) -> None:
        """Redraw the cached glow, halo and petals for the quantised (level, presence, reward)."""
        g = self.geometry
        level = level_q / self.LAYER_LEVEL_STEPS
        presence = presence_q / self.FADE_STEPS
        reward = reward_q / self.FADE_STEPS
        half = g.glow_radius
        size = 2 * math.ceil(half)
        if self._layer is None or self._layer.width() != round(size * self._dpr):
            self._layer = self._pixmap(size, size)
        else:
            self._layer.fill(Qt.GlobalColor.transparent)
        p = QPainter(self._layer)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self._paint_glow(p, QPointF(half, half), level, presence, reward)
        p.end()
        self._layer_key = (level_q, presence_q, reward_q)
        self.layer_renders += 1

    def _render_body(self, level_q: int, presence_q: int, reward_q: int) -> None:
        """Redraw the cached orb body for the quantised (level, presence, reward)."""
        level = level_q / self.LEVEL_STEPS
        r = self.geometry.orb_radius(level)
        size = 2 * math.ceil(r + 1)
        if self._body is None or self._body.width() != round(size * self._dpr):
            self._body = self._pixmap(size, size)
        else:
            self._body.fill(Qt.GlobalColor.transparent)
        p = QPainter(self._body)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        presence, reward = presence_q / self.FADE_STEPS, reward_q / self.FADE_STEPS
        self._paint_body(p, QPointF(size / 2, size / 2), r, level, presence, reward)
        p.end()
        self._body_key = (level_q, presence_q, reward_q)
        self.body_renders += 1

    def _paint_glow(
        self, p: QPainter, c: QPointF, level: float, presence: float, reward: float
    ) -> None:
        g = self.geometry
        r = g.orb_radius(level)
        light = (0.30 + 0.70 * level) * presence
        p.setPen(self._no_pen)

        pal = self.palette
        # Soft glow around the orb, stronger as it brightens (the full sprite fits any level).
        if self._glow is not None:
            corner = QPointF(c.x() - g.glow_radius, c.y() - g.glow_radius)
            p.setOpacity(light * (1.0 - 0.6 * reward))
            p.drawPixmap(corner, self._glow)
            p.setOpacity(1.0)
        # While rewarded, a warm corona hugs the orb (the reward smoother makes it rise and
        # fade over a second or two, never flash).
        if reward > 0.005:
            rc = min(g.glow_radius, r * 2.4)
            corona = QRadialGradient(c, rc)
            a = reward * (0.6 + 0.4 * presence)
            corona.setColorAt(0.0, rgba(pal.warm, 0.0))
            corona.setColorAt(0.9 * r / rc, rgba(pal.warm, 0.0))
            corona.setColorAt(1.04 * r / rc, rgba(pal.warm_core, 0.85 * a))
            corona.setColorAt(1.3 * r / rc, rgba(pal.warm, 0.45 * a))
            corona.setColorAt(1.0, rgba(pal.warm, 0.0))
            # Clear inside 0.9 r and beyond rc: fill only the ring between, without
            # antialiasing (the gradient is clear at both edges), a few long spans a row.
            p.save()
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            p.setBrush(corona)
            p.drawPath(annulus(c, 0.9 * r - 1.0, rc + 1.0))
            p.restore()

        self._paint_petals(p, c, r, level, light, reward)

    def _paint_body(
        self, p: QPainter, c: QPointF, r: float, level: float, presence: float, reward: float
    ) -> None:
        """The orb itself, lit from the upper left."""
        pal = self.palette
        p.setPen(self._no_pen)
        body = QRadialGradient(c, r, QPointF(c.x() - 0.3 * r, c.y() - 0.35 * r))
        core = mix(pal.orb_low_core, pal.orb_high_core, level)
        edge = mix(pal.orb_low_edge, pal.orb_high_edge, level)
        dim = 0.55 + 0.45 * presence
        core = QColor.fromRgbF(core.redF() * dim, core.greenF() * dim, core.blueF() * dim)
        edge = QColor.fromRgbF(edge.redF() * dim, edge.greenF() * dim, edge.blueF() * dim)
        if reward > 0.005:
            core = _blend(core, rgba(pal.warm_core, 1.0), 0.45 * reward)
        body.setColorAt(0.0, core)
        body.setColorAt(0.75, _blend(core, edge, 0.7))
        body.setColorAt(1.0, edge)
        p.setBrush(body)
        p.drawEllipse(c, r, r)

    def _paint_petals(
        self, p: QPainter, c: QPointF, r: float, level: float, light: float, reward: float
    ) -> None:
        """Translucent petals that spread out from behind the orb as the score rises."""
        opening = level**1.3
        if opening < 0.02:
            return
        pal = self.palette
        length = r * (1.0 + 0.75 * opening)
        width = r * (0.45 + 0.25 * opening)
        offset = r * (0.15 + 0.95 * opening)
        grad = self._petal_gradient
        grad.setStart(offset - length / 2, 0.0)
        grad.setFinalStop(offset + length / 2, 0.0)
        colour = rgba(pal.petal, 1.0)
        base = QColor(colour)
        base.setAlphaF(min(1.0, 0.30 * light * opening))
        tip = QColor(colour)
        tip.setAlphaF(0.0)
        grad.setColorAt(0.0, base)
        grad.setColorAt(0.55, base)
        grad.setColorAt(1.0, tip)
        p.save()
        p.translate(c)
        p.rotate(-90.0)
        p.setBrush(grad)
        step = 360.0 / self.petals
        for _ in range(self.petals):
            p.drawEllipse(QPointF(offset, 0.0), length / 2, width / 2)
            p.rotate(step)
        p.restore()

    def _paint_lights(self, p: QPainter, f: Frame) -> None:
        """Warm lights circling the orb, one more for every few seconds of reward."""
        lit = f.bloom * self.lights
        if lit < 0.01 or self._light is None:
            return
        g = self.geometry
        c = g.centre
        orbit = g.orb_radius(f.level) * 2.05
        half = self._light.width() / self._dpr / 2
        base = 2 * math.pi * (f.spin - 0.25)
        for i in range(math.ceil(lit)):
            angle = base + 2 * math.pi * i / self.lights
            p.setOpacity(min(1.0, lit - i) * (0.55 + 0.45 * f.presence))
            x = c.x() + orbit * math.cos(angle) - half
            y = c.y() + orbit * math.sin(angle) - half
            p.drawPixmap(QPointF(x, y), self._light)
        p.setOpacity(1.0)


def _blend(a: QColor, b: QColor, t: float) -> QColor:
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * t,
        a.greenF() + (b.greenF() - a.greenF()) * t,
        a.blueF() + (b.blueF() - a.blueF()) * t,
        a.alphaF() + (b.alphaF() - a.alphaF()) * t,
    )


def annulus(c: QPointF, inner: float, outer: float) -> QPainterPath:
    """The ring between radii ``inner`` and ``outer`` around ``c`` (odd-even fill); a disc
    when ``inner`` <= 0."""
    path = QPainterPath()
    path.addEllipse(c, outer, outer)
    if inner > 0:
        path.addEllipse(c, inner, inner)
    return path
