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
    events = [(o, t) for o, t in zip(onsets, texts, strict=True) if not t.startswith("padding")]
    assert [t for _o, t in events] == ["marker: eyes closed", "note: moved"]
    np.testing.assert_allclose([o for o, _t in events], [1.25, 3.5], atol=1e-4)


def test_a_preset_without_samples_is_left_out_and_said(tmp_path: Path) -> None:
    """A session whose EEG file is empty (the headband's EEG never came) exports its other
    signals, and the export says the EEG is not in the file (it said nothing)."""
    folder = record_arrays(MUSE2, make_raw(MUSE2, 5.3), out=tmp_path / "s").path
    (folder / "raw_default.csv").write_bytes(b"")
    result = export_edf(folder, tmp_path / "out.edf")
    sig, _ = _read(tmp_path / "out.edf")
    assert not any(label.startswith("EEG") for label in sig) and "PPG ir" in sig
    assert "raw_default.csv holds no samples: EEG (TP9, AF7, AF8, TP10) is not in the EDF" in (
        result.warnings
    )


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


# -- what EDF+ or edflib cannot hold as such (audit of the seventh session) ---------------------


def _raw_header(path: Path) -> tuple[bytes, int, list[str], list[int]]:
    head = path.read_bytes()
    ns = int(head[252:256])
    labels = [head[256 + 16 * i : 256 + 16 * (i + 1)].decode().strip() for i in range(ns)]
    spr = [int(head[256 + ns * 216 + 8 * i : 256 + ns * 216 + 8 * (i + 1)]) for i in range(ns)]
    return head, ns, labels, spr


def _header_ranges(path: Path) -> list[tuple[str, str]]:
    """The physical min/max fields as written (text)."""
    head, ns, labels, _ = _raw_header(path)
    field = lambda start, i: head[256 + ns * start + 8 * i : 256 + ns * start + 8 * (i + 1)]  # noqa: E731
    return [
        (field(104, i).decode().strip(), field(112, i).decode().strip())
        for i, lab in enumerate(labels)
        if lab != "EDF Annotations"
    ]


def _first_tal_onset(path: Path) -> float:
    """The sub-second start as EDF+ defines it: the first TAL of the first data record."""
    head, _ns, labels, spr = _raw_header(path)
    header_bytes = int(head[184:192])
    ai = labels.index("EDF Annotations")
    off = header_bytes + 2 * sum(spr[:ai])
    return float(head[off : off + 2 * spr[ai]].split(b"\x14")[0].decode())


def test_every_event_is_an_annotation_even_more_than_one_a_second(tmp_path: Path) -> None:
    """edflib holds one annotation per data record unless told otherwise: a 3 s session with
    40 events kept 3 of them, and `export` counted 40."""
    raw = make_raw(MUSE2, 3.0)
    events = tuple((T0 + 0.07 * k, "marker", f"m{k}") for k in range(40))
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s", events=events).path
    result = export_edf(folder, tmp_path / "o.edf")
    _sig, info = _read(tmp_path / "o.edf")
    onsets, _durations, texts = info["annotations"]
    assert list(texts) == [f"marker: m{k}" for k in range(40)]
    assert result.n_annotations == 40 and result.n_records == 3
    np.testing.assert_allclose(onsets, 0.07 * np.arange(40), atol=2e-3)


