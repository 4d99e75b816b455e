"""Device drop mid-session: "signal lost" at once, automatic reconnect, the session goes on.

Fake devices on a simulated clock (no sleeping); one test with BrainFlow's synthetic board.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest
from faultkit import FS, LAYOUT, OTHER_LAYOUT, FakeDevice, FakeStrap, World, pump

from biotrainer.acquisition.reconnect import ReconnectingSource
from biotrainer.acquisition.source import PresetLayout, SourceLayout, SourceState
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.errors import DeviceError, SourceRefusedError
from biotrainer.limits import BEATS_LOST_S
from biotrainer.session import load_session
from biotrainer.session.recorder import Recorder


def _wrapped(world: World, **kw) -> ReconnectingSource:
    src = ReconnectingSource(world.open, world.clock, **kw)
    src.prepare()
    src.start()
    return src


def _states(source, clock, until):
    """[(time, state, samples)] per poll."""
    out = []
    pump(
        source,
        clock,
        until,
        on_poll=lambda t, s, c: out.append((t, s.state, c.raw["default"].shape[1])),
    )
    return out


def test_error_mid_stream_is_reported_at_once_then_reconnects() -> None:
    clock = SimulatedClock()
    world = World(clock, broken=(5.0, 9.0))
    src = _wrapped(world, retry_every_s=2.0)
    trace = _states(src, clock, 16.0)
    first_bad = next(t for t, _, _ in trace if t >= 5.0)
    # "signal lost" in the very poll that failed, never an exception
    assert dict((t, s) for t, s, _ in trace)[first_bad] is SourceState.SILENT
    assert all(s is SourceState.STREAMING for t, s, _ in trace if t < 5.0)
    # re-opened at the next poll, then every 2 s while the device is unreachable...
    assert first_bad < world.failed_opens[0] <= first_bad + 0.05 + 1e-9
    assert np.all(np.diff(world.failed_opens) >= 2.0 - 1e-9)
    assert all(5.0 <= t < 9.0 for t in world.failed_opens)
    # ...and streaming again within one retry period once it is back
    back = next(t for t, s, n in trace if t >= 9.0 and s is SourceState.STREAMING)
    assert back <= 9.0 + 2.0 + 0.05
    assert sum(n for t, _, n in trace if t > back) > 4 * 256
    assert src.reconnects == 1
    kinds = [k for k, _ in src.take_events()]
    assert kinds[0] == "device_error" and kinds[-1] == "reconnected"
    assert kinds.count("reconnect_failed") == len(world.failed_opens)


def test_silence_is_reported_within_two_seconds_and_reopens() -> None:
    clock = SimulatedClock()
    world = World(clock, mute=(5.0, 7.0), mute_sticks=True)  # the old session never recovers
    src = _wrapped(world, retry_every_s=2.0)
    trace = _states(src, clock, 14.0)
    lost = next(t for t, s, _ in trace if s is SourceState.SILENT)
    assert 5.0 < lost <= 5.0 + 2.0
    back = next(t for t, s, _ in trace if t > lost and s is SourceState.STREAMING)
    # re-opened retry_every_s after the loss was noticed
    assert len(world.opened) == 2
    assert world.opened[1] == pytest.approx(lost + 2.0, abs=0.051)
    assert back == pytest.approx(world.opened[1], abs=0.051)
    assert [k for k, _ in src.take_events()] == ["reconnected"]


def test_a_short_silence_recovers_without_reopening() -> None:
    clock = SimulatedClock()
    world = World(clock, mute=(5.0, 6.8), mute_sticks=False)
    src = _wrapped(world, retry_every_s=2.0)
    trace = _states(src, clock, 10.0)
    assert any(s is SourceState.SILENT for _, s, _ in trace)
    assert trace[-1][1] is SourceState.STREAMING
    assert len(world.opened) == 1 and src.reconnects == 0
    assert src.take_events() == []


def test_a_playback_that_ends_is_not_a_drop() -> None:
    clock = SimulatedClock()
    world = World(clock, ends_at=4.0)
    src = _wrapped(world, retry_every_s=0.5)
    trace = _states(src, clock, 10.0)
    assert trace[-1][1] is SourceState.ENDED
    assert not any(s is SourceState.SILENT for _, s, _ in trace)
    assert len(world.opened) == 1


def test_a_device_with_another_layout_is_refused() -> None:
    clock = SimulatedClock()
    world = World(clock, broken=(3.0, 3.5), layout_after_reopen=OTHER_LAYOUT)
    src = _wrapped(world, retry_every_s=1.0)
    with pytest.raises(DeviceError, match="another channel layout"):
        pump(src, clock, 10.0)
    assert clock.now() <= 3.5 + 1.0 + 0.05


def test_a_device_back_at_another_rate_is_refused_naming_both_rates() -> None:
    """The same device (an LSL sender) back at another rate: the message says what changed."""
    other_rate = SourceLayout(
        device=LAYOUT.device,
        board_id=LAYOUT.board_id,
        presets=(PresetLayout("default", 2 * FS, 8, 6, 7),),
        groups=LAYOUT.groups,
    )
    clock = SimulatedClock()
    world = World(clock, broken=(3.0, 3.5), layout_after_reopen=other_rate)
    src = _wrapped(world, retry_every_s=1.0)
    with pytest.raises(DeviceError) as err:
        pump(src, clock, 10.0)
    assert (
        "has 7 rows at 512 Hz (TP9, AF7, AF8, TP10) instead of 7 rows at 256 Hz "
        "(TP9, AF7, AF8, TP10), another channel layout" in str(err.value)
    )


class _Refusing:
    """A source that streams, then refuses what it is sent (SourceRefusedError from poll)."""

    def __init__(self, clock, refuse_at: float) -> None:
        self.device = FakeDevice(World(clock), LAYOUT)
        self.clock = clock
        self.refuse_at = refuse_at

    def __getattr__(self, name):
        return getattr(self.device, name)

    def poll(self):
        if self.clock.now() >= self.refuse_at:
            raise SourceRefusedError("the fake stream announces 256 Hz but sends 200")
        return self.device.poll()


def test_a_refusal_from_the_source_ends_the_session_instead_of_reopening() -> None:
    """A stream that works but sends what the session cannot use (another rate than it
    announces) would bring the same refusal after every re-open: it is raised at once."""
    clock = SimulatedClock()
    opened = []

    def open_source():
        opened.append(clock.now())
        return _Refusing(clock, refuse_at=2.0)

    src = ReconnectingSource(open_source, clock, retry_every_s=0.5)
    src.prepare()
    src.start()
    with pytest.raises(SourceRefusedError, match="announces 256 Hz but sends 200"):
        pump(src, clock, 10.0)
    assert clock.now() == pytest.approx(2.0, abs=0.06) and len(opened) == 1


def test_an_rr_source_is_lost_only_after_beats_stopped_for_the_heart_metrics_wait() -> None:
    """A chest strap's bridge sends RR intervals a notification every 2-3 s: not a loss each
    time (the stream was re-opened every few seconds), but beats missing for over 5 s are."""
    clock = SimulatedClock()
    opened = []

    def open_strap():
        opened.append(clock.now())
        return FakeStrap(clock, every_s=3.0, stops_at=20.0)

    src = ReconnectingSource(open_strap, clock, retry_every_s=2.0)
    src.prepare()
    src.start()
    trace = _states(src, clock, 40.0)
    assert all(s is SourceState.STREAMING for t, s, _ in trace if t < 18.0 + BEATS_LOST_S)
    lost = next(t for t, s, _ in trace if s is SourceState.SILENT)
    assert 18.0 + BEATS_LOST_S <= lost <= 18.0 + BEATS_LOST_S + 0.1
    assert opened[0] == 0.0 and len(opened) > 1 and opened[1] > lost


def test_gives_up_only_after_the_given_time() -> None:
    clock = SimulatedClock()
    world = World(clock, broken=(3.0, 1e9))
    src = _wrapped(world, retry_every_s=1.0, give_up_after_s=10.0)
    with pytest.raises(DeviceError, match=r"did not come back after 1\d s: could not open"):
        pump(src, clock, 60.0)
    assert 3.0 + 10.0 <= clock.now() <= 3.0 + 10.0 + 1.05
    assert len(world.failed_opens) >= 9


def test_a_device_that_fails_again_after_reopening_waits_the_retry_period() -> None:
    """Only the first error of a drop re-opens at once; a re-opened device that fails again
    waits ``retry_every_s`` (each attempt may block on discovery and logs an event)."""
    clock = SimulatedClock()
    world = World(clock, poll_errors=(3.0, 9.0))
    src = _wrapped(world, retry_every_s=2.0)
    pump(src, clock, 12.0)
    reopens = world.opened[1:]
    assert reopens[0] == pytest.approx(3.05, abs=0.051)  # the first error: re-opened at once
    assert np.all(np.diff(reopens) >= 2.0 - 1e-9), reopens
    assert len(reopens) <= 5
    assert src.state is SourceState.STREAMING and src.reconnects == 1


def test_a_reopened_device_slow_to_send_is_given_time_not_reopened_for_ever() -> None:
    """A Bluetooth headset may need a few seconds after it started streaming: re-opened every
    2 s, one needing 3 s never delivered (before)."""
    clock = SimulatedClock()
    world = World(clock, broken=(3.0, 3.5), slow_reopen_s=3.0)
    src = _wrapped(world, retry_every_s=2.0)
    pump(src, clock, 15.0)
    assert src.state is SourceState.STREAMING and src.reconnects == 1
    assert len(world.opened) == 2  # the first, and the one re-open that was given its time


def _gated_world(clock, **kw):
    """A World whose re-opens (not the first open) wait in ``prepare`` until ``gate`` is set."""
    world = World(clock, **kw)
    gate = threading.Event()
    devices = []

    def open_device():
        device = world.open()
        if devices:
            prepare = device.prepare

            def prepare_when_let() -> None:
                assert gate.wait(10.0), "the test never opened the gate"
                prepare()

            device.prepare = prepare_when_let
        devices.append(device)
        return device

    return world, gate, devices, open_device


def _poll_until(src, clock, done, timeout_s: float = 10.0) -> None:
    """Poll on the simulated clock while the opening thread works in real time."""
    end = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < end, f"timed out in state {src.state}"
        clock.advance(0.05)
        src.poll()
        time.sleep(0.001)


def test_a_background_reopen_does_not_hold_up_the_polls() -> None:
    clock = SimulatedClock()
    world, gate, devices, open_device = _gated_world(clock, broken=(3.0, 3.5))
    src = ReconnectingSource(open_device, clock, retry_every_s=1.0, open_in_background=True)
    src.prepare()
    src.start()
    trace = _states(src, clock, 8.0)  # the re-open (from 3.05 s) is held in prepare meanwhile
    assert len(devices) == 2 and len(world.opened) == 1
    assert all(s is SourceState.SILENT for t, s, _ in trace if t >= 3.05)
    gate.set()
    _poll_until(src, clock, lambda: src.state is SourceState.STREAMING)
    assert src.inner is devices[1] and src.reconnects == 1
    kinds = [k for k, _ in src.take_events()]
    assert kinds == ["device_error", "reconnected"]
    src.release()


def test_a_background_reopen_that_fails_is_retried_and_logged() -> None:
    clock = SimulatedClock()
    world = World(clock, broken=(3.0, 6.0))
    src = ReconnectingSource(world.open, clock, retry_every_s=1.0, open_in_background=True)
    src.prepare()
    src.start()
    pump(src, clock, 3.0)
    _poll_until(src, clock, lambda: src.reconnects == 1)
    assert clock.now() >= 6.0
    assert np.all(np.diff(world.failed_opens) >= 1.0 - 1e-9)
    kinds = [k for k, _ in src.take_events()]
    assert kinds[0] == "device_error" and kinds[-1] == "reconnected"
    assert kinds.count("reconnect_failed") == len(world.failed_opens) >= 2
    src.release()


def test_release_during_a_background_reopen_releases_the_device_it_opens() -> None:
    clock = SimulatedClock()
    _world, gate, devices, open_device = _gated_world(clock, broken=(3.0, 3.5))
    src = ReconnectingSource(open_device, clock, retry_every_s=1.0, open_in_background=True)
    src.prepare()
    src.start()
    pump(src, clock, 5.0)
    assert len(devices) == 2
    src.stop()
    src.release()
    gate.set()  # the device answers after the session ended
    end = time.monotonic() + 10.0
    while devices[1].state is not SourceState.RELEASED:
        assert time.monotonic() < end, f"the late device is left {devices[1].state}"
        time.sleep(0.005)
    assert src.state is SourceState.RELEASED and src.inner is None


def test_a_bug_in_a_background_reopen_is_raised_not_hidden() -> None:
    clock = SimulatedClock()
    world = World(clock, broken=(3.0, 3.5))
    opens = [0]

    def open_device():
        opens[0] += 1
        if opens[0] > 1:
            raise ZeroDivisionError("a bug in the source")
        return world.open()

    src = ReconnectingSource(open_device, clock, retry_every_s=1.0, open_in_background=True)
    src.prepare()
    src.start()
    pump(src, clock, 3.0)
    with pytest.raises(ZeroDivisionError):
        _poll_until(src, clock, lambda: False)


def test_stop_and_release_during_a_drop_are_quiet() -> None:
    clock = SimulatedClock()
    world = World(clock, broken=(1.0, 1e9))
    src = _wrapped(world)
    pump(src, clock, 2.0)
    assert src.state is SourceState.SILENT and src.inner is None
    src.stop()
    assert src.poll().empty
    src.release()
    assert src.state is SourceState.RELEASED


# -- the whole session: engine + recorder ----------------------------------------------------


def _session(tmp_path, world_kw, until=40.0):
    clock = SimulatedClock()
    world = World(clock, **world_kw)
    source = ReconnectingSource(world.open, clock, retry_every_s=2.0)
    rec = Recorder.create(LAYOUT, out=tmp_path / "s", clock=clock, fsync=False)
    engine = Engine(source, load_protocol("alpha-uptraining"), clock=clock, recorder=rec)
    engine.start()
    updates = []
    while clock.now() < until:
        clock.advance(0.05)
        updates.extend(engine.tick())
    assert not engine.finished  # the protocol goes on
    engine.close()
    return updates, load_session(tmp_path / "s"), world


@pytest.mark.parametrize(
    "world_kw",
    [{"broken": (20.0, 24.0)}, {"mute": (20.0, 23.0)}],
    ids=["device-error", "no-data"],
)
def test_the_session_goes_on_and_the_gap_is_in_the_recording(tmp_path, world_kw) -> None:
    updates, rec, world = _session(tmp_path, world_kw)
    ts = rec.timestamps("default")
    last_before = ts[ts < 20.0][-1]
    first_after = ts[ts > 20.0][0]
    # data before and after the drop are on disk, the hole is real
    assert ts[0] < 1.0 and ts[-1] > 38.0
    assert first_after - last_before > 2.0
    assert np.all(np.diff(ts) > 0)
    # "signal lost" shown within 2 s of clock time after the last sample, with feedback paused
    lost = [u for u in updates if u.quality_reason == "signal lost"]
    assert lost, "no update said 'signal lost'"
    assert lost[0].computed_at - last_before <= 2.0
    assert all(math.isnan(u.feedback_score) for u in lost)
    assert all(u.source_state == "signal lost" for u in lost)
    # protocol time froze during the hole and the session went on afterwards
    after = [u for u in updates if u.sample_time > first_after + 1]
    assert after and after[-1].source_state == "streaming"
    assert after[-1].session_s < 40.0 - (first_after - last_before) + 1.0
    # events.csv tells the story, in order
    kinds = [e.kind for e in rec.events]
    story = ["signal_lost", "gap", "reconnected", "signal_restored"]
    positions = [kinds.index(k) for k in story]
    assert positions == sorted(positions), kinds
    gap = next(e for e in rec.events if e.kind == "gap")
    assert gap.time == pytest.approx(last_before, abs=1e-3)
    assert f"{first_after - last_before:.1f}" in gap.text or "no samples for" in gap.text
    reconnected = next(e for e in rec.events if e.kind == "reconnected")
    assert reconnected.text.startswith("reconnected after ")
    n_lost = float(reconnected.text.split()[2])
    assert 2.0 <= n_lost <= (first_after - last_before) + 0.1
    assert len(world.opened) == 2


# -- real BrainFlow ------------------------------------------------------------------------


def test_brainflow_synthetic_board_closed_under_the_wrapper_reconnects() -> None:
    """The synthetic board's BrainFlow session is released behind the wrapper's back."""
    import time

    from biotrainer.acquisition.factory import open_source
    from biotrainer.clock import MonotonicClock

    clock = MonotonicClock()
    src = ReconnectingSource(
        lambda: open_source("synthetic", clock=clock), clock, retry_every_s=0.2
    )
    src.prepare()
    src.start()
    received = [0]

    def poll_until(done, timeout=10.0) -> None:
        """Poll in real time (BrainFlow streams in real time) until ``done()``."""
        end = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < end, f"timed out in state {src.state}"
            time.sleep(0.02)
            received[0] += src.poll().raw["default"].shape[1]

    try:
        poll_until(lambda: received[0] >= 10)
        first = src.inner
        first._board.release_session()  # the BrainFlow session dies under our feet
        assert src.poll().empty
        assert src.state is SourceState.SILENT
        poll_until(lambda: src.reconnects == 1)
        assert src.inner is not first and src.state is SourceState.STREAMING
        received[0] = 0
        poll_until(lambda: received[0] >= 10)
        kinds = [k for k, _ in src.take_events()]
        assert kinds[0] == "device_error" and kinds[-1] == "reconnected"
    finally:
        src.release()


def test_the_headless_commands_reopen_a_device_without_holding_up_the_session() -> None:
    """`run` and `record` re-opened a dropped device inside the poll: an attempt waits for the
    device's discovery (15 s for a Muse, 5 s for an LSL stream), and Ctrl-C, the progress lines
    and `record --duration` waited with it."""
    import argparse

    from biotrainer.commands.run import live_source

    clock = SimulatedClock()
    world, gate, devices, open_device = _gated_world(clock, broken=(3.0, 3.5))
    args = argparse.Namespace(device="synthetic", replay=None, lsl_name=None, lsl_type=None)
    src = live_source(args, open_device, clock, 1.0)
    src.prepare()
    src.start()
    trace = _states(src, clock, 8.0)  # polls go on while the re-open waits in prepare
    assert len(devices) == 2 and len(world.opened) == 1
    assert all(s is SourceState.SILENT for t, s, _ in trace if t >= 3.05)
    gate.set()
    _poll_until(src, clock, lambda: src.state is SourceState.STREAMING)
    assert src.inner is devices[1]
    src.release()
