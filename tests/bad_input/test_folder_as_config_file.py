"""A folder given as a protocol, a device profile or a scenario: one line saying it is a folder.

A folder given by path was said to be "not a regular file (it is a folder)", and one given by a
bare name in the current folder (``--protocol somedir``, ``--protocol .``) was said to be missing
("no such protocol file"), though it is right there. Each is now named as a folder, not a
protocol (device profile, scenario) file, with exit code 2 and nothing recorded. A named pipe
given by a bare name in the current folder is said to be a pipe, never read (a hung process is
killed by a timeout and fails the test).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from badinputkit import one_line

from biotrainer.cli import main

RUN = ["run", "--no-record"]
SIMULATOR = ["run", "--no-record", "--device", "simulator", "--speed", "max"]
PROTOCOL = "it is a folder, not a protocol file"


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp_path`` (the current folder) holding folders ``somedir``, ``d.toml`` and
    ``search/inside.toml`` (for the search path variables)."""
    (tmp_path / "somedir").mkdir()
    (tmp_path / "d.toml").mkdir()
    (tmp_path / "search" / "inside.toml").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# (id, argv with {tmp}, environment variable set to {tmp}/search, words the line must hold)
CASES: list[tuple[str, list[str], str | None, str]] = [
    ("protocol-path", [*RUN, "--protocol", "{tmp}/somedir"], None, f"{{tmp}}/somedir: {PROTOCOL}"),
    ("protocol-path-slash", [*RUN, "--protocol", "{tmp}/somedir/"], None, PROTOCOL),
    ("protocol-relative", [*RUN, "--protocol", "./somedir"], None, f"somedir: {PROTOCOL}"),
    ("protocol-toml-named", [*RUN, "--protocol", "{tmp}/d.toml"], None, f"d.toml: {PROTOCOL}"),
    ("protocol-bare-name", [*RUN, "--protocol", "somedir"], None, f"{{tmp}}/somedir: {PROTOCOL}"),
    ("protocol-dot", [*RUN, "--protocol", "."], None, f"{{tmp}}: {PROTOCOL}"),
    (
        "protocol-by-name-in-search-path",
        [*RUN, "--protocol", "inside"],
        "BIOTRAINER_PROTOCOLS",
        f"{{tmp}}/search/inside.toml: {PROTOCOL}",
    ),
    (
        "device-path",
        [*RUN, "--device", "{tmp}/somedir"],
        None,
        "{tmp}/somedir: it is a folder, not a device profile file",
    ),
    (
        "device-by-name-in-search-path",
        [*RUN, "--device", "inside"],
        "BIOTRAINER_DEVICES",
        "search/inside.toml: it is a folder, not a device profile file",
    ),
    (
        "scenario-path",
        [*SIMULATOR, "--scenario", "{tmp}/d.toml"],
        None,
        "d.toml: it is a folder, not a scenario file",
    ),
    (
        "device-on-record",
        ["record", "--device", "{tmp}/d.toml", "--duration", "1"],
        None,
        "d.toml: it is a folder, not a device profile file",
    ),
]


@pytest.mark.parametrize(
    ("argv", "env", "words"), [pytest.param(a, e, w, id=i) for i, a, e, w in CASES]
)
def test_a_folder_as_a_config_file_is_named_a_folder_on_one_line(
    folders: Path, monkeypatch, capsys, argv: list[str], env: str | None, words: str
) -> None:
    if env:
        monkeypatch.setenv(env, str(folders / "search"))
    argv = [a.format(tmp=folders) for a in argv] + ["--data-dir", str(folders / "data")]
    line = one_line(main(argv), capsys.readouterr().err)
    assert words.format(tmp=folders) in line
    assert "no such" not in line and "unknown" not in line and "regular file" not in line
    sessions = folders / "data" / "sessions"
    assert not sessions.exists() or not any(sessions.iterdir())  # no half-made session


def test_a_pipe_named_in_the_current_folder_is_refused_without_hanging(tmp_path: Path) -> None:
    """``--protocol fifo`` with a named pipe ``fifo`` in the current folder: said to be a pipe
    (it was "no such protocol file"), never opened for reading."""
    os.mkfifo(tmp_path / "fifo")
    argv = [sys.executable, "-m", "biotrainer.cli", *RUN, "--protocol", "fifo"]
    done = subprocess.run(
        [*argv, "--data-dir", str(tmp_path / "data")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,  # a hang fails the test, never the suite
    )
    line = one_line(done.returncode, done.stderr)
    assert f"{tmp_path}/fifo: not a regular file (it is a pipe)" in line
    assert "no such" not in line


def test_a_missing_protocol_name_still_lists_the_known_ones(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    line = one_line(main([*RUN, "--protocol", "nothere"]), capsys.readouterr().err)
    assert "nothere.toml: no such protocol file (known protocols: " in line


def test_a_protocol_file_in_the_current_folder_named_without_suffix_is_pointed_to(
    tmp_path, monkeypatch, capsys
) -> None:
    """A bare name that is no known protocol but a file here is not read (a name is looked up
    among the protocols), but the line says how to give it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").write_text("this is = = not TOML")
    line = one_line(main([*RUN, "--protocol", "mine"]), capsys.readouterr().err)
    assert "mine.toml: no such protocol file (known protocols: " in line
    assert line.endswith("; to use the file mine in this folder, give it as ./mine")
    line = one_line(main([*RUN, "--protocol", "./mine"]), capsys.readouterr().err)
    assert "mine: not valid TOML" in line
