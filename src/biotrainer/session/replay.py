"""Open a recorded session as a live source (real time through BrainFlow, or fast from the file)."""

from __future__ import annotations

import math
import os
from pathlib import Path

from brainflow.board_shim import BoardIds

from biotrainer.acquisition.file_source import FileSource
from biotrainer.acquisition.source import Source
from biotrainer.clock import Clock
from biotrainer.errors import RecordingError
from biotrainer.session.folder import raw_file_name, read_meta
from biotrainer.session.rawfile import RawBlockReader, first_timestamp, last_timestamp
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
        (:func:`~biotrainer.session.reader.check_session_folder`), or it holds no samples or
        its first or last timestamps are not numbers in recording order
        (:func:`recorded_span`).
    DeviceError
    """
    # A specific message now (file, line) rather than an odd replay later.
    check_session_folder(session_dir)
    recorded_span(session_dir)
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


def recorded_span(session_dir: str | os.PathLike[str]) -> tuple[float, float]:
    """(first, last) sample timestamp of a session over all presets, read from the file ends.

    Raises
    ------
    RecordingError
        If no raw file holds a complete line, or a file's first or last timestamp is not a
        number or its last is earlier than its first.
    """
    folder = Path(session_dir)
    meta = read_meta(folder)
    firsts, lasts = [], []
    for p in meta.layout.presets:
        path = folder / raw_file_name(p.preset)
        if path.is_file():
            first = first_timestamp(path, p.timestamp_row)
            last = last_timestamp(path, p.timestamp_row)
            if math.isnan(first) or math.isnan(last):
                raise RecordingError(
                    f"{path} is corrupt: its {'first' if math.isnan(first) else 'last'} "
                    "timestamp is not a number"
                )
            if math.isfinite(first) and math.isfinite(last) and last < first:
                raise RecordingError(
                    f"{path} is corrupt: its timestamps are not increasing (the last line is "
                    f"{first - last:.3f} s earlier than the first)"
                )
            firsts.append(first)
            lasts.append(last)
    first, last = min(firsts, default=float("inf")), max(lasts, default=float("-inf"))
    if not first <= last:
        raise RecordingError(f"the recording in {folder} holds no samples")
    return first, last


def complete_lines(session_dir: str | os.PathLike[str]) -> dict[str, int]:
    """Preset -> samples (complete lines) in each raw file: what a replay must deliver.

    Every line is parsed on the way, so a damaged file is refused before a replay starts.

    Raises
    ------
    RecordingError
        Naming the file and line when a raw file is missing or unreadable, a value is not a
        number, a line has the wrong number of values, or a timestamp is not a number or out of
        recording order (:func:`~biotrainer.session.rawfile.check_timestamps`).
    """
    folder = Path(session_dir)
    meta = read_meta(folder)
    counts: dict[str, int] = {}
    for p in meta.layout.presets:
        path = folder / raw_file_name(p.preset)
        reader = RawBlockReader(path, p.num_rows, 1 << 14, timestamp_row=p.timestamp_row)
        n = 0
        try:
            while k := reader.read_block().shape[1]:
                n += k
        finally:
            reader.close()
        counts[p.preset] = n
    return counts
