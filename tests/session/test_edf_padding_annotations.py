"""The EDF+ export marks its padded stretches (held values, no recorded data) as annotations.

A preset that started later than the earliest one is padded at the front with its first value
and every signal is padded at the end with its last value up to a whole data record; a reader
of the file (EDFbrowser, MNE) saw those held values as signal, with nothing in the file saying
otherwise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyedflib
import pytest
from sessionkit import MUSE2, T0, make_raw, record_arrays

from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout
from biotrainer.session.edf import export_edf

#: What a reader looks for in the file's annotation list.
PADDING = "padding (no data)"
#: EDF+ TAL onsets and durations are written to 100 µs.
TAL_S = 1e-4


def _read(path: Path) -> tuple[dict[str, np.ndarray], list[tuple[float, float, str]], float]:
    """Signals by label, annotations ``(onset, duration, text)`` and the file's length (s)."""
    f = pyedflib.EdfReader(str(path))
    try:
        labels = f.getSignalLabels()
        sig = {lab: f.readSignal(i) for i, lab in enumerate(labels)}
        onsets, durations, texts = f.readAnnotations()
        annotations = [
            (float(o), float(d), str(t)) for o, d, t in zip(onsets, durations, texts, strict=True)
        ]
        length_s = f.datarecords_in_file * f.datarecord_duration
    finally:
        f.close()
    return sig, annotations, length_s


def _padding(annotations: list[tuple[float, float, str]]) -> dict[str, list[tuple[float, float]]]:
    """The padding annotations' stretches by the roles their text names."""
    out: dict[str, list[tuple[float, float]]] = {}
    for onset, duration, text in annotations:
        if text.startswith(PADDING):
            out.setdefault(text.removeprefix(f"{PADDING}: "), []).append((onset, duration))
    return out


def _ecg_layout(fs: float) -> SourceLayout:
    return SourceLayout(
        device="odd",
        board_id=-1,
        presets=(PresetLayout("default", fs, 3, 2, None),),
        groups=(ChannelGroup("ecg", "default", (1,), ("lead",), "uV"),),
    )


@pytest.mark.parametrize(
    ("fs", "seconds"),
    [(256.0, 5.3), (100.5, 3.1), (100.123, 3.5)],  # 1 s records, 2 s records, a rounded rate
)
def test_the_end_padding_is_an_annotation_over_the_held_stretch(
    tmp_path: Path, fs: float, seconds: float
) -> None:
    """The samples after the last recorded one, up to a whole data record, hold its value: one
    annotation covers exactly them, on the file's own time axis."""
    layout = _ecg_layout(fs)
    raw = make_raw(layout, seconds)
    events = ((T0 + 1.0, "marker", "eyes closed"),)
    folder = record_arrays(layout, raw, out=tmp_path / "s", events=events).path
    result = export_edf(folder, tmp_path / "o.edf")
    sig, annotations, length_s = _read(tmp_path / "o.edf")
    y = sig["ECG lead"]
    recorded = raw["default"].shape[1]
    assert recorded < y.size  # the session does not fill its last data record
    slot_s = length_s / y.size
    padding = _padding(annotations)
    assert list(padding) == ["ECG"] and len(padding["ECG"]) == 1
    onset, duration = padding["ECG"][0]
    assert onset == pytest.approx(recorded * slot_s, abs=TAL_S)
    assert duration == pytest.approx(length_s - recorded * slot_s, abs=TAL_S)
    assert np.all(y[recorded:] == y[recorded - 1])  # what the annotation covers is held
    # the event is as it was (no duration), and every annotation is counted
    assert [(t, d) for _o, d, t in annotations if not t.startswith(PADDING)] == [
        ("marker: eyes closed", -1.0)
    ]
    assert result.n_annotations == len(annotations) == 2


