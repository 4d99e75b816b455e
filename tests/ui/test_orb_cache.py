"""The patient view's cheaper painting paints the same picture: cached and partly drawn layers
equal a fresh full render, and repainting only what changed leaves the picture a full repaint
would paint (speed itself is measured by benchmarks/bench_trainer.py, never here)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRect
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QWidget

from biotrainer.clock import SimulatedClock
from biotrainer.ui.orb import OrbPainter
from biotrainer.ui.paint_cache import Discs, SpriteCache, around
from biotrainer.ui.patient_view import PatientView
from biotrainer.ui.smoothing import Frame

from .pictures import frame, pixels

SKY = QColor(20, 40, 60)


def orb_picture(orb: OrbPainter, f: Frame) -> np.ndarray:
    image = QImage(orb.geometry.width, orb.geometry.height, QImage.Format.Format_RGB32)
    image.fill(SKY)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    orb.paint(p, f)
    p.end()
    return pixels(image)


def reference_picture(orb: OrbPainter, f: Frame, halo_at_strength: bool = False) -> np.ndarray:
    """The picture as painted before the layer was split: the whole glow layer (glow and
    petals) rendered into one sprite and added to the sky, the halo over it, the body over
    them. The halo is the orb's own sprite at the reward's opacity, or with
    ``halo_at_strength`` drawn straight onto the picture at the reward's strength."""
    g = orb.geometry
    image = QImage(g.width, g.height, QImage.Format.Format_RGB32)
    image.fill(SKY)
    key = orb.halo_key(f)
    level_q, presence_q = key[0], key[1]
    level, presence = level_q / orb.LAYER_LEVEL_STEPS, presence_q / orb.FADE_STEPS
    half = g.glow_radius
    layer = orb._pixmap(2 * math.ceil(half), 2 * math.ceil(half))
    q = QPainter(layer)
    q.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    orb._paint_glow(q, QPointF(half, half), level, presence)
    q.end()
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Plus)
    p.drawPixmap(QPointF(g.centre.x() - half, g.centre.y() - half), layer)
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
    if not halo_at_strength:
        orb._paint_halo(p, key)
    elif orb.halo_opacity(key) > 0:
        orb.paint_halo_ring(p, g.centre, g.orb_radius(level), orb.halo_opacity(key))
    orb.paint_body(p, f)
    p.end()
    return pixels(image)


@pytest.mark.parametrize("width, height", [(800, 600), (1920, 1080)])
@pytest.mark.parametrize(
    "level, presence, reward",
    [(0.0, 1.0, 0.0), (0.3, 0.72, 0.0), (0.62, 1.0, 0.0), (0.62, 1.0, 0.5), (1.0, 1.0, 1.0)],
)
def test_split_layer_paints_what_the_whole_layer_paints(
    qapp, width, height, level, presence, reward
):
    """Only the square around the petals is rendered; the glow sprite is added around it, and
    the halo, drawn once at full strength, is added at the reward's: no petal or halo is cut
    off, and the glow meets itself without a seam."""
    orb = OrbPainter()
    orb.resize(width, height)
    f = frame(level=level, presence=presence, reward=reward)
    ours, ref = orb_picture(orb, f), reference_picture(orb, f)
    assert np.abs(ours - ref).max() <= 1  # the glow's opacity is applied once, not twice
    assert (np.abs(ours - ref).max(axis=2) > 0).mean() < 0.05
    lit = np.abs(ref - np.array([SKY.red(), SKY.green(), SKY.blue()])).sum(axis=2) > 0
    assert lit.mean() > 0.1  # there is a picture to compare


