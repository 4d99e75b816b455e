"""LslSource: any LSL stream becomes a Source (real LSL over loopback)."""

from __future__ import annotations

import time

import neurokit2 as nk  # test oracle only
import numpy as np
import pylsl
import pytest
from lslkit import WAIT_S, wait_until

from biotrainer.acquisition import lsl_source
from biotrainer.acquisition.file_source import FileSource
from biotrainer.acquisition.lsl_source import (
    LSL_BOARD_ID,
    RESTART_CHECK_S,
    LslSource,
    beat_times_from_rr,
    open_lsl_source,
)
from biotrainer.acquisition.source import SourceState
from biotrainer.clock import MonotonicClock, SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.errors import DeviceError
from biotrainer.session.recorder import Recorder

FS = 250.0


def _outlet(name, kind, labels, unit, fs=FS, fmt=pylsl.cf_float32, types=None):
    """A third-party style sender (plain pylsl, XDF channel description)."""
    info = pylsl.StreamInfo(name, kind, len(labels), fs, fmt, f"{name}-id")
    chans = info.desc().append_child("channels")
    for i, label in enumerate(labels):
        ch = chans.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", unit)
        ch.append_child_value("type", types[i] if types else kind)
    return pylsl.StreamOutlet(info)


def test_ecg_stream_feeds_the_engine_hr_and_records_replayable(unique, data_dir):
    hr_true = 72.0
    ecg_mv = nk.ecg_simulate(
        duration=50, sampling_rate=int(FS), heart_rate=hr_true, method="simple", random_state=3
    )
    name = f"ecg-{unique}"
    outlet = _outlet(name, "ECG", ["ECG"], "millivolts")
    clock = MonotonicClock()
    source = LslSource(stream_name=name, stream_type="ecg", clock=clock, resolve_timeout=WAIT_S)
    source.prepare()
    layout = source.layout
    assert layout.board_id == LSL_BOARD_ID and layout.roles == ("ecg",)
    assert layout.group("ecg").units == "uV" and layout.group("ecg").names == ("ECG",)
    recorder = Recorder.create(layout, data_directory=data_dir, clock=clock, fsync=False)
    engine = Engine(
        source, load_protocol("hrv-resonance-breathing"), clock=clock, recorder=recorder
    )
    engine.start()
    start = pylsl.local_clock() - len(ecg_mv) / FS  # the data is "already recorded"
    updates = []

    def ticked_up_to(n: int) -> bool:
        updates.extend(engine.tick())
        return source.samples_received >= n

    try:
        per = int(FS)
        for k in range(0, len(ecg_mv), per):
            block = ecg_mv[k : k + per]
            outlet.push_chunk(
                block.astype(np.float32)[:, None],
                (start + (k + np.arange(block.size)) / FS).tolist(),
            )
            target = k + block.size
            assert wait_until(lambda t=target: ticked_up_to(t))
    finally:
        engine.close()
    assert source.state is SourceState.RELEASED
    # The engine got the stream: HR within 3 bpm of the simulated truth.
    hr = [u.hr_bpm for u in updates if np.isfinite(u.hr_bpm)]
    assert hr, "no heart rate from the LSL stream"
    assert abs(np.median(hr[-50:]) - hr_true) < 3.0
    # The recording replays through FileSource: same samples (x1000: millivolts -> uV).
    # (all of it in one poll: FileSource serves at most MAX_POLL_S a poll otherwise)
    replay = FileSource(recorder.path, SimulatedClock(), speed=1000.0, max_poll_s=1e6)
    replay.prepare()
    replay.start()
    replay.clock.advance(1.0)
    chunk = replay.poll()
    rec = chunk.signals["ecg"]
    assert rec.n_samples == len(ecg_mv)
    np.testing.assert_allclose(
        rec.samples[0], ecg_mv.astype(np.float32) * 1000.0, rtol=1e-5, atol=1e-2
    )
    assert np.all(np.diff(rec.timestamps) > 0)
    np.testing.assert_allclose(np.diff(rec.timestamps), 1 / FS, atol=2e-3)
    replay.release()
    del outlet


