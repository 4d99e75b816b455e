"""Clinic monitor: one tile per stream (two stations with one name are both shown and flagged),
refreshes that never freeze the window, legible tiles (no clipping, natural order, stale look)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pylsl
import pytest
from lslkit import layout_eeg_ecg_ppg, settle, update, wait_until
from pylsl.util import TimeoutError as LslTimeout

from biotrainer.engine.protocol import load_protocol
from biotrainer.net.discovery import StationState, StationStatus, StationTracker
from biotrainer.net.lsl_outlets import METRIC_CHANNELS, LslOutlets

CHANNELS = [label for label, _ in METRIC_CHANNELS]


class FakeInfo:
    def __init__(self, station: str, uid: str, host: str = "host") -> None:
        self._station, self._uid, self._host = station, uid, host

    def name(self):
        return f"biotrainer-metrics-{self._station}"

    def type(self):
        return "Metrics"

    def source_id(self):
        return f"biotrainer-{self._station}-metrics"

    def uid(self):
        return self._uid

    def hostname(self):
        return self._host

    def channel_count(self):
        return 9  # (a biotrainer metrics stream's)

    def channel_format(self):
        return pylsl.cf_float32


class FakeResolver:
    def __init__(self, *infos: FakeInfo) -> None:
        self.infos = list(infos)

    def results(self):
        return list(self.infos)


def row(**values: float) -> np.ndarray:
    r = np.full(len(CHANNELS), np.nan)
    r[CHANNELS.index("quality_ok")] = 1.0
    for k, v in values.items():
        r[CHANNELS.index(k)] = v
    return r


class FakeInlet:
    """Sends one sample per pull while ``sending``; its description never comes."""

    def __init__(self, score: float) -> None:
        self.score = score
        self.sending = True

    def info(self, timeout):
        raise LslTimeout("no description yet")

    def pull_chunk(self, **kw):
        if not self.sending:
            return np.empty((0, len(CHANNELS))), np.empty(0)
        return row(feedback_score=self.score, phase_index=0)[None, :], np.zeros(1)


class Opener:
    """open_inlet for the tracker: one FakeInlet per uid, counting the opens."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores
        self.opened: list[str] = []
        self.inlets: dict[str, FakeInlet] = {}

    def __call__(self, info):
        self.opened.append(info.uid())
        self.inlets[info.uid()] = FakeInlet(self.scores[info.uid()])
        return self.inlets[info.uid()]


# -- 1. two stations with the same name --------------------------------------------------------


def test_two_streams_with_one_station_name_get_two_tiles_that_say_so_and_never_mix():
    resolver = FakeResolver(
        FakeInfo("roomA", "u1"), FakeInfo("roomA", "u2"), FakeInfo("roomB", "u3")
    )
    opener = Opener({"u1": 0.2, "u2": 0.8, "u3": 0.5})
    tracker = StationTracker(resolver, opener, resolve_every_s=0)  # resolve on every update
    for i in range(20):
        statuses = tracker.update(i * 0.25)
        room_a = [s for s in statuses if s.station == "roomA"]
        assert len(room_a) == 2, [(s.key, s.state, s.feedback_score) for s in statuses]
        if i == 0:
            continue
        # each tile keeps its own patient's values, never the other's
        assert sorted(s.feedback_score for s in room_a) == [0.2, 0.8]
        for s in room_a:
            assert s.state is StationState.LIVE
            assert s.same_name == 2
            assert "two stations use the name roomA: give each its own --lsl name" in s.alert
        (room_b,) = [s for s in statuses if s.station == "roomB"]
        assert room_b.alert == "" and room_b.same_name == 0
    keys = [s.key for s in statuses]
    assert len(set(keys)) == 3
    assert {s.uid: s.feedback_score for s in statuses} == {"u1": 0.2, "u2": 0.8, "u3": 0.5}
    assert sorted(opener.opened) == ["u1", "u2", "u3"]  # each inlet opened once: no churn


