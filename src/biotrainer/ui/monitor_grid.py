"""How the clinic monitor lays its tiles out: how many columns, and at which text scale.

Qt-free arithmetic (the tile sizes are asked of callables) so it can be tested on its own. The
largest scale at which every tile fits the window without scrolling wins (a row is as high as
its highest tile: a long banner costs its own row only); among the column counts that fit at
that scale, the one whose tiles have the most room to spare both ways (the most even look).
When nothing fits even at the smallest scale (the smallest legible text), the tiles keep that
scale and as many columns as the width holds, and the view scrolls.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: Text scales tried, largest first: 1.0 is the tile's reference look; the smallest is where
#: every font has reached its legible floor (see :class:`biotrainer.ui.monitor_tile.TileType`).
SCALES: tuple[float, ...] = tuple(round(1.5 - 0.05 * i, 2) for i in range(19))


@dataclass(frozen=True)
class GridChoice:
    """A tile grid.

    Attributes
    ----------
    cols : int
        Number of columns (at least 1).
    scale : float
        Text scale of every tile.
    fits : bool
        Whether every tile fits without scrolling.
    """

    cols: int
    scale: float
    fits: bool


def cell_size(total: int, count: int, spacing: int) -> int:
    """The size of each of ``count`` equal cells sharing ``total`` pixels with ``spacing``
    between neighbours."""
    return (total - spacing * (count - 1)) // count


def choose_grid(
    n: int,
    width: int,
    height: int,
    spacing: int,
    tile_width: Callable[[float], int],
    tile_height: Callable[[float, int, int], int],
    scales: Sequence[float] = SCALES,
) -> GridChoice:
    """Choose columns and scale for ``n`` tiles in a ``width`` × ``height`` area.

    Parameters
    ----------
    n : int
        Number of tiles (at least 1).
    width, height : int
        Room for the grid, in pixels (margins already taken off).
    spacing : int
        Pixels between neighbouring tiles.
    tile_width : callable
        ``tile_width(scale)``: the narrowest a tile may be at that scale.
    tile_height : callable
        ``tile_height(scale, width, i)``: the height tile ``i`` (0 to ``n - 1``, placed row by
        row) needs at that scale and width; a row is as high as its highest tile.
    scales : sequence of float
        Candidate scales, largest first.

    Returns
    -------
    GridChoice
        The grid to use.
    """
    n = max(1, n)
    for scale in scales:
        min_w = tile_width(scale)
        best: tuple[float, int] | None = None
        for cols in range(1, n + 1):
            w = cell_size(width, cols, spacing)
            if w < min_w:
                break  # more columns are only narrower
            rows = math.ceil(n / cols)
            if cols > 1 and math.ceil(n / (cols - 1)) == rows:
                continue  # same rows as one column fewer, only narrower
            need = sum(
                max(tile_height(scale, w, i) for i in range(r * cols, min(n, (r + 1) * cols)))
                for r in range(rows)
            )
            if height - spacing * (rows - 1) >= need:
                room = min(w / min_w, (height - spacing * (rows - 1)) / max(need, 1))
                if best is None or room > best[0]:
                    best = (room, cols)
        if best is not None:
            return GridChoice(best[1], scale, True)
    scale = scales[-1]
    min_w = tile_width(scale)
    cols = 1
    while cols < n and cell_size(width, cols + 1, spacing) >= min_w:
        cols += 1
    return GridChoice(cols, scale, False)
