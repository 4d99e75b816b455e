"""Clinic-monitor bookkeeping: which biotrainer stations are on the network and how they are.

Qt-free so it can be tested headless; :mod:`biotrainer.ui.monitor` only renders
:meth:`StationTracker.stations`. The tracker finds metrics streams (type ``Metrics``, name
``biotrainer-metrics-*``, see :mod:`biotrainer.net.lsl_outlets`) with a
:class:`pylsl.ContinuousResolver`, opens one inlet per stream, and on every
:meth:`StationTracker.update` pulls what arrived (never waiting) and decides each station's state:

* ``LIVE``: samples arrive and the signal is clean (or became unclean only briefly);
* ``SIGNAL_LOST``: samples arrive but ``quality_ok`` has been 0 for ``signal_lost_after_s``
  (electrode off, device silent: the station's engine keeps sending heartbeats with quality 0);
* ``STREAM_LOST``: no sample for ``stream_lost_after_s`` (the station stopped, crashed or left the
  network), or the resolver no longer sees the stream;
* ``CONNECTING``: found, no sample yet;
* ``ENDED``: the station's latest sample says its session ended (the protocol finished, or the
  session was stopped: see :meth:`biotrainer.net.lsl_outlets.LslOutlets.close`), so its stream
  going away is no alarm;
* ``INCOMPATIBLE``: a stream named like a metrics stream that is not one as this version of
  biotrainer publishes it (another channel count or format, another or no ``desc/schema``): a
  foreign program, or a station of another version. It is shown as such, no value of it is read,
  it takes part in nothing else (names used twice, restarts), and it leaves the list when its
  stream goes.

Values are taken as sent only when finite and, for those shown, within the range a station sends
(:data:`VALUE_RANGES`); any other (1e30, infinity, a negative heart rate) is shown as unknown.

A station that disappeared stays in the list, flagged, until :meth:`StationTracker.forget` is
called (a therapist must see that a station went away); so does one whose session ended.

Every stream (LSL uid) is its own station with its own inlet, so values of two streams are never
mixed. Two streams with the same station name on the air at once (two rooms both started as
``--lsl roomA``) are both listed, each saying that the name is used twice
(:attr:`StationStatus.alert`, :attr:`StationStatus.same_name`). A stream that went silent is
replaced by a newer stream with the same source_id that sends (a restarted station takes its row
back).

Nothing here waits: inlets are opened without clock synchronisation (the monitor uses no
timestamps, and liblsl's first clock-offset estimate blocks the first pull for ~0.65 s), and the
stream description is asked for with a near-zero timeout and taken on a later update when it is
not there yet.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pylsl
from pylsl.util import LostError

from biotrainer.net.lsl_outlets import (
    METRIC_CHANNELS,
    METRICS_NAME_PREFIX,
    METRICS_SCHEMA,
    METRICS_TYPE,
    STOPPED_PHASE_INDEX,
)

NAN = math.nan
_INDEX = {label: i for i, (label, _) in enumerate(METRIC_CHANNELS)}

#: Channel format of biotrainer's metrics outlet (every biotrainer stream is float32).
METRICS_FORMAT = pylsl.cf_float32
#: What the monitor says of a stream that is not a biotrainer metrics stream of this version.
INCOMPATIBLE_ALERT = "not a biotrainer station, or another version"

#: The range (low, high) of the values a station sends that the monitor shows or acts on; the
#: others need only be finite, and ``phase_index`` is checked apart.
VALUE_RANGES: dict[str, tuple[float, float]] = {
    "feedback_score": (0.0, 1.0),
    "hr_bpm": (10.0, 300.0),  # RR intervals of 6000-200 ms (biotrainer.dsp.hrv.RR_RANGE_MS)
    "rmssd_ms": (0.0, 6000.0),
    "quality_ok": (0.0, 1.0),
    "rewarded": (0.0, 1.0),
}
_ANY = (-math.inf, math.inf)
_LOW, _HIGH = (
    np.array([VALUE_RANGES.get(label, _ANY)[i] for label, _ in METRIC_CHANNELS]) for i in (0, 1)
)

#: XPath predicate of the resolver.
METRICS_PREDICATE = f"type='{METRICS_TYPE}' and starts-with(name,'{METRICS_NAME_PREFIX}')"


class StationState(enum.Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    SIGNAL_LOST = "signal lost"
    STREAM_LOST = "stream lost"
    ENDED = "session ended"
    INCOMPATIBLE = "incompatible"


@dataclass(frozen=True)
class StationStatus:
    """What the monitor shows for one station (a snapshot).

    Attributes
    ----------
    key : str
        Identifies the tile: the metrics stream's source_id (stable across restarts of the
        station); a second stream with that source_id on the air at the same time gets
        ``source_id/uid``.
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
    uid : str
        The LSL uid of the stream shown.
    same_name : int
        Streams on the air with this station name, this one included, when more than one (the
        alert then says so); 0 otherwise.
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
    uid: str = ""
    same_name: int = 0