@pytest.mark.parametrize("stops", ["u1", "u2"])
def test_second_station_with_a_taken_name_is_flagged_and_one_that_stops_is_shown_lost(stops):
    resolver = FakeResolver(FakeInfo("roomA", "u1"))
    opener = Opener({"u1": 0.2, "u2": 0.8})
    tracker = StationTracker(resolver, opener, resolve_every_s=0)
    (first,) = tracker.update(0.0)
    (first,) = tracker.update(0.5)
    assert first.alert == "" and first.key == "biotrainer-roomA-metrics"
    resolver.infos.append(FakeInfo("roomA", "u2"))
    statuses = tracker.update(1.0)
    assert [s.feedback_score for s in statuses] == [0.2, 0.8]
    assert statuses[0].key == "biotrainer-roomA-metrics"  # the first one's tile stays
    assert all("two stations use the name roomA" in s.alert for s in statuses)
    # one of the two rooms stops (and later the resolver forgets it): it is not taken for a
    # restart, its tile stays and turns "stream lost"; the warning goes
    opener.inlets[stops].sending = False
    for t in (2.0, 3.0, 4.0, 7.0):
        if t == 4.0:
            resolver.infos = [i for i in resolver.infos if i.uid() != stops]
        statuses = tracker.update(t)
        assert [s.feedback_score for s in statuses] == [0.2, 0.8]
    lost, live = sorted(statuses, key=lambda s: s.uid != stops)
    assert live.alert == "" and live.state is StationState.LIVE
    assert lost.state is StationState.STREAM_LOST and "use the name" not in lost.alert


@pytest.mark.parametrize("resolver_still_lists_the_dead_stream", [False, True])
def test_restarted_station_takes_its_tile_back_without_a_name_warning(
    resolver_still_lists_the_dead_stream,
):
    resolver = FakeResolver(FakeInfo("roomA", "u1"))
    opener = Opener({"u1": 0.2, "u2": 0.8})
    tracker = StationTracker(resolver, opener, resolve_every_s=0)
    tracker.update(0.0)
    (s,) = tracker.update(0.5)
    key = s.key
    opener.inlets["u1"].sending = False  # killed at t = 0.5
    if not resolver_still_lists_the_dead_stream:
        resolver.infos = []
    tracker.update(2.0)
    resolver.infos.append(FakeInfo("roomA", "u2"))  # restarted (new uid) at t = 3
    for t in (3.0, 3.25, 3.5, 4.0, 5.0):
        (s,) = tracker.update(t)  # one tile all along, the restarted station's
        assert s.key == key and s.state is StationState.LIVE
        assert s.feedback_score == 0.8 and s.alert == ""


# -- 2. no freeze ------------------------------------------------------------------------------


class SlowInfoInlet(FakeInlet):
    """An inlet whose description does not come (liblsl would wait the whole timeout): it
    adds each timeout asked for to ``waits`` instead of sleeping it (no wall-clock timing)."""

    def __init__(self, score: float, waits: list[float]) -> None:
        super().__init__(score)
        self.waits = waits

    def info(self, timeout):
        self.waits.append(timeout)
        raise LslTimeout("no description yet")


def test_an_update_does_not_wait_for_descriptions_that_do_not_come():
    resolver = FakeResolver(*(FakeInfo(f"room{i}", f"u{i}") for i in range(1, 6)))
    waits: list[float] = []
    tracker = StationTracker(resolver, lambda info: SlowInfoInlet(0.5, waits), resolve_every_s=0)
    worst = 0.0
    for i in range(5):
        waits.clear()
        tracker.update(i * 0.25)
        assert len(waits) == 5  # each station's description asked for again
        worst = max(worst, sum(waits))
    assert worst < 0.1, f"one update of 5 stations would wait {worst * 1000:.0f} ms"


