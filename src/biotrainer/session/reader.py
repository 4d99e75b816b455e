"""Read a session folder back: metadata, raw samples per preset, events."""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biotrainer.acquisition.chunk import SignalBlock
from biotrainer.acquisition.source import SourceLayout
from biotrainer.errors import RecordingError
from biotrainer.session.folder import (
    EVENTS_FILE,
    STATUS_COMPLETED,
    STATUS_INTERRUPTED,
    SessionMeta,
    raw_file_name,
    read_meta,
)
from biotrainer.session.rawfile import RawBlockReader, last_timestamp, read_raw, scan_raw
from biotrainer.session.recorder import EVENT_COLUMNS
from biotrainer.session.timestamps import MAX_STEP_BACK_S, TimestampScan


@dataclass(frozen=True)
class Event:
    """One row of ``events.csv``.

    Attributes
    ----------
    time : float
        Seconds in the samples' timebase (BrainFlow timestamps); NaN if logged before any sample.
    kind : str
    text : str
    """

    time: float
    kind: str
    text: str


@dataclass(frozen=True)
class Recording:
    """A session folder read into memory.

    Attributes
    ----------
    path : Path
    meta : SessionMeta
    raw : dict of str to np.ndarray
        Preset -> ``(rows, n)`` BrainFlow array, exactly as recorded.
    events : tuple of Event
    warnings : tuple of str
        Recoverable damage found while reading (a partial last line dropped...).
    """

    path: Path
    meta: SessionMeta
    raw: dict[str, np.ndarray]
    events: tuple[Event, ...]
    warnings: tuple[str, ...] = ()

    @property
    def layout(self) -> SourceLayout:
        return self.meta.layout

    @property
    def interrupted(self) -> bool:
        """True when the recording process never closed it (killed, crashed)."""
        return self.meta.interrupted

    @property
    def status(self) -> str:
        """``"completed"`` or ``"interrupted"``."""
        return STATUS_INTERRUPTED if self.meta.interrupted else STATUS_COMPLETED

    def n_samples(self, preset: str = "default") -> int:
        return int(self.raw[preset].shape[1])

    def timestamps(self, preset: str = "default") -> np.ndarray:
        """BrainFlow timestamps (s) of ``preset``."""
        return self.raw[preset][self.layout.preset(preset).timestamp_row]

    @property
    def first_timestamp(self) -> float:
        """Earliest sample timestamp over all presets (s)."""
        return min(float(self.timestamps(p)[0]) for p in self.raw if self.raw[p].shape[1])

    @property
    def last_timestamp(self) -> float:
        """Latest sample timestamp over all presets (s)."""
        return max(float(self.timestamps(p)[-1]) for p in self.raw if self.raw[p].shape[1])

    @property
    def duration_s(self) -> float:
        """Span of the recorded samples (last - first timestamp, s)."""
        return self.last_timestamp - self.first_timestamp

    def signals(self) -> dict[str, SignalBlock]:
        """The whole recording sorted by role (as a live chunk would carry it)."""
        return self.layout.split(self.raw)


#: Damaged lines of ``events.csv`` named one by one in the warnings; more are summed up in one.
MAX_NAMED_DAMAGED_LINES = 3


def load_events(folder: str | os.PathLike[str]) -> tuple[tuple[Event, ...], tuple[str, ...]]:
    """Read ``events.csv``; returns (events, warnings). A missing file means no events.

    Damaged lines are skipped with a warning, and so is a damaged first line (the column
    names): the events below it are still read, so a flipped byte in the header does not
    cost the session its markers, notes and pauses.
    """
    path = Path(folder) / EVENTS_FILE
    if not path.exists():
        return (), (f"{EVENTS_FILE} is missing: no events",)
    events: list[Event] = []
    warnings: list[str] = []
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, csv.Error) as exc:
        raise RecordingError(f"cannot read {path}: {exc}") from exc
    if not rows:
        return (), ()
    if tuple(rows[0]) != EVENT_COLUMNS:
        warnings.append(
            f"{EVENTS_FILE} line 1 is damaged (it should be {','.join(EVENT_COLUMNS)}): the "
            "lines below it were read as events"
        )
    damaged: list[int] = []
    for i, row in enumerate(rows[1:], start=2):
        try:
            if len(row) != len(EVENT_COLUMNS):
                raise ValueError
            t = float(row[0])
        except ValueError:
            damaged.append(i)
            continue
        events.append(Event(t, row[1], row[2]))
    if len(damaged) <= MAX_NAMED_DAMAGED_LINES:
        warnings += [f"{EVENTS_FILE} line {i} is damaged and was skipped" for i in damaged]
    else:
        first = ", ".join(str(i) for i in damaged[:MAX_NAMED_DAMAGED_LINES])
        warnings.append(
            f"{EVENTS_FILE}: {len(damaged)} damaged lines were skipped (lines {first}, ...)"
        )
    return tuple(events), tuple(warnings)


