"""EDF export of a Bluetooth headset that lost packets on the way (a Muse: 12 EEG samples a
packet at 256 Hz, 6 PPG samples at 64 Hz, each packet numbered).

BrainFlow stamps a packet's samples over the time since the packet before, so the timestamps
show no gap where one was lost. The EDF laid the EEG out sample after sample: its time axis ran
behind by every lost packet, the markers (placed by time) drifted off their samples, and the
PPG (laid out at its own rate) parted from the EEG by its own losses. With the headset's packet
numbers the EDF holds each signal's last value over the samples lost, and says so.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyedflib
import pytest
from sessionkit import MUSE2, T0, record_arrays

from biotrainer.acquisition.counter import PacketCounter
from biotrainer.acquisition.simulator.packets import bluetooth_packets
from biotrainer.session.edf import export_edf

SECONDS = 90.0
PER_PACKET = {"default": 12, "ancillary": 6}


def _counted(layout):
    presets = tuple(
        replace(p, counter=PacketCounter(0, PER_PACKET[p.preset], 1, 65536))
        if p.preset in PER_PACKET
        else p
        for p in layout.presets
    )
    return replace(layout, presets=presets)


def _sent() -> dict[str, np.ndarray]:
    """Each preset's signal rows hold the sample's true time (s from T0): where a sample lands
    in the EDF says how far off its time axis it is."""
    out = {}
    for p in MUSE2.presets:
        n = round(SECONDS * p.fs)
        t = np.arange(n) / p.fs
        a = np.zeros((p.num_rows, n))
        for g in MUSE2.groups:
            if g.preset == p.preset:
                a[list(g.rows)] = t
        a[p.timestamp_row] = T0 + t
        out[p.preset] = a
    return out


def _arrived(sent, loss: float, seed: int = 4):
    """The presets' samples as the headset's Bluetooth link delivers them, one in ``1/loss``
    packets lost (the auxiliary preset whole: it is not counted)."""
    out, lost = {}, {}
    for p in MUSE2.presets:
        if p.preset not in PER_PACKET:
            out[p.preset] = sent[p.preset]
            continue
        s = bluetooth_packets(
            sent[p.preset], p.fs, p.timestamp_row, 0, PER_PACKET[p.preset], loss,
            np.random.default_rng(seed), latency_jitter_s=0.0,
        )  # fmt: skip
        out[p.preset], lost[p.preset] = s.data, s.lost_packets * PER_PACKET[p.preset]
    return out, lost


def _read(path: Path) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    f = pyedflib.EdfReader(str(path))
    try:
        labels = f.getSignalLabels()
        sig = {lab: f.readSignal(i) for i, lab in enumerate(labels)}
        onsets = dict(zip(f.readAnnotations()[2], f.readAnnotations()[0], strict=True))
    finally:
        f.close()
    return sig, onsets


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("edf-losses")
    raw, lost = _arrived(_sent(), 0.02)
    events = ((T0 + 80.0, "marker", "at 80 s"),)
    folder = record_arrays(_counted(MUSE2), raw, out=tmp / "s", events=events).path
    result = export_edf(folder, tmp / "o.edf")
    return result, *_read(tmp / "o.edf"), lost


def _off_s(y: np.ndarray, fs: float, upto: int) -> np.ndarray:
    """How far (s) each EDF slot's value (a true time) is from the slot's own time."""
    return y[:upto] - np.arange(upto) / fs


def test_the_signals_keep_their_time_over_lost_packets(exported) -> None:
    result, sig, _onsets, lost = exported
    assert lost["default"] > 0 and lost["ancillary"] > 0
    n = round(SECONDS * 256) - 12  # (the last packet may be lost)
    eeg = _off_s(sig["EEG AF7"], 256.0, n)
    # each slot holds its own sample, or the last one before a loss (never a later one)
    assert eeg.max() <= 1e-3
    assert eeg.min() >= -(13 / 256 + 1e-3) * 3  # (at most a few packets in a row lost)
    held = eeg < -1e-3
    assert held.sum() == pytest.approx(lost["default"], abs=12)
    ppg = _off_s(sig["PPG ir"], 64.0, round(SECONDS * 64) - 6)
    assert ppg.max() <= 1e-3 and ppg.min() >= -(7 / 64 + 1e-3) * 3
    notes = [w for w in result.warnings if "lost" in w and "packet numbers" in w]
    assert len(notes) == 2, result.warnings
    assert f"lost {lost['default']} samples of raw_default.csv" in notes[0]
    assert "EEG holds its last value there, so the signals keep their time" in notes[0]


def test_a_marker_stays_on_its_sample(exported) -> None:
    _result, _sig, onsets, _lost = exported
    assert onsets["marker: at 80 s"] == pytest.approx(80.0, abs=2 / 256)


def test_guard_uncounted_the_time_axis_runs_behind(tmp_path) -> None:
    """Guard: the same arrival without the counter rule (as before): the EEG runs behind by
    its losses, about 1.8 s after 90 s, so the test above measures the counting."""
    raw, lost = _arrived(_sent(), 0.02)
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s").path
    export_edf(folder, tmp_path / "o.edf")
    sig, _ = _read(tmp_path / "o.edf")
    n = raw["default"].shape[1]
    assert _off_s(sig["EEG AF7"], 256.0, n)[-1] == pytest.approx(lost["default"] / 256, abs=0.05)
    assert lost["default"] / 256 > 1.0


def test_a_counter_that_does_not_fit_the_timestamps_holds_nothing_and_is_said(tmp_path) -> None:
    """A rule of 1 step a packet for numbers that go up by 2: every packet would follow a lost
    one, which the timestamps leave no time for. The EDF holds nothing for it, and says why."""
    raw = _sent()
    for preset, per in PER_PACKET.items():
        n = raw[preset].shape[1]
        raw[preset][0] = 2 * (np.arange(n) // per)
    folder = record_arrays(_counted(MUSE2), raw, out=tmp_path / "s").path
    result = export_edf(folder, tmp_path / "o.edf")
    sig, _ = _read(tmp_path / "o.edf")
    n = raw["default"].shape[1]
    assert np.abs(_off_s(sig["EEG AF7"], 256.0, n)).max() <= 1e-3  # laid out as it came
    said = [w for w in result.warnings if "than its timestamps leave time for" in w]
    assert [w.split(":")[0] for w in said] == ["raw_default.csv", "raw_ancillary.csv"]
    assert not any("on the way" in w for w in result.warnings)


def test_a_long_loss_is_said_once_and_marked_as_no_data(tmp_path) -> None:
    """Three seconds of EEG packets lost at once: one note (the device lost ...), not also
    "has no samples for 3.0 s" for the same stretch (found by an audit); and in the file an
    annotation over the held stretch, as over padding (a reader of the EDF alone took the held
    value for signal)."""
    raw = _sent()
    p = MUSE2.preset("default")
    raw["default"] = bluetooth_packets(
        raw["default"], p.fs, p.timestamp_row, 0, 12, 0.0, np.random.default_rng(0),
        latency_jitter_s=0.0, lose=slice(640, 704),  # (3 s from 30 s)
    ).data  # fmt: skip
    folder = record_arrays(_counted(MUSE2), raw, out=tmp_path / "s").path
    result = export_edf(folder, tmp_path / "o.edf")
    about = [w for w in result.warnings if "raw_default.csv" in w]
    assert len(about) == 1 and about[0].startswith("the device lost 768 samples"), about
    sig, _ = _read(tmp_path / "o.edf")
    assert np.abs(_off_s(sig["EEG AF7"], 256.0, 29 * 256)).max() <= 1e-3  # (before the loss)
    assert abs(_off_s(sig["EEG AF7"], 256.0, 40 * 256)[-1]) <= 1e-3  # (in time after it)
    # the held stretch is marked in the file as holding no data (as padding is)
    f = pyedflib.EdfReader(str(tmp_path / "o.edf"))
    try:
        onsets, durations, texts = f.readAnnotations()
    finally:
        f.close()
    marked = [
        (round(o, 3), round(d, 3))
        for o, d, t in zip(onsets, durations, texts, strict=True)
        if t == "padding (no data): EEG" and o < 80
    ]
    assert marked == [(30.0, 3.0)]
