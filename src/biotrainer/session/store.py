"""The local patient and session store (SQLite).

One file, ``<data_dir>/biotrainer.sqlite3`` (0600, in the 0700 data folder), in WAL mode with
foreign keys on. It holds patients (a pseudonymous code, an optional name, notes, the resonance
breathing rate once assessed), sessions (patient, protocol, device, start/end, session folder,
status, a JSON summary of the metrics), self-reports before and after each session (pain and stress
0-10, a note) and markers/notes. The recordings themselves stay in their session folders; the
store points at them (relative to the data dir when inside it, so the data dir can be moved).

Every write is one transaction (``with store:`` is not needed: each method commits or rolls back);
SQL is parameterised throughout. With ``journal_mode=WAL`` and ``synchronous=FULL`` a process
killed mid-write leaves the database consistent with every committed row present.

Typical use::

    with Store.open(data_dir) as store:
        store.add_patient("P-017")
        sid = store.add_session("P-017", recorder.path, protocol.name, device).id
        store.add_self_report(sid, "pre", pain=6, stress=7)
        ...                                   # the run
        store.finish_session(sid)             # status + summary from the folder
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import re
import shutil
import sqlite3
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from biotrainer.errors import BiotrainerError, RecordingError
from biotrainer.paths import (
    FILE_MODE,
    data_dir,
    ensure_private_dir,
    is_utf8,
    nearest_existing,
    shown,
)
from biotrainer.session.analysis import SUMMARY_VERSION, SessionSummary, summarize_folder
from biotrainer.session.folder import (
    ENDED_DEVICE_FAILED,
    ENDED_SOURCE,
    ENDED_STOPPED,
    ENDINGS,
    SESSIONS_SUBDIR,
    STATUS_COMPLETED,
    STATUS_INTERRUPTED,
    STATUS_RECORDING,
    SessionMeta,
    list_sessions,
    raw_file_name,
    read_meta,
    recording_in_progress,
)
from biotrainer.session.migrations import SCHEMA_VERSION, migrate, schema_version
from biotrainer.session.reader import check_session_folder, load_events

DB_FILE = "biotrainer.sqlite3"

MAX_CODE = 64
MAX_NAME = 200
MAX_NOTE = 10_000
#: Marker texts copied from events.csv are cut to this many characters.
MAX_MARKER = 2_000
MOMENTS = ("pre", "post")
#: Event kinds of events.csv copied into the markers table.
MARKER_KINDS = ("marker", "note")


class StoreError(BiotrainerError):
    """The store cannot be opened or a request is invalid (unknown patient, bad rating...)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat(timespec="seconds")


#: Key of session.json's ``extra`` that marks a recording made by replaying another one
#: (``run --replay``, the trainer's ``--replay``): no session of a patient, never imported.
REPLAY_KEY = "replay"

#: Key of :attr:`SessionRecord.ended` in a session's stored summary JSON.
ENDED_KEY = "ended"


def _ending(value: Any) -> str | None:
    return value if value in ENDINGS else None


def _parse(t: str | None) -> datetime | None:
    if not t:
        return None
    d = datetime.fromisoformat(t)
    return d if d.tzinfo else d.replace(tzinfo=UTC)


#: The directional embeddings, overrides and isolates (a regular-expression class): they make
#: a text read in another order than it is stored. Free text never keeps them.
DIRECTION_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_DIRECTION_CONTROL = re.compile(f"[{DIRECTION_CONTROLS}]")


def visible_text(text: str) -> str:
    """``text`` with every directional embedding, override and isolate
    (:data:`DIRECTION_CONTROLS`) made a space, so what is stored reads in the order it is
    stored ("Pain after: " U+202E "01/8" U+202C printed as "Pain after: 8/10"). The joiners
    an emoji or a Persian word needs are kept.
    """
    return _DIRECTION_CONTROL.sub(" ", text)


def clean_text(value: Any, what: str, max_len: int, *, required: bool = False) -> str:
    """Validate free text for the store: :func:`_checked_text`, with the direction controls
    made spaces (:func:`visible_text`) before the blanks around are stripped.

    Raises
    ------
    StoreError
        As :func:`_checked_text`.
    """
    return _checked_text(value, what, max_len, required=required, visible=True)


def _checked_text(
    value: Any, what: str, max_len: int, *, required: bool = False, visible: bool = False
) -> str:
    """Validate free text for the store.

    Accepts ``str`` (or UTF-8 ``bytes``); strips surrounding blanks. Raises :class:`StoreError`
    naming ``what`` for text that is not valid UTF-8 (undecodable bytes, or the lone surrogates
    Python makes of a non-UTF-8 command line), holds control characters other than newlines/tabs,
    is longer than ``max_len`` characters, or is empty when ``required``. With ``visible``, the
    direction controls are made spaces first (:func:`visible_text`).
    """
    if value is None:
        value = ""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StoreError(f"the {what} is not valid UTF-8 text") from exc
    if not isinstance(value, str):
        raise StoreError(f"the {what} must be text, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise StoreError(
            f"the {what} is not valid UTF-8 text (check the terminal's encoding)"
        ) from exc
    if visible:
        value = visible_text(value)
    value = value.strip()
    if any((ord(c) < 32 and c not in "\n\t\r") or 0x7F <= ord(c) <= 0x9F for c in value):
        raise StoreError(f"the {what} contains control characters")
    if len(value) > max_len:
        raise StoreError(f"the {what} is too long ({len(value)} characters, at most {max_len})")
    if required and not value:
        raise StoreError(f"the {what} is empty")
    return value


def _look_alike(c: str) -> bool:
    """True for a character a patient code must not hold: invisible ones (zero-width, direction
    marks, other spaces) and non-ASCII punctuation or maths signs that look like ASCII ones (a
    Unicode hyphen or minus in "P‐017" would make a second, identical-looking code)."""
    category = unicodedata.category(c)
    if category in ("Cc", "Cf", "Zl", "Zp", "Co", "Cn") or (category == "Zs" and c != " "):
        return True
    return not c.isascii() and (category.startswith("P") or category == "Sm")


def _code(code: Any) -> str:
    """A patient code as given to look a patient up (or, checked further by :func:`_new_code`,
    to add one): one line of text without invisible or look-alike signs.

    Look-ups take any code an older version may have stored (``P-ü1``), so the stricter rule
    for new codes is not applied here.
    """
    code = _checked_text(code, "patient code", MAX_CODE, required=True)
    if any(c in "\n\r\t" for c in code):
        raise StoreError("the patient code must be on one line")
    for c in code:
        if _look_alike(c):
            raise StoreError(
                f"the patient code holds {unicodedata.name(c, 'an unnamed character').lower()} "
                f"(U+{ord(c):04X}), which cannot be seen or looks like another sign: use "
                "letters, digits and the signs of a keyboard"
            )
    return code


#: The characters of a new patient code, as the LSL streams take it (``net.lsl_outlets``).
CODE_SEPARATORS = " _.-"
CODE_RULE = (
    "use letters A-Z or a-z, digits 0-9, single spaces, '_', '.' or '-', beginning and ending "
    "with a letter or digit (what LSL streams take; the name may be any text)"
)


