"""``--out`` naming an existing file: one line saying it is a file, the file left as it was.

A file given as ``--out`` of ``run`` or ``record`` was said to "already exist and not be an
empty folder", as if it were a folder holding files. The line now says it is a file (or a pipe),
and what to give instead; a folder that holds files keeps its own message.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from badinputkit import one_line

from biotrainer.cli import main

RUN = ["run", "--device", "synthetic"]
RECORD = ["record", "--device", "synthetic", "--duration", "1"]
GIVE = "give --out a folder that does not exist yet or is empty"


@pytest.mark.parametrize("argv", [RUN, RECORD], ids=["run", "record"])
def test_out_naming_a_file_says_it_is_a_file(tmp_path: Path, capsys, argv: list[str]) -> None:
    out = tmp_path / "notes.txt"
    out.write_text("keep me")
    data = tmp_path / "data"
    code = main([*argv, "--out", str(out), "--data-dir", str(data)])
    line = one_line(code, capsys.readouterr().err)
    assert f"cannot record into {out}: it is a file, not an empty folder" in line
    assert GIVE in line and "already exists" not in line
    assert out.read_text() == "keep me"  # nothing lost
    assert not (data / "sessions").exists() or not any((data / "sessions").iterdir())


def test_out_naming_a_pipe_says_it_is_a_pipe(tmp_path: Path, capsys) -> None:
    out = tmp_path / "fifo"
    os.mkfifo(out)
    line = one_line(main([*RUN, "--out", str(out)]), capsys.readouterr().err)
    assert f"cannot record into {out}: it is a pipe, not an empty folder" in line


def test_out_naming_a_link_to_a_file_says_it_is_a_file(tmp_path: Path, capsys) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    out = tmp_path / "link"
    out.symlink_to(target)
    line = one_line(main([*RUN, "--out", str(out)]), capsys.readouterr().err)
    assert f"cannot record into {out}: it is a file, not an empty folder" in line
    assert target.read_text() == "keep me" and out.is_symlink()


@pytest.mark.parametrize("argv", [RUN, RECORD], ids=["run", "record"])
def test_out_naming_a_link_to_nothing_names_the_link_and_out(
    tmp_path: Path, capsys, argv: list[str]
) -> None:
    # (it was said to be "the data folder", to be changed with --data-dir)
    out = tmp_path / "out"
    out.symlink_to(tmp_path / "gone")
    line = one_line(main([*argv, "--out", str(out)]), capsys.readouterr().err)
    assert f"cannot record into {out}: it is a link to nothing" in line
    assert "--out" in line and "data folder" not in line and "--data-dir" not in line
    assert out.is_symlink() and not (tmp_path / "gone").exists()


@pytest.mark.parametrize("argv", [RUN, RECORD], ids=["run", "record"])
def test_out_naming_a_folder_with_files_keeps_its_message(
    tmp_path: Path, capsys, argv: list[str]
) -> None:
    out = tmp_path / "used"
    out.mkdir()
    (out / "something").write_text("x")
    line = one_line(main([*argv, "--out", str(out)]), capsys.readouterr().err)
    assert f"cannot record into {out}: it already exists and is not an empty folder" in line
    assert (out / "something").read_text() == "x" and len(list(out.iterdir())) == 1
