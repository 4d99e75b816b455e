"""A recording is one session of one patient, once: a replay of it is no new session (nor sets
the patient's resonance rate), and a copy or a moved copy of it is not registered again."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout
from biotrainer.cli import main
from biotrainer.clock import SimulatedClock
from biotrainer.session import store as store_module
from biotrainer.session.folder import read_meta
from biotrainer.session.recorder import Recorder
from biotrainer.session.store import Store, StoreError

LAYOUT = SourceLayout(
    device="muse2",
    board_id=38,
    presets=(PresetLayout("default", 256.0, 8, 6, 7),),
    groups=(ChannelGroup("eeg", "default", (1, 2, 3, 4), ("TP9", "AF7", "AF8", "TP10"), "uV"),),
)
T0 = datetime(2026, 3, 14, 9, 30, 5, 123456, tzinfo=UTC)


def _recording(data_dir: Path, code: str = "P-1", start: datetime = T0) -> Path:
    """A closed (empty) recording of patient ``code`` started at ``start``."""
    rec = Recorder.create(
        LAYOUT,
        data_directory=data_dir,
        clock=SimulatedClock(),
        wall_clock=lambda: start,
        extra={"patient_code": code, "protocol": "alpha-uptraining"},
    )
    rec.close()
    return Path(rec.path)


def _store_with(data_dir: Path, *codes: str) -> None:
    with Store.open(data_dir) as store:
        for code in codes:
            store.add_patient(code)


# -- a replay -------------------------------------------------------------------------------


@pytest.fixture
def recorded(data_dir: Path, tmp_path: Path, short_run_argv) -> Path:
    """A short session of P-1 recorded by `run` (P-1's resonance rate then set by hand)."""
    assert main(["patients", "add", "P-1", "--data-dir", str(data_dir)]) == 0
    assert main(short_run_argv(data_dir, tmp_path)) == 0
    assert main(["patients", "resonance", "P-1", "6.5", "--data-dir", str(data_dir)]) == 0
    (folder,) = (data_dir / "sessions").iterdir()
    return folder


def test_run_replay_for_a_patient_is_refused_in_one_line(recorded, data_dir, tmp_path, capsys):
    """`run --replay OLD --patient P-1` registered "session 2" dated today with the old
    recording's figures, and replaced P-1's resonance rate (audit130)."""
    capsys.readouterr()
    protocol = tmp_path / "short.toml"
    argv = ["run", "--replay", str(recorded), "--protocol", str(protocol), "--speed", "max"]
    rc = main([*argv, "--patient", "P-1", "--data-dir", str(data_dir)])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert err == (
        "biotrainer: --replay plays a recording again, which is not a new session of a "
        "patient: it cannot go with --patient (nothing was registered, no resonance rate "
        "stored). To register the recording itself: biotrainer sessions import "
        f"{recorded} --patient P-1\n"
    )
    assert [p.name for p in (data_dir / "sessions").iterdir()] == [recorded.name]
    with Store.open(data_dir) as store:
        assert [r.id for r in store.sessions()] == [1]
        assert store.patient("P-1").resonance_bpm == 6.5


def test_a_replay_s_recording_is_never_imported_as_a_session(recorded, data_dir, tmp_path, capsys):
    """Without --patient the replay is recorded, marked as a replay: `sessions import` of its
    folder (the way round the refusal) is refused, and the trainer does not offer it."""
    protocol = tmp_path / "short.toml"
    argv = ["run", "--replay", str(recorded), "--protocol", str(protocol), "--speed", "max"]
    assert main([*argv, "--data-dir", str(data_dir)]) == 0
    (replayed,) = [p for p in (data_dir / "sessions").iterdir() if p != recorded]
    capsys.readouterr()
    argv = ["sessions", "import", str(replayed), "--patient", "P-1"]
    rc = main([*argv, "--data-dir", str(data_dir)])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert err == (
        f"biotrainer: {replayed} was recorded from a replay of an earlier recording, which is "
        "not a session of a patient: nothing imported (import the recording it replayed)\n"
    )
    with Store.open(data_dir) as store:
        assert [r.id for r in store.sessions()] == [1]
        pytest.importorskip("PySide6")
        from biotrainer.ui.patient_flow import PatientFlow

        scan = PatientFlow(store, None).scan_unregistered()  # type: ignore[arg-type]
        assert (scan.importable, scan.without_patient, scan.damaged) == ((), (), ())


# -- a copy, a moved copy -------------------------------------------------------------------


def test_a_copy_of_a_registered_recording_is_refused_naming_its_session(
    data_dir, tmp_path, capsys, monkeypatch
):
    """`sessions import COPY` added the same recording as another session: the progress report
    counted it twice (audit130). Telling them apart reads the registered folder's session.json
    only, never its raw files or metrics."""
    _store_with(data_dir, "P-1")
    original = _recording(data_dir)
    assert main(["sessions", "import", str(original), "--patient", "P-1"]) == 0
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    capsys.readouterr()
    checked: list[Path] = []
    check = store_module.check_session_folder

    def recorded_check(folder):
        checked.append(Path(folder))
        return check(folder)

    def no_summary(folder):
        raise AssertionError("metrics were read")

    monkeypatch.setattr(store_module, "check_session_folder", recorded_check)
    monkeypatch.setattr(store_module, "summarize_folder", no_summary)
    rc = main(["sessions", "import", str(copy), "--patient", "P-1"])
    out, err = capsys.readouterr()
    assert rc == 2 and out == "" and checked == [copy]
    assert err == (
        f"biotrainer: {copy} holds the recording of session 1, already registered in "
        f"{original} (a copy of it?): nothing imported (a recording is registered once)\n"
    )
    with Store.open(data_dir) as store:
        assert [(r.id, r.folder) for r in store.sessions()] == [(1, original)]


def test_a_copy_inside_the_data_folder_is_not_offered_for_import(data_dir):
    """A copy of a registered recording left under sessions/ was offered at every start of
    the trainer ("unregistered sessions found"), and its import then refused."""
    pytest.importorskip("PySide6")
    from biotrainer.ui.patient_flow import PatientFlow

    _store_with(data_dir, "P-1")
    original = _recording(data_dir)
    assert main(["sessions", "import", str(original), "--patient", "P-1"]) == 0
    copy = shutil.copytree(original, original.with_name(original.name + "-copy"))
    other = _recording(data_dir, start=T0 + timedelta(minutes=5))  # (a recording of its own)
    with Store.open(data_dir) as store:
        assert store.registered_copy_of(copy, read_meta(copy)) == 1
        assert store.registered_copy_of(other, read_meta(other)) is None
        scan = PatientFlow(store, None).scan_unregistered()  # type: ignore[arg-type]
        assert scan.importable == (other,) and scan.without_patient == ()


def test_a_moved_recording_keeps_its_session(data_dir, tmp_path, capsys):
    """Moved (its registered folder gone), the recording becomes its session's folder again:
    the same id, ratings and notes, and the move said; a copy of it is then refused."""
    _store_with(data_dir, "P-1")
    original = _recording(data_dir)
    with Store.open(data_dir) as store:
        sid = store.import_folder(original, "P-1").id
        store.add_self_report(sid, "post", pain=3, note="calmer")
        store.add_marker(sid, "slept well")
    moved = tmp_path / "moved"
    shutil.move(original, moved)
    capsys.readouterr()
    assert main(["sessions", "import", str(moved), "--patient", "P-1"]) == 0
    out, err = capsys.readouterr()
    assert out == f"{sid}\tinterrupted\t{moved}\n"
    assert err == (
        f"biotrainer: note: session {sid} was registered in {original}, which is gone: it now "
        f"points to {moved} (the same recording, moved; its ratings and notes kept)\n"
    )
    with Store.open(data_dir) as store:
        (rec,) = store.sessions()
        assert (rec.id, rec.folder) == (sid, moved)
        post = store.self_reports(sid)["post"]
        assert (post.pain, post.note) == (3, "calmer")
        assert [m.text for m in store.markers(sid)] == ["slept well"]
        with pytest.raises(StoreError, match=f"already registered in {moved}"):
            store.import_folder(shutil.copytree(moved, tmp_path / "copy"), "P-1")
        assert len(store.sessions()) == 1


def test_a_moved_recording_of_another_patient_is_refused(data_dir, tmp_path):
    _store_with(data_dir, "P-1", "P-2")
    original = _recording(data_dir, code="")
    with Store.open(data_dir) as store:
        store.import_folder(original, "P-1")
        moved = Path(shutil.move(original, tmp_path / "moved"))
        with pytest.raises(StoreError, match="holds the recording of session 1, registered to"):
            store.import_folder(moved, "P-2")
        assert [(r.patient_code, r.folder) for r in store.sessions()] == [("P-1", original)]


def test_guard_distinct_recordings_and_a_refresh_still_import(data_dir):
    """Guard: two recordings of one device in the same second are two sessions, and importing
    a registered folder again refreshes it (as before)."""
    _store_with(data_dir, "P-1")
    first = _recording(data_dir)
    second = _recording(data_dir, start=T0 + timedelta(microseconds=500))
    with Store.open(data_dir) as store:
        assert store.import_folder(first, "P-1").id == 1
        assert store.import_folder(second, "P-1").id == 2
        assert store.import_folder(first, "P-1").id == 1
        assert len(store.sessions()) == 2