def test_not_found_is_a_device_error_naming_type_and_name():
    with pytest.raises(DeviceError) as err:
        LslSource(stream_name="no-such-stream-x", stream_type="EEG", resolve_timeout=0.3).prepare()
    assert str(err.value) == (
        "no LSL stream of type EEG named 'no-such-stream-x' found on the network within 0.3 s: "
        "is the sender running?"
    )


@pytest.mark.parametrize(("announced", "asked"), [("Eeg", "EEG"), ("eEG", "eeg"), ("Ibi", "rr")])
def test_the_stream_type_is_matched_in_any_case(unique, announced, asked):
    """``--lsl-type`` is case-insensitive: a sender announcing "Eeg" was found by its name but
    not by its type ("no LSL stream of type EEG found ...: is the sender running?")."""
    name = f"case-{unique}"
    outlet = _outlet(name, announced, ["A", "B"], "microvolts")
    source = LslSource(name, asked, MonotonicClock(), resolve_timeout=WAIT_S)
    try:
        source.prepare()
        assert source.layout.groups[0].role == ("rr" if asked == "rr" else "eeg")
    finally:
        source.release()
        del outlet


@pytest.mark.parametrize(("new_fs", "changed"), [(500.0, True), (FS, False)])
def test_a_sender_restarted_at_another_rate_is_refused_not_taken_on(unique, new_fs, changed):
    """liblsl reconnects the inlet to a restarted sender with the same source id whatever its
    rate: the samples of a 500 Hz sender were recorded and analysed as 250 Hz ones."""
    name = f"rs-{unique}"
    clock = MonotonicClock()
    first = _outlet(name, "EEG", ["Fz", "Cz"], "microvolts")
    source = LslSource(name, None, clock, resolve_timeout=WAIT_S)
    x = np.zeros((25, 2), dtype=np.float32)
    try:
        source.start()
        first.push_chunk(x)
        got = []
        assert wait_until(lambda: got.append(source.poll()) or not got[-1].empty)
        del first  # the sender stops...
        time.sleep(RESTART_CHECK_S + 0.2)  # (a restart takes a moment: a check follows a pause)
        second = _outlet(name, "EEG", ["Fz", "Cz"], "microvolts", fs=new_fs)  # ...and restarts
        errors = []

        def restarted() -> bool:
            second.push_chunk(x)
            try:
                return not source.poll().empty
            except DeviceError as exc:
                errors.append(str(exc))
                return True

        assert wait_until(restarted, timeout=30.0, step=0.1)
        if changed:
            assert (
                errors
                and "restarted with 2 channels at 500 Hz instead of 2 at 250 Hz" in (errors[0])
            )
        else:
            assert errors == [] and source.state is SourceState.STREAMING
    finally:
        source.release()


def test_a_restarted_sender_not_found_at_once_is_checked_again(unique, monkeypatch):
    """On a busy network the restarted sender's description may not be found within the
    check's wait: the source asks again (once a second) instead of taking the samples on."""
    name = f"rf-{unique}"
    real_resolve = pylsl.resolve_bypred
    misses = []

    def slow_network(predicate, minimum=1, timeout=0.0):
        if predicate.startswith("source_id=") and len(misses) < 2:
            misses.append(predicate)
            return []  # (not found within the wait)
        return real_resolve(predicate, minimum, timeout)

    monkeypatch.setattr(lsl_source.pylsl, "resolve_bypred", slow_network)
    first = _outlet(name, "EEG", ["Fz", "Cz"], "microvolts")
    source = LslSource(name, None, MonotonicClock(), resolve_timeout=WAIT_S)
    x = np.zeros((25, 2), dtype=np.float32)
    try:
        source.start()
        first.push_chunk(x)
        assert wait_until(lambda: not source.poll().empty)
        del first
        time.sleep(RESTART_CHECK_S + 0.2)
        second = _outlet(name, "EEG", ["Fz", "Cz"], "microvolts", fs=500.0)
        errors = []

        def refused() -> bool:
            second.push_chunk(x)
            try:
                source.poll()
            except DeviceError as exc:
                errors.append(str(exc))
            return bool(errors)

        assert wait_until(refused, timeout=30.0, step=0.1)
        assert len(misses) == 2
        assert "restarted with 2 channels at 500 Hz instead of 2 at 250 Hz" in errors[0]
    finally:
        source.release()


