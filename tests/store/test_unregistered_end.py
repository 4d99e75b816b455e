"""A session whose end never reached the store: its process died (or the store was busy) after
the recording was closed and before ``finish_session``. The store row still says "recording";
the folder's session.json says how the session ended.

Such a session was listed and reported as "interrupted" for good, with no metrics, though its
recording was complete. It is now read as its folder says, and stored so when the store can be
written.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from biotrainer.cli import main
from biotrainer.session.folder import read_meta, write_meta
from biotrainer.session.store import DB_FILE, Store

_COLUMNS = "status, ended_utc, summary"


def _row(data: Path, sid: int) -> tuple:
    """The session's stored row, read with SQLite itself (Store's reads bring it up to date)."""
    con = sqlite3.connect(data / DB_FILE)
    try:
        row = con.execute(f"SELECT {_COLUMNS} FROM sessions WHERE id = ?", (sid,)).fetchone()
        markers = con.execute(
            "SELECT time_s, kind, text FROM markers WHERE session_id = ? ORDER BY id", (sid,)
        ).fetchall()
    finally:
        con.close()
    return (*row, markers)


@pytest.fixture(scope="module")
def finished(tmp_path_factory, short_run_argv) -> tuple[Path, int, tuple]:
    """A data folder holding one session run to its end and registered by `run --patient`;
    its id and its stored row as finish_session left it."""
    base = tmp_path_factory.mktemp("finished")
    data = base / "data"
    assert main(["patients", "add", "P-1", "--data-dir", str(data)]) == 0
    assert main(short_run_argv(data, base)) == 0
    return data, 1, _row(data, 1)


@pytest.fixture
def stale(finished, tmp_path) -> tuple[Path, int, tuple, Path]:
    """A copy of ``finished`` whose end was never registered, as `run` killed after closing
    the recording leaves it: stored "recording", no end time, no summary, no markers."""
    source, sid, done = finished
    data = tmp_path / "data"
    shutil.copytree(source, data)
    con = sqlite3.connect(data / DB_FILE, isolation_level=None)
    try:
        con.execute(
            "UPDATE sessions SET status = 'recording', ended_utc = NULL, summary = '{}' "
            "WHERE id = ?",
            (sid,),
        )
        con.execute("DELETE FROM markers WHERE session_id = ?", (sid,))
    finally:
        con.close()
    assert _row(data, sid) == ("recording", None, "{}", [])
    (folder,) = (data / "sessions").iterdir()
    assert read_meta(folder).status == "completed"
    return data, sid, done, folder


def test_it_is_read_and_stored_as_finish_session_would(stale) -> None:
    data, sid, done, folder = stale
    assert done[0] == "completed" and done[2]  # (what finish_session stored)
    with Store.open(data) as store:
        rec = store.session(sid)
        assert rec.status == "completed" and rec.outcome == "completed"
        assert rec.summary is not None and rec.duration_s == pytest.approx(20, abs=0.5)
        assert rec.ended_utc == read_meta(folder).end_utc.replace(microsecond=0)
        assert [r.status for r in store.sessions()] == ["completed"]
    assert _row(data, sid) == done  # status, end, summary and markers: all stored


def test_the_sessions_list_shows_it_completed_with_its_metrics(stale, capsys) -> None:
    data, sid, _, _ = stale
    assert main(["sessions", "--data-dir", str(data)]) == 0
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if ln.split()[0] == str(sid)]
    assert "completed" in line and "interrupted" not in line
    minutes = line.split("completed")[1].split()[0]
    assert minutes == "0.3"  # (was "-": no summary)


def test_a_read_only_store_reports_what_the_folder_says(stale, monkeypatch) -> None:
    """Lists and reports of a store in a folder that cannot be written (as os.access says of a
    read-only mount): completed, with its metrics; nothing written."""
    data, sid, _, _ = stale
    before = (data / DB_FILE).read_bytes()
    monkeypatch.setattr(
        "biotrainer.session.store.os.access",
        lambda path, mode: not (mode & os.W_OK and str(path) == str(data)),
    )
    with Store.open_to_read(data) as store:
        rec = store.session(sid)
        assert rec.status == "completed" and rec.summary is not None
    assert (data / DB_FILE).read_bytes() == before
    assert _row(data, sid)[0] == "recording"


def test_a_busy_store_reports_it_at_once_and_stores_it_later(stale) -> None:
    """Another program writing the store: the list does not wait for it (the usual 10 s), and
    the next read once it is done stores the session's end."""
    data, sid, done, _ = stale
    other = sqlite3.connect(data / DB_FILE, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with Store.open(data) as store:
            t0 = time.monotonic()
            assert [r.status for r in store.sessions()] == ["completed"]
            assert time.monotonic() - t0 < 2.0
        other.execute("COMMIT")
    finally:
        other.close()
    assert _row(data, sid)[0] == "recording"
    with Store.open(data) as store:
        assert store.session(sid).status == "completed"
    assert _row(data, sid) == done


def test_a_recording_that_never_closed_is_interrupted_with_what_it_holds(stale) -> None:
    """Killed mid-session (session.json still says "recording", no process holds the folder):
    interrupted, and its summary covers what was recorded."""
    data, sid, _, folder = stale
    meta = read_meta(folder)
    write_meta(folder, meta.with_(status="recording", end_utc=None))
    with Store.open(data) as store:
        rec = store.session(sid)
    assert rec.status == "interrupted" and rec.summary is not None
    assert rec.duration_s == pytest.approx(20, abs=0.5)
    assert _row(data, sid)[0] == "interrupted"


def test_a_folder_that_is_gone_leaves_the_row_as_it_is(stale) -> None:
    """No session.json to go by (the folder moved, a drive not mounted): interrupted, as
    before, and nothing stored that a later read could not correct."""
    data, sid, _, folder = stale
    shutil.rmtree(folder)
    with Store.open(data) as store:
        rec = store.session(sid)
    assert rec.status == "interrupted" and rec.summary is None
    assert _row(data, sid) == ("recording", None, "{}", [])
