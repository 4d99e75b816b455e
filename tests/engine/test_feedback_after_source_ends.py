"""The feedback of samples read far ahead of the updates (a playback at a speed the engine cannot
keep up with) is the feedback of the same samples polled in real time.

Before: the engine gave an update the source's state when it was made, not when its samples
came, so a file read to its end long before its updates were made (``run --speed 1000``) had
every later update say "ended" with no feedback z or score (none at all at ``--speed 100000``),
and samples read together with the start of a hole said "signal lost".
"""

from __future__ import annotations

import csv
import math
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from memsource import MemorySource
from metricskit import new_data_updates

from biotrainer.acquisition.profiles import load_profile
from biotrainer.acquisition.simulator.render import render_scenario
from biotrainer.acquisition.simulator.scenario import load_scenario
from biotrainer.cli import main
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.session import load_session
from biotrainer.session.analysis import read_metrics
from biotrainer.session.recorder import Recorder

#: A 20-s alpha protocol (tests/conftest.py's SHORT_PROTOCOL).
SHORT = """name = "short"
feedback = "alpha"
[[phases]]
kind = "baseline"
duration_s = 10
[[phases]]
kind = "training"
duration_s = 10
"""
#: Far beyond what the engine keeps up with: the first poll of a MemorySource reads the whole
#: recording.
FAR_AHEAD = 1e6
TICK_S = 0.05


@cache
def _rendered():
    layout = load_profile("simulator-muse2").layout()
    return render_scenario(load_scenario("eyes-open-closed"), layout, seed=3)


def _data(seconds: float) -> dict[str, np.ndarray]:
    """The first ``seconds`` of the rendered scenario, every preset."""
    r = _rendered()
    end = _data_start() + seconds
    return {p: a[:, a[r.layout.preset(p).timestamp_row] < end] for p, a in r.data.items()}


def _data_start() -> float:
    """The first timestamp of the rendered scenario."""
    r = _rendered()
    return min(float(a[r.layout.preset(p).timestamp_row, 0]) for p, a in r.data.items())


def _run(
    tmp_path: Path,
    name: str,
    speed: float,
    seconds: float,
    silent_after: float | None = None,
    until_s: float = 30.0,
) -> tuple[list, Engine, Path]:
    """Run the short protocol on the first ``seconds`` of the scenario served ``speed`` times
    faster than the simulated clock, ticked every TICK_S; (updates, engine, recording)."""
    protocol = tmp_path / "short.toml"
    protocol.write_text(SHORT)
    clock = SimulatedClock()
    source = MemorySource(_rendered().layout, _data(seconds), clock, speed=speed)
    source.silent_after = silent_after
    recorder = Recorder.create(source.layout, out=tmp_path / name, clock=clock, fsync=False)
    engine = Engine(source, load_protocol(str(protocol)), clock=clock, recorder=recorder)
    engine.start()
    updates = []
    while clock.now() < until_s and not engine.finished:
        clock.advance(TICK_S)
        updates.extend(engine.tick())
    engine.close()
    return updates, engine, Path(recorder.path)


def _assert_same_feedback(fast: list, real_time: list) -> None:
    """Every update of new data of ``real_time`` is in ``fast`` with the same feedback."""
    fast, real_time = new_data_updates(fast), new_data_updates(real_time)
    n = len(real_time)
    assert len(fast) >= n
    assert [u.sample_time for u in fast[:n]] == [u.sample_time for u in real_time]
    for field in ("feedback_z", "feedback_score"):
        want = np.array([getattr(u, field) for u in real_time])
        got = np.array([getattr(u, field) for u in fast[:n]])
        np.testing.assert_array_equal(got, want, err_msg=field)
    assert [u.source_state for u in fast[:n]] == [u.source_state for u in real_time]


def test_samples_read_far_ahead_get_the_feedback_of_a_real_time_run(tmp_path) -> None:
    """The whole recording comes in the first poll, the source ended with it: every update
    still has the feedback z and score the real-time run gives it."""
    real_time, _, _ = _run(tmp_path, "real", 1.0, 30.0)
    fast, engine, _ = _run(tmp_path, "fast", FAR_AHEAD, 30.0)
    assert engine.ending == "finished"
    training = [u for u in new_data_updates(real_time) if u.phase_kind == "training"]
    assert sum(math.isfinite(u.feedback_z) for u in training) > 80
    _assert_same_feedback(fast, real_time)


