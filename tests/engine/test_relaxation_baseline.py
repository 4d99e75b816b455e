"""The EEG relaxation index is learnt and scored on its log-odds.

The index is a logistic of a log power ratio (alpha over theta + beta and over the 1/f
background), so near its top the same change of the ratio moves it less and less: its slope
there is p (1 - p), 12 times smaller at 0.92 (a strong-alpha subject at rest, eegmat Subject00:
median 0.915) than at 0.5. Scored on the index itself, a relaxed person's z-scores stopped
moving: in the second training block of a simulated stressed-to-relaxed session on
eyes-closed-relaxation the index sat at 0.93-1.00, z +4.3 to +5.1 and the orb still (score SD
0.05; ``benchmarks/bench_feedback.py --only orb``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_feedback_score import _run

from biotrainer.engine.feedback import (
    LOGIT_SCALE_FLOOR,
    RELAXATION_MIN_LOGIT_SD,
    Baseline,
    metric_baseline,
)


def logistic(r: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(r) / 0.5))  # the index's (dsp.eeg)


def test_a_relaxed_persons_ups_and_downs_still_move_the_z_scores():
    """Baseline at index 0.5 (the log power ratio wobbling by 0.3), then relaxed: the ratio
    2.4 higher (index 0.99), wobbling as much. On the log-odds the z-scores keep the baseline's
    spread; on the index itself they all but stopped (as in the simulated session)."""
    rng = np.random.default_rng(1)
    base, plain = metric_baseline("relaxation"), Baseline()
    for v in logistic(0.3 * rng.standard_normal(900)):
        base.add(float(v))
        plain.add(float(v))
    relaxed = logistic(2.4 + 0.3 * rng.standard_normal(2400))
    z_log_odds = np.array([base.z(float(v)) for v in relaxed])
    z_plain = np.array([plain.z(float(v)) for v in relaxed])
    assert 0.8 < np.std(z_log_odds) < 1.2
    assert np.std(z_plain) < 0.15  # what the index itself gave: a still orb
    assert np.mean(z_log_odds) > np.mean(z_plain)


def test_the_log_odds_stay_finite_at_the_ends_and_a_still_baseline_has_a_floor():
    base = metric_baseline("relaxation")
    for v in (0.50, 0.5001, 0.4999, 0.50, 0.5002):
        base.add(v)
    assert base.sd == RELAXATION_MIN_LOGIT_SD
    top = math.log((1 - LOGIT_SCALE_FLOOR) / LOGIT_SCALE_FLOOR)
    assert base.z(1.0) == pytest.approx((top - base.mean) / RELAXATION_MIN_LOGIT_SD)
    assert math.isfinite(base.z(0.0)) and base.z(0.0) < 0
    with pytest.raises(ValueError, match="one scale"):
        Baseline(log_scale=True, logit_scale=True)


def test_the_orb_answers_when_the_index_nears_its_top():
    ups = _run("stressed-to-relaxed", "simulator", "eyes-closed-relaxation")
    blocks = sorted({u.phase_index for u in ups if u.phase_kind == "training"})
    assert len(blocks) == 2
    late = [u for u in ups if u.phase_index == blocks[1]]
    index = np.array([u.relaxation for u in late])
    assert np.nanmedian(index) > 0.95  # the simulated person is relaxed: the index near 1
    s = np.array([u.feedback_score for u in late])
    s = s[np.isfinite(s)]
    assert s.size > 2000
    assert np.std(s) > 0.15, np.std(s)
    lo, hi = np.percentile(s, [5, 95])
    assert hi - lo > 0.45, (lo, hi)
