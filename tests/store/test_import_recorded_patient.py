"""A session folder is never imported for another patient than the one it was recorded for."""

from __future__ import annotations

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


def _recorded_for(data_dir, code: str):
    rec = Recorder.create(
        LAYOUT, data_directory=data_dir, clock=SimulatedClock(), extra={"patient_code": code}
    )
    rec.close()
    return rec.path


def test_a_folder_recorded_for_another_patient_is_refused_in_one_line(data_dir, capsys):
    """`sessions import FOLDER --patient P-CARA` filed P-BEN's recording under P-CARA (review)."""
    with Store.open(data_dir) as store:
        store.add_patient("P-BEN")
        store.add_patient("P-CARA")
    folder = _recorded_for(data_dir, "P-BEN")
    rc = main(["sessions", "import", str(folder), "--patient", "P-CARA"])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert err == (
        f"biotrainer: {folder} was recorded for another patient, P-BEN, not P-CARA: nothing "
        f"imported (to file it under P-BEN: biotrainer sessions import {folder} --patient "
        "P-BEN)\n"
    )
    with Store.open(data_dir) as store:
        assert store.sessions() == []
    # the way the message gives works; the same code in other letter case is the same patient
    assert main(["sessions", "import", str(folder), "--patient", "P-BEN"]) == 0
    assert main(["sessions", "import", str(folder), "--patient", "p-ben"]) == 0  # a refresh
    with Store.open(data_dir) as store:
        assert [r.patient_code for r in store.sessions()] == ["P-BEN"]


def test_the_store_refuses_it_whoever_asks(data_dir):
    with Store.open(data_dir) as store:
        store.add_patient("P-BEN")
        store.add_patient("P-CARA")
        folder = _recorded_for(data_dir, "P-BEN")
        with pytest.raises(StoreError, match="recorded for another patient, P-BEN, not P-CARA"):
            store.import_folder(folder, "P-CARA")
        assert store.sessions() == []


def test_the_window_s_import_files_a_folder_under_its_recorded_patient(data_dir):
    """The trainer window imports with no code of its own (PatientFlow.import_unregistered:
    the folder's), so it cannot mismatch: it files the folder under the recorded patient."""
    pytest.importorskip("PySide6")
    from biotrainer.ui.patient_flow import PatientFlow

    with Store.open(data_dir) as store:
        store.add_patient("P-BEN")
        store.add_patient("P-CARA")
        _recorded_for(data_dir, "P-BEN")
        cara = store.patient("P-CARA")
        result = PatientFlow(store, None, cara).import_unregistered()  # type: ignore[arg-type]
        assert (result.done, result.errors) == (1, ())
        assert [r.patient_code for r in store.sessions()] == ["P-BEN"]
