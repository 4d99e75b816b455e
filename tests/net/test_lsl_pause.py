"""A pause of a regular LSL stream is kept in the recorded timestamps and marked as a gap.

liblsl's own dejitter (``proc_dejitter``) fits timestamps to the *sample count*, so a sender that
stops for a few seconds and resumes had its pause smeared over the following samples (seconds of
error, no jump, no gap event). These tests push samples with explicit sender timestamps that jump
(the stream-time pause), so they need no real waiting.
"""

from __future__ import annotations

import csv

import numpy as np
import pylsl
import pytest
from lslkit import WAIT_S, wait_until

from biotrainer.acquisition import lsl_source
from biotrainer.acquisition.lsl_source import LslSource
from biotrainer.clock import MonotonicClock, SimulatedClock
from biotrainer.session.recorder import EVENT_GAP, Recorder

FS = 250.0


def _eeg_outlet(name: str) -> pylsl.StreamOutlet:
    info = pylsl.StreamInfo(name, "EEG", 2, FS, pylsl.cf_float32, f"{name}-id")
    chans = info.desc().append_child("channels")
    for label in ("TP9", "AF7"):
        ch = chans.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", "microvolts")
        ch.append_child_value("type", "EEG")
    return pylsl.StreamOutlet(info)


def _push(outlet: pylsl.StreamOutlet, k: np.ndarray, stamps: np.ndarray) -> None:
    """Samples with index k (channel TP9 carries k: the truth) at the given sender stamps."""
    x = np.stack([k, np.sin(k / 10.0)], axis=1).astype(np.float32)
    for i in range(0, k.size, 125):  # half-second chunks, as a device would send them
        outlet.push_chunk(x[i : i + 125], stamps[i : i + 125].tolist())


def test_lsl_pause_is_kept_in_timestamps_and_recorded_as_a_gap(unique, data_dir):
    """4 s of samples, a 5 s pause of the sender (its stamps jump), 6 s more: the recorded
    timestamps follow the sender's through the pause and events.csv gets a gap."""
    name = f"eeg-pause-{unique}"
    outlet = _eeg_outlet(name)
    clock = MonotonicClock()
    source = LslSource(name, "EEG", clock, resolve_timeout=WAIT_S)
    recorder = None
    try:
        source.start()
        recorder = Recorder.create(source.layout, data_directory=data_dir, clock=clock, fsync=False)
        n_before, n_after, pause_s = 1000, 1500, 5.0
        k = np.arange(n_before + n_after, dtype=float)
        sent = k / FS + np.where(k >= n_before, pause_s, 0.0)  # the sender's own stamps
        start = pylsl.local_clock() - sent[-1] - 1.0  # the data is "already recorded"
        sent += start
        _push(outlet, k[:n_before], sent[:n_before])
        _push(outlet, k[n_before:], sent[n_before:])
        raws = []

        def got_all() -> bool:
            chunk = source.poll()
            if chunk.raw["default"].shape[1]:
                raws.append(chunk.raw["default"])
                recorder.write(chunk)
            return sum(r.shape[1] for r in raws) >= k.size

        assert wait_until(got_all), f"{sum(r.shape[1] for r in raws)} of {k.size} samples"
        recorder.close()
        raw = np.concatenate(raws, axis=1)
        np.testing.assert_array_equal(raw[0], k)  # every sample, in order
        stamps = raw[2]
        # On the sender's timeline (same machine: the clock offset is ~0): the pause is kept...
        err = stamps - sent
        worst = int(np.argmax(np.abs(err)))
        assert np.abs(err).max() < 0.01, f"sample {worst} is {err[worst]:+.3f} s off the sender's"
        step = np.diff(stamps)
        assert step[n_before - 1] == pytest.approx(pause_s + 1 / FS, abs=0.01)
        # ...and the rest stays a regular 250 Hz grid.
        others = np.delete(step, n_before - 1)
        np.testing.assert_allclose(others, 1 / FS, atol=1e-3)
        with open(recorder.path / "events.csv", newline="") as f:
            gaps = [row for row in csv.DictReader(f) if row["kind"] == EVENT_GAP]
        assert len(gaps) == 1, gaps
        assert float(gaps[0]["time"]) == pytest.approx(sent[n_before - 1], abs=0.01)
        assert "5.00" in gaps[0]["text"]
    finally:
        if recorder is not None and not recorder.closed:
            recorder.close()
        source.release()
        del outlet


def test_lsl_few_samples_after_a_jump_are_held_then_given_out_with_the_jump(unique):
    """Too few samples after a jump to confirm a pause: held (not lost) until the hold time of
    the source's clock passed, then given out with the sender's jump."""
    name = f"eeg-hold-{unique}"
    outlet = _eeg_outlet(name)
    clock = SimulatedClock(10.0)
    source = LslSource(name, "EEG", clock, resolve_timeout=WAIT_S, silence_timeout=60.0)
    try:
        source.start()
        k = np.arange(510, dtype=float)
        sent = k / FS + np.where(k >= 500, 3.0, 0.0)
        sent += pylsl.local_clock() - sent[-1] - 1.0
        _push(outlet, k, sent)
        raws = []

        def poll() -> int:
            raws.append(source.poll().raw["default"])
            return sum(r.shape[1] for r in raws)

        assert wait_until(lambda: poll() >= 500 and source.samples_received >= 510)
        assert poll() == 500  # the 10 after the jump are held
        clock.advance(lsl_source.PAUSE_HOLD_MAX_S + 0.1)
        assert poll() == 510
        raw = np.concatenate(raws, axis=1)
        np.testing.assert_array_equal(raw[0], k)
        np.testing.assert_allclose(raw[2], sent, atol=0.01)
    finally:
        source.release()
        del outlet