@pytest.mark.parametrize(
    "text",
    [
        "Patient says: pain 6/10 in the lower back, shoulders tense, breathing shallow — asked "
        "to slow down and rest the eyes",
        "Übelkeit, Schwindel; 患者说头痛 — Ärztin informiert",
        "x" * 95,
    ],
)
def test_long_event_texts_are_split_whole_not_cut(tmp_path: Path, text: str) -> None:
    """edflib writes at most 40 bytes of an annotation: notes were cut (inside a UTF-8
    character, too), with no word of it."""
    raw = make_raw(MUSE2, 2.0)
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s", events=((T0 + 1, "note", text),)).path
    result = export_edf(folder, tmp_path / "o.edf")
    _sig, info = _read(tmp_path / "o.edf")
    onsets, _durations, texts = info["annotations"]
    texts = list(texts)
    assert len(texts) > 1 and all(len(t.encode("utf-8")) <= 40 for t in texts)
    assert texts[0].startswith("note: ") and all(t.startswith("…") for t in texts[1:])
    joined = "".join(t.removeprefix("…") for t in texts).replace(" ", "")
    assert joined == f"note: {text}".replace(" ", "")  # every character kept, in order
    np.testing.assert_allclose(onsets, 1.0, atol=1e-3)
    assert any("split over consecutive annotations" in w for w in result.warnings)


def test_the_header_range_is_the_one_the_samples_were_scaled_with(tmp_path: Path) -> None:
    """A PPG channel around 20 000 with a small span: edflib wrote 20164.79 where the samples
    were scaled for 20164.8, and a reader was off by up to 3 quantisation steps."""
    raw = make_raw(MUSE2, 6.0)
    ppg = raw["ancillary"]
    rng = np.random.default_rng(5)
    for row, base in ((1, 20050.0), (2, 50545.9), (3, 50200.0)):
        ppg[row] = np.round(base + rng.uniform(-111.7, 111.7, ppg.shape[1]), 1)
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s").path
    result = export_edf(folder, tmp_path / "o.edf")
    texts = _header_ranges(tmp_path / "o.edf")
    for s, (lo, hi) in zip(result.signals, texts, strict=True):
        assert (float(lo), float(hi)) == (s.physical_min, s.physical_max), s.label
    sig, _ = _read(tmp_path / "o.edf")
    steps = {s.label: s.quantisation_step for s in result.signals}
    for row, label in ((1, "PPG ambient"), (2, "PPG ir"), (3, "PPG red")):
        x = ppg[row]
        err = np.max(np.abs(sig[label][: len(x)] - x)) / steps[label]
        assert err <= 0.5 + 1e-6, (label, err)


def test_the_start_keeps_its_fraction_of_a_second(tmp_path: Path) -> None:
    """pyedflib 0.1.42 writes the sub-second start ten times too large, and drops it from
    0.1 s on: the EDF+ start was off by up to 0.9 s."""
    from datetime import UTC

    folder = record_arrays(MUSE2, make_raw(MUSE2, 2.0), out=tmp_path / "s").path
    rec = load_session(folder)
    for micro in (680051, 50000, 7):
        start = datetime(2026, 11, 26, 23, 59, 48, micro, tzinfo=UTC)
        moved = replace(rec, meta=rec.meta.with_(start_utc=start))
        export_edf(moved, tmp_path / "o.edf")
        head = (tmp_path / "o.edf").read_bytes()
        assert head[168:184] == b"26.11.2623.59.48"
        assert _first_tal_onset(tmp_path / "o.edf") == pytest.approx(micro / 1e6, abs=1e-7)


def test_events_after_a_gap_line_up_with_the_signal(tmp_path: Path) -> None:
    """EDF+C signals close up a gap; the annotations after it were placed by wall-clock time,
    so a marker landed 5 s (the gap) after the samples it was set on."""
    raw = make_raw(MUSE2, 30.0)
    for p in MUSE2.presets:  # a 5 s hole from 10 s on, as a reconnect leaves it
        ts = raw[p.preset][p.timestamp_row]
        keep = (ts < T0 + 10) | (ts >= T0 + 15)
        raw[p.preset] = raw[p.preset][:, keep]
    marker_at = T0 + 20.0  # sample 20 * 256 of the recording's time; 15 * 256 in the EDF
    events = ((T0 + 5.0, "marker", "before"), (marker_at, "marker", "after"))
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s", events=events).path
    result = export_edf(folder, tmp_path / "o.edf")
    sig, info = _read(tmp_path / "o.edf")
    onsets = dict(zip(info["annotations"][2], info["annotations"][0], strict=True))
    assert onsets["marker: before"] == pytest.approx(5.0, abs=1e-3)
    assert onsets["marker: after"] == pytest.approx(15.0, abs=1e-3)
    x = raw["default"][1]
    k = int(np.searchsorted(raw["default"][MUSE2.preset("default").timestamp_row], marker_at))
    step = {s.label: s.quantisation_step for s in result.signals}["EEG TP9"]
    assert abs(sig["EEG TP9"][round(15.0 * 256)] - x[k]) <= step  # the sample the marker was on
    gap = [w for w in result.warnings if "gap" in w]
    assert gap and "1 gap(s), 5.0 s in all" in gap[0]