class Station:
    def __init__(self, name: str, code: str, hr: float) -> None:
        protocol = load_protocol("hrv-resonance-breathing")
        self.out = LslOutlets(layout_eeg_ecg_ppg(), name, code, protocol=protocol, raw=False)
        self.hr = hr
        self.t = 0.0

    def send(self) -> None:
        self.t += 0.1
        self.out.push_update(
            update(
                sample_time=self.t,
                feedback_score=0.5,
                hr_bpm=self.hr,
                rmssd_ms=40.0,
                quality_ok=True,
                phase_index=0,
            )
        )


class Sender:
    """Pushes every station's metrics at 10 Hz from a thread, like running sessions."""

    def __init__(self, *stations: Station) -> None:
        self.stations = list(stations)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.1):
            with self.lock:
                for s in self.stations:
                    s.send()

    def add(self, station: Station) -> None:
        with self.lock:
            self.stations.append(station)

    def end(self, station: Station) -> None:
        """The station's session ends (its outlets close)."""
        with self.lock:
            self.stations.remove(station)
            station.out.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for s in self.stations:
            s.out.close()


class Watch:
    """Updates a real tracker and records, per tile, every (patient code, HR) it showed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tracker = StationTracker(resolve_every_s=0.25)
        self.shown: dict[str, set] = {}

    def update(self):
        statuses = [s for s in self.tracker.update(time.monotonic()) if s.station == self.name]
        for s in statuses:
            if s.samples and s.patient_code and s.state is StationState.LIVE:
                self.shown.setdefault(s.key, set()).add((s.patient_code, s.hr_bpm))
        return statuses

    def run_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.update()
            time.sleep(0.05)

    def mixed(self) -> dict[str, set]:
        """Tiles that showed more than one patient's values."""
        return {k: v for k, v in self.shown.items() if len(v) > 1}


def test_real_lsl_two_stations_with_one_name_shown_apart_and_updates_never_block(unique):
    name = f"dup{unique}"
    sender = Sender(Station(name, "P-001", 61.0), Station(name, "P-002", 93.0))
    tracker = StationTracker(resolve_every_s=0.25)
    worst, seen_hr = 0.0, {}
    try:

        def both_described() -> bool:
            nonlocal worst
            t0 = time.perf_counter()
            statuses = [s for s in tracker.update(time.monotonic()) if s.station == name]
            worst = max(worst, time.perf_counter() - t0)
            for s in statuses:
                if s.samples and s.patient_code:
                    seen_hr.setdefault(s.key, set()).add((s.patient_code, s.hr_bpm))
            return len(statuses) == 2 and all(s.samples > 5 and s.patient_code for s in statuses)

        assert wait_until(both_described, timeout=20.0, step=0.05), "did not see both stations"
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            both_described()
            time.sleep(0.05)
        statuses = [s for s in tracker.stations(time.monotonic()) if s.station == name]
        assert sorted(s.patient_code for s in statuses) == ["P-001", "P-002"]
        assert all(f"two stations use the name {name}" in s.alert for s in statuses)
        # every tile only ever showed its own patient's heart rate
        assert sorted(seen_hr.values(), key=sorted) == [{("P-001", 61.0)}, {("P-002", 93.0)}]
        # (a blocking update waited >= 0.65 s: liblsl's first clock-offset estimate; 0.5 s
        # leaves room for a loaded machine descheduling or garbage-collecting mid-update)
        assert worst < 0.5, f"an update blocked the GUI thread for {worst * 1000:.0f} ms"
    finally:
        tracker.close()
        sender.close()


