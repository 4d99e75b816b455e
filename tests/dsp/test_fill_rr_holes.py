"""fill_rr_holes: the interval that spans a hole in the data becomes the beats the hole took,
on the true time axis."""

from __future__ import annotations

import numpy as np
import pytest

from biotrainer.dsp import hrv
from biotrainer.dsp.rr import fill_rr_holes


def test_a_spanning_interval_becomes_beats_that_add_up_to_its_true_length() -> None:
    rr = np.array([800.0, 820.0, 400.0, 900.0, 910.0])
    filled = fill_rr_holes(rr, [2], [4250.0])  # 400 ms counted, 3850 ms of hole
    # 5 beats of the neighbours' mean (850 ms) fill 4250 ms
    assert filled.size == rr.size - 1 + 5
    np.testing.assert_array_equal(filled[:2], rr[:2])
    np.testing.assert_array_equal(filled[-2:], rr[-2:])
    made_up = filled[2:7]
    assert made_up.sum() == pytest.approx(4250.0)
    assert np.all(np.diff(made_up) > 0)  # from the interval before towards the one after
    assert 820.0 < made_up[0] < made_up[-1] < 900.0


def test_neighbours_that_span_holes_too_and_series_ends_do_not_shape_the_fill() -> None:
    rr = np.array([300.0, 1000.0, 200.0])
    filled = fill_rr_holes(rr, [0, 2], [2000.0, 3100.0])
    # each takes the one plain neighbour: 2 x 1000 and 3 x 1033.3
    np.testing.assert_allclose(filled, [1000.0, 1000.0, 1000.0, *[3100.0 / 3] * 3])
    # a lone interval has nothing to shape it by: it stays one interval of the true length
    np.testing.assert_array_equal(fill_rr_holes(np.array([500.0]), [0], [1500.0]), [1500.0])


def test_no_holes_leave_the_series_as_it_is() -> None:
    rr = np.array([800.0, 810.0, 790.0])
    np.testing.assert_array_equal(fill_rr_holes(rr, [], []), rr)


def test_a_bridged_breathing_rhythm_keeps_its_rate_and_coherence() -> None:
    """RR locked to breathing at 6/min: 3 s cut out of its middle. Joined, the rhythm jumps by
    the hole and coherence falls; bridged, both stay close to the whole series'."""
    t = np.cumsum(np.full(80, 850.0)) / 1000.0
    rr = 850.0 + 60.0 * np.sin(2 * np.pi * 0.1 * t)
    beats = np.concatenate(([0.0], np.cumsum(rr))) / 1000.0
    cut = (beats > 30.0) & (beats < 33.0)
    kept = beats[~cut]
    joined = np.diff(kept) * 1000.0
    span = int(np.flatnonzero(np.diff(kept) > 2.0)[0])
    hole_ms = joined[span] - 850.0  # a joined interval would have been about one beat long
    joined[span] = 850.0
    bridged = fill_rr_holes(joined, [span], [joined[span] + hole_ms])
    whole = hrv.coherence(rr)
    assert hrv.coherence(bridged) > 0.8 * whole
    assert hrv.coherence(joined) < 0.6 * whole
    assert hrv.breathing_rate(bridged) == pytest.approx(hrv.breathing_rate(rr), abs=0.2)


def test_an_interval_named_twice_is_refused() -> None:
    """Two holes in one interval are one span of their summed length: named twice, one hole's
    time was silently dropped."""
    with pytest.raises(ValueError, match="distinct"):
        fill_rr_holes(np.array([800.0, 900.0, 800.0]), [1, 1], [3000.0, 3000.0])