def test_long_labels_stay_distinct(tmp_path: Path) -> None:
    """Labels from an LSL sender ("Electrode-TP9-left", "Electrode-TP10-right") were cut to
    16 characters into the same "EEG Electrode-TP"."""
    names = ("Electrode-TP9-left", "Electrode-AF7-left", "Electrode-AF8-right",
             "Electrode-TP10-right")  # fmt: skip
    layout = replace(
        MUSE2,
        groups=(ChannelGroup("eeg", "default", (1, 2, 3, 4), names, "uV"),),
    )
    folder = record_arrays(layout, make_raw(layout, 2.0), out=tmp_path / "s").path
    result = export_edf(folder, tmp_path / "o.edf")
    labels = [s.label for s in result.signals]
    assert len(set(labels)) == 4 and all(len(lab) <= 16 for lab in labels)
    assert labels[0].endswith("TP9-left") and labels[3].endswith("10-right")
    assert sum("written as" in w for w in result.warnings) == 4


def test_pyedflib_warnings_do_not_reach_the_user(tmp_path: Path) -> None:
    """A channel with a -500011 µV offset made pyedflib print 10 lines of UserWarning."""
    import warnings

    raw = make_raw(MUSE2, 2.0)
    raw["default"][1] -= 500000.0
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s").path
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        export_edf(folder, tmp_path / "o.edf")
    assert [str(w.message) for w in seen] == []


def test_the_header_names_the_device_and_the_whole_software_version(tmp_path: Path) -> None:
    """edflib keeps 39 characters of equipment + additional text: the version came out "biotr"."""
    from biotrainer import __version__

    layout = replace(MUSE2, device="a-rather-long-device-profile-name")
    folder = record_arrays(layout, make_raw(layout, 1.0), out=tmp_path / "s").path
    export_edf(folder, tmp_path / "o.edf")
    recording = (tmp_path / "o.edf").read_bytes()[88:168].decode()
    assert recording.rstrip().endswith(f" biotrainer_{__version__}")
    assert " a-rather-long-device" in recording


def test_a_few_wild_values_do_not_coarsen_the_range() -> None:
    """One glitch of 5e7 µV must not turn a 20 µV EEG into one quantisation step (770 µV)."""
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 20.0, 30_000)
    clean = physical_range(x)
    x[1234] = 5e7
    lo, hi = physical_range(x)
    assert -200.0 < lo <= clean[0] and clean[1] < hi < 2000.0  # a step below 0.04 µV
    # Blinks and pops of a few hundred µV are not wild: they stay inside the range.
    x[[10, 20]] = [600.0, -450.0]
    lo, hi = physical_range(x)
    assert lo <= -450.0 and 600.0 <= hi < 2000.0
    # Only the wild value is outside.
    assert np.count_nonzero((x < lo) | (x > hi)) == 1


def _rr_raw(t0: float = T0, beats: int = 12) -> np.ndarray:
    """RR intervals (ms) as an LSL RR/IBI stream gives them: one sample a heartbeat."""
    t = t0 + np.cumsum(np.full(beats, 0.85))
    return np.vstack([850.0 + 30.0 * np.sin(np.arange(beats) / 3.0), t])


