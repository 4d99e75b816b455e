"""An LSL stream too slow for biotrainer's processing is refused when it is opened.

An EEG stream at 20 Hz was taken on: ``run --lsl-name`` then died with a ValueError traceback
from AlphaStream, and ``record --lsl-name`` recorded it silently for a replay that crashed the
same way. Real LSL over loopback (machine-only configuration: tests/conftest.py).
"""

from __future__ import annotations

import uuid

import pylsl
import pytest

from biotrainer.acquisition.lsl_source import LslSource
from biotrainer.cli import main
from biotrainer.errors import DeviceError

WAIT_S = 5.0


def _outlet(name: str, kind: str, fs: float) -> pylsl.StreamOutlet:
    return pylsl.StreamOutlet(pylsl.StreamInfo(name, kind, 2, fs, pylsl.cf_float32, name))


@pytest.mark.parametrize(
    ("kind", "fs", "words"),
    [
        ("EEG", 20.0, "its EEG comes at 20 Hz, below the 32 Hz biotrainer needs for EEG"),
        ("ECG", 50.0, "its ECG comes at 50 Hz, below the 100 Hz biotrainer needs for ECG"),
        ("PPG", 5.0, "its PPG comes at 5 Hz, below the 10 Hz biotrainer needs for PPG"),
    ],
)
def test_a_stream_too_slow_for_its_role_is_refused_naming_it(kind, fs, words) -> None:
    name = f"slow-{uuid.uuid4().hex[:8]}"
    outlet = _outlet(name, kind, fs)
    source = LslSource(stream_name=name, resolve_timeout=WAIT_S)
    try:
        with pytest.raises(DeviceError) as caught:
            source.prepare()
        assert str(caught.value) == f"the LSL stream '{name}' ({kind}) cannot be used: {words}"
    finally:
        source.release()
        del outlet


def test_an_eeg_stream_at_the_lowest_rate_is_taken() -> None:
    name = f"slowest-{uuid.uuid4().hex[:8]}"
    outlet = _outlet(name, "EEG", 32.0)
    source = LslSource(stream_name=name, resolve_timeout=WAIT_S)
    try:
        source.prepare()
        assert source.layout.preset("default").fs == 32.0
    finally:
        source.release()
        del outlet


def test_record_refuses_a_slow_stream_and_records_nothing(tmp_path, capsys) -> None:
    """(It recorded 5 s of the 20-Hz stream, whose replay then crashed.)"""
    name = f"slow-rec-{uuid.uuid4().hex[:8]}"
    outlet = _outlet(name, "EEG", 20.0)
    try:
        argv = ["record", "--lsl-name", name, "--duration", "1", "--out", str(tmp_path / "r")]
        code = main([*argv, "--data-dir", str(tmp_path / "data")])
    finally:
        del outlet
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines() == [
        f"biotrainer: the LSL stream '{name}' (EEG) cannot be used: its EEG comes at 20 Hz, "
        "below the 32 Hz biotrainer needs for EEG"
    ]
    assert not (tmp_path / "r").exists()