def test_real_lsl_one_of_two_stations_with_one_name_stops_its_tile_never_shows_the_other(
    unique,
):
    name = f"dup{unique}"
    a, b = Station(name, "P-001", 61.0), Station(name, "P-002", 93.0)
    sender = Sender(a, b)
    watch = Watch(name)
    try:

        def both() -> bool:
            st = watch.update()
            return len(st) == 2 and all(s.samples > 5 and s.patient_code for s in st)

        assert wait_until(both, timeout=20.0, step=0.05), "did not see both stations"
        sender.end(a)
        watch.run_for(3.0)
        assert watch.mixed() == {}
        by_code = {s.patient_code: s for s in watch.update()}
        assert by_code["P-002"].state is StationState.LIVE and by_code["P-002"].hr_bpm == 93.0
        # (its session ended: closing the outlets says so, which is no "stream lost" alarm)
        assert by_code["P-001"].state is StationState.ENDED
        assert by_code["P-001"].hr_bpm == 61.0
    finally:
        watch.tracker.close()
        sender.close()


def test_real_lsl_restarted_station_takes_its_tile_back_with_the_new_patient(unique):
    name = f"re{unique}"
    first = Station(name, "P-001", 61.0)
    sender = Sender(first)
    watch = Watch(name)
    try:
        assert wait_until(lambda: any(s.samples > 5 and s.patient_code for s in watch.update()))
        (old,) = watch.update()
        sender.end(first)
        watch.run_for(1.5)
        sender.add(Station(name, "P-002", 93.0))  # the next session on that station

        def restarted() -> bool:
            st = watch.update()
            return len(st) == 1 and st[0].patient_code == "P-002" and st[0].samples > 5

        assert wait_until(restarted, timeout=8.0, step=0.05), watch.update()
        watch.run_for(1.0)
        # the tile went from one session to the next, never with one patient's code and the
        # other's values
        assert set().union(*watch.shown.values()) == {("P-001", 61.0), ("P-002", 93.0)}
        (new,) = watch.update()
        assert new.key == old.key and new.hr_bpm == 93.0 and new.alert == ""
    finally:
        watch.tracker.close()
        sender.close()


def test_real_lsl_a_new_station_does_not_block_an_update(unique):
    name = f"one{unique}"
    sender = Sender(Station(name, "P-003", 70.0))
    tracker = StationTracker(resolve_every_s=0.25)
    durations = []
    try:

        def described_with_data() -> bool:
            t0 = time.perf_counter()
            statuses = [s for s in tracker.update(time.monotonic()) if s.station == name]
            durations.append(time.perf_counter() - t0)
            return bool(statuses) and statuses[0].samples > 5 and statuses[0].patient_code != ""

        assert wait_until(described_with_data, timeout=8.0, step=0.05)
        worst = max(durations)
        # (a blocking update waited >= 0.65 s: liblsl's first clock-offset estimate; 0.5 s
        # leaves room for a loaded machine descheduling or garbage-collecting mid-update)
        assert worst < 0.5, f"an update blocked the GUI thread for {worst * 1000:.0f} ms"
    finally:
        tracker.close()
        sender.close()


# -- 3. tiles ----------------------------------------------------------------------------------


def test_stations_are_listed_in_natural_order():
    resolver = FakeResolver(*(FakeInfo(f"room{i}", f"u{i}") for i in (10, 2, 1, 11, 3)))
    tracker = StationTracker(resolver, lambda info: FakeInlet(0.5))
    names = [s.station for s in tracker.update(0.0)]
    assert names == ["room1", "room2", "room3", "room10", "room11"]


def status(name: str, code: str = "", state=StationState.LIVE, alert: str = "") -> StationStatus:
    return StationStatus(
        key=f"biotrainer-{name}-metrics",
        station=name,
        patient_code=code,
        protocol="eeg-hrv-relaxation",
        hostname="vm",
        phases=("Baseline, eyes open",),
        phase_index=0,
        phase_name="Baseline, eyes open",
        feedback_score=0.5,
        relaxation=0.5,
        hr_bpm=70.0,
        rmssd_ms=40.0,
        coherence=1.0,
        breathing_bpm=6.0,
        quality_ok=True,
        rewarded=False,
        state=state,
        alert=alert,
        silent_s=0.0,
        samples=10,
    )