def test_rr_intervals_are_left_out_with_a_note(tmp_path: Path) -> None:
    """A preset of RR intervals (rate 0: irregular samples) crashed the export with a
    ZeroDivisionError; the other signals are exported and the note says why RR is not."""
    layout = SourceLayout(
        device="lsl",
        board_id=-100,
        presets=(PresetLayout("default", 256.0, 8, 6, 7), PresetLayout("auxiliary", 0.0, 2, 1)),
        groups=(
            ChannelGroup("eeg", "default", (1, 2, 3, 4), ("TP9", "AF7", "AF8", "TP10"), "uV"),
            ChannelGroup("rr", "auxiliary", (0,), ("RR",), "ms"),
        ),
    )
    raw = {"default": make_raw(MUSE2, 12.0)["default"], "auxiliary": _rr_raw()}
    folder = record_arrays(layout, raw, out=tmp_path / "s").path
    result = export_edf(folder, tmp_path / "o.edf")
    sig, _ = _read(tmp_path / "o.edf")
    assert list(sig) == ["EEG TP9", "EEG AF7", "EEG AF8", "EEG TP10"]
    assert [s.label for s in result.signals] == list(sig)
    assert (
        "RR (RR) is not in the EDF: its samples come at irregular times and an EDF signal has "
        "a fixed rate (raw_auxiliary.csv in the session folder keeps them)" in result.warnings
    )


def test_a_session_of_rr_intervals_only_is_refused_in_words(tmp_path: Path) -> None:
    """`biotrainer export --edf` of an LSL RR/IBI session gave a traceback (ZeroDivisionError)."""
    layout = SourceLayout(
        device="lsl",
        board_id=-100,
        presets=(PresetLayout("default", 0.0, 2, 1),),
        groups=(ChannelGroup("rr", "default", (0,), ("RR",), "ms"),),
    )
    folder = record_arrays(layout, {"default": _rr_raw()}, out=tmp_path / "s").path
    with pytest.raises(RecordingError, match=r"nothing EDF can hold: RR \(RR\) came at irregular"):
        export_edf(folder, tmp_path / "o.edf")
    assert not (tmp_path / "o.edf").exists()


def test_non_ascii_labels_are_ascii_distinct_and_said(tmp_path: Path) -> None:
    """Labels from an LSL sender in Cyrillic came out as the same garbled bytes
    ('EEG D D>DuD N,NE' twice): EDF labels are ASCII."""
    names = ("Электрод1", "Электрод2", "Électrode", "Электрод", "Электрон")
    layout = SourceLayout(
        device="lsl",
        board_id=-100,
        presets=(PresetLayout("default", 256.0, 7, 6),),
        groups=(ChannelGroup("eeg", "default", (1, 2, 3, 4, 5), names, "uV"),),
    )
    folder = record_arrays(layout, make_raw(layout, 2.0), out=tmp_path / "s").path
    result = export_edf(folder, tmp_path / "o.edf")
    sig, _ = _read(tmp_path / "o.edf")
    labels = list(sig)
    assert labels == [s.label for s in result.signals]
    assert labels[:3] == ["EEG ________1", "EEG ________2", "EEG Electrode"]
    assert len(set(labels)) == 5
    assert all(lab.isascii() and lab.isprintable() and len(lab) <= 16 for lab in labels)
    header = (tmp_path / "o.edf").read_bytes()[256 : 256 + 16 * 5]
    assert header.isascii()
    assert (
        "label 'EEG Электрод1' written as 'EEG ________1' (EDF labels have 16 characters of "
        "ASCII)" in result.warnings
    )
    assert sum("written as" in w for w in result.warnings) == 5


# -- presets with gaps of their own (audit: PPG out of step after a stall) -----------------------


def _cut(raw: dict[str, np.ndarray], preset: str, start: float, end: float) -> None:
    """Leave out the samples of ``preset`` from ``start`` to ``end`` s (a stall of its stream)."""
    ts = raw[preset][MUSE2.preset(preset).timestamp_row]
    raw[preset] = raw[preset][:, (ts < T0 + start) | (ts >= T0 + end)]


