"""EDF+ export of a recorded session (pyedflib).

One EDF signal per channel of every role in the layout (labelled ``"<ROLE> <name>"``, e.g.
``"EEG AF7"``; physical dimension from the layout's units), 16-bit digital range
-32768..32767, physical range from the data with a 1 % margin (rounded outward to fit EDF's
8-character header fields), so the quantisation step is ``(pmax - pmin) / 65535``. Events of
``events.csv`` become EDF+ annotations; the start date-time is the session's UTC start.

Presets with different rates become signals with their own samples per data record. The data
record duration is the shortest whole number of seconds (1..60) in which every rate has an integer
number of samples; when none exists the record is 1 s and the rate is rounded, which is reported in
:attr:`EdfExport.warnings` (EDF cannot store such a rate exactly).

EDF+C assumes continuous signals from a common start: a preset whose first sample came later than
the earliest one is padded at the front with its first value, and every signal is padded at the
end with its last value up to a whole data record. Gaps inside a recording are not stretched out;
they are marked by the ``gap`` / ``signal_lost`` annotations the recorder wrote.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
import warnings as _warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyedflib

from biotrainer import __version__
from biotrainer.errors import RecordingError
from biotrainer.paths import private_temp_beside, shown
from biotrainer.session.reader import Event, Recording, event_onsets, load_session

DIGITAL_MIN = -32768
DIGITAL_MAX = 32767
#: Fraction of the data range added on both sides of the physical range.
RANGE_MARGIN = 0.01
#: Longest EDF data record tried when looking for integer samples per record (s).
MAX_RECORD_S = 60
#: EDF label and physical-dimension field widths.
LABEL_CHARS = 16
DIMENSION_CHARS = 8


@dataclass(frozen=True)
class EdfSignal:
    """One exported signal.

    Attributes
    ----------
    label : str
    units : str
    fs : float
        Sampling rate written to the file (samples per record / record duration), Hz.
    physical_min, physical_max : float
        Physical range in ``units``; the quantisation step is their difference / 65535.
    """

    label: str
    units: str
    fs: float
    physical_min: float
    physical_max: float

    @property
    def quantisation_step(self) -> float:
        return (self.physical_max - self.physical_min) / (DIGITAL_MAX - DIGITAL_MIN)


@dataclass(frozen=True)
class EdfExport:
    """What :func:`export_edf` wrote.

    Attributes
    ----------
    path : Path
    signals : tuple of EdfSignal
    record_duration_s : int
    n_records : int
    n_annotations : int
    warnings : tuple of str
        Everything the EDF file could not represent exactly.
    """

    path: Path
    signals: tuple[EdfSignal, ...]
    record_duration_s: int
    n_records: int
    n_annotations: int
    warnings: tuple[str, ...]


def record_duration(rates: list[float]) -> tuple[int, bool]:
    """Shortest record duration (s, 1..60) giving integer samples per record for every rate.

    Returns ``(duration, exact)``; ``(1, False)`` when no such duration exists.
    """
    for d in range(1, MAX_RECORD_S + 1):
        if all(abs(fs * d - round(fs * d)) <= 1e-9 * max(1.0, fs * d) for fs in rates):
            return d, True
    return 1, False


def _fit8(x: float, up: bool) -> float:
    """Round ``x`` outward (up or down) to a value whose decimal text fits 8 characters."""
    if not math.isfinite(x) or abs(x) >= 1e8:  # (x * 10**6 would overflow for 1e308)
        raise RecordingError(
            f"a value of {x:g} is too large for EDF's 8-character header; export as CSV instead"
        )
    for decimals in range(6, -1, -1):
        scale = 10.0**decimals
        v = (math.ceil(x * scale) if up else math.floor(x * scale)) / scale
        text = f"{v:.{decimals}f}"
        if len(text) <= 8:
            return float(text)
    raise RecordingError(
        f"a value of {x:g} is too large for EDF's 8-character header; export as CSV instead"
    )


def _no_spaces(text: str) -> str:
    """EDF+ header subfields are ASCII without spaces."""
    return "".join(c if 33 <= ord(c) < 127 else "_" for c in text)[:40]


def physical_range(values: np.ndarray) -> tuple[float, float]:
    """Physical min/max for ``values`` (finite ones), widened by :data:`RANGE_MARGIN`."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        lo, hi = -1.0, 1.0
    else:
        lo, hi = float(finite.min()), float(finite.max())
        # (checked before the margin is added: the message then names the data's own value)
        _fit8(lo, up=False)
        _fit8(hi, up=True)
    span = hi - lo
    if span <= 0:
        span = max(1.0, abs(hi))
    margin = RANGE_MARGIN * span
    pmin, pmax = _fit8(lo - margin, up=False), _fit8(hi + margin, up=True)
    if pmax <= pmin:  # pragma: no cover - guarded by the span above
        pmax = _fit8(pmin + 1.0, up=True)
    return pmin, pmax


