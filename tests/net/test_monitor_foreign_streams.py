"""Clinic monitor: foreign or malformed metrics streams, odd values, alike names, stable order.

Before, one stream named ``biotrainer-metrics-*`` that was not a biotrainer station (4 channels,
text samples, no schema) or that sent absurd values (a score of 1e30) stopped the whole monitor:
the tracker reshaped its samples to 9 columns (ValueError) and the tile put the score in the
progress bar unchecked (OverflowError); no station was updated any more and an "unexpected
error" dialog came up. Tiles of stations whose names differ only in the middle looked the same,
a stream liblsl reported lost at once read "NO DATA FOR 0 S", and after a restart of one of two
stations sharing a name their tiles swapped places.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pylsl
import pytest
from lslkit import layout_eeg_ecg_ppg, settle, update, wait_until
from pylsl.util import LostError
from pylsl.util import TimeoutError as LslTimeout
from test_monitor_fixes import status

from biotrainer.engine.protocol import load_protocol
from biotrainer.net.discovery import StationState, StationTracker
from biotrainer.net.lsl_outlets import (
    METRIC_CHANNELS,
    METRICS_NAME_PREFIX,
    METRICS_SCHEMA,
    LslOutlets,
)

CHANNELS = [label for label, _ in METRIC_CHANNELS]
#: What the monitor says of a stream that is no biotrainer station (or of another version).
INCOMPATIBLE = "incompatible"
INCOMPATIBLE_ALERT = "not a biotrainer station, or another version"
PHASES = ("baseline", "pacing", "training")


# -- fakes (the tracker's resolver and inlets) -------------------------------------------------


class Info:
    """A resolver result: a metrics stream's name, uid, channel count and format."""

    def __init__(
        self,
        station: str,
        uid: str,
        channels: int = len(CHANNELS),
        fmt: int = pylsl.cf_float32,
        source_id: str | None = None,
    ) -> None:
        self.station, self._uid, self.channels, self.fmt = station, uid, channels, fmt
        self._source_id = source_id or f"biotrainer-{station}-metrics"

    def name(self):
        return METRICS_NAME_PREFIX + self.station

    def type(self):
        return "Metrics"

    def source_id(self):
        return self._source_id

    def uid(self):
        return self._uid

    def hostname(self):
        return "host"

    def channel_count(self):
        return self.channels

    def channel_format(self):
        return self.fmt


class Resolver:
    def __init__(self, *infos: Info) -> None:
        self.infos = list(infos)

    def results(self):
        return list(self.infos)


class Description:
    """The parts of a full metrics StreamInfo that the tracker reads: ``desc()`` child values
    and the ``phases/phase`` names."""

    def __init__(self, values: dict[str, str], phases: tuple[str, ...] = PHASES) -> None:
        self.values, self.phases = values, phases

    def desc(self):
        return self

    def child_value(self, name):
        return self.values.get(name, "")

    def child(self, name):  # phases, then phase
        return Phase(self.phases, 0)


class Phase:
    def __init__(self, names: tuple[str, ...], i: int) -> None:
        self.names, self.i = names, i

    def child(self, name):
        return self

    def empty(self):
        return self.i >= len(self.names)

    def child_value(self, name):
        return self.names[self.i]

    def next_sibling(self, name):
        return Phase(self.names, self.i + 1)


def description(station: str, schema: str = METRICS_SCHEMA) -> Description:
    return Description(
        {"station": station, "patient_code": "P-1", "protocol": "p", "schema": schema}
    )


def row(**values: float) -> np.ndarray:
    r = np.full(len(CHANNELS), np.nan)
    r[CHANNELS.index("quality_ok")] = 1.0
    r[CHANNELS.index("phase_index")] = 0
    for k, v in values.items():
        r[CHANNELS.index(k)] = v
    return r


class Inlet:
    """Sends the queued samples (all of them on a pull, each as wide as it is)."""

    def __init__(self, desc: Description | None) -> None:
        self.desc = desc
        self.queue: list[np.ndarray] = []
        self.lost = False

    def info(self, timeout):
        if self.desc is None:
            raise LslTimeout("no description yet")
        return self.desc

    def pull_chunk(self, **kw):
        if self.lost:
            raise LostError("the stream is gone")
        if not self.queue:
            return np.empty((0, len(CHANNELS))), np.empty(0)
        values = np.stack(self.queue)
        self.queue.clear()
        return values, np.zeros(len(values))


