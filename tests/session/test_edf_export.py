"""EDF+ export re-read with pyedflib: labels, units, rates, samples, annotations, start time."""

from __future__ import annotations

import stat
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pyedflib
import pytest
from sessionkit import MUSE2, T0, make_raw, record_arrays

from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout
from biotrainer.errors import RecordingError
from biotrainer.session import load_session
from biotrainer.session.edf import export_edf, physical_range, record_duration


def _read(path: Path):
    f = pyedflib.EdfReader(str(path))
    try:
        labels = f.getSignalLabels()
        sig = {lab: f.readSignal(i) for i, lab in enumerate(labels)}
        info = {
            "fs": dict(zip(labels, f.getSampleFrequencies(), strict=True)),
            "dims": [f.getPhysicalDimension(i) for i in range(len(labels))],
            "start": f.getStartdatetime(),
            "annotations": f.readAnnotations(),
            "record": f.datarecord_duration,
        }
    finally:
        f.close()
    return sig, info


def test_round_trip_three_presets(tmp_path: Path) -> None:
    raw = make_raw(MUSE2, 5.3)
    events = ((T0 + 1.25, "marker", "eyes closed"), (T0 + 3.5, "note", "moved"))
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s", events=events).path
    result = export_edf(folder, tmp_path / "out.edf")
    assert stat.S_IMODE((tmp_path / "out.edf").stat().st_mode) == 0o600
    sig, info = _read(tmp_path / "out.edf")
    assert list(sig) == [
        "EEG TP9", "EEG AF7", "EEG AF8", "EEG TP10",
        "ACCEL x", "ACCEL y", "ACCEL z", "GYRO x", "GYRO y", "GYRO z",
        "PPG ambient", "PPG ir", "PPG red",
    ]  # fmt: skip
    assert info["fs"]["EEG AF7"] == 256 and info["fs"]["ACCEL x"] == 52
    assert info["fs"]["PPG ir"] == 64
    assert info["dims"][:4] == ["uV"] * 4 and info["dims"][-1] == "a.u."
    assert info["record"] == result.record_duration_s == 1
    assert info["start"].replace(microsecond=0) == datetime(2024, 5, 6, 7, 8, 9)
    steps = {s.label: s.quantisation_step for s in result.signals}
    layout_rows = [
        (f"{g.role.upper()} {name}", g.preset, row)
        for g in MUSE2.groups
        for row, name in zip(g.rows, g.names, strict=True)
    ]
    for label, preset, row in layout_rows:
        x = raw[preset][row]
        y = sig[label]
        assert len(y) == result.n_records * info["fs"][label] >= len(x)
        assert np.max(np.abs(y[: len(x)] - x)) <= steps[label] / 2 + 1e-9, label
        assert np.allclose(y[len(x) :], x[-1], atol=steps[label])  # padded with the last value
    onsets, _durations, texts = info["annotations"]
    assert list(texts) == ["marker: eyes closed", "note: moved"]
    np.testing.assert_allclose(onsets, [1.25, 3.5], atol=1e-4)


def test_quantisation_step_is_small_relative_to_the_data(tmp_path: Path) -> None:
    raw = make_raw(MUSE2, 2.0)
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s").path
    result = export_edf(load_session(folder), tmp_path / "o.edf")
    for s in result.signals:
        assert s.quantisation_step < (s.physical_max - s.physical_min) / 60000


def test_later_preset_start_is_aligned(tmp_path: Path) -> None:
    raw = make_raw(MUSE2, 4.0)
    anc = MUSE2.preset("ancillary")
    raw["ancillary"] = raw["ancillary"][:, 64:]  # PPG starts 1 s after EEG
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s").path
    result = export_edf(folder, tmp_path / "o.edf")
    sig, _ = _read(tmp_path / "o.edf")
    step = {s.label: s.quantisation_step for s in result.signals}["PPG ir"]
    x = raw["ancillary"][2]
    assert np.max(np.abs(sig["PPG ir"][64 : 64 + len(x)] - x)) <= step / 2 + 1e-9
    assert np.allclose(sig["PPG ir"][:64], x[0], atol=step)
    assert anc.fs == 64.0


def test_record_duration_for_non_integer_rates() -> None:
    assert record_duration([256.0, 52.0, 64.0]) == (1, True)
    assert record_duration([7.8125]) == (16, True)
    assert record_duration([1000 / 3, 250.0]) == (3, True)
    assert record_duration([100.123]) == (1, False)


def test_non_integer_rate_is_reported(tmp_path: Path) -> None:
    layout = SourceLayout(
        device="odd",
        board_id=-1,
        presets=(PresetLayout("default", 100.5, 3, 2, None),),
        groups=(ChannelGroup("ecg", "default", (1,), ("lead",), "uV"),),
    )
    raw = make_raw(layout, 6.0)
    folder = record_arrays(layout, raw, out=tmp_path / "s").path
    result = export_edf(folder, tmp_path / "o.edf")
    assert result.record_duration_s == 2 and result.warnings == ()
    _sig, info = _read(tmp_path / "o.edf")
    assert info["fs"]["ECG lead"] == pytest.approx(100.5)
    odd = replace(layout, presets=(PresetLayout("default", 100.123, 3, 2, None),))
    folder2 = record_arrays(odd, make_raw(odd, 3.0), out=tmp_path / "s2").path
    result2 = export_edf(folder2, tmp_path / "o2.edf")
    assert any("100.123 Hz cannot be stored exactly" in w for w in result2.warnings)


def test_physical_range_fits_edf_fields_and_covers_data() -> None:
    for values in (
        np.array([-123456.789, 98765.4321]),
        np.array([0.5, 0.5]),
        np.array([1e-7, 3e-7]),
        np.array([np.nan, 2.0, np.inf]),
    ):
        lo, hi = physical_range(values)
        finite = values[np.isfinite(values)]
        assert lo < hi and lo <= finite.min() and hi >= finite.max()
        assert len(repr(lo).rstrip("0")) <= 10 and len(f"{hi}") <= 12
    with pytest.raises(RecordingError, match="too large for EDF"):
        physical_range(np.array([0.0, 5e9]))