def test_a_source_that_ended_before_its_samples_were_processed_does_not_blank_them(
    tmp_path,
) -> None:
    """A recording shorter than the protocol, read to its end before its updates are made:
    the updates keep their feedback up to the last sample, and "source_ended" comes after
    them (at the last update's time, as in real time)."""
    real_time, _, real_folder = _run(tmp_path, "real", 1.0, 15.0)
    fast, engine, folder = _run(tmp_path, "fast", FAR_AHEAD, 15.0)
    assert engine.ending == "source ended"
    last = new_data_updates(fast)[-1]
    assert last.phase_kind == "training" and last.sample_time > 14.8 + _data_start()
    assert math.isfinite(last.feedback_z) and last.source_state == "streaming"
    _assert_same_feedback(fast, real_time)
    metrics = read_metrics(folder)
    assert set(metrics["source_state"]) == {"streaming"}
    assert np.isfinite(metrics["feedback_score"][metrics["phase_kind"] == "training"]).all()
    ended = [e.time for e in load_session(folder).events if e.kind == "source_ended"]
    real_ended = [e.time for e in load_session(real_folder).events if e.kind == "source_ended"]
    assert ended == [pytest.approx(last.sample_time)] == real_ended


def test_a_loss_read_with_the_samples_before_it_still_pauses_the_feedback(tmp_path) -> None:
    """Samples of 12 s, then none: the poll that brings the last ones already says "signal
    lost". The samples keep their feedback; the loss is shown in that same tick, blanks the
    feedback from then on and is timed at the last samples, as in real time."""
    real_time, _, real_folder = _run(tmp_path, "real", 1.0, 30.0, silent_after=12.0, until_s=16)
    fast, _, folder = _run(tmp_path, "fast", 100.0, 30.0, silent_after=12.0, until_s=0.2)
    _assert_same_feedback(fast, real_time)
    data = new_data_updates(fast)
    assert data[-1].sample_time > 11.8 + _data_start()
    assert any(math.isfinite(u.feedback_z) for u in data if u.phase_kind == "training")
    assert all(u.source_state == "streaming" for u in data)
    # the first tick that saw the loss said so after its samples' updates
    lost = [u for u in fast if u.source_state == "signal lost"]
    assert lost and fast[-1] is lost[-1] and fast.index(lost[0]) == len(data)
    assert all(not u.quality_ok and u.quality_reason == "signal lost" for u in lost)
    assert all(math.isnan(u.feedback_z) and math.isnan(u.feedback_score) for u in lost)
    lost_at = [e.time for e in load_session(folder).events if e.kind == "signal_lost"]
    real_lost_at = [e.time for e in load_session(real_folder).events if e.kind == "signal_lost"]
    assert lost_at == [pytest.approx(data[-1].sample_time)] == real_lost_at


def test_run_far_beyond_real_time_gives_the_feedback_of_speed_max(tmp_path) -> None:
    """``biotrainer run --speed 1e6`` reads the scenario 5 s a tick (``MAX_POLL_S``), far ahead
    of its updates: its metrics.csv has the feedback of ``--speed max`` on every row (before:
    none at all)."""
    protocol = tmp_path / "short.toml"
    protocol.write_text(SHORT)
    argv = ["run", "--device", "simulator-muse2", "--scenario", "eyes-open-closed"]
    argv += ["--protocol", str(protocol), "--data-dir", str(tmp_path / "data")]
    folders = {}
    for speed in ("max", "1e6"):
        folders[speed] = tmp_path / speed
        assert main([*argv, "--speed", speed, "--out", str(folders[speed])]) == 0
    want, got = _metrics_rows(folders["max"]), _metrics_rows(folders["1e6"])
    assert len(want) > 190 and len(got) >= len(want)
    training = [r for r in want if r["phase_kind"] == "training"]
    assert sum(math.isfinite(float(r["feedback_z"] or "nan")) for r in training) > 90
    columns = ("sample_time", "feedback_z", "feedback_score", "source_state")
    assert [[r[c] for c in columns] for r in got[: len(want)]] == [
        [r[c] for c in columns] for r in want
    ]
    assert {r["source_state"] for r in got} == {"streaming"}


def _metrics_rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / "metrics.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
