"""The EEG processor's alpha feedback leaves out the channels its quality verdict finds
unusable, as the relaxation index does."""

from __future__ import annotations

import math

import numpy as np
import pytest

from biotrainer.engine.processors import EegProcessor

FS = 256.0


def _eeg(n_channels: int, seconds: float, seed: int = 0) -> np.ndarray:
    """Resting EEG-like channels: 1/f-ish background plus a waxing 10 Hz alpha rhythm (uV)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    t = np.arange(n) / FS
    white = rng.normal(0.0, 1.0, (n_channels, n))
    walk = np.cumsum(rng.normal(0.0, 1.0, (n_channels, n)), axis=1)
    walk -= np.linspace(walk[:, :1], walk[:, -1:], n, axis=1)[..., 0]
    alpha = (6 + 4 * np.sin(2 * np.pi * t / 8.0)) * np.sin(2 * np.pi * 10.0 * t)
    return 0.3 * walk + 5 * white + alpha * rng.uniform(0.7, 1.3, (n_channels, 1))


def _alphas(proc: EegProcessor, x: np.ndarray, step: int) -> list[float]:
    out = []
    for i in range(0, x.shape[1], step):
        proc.push(x[:, i : i + step])
        out.append(proc.alpha)
    return out


@pytest.mark.parametrize("stuck_at", [0.0, 800.0, -187500.0])
def test_a_stuck_channel_leaves_the_alpha_feedback_once_it_is_flagged(stuck_at):
    good = _eeg(3, 30.0)
    x = np.vstack([good, np.full(good.shape[1], stuck_at)])
    x[3, : int(10 * FS)] = _eeg(1, 10.0, seed=5)[0]  # the electrode comes off after 10 s
    four = EegProcessor(FS, ("TP9", "AF7", "AF8", "TP10"))
    three = EegProcessor(FS, ("TP9", "AF7", "AF8"))
    step = int(0.1 * FS)
    with_stuck = _alphas(four, x, step)
    without = _alphas(three, good, step)
    assert four.channel_ok == (True, True, True, False)
    assert four.quality.reasons[3] == "flat"
    # from a second after it came off (the quality window), the stuck channel is not counted:
    # the feedback is exactly that of the three good channels
    late = slice(int(12 / 0.1), None)
    np.testing.assert_array_equal(with_stuck[late], without[late])
    assert all(math.isfinite(v) for v in with_stuck[late])


def test_all_channels_count_while_all_are_usable():
    from biotrainer.dsp.alpha_stream import AlphaStream

    x = _eeg(4, 12.0)
    step = int(0.1 * FS)
    proc = EegProcessor(FS, ("a", "b", "c", "d"))
    alphas = _alphas(proc, x, step)
    assert proc.channel_ok == (True,) * 4
    relative = AlphaStream(FS, 4).push_relative(x)
    ends = np.minimum(np.arange(step, x.shape[1] + step, step), x.shape[1]) - 1
    np.testing.assert_array_equal(alphas, AlphaStream.median_over_channels(relative[:, ends]))
