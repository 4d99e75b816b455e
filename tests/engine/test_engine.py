"""The engine on the physiological simulator, driven by a simulated clock (no Qt, no sleeping)."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
from memsource import MemorySource

from biotrainer.acquisition.factory import open_accelerated
from biotrainer.acquisition.profiles import load_profile
from biotrainer.acquisition.simulator.render import render_scenario
from biotrainer.acquisition.simulator.scenario import load_scenario
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.reports.session_events import resonance_from_events
from biotrainer.session import load_session
from biotrainer.session.recorder import Recorder


@cache
def rendered(scenario: str, profile: str, seed: int = 3):
    layout = load_profile(profile).layout()
    return render_scenario(load_scenario(scenario), layout, seed=seed)


def run(engine: Engine, clock: SimulatedClock, step_s: float, until_s: float | None = None):
    updates = []
    limit = until_s if until_s is not None else engine.protocol.duration_s + 5
    while clock.now() < limit and not engine.finished:
        clock.advance(step_s)
        updates.extend(engine.tick())
    return updates


def make(scenario: str, profile: str, protocol: str, memory: bool = False, **kw):
    """An engine on a simulator device in simulated time: through the production path
    (rendered files served by FileSource) or, with ``memory``, a fault-injecting fake."""
    r = rendered(scenario, profile)
    clock = SimulatedClock()
    if memory:
        source = MemorySource(r.layout, r.data, clock)
    else:
        source = open_accelerated(profile, clock, speed=1.0, scenario=scenario, seed=3)
    return Engine(source, load_protocol(protocol), clock=clock, **kw), clock, r


def test_alpha_training_follows_relaxation_and_holds_reward_rate():
    engine, clock, _ = make("stressed-to-relaxed", "simulator-muse2", "alpha-uptraining")
    ups = run(engine, clock, 0.25)
    names = [u.phase_name for u in ups]
    # phases advance in protocol order
    order = list(dict.fromkeys(names))
    assert order[:3] == ["Baseline, eyes open", "Baseline, eyes closed", "Training"]
    indices = [u.phase_index for u in ups]
    assert indices == sorted(indices)
    # the 13-min scenario outlasts the protocol (12 min): it runs to its end
    assert indices[-1] == len(engine.protocol.phases)
    assert ups[-1].finished and engine.ending == "finished"
    training = [u for u in ups if u.phase_kind == "training"]
    # progress against the baseline is the z-score (the score is centred on the threshold)
    first = [u.feedback_z for u in training if u.session_s < 220]
    last = [u.feedback_z for u in training if u.session_s > 400]
    assert np.nanmean(last) > np.nanmean(first) + 1.0
    # auto-threshold keeps the reward rate near the 65 % target in the later training
    rewarded = [u.rewarded for u in training if u.session_s > 250]
    assert abs(np.mean(rewarded) - 0.65) < 0.1


def test_updates_do_not_depend_on_how_the_data_was_chunked():
    a_engine, a_clock, _ = make("stressed-to-relaxed", "simulator-muse2", "alpha-uptraining")
    b_engine, b_clock, _ = make("stressed-to-relaxed", "simulator-muse2", "alpha-uptraining")
    a = run(a_engine, a_clock, 0.05, until_s=90)
    b = run(b_engine, b_clock, 0.7, until_s=90)
    n = min(len(a), len(b))
    assert n > 800
    fa = np.array([u.feedback_value for u in a[:n]])
    fb = np.array([u.feedback_value for u in b[:n]])
    np.testing.assert_array_equal(np.isnan(fa), np.isnan(fb))
    np.testing.assert_allclose(fa[~np.isnan(fa)], fb[~np.isnan(fb)], rtol=1e-9)
    assert [u.sample_time for u in a[:n]] == [u.sample_time for u in b[:n]]


def test_resonance_assessment_finds_the_simulated_rate(tmp_path):
    r = rendered("resonance-breathing", "simulator")
    clock = SimulatedClock()
    source = open_accelerated("simulator", clock, speed=1.0, scenario="resonance-breathing", seed=3)
    recorder = Recorder.create(source.layout, out=tmp_path / "s", clock=clock)
    protocol = load_protocol("resonance-assessment")
    engine = Engine(source, protocol, clock=clock, recorder=recorder)
    run(engine, clock, 0.5)
    engine.close()
    assert engine.resonance is not None
    assert engine.resonance.best_bpm == pytest.approx(r.truth.resonance_breaths_per_min)
    assert [x.bpm for x in engine.resonance.rates] == [6.5, 6.0, 5.5, 5.0, 4.5]
    # the event the session report reads the result back from carries every rate's figures,
    # the beats analysed at each rate included
    logged = resonance_from_events(load_session(tmp_path / "s").events)
    assert logged is not None and logged.best_bpm == engine.resonance.best_bpm
    for got, want in zip(logged.rates, engine.resonance.rates, strict=True):
        assert got.bpm == want.bpm and got.n_beats == want.n_beats > 100
        assert got.lf_power_ms2 == pytest.approx(want.lf_power_ms2, abs=0.5)
        assert got.hr_swing_bpm == pytest.approx(want.hr_swing_bpm, abs=0.05)


def test_pause_freezes_protocol_time_and_reward():
    engine, clock, _ = make("stressed-to-relaxed", "simulator-muse2", "alpha-uptraining")
    run(engine, clock, 0.1, until_s=20)
    t_before = engine.session_s
    engine.pause()
    ups = run(engine, clock, 0.1, until_s=30)
    assert engine.session_s == pytest.approx(t_before)
    assert all(u.paused and not u.rewarded for u in ups)
    engine.resume()
    run(engine, clock, 0.1, until_s=35)
    assert engine.session_s > t_before + 4


def test_signal_loss_is_reported_and_feedback_holds():
    engine, clock, _ = make(
        "stressed-to-relaxed", "simulator-muse2", "alpha-uptraining", memory=True
    )
    engine.source.silent_after = 30.0
    ups = run(engine, clock, 0.1, until_s=40)
    late = [u for u in ups if u.computed_at > 33]
    assert late, "heartbeat updates continue while no data flows"
    assert all(not u.quality_ok and u.quality_reason == "signal lost" for u in late)
    assert all(math.isnan(u.feedback_score) for u in late)


def test_rr_interval_source_feeds_the_cardiac_metrics(tmp_path):
    """A device that reports RR intervals (a chest strap over LSL) drives HR, RMSSD, coherence
    and breathing rate without any waveform."""
    from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout

    # 6 breaths/min RSA (0.1 Hz) around 60 bpm: breathing 6/min, high coherence
    t, rr, times = 1000.0, [], []
    while t < 1400.0:
        interval = 1000.0 + 80.0 * np.sin(2 * np.pi * 0.1 * t)
        t += interval / 1000.0
        rr.append(interval)
        times.append(t)
    data = {"default": np.vstack([rr, times])}
    layout = SourceLayout(
        device="lsl",
        board_id=-100,
        presets=(PresetLayout("default", 0.0, 2, 1),),
        groups=(ChannelGroup("rr", "default", (0,), ("rr",), "ms"),),
    )
    clock = SimulatedClock()
    engine = Engine(
        MemorySource(layout, data, clock), load_protocol("hrv-resonance-breathing"), clock=clock
    )
    ups = run(engine, clock, 0.5, until_s=390)
    last = ups[-1]
    ends = np.array(times)[np.array(times) <= last.sample_time]
    recent = np.array(rr)[: ends.size][ends > ends[-1] - 10.0]  # beats of the last 10 s
    assert last.hr_bpm == pytest.approx(60000.0 * recent.size / recent.sum(), abs=1.0)
    assert last.breathing_bpm == pytest.approx(6.0, abs=0.3)
    assert last.coherence > 1.0
    assert last.rmssd_ms > 20


def test_an_assessment_cut_short_chooses_no_rate(tmp_path):
    """A recording that ends during the third rate (about 7 of 12 minutes): the rate was
    chosen from the rates reached and stored for the patient over a good earlier one."""
    r = rendered("resonance-breathing", "simulator")
    clock = SimulatedClock()
    data = {}
    for p, a in r.data.items():
        ts = a[r.layout.preset(p).timestamp_row]
        data[p] = a[:, ts < ts[0] + 7 * 60]
    source = MemorySource(r.layout, data, clock)
    recorder = Recorder.create(source.layout, out=tmp_path / "s", clock=clock)
    engine = Engine(source, load_protocol("resonance-assessment"), clock=clock, recorder=recorder)
    run(engine, clock, 0.5)
    engine.close()
    assert engine.ending == "source ended"
    res = engine.resonance
    assert res is not None and not res.complete and math.isnan(res.best_bpm)
    assert [x.bpm for x in res.rates] == [6.5, 6.0, 5.5]  # (what was measured is kept)
    logged = resonance_from_events(load_session(tmp_path / "s").events)
    assert logged is not None and not logged.complete and math.isnan(logged.best_bpm)
    assert [x.bpm for x in logged.rates] == [6.5, 6.0, 5.5]
