"""EDF+ export of a recorded session (pyedflib).

One EDF signal per channel of every role in the layout (labelled ``"<ROLE> <name>"``, e.g.
``"EEG AF7"``; physical dimension from the layout's units), 16-bit digital range
-32768..32767, physical range from the data with a 1 % margin (rounded outward to fit EDF's
8-character header fields), so the quantisation step is ``(pmax - pmin) / 65535``. A few wild
values (a glitch of 10^7 µV in an EEG channel, an infinity) would make that step coarser than the
signal itself, or too large for the header: the range then stops well beyond the bulk of the
samples (:func:`physical_range`) and the wild values are written at its edge, with a note. Events of
``events.csv`` become EDF+ annotations; the start date-time is the first sample's, in UTC
(:func:`edf_start`).

Presets with different rates become signals with their own samples per data record. The data
record duration is the shortest whole number of seconds (1..60) in which every rate has an integer
number of samples; when none exists the record is 1 s and the rate is rounded, which is reported in
:attr:`EdfExport.warnings` (EDF cannot store such a rate exactly).

EDF+C assumes continuous signals from a common start: a preset whose first sample came later than
the earliest one is padded at the front with its first value, and every signal is padded at the
end with its last value up to a whole data record. These padded stretches hold no recorded
data, and the file says so: each is an EDF+ annotation ``"padding (no data): <ROLES>"`` with its
onset and duration (:func:`padding_annotations`; signals padded over the same stretch share one).
Gaps inside a recording are not stretched out: the samples after a gap follow the ones before
it, so the file is shorter than the session by the gaps' length. Every annotation is placed on
the file's own time axis (where its moment falls between the samples), so markers, phases and
notes after a gap still line up with the signal; the ``gap`` / ``signal_lost`` annotations the
recorder wrote mark where the gaps were closed up.

The time axis is the main preset's (the one with most samples). The other presets are put on it
(:func:`place_on_main`): a sample at raw time *t* belongs beside the main preset's samples of that
time (:func:`main_axis`: *t* minus the gap time closed up before it, at the rate the main preset's
timestamps give, so that a device clock running off nominal does not part the presets after a
gap); each stretch of a preset without a gap of its own (none longer than the recorder's gap
threshold, :data:`~biotrainer.limits.GAP_THRESHOLD_S`) is laid out sample after sample from the
slot of its first sample, as the main preset's samples are. Where a preset has no samples (its
stream stalled while the main one went on) its signal holds the last value before, with a note;
its samples that fall in a gap of the main preset have no place in the file and are left out,
with a note. Samples a preset lost on the way, where its packet numbers say so
(:func:`counted_losses`: a Bluetooth headset's lost packets leave no step in the timestamps),
take their slots all the same, holding the last value before them, so that neither the main
preset's time axis nor another preset's place on it runs behind by them.

What EDF+ or edflib cannot hold is worked around, or said in :attr:`EdfExport.warnings`:
annotation texts longer than edflib's 40 bytes are split over consecutive annotations at the same
moment; there is room for every annotation (extra annotation signals, up to edflib's 64 a
record); the sub-second start time is written in edflib's units (pyedflib 0.1.42 writes it ten
times too large, or drops it), and each annotation's onset so that it reads back at its moment to
the 100 µs, never before the file's start (:func:`edflib_onset`: edflib cuts the start's
sub-100 µs part off annotation onsets, which put an event at the first sample 7 µs to 99 µs
before it); the physical ranges are passed so that edflib's 8-character
header text is the value the samples were scaled with; labels are written in printable ASCII
(a sender's non-ASCII channel names come out as ``"_"``) and those longer than 16 characters are
shortened, so that no two are the same.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
import unicodedata
import warnings as _warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyedflib
from pyedflib.edfwriter import set_starttime_subsecond as _set_subsecond_start

from biotrainer import __version__
from biotrainer.acquisition.counter import SourceLosses, percent
from biotrainer.errors import RecordingError
from biotrainer.limits import GAP_THRESHOLD_S
from biotrainer.paths import check_output_file, nearest_existing, private_temp_beside, shown
from biotrainer.session.folder import raw_file_name
from biotrainer.session.reader import Event, Recording, load_session

DIGITAL_MIN = -32768
DIGITAL_MAX = 32767
#: Fraction of the data range added on both sides of the physical range.
RANGE_MARGIN = 0.01
#: Share of a channel's samples at each end that may lie outside the span its range is built
#: around (glitches), and how many such spans beyond it the range may reach.
OUTLIER_SHARE = 0.0005
OUTLIER_REACH = 10.0
#: Longest EDF data record tried when looking for integer samples per record (s).
MAX_RECORD_S = 60
#: EDF label and physical-dimension field widths.
LABEL_CHARS = 16
DIMENSION_CHARS = 8
#: Longest annotation text edflib writes (bytes of UTF-8); longer texts are split.
ANNOTATION_BYTES = 40
#: Most annotation signals edflib allows (each holds one annotation per data record).
MAX_ANNOTATION_SIGNALS = 64
#: Characters of equipment + recording-additional text edflib keeps in the header.
RECORDING_TEXT_CHARS = 39
#: Shortest stretch without samples of a preset that the notes mention (s): at a reconnect the
#: presets resume a packet or two apart, and the slots between are filled without a word.
QUIET_HOLE_S = 0.25
#: Holes of one preset listed one by one in its note; more are summed up.
LISTED_HOLES = 3
#: Text of the annotations over a padded stretch (followed by the roles padded there).
PADDING_TEXT = "padding (no data)"
#: Marks the second and later pieces of a split annotation text.
CONTINUED = "…"
#: What to do with a session EDF cannot hold.
TOO_LARGE_HINT = "the session folder's raw files keep every value, in BrainFlow's CSV format"


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
            f"a value of {x:g} is too large for EDF's 8-character header ({TOO_LARGE_HINT})"
        )
    for decimals in range(6, -1, -1):
        scale = 10.0**decimals
        v = (math.ceil(x * scale) if up else math.floor(x * scale)) / scale
        text = f"{v:.{decimals}f}"
        if len(text) <= 8:
            return float(text)
    raise RecordingError(
        f"a value of {x:g} is too large for EDF's 8-character header ({TOO_LARGE_HINT})"
    )


def split_annotation(text: str, limit: int = ANNOTATION_BYTES) -> list[str]:
    """``text`` in pieces of at most ``limit`` bytes of UTF-8, cut between characters (at a space
    where one is near); the second and later pieces start with :data:`CONTINUED`."""
    pieces: list[str] = []
    rest = text
    while len(((CONTINUED if pieces else "") + rest).encode("utf-8")) > limit:
        room = limit - (len(CONTINUED.encode("utf-8")) if pieces else 0)
        cut = 0
        used = 0
        for i, ch in enumerate(rest):
            used += len(ch.encode("utf-8"))
            if used > room:
                break
            cut = i + 1
        space = rest.rfind(" ", 0, cut)
        if space > cut * 2 // 3:
            cut = space + 1
        pieces.append((CONTINUED if pieces else "") + rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not pieces:
        pieces.append((CONTINUED if pieces else "") + rest)
    return pieces


def annotation_text(text: str) -> str:
    """``text`` with its control characters but tab, line feed and carriage return written as
    "\ufffd": EDF+ separates annotations with some (a 0x14 split a note in two, a 0x15 made
    edflib refuse the whole file, a NUL cut the text short)."""
    if text.isprintable():
        return text
    return "".join(
        "\ufffd" if unicodedata.category(c) == "Cc" and c not in "\t\n\r" else c for c in text
    )


def ascii_label(text: str) -> str:
    """``text`` in EDF's printable ASCII: accents dropped (``"é"`` -> ``"e"``), every other
    character outside ASCII 32..126 written as ``"_"``."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "".join(c if 32 <= ord(c) < 127 else "_" for c in plain)


