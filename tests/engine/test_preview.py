"""The live feedback preview: alpha at the newest sample, between the 0.1 s grid updates."""

from __future__ import annotations

import math

import numpy as np
from test_engine import make

from biotrainer.dsp.alpha_stream import AlphaStream


def test_preview_is_the_alpha_at_the_newest_sample_scored_like_the_updates():
    engine, clock, r = make("stressed-to-relaxed", "simulator-muse2", "alpha-uptraining", True)
    eeg = r.layout.group("eeg")
    fs = r.layout.preset(eeg.preset).fs
    x = r.data[eeg.preset][list(eeg.rows)]
    relative = AlphaStream(fs, len(eeg.rows)).push_relative(x)
    sites = np.array([n in r.layout.alpha_channels for n in eeg.names])
    assert sites.tolist() == [True, False, False, True]  # the Muse's TP9 and TP10
    seen = 0
    masked = 0
    received = 0
    checked = []
    while clock.now() < 150 and not engine.finished:
        clock.advance(0.033)  # ticks that do not line up with the 0.1 s grid
        engine.tick()
        received = engine.eeg.alpha_stream._count
        p = engine.preview
        if p is None:
            continue
        seen += 1
        # newer than the latest update, and the value of the newest sample received: the
        # median over the profile's alpha sites (TP9, TP10) the latest quality verdict finds
        # usable, else over every usable channel
        assert p.sample_time > engine.latest.sample_time
        newest = relative[:, received - 1 : received]
        usable = engine.eeg.quality.usable if engine.eeg.quality is not None else None
        mask = sites
        if usable is not None:
            mask = usable & sites if (usable & sites).any() else usable
            masked += bool(not usable.all())  # (a channel flagged)
        if mask.any() and not mask.all():
            newest = np.where(mask[:, None], newest, np.nan)
        assert p.feedback_value == AlphaStream.median_over_channels(newest)[0]
        base = engine.baseline("alpha", engine.phase[1].eyes)
        if math.isfinite(p.feedback_z) and base is not None and base.ready:
            if engine.latest.quality_ok:
                assert p.feedback_z == base.z(p.feedback_value)
            else:
                assert p.feedback_z <= base.z(p.feedback_value)
            checked.append(p.feedback_score)
    assert seen > 1000 and masked > 0  # (the scenario's artefacts flag channels at times)
    assert len(checked) > 100  # scored once the baseline was learned
    assert all(0.0 < s < 1.0 for s in checked)


def test_preview_never_outlives_a_lost_signal():
    engine, clock, _ = make("stressed-to-relaxed", "simulator-muse2", "alpha-uptraining", True)
    engine.source.silent_after = 130.0
    scores = []
    while clock.now() < 136:
        clock.advance(0.033)
        engine.tick()
        if engine.preview is not None:
            scores.append((clock.now(), engine.preview.feedback_score))
    assert any(t < 130 and np.isfinite(s) for t, s in scores)
    # no sample after 130 s: no preview newer than the last update, so nothing to show
    assert all(t < 130.2 for t, _ in scores)
    assert engine.latest.source_state == "signal lost"


def test_no_preview_for_slow_feedback_kinds():
    engine, clock, _ = make("resonance-breathing", "simulator", "hrv-resonance-breathing", True)
    for _ in range(50):
        clock.advance(0.033)
        engine.tick()
    assert engine.latest is not None and engine.preview is None
