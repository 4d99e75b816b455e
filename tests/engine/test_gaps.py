"""Holes in a heart or breathing signal: timestamp steps joined with a packet counter's losses."""

from __future__ import annotations

import numpy as np

from biotrainer.engine.gaps import join_counted_holes, split_counted_losses, with_missing

FS = 64.0


def test_short_losses_are_filled_and_long_ones_are_holes_beside_the_timestamps() -> None:
    lost = np.zeros(100, dtype=np.int64)
    lost[[10, 40, 70]] = [6, 64, 12]  # a packet, a second (over 0.5 s), two packets
    at, steps = np.array([70]), np.array([2.0])  # the timestamps show a 2-s step at 70
    fill_at, fill_n, at, steps = split_counted_losses(at, steps, lost, FS, 0.5)
    assert fill_at.tolist() == [10] and fill_n.tolist() == [6]
    assert at.tolist() == [40, 70]
    assert steps.tolist() == [65 / FS, 2.0]  # (the timestamps' step where they show one)


def test_missing_samples_move_the_offsets_after_them() -> None:
    y = np.arange(10.0)
    filled, (ends, holes) = with_missing(
        y, np.array([3, 7]), np.array([2, 1]), [np.array([3, 5, 10]), np.array([8])]
    )
    assert np.isnan(filled).sum() == 3 and filled.size == 13
    assert filled[[0, 1, 2, 5, 6, 7, 8, 10, 11, 12]].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert ends.tolist() == [5, 7, 13]  # (a piece ending at the fill's sample takes the fill)
    assert holes.tolist() == [11]  # sample 8, now at 11


def test_nothing_counted_leaves_the_timestamp_holes() -> None:
    at, steps = np.array([5]), np.array([1.0])
    assert join_counted_holes(at, steps, None, FS) == (at, steps)
    got = split_counted_losses(at, steps, np.zeros(9, dtype=np.int64), FS, 0.5)
    assert [x.tolist() for x in got] == [[], [], [5], [1.0]]
