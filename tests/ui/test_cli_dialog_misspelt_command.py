"""A refused command line opens the trainer's start dialog only when it starts the trainer.

A misspelt command typed in a terminal (``biotrainer reprot 3``, ``biotrainer sesions``) named
no known command, so it was taken for a trainer start: the modal dialog opened over the
desktop (and blocked the terminal until closed), though other commands' refusals stay on the
terminal. A value spelt like a command (``--protocol report``) was the reverse: a trainer start
taken for the command it spells, no dialog.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from biotrainer.cli import main


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("biotrainer: ")
    return err.strip().removeprefix("biotrainer: ")


def _argv(argv: list[str], tmp_path: Path) -> list[str]:
    afile = tmp_path / "afile"
    afile.write_text("")
    return [a.replace("{afile}", str(afile)) for a in argv]


@pytest.mark.parametrize(
    ("argv", "word"),
    [
        (["reprot", "3"], "reprot"),
        (["sesions"], "sesions"),
        (["--data-dir", "{afile}/data", "reprot"], "reprot"),  # refused at --data-dir first
        (["--protocol", "alpha-uptraining", "--signals", "sesions"], "sesions"),
        (["--", "reprot"], "reprot"),
        (["-1"], "-1"),
    ],
)
def test_a_misspelt_command_stays_on_the_terminal(
    qapp, errors_shown, capsys, tmp_path, argv, word
) -> None:
    assert main(_argv(argv, tmp_path)) == 2
    line = _one_line(capsys)
    assert "invalid choice" in line or "--data-dir" in line, line
    assert errors_shown == [], (word, errors_shown)


@pytest.mark.parametrize(
    "argv",
    [
        ["--protocol", "report", "--no-such-option"],
        ["--protocol=sessions", "--no-such-option"],
        ["--data", "{afile}/data"],  # (argparse takes the start of a long option)
        ["--signals", "gui", "--no-such-option"],
        ["--speed", "-1"],
    ],
)
def test_a_refused_trainer_start_is_still_shown_in_a_dialog(
    qapp, errors_shown, capsys, tmp_path, argv
) -> None:
    """Options only, or ``gui``: the trainer's command line, whatever the options' values."""
    assert main(_argv(argv, tmp_path)) == 2
    line = _one_line(capsys)
    assert errors_shown == [("biotrainer", line[:1].upper() + line[1:])]
