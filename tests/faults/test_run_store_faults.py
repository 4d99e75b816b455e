"""`biotrainer run --patient` when the store is busy at the start or at the end of the session,
or the recording fails: the store ends up as the recording, or says how to make it so.

Another program writing the store is a real second SQLite connection holding a write
transaction; the store's wait for it (10 s) is cut to a fraction of a second. A full disk is
simulated by making the raw append fail with ``ENOSPC``.
"""

from __future__ import annotations

import errno
import os
import shlex
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import biotrainer.session.rawfile as rawfile
import biotrainer.session.store as store_module
from biotrainer.cli import main
from biotrainer.engine.engine import Engine
from biotrainer.session import list_sessions
from biotrainer.session.folder import read_meta
from biotrainer.session.store import DB_FILE, Store


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    """A data folder with patient P-1; the store waits 0.2 s (not 10) for another writer."""
    monkeypatch.setattr(store_module, "BUSY_MS", 200, raising=False)
    d = tmp_path / "data"
    assert main(["patients", "add", "P-1", "--data-dir", str(d)]) == 0
    return d


@contextmanager
def _busy(data: Path) -> Iterator[sqlite3.Connection]:
    """Another program holds a write transaction on the store."""
    other = sqlite3.connect(data / DB_FILE, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        if other.in_transaction:
            other.execute("COMMIT")
        other.close()


def _stored(data: Path) -> list[tuple]:
    """(id, status, summary) of every session, read with SQLite itself."""
    con = sqlite3.connect(data / DB_FILE)
    try:
        return con.execute("SELECT id, status, summary FROM sessions ORDER BY id").fetchall()
    finally:
        con.close()


def _said(err: str) -> list[str]:
    assert "Traceback" not in err
    return [ln for ln in err.splitlines() if ln.startswith("biotrainer:")]


def test_a_busy_store_at_the_start_leaves_no_folder(data, tmp_path, capsys, short_run_argv) -> None:
    """The session was registered after its folder was made, outside the clean-up: a busy
    store left a folder saying "recording" with an empty raw file, which `sessions import`
    then registered as a phantom interrupted session."""
    capsys.readouterr()
    with _busy(data):
        assert main(short_run_argv(data, tmp_path)) == 2
    assert list_sessions(data) == []
    assert list((data / "sessions").iterdir()) == []
    assert _stored(data) == []
    (line,) = _said(capsys.readouterr().err)
    assert "is busy" in line and "the session did not start: nothing was recorded" in line


def test_a_busy_store_at_the_end_names_the_folder_and_the_repair(
    data, tmp_path, monkeypatch, capsys, short_run_argv
) -> None:
    """The store busy when the session ended: one line names the recording's folder and the
    command that registers its end; the results are printed all the same."""
    held: list = []
    real_close = Engine.close

    def close_then_busy(engine: Engine) -> None:
        real_close(engine)
        if not held:  # another program starts writing the store as the session ends
            held.append(_busy(data))
            held[0].__enter__()

    monkeypatch.setattr(Engine, "close", close_then_busy)
    capsys.readouterr()
    try:
        assert main(short_run_argv(data, tmp_path)) == 2
    finally:
        for h in held:
            h.__exit__(None, None, None)
    out, err = capsys.readouterr()
    (folder,) = list_sessions(data)
    (line,) = _said(err)
    repair = f"biotrainer sessions import {shlex.quote(str(folder.resolve()))} --patient P-1"
    assert line.startswith("biotrainer: the patient store ") and "is busy" in line
    assert str(folder.resolve()) in line and f"'{repair}'" in line
    assert "session 1 registered for patient P-1" in out and str(folder.resolve()) in out
    assert read_meta(folder).status == "completed"
    assert _stored(data)[0][1] == "recording"  # (the end could not be stored)
    assert main([*shlex.split(repair)[1:], "--data-dir", str(data)]) == 0  # the repair works
    assert _stored(data)[0][1] == "completed"


def test_a_failed_recording_is_finished_in_the_store(
    data, tmp_path, monkeypatch, capsys, short_run_argv
):
    """The disk full mid-session: the store is told how the session ended (interrupted, with
    the summary of what was recorded), not left saying "recording"."""
    calls = [0]
    real = rawfile.append_raw

    def append(path, data_):
        calls[0] += Path(path).name == "raw_default.csv"
        if calls[0] > 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(path, data_)

    monkeypatch.setattr(rawfile, "append_raw", append)
    capsys.readouterr()
    assert main(short_run_argv(data, tmp_path)) == 2
    (line,) = _said(capsys.readouterr().err)
    assert line.startswith("biotrainer: the disk is full: cannot write raw_")
    ((sid, status, summary),) = _stored(data)
    assert status == "interrupted" and '"duration_s"' in summary
    with Store.open(data) as store:
        rec = store.session(sid)
    assert rec.interrupted and rec.duration_s > 1.0
