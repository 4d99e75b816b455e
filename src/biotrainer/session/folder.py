"""Session folders and their ``session.json`` metadata.

A session folder is ``<data_dir>/sessions/<YYYYmmdd-HHMMSS>-<device>[-N]/`` (0700); the layout of
its files is described in :mod:`biotrainer.session`. :class:`SessionMeta` is the content of
``session.json``; it is written atomically (temporary file + ``os.replace``) so a kill never leaves
a half-written metadata file.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, is_dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

try:  # advisory locks mark a folder being recorded (POSIX)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from biotrainer import __version__
from biotrainer.acquisition.chunk import ROLES
from biotrainer.acquisition.counter import MAX_MODULO, MAX_SAMPLES_PER_VALUE, PacketCounter
from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout
from biotrainer.errors import RecordingError
from biotrainer.paths import (
    DIR_MODE,
    FILE_MODE,
    data_dir,
    ensure_private_dir,
    file_kind,
    path_too_long,
    shown_short,
)

SESSIONS_SUBDIR = "sessions"
META_FILE = "session.json"
EVENTS_FILE = "events.csv"
METRICS_FILE = "metrics.csv"
FORMAT_NAME = "biotrainer-session"
FORMAT_VERSION = 1

#: ``status`` while the recorder runs; it stays so when the process dies (-> "interrupted").
STATUS_RECORDING = "recording"
#: ``status`` once the recorder was closed cleanly.
STATUS_COMPLETED = "completed"
#: What readers report for a folder whose recorder never closed.
STATUS_INTERRUPTED = "interrupted"

#: How a session that closed cleanly ended (``extra.ended`` in ``session.json``; folders written
#: before it was recorded have none). The protocol ran to its end:
ENDED_FINISHED = "finished"
#: Someone stopped it before the protocol's end (Stop in the window, Ctrl-C, a signal):
ENDED_STOPPED = "stopped"
#: The device or recording delivered nothing more before the protocol's end:
ENDED_SOURCE = "source ended"
#: The device failed before the protocol's end (an error reading it, or it did not come back):
ENDED_DEVICE_FAILED = "device failed"
ENDINGS = (ENDED_FINISHED, ENDED_STOPPED, ENDED_SOURCE, ENDED_DEVICE_FAILED)

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def raw_file_name(preset: str) -> str:
    """Name of the raw BrainFlow file of ``preset`` (``raw_<preset>.csv``)."""
    return f"raw_{preset}.csv"


def sessions_root(data_directory: str | os.PathLike[str] | None = None) -> Path:
    """``<data_dir>/sessions`` (not created); ``data_directory`` as in :func:`data_dir`."""
    return data_dir(data_directory) / SESSIONS_SUBDIR


def check_out_folder(out: str | os.PathLike[str]) -> Path:
    """The ``--out`` folder (user-expanded), refused if it exists and is not an empty folder.

    Raises
    ------
    RecordingError
        If ``out`` is a file (a pipe...), a link to nothing, or a folder that already holds
        files.
    """
    path = Path(out).expanduser()
    if path.is_symlink() and not path.exists():
        raise RecordingError(
            f"cannot record into {path}: it is a link to nothing (its target is missing, or "
            "the links go round in a loop). Fix the link or choose another folder with --out."
        )
    if path.exists() and not path.is_dir():
        try:
            kind = file_kind(path.stat().st_mode)
        except OSError:
            kind = "a file"
        kind = "a file" if kind == "a regular file" else kind
        raise RecordingError(
            f"cannot record into {path}: it is {kind}, not an empty folder; "
            "give --out a folder that does not exist yet or is empty."
        )
    if path.exists() and any(path.iterdir()):
        raise RecordingError(
            f"cannot record into {path}: it already exists and is not an empty folder. "
            "Choose a new folder with --out."
        )
    return path


def make_out_dir(out: str | os.PathLike[str]) -> tuple[Path, bool]:
    """Make the ``--out`` folder (0700) in one atomic step, or take it if it exists and is empty.

    Two recordings started at once into the same folder may both get it here; the first to
    write its ``session.json`` (:func:`create_meta`) keeps it, the other is refused.

    Parameters
    ----------
    out : path-like
        The folder (``~`` is expanded). Missing parents are made.

    Returns
    -------
    (Path, bool)
        The folder, and whether it was made here (and may be removed if nothing is recorded).

    Raises
    ------
    RecordingError
        If it cannot be made, or it exists and is a file or a folder that holds files.
    """
    path = Path(out).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=DIR_MODE)  # fails if it exists: made here, by this recording only
        os.chmod(path, DIR_MODE)  # whatever the umask
        return path, True
    except FileExistsError:
        if not os.path.lexists(path):  # a parent is a file
            raise RecordingError(
                f"cannot create {path}: {path.parent} is not a folder. "
                "Choose another folder with --out."
            ) from None
    except OSError as exc:
        raise RecordingError(
            f"cannot create {path}: {exc.strerror or exc}. Choose another folder with --out."
        ) from exc
    return ensure_private_dir(check_out_folder(path)), False


def new_session_dir(
    device: str,
    *,
    data_directory: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    started: datetime | None = None,
) -> Path:
    """Create a fresh, private (0700) session folder and return it.

    Parameters
    ----------
    device : str
        Device profile name, part of the folder name.
    data_directory : path-like, optional
        Overrides ``BIOTRAINER_DATA`` / the platform data dir (``--data-dir``).
    out : path-like, optional
        Use exactly this folder (``--out``). It may exist only if it is empty.
    started : datetime, optional
        Start time (UTC) naming the folder; now by default.

    Raises
    ------
    RecordingError
        If the folder cannot be created or written, or ``out`` already holds files.
    """
    if out is not None:
        return make_out_dir(out)[0]
    ensure_private_dir(data_dir(data_directory))
    root = ensure_private_dir(sessions_root(data_directory))
    stamp = (started or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{_SAFE.sub('_', device) or 'device'}"
    for n in range(1, 1000):
        path = root / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir(mode=0o700)  # atomic: of two sessions started in one second, one gets -2
        except FileExistsError:
            continue
        except OSError as exc:
            raise RecordingError(
                f"cannot create the session folder {path}: {exc.strerror or exc}. "
                "Choose another folder with --data-dir or BIOTRAINER_DATA."
            ) from exc
        return ensure_private_dir(path)
    raise RecordingError(f"too many sessions named {base} in {root}")


def list_sessions(data_directory: str | os.PathLike[str] | None = None) -> list[Path]:
    """Session folders (those holding a ``session.json``) under the data dir, oldest first."""
    root = sessions_root(data_directory)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / META_FILE).is_file())


def connection_summary(connection: Any) -> dict[str, Any]:
    """What of a connection is worth keeping in ``session.json``.

    Keeps the serial port, IP address/port, playback file name and master board; records only
    *that* a MAC address or serial number was given (they identify a person's device and are not
    needed to read the recording). Accepts a ``ConnectionParams``-like object or a mapping.
    """
    if connection is None:
        return {}
    if isinstance(connection, Mapping):
        items = dict(connection)
    elif is_dataclass(connection) and not isinstance(connection, type):
        items = asdict(connection)
    else:
        items = dict(vars(connection))
    out: dict[str, Any] = {}
    for key in ("serial_port", "ip_address", "ip_port", "master_board", "timeout"):
        value = items.get(key)
        if value not in (None, "", 0, -100):
            out[key] = value
    for key in ("file", "file_aux", "file_anc"):
        if items.get(key):
            out[key] = Path(str(items[key])).name
    for key in ("mac_address", "serial_number"):
        if items.get(key):
            out[key] = "(given)"
    return out


def _brainflow_version() -> str:
    try:
        from importlib.metadata import version

        return version("brainflow")
    except Exception:  # pragma: no cover - metadata missing in odd installs
        return "unknown"


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class SessionMeta:
    """The content of ``session.json``.

    Attributes
    ----------
    layout : SourceLayout
        Row layout and channel roles of the raw files (``layout.board_id`` is the board whose
        row layout they have: the master board for playback).
    device : str
        Device profile name.
    start_utc : datetime
        Wall-clock start (UTC, when the recorder opened).
    start_timestamp : float or None
        BrainFlow timestamp (s) of the first recorded sample; None until a sample was written.
    end_utc, end_timestamp : datetime / float or None
        Set when the recorder closes cleanly (``end_timestamp`` = last sample's timestamp).
    status : str
        :data:`STATUS_RECORDING` or :data:`STATUS_COMPLETED` as stored on disk.
    samples : dict of str to int
        Samples written per preset (at close).
    connection : dict
        Non-identifying connection details (see :func:`connection_summary`).
    software_version, brainflow_version : str
    extra : dict
        Free room for other layers (protocol name, patient code...).
    """

    layout: SourceLayout
    device: str
    start_utc: datetime
    start_timestamp: float | None = None
    end_utc: datetime | None = None
    end_timestamp: float | None = None
    status: str = STATUS_RECORDING
    samples: dict[str, int] = field(default_factory=dict)
    connection: dict[str, Any] = field(default_factory=dict)
    software_version: str = __version__
    brainflow_version: str = field(default_factory=_brainflow_version)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def board_id(self) -> int:
        return self.layout.board_id

    @property
    def sampling_rates(self) -> dict[str, float]:
        """Preset -> nominal sampling rate (Hz)."""
        return {p.preset: p.fs for p in self.layout.presets}

    @property
    def files(self) -> dict[str, str]:
        """Preset -> raw file name."""
        return {p.preset: raw_file_name(p.preset) for p in self.layout.presets}

    @property
    def interrupted(self) -> bool:
        """True when the recorder never closed cleanly (killed, crashed, power lost)."""
        return self.status != STATUS_COMPLETED

    @property
    def ended(self) -> str | None:
        """How the session ended (one of :data:`ENDINGS`; None when not recorded or unknown)."""
        value = self.extra.get("ended")
        return value if value in ENDINGS else None

    def with_(self, **changes: Any) -> SessionMeta:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        channels = [
            {
                "label": f"{g.role.upper()} {name}",
                "role": g.role,
                "name": name,
                "preset": g.preset,
                "row": row,
                "units": g.units,
            }
            for g in self.layout.groups
            for row, name in zip(g.rows, g.names, strict=True)
        ]
        return {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "software": {"name": "biotrainer", "version": self.software_version},
            "brainflow_version": self.brainflow_version,
            "device": self.device,
            "board_id": self.layout.board_id,
            "sampling_rates": self.sampling_rates,
            "files": self.files,
            "channels": channels,
            "layout": self.layout.to_dict(),
            "start": {"utc": _iso(self.start_utc), "timestamp": self.start_timestamp},
            "end": {"utc": _iso(self.end_utc), "timestamp": self.end_timestamp},
            "status": self.status,
            "samples": dict(self.samples),
            "connection": dict(self.connection),
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, d: Any, source: str = META_FILE) -> SessionMeta:
        """Parse ``session.json`` content, checking every field's type and range.

        Raises
        ------
        RecordingError
            Naming ``source`` and the bad key (e.g. ``'layout.groups[0].rows[2]'``) and what is
            wrong with it.
        """
        if not isinstance(d, dict):
            raise RecordingError(f"{source} is corrupt: it does not hold a JSON object")
        if d.get("format") != FORMAT_NAME:
            raise RecordingError(f"{source} is not a biotrainer session file (format is missing)")
        version = d.get("format_version")
        if not _is_int(version) or version < 1:
            raise RecordingError(
                f"{source} is corrupt: 'format_version' should be a whole number, not "
                f"{_show(version)}"
            )
        if version > FORMAT_VERSION:
            raise RecordingError(
                f"{source}: format_version {version!r} is not supported by this biotrainer "
                f"(reads up to {FORMAT_VERSION}); update biotrainer"
            )
        key = "layout"
        try:
            layout = _parse_layout(_field(d, "layout", dict))
            _check_rates(layout, source)
            if "board_id" in d:
                _whole(d["board_id"], "board_id", INT32_MIN, INT32_MAX)
            device = _field(d, "device", str)
            start = _field(d, "start", dict, default={})
            key = "start.utc"
            start_utc = _parse_time(_field(start, "utc", str, "start."))
            start_ts = _opt_finite(start.get("timestamp"), "start.timestamp")
            end = _field(d, "end", dict, default={})
            key = "end.utc"
            end_utc = _parse_time(_field(end, "utc", str, "end.")) if end.get("utc") else None
            end_ts = _opt_finite(end.get("timestamp"), "end.timestamp")
            status = _field(d, "status", str)
            if status not in (STATUS_RECORDING, STATUS_COMPLETED):
                raise _FieldError(
                    "status", f"should be {STATUS_RECORDING!r} or {STATUS_COMPLETED!r}"
                )
            samples = {
                str(k): _whole(v, f"samples.{k}", 0, MAX_SAMPLES)
                for k, v in _field(d, "samples", dict, default={}).items()
            }
            software = str(_field(d, "software", dict, default={}).get("version", "unknown"))
            connection = _field(d, "connection", dict, default={})
            extra = _field(d, "extra", dict, default={})
        except _FieldError as exc:
            raise RecordingError(f"{source} is corrupt: '{exc.key}' {exc.problem}") from exc
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise RecordingError(f"{source} is corrupt: '{key}' is missing or invalid") from exc
        return cls(
            layout=layout,
            device=device,
            start_utc=start_utc,
            start_timestamp=start_ts,
            end_utc=end_utc,
            end_timestamp=end_ts,
            status=status,
            samples=samples,
            connection=dict(connection),
            software_version=software,
            brainflow_version=str(d.get("brainflow_version", "unknown")),
            extra=dict(extra),
        )


#: Range of a board id (a C int in BrainFlow).
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
#: Most rows a preset's raw file may have (BrainFlow boards have < 100; LSL streams a few hundred).
MAX_ROWS = 4096
#: Most samples a preset may hold (2**53: still exact as a float).
MAX_SAMPLES = 2**53
_JSON_TYPES = {dict: "an object", list: "a list", str: "a text"}


class _FieldError(Exception):
    """A ``session.json`` field that is missing or has the wrong type or value."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key} {problem}")
        self.key = key
        self.problem = problem


