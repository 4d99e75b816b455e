"""Options given before a subcommand: kept, or refused, never quietly replaced by a default."""

from __future__ import annotations

import argparse

import pytest

from biotrainer.cli import build_parser, main
from biotrainer.session.store import Store


def _parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


@pytest.mark.parametrize(
    "argv",
    [
        ("--data-dir", "X", "sessions"),
        ("sessions", "--data-dir", "X"),
        ("--data-dir", "X", "patients", "add", "P-1"),
        ("patients", "--data-dir", "X", "add", "P-1"),
        ("patients", "add", "--data-dir", "X", "P-1"),
        ("--data-dir", "X", "patients", "--data-dir", "X", "add", "P-1"),
        ("--data-dir", "X", "sessions", "rate", "3", "pre", "--pain", "2"),
    ],
)
def test_the_data_folder_is_the_one_given_wherever_it_is_given(argv):
    assert _parse(*argv).data_dir == "X"


def test_device_options_before_the_command_reach_it():
    args = _parse("--device", "muse_2", "--serial-port", "/dev/ttyX", "record", "--duration", "5")
    assert (args.device, args.serial_port, args.duration) == ("muse_2", "/dev/ttyX", 5.0)
    assert _parse("record", "--duration", "5").device == build_parser().get_default("device")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--device", "muse_2", "patients"), "--device does not apply to 'biotrainer patients'"),
        (("--protocol", "resonance", "sessions"), "--protocol does not apply"),
        (("--data-dir", "A", "sessions", "--data-dir", "B"), "--data-dir is given twice"),
    ],
)
def test_options_that_would_be_lost_are_refused(argv, message, capsys):
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_patient_added_with_the_data_folder_first_is_stored_there(tmp_path, capsys):
    folder = tmp_path / "clinic"
    assert main(["--data-dir", str(folder), "patients", "add", "P-7"]) == 0
    with Store.open(folder) as store:
        assert [p.code for p in store.patients()] == ["P-7"]
