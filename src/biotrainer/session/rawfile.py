"""Raw sample files in BrainFlow's own format.

BrainFlow's ``DataFilter.write_file(data, path, "a")`` appends ``data`` (rows x n) as n lines of
tab-separated ``%f`` values, one line per sample; ``DataFilter.read_file`` reads it back and the
playback board replays it. We write with BrainFlow. We read the complete lines only with pandas'
C reader, falling back to numpy's ``loadtxt`` for any text pandas does not read as plainly
``num_rows`` numbers per line (``loadtxt`` then names the faulty line), because (checked in
BrainFlow 5.23) ``read_file`` is about 10x slower on long files and cannot say which line is
corrupt; a partial last line left by a killed writer is dropped. pandas reads the same values
bit for bit (both round correctly) about three times faster than ``loadtxt``, which matters for
re-analysing, replaying and reporting long recordings.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from brainflow.board_shim import BrainFlowError
from brainflow.data_filter import DataFilter

from biotrainer import paths
from biotrainer.errors import RecordingError
from biotrainer.session.timestamps import TimestampScan


def append_raw(path: str | os.PathLike[str], data: np.ndarray) -> None:
    """Append ``data`` (rows x n) to a BrainFlow file with ``DataFilter.write_file(..., "a")``.

    BrainFlow's ``write_file`` does not report a failed write (checked with 5.23 on a full
    tmpfs: it returns OK and the file stops growing, possibly mid-line, possibly at a line's
    end). A complete append adds exactly one line per sample and ends with a newline, so the
    appended bytes are read back and their lines counted.

    Raises
    ------
    RecordingError
        If BrainFlow reports an error or the file did not grow by one line per sample.
    OSError
        If the file's size cannot be read before the append.
    """
    if data.shape[1] == 0:
        return
    try:
        size_before = os.stat(path).st_size
    except FileNotFoundError:
        size_before = 0  # write_file creates it
    try:
        DataFilter.write_file(np.ascontiguousarray(data, dtype=np.float64), str(path), "a")
    except BrainFlowError as exc:
        raise RecordingError(f"cannot append samples to {path}: {exc}") from exc
    try:
        with open(path, "rb") as f:
            f.seek(size_before)
            added = f.read()
    except OSError as exc:
        raise RecordingError(f"cannot read back {path}: {exc.strerror or exc}") from exc
    if added.count(b"\n") != data.shape[1] or not added.endswith(b"\n"):
        raise RecordingError(f"cannot append samples to {path}: the file did not grow as it should")


@dataclass(frozen=True)
class RawData:
    """Samples read from one raw file.

    Attributes
    ----------
    data : np.ndarray
        ``(rows, n)`` float64 in BrainFlow's row layout.
    dropped_partial_line : bool
        True when the file ended in an incomplete line (a writer killed mid-append) that was
        ignored.
    """

    data: np.ndarray
    dropped_partial_line: bool


def parse_lines(
    text: bytes,
    num_rows: int,
    path: str | os.PathLike[str],
    first_line: int = 1,
    n_lines: int | None = None,
):
    """Parse complete tab-separated lines into a ``(num_rows, n)`` array (``n_lines``: the
    number of newlines in ``text`` when the caller has counted them).

    Raises
    ------
    RecordingError
        Naming the file and line when a value is not a number or a line has the wrong number of
        columns.
    """
    if not text or text.isspace():  # (no stripped copy of a large block)
        return np.empty((num_rows, 0))
    fast = _parse_plain(text, num_rows, n_lines) if len(text) >= FAST_PARSE_MIN_BYTES else None
    if fast is not None:
        return fast
    try:
        arr = np.loadtxt(io.BytesIO(text), delimiter="\t", dtype=np.float64, ndmin=2)
    except ValueError as exc:
        line = text[: text.find(b"\n")]
        if b"," in line and b"\t" not in line:
            raise RecordingError(
                f"{path} is not a BrainFlow raw file: its values are separated by commas, not tabs"
            ) from exc
        raise RecordingError(
            f"{path} is corrupt ({_describe(exc, first_line)}); the lines before it can be "
            "recovered with a text editor"
        ) from exc
    if arr.shape[1] != num_rows:
        raise RecordingError(
            f"{path} has {arr.shape[1]} values per line but session.json describes {num_rows} "
            "rows: the file does not belong to this session or is corrupt"
        )
    return arr.T.copy()


#: Texts shorter than this are parsed by ``loadtxt`` alone: for a few thousand lines importing
#: pandas (about 0.35 s) costs more than it saves.
FAST_PARSE_MIN_BYTES = 1 << 18


def _parse_plain(text: bytes, num_rows: int, n_lines: int | None = None) -> np.ndarray | None:
    """``text`` as a ``(num_rows, n)`` array when every line holds ``num_rows`` tab-separated
    numbers, read by pandas' C reader; None for anything else (blank or comment lines, a
    missing or extra value, "nan", a quote, a bad byte...), which :func:`parse_lines` then
    gives to ``loadtxt`` to read it or name the fault as before. ``n_lines``: the newlines in
    ``text``, when the caller has counted them.
    """
    import pandas as pd  # here: only long texts need it, and it takes a while to import

    try:
        frame = pd.read_csv(
            io.BytesIO(text),
            sep="\t",
            header=None,
            dtype=np.float64,
            engine="c",
            na_filter=False,  # an empty value is an error, not a NaN
            quoting=csv.QUOTE_NONE,
        )
    except ValueError:  # pandas' ParserError, EmptyDataError and UnicodeDecodeError included
        return None
    n = frame.shape[0]
    if n_lines is None:
        n_lines = text.count(b"\n")
    lines = n_lines + (0 if text.endswith(b"\n") else 1)
    # pandas skips blank lines and refuses a line longer than the first; loadtxt refuses a
    # line of spaces: only text of n lines of num_rows values each takes this path
    if frame.shape[1] != num_rows or lines != n:
        return None
    values = frame.to_numpy(dtype=np.float64)
    # pandas pads a short line with NaN: without any NaN every line held num_rows values;
    # with one (a NaN sample, or padding) the tabs tell
    if np.isnan(values).any() and text.count(b"\t") != n * (num_rows - 1):
        return None
    return values.T.copy()  # owned and writable, as loadtxt's


def _describe(exc: ValueError, first_line: int) -> str:
    """numpy's parse error in file terms: what is wrong, at which line of the file."""
    msg = str(exc).split(";")[0].strip().rstrip(".")
    conversion = msg.startswith("could not convert string")
    m = re.search(r"at row (\d+)", msg)
    if m:
        # numpy 2 counts rows from 0 in conversion errors and from 1 in column-count errors
        line = int(m.group(1)) + first_line - (0 if conversion else 1)
        msg = msg[: m.start()] + f"at line {line}" + msg[m.end() :]
    bad = re.search(r"could not convert string (.*) to float64", msg) if conversion else None
    if bad:
        # the offending text cut short and with control bytes as escapes (not sent raw to a
        # terminal)
        value = "".join(c if c.isprintable() else repr(c)[1:-1] for c in bad.group(1))
        value = value if len(value) <= 40 else value[:37] + "..."
        msg = msg[: bad.start()] + f"not a number: {value}" + msg[bad.end() :]
    return msg


