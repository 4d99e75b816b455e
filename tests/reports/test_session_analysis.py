"""session.analysis: the live summary (dialog, ``biotrainer run``) equals the recorded one (store,
reports), and damage is tolerated."""

from __future__ import annotations

import json
import math
import shutil
from itertools import pairwise

import numpy as np
import pytest

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.factory import open_accelerated
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.errors import RecordingError
from biotrainer.session.analysis import (
    SUMMARY_VERSION,
    MetricRows,
    MetricSeries,
    SessionSummary,
    format_phases,
    read_metrics,
    summarize_folder,
    summarize_series,
    summarize_updates,
)
from biotrainer.session.recorder import Recorder
from biotrainer.session.store import Store

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


class Stalling:
    """A source that delivers nothing while the clock is in ``[stall_from, stall_to)`` (a
    device hiccup): the engine sends heartbeat updates meanwhile, which metrics.csv leaves out."""

    def __init__(self, inner, clock, stall_from: float, stall_to: float) -> None:
        self.inner, self.clock = inner, clock
        self.stall_from, self.stall_to = stall_from, stall_to

    def poll(self) -> Chunk:
        if self.stall_from <= self.clock.now() < self.stall_to:
            return Chunk(received_at=self.clock.now())
        return self.inner.poll()

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("analysis")
    path = tmp / "analysis-test.toml"
    path.write_text(PROTOCOL.format(name="analysis-test"))
    clock = SimulatedClock()
    source = open_accelerated("simulator-muse2", clock, 1.0, scenario="stressed-to-relaxed")
    source.prepare()
    recorder = Recorder.create(source.layout, out=tmp / "session", clock=clock)
    source = Stalling(source, clock, 27.0, 29.0)  # in the first training phase
    engine = Engine(source, load_protocol(path), clock=clock, recorder=recorder)
    updates = []
    engine.start()
    while not engine.finished:
        clock.advance(0.05)
        if 40.0 <= clock.now() < 43.0:  # a pause in the second training phase
            engine.pause()
        elif engine.paused:
            engine.resume()
        updates.extend(engine.tick())
    engine.close()
    return recorder.path, updates


def _close(a: float, b: float, tol: float = 1e-4) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol


def test_live_summary_equals_the_recorded_one(recorded):
    """What the dialog and ``biotrainer run`` show (from the live updates, heartbeats and pauses
    included) is exactly what the store and the reports compute from metrics.csv."""
    folder, updates = recorded
    times = [u.sample_time for u in updates]
    assert any(b == a for a, b in pairwise(times)), "no heartbeat in the run"
    assert any(u.paused for u in updates), "no pause in the run"
    ours = summarize_folder(folder)
    live = summarize_updates(updates)
    assert live.to_dict() == ours.to_dict()
    assert format_phases(live.phases) == format_phases(ours.phases)
    assert [(p.index, p.name, p.kind) for p in ours.phases] == [
        (0, "Rest first", "baseline"),
        (1, "Train", "training"),
        (2, "Train", "training"),
    ]


def test_summary_definitions_on_the_live_updates(recorded):
    """Per phase, by hand: means of finite values, the feedback's (score, z, relaxation) and the
    reward fraction over clean unpaused updates, heartbeats (a repeated sample time) not
    counted."""
    folder, updates = recorded
    summary = summarize_folder(folder)
    fresh, last = [], -math.inf
    for u in updates:
        if u.sample_time > last and u.phase_index >= 0 and not u.finished:
            fresh.append(u)
        last = max(last, u.sample_time)
    assert summary.n_updates == len(fresh)
    for p in summary.phases:
        us = [u for u in fresh if u.phase_index == p.index]
        m = p.means
        fed = [u for u in us if u.quality_ok and not u.paused]  # (the feedback held down else)
        scores = [u.feedback_score for u in fed if math.isfinite(u.feedback_score)]
        assert _close(m.score, sum(scores) / len(scores))
        # progress against the baseline: the mean z-score (the score is centred on the bar)
        # (a baseline is the reference of the z-scores: none of its own)
        zs = [u.feedback_z for u in fed if math.isfinite(u.feedback_z)]
        assert zs and (math.isnan(m.z) if p.kind == "baseline" else _close(m.z, sum(zs) / len(zs)))
        relax = [u.relaxation for u in us if u.quality_ok and math.isfinite(u.relaxation)]
        assert not relax or _close(m.relaxation, sum(relax) / len(relax))
        hrs = [u.hr_bpm for u in us if math.isfinite(u.hr_bpm)]
        assert _close(m.hr_bpm, sum(hrs) / len(hrs), 1e-3)
        assert _close(m.clean_fraction, sum(u.quality_ok for u in us) / len(us))
        assert _close(m.duration_s, us[-1].session_s - us[0].session_s, 1e-3)
        counted = [u for u in us if u.quality_ok and not u.paused]
        if p.kind == "training":
            assert _close(m.time_in_target, sum(u.rewarded for u in counted) / len(counted))
        else:
            assert math.isnan(m.time_in_target)
    # training pools both training phases, weighted by their updates
    ours = summary
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


