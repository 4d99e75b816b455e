"""A huge offending value in a device profile gives a short line, still saying what is wrong.

``biotrainer devices`` prints one line per invalid profile; a profile whose ``rows`` repeated one
row thousands of times printed the whole list, a 30 KB line. Each profile message now shows at
most an excerpt of the offending value (its first items and "… (N in all)", or the first
characters of a text and its length), whatever the value's size.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from biotrainer.cli import main

#: Longest line allowed for the repeated rows of the audit (path included), and for any case
#: (some messages also list what is allowed, e.g. the board description's keys).
MAX_LINE = 300
MAX_ANY_LINE = 500

PROFILE = """name = "{name}"
title = "T"
board = "{board}"
[connection]
required = {required}
timeout = {timeout}
[[channels]]
role = "{role}"
preset = "default"
rows = {rows}
{extra}
"""


def _profile(**changes: str) -> str:
    fields = {
        "name": "NAME",
        "board": "SYNTHETIC_BOARD",
        "required": "[]",
        "timeout": "5",
        "role": "eeg",
        "rows": "[1, 2]",
        "extra": "",
    }
    return PROFILE.format(**(fields | changes))


N = 5000
MANY_X = "[" + ", ".join(['"x"'] * N) + "]"
LONG = "z" * 30_000

# (profile file stem, changes to the profile, words the line must hold)
CASES: list[tuple[str, dict[str, str], str]] = [
    ("repeated", {"rows": str([1] * N)}, f"rows: repeats row 1: [1, 1, 1, … ({N} in all)]"),
    ("text-rows", {"rows": MANY_X}, f"a list of row numbers, got ['x', 'x', 'x', … ({N} in all)]"),
    ("long-key", {"rows": f'"{LONG}"'}, f"'{'z' * 40}'… (30000 characters) is not in the default"),
    ("out-of-range", {"rows": str([1] * N + [99])}, "row 99 is out of range"),
    ("huge-row", {"rows": f"[{'9' * 4000}]"}, "row 999999999"),
    ("long-name", {"name": LONG}, "name: 'zzzz"),
    ("long-board", {"board": LONG}, "board: unknown BrainFlow board 'zzz"),
    ("long-role", {"role": LONG}, "channels[0].role: unknown role 'zzz"),
    ("many-required", {"required": MANY_X}, "connection.required: unknown connection field 'x'"),
    ("list-timeout", {"timeout": str([1] * N)}, f"got [1, 1, 1, … ({N} in all)]"),
    (
        "alpha-channels",
        {"extra": f"[defaults]\nalpha_channels = {MANY_X}"},
        f"defaults.alpha_channels: ['x', 'x', 'x', … ({N} in all)] are not eeg channel names",
    ),
    (
        "line-frequency",
        {"extra": f"[defaults]\nline_frequency = {[50] * N}"},
        f"got [50, 50, 50, … ({N} in all)]",
    ),
    ("unknown-key", {"extra": f'"{LONG}" = 1'}, "(30000 characters): unknown key"),
]


@pytest.mark.parametrize(
    ("stem", "changes", "words"), [pytest.param(s, c, w, id=s) for s, c, w in CASES]
)
def test_devices_says_what_is_wrong_in_a_short_line(
    tmp_path: Path, monkeypatch, capsys, stem: str, changes: dict[str, str], words: str
) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    text = _profile(**({"name": stem} | changes))
    (folder / f"{stem}.toml").write_text(text)
    assert len(text) > 4000
    monkeypatch.setenv("BIOTRAINER_DEVICES", str(folder))
    assert main(["devices"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"biotrainer: invalid profile: {folder / stem}.toml: ")
    assert words in line
    assert len(line) < (MAX_LINE if stem == "repeated" else MAX_ANY_LINE), line


def test_the_same_short_line_when_the_profile_is_used(tmp_path: Path, capsys) -> None:
    path = tmp_path / "repeated.toml"
    path.write_text(_profile(name="repeated", rows=str([1] * N)))
    code = main(["run", "--no-record", "--device", str(path)])
    (line,) = capsys.readouterr().err.splitlines()
    assert code == 2
    assert line == f"biotrainer: {path}: channels[0].rows: repeats row 1: [1, 1, 1, … ({N} in all)]"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ([1] * N, f"[1, 1, 1, … ({N} in all)]"),
        ([1, 2], "[1, 2]"),
        ((1, 2, 3, 4), "(1, 2, 3, … (4 in all))"),
        ({"a": 1, "b": 2}, "{'a': 1, 'b': 2}"),
        ("short", "'short'"),
        ("\x07é", "'\\x07é'"),
        (LONG, f"'{'z' * 40}'… (30000 characters)"),
        ([[1] * N] * 3, f"[a list of {N}, a list of {N}, a list of {N}]"),
        ([LONG], f"['{'z' * 40}'…]"),
        (None, "None"),
    ],
)
def test_excerpt(value: object, shown: str) -> None:
    from biotrainer.errors import excerpt

    assert excerpt(value) == shown


def test_an_excerpt_is_short_whatever_the_value() -> None:
    from biotrainer.errors import excerpt

    for value in ([LONG] * N, {LONG + str(i): LONG for i in range(50)}, "\U0001f600" * N, 10**4000):
        assert len(excerpt(value)) < 300