def to_digital(x: np.ndarray, pmin: float, pmax: float) -> np.ndarray:
    """EDF's linear physical -> digital mapping, rounded to the nearest level (error <= step/2).

    (edflib's own conversion truncates, which doubles the worst-case error.)
    """
    scale = (DIGITAL_MAX - DIGITAL_MIN) / (pmax - pmin)
    d = np.rint((np.asarray(x, dtype=np.float64) - pmin) * scale + DIGITAL_MIN)
    return np.ascontiguousarray(np.clip(d, DIGITAL_MIN, DIGITAL_MAX).astype(np.int32))


def export_edf(recording: Recording | str | os.PathLike[str], out: str | os.PathLike[str]):
    """Write a session as an EDF+ file.

    Parameters
    ----------
    recording : Recording or path-like
        A loaded recording or a session folder.
    out : path-like
        The ``.edf`` file to write (overwritten; created 0600).

    Returns
    -------
    EdfExport

    Raises
    ------
    RecordingError
        If the session cannot be read, has no exportable channel, or the file cannot be written.
    """
    rec = recording if isinstance(recording, Recording) else load_session(recording)
    out = Path(out)
    layout = rec.layout
    t0 = rec.first_timestamp
    notes: list[str] = []

    # (label, units, fs, data) per channel, presets aligned on t0.
    channels: list[tuple[str, str, float, np.ndarray]] = []
    for g in layout.groups:
        if g.role == "marker":
            continue
        data = rec.raw.get(g.preset)
        if data is None or data.shape[1] == 0:
            continue
        p = layout.preset(g.preset)
        lead = round((float(data[p.timestamp_row, 0]) - t0) * p.fs)
        for row, name in zip(g.rows, g.names, strict=True):
            label = f"{g.role.upper()} {name}".strip()
            if len(label) > LABEL_CHARS:
                notes.append(f"label {label!r} shortened to {label[:LABEL_CHARS]!r}")
                label = label[:LABEL_CHARS]
            x = data[row]
            if lead > 0:
                x = np.concatenate([np.full(lead, x[0]), x])
            channels.append((label, g.units[:DIMENSION_CHARS], p.fs, x))
    if not channels:
        raise RecordingError(f"the recording in {rec.path} has no channel to export")

    rates = sorted({fs for _, _, fs, _ in channels})
    duration, exact = record_duration(rates)
    if not exact:
        notes.append(
            "sampling rates "
            + ", ".join(f"{fs:g}" for fs in rates if fs != round(fs))
            + " Hz cannot be stored exactly in EDF; rounded to whole samples per second"
        )
    spr = [round(fs * duration) for _, _, fs, _ in channels]
    n_records = max(math.ceil(len(x) / s) for (_, _, _, x), s in zip(channels, spr, strict=True))

    signals: list[EdfSignal] = []
    arrays: list[np.ndarray] = []
    headers = []
    for (label, units, _fs, x), s in zip(channels, spr, strict=True):
        try:
            if np.isinf(x).any():
                raise RecordingError(
                    f"a value of {x[np.isinf(x)][0]} is too large for EDF's 8-character header; "
                    "export as CSV instead"
                )
            pmin, pmax = physical_range(x)
        except RecordingError as exc:
            raise RecordingError(f"{label}: {exc}") from exc
        bad = np.isnan(x)
        if bad.any():
            notes.append(f"{label}: {int(bad.sum())} samples that are not numbers written as 0")
            x = np.nan_to_num(x, nan=min(max(0.0, pmin), pmax))
        total = n_records * s
        if len(x) < total:
            x = np.concatenate([x, np.full(total - len(x), x[-1])])
        arrays.append(to_digital(x, pmin, pmax))
        fs_written = s / duration
        signals.append(EdfSignal(label, units, fs_written, pmin, pmax))
        headers.append(
            {
                "label": label,
                "dimension": units,
                "sample_frequency": fs_written,
                "physical_min": pmin,
                "physical_max": pmax,
                "digital_min": DIGITAL_MIN,
                "digital_max": DIGITAL_MAX,
                "transducer": "",
                "prefilter": "",
            }
        )

    start = rec.meta.start_utc.astimezone(UTC).replace(tzinfo=None)
    annotations = event_onsets(rec)
    equipment = _no_spaces(f"{rec.meta.device}_BrainFlow_board_{layout.board_id}")
    # Written to a temporary file next to ``out`` and renamed: a failed export leaves no partial
    # file and keeps an older ``out``. (It also lets ``out`` have a non-UTF-8 name: pyedflib
    # takes only UTF-8 paths.)
    tmp = _temporary_file(out)
    try:
        _write_edf(tmp, headers, duration, start, equipment, arrays, annotations)
        if not _edf_complete(tmp, n_records):
            raise OSError(errno.EIO, "the file came out incomplete (disk full?)")
        os.replace(tmp, out)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if not isinstance(exc, Exception):
            raise
        needed = 256 * (len(headers) + 2) + n_records * 2 * sum(spr)
        raise _write_error(out, exc, needed) from exc
    return EdfExport(out, tuple(signals), duration, n_records, len(annotations), tuple(notes))


