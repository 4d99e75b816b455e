"""A session folder whose name is not UTF-8 is refused in one line by the store.

The audit: ``sessions import <folder> --patient P-K`` on a folder made with ``mkdir $'sess\\xff'``
ended in a UnicodeEncodeError traceback from SQLite (the store holds folder names as text).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout
from biotrainer.cli import main
from biotrainer.clock import SimulatedClock
from biotrainer.session.recorder import Recorder
from biotrainer.session.store import Store, StoreError

LAYOUT = SourceLayout(
    device="muse2",
    board_id=38,
    presets=(PresetLayout("default", 256.0, 8, 6, 7),),
    groups=(ChannelGroup("eeg", "default", (1, 2, 3, 4), ("TP9", "AF7", "AF8", "TP10"), "uV"),),
)


def _session_named(parent: Path, raw_name: bytes) -> Path:
    """A recorded session folder in ``parent`` whose name is the bytes ``raw_name``."""
    rec = Recorder.create(LAYOUT, out=parent / "recorded", clock=SimulatedClock())
    rec.close()
    target = parent / os.fsdecode(raw_name)
    rec.path.rename(target)
    return target


@pytest.mark.parametrize("inside", [False, True], ids=["outside-data", "inside-data"])
def test_sessions_import_of_a_non_utf8_folder_is_one_line(tmp_path, capsys, inside) -> None:
    data = tmp_path / "data"
    assert main(["patients", "add", "P-K", "--data-dir", str(data)]) == 0
    parent = data / "sessions" if inside else tmp_path
    parent.mkdir(parents=True, exist_ok=True)
    folder = _session_named(parent, b"sess\xff")
    capsys.readouterr()
    rc = main(["sessions", "import", str(folder), "--patient", "P-K", "--data-dir", str(data)])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    shown = os.fsencode(folder).decode("utf-8", "backslashreplace")
    assert err == (
        f"biotrainer: the session folder {shown} has a name that is not UTF-8 text, which the "
        "patient store cannot hold: rename it to valid UTF-8 text (nothing was registered)\n"
    )
    with Store.open(data) as store:
        assert store.sessions() == []
    # renamed as the message says, it imports
    renamed = folder.rename(parent / "sess-ff")
    argv = ["sessions", "import", str(renamed), "--patient", "P-K", "--data-dir", str(data)]
    assert main(argv) == 0
    with Store.open(data) as store:
        assert [r.folder for r in store.sessions()] == [renamed]


def test_add_session_refuses_a_non_utf8_folder_and_stores_nothing(data_dir, tmp_path) -> None:
    folder = tmp_path / os.fsdecode(b"caf\xe9")  # Latin-1 "café"
    folder.mkdir()
    with Store.open(data_dir) as store:
        store.add_patient("P-1")
        with pytest.raises(StoreError, match=r"caf\\xe9 has a name that is not UTF-8 text"):
            store.add_session("P-1", folder, "alpha-uptraining", "simulator")
        assert store.sessions() == []