def unique_labels(labels: list[str]) -> tuple[list[str], list[str]]:
    """Labels of at most :data:`LABEL_CHARS` printable ASCII characters (:func:`ascii_label`), no
    two the same, and notes naming every label that had to change. A long label keeps its start
    and its end (``"EEG Ele~TP9-left"``), where names usually differ."""
    head = LABEL_CHARS // 2 - 1
    tail = LABEL_CHARS - head - 1
    out: list[str] = []
    notes: list[str] = []
    for label in labels:
        plain = ascii_label(label)
        short = plain if len(plain) <= LABEL_CHARS else f"{plain[:head]}~{plain[-tail:]}"
        base, n = short, 1
        while short in out:
            n += 1
            suffix = f"~{n}"
            short = base[: LABEL_CHARS - len(suffix)] + suffix
        if short != label:
            why = "16 characters of ASCII" if plain != label else "16 characters"
            notes.append(f"label {label!r} written as {short!r} (EDF labels have {why})")
        out.append(short)
    return out, notes


def header_value(x: float) -> float:
    """``x`` nudged a few units in the last place away from zero: edflib writes the header's
    physical range by cutting the binary value's decimal digits, which turns 20164.8 (stored as
    20164.7999...) into "20164.79"; nudged, its text is the value the samples were scaled with."""
    for _ in range(4):
        x = math.nextafter(x, math.copysign(math.inf, x)) if x != 0 else x
    return x


def edflib_onset(onset_s: float, subsecond_100ns: int) -> float:
    """The onset to hand pyedflib so that an annotation reads back at ``onset_s`` (to the 100
    µs, never before 0 when ``onset_s`` >= 0) in a file starting ``subsecond_100ns`` (100 ns
    units) after its whole second.

    edflib writes an annotation at ``n`` (100 µs units) as the start's fraction plus ``n``
    cut to 100 µs, and readers take the start's full fraction off: it reads back ``r`` earlier,
    ``r`` the fraction's part below 100 µs. The ``n`` nearest ``onset_s + r`` (at least 1 when
    ``r`` > 0) reads back nearest ``onset_s``.

    Parameters
    ----------
    onset_s : float
        Seconds from the file's start (>= 0).
    subsecond_100ns : int
        The start's fraction of a second given to edflib, in 100 ns.

    Returns
    -------
    float
        A whole number of 100 µs, in seconds.
    """
    below = subsecond_100ns % 1000  # (100 ns units; edflib keeps onsets in 100 µs = 1000 of them)
    n = round((onset_s * 10_000_000 + below) / 1000)
    return max(n, 1 if below else 0) / 10_000


