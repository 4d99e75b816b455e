"""Clinic-monitor bookkeeping: which biotrainer stations are on the network and how they are.

Qt-free so it can be tested headless; :mod:`biotrainer.ui.monitor` only renders
:meth:`StationTracker.stations`. The tracker finds metrics streams (type ``Metrics``, name
``biotrainer-metrics-*``, see :mod:`biotrainer.net.lsl_outlets`) with a
:class:`pylsl.ContinuousResolver`, opens one inlet per station, and on every
:meth:`StationTracker.update` pulls what arrived (never waiting) and decides each station's state:

* ``LIVE``: samples arrive and the signal is clean (or became unclean only briefly);
* ``SIGNAL_LOST``: samples arrive but ``quality_ok`` has been 0 for ``signal_lost_after_s``
  (electrode off, device silent: the station's engine keeps sending heartbeats with quality 0);
* ``STREAM_LOST``: no sample for ``stream_lost_after_s`` (the station stopped, crashed or left the
  network), or the resolver no longer sees the stream;
* ``CONNECTING``: found, no sample yet.

A station that disappeared stays in the list, flagged, until :meth:`StationTracker.forget` is
called (a therapist must see that a station went away). A restarted station (same source_id)
takes its row back.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pylsl
from pylsl.util import LostError

from biotrainer.net.lsl_outlets import METRIC_CHANNELS, METRICS_NAME_PREFIX, METRICS_TYPE

NAN = math.nan
_INDEX = {label: i for i, (label, _) in enumerate(METRIC_CHANNELS)}

#: XPath predicate of the resolver.
METRICS_PREDICATE = f"type='{METRICS_TYPE}' and starts-with(name,'{METRICS_NAME_PREFIX}')"


class StationState(enum.Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    SIGNAL_LOST = "signal lost"
    STREAM_LOST = "stream lost"


@dataclass(frozen=True)
class StationStatus:
    """What the monitor shows for one station (a snapshot).

    Attributes
    ----------
    key : str
        The metrics stream's source_id (stable across restarts of the station).
    station, patient_code, protocol, hostname : str
    phases : tuple of str
        Phase names of the protocol.
    phase_index : int
        -1 before any sample.
    phase_name : str
        "" when unknown, "Finished" after the last phase.
    feedback_score, relaxation, hr_bpm, rmssd_ms, coherence, breathing_bpm : float
        Latest values (NaN when absent), units as in the metrics stream.
    quality_ok : bool or None
        Latest quality flag (None before any sample).
    rewarded : bool
    state : StationState
    alert : str
        "" when live, else a short sentence for the therapist.
    silent_s : float
        Seconds since the last sample (since discovery when none yet).
    samples : int
        Samples received.
    """

    key: str
    station: str
    patient_code: str
    protocol: str
    hostname: str
    phases: tuple[str, ...]
    phase_index: int
    phase_name: str
    feedback_score: float
    relaxation: float
    hr_bpm: float
    rmssd_ms: float
    coherence: float
    breathing_bpm: float
    quality_ok: bool | None
    rewarded: bool
    state: StationState
    alert: str
    silent_s: float
    samples: int


@dataclass
class _Station:
    key: str
    uid: str
    station: str
    hostname: str
    found_at: float
    inlet: Any = None
    described: bool = False
    patient_code: str = ""
    protocol: str = ""
    phases: tuple[str, ...] = ()
    values: np.ndarray = field(default_factory=lambda: np.full(len(METRIC_CHANNELS), NAN))
    samples: int = 0
    last_sample_at: float | None = None
    last_clean_at: float | None = None
    visible: bool = True
    gone: bool = False  # the inlet reported the stream lost for good


def read_description(info: pylsl.StreamInfo) -> dict[str, Any]:
    """station, patient_code, protocol and phase names from a full metrics StreamInfo."""
    desc = info.desc()
    phases = []
    ph = desc.child("phases").child("phase")
    while not ph.empty():
        phases.append(ph.child_value("name"))
        ph = ph.next_sibling("phase")
    return {
        "station": desc.child_value("station"),
        "patient_code": desc.child_value("patient_code"),
        "protocol": desc.child_value("protocol"),
        "phases": tuple(phases),
    }


def _open_inlet(info: pylsl.StreamInfo) -> pylsl.StreamInlet:
    return pylsl.StreamInlet(
        info, max_buflen=10, recover=True, processing_flags=pylsl.proc_clocksync
    )


class StationTracker:
    """Discovers biotrainer metrics streams and keeps each station's latest state.

    Parameters
    ----------
    resolver : object with ``results()``, optional
        Default: ``pylsl.ContinuousResolver(pred=METRICS_PREDICATE, forget_after=...)``.
    open_inlet : callable, optional
        StreamInfo -> inlet (``pull_chunk``, ``info``); injectable for tests.
    stream_lost_after_s : float
        No sample for this long (tracker time) -> ``STREAM_LOST``.
    signal_lost_after_s : float
        ``quality_ok`` 0 for this long -> ``SIGNAL_LOST``.
    resolve_every_s : float
        How often the resolver's results are read.
    forget_after_s : float
        The default resolver's ``forget_after``: a vanished stream is dropped from its results
        after this long.
    """

    def __init__(
        self,
        resolver: Any = None,
        open_inlet: Callable[[pylsl.StreamInfo], Any] = _open_inlet,
        *,
        stream_lost_after_s: float = 5.0,
        signal_lost_after_s: float = 5.0,
        resolve_every_s: float = 1.0,
        forget_after_s: float = 5.0,
    ) -> None:
        self.resolver = resolver or pylsl.ContinuousResolver(
            pred=METRICS_PREDICATE, forget_after=forget_after_s
        )
        self.open_inlet = open_inlet
        self.stream_lost_after_s = float(stream_lost_after_s)
        self.signal_lost_after_s = float(signal_lost_after_s)
        self.resolve_every_s = float(resolve_every_s)
        self._stations: dict[str, _Station] = {}
        self._last_resolve = -math.inf

    # -- the loop ----------------------------------------------------------------------------

    def update(self, now: float) -> list[StationStatus]:
        """Read the resolver (every ``resolve_every_s``), pull every inlet; return
        :meth:`stations` as of ``now`` (seconds on the caller's clock)."""
        if now - self._last_resolve >= self.resolve_every_s:
            self._last_resolve = now
            self._resolve(now)
        for st in self._stations.values():
            self._pull(st, now)
        return self.stations(now)

    def _resolve(self, now: float) -> None:
        seen: set[str] = set()
        for info in self.resolver.results():
            name = info.name()
            if not name.startswith(METRICS_NAME_PREFIX) or info.type() != METRICS_TYPE:
                continue
            key = info.source_id() or name
            seen.add(key)
            st = self._stations.get(key)
            if st is not None and st.uid == info.uid() and not st.gone:
                st.visible = True
                continue
            # New station, or the same station restarted (new uid): (re)open its inlet.
            self._stations[key] = _Station(
                key=key,
                uid=info.uid(),
                station=name[len(METRICS_NAME_PREFIX) :],
                hostname=info.hostname(),
                found_at=now,
                inlet=self.open_inlet(info),
            )
        for key, st in self._stations.items():
            if key not in seen:
                st.visible = False

    def _pull(self, st: _Station, now: float) -> None:
        if st.inlet is None:
            return
        if not st.described:
            try:
                d = read_description(st.inlet.info(timeout=0.2))
            except (pylsl.util.TimeoutError, LostError):
                d = None
            if d is not None:
                st.station = d["station"] or st.station
                st.patient_code = d["patient_code"]
                st.protocol = d["protocol"]
                st.phases = d["phases"]
                st.described = True
        try:
            values, _ = st.inlet.pull_chunk(timeout=0.0, max_samples=1024, as_numpy=True)
        except LostError:
            st.gone = True
            st.inlet = None
            return
        values = np.asarray(values, dtype=float)
        if values.size == 0:
            return
        values = values.reshape(-1, len(METRIC_CHANNELS))
        st.values = values[-1].copy()
        st.samples += values.shape[0]
        st.last_sample_at = now
        # Time of the last clean sample; the first sample starts the clock of an unclean signal.
        if st.last_clean_at is None or np.any(values[:, _INDEX["quality_ok"]] > 0.5):
            st.last_clean_at = now

    # -- results -----------------------------------------------------------------------------

    def stations(self, now: float) -> list[StationStatus]:
        """Every known station (sorted by station name) as of ``now``."""
        return [self._status(st, now) for st in sorted(self._stations.values(), key=_order)]

    def forget(self, key: str) -> None:
        """Drop a station (e.g. one the therapist has acknowledged as gone)."""
        self._stations.pop(key, None)

    def close(self) -> None:
        """Close every inlet and the resolver."""
        for st in self._stations.values():
            st.inlet = None
        self._stations.clear()
        self.resolver = None

    def _status(self, st: _Station, now: float) -> StationStatus:
        v = st.values
        silent = now - (st.last_sample_at if st.last_sample_at is not None else st.found_at)
        q = v[_INDEX["quality_ok"]]
        quality = None if st.samples == 0 or math.isnan(q) else bool(q > 0.5)
        if (
            st.gone
            or silent > self.stream_lost_after_s
            or (not st.visible and silent > self.resolve_every_s)
        ):
            state = StationState.STREAM_LOST
            alert = f"no data for {silent:.0f} s: stream lost"
        elif st.samples == 0:
            state, alert = StationState.CONNECTING, ""
        elif (
            quality is False
            and st.last_clean_at is not None
            and now - st.last_clean_at >= self.signal_lost_after_s
        ):
            state = StationState.SIGNAL_LOST
            alert = f"signal lost for {now - st.last_clean_at:.0f} s"
        else:
            state, alert = StationState.LIVE, ""
        pi = v[_INDEX["phase_index"]]
        phase_index = int(pi) if math.isfinite(pi) else -1
        if 0 <= phase_index < len(st.phases):
            phase_name = st.phases[phase_index]
        elif st.phases and phase_index >= len(st.phases):
            phase_name = "Finished"
        else:
            phase_name = ""
        return StationStatus(
            key=st.key,
            station=st.station,
            patient_code=st.patient_code,
            protocol=st.protocol,
            hostname=st.hostname,
            phases=st.phases,
            phase_index=phase_index,
            phase_name=phase_name,
            feedback_score=float(v[_INDEX["feedback_score"]]),
            relaxation=float(v[_INDEX["relaxation"]]),
            hr_bpm=float(v[_INDEX["hr_bpm"]]),
            rmssd_ms=float(v[_INDEX["rmssd_ms"]]),
            coherence=float(v[_INDEX["coherence"]]),
            breathing_bpm=float(v[_INDEX["breathing_bpm"]]),
            quality_ok=quality,
            rewarded=bool(v[_INDEX["rewarded"]] > 0.5),
            state=state,
            alert=alert,
            silent_s=float(silent),
            samples=st.samples,
        )


def _order(st: _Station) -> tuple[str, str]:
    return (st.station, st.key)
