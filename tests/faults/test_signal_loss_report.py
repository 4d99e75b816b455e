"""A signal loss mid-session is in the recording's events at the right times and in the session's
quality figures (audit 8, finding 2).

Before: the "signal_restored" event had the time of the "signal_lost" one (the last update before
the loss), and no metrics.csv row covered the loss, so the session report said "device not
streaming: 0 %" and counted the session as clean as if the signal had never gone.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from faultkit import LAYOUT, World
from metricskit import new_data_updates

from biotrainer.acquisition.file_source import FileSource
from biotrainer.acquisition.source import SourceState
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.reports.html import session_html
from biotrainer.reports.session_report import build_session_report
from biotrainer.session import load_session
from biotrainer.session.analysis import read_metrics, summarize_folder, summarize_updates
from biotrainer.session.recorder import Recorder
from biotrainer.session.store import Store

LOSE_AT, BACK_AT, UNTIL = 20.0, 40.0, 70.0
PROTOCOL = "alpha-uptraining"


class GoesSilent:
    """A fake device that says SILENT while the clock is in ``[lose_at, back_at)``; its samples
    of that time never come (``World.mute``), so the recording has a real hole."""

    def __init__(self, clock, lose_at: float, back_at: float) -> None:
        self.clock, self.lose_at, self.back_at = clock, lose_at, back_at
        self.inner = World(clock, mute=(lose_at, back_at), mute_sticks=False).open()

    @property
    def state(self) -> SourceState:
        s = self.inner.state
        if s is SourceState.STREAMING and self.lose_at <= self.clock.now() < self.back_at:
            return SourceState.SILENT
        return s

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("loss")
    clock = SimulatedClock()
    source = GoesSilent(clock, LOSE_AT, BACK_AT)
    rec = Recorder.create(LAYOUT, out=tmp / "s", clock=clock, fsync=False)
    engine = Engine(source, load_protocol(PROTOCOL), clock=clock, recorder=rec)
    engine.start()
    updates = []
    while clock.now() < UNTIL:
        clock.advance(0.05)
        updates.extend(engine.tick())
    engine.close()
    return rec.path, updates


def test_the_restored_event_has_the_time_the_signal_came_back(session):
    folder, _ = session
    rec = load_session(folder)
    ts = rec.timestamps("default")
    last_before = ts[ts < LOSE_AT][-1]
    first_after = ts[ts >= BACK_AT][0]
    events = {e.kind: e for e in rec.events}
    assert [e.kind for e in rec.events].count("signal_lost") == 1
    assert [e.kind for e in rec.events].count("signal_restored") == 1
    assert events["signal_lost"].time == pytest.approx(last_before, abs=0.11)
    assert events["signal_restored"].time == pytest.approx(first_after, abs=1e-6)


def test_the_lost_time_is_in_metrics_csv(session):
    folder, updates = session
    s = read_metrics(folder)
    lost = s["source_state"] == "signal lost"
    # one row per 0.1 s of the 20-s hole in the data, none of them clean
    assert int(lost.sum()) == pytest.approx((BACK_AT - LOSE_AT) * 10, abs=2)
    assert (s["quality_ok"][lost] == 0).all()
    assert set(s["quality_reason"][lost]) == {"signal lost"}
    assert all(math.isnan(x) for x in s["feedback_score"][lost])
    assert all(math.isnan(x) for x in s["alpha"][lost])
    # protocol time does not count the loss
    assert s["session_s"][lost].max() - s["session_s"][lost].min() == 0
    assert s["session_s"].max() < UNTIL - (BACK_AT - LOSE_AT) + 1.0
    # they are live updates too: the live summary equals the recorded one
    fresh = new_data_updates(updates)
    assert sum(u.source_state == "signal lost" for u in fresh) == int(lost.sum())
    assert summarize_updates(updates).to_dict() == summarize_folder(folder).to_dict()


def test_the_quality_figures_count_the_loss(session):
    folder, _ = session
    q = summarize_folder(folder).quality
    share = (BACK_AT - LOSE_AT) / UNTIL  # of the data time, 10 updates per second either way
    assert q.lost_fraction == pytest.approx(share, abs=0.02)
    assert q.clean_fraction <= 1 - q.lost_fraction + 1e-9
    assert ("signal lost", pytest.approx(q.lost_fraction)) in q.reasons


def test_an_offline_replay_of_the_recording_makes_the_same_rows(session):
    folder, updates = session
    clock = SimulatedClock()
    source = FileSource(folder, clock, speed=1.0)
    engine = Engine(source, load_protocol(PROTOCOL), clock=clock)
    offline = []
    engine.start()
    while source.state is not SourceState.ENDED:
        clock.advance(7.3)
        offline.extend(engine.tick())
    live = new_data_updates(updates)
    offline = new_data_updates(offline)
    n = min(len(live), len(offline))
    assert n > 400
    # (the recording keeps timestamps to the microsecond)
    np.testing.assert_allclose(
        [u.sample_time for u in live[:n]], [u.sample_time for u in offline[:n]], atol=2e-6
    )
    assert [u.source_state == "signal lost" for u in live[:n]] == [
        u.source_state == "signal lost" for u in offline[:n]
    ]


def test_the_session_report_says_the_device_was_not_streaming(session, tmp_path):
    folder, _ = session
    with Store.open(tmp_path / "data") as store:
        store.add_patient("P-1")
        rec = store.import_folder(folder, "P-1")
        html = session_html(build_session_report(store, rec.id))
    lost = summarize_folder(folder).quality.lost_fraction
    assert lost > 0.2
    assert f"device not streaming: {100 * lost:.0f} %" in html
