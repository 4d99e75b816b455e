"""The SQLite patient/session store: privacy, transactions, hostile text, migrations."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout
from biotrainer.errors import BiotrainerError
from biotrainer.session.migrations import SCHEMA_VERSION
from biotrainer.session.store import DB_FILE, Store, StoreError


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_open_creates_a_private_wal_database(data_dir):
    with Store.open(data_dir) as store:
        store.add_patient("P-001")
        assert store.schema_version == SCHEMA_VERSION
        assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert _mode(data_dir) == 0o700
        assert _mode(data_dir / DB_FILE) == 0o600
        wal = data_dir / (DB_FILE + "-wal")
        assert wal.exists() and _mode(wal) == 0o600
    with Store.open() as again:  # BIOTRAINER_DATA (the data_dir fixture) is the default
        assert [p.code for p in again.patients()] == ["P-001"]


SQL_NASTY = [
    "Robert'); DROP TABLE patients;--",
    'x" OR "1"="1',
    "100% _match_ \\ back\\slash",
    "Zoë Ångström 日本語 🙂",
]


def _legacy_patient(store: Store, code: str) -> None:
    """A patient whose code an older version stored under its looser rule (any UTF-8 text)."""
    store._conn.execute(
        "INSERT INTO patients (code, notes, created_utc) VALUES (?, '', ?)",
        (code, "2024-01-01T00:00:00+00:00"),
    )


@pytest.mark.parametrize("text", SQL_NASTY)
def test_sql_special_characters_are_stored_verbatim(data_dir, text):
    with Store.open(data_dir) as store:
        # (a new code takes only what LSL does: such codes come from older versions)
        _legacy_patient(store, text[:60])
        store.update_patient(text[:60], name=text, notes=text + "\nsecond line")
        p = store.patient(text[:60])
        other = store.add_patient("plain")
        assert store.patient(text[:60]).name == text
        assert store.patient(text[:60]).notes == text + "\nsecond line"
        assert {q.code for q in store.patients()} == {p.code, other.code}
        # LIKE wildcards and quotes have no effect on look-ups
        assert store.find_patient("%") is None
        assert store.find_patient("' OR '1'='1") is None


def test_codes_are_unique_regardless_of_case(data_dir):
    with Store.open(data_dir) as store:
        store.add_patient("P-7")
        with pytest.raises(StoreError, match="already exists"):
            store.add_patient("p-7")
        assert store.patient("p-7").code == "P-7"
        with pytest.raises(StoreError, match="no patient with code 'P-8'"):
            store.patient("P-8")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"code": "P\udcff1"}, "not valid UTF-8"),  # a non-UTF-8 command line (surrogateescape)
        ({"code": b"P\xff1"}, "not valid UTF-8"),
        ({"code": "x" * 65}, "too long"),
        ({"code": "   "}, "empty"),
        ({"code": "A\x00B"}, "control characters"),
        ({"code": "A\nB"}, "one line"),
        ({"code": "P1", "name": "n" * 201}, "too long"),
        ({"code": "P1", "notes": "\udce9t\udce9"}, "not valid UTF-8"),
        ({"code": "P1", "notes": "n" * 10_001}, "too long"),
    ],
)
def test_bad_text_is_refused_with_a_clear_error(data_dir, kwargs, message):
    with Store.open(data_dir) as store:
        with pytest.raises(StoreError, match=message):
            store.add_patient(**kwargs)
        assert store.patients() == []  # nothing half-written


def test_bytes_in_utf8_are_accepted(data_dir):
    with Store.open(data_dir) as store:
        assert store.add_patient(b"Zoe-1", name="Zoë".encode()).code == "Zoe-1"
        assert store.patient("Zoe-1").name == "Zoë"


def _session(store: Store, tmp_path, code="P-1"):
    if store.find_patient(code) is None:
        store.add_patient(code)
    folder = tmp_path / f"folder-{len(store.sessions())}"
    folder.mkdir()
    return store.add_session(code, folder, "alpha-uptraining", "simulator")


def test_self_reports_validate_and_replace(data_dir, tmp_path):
    with Store.open(data_dir) as store:
        sid = _session(store, tmp_path).id
        for bad in (11, -1, 2.5, True, "5", float("nan")):
            with pytest.raises(StoreError, match="0 to 10"):
                store.add_self_report(sid, "pre", pain=bad)
        with pytest.raises(StoreError, match="'pre' or 'post'"):
            store.add_self_report(sid, "during", pain=1)
        store.add_self_report(sid, "pre", pain=7, stress=None, note="'; DELETE FROM sessions;--")
        store.add_self_report(sid, "pre", pain=6, stress=8)
        store.add_self_report(sid, "post", pain=0.0, stress=10)
        reports = store.self_reports(sid)
        assert (reports["pre"].pain, reports["pre"].stress, reports["pre"].note) == (6, 8, "")
        assert (reports["post"].pain, reports["post"].stress) == (0, 10)
        assert len(store.sessions()) == 1


def test_foreign_keys_are_enforced(data_dir, tmp_path):
    with Store.open(data_dir) as store:
        with pytest.raises(StoreError, match="no patient"):
            store.add_session("nobody", tmp_path, "p", "d")
        with pytest.raises(sqlite3.IntegrityError):
            store._conn.execute(
                "INSERT INTO self_reports (session_id, moment, created_utc) VALUES (999, 'pre', '')"
            )
        sid = _session(store, tmp_path).id
        with pytest.raises(StoreError, match="already registered"):
            store.add_session("P-1", tmp_path / "folder-0", "p", "d")
        with pytest.raises(StoreError, match="no session with id 42"):
            store.add_self_report(42, "pre", pain=1)
        with pytest.raises(StoreError, match="session id is a number"):
            store.session("abc")
        store.add_marker(sid, "patient moved", kind="marker", time_s=12.5)
        assert [(m.kind, m.text, m.time_s) for m in store.markers(sid)] == [
            ("marker", "patient moved", 12.5)
        ]


def test_a_session_never_finished_is_interrupted(data_dir, tmp_path):
    with Store.open(data_dir) as store:
        rec = _session(store, tmp_path)
        assert rec.status == "interrupted" and rec.summary is None
        done = store.finish_session(rec.id)  # the folder has no session.json: interrupted
        assert done.status == "interrupted"
        assert done.summary is not None and "missing" in done.summary.warnings[0]
        assert store.finish_session(rec.id, status="completed").status == "completed"


def test_failed_write_rolls_back(data_dir):
    with Store.open(data_dir) as store:
        store.add_patient("A")
        with pytest.raises(RuntimeError), store._write() as c:
            c.execute("INSERT INTO patients (code, notes, created_utc) VALUES ('B', '', 'x')")
            raise RuntimeError("crash between two statements")
        assert [p.code for p in store.patients()] == ["A"]


def test_resonance_rate_is_kept(data_dir):
    with Store.open(data_dir) as store:
        store.add_patient("R")
        p = store.set_resonance("R", 5.5)
        assert p.resonance_bpm == 5.5 and p.resonance_assessed_utc is not None
        with pytest.raises(StoreError, match="not plausible"):
            store.set_resonance("R", 30)


# A version-1 database as the first release wrote it, created by hand (not from the code).
V1_SCHEMA = """
CREATE TABLE patients (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT, notes TEXT NOT NULL DEFAULT '', created_utc TEXT NOT NULL);
CREATE TABLE sessions (id INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients(id) ON DELETE RESTRICT,
    protocol TEXT NOT NULL, device TEXT NOT NULL, started_utc TEXT NOT NULL, ended_utc TEXT,
    folder TEXT UNIQUE, status TEXT NOT NULL DEFAULT 'recording'
    CHECK (status IN ('recording', 'completed', 'interrupted')),
    summary TEXT NOT NULL DEFAULT '{}');
