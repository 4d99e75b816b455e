"""Private copies of playback files stamped in Unix milliseconds or microseconds, with their
timestamps in seconds.

BrainFlow's playback board waits the step between two lines as seconds, so a file stamped in
milliseconds (a Crown's recording written by BrainFlow) would play a thousand times too slowly
(:mod:`biotrainer.acquisition.playback_rate`). It is played from a copy instead, in the
``playback`` folder of the cache (``$BIOTRAINER_CACHE`` or the user cache folder), owner-only,
deleted when the source is released. The copy is written line by line as BrainFlow's playback
board reads it (``fgets`` of at most :data:`~biotrainer.acquisition.playback_rate.MAX_LINE_BYTES`
bytes, cut at a NUL byte, split at tabs, else at commas, the timestamp read by ``std::stod``):
in every line it plays, the timestamp field is replaced by that number divided by 1000 (or 1e6),
written so that it reads back exactly; every other byte is copied as it is.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from biotrainer.acquisition.playback_rate import MAX_LINE_BYTES
from biotrainer.errors import DeviceError

#: Folder of the cache (``$BIOTRAINER_CACHE`` or the user cache folder) holding the copies.
COPY_FOLDER = "playback"

#: A copy left by a process that is gone (killed before it could delete it) is deleted when the
#: next copy is written; where that cannot be told (Windows), once it is older than this.
STALE_COPY_S = 7 * 86400.0

#: Bytes of the original read (and of the copy written) at a time.
COPY_BLOCK = 1 << 20

#: The number ``std::stod`` reads at the start of a field (leading white space skipped).
_NUMBER = re.compile(
    rb"[ \t\n\v\f\r]*([+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan))",
    re.IGNORECASE,
)


def copy_folder() -> Path:
    """Where copies of playback files with their timestamps in seconds are written: the
    :data:`COPY_FOLDER` folder of ``$BIOTRAINER_CACHE``, else of the user cache folder
    (``platformdirs``; on Linux ``~/.cache/biotrainer/playback``)."""
    from biotrainer.acquisition.simulator import CACHE_ENV_VAR

    chosen = os.environ.get(CACHE_ENV_VAR, "").strip()
    if chosen:
        return Path(chosen).expanduser() / COPY_FOLDER
    import platformdirs

    return Path(platformdirs.user_cache_dir("biotrainer", appauthor=False)) / COPY_FOLDER


def write_seconds_copy(
    path: Path, num_rows: int, timestamp_row: int, scale: float, folder: Path | None = None
) -> Path:
    """Write a private copy of a playback file with its timestamps in seconds.

    The copy (mode 0600, in a folder created 0700) has the lines of ``path``; in each line
    BrainFlow's playback board plays, the timestamp is replaced by the number ``std::stod``
    reads there divided by ``1 / scale``, written so that it reads back exactly. Every other
    byte is copied as it is, so the playback board reads the same samples. The file is read
    and written :data:`COPY_BLOCK` bytes at a time. Copies left behind by processes that are
    gone are deleted first (:func:`remove_stale_copies`).

    Parameters
    ----------
    path : Path
        The original (already checked by ``_count_lines``: no line longer than a few MB).
    num_rows, timestamp_row : int
        The master board's rows of the file's preset and its timestamp row.
    scale : float
        What the file's timestamps are multiplied by to be seconds (1e-3 or 1e-6).
    folder : Path, optional
        Where to write the copy (default :func:`copy_folder`).

    Returns
    -------
    Path
        The copy; the caller deletes it (:func:`remove_copy`) when the playback is over.

    Raises
    ------
    DeviceError
        The copy cannot be written (folder not writable, disk full), saying so; nothing is
        left behind.
    OSError
        The original cannot be read (nothing is left behind either).
    """
    folder = copy_folder() if folder is None else folder
    divisor = round(1.0 / scale)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        remove_stale_copies(folder)
        fd, name = tempfile.mkstemp(prefix=_copy_prefix(), suffix=".csv", dir=folder)
    except OSError as exc:
        raise _copy_error(path, folder, scale, exc) from exc
    copy = Path(name)
    out = os.fdopen(fd, "wb", buffering=0)  # (unbuffered: a failed write fails here, not at close)
    try:
        with path.open("rb") as src:
            for text in _seconds_blocks(src, num_rows, timestamp_row, float(divisor)):
                try:
                    _write_all(out, text)
                except OSError as exc:
                    raise _copy_error(path, folder, scale, exc) from exc
    except BaseException:
        out.close()
        remove_copy(copy)
        raise
    out.close()
    return copy


def remove_copy(copy: Path) -> None:
    """Delete a copy written by :func:`write_seconds_copy` (already gone: nothing to do)."""
    with contextlib.suppress(OSError):
        copy.unlink()


def remove_stale_copies(folder: Path) -> None:
    """Delete the copies in ``folder`` whose process is gone: written on this machine by a
    process that no longer runs (POSIX), or older than :data:`STALE_COPY_S`."""
    host = _host()
    now = time.time()
    for f in folder.glob("*.csv"):
        parts = f.name.split("-")
        owner = int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else None
        with contextlib.suppress(OSError):
            old = now - f.stat().st_mtime > STALE_COPY_S
            gone = parts[0] == host and owner is not None and not _process_alive(owner)
            if old or gone:
                f.unlink()


def _seconds_blocks(src, num_rows: int, timestamp_row: int, divisor: float) -> Iterator[bytes]:
    """The bytes of the copy, :data:`COPY_BLOCK` bytes of ``src`` (a binary file) at a time,
    cut after a newline and converted line by line (:func:`_seconds_line`)."""
    rest = b""
    while True:
        block = src.read(COPY_BLOCK)
        data = rest + block if rest else block
        if not data:
            return
        cut = len(data) if not block else data.rfind(b"\n") + 1
        if cut:
            yield _seconds_text(data[:cut], num_rows, timestamp_row, divisor)
        rest = data[cut:]
        if not block:
            return


def _write_all(out, data: bytes) -> None:
    """Write all of ``data`` to the unbuffered ``out`` (which may write less at a time)."""
    view = memoryview(data)
    while view:
        view = view[out.write(view) :]


def _seconds_text(data: bytes, num_rows: int, timestamp_row: int, divisor: float) -> bytes:
    """``data`` (whole lines, but maybe the last) with the timestamps of the lines BrainFlow
    plays divided by ``divisor``: as :func:`_seconds_line` of each line, but with the lines
    found, split and their timestamps read by numpy (a 60-minute file has a million lines)."""
    a = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(a == 10)
    stops = ends if ends.size and ends[-1] == a.size - 1 else np.append(ends, a.size)
    starts = np.concatenate(([0], stops[:-1] + 1))
    tabs = np.add.reduceat((a == 9).view(np.uint8), starts, dtype=np.int64)
    sep = 9 if tabs.all() else 44
    if not a.all() or (sep == 44 and tabs.any()):  # rare: a NUL byte, or tabs and commas
        return _seconds_lines(data, num_rows, timestamp_row, divisor)
    at = np.flatnonzero(a == sep)
    if at.size == 0:  # (no line with two fields)
        return _seconds_lines(data, num_rows, timestamp_row, divisor)
    first = np.searchsorted(at, starts)
    seps = np.searchsorted(at, stops) - first
    bare = (stops == starts) | (a[np.maximum(stops - 1, 0)] == sep)
    played = (seps + 1 - bare == num_rows) & (stops - starts < MAX_LINE_BYTES)
    k = timestamp_row
    lo = starts if k == 0 else at[np.minimum(first + k - 1, at.size - 1)] + 1
    hi = np.where(k < seps, at[np.minimum(first + k, at.size - 1)], stops)
    # (plain[j]: bytes of a plain number before byte j; a field of others goes the slow way)
    plain = np.concatenate(([0], np.cumsum(_PLAIN_NUMBER[a], dtype=np.int64)))
    odd = plain[hi] - plain[lo] != hi - lo
    if not played.any() or (odd | (hi == lo))[played].any():
        return _seconds_lines(data, num_rows, timestamp_row, divisor)
    lo, hi = lo[played].tolist(), hi[played].tolist()
    try:
        values = np.array([data[i:j] for i, j in zip(lo, hi, strict=True)]).astype(np.float64)
    except ValueError:  # ("1e", "1.2.3": std::stod reads a part of it)
        return _seconds_lines(data, num_rows, timestamp_row, divisor)
    new = [repr(v).encode() for v in (values / divisor).tolist()]
    kept = [data[i:j] for i, j in zip([0, *hi], [*lo, len(data)], strict=True)]
    pieces = [b""] * (len(kept) + len(new))
    pieces[::2], pieces[1::2] = kept, new
    return b"".join(pieces)


#: Bytes a plain decimal number is written with (std::stod and numpy read such a field alike).
_PLAIN_NUMBER = np.zeros(256, dtype=np.uint8)
_PLAIN_NUMBER[np.frombuffer(b"0123456789.eE+-", dtype=np.uint8)] = 1


def _seconds_lines(data: bytes, num_rows: int, timestamp_row: int, divisor: float) -> bytes:
    """:func:`_seconds_text` one line at a time (:func:`_seconds_line`)."""
    lines = data.split(b"\n")  # (the last piece: b"" or a last line cut short)
    return b"\n".join([_seconds_line(line, num_rows, timestamp_row, divisor) for line in lines])


def _seconds_line(line: bytes, num_rows: int, timestamp_row: int, divisor: float) -> bytes:
    """``line`` (without its newline) with its timestamp divided by ``divisor`` when
    BrainFlow's playback board plays it, else as it is."""
    if len(line) >= MAX_LINE_BYTES:  # (with its newline, longer than one fgets: read in pieces)
        return line
    text, nul, after = line.partition(b"\0")  # BrainFlow's line ends at a NUL byte
    sep = b"\t" if b"\t" in text else b","
    fields = text.split(sep)
    played = len(fields) - (fields[-1] == b"")  # no field after a separator ending the text
    if played != num_rows:
        return line
    field = fields[timestamp_row]
    m = _NUMBER.match(field)
    if m is None:  # std::stod fails: BrainFlow keeps the previous line's timestamp
        return line
    trail = field[m.end() :]
    value = float(m.group(1)) / divisor
    fields[timestamp_row] = (
        field[: m.start(1)] + repr(value).encode() + (trail if trail.isspace() else b"")
    )
    return sep.join(fields) + nul + after


def _copy_error(path: Path, folder: Path, scale: float, exc: OSError) -> DeviceError:
    unit = "milliseconds" if scale == 1e-3 else "microseconds"
    from biotrainer.acquisition.simulator import CACHE_ENV_VAR

    return DeviceError(
        f"cannot play the playback file {path}: its timestamps are in Unix {unit}, so it is "
        f"played from a copy with them in seconds, which cannot be written under {folder} "
        f"({exc.strerror or exc}); free some space there or set {CACHE_ENV_VAR} to a "
        "writable folder with room"
    )


def _copy_prefix() -> str:
    return f"{_host()}-{os.getpid()}-"


def _host() -> str:
    """This machine's name as a copy's name starts (letters, digits, dots, underscores)."""
    return re.sub(r"[^A-Za-z0-9._]", "_", socket.gethostname())[:64] or "host"


def _process_alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # (os.kill(pid, 0) is not a question on Windows): left to STALE_COPY_S
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # (another user's process: alive)
    return True