def test_an_eeg_stream_without_a_nominal_rate_is_refused_in_words(unique):
    """(A traceback from the engine before: "sampling rate must be a positive number".)"""
    name = f"irr-{unique}"
    outlet = _outlet(name, "EEG", ["Fz", "Cz"], "microvolts", fs=pylsl.IRREGULAR_RATE)
    source = LslSource(stream_name=name, stream_type="eeg", resolve_timeout=WAIT_S)
    try:
        with pytest.raises(DeviceError, match="has no nominal sampling rate"):
            source.prepare()
    finally:
        source.release()
        del outlet


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "stream name"),
        ({"stream_type": "EMG"}, "unsupported"),
        ({"stream_name": "a'b"}, "quotes"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(DeviceError, match=match):
        open_lsl_source(kwargs.get("stream_name"), kwargs.get("stream_type"))


def test_eeg_channels_of_other_types_stay_raw_only_and_silence_is_reported(unique):
    name = f"eeg-{unique}"
    outlet = _outlet(
        name,
        "EEG",
        ["TP9", "AF7", "AF8", "TP10", "AUX"],
        "microvolts",
        types=["EEG", "EEG", "EEG", "EEG", "AUX"],
    )
    clock = SimulatedClock(100.0)
    source = LslSource(name, None, clock, resolve_timeout=WAIT_S, silence_timeout=2.0)
    try:
        source.start()
        g = source.layout.group("eeg")
        assert g.names == ("TP9", "AF7", "AF8", "TP10") and g.rows == (0, 1, 2, 3)
        assert source.layout.preset("default").num_rows == 6
        x = np.arange(50, dtype=np.float32).reshape(10, 5)
        outlet.push_chunk(x)
        got = []
        assert wait_until(
            lambda: got.append(source.poll()) or sum(c.raw["default"].shape[1] for c in got) >= 10
        )
        raw = np.concatenate([c.raw["default"] for c in got], axis=1)
        np.testing.assert_array_equal(raw[:5], x.T)  # AUX kept in the raw array
        assert source.state is SourceState.STREAMING
        clock.advance(2.5)
        assert source.poll().empty and source.state is SourceState.SILENT
        outlet.push_chunk(x)

        # (the source clock moves on while waiting: had the machine stalled between the two
        # pushes, their stamps would look like a sender's pause, held until the clock passes
        # PAUSE_HOLD_MAX_S without more samples to confirm it)
        def delivered() -> bool:
            clock.advance(0.25)
            return not source.poll().empty

        assert wait_until(delivered)
        assert source.state is SourceState.STREAMING
    finally:
        source.release()


@pytest.mark.parametrize(
    ("true_fs", "refused", "pause_s"),
    [(200.0, True, 0.0), (250.0, False, 0.0), (240.0, False, 0.0), (250.0, False, 4.0)],
)
def test_a_stream_sending_at_another_rate_than_it_announces_is_refused(
    unique, true_fs, refused, pause_s
):
    """A sender that announces 250 Hz but sends 200 samples a second would be analysed at
    250 Hz (a 10 Hz alpha read at 12.5 Hz): refused once its first 10 s came; a sender at its
    rate, a few % slow (lost packets), or pausing for 4 s in its first 10 s, goes on."""
    name = f"rate-{unique}"
    outlet = _outlet(name, "EEG", ["Fz", "Cz"], "microvolts")  # announces 250 Hz
    source = LslSource(name, None, MonotonicClock(), resolve_timeout=WAIT_S, silence_timeout=60.0)
    n = int(16 * true_fs)  # (16 s: the check still sees 10 s if the first pushes are missed)
    x = np.zeros((n, 2), dtype=np.float32)
    errors, got = [], 0

    def all_in() -> bool:
        nonlocal got
        try:
            got += source.poll().raw["default"].shape[1]
        except DeviceError as exc:
            errors.append(str(exc))
            return True
        return got >= n - 2 * int(true_fs) and not refused  # (the dejitterer holds the last)

    try:
        source.start()
        start = pylsl.local_clock() - 16.0
        stamps = start + np.arange(n) / true_fs
        stamps[n // 4 :] += pause_s  # (the sender paused)
        stamps = (stamps - pause_s).tolist()
        for a in range(0, n, 500):
            outlet.push_chunk(x[a : a + 500], stamps[a : a + 500])
        assert wait_until(all_in, timeout=30.0, step=0.1), got
        if refused:
            assert errors, got
            assert errors[0] == (
                f"the LSL stream '{name}' announces 250 Hz but its timestamps show 200 samples "
                "a second: read at 250 Hz its heart rate, breathing rate and EEG bands would "
                "be 25 % high; correct the sender's rate"
            )
        else:
            assert errors == []
    finally:
        source.release()


def test_an_rr_stream_is_not_silent_between_slow_notifications(unique):
    """A chest-strap bridge sends RR intervals two at a time every two seconds or so: only
    beats missing for longer than the heart metrics wait make the stream silent."""
    name = f"rrs-{unique}"
    info = pylsl.StreamInfo(name, "RR", 1, pylsl.IRREGULAR_RATE, pylsl.cf_float32, name)
    outlet = pylsl.StreamOutlet(info)
    clock = SimulatedClock(100.0)
    source = LslSource(name, None, clock, resolve_timeout=WAIT_S)  # (silence_timeout 2 s)
    try:
        source.start()
        outlet.push_chunk([[1100.0], [1150.0]])
        assert wait_until(lambda: not source.poll().empty)
        clock.advance(3.0)  # the next notification is late
        assert source.poll().empty and source.state is SourceState.STREAMING
        clock.advance(2.5)  # over 5 s without a beat: the strap is off
        assert source.poll().empty and source.state is SourceState.SILENT
    finally:
        source.release()


def test_rr_stream_in_seconds_becomes_ms_with_beat_times(unique):
    name = f"rr-{unique}"
    info = pylsl.StreamInfo(name, "RR", 1, pylsl.IRREGULAR_RATE, pylsl.cf_float32, name)
    outlet = pylsl.StreamOutlet(info)  # no unit in the description: detected from the values
    source = LslSource(stream_type="RR", stream_name=name, resolve_timeout=WAIT_S)
    try:
        source.start()
        assert source.layout.roles == ("rr",) and source.layout.group("rr").units == "ms"
        rr_s = [0.8, 0.82, 0.79, 0.85]
        t0 = pylsl.local_clock()
        for i, v in enumerate(rr_s):
            outlet.push_sample([v], t0 + sum(rr_s[: i + 1]))
        blocks = []
        assert wait_until(
            lambda: (
                blocks.append(source.poll().signals.get("rr"))
                or sum(b.n_samples for b in blocks if b is not None) >= 4
            )
        )
        got = np.concatenate([b.samples[0] for b in blocks if b is not None])
        np.testing.assert_allclose(got, np.array(rr_s) * 1000, rtol=1e-6)
    finally:
        source.release()


def test_beat_times_from_rr_chain_exact_intervals_and_reanchor():
    rr = np.array([800.0, 810, 790, 805, 800])
    # Two notifications, each stamping its beats with its arrival time (jitter), then a gap.
    stamps = np.array([10.81, 10.81, 12.4, 12.4, 30.0])
    beats = beat_times_from_rr(rr, stamps, last_beat=10.0)
    np.testing.assert_allclose(np.diff(beats[:4]), rr[1:4] / 1000)
    assert beats[0] == pytest.approx(10.8)
    assert beats[4] == 30.0  # 16 s from the chain: a gap, re-anchored on the stamp


def test_record_uses_the_lsl_stream_it_is_given(tmp_path, capsys, unique):
    """`record --lsl-name` records that LSL stream, not the default device: with no such
    stream on the network it says so (one line, exit 2) instead of recording the synthetic board."""
    from biotrainer.cli import main

    code = main(
        ["record", "--lsl-name", f"absent-{unique}", "--duration", "1", "--data-dir", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "LSL stream" in err and f"absent-{unique}" in err and "Traceback" not in err
    assert not (tmp_path / "sessions").exists() or not any((tmp_path / "sessions").iterdir())