def edf_onsets(
    rec: Recording,
    preset: str,
    lead: int,
    fs_written: float | None = None,
    lost: np.ndarray | None = None,
) -> list[tuple[float, Event]]:
    """Events with their onset on the EDF's time axis (s from its start).

    The EDF's samples follow each other without the recording's gaps, so an event's moment is
    placed where it falls between the samples of ``preset`` (``lead``: the samples padded in
    front of it; ``fs_written``: the rate they are written at, when EDF could not hold the
    preset's own; ``lost``: the samples lost before each, :func:`counted_losses`); events
    without a time are at 0.
    """
    p = rec.layout.preset(preset)
    ts = rec.raw[preset][p.timestamp_row]
    edf_t = (lead + sample_slots(ts.size, lost)) / (fs_written or p.fs)
    t0 = rec.first_timestamp
    out = []
    for e in rec.events:
        if math.isnan(e.time):
            onset = 0.0
        elif e.time <= ts[0]:
            onset = max(0.0, e.time - t0)
        elif e.time >= ts[-1]:
            onset = edf_t[-1] + (e.time - ts[-1])
        else:
            onset = float(np.interp(e.time, ts, edf_t))
        out.append((onset, e))
    return out


#: Timestamps this close (s) to the wall-clock time the recorder opened are wall-clock time
#: (BrainFlow stamps samples in Unix seconds): the file then starts at the first sample's.
WALL_CLOCK_SLACK_S = 86_400.0
#: Timestamps below this (s) count from a machine's boot (an LSL stream's clock), not from 1970.
SINCE_BOOT_BELOW_S = 946_684_800.0  # (2000-01-01 in Unix seconds)


def edf_start(rec: Recording) -> tuple[datetime, str | None]:
    """The file's start (UTC, naive, to the microsecond): the moment of its first sample (EDF
    time 0), and a note when that moment is not known.

    A recording whose timestamps are wall-clock time (BrainFlow's Unix seconds, within
    :data:`WALL_CLOCK_SLACK_S` of the recorder's opening) starts at its first sample. Other
    timestamps start at the recorder's opening: a replayed or simulated recording's keep another
    day's times (the session is the replay's), and an LSL stream's count from the machine's boot
    (its first sample came a little after the opening: said in the note).
    """
    opened = rec.meta.start_utc.astimezone(UTC)
    t0 = rec.first_timestamp
    if math.isfinite(t0) and abs(t0 - opened.timestamp()) <= WALL_CLOCK_SLACK_S:
        return datetime.fromtimestamp(t0, UTC).replace(tzinfo=None), None
    note = None
    if math.isfinite(t0) and t0 < SINCE_BOOT_BELOW_S:
        note = (
            "the recording's timestamps are not wall-clock time (an LSL stream's clock): the "
            "file starts when recording began, a little before its first sample (the stream's "
            "own start-up)"
        )
    return opened.replace(tzinfo=None), note


def gap_note(rec: Recording, preset: str) -> str | None:
    """A note on the gaps the EDF closes up (None when the recording has none)."""
    p = rec.layout.preset(preset)
    steps = np.diff(rec.raw[preset][p.timestamp_row])
    gaps = steps[steps > GAP_THRESHOLD_S] - 1.0 / p.fs
    if gaps.size == 0:
        return None
    return (
        f"the recording has {gaps.size} gap(s), {float(gaps.sum()):.1f} s in all: EDF+C signals "
        "are continuous, so the samples after a gap follow the ones before it (the file is "
        "shorter than the session by that much); annotations are placed on the file's time axis "
        "and the gaps are marked"
    )


@dataclass(frozen=True)
class Placement:
    """Where the samples of one preset go on the EDF's time axis.

    Attributes
    ----------
    source : ndarray of int
        For every slot of the signal (from the EDF's start), the index of the raw sample written
        there: slots before the first sample hold the first one, slots without a sample of their
        own the last one before them.
    holes : ndarray of int, shape (n, 2)
        First slot and length (slots) of every stretch without samples of the preset's own.
    in_gap : int
        Samples left out because they fall in a gap of the main preset, which the EDF closes up.
    overlapped : int
        Samples left out because the slots of their run were already held by the run before
        (after a gap, when that run came out longer at the nominal rate than its time).
    first_slot : int
        Slot of the first sample written: the slots before it are padding (copies of it).
    lost : ndarray of int, shape (n, 2)
        First slot and length (slots) of every stretch of samples the device lost on the way
        (held at the last value before; not among ``holes``).
    """

    source: np.ndarray
    holes: np.ndarray
    in_gap: int
    overlapped: int = 0
    first_slot: int = 0
    lost: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))


def sample_slots(n: int, lost: np.ndarray | None) -> np.ndarray:
    """Where each of ``n`` samples goes, counted from the first, when ``lost[i]`` samples were
    lost just before sample ``i`` (None: none lost)."""
    pos = np.arange(n, dtype=np.int64)
    return pos if lost is None else pos + np.cumsum(lost)


def counted_losses(rec: Recording, preset: str) -> tuple[np.ndarray | None, str | None]:
    """The samples ``preset`` lost on the way, before each of its samples, as its packet
    counter says (:class:`~biotrainer.acquisition.counter.SourceLosses`; None when it is not
    counted or lost none), and a note when the counter did not fit the timestamps. A jump in
    the numbers across a gap the EDF closes up is no loss (the same
    :data:`~biotrainer.limits.GAP_THRESHOLD_S`)."""
    p = rec.layout.preset(preset)
    data = rec.raw.get(preset)
    if p.counter is None or data is None or data.shape[1] == 0:
        return None, None
    losses = SourceLosses([p], [])
    lost = losses.push_preset(preset, data)
    if preset in losses.disbelieved:
        return None, (
            f"{raw_file_name(preset)}: its packet numbers count more samples lost than its "
            "timestamps leave time for (the device profile's rule does not fit the device): "
            "no samples are held for losses"
        )
    if lost is None or not lost.any():
        return None, None
    return lost, None