def test_a_late_preset_has_its_front_padding_annotated(tmp_path: Path) -> None:
    """The PPG began 1 s and the accelerometer 0.5 s after the EEG: their first values are
    held from the file's start until then, and each signal's last value to its end."""
    raw = make_raw(MUSE2, 5.3)
    raw["ancillary"] = raw["ancillary"][:, 64:]  # PPG from 1 s on
    raw["auxiliary"] = raw["auxiliary"][:, 26:]  # accelerometer and gyroscope from 0.5 s on
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s").path
    result = export_edf(folder, tmp_path / "o.edf")
    sig, annotations, length_s = _read(tmp_path / "o.edf")
    t0 = min(raw[p.preset][p.timestamp_row, 0] for p in MUSE2.presets)
    expected: dict[str, list[tuple[float, float]]] = {}
    for who, preset, label in (("EEG", "default", "EEG AF7"), ("ACCEL, GYRO", "auxiliary",
                               "GYRO y"), ("PPG", "ancillary", "PPG red")):  # fmt: skip
        p = MUSE2.preset(preset)
        lead = round((raw[preset][p.timestamp_row, 0] - t0) * p.fs)
        end = lead + raw[preset].shape[1]
        stretches = [(0.0, lead / p.fs)] if lead else []
        expected[who] = [*stretches, (end / p.fs, length_s - end / p.fs)]
        y = sig[label]
        assert np.all(y[:lead] == y[lead]) and np.all(y[end:] == y[end - 1]), label
    padding = _padding(annotations)
    assert sorted(padding) == sorted(expected)
    for who, stretches in expected.items():
        np.testing.assert_allclose(sorted(padding[who]), stretches, atol=TAL_S, err_msg=who)
    assert len(expected["PPG"]) == 2 and expected["PPG"][0][1] == pytest.approx(1.0)
    assert result.n_annotations == len(annotations) == 5
    assert result.warnings == ()


def test_signals_padded_over_the_same_stretch_share_one_annotation(tmp_path: Path) -> None:
    """Two presets at one rate that end together are padded alike: one annotation names both."""
    layout = SourceLayout(
        device="odd",
        board_id=-1,
        presets=(
            PresetLayout("default", 250.0, 3, 2, None),
            PresetLayout("auxiliary", 250.0, 3, 2),
        ),
        groups=(
            ChannelGroup("eeg", "default", (1,), ("Cz",), "uV"),
            ChannelGroup("ecg", "auxiliary", (1,), ("lead",), "uV"),
        ),
    )
    raw = make_raw(layout, 2.5)
    folder = record_arrays(layout, raw, out=tmp_path / "s").path
    export_edf(folder, tmp_path / "o.edf")
    _sig, annotations, length_s = _read(tmp_path / "o.edf")
    assert _padding(annotations) == {"EEG, ECG": [pytest.approx((2.5, length_s - 2.5), abs=TAL_S)]}


def test_padding_annotations_are_all_kept_beside_many_events(tmp_path: Path) -> None:
    """The annotation signals are counted with the padding annotation in: 42 events fill the
    3 data records of a 2.5 s session 14 to a record, and the end padding still fits."""
    raw = make_raw(MUSE2, 2.5)
    events = tuple((T0 + 0.05 * k, "marker", f"m{k}") for k in range(42))
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s", events=events).path
    result = export_edf(folder, tmp_path / "o.edf")
    _sig, annotations, length_s = _read(tmp_path / "o.edf")
    texts = [t for _o, _d, t in annotations]
    assert [t for t in texts if not t.startswith(PADDING)] == [f"marker: m{k}" for k in range(42)]
    # every preset ends at 2.5 s: one stretch, one annotation naming them all
    assert _padding(annotations) == {
        "EEG, ACCEL, GYRO, PPG": [pytest.approx((2.5, length_s - 2.5), abs=TAL_S)]
    }
    assert result.n_annotations == len(annotations) == 43 and result.n_records == 3
    assert not any("fit in the file" in w for w in result.warnings)


def test_padding_annotations_are_kept_when_the_events_do_not_fit(tmp_path: Path) -> None:
    """A short session with a long note (100 pieces of 40 bytes) has room for 64 annotations:
    the padding ones were written after the events and were the ones lost, so nothing in the
    file said that its end held no recorded data."""
    raw = make_raw(MUSE2, 0.2)
    note = " ".join(f"word{k:04d}" for k in range(400))
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s", events=((T0 + 0.05, "note", note),)).path
    result = export_edf(folder, tmp_path / "o.edf")
    _sig, annotations, _length_s = _read(tmp_path / "o.edf")
    assert result.n_records == 1 and len(annotations) == 64
    assert sum(t.startswith(PADDING) for _o, _d, t in annotations) >= 1
    notes = [t for _o, _d, t in annotations if not t.startswith(PADDING)]
    assert notes[0].startswith("note: word0000") and notes[1].startswith("…word0003")
    assert [o for o, _d, _t in annotations] == sorted(o for o, _d, _t in annotations)
    assert any("fit in the file" in w for w in result.warnings)