def _show(value: Any) -> str:
    """A short ``repr`` of a JSON value for a message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_MISSING = object()


def _field(d: dict, name: str, kind: type, prefix: str = "", default: Any = _MISSING) -> Any:
    """``d[name]`` checked to be of JSON type ``kind``; ``default`` when missing or null."""
    value = d.get(name)
    if value is None:
        if default is _MISSING:
            raise _FieldError(prefix + name, "is missing")
        return default
    if not isinstance(value, kind):
        raise _FieldError(prefix + name, f"should be {_JSON_TYPES[kind]}, not {_show(value)}")
    return value


def _whole(value: Any, key: str, lo: int, hi: int, what: str = "") -> int:
    """``value`` checked to be an integer in ``lo..hi`` (``what`` says what the range is)."""
    if value is None:
        raise _FieldError(key, "is missing")
    if not _is_int(value):
        raise _FieldError(key, f"should be a whole number, not {_show(value)}")
    if not lo <= value <= hi:
        raise _FieldError(key, f"is {_show(value)}, outside {what or f'{lo}..{hi}'}")
    return value


def _finite(value: Any, key: str) -> float:
    if value is None:
        raise _FieldError(key, "is missing")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _FieldError(key, f"should be a finite number, not {_show(value)}")
    return float(value)


def _opt_finite(value: Any, key: str) -> float | None:
    return None if value is None else _finite(value, key)


def _parse_counter(c: Any, key: str, num_rows: int, rows: str) -> PacketCounter | None:
    """A preset's ``counter`` object (how its package numbers count; absent: None)."""
    if c is None:
        return None
    if not isinstance(c, dict):
        raise _FieldError(key, f"should be an object, not {_show(c)}")
    row = _whole(c.get("row"), key + ".row", 0, num_rows - 1, rows)
    per = _whole(c.get("samples_per_value"), key + ".samples_per_value", 1, MAX_SAMPLES_PER_VALUE)
    modulo = _whole(c.get("modulo"), key + ".modulo", 2, MAX_MODULO)
    step = _whole(c.get("step"), key + ".step", 1, modulo - 1)
    return PacketCounter(row=row, samples_per_value=per, step=step, modulo=modulo)


