"""Any Lab Streaming Layer stream of EEG, ECG, PPG, breathing or RR intervals as a Source.

``LslSource(stream_name="Muse-1234", stream_type="EEG")`` finds the stream on the network
(:func:`pylsl.resolve_bypred`), opens an inlet and serves its samples like a BrainFlow board.

Stream types (case-insensitive) and the role they get
-----------------------------------------------------
``EEG`` -> ``eeg``, ``ECG`` -> ``ecg``, ``PPG`` -> ``ppg``, ``RESP`` -> ``resp``, ``RR`` or
``IBI`` -> ``rr``. Channel labels and units come from the stream's ``desc/channels/channel``
(XDF meta-data conventions); channels whose ``type`` names another modality (a Muse's "AUX",
accelerometer channels in an EEG stream) stay in the raw array but not in the role. EEG and ECG
given in volts, millivolts or nanovolts are scaled to microvolts, biotrainer's unit for them;
channels with no unit, or a unit biotrainer does not know, are taken as microvolts, and the
recording says so (a ``source_note`` event, :meth:`LslSource.take_events`). A stream
whose nominal rate biotrainer cannot process (EEG below 32 Hz, ECG below 100 Hz, PPG below
10 Hz: :data:`biotrainer.limits.ROLE_RATES_HZ`) is refused when it is opened, before anything
is recorded.

RR / IBI streams
----------------
One sample per heart beat: the interval (RR, inter-beat interval) that ended with that beat.
Values are converted to milliseconds: the unit is taken from the channel's ``unit`` when it says
``ms``/``milliseconds`` or ``s``/``seconds``; otherwise values below :data:`RR_SECONDS_BELOW`
(10) are taken to be seconds (a 10 s interval would be 6 beats per minute; 10 ms would be 6000),
larger ones milliseconds. The role ``rr`` has one channel ``"RR"`` in ``ms`` and a nominal rate
of 0 (irregular). Senders (a Polar strap bridge) often stamp several beats with the arrival
time of one Bluetooth notification, so the *values* are exact and the timestamps jittery: use
:func:`beat_times_from_rr` to turn them into beat times.

Time
----
The inlet uses liblsl's post-processing ``proc_clocksync`` only (sender time -> this machine's
LSL clock, from the clock offsets liblsl measures continuously; :meth:`LslSource.prepare` waits
for the first :meth:`pylsl.StreamInlet.time_correction` so the correction is known from the first
sample). Chunk timestamps are therefore in *this machine's LSL clock* (:func:`pylsl.local_clock`,
seconds; on Linux the monotonic clock since boot), not Unix time as with BrainFlow; they are
consistent within a session, which is all the engine and the recorder need.

Regular-rate streams are dejittered here, by :class:`Dejitterer`, not by liblsl's
``proc_dejitter``: liblsl fits the timestamps to the *count* of samples received, so a sender
that pauses for a few seconds and resumes (its own timestamps jumping over the pause) had the
pause smeared over the following samples, seconds off, with no jump for the recorder to mark as
a gap. :class:`Dejitterer` makes the same kind of fit (recursive least squares of timestamp on
sample number, half-life :data:`SMOOTHING_HALFTIME_S`, liblsl's default; timestamps never go
back) and, when the sender's timestamps run more than :data:`PAUSE_MIN_S` ahead of the fit and
the samples that follow keep the nominal rate from there, counts the pause as samples the sender
did not send: the timestamps keep the sender's jump and the recorder writes a ``gap`` event. To
tell a pause from a backlog stamped on arrival (all samples sent, none missing), the samples
after a jump are held until :data:`PAUSE_CONFIRM_S` of them arrived (or
:data:`PAUSE_HOLD_MAX_S` of the source's clock passed): once per pause, they reach the engine
that much later. Irregular streams (RR intervals) keep the sender's timestamps, clock-corrected.

A sender that quits
-------------------
The inlet is opened with liblsl's ``recover``, which follows a sender restarted with the same
source id (checked by :meth:`LslSource._check_same_stream`). The commands wrap the source in a
:class:`~biotrainer.acquisition.reconnect.ReconnectingSource` as they do a headset, so a sender
gone for a few seconds is "signal lost" and a fresh :class:`LslSource` looks for the stream by
name and type again: a sender back with another source id, or none, is taken on too. What the
session cannot use (another rate than announced, a restart with other channels) raises a
:class:`~biotrainer.errors.SourceRefusedError`, which ends the session instead of a re-open.

Raw layout and recordings
-------------------------
``Chunk.raw["default"]`` is a BrainFlow-like array: one row per stream channel (in stream
order, converted units), then a timestamp row: ``num_rows = n_channels + 1``,
``timestamp_row = n_channels``. The layout's ``board_id`` is :data:`LSL_BOARD_ID`,
BrainFlow's ``NO_BOARD`` (-100): no BrainFlow board has this row layout, so the recorded layout in
``session.json`` is the only description of the rows. Such a recording replays through
:class:`~biotrainer.acquisition.file_source.FileSource` (any speed); BrainFlow's playback board,
which needs a real master board, cannot play it.
"""