def _char_problem(c: str) -> str:
    """Why ``c`` cannot be in a new patient code, as a phrase ("a letter that is not Latin
    (Р, Cyrillic)")."""
    name = unicodedata.name(c, "")
    category = unicodedata.category(c)
    seen = c if category[0] in "LNS" else f"U+{ord(c):04X} {name}".strip()
    if name.startswith(("FULLWIDTH", "HALFWIDTH")):
        kind = "letter" if category.startswith("L") else "digit" if category == "Nd" else "sign"
        return f"a {name.split()[0].lower()} {kind} ({seen}, {name.lower()})"
    if category.startswith("L"):
        if "LATIN" in name:
            return f"a letter that is not plain A-Z ({seen}, {name.lower()})"
        script = name.split()[0] if name else "unknown script"
        script = script if len(script) <= 3 else script.capitalize()
        return f"a letter that is not Latin ({seen}, {script})"
    if category == "Nd":
        return f"a digit that is not 0-9 ({seen}, {name.lower()})"
    if category.startswith("N"):
        return f"a number sign that is not 0-9 ({seen}, {name.lower()})"
    if category.startswith("M"):
        return f"an accent or mark on a letter (U+{ord(c):04X}, {name.lower()})"
    return f"the sign {c!r}" if c.isascii() else f"the sign {seen} ({name.lower()})"


def _new_code(code: Any) -> str:
    """A code for a new patient: :func:`_code`, and only the characters of :data:`CODE_RULE`.

    Non-ASCII letters and digits (Cyrillic Р, fullwidth Ｐ, Roman numeral Ⅰ, accents) can look
    exactly like ASCII ones, and LSL refuses them (the patient could never stream); two spaces in
    a row look like one.

    Raises
    ------
    StoreError
        Naming the code and the first character (or space) that is not allowed.
    """
    code = _code(code)
    for c in code:
        if not (c.isascii() and (c.isalnum() or c in CODE_SEPARATORS)):
            raise StoreError(f"the patient code {code!r} has {_char_problem(c)}: {CODE_RULE}")
    if "  " in code:
        raise StoreError(f"the patient code {code!r} has two spaces in a row: {CODE_RULE}")
    for end, c in (("starts", code[0]), ("ends", code[-1])):
        if not c.isalnum():
            raise StoreError(f"the patient code {code!r} {end} with {c!r}: {CODE_RULE}")
    return code


#: Letters of other scripts drawn like Latin ones (lower case), for codes an older version
#: stored (new codes are ASCII): enough to tell Cyrillic Р-001 from P-001.
_LIKE_LATIN = str.maketrans(
    "авекмнорстухіјѕԁһӏԛԝαβεζηικμνορτυχϲ",
    "abekmhopctyxijsdhlqwabezhikmnoptyxc",
)
#: ASCII signs many fonts hardly tell apart (after case folding), read as Crockford's base 32
#: reads them: O as 0; I and l as 1.
_LIKE_DIGITS = str.maketrans("oil", "011")
CODE_LIKENESS = (
    "codes are compared as they read: without case, spaces, '-', '_' and '.', accents or "
    "width, with O as 0 and I or l as 1"
)


def code_key(code: str) -> str:
    """What ``code`` looks and sounds like: two codes with the same key are one code to a reader.

    NFKC (fullwidth Ｐ, Roman numeral Ⅰ and other compatibility forms become ASCII), case folded,
    accents and other marks dropped, Cyrillic and Greek letters drawn like Latin ones made Latin,
    ``O`` made ``0`` and ``I``/``l`` made ``1``, and everything but letters and digits (spaces,
    separators, invisible characters) left out: ``P-001``, ``p 001``, ``P_0O1``, ``Р-001``
    (Cyrillic) and ``Ｐ-001`` all give ``p001``.
    """
    text = unicodedata.normalize("NFKC", code).casefold()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = text.translate(_LIKE_LATIN).translate(_LIKE_DIGITS)
    return "".join(c for c in text if c.isalnum())


def _name(name: Any) -> str | None:
    """A patient's name: one line of text without invisible characters (or None)."""
    name = _checked_text(name, "name", MAX_NAME)
    if any(c.isspace() and c != " " for c in name):
        raise StoreError("the name must be on one line")
    if any(unicodedata.category(c) == "Cf" for c in name):
        raise StoreError("the name holds invisible characters (zero-width or direction marks)")
    return name or None


