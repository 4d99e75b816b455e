"""What a session report takes from a session's events and metrics: markers, notes, pauses and
signal losses on the protocol clock of its charts, and a resonance assessment's result.

Times
    The store keeps a marker's time in seconds from the first sample
    (:attr:`~biotrainer.session.store.Marker.time_s`), pauses and signal losses included. The
    charts, phases and duration of a report use protocol time (``session_s`` of
    ``metrics.csv``), which stops while the session is paused or the signal is lost. A time is
    put on the protocol clock through ``metrics.csv``: the protocol time of the last update
    whose ``sample_time`` is at or before it (the engine stamps an event with the sample time of
    its last update, so the two agree to the row).

Signal losses
    Their one source is ``metrics.csv``: the engine writes a "signal lost" row for every
    ``update_interval_s`` (0.1 s) of a hole in the data, at the protocol time of the hole (the
    protocol clock stops). A run of such rows is one loss, lasting rows x interval; the same
    rows make the session's "device not streaming" and "clean" shares
    (:func:`~biotrainer.session.analysis.summarize_series`), so the listed losses and those
    shares always agree, live, offline and in a replay. The ``signal_lost``/``signal_restored``
    events are not counted again: the only loss they add is one never restored (no sample came
    back, so the engine could write no rows for it), which runs from its ``signal_lost`` event
    to the end of the session (:func:`open_loss`).

Resonance
    The engine logs an assessment's outcome (the :class:`~biotrainer.engine.resonance.
    ResonanceResult` the end-of-session dialog shows) as a ``resonance`` event; it is read back
    from there.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biotrainer.engine.resonance import NOT_DECIDED, RateResult, ResonanceResult
from biotrainer.errors import RecordingError
from biotrainer.reports.format import minutes
from biotrainer.session.analysis import MetricSeries, number_or_nan, phase_rows
from biotrainer.session.folder import METRICS_FILE, read_meta
from biotrainer.session.reader import Event
from biotrainer.session.store import Marker

#: Slack (s) when matching an event's time with a row's ``sample_time`` (written rounded).
_MATCH_S = 1e-3
#: What a pause is called in a report's list of markers.
PAUSE_KIND = "pause"
#: What a signal loss is called there (as the engine's ``source_state``).
LOST_KIND = "signal lost"
#: Data seconds per metrics row when ``metrics.csv`` cannot tell (the engine's default).
DEFAULT_INTERVAL_S = 0.1
#: ``n_beats`` of a rate read back from an event that does not say it.
BEATS_UNKNOWN = -1


@dataclass(frozen=True)
class TimelineEntry:
    """One row of a session report's markers, notes and pauses.

    Attributes
    ----------
    time_s : float or None
        Protocol seconds (the charts' axis); with no protocol clock, seconds from the first
        sample (see :attr:`ProtocolClock`); None when unknown.
    kind : str
        ``marker``, ``note`` (from the store), ``pause`` or ``signal lost``.
    text : str
    recording_s : float or None
        Seconds from the first sample (as :attr:`Marker.time_s`).
    duration_s : float or None
        How long a pause or a signal loss lasted (s of data or wall time, not protocol time);
        None for a marker or a note.
    """

    time_s: float | None
    kind: str
    text: str
    recording_s: float | None
    duration_s: float | None = None


@dataclass(frozen=True)
class Span:
    """A pause or a signal loss: where it is on the charts and how long it lasted.

    Attributes
    ----------
    kind : str
        :data:`PAUSE_KIND` or :data:`LOST_KIND`.
    time_s : float or None
        Protocol seconds at its start (the charts' axis; the protocol clock stops during it, so
        it ends there too); with no protocol clock, seconds from the first sample.
    duration_s : float
        Seconds it lasted (data time; for a loss never restored, until the session's end).
    recording_s : float or None
        Seconds from the first sample to its start.
    to_end : bool
        It lasted until the end of the session (not resumed / never restored).
    """

    kind: str
    time_s: float | None
    duration_s: float
    recording_s: float | None = None
    to_end: bool = False

    @property
    def text(self) -> str:
        """What the report's table says of it."""
        if self.kind == PAUSE_KIND:
            if self.to_end:
                return (
                    f"Paused until the end of the recording ({minutes(self.duration_s)}; the "
                    "protocol clock stopped)"
                )
            return f"Paused for {minutes(self.duration_s)} (the protocol clock stopped)"
        if self.to_end:
            return (
                f"Signal lost until the end of the session ({minutes(self.duration_s)}; never "
                "restored): no data"
            )
        return f"Signal lost for {minutes(self.duration_s)}: no data (the protocol clock stopped)"


class ProtocolClock:
    """Protocol time (``session_s``) of times in the samples' timebase, from ``metrics.csv``.

    Parameters
    ----------
    sample_time, session_s : array-like
        The rows' columns (rows with either missing are left out).
    """

    def __init__(self, sample_time: Sequence[float], session_s: Sequence[float]) -> None:
        st = np.asarray(sample_time, dtype=float)
        ss = np.asarray(session_s, dtype=float)
        #: The sample time of every row with a protocol time (the rows a MetricSeries keeps).
        self.row_sample_time = st[np.isfinite(ss)]
        ok = np.isfinite(st) & np.isfinite(ss)
        self.sample_time = st[ok]
        self.session_s = ss[ok]

    def __bool__(self) -> bool:
        return bool(self.sample_time.size)

    @property
    def interval_s(self) -> float:
        """Data seconds between consecutive rows (their median step; the engine's default
        when there are too few rows to tell)."""
        steps = np.diff(self.sample_time)
        steps = steps[steps > _MATCH_S]
        return float(np.median(steps)) if steps.size else DEFAULT_INTERVAL_S

    @property
    def last_sample_time(self) -> float | None:
        return float(self.sample_time.max()) if self else None

    def at(self, t: float | None) -> float | None:
        """Protocol seconds at sample time ``t``: those of the last update at or before it
        (the first update's before the first one); None when ``t`` or the clock is unknown."""
        if t is None or not math.isfinite(t) or not self:
            return None
        before = self.sample_time <= t + _MATCH_S
        if not before.any():
            return float(self.session_s[0])
        latest = np.flatnonzero(before & (self.sample_time == self.sample_time[before].max()))
        return float(self.session_s[latest[-1]])

    @classmethod
    def of_folder(
        cls, folder: str | os.PathLike[str], series: MetricSeries | None = None
    ) -> ProtocolClock:
        """The clock of a session folder (empty when ``metrics.csv`` has no usable rows).

        ``series``: the folder's metrics already read; used when it holds ``sample_time``.
        """
        if series is not None and "sample_time" in series.columns:
            return cls(series["sample_time"], series["session_s"])
        path = Path(folder) / METRICS_FILE
        st: list[float] = []
        ss: list[float] = []
        try:
            with open(path, encoding="utf-8", errors="replace", newline="") as f:
                rows = csv.reader(f)
                header = next(rows, [])
                if "sample_time" not in header or "session_s" not in header:
                    return cls([], [])
                i, j = header.index("sample_time"), header.index("session_s")
                for row in rows:
                    if len(row) == len(header):
                        st.append(number_or_nan(row[i]))
                        ss.append(number_or_nan(row[j]))
        except (OSError, csv.Error):
            return cls([], [])
        return cls(st, ss)


def first_sample_time(folder: str | os.PathLike[str], events: Sequence[Event]) -> float | None:
    """The sample time the store counts markers from: the first sample's (session.json), else
    the first timed event's (as :class:`~biotrainer.session.store.Store` does)."""
    try:
        start = read_meta(folder).start_timestamp
    except RecordingError:
        start = None
    if start is not None and math.isfinite(start):
        return float(start)
    times = [e.time for e in events if math.isfinite(e.time)]
    return min(times) if times else None


def pauses(events: Iterable[Event]) -> list[tuple[float, float | None]]:
    """(pause, resume) sample times of each pause; resume None when the session ended paused."""
    out: list[tuple[float, float | None]] = []
    start: float | None = None
    for e in events:
        if not math.isfinite(e.time):
            continue
        if e.kind == "pause" and start is None:
            start = e.time
        elif e.kind == "resume" and start is not None:
            out.append((start, e.time))
            start = None
    if start is not None:
        out.append((start, None))
    return out


def _on_clock(
    t: float, clock: ProtocolClock, t0: float | None
) -> tuple[float | None, float | None]:
    """(protocol seconds, seconds from the first sample) of sample time ``t``; without a
    protocol clock the first is the second."""
    rec = t - t0 if t0 is not None else None
    return (clock.at(t) if clock else rec), rec


def pause_spans(
    events: Iterable[Event], clock: ProtocolClock, t0: float | None, end: float | None
) -> list[Span]:
    """The pauses of ``events`` as spans; one not resumed lasts until ``end`` (the sample time
    of the end of the recording; 0 s when unknown): data flow on while paused."""
    out = []
    for start, stop in pauses(events):
        to_end = stop is None
        if stop is None:
            stop = end if end is not None and end > start else start
        t, rec = _on_clock(start, clock, t0)
        out.append(Span(PAUSE_KIND, t, stop - start, rec, to_end))
    return out


def lost_rows(series: MetricSeries) -> np.ndarray:
    """Which rows of ``series`` are a hole in the data: the rows
    :func:`~biotrainer.session.analysis.summarize_series` counts as "device not streaming"
    (in a phase, ``source_state`` neither "streaming" nor empty)."""
    state = series["source_state"]
    valid = phase_rows(series)
    return valid & (state != "streaming") & (state != "")


def loss_spans(
    series: MetricSeries,
    interval_s: float,
    sample_time: np.ndarray | None = None,
    t0: float | None = None,
) -> list[Span]:
    """The signal losses ``metrics.csv`` holds: each run of consecutive "signal lost" rows
    (:func:`lost_rows`) is one, at the protocol time of its rows, lasting rows x
    ``interval_s``.

    ``sample_time``: the rows' sample times (aligned with ``series``) to give each loss its
    time from the first sample ``t0``.
    """
    lost = lost_rows(series)
    if not lost.any():
        return []
    edges = np.diff(np.concatenate([[0], lost.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    aligned = sample_time is not None and len(sample_time) == len(lost) and t0 is not None
    out = []
    for a, b in zip(starts, stops, strict=True):
        rec = float(sample_time[a] - t0) if aligned else None
        t = float(series["session_s"][a])
        out.append(Span(LOST_KIND, t, (b - a) * interval_s, rec))
    return out


def open_loss(
    events: Sequence[Event],
    clock: ProtocolClock,
    t0: float | None,
    wall_end_s: float | None = None,
) -> Span | None:
    """A signal loss never restored: the last ``signal_lost`` event with neither a
    ``signal_restored`` event nor any metrics row after it (None when there is none).

    No sample came back, so ``metrics.csv`` has no row of it; it lasts until the end of the
    session: ``wall_end_s`` (the session's end in seconds from the first sample, by the wall
    clock: the recording's end UTC) when known and later than the loss, else the last row.
    """
    start = None
    for e in events:
        if not math.isfinite(e.time):
            continue
        if e.kind == "signal_lost":
            start = e.time
        elif e.kind == "signal_restored":
            start = None
    if start is None:
        return None
    last = clock.last_sample_time
    if last is not None and last > start + _MATCH_S:
        return None  # data came back (its "signal lost" rows are the loss)
    t, rec = _on_clock(start, clock, t0)
    end = max(start, last) if last is not None else start
    if wall_end_s is not None and t0 is not None and math.isfinite(wall_end_s):
        end = max(end, t0 + wall_end_s)
    return Span(LOST_KIND, t, end - start, rec, to_end=True)


def totals(spans: Iterable[Span], kind: str) -> tuple[int, float]:
    """(how many, seconds in all) of the spans of ``kind``."""
    found = [s.duration_s for s in spans if s.kind == kind]
    return len(found), float(sum(found))


def timeline(
    markers: Sequence[Marker],
    events: Sequence[Event],
    clock: ProtocolClock,
    t0: float | None,
    spans: Sequence[Span] | None = None,
) -> tuple[TimelineEntry, ...]:
    """The markers and notes of the store and the pauses and signal losses, by time.

    On the protocol clock when ``clock`` has rows (else markers keep their time from the first
    sample, and pauses are listed at theirs); ``t0``: the sample time markers count from.
    ``spans``: the pauses and losses (by default the pauses of ``events``, see
    :func:`pause_spans`).
    """
    out = []
    for m in markers:
        t = None
        if m.time_s is not None and math.isfinite(m.time_s):
            t = clock.at(t0 + m.time_s) if clock and t0 is not None else m.time_s
        out.append(TimelineEntry(t, m.kind, m.text, m.time_s))
    if spans is None:
        spans = pause_spans(events, clock, t0, clock.last_sample_time)
    for sp in spans:
        out.append(TimelineEntry(sp.time_s, sp.kind, sp.text, sp.recording_s, sp.duration_s))
    return tuple(
        sorted(
            out,
            key=lambda e: (
                e.time_s is None,
                e.time_s or 0.0,
                e.recording_s if e.recording_s is not None else math.inf,
            ),
        )
    )


_BEST = re.compile(r"^\s*best\s+([^/\s]+)/min")
_RATE = re.compile(
    r"([^\s(,]+)/min\s+LF\s+(\S+)\s+ms²\s+swing\s+(\S+)\s+bpm(?:\s*,?\s*(\d+)\s+beats)?"
)


def resonance_from_events(events: Iterable[Event]) -> ResonanceResult | None:
    """The resonance assessment's result the engine logged (the last ``resonance`` event),
    None when there is none or it cannot be read. Rates whose beat count the event does not
    give have ``n_beats`` :data:`BEATS_UNKNOWN`."""
    found = [e for e in events if e.kind == "resonance"]
    if not found:
        return None
    text = found[-1].text
    best = _BEST.match(text)
    if best is None:
        return None
    body = text[best.end() :]
    rates = tuple(
        RateResult(
            number_or_nan(m.group(1)),
            number_or_nan(m.group(2)),
            number_or_nan(m.group(3)),
            int(m.group(4)) if m.group(4) else BEATS_UNKNOWN,
        )
        for m in _RATE.finditer(body)
    )
    complete = NOT_DECIDED not in body  # (an assessment cut short chose no rate)
    return ResonanceResult(rates, number_or_nan(best.group(1)), complete)
