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
from biotrainer.session.rawfile import read_raw
from biotrainer.session.recorder import EVENT_COLUMNS


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


def load_events(folder: str | os.PathLike[str]) -> tuple[tuple[Event, ...], tuple[str, ...]]:
    """Read ``events.csv``; returns (events, warnings). A missing file means no events."""
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
        raise RecordingError(
            f"{path} is corrupt: its first line should be {','.join(EVENT_COLUMNS)}"
        )
    for i, row in enumerate(rows[1:], start=2):
        try:
            if len(row) != len(EVENT_COLUMNS):
                raise ValueError
            t = float(row[0])
        except ValueError:
            warnings.append(f"{EVENTS_FILE} line {i} is damaged and was skipped")
            continue
        events.append(Event(t, row[1], row[2]))
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
        ts = data.data[p.timestamp_row]
        if ts.size and not np.all(np.isfinite(ts)):
            raise RecordingError(f"{folder / name} is corrupt: some timestamps are not numbers")
        raw[p.preset] = data.data
    if all(a.shape[1] == 0 for a in raw.values()):
        raise RecordingError(
            f"the recording in {folder} holds no samples: it stopped before the first second "
            "was written"
        )
    events, ev_warnings = load_events(folder)
    warnings.extend(ev_warnings)
    return Recording(folder, meta, raw, events, tuple(warnings))


def event_onsets(recording: Recording) -> list[tuple[float, Event]]:
    """Events with their onset in seconds from the first sample (NaN times -> 0)."""
    t0 = recording.first_timestamp
    return [(0.0 if math.isnan(e.time) else max(0.0, e.time - t0), e) for e in recording.events]
