"""Clinic monitor: a session that ended is no alarm, and the therapist can clear the list.

Before, every station whose session ended (finished or stopped by its therapist) turned red,
"STREAM LOST", a few seconds later, like one that crashed, and stayed so for as long as the
monitor ran: nothing took it off the list.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from lslkit import layout_eeg_ecg_ppg, open_inlet, update
from pylsl.util import LostError
from pylsl.util import TimeoutError as LslTimeout
from test_monitor_fixes import FakeInfo, FakeResolver

from biotrainer.engine.protocol import load_protocol
from biotrainer.net.discovery import StationState, StationTracker
from biotrainer.net.lsl_outlets import (
    METRIC_CHANNELS,
    METRICS_SCHEMA,
    STOPPED_PHASE_INDEX,
    LslOutlets,
    metrics_stream_name,
)

CHANNELS = [label for label, _ in METRIC_CHANNELS]
PROTOCOL = load_protocol("hrv-resonance-breathing")
N_PHASES = len(PROTOCOL.phases)


# -- the station says how its session ended (real LSL) ----------------------------------------


@pytest.mark.parametrize(
    ("last_phase", "said"),
    [(1, STOPPED_PHASE_INDEX), (N_PHASES, N_PHASES)],
    ids=["stopped", "finished"],
)
def test_closing_the_outlets_sends_how_the_session_ended(unique, last_phase, said):
    out = LslOutlets(layout_eeg_ecg_ppg(), f"end{unique}", "P-1", protocol=PROTOCOL, raw=False)
    # (as the monitor opens it: without recover, a stream that is gone raises LostError)
    inlet = open_inlet(metrics_stream_name(f"end{unique}"), recover=False)
    values = []

    def pull_until(n: int) -> None:
        deadline = time.monotonic() + 5.0
        while len(values) < n and time.monotonic() < deadline:
            try:
                chunk, _ = inlet.pull_chunk(timeout=0.1)
            except LostError:  # (the stream is gone: what had arrived was pulled)
                return
            values.extend(chunk)

    try:
        out.push_update(update(sample_time=1.0, hr_bpm=61.0, phase_index=last_phase))
        pull_until(1)  # the reader is reading
        out.close()  # (gives the last sample time to leave: a reader is connected)
        pull_until(2)
    finally:
        inlet.close_stream()
    assert len(values) == 2, "the session's last sample did not reach the reader"
    last = values[-1]
    assert last[CHANNELS.index("phase_index")] == said
    assert last[CHANNELS.index("hr_bpm")] == pytest.approx(61.0)  # the latest values stay
    assert last[CHANNELS.index("rewarded")] == 0.0


# -- the tracker (fake resolver and inlets) ----------------------------------------------------


class Description:
    """The parts of a metrics stream description the tracker reads."""

    def __init__(self, station: str, phases: tuple[str, ...]) -> None:
        self.station, self.phases = station, phases

    def desc(self):
        return _Element(
            {
                "station": self.station,
                "patient_code": "P-1",
                "protocol": "p",
                "schema": METRICS_SCHEMA,
            },
            [_Element({"name": p}) for p in self.phases],
        )


class _Element:
    def __init__(self, values: dict[str, str], phases: list[_Element] | None = None) -> None:
        self.values, self.phases, self.i = values, phases or [], 0

    def child_value(self, name):
        return self.values.get(name, "")

    def child(self, name):
        if name == "phases":
            return self
        return _Seq(self.phases, 0)


class _Seq:
    def __init__(self, items, i) -> None:
        self.items, self.i = items, i

    def empty(self):
        return self.i >= len(self.items)

    def child_value(self, name):
        return self.items[self.i].child_value(name)

    def next_sibling(self, name):
        return _Seq(self.items, self.i + 1)


class Inlet:
    """Sends the queued rows, one per pull; knows its description at once."""

    def __init__(self, station: str) -> None:
        self.station = station
        self.queue: list[np.ndarray] = []

    def info(self, timeout):
        if self.station is None:
            raise LslTimeout("no description")
        return Description(self.station, ("baseline", "pacing", "training"))

    def pull_chunk(self, **kw):
        if not self.queue:
            return np.empty((0, len(CHANNELS))), np.empty(0)
        return self.queue.pop(0)[None, :], np.zeros(1)


def _row(phase: float, score: float = 0.6) -> np.ndarray:
    r = np.full(len(CHANNELS), np.nan)
    r[CHANNELS.index("quality_ok")] = 1.0
    r[CHANNELS.index("phase_index")] = phase
    r[CHANNELS.index("feedback_score")] = score
    return r


def _tracker(*stations: str):
    inlets = {}

    def open_inlet(info):
        inlets[info.uid()] = Inlet(info.name().removeprefix("biotrainer-metrics-"))
        return inlets[info.uid()]

    resolver = FakeResolver(*(FakeInfo(s, f"u-{s}") for s in stations))
    tracker = StationTracker(
        resolver, open_inlet, stream_lost_after_s=5, resolve_every_s=0, info_timeout_s=0
    )
    tracker.update(0.0)
    return tracker, resolver, inlets


@pytest.mark.parametrize(
    ("last", "alert", "phase_name"),
    [(3, "session finished", "Finished"), (STOPPED_PHASE_INDEX, "session stopped", "Stopped")],
)
def test_a_session_that_ended_is_no_alarm_even_once_its_stream_is_gone(last, alert, phase_name):
    tracker, resolver, inlets = _tracker("room1")
    inlets["u-room1"].queue += [_row(1), _row(last)]
    tracker.update(0.1)
    tracker.update(0.2)
    (s,) = tracker.update(0.3)
    assert s.state is StationState.ENDED and s.alert.startswith(alert)
    assert s.phase_name == phase_name and s.feedback_score == pytest.approx(0.6)
    resolver.infos = []  # the station withdrew its stream
    for now in (2.0, 30.0, 600.0):
        (s,) = tracker.update(now)
        assert s.state is StationState.ENDED, now  # kept, and never "stream lost"


def test_a_station_that_goes_away_mid_session_is_still_the_alarm():
    tracker, resolver, inlets = _tracker("room1")
    inlets["u-room1"].queue += [_row(1)]
    tracker.update(0.1)
    resolver.infos = []
    (s,) = tracker.update(2.0)
    assert s.state is StationState.STREAM_LOST


def test_a_dismissed_station_leaves_the_list_and_comes_back_if_it_sends_again():
    tracker, resolver, inlets = _tracker("room1", "room2")
    inlets["u-room1"].queue += [_row(1)]
    inlets["u-room2"].queue += [_row(1)]
    tracker.update(0.1)
    a, b = tracker.update(10.0)  # both silent for 10 s: lost
    assert a.state is StationState.STREAM_LOST and b.state is StationState.STREAM_LOST
    tracker.forget(a.key)
    assert [s.station for s in tracker.update(11.0)] == ["room2"]
    inlets["u-room1"].queue.append(_row(2))  # (a network blip, not an end: it is back)
    assert [s.station for s in tracker.update(12.0)] == ["room1", "room2"]
    tracker.forget(a.key)
    resolver.infos = resolver.infos[1:]  # room1's stream is gone for good: dropped
    assert [s.station for s in tracker.update(13.0)] == ["room2"]
    assert [s.station for s in tracker.update(14.0)] == ["room2"]


# -- the window ----------------------------------------------------------------------------------


def test_the_therapist_removes_ended_and_lost_stations_never_live_ones(qtbot):
    from biotrainer.ui.monitor import MonitorWindow
    from biotrainer.ui.monitor_tile import STATE_COLOURS

    tracker, _, inlets = _tracker("room1", "room2", "room3")
    clock = type("Clock", (), {"t": 0.5, "now": lambda self: self.t})()
    window = MonitorWindow(tracker, clock=clock, refresh_ms=10_000)
    qtbot.addWidget(window)
    inlets["u-room1"].queue += [_row(1), _row(STOPPED_PHASE_INDEX)]  # ended
    inlets["u-room2"].queue += [_row(1)]  # goes silent: lost
    for t in (0.5, 0.6, 0.7, 8.0):
        clock.t = t
        inlets["u-room3"].queue.append(_row(1))  # live
        window.refresh()
    states = {t.status.station: t.status.state for t in window.tiles.values()}
    assert states == {
        "room1": StationState.ENDED,
        "room2": StationState.STREAM_LOST,
        "room3": StationState.LIVE,
    }
    ended = next(t for t in window.tiles.values() if t.status.station == "room1")
    assert STATE_COLOURS[StationState.ENDED] in ended.styleSheet()
    assert "SESSION STOPPED" in ended.banner.text()
    live_key = next(k for k, t in window.tiles.items() if t.status.station == "room3")
    menu = window._tile_menu(live_key)
    assert not menu.actions()[0].isEnabled()  # a live station cannot be taken off
    lost_key = next(k for k, t in window.tiles.items() if t.status.station == "room2")
    window._tile_menu(lost_key).actions()[0].trigger()
    assert sorted(t.status.station for t in window.tiles.values()) == ["room1", "room3"]
    inlets["u-room3"].queue.append(_row(1))
    window.remove_ended_action.trigger()
    assert [t.status.station for t in window.tiles.values()] == ["room3"]