LONG_NAME = "station-name-with-32-characters1"
CODE_A, CODE_B = "X-" + "a" * 61 + "1", "X-" + "a" * 61 + "2"


class TenStations:
    """The audit's ten tiles (F13): long names and codes, one stale tile."""

    def update(self, now):
        out = [status(f"room{i}") for i in range(1, 8)]
        out.append(status(LONG_NAME, CODE_A))
        out.append(status("room8", CODE_B))
        out.append(
            status("room10", "P 007.a-b", StationState.STREAM_LOST, "no data for 12 s: stream lost")
        )
        return out

    def close(self):
        pass


def shown(label) -> str:
    """What a label paints (an eliding label paints less than its text)."""
    return label.shown_text() if hasattr(label, "shown_text") else label.text()


def fits(label) -> bool:
    r = label.contentsRect()
    flags = int(label.alignment()) | (0x1000 if label.wordWrap() else 0)  # Qt.TextWordWrap
    need = label.fontMetrics().boundingRect(r, flags, shown(label))
    return need.width() <= r.width() and need.height() <= r.height()


@pytest.fixture
def ten_tiles(qtbot):
    from biotrainer.ui.monitor import MonitorWindow

    window = MonitorWindow(TenStations())
    qtbot.addWidget(window)
    window.resize(1400, 1000)
    window.show()
    window.refresh()
    qtbot.waitExposed(window)
    settle(qtbot)
    return window


def test_ten_tiles_nothing_is_clipped_and_long_codes_stay_distinguishable(ten_tiles):
    tiles = {t.status.station: t for t in ten_tiles.tiles.values()}
    for name, tile in tiles.items():
        for label in (tile.title, tile.patient, tile.banner):
            assert fits(label), f"{name}: {label.text()!r} is clipped"
    lost = tiles["room10"].banner
    assert "STREAM LOST" in lost.text() and "NO DATA FOR 12 S" in lost.text()
    long_title = tiles[LONG_NAME].title
    assert long_title.text() == LONG_NAME and long_title.toolTip() == LONG_NAME
    a, b = shown(tiles[LONG_NAME].patient), shown(tiles["room8"].patient)
    assert a != b and a.endswith("a1") and b.endswith("a2")  # elided in the middle
    assert "…" in a


def test_a_stale_tile_progress_bar_is_grey(ten_tiles):
    def chunk_colour(tile):
        bar = tile.bar
        img = bar.grab().toImage()
        c = img.pixelColor(bar.width() // 5, bar.height() // 2)  # inside the 50 % chunk
        return c.red(), c.green(), c.blue()

    tiles = {t.status.station: t for t in ten_tiles.tiles.values()}
    r, g, b = chunk_colour(tiles["room10"])
    assert max(r, g, b) - min(r, g, b) < 40, f"stale bar chunk is coloured: {(r, g, b)}"
    r, g, b = chunk_colour(tiles["room1"])
    assert b - r > 60, f"live bar chunk is not blue: {(r, g, b)}"


def test_monitor_window_shows_both_stations_with_one_name_and_says_so(qtbot):
    from biotrainer.ui.monitor import MonitorWindow

    resolver = FakeResolver(FakeInfo("roomA", "u1"), FakeInfo("roomA", "u2"))
    tracker = StationTracker(resolver, Opener({"u1": 0.2, "u2": 0.8}), resolve_every_s=0)
    window = MonitorWindow(tracker, refresh_ms=20)
    qtbot.addWidget(window)
    window.show()
    window.start()
    qtbot.waitUntil(
        lambda: len(window.tiles) == 2 and all(t.status.samples for t in window.tiles.values()),
        timeout=10_000,
    )
    tiles = list(window.tiles.values())
    assert sorted(t.score.text() for t in tiles) == ["20", "80"]
    for t in tiles:
        assert t.title.text() == "roomA"
        assert "two stations use the name roomA: give each its own --lsl name" in t.banner.text()
    window.close()
