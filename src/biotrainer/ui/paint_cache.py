"""Caches for cheap repainting: rendered sprites kept by key within a memory budget, and
regions of discs (the pixels a round picture may change) kept by radius."""

from __future__ import annotations

import math
from collections import OrderedDict

from PySide6.QtCore import QRect
from PySide6.QtGui import QRegion


class SpriteCache:
    """Rendered sprites by key; the least recently used are dropped beyond a budget of bytes.

    While the score wanders, the orb passes the same quantised states again and again;
    keeping their renders makes most frames a blit.
    """

    def __init__(self, budget_bytes: float) -> None:
        self.budget_bytes = budget_bytes
        self.nbytes = 0
        self._items: OrderedDict[object, tuple[object, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: object):
        """The sprite stored under ``key`` (now the most recently used), or None."""
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: object, sprite: object, nbytes: int) -> None:
        """Store ``sprite`` of ``nbytes`` under ``key``, dropping the oldest over budget (the
        newest is always kept)."""
        old = self._items.pop(key, None)
        if old is not None:
            self.nbytes -= old[1]
        self._items[key] = (sprite, nbytes)
        self.nbytes += nbytes
        while self.nbytes > self.budget_bytes and len(self._items) > 1:
            self.nbytes -= self._items.popitem(last=False)[1][1]

    def clear(self) -> None:
        self._items.clear()
        self.nbytes = 0


def around(outer: QRect, inner: QRect) -> list[QRect]:
    """The parts of ``outer`` outside ``inner``: up to four bands (above the inner square, below
    it, left and right of it), so that a picture can be painted around another without
    painting the same pixels twice."""
    inner = inner.intersected(outer)
    if inner.isEmpty():
        return [QRect(outer)]
    left, top = outer.left(), outer.top()
    right, bottom = outer.right() + 1, outer.bottom() + 1  # exclusive
    in_left, in_top = inner.left(), inner.top()
    in_right, in_bottom = inner.right() + 1, inner.bottom() + 1
    bands = (
        QRect(left, top, right - left, in_top - top),
        QRect(left, in_bottom, right - left, bottom - in_bottom),
        QRect(left, in_top, in_left - left, in_bottom - in_top),
        QRect(in_right, in_top, right - in_right, in_bottom - in_top),
    )
    return [band for band in bands if band.width() > 0 and band.height() > 0]


class Discs:
    """Regions of discs, cached by radius: a staircase of a few horizontal bands that holds
    the disc (or lies inside it), so painting through the region takes a few long spans per
    row, and moving a cached one costs almost nothing.

    Parameters
    ----------
    bands : int
        Bands of a staircase (more: closer to the circle, more rectangles).
    """

    def __init__(self, bands: int = 16) -> None:
        self.bands = bands
        self._cache: dict[tuple[int, bool], QRegion] = {}

    def at(self, x: int, y: int, radius: int, inside: bool = False) -> QRegion:
        """The pixels within ``radius`` of pixel ``(x, y)`` (and a few more), or with
        ``inside`` only pixels within it (but not all)."""
        key = (radius, inside)
        disc = self._cache.get(key)
        if disc is None:
            if len(self._cache) > 1024:
                self._cache.clear()
            disc = self._cache[key] = self._staircase(radius, inside)
        return disc.translated(x, y)

    def ring(self, x: int, y: int, inner: int, outer: int) -> QRegion:
        """The pixels between ``inner`` and ``outer`` pixels around ``(x, y)`` (and a few more)."""
        region = self.at(x, y, outer)
        return region.subtracted(self.at(x, y, inner, inside=True)) if inner > 0 else region

    def _staircase(self, radius: int, inside: bool) -> QRegion:
        region = QRegion()
        height = max(1, math.ceil((2 * radius + 1) / self.bands))
        for top in range(-radius, radius + 1, height):
            bottom = min(radius + 1, top + height)  # rows top .. bottom - 1
            rows = (top, bottom - 1)
            near = 0 if top <= 0 < bottom else min(abs(r) for r in rows)
            far = max(abs(r) for r in rows)
            dy = far if inside else near
            if dy > radius:
                continue
            w = math.floor(math.sqrt(radius * radius - dy * dy)) + (0 if inside else 1)
            region = region.united(QRect(-w, top, 2 * w + 1, bottom - top))
        return region