CREATE TABLE self_reports (id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    moment TEXT NOT NULL CHECK (moment IN ('pre', 'post')),
    pain INTEGER CHECK (pain BETWEEN 0 AND 10), stress INTEGER CHECK (stress BETWEEN 0 AND 10),
    note TEXT NOT NULL DEFAULT '', created_utc TEXT NOT NULL, UNIQUE (session_id, moment));
CREATE TABLE markers (id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    time_s REAL, kind TEXT NOT NULL, text TEXT NOT NULL DEFAULT '');
INSERT INTO patients VALUES (1, 'OLD-1', 'Ann Old', 'since 2024', '2025-01-02T10:00:00+00:00');
INSERT INTO sessions VALUES (1, 1, 'alpha-uptraining', 'muse2', '2025-01-03T10:00:00+00:00',
    '2025-01-03T10:20:00+00:00', '/elsewhere/s1', 'completed',
    '{"duration_s": 1200, "n_updates": 12000, "training": {"score": 0.61}}');
INSERT INTO self_reports VALUES (1, 1, 'pre', 7, 5, 'bad night', '2025-01-03T09:58:00+00:00');
INSERT INTO markers VALUES (1, 1, 65.0, 'marker', 'cough');
PRAGMA user_version = 1;
"""


def test_a_version_1_database_migrates_without_data_loss(data_dir):
    data_dir.mkdir(mode=0o700)
    conn = sqlite3.connect(data_dir / DB_FILE)
    conn.executescript(V1_SCHEMA)
    conn.commit()
    conn.close()
    with Store.open(data_dir) as store:
        assert store.schema_version == SCHEMA_VERSION > 1
        assert store.integrity_check() == "ok"
        p = store.patient("old-1")
        assert (p.code, p.name, p.notes, p.resonance_bpm) == (
            "OLD-1",
            "Ann Old",
            "since 2024",
            None,
        )
        (s,) = store.sessions("OLD-1")
        assert (s.protocol, s.device, s.status, str(s.folder)) == (
            "alpha-uptraining",
            "muse2",
            "completed",
            "/elsewhere/s1",
        )
        assert s.summary.training.score == 0.61 and s.summary.duration_s == 1200
        assert store.self_reports(1)["pre"].note == "bad night"
        assert [(m.time_s, m.text, m.from_recording) for m in store.markers(1)] == [
            (65.0, "cough", False)
        ]
        # the new columns work
        assert store.set_resonance("OLD-1", 6.0).resonance_bpm == 6.0
    backup = data_dir / f"{DB_FILE}.v1.bak"
    assert backup.is_file() and _mode(backup) == 0o600
    with sqlite3.connect(backup) as b:
        assert b.execute("PRAGMA user_version").fetchone()[0] == 1
    b.close()


def test_a_newer_or_foreign_database_is_refused(data_dir):
    data_dir.mkdir(mode=0o700)
    conn = sqlite3.connect(data_dir / DB_FILE)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer biotrainer"):
        Store.open(data_dir)
    (data_dir / DB_FILE).write_bytes(b"this is not a database, just text" * 100)
    with pytest.raises(StoreError, match="not a usable biotrainer database"):
        Store.open(data_dir)


def test_unregistered_folders_can_be_found_and_imported(data_dir):
    from datetime import UTC, datetime

    from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout
    from biotrainer.session.folder import SessionMeta, new_session_dir, write_meta

    layout = SourceLayout(
        device="simulator",
        board_id=-1,
        presets=(PresetLayout("default", 250.0, 4, 2, 3),),
        groups=(ChannelGroup("ecg", "default", (1,), ("ECG",), "uV"),),
    )

    with Store.open(data_dir) as store:
        store.add_patient("U-1")
        folder = new_session_dir("simulator", data_directory=data_dir)
        meta = SessionMeta(
            layout=layout,
            device="simulator",
            start_utc=datetime(2025, 5, 1, tzinfo=UTC),
            extra={"protocol": "alpha-uptraining", "patient_code": "U-1"},
        )
        write_meta(folder, meta)
        assert store.unregistered_folders() == [folder.resolve()]
        rec = store.import_folder(folder)  # patient from session.json extra.patient_code
        assert (rec.patient_code, rec.protocol, rec.status) == (
            "U-1",
            "alpha-uptraining",
            "interrupted",
        )
        assert rec.started_utc == datetime(2025, 5, 1, tzinfo=UTC)
        assert store.unregistered_folders() == []
        assert store.import_folder(folder, "u-1").id == rec.id  # refresh, not a duplicate
        store.add_patient("U-2")
        with pytest.raises(StoreError, match="another patient"):
            store.import_folder(folder, "U-2")


@pytest.mark.parametrize(
    "code",
    [
        "P-017\u200b",  # zero-width space
        "P\u200d-017",  # zero-width joiner
        "\ufeffP-017",  # byte-order mark
        "P-017\u200e",  # left-to-right mark
        "\u202eP-017",  # right-to-left override
        "P\u2010017",  # Unicode hyphen
        "P\u2212017",  # minus sign
        "P-\u00a0017",  # no-break space
    ],
)
def test_look_alike_patient_codes_are_refused(data_dir, code):
    """Codes that look like another (or hide characters) would bypass the duplicate check."""
    with Store.open(data_dir) as store:
        store.add_patient("P-017")
        with pytest.raises(StoreError, match=r"the patient code holds .* \(U\+[0-9A-F]{4}\)"):
            store.add_patient(code)
        assert [p.code for p in store.patients()] == ["P-017"]


def test_names_are_one_visible_line(data_dir):
    with Store.open(data_dir) as store:
        with pytest.raises(StoreError, match="the name must be on one line"):
            store.add_patient("P-1", name="Jane\nDoe")
        with pytest.raises(StoreError, match="invisible characters"):
            store.add_patient("P-1", name="Jane\u200b")
        store.add_patient("P-1", name="Zoë Ångström 日本語")
        with pytest.raises(StoreError, match="the name must be on one line"):
            store.update_patient("P-1", name="a\tb")
        assert store.patient("P-1").name == "Zoë Ångström 日本語"


class FullDisk:
    """A connection whose writes fail the way SQLite fails on a full disk (it rolls the
    transaction back itself, so a second ROLLBACK would fail)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, *args):
        if sql.lstrip().startswith(("INSERT", "UPDATE", "DELETE")):
            self.conn.execute("ROLLBACK")
            raise sqlite3.OperationalError("database or disk is full")
        return self.conn.execute(sql, *args)

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction


