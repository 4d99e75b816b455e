"""Which stream LslSource opens when several LSL streams share a name (real LSL over loopback).

muselsl and BlueMuse publish a Muse's EEG, PPG and accelerometer streams under one name; the
source used to take whichever answered the network first.
"""

from __future__ import annotations

import pylsl
import pytest
from lslkit import WAIT_S

from biotrainer.acquisition import lsl_source
from biotrainer.acquisition.lsl_source import LslSource
from biotrainer.errors import DeviceError


def _outlet(name: str, kind: str, source_id: str, n: int = 2, fs: float = 64.0):
    info = pylsl.StreamInfo(name, kind, n, fs, pylsl.cf_float32, source_id)
    return pylsl.StreamOutlet(info)


def _all_visible(name: str, count: int) -> None:
    """Wait until liblsl sees every stream (so each test starts from a full network)."""
    found = pylsl.resolve_bypred(f"name='{name}'", count, WAIT_S)
    assert len(found) == count, f"only {len(found)} of {count} streams on loopback"


def _prepare_and_check_eeg(name: str) -> None:
    source = LslSource(stream_name=name, resolve_timeout=WAIT_S)
    try:
        source.prepare()
        assert source.layout.groups[0].role == "eeg"
        assert source._info.source_id() == f"{name}-eeg"
    finally:
        source.release()


def _muse_like(name: str) -> list[pylsl.StreamOutlet]:
    outlets = [
        _outlet(name, "ACC", f"{name}-acc", n=3, fs=52.0),
        _outlet(name, "PPG", f"{name}-ppg", n=3),
        _outlet(name, "EEG", f"{name}-eeg", n=5, fs=256.0),
    ]
    _all_visible(name, 3)
    return outlets


def test_a_name_shared_by_eeg_ppg_and_acc_opens_the_eeg_stream_every_time(unique):
    """Whichever stream answers the network first (it varies from one resolve to the next)."""
    name = f"muse-{unique}"
    outlets = _muse_like(name)
    for _ in range(3):
        _prepare_and_check_eeg(name)
    del outlets


def test_the_eeg_stream_is_opened_when_the_accelerometer_answers_first(unique, monkeypatch):
    """The order seen in the review (a refusal "type 'ACC'"), made certain: a one-stream resolve
    returns the ACC stream, as liblsl does when the ACC outlet's answer arrives first."""
    name = f"muse-{unique}"
    outlets = _muse_like(name)
    real_resolve = pylsl.resolve_bypred

    def acc_answers_first(predicate, minimum=1, timeout=pylsl.FOREVER):
        if minimum != 1:
            return real_resolve(predicate, minimum, timeout)
        found = real_resolve(predicate, 3, timeout)
        return [f for f in found if f.type() == "ACC"][:1] or found[:1]

    monkeypatch.setattr(lsl_source.pylsl, "resolve_bypred", acc_answers_first)
    _prepare_and_check_eeg(name)
    del outlets


def test_the_type_chooses_among_streams_of_one_name(unique):
    name = f"muse-{unique}"
    outlets = [_outlet(name, "EEG", f"{name}-eeg", fs=256.0), _outlet(name, "PPG", f"{name}-ppg")]
    _all_visible(name, 2)
    source = LslSource(stream_name=name, stream_type="ppg", resolve_timeout=WAIT_S)
    try:
        source.prepare()
        assert source._info.source_id() == f"{name}-ppg"
    finally:
        source.release()
    del outlets


@pytest.mark.parametrize("stream_type", [None, "EEG"])
def test_two_eeg_streams_of_one_name_are_refused_naming_both(unique, stream_type):
    name = f"muse-{unique}"
    outlets = [
        _outlet(name, "EEG", f"{name}-a", fs=256.0),
        _outlet(name, "EEG", f"{name}-b", fs=256.0),
        _outlet(name, "PPG", f"{name}-ppg"),
    ]
    _all_visible(name, 3)
    source = LslSource(stream_name=name, stream_type=stream_type, resolve_timeout=WAIT_S)
    try:
        with pytest.raises(DeviceError) as err:
            source.prepare()
    finally:
        source.release()
    msg = str(err.value)
    assert "2 LSL streams" in msg
    assert f"source_id '{name}-a'" in msg and f"source_id '{name}-b'" in msg
    assert "cannot be told apart" in msg and "stop one sender or rename" in msg
    assert "\n" not in msg
    del outlets