class Opener:
    """open_inlet for the tracker: one Inlet per uid (described as ``descs`` says)."""

    def __init__(self, descs: dict[str, Description | None] | None = None) -> None:
        self.descs = descs or {}
        self.inlets: dict[str, Inlet] = {}

    def __call__(self, info):
        desc = self.descs.get(info.uid(), description(info.station))
        self.inlets[info.uid()] = Inlet(desc)
        return self.inlets[info.uid()]


def by_station(statuses):
    return {s.station: s for s in statuses}


# -- 1. foreign and malformed streams never affect the other stations ---------------------------


def test_streams_of_another_shape_or_schema_are_shown_incompatible_and_never_stop_the_others():
    resolver = Resolver(
        Info("good", "u-good"),
        Info("four", "u-four", channels=4),
        Info("text", "u-text", fmt=pylsl.cf_string),
        Info("double", "u-double", fmt=pylsl.cf_double64),
        Info("noschema", "u-noschema"),
        Info("lies", "u-lies"),  # announces 9 channels, sends 4
    )
    opener = Opener({"u-noschema": description("noschema", schema="")})
    tracker = StationTracker(resolver, opener, resolve_every_s=0, info_timeout_s=0)
    tracker.update(0.0)
    for i in range(1, 6):
        opener.inlets["u-good"].queue.append(row(feedback_score=i / 10, hr_bpm=60 + i))
        opener.inlets["u-noschema"].queue.append(row(feedback_score=1e30))
        opener.inlets["u-lies"].queue += [np.ones(4), np.ones(4)]
        seen = by_station(tracker.update(i * 0.25))
        good = seen["good"]
        assert good.state is StationState.LIVE and good.alert == ""
        assert good.feedback_score == pytest.approx(i / 10) and good.hr_bpm == 60 + i
    for name in ("four", "text", "double", "noschema", "lies"):
        s = seen[name]
        assert s.state.value == INCOMPATIBLE and s.alert == INCOMPATIBLE_ALERT, name
        assert math.isnan(s.feedback_score) and math.isnan(s.hr_bpm), name
    assert sorted(opener.inlets) == ["u-good", "u-lies", "u-noschema"]  # no inlet: no pull
    # a foreign stream that goes away is dropped, never a "stream lost" alarm
    resolver.infos = resolver.infos[:1]
    assert [s.station for s in tracker.update(2.0)] == ["good"]


def test_a_foreign_stream_with_a_station_name_and_source_id_takes_nothing_from_it():
    resolver = Resolver(Info("roomA", "u1"))
    opener = Opener()
    tracker = StationTracker(resolver, opener, resolve_every_s=0, info_timeout_s=0)
    tracker.update(0.0)
    resolver.infos.append(Info("roomA", "u2", channels=4))  # same name, same source_id
    for t in (0.25, 0.5, 2.0, 4.0):
        opener.inlets["u1"].queue.append(row(feedback_score=0.3))
        statuses = tracker.update(t)
        real = next(s for s in statuses if s.uid == "u1")
        assert real.state is StationState.LIVE and real.alert == "" and real.same_name == 0
        assert real.key == "biotrainer-roomA-metrics"  # its tile stays its own


@pytest.mark.parametrize(
    ("values", "score", "hr"),
    [
        ({"feedback_score": 1e30, "hr_bpm": 1e30}, math.nan, math.nan),
        ({"feedback_score": math.nan, "hr_bpm": math.inf}, math.nan, math.nan),
        ({"feedback_score": -3.0, "hr_bpm": -70.0}, math.nan, math.nan),
        ({"feedback_score": 1.0, "hr_bpm": 70.0}, 1.0, 70.0),
    ],
)
def test_values_out_of_range_are_shown_unknown(values, score, hr):
    resolver = Resolver(Info("room1", "u1"))
    opener = Opener()
    tracker = StationTracker(resolver, opener, resolve_every_s=0, info_timeout_s=0)
    tracker.update(0.0)
    opener.inlets["u1"].queue.append(row(**values, rmssd_ms=1e30, phase_index=1e30))
    (s,) = tracker.update(0.25)
    assert s.feedback_score == pytest.approx(score, nan_ok=True)
    assert s.hr_bpm == pytest.approx(hr, nan_ok=True) and math.isnan(s.rmssd_ms)
    # a phase index no protocol has is no phase: never "Finished" (an ended session)
    assert s.state is StationState.LIVE and s.phase_index == -1 and s.phase_name == ""


