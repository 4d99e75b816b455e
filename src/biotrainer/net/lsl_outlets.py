"""Lab Streaming Layer outlets: the raw signals and the live metrics of one station.

Opt-in (``--lsl``, off by default). LSL is unauthenticated and discoverable by anyone on the
local network, so the streams carry a pseudonymous patient code, never a name.

Streams (``<station>`` is the station name given with ``--lsl``, e.g. ``room1``)
------------------------------------------------------------------------------

| signal        | name                         | type    | source_id                    | rate   |
|---------------|------------------------------|---------|------------------------------|--------|
| EEG           | biotrainer-eeg-<station>     | EEG     | biotrainer-<station>-eeg     | device |
| ECG           | biotrainer-ecg-<station>     | ECG     | biotrainer-<station>-ecg     | device |
| PPG           | biotrainer-ppg-<station>     | PPG     | biotrainer-<station>-ppg     | device |
| breathing     | biotrainer-resp-<station>    | RESP    | biotrainer-<station>-resp    | device |
| EDA           | biotrainer-eda-<station>     | EDA     | biotrainer-<station>-eda     | device |
| accelerometer | biotrainer-accel-<station>   | ACC     | biotrainer-<station>-accel   | device |
| gyroscope     | biotrainer-gyro-<station>    | GYRO    | biotrainer-<station>-gyro    | device |
| temperature   | biotrainer-temp-<station>    | TEMP    | biotrainer-<station>-temp    | device |
| metrics       | biotrainer-metrics-<station> | Metrics | biotrainer-<station>-metrics | irreg. |

Every stream is ``float32``. Only the roles the device has get an outlet. Raw streams carry,
following the XDF meta-data conventions, ``desc/channels/channel`` (``label``, ``unit``,
``type``), ``desc/acquisition`` (``manufacturer`` = ``biotrainer``, ``model`` = device
profile) and ``desc/station``, ``desc/patient_code``.

Metrics stream channels (one sample per engine update, ~10 per second)
----------------------------------------------------------------------

=================  ===========  ==============================================================
channel            unit         meaning
=================  ===========  ==============================================================
feedback_score     normalized   0-1 feedback; 0.5 = the reward threshold; NaN = hold still
relaxation         normalized   EEG relaxation index 0-1 (NaN without EEG)
hr_bpm             bpm          heart rate (NaN without ECG/PPG/RR)
rmssd_ms           ms           RMSSD of the last 60 s of beats
coherence          ratio        HeartMath-style coherence ratio (dimensionless, >= 0)
breathing_bpm      breaths/min  breathing rate: counted on a respiration belt when the device
                                has one, else estimated from the RR series
quality_ok         bool         1 = every signal the feedback uses is clean; 0 = not
                                (artifact, "signal lost", device without the needed signal)
phase_index        index        protocol phase (0-based); number of phases once finished;
                                -2 in the last sample of a session stopped before its end
rewarded           bool         1 = reward given in a training phase
=================  ===========  ==============================================================

When a session ends, :meth:`LslOutlets.close` sends one last metrics sample (the latest values,
``phase_index`` the number of phases if the protocol finished, else -2) and, while someone
reads the stream, keeps the stream on the air :data:`LAST_SAMPLE_WAIT_S` longer (on a timer
thread: nothing waits) so that they pull it; a monitor can tell a session that ended from a
station that went away.

The metrics stream description has ``desc/station``, ``desc/patient_code`` (pseudonymous code,
empty when none), ``desc/protocol`` (name), ``desc/protocol_title``, ``desc/phases/phase``
(``index``, ``name``, ``kind``, ``duration_s``) and ``desc/schema`` (``biotrainer-metrics-1``).

Timestamps
----------
Samples carry LSL time (:func:`pylsl.local_clock`). BrainFlow timestamps (Unix seconds) or
replayed/simulated timestamps are mapped with one offset shared by every outlet of the station:
at the first push, ``offset = local_clock() - newest timestamp`` (the newest sample is taken to
be "now", its transport age being unknown), and every sample is stamped ``timestamp + offset``.
The spacing of the device's own timestamps is kept, and raw and metric streams stay aligned. The
offset is taken again when the mapped time of the newest sample is more than
:data:`RESYNC_AHEAD_S` ahead of ``local_clock()`` (samples cannot come from the future: the first
push was late, accelerated replay, a clock jump) or more than :data:`RESYNC_BEHIND_S` behind it
(a replay jump, a device clock reset); a backlog of a few seconds from a device is left alone. A
metric sample is stamped with the mapped time of its ``sample_time`` (the newest data it was
computed from), or with ``local_clock()`` when that is outside the same window (heartbeat
updates while the signal is lost).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Sequence

import numpy as np
import pylsl
from pylsl.info import XMLElement

from biotrainer import __version__
from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.source import SourceLayout, SourceState
from biotrainer.errors import BiotrainerError
from biotrainer.net.lsl_config import configure_liblsl

configure_liblsl()  # before liblsl's first use

#: Stream type of each role's raw outlet (roles without an entry get no outlet).
ROLE_TYPES = {
    "eeg": "EEG",
    "ecg": "ECG",
    "ppg": "PPG",
    "resp": "RESP",
    "eda": "EDA",
    "accel": "ACC",
    "gyro": "GYRO",
    "temp": "TEMP",
}

#: biotrainer unit -> unit word of the XDF meta-data conventions.
XDF_UNITS = {
    "uV": "microvolts",
    "mV": "millivolts",
    "V": "volts",
    "uS": "microsiemens",
    "degC": "celsius",
    "g": "g",
    "deg/s": "degrees/s",
    "a.u.": "a.u.",
    "ms": "ms",
}

#: Metrics channels in stream order: (label, unit).
METRIC_CHANNELS: tuple[tuple[str, str], ...] = (
    ("feedback_score", "normalized"),
    ("relaxation", "normalized"),
    ("hr_bpm", "bpm"),
    ("rmssd_ms", "ms"),
    ("coherence", "ratio"),
    ("breathing_bpm", "breaths/min"),
    ("quality_ok", "bool"),
    ("phase_index", "index"),
    ("rewarded", "bool"),
)

_PHASE_INDEX, _REWARDED = ([label for label, _ in METRIC_CHANNELS].index(c)
                            for c in ("phase_index", "rewarded"))  # fmt: skip

METRICS_TYPE = "Metrics"
METRICS_NAME_PREFIX = "biotrainer-metrics-"
METRICS_SCHEMA = "biotrainer-metrics-1"
MANUFACTURER = "biotrainer"

#: ``phase_index`` of the last sample of a session stopped before its protocol's end.
STOPPED_PHASE_INDEX = -2
#: How long the streams stay on the air after :meth:`LslOutlets.close` while someone reads them
#: (s): an inlet cannot pull what had arrived once its stream is gone, and the monitor pulls
#: four times a second.
LAST_SAMPLE_WAIT_S = 1.0

#: Mapped time this far ahead of / behind local_clock() (s) re-anchors the timestamp offset.
RESYNC_AHEAD_S = 0.25
RESYNC_BEHIND_S = 5.0

_STATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_PATIENT = re.compile(r"[A-Za-z0-9_.-](?:[A-Za-z0-9 _.-]{0,62}[A-Za-z0-9_.-])?")


def check_code(value: str, what: str) -> str:
    """Return ``value`` if it is a valid station name or patient code, else raise.

    A station name (part of every stream name) is 1-32 ASCII letters, digits, ``_ . -``,
    starting with a letter or digit. A patient code (``what`` containing "patient") is 1-64 of
    those characters and inner spaces. The patient store gives new codes these characters
    only (:data:`biotrainer.session.store.CODE_RULE`), but codes stored by older versions may
    hold others, so callers check a code here before a session starts. Only the pseudonymous
    code is ever passed here, never the store's name field.

    Raises
    ------
    BiotrainerError
    """
    patient = "patient" in what
    pattern = _PATIENT if patient else _STATION
    if not isinstance(value, str) or not pattern.fullmatch(value):
        count, spaces = ("1-64", ", inner spaces") if patient else ("1-32", "")
        why = " (a pseudonymous code, never a person's name)" if patient else ""
        first = "" if patient else ", starting with a letter or digit"
        raise BiotrainerError(
            f"the {what} {value!r} is not valid for LSL: use {count} ASCII letters (A-Z, a-z), "
            f"digits{spaces}, '_', '.' or '-'{first}{why}"
        )
    return value


def check_names(station: str, patient_code: str | None = None) -> tuple[str, str]:
    """``(station, patient_code)`` if both can name LSL streams (:func:`check_code`; no code:
    ``""``), else raise: what ``run --lsl``, the trainer window and :class:`LslOutlets` check
    before anything streams.

    Raises
    ------
    BiotrainerError
    """
    station = check_code(station, "station name")
    code = check_code(patient_code, "patient code") if patient_code not in (None, "") else ""
    return station, code


def raw_stream_name(role: str, station: str) -> str:
    """Name of the raw outlet of ``role`` (``biotrainer-eeg-room1``)."""
    return f"biotrainer-{role}-{station}"


def raw_source_id(role: str, station: str) -> str:
    """source_id of the raw outlet of ``role`` (``biotrainer-room1-eeg``)."""
    return f"biotrainer-{station}-{role}"


def metrics_stream_name(station: str) -> str:
    """Name of the metrics outlet (``biotrainer-metrics-room1``)."""
    return METRICS_NAME_PREFIX + station


def metrics_source_id(station: str) -> str:
    """source_id of the metrics outlet (``biotrainer-room1-metrics``)."""
    return f"biotrainer-{station}-metrics"


class TimeMap:
    """Maps source timestamps to LSL time with one re-anchored offset (see module docstring).

    Parameters
    ----------
    lsl_clock : callable
        Returns LSL time now (:func:`pylsl.local_clock`; injectable for tests).
    ahead_s, behind_s : float
        Re-anchoring window, s.
    """

    def __init__(
        self,
        lsl_clock: Callable[[], float] = pylsl.local_clock,
        ahead_s: float = RESYNC_AHEAD_S,
        behind_s: float = RESYNC_BEHIND_S,
    ) -> None:
        self.lsl_clock = lsl_clock
        self.ahead_s = float(ahead_s)
        self.behind_s = float(behind_s)
        self.offset: float | None = None
        self.resyncs = 0

    def _inside(self, mapped: float, now: float) -> bool:
        return -self.behind_s <= mapped - now <= self.ahead_s

    def map_block(self, timestamps: np.ndarray) -> np.ndarray:
        """LSL times of a block of samples (re-anchoring on its newest sample if needed)."""
        now = self.lsl_clock()
        newest = float(timestamps[-1])
        if self.offset is None or not self._inside(newest + self.offset, now):
            if self.offset is not None:
                self.resyncs += 1
            self.offset = now - newest
        return np.asarray(timestamps, dtype=np.float64) + self.offset

    def map_point(self, t: float) -> float:
        """LSL time of one metric's data time; ``local_clock()`` when not mappable."""
        now = self.lsl_clock()
        if self.offset is None or not math.isfinite(t):
            return now
        mapped = t + self.offset
        return mapped if self._inside(mapped, now) else now


