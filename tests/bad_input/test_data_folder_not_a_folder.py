"""BIOTRAINER_DATA (or --data-dir) naming a file, or a folder that does not exist.

A file was read as an empty store, with exit 0: `sessions` said "no sessions registered",
`patients` "no patients yet", `report 1` "no session with id 1", none naming the folder, so a
mistyped or wrong data folder looked like a store that had lost everything. A file is now
refused in one line; an absent folder (a new install) is still an empty store, named.
"""

from __future__ import annotations

import pytest

from biotrainer.cli import main

LISTS = (["sessions"], ["patients"], ["report", "1"], ["sessions", "--patient", "P-1"])


@pytest.mark.parametrize("argv", LISTS, ids=lambda a: "-".join(a))
@pytest.mark.parametrize("where", ["file", "under-a-file"])
def test_a_data_folder_that_is_a_file_is_refused(
    tmp_path, monkeypatch, capsys, argv, where
) -> None:
    blocker = tmp_path / "biotrainer-data"
    blocker.write_text("not a folder")
    data = blocker if where == "file" else blocker / "data"
    monkeypatch.setenv("BIOTRAINER_DATA", str(data))
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    (line,) = err.splitlines()
    assert line.startswith(f"biotrainer: the data folder {data} ")
    assert f"{blocker} is a file, not a folder" in line
    assert blocker.read_text() == "not a folder"


def test_an_absent_data_folder_is_an_empty_store_that_names_it(tmp_path, capsys) -> None:
    data = tmp_path / "new-install" / "data"
    argv = ["--data-dir", str(data)]
    assert main(["sessions", *argv]) == 0
    assert capsys.readouterr().err.strip() == f"no sessions registered in {data}"
    assert main(["patients", *argv]) == 0
    assert capsys.readouterr().out.strip() == (
        f"no patients yet in {data}: add one with 'biotrainer patients add CODE'"
    )
    assert main(["report", "1", *argv]) == 2
    assert capsys.readouterr().err.strip() == (
        f"biotrainer: no session with id 1 in {data}: see 'biotrainer sessions'"
    )
    assert not (tmp_path / "new-install").exists()
    # a new user's first steps work
    assert main(["patients", "add", "P-1", *argv]) == 0
    assert main(["sessions", "--patient", "P-1", *argv]) == 0
    assert capsys.readouterr().err.strip() == f"no sessions registered for patient P-1 in {data}"