def test_the_window_keeps_updating_a_good_station_next_to_bad_ones(qtbot):
    from biotrainer.ui.monitor import MonitorWindow

    resolver = Resolver(
        Info("room1", "u1"),
        Info("room2", "u2"),
        Info("room3", "u3"),
        Info("room4", "u4", channels=4),
        Info("room5", "u5", fmt=pylsl.cf_string),
    )
    opener = Opener()
    tracker = StationTracker(resolver, opener, resolve_every_s=0, info_timeout_s=0)
    clock = type("Clock", (), {"t": 0.0, "now": lambda self: self.t})()
    window = MonitorWindow(tracker, clock=clock, refresh_ms=10_000)
    qtbot.addWidget(window)
    window.show()
    window.refresh()
    bad = {"u2": row(feedback_score=1e30, hr_bpm=1e30), "u3": row(feedback_score=math.nan)}
    for i in range(1, 5):
        clock.t = i * 0.25
        opener.inlets["u1"].queue.append(row(feedback_score=i / 10, hr_bpm=60 + i))
        for uid, r in bad.items():
            opener.inlets[uid].queue.append(r)
        window.refresh()
        tiles = {t.status.station: t for t in window.tiles.values()}
        assert tiles["room1"].score.text() == str(10 * i)
        assert tiles["room1"].bar.value() == 10 * i
        assert tiles["room1"].cardiac.text().startswith(f"HR {60 + i} bpm")
    for name in ("room2", "room3"):
        assert tiles[name].score.text() == "–" and tiles[name].bar.value() == 0
    assert tiles["room2"].cardiac.text().startswith("HR –\n")
    for name in ("room4", "room5"):
        assert tiles[name].banner.text() == INCOMPATIBLE_ALERT.upper()
        assert tiles[name].score.text() == "–"
    window.close()


def test_a_tile_never_fails_on_a_score_out_of_range(qtbot):
    from biotrainer.ui.monitor_tile import StationTile

    tile = StationTile()
    qtbot.addWidget(tile)
    for score, text, bar in [(1e30, "–", 0), (math.inf, "–", 0), (-2.0, "–", 0), (0.42, "42", 42)]:
        s = status("room1")
        tile.show_status(type(s)(**{**s.__dict__, "feedback_score": score}))
        assert (tile.score.text(), tile.bar.value()) == (text, bar)


class RealStation:
    """A genuine biotrainer metrics outlet."""

    def __init__(self, name: str) -> None:
        protocol = load_protocol("hrv-resonance-breathing")
        self.name = name
        self.out = LslOutlets(layout_eeg_ecg_ppg(), name, "P-001", protocol=protocol, raw=False)
        self.sent = 0

    def send(self) -> None:
        self.sent += 1
        self.out.push_update(
            update(
                sample_time=0.1 * self.sent,
                feedback_score=0.6,
                relaxation=self.sent / 1e4,
                hr_bpm=70.0,
                quality_ok=True,
                phase_index=0,
            )
        )


def rogue(name: str, channels: int, fmt: int, values: list) -> tuple[pylsl.StreamOutlet, list]:
    """A stream with a biotrainer metrics name that is not a biotrainer station."""
    info = pylsl.StreamInfo(
        METRICS_NAME_PREFIX + name, "Metrics", channels, 0, fmt, f"rogue-{name}"
    )
    info.desc().append_child_value("station", name)
    return pylsl.StreamOutlet(info), values


