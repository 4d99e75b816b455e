"""CSV export of a session's metric time series (for spreadsheets and statistics)."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

from biotrainer.errors import BiotrainerError
from biotrainer.paths import FILE_MODE, check_output_file, private_temp_beside, shown
from biotrainer.session.analysis import MetricSeries, read_metrics
from biotrainer.session.folder import raw_file_name, read_meta
from biotrainer.session.rawfile import first_timestamp

#: Exported columns. Absolute times (BrainFlow timestamps) are left out, so the file carries no
#: date: ``session_s`` is protocol time (it stands still while paused or while the signal is
#: lost), ``recording_s`` the time of the update's newest sample from the recording's first
#: sample (the EDF export's time 0; its time axis, until a gap it closes up). ``feedback_z``
#: is the feedback against the person's baseline, the figure the progress views compare
#: sessions by.
EXPORT_COLUMNS = (
    "session_s",
    "recording_s",
    "phase_index",
    "phase_name",
    "phase_kind",
    "paused",
    "feedback_value",
    "feedback_z",
    "feedback_score",
    "rewarded",
    "threshold_z",
    "reward_rate",
    "relaxation",
    "alpha",
    "hr_bpm",
    "rmssd_ms",
    "coherence",
    "breathing_bpm",
    "breathing_source",
    "heart_irregular",
    "pacer_bpm",
    "quality_ok",
    "quality_reason",
    "source_state",
)
_INTEGER = {"phase_index", "paused", "rewarded", "quality_ok", "heart_irregular"}


def _cell(name: str, value: object) -> object:
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        if name in _INTEGER:
            return int(value)
        return str(round(value, 6))
    return value


def recording_start(folder: str | os.PathLike[str]) -> float:
    """The timestamp of the recording's first sample, of any preset (NaN when the folder's
    ``session.json`` or raw files cannot tell: ``recording_s`` is then left empty)."""
    try:
        layout = read_meta(folder).layout
        firsts = [
            first_timestamp(Path(folder) / raw_file_name(p.preset), p.timestamp_row)
            for p in layout.presets
            if (Path(folder) / raw_file_name(p.preset)).exists()
        ]
    except BiotrainerError:
        return math.nan
    first = min(firsts, default=math.inf)
    return first if math.isfinite(first) else math.nan


def export_metrics_csv(
    folder: str | os.PathLike[str], out: str | os.PathLike[str], series: MetricSeries | None = None
) -> int:
    """Write the metric time series of a session folder to ``out`` (0600); returns the rows.

    Columns are :data:`EXPORT_COLUMNS` (empty cell = not available).

    Raises
    ------
    RecordingError
        If ``metrics.csv`` cannot be read.
    BiotrainerError
        If ``out`` cannot be written (nothing is then left under its name), or is not a file an
        export may replace (a folder, a pipe, a device, a link to one or to nothing:
        :func:`~biotrainer.paths.check_output_file`).
    """
    path = Path(out)
    target = check_output_file(path)  # (a link to a file: that file is written, the link kept)
    s = series if series is not None else read_metrics(folder)
    recording_s = s["sample_time"] - recording_start(folder)
    # Written to a private temporary file next to ``target`` and renamed when complete (as the
    # PDF reports are): a failed write (a full disk) leaves no truncated CSV under the name
    # asked for. (A folder whose name is not UTF-8 is fine here: Python takes any name.)
    tmp = None
    try:
        tmp = private_temp_beside(target, ".csv.part", utf8_name=False)
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(EXPORT_COLUMNS)
            cols = [recording_s if c == "recording_s" else s[c] for c in EXPORT_COLUMNS]
            for i in range(len(s)):
                w.writerow([_cell(n, c[i]) for n, c in zip(EXPORT_COLUMNS, cols, strict=True)])
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)
    except OSError as exc:
        raise BiotrainerError(f"cannot write {shown(path)}: {exc.strerror or exc}") from exc
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    return len(s)