def test_a_full_disk_is_said_as_such_and_loses_nothing(data_dir):
    with Store.open(data_dir) as store:
        store.add_patient("P-1")
        real = store._conn
        store._conn = FullDisk(real)
        with pytest.raises(StoreError, match=r"cannot be written: the disk is full"):
            store.add_patient("P-2")
        with pytest.raises(StoreError, match=r"the disk is full"):
            store.update_patient("P-1", notes="x")
        store._conn = real
        assert not real.in_transaction
        assert [p.code for p in store.patients()] == ["P-1"]
        store.add_patient("P-2")  # usable again once there is room


def _archive(data_dir, tmp_path):
    """A store with one patient and one session, closed cleanly (no -wal, no -shm left)."""
    with Store.open(data_dir) as store:
        store.add_patient("P-1", notes="archived")
        rec = _session(store, tmp_path)
        store.add_self_report(rec.id, "pre", pain=4)
    assert not (data_dir / f"{DB_FILE}-wal").exists()
    return rec.id


def test_a_folder_that_cannot_be_written_is_read_not_refused(data_dir, tmp_path, monkeypatch):
    """Lists and reports open the store read-only where the folder cannot be written (here
    os.access says so, as on a read-only mount); writing then fails with a clear message."""
    sid = _archive(data_dir, tmp_path)
    before = (data_dir / DB_FILE).read_bytes()
    monkeypatch.setattr(
        "biotrainer.session.store.os.access",
        lambda path, mode: not (mode & os.W_OK and str(path) == str(data_dir)),
    )
    with Store.open_to_read(data_dir) as store:
        assert [p.notes for p in store.patients()] == ["archived"]
        assert store.self_reports(sid)["pre"].pain == 4
        with pytest.raises(StoreError, match=r"read-only here .* nothing was changed"):
            store.add_patient("P-2")
    assert (data_dir / DB_FILE).read_bytes() == before