def _parse_layout(d: dict) -> SourceLayout:
    """The ``layout`` object: presets and channel groups, every row index inside its preset,
    every group of a known role (at most one group each) with at least one row (but markers)."""
    presets: list[PresetLayout] = []
    for i, p in enumerate(_field(d, "presets", list, "layout.")):
        key = f"layout.presets[{i}]"
        if not isinstance(p, dict):
            raise _FieldError(key, f"should be an object, not {_show(p)}")
        name = _field(p, "preset", str, key + ".")
        if any(q.preset == name for q in presets):
            raise _FieldError(key + ".preset", f"{name!r} appears twice")
        n = _whole(p.get("num_rows"), key + ".num_rows", 1, MAX_ROWS)
        rows = f"the {n} rows (0..{n - 1}) of the {name} preset"
        ts_row = _whole(p.get("timestamp_row"), key + ".timestamp_row", 0, n - 1, rows)
        marker = p.get("marker_row")
        if marker is not None:
            marker = _whole(marker, key + ".marker_row", 0, n - 1, rows)
        fs = _finite(p.get("fs"), key + ".fs")
        counter = _parse_counter(p.get("counter"), key + ".counter", n, rows)
        presets.append(PresetLayout(name, fs, n, ts_row, marker, counter))
    if not presets:
        raise _FieldError("layout.presets", "is empty")
    groups: list[ChannelGroup] = []
    for i, g in enumerate(_field(d, "groups", list, "layout.")):
        key = f"layout.groups[{i}]"
        if not isinstance(g, dict):
            raise _FieldError(key, f"should be an object, not {_show(g)}")
        role = _field(g, "role", str, key + ".")
        if role not in ROLES:
            raise _FieldError(
                key + ".role", f"is {_show(role)}, not a role biotrainer knows ({', '.join(ROLES)})"
            )
        if any(q.role == role for q in groups):
            raise _FieldError(key + ".role", f"{role!r} appears twice: one group per role")
        preset_name = _field(g, "preset", str, key + ".")
        preset = next((p for p in presets if p.preset == preset_name), None)
        if preset is None:
            raise _FieldError(key + ".preset", f"names no preset of the layout: {preset_name!r}")
        n = preset.num_rows
        span = f"the {n} rows (0..{n - 1}) of the {preset_name} preset"
        rows = tuple(
            _whole(r, f"{key}.rows[{j}]", 0, n - 1, span)
            for j, r in enumerate(_field(g, "rows", list, key + "."))
        )
        if not rows and role != "marker":  # (markers may live in the preset's marker_row only)
            raise _FieldError(key + ".rows", "is empty: a channel group needs at least one row")
        _check_signal_rows(rows, role, preset, key)
        names = _field(g, "names", list, key + ".")
        if not all(isinstance(x, str) for x in names):
            raise _FieldError(key + ".names", "should hold only texts")
        if len(names) != len(rows):
            raise _FieldError(
                key + ".names", f"has {len(names)} names for {len(rows)} rows: one per row"
            )
        units = _field(g, "units", str, key + ".")
        groups.append(ChannelGroup(role, preset_name, rows, tuple(names), units))
    if not groups:
        raise _FieldError("layout.groups", "is empty: the recording names no signal")
    device = _field(d, "device", str, "layout.")
    board_id = _whole(d.get("board_id"), "layout.board_id", INT32_MIN, INT32_MAX)
    alpha = d.get("alpha_channels", [])  # (absent before biotrainer kept it: every channel)
    if not isinstance(alpha, list) or not all(isinstance(x, str) for x in alpha):
        raise _FieldError("layout.alpha_channels", f"should be a list of texts, not {_show(alpha)}")
    return SourceLayout(device, board_id, tuple(presets), tuple(groups), tuple(alpha))


