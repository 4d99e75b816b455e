"""LSL outlets: raw and metric samples reach an inlet intact, in order, well described."""

from __future__ import annotations

import math

import numpy as np
import pylsl
import pytest
from lslkit import EEG_NAMES, chunk_of, layout_eeg_ecg_ppg, open_inlet, pull_n, update

from biotrainer.acquisition.source import SourceState
from biotrainer.engine.protocol import load_protocol
from biotrainer.errors import BiotrainerError
from biotrainer.net.lsl_outlets import (
    METRIC_CHANNELS,
    LslOutlets,
    LslTee,
    TimeMap,
    check_code,
    metrics_source_id,
    metrics_stream_name,
    raw_stream_name,
)


class FakeLslClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _channels(info: pylsl.StreamInfo) -> list[tuple[str, str, str]]:
    out = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty():
        out.append((ch.child_value("label"), ch.child_value("unit"), ch.child_value("type")))
        ch = ch.next_sibling("channel")
    return out


def test_raw_samples_arrive_intact_in_order_with_description(unique):
    layout = layout_eeg_ecg_ppg()
    station = f"st{unique}"
    rng = np.random.default_rng(1)
    base = pylsl.local_clock()
    lsl_now = FakeLslClock(base)  # moves with the data, as a live device's pushes would
    with LslOutlets(layout, station, "P-017", lsl_clock=lsl_now) as outlets:
        assert sorted(outlets.raw_outlets) == ["ecg", "eeg", "ppg"]  # only roles present
        eeg_in = open_inlet(raw_stream_name("eeg", station))
        ecg_in = open_inlet(raw_stream_name("ecg", station))
        n, sent = 0, []
        t0 = 1.7e9  # BrainFlow-like Unix timestamps
        for size in (25, 1, 100, 74):
            raw = np.zeros((8, size))
            raw[:7] = rng.normal(0, 50, (7, size))
            raw[7] = t0 + (n + np.arange(size)) / 250.0
            lsl_now.t = base + (raw[7, -1] - t0) + 0.02 * (size == 1)  # one late poll
            outlets.push_chunk(chunk_of(layout, raw))
            sent.append(raw)
            n += size
        allraw = np.concatenate(sent, axis=1)
        eeg, eeg_t = pull_n(eeg_in, n)
        ecg, _ = pull_n(ecg_in, n)
        info = eeg_in.info(timeout=5.0)

    assert eeg.shape == (n, 4) and ecg.shape == (n, 1)
    np.testing.assert_array_equal(eeg, allraw[:4].T.astype(np.float32))
    np.testing.assert_array_equal(ecg[:, 0], allraw[4].astype(np.float32))
    # Stamps: the device's spacing, offset so that the first chunk's newest sample was "now".
    np.testing.assert_allclose(eeg_t, base + (allraw[7] - t0), atol=1e-5)
    assert info.type() == "EEG" and info.nominal_srate() == 250.0
    assert info.source_id() == f"biotrainer-{station}-eeg"
    assert info.channel_format() == pylsl.cf_float32
    assert _channels(info) == [(c, "microvolts", "EEG") for c in EEG_NAMES]
    desc = info.desc()
    assert desc.child("acquisition").child_value("manufacturer") == "biotrainer"
    assert desc.child("acquisition").child_value("model") == "testdev"
    assert desc.child_value("patient_code") == "P-017"


