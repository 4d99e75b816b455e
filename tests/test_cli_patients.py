"""`biotrainer patients`: the list's columns line up whatever the codes and names.

The code column was 16 characters wide: a longer code, or a name shown with ``--with-name``,
pushed the rest of its row to the right, and a name in a script whose characters take two
terminal columns each (Chinese, Japanese...) pushed it further than its length said.
"""

from __future__ import annotations

import re
import unicodedata

import pytest

from biotrainer.cli import main

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # the "added" column
LONG_NAME = "Maximiliane Konstanze Wilhelmina von Hohenzollern-Sigmaringen"


def width(text: str) -> int:
    """Terminal columns ``text`` takes: 2 for wide characters, 0 for combining marks."""
    return sum(
        2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1
        for c in text
    )


def columns_at(line: str, *words: str) -> list[int]:
    """The terminal column at which each of ``words`` starts in ``line`` (in order)."""
    out, start = [], 0
    for w in words:
        i = line.index(w, start)
        out.append(width(line[:i]))
        start = i + len(w)
    return out


@pytest.fixture
def data(tmp_path) -> str:
    d = str(tmp_path / "data")
    patients = [
        ("P-1", "Ann", "short code"),
        ("CLINIC-2024-000123456789", "Bo", "a code longer than the old column"),
        ("P-2", "王小明", "a name in wide characters"),
        ("P-3", "Zoë 中文中文 Lee", "mixed"),
        ("P-4", LONG_NAME, "a very long name"),
        ("P-5", "Zoe\u0301", "a combining accent"),
    ]
    for code, name, notes in patients:
        argv = ["patients", "add", code, "--name", name, "--notes", notes, "--data-dir", d]
        assert main(argv) == 0
    return d


@pytest.mark.parametrize("with_name", [False, True], ids=["codes", "with-names"])
def test_the_patient_list_columns_line_up(data: str, capsys, with_name: bool) -> None:
    capsys.readouterr()
    assert main(["patients", *(["--with-name"] if with_name else []), "--data-dir", data]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 6
    # where "added" ends up and where the notes begin, header and rows alike
    added = columns_at(header, "added", "notes")
    for row in rows:
        date = DATE.search(row)
        assert date is not None, row
        notes_at = width(row[: date.end()]) + 2
        assert [width(row[: date.start()]), notes_at] == added, (header, row)
    # the sessions count ends under the end of "sessions"
    end_of_sessions = columns_at(header, "sessions")[0] + len("sessions")
    for row in rows:
        count = re.search(r" (\d+) ", row[row.index(" ") :])
        assert count is not None, row
        i = row.index(" ") + count.end(1)
        assert width(row[:i]) == end_of_sessions, (header, row)
    text = "\n".join(rows)
    assert "CLINIC-2024-000123456789" in text  # a code is never cut
    if with_name:
        assert "王小明" in text and "Zoë 中文中文 Lee" in text
        (long_row,) = [r for r in rows if r.startswith("P-4 ")]
        assert LONG_NAME not in long_row and "…" in long_row  # a very long name is cut...
        assert width(long_row[: long_row.index("…") + 1]) <= 48  # ...at about 40 columns
    else:
        assert "王小明" not in text and "Ann" not in text