def holding(roles: list[str]) -> str:
    """Which signals hold their last value: "EEG holds its last value", "PPG and EDA hold
    their last values"."""
    if len(roles) == 1:
        return f"{roles[0]} holds its last value"
    return f"{', '.join(roles[:-1])} and {roles[-1]} hold their last values"


def lost_note(preset: str, lost: np.ndarray, fs: float, roles: list[str]) -> str:
    """The note on the samples a preset lost on the way, which the EDF holds over."""
    n, k = int(lost.sum()), int(np.count_nonzero(lost))
    stretches = f"{k} stretch{'es' if k > 1 else ''}"
    return (
        f"the device lost {n} samples of {raw_file_name(preset)} on the way ({n / fs:.1f} s, "
        f"{percent(n / (n + lost.size))}, in {stretches}; its packet numbers say where): "
        f"{holding(roles)} there, so the signals keep their time"
    )


@dataclass(frozen=True)
class MainAxis:
    """The EDF's time axis: the main preset's samples one after another, its gaps closed up.

    Attributes
    ----------
    gap_start, gap_end : ndarray
        The main preset's gaps as raw times (s): a gap starts one sample period after the last
        sample before it and ends at the first sample after it.
    anchor_t, anchor_edf : ndarray
        For the stretch before the first gap and after each gap, a raw time and its EDF time (s).
    scale : float
        EDF seconds per raw second within a stretch: the main preset's samples are written at
        the nominal rate, so a device whose clock runs off nominal gives a little more or less
        than one. 1 when the timestamps give no sensible rate.
    """

    gap_start: np.ndarray
    gap_end: np.ndarray
    anchor_t: np.ndarray
    anchor_edf: np.ndarray
    scale: float

    def edf_time(self, t: np.ndarray, stretch: np.ndarray) -> np.ndarray:
        """EDF times (s) of raw times ``t`` in the main preset's stretches ``stretch``."""
        return self.anchor_edf[stretch] + (t - self.anchor_t[stretch]) * self.scale


def main_axis(
    rec: Recording,
    preset: str,
    lead: int,
    fs_written: float | None = None,
    lost: np.ndarray | None = None,
) -> MainAxis:
    """The time axis of the main ``preset``, written from slot ``lead`` on.

    Its samples are placed by count at the rate they are written at (``fs_written``, the
    nominal one unless EDF could not hold it), the samples the device lost on the way counted
    too (``lost``: before each sample, :func:`counted_losses`); a raw time within a stretch
    between gaps is mapped at the rate the stretches' timestamps give (so the presets of a
    device whose clock runs off nominal stay in step after a gap: placed by time alone they
    would part by the drift gathered before it).
    """
    p = rec.layout.preset(preset)
    fs = fs_written or p.fs
    ts = rec.raw[preset][p.timestamp_row]
    pos = sample_slots(ts.size, lost)
    before = np.flatnonzero(np.diff(ts) > GAP_THRESHOLD_S)
    first = np.concatenate([[0], before + 1])
    last = np.concatenate([before, [ts.size - 1]])
    span = float(np.sum(ts[last] - ts[first]))
    fs_seen = float(np.sum(pos[last] - pos[first])) / span if span > 0 else math.nan
    scale = fs_seen / fs if 0.5 <= fs_seen / fs <= 2.0 else 1.0
    anchor_t = ts[first].astype(float)
    anchor_edf = (lead + pos[first]) / fs
    # Before the first gap the axis starts at the EDF's start (the first sample of any preset).
    anchor_t[0], anchor_edf[0] = rec.first_timestamp, 0.0
    return MainAxis(ts[before] + 1.0 / p.fs, ts[before + 1], anchor_t, anchor_edf, scale)


def place_on_main(
    ts: np.ndarray,
    fs: float,
    axis: MainAxis,
    fs_written: float | None = None,
    lost: np.ndarray | None = None,
) -> Placement:
    """Put the samples of a preset on the time axis of the main preset, whose gaps are closed up.

    A sample at raw time ``t`` belongs where the main preset's samples of that time are
    (:meth:`MainAxis.edf_time`). Each run of samples without a gap of their own (no step longer than
    :data:`GAP_THRESHOLD_S`) and not across a gap of the main preset is laid out slot after slot
    from the slot nearest to its first sample (as the main preset's samples are: the EDF's rate
    is the nominal one). Without gaps, the samples are laid out as they come, after as many
    slots of the first value as the first sample came after ``t0``.

    Parameters
    ----------
    ts : ndarray
        The preset's timestamps (s, rising).
    fs : float
        Its sampling rate (Hz).
    fs_written : float, optional
        The rate its samples are written at, when EDF cannot hold ``fs`` (rounded): its slots
        are that long.
    axis : MainAxis
        The main preset's time axis (:func:`main_axis`). A sample within half of its own sample
        period of a gap's edge counts as outside the gap.
    lost : ndarray of int, optional
        Samples the device lost just before each sample (:func:`counted_losses`): a run's
        samples after a loss are laid out that many slots on, and it holds its last value there.

    Returns
    -------
    Placement
        With ``source`` empty when every sample falls in a gap of the main preset.
    """
    half = 0.5 / fs
    gap_start, gap_end = axis.gap_start, axis.gap_end
    after = np.searchsorted(gap_end, ts + half, side="right")  # gaps wholly before each sample
    inside = np.zeros(ts.size, dtype=bool)
    if gap_start.size:
        nxt = np.minimum(after, gap_start.size - 1)
        inside = (after < gap_start.size) & (ts - half > gap_start[nxt])
    kept = np.flatnonzero(~inside)
    if kept.size == 0:
        return Placement(np.zeros(0, dtype=np.int64), np.zeros((0, 2), dtype=np.int64), ts.size)
    in_gap = int(ts.size - kept.size)
    t_kept, after_kept = ts[kept], after[kept]
    first = np.concatenate(
        [[True], (np.diff(t_kept) > GAP_THRESHOLD_S) | (np.diff(after_kept) != 0)]
    )
    starts = np.flatnonzero(first)
    run = np.cumsum(first) - 1
    start_slot = np.rint(axis.edf_time(t_kept[starts], after_kept[starts]) * (fs_written or fs))
    start_slot = np.maximum(start_slot.astype(np.int64), 0)
    pos = sample_slots(ts.size, lost)[kept]
    slot = start_slot[run] + (pos - pos[starts][run])
    # A run that starts on slots the run before already holds gives way (the presets of a
    # reconnect resume a packet or so apart).
    free = np.concatenate([[True], slot[1:] > np.maximum.accumulate(slot)[:-1]])
    overlapped = int(kept.size - np.count_nonzero(free))
    kept = kept[free]
    return slotted(kept, slot[free], in_gap, overlapped, None if lost is None else lost[kept])


