"""Cheaper painting must paint the same picture: the pacer ring, the orb's caches and the
patient view's repainted region (speed itself is measured by benchmarks/bench_trainer.py,
never here)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from biotrainer.clock import SimulatedClock
from biotrainer.ui.orb import Geometry, OrbPainter, Palette, rgba
from biotrainer.ui.pacer import PacerPainter
from biotrainer.ui.patient_view import PatientView

from .pictures import frame, pixels

SKY = QColor(20, 40, 60)


def sky(size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_RGB32)
    image.fill(SKY)
    return image


@pytest.mark.parametrize("unit, pacer_open, fade", [(800, 0.37, 1.0), (1080, 0.81, 0.4)])
def test_pacer_ring_paints_what_an_antialiased_stroke_paints(qapp, unit, pacer_open, fade):
    """The gradient ring against the reference: an antialiased stroked ellipse of the same
    width, added to the sky with the same opacity."""
    g = Geometry(unit, unit)
    f = frame(pacer=fade, pacer_open=pacer_open)
    ring = sky(unit)
    p = QPainter(ring)
    PacerPainter().paint(p, g, f)
    p.end()

    reference = sky(unit)
    p = QPainter(reference)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    pen = QPen(rgba(Palette().pacer, 1.0))
    pen.setWidthF(PacerPainter.line_width(g))
    p.setPen(pen)
    p.setOpacity(0.55 * fade)
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Plus)
    p.drawEllipse(g.centre, g.pacer_radius(pacer_open), g.pacer_radius(pacer_open))
    p.end()

    base = np.array([SKY.red(), SKY.green(), SKY.blue()], float)
    a, b = pixels(ring) - base, pixels(reference) - base
    lit_a, lit_b = a.sum(axis=2) > 0, b.sum(axis=2) > 0
    assert lit_b.sum() > 0.5 * 2 * math.pi * g.pacer_radius(pacer_open)  # a whole ring
    # The same pixels lit (the edges may differ by a pixel of faint ramp) ...
    assert (lit_a & lit_b).sum() > 0.85 * lit_b.sum()
    assert (lit_a & ~lit_b).sum() < 0.25 * lit_b.sum()
    # ... with the same light in total and never a visibly different pixel on the line.
    assert a.sum() == pytest.approx(b.sum(), rel=0.08)
    assert np.abs(a - b).max() < 80
    assert np.abs(a - b)[lit_b].mean() < 12


def test_pacer_off_paints_nothing(qapp):
    g = Geometry(400, 400)
    image = sky(400)
    p = QPainter(image)
    PacerPainter().paint(p, g, frame(pacer=0.0, pacer_open=0.5))
    p.end()
    assert np.all(pixels(image) == pixels(sky(400)))


def test_orb_layer_is_kept_for_small_level_moves_but_the_body_follows(qapp):
    orb = OrbPainter()
    orb.resize(800, 600)
    image = QImage(800, 600, QImage.Format.Format_RGB32)
    p = QPainter(image)
    level = 0.5
    orb.paint(p, frame(level=level))
    layers, bodies = orb.layer_renders, orb.body_renders
    # A level move well inside one layer step: the glow is kept, the orb's body is redrawn
    # (its edge would show a step).
    small = 0.4 / orb.LAYER_LEVEL_STEPS
    orb.paint(p, frame(level=level + small))
    assert orb.layer_renders == layers and orb.body_renders == bodies + 1
    # The same frame again costs no render at all.
    orb.paint(p, frame(level=level + small))
    assert orb.layer_renders == layers and orb.body_renders == bodies + 1
    # A move of a whole layer step redraws the glow; so does a change of presence.
    orb.paint(p, frame(level=level + 1.0 / orb.LAYER_LEVEL_STEPS))
    assert orb.layer_renders == layers + 1
    orb.paint(p, frame(level=level + 1.0 / orb.LAYER_LEVEL_STEPS, presence=0.5))
    assert orb.layer_renders == layers + 2
    p.end()


def test_orb_body_has_the_radius_of_the_exact_level(qapp):
    orb = OrbPainter()
    orb.resize(1000, 1000)
    image = QImage(1000, 1000, QImage.Format.Format_RGB32)
    p = QPainter(image)
    for level in (0.2, 0.2 + 0.6 / orb.LAYER_LEVEL_STEPS, 0.77):
        orb.paint(p, frame(level=level))
        size = orb._body.width() / orb._dpr
        # the body's sprite fits the exact radius (within its 1-pixel margin and rounding)
        assert size / 2 == pytest.approx(orb.geometry.orb_radius(level) + 1, abs=1.0)
    p.end()


@pytest.mark.parametrize("width, height", [(640, 400), (1280, 800), (1920, 1080)])
def test_dirty_rect_holds_everything_that_moves(qapp, width, height):
    orb = OrbPainter()
    orb.resize(width, height)
    g = orb.geometry
    dirty = orb.dirty_rect()
    c = g.centre
    # the glow layer as blitted, the pacer ring at its widest with its line, the lights' orbit
    half = orb._glow.width() / orb._dpr / 2
    extents = (
        half + 1.0,
        g.pacer_radius(1.0) + PacerPainter.line_width(g) / 2 + 1.0,
        g.orb_radius(1.0) * 2.05 + orb._light.width() / orb._dpr / 2,
    )
    for r in extents:
        assert dirty.left() <= c.x() - r and dirty.right() >= c.x() + r
        assert dirty.top() <= c.y() - r and dirty.bottom() >= c.y() + r


@pytest.fixture
def view(qtbot):
    clock = SimulatedClock(1000.0)
    v = PatientView(clock=clock)
    qtbot.addWidget(v)
    v.resize(640, 400)
    v.show()
    return v


def covers(region, rect: QRect) -> bool:
    return region.intersected(rect).boundingRect() == rect and region.intersected(rect) == rect


def test_words_band_is_repainted_only_while_words_show_or_fade(view):
    # the left end of the band of words, away from the centre square
    centre = view.orb.dirty_rect().toAlignedRect()
    band = QRect(0, round(view._cue_y()) + 2, centre.left() - 1, 10)
    assert band.width() > 50
    quiet, cue = frame(), frame(pacer=1.0, cue=0.8)
    assert covers(view._animated_region(quiet, None), band)  # first paint: everything
    assert not view._animated_region(quiet, quiet).intersects(band)
    assert covers(view._animated_region(cue, quiet), band)  # a word appears
    assert covers(view._animated_region(quiet, cue), band)  # and is wiped away
    assert covers(view._animated_region(frame(note=0.5), quiet), band)
    assert view._animated_region(quiet, quiet).isEmpty()  # nothing moved: nothing to paint


def test_numbers_line_is_repainted_when_an_update_arrives(view):
    band = QRect(0, view.height() - 12, 100, 10)  # where the numbers line starts
    quiet = frame()
    view.hide()  # no frame timer: the next region is the one the update asked for
    view.set_show_numbers(True)
    view.show_update(view_update(view, 0.5))
    assert covers(view._animated_region(quiet, quiet), band)
    assert not view._animated_region(quiet, quiet).intersects(band)  # once per update
    view.set_show_numbers(False)
    view.show_update(view_update(view, 0.6))
    assert not view._animated_region(quiet, quiet).intersects(band)


def view_update(view, score):
    from biotrainer.engine.updates import MetricUpdate

    t = view._clock.now()
    return MetricUpdate(
        session_s=t, sample_time=t, received_at=t, computed_at=t, feedback_score=score
    )