from __future__ import annotations

import contextlib
import math
import re

import numpy as np
import pylsl
from brainflow.board_shim import BoardIds
from pylsl.util import LostError

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.playback_rate import estimate_rate, rate_misread
from biotrainer.acquisition.source import (
    EVENT_SOURCE_NOTE,
    ChannelGroup,
    PresetLayout,
    SourceLayout,
    SourceState,
)
from biotrainer.clock import Clock, MonotonicClock
from biotrainer.errors import DeviceError, SourceRefusedError
from biotrainer.limits import loss_after_s, role_rate_problem
from biotrainer.net.lsl_config import configure_liblsl

configure_liblsl()  # before liblsl's first use

#: ``SourceLayout.board_id`` of LSL sources: BrainFlow's NO_BOARD (see module docstring).
LSL_BOARD_ID = int(BoardIds.NO_BOARD)

#: ``SourceLayout.device`` of LSL sources.
LSL_DEVICE = "lsl"

#: LSL stream type (upper case) -> role.
TYPE_ROLES = {"EEG": "eeg", "ECG": "ecg", "PPG": "ppg", "RESP": "resp", "RR": "rr", "IBI": "rr"}

#: With only a stream name, the role taken when several streams of usable types share the name
#: (muselsl and BlueMuse name a Muse's EEG, PPG and accelerometer streams alike): EEG first.
TYPE_PREFERENCE = ("eeg", "ecg", "ppg", "resp", "rr")

#: Seconds spent gathering every matching stream once the first one answered.
GATHER_S = 0.7

#: RR values below this (with no unit in the description) are taken to be seconds.
RR_SECONDS_BELOW = 10.0

#: Unit written in the layout for each role.
ROLE_UNITS = {"eeg": "uV", "ecg": "uV", "ppg": "a.u.", "resp": "a.u.", "rr": "ms"}

#: Unit words (lower case) -> factor to microvolts, for EEG and ECG.
_TO_MICROVOLTS = {
    "uv": 1.0,
    "microvolts": 1.0,
    "microvolt": 1.0,
    "\u00b5v": 1.0,  # (the micro sign)
    "\u03bcv": 1.0,  # (the Greek mu)
    "mv": 1e3,
    "millivolts": 1e3,
    "millivolt": 1e3,
    "v": 1e6,
    "volts": 1e6,
    "volt": 1e6,
    "nv": 1e-3,
    "nanovolts": 1e-3,
    "nanovolt": 1e-3,
}

_MS_WORDS = {"ms", "msec", "millisecond", "milliseconds"}
_S_WORDS = {"s", "sec", "second", "seconds"}

#: Samples fetched from the inlet per pull (more are fetched in further pulls of one poll).
PULL_MAX = 4096
#: Samples arriving after this long without any (s) make the source check that the sender is
#: the stream the session started on (a restarted sender with another rate is refused).
RESTART_CHECK_S = 1.0
#: Seconds of a regular stream's first timestamps its real rate is judged on (once), against
#: its nominal rate with the playback check's margins (see :mod:`.playback_rate`).
RATE_CHECK_S = 10.0
#: A step between two timestamps longer than this (s) is a pause of the sender: the rate check
#: starts again after it.
RATE_CHECK_PAUSE_S = 1.0
#: How long that check waits for the stream's description (s).
RESTART_INFO_TIMEOUT_S = 0.5
#: Checks made, one a second while samples arrive, when the stream's description could not be
#: found (a busy network): the restarted sender is compared once it is found.
RESTART_CHECK_TRIES = 5

#: Half-life (s) of the timestamp fit of regular streams: liblsl's default ``smoothing_halftime``.
SMOOTHING_HALFTIME_S = 90.0

#: Timestamps of a regular stream running this far ahead of the fit (s) may be a sender's pause.
PAUSE_MIN_S = 0.25

#: Stream time (s) of the samples after a possible pause that are held to confirm it.
PAUSE_CONFIRM_S = 0.5

#: Longest time (s, source clock) those samples are held when no more come.
PAUSE_HOLD_MAX_S = 1.0

_SAFE_NAME = re.compile(r"[^'\"\\]+")


def beat_times_from_rr(
    rr_ms: np.ndarray, stamps: np.ndarray, last_beat: float | None, max_drift_s: float = 1.0
) -> np.ndarray:
    """Beat times (s) of RR intervals whose timestamps are jittery or shared.

    The beats are chained: ``t_k = t_(k-1) + rr_k / 1000``, which keeps the exact intervals. The
    chain starts at (and is re-anchored to) the timestamp of a beat when there is no previous
    beat or when the chain and the timestamps drift more than ``max_drift_s`` apart (a missed
    beat, a pause in the stream).

    Parameters
    ----------
    rr_ms : array (n,)
        Intervals in ms, one per beat, in order.
    stamps : array (n,)
        Timestamps (s) of those beats as the stream gave them.
    last_beat : float or None
        Time of the beat before the first interval (the previous call's last result).
    max_drift_s : float
        Re-anchoring tolerance, s.

    Returns
    -------
    np.ndarray (n,)
        Beat times, s, on the timestamps' clock.
    """
    rr_ms = np.asarray(rr_ms, dtype=float)
    stamps = np.asarray(stamps, dtype=float)
    out = np.empty_like(stamps)
    prev = last_beat
    for k in range(stamps.size):
        t = stamps[k] if prev is None else prev + rr_ms[k] / 1000.0
        if abs(t - stamps[k]) > max_drift_s:
            t = float(stamps[k])
        out[k] = t
        prev = t
    return out


