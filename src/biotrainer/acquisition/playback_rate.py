"""Is a playback file at the sampling rate of the board it is played as?

BrainFlow's playback board paces a file by its own timestamps (it sleeps for the step from one
line's timestamp to the next; checked with BrainFlow 5.23: a 220 Hz file played as a 256 Hz
board delivers 220 samples a second) and the samples are then taken at the master board's
nominal rate. A file recorded at another rate would therefore be read wrongly without a word:
every filter, the heart rate, RMSSD, breathing rate and the EEG bands scaled by the ratio of the
two rates (a 220 Hz file read as 256 Hz gives heart rates 16 % high).

The rate is estimated from a bounded head of the file (:data:`HEAD_LINES` lines, at most
:data:`HEAD_BYTES` bytes) so that a long recording is not read whole. Single steps between
timestamps are not reliable: BrainFlow stamps samples when the host receives them, so a serial
board delivering a few samples per USB transfer has near-zero steps followed by a long one, and a
Bluetooth board spreads the time between two packets over the samples of the second. The
estimate is therefore the median, over windows of about :data:`WINDOW_S` seconds of samples, of
the time per sample in the window: bursts average out within a window, and the windows holding a
gap (a pause, the clock set back) are outvoted by the others. Samples lost throughout a file
make it look slower than it was recorded, hence the wider margin below the board's rate
(:data:`MAX_SLOWER`) than above it (:data:`MAX_FASTER`).

A file without usable timestamps (all zero, constant, or not increasing in most windows) is
played by BrainFlow as fast as it can read it, whatever its rate; it is not refused here.

A file stamped in Unix milliseconds or microseconds (a Crown's recording written by BrainFlow
itself: the Crown passes on the headset's clock) is judged on its timestamps scaled to seconds,
as a live board's are. BrainFlow's playback board waits the step between two lines as seconds
(checked with BrainFlow 5.23: a 256 Hz Crown file in milliseconds gave one sample in 3 s), so
such a file is played from a private copy whose timestamps are seconds
(:mod:`biotrainer.acquisition.playback_copy`); the original is never changed.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from biotrainer.errors import DeviceError

#: Lines of a file read to estimate its rate (a few thousand: tens of seconds at most rates).
HEAD_LINES = 8192

#: Bytes of a file read at most to estimate its rate.
HEAD_BYTES = 4 << 20

#: Longest line BrainFlow's playback board reads whole (its ``fgets`` buffer); longer ones it
#: reads in pieces and skips.
MAX_LINE_BYTES = 8191

#: Seconds of samples (at the board's rate) per window of the estimate.
WINDOW_S = 2.0

#: Fewest seconds of samples (at the board's rate) the head must hold to be judged: in less,
#: the host's timestamp jitter could weigh too much.
MIN_SECONDS = 1.0

#: Largest fraction by which a file's rate may exceed the board's before the file is refused.
#: A recording made with the right board shows its rate to a fraction of a percent (the host's
#: timestamp jitter is averaged out), but a board's real rate may stray from the nominal one
#: BrainFlow gives it, and refusing a good recording has no way round. 5 % is below the gap
#: between the rates of boards that get confused (125, 200, 220, 250, 256, 500, 1000 Hz...),
#: except the 2.3 % of 250/256 Hz (125/128, 500/512), which is let through: the derived rates
#: are then a few percent off.
MAX_FASTER = 0.05

#: Largest fraction by which a file's rate may fall short of the board's before it is refused.
#: Lost samples make a file look slower (its timestamps span the time of the samples that are
#: missing too: a Muse losing 5 % of its Bluetooth packets throughout looks 4 % slow), so a
#: recording with some loss gets twice the room; a 220 Hz file read as 256 Hz (14 % slow) is
#: still refused.
MAX_SLOWER = 0.10


def read_head_timestamps(path: Path, num_rows: int, timestamp_row: int) -> np.ndarray:
    """Timestamps of the first lines of a BrainFlow file that its playback board plays.

    Lines are split as BrainFlow's playback board splits them (at tabs, at commas when a line
    has no tab); those without ``num_rows`` fields, longer than :data:`MAX_LINE_BYTES`, holding a
    NUL byte or whose timestamp is not a number are left out (BrainFlow skips the first three).

    Parameters
    ----------
    path : Path
    num_rows : int
        Fields per line (the master board's rows of the preset).
    timestamp_row : int
        Field holding the timestamp.

    Returns
    -------
    np.ndarray
        The timestamps (seconds) of at most :data:`HEAD_LINES` lines.

    Raises
    ------
    OSError
        The file cannot be read.
    """
    stamps: list[float] = []
    read = 0
    with path.open("rb") as fh:
        while len(stamps) < HEAD_LINES and read < HEAD_BYTES:
            line = fh.readline(MAX_LINE_BYTES + 1)
            if not line:
                break
            read += len(line)
            if not line.endswith(b"\n") and len(line) > MAX_LINE_BYTES:
                _skip_rest_of_line(fh)
                continue
            value = _timestamp_of(line, num_rows, timestamp_row)
            if value is not None:
                stamps.append(value)
    return np.asarray(stamps, dtype=np.float64)


def _skip_rest_of_line(fh) -> None:
    while True:
        piece = fh.readline(1 << 16)
        if not piece or piece.endswith(b"\n"):
            return


def _timestamp_of(line: bytes, num_rows: int, timestamp_row: int) -> float | None:
    """The timestamp field of one line, or None for a line BrainFlow skips or a non-number."""
    if b"\0" in line:
        return None
    line = line.rstrip(b"\n")
    fields = line.split(b"\t" if b"\t" in line else b",")
    if fields and fields[-1] == b"":  # "...\t\n": BrainFlow drops the last, empty field
        fields.pop()
    if len(fields) != num_rows:
        return None
    try:
        value = float(fields[timestamp_row])
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def estimate_rate(timestamps: np.ndarray, nominal_fs: float) -> float | None:
    """Samples per second the timestamps show, or None when they cannot tell.

    Parameters
    ----------
    timestamps : np.ndarray
        Consecutive sample timestamps (seconds).
    nominal_fs : float
        The rate the board is expected to have (sets the window, about :data:`WINDOW_S`
        seconds of samples at that rate, and the least number of samples judged).

    Returns
    -------
    float or None
        The median over windows of samples per second; None when there are fewer than
        :data:`MIN_SECONDS` seconds of samples or when most windows have no positive span
        (timestamps missing, zero or constant).
    """
    t = np.asarray(timestamps, dtype=np.float64)
    if t.size - 1 < max(1, math.ceil(MIN_SECONDS * nominal_fs)):
        return None
    k = int(min(t.size - 1, max(1, round(WINDOW_S * nominal_fs))))
    start, end = t[:-k], t[k:]
    per_sample = (end - start) / k
    usable = (start > 0) & (per_sample > 0)
    if np.count_nonzero(usable) * 2 <= per_sample.size:
        return None
    return float(1.0 / np.median(per_sample[usable]))


def check_playback_rate(
    path: Path,
    num_rows: int,
    timestamp_row: int,
    nominal_fs: float,
    board: str,
    advice: str,
) -> float:
    """Refuse a playback file whose timestamps give another rate than its board's.

    Parameters
    ----------
    path : Path
        The file (already checked to be a readable BrainFlow file of ``num_rows`` columns).
    num_rows, timestamp_row : int
        The master board's rows of the file's preset and its timestamp row.
    nominal_fs : float
        The master board's sampling rate of that preset (Hz).
    board : str
        The board (and preset) as the message names them (e.g. ``"MUSE_2_BOARD"`` or
        ``"the auxiliary preset of MUSE_2_BOARD"``).
    advice : str
        What to do, ending the message (e.g. ``"choose the board ... (--master-board)"``).

    Returns
    -------
    float
        What the file's timestamps are multiplied by to be seconds (:func:`file_timestamp_scale`:
        1e-3 for Unix milliseconds, 1e-6 for microseconds, else 1); the rate is judged on the
        timestamps so scaled.

    Raises
    ------
    DeviceError
        When the rate is more than :data:`MAX_FASTER` above ``nominal_fs`` or more than
        :data:`MAX_SLOWER` below it; naming the file, both rates, the board and ``advice``.
    OSError
        The file cannot be read.
    """
    stamps = read_head_timestamps(path, num_rows, timestamp_row)
    scale = file_timestamp_scale(stamps)
    rate = estimate_rate(stamps * scale, nominal_fs)
    off = rate_misread(rate, nominal_fs)
    if off is not None:
        raise DeviceError(
            f"the playback file {path} was recorded at {_hz(rate)} Hz (by its timestamps), but "
            f"{board} samples at {_hz(nominal_fs)} Hz: played as that board its heart rate, "
            f"breathing rate and EEG bands would read {off}; {advice}"
        )
    return scale


def playback_file_scale(path: Path, num_rows: int, timestamp_row: int) -> float:
    """What the timestamps of a playback file are multiplied by to be seconds, judged on its
    first lines (:func:`read_head_timestamps`, :func:`file_timestamp_scale`).

    Raises
    ------
    OSError
        The file cannot be read.
    """
    return file_timestamp_scale(read_head_timestamps(path, num_rows, timestamp_row))


def file_timestamp_scale(timestamps: np.ndarray) -> float:
    """What a file's timestamps are multiplied by to be seconds, judged as a live board's are
    (:func:`~biotrainer.acquisition.brainflow_source.typical_timestamp`): 1e-3 for Unix
    milliseconds, 1e-6 for microseconds, else 1.

    Parameters
    ----------
    timestamps : np.ndarray
        The file's first timestamps (:func:`read_head_timestamps`: finite ones).
    """
    # (imported here: brainflow_source imports this module)
    from biotrainer.acquisition.brainflow_source import timestamp_scale, typical_timestamp

    typical = typical_timestamp(timestamps)
    return 1.0 if typical is None else timestamp_scale(typical)


def rate_misread(rate: float | None, nominal_fs: float) -> str | None:
    """How far rates derived from samples taken at ``nominal_fs`` would be off when they come
    at ``rate`` ("16 % high"), or None when ``rate`` is within :data:`MAX_FASTER` above and
    :data:`MAX_SLOWER` below ``nominal_fs`` (or unknown: None)."""
    if rate is None or (1.0 - MAX_SLOWER) * nominal_fs <= rate <= (1.0 + MAX_FASTER) * nominal_fs:
        return None
    scale = nominal_fs / rate  # what reading the samples at nominal_fs multiplies rates by
    return f"{abs(scale - 1.0) * 100:.0f} % {'high' if scale > 1 else 'low'}"


def _hz(value: float) -> str:
    """A rate as a message shows it: whole hertz, or three digits below 10 Hz."""
    return f"{value:.0f}" if value >= 10 else f"{value:.3g}"
