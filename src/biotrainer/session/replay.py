"""Open a recorded session as a live source (real time through BrainFlow, or fast from the file)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from brainflow.board_shim import BoardIds

from biotrainer.acquisition.file_source import FileSource
from biotrainer.acquisition.source import Source
from biotrainer.clock import Clock
from biotrainer.errors import RecordingError
from biotrainer.session.folder import raw_file_name, read_meta
from biotrainer.session.rawfile import scan_raw
from biotrainer.session.reader import check_session_folder


def playback_files(session_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Preset -> raw file of a session, for the presets that hold at least one sample.

    Raises
    ------
    RecordingError
        If ``session.json`` is missing/corrupt or no raw file holds a sample.
    """
    folder = Path(session_dir)
    meta = read_meta(folder)
    files: dict[str, Path] = {}
    for p in meta.layout.presets:
        path = folder / raw_file_name(p.preset)
        if not path.is_file():
            raise RecordingError(f"{path.name} is missing from {folder}")
        if path.stat().st_size > 0:
            files[p.preset] = path
    if not files:
        raise RecordingError(f"the recording in {folder} holds no samples")
    return files


#: Board id of recordings with no BrainFlow row layout (e.g. from an LSL inlet).
NO_BOARD_ID = int(BoardIds.NO_BOARD)


def open_replay(
    session_dir: str | os.PathLike[str],
    *,
    speed: float = 1.0,
    clock: Clock | None = None,
    playback_board: bool | None = None,
    **options: object,
) -> Source:
    """A source that replays a session folder.

    Parameters
    ----------
    session_dir : path-like
    speed : float
        1.0 replays in real time through BrainFlow's ``PLAYBACK_FILE_BOARD`` with the recorded
        layout and timestamps (the live data path). Any other positive value serves the file
        directly through :class:`~biotrainer.acquisition.file_source.FileSource` on ``clock``
        (BrainFlow's playback board has no speed control).
    clock : Clock, optional
    playback_board : bool, optional
        Force (True) or avoid (False) BrainFlow's playback board; by default it is used exactly
        when ``speed == 1``. It cannot run at another speed.
    **options
        Passed to the source (``silence_timeout``...).

    Raises
    ------
    RecordingError
        If the folder cannot be read, a raw file is missing or its first lines are damaged
        (:func:`~biotrainer.session.reader.check_session_folder`), or it holds no samples.
    DeviceError
    """
    # A specific message now (file, line) rather than an odd replay later. (A command reads
    # every line first, with :func:`scan_recording`.)
    check_session_folder(session_dir)
    meta = None
    if playback_board is None:
        # Recordings without a BrainFlow row layout (an LSL inlet: board NO_BOARD) cannot go
        # through BrainFlow's playback board; they are served directly at any speed.
        meta = read_meta(session_dir)
        playback_board = speed == 1.0 and meta.layout.board_id != NO_BOARD_ID
    if playback_board:
        if speed != 1.0:
            raise RecordingError("BrainFlow's playback board replays in real time only (speed 1)")
        from biotrainer.acquisition.factory import open_playback

        if meta is None:
            meta = read_meta(session_dir)
        return open_playback(
            playback_files(session_dir), meta.layout, clock, keep_file_timestamps=True, **options
        )
    return FileSource(session_dir, clock, speed=speed, **options)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RecordingScan:
    """What a replay must deliver, read from every line of a session's raw files.

    Attributes
    ----------
    samples : dict of str to int
        Preset -> samples (complete lines) in its raw file.
    first, last : float
        Earliest and latest sample timestamp over all presets (s).
    notes : tuple of str
        One line per raw file whose timestamps step back (the clock was set back during the
        recording): :meth:`~biotrainer.session.timestamps.TimestampScan.note`, the line
        ``export`` says too.
    """

    samples: dict[str, int]
    first: float
    last: float
    notes: tuple[str, ...]

    @property
    def duration_s(self) -> float:
        """Span of the recorded timestamps (s): how long a real-time replay takes at most."""
        return self.last - self.first


def scan_recording(session_dir: str | os.PathLike[str]) -> RecordingScan:
    """Read every line of a session's raw files before it is replayed.

    A damaged file is refused before the replay starts, with the file and line named; steps
    back of the clock are accepted and said in :attr:`RecordingScan.notes`.

    Raises
    ------
    RecordingError
        Naming the file and line when a raw file is missing or unreadable, a value is not a
        number, a line has the wrong number of values, or a timestamp is not a number or out of
        recording order (:class:`~biotrainer.session.timestamps.TimestampScan`); or when no
        raw file holds a sample.
    """
    folder = Path(session_dir)
    meta = read_meta(folder)
    scans = {
        p.preset: scan_raw(folder / raw_file_name(p.preset), p.num_rows, p.timestamp_row)
        for p in meta.layout.presets
    }
    first = min(s.first for s in scans.values())
    last = max(s.last for s in scans.values())
    if not first <= last:
        raise RecordingError(f"the recording in {folder} holds no samples")
    notes = tuple(n for s in scans.values() if (n := s.note()) is not None)
    return RecordingScan({k: s.lines for k, s in scans.items()}, first, last, notes)