def _check_signal_rows(rows: tuple[int, ...], role: str, preset: PresetLayout, key: str) -> None:
    """A group's rows are signals: not the preset's timestamp row, nor its marker row but for
    the ``marker`` group (a hand-edited layout whose EEG was read from the timestamp row
    replayed clock readings as microvolts and could not be exported).

    Raises
    ------
    _FieldError
        Naming the row (``layout.groups[0].rows[1]``) and what it is.
    """
    for j, r in enumerate(rows):
        if r == preset.timestamp_row:
            what = "timestamp row"
        elif r == preset.marker_row and role != "marker":
            what = "marker row"
        else:
            continue
        raise _FieldError(
            f"{key}.rows[{j}]", f"is {r}, the {preset.preset} preset's {what}, not a signal"
        )


#: Plausible sampling rates of a recorded preset, Hz (0 = irregular, e.g. RR intervals).
MIN_RATE_HZ, MAX_RATE_HZ = 1.0, 100_000.0
#: Roles whose samples come at irregular times (a preset of only these may have rate 0).
IRREGULAR_ROLES = ("rr", "marker")


def _check_rates(layout: SourceLayout, source: str) -> None:
    """RecordingError unless every preset's rate is plausible for what it carries."""
    for p in layout.presets:
        roles = [g.role for g in layout.groups if g.preset == p.preset]
        irregular = bool(roles) and all(r in IRREGULAR_ROLES for r in roles)
        fs = float(p.fs)
        if irregular and fs == 0:
            continue
        if not (MIN_RATE_HZ <= fs <= MAX_RATE_HZ):
            raise RecordingError(
                f"{source} is corrupt: the {p.preset} preset's sampling rate {p.fs!r} Hz is "
                f"impossible (expected {MIN_RATE_HZ:g} to {MAX_RATE_HZ:g} Hz)"
            )


