"""The orb keeps the halos and backdrops of a level wandering over most of its range (in
training it does so within seconds), so that passing a level again costs a blit, not a render."""

from __future__ import annotations

from PySide6.QtGui import QImage, QPainter

from biotrainer.ui.orb import OrbPainter

from .pictures import frame


def _paint(orb: OrbPainter, f) -> None:
    """Paint frame ``f`` as the view does (into a small image: only the renders count here;
    test_orb_cache checks that cached renders paint what fresh ones paint)."""
    image = QImage(64, 64, QImage.Format.Format_RGB32)
    p = QPainter(image)
    orb.paint_backdrop(p, f)
    orb.paint_front(p, f)
    p.end()


def test_a_level_wandering_over_40_steps_is_rendered_once_per_step(qapp) -> None:
    orb = OrbPainter()
    orb.resize(1280, 800)
    steps = [frame(level=q / orb.LAYER_LEVEL_STEPS, reward=0.6) for q in range(21, 61)]
    for f in steps:
        _paint(orb, f)
    assert (orb.halo_renders, orb.backdrop_renders) == (len(steps), len(steps))
    for f in reversed(steps):  # back down the same levels: every one from the caches
        _paint(orb, f)
    assert (orb.halo_renders, orb.backdrop_renders) == (len(steps), len(steps))