@dataclass
class _Station:
    key: str
    uid: str
    source_id: str
    station: str
    hostname: str
    found_at: float
    order_at: float  # where the station is listed among those of its name (found_at at first)
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
    gone: bool = False  # the inlet reported the stream lost (until a sample comes again)
    superseded: bool = False  # replaced by a newer stream of the same station: hidden
    superseded_at: float = -math.inf
    dismissed_at: float | None = None  # removed from the list by the therapist (forget)
    incompatible: bool = False  # not a biotrainer metrics stream of this version: not read


def read_description(info: pylsl.StreamInfo) -> dict[str, Any]:
    """station, patient_code, protocol, phase names and schema from a full metrics StreamInfo."""
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
        "schema": desc.child_value("schema"),
    }


def is_metrics_shaped(info: pylsl.StreamInfo) -> bool:
    """Whether a stream has the channel count and format of biotrainer's metrics outlet (its
    schema is known only with its full description, see :func:`read_description`)."""
    return info.channel_count() == len(METRIC_CHANNELS) and info.channel_format() == METRICS_FORMAT


def _open_inlet(info: pylsl.StreamInfo) -> pylsl.StreamInlet:
    # No proc_clocksync: the monitor ignores timestamps, and the first clock-offset estimate
    # blocks the first pull_chunk with data for ~0.65 s (the GUI thread froze on every new inlet).
    # No recover: liblsl would reconnect a broken inlet to any stream with the same source_id,
    # i.e. to the other station of a name used twice, or to a restarted station (new patient)
    # under the old one's description. A lost stream raises LostError; the tracker reopens an
    # inlet to the same uid if the resolver still lists it, and a restart is a new stream.
    return pylsl.StreamInlet(info, max_buflen=10, recover=False)