def slotted(
    kept: np.ndarray,
    slot: np.ndarray,
    in_gap: int = 0,
    overlapped: int = 0,
    lost: np.ndarray | None = None,
) -> Placement:
    """The placement of raw samples ``kept`` on slots ``slot`` (rising): the slots between hold
    the last sample before them, those before the first the first. The holes exclude the slots
    of samples lost on the way (``lost``: before each kept sample), which have a note of their
    own (:func:`lost_note`)."""
    source = np.full(int(slot[-1]) + 1, -1, dtype=np.int64)
    source[slot] = kept
    source = np.maximum.accumulate(source)
    source[source < 0] = kept[0]
    lengths = np.diff(slot) - 1
    lost_at = np.zeros(0, dtype=np.int64)
    if lost is not None:
        lengths = lengths - lost[1:]
        lost_at = np.flatnonzero(lost[1:] > 0) + 1
    holes = np.flatnonzero(lengths > 0)
    return Placement(
        source,
        np.column_stack([slot[holes] + 1, lengths[holes]]).astype(np.int64),
        in_gap,
        overlapped,
        int(slot[0]),
        np.column_stack([slot[lost_at] - lost[lost_at], lost[lost_at]]).astype(np.int64)
        if lost_at.size
        else np.zeros((0, 2), dtype=np.int64),
    )


def padded_stretches(
    front: int, length: int, total: int, slot_s: float
) -> list[tuple[float, float]]:
    """The stretches of a signal that hold no recorded data, as ``(onset, duration)`` in s.

    Parameters
    ----------
    front : int
        Slots at the start that hold copies of the first sample (the signal began later).
    length : int
        Slots of the signal before it is padded at the end (``front`` included).
    total : int
        Slots in the file (whole data records); those from ``length`` on hold the last value.
    slot_s : float
        Duration of one slot in the file (record duration / samples per record), s.
    """
    stretches = []
    if front > 0:
        stretches.append((0.0, front * slot_s))
    if total > length:
        stretches.append((length * slot_s, (total - length) * slot_s))
    return stretches


def padding_annotations(
    stretches: list[tuple[float, float, str]],
) -> list[tuple[float, float, str]]:
    """Annotations ``(onset, duration, text)`` marking padded stretches as holding no data.

    Parameters
    ----------
    stretches : list of (onset, duration, who)
        Padded stretches (s) and the roles padded there (e.g. ``"PPG"``).

    Returns
    -------
    list of (onset, duration, text)
        One per stretch, ordered by onset; the roles padded over the same stretch (to EDF+'s
        100 µs) are named in one text, split as :func:`split_annotation` does when long.
    """
    by_stretch: dict[tuple[int, int], tuple[float, float, list[str]]] = {}
    for onset, duration, who in stretches:
        key = (round(onset * 10_000), round(duration * 10_000))  # EDF+ TALs: 100 µs units
        by_stretch.setdefault(key, (onset, duration, []))[2].append(who)
    out = []
    for _key, (onset, duration, whos) in sorted(by_stretch.items()):
        text = f"{PADDING_TEXT}: {', '.join(dict.fromkeys(whos))}"
        out += [(onset, duration, piece) for piece in split_annotation(text)]
    return out


def fit_annotations(
    padding: list[tuple[float, float, str]],
    events: list[tuple[float, float, str]],
    room: int,
) -> list[tuple[float, float, str]]:
    """The annotations a file with ``room`` for annotations keeps (edflib drops those beyond),
    in time order: all when they fit, else the ``padding`` ones (the only mark of stretches
    that hold no recorded data) and the earliest ``events``.

    Parameters
    ----------
    padding, events : list of (onset, duration, text)
        Onsets in s from the file's start; ``events`` in time order.
    room : int
        Annotations the file holds (data records x annotations a record).
    """
    kept = [*padding, *events]
    if len(kept) > room:
        kept = [*padding[:room], *events[: max(0, room - len(padding))]]
    return sorted(kept, key=lambda a: a[0])


