"""`biotrainer gui` refusing to start: a dialog as well as the terminal line (a person who
starts the trainer from a desktop icon sees no terminal), and never a Qt abort."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from biotrainer.cli import main
from biotrainer.errors import BiotrainerError
from biotrainer.session.store import DB_FILE


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("biotrainer: ")
    return err.strip().removeprefix("biotrainer: ")


def _said_in_a_dialog(shown: list[tuple[str, str]], line: str) -> None:
    """One dialog, titled, saying the terminal's line (as a sentence)."""
    assert shown == [("biotrainer", line[:1].upper() + line[1:])]


def test_a_refused_device_of_the_signal_window_is_shown_in_a_dialog(
    qapp, errors_shown, capsys, tmp_path
) -> None:
    """``--signals`` refused its device on the terminal only: from a desktop icon, nothing."""
    argv = ["--signals", "--device", "no-such-headset", "--data-dir", str(tmp_path / "data")]
    assert main(argv) == 2
    line = _one_line(capsys)
    assert "no-such-headset" in line
    _said_in_a_dialog(errors_shown, line)


def test_a_device_option_the_signal_window_would_ignore_is_shown_in_a_dialog(
    qapp, errors_shown, capsys
) -> None:
    """The live device's reconnecting wrapper refused it once the window was up, from inside
    the window's start: the terminal line only, the window shown for an instant."""
    from PySide6.QtWidgets import QApplication

    assert main(["--signals", "--serial-port", "/dev/ttyUSB0"]) == 2
    line = _one_line(capsys)
    assert "--serial-port" in line
    _said_in_a_dialog(errors_shown, line)
    assert [w for w in QApplication.topLevelWidgets() if w.isVisible()] == []


def test_show_start_error_says_a_command_line_refusal_as_a_sentence(qapp, errors_shown) -> None:
    """What the command line's refusals (``--data-dir`` under a file) can be shown with."""
    from biotrainer.commands.gui import show_start_error

    line = (
        "cannot create the data folder: /etc/hostname is a file, not a folder. "
        "Choose another folder with --data-dir"
    )
    show_start_error(line)
    _said_in_a_dialog(errors_shown, line)


@pytest.mark.parametrize(
    "argv",
    [
        ["--data-dir", "{afile}/data"],
        ["gui", "--data-dir", "{afile}/data"],
        ["--speed", "fast", "--no-such-option"],
        ["--signals", "--timeout", "-1"],
    ],
)
def test_a_refused_command_line_of_the_trainer_is_shown_in_a_dialog(
    qapp, errors_shown, capsys, tmp_path, argv
) -> None:
    """A launcher's options refused while they were read (``--data-dir`` under a file): the
    terminal line only, so a desktop icon that did nothing."""
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main([a.replace("{afile}", str(afile)) for a in argv]) == 2
    _said_in_a_dialog(errors_shown, _one_line(capsys))


