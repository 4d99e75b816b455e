"""The clinic monitor: discovery over real LSL, state flags, and the window's life cycle."""

from __future__ import annotations

import math
import threading

import pylsl
import pytest
from lslkit import layout_eeg_ecg_ppg, update, wait_until

from biotrainer.engine.protocol import load_protocol
from biotrainer.net.discovery import StationState, StationTracker
from biotrainer.net.lsl_outlets import LslOutlets


class Station:
    """A simulated station publishing metrics like a running session would."""

    def __init__(self, name: str, code: str, protocol) -> None:
        self.name = name
        self.out = LslOutlets(layout_eeg_ecg_ppg(), name, code, protocol=protocol, raw=False)
        self.t = 0.0
        self.sent = 0  # samples numbered 1, 2, ... in the relaxation channel

    def send(self, *, quality_ok: bool = True, phase: int = 1, hr: float = 64.0) -> None:
        self.t += 0.1
        self.sent += 1
        self.out.push_update(
            update(
                sample_time=self.t,
                feedback_score=0.7,
                relaxation=float(self.sent),
                hr_bpm=hr,
                rmssd_ms=42.0,
                quality_ok=quality_ok,
                phase_index=phase,
            )
        )


def _by_station(statuses):
    return {s.station: s for s in statuses}


def test_tracker_sees_two_stations_and_notices_when_one_stops(unique):
    protocol = load_protocol("hrv-resonance-breathing")
    a = Station(f"a{unique}", "P-001", protocol)
    b = Station(f"b{unique}", "P-002", protocol)
    tracker = StationTracker(stream_lost_after_s=3.0, signal_lost_after_s=3.0, resolve_every_s=0)
    now = 1000.0  # the tracker's clock: moved by hand
    names = {f"a{unique}", f"b{unique}"}
    try:

        def both_live() -> bool:
            a.send()
            b.send()
            seen = _by_station(tracker.update(now))
            # the description (patient code, protocol) may come an update after the first samples
            return all(n in seen and seen[n].samples > 0 and seen[n].protocol for n in names)

        assert wait_until(both_live), "the monitor did not find both stations"
        seen = _by_station(tracker.stations(now))
        sa = seen[f"a{unique}"]
        assert sa.state is StationState.LIVE and sa.alert == ""
        assert sa.patient_code == "P-001" and seen[f"b{unique}"].patient_code == "P-002"
        assert sa.protocol == protocol.name
        assert sa.phase_index == 1 and sa.phase_name == protocol.phases[1].name
        assert sa.hr_bpm == pytest.approx(64.0) and sa.feedback_score == pytest.approx(0.7)
        assert sa.rmssd_ms == pytest.approx(42.0) and sa.quality_ok is True
        assert math.isnan(sa.coherence)

        # Every step of the tracker's clock below first lets it pull all that was already sent,
        # at the old time: a sample still in flight would otherwise count at the later time, and
        # a late one would pass for the new sample each step waits for. Samples are numbered
        # (relaxation channel) and LSL keeps their order: the tracker has pulled all of a
        # station's samples when its latest is the last one sent (no quiet-time guess: on a
        # loaded machine a sample can be later than any quiet time).
        def drained() -> bool:
            seen = _by_station(tracker.update(now))
            return all(seen[st.name].relaxation == st.sent for st in (a, b))

        def a_sends_after(dt: float, *, quality_ok: bool):
            nonlocal now
            assert wait_until(drained)
            now += dt
            first_new = a.sent + 1

            def got() -> bool:
                a.send(quality_ok=quality_ok)
                return _by_station(tracker.update(now))[a.name].relaxation >= first_new

            assert wait_until(got)
            return _by_station(tracker.stations(now))

        # b stops; a goes on: 4 s later (tracker time) b is flagged, a is not.
        seen = a_sends_after(4.0, quality_ok=True)
        assert seen[f"a{unique}"].state is StationState.LIVE
        assert seen[f"b{unique}"].state is StationState.STREAM_LOST
        assert "stream lost" in seen[f"b{unique}"].alert

        # a's signal goes bad: flagged only once bad for signal_lost_after_s.
        def a_bad_after(dt: float):
            return a_sends_after(dt, quality_ok=False)[f"a{unique}"]

        assert a_bad_after(1.0).state is StationState.LIVE  # brief artifact: no alarm
        flagged = a_bad_after(3.5)
        assert flagged.state is StationState.SIGNAL_LOST and "signal lost" in flagged.alert
    finally:
        tracker.close()
        a.out.close()
        b.out.close()


class FakeInfo:
    def __init__(self, name: str, uid: str) -> None:
        self._name, self._uid = name, uid

    def name(self):
        return self._name

    def type(self):
        return "Metrics"

    def source_id(self):
        return self._name + "-id"

    def uid(self):
        return self._uid

    def hostname(self):
        return "host"

    def channel_count(self):
        return 9  # (a biotrainer metrics stream's)

    def channel_format(self):
        return pylsl.cf_float32


class FakeResolver:
    def __init__(self) -> None:
        self.infos: list[FakeInfo] = []

    def results(self):
        return list(self.infos)


class SilentInlet:
    def info(self, timeout):
        from pylsl.util import TimeoutError as LslTimeout

        raise LslTimeout("no description yet")

    def pull_chunk(self, **kw):
        import numpy as np

        return np.empty((0, 9)), np.empty(0)


def test_station_the_resolver_loses_is_flagged_kept_and_can_be_forgotten():
    resolver = FakeResolver()
    resolver.infos = [FakeInfo("biotrainer-metrics-x", "u1"), FakeInfo("other-stream", "u9")]
    tracker = StationTracker(resolver, lambda info: SilentInlet(), stream_lost_after_s=10)
    (s,) = tracker.update(0.0)  # a non-biotrainer name is ignored
    assert s.station == "x" and s.state is StationState.CONNECTING
    resolver.infos = []
    (s,) = tracker.update(2.0)
    assert s.state is StationState.STREAM_LOST  # gone from the network before the timeout
    assert [x.state for x in tracker.update(30.0)] == [StationState.STREAM_LOST]  # kept, flagged
    tracker.forget(s.key)
    assert tracker.update(31.0) == []


def test_monitor_window_opens_renders_and_closes_cleanly(qtbot):
    from biotrainer.ui.monitor import MonitorWindow

    threads_before = set(threading.enumerate())
    resolver = FakeResolver()
    resolver.infos = [FakeInfo("biotrainer-metrics-room1", "u1")]
    tracker = StationTracker(resolver, lambda info: SilentInlet(), stream_lost_after_s=10)
    window = MonitorWindow(tracker, refresh_ms=20)
    qtbot.addWidget(window)
    window.show()
    window.start()
    qtbot.waitUntil(lambda: bool(window.tiles), timeout=10_000)
    tile = next(iter(window.tiles.values()))
    assert tile.title.text() == "room1"
    assert tile.banner.text() == "connecting"
    resolver.infos = []
    # (flagged at the next resolve, 1 s on; under 8 s, less than stream_lost_after_s: the
    # resolver losing it flagged it, not its silence)
    qtbot.waitUntil(lambda: tile.status.state is StationState.STREAM_LOST, timeout=8000)
    assert "STREAM LOST" in tile.banner.text()
    window.close()
    assert not window.timer.isActive() and tracker.resolver is None
    assert set(threading.enumerate()) <= threads_before