def _temporary_file(out: Path) -> Path:
    """A new private (0600) empty file next to ``out`` with a name pyedflib can open."""
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise RecordingError(f"cannot write {shown(out)}: {shown(parent)} is a file, not a folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecordingError(f"cannot write {shown(out)}: {exc.strerror or exc}") from exc
    return private_temp_beside(out, ".edf.part")


def _write_edf(
    path: Path,
    headers: list[dict],
    duration: int,
    start: datetime,
    equipment: str,
    arrays: list[np.ndarray],
    annotations: list[tuple[float, Event]],
) -> None:
    """Write the EDF+ file with pyedflib (any error propagates)."""
    writer = pyedflib.EdfWriter(str(path), len(headers), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            writer.setSignalHeaders(headers)
            writer.setDatarecordDuration(duration)
        writer.setStartdatetime(start)
        writer.setEquipment(equipment)
        writer.setRecordingAdditional(f"biotrainer_{__version__}")
        writer.writeSamples(arrays, digital=True)
        for onset, e in annotations:
            text = f"{e.kind}: {e.text}" if e.text else e.kind
            writer.writeAnnotation(onset, -1, text)
    finally:
        writer.close()


def _edf_complete(path: Path, n_records: int) -> bool:
    """True when the EDF header says ``n_records`` records and the file holds all of them.

    edflib does not report every failed write (the last buffered bytes are written when the
    file is closed), so the size is checked against the header.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(256)
            header_bytes, records, ns = int(head[184:192]), int(head[236:244]), int(head[252:256])
            f.seek(256 + ns * 216)  # samples per record of each signal
            spr = [int(f.read(8)) for _ in range(ns)]
        size = os.path.getsize(path)
    except (OSError, ValueError):
        return False
    return records == n_records and size == header_bytes + records * 2 * sum(spr)


def _write_error(out: Path, exc: BaseException, needed: int) -> RecordingError:
    """The message for a failed EDF write: a full disk said as such, else the reason."""
    try:
        free = shutil.disk_usage(out.parent).free
    except OSError:
        free = None
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or (
        free is not None and free < needed
    ):
        room = (
            ""
            if free is None
            else f" (about {needed // 1024 + 1} KiB needed, {free // 1024} KiB free)"
        )
        return RecordingError(f"could not write {shown(out)}: the disk is full{room}")
    if isinstance(exc, RecordingError):
        return exc
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return RecordingError(f"could not write {shown(out)}: {reason}")
