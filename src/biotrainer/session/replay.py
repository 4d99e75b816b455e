"""Open a recorded session as a live source (real time through BrainFlow, or fast from the file)."""

from __future__ import annotations

import os
from pathlib import Path

from brainflow.board_shim import BoardIds

from biotrainer.acquisition.file_source import FileSource
from biotrainer.acquisition.source import Source
from biotrainer.clock import Clock
from biotrainer.errors import RecordingError
from biotrainer.session.folder import raw_file_name, read_meta
from biotrainer.session.rawfile import first_timestamp, last_timestamp


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
    RecordingError, DeviceError
    """
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
        If no raw file holds a complete line.
    """
    folder = Path(session_dir)
    meta = read_meta(folder)
    firsts, lasts = [], []
    for p in meta.layout.presets:
        path = folder / raw_file_name(p.preset)
        if path.is_file():
            firsts.append(first_timestamp(path, p.timestamp_row))
            lasts.append(last_timestamp(path, p.timestamp_row))
    first, last = min(firsts, default=float("inf")), max(lasts, default=float("-inf"))
    if not first <= last:
        raise RecordingError(f"the recording in {folder} holds no samples")
    return first, last


def complete_lines(session_dir: str | os.PathLike[str]) -> dict[str, int]:
    """Preset -> samples (complete lines) in each raw file: what a replay must deliver."""
    folder = Path(session_dir)
    meta = read_meta(folder)
    counts: dict[str, int] = {}
    for p in meta.layout.presets:
        n = 0
        try:
            with open(folder / raw_file_name(p.preset), "rb") as f:
                while block := f.read(1 << 20):
                    n += block.count(b"\n")
        except OSError as exc:
            raise RecordingError(f"cannot read {folder / raw_file_name(p.preset)}: {exc}") from exc
        counts[p.preset] = n
    return counts
