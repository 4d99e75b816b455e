"""The recorder: every chunk of a session goes to disk, at most ~1 s behind.

The recorder buffers the raw BrainFlow arrays of each poll and appends them to ``raw_<preset>.csv``
(BrainFlow's format) once ``flush_interval`` seconds of the injected clock have passed or the
buffered samples span ``flush_interval`` seconds of their own timestamps (a replay 20 times faster
than real time brings 20 s of samples a second), and on :meth:`Recorder.close`. Events are
appended and synced one by one. A process killed with SIGKILL therefore loses at most the last
``flush_interval`` seconds of samples; its ``session.json`` keeps ``status = "recording"`` and
readers report it as interrupted.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import shutil
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.source import SourceLayout
from biotrainer.clock import Clock, MonotonicClock
from biotrainer.errors import RecordingError
from biotrainer.limits import GAP_THRESHOLD_S, loss_after_s
from biotrainer.paths import FILE_MODE
from biotrainer.session import rawfile
from biotrainer.session.csvlog import CsvAppender
from biotrainer.session.folder import (
    EVENTS_FILE,
    META_FILE,
    STATUS_COMPLETED,
    SessionMeta,
    connection_summary,
    create_meta,
    hold_recording_lock,
    make_out_dir,
    new_session_dir,
    raw_file_name,
    release_recording_lock,
    write_meta,
)

#: Columns of ``events.csv``. ``time`` is in the samples' timebase (BrainFlow timestamps, s).
EVENT_COLUMNS = ("time", "kind", "text")

#: Event kinds written by biotrainer itself (other strings are allowed).
EVENT_MARKER = "marker"
EVENT_NOTE = "note"
EVENT_GAP = "gap"
EVENT_SIGNAL_LOST = "signal_lost"
EVENT_SIGNAL_RESTORED = "signal_restored"


#: A session does not start on a disk with less free space than this (bytes): an hour of a
#: 16-channel 250-Hz board takes about 300 MB of raw text.
MIN_FREE_BYTES = 50_000_000

_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Recorder:
    """Write one session folder.

    Use :meth:`create` to make a new folder and start recording, then :meth:`write` every chunk,
    :meth:`add_event` for markers and notes, and :meth:`close` at the end (or use it as a context
    manager: an exception still closes the files but leaves the status ``recording``).

    Parameters
    ----------
    folder : path-like
        An existing, writable, empty session folder.
    layout : SourceLayout
        The source's layout; saved in ``session.json``.
    clock : Clock
        Decides when buffered samples are flushed (the engine's clock: simulated in fast replay).
    flush_interval : float
        Seconds of ``clock`` time between appends, and the most seconds of samples (by their
        timestamps) held in memory (<= 1 s keeps the "lose at most ~1 s" promise).
    connection : ConnectionParams-like or mapping, optional
        Saved without identifying fields (see :func:`connection_summary`).
    extra : dict, optional
        Additional metadata stored under ``extra`` in ``session.json``.
    fsync : bool
        ``fsync`` the raw files after each append (survives power loss, not only a kill).
    wall_clock : callable
        Returns the current UTC datetime (start/end times in ``session.json``).

    Raises
    ------
    RecordingError
        If the folder cannot be written: a session never runs without its recording.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        layout: SourceLayout,
        *,
        clock: Clock | None = None,
        flush_interval: float = 1.0,
        connection: Any = None,
        extra: dict[str, Any] | None = None,
        fsync: bool = True,
        wall_clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if not flush_interval > 0:
            raise ValueError(f"flush_interval must be > 0 s, got {flush_interval}")
        self.path = Path(folder)
        self.layout = layout
        self.clock = clock or MonotonicClock()
        self.flush_interval = float(flush_interval)
        self.fsync = fsync
        self._wall_clock = wall_clock
        self._closed = False
        self._buffers: dict[str, list[np.ndarray]] = {p.preset: [] for p in layout.presets}
        self._written: dict[str, int] = {p.preset: 0 for p in layout.presets}
        self._last_ts: dict[str, float] = {}
        self._buffered_from: dict[str, float] = {}  # each preset's first sample not on disk
        self._first_ts: float | None = None
        self._last_written_ts: float | None = None
        self._failure: RecordingError | None = None
        self._appenders: list[CsvAppender] = []
        self._made_folder = False  # set by create(): discard() may then remove the folder
        self._lock: int | None = None
        self.meta = SessionMeta(
            layout=layout,
            device=layout.device,
            start_utc=wall_clock(),
            connection=connection_summary(connection),
            extra=dict(extra or {}),
        )
        if not self.path.is_dir() or not os.access(self.path, os.W_OK):
            raise RecordingError(f"cannot record into {self.path}: not a writable folder")
        create_meta(self.path, self.meta)  # claims the folder: a second recorder is refused
        self._lock = hold_recording_lock(self.path)  # others see it as in progress
        for p in layout.presets:
            _touch_private(self.path / raw_file_name(p.preset))
        self.events = self.open_csv(EVENTS_FILE, EVENT_COLUMNS, sync_each_row=True)
        self._last_flush = self.clock.now()

    @classmethod
    def create(
        cls,
        layout: SourceLayout,
        *,
        data_directory: str | os.PathLike[str] | None = None,
        out: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> Recorder:
        """Make a new session folder under the data dir (or ``out``) and start recording there.

        The folder is taken atomically: of two recordings started at once into the same ``out``,
        one records and the other is refused without touching the folder; two started in the
        same second under the data dir get two folders. Keyword arguments go to
        :class:`Recorder`.

        Raises
        ------
        RecordingError
            If the folder cannot be made or written, ``out`` holds files, or another recording
            took ``out`` first.
        """
        wall_clock = kwargs.get("wall_clock", _utc_now)
        if out is not None:
            folder, made = make_out_dir(out)
        else:
            folder = new_session_dir(
                layout.device, data_directory=data_directory, started=wall_clock()
            )
            made = True
        try:
            recorder = cls(folder, layout, **kwargs)
        except BaseException:
            if made:
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only if still empty (not if another recording took it)
            raise
        recorder._made_folder = made
        return recorder

    # -- writing -----------------------------------------------------------------------------

    def write(self, chunk: Chunk) -> None:
        """Buffer the raw arrays of ``chunk``; append to disk when the flush interval passed on
        the clock or the buffered samples span it."""
        if self._closed:
            raise self._failure or RecordingError(f"the recording in {self.path} is already closed")
        for preset, data in chunk.raw.items():
            if preset not in self._buffers:
                raise RecordingError(
                    f"a chunk carries preset '{preset}' that the session layout lacks"
                )
            if data.ndim != 2 or data.shape[0] != self.layout.preset(preset).num_rows:
                raise RecordingError(
                    f"a '{preset}' chunk has shape {data.shape}, the layout says "
                    f"{self.layout.preset(preset).num_rows} rows"
                )
            if data.shape[1] == 0:
                continue
            first = self._note_timestamps(preset, data)
            self._buffered_from.setdefault(preset, first)
            self._buffers[preset].append(np.array(data, dtype=np.float64, copy=True))
        if self.clock.now() - self._last_flush >= self.flush_interval or self._buffered_span() >= (
            self.flush_interval
        ):
            self.flush()

    def _buffered_span(self) -> float:
        """Seconds of samples of one preset (by their timestamps) held in memory, the most of
        any preset (each preset's own: their clocks may be apart)."""
        spans = [self._last_ts[p] - t for p, t in self._buffered_from.items()]
        return max(spans, default=0.0)

    def _note_timestamps(self, preset: str, data: np.ndarray) -> float:
        """Note the chunk's first sample and its gaps; return its first timestamp."""
        p = self.layout.preset(preset)
        ts = data[p.timestamp_row]
        first, last = float(ts[0]), float(ts[-1])
        if self._first_ts is None:
            self._first_ts = first
            # Saved at the next flush together with the samples.
        # (samples without a fixed rate, RR intervals, come a beat apart: a gap is longer)
        gap_s = loss_after_s(p.fs, GAP_THRESHOLD_S)
        prev = self._last_ts.get(preset)
        if prev is not None and first - prev > gap_s:
            self._add_gap(preset, prev, first)
        if last - first > gap_s:  # a jump inside one chunk (e.g. the process was
            inside = np.flatnonzero(np.diff(ts) > gap_s)  # suspended mid-session)
            for i in inside:
                self._add_gap(preset, float(ts[i]), float(ts[i + 1]))
        self._last_ts[preset] = last
        return first

    def _add_gap(self, preset: str, before: float, after: float) -> None:
        self.add_event(EVENT_GAP, f"{preset}: no samples for {after - before:.3f} s", time=before)

    def add_event(self, kind: str, text: str = "", time: float | None = None) -> None:
        """Append an event to ``events.csv`` and sync it.

        Parameters
        ----------
        kind : str
            ``marker``, ``note``, ``gap``, ``signal_lost``, ``signal_restored`` or another word.
        text : str
            Free text (any characters; CSV-quoted).
        time : float, optional
            Seconds in the samples' timebase (BrainFlow timestamps). Defaults to the timestamp of
            the latest sample received, or NaN before the first sample.
        """
        if time is None:
            time = max(self._last_ts.values()) if self._last_ts else math.nan
        if self._failure is not None:
            raise self._failure
        try:
            self.events.append((repr(float(time)), kind, text))
        except RecordingError as exc:
            raise self._fail(exc, self.events.path) from exc

    def open_csv(
        self, name: str, header: Sequence[str], *, sync_each_row: bool = False
    ) -> CsvAppender:
        """Open a CSV log in the session folder (e.g. ``metrics.csv``), flushed with the raw data
        and closed with the recorder."""
        appender = CsvAppender(self.path / name, header, sync_each_row=sync_each_row)
        self._appenders.append(appender)
        return appender

    def flush(self) -> None:
        """Append every buffered sample to the raw files now (and sync the CSV logs).

        Raises
        ------
        RecordingError
            When the disk is full or the folder cannot be written: the recording is then closed
            (status stays ``recording``, read as interrupted) and what was written before stays
            readable. The message says where the recording stopped.
        """
        if self._failure is not None:
            raise self._failure
        path = self.path
        try:
            self._flush()
        except (OSError, RecordingError) as exc:
            raise self._fail(exc, getattr(exc, "filename", None) or path) from exc

    def _flush(self) -> None:
        # The interval runs from the start of a flush: the time the writes and syncs take (long
        # on a slow or busy disk) must not add to what a killed process can lose.
        started = self.clock.now()
        first_flush_with_start = self._first_ts is not None and self.meta.start_timestamp is None
        for preset, blocks in self._buffers.items():
            if not blocks:
                continue
            data = blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=1)
            path = self.path / raw_file_name(preset)
            try:
                rawfile.append_raw(path, data)
                if self.fsync:
                    _fsync(path)
            except (OSError, RecordingError) as exc:
                if getattr(exc, "filename", None) is None:
                    exc.filename = str(path)  # named in the message
                raise
            blocks.clear()
            self._written[preset] += data.shape[1]
            ts = float(data[self.layout.preset(preset).timestamp_row, -1])
            if self._last_written_ts is None or ts > self._last_written_ts:
                self._last_written_ts = ts
        self._buffered_from.clear()
        for a in self._appenders:
            a.flush()
        if first_flush_with_start:
            self.meta = self.meta.with_(start_timestamp=self._first_ts)
            write_meta(self.path, self.meta)
        self._last_flush = started

    def _fail(self, exc: BaseException, where: str | os.PathLike[str]) -> RecordingError:
        """Stop recording after a write failed; return the error to raise (said once)."""
        if self._failure is not None:
            return self._failure
        seconds = (
            self._last_written_ts - self._first_ts
            if self._last_written_ts is not None and self._first_ts is not None
            else 0.0
        )
        stopped = (
            f"recording stopped at {seconds:.1f} s; what was recorded before is kept in {self.path}"
        )
        name = Path(str(where)).name
        if _disk_full(exc, self.path):
            message = (
                f"the disk is full: cannot write {name}; {stopped}. "
                "Free some space before the next session"
            )
        else:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            message = f"cannot write {name} ({detail}); {stopped}"
        self._failure = RecordingError(message)
        # Close what can be closed; the status stays "recording" (read as interrupted).
        for a in self._appenders:
            with contextlib.suppress(OSError, RecordingError):
                a.close()
        self._closed = True
        self._unlock()
        return self._failure

    @property
    def failure(self) -> RecordingError | None:
        """The error that stopped the recording, if writing failed."""
        return self._failure

    # -- state -------------------------------------------------------------------------------

    @property
    def samples_written(self) -> dict[str, int]:
        """Samples on disk per preset."""
        return dict(self._written)

    @property
    def samples_received(self) -> dict[str, int]:
        """Samples received per preset (on disk + buffered)."""
        return {p: n + sum(b.shape[1] for b in self._buffers[p]) for p, n in self._written.items()}

    @property
    def closed(self) -> bool:
        return self._closed

    def add_extra(self, extra: dict[str, Any]) -> None:
        """Merge ``extra`` into ``session.json``'s ``extra`` now (what the session is scored
        with: a session killed before :meth:`close` keeps it).

        Raises
        ------
        RecordingError
            When ``session.json`` cannot be written.
        """
        if self._closed:
            return
        self.meta = self.meta.with_(extra={**self.meta.extra, **extra})
        write_meta(self.path, self.meta)

    def close(self, status: str = STATUS_COMPLETED, extra: dict[str, Any] | None = None) -> None:
        """Flush everything, close the logs and mark the session ``completed`` (idempotent).

        ``extra`` is merged into ``session.json``'s ``extra`` (how the session ended...).
        """
        if self._closed:
            return
        try:
            self._stop_writing()
            self.meta = self.meta.with_(
                end_utc=self._wall_clock(),
                end_timestamp=max(self._last_ts.values()) if self._last_ts else None,
                status=status,
                samples=self.samples_written,
                extra={**self.meta.extra, **(extra or {})},
            )
            write_meta(self.path, self.meta)
        finally:
            self._unlock()

    def abandon(self) -> None:
        """Flush and close the files but leave the status ``recording`` (-> interrupted)."""
        if self._closed:
            return
        try:
            self._stop_writing()
        finally:
            self._unlock()

    def _unlock(self) -> None:
        """Let others see the folder as no longer being recorded (once)."""
        lock, self._lock = self._lock, None
        release_recording_lock(lock)

    def _stop_writing(self) -> None:
        try:
            self.flush()
        finally:
            for a in self._appenders:
                a.close()
            self._closed = True

    def discard(self) -> bool:
        """Remove a recording that never received a sample (e.g. the device never answered).

        Closes the files, deletes those the recorder made (``session.json``, the empty raw files,
        ``events.csv`` and logs opened with :meth:`open_csv`) and, when :meth:`create` made the
        folder, the folder itself. A recording holding samples is only abandoned (kept, read as
        interrupted): nothing recorded is ever deleted.

        Returns
        -------
        bool
            True if the recording was removed, False if it held samples and was kept.
        """
        if any(self.samples_received.values()):
            self.abandon()
            return False
        for a in self._appenders:
            with contextlib.suppress(OSError, RecordingError):
                a.close()
        self._closed = True
        self._unlock()
        names = [META_FILE, *(raw_file_name(p.preset) for p in self.layout.presets)]
        names += [a.path.name for a in self._appenders]
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                (self.path / name).unlink()
        if self._made_folder:
            with contextlib.suppress(OSError):
                self.path.rmdir()  # only if nothing else was put there
        return True

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None or exc_type is KeyboardInterrupt:
            self.close()
        else:
            self.abandon()


def _disk_full(exc: BaseException, folder: Path) -> bool:
    """True when ``exc`` (or what caused it) says the disk is full, or the disk has no room."""
    e: BaseException | None = exc
    while e is not None:
        if isinstance(e, OSError) and e.errno in _DISK_FULL_ERRNOS:
            return True
        e = e.__cause__ or e.__context__
    try:
        return shutil.disk_usage(folder).free < 64 * 1024
    except OSError:
        return False


def check_free_space(folder: str | os.PathLike[str], min_bytes: int = MIN_FREE_BYTES) -> None:
    """Refuse to start a session on a (nearly) full disk.

    Raises
    ------
    RecordingError
        If the disk holding ``folder`` has less than ``min_bytes`` free.
    """
    try:
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise RecordingError(f"cannot check the free space of {folder}: {exc.strerror}") from exc
    if free < min_bytes:
        raise RecordingError(
            f"the disk holding {folder} is full ({free / 1e6:.0f} MB free, a session needs "
            f"at least {min_bytes / 1e6:.0f} MB): free some space or choose another folder "
            "with --data-dir"
        )


def _touch_private(path: Path) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        os.close(fd)
        os.chmod(path, FILE_MODE)
    except FileExistsError as exc:
        raise RecordingError(
            f"{path} already exists: refusing to append to another recording"
        ) from exc
    except OSError as exc:
        raise RecordingError(f"cannot create {path}: {exc.strerror or exc}") from exc


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise RecordingError(f"cannot sync {path}: {exc.strerror or exc}") from exc