def _rating(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StoreError(f"the {what} rating must be a whole number from 0 to 10, not {value!r}")
    if not (math.isfinite(value) and float(value).is_integer() and 0 <= value <= 10):
        raise StoreError(f"the {what} rating must be a whole number from 0 to 10, not {value!r}")
    return int(value)


@dataclass(frozen=True)
class Patient:
    """A patient: pseudonymous ``code`` (shown in reports), optional ``name`` (never by default).

    ``resonance_bpm`` is the resonance breathing rate (breaths/min) once assessed.
    """

    id: int
    code: str
    name: str | None
    notes: str
    created_utc: datetime
    resonance_bpm: float | None = None
    resonance_assessed_utc: datetime | None = None


@dataclass(frozen=True)
class SelfReport:
    """A rating before (``moment="pre"``) or after (``"post"``) a session: 0-10 or None."""

    session_id: int
    moment: str
    pain: int | None
    stress: int | None
    note: str
    created_utc: datetime


@dataclass(frozen=True)
class Marker:
    """A marker or note: ``time_s`` from the first sample (None if unknown)."""

    id: int
    session_id: int
    time_s: float | None
    kind: str
    text: str
    from_recording: bool


@dataclass(frozen=True)
class SessionRecord:
    """A registered session.

    ``status`` is ``"completed"``, ``"recording"`` (its recorder is writing it right now) or
    ``"interrupted"`` (a recording never closed — its recorder killed — is interrupted, and so
    is one stopped before its first sample; one closed whose ``finish_session`` never came is
    read as its folder says, see :meth:`Store.sessions`); ``summary`` is None until the
    metrics were read. ``ended`` says how a completed session ended (one of
    :data:`~biotrainer.session.folder.ENDINGS`, None for folders recorded before biotrainer
    kept it); :attr:`outcome` is what lists and reports call it.
    """

    id: int
    patient_id: int
    patient_code: str
    protocol: str
    device: str
    started_utc: datetime
    ended_utc: datetime | None
    folder: Path | None
    status: str
    summary: SessionSummary | None
    ended: str | None = None

    @property
    def interrupted(self) -> bool:
        return self.status == STATUS_INTERRUPTED

    @property
    def outcome(self) -> str:
        """``"recording"``, ``"interrupted"``, ``"stopped early"`` (stopped before the end of its
        protocol), ``"source ended"`` (the device or recording ran out before it), ``"device
        failed"`` (the device failed before it) or ``"completed"`` (its protocol ran to the end,
        or it ended before biotrainer kept how)."""
        if self.status != STATUS_COMPLETED:
            return self.status
        return {
            ENDED_STOPPED: OUTCOME_STOPPED,
            ENDED_SOURCE: OUTCOME_SOURCE_ENDED,
            ENDED_DEVICE_FAILED: OUTCOME_DEVICE_FAILED,
        }.get(self.ended or "", STATUS_COMPLETED)

    @property
    def ended_early(self) -> bool:
        """Closed cleanly before the end of its protocol (stopped, its source ran out or the
        device failed)."""
        return self.outcome in (OUTCOME_STOPPED, OUTCOME_SOURCE_ENDED, OUTCOME_DEVICE_FAILED)

    @property
    def in_progress(self) -> bool:
        """Being recorded right now (its figures cover what was recorded so far)."""
        return self.status == STATUS_RECORDING

    @property
    def duration_s(self) -> float:
        """Protocol seconds from the summary (NaN without one)."""
        return self.summary.duration_s if self.summary else math.nan


@dataclass(frozen=True)
class _Registered:
    """A registered session holding a recording (see :meth:`Store._same_recording`)."""

    id: int
    patient_id: int
    folder: Path | None


#: :attr:`SessionRecord.outcome` of a session stopped before the end of its protocol.
OUTCOME_STOPPED = "stopped early"
#: :attr:`SessionRecord.outcome` of a session whose source ran out before its protocol's end.
OUTCOME_SOURCE_ENDED = "source ended"
#: :attr:`SessionRecord.outcome` of a session ended by a device failure before its protocol's end.
OUTCOME_DEVICE_FAILED = "device failed"

#: Free space (bytes) below which a failing write is put down to a full disk.
LOW_SPACE_BYTES = 1 << 20

#: How long (ms) a write waits for another process's write to end.
BUSY_MS = 10_000
#: How long (ms) a read that brings a stale session row up to date waits to store it.
SETTLE_BUSY_MS = 200


@dataclass(frozen=True)
class _Closing:
    """What :meth:`Store.finish_session` stores: status, end time (ISO), summary JSON and the
    recording's markers."""

    status: str
    ended_utc: str
    summary: str
    markers: list[tuple[float | None, str, str]]


def _db_error(path: Path, exc: sqlite3.Error, doing: str = "written") -> StoreError:
    """A clear message for a failing SQLite call on the store at ``path`` (a full disk said as
    such: SQLite may report it as a failed rollback or an I/O error)."""
    text = str(exc)
    try:
        free: int | None = shutil.disk_usage(path.parent).free
    except OSError:
        free = None
    if "full" in text or (free is not None and free < LOW_SPACE_BYTES):
        return StoreError(
            f"the patient store {path} cannot be {doing}: the disk is full. Free some space "
            "and try again (nothing stored was lost)"
        )
    if "locked" in text or "busy" in text:
        return StoreError(f"the patient store {path} is busy (another biotrainer?): try again")
    if "readonly" in text or "read-only" in text:
        return StoreError(
            f"the patient store {path} is read-only here (its folder cannot be written): "
            "nothing was changed"
        )
    if "I/O" in text:
        return StoreError(f"the patient store {path} cannot be read or written: disk I/O error")
    return StoreError(f"the patient store {path} failed: {text}")


def _translating(method: Callable[..., Any]) -> Callable[..., Any]:
    """Turn SQLite errors escaping a :class:`Store` method into :class:`StoreError`."""

    @functools.wraps(method)
    def call(self: Store, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise _db_error(self.path, exc) from exc

    return call


def _nocase(code: str) -> str:
    """``code`` as the store compares patient codes (COLLATE NOCASE: ASCII letters' case)."""
    return "".join(c.lower() if c.isascii() else c for c in code.strip())


def _check_recorded_patient(folder: str | os.PathLike[str], recorded: Any, code: str) -> None:
    """Refuse to import for patient ``code`` a folder whose session.json says it was recorded
    for another patient (``recorded``: its ``extra.patient_code``; none recorded: no check)."""
    if not isinstance(recorded, str) or not recorded.strip():
        return
    if _nocase(recorded) == _nocase(code):
        return
    import shlex

    name, recorded = shown(folder), recorded.strip()
    again = f"biotrainer sessions import {shlex.quote(name)} --patient {shlex.quote(recorded)}"
    raise StoreError(
        f"{name} was recorded for another patient, {recorded}, not {code}: nothing imported "
        f"(to file it under {recorded}: {again})"
    )


def is_replay(meta: SessionMeta) -> bool:
    """True for a recording made by replaying another one (:data:`REPLAY_KEY`)."""
    return meta.extra.get(REPLAY_KEY) is True


def _check_not_a_replay(folder: str | os.PathLike[str], meta: SessionMeta) -> None:
    """Refuse (StoreError) to import ``folder`` (its session.json ``meta``) when it was recorded
    by replaying another recording: its figures are the old recording's, and it took place on
    no day of the patient's."""
    if is_replay(meta):
        raise StoreError(
            f"{shown(folder)} was recorded from a replay of an earlier recording, which is not "
            "a session of a patient: nothing imported (import the recording it replayed)"
        )


class Store:
    """The SQLite store; use :meth:`open` (a context manager that closes it).

    Parameters
    ----------
    conn : sqlite3.Connection
        Opened with ``isolation_level=None`` (explicit transactions).
    root : Path
        The data directory (session folders inside it are stored relative to it).
    wall_clock : callable
        Returns the current UTC datetime (creation times).
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        root: Path,
        *,
        wall_clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._conn = conn
        self.root = root
        self.path = root / DB_FILE
        self._wall_clock = wall_clock

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        data_directory: str | os.PathLike[str] | None = None,
        *,
        wall_clock: Callable[[], datetime] = _utc_now,
    ) -> Store:
        """Open (creating and migrating if needed) the store of a data directory.

        Parameters
        ----------
        data_directory : path-like, optional
            ``--data-dir``; else ``BIOTRAINER_DATA`` or the platform default
            (:func:`biotrainer.paths.data_dir`).

        Raises
        ------
        StoreError
            If the file is not a biotrainer database, is corrupt, is from a newer biotrainer, or
            the folder cannot be written.
        """
        root = ensure_private_dir(data_dir(data_directory)).resolve()
        path = root / DB_FILE
        _check_not_emptied(path, root)
        try:
            # Create the file owner-only before SQLite does (its -wal/-shm copy this mode).
            fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
            os.close(fd)
            os.chmod(path, FILE_MODE)
        except OSError as exc:
            raise StoreError(f"cannot create {path}: {exc.strerror or exc}") from exc
        conn = None
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_MS / 1000)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"cannot use write-ahead logging on {path} (mode {mode})")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            version = schema_version(conn)
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{path} was written by a newer biotrainer (schema {version}, this one reads "
                    f"up to {SCHEMA_VERSION}): update biotrainer"
                )
            if 0 < version < SCHEMA_VERSION:
                _backup(conn, path.with_name(f"{DB_FILE}.v{version}.bak"))
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, sqlite3.OperationalError):  # the disk, not the file's content
                raise _db_error(path, exc, "opened") from exc
            raise StoreError(f"{path} is not a usable biotrainer database: {exc}") from exc
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        return cls(conn, root, wall_clock=wall_clock)

    @classmethod
    def open_to_read(
        cls,
        data_directory: str | os.PathLike[str] | None = None,
        *,
        wall_clock: Callable[[], datetime] = _utc_now,
    ) -> Store:
        """Open the store to list and report: as :meth:`open`, except that a store in a folder
        that cannot be written (a read-only mount, an archive) is opened read-only instead of
        refused, and a data folder with no store yet is not created (the store is empty, in
        memory). Writing to a store opened so raises :class:`StoreError` (or, in memory, is
        lost: only lists and reports open it).

        Raises
        ------
        StoreError
            As :meth:`open`; also when the data folder is a file (or another thing that is not
            a folder), when a read-only store needs a schema update, or holds changes its
            write-ahead log never folded in (biotrainer stopped abruptly) that cannot be read
            without writing.
        """
        root = data_dir(data_directory)
        _check_data_folder(root)
        path = root / DB_FILE
        _check_not_emptied(path, root)
        if not path.exists():
            # Nothing stored yet: an empty store in memory. Listing makes no folder and no file.
            conn = sqlite3.connect(":memory:", isolation_level=None)
            migrate(conn)
            return cls(conn, root, wall_clock=wall_clock)
        if path.is_file() and not os.access(root, os.W_OK):
            return cls(_connect_read_only(path.resolve()), root.resolve(), wall_clock=wall_clock)
        return cls.open(data_directory, wall_clock=wall_clock)

    def close(self) -> None:
        """Close the connection (a checkpoint folds the WAL back into the file)."""
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return schema_version(self._conn)

    @_translating
    def integrity_check(self) -> str:
        """``PRAGMA integrity_check`` ("ok" when sound)."""
        return str(self._conn.execute("PRAGMA integrity_check").fetchone()[0])

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: commit on success, roll back on any exception (the original
        error is the one raised: SQLite has already rolled back after a full disk, and a
        second rollback would fail with "no transaction is active")."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
            raise

    def _now(self) -> str:
        return _iso(self._wall_clock()) or ""

    # -- patients ----------------------------------------------------------------------------

    @_translating
    def add_patient(self, code: str, name: str | None = None, notes: str = "") -> Patient:
        """Register a patient.

        A new ``code`` holds only the characters of :data:`CODE_RULE` (those LSL streams take)
        and must not look like a code already stored (:func:`code_key`: ``P-0O1`` next to
        ``P-001``); codes stored by older versions under a looser rule stay usable.

        Raises
        ------
        StoreError
            If the code is taken or looks like one taken, or any text is invalid.
        """
        code = _new_code(code)
        name = _name(name)
        notes = clean_text(notes, "notes", MAX_NOTE)
        try:
            with self._write() as c:
                self._check_unlike(c, code)
                c.execute(
                    "INSERT INTO patients (code, name, notes, created_utc) VALUES (?, ?, ?, ?)",
                    (code, name, notes, self._now()),
                )
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"a patient with code {code!r} already exists") from exc
        return self.patient(code)

    @staticmethod
    def _check_unlike(c: sqlite3.Connection, code: str) -> None:
        """Refuse a new ``code`` that is, or looks like, a stored one (in the write transaction,
        so two programs adding at once cannot both pass)."""
        key = code_key(code)
        codes = [str(row[0]) for row in c.execute("SELECT code FROM patients ORDER BY code")]
        if _nocase(code) in {_nocase(existing) for existing in codes}:
            raise StoreError(f"a patient with code {code!r} already exists")
        for existing in codes:
            if code_key(existing) == key:
                raise StoreError(
                    f"the patient code {code!r} looks the same as existing code "
                    f"{existing!r} ({CODE_LIKENESS}): choose a code that reads differently"
                )

    @_translating
    def update_patient(
        self, code: str, *, name: str | None = None, notes: str | None = None
    ) -> Patient:
        """Change a patient's name and/or notes (``None`` leaves a field as is; "" clears it)."""
        p = self.patient(code)
        new_name = p.name if name is None else _name(name)
        new_notes = p.notes if notes is None else clean_text(notes, "notes", MAX_NOTE)
        with self._write() as c:
            c.execute(
                "UPDATE patients SET name = ?, notes = ? WHERE id = ?", (new_name, new_notes, p.id)
            )
        return self.patient(code)

    @_translating
    def set_resonance(self, code: str, bpm: float, assessed_utc: datetime | None = None) -> Patient:
        """Store the patient's resonance breathing rate (breaths/min, 3-12)."""
        p = self.patient(code)
        if isinstance(bpm, bool) or not isinstance(bpm, (int, float)) or not 3 <= bpm <= 12:
            raise StoreError(f"a resonance breathing rate of {bpm!r} breaths/min is not plausible")
        with self._write() as c:
            c.execute(
                "UPDATE patients SET resonance_bpm = ?, resonance_assessed_utc = ? WHERE id = ?",
                (float(bpm), _iso(assessed_utc or self._wall_clock()), p.id),
            )
        return self.patient(code)

    @_translating
    def find_patient(self, code: str) -> Patient | None:
        """The patient with ``code`` (case-insensitive), or None."""
        row = self._conn.execute(
            "SELECT id, code, name, notes, created_utc, resonance_bpm, resonance_assessed_utc "
            "FROM patients WHERE code = ?",
            (_code(code),),
        ).fetchone()
        return _patient(row) if row else None

    @_translating
    def patient(self, code: str) -> Patient:
        """The patient with ``code``; StoreError naming the code if unknown."""
        p = self.find_patient(code)
        if p is None:
            key = code_key(code)
            alike = [q.code for q in self.patients() if key and code_key(q.code) == key]
            if alike:
                raise StoreError(
                    f"no patient with code {code!r}; did you mean {' or '.join(alike)}?"
                )
            raise StoreError(
                f"no patient with code {code!r}: add one with 'biotrainer patients add {code}'"
            )
        return p

    @_translating
    def patients(self) -> list[Patient]:
        """All patients, by code."""
        rows = self._conn.execute(
            "SELECT id, code, name, notes, created_utc, resonance_bpm, resonance_assessed_utc "
            "FROM patients ORDER BY code"
        ).fetchall()
        return [_patient(r) for r in rows]

    @_translating
    def session_counts(self) -> dict[int, int]:
        """Patient id -> number of sessions."""
        rows = self._conn.execute("SELECT patient_id, COUNT(*) FROM sessions GROUP BY patient_id")
        return {int(pid): int(n) for pid, n in rows}

    # -- sessions ----------------------------------------------------------------------------

    def _folder_text(self, folder: str | os.PathLike[str]) -> str:
        path = Path(folder).expanduser().resolve()
        try:
            return str(path.relative_to(self.root.resolve()))
        except ValueError:
            return str(path)

    def _folder_to_store(self, folder: str | os.PathLike[str]) -> str:
        """:meth:`_folder_text` for a folder about to be stored, refused (StoreError) if that
        text is not UTF-8 (the store holds text; :func:`~biotrainer.paths.is_utf8`, the rule the
        recorder's ``--data-dir``/``--out`` checks use)."""
        text = self._folder_text(folder)
        if not is_utf8(text):
            raise StoreError(
                f"the session folder {shown(folder)} has a name that is not UTF-8 text, which "
                "the patient store cannot hold: rename it to valid UTF-8 text (nothing was "
                "registered)"
            )
        return text

    def _folder_path(self, text: str | None) -> Path | None:
        if not text:
            return None
        p = Path(text)
        return p if p.is_absolute() else self.root / p

    @_translating
    def add_session(
        self,
        patient_code: str,
        folder: str | os.PathLike[str],
        protocol: str,
        device: str,
        *,
        started_utc: datetime | None = None,
    ) -> SessionRecord:
        """Register a session that starts now (status "recording" until :meth:`finish_session`).

        Raises
        ------
        StoreError
            Unknown patient, the folder is already registered, or its name is not UTF-8 text.
        """
        folder_text = self._folder_to_store(folder)
        p = self.patient(patient_code)
        protocol = clean_text(protocol, "protocol name", MAX_NAME, required=True)
        device = clean_text(device, "device name", MAX_NAME, required=True)
        try:
            with self._write() as c:
                cur = c.execute(
                    "INSERT INTO sessions (patient_id, protocol, device, started_utc, folder, "
                    "status) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        p.id,
                        protocol,
                        device,
                        _iso(started_utc or self._wall_clock()),
                        folder_text,
                        STATUS_RECORDING,
                    ),
                )
                sid = int(cur.lastrowid or 0)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"the session folder {folder} is already registered") from exc
        return self._record(sid, settle=False)

    @_translating
    def finish_session(
        self,
        session_id: int,
        *,
        status: str | None = None,
        ended_utc: datetime | None = None,
    ) -> SessionRecord:
        """Close a session: status, end time, summary and markers read from its folder.

        Parameters
        ----------
        status : str, optional
            ``"completed"`` or ``"interrupted"``; by default from ``session.json`` (a folder
            still saying "recording" is interrupted).
        ended_utc : datetime, optional
            By default ``session.json``'s end time, else now.

        The summary comes from ``metrics.csv`` (``summary`` stays empty if it cannot be read; the
        reason is kept in the summary's warnings).
        """
        rec = self._record(session_id, settle=False)
        if status is not None and status not in (STATUS_COMPLETED, STATUS_INTERRUPTED):
            raise StoreError(f"status must be completed or interrupted, not {status!r}")
        folder = rec.folder
        meta = None
        if folder is not None:
            try:
                meta = read_meta(folder)
            except RecordingError:
                meta = None
        closing = self._closing(folder, meta, status, ended_utc)
        with self._write() as c:
            self._store_closing(c, rec.id, closing)
        return self._record(rec.id, settle=False)

    def _closing(
        self,
        folder: Path | None,
        meta: SessionMeta | None,
        status: str | None = None,
        ended_utc: datetime | None = None,
    ) -> _Closing:
        """What :meth:`finish_session` stores for a session folder (``meta``: its session.json,
        None when it cannot be read)."""
        empty = meta is not None and _recorded_nothing(meta)
        if status is None:
            completed = meta is not None and not meta.interrupted and not empty
            status = STATUS_COMPLETED if completed else STATUS_INTERRUPTED
            live = folder is not None and recording_in_progress(folder)
            if status == STATUS_INTERRUPTED and live:
                status = STATUS_RECORDING  # finished while a recorder still writes it
        end = ended_utc or (meta.end_utc if meta else None) or self._wall_clock()
        summary = self._summary(folder)
        if empty:
            summary["warnings"] = [*(summary.get("warnings") or ()), NOTHING_RECORDED]
        if meta is not None and meta.ended is not None:
            summary[ENDED_KEY] = meta.ended
        return _Closing(
            status,
            _iso(end) or "",
            json.dumps(summary, allow_nan=False),
            self._recorded_markers(folder, meta),
        )

    def _store_closing(self, c: sqlite3.Connection, session_id: int, closing: _Closing) -> None:
        c.execute(
            "UPDATE sessions SET status = ?, ended_utc = ?, summary = ? WHERE id = ?",
            (closing.status, closing.ended_utc, closing.summary, session_id),
        )
        self._replace_recorded_markers(c, session_id, closing.markers)

    @_translating
    def import_folder(
        self,
        folder: str | os.PathLike[str],
        patient_code: str | None = None,
        *,
        say: Callable[[str], object] | None = None,
    ) -> SessionRecord:
        """Register (or refresh) a session folder found on disk for ``patient_code``.

        Without ``patient_code`` the folder's ``extra.patient_code`` (session.json) is used; a
        folder recorded for another patient than ``patient_code`` is refused (another person's
        recording is never filed under this one).

        Reads ``session.json`` (protocol from ``extra.protocol``, device, start/end, status: a
        folder still saying "recording" is interrupted), checks that the raw files can be read
        (:func:`~biotrainer.session.reader.check_session_folder`) and summarises
        ``metrics.csv``. A folder already registered is refreshed (it must belong to the same
        patient). A folder a recorder is still writing is refused: its status and summary
        would be those of a part of the session.

        A recording is registered once, whatever folder holds it (:meth:`_same_recording`, from
        session.json only): a copy of a registered recording whose folder is still there is
        refused; one whose registered folder is gone (the recording was moved) becomes that
        session's folder again, its id, ratings and notes kept, and ``say`` is told so.

        Raises
        ------
        RecordingError
            If the folder is not a readable session folder.
        StoreError
            The folder is still being recorded, was recorded from a replay, holds a
            recording registered in another folder, the patient is unknown, the folder was
            recorded for another patient, it is registered to another patient, or its name is
            not UTF-8 text.
        """
        folder_text = self._folder_to_store(folder)
        if recording_in_progress(folder):
            raise StoreError(
                f"{shown(folder)} is still being recorded: import it when the session has ended"
            )
        meta = check_session_folder(folder)  # session.json, and the raw files readable
        _check_not_a_replay(folder, meta)
        row = self._conn.execute(
            "SELECT id, patient_id FROM sessions WHERE folder = ?", (folder_text,)
        ).fetchone()
        moved = None if row is not None else self._moved_from(folder, folder_text, meta)
        recorded = meta.extra.get("patient_code")
        if patient_code is None:
            patient_code = recorded
            if not patient_code:
                raise StoreError(f"{folder}: which patient is it for? Give the patient code")
        p = self.patient(patient_code)
        _check_recorded_patient(folder, recorded, p.code)
        if moved is not None:
            row = (moved.id, moved.patient_id)
        if row is not None:
            if int(row[1]) != p.id and moved is not None:
                raise StoreError(
                    f"{shown(folder)} holds the recording of session {moved.id}, registered to "
                    "another patient (its folder moved): nothing imported"
                )
            if int(row[1]) != p.id:
                raise StoreError(
                    f"the session folder {folder} is registered to another patient (session "
                    f"{row[0]})"
                )
            if moved is not None:
                self._repoint(moved, folder_text, say)
            return self.finish_session(int(row[0]))
        protocol = str(meta.extra.get("protocol") or "unknown")
        rec = self.add_session(p.code, folder, protocol, meta.device, started_utc=meta.start_utc)
        return self.finish_session(rec.id)

    @_translating
    def registered_copy_of(self, folder: str | os.PathLike[str], meta: SessionMeta) -> int | None:
        """The id of the session whose recording ``folder`` (its session.json ``meta``) is a
        copy of, registered in another folder that is still there; None when it is no such
        copy (:meth:`_same_recording`: session.json files and raw file sizes only)."""
        same = self._same_recording(folder, meta, self._folder_to_store(folder))
        if same is None or same.folder is None or not same.folder.exists():
            return None
        return same.id

    def _moved_from(
        self, folder: str | os.PathLike[str], folder_text: str, meta: SessionMeta
    ) -> _Registered | None:
        """The session registered in another folder whose recording ``folder`` (its
        session.json ``meta``) holds, when that folder is gone (the recording was moved); None
        when no other session holds it.

        Raises
        ------
        StoreError
            The recording is registered in another folder that is still there (``folder`` is
            a copy of it).
        """
        same = self._same_recording(folder, meta, folder_text)
        if same is None:
            return None
        if same.folder is not None and same.folder.exists():
            raise StoreError(
                f"{shown(folder)} holds the recording of session {same.id}, already registered "
                f"in {shown(same.folder)} (a copy of it?): nothing imported (a recording is "
                "registered once)"
            )
        return same

    def _same_recording(
        self, folder: str | os.PathLike[str], meta: SessionMeta, folder_text: str
    ) -> _Registered | None:
        """The session registered in a folder other than ``folder_text`` that holds the
        recording of ``folder`` (its session.json ``meta``): the same device and start (UTC
        time and first sample's time, from its session.json) and raw files of the same sizes
        (two simulated sessions on a simulated clock can start alike); for a folder that is
        gone, the stored start to the second, the device and the protocol. Reads session.json
        files and the raw files' sizes, never the raw data."""
        rows = self._conn.execute(
            "SELECT id, patient_id, folder, protocol FROM sessions WHERE device = ? AND "
            "started_utc = ? AND (folder IS NULL OR folder != ?) ORDER BY id",
            (meta.device, _iso(meta.start_utc), folder_text),
        ).fetchall()
        protocol = str(meta.extra.get("protocol") or "unknown")
        for sid, pid, text, stored_protocol in rows:
            there = self._folder_path(text)
            try:
                other = read_meta(there) if there is not None and there.exists() else None
            except RecordingError:
                other = None  # (unreadable: judged by what the store holds)
            if other is not None:
                same = (other.start_utc, other.start_timestamp, other.device) == (
                    meta.start_utc,
                    meta.start_timestamp,
                    meta.device,
                ) and _raw_sizes(there, other) == _raw_sizes(folder, meta)
            else:
                same = stored_protocol == protocol
            if same:
                return _Registered(int(sid), int(pid), there)
        return None

    def _repoint(
        self, moved: _Registered, folder_text: str, say: Callable[[str], object] | None
    ) -> None:
        """Make ``folder_text`` the folder of the session ``moved`` (its old folder gone)."""
        with self._write() as c:
            c.execute("UPDATE sessions SET folder = ? WHERE id = ?", (folder_text, moved.id))
        if say is not None:
            old = shown(moved.folder) if moved.folder is not None else "no folder"
            new = shown(self._folder_path(folder_text) or folder_text)
            say(
                f"session {moved.id} was registered in {old}, which is gone: it now points to "
                f"{new} (the same recording, moved; its ratings and notes kept)"
            )

    @_translating
    def unregistered_folders(self) -> list[Path]:
        """Session folders under the data dir that the store does not know (oldest first).

        Sessions recorded without a patient, or whose registration was lost in a crash; register
        them with :meth:`import_folder`.
        """
        known = {r[0] for r in self._conn.execute("SELECT folder FROM sessions")}
        return [f for f in list_sessions(self.root) if self._folder_text(f) not in known]

    def _summary(self, folder: Path | None) -> dict[str, Any]:
        if folder is None:
            return {}
        try:
            return summarize_folder(folder).to_dict()
        except RecordingError as exc:
            return {"warnings": [str(exc)]}

    def _recorded_markers(
        self, folder: Path | None, meta: SessionMeta | None
    ) -> list[tuple[float | None, str, str]]:
        if folder is None:
            return []
        try:
            events, _ = load_events(folder)
        except RecordingError:
            return []
        finite = [e.time for e in events if math.isfinite(e.time)]
        t0 = _first_sample_time(meta, finite)
        out = []
        for e in events:
            if e.kind not in MARKER_KINDS:
                continue
            t = e.time - t0 if math.isfinite(e.time) and t0 is not None else None
            text = e.text.encode("utf-8", "replace").decode("utf-8")
            if len(text) > MAX_MARKER:
                text = text[: MAX_MARKER - 1] + "…"
            out.append((t, e.kind, text))
        return out

    @staticmethod
    def _replace_recorded_markers(
        c: sqlite3.Connection, session_id: int, markers: list[tuple[float | None, str, str]]
    ) -> None:
        c.execute("DELETE FROM markers WHERE session_id = ? AND from_recording = 1", (session_id,))
        c.executemany(
            "INSERT INTO markers (session_id, time_s, kind, text, from_recording) "
            "VALUES (?, ?, ?, ?, 1)",
            [(session_id, t, k, x) for t, k, x in markers],
        )

    @_translating
    def session(self, session_id: int) -> SessionRecord:
        """A session by id; StoreError if unknown.

        A session whose end was never registered (its process stopped between closing the
        recording and :meth:`finish_session`) is read as its folder says (see
        :meth:`sessions`).
        """
        return self._record(session_id)

    def _record(self, session_id: int, *, settle: bool = True) -> SessionRecord:
        sid = _session_id(session_id)
        row = self._conn.execute(_SESSION_SELECT + " WHERE s.id = ?", (sid,)).fetchone()
        if row is None:
            raise StoreError(
                f"no session with id {sid} in {shown(self.root)}: see 'biotrainer sessions'"
            )
        return self._session(self._current(self._settled(row) if settle else row))

    @_translating
    def sessions(self, patient_code: str | None = None) -> list[SessionRecord]:
        """Sessions (of one patient if given), oldest first.

        A session stored as "recording" whose recorder is gone (no process holds its folder)
        never had its end registered: its process was killed or the store was busy after the
        recording closed. It is read as its folder's ``session.json`` says — completed,
        stopped early..., or interrupted when the recording never closed — with the summary of
        its ``metrics.csv``, and stored so (as :meth:`finish_session` would) when the store
        can be written at once.
        """
        if patient_code is None:
            rows = self._conn.execute(_SESSION_SELECT + " ORDER BY s.started_utc, s.id")
        else:
            p = self.patient(patient_code)
            rows = self._conn.execute(
                _SESSION_SELECT + " WHERE s.patient_id = ? ORDER BY s.started_utc, s.id", (p.id,)
            )
        return [self._session(self._current(self._settled(r))) for r in rows.fetchall()]

    def _current(self, row: tuple) -> tuple:
        """A session row whose stored summary was computed the way it is now
        (:data:`~biotrainer.session.analysis.SUMMARY_VERSION`): an older one is computed again
        from its folder's ``metrics.csv`` (its other keys, such as how the session ended, kept)
        and stored so when the store takes it at once; a folder that is gone or unreadable
        leaves it as it is."""
        sid, folder_text, summary = row[0], row[7], row[9]
        try:
            data = json.loads(summary or "{}")
        except json.JSONDecodeError:
            return row
        if not isinstance(data, dict) or "duration_s" not in data:
            return row  # (no summary: nothing was read from the folder)
        if isinstance(data.get("version"), int) and data["version"] >= SUMMARY_VERSION:
            return row
        folder = self._folder_path(folder_text)
        if folder is None or recording_in_progress(folder):
            return row
        try:
            fresh = summarize_folder(folder).to_dict()
        except (RecordingError, OSError):
            return row
        text = json.dumps({**data, **fresh}, allow_nan=False)
        with contextlib.suppress(sqlite3.Error), self._impatient(), self._write() as c:
            c.execute(
                "UPDATE sessions SET summary = ? WHERE id = ? AND summary = ?",
                (text, sid, summary),
            )
        return (*row[:9], text)

    def _settled(self, row: tuple) -> tuple:
        """A session row, brought up to date from its folder when it is stored as "recording"
        but no recorder holds the folder any more (see :meth:`sessions`).

        The folder's session.json decides; a folder that is gone or unreadable leaves the row
        as it is (read as interrupted). The update is written when the store takes it at once;
        a read-only or busy store (or a full disk) only reads it so, until a later read or
        ``sessions import`` stores it.
        """
        sid, folder_text, stored = row[0], row[7], row[8]
        folder = self._folder_path(folder_text)
        if stored != STATUS_RECORDING or folder is None or recording_in_progress(folder):
            return row
        try:
            meta = read_meta(folder)
        except RecordingError:
            return row
        closing = self._closing(folder, meta)
        with contextlib.suppress(sqlite3.Error), self._impatient(), self._write() as c:
            now = c.execute("SELECT status FROM sessions WHERE id = ?", (sid,)).fetchone()
            if now == (STATUS_RECORDING,):  # (unless another process registered its end)
                self._store_closing(c, int(sid), closing)
        return (*row[:6], closing.ended_utc, folder_text, closing.status, closing.summary)

    @contextmanager
    def _impatient(self) -> Iterator[None]:
        """Give up at once (not after the usual 10 s) on a store another process is writing."""
        self._conn.execute(f"PRAGMA busy_timeout = {SETTLE_BUSY_MS}")
        try:
            yield
        finally:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")

    def _session(self, row: tuple) -> SessionRecord:
        sid, pid, code, protocol, device, started, ended, folder, status, summary = row
        try:
            data = json.loads(summary or "{}")
        except json.JSONDecodeError:
            data = {}
        parsed = SessionSummary.from_dict(data) if isinstance(data, dict) and data else None
        return SessionRecord(
            id=int(sid),
            patient_id=int(pid),
            patient_code=str(code),
            protocol=str(protocol),
            device=str(device),
            started_utc=_parse(started) or datetime.fromtimestamp(0, UTC),
            ended_utc=_parse(ended),
            folder=self._folder_path(folder),
            status=self._status(status, folder),
            summary=parsed,
            ended=_ending(data.get(ENDED_KEY) if isinstance(data, dict) else None),
        )

    def _status(self, stored: str, folder: str | None) -> str:
        """Completed; recording (a recorder is writing the folder right now); else interrupted
        (its process killed, or its end never registered and its folder gone or unreadable:
        see :meth:`_settled`)."""
        if stored == STATUS_COMPLETED:
            return STATUS_COMPLETED
        path = self._folder_path(folder) if stored == STATUS_RECORDING else None
        if path is not None and recording_in_progress(path):
            return STATUS_RECORDING
        return STATUS_INTERRUPTED

    # -- self-reports and markers ------------------------------------------------------------

    @_translating
    def add_self_report(
        self,
        session_id: int,
        moment: str,
        *,
        pain: int | None = None,
        stress: int | None = None,
        note: str = "",
    ) -> SelfReport:
        """Save the pre- or post-session rating (replaces an earlier one of the same moment).

        ``pain`` and ``stress`` are 0-10 numeric rating scale values or None (not rated).
        """
        rec = self.session(session_id)
        if moment not in MOMENTS:
            raise StoreError(f"a self-report is 'pre' or 'post', not {moment!r}")
        pain_v = _rating(pain, "pain")
        stress_v = _rating(stress, "stress")
        note = clean_text(note, "note", MAX_NOTE)
        with self._write() as c:
            c.execute(
                "INSERT INTO self_reports (session_id, moment, pain, stress, note, created_utc) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (session_id, moment) DO UPDATE SET "
                "pain = excluded.pain, stress = excluded.stress, note = excluded.note, "
                "created_utc = excluded.created_utc",
                (rec.id, moment, pain_v, stress_v, note, self._now()),
            )
        return self.self_reports(rec.id)[moment]

    @_translating
    def amend_self_report(
        self,
        session_id: int,
        moment: str,
        *,
        pain: int | None = None,
        stress: int | None = None,
        note: str | None = None,
    ) -> tuple[SelfReport, list[str]]:
        """Change only the values given (None: keep the stored one) of a pre- or post-session
        rating, reading and writing in one transaction, so two amendments at once never lose
        each other's values.

        Returns
        -------
        (SelfReport, list of str)
            The rating now stored, and the names of the stored values kept.
        """
        rec = self.session(session_id)
        if moment not in MOMENTS:
            raise StoreError(f"a self-report is 'pre' or 'post', not {moment!r}")
        given = {
            "pain": None if pain is None else _rating(pain, "pain"),
            "stress": None if stress is None else _rating(stress, "stress"),
            "note": None if note is None else clean_text(note, "note", MAX_NOTE),
        }
        with self._write() as c:
            row = c.execute(
                "SELECT pain, stress, note FROM self_reports WHERE session_id = ? AND moment = ?",
                (rec.id, moment),
            ).fetchone()
            old = dict(zip(given, row, strict=True)) if row is not None else {}
            kept = [k for k, v in given.items() if v is None and old.get(k) not in (None, "")]
            values = {k: old.get(k) if v is None else v for k, v in given.items()}
            c.execute(
                "INSERT INTO self_reports (session_id, moment, pain, stress, note, created_utc) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (session_id, moment) DO UPDATE SET "
                "pain = excluded.pain, stress = excluded.stress, note = excluded.note, "
                "created_utc = excluded.created_utc",
                (rec.id, moment, values["pain"], values["stress"], values["note"] or "",
                 self._now()),
            )  # fmt: skip
        return self.self_reports(rec.id)[moment], kept

    @_translating
    def self_reports(self, session_id: int) -> dict[str, SelfReport]:
        """``{"pre": SelfReport, "post": SelfReport}`` (missing moments absent)."""
        rows = self._conn.execute(
            "SELECT session_id, moment, pain, stress, note, created_utc FROM self_reports "
            "WHERE session_id = ?",
            (_session_id(session_id),),
        ).fetchall()
        return {
            r[1]: SelfReport(int(r[0]), r[1], r[2], r[3], r[4], _parse(r[5]) or _epoch())
            for r in rows
        }

    @_translating
    def add_marker(
        self, session_id: int, text: str, *, kind: str = "note", time_s: float | None = None
    ) -> Marker:
        """Add a therapist's note or marker to a session (kept when the folder is re-read)."""
        rec = self.session(session_id)
        text = clean_text(text, "note", MAX_NOTE, required=True)
        kind = clean_text(kind, "marker kind", 32, required=True)
        if time_s is not None and not math.isfinite(time_s):
            time_s = None
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO markers (session_id, time_s, kind, text, from_recording) "
                "VALUES (?, ?, ?, ?, 0)",
                (rec.id, time_s, kind, text),
            )
            mid = int(cur.lastrowid or 0)
        return next(m for m in self.markers(rec.id) if m.id == mid)

    @_translating
    def markers(self, session_id: int) -> list[Marker]:
        """Markers and notes of a session, by time (untimed last)."""
        rows = self._conn.execute(
            "SELECT id, session_id, time_s, kind, text, from_recording FROM markers "
            "WHERE session_id = ? ORDER BY time_s IS NULL, time_s, id",
            (_session_id(session_id),),
        ).fetchall()
        return [Marker(int(r[0]), int(r[1]), r[2], r[3], r[4], bool(r[5])) for r in rows]


