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


def _relaxations(proc: EegProcessor, x: np.ndarray, step: int) -> list[float]:
    out = []
    for i in range(0, x.shape[1], step):
        proc.push(x[:, i : i + step])
        out.append(proc.relaxation)
    return out


def test_the_profile_alpha_sites_are_the_feedback_while_usable_then_every_usable_channel():
    """A Muse profile names TP9/TP10 for alpha; the frontal AF7/AF8 (blinks, eye movement) were
    in the feedback all the same: the profile's alpha sites were shown and never applied."""
    x = _eeg(4, 30.0)
    x[1:3] *= 0.3  # frontal channels: weaker alpha, as on a real head
    x[0, int(20 * FS) :] = 0.0  # TP9 and TP10 come off after 20 s
    x[3, int(20 * FS) :] = 0.0
    step = int(0.1 * FS)
    names = ("TP9", "AF7", "AF8", "TP10")
    muse = EegProcessor(FS, names, alpha_channels=("TP9", "TP10"))
    alphas, relax = [], []
    for i in range(0, x.shape[1], step):
        muse.push(x[:, i : i + step])
        alphas.append(muse.alpha)
        relax.append(muse.relaxation)
    temporal = EegProcessor(FS, ("TP9", "TP10"))
    frontal = EegProcessor(FS, ("AF7", "AF8"))
    early = slice(0, int(19 / 0.1))
    np.testing.assert_array_equal(alphas[early], _alphas(temporal, x[[0, 3]], step)[early])
    np.testing.assert_array_equal(
        relax[early], _relaxations(EegProcessor(FS, ("TP9", "TP10")), x[[0, 3]], step)[early]
    )
    late = slice(int(22 / 0.1), None)  # both off: the usable frontal pair keeps the feedback
    assert muse.channel_ok == (False, True, True, False)
    np.testing.assert_array_equal(alphas[late], _alphas(frontal, x[1:3], step)[late])
    assert all(math.isfinite(v) for v in alphas[late] + relax[late])


def test_alpha_sites_missing_from_the_device_change_nothing():
    x = _eeg(4, 8.0)
    step = int(0.1 * FS)
    plain = _alphas(EegProcessor(FS, ("a", "b", "c", "d")), x, step)
    named = _alphas(EegProcessor(FS, ("a", "b", "c", "d"), alpha_channels=("O1", "O2")), x, step)
    np.testing.assert_array_equal(plain, named)


def test_the_profile_alpha_sites_reach_the_engine_and_stay_with_the_recording(tmp_path):
    """A recording keeps its device's alpha sites in session.json, so a replay feeds back as
    the live session did (one recorded before biotrainer kept them: every channel)."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from biotrainer.acquisition.factory import open_accelerated
    from biotrainer.acquisition.profiles import load_profile
    from biotrainer.clock import SimulatedClock
    from biotrainer.engine.engine import Engine
    from biotrainer.engine.protocol import load_protocol
    from biotrainer.session.folder import SessionMeta, read_meta, write_meta

    layout = load_profile("simulator-muse2").layout()
    assert layout.alpha_channels == ("TP9", "TP10")
    meta = SessionMeta(
        layout=layout,
        device=layout.device,
        start_utc=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        start_timestamp=12.5,
        samples={p.preset: 0 for p in layout.presets},
    )
    for name in ("new", "old"):
        (tmp_path / name).mkdir()
    write_meta(tmp_path / "new", meta)
    assert read_meta(tmp_path / "new").layout.alpha_channels == ("TP9", "TP10")
    write_meta(tmp_path / "old", replace(meta, layout=replace(layout, alpha_channels=())))
    assert read_meta(tmp_path / "old").layout.alpha_channels == ()

    clock = SimulatedClock()
    source = open_accelerated("simulator-muse2", clock, 20.0)
    engine = Engine(source, load_protocol("alpha-uptraining"), clock=clock)
    try:
        engine.start()
        assert engine.eeg.channel_names == ("TP9", "AF7", "AF8", "TP10")
        np.testing.assert_array_equal(engine.eeg._preferred, [True, False, False, True])
    finally:
        engine.close()