# -- the dejitterer alone (no LSL: exact, fast) --------------------------------------------


def _run(dj, stamps: np.ndarray, per: int = 12) -> np.ndarray:
    """Feed ``stamps`` in chunks of ``per``; every stamp must come back, in order."""
    out = []
    for i in range(0, stamps.size, per):
        values = np.arange(i, min(i + per, stamps.size), dtype=float)[:, None]
        v, t = dj.process(values, stamps[i : i + per])
        assert v.shape[0] == t.size
        out.append(t)
    v, t = dj.release_held()
    out.append(t)
    res = np.concatenate(out)
    assert res.size == stamps.size
    return res


def test_dejitterer_smooths_jitter_of_a_steady_stream():
    rng = np.random.default_rng(1)
    true = 1000.0 + np.arange(60 * 250) / 250.0 * (1 + 2e-5)  # 60 s, a slightly fast device
    raw = true + rng.uniform(0, 0.03, true.size)  # stamped 0-30 ms late (Bluetooth-like)
    out = _run(lsl_source.Dejitterer(FS), raw)
    assert np.all(np.diff(out) >= 0)
    late = slice(20 * 250, None)  # once the fit has seen 20 s
    assert np.abs(out[late] - true[late] - 0.015).max() < 0.003  # jitter 30 ms -> < 3 ms


def test_dejitterer_keeps_a_pause_and_its_size():
    true = 50.0 + np.arange(3000) / 250.0
    true[1500:] += 5.0
    dj = lsl_source.Dejitterer(FS)
    out = _run(dj, true, per=7)
    np.testing.assert_allclose(out, true, atol=1e-6)
    assert dj.pauses == 1


def test_dejitterer_burst_after_a_stall_is_not_a_pause():
    """A sender that stamps on arrival: 0.6 s without samples, then they all arrive at once.
    No sample was missing, so there is no jump: the stamps stay on the fitted grid."""
    true = 50.0 + np.arange(5000) / 250.0
    raw = true.copy()
    raw[2000:2150] = true[2150]  # 150 samples stamped at the moment the backlog arrived
    dj = lsl_source.Dejitterer(FS)
    out = _run(dj, raw)
    assert dj.pauses == 0
    assert np.diff(out).max() < 0.05
    assert np.abs(out - true).max() < 0.1


def test_dejitterer_one_late_stamp_is_not_a_pause():
    true = 50.0 + np.arange(3000) / 250.0
    raw = true.copy()
    raw[1500] += 0.4
    dj = lsl_source.Dejitterer(FS)
    out = _run(dj, raw)
    assert dj.pauses == 0
    assert np.abs(out - true).max() < 0.05


@pytest.mark.parametrize("back_s", [5.0, 12.0])
def test_dejitterer_a_sender_clock_stepping_back_continues_the_line(back_s):
    """A sender whose clock steps back: every sample of the next seconds had been given the
    last stamp out (5 s of signal on one timestamp, no update made meanwhile, nothing said).
    The stamps from the step on continue the line at the nominal rate, and the step is kept."""
    true = 50.0 + np.arange(5000) / 250.0
    raw = true.copy()
    raw[2000:] -= back_s
    dj = lsl_source.Dejitterer(FS)
    out = _run(dj, raw)
    steps = np.diff(out)
    assert np.all(steps > 0) and steps.max() < 2.0 / FS  # no run of one stamp, no jump
    np.testing.assert_allclose(out, true, atol=1e-3)
    assert dj.steps_back == [pytest.approx(back_s, abs=0.01)] and dj.pauses == 0


def test_the_poll_after_stop_drains_the_inlet_and_the_held_samples(unique):
    """The Source contract: the one poll after stop() returns what arrived before the stop.
    Samples still in the inlet and those held after a jump to confirm a pause were lost (the
    poll after stop() was empty); they come out, with the sender's jump kept."""
    name = f"eeg-stop-{unique}"
    outlet = _eeg_outlet(name)
    clock = SimulatedClock(10.0)
    source = LslSource(name, "EEG", clock, resolve_timeout=WAIT_S, silence_timeout=60.0)
    try:
        source.start()
        k = np.arange(560, dtype=float)
        sent = k / FS + np.where(k >= 500, 3.0, 0.0)
        sent += pylsl.local_clock() - sent[-1] - 1.0
        _push(outlet, k[:510], sent[:510])
        raws = []

        def poll() -> int:
            chunk = source.poll()
            if chunk.raw:
                raws.append(chunk.raw["default"])
            return sum(r.shape[1] for r in raws)

        assert wait_until(lambda: poll() >= 500 and source.samples_received >= 510)
        assert poll() == 500  # the 10 after the jump are held
        _push(outlet, k[510:], sent[510:])  # 50 more, not polled before the stop
        inlet = source._inlet
        assert inlet is not None
        assert wait_until(lambda: inlet.samples_available() >= 50)
        source.stop()
        assert poll() == 560
        assert poll() == 560  # once only
        raw = np.concatenate(raws, axis=1)
        np.testing.assert_array_equal(raw[0], k)
        np.testing.assert_allclose(raw[2], sent, atol=0.01)
        assert np.all(np.diff(raw[2]) > 0)
    finally:
        source.release()
        del outlet