def _on_edf_axis(raw, sig, steps, label: str, preset: str, row: int, since: float, closed: float):
    """The largest difference (in quantisation steps) between the raw samples from ``since`` s
    on and the EDF's samples at their time minus ``closed`` s."""
    p = MUSE2.preset(preset)
    ts = raw[preset][p.timestamp_row]
    after = ts >= T0 + since
    slots = np.rint((ts[after] - T0 - closed) * p.fs).astype(int)  # within a sample period
    return np.max(np.abs(sig[label][slots] - raw[preset][row][after])) / steps[label]


def test_a_gap_in_one_preset_only_keeps_it_in_step(tmp_path: Path) -> None:
    """The PPG stream stalled for 5 s while the EEG went on: its samples after the stall were
    laid right after the ones before it, 5 s early for the rest of the file, with no word."""
    raw = make_raw(MUSE2, 30.0)
    _cut(raw, "ancillary", 10.0, 15.0)
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s").path
    result = export_edf(folder, tmp_path / "o.edf")
    sig, _ = _read(tmp_path / "o.edf")
    steps = {s.label: s.quantisation_step for s in result.signals}
    assert _on_edf_axis(raw, sig, steps, "PPG ir", "ancillary", 2, 15.0, 0.0) <= 0.5 + 1e-6
    x = raw["ancillary"][2]
    last = x[np.searchsorted(raw["ancillary"][4], T0 + 10.0) - 1]
    assert np.allclose(sig["PPG ir"][10 * 64 : 15 * 64], last, atol=steps["PPG ir"])  # held
    assert _on_edf_axis(raw, sig, steps, "EEG TP9", "default", 1, 0.0, 0.0) <= 0.5 + 1e-6
    assert (
        "raw_ancillary.csv has no samples for 5.0 s at 10.0 s (EDF time): PPG holds its last "
        "value there" in result.warnings
    )
    assert not any("gap" in w for w in result.warnings)  # the EEG has none to close up


def test_gaps_of_different_lengths_line_up_on_the_main_time_axis(tmp_path: Path) -> None:
    """A reconnect: the EEG is back after 5 s, the PPG after 8 s, the accelerometer after 2 s.
    Each preset's gap was closed up on its own, so PPG and accelerometer came out 3 s apart
    from the EEG (early and late)."""
    raw = make_raw(MUSE2, 30.0)
    _cut(raw, "default", 10.0, 15.0)
    _cut(raw, "ancillary", 10.0, 18.0)
    _cut(raw, "auxiliary", 10.0, 12.0)
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s").path
    result = export_edf(folder, tmp_path / "o.edf")
    sig, _ = _read(tmp_path / "o.edf")
    steps = {s.label: s.quantisation_step for s in result.signals}
    signals = (("EEG AF7", "default", 2, 15.0), ("PPG red", "ancillary", 3, 18.0),
               ("ACCEL y", "auxiliary", 2, 15.0), ("GYRO z", "auxiliary", 6, 15.0))  # fmt: skip
    for label, preset, row, back in signals:
        # after the gap: at their time less the EEG's 5 s, which the EDF closes up
        assert _on_edf_axis(raw, sig, steps, label, preset, row, back, 5.0) <= 0.5 + 1e-6, label
        p = MUSE2.preset(preset)
        x = raw[preset][row][raw[preset][p.timestamp_row] < T0 + 10.0]
        assert np.max(np.abs(sig[label][: x.size] - x)) <= steps[label] / 2 + 1e-9, label
    assert (
        "raw_ancillary.csv has no samples for 3.0 s at 10.0 s (EDF time): PPG holds its last "
        "value there" in result.warnings
    )
    assert (
        "156 samples of raw_auxiliary.csv (3.0 s) fall in gaps of raw_default.csv, which the EDF "
        "closes up: they are not in the file (the session folder keeps them)" in result.warnings
    )
    assert any("1 gap(s), 5.0 s in all" in w for w in result.warnings)