def _parse_time(value: Any) -> datetime:
    t = datetime.fromisoformat(str(value))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _meta_text(meta: SessionMeta) -> str:
    """``session.json``'s content for ``meta``."""
    try:
        return json.dumps(meta.to_dict(), indent=2, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise RecordingError(f"cannot save the session metadata: {exc}") from exc


def _cannot_write(path: Path, exc: OSError) -> RecordingError:
    return RecordingError(
        f"cannot write {path}: {exc.strerror or exc}. Check the disk and the folder permissions."
    )


def _write_fd(fd: int, text: str) -> None:
    """Write ``text`` to the new file ``fd`` (closed here) and sync it."""
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _locked_folder(folder: str | os.PathLike[str], operation: int) -> int | None:
    """A descriptor of ``folder`` holding the ``flock`` ``operation`` (non-blocking); None when
    the folder cannot be opened. Raises BlockingIOError when another holds a conflicting lock."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise
    return fd


def hold_recording_lock(folder: str | os.PathLike[str]) -> int | None:
    """Mark ``folder`` as being recorded by this process, until :func:`release_recording_lock`
    (or the process ends, however it ends): an exclusive advisory lock on the folder itself.

    Returns
    -------
    int or None
        The descriptor holding the lock; None where locks are not available (then
        :func:`recording_in_progress` is always False).
    """
    if fcntl is None:
        return None
    try:
        return _locked_folder(folder, fcntl.LOCK_EX)
    except OSError:
        return None


def release_recording_lock(fd: int | None) -> None:
    """Release a lock taken by :func:`hold_recording_lock` (None: nothing to do)."""
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def describe_recording(meta: SessionMeta, folder: str | os.PathLike[str]) -> str:
    """How a session folder's recording stands, in the words lists and reports use: "still being
    recorded", "interrupted", "stopped early", "source ended", "device failed" or "completed"."""
    if meta.status == STATUS_RECORDING and recording_in_progress(folder):
        return "still being recorded"
    if meta.interrupted:
        return STATUS_INTERRUPTED
    return {
        ENDED_STOPPED: "stopped early",
        ENDED_SOURCE: "source ended",
        ENDED_DEVICE_FAILED: "device failed",
    }.get(meta.ended or "", STATUS_COMPLETED)


def recording_in_progress(folder: str | os.PathLike[str]) -> bool:
    """True while a recorder (of any process on this machine) is recording into ``folder``.

    A folder whose ``session.json`` still says "recording" is being recorded when this is
    True, and was interrupted (its process killed) when it is False.
    """
    if fcntl is None:
        return False
    try:
        fd = _locked_folder(folder, fcntl.LOCK_SH)
    except BlockingIOError:
        return True
    except OSError:
        return False
    release_recording_lock(fd)
    return False


def create_meta(folder: str | os.PathLike[str], meta: SessionMeta) -> None:
    """Write the first ``session.json`` of a recording; it must not exist yet.

    Creating it is atomic and exclusive (``O_EXCL``): of two recordings started into one folder,
    the first to get here owns the folder and the other is refused before it writes anything.

    Raises
    ------
    RecordingError
        If the folder already holds a ``session.json`` (another recording), or it cannot be
        written.
    """
    folder = Path(folder)
    path = folder / META_FILE
    text = _meta_text(meta)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError as exc:
        raise RecordingError(
            f"cannot record into {folder}: it is already being recorded (its {META_FILE} "
            "already exists). Choose a new folder with --out."
        ) from exc
    except OSError as exc:
        raise _cannot_write(path, exc) from exc
    try:
        _write_fd(fd, text)
        os.chmod(path, FILE_MODE)
    except OSError as exc:
        with contextlib.suppress(OSError):
            path.unlink()  # ours, half written
        raise _cannot_write(path, exc) from exc


def write_meta(folder: str | os.PathLike[str], meta: SessionMeta) -> None:
    """Write ``session.json`` atomically with owner-only permissions."""
    folder = Path(folder)
    tmp = folder / (META_FILE + ".tmp")
    text = _meta_text(meta)
    try:
        _write_fd(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE), text)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, folder / META_FILE)
    except OSError as exc:
        raise _cannot_write(folder / META_FILE, exc) from exc