class Dejitterer:
    """Smoothed timestamps of a regular-rate stream that keep the sender's pauses.

    A recursive least-squares fit of timestamp on sample number (the model of liblsl's
    ``proc_dejitter``, exponential forgetting with half-life ``halftime_s``) replaces each
    timestamp by the fitted one; outputs never decrease. Unlike liblsl's, the sample number
    follows the sender's pauses: when a timestamp is more than ``pause_s`` ahead of the fit, the
    samples from it on are held until ``confirm_s`` of them (stream time) arrived. If they lie on
    a line of the nominal rate (their spread about it under 1/8 of their span) that is still more
    than ``pause_s`` ahead of the fit, the stream paused: the sample number skips the samples
    the sender did not send, and the timestamps keep the jump. Otherwise (a backlog stamped on
    arrival, one late stamp) they are smoothed like any other. A timestamp more than ``pause_s``
    *behind* the fit (the sender's clock went back) moves the sender's stamps from there on
    forward by that step, so that the time line goes on at the nominal rate (its samples had all
    been given the last stamp out until the fit caught up: seconds of signal on one timestamp
    and the feedback frozen meanwhile); :attr:`steps_back` lists the steps.

    Parameters
    ----------
    fs : float
        Nominal sampling rate, Hz (> 0).
    halftime_s, pause_s, confirm_s : float
        See above.
    """

    def __init__(
        self,
        fs: float,
        halftime_s: float = SMOOTHING_HALFTIME_S,
        pause_s: float = PAUSE_MIN_S,
        confirm_s: float = PAUSE_CONFIRM_S,
    ) -> None:
        if not fs > 0:
            raise ValueError(f"a dejitterer needs a nominal rate > 0 Hz, got {fs}")
        self.fs = float(fs)
        self.pause_s = float(pause_s)
        self.confirm_n = max(2, math.ceil(confirm_s * self.fs))
        self._lam = 2.0 ** (-1.0 / (self.fs * halftime_s))
        self._w1 = 1.0 / self.fs  # slope: seconds per sample
        self._base: float | None = None  # stamps are fitted relative to this (numerics)
        self._restart(None)
        self._last = -math.inf  # last timestamp given out (monotonic)
        self._held_values: np.ndarray | None = None
        self._held_stamps = np.empty(0)
        #: Pauses kept so far.
        self.pauses = 0
        #: The sender's clock's steps back so far (s), each undone from there on.
        self.steps_back: list[float] = []
        self._shift = 0.0  # added to the sender's stamps: the steps back undone

    @property
    def held(self) -> int:
        """Samples held back to confirm a pause."""
        return self._held_stamps.size

    def process(self, values: np.ndarray, stamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The samples (rows of ``values``) that can be given out now, with smoothed stamps.

        These are the samples held before, then those of this call, in order, less any now held.
        """
        if self._held_values is not None and self._held_stamps.size:
            values = np.concatenate([self._held_values, values])
            stamps = np.concatenate([self._held_stamps, stamps])
        return self._give(values, np.asarray(stamps, dtype=np.float64), force=False)

    def release_held(self) -> tuple[np.ndarray, np.ndarray]:
        """Decide on the held samples with those that came and give them all out."""
        if self._held_values is None:
            return np.empty((0, 0)), np.empty(0)
        return self._give(self._held_values, self._held_stamps, force=True)

    def _give(
        self, values: np.ndarray, stamps: np.ndarray, force: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        out, n_out = self._run(stamps, force)
        self._held_values, self._held_stamps = values[n_out:], stamps[n_out:]
        return values[:n_out], out

    def _restart(self, t: float | None) -> None:
        """A new fit starting at stamp ``t`` (the slope estimate is kept as its prior)."""
        self._base = t
        self._n = 0  # sample number of the next sample
        self._w0 = 0.0
        self._p00 = self._p11 = 1e10  # inverse information: nothing known yet
        self._p01 = 0.0

    def _predict(self) -> float:
        assert self._base is not None
        return self._base + self._w0 + self._n * self._w1

    def _update(self, t: float) -> float:
        """Fit stamp ``t`` of the next sample and give its smoothed stamp."""
        assert self._base is not None
        x, y, lam = float(self._n), t - self._base, self._lam
        self._n += 1
        # Recursive least squares with forgetting, regressor u = (1, x), weights w = (w0, w1).
        q0 = self._p00 + x * self._p01  # P u
        q1 = self._p01 + x * self._p11
        gain = 1.0 / (lam + q0 + x * q1)
        resid = y - (self._w0 + x * self._w1)
        self._p00 = (self._p00 - q0 * q0 * gain) / lam
        self._p01 = (self._p01 - q0 * q1 * gain) / lam
        self._p11 = (self._p11 - q1 * q1 * gain) / lam
        self._w0 += resid * (self._p00 + x * self._p01)
        self._w1 += resid * (self._p01 + x * self._p11)
        out = self._base + self._w0 + x * self._w1
        if out < self._last:
            out = self._last
        self._last = out
        return out

    def _pause_samples(self, w: np.ndarray, predicted: float) -> int:
        """Samples skipped by the sender before stamps ``w`` (0: ``w`` follow no pause)."""
        line = w - np.arange(w.size) * self._w1  # the same value for samples at the nominal rate
        offset = float(np.median(line))
        if w.size > 1 and np.median(np.abs(line - offset)) > (w.size - 1) * self._w1 / 8:
            return 0  # not at the nominal rate: a backlog stamped on arrival, a late stamp
        jump = offset - predicted
        return int(round(jump / self._w1)) if jump > self.pause_s else 0

    def _run(self, stamps: np.ndarray, force: bool) -> tuple[np.ndarray, int]:
        out = np.empty(stamps.size)
        i = 0
        while i < stamps.size:
            t = float(stamps[i]) + self._shift
            if self._base is None:
                self._restart(t)
            err = t - self._predict()
            if err > self.pause_s:
                m = min(stamps.size - i, self.confirm_n)
                if m < self.confirm_n and not force:
                    break  # hold stamps[i:] until enough came to tell
                ahead = stamps[i : i + m] + self._shift
                skipped = self._pause_samples(ahead, self._predict())
                if skipped:
                    self._n += skipped
                    self.pauses += 1
                else:
                    for j in range(m):
                        out[i + j] = self._update(float(ahead[j]))
                    i += m
                    continue
            elif err < -self.pause_s:
                # the sender's clock went back: its stamps from here on continue the line
                step = -err
                self.steps_back.append(step)
                self._shift += step
                t += step
            out[i] = self._update(t)
            i += 1
        return out[:i], i


def unit_notes(role: str, names: list[str], units: list[str]) -> list[str]:
    """What is said of EEG/ECG channels whose unit was taken as microvolts (none, or a word
    biotrainer does not know), one note per unit; [] when every unit is known.

    Parameters
    ----------
    role : str
        ``"eeg"`` or ``"ecg"``.
    names, units : list of str
        The role's channels and the units their descriptions give ('' where none).
    """
    by_unit: dict[str, list[str]] = {}
    for name, unit in zip(names, units, strict=True):
        if unit.lower() not in _TO_MICROVOLTS:
            by_unit.setdefault(unit, []).append(name)
    notes = []
    for unit, chans in by_unit.items():
        which = (
            f"its {role.upper()} channels"
            if len(chans) == len(names)
            else f"{role.upper()} channel{'s' if len(chans) > 1 else ''} {', '.join(chans)}"
        )
        said = (
            "give no unit"
            if not unit
            else f"give the unit {unit!r}, which biotrainer does not know"
        )
        notes.append(
            f"{which} {said}: taken as microvolts (the quality limits and the amplitudes shown "
            "are wrong if they are not)"
        )
    return notes


def _describe(stream_name: str | None, stream_type: str | None) -> str:
    parts = "LSL stream"
    if stream_type:
        parts += f" of type {stream_type}"
    if stream_name:
        parts += f" named '{stream_name}'"
    return parts


def _describe_plural(what: str) -> str:
    """ "LSL stream of type EEG named 'Muse'" -> "LSL streams of type EEG named 'Muse'"."""
    return what.replace("LSL stream", "LSL streams", 1)


def _channel_info(info: pylsl.StreamInfo) -> list[tuple[str, str, str]]:
    """(label, unit, type) of each channel from desc/channels/channel ('' where absent)."""
    n = info.channel_count()
    out: list[tuple[str, str, str]] = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty() and len(out) < n:
        out.append(
            (
                ch.child_value("label").strip(),
                ch.child_value("unit").strip(),
                ch.child_value("type").strip(),
            )
        )
        ch = ch.next_sibling("channel")
    out.extend(("", "", "") for _ in range(n - len(out)))
    return out


class LslSource:
    """A :class:`~biotrainer.acquisition.source.Source` reading one LSL stream.

    Parameters
    ----------
    stream_name : str, optional
        Exact LSL stream name.
    stream_type : str, optional
        ``EEG``, ``ECG``, ``PPG``, ``RESP``, ``RR`` or ``IBI`` (case-insensitive). At least one of
        name and type must be given; with only a name, the stream's own type must be one of these.
        When a name is shared by streams of several types (muselsl and BlueMuse name a Muse's EEG,
        PPG and accelerometer streams alike), the usable one is taken in the order of
        :data:`TYPE_PREFERENCE` (EEG, ECG, PPG, RESP, RR/IBI); give the type to choose another.
    clock : Clock, optional
        For ``Chunk.received_at`` and the silence timeout (default monotonic).
    resolve_timeout : float
        Seconds to look for the stream on the network.
    silence_timeout : float
        Clock seconds without a new sample after which the state is ``SILENT`` (at least
        :data:`~biotrainer.limits.BEATS_LOST_S` for a stream without a fixed rate: RR
        intervals).
    buffer_s : float
        Seconds of data liblsl buffers between polls.

    Raises
    ------
    DeviceError
        Bad arguments here; from :meth:`prepare` (or :attr:`layout`) when no stream matches,
        several streams of the chosen type match, or the stream cannot be opened.
    """

    def __init__(
        self,
        stream_name: str | None = None,
        stream_type: str | None = None,
        clock: Clock | None = None,
        resolve_timeout: float = 5.0,
        *,
        silence_timeout: float = 2.0,
        buffer_s: float = 30.0,
    ) -> None:
        if not stream_name and not stream_type:
            raise DeviceError(
                "an LSL source needs a stream name (--lsl-name) or a stream type (--lsl-type)"
            )
        if stream_type and stream_type.upper() not in TYPE_ROLES:
            raise DeviceError(
                f"unsupported LSL stream type '{stream_type}': use one of {', '.join(TYPE_ROLES)}"
            )
        for v in (stream_name, stream_type):
            if v and not _SAFE_NAME.fullmatch(v):
                raise DeviceError(f"an LSL stream name or type cannot contain quotes: {v!r}")
        self.stream_name = stream_name or None
        self.stream_type = stream_type.upper() if stream_type else None
        self.clock = clock or MonotonicClock()
        self.resolve_timeout = float(resolve_timeout)
        self.silence_timeout = float(silence_timeout)
        self.buffer_s = float(buffer_s)
        self._state = SourceState.IDLE
        self._inlet: pylsl.StreamInlet | None = None
        self._layout: SourceLayout | None = None
        self._scale: np.ndarray | None = None
        self._rr_in_seconds: bool | None = None
        self._last_sample_at = 0.0
        self._last_arrival = 0.0  # clock time of the latest pull that brought samples
        self._first_stamps: list[np.ndarray] | None = []  # for the rate check (None: done)
        self._checks_left = 0  # checks of the sender still to make (not found yet)
        self._next_check = 0.0  # clock time of the next one
        self._info: pylsl.StreamInfo | None = None  # the stream the session started on
        self._dejitter: Dejitterer | None = None
        self._held_since = 0.0
        self._final: tuple[np.ndarray, np.ndarray] | None = None  # for the poll after stop()
        self.clock_offset_s = math.nan
        self.samples_received = 0
        self._events: list[tuple[str, str]] = []
        self._unit_notes: list[str] = []  # said once the first samples were given out
        self._steps_said = 0  # the dejitterer's steps back already in the events

    # -- Source protocol ---------------------------------------------------------------------

    @property
    def state(self) -> SourceState:
        return self._state

    @property
    def layout(self) -> SourceLayout:
        """The layout (resolves the stream on first use)."""
        if self._layout is None:
            self._connect()
        assert self._layout is not None
        return self._layout

    def prepare(self) -> None:
        """Find the stream, open the inlet and measure the clock offset."""
        if self._state is not SourceState.IDLE:
            return
        self._connect()
        assert self._inlet is not None
        try:
            self._inlet.open_stream(timeout=self.resolve_timeout)
            self.clock_offset_s = self._inlet.time_correction(timeout=self.resolve_timeout)
        except (pylsl.util.TimeoutError, LostError) as exc:
            self._close_inlet()
            raise DeviceError(
                f"the {_describe(self.stream_name, self.stream_type)} was found but did not "
                f"answer within {self.resolve_timeout:g} s ({exc.__class__.__name__}): "
                "is the sender still running and reachable?"
            ) from None
        self._state = SourceState.PREPARED

    def start(self) -> None:
        if self._state is SourceState.IDLE:
            self.prepare()
        if self._state is not SourceState.PREPARED:
            return
        assert self._inlet is not None
        self._inlet.flush()  # samples from before start are not part of the session
        self._last_sample_at = self._last_arrival = self.clock.now()
        self._state = SourceState.STREAMING

    def _check_same_stream(self) -> bool:
        """After a pause, make sure the samples still come from the stream the session started
        on: liblsl reconnects the inlet to a restarted sender (same source id) whatever its rate.

        Returns
        -------
        bool
            False when the sender's description was not found within
            :data:`RESTART_INFO_TIMEOUT_S` (the caller asks again), True when checked.

        Raises
        ------
        SourceRefusedError
            The sender restarted with another sampling rate or channel count.
        """
        assert self._info is not None
        # (the inlet's own info() keeps describing the stream it first connected to)
        source_id = self._info.source_id()
        if not source_id or not _SAFE_NAME.fullmatch(source_id):
            return True
        found = pylsl.resolve_bypred(f"source_id='{source_id}'", 1, RESTART_INFO_TIMEOUT_S)
        if not found:
            return False
        if any(f.uid() == self._info.uid() for f in found):
            return True  # the same sender
        was, now = self._info, found[0]
        if (now.nominal_srate(), now.channel_count(), now.channel_format()) != (
            was.nominal_srate(),
            was.channel_count(),
            was.channel_format(),
        ):
            raise SourceRefusedError(
                f"the LSL stream '{now.name()}' restarted with {now.channel_count()} channels at "
                f"{now.nominal_srate():g} Hz instead of {was.channel_count()} at "
                f"{was.nominal_srate():g} Hz: one recording cannot change its rate or channels, "
                "start a new session"
            )
        self._info = now  # the same kind of stream, restarted: it goes on
        return True

    def poll(self) -> Chunk:
        """Every sample that arrived since the last poll (never blocks).

        After :meth:`stop`, one more poll returns what arrived before the stop.
        """
        now = self.clock.now()
        if self._state is SourceState.STOPPED and self._final is not None:
            values, stamps = self._final
            self._final = None
            raw = {"default": self._to_raw(values, stamps)}
            return Chunk(raw=raw, signals=self.layout.split(raw), received_at=now)
        if self._state not in (SourceState.STREAMING, SourceState.SILENT) or self._inlet is None:
            return Chunk(received_at=now)
        arrived_before = self._last_arrival
        values, stamps = self._pull()
        if stamps.size:
            self._last_arrival = now
            if now - arrived_before >= RESTART_CHECK_S and self._dejitter is not None:
                # (regular streams only: RR intervals come a beat apart, each would be a check)
                self._checks_left, self._next_check = RESTART_CHECK_TRIES, now
            if self._checks_left and now >= self._next_check:
                self._checks_left = 0 if self._check_same_stream() else self._checks_left - 1
                self._next_check = now + RESTART_CHECK_S
        if self._dejitter is not None:
            if stamps.size and self._first_stamps is not None:
                self._check_rate(stamps)
            values, stamps = self._smooth(values, stamps, now)
        if stamps.size:  # samples given out (not those held to confirm a pause)
            self._last_sample_at = now
            self._state = SourceState.STREAMING
            self._note_events()
        elif now - self._last_sample_at > self.silence_timeout:
            self._state = SourceState.SILENT
        raw = {"default": self._to_raw(values, stamps)}
        return Chunk(raw=raw, signals=self.layout.split(raw), received_at=now)

    def take_events(self) -> list[tuple[str, str]]:
        """Return and forget the ``(kind, text)`` events queued since the previous call (the
        engine and ``biotrainer record`` write them to ``events.csv`` at the newest sample).

        Queued once samples are given out: a channel's unit taken as microvolts (no unit, or
        one biotrainer does not know), and each step back of the sender's clock the timestamps
        were moved over (:attr:`Dejitterer.steps_back`).
        """
        events, self._events = self._events, []
        return events

    def _note_events(self) -> None:
        """Queue what the samples just given out come with (see :meth:`take_events`)."""
        name = self._info.name() if self._info is not None else self.stream_name
        for note in self._unit_notes:
            self._events.append((EVENT_SOURCE_NOTE, f"LSL stream '{name}': {note}"))
        self._unit_notes = []
        steps = self._dejitter.steps_back if self._dejitter is not None else []
        for step in steps[self._steps_said :]:
            self._events.append(
                (
                    EVENT_SOURCE_NOTE,
                    f"LSL stream '{name}': the sender's clock stepped back {step:.3f} s; its "
                    "timestamps from here on are moved forward by that much, so that the "
                    "signal goes on at its rate",
                )
            )
        self._steps_said = len(steps)

    def stop(self) -> None:
        """Stop streaming. What arrived before, still in the inlet or held by the
        :class:`Dejitterer` to confirm a pause, is kept for the one poll that follows."""
        if self._state not in (SourceState.STREAMING, SourceState.SILENT):
            return
        if self._inlet is not None:
            values, stamps = self._pull()
            dj = self._dejitter
            if dj is not None:
                if stamps.size:
                    values, stamps = dj.process(values, stamps)
                if dj.held:  # no more samples will come to confirm a pause: decide now
                    more_values, more_stamps = dj.release_held()
                    values = np.concatenate([values, more_values])
                    stamps = np.concatenate([stamps, more_stamps])
            self._final = (values, stamps)
        self._state = SourceState.STOPPED

    def release(self) -> None:
        self._close_inlet()
        self._final = None
        self._state = SourceState.RELEASED

    # -- internals ---------------------------------------------------------------------------

    def _predicate(self) -> str:
        parts = []
        if self.stream_name:
            parts.append(f"name='{self.stream_name}'")
        if self.stream_type:
            # any case ("Eeg" too, as a name is matched); RR streams are announced as RR or IBI
            upper = "translate(type,'abcdefghijklmnopqrstuvwxyz','ABCDEFGHIJKLMNOPQRSTUVWXYZ')"
            if TYPE_ROLES[self.stream_type] == "rr":
                parts.append(f"({upper}='RR' or {upper}='IBI')")
            else:
                parts.append(f"{upper}='{self.stream_type.upper()}'")
        return " and ".join(parts)

    def _connect(self) -> None:
        if self._inlet is not None:
            return
        what = _describe(self.stream_name, self.stream_type)
        short = self._pick(self._resolve_all(what), what)
        role = TYPE_ROLES[short.type().upper()]
        if short.channel_format() in (pylsl.cf_string, pylsl.cf_undefined):
            raise DeviceError(f"the LSL stream '{short.name()}' carries text, not samples")
        # Clock correction only: liblsl's proc_dejitter would smear a pause of the sender over
        # the following samples; regular streams are dejittered in poll() (see Dejitterer).
        inlet = pylsl.StreamInlet(
            short,
            max_buflen=max(1, int(math.ceil(self.buffer_s))),
            recover=True,
            processing_flags=pylsl.proc_clocksync,
        )
        try:
            info = inlet.info(timeout=self.resolve_timeout)
        except (pylsl.util.TimeoutError, LostError):
            del inlet
            raise DeviceError(
                f"the {what} was found but sent no description within "
                f"{self.resolve_timeout:g} s: is the sender still running?"
            ) from None
        self._inlet = inlet
        self._info = info
        self._layout = self._build_layout(info, role)
        fs = self._layout.preset("default").fs
        self._dejitter = Dejitterer(fs) if fs > 0 else None
        self.silence_timeout = loss_after_s(fs, self.silence_timeout)  # (RR: a beat apart)

    def _resolve_all(self, what: str) -> list[pylsl.StreamInfo]:
        """Every matching stream: the first one within the timeout, then all within GATHER_S.

        ``resolve_bypred(pred, 1, t)`` returns as soon as one stream answers, so on its own it
        would see whichever of several same-named streams answered first.
        """
        pred = self._predicate()
        first = pylsl.resolve_bypred(pred, 1, self.resolve_timeout)
        if not first:
            raise DeviceError(
                f"no {what} found on the network within {self.resolve_timeout:g} s: "
                "is the sender running?"
            )
        found = {f.uid(): f for f in first}
        for f in pylsl.resolve_bypred(pred, 0, GATHER_S):  # minimum 0: waits all of GATHER_S
            found.setdefault(f.uid(), f)
        return sorted(found.values(), key=lambda f: (f.type(), f.source_id(), f.hostname()))

    def _pick(self, found: list[pylsl.StreamInfo], what: str) -> pylsl.StreamInfo:
        """The stream to open among ``found``: the usable type first in :data:`TYPE_PREFERENCE`.

        Raises
        ------
        DeviceError
            When no stream has a usable type, or several streams have the chosen type.
        """
        usable = [f for f in found if f.type().upper() in TYPE_ROLES]
        if not usable:
            short = found[0]
            raise DeviceError(
                f"the LSL stream '{short.name()}' has type '{short.type()}', which biotrainer "
                f"cannot use: supported types are {', '.join(TYPE_ROLES)}"
            )
        role = min((TYPE_ROLES[f.type().upper()] for f in usable), key=TYPE_PREFERENCE.index)
        same = [f for f in usable if TYPE_ROLES[f.type().upper()] == role]
        if len(same) == 1:
            return same[0]
        listed = ", ".join(
            f"{f.type()} '{f.name()}' source_id '{f.source_id()}' on {f.hostname()}" for f in same
        )
        if len({f.name() for f in same}) > 1:
            how = "choose one with --lsl-name"
        else:
            how = (
                "streams of one type with the same name cannot be told apart (by --lsl-name or "
                "--lsl-type): stop one sender or rename its stream"
            )
        raise DeviceError(
            f"{len(same)} {_describe_plural(what)} are on the network ({listed}): {how}"
        )

    def _build_layout(self, info: pylsl.StreamInfo, role: str) -> SourceLayout:
        chans = _channel_info(info)
        n = len(chans)
        stream_type = info.type().upper()
        rows, names = [], []
        for i, (label, _unit, kind) in enumerate(chans):
            if (
                kind
                and kind.upper() != stream_type
                and not (role == "rr" and kind.upper() in TYPE_ROLES)
            ):
                continue
            rows.append(i)
            names.append(label or f"{role}{i + 1}")
        if not rows:  # every channel typed otherwise: take them all rather than nothing
            rows = list(range(n))
            names = [lab or f"{role}{i + 1}" for i, (lab, _, _) in enumerate(chans)]
        if role == "rr":
            rows, names = rows[:1], ["RR"]
            unit = chans[rows[0]][1].lower()
            self._rr_in_seconds = True if unit in _S_WORDS else False if unit in _MS_WORDS else None
        scale = np.ones(n)
        if role in ("eeg", "ecg"):
            for i, (_, unit, _) in enumerate(chans):
                scale[i] = _TO_MICROVOLTS.get(unit.lower(), 1.0)
            self._unit_notes = unit_notes(role, names, [chans[r][1] for r in rows])
        self._scale = scale
        fs = max(0.0, float(info.nominal_srate()))
        if fs <= 0 and role != "rr":
            raise DeviceError(
                f"the LSL stream '{info.name()}' ({info.type()}) has no nominal sampling rate: "
                f"biotrainer needs a regular {role.upper()} stream (only RR intervals may come at "
                "irregular times)"
            )
        problem = role_rate_problem(role, fs)
        if problem is not None:
            raise DeviceError(
                f"the LSL stream '{info.name()}' ({info.type()}) cannot be used: {problem}"
            )
        preset = PresetLayout(preset="default", fs=fs, num_rows=n + 1, timestamp_row=n)
        group = ChannelGroup(
            role=role,
            preset="default",
            rows=tuple(rows),
            names=tuple(names),
            units=ROLE_UNITS[role],
        )
        return SourceLayout(
            device=LSL_DEVICE, board_id=LSL_BOARD_ID, presets=(preset,), groups=(group,)
        )

    def _pull(self) -> tuple[np.ndarray, np.ndarray]:
        assert self._inlet is not None
        n_ch = self.layout.preset("default").num_rows - 1
        parts, stamp_parts = [], []
        try:
            while True:
                values, stamps = self._inlet.pull_chunk(
                    timeout=0.0, max_samples=PULL_MAX, as_numpy=True
                )
                if len(stamps) == 0:
                    break
                parts.append(np.asarray(values, dtype=np.float64).reshape(-1, n_ch))
                stamp_parts.append(np.asarray(stamps, dtype=np.float64))
                if len(stamps) < PULL_MAX:
                    break
        except LostError:
            pass  # the sender is gone (and not recoverable): the silence timeout reports it
        if not parts:
            return np.empty((0, n_ch)), np.empty(0)
        values = parts[0] if len(parts) == 1 else np.concatenate(parts)
        stamps = stamp_parts[0] if len(stamp_parts) == 1 else np.concatenate(stamp_parts)
        self.samples_received += stamps.size
        return values, stamps

    def _check_rate(self, stamps: np.ndarray) -> None:
        """Once the first :data:`RATE_CHECK_S` of a regular stream came, compare the rate its
        timestamps show with its nominal one (the samples are analysed at the nominal rate).

        Raises
        ------
        SourceRefusedError
            More than 5 % faster or 10 % slower (the playback check's margins).
        """
        assert self._first_stamps is not None
        self._first_stamps.append(stamps)
        fs = self.layout.preset("default").fs
        seen = np.concatenate(self._first_stamps)
        pauses = np.flatnonzero(np.diff(seen) > RATE_CHECK_PAUSE_S)
        if pauses.size:  # judged on stamps without a pause of the sender: from the last one on
            seen = seen[pauses[-1] + 1 :]
            self._first_stamps = [seen]
        if seen.size < 2 or seen[-1] - seen[0] < RATE_CHECK_S:
            if seen.size > 4 * RATE_CHECK_S * fs:  # (stamps not moving: nothing to judge)
                self._first_stamps = None
            return
        self._first_stamps = None
        if seen.size < 0.5 * RATE_CHECK_S * fs:
            return  # a few bursts over the time (a test sender, a stalled one): no rate to tell
        rate = estimate_rate(seen, fs)
        off = rate_misread(rate, fs)
        if off is None:
            return
        name = self._info.name() if self._info is not None else "?"
        raise SourceRefusedError(
            f"the LSL stream '{name}' announces {fs:g} Hz but its timestamps show {rate:.0f} "
            f"samples a second: read at {fs:g} Hz its heart rate, breathing rate and EEG bands "
            f"would be {off}; correct the sender's rate"
        )

    def _smooth(
        self, values: np.ndarray, stamps: np.ndarray, now: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Dejittered samples of a regular stream: those the :class:`Dejitterer` gives out now."""
        dj = self._dejitter
        assert dj is not None
        was_holding = dj.held > 0
        if stamps.size:
            values, stamps = dj.process(values, stamps)
        if dj.held and not was_holding:
            self._held_since = now
        if dj.held and now - self._held_since > PAUSE_HOLD_MAX_S:
            more_values, more_stamps = dj.release_held()  # no more samples came to confirm
            values = np.concatenate([values, more_values])
            stamps = np.concatenate([stamps, more_stamps])
        return values, stamps

    def _to_raw(self, values: np.ndarray, stamps: np.ndarray) -> np.ndarray:
        n_ch = values.shape[1]
        raw = np.empty((n_ch + 1, stamps.size))
        raw[:n_ch] = values.T
        if self._scale is not None:
            raw[:n_ch] *= self._scale[:, None]
        group = self.layout.groups[0]
        if group.role == "rr" and stamps.size:
            row = group.rows[0]
            if self._rr_in_seconds is None:
                finite = raw[row][np.isfinite(raw[row])]
                if finite.size:
                    self._rr_in_seconds = bool(np.median(finite) < RR_SECONDS_BELOW)
            if self._rr_in_seconds:
                raw[row] *= 1000.0
        raw[n_ch] = stamps
        return raw

    def _close_inlet(self) -> None:
        inlet, self._inlet = self._inlet, None
        if inlet is not None:
            with contextlib.suppress(Exception):  # closing must not fail a release
                inlet.close_stream()
            del inlet

    def __enter__(self) -> LslSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def open_lsl_source(
    name: str | None = None,
    stream_type: str | None = None,
    clock: Clock | None = None,
    **options: float,
) -> LslSource:
    """The factory hook for ``--lsl-name`` / ``--lsl-type`` (see :class:`LslSource`)."""
    return LslSource(stream_name=name, stream_type=stream_type, clock=clock, **options)
