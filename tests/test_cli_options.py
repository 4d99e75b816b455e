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


class _Unwritable:
    """A stdout whose writes fail as a closed pipe or a full disk does."""

    def __init__(self, error: OSError) -> None:
        self.error = error

    def write(self, text: str) -> int:
        raise self.error

    def flush(self) -> None:
        raise self.error


def test_a_reader_gone_away_ends_quietly(monkeypatch, capsys):
    """`biotrainer devices | head -1` printed a BrokenPipeError traceback."""
    import errno
    import sys

    monkeypatch.setattr(sys, "stdout", _Unwritable(BrokenPipeError(errno.EPIPE, "Broken pipe")))
    assert main(["devices"]) == 1
    assert capsys.readouterr().err == ""


def test_a_full_disk_under_the_output_is_one_line(monkeypatch, capsys):
    """`biotrainer sessions > /dev/full` printed an OSError traceback."""
    import errno
    import sys

    full = OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(sys, "stdout", _Unwritable(full))
    assert main(["devices"]) == 1
    err = capsys.readouterr().err
    assert err == "biotrainer: cannot write the output: No space left on device\n"


def test_names_print_in_a_terminal_that_cannot_show_them(tmp_path):
    """A non-UTF-8 locale: `patients` with a name in another script and the program's own "–"
    placeholder ended in a UnicodeEncodeError traceback."""
    import os
    import subprocess
    import sys

    data = str(tmp_path / "data")
    assert main(["patients", "add", "P-1", "--name", "Zoë 中文", "--data-dir", data]) == 0
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run(
        [sys.executable, "-m", "biotrainer.cli", "patients", "--with-name", "--data-dir", data],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "Zo\\xeb \\u4e2d\\u6587" in done.stdout  # the name, escaped
    assert "\\u2013" in done.stdout  # the "no resonance rate" dash


@pytest.mark.parametrize(("value", "why"), [("   ", "it is blank"), ("data", "a relative one")])
def test_the_data_folder_variable_must_be_a_full_path(value, why, monkeypatch, capsys):
    """BIOTRAINER_DATA="   " made a folder named three spaces in the current folder; a relative
    value named another, empty store in each folder a command was run from."""
    monkeypatch.setenv("BIOTRAINER_DATA", value)
    assert main(["patients"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("biotrainer: BIOTRAINER_DATA must be a folder's full path") and why in err


def test_the_sessions_list_shows_whole_patient_codes(tmp_path, capsys):
    """Codes cut to 12 characters: CLINIC-2024-001 and CLINIC-2024-002 both read CLINIC-2024-."""
    data = str(tmp_path / "data")
    for code in ("CLINIC-2024-001", "CLINIC-2024-002"):
        assert main(["patients", "add", code, "--data-dir", data]) == 0
        folder = tmp_path / code
        folder.mkdir()
        with Store.open(data) as store:
            store.add_session(code, folder, "alpha-uptraining", "simulator")
    capsys.readouterr()
    assert main(["sessions", "--data-dir", data]) == 0
    out = capsys.readouterr().out
    assert "CLINIC-2024-001" in out and "CLINIC-2024-002" in out
    _header, *rows = out.splitlines()
    assert len({row.index(" alpha-uptraining") for row in rows}) == 1  # columns aligned


def test_patients_list_masks_the_name_in_notes_unless_asked(tmp_path, capsys) -> None:
    data = str(tmp_path / "data")
    notes = "Jo prefers mornings"
    assert main(["patients", "add", "P-9", "--name", "Jo Ann Lee", "--notes", notes,
                 "--data-dir", data]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["patients", "--data-dir", data]) == 0
    out = capsys.readouterr().out
    assert "[name] prefers mornings" in out and "Jo" not in out
    assert main(["patients", "--with-name", "--data-dir", data]) == 0
    assert "Jo prefers mornings" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--device", "cyton", "run", "--device", "synthetic"), "--device is given twice"),
        (
            ("--protocol", "eyes-closed-relaxation", "run", "--protocol", "alpha-uptraining"),
            "--protocol is given twice",
        ),
    ],
)
def test_an_option_given_after_the_command_with_its_default_value_counts(argv, message, capsys):
    """The value after the command is the default one: it was taken for "not given", and the
    value before the command silently won (the session ran on the cyton)."""
    with pytest.raises(SystemExit):
        _parse(*argv)
    assert message in capsys.readouterr().err
    assert _parse("--device", "cyton", "run", "--protocol", "alpha-uptraining").device == "cyton"


@pytest.mark.parametrize(
    "argv",
    [
        ("gui", "--replay", "REC", "--serial-port", "/dev/ttyUSB0"),
        ("gui", "--signals", "--replay", "REC", "--device", "cyton"),
        ("--mac-address", "00:11:22:33:44:55", "gui", "--replay", "REC"),
    ],
)
def test_every_command_refuses_device_options_a_replay_would_ignore(argv):
    """Only `run` refused them: the trainer window played the recording and ignored the port."""
    from biotrainer.clock import SimulatedClock
    from biotrainer.commands.gui import session_sources
    from biotrainer.errors import DeviceError

    args = _parse(*argv)
    with pytest.raises(DeviceError, match=r"--replay plays a recording: --\S+ would be ignored"):
        session_sources(args, SimulatedClock())


@pytest.mark.parametrize(("speed", "expected"), [(None, 1.0), ("4", 4.0)])
def test_the_signal_window_plays_at_the_speed_given(speed, expected, monkeypatch):
    """`gui --signals --speed 4` played a recording at real time: the speed was not passed."""
    import biotrainer.ui.app as app
    from biotrainer.commands import gui

    asked = []
    real = gui.session_sources
    monkeypatch.setattr(
        gui,
        "session_sources",
        lambda args, clock, speed=1.0: asked.append(speed) or real(args, clock, speed),
    )
    monkeypatch.setattr(app, "run_main_window", lambda make_source, **kw: 0)
    argv = ["gui", "--signals", "--device", "simulator-muse2"]
    assert main([*argv, "--speed", speed] if speed else argv) == 0
    assert asked == [expected]


def test_the_signal_window_refuses_a_speed_it_cannot_play(monkeypatch, capsys):
    import biotrainer.ui.app as app
    from biotrainer.commands import gui

    monkeypatch.setattr(gui, "_show_error", lambda exc: None)
    monkeypatch.setattr(app, "run_main_window", lambda make_source, **kw: 0)
    assert main(["gui", "--signals", "--speed", "0"]) == 2
    assert capsys.readouterr().err == "biotrainer: --speed must be a positive number, not '0'\n"