@pytest.mark.parametrize("presence", [1.0, 0.6])
def test_the_reward_halo_fades_in_and_out_of_its_full_picture(qapp, presence):
    """The halo is one sprite drawn at full strength and added at the reward's opacity: no
    halo without reward, more light as the reward grows (never a flash: small steps), and the
    picture of the halo drawn straight at the reward's strength."""
    orb = OrbPainter()
    orb.resize(800, 600)
    at = [orb_picture(orb, frame(level=0.62, presence=presence, reward=k / 16)) for k in range(17)]
    without = orb_picture(orb, frame(level=0.62, presence=presence, reward=0.0))
    assert np.array_equal(at[0], without)
    light = [float((picture - without).sum()) for picture in at]
    steps = np.diff(light)
    assert all(steps > 0)
    assert steps.max() < 1.5 * steps.min()  # an even fade, no jump
    for k in (4, 11, 16):
        ref = reference_picture(orb, frame(level=0.62, presence=presence, reward=k / 16), True)
        assert np.abs(at[k] - ref).max() <= 2
        assert (np.abs(at[k] - ref).max(axis=2) > 1).mean() < 0.005


@pytest.mark.parametrize("dpr", [1.0, 1.5, 2.0])
@pytest.mark.parametrize("level, reward", [(0.2, 0.0), (0.62, 0.45), (0.9, 1.0)])
def test_the_backdrop_is_the_sky_with_the_light_added(qapp, level, reward, dpr):
    """The view paints a kept picture of the sky with the glow and petals on it, then the
    halo, body and lights: the same picture as painting them all over the sky (at any
    device pixel ratio)."""
    orb = OrbPainter()
    orb.resize(800, 600, dpr)
    f = frame(level=level, reward=reward, bloom=0.4)
    pictures = []
    for backdrop in (False, True):
        image = QImage(round(800 * dpr), round(600 * dpr), QImage.Format.Format_RGB32)
        image.setDevicePixelRatio(dpr)
        p = QPainter(image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if backdrop:
            orb.paint_backdrop(p, f)
            orb.paint_front(p, f)
        else:
            orb.paint_sky(p)
            orb.paint(p, f)
        p.end()
        pictures.append(pixels(image))
    assert np.array_equal(pictures[0], pictures[1])
    renders = orb.backdrop_renders
    scratch = QImage(800, 600, QImage.Format.Format_RGB32)
    q = QPainter(scratch)
    orb.paint_backdrop(q, frame(level=level, reward=1.0 - reward))  # the halo alone changed
    q.end()
    assert orb.backdrop_renders == renders == 1


def test_the_body_warms_with_the_reward_within_two_levels_of_its_exact_colour(qapp):
    """The body is drawn for the reward in sixteenths: never more than two levels of a
    colour channel from the body drawn for the exact reward."""
    orb = OrbPainter()
    orb.resize(800, 600)
    r = orb.geometry.orb_radius(0.7)
    size = 2 * math.ceil(r + 1)
    worst = 0
    for reward in np.linspace(0.0, 1.0, 41):
        f = frame(level=0.7, reward=float(reward))
        drawn = []
        for exact in (False, True):
            image = QImage(size, size, QImage.Format.Format_RGB32)
            image.fill(SKY)
            p = QPainter(image)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            key = orb.body_key(f)
            quantised = key[2] / orb.BODY_REWARD_STEPS
            orb._paint_body(
                p, QPointF(size / 2, size / 2), r, 0.7, 1.0, float(reward) if exact else quantised
            )
            p.end()
            drawn.append(pixels(image))
        worst = max(worst, int(np.abs(drawn[0] - drawn[1]).max()))
    assert 0 < worst <= 2


def test_cached_layers_and_bodies_equal_fresh_renders(qapp):
    orb = OrbPainter()
    orb.resize(800, 600)
    a = frame(level=0.41, reward=0.3)
    b = frame(level=0.77, presence=0.8)
    first = orb_picture(orb, a)
    orb_picture(orb, b)
    layers, bodies = orb.layer_renders, orb.body_renders
    again = orb_picture(orb, a)  # back to a state seen before: from the caches
    assert (orb.layer_renders, orb.body_renders) == (layers, bodies)
    fresh = OrbPainter()
    fresh.resize(800, 600)
    assert np.array_equal(again, first)
    assert np.array_equal(again, orb_picture(fresh, a))


def test_caches_stay_within_their_budget(qapp):
    orb = OrbPainter(layer_cache_mb=1.0, body_cache_mb=0.5)
    orb.resize(800, 600)
    for i in range(40):
        orb_picture(orb, frame(level=i / 40, reward=0.5 * (i % 2)))
    assert orb._layers.nbytes <= 2**20 and orb._bodies.nbytes <= 2**19
    assert len(orb._layers) >= 1 and len(orb._bodies) >= 1
    renders = orb.layer_renders
    orb_picture(orb, frame(level=0.0))  # long evicted: drawn again
    assert orb.layer_renders == renders + 1


def test_sprite_cache_drops_the_least_recently_used():
    cache = SpriteCache(300)
    cache.put("a", 1, 100)
    cache.put("b", 2, 100)
    cache.put("c", 3, 100)
    assert cache.get("a") == 1  # now the most recent
    cache.put("d", 4, 100)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("d") == 4
    assert cache.nbytes == 300
    cache.put("big", 5, 1000)  # over budget on its own: kept, all else dropped
    assert len(cache) == 1 and cache.get("big") == 5
    cache.clear()
    assert len(cache) == 0 and cache.nbytes == 0


@pytest.mark.parametrize(
    "inner",
    [QRect(30, 20, 40, 50), QRect(-10, 60, 40, 90), QRect(0, 0, 100, 80), QRect(200, 0, 5, 5)],
)
def test_bands_around_a_square_and_the_square_cover_each_pixel_once(inner):
    """The sky is painted in the bands around the backdrop and the backdrop in its square:
    together every pixel of the picture once (inside, across an edge, all of it, outside)."""
    outer = QRect(0, 0, 100, 80)
    count = np.zeros((80, 100), int)
    for rect in [*around(outer, inner), inner.intersected(outer)]:
        if not rect.isEmpty():
            count[rect.top() : rect.bottom() + 1, rect.left() : rect.right() + 1] += 1
    assert np.all(count == 1)


@pytest.mark.parametrize("radius", [0, 1, 5, 37, 320])
def test_discs_hold_the_circle_or_lie_inside_it(radius):
    discs = Discs()
    outer, inner = discs.at(10, -4, radius), discs.at(10, -4, radius, inside=True)
    for y in range(-radius - 2, radius + 3):
        for x in range(-radius - 2, radius + 3):
            d2 = x * x + y * y
            point = QPoint(10 + x, -4 + y)
            if d2 <= radius * radius:
                assert outer.contains(point)
            if inner.contains(point):
                assert d2 <= radius * radius
    assert inner.isEmpty() or inner.contains(QPoint(10, -4))
    ring = discs.ring(0, 0, radius // 2, radius)
    assert all(
        ring.contains(QPoint(x, 0)) for x in range(radius // 2 + 1, radius + 1)
    )  # the ring's band along a radius


# -- the view: repainting only what changed ------------------------------------------------


class Frames:
    """Stands in for the view's animation: steps through given frames."""

    def __init__(self, frames: list[Frame]) -> None:
        self.frames, self.i, self.frame = frames, 0, frames[0]

    def step(self, t: float) -> Frame:
        self.frame = self.frames[min(self.i, len(self.frames) - 1)]
        self.i += 1
        return self.frame


def motion(n: int) -> list[Frame]:
    """Everything that moves on the patient's screen, alone and together: the level creeping
    (the body changes between steps of the glow), still (only the lights circle and the
    pacer's ring breathes, then fades away), the reward halo fading out and in around a
    still orb, then swinging and jumping with presence and the reward rising and falling;
    the pacer fading in, its words fading, the calm note."""
    frames = []
    level = 0.4
    for i in range(n):
        t = i / 60
        part = 4 * i // n  # creeping, still, the halo alone, swinging
        if part == 0:
            level += 0.3 / 256
        elif part == 3:
            level = 0.5 + 0.3 * math.sin(2.1 * t) + (0.2 if i % 37 > 30 else 0.0)
        reward = 0.4 if part < 2 else max(0.0, math.sin(1.3 * t))
        if part == 2:
            reward = abs(math.cos(4.0 * (4 * i / n - 2.0)))  # from 1 to 0 and back
        frames.append(
            frame(
                t=t,
                level=min(1.0, level),
                presence=1.0 if part < 3 else 0.72 + 0.28 * math.cos(3 * t) ** 2,
                reward=reward,
                bloom=min(1.0, 0.2 + t / 3),
                spin=0.25 * t,  # a few pixels a frame
                pacer=min(1.0, 0.3 + t) if part != 1 else max(0.0, 1.0 - 8 * (4 * i / n - 1.5)),
                pacer_open=0.5 + 0.5 * math.sin(2 * t),
                inhaling=math.cos(2 * t) > 0,
                cue=abs(math.cos(2 * t)),
                note=max(0.0, math.sin(1.7 * t) - 0.5),
            )
        )
        if i % 11 == 0:  # and a few frames that repeat the one before
            frames.append(frames[-1])
    return frames


def repaint(view: PatientView, image: QImage, region) -> None:
    """Paint ``region`` of the view into ``image`` where it lies (as the backing store does)."""
    rect = region.boundingRect() if hasattr(region, "boundingRect") else region
    view.render(image, rect.topLeft(), region, QWidget.RenderFlag(0))


def screen_image(view: PatientView) -> QImage:
    """An image like the view's backing store (device pixels), magenta: anything left
    unpainted would show."""
    dpr = view.devicePixelRatioF()
    image = QImage(view.size() * dpr, QImage.Format.Format_RGB32)
    image.setDevicePixelRatio(dpr)
    image.fill(QColor(255, 0, 255))
    return image


def full_picture(view: PatientView) -> np.ndarray:
    image = screen_image(view)
    view.render(image, QPoint(), view.rect(), QWidget.RenderFlag(0))
    return pixels(image)


@pytest.mark.parametrize("width, height", [(640, 400), (500, 700)])
def test_repainting_what_changed_leaves_the_picture_of_a_full_repaint(qtbot, width, height):
    view = PatientView(clock=SimulatedClock(0.0))
    qtbot.addWidget(view)
    view.resize(width, height)
    view.set_instruction("Let the light grow, and breathe with the circle as it opens.")
    frames = motion(180)
    view.animation = Frames(frames)
    screen = screen_image(view)
    view.render(screen, QPoint(), view.rect(), QWidget.RenderFlag(0))  # the first frame whole
    small_repaints = 0
    for i in range(1, len(frames)):
        painted = view._painted_frame
        f = view.animation.step(0.0)
        region = view._animated_region(f, painted)
        if region.isEmpty():
            assert f == painted or f.still_as(painted)
            continue
        small_repaints += region.boundingRect() != view.rect()
        repaint(view, screen, region)
        assert view._painted_frame is f
        if i % 4 == 0 or i == len(frames) - 1:
            ours, whole = pixels(screen), full_picture(view)
            diff = np.abs(ours - whole).max(axis=2)
            assert diff.max() == 0, f"frame {i}: {np.count_nonzero(diff)} stale pixels"
    assert small_repaints > len(frames) // 2  # the test exercised partial repaints


def test_a_paint_that_misses_part_of_the_change_forces_a_whole_repaint(qtbot):
    view = PatientView(clock=SimulatedClock(0.0))
    qtbot.addWidget(view)
    view.resize(640, 400)
    a, b = frame(level=0.3), frame(level=0.8)
    view.animation = Frames([a, b, b])
    view.animation.step(0.0)
    image = screen_image(view)
    view.render(image, QPoint(), view.rect(), QWidget.RenderFlag(0))
    assert view._painted_frame is a
    view.animation.step(0.0)  # b: the whole glow changes ...
    repaint(view, image, QRect(0, 0, 20, 20))  # ... a corner only
    assert view._painted_frame is None
    region = view._animated_region(view.animation.step(0.0), view._painted_frame)
    assert region.contains(view.orb.dirty_rect().toAlignedRect())


def test_still_frames_and_unchanged_words_repaint_nothing(qtbot):
    view = PatientView(clock=SimulatedClock(0.0))
    qtbot.addWidget(view)
    view.resize(640, 400)
    view.show()
    f = frame(pacer=1.0, pacer_open=0.4, cue=0.9, bloom=0.3, spin=0.2)
    assert view._animated_region(f, f).isEmpty()
    # the ring breathes: its old and new places only, not the centre or the words
    g = frame(pacer=1.0, pacer_open=0.41, cue=0.9, bloom=0.3, spin=0.2)
    region = view._animated_region(g, f)
    c = view.orb.geometry.centre
    assert not region.isEmpty()
    assert not region.contains(QPoint(round(c.x()), round(c.y())))
    band = QRect(0, round(view._cue_y()) + 2, 40, 10)
    assert not region.intersects(band)
    # a word fading is repainted
    assert view._animated_region(frame(pacer=1.0, pacer_open=0.4, cue=0.5), f).intersects(band)


@pytest.mark.parametrize("x, y, alpha", [(40.0, 20.0, 0.92), (33.37, 51.71, 0.4)])
def test_text_sprites_paint_what_drawing_the_text_paints(qapp, x, y, alpha):
    from PySide6.QtGui import QFont

    from biotrainer.ui.patient_view import _Text

    font = QFont()
    font.setPixelSize(30)
    text = _Text()
    words = "Breathe with the circle: in as it grows, out slowly as it shrinks."
    text.prepare(words, font, 400.0)
    colour = QColor(214, 228, 240, round(255 * alpha))
    ours = QImage(500, 200, QImage.Format.Format_RGB32)
    ours.fill(SKY)
    p = QPainter(ours)
    text.draw(p, x, y, colour)
    p.end()
    direct = QImage(500, 200, QImage.Format.Format_RGB32)
    direct.fill(SKY)
    p = QPainter(direct)
    p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    p.setFont(font)
    p.setPen(colour)
    p.drawStaticText(QPointF(x, y), text.static)
    p.end()
    a, b = pixels(ours), pixels(direct)
    assert np.abs(a - b).max() <= 2
    assert (np.abs(b - pixels_of_sky(500, 200)).sum(axis=2) > 30).sum() > 500  # text drawn


def pixels_of_sky(w: int, h: int) -> np.ndarray:
    image = QImage(w, h, QImage.Format.Format_RGB32)
    image.fill(SKY)
    return pixels(image)


def test_a_new_widget_font_reaches_the_cached_fonts(qtbot):
    from PySide6.QtGui import QFont

    view = PatientView(clock=SimulatedClock(0.0))
    qtbot.addWidget(view)
    before = view._font(30.0)
    assert view._font(30.0) is before  # cached
    font = QFont(view.font())
    font.setItalic(not font.italic())
    view.setFont(font)
    after = view._font(30.0)
    assert after.italic() == font.italic() and after.pixelSize() == 30


def test_the_screen_shows_what_a_full_repaint_paints(qtbot):
    """End to end through Qt's own update machinery: the view's timer slot asks for the
    changed region, Qt repaints it into the window's backing store, and the window then
    shows the same pixels as a repaint of the whole view."""
    view = PatientView(clock=SimulatedClock(0.0))
    qtbot.addWidget(view)
    view.resize(640, 400)
    view.set_instruction("Let the light grow, and breathe with the circle as it opens.")
    view.show()
    qtbot.waitExposed(view)
    view._timer.stop()  # this test steps the view itself
    frames = motion(120)
    view.animation = Frames(frames)
    for i in range(len(frames)):
        view.advance()
        qapp_process_events()
        if i % 10 == 9:
            shown = pixels(view.screen().grabWindow(view.winId()).toImage())
            whole = pixels(view.grab().toImage())
            if shown.shape != whole.shape:
                pytest.skip("this platform grabs windows at another device pixel ratio")
            assert np.abs(shown - whole).max() == 0, f"frame {i}"


def qapp_process_events() -> None:
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()