def _append(parent: XMLElement, name: str, value: object) -> None:
    parent.append_child_value(name, str(value))


def _channels(desc: XMLElement, labels: Sequence[str], unit: str, kind: str) -> None:
    chans = desc.append_child("channels")
    for label in labels:
        ch = chans.append_child("channel")
        _append(ch, "label", label)
        _append(ch, "unit", unit)
        _append(ch, "type", kind)


class LslOutlets:
    """The LSL outlets of one station: one raw outlet per role present, and a metrics outlet.

    Parameters
    ----------
    layout : SourceLayout
        The source's layout (roles, channel names, units, nominal rates).
    station : str
        Station name, part of every stream name (see :func:`check_code`).
    patient_code : str or None
        Pseudonymous patient code carried in the descriptions (never a name).
    protocol : Protocol, optional
        Protocol name and phase list for the metrics description.
    raw : bool
        Create the raw outlets (True) or only the metrics outlet.
    lsl_clock : callable
        LSL clock (injectable for tests).

    Notes
    -----
    Creating an outlet announces it on the network at once; :meth:`close` withdraws them.
    """

    def __init__(
        self,
        layout: SourceLayout,
        station: str,
        patient_code: str | None = None,
        *,
        protocol=None,
        raw: bool = True,
        lsl_clock: Callable[[], float] = pylsl.local_clock,
    ) -> None:
        self.station, self.patient_code = check_names(station, patient_code)
        self.layout = layout
        self.protocol = protocol
        self.time_map = TimeMap(lsl_clock)
        self._last_raw_stamp: dict[str, float] = {}
        self.raw_outlets: dict[str, pylsl.StreamOutlet] = {}
        self._closed = False
        if raw:
            for group in layout.groups:
                if group.role not in ROLE_TYPES:
                    continue
                fs = layout.preset(group.preset).fs
                self.raw_outlets[group.role] = pylsl.StreamOutlet(
                    self._raw_info(group.role, group.names, group.units, fs)
                )
        self.metrics_outlet = pylsl.StreamOutlet(self._metrics_info())
        self._metric_buf = np.full(len(METRIC_CHANNELS), math.nan, dtype=np.float32)
        self._last_metric_stamp = -math.inf  # (metric stamps never go back)

    # -- descriptions ------------------------------------------------------------------------

    def _common_desc(self, desc: XMLElement) -> None:
        acq = desc.append_child("acquisition")
        _append(acq, "manufacturer", MANUFACTURER)
        _append(acq, "model", self.layout.device)
        _append(acq, "software_version", __version__)
        _append(desc, "station", self.station)
        _append(desc, "patient_code", self.patient_code)

    def _raw_info(self, role: str, names: Sequence[str], units: str, fs: float) -> pylsl.StreamInfo:
        info = pylsl.StreamInfo(
            raw_stream_name(role, self.station),
            ROLE_TYPES[role],
            len(names),
            float(fs),
            pylsl.cf_float32,
            raw_source_id(role, self.station),
        )
        desc = info.desc()
        _channels(desc, names, XDF_UNITS.get(units, units), ROLE_TYPES[role])
        self._common_desc(desc)
        return info

    def _metrics_info(self) -> pylsl.StreamInfo:
        info = pylsl.StreamInfo(
            metrics_stream_name(self.station),
            METRICS_TYPE,
            len(METRIC_CHANNELS),
            pylsl.IRREGULAR_RATE,
            pylsl.cf_float32,
            metrics_source_id(self.station),
        )
        desc = info.desc()
        chans = desc.append_child("channels")
        for label, unit in METRIC_CHANNELS:
            ch = chans.append_child("channel")
            _append(ch, "label", label)
            _append(ch, "unit", unit)
            _append(ch, "type", "Metric")
        self._common_desc(desc)
        _append(desc, "schema", METRICS_SCHEMA)
        p = self.protocol
        _append(desc, "protocol", p.name if p is not None else "")
        _append(desc, "protocol_title", p.title if p is not None else "")
        phases = desc.append_child("phases")
        for i, ph in enumerate(p.phases if p is not None else ()):
            el = phases.append_child("phase")
            _append(el, "index", i)
            _append(el, "name", ph.name)
            _append(el, "kind", ph.kind)
            _append(el, "duration_s", ph.duration_s)
        return info

    # -- pushing -----------------------------------------------------------------------------

    def push_chunk(self, chunk: Chunk) -> int:
        """Send the new samples of every role that has an outlet; return the samples sent."""
        if self._closed:
            return 0
        sent = 0
        for role, outlet in self.raw_outlets.items():
            block = chunk.signals.get(role)
            if block is None or block.n_samples == 0:
                continue
            # (never back in time: a step back of the source's clock smaller than the time map
            # re-anchors for, an NTP correction, holds the stamps until it is made up)
            stamps = np.maximum.accumulate(
                np.maximum(
                    self.time_map.map_block(block.timestamps),
                    self._last_raw_stamp.get(role, -math.inf),
                )
            )
            self._last_raw_stamp[role] = float(stamps[-1])
            outlet.push_chunk(
                np.ascontiguousarray(block.samples.T, dtype=np.float32), stamps.tolist()
            )
            sent += block.n_samples
        return sent

    def push_update(self, update) -> None:
        """Send one :class:`~biotrainer.engine.updates.MetricUpdate` as a metrics sample."""
        if self._closed:
            return
        buf = self._metric_buf
        buf[0] = update.feedback_score
        buf[1] = update.relaxation
        buf[2] = update.hr_bpm
        buf[3] = update.rmssd_ms
        buf[4] = update.coherence
        buf[5] = update.breathing_bpm
        buf[6] = 1.0 if update.quality_ok else 0.0
        buf[7] = update.phase_index
        buf[8] = 1.0 if update.rewarded else 0.0
        # (never back in time: after a gap the "signal lost" updates are stamped now, the
        # data's own later ones would map a few seconds earlier)
        stamp = max(self.time_map.map_point(update.sample_time), self._last_metric_stamp)
        self._last_metric_stamp = stamp
        self.metrics_outlet.push_sample(buf, stamp)

    def stream_names(self) -> list[str]:
        """Names of every outlet (raw first, then metrics)."""
        names = [raw_stream_name(r, self.station) for r in self.raw_outlets]
        return [*names, metrics_stream_name(self.station)]

    def close(self) -> None:
        """Say the session ended and withdraw every outlet from the network (idempotent).

        The last metrics sample tells readers whether the protocol finished (``phase_index`` =
        number of phases) or the session was stopped before (:data:`STOPPED_PHASE_INDEX`).
        """
        if self._closed:
            return
        self._closed = True
        n_phases = len(self.protocol.phases) if self.protocol is not None else 0
        buf = self._metric_buf  # the latest values stay: the monitor keeps showing them
        buf[_REWARDED] = 0.0
        # (the latest sample's phase: NaN when none was sent)
        finished = self.protocol is not None and buf[_PHASE_INDEX] >= n_phases
        buf[_PHASE_INDEX] = n_phases if finished else STOPPED_PHASE_INDEX
        stamp = max(self.time_map.lsl_clock(), self._last_metric_stamp)
        self.metrics_outlet.push_sample(buf, stamp)
        if self.metrics_outlet.have_consumers():
            # (the timer holds the outlets: dropping its last reference destroys each one)
            keep = [self.metrics_outlet, *self.raw_outlets.values()]
            threading.Timer(LAST_SAMPLE_WAIT_S, keep.clear).start()
        # Dropping the last reference destroys the liblsl outlet.
        self.raw_outlets.clear()
        self.metrics_outlet = None  # type: ignore[assignment]

    def __enter__(self) -> LslOutlets:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LslTee:
    """A Source that serves another source unchanged and sends every polled chunk to outlets.

    Lets the engine stay unaware of LSL: ``Engine(LslTee(source, outlets), ...)``. Everything
    else (``layout``, ``state``, extras such as ``position_s``) is the wrapped source's.

    Parameters
    ----------
    source : Source
    outlets : LslOutlets
        Receives :meth:`LslOutlets.push_chunk` of every non-empty chunk.
    """

    def __init__(self, source, outlets: LslOutlets) -> None:
        self.source = source
        self.outlets = outlets

    @property
    def state(self) -> SourceState:
        return self.source.state

    @property
    def layout(self) -> SourceLayout:
        return self.source.layout

    def prepare(self) -> None:
        self.source.prepare()

    def start(self) -> None:
        self.source.start()

    def poll(self) -> Chunk:
        chunk = self.source.poll()
        if not chunk.empty:
            self.outlets.push_chunk(chunk)
        return chunk

    def stop(self) -> None:
        self.source.stop()

    def release(self) -> None:
        self.source.release()

    def __getattr__(self, name: str):
        return getattr(self.source, name)