def test_an_assessment_is_summed_up_by_its_paced_breathing_not_its_whole_length():
    """A resonance assessment has no training phase: its progress row averaged the whole
    session, baseline included, under the heading of training means."""
    import json

    from biotrainer.engine.updates import MetricUpdate

    def u(t: float, kind: str, index: int, z: float, rmssd: float) -> MetricUpdate:
        return MetricUpdate(
            session_s=t, sample_time=t, received_at=t, computed_at=t, phase_index=index,
            phase_name=kind.capitalize(), phase_kind=kind, feedback_z=z, rmssd_ms=rmssd,
            quality_ok=True, source_state="streaming",
        )  # fmt: skip

    updates = [u(k / 10, "baseline", 0, 0.0, 20.0) for k in range(600)]
    updates += [u(60 + k / 10, "pacing", 1, 3.0, 40.0) for k in range(1200)]
    s = summarize_updates(updates)
    assert s.training is None
    assert s.practice.z == pytest.approx(3.0) and s.practice.rmssd_ms == pytest.approx(40)
    assert s.overall.rmssd_ms == pytest.approx(100 / 3)  # (what was shown before)
    again = SessionSummary.from_dict(json.loads(json.dumps(s.to_dict(), allow_nan=False)))
    assert again.practice == s.practice
    old = {k: v for k, v in s.to_dict().items() if k != "pacing"}  # stored before "pacing"
    assert SessionSummary.from_dict(old).practice == s.overall


def test_unclean_signal_is_explained_by_kind_not_by_each_measured_text() -> None:
    """Real EEG: every unclean update's reason carries its own measured sizes, and channels
    with mains hum only (which never blocks feedback) are listed too, so counting the exact
    texts gave a list of 1 % items ("Fp1: 60 Hz mains 46 dB, blink/motion 376 µV; …") that hid
    the real causes (the review's OpenBCI replay: muscle 8.4 %, blinks 4.4 %)."""
    from biotrainer.engine.updates import MetricUpdate

    def u(k: int, reason: str) -> MetricUpdate:
        t = k / 10
        return MetricUpdate(
            session_s=t, sample_time=t, received_at=t, computed_at=t, phase_index=0,
            phase_name="Train", phase_kind="training", quality_ok=reason == "ok",
            quality_reason=reason, source_state="streaming",
        )  # fmt: skip

    updates = [u(k, "ok") for k in range(600)]
    for k in range(300):  # muscle on T7 (and sometimes T8), sizes all different
        extra = f"; T8: 60 Hz mains {20 + k % 9} dB, EMG {12 + k % 5} µV" if k % 3 == 0 else ""
        updates.append(u(600 + k, f"O1: 60 Hz mains {30 + k % 17} dB; T7: EMG {10 + k} µV{extra}"))
    for k in range(100):  # blinks on the frontal pair
        updates.append(u(900 + k, f"Fp1: blink/motion {150 + k} µV; Fp2: blink/motion {90 + k} µV"))
    updates += [u(1000 + k, "signal lost") for k in range(50)]
    q = summarize_updates(updates).quality
    assert q.reasons == (
        ("muscle (EMG): T7, T8", pytest.approx(300 / 1050)),
        ("blinks/movement: Fp1, Fp2", pytest.approx(100 / 1050)),
        ("signal lost", pytest.approx(50 / 1050)),
    )  # (mains hum alone makes no channel unusable: O1 is not named)


