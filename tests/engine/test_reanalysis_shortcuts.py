"""Shortcuts of the offline re-analysis (issue 8) give exactly the plain computation's values:
the detrend of every Welch segment and quality window, the "still" fraction of the quality
check, and the auto-threshold's score scale (computed once per change of its history)."""

from __future__ import annotations

import math

import numpy as np

from biotrainer.dsp import eeg
from biotrainer.dsp.quality import signal_quality, signal_quality_windows
from biotrainer.engine import feedback
from biotrainer.engine.feedback import MIN_SCORE_SCALE, SCORE_SPREAD_SD, AutoThreshold


def _plain_detrend(x: np.ndarray) -> np.ndarray:
    """The detrend as it was written before (fresh arrays for every step)."""
    n = x.shape[-1]
    t = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    slope = (x * t).sum(axis=-1, keepdims=True) / float(t @ t)
    out = x - x.mean(axis=-1, keepdims=True)
    out -= slope * t
    return out


def test_detrend_equals_the_plain_arithmetic_for_any_layout() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 40.0, (8, 3000)) + np.linspace(-300.0, 500.0, 3000)
    views = [
        x,
        x[:, :250],
        x.T.copy().T,  # Fortran order
        np.lib.stride_tricks.sliding_window_view(x, 250, axis=-1)[:, ::125, :],
        x[:, None, :500],
    ]
    for v in views:
        got, want = eeg.linear_detrend(v), _plain_detrend(v)
        assert got.tobytes() == want.tobytes() and got.strides == want.strides


def test_still_fraction_decides_flat_as_the_mean_of_zero_steps() -> None:
    fs = 250.0
    rng = np.random.default_rng(2)
    windows = rng.normal(0.0, 30.0, (6, 4, 250))
    for i, repeats in enumerate((0, 200, 223, 224, 225, 249)):
        # the first `repeats` steps of channel 0 do not change
        windows[i, 0, 1 : repeats + 1] = windows[i, 0, 0]
    verdicts = signal_quality_windows(windows, fs)
    assert [bool(q.flat[0]) for q in verdicts] == [False, False, False, False, True, True]
    for w, q in zip(windows, verdicts, strict=True):
        still = np.mean(np.diff(w, axis=1) == 0, axis=1)
        std = np.std(w, axis=1)
        assert q.flat.tolist() == ((std <= 0.5) | (still >= 0.9)).tolist()
        one = signal_quality(w, fs)
        for name in (
            "nonfinite",
            "flat",
            "railed",
            "line_noise",
            "line_noise_hz",
            "line_noise_db",
            "emg",
            "emg_rms_uv",
            "blink",
            "blink_ptp_uv",
            "usable",
        ):
            np.testing.assert_array_equal(getattr(one, name), getattr(q, name))
        assert one.reasons == q.reasons and one.blocked == q.blocked


def test_score_scale_is_found_once_per_change_of_the_history(monkeypatch) -> None:
    calls = []
    real = feedback.linear_quantile

    def counting(ordered, q):
        calls.append(q)
        return real(ordered, q)

    monkeypatch.setattr(feedback, "linear_quantile", counting)
    rng = np.random.default_rng(9)
    th = AutoThreshold()
    t = 0.0
    for step in range(400):
        t += 0.1
        z = float(rng.normal(0.0, 30.0 if step > 200 else 1.0))
        if step % 7 == 0:
            th.follow(t, z)
        elif step % 5 == 0:
            pass  # an update that takes no z (no reward judged): the history stays
        else:
            th.update(t, z)
        if step == 300:
            th.reset()
        before = len(calls)
        fresh = max(MIN_SCORE_SCALE, th.spread_z / SCORE_SPREAD_SD) if len(th._sorted) >= 5 else 1.0
        assert th.score_scale == fresh and not math.isnan(fresh)
        spread_calls = len(calls) - before
        for _ in range(3):
            assert th.score_scale == fresh
        # asked again without a change: not computed again
        assert len(calls) - before in (spread_calls, 2 * spread_calls)
        assert len(calls) - before <= 4


def test_alpha_channels_are_found_once_per_quality_verdict(monkeypatch) -> None:
    from biotrainer.engine import processors

    calls = []
    real = processors._alpha_channels

    def counting(quality, preferred=None):
        calls.append(quality)
        return real(quality, preferred)

    fs, names = 250.0, ("AF7", "AF8", "TP9", "TP10")
    rng = np.random.default_rng(4)
    x = rng.normal(0.0, 20.0, (4, 2500))
    x[0, 1200:1500] += 400.0 * np.hanning(300)  # a blink on one channel: verdicts differ
    whole = processors.EegProcessor(fs, names, alpha_channels=("TP9", "TP10"))
    pieces = processors.EegProcessor(fs, names, alpha_channels=("TP9", "TP10"))
    monkeypatch.setattr(processors, "_alpha_channels", counting)
    ends = list(range(25, 2501, 25))  # 0.1-s pieces of 10 s
    alphas = []
    for _ in whole.push_many(x, ends):
        alphas.append(whole.alpha)
    verdicts = {id(q) for q in calls}
    assert len(calls) == len(verdicts) <= 2500 // 62 + 2  # once per verdict (4 a second)
    monkeypatch.setattr(processors, "_alpha_channels", real)
    one_by_one = []
    start = 0
    for end in ends:
        pieces.push(x[:, start:end])
        start = end
        one_by_one.append(pieces.alpha)
    np.testing.assert_array_equal(alphas, one_by_one)
