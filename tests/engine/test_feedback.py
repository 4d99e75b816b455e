import math

import numpy as np
import pytest

from biotrainer.engine.feedback import MIN_SCORE_SCALE, AutoThreshold, Baseline, score_from_z


def test_baseline_matches_numpy_and_ignores_nan():
    rng = np.random.default_rng(1)
    values = rng.normal(10, 2, size=500)
    b = Baseline()
    for v in values:
        b.add(float(v))
    b.add(math.nan)
    assert b.n == 500
    assert b.mean == pytest.approx(values.mean())
    assert b.sd == pytest.approx(values.std(ddof=1))
    assert b.z(values.mean() + values.std(ddof=1)) == pytest.approx(1.0)


def test_baseline_not_ready_gives_nan_and_steady_baseline_is_floored():
    b = Baseline()
    assert math.isnan(b.z(1.0))
    for v in (5.0, 5.0001, 4.9999, 5.0, 5.0002):
        b.add(v)
    assert b.ready
    assert b.sd == pytest.approx(0.02 * b.mean)  # floored: a steady baseline still gives finite z
    assert b.z(6.0) == pytest.approx(10.0, rel=1e-3)


def test_a_held_value_counts_once_for_the_spread():
    """A slow metric (coherence every 5 s) comes as runs of one held value, 10 a second: a
    60 s baseline of two values must not give z-scores against their tiny spread."""
    b = Baseline()
    for v in (0.30, 0.31):
        for _ in range(50):
            b.add(v)
    assert b.n == 100 and b.distinct == 2
    assert not b.ready and math.isnan(b.z(2.0))
    for v in (0.45, 0.22, 0.5):
        for _ in range(50):
            b.add(v)
    assert b.ready and b.distinct == 5
    assert b.mean == pytest.approx(np.mean([0.30, 0.31, 0.45, 0.22, 0.5]))  # runs weigh alike
    assert abs(b.z(2.0)) < 20


@pytest.mark.parametrize("target", [0.3, 0.65, 0.9])
def test_auto_threshold_holds_reward_rate_near_target(target):
    rng = np.random.default_rng(7)
    th = AutoThreshold(target_rate=target)
    rewards = []
    # 10 min at 10 Hz of a drifting metric (the person relaxes: mean z rises from 0 to 2)
    for i in range(6000):
        t = i / 10
        z = 2.0 * i / 6000 + rng.normal()
        rewards.append(th.update(t, z))
    late = np.mean(rewards[1000:])
    assert abs(late - target) < 0.07


def test_manual_threshold_stays_put():
    th = AutoThreshold()
    th.set_manual(1.0)
    for i in range(200):
        th.update(i / 10, 3.0)
    assert th.threshold_z == 1.0
    assert th.reward_rate == 1.0
    th.set_auto(0.5)
    assert th.auto


def test_score_is_half_at_threshold_and_monotonic():
    assert score_from_z(0.7, 0.7) == pytest.approx(0.5)
    assert score_from_z(2.0, 0.0) > score_from_z(1.0, 0.0) > score_from_z(-1.0, 0.0)
    assert math.isnan(score_from_z(math.nan, 0.0))


def test_invalid_target_rejected():
    with pytest.raises(ValueError, match="between 0 and 1"):
        AutoThreshold(target_rate=1.5)


def test_score_is_above_half_exactly_above_the_centre():
    # differences too small for the logistic to resolve still land on the right side of 0.5
    assert score_from_z(1e-300, 0.0) > 0.5
    assert score_from_z(math.nextafter(2.0, 3.0), 2.0) > 0.5
    assert score_from_z(2.0, 2.0) == 0.5
    assert score_from_z(-1e-300, 0.0) <= 0.5
    # far below the centre: 0, not an overflow
    assert score_from_z(-2000.0, 0.0) == 0.0
    assert score_from_z(2000.0, 0.0) == 1.0
    # a wider scale flattens the logistic around the same centre
    assert score_from_z(3.0, 1.0, scale=2.0) == pytest.approx(score_from_z(2.0, 1.0))


def test_follow_moves_the_threshold_without_counting_rewards():
    th = AutoThreshold()
    for i in range(300):
        th.follow(i / 10, 6.0 + math.sin(i / 7))
    assert 5.0 < th.threshold_z < 7.0  # followed the z-scores up from 0
    assert math.isnan(th.reward_rate)  # no reward was judged
    th.update(30.0, 100.0)
    assert th.reward_rate == 1.0


def test_score_scale_follows_the_recent_spread_of_the_z_scores_within_a_limit():
    rng = np.random.default_rng(3)
    sensible, degenerate, still = AutoThreshold(), AutoThreshold(), AutoThreshold()
    assert sensible.score_scale == 1.0  # (no z-scores yet)
    for i in range(300):
        e = rng.normal()
        sensible.update(i / 10, 1.0 + e)
        degenerate.update(i / 10, 200.0 + 40.0 * e)
        still.update(i / 10, 4.0 + 0.05 * e)  # (coherence between its 5-s values)
    assert sensible.spread_z == pytest.approx(1.0, rel=0.25)
    assert sensible.score_scale == pytest.approx(sensible.spread_z / 2.0)
    assert degenerate.spread_z == pytest.approx(40.0, rel=0.25)
    assert degenerate.score_scale == pytest.approx(degenerate.spread_z / 2.0)
    assert still.score_scale == MIN_SCORE_SCALE
