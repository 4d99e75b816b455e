"""What an LSL source assumed or did is written into the recording (``events.csv``).

An EEG or ECG stream with no unit, or a unit word biotrainer does not know, was taken as
microvolts without a word; a sender whose clock stepped back had its timestamps moved forward
(:class:`~biotrainer.acquisition.lsl_source.Dejitterer`) without a word either. Both are now
``source_note`` events, through the engine or ``record`` and through the reconnecting wrapper
the commands put around a live source.
"""

from __future__ import annotations

import csv

import numpy as np
import pylsl
import pytest
from lslkit import WAIT_S, wait_until

from biotrainer.acquisition.lsl_source import EVENT_SOURCE_NOTE, LslSource, unit_notes
from biotrainer.acquisition.reconnect import ReconnectingSource
from biotrainer.clock import MonotonicClock
from biotrainer.session.recorder import EVENTS_FILE, Recorder

FS = 250.0


def _outlet(name: str, units: tuple[str, ...], kind: str = "EEG") -> pylsl.StreamOutlet:
    labels = ("TP9", "AF7", "AF8", "TP10")[: len(units)]
    info = pylsl.StreamInfo(name, kind, len(units), FS, pylsl.cf_float32, f"{name}-id")
    chans = info.desc().append_child("channels")
    for label, unit in zip(labels, units, strict=True):
        ch = chans.append_child("channel")
        ch.append_child_value("label", label)
        if unit:
            ch.append_child_value("unit", unit)
        ch.append_child_value("type", kind)
    return pylsl.StreamOutlet(info)


def _push(outlet: pylsl.StreamOutlet, n_channels: int, stamps: np.ndarray) -> None:
    x = np.full((stamps.size, n_channels), 2.0, dtype=np.float32)
    for i in range(0, stamps.size, 125):
        outlet.push_chunk(x[i : i + 125], stamps[i : i + 125].tolist())


def _gather(source, n: int) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Poll until ``n`` samples came; their raw rows and the events taken on the way."""
    raws, events = [], []

    def enough() -> bool:
        chunk = source.poll()
        if chunk.raw and chunk.raw["default"].shape[1]:
            raws.append(chunk.raw["default"])
        events.extend(source.take_events())
        return sum(r.shape[1] for r in raws) >= n

    assert wait_until(enough), f"{sum(r.shape[1] for r in raws)} of {n} samples"
    return np.concatenate(raws, axis=1), events


def test_units_taken_as_microvolts_are_named_by_channel():
    assert unit_notes("eeg", ["TP9", "AF7", "AF8"], ["microvolts", "uV", "\u03bcV"]) == []
    assert unit_notes("eeg", ["TP9"], ["\u00b5V"]) == []  # (micro sign, Greek mu above)
    assert unit_notes("eeg", ["TP9", "AF7"], ["", ""]) == [
        "its EEG channels give no unit: taken as microvolts (the quality limits and the "
        "amplitudes shown are wrong if they are not)"
    ]
    notes = unit_notes("ecg", ["I", "II", "III"], ["mV", "counts", "counts"])
    assert notes == [
        "ECG channels II, III give the unit 'counts', which biotrainer does not know: taken as "
        "microvolts (the quality limits and the amplitudes shown are wrong if they are not)"
    ]


def test_a_stream_without_units_says_so_once_its_samples_come(unique):
    name = f"eeg-nounit-{unique}"
    outlet = _outlet(name, ("", "", "microvolts"))
    source = LslSource(name, "EEG", MonotonicClock(), resolve_timeout=WAIT_S)
    try:
        source.start()
        assert source.take_events() == []  # (before any sample: nothing said yet)
        first = pylsl.local_clock() - 1.0 + np.arange(250) / FS
        _push(outlet, 3, first)
        _, events = _gather(source, 250)
        assert events == [
            (
                EVENT_SOURCE_NOTE,
                f"LSL stream '{name}': EEG channels TP9, AF7 give no unit: taken as microvolts "
                "(the quality limits and the amplitudes shown are wrong if they are not)",
            )
        ]
        _push(outlet, 3, first[-1] + np.arange(1, 126) / FS)
        _, more = _gather(source, 125)
        assert more == []  # said once
    finally:
        source.release()


def test_nanovolts_are_scaled_to_microvolts(unique):
    name = f"eeg-nv-{unique}"
    outlet = _outlet(name, ("nV", "nanovolts"))
    source = LslSource(name, "EEG", MonotonicClock(), resolve_timeout=WAIT_S)
    try:
        source.start()
        _push(outlet, 2, pylsl.local_clock() - 1.0 + np.arange(250) / FS)
        raw, events = _gather(source, 250)
        np.testing.assert_allclose(raw[:2], 2e-3)  # 2 nV = 0.002 µV (it was read as 2 µV)
        assert events == []
    finally:
        source.release()


def test_a_step_back_of_the_sender_clock_is_written_to_the_recording(unique, data_dir):
    """Through the reconnecting wrapper the commands use, into events.csv at the step."""
    name = f"eeg-stepback-{unique}"
    outlet = _outlet(name, ("microvolts", "microvolts"))
    clock = MonotonicClock()
    source = ReconnectingSource(
        lambda: LslSource(name, "EEG", clock, resolve_timeout=WAIT_S), clock
    )
    recorder = None
    try:
        source.prepare()
        source.start()
        recorder = Recorder.create(source.layout, data_directory=data_dir, clock=clock, fsync=False)
        k = np.arange(2500, dtype=float)
        sent = k / FS - np.where(k >= 1500, 3.0, 0.0)  # the sender's clock goes back 3 s
        sent += pylsl.local_clock() - sent[1499] - 1.0
        _push(outlet, 2, sent)
        raws = []

        def got_all() -> bool:
            chunk = source.poll()
            if chunk.raw and chunk.raw["default"].shape[1]:
                raws.append(chunk.raw["default"])
                recorder.write(chunk)
            for kind, text in source.take_events():
                recorder.add_event(kind, text)
            return sum(r.shape[1] for r in raws) >= k.size

        assert wait_until(got_all)
        recorder.close()
        stamps = np.concatenate(raws, axis=1)[2]
        with open(recorder.path / EVENTS_FILE, newline="", encoding="utf-8") as f:
            notes = [r for r in csv.DictReader(f) if r["kind"] == EVENT_SOURCE_NOTE]
        assert len(notes) == 1, notes
        text = notes[0]["text"]
        assert text.startswith(f"LSL stream '{name}': the sender's clock stepped back 3.0")
        assert "moved forward by that much" in text
        assert stamps[1499] <= float(notes[0]["time"]) <= stamps[-1]
    finally:
        if recorder is not None and not recorder.closed:
            recorder.close()
        source.release()


@pytest.mark.parametrize("unit", ["", "counts"])
def test_an_ecg_stream_with_an_unknown_unit_says_so_too(unique, unit):
    name = f"ecg-unit-{unique}"
    outlet = _outlet(name, (unit,), kind="ECG")
    source = LslSource(name, "ECG", MonotonicClock(), resolve_timeout=WAIT_S)
    try:
        source.start()
        _push(outlet, 1, pylsl.local_clock() - 1.0 + np.arange(250) / FS)
        _, events = _gather(source, 250)
        said = "give no unit" if not unit else f"give the unit {unit!r}"
        assert len(events) == 1 and said in events[0][1] and "ECG" in events[0][1], events
    finally:
        source.release()