def test_real_lsl_foreign_streams_next_to_a_station_never_stop_it(unique):
    good = RealStation(f"good{unique}")
    rogues = [
        rogue(f"four{unique}", 4, pylsl.cf_float32, [0.5] * 4),
        rogue(f"text{unique}", 9, pylsl.cf_string, ["1e30"] * 9),
        rogue(f"huge{unique}", 9, pylsl.cf_float32, [1e30] * 9),  # no schema
    ]
    names = {good.name, *(f"{k}{unique}" for k in ("four", "text", "huge"))}
    tracker = StationTracker(resolve_every_s=0.25)
    try:

        def step() -> dict:
            good.send()
            for outlet, values in rogues:
                outlet.push_sample(values)
            return {
                n: s for n, s in by_station(tracker.update(time.monotonic())).items() if n in names
            }

        def all_seen() -> bool:
            seen = step()
            others = [s for n, s in seen.items() if n != good.name]
            return (
                good.name in seen
                and seen[good.name].patient_code == "P-001"
                and seen[good.name].samples > 0
                and len(others) == 3
                and all(s.state.value == INCOMPATIBLE for s in others)
            )

        assert wait_until(all_seen, timeout=10.0, step=0.05), step()
        before = step()[good.name].relaxation
        assert wait_until(lambda: step()[good.name].relaxation > before + 0.0005, step=0.05)
        s = step()[good.name]
        assert (
            s.state is StationState.LIVE
            and s.alert == ""
            and s.feedback_score == pytest.approx(0.6)
        )
    finally:
        tracker.close()
        good.out.close()


# -- 2. alike names stay apart -------------------------------------------------------------------


def test_tiles_of_names_differing_only_in_the_middle_look_different(qtbot):
    from biotrainer.ui.monitor import MonitorWindow

    class Stations:
        def update(self, now):
            return [
                status(f"clinic-room-{i:02d}-long-name-x", f"PATIENT-{i:03d}-" + "X" * 40)
                for i in range(1, 18)
            ]

        def close(self):
            pass

    window = MonitorWindow(Stations())
    qtbot.addWidget(window)
    window.show()
    window.refresh()
    qtbot.waitExposed(window)
    settle(qtbot)
    tiles = list(window.tiles.values())
    assert len(tiles) == 17
    titles = [t.title.shown_text() for t in tiles]
    patients = [t.patient.shown_text() for t in tiles]
    assert "…" in titles[0] and "…" in patients[0]  # (too long for the tiles: shortened)
    assert len(set(titles)) == 17, titles
    assert len(set(patients)) == 17, patients
    assert "-01-" in titles[0] and "-17-" in titles[16]
    assert "001" in patients[0] and "017" in patients[16]


# -- 3. a stream lost at once -------------------------------------------------------------------


def test_a_stream_reported_lost_at_once_says_so_without_a_zero_duration(qtbot):
    from biotrainer.ui.monitor_tile import StationTile

    resolver = Resolver(Info("room1", "u1"))
    opener = Opener()
    tracker = StationTracker(resolver, opener, resolve_every_s=0, info_timeout_s=0)
    tracker.update(0.0)
    opener.inlets["u1"].queue.append(row(feedback_score=0.5))
    tracker.update(1.0)
    opener.inlets["u1"].lost = True
    (s,) = tracker.update(1.1)
    assert s.state is StationState.STREAM_LOST and s.alert == "stream lost"
    tile = StationTile()
    qtbot.addWidget(tile)
    tile.show_status(s)
    assert tile.banner.text() == "STREAM LOST"
    (s,) = tracker.update(13.0)  # later the time since the last sample is told
    assert s.alert == "no data for 12 s: stream lost"


# -- 4. tile order after a restart ---------------------------------------------------------------


def test_a_restarted_station_of_a_name_used_twice_keeps_its_place():
    resolver = Resolver(Info("roomA", "u1"), Info("roomA", "u2"))
    opener = Opener()
    tracker = StationTracker(resolver, opener, resolve_every_s=0, info_timeout_s=0)
    tracker.update(0.0)
    scores = {"u1": 0.2, "u2": 0.8}

    def step(t: float) -> list:
        for uid, score in scores.items():
            opener.inlets[uid].queue.append(row(feedback_score=score))
        return tracker.update(t)

    first = step(0.5)
    assert [s.uid for s in first] == ["u1", "u2"]
    del scores["u1"]  # u1 stops and comes back as u3 (a restart)
    resolver.infos = resolver.infos[1:]
    step(2.0)
    resolver.infos.append(Info("roomA", "u3"))
    tracker.update(3.0)
    scores["u3"] = 0.3
    for t in (3.25, 3.5, 4.0, 5.0):
        statuses = step(t)
    assert [s.uid for s in statuses] == ["u3", "u2"]  # u3 in u1's place
    assert [s.key for s in statuses] == [s.key for s in first]
    assert [s.feedback_score for s in statuses] == [0.3, 0.8]