def _complete_part(blob: bytes) -> tuple[bytes, bool]:
    end = blob.rfind(b"\n")
    if end == len(blob) - 1:
        return blob, False
    return blob[: end + 1], True


#: Longest line (bytes) a raw file may have: BrainFlow's lines are well under 4 KB even for
#: hundreds of rows. A longer one is not a recording (e.g. a file of zeros).
MAX_LINE_BYTES = 1 << 16


def check_regular_file(path: str | os.PathLike[str]) -> Path:
    """``path`` if it is a regular file (a pipe or a device would hang a reader or never end).

    Raises
    ------
    RecordingError
        When it is missing, cannot be inspected, or is not a regular file.
    """
    path = Path(path)
    try:
        return paths.check_regular_file(path)
    except FileNotFoundError as exc:
        raise RecordingError(f"{path.name} is missing from {path.parent}") from exc
    except paths.NotRegularFileError as exc:
        raise RecordingError(
            f"{path} is {exc.kind}, not a regular file: it cannot be a recording"
        ) from exc
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from exc


def read_raw(path: str | os.PathLike[str], num_rows: int) -> RawData:
    """Read a whole raw file, tolerating a partial last line.

    Raises
    ------
    RecordingError
        If the file is missing, unreadable or corrupt.
    """
    path = check_regular_file(path)
    try:
        with open(path, "rb") as f:
            head = f.read(MAX_LINE_BYTES + 1)
        if len(head) > MAX_LINE_BYTES and b"\n" not in head:
            raise RecordingError(
                f"{path} is not a BrainFlow raw file: line 1 is longer than "
                f"{MAX_LINE_BYTES // 1024} KB"
            )
        blob = path.read_bytes()
    except FileNotFoundError as exc:
        raise RecordingError(f"{path.name} is missing from {path.parent}") from exc
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from exc
    complete, dropped = _complete_part(blob)
    return RawData(parse_lines(complete, num_rows, path), dropped)