def test_metric_samples_arrive_intact_in_order_with_description(unique):
    station = f"st{unique}"
    protocol = load_protocol("alpha-uptraining")
    updates = [
        update(
            sample_time=100 + 0.1 * k,
            feedback_score=k / 10,
            relaxation=0.5,
            hr_bpm=60 + k,
            rmssd_ms=40.0 + k,
            coherence=math.nan if k == 0 else 1.5,
            breathing_bpm=6.0,
            quality_ok=k != 3,
            phase_index=k // 2,
            rewarded=k % 2 == 1,
        )
        for k in range(8)
    ]
    with LslOutlets(layout_eeg_ecg_ppg(), station, "P-017", protocol=protocol, raw=False) as out:
        assert out.raw_outlets == {}
        inlet = open_inlet(metrics_stream_name(station))
        for u in updates:
            out.push_update(u)
        got, _ = pull_n(inlet, len(updates))
        info = inlet.info(timeout=5.0)

    expected = np.array(
        [
            [
                u.feedback_score,
                u.relaxation,
                u.hr_bpm,
                u.rmssd_ms,
                u.coherence,
                u.breathing_bpm,
                float(u.quality_ok),
                u.phase_index,
                float(u.rewarded),
            ]
            for u in updates
        ],
        dtype=np.float32,
    )
    np.testing.assert_array_equal(got, expected)  # NaN == NaN here
    assert info.type() == "Metrics"
    assert info.source_id() == metrics_source_id(station) == f"biotrainer-{station}-metrics"
    assert info.nominal_srate() == pylsl.IRREGULAR_RATE
    assert [c[0] for c in _channels(info)] == [label for label, _ in METRIC_CHANNELS]
    desc = info.desc()
    assert desc.child_value("station") == station
    assert desc.child_value("patient_code") == "P-017"
    assert desc.child_value("protocol") == "alpha-uptraining"
    phases = []
    ph = desc.child("phases").child("phase")
    while not ph.empty():
        phases.append(ph.child_value("name"))
        ph = ph.next_sibling("phase")
    assert phases == [p.name for p in protocol.phases]


def test_time_map_keeps_spacing_resyncs_only_outside_window():
    clock = FakeLslClock(5000.0)
    tm = TimeMap(clock)
    t = 1.7e9 + np.arange(10) / 250
    first = tm.map_block(t)
    assert first[-1] == pytest.approx(5000.0)
    np.testing.assert_allclose(np.diff(first), 1 / 250, atol=1e-6)
    # 2 s later the device delivers the next 2 s, 0.5 s late: a backlog, the offset holds.
    clock.t += 2.5
    nxt = tm.map_block(t[-1] + np.arange(1, 501) / 250)
    assert tm.resyncs == 0 and nxt[0] - first[-1] == pytest.approx(1 / 250, abs=1e-6)
    # Samples from the "future" (accelerated replay): re-anchored on now.
    clock.t += 0.1
    fut = tm.map_block(t[-1] + 60 + np.arange(5) / 250)
    assert tm.resyncs == 1 and fut[-1] == pytest.approx(clock.t)
    # Metric times map with the same offset, or fall back to now when stale.
    assert tm.map_point(t[-1] + 60) == pytest.approx(fut[-1] - 4 / 250)
    clock.t += 30
    assert tm.map_point(t[-1] + 60) == clock.t


def test_metric_stamps_never_go_back_after_a_gap(unique):
    """After an 8-s hole the engine sends its "signal lost" updates at once: their data times
    are over 5 s old and were stamped "now", the later ones at their mapped, earlier times (a
    step back of 5 s, and a run of identical stamps)."""
    clock = FakeLslClock(1000.0)
    with LslOutlets(layout_eeg_ecg_ppg(), f"gap{unique}", raw=False, lsl_clock=clock) as out:
        stamps: list[float] = []
        real = out.metrics_outlet

        class Recording:
            def push_sample(self, buf, stamp) -> None:
                stamps.append(stamp)

        out.metrics_outlet = Recording()
        try:
            out.time_map.map_block(np.array([999.9, 1000.0]))  # data time = LSL time
            clock.t = 1008.5
            for t in np.arange(1000.1, 1008.45, 0.1):
                out.push_update(update(sample_time=float(t)))
        finally:
            out.metrics_outlet = real
    assert np.all(np.diff(stamps) >= 0)
    assert stamps[-1] == pytest.approx(1008.5)


