"""Serve a recorded session as a live source, at any speed, on an injectable clock.

BrainFlow's playback board replays only in real time, so fast replay, tests, soaks and offline
analysis use :class:`FileSource`: it reads a session folder's raw files (block by block, bounded
memory) and, on each :meth:`FileSource.poll`, returns every sample whose recorded timestamp is due
by ``start_timestamp + (clock.now() - start_time) * speed``, at most :data:`MAX_POLL_S` recording
seconds a poll: at a speed its reader cannot keep up with, the file is served a few seconds a poll
(the rest by the next polls), not all at once. With a :class:`~biotrainer.clock.SimulatedClock` a
10-minute recording is served as fast as the clock is advanced. Timestamps and values are exactly
those recorded; the layout is the recorded one.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.source import SourceLayout, SourceState
from biotrainer.clock import Clock, MonotonicClock
from biotrainer.errors import RecordingError
from biotrainer.session.folder import SessionMeta, raw_file_name, read_meta
from biotrainer.session.rawfile import RawBlockReader, last_timestamp

#: Most recording seconds one :meth:`FileSource.poll` serves: more than a poll brings at a speed
#: the engine keeps up with (``run`` polls every 0.05 s, so at 20 times real time a poll brings
#: about a second), so only a faster speed is held back. The file is then served 5 s a poll, in
#: bounded memory, and a session that ends before its source reads at most 5 s past its end.
MAX_POLL_S = 5.0


class _PresetStream:
    """Pending samples of one preset, refilled from its file block by block."""

    def __init__(self, reader: RawBlockReader, timestamp_row: int) -> None:
        self.reader = reader
        self.ts_row = timestamp_row
        self.pending = np.empty((reader.num_rows, 0))
        self.pace = np.empty(0)  # running max of timestamps: tolerates small non-monotonicity
        self.pace_max = -np.inf
        self.exhausted = False
        self.delivered = 0

    def _refill(self) -> bool:
        block = self.reader.read_block()
        if block.shape[1] == 0:
            self.exhausted = True
            self.reader.close()
            return False
        pace = np.maximum.accumulate(np.maximum(block[self.ts_row], self.pace_max))
        self.pace_max = float(pace[-1])
        self.pending = np.concatenate([self.pending, block], axis=1)
        self.pace = np.concatenate([self.pace, pace])
        return True

    def first_timestamp(self) -> float | None:
        if self.pending.shape[1] == 0 and not self.exhausted:
            self._refill()
        return float(self.pending[self.ts_row, 0]) if self.pending.shape[1] else None

    def take_until(self, t: float) -> np.ndarray:
        """Remove and return the pending samples due by time ``t``."""
        parts = []
        while True:
            if self.pending.shape[1] == 0 and (self.exhausted or not self._refill()):
                break
            k = int(np.searchsorted(self.pace, t, side="right"))
            if k == 0:
                break
            parts.append(self.pending[:, :k])
            self.pending = self.pending[:, k:]
            self.pace = self.pace[k:]
            if self.pending.shape[1] > 0:
                break
        if not parts:
            return np.empty((self.reader.num_rows, 0))
        out = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        self.delivered += out.shape[1]
        return out

    @property
    def done(self) -> bool:
        return self.exhausted and self.pending.shape[1] == 0


class FileSource:
    """A :class:`~biotrainer.acquisition.source.Source` over a recorded session folder.

    Parameters
    ----------
    session_dir : path-like
        A session folder written by :class:`biotrainer.session.Recorder`.
    clock : Clock, optional
        Decides what is due (default: monotonic wall time).
    speed : float
        Recording seconds served per clock second (> 0).
    silence_timeout : float
        A stretch of the recording longer than this (recording seconds) with no sample makes the
        state :attr:`SourceState.SILENT` until samples resume, as a live device would.
    block_lines : int
        Samples read from disk at a time per preset.
    max_poll_s : float
        Most recording seconds one :meth:`poll` serves (> 0); what is due beyond them is served
        by the next polls.

    Raises
    ------
    RecordingError
        From :meth:`prepare` if the folder cannot be read.
    """

    #: It plays a recording from its start (a live device streams the present): what a signal
    #: check showed of it is not to be skipped by the session after it.
    replays_recording = True

    def __init__(
        self,
        session_dir: str | os.PathLike[str],
        clock: Clock | None = None,
        *,
        speed: float = 1.0,
        silence_timeout: float = 2.0,
        block_lines: int = 4096,
        max_poll_s: float = MAX_POLL_S,
    ) -> None:
        if not (speed > 0 and np.isfinite(speed)):
            raise RecordingError(f"replay speed must be a positive number, got {speed}")
        if not (max_poll_s > 0 and np.isfinite(max_poll_s)):
            raise RecordingError(f"max_poll_s must be a positive number, got {max_poll_s}")
        self.path = Path(session_dir)
        self.clock = clock or MonotonicClock()
        self.speed = float(speed)
        self.silence_timeout = float(silence_timeout)
        self.block_lines = int(block_lines)
        self.max_poll_s = float(max_poll_s)
        self._state = SourceState.IDLE
        self._layout: SourceLayout | None = None
        self._streams: dict[str, _PresetStream] = {}
        self._start_ts = 0.0
        self._end_ts = 0.0
        self._t0 = 0.0
        self._served_to = 0.0  # recording time served up to (lags what is due when held back)
        self._last_sample_ts = 0.0
        self._position = 0.0

    # -- Source protocol ---------------------------------------------------------------------

    @property
    def state(self) -> SourceState:
        return self._state

    @property
    def layout(self) -> SourceLayout:
        if self._layout is None:
            self._layout = self._read_meta().layout
        return self._layout

    def prepare(self) -> None:
        """Read ``session.json`` and open the raw files."""
        if self._state is not SourceState.IDLE:
            return
        meta = self._read_meta()
        self._layout = meta.layout
        try:
            for p in meta.layout.presets:
                path = self.path / raw_file_name(p.preset)
                reader = RawBlockReader(path, p.num_rows, self.block_lines)
                self._streams[p.preset] = _PresetStream(reader, p.timestamp_row)
            firsts = [s.first_timestamp() for s in self._streams.values()]
        except RecordingError:
            self._close_readers()
            raise
        firsts = [t for t in firsts if t is not None]
        if not firsts:
            self._close_readers()
            raise RecordingError(f"the recording in {self.path} holds no samples")
        self._start_ts = min(firsts)
        self._end_ts = max(
            last_timestamp(self.path / raw_file_name(p.preset), p.timestamp_row)
            for p in meta.layout.presets
        )
        self._last_sample_ts = self._start_ts
        self._served_to = self._start_ts
        self._state = SourceState.PREPARED

    def start(self) -> None:
        if self._state is SourceState.IDLE:
            self.prepare()
        if self._state is not SourceState.PREPARED:
            return
        self._t0 = self.clock.now()
        self._state = SourceState.STREAMING

    def poll(self) -> Chunk:
        """Every recorded sample due by now, at most :attr:`max_poll_s` recording seconds of them
        (possibly none); never blocks."""
        now = self.clock.now()
        if self._state not in (SourceState.STREAMING, SourceState.SILENT):
            return Chunk(received_at=now)
        due = self._start_ts + (now - self._t0) * self.speed
        # (served_to lags due only at a speed the polls cannot keep up with)
        self._served_to = max(self._served_to, min(due, self._served_to + self.max_poll_s))
        served_to = self._served_to
        raw: dict[str, np.ndarray] = {}
        for preset, stream in self._streams.items():
            data = stream.take_until(served_to)
            raw[preset] = data
            if data.shape[1]:
                ts = float(data[stream.ts_row, -1])
                self._last_sample_ts = max(self._last_sample_ts, ts)
        self._position = min(served_to, self._end_ts) - self._start_ts
        if all(s.done for s in self._streams.values()):
            self._state = SourceState.ENDED
        elif served_to - self._last_sample_ts > self.silence_timeout:
            self._state = SourceState.SILENT
        else:
            self._state = SourceState.STREAMING
        return Chunk(raw=raw, signals=self.layout.split(raw), received_at=now)

    def stop(self) -> None:
        if self._state in (SourceState.STREAMING, SourceState.SILENT, SourceState.ENDED):
            self._state = SourceState.STOPPED

    def release(self) -> None:
        self._close_readers()
        self._state = SourceState.RELEASED

    # -- extras ------------------------------------------------------------------------------

    @property
    def duration_s(self) -> float:
        """Span of the recording (last - first timestamp, s); known after :meth:`prepare`."""
        return self._end_ts - self._start_ts

    @property
    def position_s(self) -> float:
        """Recording seconds served so far."""
        return self._position

    @property
    def samples_delivered(self) -> dict[str, int]:
        return {p: s.delivered for p, s in self._streams.items()}

    def _read_meta(self) -> SessionMeta:
        return read_meta(self.path)

    def _close_readers(self) -> None:
        for s in self._streams.values():
            s.reader.close()

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
