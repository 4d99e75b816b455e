"""What a session report takes from a session's events: markers, notes and pauses on the
protocol clock of its charts, and a resonance assessment's result.

Times
    The store keeps a marker's time in seconds from the first sample
    (:attr:`~biotrainer.session.store.Marker.time_s`), pauses and signal losses included. The
    charts, phases and duration of a report use protocol time (``session_s`` of
    ``metrics.csv``), which stops while the session is paused or the signal is lost. A time is
    put on the protocol clock through ``metrics.csv``: the protocol time of the last update
    whose ``sample_time`` is at or before it (the engine stamps an event with the sample time of
    its last update, so the two agree to the row).

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

from biotrainer.engine.resonance import RateResult, ResonanceResult
from biotrainer.errors import RecordingError
from biotrainer.reports.format import minutes
from biotrainer.session.analysis import MetricSeries, number_or_nan
from biotrainer.session.folder import METRICS_FILE, read_meta
from biotrainer.session.reader import Event
from biotrainer.session.store import Marker

#: Slack (s) when matching an event's time with a row's ``sample_time`` (written rounded).
_MATCH_S = 1e-3
#: What a pause is called in a report's list of markers.
PAUSE_KIND = "pause"
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
        ``marker``, ``note`` (from the store) or ``pause``.
    text : str
    recording_s : float or None
        Seconds from the first sample (as :attr:`Marker.time_s`).
    """

    time_s: float | None
    kind: str
    text: str
    recording_s: float | None


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
        ok = np.isfinite(st) & np.isfinite(ss)
        self.sample_time = st[ok]
        self.session_s = ss[ok]

    def __bool__(self) -> bool:
        return bool(self.sample_time.size)

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


def pause_text(start: float, end: float | None) -> str:
    if end is None:
        return "Paused until the end of the recording (the protocol clock stopped)"
    return f"Paused for {minutes(end - start)} (the protocol clock stopped)"


def timeline(
    markers: Sequence[Marker],
    events: Sequence[Event],
    clock: ProtocolClock,
    t0: float | None,
) -> tuple[TimelineEntry, ...]:
    """The markers and notes of the store and the pauses of ``events``, by time.

    On the protocol clock when ``clock`` has rows (else markers keep their time from the first
    sample, and pauses are listed at theirs); ``t0``: the sample time markers count from.
    """
    out = []
    for m in markers:
        t = None
        if m.time_s is not None and math.isfinite(m.time_s):
            t = clock.at(t0 + m.time_s) if clock and t0 is not None else m.time_s
        out.append(TimelineEntry(t, m.kind, m.text, m.time_s))
    for start, end in pauses(events):
        rec = start - t0 if t0 is not None else None
        t = clock.at(start) if clock else rec
        out.append(TimelineEntry(t, PAUSE_KIND, pause_text(start, end), rec))
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


def paused_seconds(events: Iterable[Event]) -> tuple[int, float]:
    """(number of pauses, seconds paused) — a pause not resumed counts 0 seconds."""
    found = pauses(events)
    return len(found), sum(end - start for start, end in found if end is not None)


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
    return ResonanceResult(rates, number_or_nan(best.group(1)))