def test_raw_stamps_never_go_back_when_the_source_clock_steps_back(unique):
    """A step back of the source's clock (BrainFlow's Unix time corrected by NTP) smaller
    than the time map re-anchors for went out as raw LSL stamps 2 s back: LabRecorder and
    MNE-LSL take stamps to rise. They are held until the step is made up."""
    layout = layout_eeg_ecg_ppg()
    clock = FakeLslClock(1000.0)
    with LslOutlets(layout, f"back{unique}", lsl_clock=clock) as out:
        stamps: list[float] = []
        real = out.raw_outlets["eeg"]

        class Recording:
            def push_chunk(self, samples, chunk_stamps) -> None:
                stamps.extend(chunk_stamps)

        out.raw_outlets = {"eeg": Recording()}
        try:
            t = 1.7e9 + np.arange(500) / 250.0
            t[250:] -= 2.0  # the clock set back 2 s after 1 s of samples
            for i in range(0, 500, 25):
                clock.t = 1000.0 + i / 250.0
                raw = np.zeros((8, 25))
                raw[7] = t[i : i + 25]
                out.push_chunk(chunk_of(layout, raw))
        finally:
            out.raw_outlets = {"eeg": real}
    assert len(stamps) == 500 and np.all(np.diff(stamps) >= 0)
    assert out.time_map.resyncs == 0  # (a step within the map's window: not re-anchored)


@pytest.mark.parametrize("bad", ["", "a" * 65, "x/y", "tab\there", " P1", "Émile", "<b>"])
def test_patient_code_rejects_junk(bad):
    with pytest.raises(BiotrainerError, match="pseudonymous"):
        check_code(bad, "patient code")


@pytest.mark.parametrize("bad", ["room 1", "a" * 33, "-lead", "x/y"])
def test_station_name_rejects_what_cannot_be_in_a_stream_name(bad):
    with pytest.raises(BiotrainerError, match="1-32") as raised:
        check_code(bad, "station name")
    assert "pseudonymous" not in str(raised.value)  # that is said of patient codes


def test_the_message_says_the_letters_are_ascii():
    """The message said "letters" for A-Z and a-z only (é is a letter too)."""
    with pytest.raises(BiotrainerError, match=r"ASCII letters \(A-Z, a-z\)"):
        check_code("Pé-1", "patient code")


def test_good_codes_pass():
    assert check_code("P-017", "patient code") == "P-017"
    assert check_code("P 017", "patient code") == "P 017"
    assert check_code("room1.left_2", "station name") == "room1.left_2"


class ListSource:
    """Serves a fixed list of chunks, one per poll."""

    def __init__(self, layout, chunks) -> None:
        self.layout, self.chunks, self.state = layout, list(chunks), SourceState.IDLE
        self.extra = "kept"

    def prepare(self):
        self.state = SourceState.PREPARED

    def start(self):
        self.state = SourceState.STREAMING

    def poll(self):
        return self.chunks.pop(0) if self.chunks else chunk_of(self.layout, np.zeros((8, 0)))

    def stop(self):
        self.state = SourceState.STOPPED

    def release(self):
        self.state = SourceState.RELEASED


def test_tee_serves_the_source_unchanged_and_streams_each_chunk(unique):
    layout = layout_eeg_ecg_ppg()
    raws = []
    for k in range(3):
        raw = np.full((8, 5), float(k))
        raw[7] = 50.0 + k * 5 / 250 + np.arange(5) / 250
        raws.append(raw)
    src = ListSource(layout, [chunk_of(layout, r) for r in raws])
    with LslOutlets(layout, f"t{unique}") as outlets:
        tee = LslTee(src, outlets)
        inlet = open_inlet(raw_stream_name("ppg", f"t{unique}"))
        tee.prepare()
        tee.start()
        polled = [tee.poll() for _ in range(4)]
        got, _ = pull_n(inlet, 15)
        tee.stop()
        tee.release()
    assert [c.raw["default"].shape[1] for c in polled] == [5, 5, 5, 0]
    assert polled[1].raw["default"] is not None and np.all(polled[1].raw["default"][:7] == 1.0)
    assert tee.layout is layout and tee.extra == "kept" and tee.state is SourceState.RELEASED
    np.testing.assert_array_equal(got[:, 0], np.repeat([0.0, 1.0, 2.0], 5))


@pytest.mark.parametrize("name", ["_x", ".room", "-1"])
def test_a_station_name_must_start_with_a_letter_or_digit_and_says_so(name):
    """``--lsl _x`` was told to use letters, digits, '_', '.' or '-': which it did."""
    with pytest.raises(BiotrainerError, match="starting with a letter or digit"):
        check_code(name, "station name")