@pytest.mark.parametrize(
    "argv", [["sessions", "--no-such-option"], ["report", "--data-dir", "{afile}/data"]]
)
def test_a_refused_command_line_of_another_command_stays_on_the_terminal(
    qapp, errors_shown, capsys, tmp_path, argv
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main([a.replace("{afile}", str(afile)) for a in argv]) == 2
    _one_line(capsys)
    assert errors_shown == []


def _corrupt_store(folder: Path) -> None:
    folder.mkdir()
    (folder / DB_FILE).write_bytes(b"not a database " * 100)


def _newer_store(folder: Path) -> None:
    folder.mkdir()
    with sqlite3.connect(folder / DB_FILE) as db:
        db.execute("PRAGMA user_version = 999")


def _database_is_a_folder(folder: Path) -> None:
    (folder / DB_FILE).mkdir(parents=True)


def _damaged_replay(folder: Path) -> None:
    (folder.parent / "rec").mkdir()
    (folder.parent / "rec" / "session.json").write_text("{")


@pytest.mark.parametrize(
    ("make", "options", "words"),
    [
        (_corrupt_store, [], "is not a usable biotrainer database"),
        (_newer_store, [], "newer biotrainer"),
        (_database_is_a_folder, [], "Is a directory"),
        (None, ["--patient", "nobody"], "no patient"),
        (None, ["--protocol", "no-such-protocol"], "no such protocol file"),
        (None, ["--device", "no-such-headset"], "no-such-headset"),
        (_damaged_replay, ["--replay", "{rec}"], "is corrupt"),
        (None, ["--speed", "fast"], "--speed"),
    ],
)
def test_every_refusal_before_the_trainer_opens_is_shown_in_a_dialog(
    qapp, errors_shown, capsys, tmp_path, make, options, words
) -> None:
    """The data folder, its store, the patient, the protocol, the device, the recording: said
    in one dialog and one terminal line, exit 2 (coverage of the start; these were shown)."""
    data = tmp_path / "data"
    if make is not None:
        make(data)
    options = [o.replace("{rec}", str(tmp_path / "rec")) for o in options]
    no_patient = [] if "--patient" in options else ["--no-patient"]
    assert main([*options, *no_patient, "--data-dir", str(data)]) == 2
    line = _one_line(capsys)
    assert words in line
    _said_in_a_dialog(errors_shown, line)


def test_an_unusable_data_folder_from_the_environment_is_shown_in_a_dialog(
    qapp, errors_shown, capsys, monkeypatch, tmp_path
) -> None:
    """``BIOTRAINER_DATA`` under a regular file (the desktop profile's setting)."""
    afile = tmp_path / "afile"
    afile.write_text("")
    monkeypatch.setenv("BIOTRAINER_DATA", str(afile / "data"))
    assert main(["--no-patient"]) == 2
    line = _one_line(capsys)
    assert line.startswith(f"cannot create the data folder {afile / 'data'}")
    _said_in_a_dialog(errors_shown, line)


# -- Qt that cannot open a window: said in one line, never a core dump ----------------------


@pytest.fixture
def linux_without_display(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from biotrainer.ui import app

    monkeypatch.setattr(app.sys, "platform", "linux")
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY", "QT_PLUGIN_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    return app


@pytest.mark.parametrize(
    ("platform", "words"),
    [
        ("xcb", "xcb needs an X11 display, and DISPLAY is not set"),
        ("wayland", "wayland needs a Wayland display, and none was found"),
        ("wayland-egl", "wayland needs a Wayland display"),
        ("wayland;xcb", "DISPLAY is not set"),
        ("no-such-platform", "Qt has no platform 'no-such-platform'"),
    ],
)
def test_a_platform_qt_cannot_start_is_said_before_qt_aborts(
    linux_without_display, monkeypatch, platform, words
) -> None:
    """Qt prints several lines and aborts the process (a core dump) for each of these."""
    monkeypatch.setenv("QT_QPA_PLATFORM", platform)
    with pytest.raises(BiotrainerError, match=f"QT_QPA_PLATFORM={platform}") as refused:
        linux_without_display.check_display()
    assert words in str(refused.value) and "\n" not in str(refused.value)


def test_a_platform_that_can_start_is_not_refused(linux_without_display, monkeypatch, tmp_path):
    app = linux_without_display
    for platform in ("offscreen", "minimal:enable_fonts", "wayland;offscreen"):
        monkeypatch.setenv("QT_QPA_PLATFORM", platform)
        app.check_display()
    (tmp_path / "wayland-0").touch()  # (where the Wayland library looks by default)
    monkeypatch.setenv("QT_QPA_PLATFORM", "wayland")
    app.check_display()


@pytest.mark.parametrize("platform", [None, "xcb"])
def test_an_x_display_nobody_answers_at_is_said(linux_without_display, monkeypatch, platform):
    """DISPLAY left over from a session that has ended: Qt "could not connect", then aborts."""
    try:
        import ctypes

        ctypes.CDLL("libxcb.so.1")
    except OSError:
        pytest.skip("no libxcb here: nothing to connect with")
    app = linux_without_display
    monkeypatch.setattr(app, "_xcb_plugin_problem", lambda: None)  # (its libraries are there)
    monkeypatch.setenv("DISPLAY", ":7391")
    if platform is not None:
        monkeypatch.setenv("QT_QPA_PLATFORM", platform)
    with pytest.raises(BiotrainerError, match="no X server answers at DISPLAY=:7391"):
        app.check_display()


def _gui_without_display(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env |= {"QT_QPA_PLATFORM": "xcb", "BIOTRAINER_CACHE": str(tmp_path / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "biotrainer.cli", *argv, "--data-dir", str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # (a dialog nobody can see would wait for ever)
    )


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--no-patient"], "Qt cannot open a window with QT_QPA_PLATFORM=xcb"),
        (["--protocol", "no-such-protocol", "--no-patient"], "no such protocol file"),
        (["--signals"], "Qt cannot open a window with QT_QPA_PLATFORM=xcb"),
    ],
)
def test_the_trainer_over_ssh_with_a_desktop_profile_says_one_line(tmp_path, argv, words):
    """QT_QPA_PLATFORM=xcb with no display: Qt aborted with a core dump (exit 134), before or
    instead of the refusal; now the line, exit 2, and no dialog tried."""
    done = _gui_without_display(tmp_path, *argv)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("biotrainer: "), done.stderr
    assert words in done.stderr


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--device", "no-such-headset", "--no-patient"], "no-such-headset"),
        (["--signals", "--device", "no-such-headset"], "no-such-headset"),
    ],
)
def test_a_start_error_offscreen_ends_with_its_line(tmp_path, argv, words):
    """Headless (QT_QPA_PLATFORM=offscreen: scripts, CI, screenshots) nobody can close a
    dialog: the command waited for ever on one; now the line and exit 2."""
    env = dict(os.environ) | {
        "QT_QPA_PLATFORM": "offscreen",
        "BIOTRAINER_CACHE": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "biotrainer.cli", *argv, "--data-dir", str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    lines = [x for x in done.stderr.splitlines() if x.startswith("biotrainer: ")]
    assert len(lines) == 1 and words in lines[0], done.stderr
    assert "Traceback" not in done.stderr