def placement_notes(
    placement: Placement, preset: str, fs: float, roles: list[str], main: str
) -> list[str]:
    """Notes on the slots a preset holds its last value in, and on samples left out."""
    notes: list[str] = []
    name = raw_file_name(preset)
    holes = placement.holes[placement.holes[:, 1] / fs >= QUIET_HOLE_S]
    if holes.size:
        listed = ", ".join(f"{n / fs:.1f} s at {s / fs:.1f} s" for s, n in holes[:LISTED_HOLES])
        more = ""
        if len(holes) > LISTED_HOLES:
            more = (
                f" and {len(holes) - LISTED_HOLES} more stretches "
                f"({float(holes[:, 1].sum()) / fs:.1f} s in all)"
            )
        notes.append(f"{name} has no samples for {listed} (EDF time){more}: {holding(roles)} there")
    if placement.in_gap:
        n = placement.in_gap
        notes.append(
            f"{n} sample{'s' if n > 1 else ''} of {name} ({n / fs:.1f} s) fall in gaps of "
            f"{raw_file_name(main)}, which the EDF closes up: they are not in the file (the "
            "session folder keeps them)"
        )
    if placement.overlapped / fs >= QUIET_HOLE_S:
        n = placement.overlapped
        notes.append(
            f"{n} samples of {name} ({n / fs:.1f} s) after its gaps are not in the file: the "
            "slots they belong on are held by its samples before the gap, which came at a "
            "little more than its nominal rate (the session folder keeps them)"
        )
    return notes


def _no_spaces(text: str) -> str:
    """EDF+ header subfields are ASCII without spaces."""
    return "".join(c if 33 <= ord(c) < 127 else "_" for c in text)[:40]