class RawBlockReader:
    """Read a raw file block by block (bounded memory for long recordings).

    Parameters
    ----------
    path : path-like
    num_rows : int
        Rows of the preset (columns per line).
    block_lines : int
        Lines parsed per :meth:`read_block`.
    timestamp_row : int, optional
        When given, every block's timestamps go through :attr:`timestamps`, a
        :class:`~biotrainer.session.timestamps.TimestampScan` (RecordingError naming the line if
        one is not a number or out of order; steps back of the clock are noted there).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        num_rows: int,
        block_lines: int = 4096,
        timestamp_row: int | None = None,
    ):
        self.path = Path(path)
        self.num_rows = num_rows
        self.block_lines = block_lines
        self.timestamp_row = timestamp_row
        self.timestamps = TimestampScan(path) if timestamp_row is not None else None
        self.lines_read = 0
        self.dropped_partial_line = False
        self._pending = b""  # bytes read but not parsed yet
        self._pending_lines = 0  # newlines in them
        self._eof = False
        self._read_size = max(4096, block_lines * 128)  # bytes per read, adapted to the lines
        check_regular_file(self.path)
        try:
            self._file = open(self.path, "rb")  # noqa: SIM115 - closed in close()
        except FileNotFoundError as exc:
            raise RecordingError(f"{self.path.name} is missing from {self.path.parent}") from exc
        except OSError as exc:
            raise RecordingError(f"cannot read {self.path}: {exc.strerror or exc}") from exc

    def read_block(self) -> np.ndarray:
        """The next ``(num_rows, k)`` samples, ``k <= block_lines``; ``k == 0`` at the end.

        The file is read in large byte blocks and cut at line ends (no per-line Python work);
        a last line without its newline is dropped (``dropped_partial_line``).
        """
        if self._file.closed:
            return np.empty((self.num_rows, 0))
        buf = self._pending
        total = self._pending_lines
        while total < self.block_lines and not self._eof:
            more = self._file.read(self._read_size)
            if not more:
                self._eof = True
                break
            buf += more
            total += more.count(b"\n")
            if total == 0 and len(buf) > MAX_LINE_BYTES:
                raise RecordingError(
                    f"{self.path} is not a BrainFlow raw file: line {self.lines_read + 1} is "
                    f"longer than {MAX_LINE_BYTES // 1024} KB"
                )
        cut, n_lines = _after_lines(buf, total, self.block_lines)
        self._pending_lines = total - n_lines
        if self._eof and n_lines < self.block_lines and cut < len(buf):
            self.dropped_partial_line = True  # the file ends inside a line: a killed writer
            buf = buf[:cut]
        text, self._pending = buf[:cut], buf[cut:]
        if n_lines:
            self._read_size = max(self._read_size, (cut // n_lines + 1) * self.block_lines)
        first = self.lines_read + 1
        self.lines_read += n_lines
        block = parse_lines(text, self.num_rows, self.path, first_line=first, n_lines=n_lines)
        if self.timestamps is not None:
            self.timestamps.add(block[self.timestamp_row], first)
        return block

    def close(self) -> None:
        self._file.close()


def scan_raw(
    path: str | os.PathLike[str], num_rows: int, timestamp_row: int, block_lines: int = 1 << 14
) -> TimestampScan:
    """Read every complete line of a raw file; what its timestamps say (lines, span, steps back).

    Raises
    ------
    RecordingError
        As :class:`RawBlockReader`: naming the file and line when a value is not a number, a
        line has the wrong number of values, or a timestamp is not a number or out of order.
    """
    reader = RawBlockReader(path, num_rows, block_lines, timestamp_row=timestamp_row)
    try:
        while reader.read_block().shape[1]:
            pass
    finally:
        reader.close()
    return reader.timestamps


def _after_lines(buf: bytes, total: int, want: int) -> tuple[int, int]:
    """(index just after the ``want``-th newline of ``buf``, ``want``), or after its last
    newline and ``total`` (its number of newlines) when it has fewer."""
    if total <= want:
        return buf.rfind(b"\n") + 1, total
    if want <= 0:
        return 0, 0
    newlines = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == ord("\n"))
    return int(newlines[want - 1]) + 1, want


def last_timestamp(path: str | os.PathLike[str], row: int, tail_bytes: int = 65536) -> float:
    """Timestamp of the last complete line of a raw file (-inf when it has none)."""
    check_regular_file(path)
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - tail_bytes))
            tail = f.read()
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from exc
    lines = [ln for ln in tail.split(b"\n")[:-1] if ln.strip()]
    for line in reversed(lines):
        try:
            return float(line.split(b"\t")[row])
        except (ValueError, IndexError):
            continue
    return -np.inf


def first_timestamp(path: str | os.PathLike[str], row: int) -> float:
    """Timestamp of the first complete line of a raw file (inf when it has none)."""
    check_regular_file(path)
    try:
        with open(path, "rb") as f:
            line = f.readline(MAX_LINE_BYTES)
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return float(line.split(b"\t")[row]) if line.endswith(b"\n") else np.inf
    except (ValueError, IndexError):
        return np.inf
