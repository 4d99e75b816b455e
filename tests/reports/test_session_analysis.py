"""session.analysis agrees with the engine's own end-of-run summary, and tolerates damage."""

from __future__ import annotations

import math

import pytest

from biotrainer.acquisition.factory import open_accelerated
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.engine.summary import summarize
from biotrainer.errors import RecordingError
from biotrainer.session.analysis import SessionSummary, read_metrics, summarize_folder
from biotrainer.session.recorder import Recorder

PROTOCOL = """
name = "{name}"
title = "Analysis test"
feedback = "alpha"
target_reward_rate = 0.6

[[phases]]
name = "Rest first"
kind = "baseline"
duration_s = 20
eyes = "open"
instruction = "Rest."

[[phases]]
name = "Train"
kind = "training"
duration_s = 15
eyes = "open"
instruction = "Train."
repeat = 2
"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("analysis")
    path = tmp / "analysis-test.toml"
    path.write_text(PROTOCOL.format(name="analysis-test"))
    clock = SimulatedClock()
    source = open_accelerated("simulator-muse2", clock, 1.0, scenario="stressed-to-relaxed")
    source.prepare()
    recorder = Recorder.create(source.layout, out=tmp / "session", clock=clock)
    engine = Engine(source, load_protocol(path), clock=clock, recorder=recorder)
    updates = []
    engine.start()
    while not engine.finished:
        clock.advance(0.05)
        updates.extend(engine.tick())
    engine.close()
    return recorder.path, updates


def _close(a: float, b: float, tol: float = 1e-4) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol


def test_per_phase_summary_matches_the_engine_summary(recorded):
    folder, updates = recorded
    ours = summarize_folder(folder)
    theirs = summarize(updates)
    assert [(p.index, p.name, p.kind) for p in ours.phases] == [
        (r.index, r.name, r.kind) for r in theirs
    ]
    assert len(ours.phases) == 3  # baseline + training repeated twice
    for p, r in zip(ours.phases, theirs, strict=True):
        m = p.means
        assert _close(m.score, r.score)
        assert _close(m.hr_bpm, r.hr_bpm, 1e-3)
        assert _close(m.rmssd_ms, r.rmssd_ms, 1e-3)
        assert _close(m.relaxation, r.relaxation)
        assert _close(m.time_in_target, r.reward_fraction)
        assert _close(m.clean_fraction, r.clean_fraction)
        assert _close(m.duration_s, r.duration_s, 1e-3)
    # training pools both training phases, weighted by their updates
    train = [p for p in ours.phases if p.kind == "training"]
    assert ours.training.duration_s == pytest.approx(sum(p.means.duration_s for p in train))
    assert min(p.means.score for p in train) <= ours.training.score
    assert ours.training.score <= max(p.means.score for p in train)
    assert 0 <= ours.training.time_in_target <= 1
    assert ours.baseline.time_in_target != ours.baseline.time_in_target  # NaN outside training
    assert ours.overall.time_in_target == ours.training.time_in_target


def test_summary_round_trips_through_json(recorded):
    import json

    s = summarize_folder(recorded[0])
    again = SessionSummary.from_dict(json.loads(json.dumps(s.to_dict(), allow_nan=False)))
    assert again.training == s.training and again.phases == s.phases
    assert again.quality.clean_fraction == s.quality.clean_fraction


def test_damaged_metrics_are_read_with_a_warning(recorded, tmp_path):
    src = recorded[0] / "metrics.csv"
    damaged = tmp_path / "d"
    damaged.mkdir()
    text = src.read_text()
    (damaged / "metrics.csv").write_text(text + "12.3,1700000000,0.1")  # killed mid-line
    series = read_metrics(damaged)
    assert len(series) == text.count("\n") - 1
    assert "1 damaged row" in series.warnings[0]
    with pytest.raises(RecordingError, match="missing"):
        read_metrics(tmp_path)
    (tmp_path / "metrics.csv").write_text("a,b\n1,2\n")
    with pytest.raises(RecordingError, match="not a biotrainer metrics file"):
        read_metrics(tmp_path)