def test_a_recording_without_gaps_is_written_as_it_comes(tmp_path: Path) -> None:
    """Timestamps that jitter, rates a little off the nominal ones, presets starting apart, no
    gap: every preset is written sample after sample from its first slot, as before (the
    placement on the main time axis changes nothing here), and no note speaks of holes."""
    raw = make_raw(MUSE2, 20.0)
    rng = np.random.default_rng(3)
    for p, rate, start in ((MUSE2.preset("default"), 254.7, 0.0),
                           (MUSE2.preset("auxiliary"), 51.95, 0.031),
                           (MUSE2.preset("ancillary"), 63.92, 0.0123)):  # fmt: skip
        n = raw[p.preset].shape[1]
        jitter = rng.uniform(-0.004, 0.004, n)
        raw[p.preset][p.timestamp_row] = np.round(T0 + start + np.arange(n) / rate + jitter, 6)
        raw[p.preset][p.timestamp_row] = np.maximum.accumulate(raw[p.preset][p.timestamp_row])
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s").path
    result = export_edf(folder, tmp_path / "o.edf")
    sig, _ = _read(tmp_path / "o.edf")
    steps = {s.label: s.quantisation_step for s in result.signals}
    t0 = min(raw[p.preset][p.timestamp_row, 0] for p in MUSE2.presets)
    for label, preset, row in (("EEG TP10", "default", 4), ("GYRO x", "auxiliary", 4),
                               ("PPG ambient", "ancillary", 1)):  # fmt: skip
        p = MUSE2.preset(preset)
        lead = round((raw[preset][p.timestamp_row, 0] - t0) * p.fs)
        x = np.concatenate([np.full(lead, raw[preset][row][0]), raw[preset][row]])
        assert np.max(np.abs(sig[label][: x.size] - x)) <= steps[label] / 2 + 1e-9, label
    assert result.warnings == ()


def test_a_device_clock_off_nominal_keeps_its_presets_together_after_a_gap(tmp_path: Path) -> None:
    """A headset whose clock runs 0.2 % fast drops out for 5 s after 300 s (every preset): the
    EEG is written by count, so after the gap the PPG, placed by its time alone, came out 0.6 s
    away from the EEG samples of the same moment (the drift gathered before the gap)."""
    fast = 1.002
    raw = make_raw(MUSE2, 330.0)
    for p in MUSE2.presets:
        ts = raw[p.preset][p.timestamp_row]
        raw[p.preset][p.timestamp_row] = np.round(T0 + (ts - T0) / fast, 6)
    for p in MUSE2.presets:
        _cut(raw, p.preset, 300.0 / fast, 305.0 / fast)
    folder = record_arrays(MUSE2, raw, out=tmp_path / "s").path
    result = export_edf(folder, tmp_path / "o.edf")
    sig, _ = _read(tmp_path / "o.edf")
    steps = {s.label: s.quantisation_step for s in result.signals}
    eeg_ts = raw["default"][MUSE2.preset("default").timestamp_row]
    eeg_edf_t = np.arange(eeg_ts.size) / MUSE2.preset("default").fs  # by count, from 0
    for label, preset, row in (("PPG ir", "ancillary", 2), ("ACCEL x", "auxiliary", 1)):
        p = MUSE2.preset(preset)
        ts = raw[preset][p.timestamp_row]
        after = ts > T0 + 306.0 / fast
        # where the EEG sample of the same moment is in the file
        slots = np.rint(np.interp(ts[after], eeg_ts, eeg_edf_t) * p.fs).astype(int)
        err = np.abs(sig[label][slots] - raw[preset][row][after]) / steps[label]
        assert np.max(err) <= 0.5 + 1e-6, label
    assert any("1 gap(s)" in w for w in result.warnings)


