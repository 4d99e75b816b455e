"""A small append-only CSV log (``events.csv``, ``metrics.csv``) with owner-only permissions."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from biotrainer.errors import RecordingError
from biotrainer.paths import FILE_MODE


class CsvAppender:
    """Append rows to a CSV file, writing the header once when the file is new.

    Parameters
    ----------
    path : path-like
        The file; created 0600 if absent, appended to otherwise.
    header : sequence of str
        Column names. An existing file must start with the same header.
    sync_each_row : bool
        Flush and ``fsync`` after every row (for rare, precious rows such as events). Otherwise
        rows reach the disk on :meth:`flush` (call it at least once a second) and on
        :meth:`close`.

    Raises
    ------
    RecordingError
        If the file cannot be created or written, or its header differs.
    """

    def __init__(
        self, path: str | os.PathLike[str], header: Sequence[str], *, sync_each_row: bool = False
    ) -> None:
        self.path = Path(path)
        self.header = tuple(header)
        self.sync_each_row = sync_each_row
        self.rows_written = 0
        try:
            existed = self.path.exists() and self.path.stat().st_size > 0
            if existed:
                with open(self.path, encoding="utf-8", newline="") as f:
                    first = next(csv.reader(f), [])
                if tuple(first) != self.header:
                    raise RecordingError(
                        f"{self.path} has columns {first}, expected {list(self.header)}"
                    )
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
            os.chmod(self.path, FILE_MODE)
            self._file = os.fdopen(fd, "a", encoding="utf-8", errors="replace", newline="")
        except OSError as exc:
            raise RecordingError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self._writer = csv.writer(self._file, lineterminator="\n")
        if not existed:
            self._write(self.header, sync=True)

    def append(self, row: Sequence[Any]) -> None:
        """Append one row (values are written with ``str``; floats with ``repr`` precision)."""
        if len(row) != len(self.header):
            raise ValueError(f"{self.path.name}: {len(row)} values for {len(self.header)} columns")
        self._write(row, sync=self.sync_each_row)
        self.rows_written += 1

    def _write(self, row: Sequence[Any], sync: bool) -> None:
        if self._file.closed:
            raise RecordingError(f"{self.path} is closed")
        try:
            self._writer.writerow(row)
            if sync:
                self._sync()
        except OSError as exc:
            raise RecordingError(f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def flush(self) -> None:
        """Push buffered rows to the disk."""
        if self._file.closed:
            return
        try:
            self._sync()
        except OSError as exc:
            raise RecordingError(f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        """Flush and close (idempotent)."""
        if not self._file.closed:
            try:
                self.flush()
            finally:
                self._file.close()

    def __enter__(self) -> CsvAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