def test_mains_hum_is_named_when_nothing_else_is() -> None:
    from biotrainer.session.quality_causes import count_causes

    assert count_causes(["O1: 50 Hz mains 40 dB; O2: 50 Hz mains 41 dB"] * 3) == [
        ("mains hum: O1, O2", 3)
    ]
    many = "; ".join(f"E{i}: flat" for i in range(6))
    assert count_causes([many]) == [("flat: E0, E1, E2 and 3 more", 1)]
    assert count_causes(["", "no heart beats"]) == [("unknown", 1), ("no heart beats", 1)]


def test_the_feedback_means_leave_out_signal_held_down_by_an_artifact(recorded):
    """While a signal is not clean the engine holds the feedback down (an artifact may lower
    it, never raise it): a few seconds of blinks took a session's mean z from -0.6 to -1.5 when
    the means counted them. The z, score and relaxation are averaged over the updates the
    reward counts (clean, unpaused); the clean share says how many."""
    folder, _ = recorded
    series = read_metrics(folder)
    training = np.flatnonzero(series["phase_kind"] == "training")
    blinks = training[len(training) // 3 : len(training) // 3 + len(training) // 10]
    cols = {k: v.copy() for k, v in series.columns.items()}
    cols["quality_ok"][blinks] = 0
    cols["feedback_z"][blinks] = -20.0
    cols["feedback_score"][blinks] = 0.0
    cols["relaxation"][blinks] = 0.05
    summary = summarize_series(MetricSeries(cols))
    plain = summarize_series(series)
    for p in summary.phases:
        rows = (cols["phase_index"] == p.index) & (cols["finished"] != 1)
        fed = rows & (cols["quality_ok"] == 1) & (cols["paused"] != 1)
        if p.kind == "baseline":
            assert math.isnan(p.means.z)
        else:
            assert _close(p.means.z, float(np.nanmean(cols["feedback_z"][fed])))
        assert _close(p.means.score, float(np.nanmean(cols["feedback_score"][fed])))
        clean = rows & (cols["quality_ok"] == 1)
        assert _close(p.means.relaxation, float(np.nanmean(cols["relaxation"][clean])))
    # the pooled training figures barely move (the blinks are left out), the clean share does
    assert summary.training is not None and plain.training is not None
    assert abs(summary.training.z - plain.training.z) < 0.3
    assert summary.training.clean_fraction < plain.training.clean_fraction - 0.05


def test_a_summary_stored_the_old_way_is_computed_again(recorded, data_dir):
    """Summaries stored before the feedback means left out held-down updates would mix two
    definitions in a patient's progress: the store computes them again from the folder (and
    keeps how the session ended)."""
    folder, _ = recorded
    copy = data_dir / "sessions" / folder.name
    shutil.copytree(folder, copy)
    with Store.open(data_dir) as store:
        store.add_patient("P-OLD")
        record = store.import_folder(copy, "P-OLD")
        fresh = record.summary
        assert fresh is not None and fresh.version == SUMMARY_VERSION
        stored = json.loads(
            store._conn.execute(
                "SELECT summary FROM sessions WHERE id = ?", (record.id,)
            ).fetchone()[0]
        )
        old = {**stored, "training": {**stored["training"], "z": 99.0}}
        del old["version"]
        with store._write() as c:
            c.execute("UPDATE sessions SET summary = ? WHERE id = ?", (json.dumps(old), record.id))
    with Store.open(data_dir) as store:
        (again,) = store.sessions("P-OLD")
        assert again.summary is not None and again.summary.training is not None
        assert again.summary.version == SUMMARY_VERSION
        assert _close(again.summary.training.z, fresh.training.z)
        assert again.ended == record.ended
        text = store._conn.execute("SELECT summary FROM sessions").fetchone()[0]
        assert json.loads(text)["version"] == SUMMARY_VERSION  # stored so: computed once


def test_metric_rows_added_piece_by_piece_equal_metrics_csv(recorded):
    """The compact rows a window or ``biotrainer run`` keeps for the summary, added a tick's
    updates at a time, hold exactly what metrics.csv holds, column by column; a series taken
    midway is not changed by the rows added after it."""
    folder, updates = recorded
    rows = MetricRows()
    midway = None
    for i in range(0, len(updates), 7):
        rows.add(updates[i : i + 7])
        if midway is None and i >= len(updates) // 2:
            midway = rows.series()
            midway_n = len(rows)
    ours = read_metrics(folder)
    live = rows.series()
    assert len(rows) == len(ours) and live.warnings == ours.warnings
    for name, column in ours.columns.items():
        if column.dtype == object:
            assert list(live[name]) == list(column), name
        else:
            np.testing.assert_array_equal(live[name], column, err_msg=name)
    assert len(midway) == midway_n < len(ours)
    np.testing.assert_array_equal(midway["session_s"], ours["session_s"][:midway_n])


def test_metric_rows_are_compact(recorded):
    """An hour of rows (36,000) kept for the summary takes a fraction of the updates' memory:
    under 400 bytes a row (a 16-channel update object takes about 1,500)."""
    import dataclasses
    import tracemalloc

    _, updates = recorded
    u = updates[-1]
    many = [dataclasses.replace(u, sample_time=u.sample_time + k) for k in range(1, 36_001)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        rows = MetricRows()
        rows.add(many)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(rows) == 36_000
    assert held / 36_000 < 400, f"{held / 36_000:.0f} bytes a row"


def test_metric_rows_grow_a_block_at_a_time(recorded, monkeypatch):
    """Rows of a long session are kept in blocks: adding them never copies the whole table
    (a doubling array had grown by 13 MB at once near the second hour, the old table and the
    new one held together), nor holds room for many rows to come; across block boundaries the
    rows still equal metrics.csv."""
    import dataclasses
    import tracemalloc

    folder, updates = recorded
    monkeypatch.setattr(MetricRows, "BLOCK_ROWS", 5)  # (a few rows a block: many boundaries)
    rows = MetricRows()
    rows.add(updates)
    ours = read_metrics(folder)
    np.testing.assert_array_equal(rows.series()["session_s"], ours["session_s"])
    np.testing.assert_array_equal(rows.series()["feedback_z"], ours["feedback_z"])
    monkeypatch.undo()

    u = updates[-1]
    n = 16_385  # (one row past a power of two: a doubling array has just doubled)
    many = [dataclasses.replace(u, sample_time=u.sample_time + k) for k in range(1, n + 1)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        rows = MetricRows()
        rows.add(many)
        held, peak = (m - before for m in tracemalloc.get_traced_memory())
    finally:
        tracemalloc.stop()
    assert held / n < 300, f"{held / n:.0f} bytes a row"
    assert peak - held < 1_000_000, f"{(peak - held) / 1e6:.1f} MB more at the peak"


def test_the_csv_export_has_the_recordings_time_axis(recorded, tmp_path):
    """The metrics CSV had protocol time only (``session_s``, which stands still in a pause
    and while the signal is lost) and no column to line its rows up with the EDF export's
    samples. ``recording_s`` is the time of each update's newest sample from the recording's
    first sample (the EDF's time 0), and carries no date."""
    import csv

    from biotrainer.reports.csv_export import export_metrics_csv
    from biotrainer.session import load_session

    folder, _updates = recorded
    out = tmp_path / "m.csv"
    export_metrics_csv(folder, out)
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    rec = load_session(folder)
    ours = read_metrics(folder)
    expected = ours["sample_time"] - rec.first_timestamp
    got = np.array([float(r["recording_s"]) for r in rows])
    np.testing.assert_allclose(got, expected, atol=2e-6)
    assert got[0] == pytest.approx(0.1, abs=0.02) and np.all(np.diff(got) > 0)
    session = np.array([float(r["session_s"]) for r in rows])
    paused = np.array([r["paused"] == "1" for r in rows])
    assert paused.any() and np.all(np.diff(session)[paused[1:]] < 1e-6)  # (still in the pause)
    assert got[-1] - session[-1] >= 3.0  # the pause and the stall: recording time went on
    assert all(float(r["recording_s"]) < 1e6 for r in rows)  # (no absolute time, no date)