def physical_range(values: np.ndarray) -> tuple[float, float]:
    """Physical min/max for ``values``: their finite range widened by :data:`RANGE_MARGIN`.

    The range reaches at most :data:`OUTLIER_REACH` times the span of the bulk of the samples
    (all but the :data:`OUTLIER_SHARE` lowest and highest, at least one) beyond that span, so
    that a few wild values neither coarsen the quantisation step for the rest nor overflow EDF's
    header; those values fall outside the range (:func:`to_digital` writes them at its edge).

    Raises
    ------
    RecordingError
        When even the bulk of the values does not fit EDF's 8-character header fields.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        lo, hi = -1.0, 1.0
    else:
        lo, hi = float(finite.min()), float(finite.max())
        n = finite.size
        k = max(1, math.floor(OUTLIER_SHARE * n))  # at least one sample, however short
        if n > 2 * k:
            bulk = np.partition(finite, (k, n - 1 - k))
            bulk_lo, bulk_hi = float(bulk[k]), float(bulk[n - 1 - k])
        else:
            bulk_lo, bulk_hi = lo, hi
        reach = OUTLIER_REACH * ((bulk_hi - bulk_lo) or max(1.0, abs(bulk_hi)))
        lo, hi = max(lo, bulk_lo - reach), min(hi, bulk_hi + reach)
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
    x = np.clip(np.asarray(x, dtype=np.float64), pmin, pmax)  # values outside: at the edge
    d = np.rint((x - pmin) * scale + DIGITAL_MIN)
    return np.ascontiguousarray(np.clip(d, DIGITAL_MIN, DIGITAL_MAX).astype(np.int32))


def export_edf(recording: Recording | str | os.PathLike[str], out: str | os.PathLike[str]):
    """Write a session as an EDF+ file.

    Parameters
    ----------
    recording : Recording or path-like
        A loaded recording or a session folder.
    out : path-like
        The ``.edf`` file to write (created 0600; an existing regular file is replaced when
        the export is complete; a link to a file: that file is written, the link kept).

    Returns
    -------
    EdfExport
        ``n_annotations`` counts the annotations read back from the written file (events and
        padded stretches).

    Raises
    ------
    RecordingError
        If the session cannot be read, has no exportable channel, or the file cannot be written.
    BiotrainerError
        If ``out`` is not a file an export may replace (a folder, a pipe, a device, a link to
        one or to nothing: :func:`~biotrainer.paths.check_output_file`); checked first.
    """
    out = Path(out)
    target = check_output_file(out)  # (a link to a file: that file is written, the link kept)
    rec = recording if isinstance(recording, Recording) else load_session(recording)
    layout = rec.layout
    t0 = rec.first_timestamp
    notes: list[str] = []

    # The time axis: the preset with most samples (the first such in the layout's order).
    exported = [
        g.preset
        for g in layout.groups
        if g.role != "marker"
        and layout.preset(g.preset).fs > 0
        and rec.raw.get(g.preset) is not None
        and rec.raw[g.preset].shape[1] > 0
    ]
    main = max(dict.fromkeys(exported), key=lambda p: rec.raw[p].shape[1], default=None)
    # the data record's duration and the rate each preset is written at (rounded when EDF
    # cannot hold it: the samples, the padding and the events are placed at that rate)
    rates = sorted({layout.preset(p).fs for p in exported})
    duration, exact = record_duration(rates)
    written = {p: round(layout.preset(p).fs * duration) / duration for p in exported}
    lead = 0
    # the samples each counted preset lost on the way (its signals hold their last value there)
    lost: dict[str, np.ndarray | None] = {}
    for preset in dict.fromkeys(exported):
        lost[preset], counter_note = counted_losses(rec, preset)
        if counter_note is not None:
            notes.append(counter_note)
    placements: dict[str, Placement] = {}
    if main is not None:
        pm = layout.preset(main)
        lead = round((float(rec.raw[main][pm.timestamp_row, 0]) - t0) * written[main])
        axis = main_axis(rec, main, lead, written[main], lost[main])
        if lost[main] is not None:
            n_main = rec.raw[main].shape[1]
            kept = np.arange(n_main)
            slots = lead + sample_slots(n_main, lost[main])
            placements[main] = slotted(kept, slots, lost=lost[main])

    # (label, units, fs, data) per channel, presets on the main preset's time axis.
    channels: list[tuple[str, str, float, np.ndarray]] = []
    channel_presets: list[str] = []
    irregular: list[str] = []
    for g in layout.groups:
        if g.role == "marker":
            continue
        if not layout.preset(g.preset).fs > 0:
            # (RR intervals: one sample per heartbeat, no sampling rate an EDF signal could have)
            irregular.append(f"{g.role.upper()} ({', '.join(g.names)})")
            notes.append(
                f"{irregular[-1]} is not in the EDF: its samples come at irregular times and an "
                f"EDF signal has a fixed rate ({raw_file_name(g.preset)} in the session folder "
                "keeps them)"
            )
            continue
        data = rec.raw.get(g.preset)
        if data is None or data.shape[1] == 0:
            notes.append(
                f"{raw_file_name(g.preset)} holds no samples: {g.role.upper()} "
                f"({', '.join(g.names)}) is not in the EDF"
            )
            continue
        p = layout.preset(g.preset)
        if g.preset != main and g.preset not in placements:
            placements[g.preset] = place_on_main(
                data[p.timestamp_row], p.fs, axis, written[g.preset], lost[g.preset]
            )
        placement = placements.get(g.preset)
        if placement is not None and placement.source.size == 0:
            notes.append(
                f"every sample of {raw_file_name(g.preset)} falls in a gap of "
                f"{raw_file_name(main)}, which the EDF closes up: {g.role.upper()} "
                f"({', '.join(g.names)}) is not in the EDF (the session folder keeps it)"
            )
            continue
        for row, name in zip(g.rows, g.names, strict=True):
            x = data[row]
            if placement is not None:
                x = x[placement.source]
            elif lead > 0:
                x = np.concatenate([np.full(lead, x[0]), x])
            label = f"{g.role.upper()} {name}".strip()
            channels.append((label, g.units[:DIMENSION_CHARS], p.fs, x))
            channel_presets.append(g.preset)
    if not channels and irregular:
        raise RecordingError(
            f"the recording in {shown(rec.path)} has nothing EDF can hold: "
            f"{', '.join(irregular)} came at irregular times and an EDF signal has a fixed rate "
            "(the session folder's raw files keep every value)"
        )
    if not channels:
        raise RecordingError(f"the recording in {rec.path} has no channel to export")
    labels, label_notes = unique_labels([c[0] for c in channels])
    notes += label_notes
    channels = [(lab, *rest) for lab, (_, *rest) in zip(labels, channels, strict=True)]

    if not exact:
        notes.append(
            "sampling rates "
            + ", ".join(f"{fs:g}" for fs in rates if fs != round(fs))
            + " Hz cannot be stored exactly in EDF; rounded to whole samples per second "
            "(the events are placed on the rounded rate's time axis, beside their samples)"
        )
    spr = [round(fs * duration) for _, _, fs, _ in channels]
    n_records = max(math.ceil(len(x) / s) for (_, _, _, x), s in zip(channels, spr, strict=True))
    padded = []
    for preset in dict.fromkeys(channel_presets):
        i = channel_presets.index(preset)  # (a preset's channels are padded alike)
        front = placements[preset].first_slot if preset in placements else lead
        who = ", ".join(
            dict.fromkeys(
                g.role.upper() for g in layout.groups if g.preset == preset and g.role != "marker"
            )
        )
        slot_s = duration / spr[i]
        stretches = padded_stretches(front, len(channels[i][3]), n_records * spr[i], slot_s)
        if preset in placements:  # (and the longer stretches it lost on the way: no data)
            held = placements[preset].lost
            held = held[held[:, 1] * slot_s >= QUIET_HOLE_S]
            stretches += [(a * slot_s, n * slot_s) for a, n in held.tolist()]
        padded += [(onset, length, who) for onset, length in stretches]

    signals: list[EdfSignal] = []
    arrays: list[np.ndarray] = []
    headers = []
    for (label, units, _fs, x), s in zip(channels, spr, strict=True):
        try:
            pmin, pmax = physical_range(x)
        except RecordingError as exc:
            raise RecordingError(f"{label}: {exc}") from exc
        outside = (x < pmin) | (x > pmax)
        if outside.any():
            worst = x[outside][np.argmax(np.abs(x[outside]))]
            n = int(outside.sum())
            notes.append(
                f"{label}: {n} sample{'s' if n > 1 else ''} outside {pmin:g}..{pmax:g} {units} "
                f"(up to {worst:g}) written at the range's edge ({TOO_LARGE_HINT})"
            )
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
                "physical_min": header_value(pmin),
                "physical_max": header_value(pmax),
                "digital_min": DIGITAL_MIN,
                "digital_max": DIGITAL_MAX,
                "transducer": "",
                "prefilter": "",
            }
        )

    gaps = gap_note(rec, main)
    if gaps is not None:
        notes.append(gaps)
    for preset, placement in placements.items():
        if placement.source.size == 0:  # (said above: not in the EDF)
            continue
        roles = [g.role.upper() for g in layout.groups if g.preset == preset and g.role != "marker"]
        fs = layout.preset(preset).fs
        if lost[preset] is not None:
            notes.append(lost_note(preset, lost[preset], fs, roles))
        notes += placement_notes(placement, preset, fs, roles, main)
    events: list[tuple[float, float, str]] = []
    split = 0
    for onset, e in edf_onsets(rec, main, lead, written[main], lost[main]):
        pieces = split_annotation(annotation_text(f"{e.kind}: {e.text}" if e.text else e.kind))
        split += len(pieces) > 1
        events += [(onset, -1.0, piece) for piece in pieces]  # (-1: no duration)
    if split:
        notes.append(
            f"{split} event text(s) longer than EDF+'s {ANNOTATION_BYTES} bytes were split over "
            "consecutive annotations at the same moment"
        )
    padding = padding_annotations(padded)
    n_wanted = len(events) + len(padding)
    n_annotation_signals = min(MAX_ANNOTATION_SIGNALS, max(1, -(-n_wanted // n_records)))
    annotations = fit_annotations(padding, events, n_records * n_annotation_signals)
    start, start_note = edf_start(rec)
    if start_note is not None:
        notes.append(start_note)
    # edflib keeps 39 characters of the equipment and the recording's additional text together:
    # the software version first, the device's name as far as it fits
    additional = f"biotrainer_{__version__}"
    equipment = _no_spaces(f"{rec.meta.device}_board{layout.board_id}")
    equipment = equipment[: max(1, RECORDING_TEXT_CHARS - len(additional))]
    # Written to a temporary file next to ``target`` and renamed: a failed export leaves no
    # partial file and keeps an older ``out``. (It also lets ``out`` have a non-UTF-8 name:
    # pyedflib takes only UTF-8 paths.)
    tmp = _temporary_file(target, out)
    try:
        texts = (equipment, additional)
        _write_edf(tmp, headers, duration, start, texts, arrays, annotations, n_annotation_signals)
        if not _edf_complete(tmp, n_records):
            raise OSError(errno.EIO, "the file came out incomplete (disk full?)")
        n_written, ranges = _read_back(tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if not isinstance(exc, Exception):
            raise
        needed = 256 * (len(headers) + 2) + n_records * 2 * sum(spr)
        raise _write_error(out, exc, needed) from exc
    if n_written < n_wanted:
        notes.append(
            f"only {n_written} of {n_wanted} annotations fit in the file (EDF+ holds "
            f"{MAX_ANNOTATION_SIGNALS} per data record); events.csv in the session folder has all"
        )
    for sig, (lo, hi) in zip(signals, ranges, strict=True):
        same = math.isclose(lo, sig.physical_min, rel_tol=1e-12, abs_tol=1e-12) and math.isclose(
            hi, sig.physical_max, rel_tol=1e-12, abs_tol=1e-12
        )
        if not same:  # pragma: no cover - edflib wrote another text than header_value meant
            notes.append(
                f"{sig.label}: the header's range reads {lo:g}..{hi:g}, the samples were scaled "
                f"for {sig.physical_min:g}..{sig.physical_max:g}"
            )
    return EdfExport(out, tuple(signals), duration, n_records, n_written, tuple(notes))


def _read_back(path: Path) -> tuple[int, list[tuple[float, float]]]:
    """The number of annotations in a written EDF+ file and its signals' physical ranges as
    readers see them."""
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        f = pyedflib.EdfReader(str(path))
        try:
            n = len(f.readAnnotations()[0])
            ranges = [
                (float(f.getPhysicalMinimum(i)), float(f.getPhysicalMaximum(i)))
                for i in range(f.signals_in_file)
            ]
        finally:
            f.close()
    return n, ranges


def _temporary_file(target: Path, out: Path) -> Path:
    """A new private (0600) empty file next to ``target`` (the file ``out`` names, a link
    followed) with a name pyedflib can open; messages name ``out``."""
    parent = nearest_existing(target.parent)
    if parent.exists() and not parent.is_dir():
        raise RecordingError(f"cannot write {shown(out)}: {shown(parent)} is a file, not a folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecordingError(f"cannot write {shown(out)}: {exc.strerror or exc}") from exc
    return private_temp_beside(target, ".edf.part")


def _write_edf(
    path: Path,
    headers: list[dict],
    duration: int,
    start: datetime,
    recording_text: tuple[str, str],
    arrays: list[np.ndarray],
    annotations: list[tuple[float, float, str]],
    n_annotation_signals: int = 1,
) -> None:
    """Write the EDF+ file with pyedflib (any error propagates; pyedflib's warnings about
    header fields are not shown: what they warn of is handled here)."""
    writer = pyedflib.EdfWriter(str(path), len(headers), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            writer.setSignalHeaders(headers)
            writer.setDatarecordDuration(duration)
            writer.setStartdatetime(start.replace(microsecond=0))
            writer.setEquipment(recording_text[0])
            writer.setRecordingAdditional(recording_text[1])
            writer.set_number_of_annotation_signals(n_annotation_signals)
            subsecond = start.microsecond * 10
            if subsecond:
                # edflib takes the fraction of a second in units of 100 ns (pyedflib 0.1.42
                # passes microseconds x 100, which edflib refuses from 0.1 s on)
                _set_subsecond_start(writer.handle, subsecond)
            writer.writeSamples(arrays, digital=True)
            for onset, duration_s, text in annotations:
                writer.writeAnnotation(edflib_onset(onset, subsecond), duration_s, text)
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
