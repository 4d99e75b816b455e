"""``biotrainer run --lsl`` refuses a protocol the device cannot feed before it streams.

The protocol-versus-device check came after the LSL outlets were made: a clinic monitor saw a
session appear and end "before its end" for a start that was refused.
"""

from __future__ import annotations

from sessionkit import make_raw, record_arrays

import biotrainer.net.lsl_outlets as lsl_outlets
from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout
from biotrainer.cli import main

EEG_ONLY = SourceLayout(
    device="eeg-only",
    board_id=-1,
    presets=(PresetLayout("default", 250.0, 6, 5, None),),
    groups=(ChannelGroup("eeg", "default", (1, 2, 3, 4), ("Fz", "Cz", "Pz", "Oz"), "uV"),),
)


def test_a_heart_protocol_on_an_eeg_recording_opens_no_stream(tmp_path, capsys, monkeypatch):
    folder = record_arrays(EEG_ONLY, make_raw(EEG_ONLY, 5.0), out=tmp_path / "eeg").path
    made: list[str] = []

    class NoOutlets:
        def __init__(self, layout, station, *args, **kwargs) -> None:
            made.append(station)
            raise AssertionError("an LSL outlet was made")

    monkeypatch.setattr(lsl_outlets, "LslOutlets", NoOutlets)
    argv = ["run", "--replay", str(folder), "--protocol", "hrv-resonance-breathing",
            "--lsl", "room1", "--data-dir", str(tmp_path / "d")]  # fmt: skip
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "needs a heart signal" in err and "Traceback" not in err
    assert made == []