def test_the_file_starts_at_its_first_sample(tmp_path: Path) -> None:
    """The start was the recorder's opening: a device whose first sample came 2.3 s later had
    every sample and annotation read 2.3 s early (an LSL sender with 8 s of samples held back:
    5.3 s). Samples stamped in wall-clock time (BrainFlow's Unix seconds) give the start."""
    from datetime import UTC

    from sessionkit import fixed_wall_clock

    opened = fixed_wall_clock()()
    first = opened.timestamp() + 2.345678
    folder = record_arrays(MUSE2, make_raw(MUSE2, 2.0, t0=first), out=tmp_path / "s").path
    assert load_session(folder).meta.start_utc == opened
    result = export_edf(folder, tmp_path / "o.edf")
    head = (tmp_path / "o.edf").read_bytes()
    at = datetime.fromtimestamp(first, UTC)
    assert head[168:184] == at.strftime("%d.%m.%y%H.%M.%S").encode()
    assert _first_tal_onset(tmp_path / "o.edf") == pytest.approx(at.microsecond / 1e6, abs=1e-6)
    assert not any("wall-clock" in w for w in result.warnings)


def test_a_clock_since_boot_starts_at_the_opening_with_a_note(tmp_path: Path) -> None:
    """An LSL stream's timestamps count from the machine's boot: the file starts when recording
    began, and says that its first sample came a little later."""
    folder = record_arrays(MUSE2, make_raw(MUSE2, 2.0, t0=5_000.25), out=tmp_path / "s").path
    result = export_edf(folder, tmp_path / "o.edf")
    opened = load_session(folder).meta.start_utc
    assert (tmp_path / "o.edf").read_bytes()[168:184] == opened.strftime(
        "%d.%m.%y%H.%M.%S"
    ).encode()
    assert any("not wall-clock time" in w for w in result.warnings)


@pytest.mark.parametrize("control", ["\x14", "\x15", "\x00", "\x01", "\x7f", "\x85"])
def test_control_characters_in_an_event_do_not_break_the_file(tmp_path: Path, control) -> None:
    """EDF+ separates annotations with control characters: a 0x15 in a note (from a caller
    of the engine, or a device's error text) made edflib refuse the whole file, a 0x14 split the
    note in two, a NUL cut it short. They are written as U+FFFD; tabs and line breaks stay."""
    text = f"before{control}after\twith tab\nand line"
    folder = record_arrays(
        MUSE2, make_raw(MUSE2, 2.0), out=tmp_path / "s", events=((T0 + 0.5, "note", text),)
    ).path
    result = export_edf(folder, tmp_path / "o.edf")
    _sig, info = _read(tmp_path / "o.edf")
    notes = [str(t) for t in info["annotations"][2] if str(t).startswith("note")]
    assert "".join(n.removeprefix("…") for n in notes).startswith("note: before\ufffdafter")
    assert result.n_annotations >= 1


def test_events_stay_beside_their_samples_when_the_rate_is_rounded(tmp_path: Path) -> None:
    """A rate EDF cannot hold (333.33 Hz) is written rounded (333): the events were placed at
    the nominal rate, so a marker set on sample 3,800 read back 11 ms (3.8 samples) before it,
    about 3.6 s an hour. They are placed on the rounded rate's time axis now."""
    fs = 333.33
    layout = SourceLayout(
        device="odd",
        board_id=-1,
        presets=(PresetLayout("default", fs, 3, 2, None),),
        groups=(ChannelGroup("ecg", "default", (1,), ("lead",), "uV"),),
    )
    raw = make_raw(layout, 12.0)
    ts = raw["default"][2]
    samples = (1000, 3500, 3800)
    events = tuple((float(ts[k]), "marker", f"at {k}") for k in samples)
    folder = record_arrays(layout, raw, out=tmp_path / "s", events=events).path
    result = export_edf(folder, tmp_path / "o.edf")
    _sig, info = _read(tmp_path / "o.edf")
    assert info["fs"]["ECG lead"] == 333.0
    onsets = dict(zip(info["annotations"][2], info["annotations"][0], strict=True))
    for k in samples:
        assert onsets[f"marker: at {k}"] == pytest.approx(k / 333.0, abs=2e-4), k
    assert any("333.33 Hz cannot be stored exactly" in w for w in result.warnings)
