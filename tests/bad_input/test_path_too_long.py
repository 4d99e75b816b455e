"""A path the system cannot take (a name in it over 255 bytes) is said in one line.

Python 3.11's ``Path.exists()`` and ``is_dir()`` raise ``OSError: [Errno 36] File name too
long`` instead of answering False, so a session folder, protocol, profile, scenario, data
folder, ``--csv`` or playback file named with a 300-character name ended 12 commands with a
traceback (exit 1). Each check now looks at the path's text first
(:func:`biotrainer.paths.path_too_long`) and says what is too long, exit 2; ``cli.main`` says
it too for any such error a check missed, and the trainer shows it in a dialog as well.
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from badinputkit import fingerprint, one_line, record_session

from biotrainer.cli import main
from biotrainer.paths import NAME_MAX, PATH_MAX, path_too_long, shown_short
from biotrainer.session.store import Store

LONG = "x" * 300
NAME_PROBLEM = "the path is too long: a name in it is {n} bytes, over the 255 a file or folder name"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """A data folder with patient P1 and one recorded, registered session."""
    root = tmp_path_factory.mktemp("longname")
    data = root / "data"
    folder = data / "sessions" / "20250101-000000-muse2"
    folder.mkdir(parents=True)
    record_session(folder, seconds=3.0)
    with Store.open(data) as store:
        store.add_patient("P1")
        store.finish_session(store.add_session("P1", folder, "alpha-uptraining", "muse2").id)
    return {"data": data, "folder": folder}


#: (case id, command line; {long} is a 300-character path under /tmp, {name} the bare name)
CASES = [
    ("replay", ["replay", "{long}"]),
    ("export", ["export", "{long}", "--edf", "{tmp}/out.edf"]),
    ("export-out-folder", ["export", "{folder}", "--edf", "{long}/out.edf"]),
    ("run-replay", ["run", "--replay", "{long}"]),
    ("run-protocol-path", ["run", "--protocol", "{long}.toml"]),
    ("run-protocol-name", ["run", "--protocol", "{name}"]),
    ("run-device-name", ["run", "--device", "{name}"]),
    ("run-device-path", ["run", "--device", "{long}.toml"]),
    ("devices", ["devices", "{name}"]),
    ("scenario", ["run", "--device", "simulator", "--scenario", "{name}"]),
    ("scenario-path", ["run", "--device", "simulator", "--scenario", "{long}.toml"]),
    ("sessions-data-dir", ["sessions", "--data-dir", "{long}"]),
    ("patients-add-data-dir", ["patients", "add", "P2", "--data-dir", "{long}"]),
    ("report-csv", ["report", "1", "--csv", "{long}.csv"]),
    ("sessions-import", ["sessions", "import", "{long}", "--patient", "P1"]),
    (
        "record-playback-file",
        [
            "record",
            "--device",
            "playback",
            "--file",
            "{long}",
            "--master-board",
            "muse2",
            "--duration",
            "1",
        ],
    ),
    ("record-out", ["record", "--duration", "1", "--out", "{long}"]),
]


@pytest.mark.parametrize(("argv"), [pytest.param(a, id=i) for i, a in CASES])
def test_a_name_over_255_bytes_is_said_in_one_line(
    world, tmp_path, monkeypatch, capsys, argv
) -> None:
    monkeypatch.setenv("BIOTRAINER_DATA", str(world["data"]))
    before = fingerprint(world["data"])
    long = f"{tmp_path}/{LONG}"
    words = [w.format(long=long, name=LONG, tmp=tmp_path, folder=world["folder"]) for w in argv]
    code = main(words)
    line = one_line(code, capsys.readouterr().err)
    assert "the path is too long: a name in it is 30" in line  # (300 or 305 with .toml)
    assert "over the 255 a file or folder name may have" in line
    assert "x" * 41 not in line  # the name is cut: the line stays readable
    assert fingerprint(world["data"]) == before


def test_a_data_folder_in_the_environment_too_long(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("BIOTRAINER_DATA", f"{tmp_path}/{LONG}")
    line = one_line(main(["sessions"]), capsys.readouterr().err)
    assert line.startswith(f"biotrainer: the data folder in BIOTRAINER_DATA {tmp_path}/xxxx")
    assert line.endswith(NAME_PROBLEM.format(n=300) + " may have")


def test_a_path_over_4095_bytes_in_all(tmp_path, capsys) -> None:
    deep = "/".join(["y" * 200] * 25)  # every name allowed, the whole too long
    line = one_line(main(["replay", f"{tmp_path}/{deep}"]), capsys.readouterr().err)
    assert line.startswith("biotrainer: cannot read the session folder ")
    assert "the path is too long: " in line and "bytes, over the 4095 a path may have" in line
    assert len(line) < 400


def test_the_trainer_shows_it_in_a_dialog_too(tmp_path, monkeypatch, capsys) -> None:
    shown: list[str] = []
    monkeypatch.setattr("biotrainer.ui.app.show_start_dialog", shown.append)
    argv = ["gui", "--replay", f"{tmp_path}/{LONG}", "--data-dir", str(tmp_path / "data")]
    line = one_line(main(argv), capsys.readouterr().err)
    assert "the path is too long" in line
    assert shown == ["C" + line.removeprefix("biotrainer: c")]


@pytest.mark.parametrize("command", ["devices", "gui"])
def test_one_a_check_missed_is_still_one_line(tmp_path, monkeypatch, capsys, command) -> None:
    """The safety net of ``cli.main``: a path too long met anywhere in a command."""
    import biotrainer.commands.devices
    import biotrainer.commands.gui

    path = f"{tmp_path}/{LONG}"

    def too_long(args) -> int:
        Path(path).exists()  # raises OSError ENAMETOOLONG
        return 0

    module = {"devices": biotrainer.commands.devices, "gui": biotrainer.commands.gui}[command]
    monkeypatch.setattr(module, "run", too_long)
    shown: list[str] = []
    monkeypatch.setattr("biotrainer.ui.app.show_start_dialog", shown.append)
    line = one_line(main([command]), capsys.readouterr().err)
    assert line == f"biotrainer: {shown_short(path)}: " + NAME_PROBLEM.format(n=300) + " may have"
    assert shown == ([line.removeprefix("biotrainer: ")] if command == "gui" else [])


def test_another_os_error_is_not_taken_for_it(monkeypatch) -> None:
    import biotrainer.commands.devices

    def fails(args) -> int:
        raise OSError(errno.EACCES, "Permission denied", "/x")

    monkeypatch.setattr(biotrainer.commands.devices, "run", fails)
    with pytest.raises(PermissionError):
        main(["devices"])


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/tmp/" + "x" * NAME_MAX, None),
        ("/tmp/" + "x" * (NAME_MAX + 1), "a name in it is 256 bytes"),
        ("/tmp/" + "é" * 128, "a name in it is 256 bytes"),  # bytes, not characters
        ("/" + "/".join(["y" * 200] * 20), None),  # 4020 bytes
        ("/" + "/".join(["y" * 200] * 21), "4221 bytes, over the 4095"),
        (b"/tmp/" + b"\xff" * 256, "a name in it is 256 bytes"),
    ],
)
def test_path_too_long(path: str | bytes, problem: str | None) -> None:
    found = path_too_long(path)
    assert (found is None) if problem is None else (problem in found)
    assert PATH_MAX == 4095
