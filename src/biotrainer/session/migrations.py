"""Schema of the patient/session store and its ordered migrations.

The schema version lives in SQLite's ``PRAGMA user_version``. :data:`MIGRATIONS` lists the steps
from an empty database (version 0) to :data:`SCHEMA_VERSION`; :func:`migrate` applies the missing
ones in order, each in its own transaction together with the new ``user_version``, so a crash
leaves the database at the previous or the next version, never in between.

Versions
--------
1. patients (code, name, notes), sessions (patient, protocol, device, start/end, folder, status,
   summary JSON), self_reports (pre/post pain and stress 0-10, note), markers.
2. patients.resonance_bpm / resonance_assessed_utc (resonance breathing rate once assessed),
   markers.from_recording (rows copied from events.csv are refreshed on re-import), indexes for
   the per-patient session list.

Never edit a released step: add a new one at the end.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

_V1 = (
    """
    CREATE TABLE patients (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT,
        notes TEXT NOT NULL DEFAULT '',
        created_utc TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id) ON DELETE RESTRICT,
        protocol TEXT NOT NULL,
        device TEXT NOT NULL,
        started_utc TEXT NOT NULL,
        ended_utc TEXT,
        folder TEXT UNIQUE,
        status TEXT NOT NULL DEFAULT 'recording'
            CHECK (status IN ('recording', 'completed', 'interrupted')),
        summary TEXT NOT NULL DEFAULT '{}'
    )
    """,
    """
    CREATE TABLE self_reports (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        moment TEXT NOT NULL CHECK (moment IN ('pre', 'post')),
        pain INTEGER CHECK (pain BETWEEN 0 AND 10),
        stress INTEGER CHECK (stress BETWEEN 0 AND 10),
        note TEXT NOT NULL DEFAULT '',
        created_utc TEXT NOT NULL,
        UNIQUE (session_id, moment)
    )
    """,
    """
    CREATE TABLE markers (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        time_s REAL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT ''
    )
    """,
)

_V2 = (
    "ALTER TABLE patients ADD COLUMN resonance_bpm REAL",
    "ALTER TABLE patients ADD COLUMN resonance_assessed_utc TEXT",
    "ALTER TABLE markers ADD COLUMN from_recording INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX sessions_by_patient ON sessions (patient_id, started_utc)",
    "CREATE INDEX markers_by_session ON markers (session_id, time_s)",
    "CREATE INDEX self_reports_by_session ON self_reports (session_id)",
)


def _script(statements: tuple[str, ...]) -> Callable[[sqlite3.Connection], None]:
    def step(conn: sqlite3.Connection) -> None:
        for sql in statements:
            conn.execute(sql)

    return step


#: (version reached, step) in order; step runs inside an open transaction.
MIGRATIONS: tuple[tuple[int, Callable[[sqlite3.Connection], None]], ...] = (
    (1, _script(_V1)),
    (2, _script(_V2)),
)

#: The version this biotrainer writes.
SCHEMA_VERSION = MIGRATIONS[-1][0]


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's ``PRAGMA user_version`` (0 for a new, empty database)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Bring ``conn`` (opened with ``isolation_level=None``) to :data:`SCHEMA_VERSION`.

    Returns
    -------
    list of int
        The versions applied (empty when already current).

    Raises
    ------
    ValueError
        If the database is newer than this biotrainer (the caller turns it into a user error).
    """
    current = schema_version(conn)
    if current > SCHEMA_VERSION:
        raise ValueError(f"schema version {current} is newer than {SCHEMA_VERSION}")
    applied = []
    for version, step in MIGRATIONS:
        if version <= current:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have applied it since the version was read (two commands
            # opening a new data folder at once): read it again under the write lock.
            current = schema_version(conn)
            if version <= current:
                conn.execute("COMMIT")
                continue
            step(conn)
            # PRAGMA cannot take parameters; version is an int from the table above.
            conn.execute(f"PRAGMA user_version = {int(version)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(version)
    return applied