_NUMBERS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort key putting room2 before room10 (digit runs compared as numbers)."""
    return tuple(
        (0, int(part), part) if part.isdigit() else (1, 0, part.casefold())
        for part in _NUMBERS.split(text)
        if part
    )


_COUNT_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}


class StationTracker:
    """Discovers biotrainer metrics streams and keeps each station's latest state.

    One entry per stream (LSL uid). A stream that fell silent and is followed by a newer stream
    of the same station (same source_id) was restarted: the newer one takes its row. Streams with
    one station name on the air together are all listed, each with an alert saying so.

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
    on_air_within_s : float
        A stream that sent a sample within this long (or was found this long ago and has sent
        nothing yet) counts as on the air: two such streams with the same station name are
        flagged. Stations send at least two samples a second (heartbeats).
    info_timeout_s : float
        How long one update waits for a new inlet's stream description (asked again on the
        next update until it comes).
    """

    #: A stream silent this long (s) while a newer stream of its station is found was restarted.
    RESTART_SILENCE_S = 1.0

    def __init__(
        self,
        resolver: Any = None,
        open_inlet: Callable[[pylsl.StreamInfo], Any] = _open_inlet,
        *,
        stream_lost_after_s: float = 5.0,
        signal_lost_after_s: float = 5.0,
        resolve_every_s: float = 1.0,
        forget_after_s: float = 5.0,
        on_air_within_s: float = 2.0,
        info_timeout_s: float = 0.01,
    ) -> None:
        self.resolver = resolver or pylsl.ContinuousResolver(
            pred=METRICS_PREDICATE, forget_after=forget_after_s
        )
        self.open_inlet = open_inlet
        self.stream_lost_after_s = float(stream_lost_after_s)
        self.signal_lost_after_s = float(signal_lost_after_s)
        self.resolve_every_s = float(resolve_every_s)
        self.on_air_within_s = float(on_air_within_s)
        self.info_timeout_s = float(info_timeout_s)
        self._stations: dict[str, _Station] = {}  # by uid
        self._last_resolve = -math.inf

    # -- the loop ----------------------------------------------------------------------------

    def update(self, now: float) -> list[StationStatus]:
        """Read the resolver (every ``resolve_every_s``), pull every inlet; return
        :meth:`stations` as of ``now`` (seconds on the caller's clock)."""
        resolve = now - self._last_resolve >= self.resolve_every_s
        if resolve:
            self._last_resolve = now
            self._resolve(now)
        for st in self._stations.values():
            self._pull(st, now)
        if resolve:
            self._settle(now)  # after the pull: a restarted station's first samples count
        return self.stations(now)

    def _resolve(self, now: float) -> None:
        listed: dict[str, Any] = {}
        for info in self.resolver.results():
            name = info.name()
            if not name.startswith(METRICS_NAME_PREFIX) or info.type() != METRICS_TYPE:
                continue
            listed[info.uid()] = info
        for uid, st in list(self._stations.items()):
            st.visible = uid in listed
            if (st.superseded or st.incompatible or _dismissed(st)) and not st.visible:
                del self._stations[uid]  # kept while listed, or it would come back as new
        for uid, info in listed.items():
            known = self._stations.get(uid)
            if known is not None:
                if known.inlet is None and not (known.superseded or known.incompatible):
                    # its inlet broke but the stream is still listed: try again (it stays
                    # flagged lost until a sample comes)
                    known.inlet = self.open_inlet(info)
                continue
            name = info.name()
            source_id = info.source_id() or name
            shaped = is_metrics_shaped(info)
            self._stations[uid] = _Station(
                key=self._free_key(source_id, uid),
                uid=uid,
                source_id=source_id,
                station=name[len(METRICS_NAME_PREFIX) :],
                hostname=info.hostname(),
                found_at=now,
                order_at=now,
                inlet=self.open_inlet(info) if shaped else None,
                incompatible=not shaped,
            )

    def _free_key(self, source_id: str, uid: str) -> str:
        taken = {st.key for st in self._stations.values() if not st.superseded}
        return source_id if source_id not in taken else f"{source_id}/{uid}"

    def _on_air(self, st: _Station, now: float) -> bool:
        """Sent a sample lately (or was found lately and has not sent yet)."""
        return (
            st.visible
            and not st.gone
            and not st.incompatible
            and now - _last_heard(st) <= self.on_air_within_s
        )

    def _settle(self, now: float) -> None:
        """A stream silent for ``RESTART_SILENCE_S`` that has sent nothing since a newer stream
        of the same station (source_id) appeared was restarted: hide it, the newest takes its
        row. A hidden stream that sends again was no restart (two stations, one name): shown.
        """
        for st in self._stations.values():
            if st.superseded and _last_heard(st) > st.superseded_at:
                st.superseded = False
                st.key = self._free_key(st.source_id, st.uid)
        groups: dict[str, list[_Station]] = {}
        for st in self._stations.values():
            if not (st.superseded or st.incompatible):
                groups.setdefault(st.source_id, []).append(st)
        for group in groups.values():
            if len(group) < 2:
                continue
            for old in group:
                last = _last_heard(old)
                if not old.gone and now - last <= self.RESTART_SILENCE_S:
                    continue  # still sending
                # Found after old fell silent (a second station found while old was sending is
                # not a restart of it: old then stays, flagged when it stays silent).
                newer = [s for s in group if s.found_at > last and not s.superseded]
                if newer:
                    heir = max(newer, key=lambda s: s.found_at)
                    old.superseded, old.superseded_at = True, now
                    if old.key == old.source_id:
                        heir.key = old.key  # the restarted station takes its row back
                    heir.order_at = old.order_at  # and its place among those of its name
                    old.key = ""

    def _pull(self, st: _Station, now: float) -> None:
        if st.inlet is None:
            return
        if not st.described:
            try:
                d = read_description(st.inlet.info(timeout=self.info_timeout_s))
            except (pylsl.util.TimeoutError, LostError):
                d = None
            if d is not None and d["schema"] != METRICS_SCHEMA:
                self._set_incompatible(st)
                return
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
        if values.ndim != 2 or values.shape[1] != len(METRIC_CHANNELS):
            self._set_incompatible(st)  # (not the samples its stream info announced)
            return
        st.gone = False
        st.values = values[-1].copy()
        st.samples += values.shape[0]
        st.last_sample_at = now
        # Time of the last clean sample; the first sample starts the clock of an unclean signal.
        if st.last_clean_at is None or np.any(values[:, _INDEX["quality_ok"]] > 0.5):
            st.last_clean_at = now

    @staticmethod
    def _set_incompatible(st: _Station) -> None:
        """Stop reading a stream found not to be a biotrainer metrics stream of this version."""
        st.incompatible = True
        st.inlet = None
        st.values = np.full(len(METRIC_CHANNELS), NAN)

    # -- results -----------------------------------------------------------------------------

    def stations(self, now: float) -> list[StationStatus]:
        """Every known station (in natural order of station names: room2 before room10) as of
        ``now``."""
        shown = sorted(
            (st for st in self._stations.values() if not st.superseded and not _dismissed(st)),
            key=_order,
        )
        on_air: dict[str, int] = {}
        for st in shown:
            if self._on_air(st, now):
                on_air[st.station] = on_air.get(st.station, 0) + 1
        return [
            self._status(st, now, on_air[st.station] if self._on_air(st, now) else 0)
            for st in shown
        ]

    def forget(self, key: str) -> None:
        """Take a station off the list (one the therapist has seen end or go away).

        It comes back if its stream sends again; a restarted station (a new stream with the
        same source_id) is new anyway.
        """
        for st in self._stations.values():
            if st.key == key:
                st.dismissed_at = _last_heard(st)

    def close(self) -> None:
        """Close every inlet and the resolver."""
        for st in self._stations.values():
            st.inlet = None
        self._stations.clear()
        self.resolver = None

    def _status(self, st: _Station, now: float, same_name: int = 0) -> StationStatus:
        v = _in_range(st.values)
        silent = now - (st.last_sample_at if st.last_sample_at is not None else st.found_at)
        q = v[_INDEX["quality_ok"]]
        quality = None if st.samples == 0 or math.isnan(q) else bool(q > 0.5)
        phase_index = _phase_index(v[_INDEX["phase_index"]], st.phases)
        finished = bool(st.phases) and phase_index >= len(st.phases)
        if st.incompatible:
            state, alert = StationState.INCOMPATIBLE, INCOMPATIBLE_ALERT
        elif st.samples and (finished or phase_index == STOPPED_PHASE_INDEX):
            state = StationState.ENDED
            alert = "session finished" if finished else "session stopped before its end"
        elif (
            st.gone
            or silent > self.stream_lost_after_s
            or (not st.visible and silent > self.resolve_every_s)
        ):
            state = StationState.STREAM_LOST
            # (liblsl may report the loss at once: no "0 s")
            alert = f"no data for {silent:.0f} s: stream lost" if round(silent) else "stream lost"
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
        if same_name > 1:
            count = _COUNT_WORDS.get(same_name, str(same_name))
            clash = f"{count} stations use the name {st.station}: give each its own --lsl name"
            alert = f"{clash} ({alert})" if alert else clash
        else:
            same_name = 0
        if 0 <= phase_index < len(st.phases):
            phase_name = st.phases[phase_index]
        elif st.phases and phase_index >= len(st.phases):
            phase_name = "Finished"
        elif phase_index == STOPPED_PHASE_INDEX:
            phase_name = "Stopped"
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
            uid=st.uid,
            same_name=same_name,
        )


def _last_heard(st: _Station) -> float:
    return st.last_sample_at if st.last_sample_at is not None else st.found_at


def _dismissed(st: _Station) -> bool:
    """Forgotten, and silent since."""
    return st.dismissed_at is not None and _last_heard(st) <= st.dismissed_at


def _order(st: _Station) -> tuple:
    return (natural_key(st.station), st.order_at, st.key)


def _in_range(values: np.ndarray) -> np.ndarray:
    """``values`` with every value outside its channel's :data:`VALUE_RANGES` made NaN."""
    ok = np.isfinite(values) & (values >= _LOW) & (values <= _HIGH)
    return np.where(ok, values, NAN)


def _phase_index(value: float, phases: tuple[str, ...]) -> int:
    """The phase index ``value`` stands for: a phase, the number of phases (finished) or
    :data:`STOPPED_PHASE_INDEX`; -1 for anything else (NaN, 2.5, 1e30, beyond the protocol)."""
    last = len(phases) if phases else math.inf  # (the phases may not be known yet)
    if math.isfinite(value) and value == int(value):
        index = int(value)
        if index == STOPPED_PHASE_INDEX or 0 <= index <= last:
            return index
    return -1