_SESSION_SELECT = (
    "SELECT s.id, s.patient_id, p.code, s.protocol, s.device, s.started_utc, s.ended_utc, "
    "s.folder, s.status, s.summary FROM sessions s JOIN patients p ON p.id = s.patient_id"
)


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to the store file ``path`` in a folder that cannot be written.

    SQLite reads a write-ahead-logged database read-only when its ``-shm`` file is there; a
    store closed cleanly has none (nor a ``-wal``), and is then read as immutable.
    """
    wal = path.with_name(path.name + "-wal")
    conn = None
    try:
        try:
            conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None)
            version = schema_version(conn)
        except sqlite3.OperationalError:
            if conn is not None:
                conn.close()
            if wal.is_file() and wal.stat().st_size > 0:
                raise StoreError(
                    f"{path} is in a folder that cannot be written and holds changes not yet "
                    "folded in (biotrainer was stopped abruptly): copy the data folder "
                    "somewhere writable to read them"
                ) from None
            conn = sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True, isolation_level=None)
            version = schema_version(conn)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path} was written by a newer biotrainer (schema {version}, this one reads "
                f"up to {SCHEMA_VERSION}): update biotrainer"
            )
        if version < SCHEMA_VERSION:
            raise StoreError(
                f"{path} needs an update (schema {version} to {SCHEMA_VERSION}) but its folder "
                "cannot be written: copy the data folder somewhere writable"
            )
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        if isinstance(exc, sqlite3.OperationalError):
            raise _db_error(path, exc, "opened") from exc
        raise StoreError(f"{path} is not a usable biotrainer database: {exc}") from exc
    except BaseException:
        if conn is not None:
            conn.close()
        raise
    return conn


def _check_data_folder(root: Path) -> None:
    """Refuse (StoreError) a data folder that is there but is not a folder (a file, a link to
    nothing): read as an empty store, it would hide the real one. An absent folder is a new
    install."""
    if root.is_symlink() and not root.exists():
        raise StoreError(
            f"the data folder {shown(root)} is a link to nothing (its target is missing): fix "
            "the link or choose the data folder with --data-dir or BIOTRAINER_DATA"
        )
    there = nearest_existing(root)  # (a folder under a file cannot be made either)
    if there.exists() and not there.is_dir():
        what = "a file" if there.is_file() else "a special file"
        where = "" if there == root else f" cannot be made: {shown(there)}"
        raise StoreError(
            f"the data folder {shown(root)}{where} is {what}, not a folder: choose the data "
            "folder with --data-dir or BIOTRAINER_DATA"
        )


def _raw_sizes(folder: str | os.PathLike[str], meta: SessionMeta) -> tuple[int, ...]:
    """The sizes of a session folder's raw files, in its layout's order (-1 where unreadable)."""
    sizes = []
    for p in meta.layout.presets:
        try:
            sizes.append((Path(folder) / raw_file_name(p.preset)).stat().st_size)
        except OSError:
            sizes.append(-1)
    return tuple(sizes)


def _check_not_emptied(path: Path, root: Path) -> None:
    """Refuse (StoreError) a store file of 0 bytes beside recorded sessions: it was emptied (a
    copy or a disk that failed), and SQLite would take it for a new, empty store and build one
    over it, every patient and session lost from view. A 0-byte file with no session folder
    (one created just before its first write) is a new store.
    """
    try:
        if not path.is_file() or path.stat().st_size > 0:
            return
    except OSError:
        return  # (opening it says why it cannot be read)
    wal = path.with_name(path.name + "-wal")
    if (wal.is_file() and wal.stat().st_size > 0) or not list_sessions(root):
        return
    raise StoreError(
        f"{path} is not a usable biotrainer database: it is empty (0 bytes) although "
        f"{shown(root / SESSIONS_SUBDIR)} holds recorded sessions. Move the empty file aside, "
        "then register the session folders again with 'biotrainer sessions import FOLDER "
        "--patient CODE' (nothing was changed)"
    )


def _epoch() -> datetime:
    return datetime.fromtimestamp(0, UTC)


def _patient(row: tuple) -> Patient:
    return Patient(
        id=int(row[0]),
        code=str(row[1]),
        name=row[2],
        notes=row[3] or "",
        created_utc=_parse(row[4]) or _epoch(),
        resonance_bpm=row[5],
        resonance_assessed_utc=_parse(row[6]),
    )


#: The largest id SQLite can store (a larger number cannot name a session).
_MAX_ID = 2**63 - 1


#: The summary's warning for a session stopped before its first sample arrived.
NOTHING_RECORDED = "no samples arrived before the session stopped: nothing was recorded"


def _recorded_nothing(meta: SessionMeta) -> bool:
    """True when a cleanly closed recording holds no sample in any preset (a folder from
    before the per-preset counts, with none, is not judged)."""
    return bool(meta.samples) and not any(meta.samples.values())


def _session_id(value: Any) -> int:
    try:
        sid = int(value)
    except (TypeError, ValueError) as exc:
        raise StoreError(
            f"a session id is a number (see 'biotrainer sessions'), not {value!r}"
        ) from exc
    if isinstance(value, float) and not value.is_integer():
        raise StoreError(f"a session id is a whole number, not {value!r}")
    if not 1 <= sid <= _MAX_ID:  # SQLite integers stop at 2**63 - 1; ids start at 1
        raise StoreError(f"no session with id {sid}: see 'biotrainer sessions'")
    return sid


def _first_sample_time(meta: SessionMeta | None, event_times: list[float]) -> float | None:
    """BrainFlow time of the first sample (session.json), else of the first timed event."""
    if meta is not None and meta.start_timestamp is not None:
        return float(meta.start_timestamp)
    return min(event_times) if event_times else None


def _backup(conn: sqlite3.Connection, target: Path) -> None:
    """Copy the database before a migration (kept next to it, 0600)."""
    fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.close(fd)
    dst = sqlite3.connect(target)
    try:
        conn.backup(dst)
    finally:
        dst.close()