def read_meta(folder: str | os.PathLike[str]) -> SessionMeta:
    """Read and validate ``session.json`` of a session folder.

    Raises
    ------
    RecordingError
        If the folder or the file is missing, unreadable or corrupt, or the folder's path is
        too long for the system.
    """
    folder = Path(folder)
    too_long = path_too_long(folder / META_FILE)
    if too_long is not None:
        raise RecordingError(f"cannot read the session folder {shown_short(folder)}: {too_long}")
    if not folder.exists():
        raise RecordingError(f"no session folder at {folder}")
    if not folder.is_dir():
        raise RecordingError(f"{folder} is not a session folder (it is a file)")
    path = folder / META_FILE
    if not path.is_file():
        raise RecordingError(f"{folder} is not a biotrainer session folder: {META_FILE} is missing")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise RecordingError(f"{path} is corrupt: it is not UTF-8 text") from exc
    if not text.strip():
        raise RecordingError(f"{path} is empty: the session metadata was never written")
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordingError(
            f"{path} is corrupt: invalid JSON at line {exc.lineno}, column {exc.colno}"
        ) from exc
    except ValueError as exc:  # Python refuses integers of more than 4300 digits
        raise RecordingError(f"{path} is corrupt: it holds a number with too many digits") from exc
    except RecursionError as exc:
        raise RecordingError(f"{path} is corrupt: its JSON is nested too deeply") from exc
    return SessionMeta.from_dict(d, source=str(path))