def test_a_store_on_a_read_only_mount_can_be_listed(data_dir, tmp_path):
    """A real read-only bind mount (needs root and mount; skipped elsewhere): the store closed
    cleanly has no -shm file, and is read as immutable."""
    import shutil
    import subprocess

    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a read-only bind mount needs root and mount(8)")
    sid = _archive(data_dir, tmp_path)
    mnt = tmp_path / "ro"
    mnt.mkdir()
    try:
        subprocess.run(
            ["mount", "--bind", str(data_dir), str(mnt)], check=True, capture_output=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"mount --bind is not allowed here: {exc}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(mnt)], check=True)
        with pytest.raises(BiotrainerError, match="is not writable"):
            Store.open(mnt)
        with Store.open_to_read(mnt) as store:
            assert [p.code for p in store.patients()] == ["P-1"]
            assert store.session(sid).patient_code == "P-1"
            with pytest.raises(StoreError, match="read-only here"):
                store.add_self_report(sid, "post", pain=1)
        (data_dir / f"{DB_FILE}-wal").write_bytes(b"x" * 32)  # changes never folded in
        with pytest.raises(StoreError, match="stopped abruptly"):
            Store.open_to_read(mnt)
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_the_listing_commands_read_a_folder_that_cannot_be_written(
    data_dir, tmp_path, monkeypatch, capsys
):
    from biotrainer.cli import main

    _archive(data_dir, tmp_path)
    monkeypatch.setattr(
        "biotrainer.session.store.os.access",
        lambda path, mode: not (mode & os.W_OK and str(path) == str(data_dir)),
    )
    assert main(["patients", "--data-dir", str(data_dir)]) == 0
    assert "archived" in capsys.readouterr().out
    assert main(["sessions", "--data-dir", str(data_dir)]) == 0
    assert "P-1" in capsys.readouterr().out


def test_amending_a_rating_keeps_what_is_not_given(data_dir, tmp_path):
    with Store.open(data_dir) as store:
        sid = _session(store, tmp_path).id
        rep, kept = store.amend_self_report(sid, "pre", pain=6, note="tired")
        assert (rep.pain, rep.stress, rep.note, kept) == (6, None, "tired", [])
        rep, kept = store.amend_self_report(sid, "pre", stress=3)
        assert (rep.pain, rep.stress, rep.note, kept) == (6, 3, "tired", ["pain", "note"])
        with pytest.raises(StoreError, match="0 to 10"):
            store.amend_self_report(sid, "pre", pain=11)
        assert store.self_reports(sid)["pre"].pain == 6


def _run_together(target, args_list, timeout: float = 60) -> None:
    """Run ``target(*args, start)`` in one spawned process per ``args``, all released at once
    by the ``start`` event; every process must end cleanly."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=target, args=(*args, start)) for args in args_list]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout)
        assert p.exitcode == 0


def _amend_in_a_process(data_dir, sid: int, field: str, start) -> None:
    start.wait()
    with Store.open(data_dir) as store:
        store.amend_self_report(sid, "pre", **{field: 4})


def test_two_amendments_at_once_keep_both_values(data_dir, tmp_path):
    """`sessions rate 1 pre --pain 4 & sessions rate 1 pre --stress 4`: one value was lost
    (read outside the write transaction) while both commands said they had saved it."""
    with Store.open(data_dir) as store:
        sid = _session(store, tmp_path).id
        store.add_self_report(sid, "pre", pain=0, stress=0)
    for _ in range(6):
        _run_together(_amend_in_a_process, [(data_dir, sid, f) for f in ("pain", "stress")])
        with Store.open(data_dir) as store:
            rep = store.self_reports(sid)["pre"]
            assert (rep.pain, rep.stress) == (4, 4)
            store.add_self_report(sid, "pre", pain=0, stress=0)


def _open_in_a_process(folder, start) -> None:
    start.wait()
    with Store.open(folder) as store:
        store.schema_version  # noqa: B018 - opening (and migrating) is the point


def test_a_new_store_opened_by_several_processes_at_once(tmp_path):
    """Four commands opening a new data folder at once: "table patients already exists" (the
    schema version was read before the write lock)."""
    for round_ in range(3):
        folder = tmp_path / f"new-{round_}"
        _run_together(_open_in_a_process, [(folder,)] * 4)
        with Store.open(folder) as store:
            assert store.schema_version == SCHEMA_VERSION


LAYOUT = SourceLayout(
    device="muse2",
    board_id=38,
    presets=(PresetLayout("default", 256.0, 8, 6, 7),),
    groups=(ChannelGroup("eeg", "default", (1, 2, 3, 4), ("TP9", "AF7", "AF8", "TP10"), "uV"),),
)


def test_a_session_being_recorded_is_in_progress_not_interrupted(data_dir, tmp_path):
    """A running session was listed (and reported) as interrupted."""
    from biotrainer.clock import SimulatedClock
    from biotrainer.session.folder import recording_in_progress
    from biotrainer.session.recorder import Recorder

    with Store.open(data_dir) as store:
        store.add_patient("P-1")
        live = Recorder.create(LAYOUT, out=tmp_path / "live", clock=SimulatedClock())
        killed = Recorder.create(LAYOUT, out=tmp_path / "killed", clock=SimulatedClock())
        a = store.add_session("P-1", live.path, "alpha-uptraining", "simulator")
        b = store.add_session("P-1", killed.path, "alpha-uptraining", "simulator")
        assert recording_in_progress(live.path)
        rec = store.session(a.id)
        assert rec.status == "recording" and rec.in_progress and not rec.interrupted
        killed.abandon()  # as a killed process leaves it: "recording" on disk, no lock
        assert not recording_in_progress(killed.path)
        assert store.session(b.id).status == "interrupted" and store.session(b.id).interrupted
        # a folder is not imported while it is recorded (see
        # test_a_folder_being_recorded_is_not_imported_until_it_has_ended)
        c = Recorder.create(LAYOUT, out=tmp_path / "imported", clock=SimulatedClock())
        with pytest.raises(StoreError, match="is still being recorded"):
            store.import_folder(c.path, "P-1")
        live.close()
        assert not recording_in_progress(live.path)
        assert store.finish_session(a.id).status == "interrupted"  # no sample: nothing recorded
        c.close()


def test_a_folder_being_recorded_is_not_imported_until_it_has_ended(data_dir, tmp_path):
    """`sessions import` of a folder still being recorded stored "recording" and a part of the
    summary; once the recording ended the row stayed, shown as interrupted, while session.json
    said completed."""
    import numpy as np

    from biotrainer.acquisition.chunk import Chunk
    from biotrainer.clock import SimulatedClock
    from biotrainer.session.recorder import Recorder

    with Store.open(data_dir) as store:
        store.add_patient("P-1")
        rec = Recorder.create(
            LAYOUT, out=tmp_path / "live", clock=SimulatedClock(), extra={"patient_code": "P-1"}
        )
        raw = np.zeros((8, 256))
        raw[6] = 1_700_000_000.0 + np.arange(256) / 256.0
        rec.write(Chunk(raw={"default": raw}))
        with pytest.raises(StoreError) as refused:
            store.import_folder(rec.path)
        assert str(refused.value) == (
            f"{rec.path} is still being recorded: import it when the session has ended"
        )
        assert store.sessions() == []  # nothing registered, nothing to go stale
        rec.close()
        done = store.import_folder(rec.path)
        assert done.status == "completed" and store.session(done.id).status == "completed"


def test_the_window_s_import_names_a_folder_being_recorded(data_dir):
    """The trainer window's "import unregistered sessions" (PatientFlow.import_unregistered,
    the same Store.import_folder) lists a folder still being recorded among its failures, in
    the same words, and imports the others."""
    pytest.importorskip("PySide6")
    from biotrainer.clock import SimulatedClock
    from biotrainer.session.recorder import Recorder
    from biotrainer.ui.patient_flow import PatientFlow

    with Store.open(data_dir) as store:
        store.add_patient("P-1")
        done = Recorder.create(
            LAYOUT, data_directory=data_dir, clock=SimulatedClock(), extra={"patient_code": "P-1"}
        )
        done.close()
        live = Recorder.create(
            LAYOUT, data_directory=data_dir, clock=SimulatedClock(), extra={"patient_code": "P-1"}
        )
        try:
            result = PatientFlow(store, None).import_unregistered()  # type: ignore[arg-type]
            assert result.done == 1
            assert result.errors == (
                f"{live.path.name}: {live.path} is still being recorded: import it when the "
                "session has ended",
            )
            assert [r.folder for r in store.sessions()] == [done.path]
        finally:
            live.close()


def test_listing_a_data_folder_with_no_store_creates_nothing(tmp_path, capsys):
    """`patients` or `sessions` on a machine with no store made the data folder and an empty
    database (with HOME=/nonexistent as root, a whole fake home tree)."""
    from biotrainer.cli import main

    folder = tmp_path / "not-yet" / "data"
    assert main(["patients", "--data-dir", str(folder)]) == 0
    assert main(["sessions", "--data-dir", str(folder)]) == 0
    assert main(["report", "1", "--data-dir", str(folder)]) == 2
    assert "no session with id 1" in capsys.readouterr().err
    assert not (tmp_path / "not-yet").exists()
    assert main(["patients", "add", "P-1", "--data-dir", str(folder)]) == 0  # writing makes it
    assert (folder / DB_FILE).is_file()
