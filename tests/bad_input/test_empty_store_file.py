"""A store file emptied to 0 bytes beside recorded sessions is damaged, not a new store."""

from __future__ import annotations

from pathlib import Path

import pytest

from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout
from biotrainer.cli import main
from biotrainer.clock import SimulatedClock
from biotrainer.session.recorder import Recorder
from biotrainer.session.store import DB_FILE, Store

LAYOUT = SourceLayout(
    device="muse2",
    board_id=38,
    presets=(PresetLayout("default", 256.0, 8, 6, 7),),
    groups=(ChannelGroup("eeg", "default", (1, 2, 3, 4), ("TP9", "AF7", "AF8", "TP10"), "uV"),),
)


@pytest.fixture
def emptied(data_dir: Path) -> Path:
    """A data folder with a registered session whose store file was then emptied."""
    with Store.open(data_dir) as store:
        store.add_patient("P-1")
        rec = Recorder.create(LAYOUT, data_directory=data_dir, clock=SimulatedClock())
        rec.close()
        store.import_folder(rec.path, "P-1")
    (data_dir / DB_FILE).write_bytes(b"")
    return data_dir


@pytest.mark.parametrize(
    "argv",
    [["sessions"], ["patients"], ["patients", "add", "P-2"], ["report", "--patient", "P-1"]],
)
def test_an_emptied_store_is_refused_in_one_line(emptied, argv, capsys, tmp_path):
    """`: > biotrainer.sqlite3; biotrainer sessions` said "no sessions registered", and the next
    write built a new store over it (audit130)."""
    if argv[0] == "report":
        argv = [*argv, "--out", str(tmp_path / "p.pdf")]
    rc = main([*argv, "--data-dir", str(emptied)])
    out, err = capsys.readouterr()
    path = emptied / DB_FILE
    assert rc == 2 and out == ""
    assert err == (
        f"biotrainer: {path} is not a usable biotrainer database: it is empty (0 bytes) "
        f"although {emptied / 'sessions'} holds recorded sessions. Move the empty file aside, "
        "then register the session folders again with 'biotrainer sessions import FOLDER "
        "--patient CODE' (nothing was changed)\n"
    )
    assert path.stat().st_size == 0


def test_guard_the_way_out_it_gives_works(emptied, capsys):
    """Guard: the empty file moved aside, the store is made again and the folders imported."""
    (emptied / DB_FILE).rename(emptied / "biotrainer.sqlite3.empty")
    assert main(["patients", "add", "P-1", "--data-dir", str(emptied)]) == 0
    (folder,) = (emptied / "sessions").iterdir()
    assert main(["sessions", "import", str(folder), "--patient", "P-1"]) == 0
    with Store.open(emptied) as store:
        assert len(store.sessions()) == 1


def test_guard_an_empty_file_without_sessions_is_a_new_store(data_dir):
    """Guard: a 0-byte store file with no session folder (made just before its first write)
    is taken as a new store."""
    data_dir.mkdir(mode=0o700)
    (data_dir / DB_FILE).write_bytes(b"")
    with Store.open(data_dir) as store:
        store.add_patient("P-1")
        assert [p.code for p in store.patients()] == ["P-1"]