def load_session(path: str | os.PathLike[str]) -> Recording:
    """Read a session folder.

    Parameters
    ----------
    path : path-like
        The session folder.

    Returns
    -------
    Recording

    Raises
    ------
    RecordingError
        With a specific message when the folder is missing, ``session.json`` is missing or
        corrupt, a raw file is missing or corrupt, or no sample was ever written. A partial last
        line (left by a killed recorder) is tolerated and reported in ``warnings``.
    """
    folder = Path(path)
    meta = read_meta(folder)
    raw: dict[str, np.ndarray] = {}
    warnings: list[str] = []
    for p in meta.layout.presets:
        name = raw_file_name(p.preset)
        data = read_raw(folder / name, p.num_rows)
        if data.dropped_partial_line:
            warnings.append(
                f"{name}: an incomplete last line was dropped (the recorder was killed)"
            )
        # Kept, not refused, when the timestamps go back (the clock was set back during the
        # session, or the lines are out of order): the samples are written as they are.
        scan = TimestampScan(folder / name, in_order=False)
        scan.add(data.data[p.timestamp_row])  # (a timestamp that is not a number is refused)
        warnings.extend(scan.notes())
        raw[p.preset] = data.data
    if all(a.shape[1] == 0 for a in raw.values()):
        raise RecordingError(
            f"the recording in {folder} holds no samples: it stopped before the first second "
            "was written"
        )
    events, ev_warnings = load_events(folder)
    warnings.extend(ev_warnings)
    return Recording(folder, meta, raw, events, tuple(warnings))


def check_session_folder(path: str | os.PathLike[str], block_lines: int = 256) -> SessionMeta:
    """Check that a folder is a readable session without loading it: what an import needs.

    Reads ``session.json``, parses the first ``block_lines`` lines of every raw file (values,
    columns per line, timestamps) and checks that its last line is not earlier than them; a
    file whose last line is earlier is read whole, to tell a step back of the clock (accepted,
    :mod:`biotrainer.session.timestamps`) from lines out of order. Empty raw files are fine
    (a recording stopped before its first sample); so is a folder whose raw files were never
    made, if it is interrupted (the recorder was killed between writing ``session.json`` and
    creating them).

    Parameters
    ----------
    path : path-like
        The session folder.
    block_lines : int
        Lines of each raw file to check.

    Returns
    -------
    SessionMeta

    Raises
    ------
    RecordingError
        Naming the file when ``session.json`` is missing or corrupt, or a raw file is missing,
        unreadable, not in BrainFlow's tab-separated format, or its lines are out of order.
    """
    folder = Path(path)
    meta = read_meta(folder)
    files = {p: folder / raw_file_name(p.preset) for p in meta.layout.presets}
    if meta.interrupted and not any(f.exists() for f in files.values()):
        return meta
    for p, file in files.items():
        reader = RawBlockReader(file, p.num_rows, block_lines, timestamp_row=p.timestamp_row)
        try:
            ts = reader.read_block()[p.timestamp_row]
        finally:
            reader.close()
        last = last_timestamp(file, p.timestamp_row)
        if ts.size and math.isnan(last):
            raise RecordingError(f"{file} is corrupt: its last timestamp is not a number")
        if ts.size and last < ts.max() - MAX_STEP_BACK_S:
            # The clock was set back during the session (fine), or the lines are out of order
            # (refused): only the whole file tells.
            scan_raw(file, p.num_rows, p.timestamp_row)
    return meta
