"""Painting the patient's feedback visual: a glowing orb on a night sky that opens like a flower.

Everything is drawn with QPainter from a :class:`~biotrainer.ui.smoothing.Frame`. The sky is
rendered once per size into a pixmap; the glow layer and the orb's body are rendered per
quantised state and cached, and only the pixels a frame changes are repainted, so painting
full-screen at 60 frames per second stays cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QImage,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QRadialGradient,
    QRegion,
)

from biotrainer.ui.paint_cache import Discs, SpriteCache, around
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

    The glow and the petals depend only on (level, presence); they are rendered into a layer,
    redrawn only when one of them moves by more than a step too small to see (1/64 of the
    level range: under a pixel of petal growth and about 1 % of glow; 1/64 of presence). The
    layer holds only the square around the petals (the glow under them included); around it
    the glow sprite is added straight to the sky with the layer's opacity, the same picture as
    a whole layer. The warm reward halo is a sprite of its own per level step, drawn at full
    strength and laid over the glow at the reward's opacity (1/64 steps): the reward, which
    comes and goes all through a training phase, changes only the halo's ring, never the
    glow's whole disc; and the view paints the sky with the layer on it from a picture kept
    per layer state (:meth:`paint_backdrop`), so that repainting under the halo or the body is
    a plain copy.
    The orb's body, whose crisp edge would show steps, is rendered on a finer level step
    (1/256: a fifth of a pixel of radius at 800 pixels). All these renders are kept in small
    caches by quantised state (least recently used dropped beyond a budget): a wandering
    score passes the same states again and again, so most frames cost a few blits.

    :meth:`changed_region` tells the view which pixels a new frame changes (the glow's disc
    when the layer changes, else the halo's ring, the body, the lights), so only those are
    repainted.

    Parameters
    ----------
    palette : Palette, optional
    petals : int
        Number of petals that open around the orb as the score rises.
    lights : int
        Number of warm lights in the full reward ring.
    layer_cache_mb, halo_cache_mb, backdrop_cache_mb, body_cache_mb : float
        Memory budgets (MiB) of the rendered layers, halos, backdrops (the sky under the
        glow's square with the layer added) and bodies kept. A halo or a backdrop is the
        glow's whole square (1.6 MB at 1280x800), and in training the level wanders over
        most of its 65 steps within seconds: 64 MiB keep about 40 of each, where 16 and
        24 MiB kept 10 and 15 and re-rendered both about 20 times a second.
    """

    LEVEL_STEPS = 256
    LAYER_LEVEL_STEPS = 64
    FADE_STEPS = 64
    #: The reward warms the body's core by at most 45 % of the way to the halo's colour: a
    #: sixteenth of that is two levels of a colour channel at most, too little to see on its
    #: gradient, and the body is redrawn four times less often while the reward comes and goes.
    BODY_REWARD_STEPS = 16

    def __init__(
        self,
        palette: Palette | None = None,
        *,
        petals: int = 7,
        lights: int = 12,
        layer_cache_mb: float = 16.0,
        halo_cache_mb: float = 64.0,
        backdrop_cache_mb: float = 64.0,
        body_cache_mb: float = 16.0,
    ):
        self.palette = palette or Palette()
        self.petals = petals
        self.lights = lights
        self.geometry = Geometry(1, 1)
        self.layer_renders = 0
        self.halo_renders = 0
        self.backdrop_renders = 0
        self.body_renders = 0
        self._sky: QPixmap | None = None
        self._glow: QPixmap | None = None
        self._light: QPixmap | None = None
        self._body: QPixmap | None = None
        self._body_key: tuple[int, int, int] | None = None
        self._layers: SpriteCache = SpriteCache(layer_cache_mb * 2**20)
        self._halos: SpriteCache = SpriteCache(halo_cache_mb * 2**20)
        self._backdrops: SpriteCache = SpriteCache(backdrop_cache_mb * 2**20)
        self._bodies: SpriteCache = SpriteCache(body_cache_mb * 2**20)
        self._dpr = 1.0
        self._light_radius = 1.0
        self._petal_gradient = QLinearGradient(0.0, 0.0, 1.0, 0.0)
        self._no_pen = QPen(Qt.PenStyle.NoPen)
        self.discs = Discs()
        self._lights_memo: dict[tuple[float, float, float], tuple[list, list]] = {}

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
        self._body = None
        self._body_key = None
        self._layers.clear()
        self._halos.clear()
        self._backdrops.clear()
        self._bodies.clear()
        self.discs = Discs()
        self._lights_memo.clear()

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

    def layer_key(self, f: Frame) -> tuple[int, int]:
        """The quantised (level, presence) the glow layer of frame ``f`` is drawn for."""
        return (round(f.level * self.LAYER_LEVEL_STEPS), round(f.presence * self.FADE_STEPS))

    def halo_key(self, f: Frame) -> tuple[int, int, int]:
        """The quantised (level, presence, reward) the reward halo of frame ``f`` is drawn for
        (reward 0: no halo)."""
        return (*self.layer_key(f), round(f.reward * self.FADE_STEPS))

    def halo_opacity(self, key: tuple[int, int, int]) -> float:
        """The strength (0-1) the halo of quantised state ``key`` is added with."""
        _, presence_q, reward_q = key
        return reward_q / self.FADE_STEPS * (0.6 + 0.4 * presence_q / self.FADE_STEPS)

    def body_key(self, f: Frame) -> tuple[int, int, int]:
        """The quantised (level, presence, reward) the orb's body of frame ``f`` is drawn for."""
        return (
            round(f.level * self.LEVEL_STEPS),
            round(f.presence * self.FADE_STEPS),
            round(f.reward * self.BODY_REWARD_STEPS),
        )

    def changed_region(self, old: Frame | None, new: Frame) -> QRegion:
        """The pixels that painting frame ``new`` may change over a picture of frame ``old``
        (None: a picture of nothing yet, so the whole :meth:`dirty_rect`).

        The glow layer's disc when its quantised state differs, else the reward halo's ring
        when its strength differs, the orb's body (the discs of both sizes) when its own
        differs, and the lights' squares (both places) when they show and move. Painting the
        result of the two frames only within this region leaves the same picture as painting
        ``new`` whole.
        """
        if old is None:
            return QRegion(self.dirty_rect().toAlignedRect())
        c = self.geometry.centre
        cx, cy = round(c.x()), round(c.y())
        if self.layer_key(old) != self.layer_key(new):
            # The layer square, 2 px of rounding: its glow, halo and petals fit in the disc
            # (and so do the body and the lights' orbit).
            return self.discs.at(cx, cy, math.ceil(self.geometry.glow_radius) + 3)
        region = QRegion()
        if self.halo_key(old) != self.halo_key(new):
            # the same level step (the layer's): one ring, where either frame shows a halo
            r = self.geometry.orb_radius(self.layer_key(new)[0] / self.LAYER_LEVEL_STEPS)
            inner = math.floor(self._halo_inner_radius(r)) - 3
            region = self.discs.ring(cx, cy, inner, math.ceil(self._halo_radius(r)) + 4)
        if self.body_key(old) != self.body_key(new):
            levels = (self.body_key(old)[0], self.body_key(new)[0])
            r = self.geometry.orb_radius(max(levels) / self.LEVEL_STEPS)
            # the body's square is drawn at a fractional corner: +1 antialiasing, +1 rounding
            region += self.discs.at(cx, cy, math.ceil(r) + 3)
        moved = (old.bloom, old.spin, old.level, old.presence) != (
            new.bloom,
            new.spin,
            new.level,
            new.presence,
        )
        if moved:
            for rect in self._lights_of(old)[1] + self._lights_of(new)[1]:
                region += rect
        return region

    def _lights_of(self, f: Frame) -> tuple[list[tuple[float, float]], list[QRect]]:
        """Top-left corners and pixel squares (a pixel of rounding around) of the reward
        lights of frame ``f`` (kept for the last few frames: the frame painted, the one to
        paint)."""
        key = (f.bloom, f.spin, f.level)
        found = self._lights_memo.get(key)
        if found is not None:
            return found
        lit = f.bloom * self.lights
        corners: list[tuple[float, float]] = []
        rects: list[QRect] = []
        if lit >= 0.01 and self._light is not None:
            g = self.geometry
            cx, cy = g.centre.x(), g.centre.y()
            orbit = g.orb_radius(f.level) * 2.05
            size = self._light.width() / self._dpr
            half = size / 2
            base = 2 * math.pi * (f.spin - 0.25)
            for i in range(math.ceil(lit)):
                angle = base + 2 * math.pi * i / self.lights
                x = cx + orbit * math.cos(angle) - half
                y = cy + orbit * math.sin(angle) - half
                corners.append((x, y))
                left, top = math.floor(x - 1.0), math.floor(y - 1.0)
                right, bottom = math.ceil(x + size + 1.0), math.ceil(y + size + 1.0)
                rects.append(QRect(left, top, right - left, bottom - top))
        if len(self._lights_memo) >= 4:
            self._lights_memo.pop(next(iter(self._lights_memo)))
        self._lights_memo[key] = (corners, rects)
        return corners, rects

    def paint_sky(self, p: QPainter) -> None:
        if self._sky is not None:
            p.drawPixmap(0, 0, self._sky)

    def paint_backdrop(self, p: QPainter, f: Frame) -> None:
        """Paint the sky with the glow and the petals of frame ``f`` on it, from a picture of
        the glow's square kept per layer state: a frame whose layer is unchanged (the reward
        halo, the body, the lights moved) then repaints the light under them by a copy.
        :meth:`paint_front` paints the rest."""
        if self._sky is None or self._glow is None:
            self.paint_sky(p)
            return
        key = self.layer_key(f)
        backdrop = self._backdrops.get(key)
        if backdrop is None:
            backdrop = self._render_backdrop(f)
        corner, k = self._glow_corner(), self._dpr
        square = QRect(
            round(corner.x() * k), round(corner.y() * k), backdrop.width(), backdrop.height()
        )
        # The sky only around the backdrop: both are large copies from memory (the sky's
        # under the backdrop would be painted over at once).
        for band in around(self._sky.rect(), square):
            p.drawPixmap(QPointF(band.x() / k, band.y() / k), self._sky, QRectF(band))
        p.drawPixmap(corner, backdrop)

    def _glow_corner(self) -> QPointF:
        """Where the glow's square (its sprite, the layer, the backdrop) is drawn."""
        g = self.geometry
        return self._snap(g.centre.x() - g.glow_radius, g.centre.y() - g.glow_radius)

    def _render_backdrop(self, f: Frame) -> QPixmap:
        """Draw (and cache) the sky under the glow's square with the glow and petals of frame
        ``f`` added (opaque, as the sky: drawn by a plain copy)."""
        assert self._sky is not None and self._glow is not None
        corner, k = self._glow_corner(), self._dpr
        x, y = round(corner.x() * k), round(corner.y() * k)
        size = self._glow.width()
        backdrop = QPixmap(size, size)  # the sky's format: no alpha channel
        backdrop.setDevicePixelRatio(k)
        if not self._sky.rect().contains(QRect(x, y, size, size)):
            backdrop.fill(Qt.GlobalColor.black)  # under the part of the square beyond the sky
        p = QPainter(backdrop)
        p.drawPixmap(QPointF(-x / k, -y / k), self._sky)
        p.translate(-corner)
        self._add_light(p, f)
        p.end()
        self._backdrops.put(self.layer_key(f), backdrop, size * size * 4)
        self.backdrop_renders += 1
        return backdrop

    def paint(self, p: QPainter, f: Frame) -> None:
        """Paint the feedback visual of frame ``f`` over whatever is painted (the sky)."""
        self._add_light(p, f)
        self.paint_front(p, f)

    def paint_front(self, p: QPainter, f: Frame) -> None:
        """Paint what lies over :meth:`paint_backdrop`: the reward halo, the orb's body and
        the reward lights of frame ``f``."""
        self._paint_halo(p, self.halo_key(f))
        self.paint_body(p, f)

    def _add_light(self, p: QPainter, f: Frame) -> None:
        """Add the glow and the petals of frame ``f`` to what is painted."""
        key = self.layer_key(f)
        layer = self._layers.get(key)
        if layer is None:
            layer = self._render_layer(*key)
        # Light adds to the night sky (additive blending keeps it luminous, never grey).
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Plus)
        corner = self._glow_corner()
        if self._glow is None or layer.box.width() >= self._glow.width():
            p.drawPixmap(corner, layer.pixmap)  # the whole layer
        else:
            # Beyond the petals the layer is the glow alone: add the sprite there directly,
            # around the square the layer holds.
            inner = self._logical(layer.box)
            size, k = round(self._glow.width() / self._dpr), self._dpr
            p.setOpacity(layer.glow_opacity)
            for band in around(QRect(0, 0, size, size), inner):
                source = QRectF(band.x() * k, band.y() * k, band.width() * k, band.height() * k)
                p.drawPixmap(corner + QPointF(band.topLeft()), self._glow, source)
            p.setOpacity(1.0)
            p.drawPixmap(corner + QPointF(inner.topLeft()), layer.pixmap)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)

    def _paint_halo(self, p: QPainter, key: tuple[int, int, int]) -> None:
        """Lay the reward halo of quantised state ``key`` over the glow: its warm light
        covers the cool glow where it is strong (drawn over it, not added, so that the two
        do not add up to white)."""
        opacity = self.halo_opacity(key)
        if opacity <= 0.0:
            return
        sprite = self._halos.get(key[0])
        if sprite is None:
            sprite = self._render_halo(key[0])
        c = self.geometry.centre
        half = sprite.width() / self._dpr / 2
        p.setOpacity(opacity)
        p.drawPixmap(self._snap(c.x() - half, c.y() - half), sprite)
        p.setOpacity(1.0)

    def _render_halo(self, level_q: int) -> QPixmap:
        """Draw (and cache) the reward halo at full strength around the orb of level step
        ``level_q``: only its ring is painted, the rest of the square stays clear."""
        r = self.geometry.orb_radius(level_q / self.LAYER_LEVEL_STEPS)
        size = 2 * math.ceil(self._halo_radius(r) + 1.0)
        sprite = self._pixmap(size, size)
        p = QPainter(sprite)
        self.paint_halo_ring(p, QPointF(size / 2, size / 2), r, 1.0)
        p.end()
        self._halos.put(level_q, sprite, sprite.width() * sprite.height() * 4)
        self.halo_renders += 1
        return sprite

    def _snap(self, x: float, y: float) -> QPointF:
        """``(x, y)`` on the nearest whole device pixel, where Qt would blit an unscaled
        sprite anyway: a repaint of part of the picture then puts it exactly where a
        repaint of all of it does, at any device pixel ratio."""
        k = self._dpr
        return QPointF(math.floor(x * k + 0.5) / k, math.floor(y * k + 0.5) / k)

    def paint_body(self, p: QPainter, f: Frame) -> None:
        """Paint the orb's body and the reward lights of frame ``f`` (over the light and the
        halo: :meth:`paint_front`)."""
        body_key = self.body_key(f)
        if body_key != self._body_key or self._body is None:
            body = self._bodies.get(body_key)
            self._body = body if body is not None else self._render_body(*body_key)
            self._body_key = body_key
        c = self.geometry.centre
        half = self._body.width() / self._dpr / 2
        p.drawPixmap(self._snap(c.x() - half, c.y() - half), self._body)
        self._paint_lights(p, f)

    def _render_layer(self, level_q: int, presence_q: int) -> Layer:
        """Draw (and cache) the glow and the petals for the quantised (level, presence): only
        the square around the petals, the glow under them included; :meth:`paint` adds the
        glow sprite itself around that square."""
        g = self.geometry
        level = level_q / self.LAYER_LEVEL_STEPS
        presence = presence_q / self.FADE_STEPS
        half = g.glow_radius
        box = self._inner_box(level)
        if box.x() > 0:
            inner = self._logical(box)
            pixmap = self._pixmap(inner.width(), inner.height())
        else:
            inner = QRect()
            pixmap = self._pixmap(2 * math.ceil(half), 2 * math.ceil(half))
        p = QPainter(pixmap)
        p.translate(-inner.x(), -inner.y())  # whole pixels: the same picture as a full layer
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        opacity = self._paint_glow(p, QPointF(half, half), level, presence)
        p.end()
        layer = Layer(pixmap, box, opacity)
        self._layers.put((level_q, presence_q), layer, box.width() * box.height() * 4)
        self.layer_renders += 1
        return layer

    def _inner_box(self, level: float) -> QRect:
        """The square of the layer (device pixels) that holds the petals (the whole layer for
        a fractional device pixel ratio)."""
        dpr = self._dpr
        full = round(2 * math.ceil(self.geometry.glow_radius) * dpr)
        if dpr != round(dpr):
            return QRect(0, 0, full, full)
        r = self.geometry.orb_radius(level)
        extent = 0.0
        petals = self._petal_shape(r, level)
        if petals is not None:
            offset, length, _ = petals
            extent = offset + length / 2
        half_px = full // 2
        # +1 antialiasing, +1 the layer's centre is off its middle by under a pixel, +1 spare
        inner = min(half_px, round((math.ceil(extent) + 3) * dpr))
        return QRect(half_px - inner, half_px - inner, 2 * inner, 2 * inner)

    def _logical(self, box: QRect) -> QRect:
        """``box`` of device pixels in the layer's logical pixels (for a whole-number device
        pixel ratio, the only one the layer is split for)."""
        k = round(self._dpr) or 1
        return QRect(box.x() // k, box.y() // k, box.width() // k, box.height() // k)

    def _render_body(self, level_q: int, presence_q: int, reward_q: int) -> QPixmap:
        """Draw (and cache) the orb's body for the quantised (level, presence, reward)."""
        level = level_q / self.LEVEL_STEPS
        r = self.geometry.orb_radius(level)
        size = 2 * math.ceil(r + 1)
        body = self._pixmap(size, size)
        p = QPainter(body)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        presence, reward = presence_q / self.FADE_STEPS, reward_q / self.BODY_REWARD_STEPS
        self._paint_body(p, QPointF(size / 2, size / 2), r, level, presence, reward)
        p.end()
        self._bodies.put((level_q, presence_q, reward_q), body, body.width() * body.height() * 4)
        self.body_renders += 1
        return body

    def _paint_glow(self, p: QPainter, c: QPointF, level: float, presence: float) -> float:
        """Paint the glow and the petals around ``c``; return the glow's opacity."""
        g = self.geometry
        r = g.orb_radius(level)
        light = (0.30 + 0.70 * level) * presence
        p.setPen(self._no_pen)
        # Soft glow around the orb, stronger as it brightens (the full sprite fits any level).
        if self._glow is not None:
            corner = QPointF(c.x() - g.glow_radius, c.y() - g.glow_radius)
            p.setOpacity(light)
            p.drawPixmap(corner, self._glow)
            p.setOpacity(1.0)
        self._paint_petals(p, c, r, level, light)
        return light

    def paint_halo_ring(self, p: QPainter, c: QPointF, r: float, strength: float) -> None:
        """Paint the warm reward halo that hugs an orb of radius ``r`` around ``c``, at
        ``strength`` (0-1; the reward smoother makes it rise and fade over a second or two,
        never flash)."""
        pal = self.palette
        rc = self._halo_radius(r)
        gradient = QRadialGradient(c, rc)
        gradient.setColorAt(0.0, rgba(pal.warm, 0.0))
        gradient.setColorAt(0.9 * r / rc, rgba(pal.warm, 0.0))
        gradient.setColorAt(1.04 * r / rc, rgba(pal.warm_core, 0.85 * strength))
        gradient.setColorAt(1.3 * r / rc, rgba(pal.warm, 0.45 * strength))
        gradient.setColorAt(1.0, rgba(pal.warm, 0.0))
        # Clear inside 0.9 r and beyond rc: fill only the ring between, without antialiasing
        # (the gradient is clear at both edges), a few long spans a row.
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setPen(self._no_pen)
        p.setBrush(gradient)
        p.drawPath(annulus(c, self._halo_inner_radius(r), rc + 1.0))
        p.restore()

    @staticmethod
    def _halo_inner_radius(r: float) -> float:
        """Inner radius of the halo's painted ring around an orb of radius ``r``."""
        return 0.9 * r - 1.0

    def _halo_radius(self, r: float) -> float:
        """Outer radius of the warm halo's gradient around an orb of radius ``r`` (its ring
        is filled 1 px beyond)."""
        return min(self.geometry.glow_radius, r * 2.4)

    @staticmethod
    def _petal_shape(r: float, level: float) -> tuple[float, float, float] | None:
        """(offset of the centre, length, width) of each petal around an orb of radius
        ``r`` at ``level``; None while they are closed."""
        opening = level**1.3
        if opening < 0.02:
            return None
        length = r * (1.0 + 0.75 * opening)
        width = r * (0.45 + 0.25 * opening)
        offset = r * (0.15 + 0.95 * opening)
        return offset, length, width

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

    def _paint_petals(self, p: QPainter, c: QPointF, r: float, level: float, light: float) -> None:
        """Translucent petals that spread out from behind the orb as the score rises."""
        shape = self._petal_shape(r, level)
        if shape is None:
            return
        offset, length, width = shape
        opening = level**1.3
        pal = self.palette
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
        for i, (x, y) in enumerate(self._lights_of(f)[0]):
            p.setOpacity(min(1.0, lit - i) * (0.55 + 0.45 * f.presence))
            p.drawPixmap(self._snap(x, y), self._light)
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


@dataclass(frozen=True)
class Layer:
    """A rendered glow layer: the square ``box`` (device pixels of the whole layer) holding
    the petals over the glow, and the glow's opacity around it."""

    pixmap: QPixmap
    box: QRect
    glow_opacity: float
