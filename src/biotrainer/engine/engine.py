"""The real-time engine: source -> dsp -> protocol -> immutable metric updates.

One call of :meth:`Engine.tick` polls the source once, records the raw samples, feeds the
processors and returns the :class:`~biotrainer.engine.updates.MetricUpdate` objects that became
due. Updates are made every ``update_interval_s`` (0.1 s) of *data* time, slicing the incoming
samples at those boundaries, so the result does not depend on how the samples were chunked:
a live session, a real-time replay and an accelerated replay of the same recording produce the
same updates. The engine never sleeps and has no thread; whoever owns it (the Qt bridge, the
``record`` command, a test) decides when to tick, on whatever clock it likes.

Protocol time counts seconds of data while not paused (a gap in the data does not count), so a
signal loss freezes the phase timer instead of eating training time.
"""

from __future__ import annotations

import bisect
import contextlib
import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import NamedTuple, TypeVar

import numpy as np

from biotrainer.acquisition.chunk import Chunk, SignalBlock
from biotrainer.acquisition.counter import SourceLosses
from biotrainer.acquisition.reconnect import REOPENED_KINDS
from biotrainer.acquisition.source import (
    EVENT_SOURCE_NOTE,
    Source,
    SourceLayout,
    SourceState,
    poll_checked,
)
from biotrainer.clock import Clock, MonotonicClock
from biotrainer.dsp.filters import mask_impossible
from biotrainer.dsp.resp import MIN_FS as MIN_RESP_FS
from biotrainer.dsp.resp import RespRateStream
from biotrainer.engine.feedback import (
    FEEDBACK_Z_KEY,
    FEEDBACK_Z_VERSION,
    AutoThreshold,
    Baseline,
    metric_baseline,
    score_from_z,
)
from biotrainer.engine.gaps import (
    join_counted_holes,
    split_counted_losses,
    timestamp_gaps,
    with_missing,
)
from biotrainer.engine.preview import FeedbackPreview
from biotrainer.engine.processors import CardiacProcessor, EegProcessor
from biotrainer.engine.protocol import Phase, Protocol
from biotrainer.engine.resonance import (
    NOT_DECIDED,
    ResonanceResult,
    assess_rate,
    choose_resonance,
)
from biotrainer.engine.updates import BREATHING_FROM_HEART, BREATHING_FROM_RESP, MetricUpdate
from biotrainer.errors import DeviceError, RecordingError
from biotrainer.limits import BEATS_LOST_S, loss_after_s, role_rate_problem
from biotrainer.session.folder import (
    ENDED_DEVICE_FAILED,
    ENDED_FINISHED,
    ENDED_SOURCE,
    ENDED_STOPPED,
)

NAN = math.nan
METRICS_FILE = "metrics.csv"
#: A source may end this much protocol time (s) before the protocol without being said to
#: have ended it early (a scenario as long as the protocol ends within a tick of it).
SOURCE_END_SLACK_S = 1.0
#: Gaps in a respiration channel (s) up to which the breathing count goes on across them (the
#: gap's samples counted as missing); after a longer one it starts again (30 s without a rate).
BELT_BRIDGE_S = 5.0

#: Quality reason of a protocol fed by the heart signal while no beat has been detected for
#: :data:`~biotrainer.limits.BEATS_LOST_S` (the heart metrics are NaN meanwhile).
HEART_LOST_REASON = f"no heart beats for over {BEATS_LOST_S:.0f} s (ECG/PPG sensor off?)"
#: Quality reason of a protocol fed by coherence while the latest minute of beats is too
#: irregular to measure (:func:`~biotrainer.dsp.rr.rr_too_irregular`; coherence is NaN).
HEART_IRREGULAR_REASON = "heart beats too irregular to measure (sensor moving or loose?)"


@dataclass(frozen=True)
class EngineConfig:
    """Engine settings.

    Attributes
    ----------
    update_interval_s : float
        Data time between updates (0.1 s: 10 feedback values per second).
    heartbeat_s : float
        While no data flows, an update (with the source state) is still made this often (clock
        time), so the views can show "signal lost".
    max_gap_s : float
        Longest step of protocol time per update: a longer hole in the data does not count.
        A source whose primary signal has no fixed rate (RR intervals, a beat apart) has holes
        only beyond :data:`~biotrainer.limits.BEATS_LOST_S`.
    cardiac_role : str or None
        Force "ecg" or "ppg" as the heart-beat source; by default ECG when present, else PPG.
    max_lost_s : float
        A hole in the data gets a "signal lost" update per ``update_interval_s`` for at most
        this long (a bogus jump of the timestamps does not make millions of rows).
    """

    update_interval_s: float = 0.1
    heartbeat_s: float = 0.5
    max_gap_s: float = 0.5
    cardiac_role: str | None = None
    max_lost_s: float = 3600.0


#: Preferred PPG wavelengths for pulse timing, best first: infrared (the usual reflectance
#: pulse channel, deepest penetration), green (wrist devices), red. An "ambient" channel
#: (photodiode with the LEDs off) carries almost no pulse and is never chosen when another is.
PULSE_WAVELENGTHS = ("ir", "green", "red")


def pulse_channel(names: tuple[str, ...]) -> int:
    """Index of the PPG channel to time pulses on, chosen by name (see PULSE_WAVELENGTHS)."""
    lowered = [n.lower() for n in names]
    for w in PULSE_WAVELENGTHS:
        for i, n in enumerate(lowered):
            if w in n.replace("-", "_").split("_") or n == w:
                return i
    return next((i for i, n in enumerate(lowered) if "ambient" not in n), 0)


class _Taken(NamedTuple):
    """Samples of one role taken up to a time boundary."""

    t: np.ndarray
    x: np.ndarray
    #: Samples the device lost just before each one (its packet counter's count), or None
    #: where the source's preset is not counted.
    lost: np.ndarray | None


class _Pending:
    """Samples of one role waiting to be consumed up to a time boundary."""

    def __init__(self) -> None:
        self.t = np.empty(0)
        self.x: np.ndarray | None = None
        self.lost: np.ndarray | None = None

    def add(self, block: SignalBlock, lost: np.ndarray | None = None) -> None:
        """Queue ``block``; ``lost``: the samples lost before each of its samples, if counted."""
        if block.n_samples == 0:
            return
        if self.x is None or self.t.size == 0:
            self.t, self.x = block.timestamps.copy(), block.samples.copy()
            self.lost = None if lost is None else lost.copy()
        else:
            if lost is not None or self.lost is not None:
                old = self.lost if self.lost is not None else np.zeros(self.t.size, np.int64)
                new = lost if lost is not None else np.zeros(block.n_samples, np.int64)
                self.lost = np.concatenate([old, new])
            self.t = np.concatenate([self.t, block.timestamps])
            self.x = np.concatenate([self.x, block.samples], axis=1)

    def take_until(self, t_end: float) -> _Taken | None:
        """Remove and return the samples with timestamp <= t_end (None when there are none)."""
        if self.x is None or self.t.size == 0:
            return None
        k = int(np.searchsorted(self.t, t_end, side="right"))
        if k == 0:
            return None
        lost = None if self.lost is None else self.lost[:k]
        out = _Taken(self.t[:k], self.x[:, :k], lost)
        self.t, self.x = self.t[k:], self.x[:, k:]
        if self.lost is not None:
            self.lost = self.lost[k:]
        return out


def _usable(block: SignalBlock) -> SignalBlock:
    """``block`` with impossible sample values (beyond ``IMPOSSIBLE_ABS``) as NaN for the
    metrics, which hold over NaN; the recording keeps what arrived."""
    samples = mask_impossible(block.samples)
    return block if samples is block.samples else replace(block, samples=samples)


def _arrival_state(chunk: Chunk, state: SourceState) -> SourceState:
    """The state of a source while it delivered ``chunk``, ``state`` being the one it reports
    after the poll: STREAMING when the chunk brings samples and the source has since gone
    silent or ended (its samples came before the hole or the end), else ``state``."""
    if not chunk.empty and state in (SourceState.SILENT, SourceState.ENDED):
        return SourceState.STREAMING
    return state


_P = TypeVar("_P")


def _newest_at(stamps: np.ndarray, ends: np.ndarray) -> list[float]:
    """The time of the newest of the samples ``stamps[:end]`` for each of ``ends`` (NaN while
    none): where a signal's samples have got to at each update boundary."""
    last = np.maximum.accumulate(np.where(ends > 0, ends - 1, -1))
    return [float(stamps[j]) if j >= 0 else math.nan for j in last.tolist()]


#: Roles a heart signal comes in (the cardiac processor's, in order of preference).
HEART_ROLES = ("ecg", "ppg", "rr")

#: Kinds of a source's events that are also said to the person running the session
#: (:meth:`Engine.take_notes`).
SAID_SOURCE_KINDS = (EVENT_SOURCE_NOTE,)


#: What :func:`signals_lacking` names: EEG, and a heart signal of any of :data:`HEART_ROLES`.
LACKING_EEG = "EEG"
LACKING_HEART = "a heart signal (ECG, PPG or RR intervals)"


def signals_lacking(protocol: Protocol, layout: SourceLayout) -> list[str]:
    """The signals ``protocol``'s feedback needs that a source of ``layout`` does not have
    (:data:`LACKING_EEG`, :data:`LACKING_HEART`): EEG for alpha, relaxation and combined
    feedback, a heart signal for coherence, combined feedback and paced breathing."""
    lacking = []
    if protocol.uses_eeg and layout.group("eeg") is None:
        lacking.append(LACKING_EEG)
    if protocol.uses_hrv and not any(layout.group(r) is not None for r in HEART_ROLES):
        lacking.append(LACKING_HEART)
    return lacking


def missing_signals(protocol: Protocol, layout: SourceLayout) -> str | None:
    """Why ``protocol`` cannot run on a source of ``layout`` (:func:`signals_lacking`), in the
    command line's words, or None. Without such a signal the session would run to its end with
    the feedback on hold, so the engine refuses it at start, and ``biotrainer run`` and the
    trainer window before anything is recorded."""
    needs = signals_lacking(protocol, layout)
    if not needs:
        return None
    return (
        f"the protocol {protocol.name} needs {' and '.join(needs)}, and the source "
        f"{layout.device} has none: choose a protocol for the signals it has (see "
        "'biotrainer devices' for what each device measures)"
    )


def _processor(role: str, make: Callable[[], _P]) -> _P:
    """``make()``, a processor of ``role``'s signal, with its refusal of the signal (a
    ValueError: a sampling rate it cannot filter, no channel) turned into a DeviceError that
    ends the session with one line, not a traceback."""
    try:
        return make()
    except ValueError as exc:
        raise DeviceError(f"biotrainer cannot process this {role.upper()} signal: {exc}") from exc


class Engine:
    """Runs a protocol on a source.

    Parameters
    ----------
    source : Source
        Where the samples come from; the engine prepares, starts, stops and releases it.
    protocol : Protocol
        Phases and feedback kind.
    clock : Clock, optional
        For latency stamps and heartbeats (MonotonicClock by default; SimulatedClock in tests).
    recorder : Recorder-like, optional
        Gets every chunk (``write``), events (``add_event``) and the metric rows
        (``open_csv("metrics.csv", ...)``).
    config : EngineConfig, optional
    pacer_bpm : float, optional
        Overrides the protocol's pacer rate (a patient's assessed resonance rate).
    on_chunk : callable, optional
        Called with every non-empty :class:`~biotrainer.acquisition.chunk.Chunk` the source
        delivers, right after it is recorded (the dashboard draws the raw signals from it). Also
        settable later as the attribute ``on_chunk``.
    """

    def __init__(
        self,
        source: Source,
        protocol: Protocol,
        *,
        clock: Clock | None = None,
        recorder=None,
        config: EngineConfig | None = None,
        pacer_bpm: float | None = None,
        on_chunk: Callable[[Chunk], None] | None = None,
    ) -> None:
        self.source = source
        self.on_chunk = on_chunk
        self.protocol = protocol
        self.clock = clock or MonotonicClock()
        self.recorder = recorder
        self.config = config or EngineConfig()
        self.pacer_override = pacer_bpm
        self.threshold = AutoThreshold(protocol.target_reward_rate)
        self._baselines: dict[tuple[str, str], Baseline] = {}
        self._pending: dict[str, _Pending] = defaultdict(_Pending)
        #: The samples the device lost on the way, from its packet counters (None when the
        #: source's profile counts none of its presets).
        self.losses: SourceLosses | None = None
        self.eeg: EegProcessor | None = None
        self.cardiac: CardiacProcessor | None = None
        self._cardiac_t = math.nan  # time of the newest heart-signal sample taken in
        #: Breathing rate from a respiration channel (a belt), when the source has one.
        self.resp: RespRateStream | None = None
        self._resp_t = math.nan  # time of the newest respiration sample taken in
        self._primary: str | None = None
        #: Longest stretch without a primary sample that is not a hole (see :meth:`_skip_hole_at`)
        self._hole_s = self.config.max_gap_s
        self._next_t: float | None = None
        # events of the therapist before the first sample (no data time yet): stamped with it
        self._early_events: list[tuple[str, str]] = []
        self._last_t: float | None = None
        self._last_received = NAN
        self._last_update_clock = -math.inf
        self.session_s = 0.0
        self.paused = False
        self.started = False
        self.closed = False
        self._phase_index = -1
        self._phase_key: tuple[float, Protocol] | None = None  # (session_s, protocol) of:
        self._phase_now: tuple[int, Phase, float] | None = None  # the phase memo
        self._last_clean_z = NAN
        self._source_state: SourceState | None = None
        #: The source's state when the samples of the last poll came (see :func:`_arrival_state`)
        self._data_state = SourceState.STREAMING
        self._pacing_beats: dict[int, list[float]] = defaultdict(list)
        self.resonance: ResonanceResult | None = None
        self._source_ended = False
        self._source_failed = False  # reading the source raised a DeviceError
        self._notes: list[str] = []  # the source's notes not yet taken (take_notes)
        self._restore_pending = False  # signal back, "signal_restored" waits for its first sample
        self.latest: MetricUpdate | None = None
        #: The feedback at the newest sample, when the last tick brought samples newer than
        #: :attr:`latest` (else None; always None unless the feedback is alpha).
        self.preview: FeedbackPreview | None = None
        self._newest_eeg_t = NAN
        self._previewed_t = -math.inf
        self._metrics_csv = None
        self._cardiac_roles = HEART_ROLES
        #: Holes in the data met by the last _due_boundaries: (position, first boundary, count).
        self._holes: list[tuple[int, float, int]] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Prepare and start the source (if not yet), open metrics.csv; protocol time starts."""
        if self.started:
            return
        if self.source.state == SourceState.IDLE:
            self.source.prepare()
        if self.source.state in (SourceState.IDLE, SourceState.PREPARED):
            self.source.start()
        layout = self.source.layout
        losses = SourceLosses(layout.presets, layout.groups)
        self.losses = losses if losses.counted else None
        eeg = layout.group("eeg")
        use_eeg = eeg is not None and self.protocol.uses_eeg
        self._check_signals(layout)
        self._check_rates(layout, ["eeg"] if use_eeg else [])
        if use_eeg:
            # EEG metrics cost most of the CPU: computed only when the protocol feeds back on them.
            fs = layout.preset(eeg.preset).fs
            self.eeg = _processor(
                "eeg", lambda: EegProcessor(fs, eeg.names, alpha_channels=layout.alpha_channels)
            )
        roles = layout.roles
        self._primary = (
            "eeg"
            if "eeg" in roles
            else next(
                (r for r in ("ecg", "ppg", "rr", "resp") if r in roles), roles[0] if roles else None
            )
        )
        if self._primary is None:
            raise DeviceError(
                "the source has no signal the engine can use (no channels of any role: EEG, "
                "ECG, PPG, RR, respiration...)"
            )
        # (RR intervals come a beat apart: only beats missing for longer than the heart
        # metrics wait are a hole)
        primary_fs = layout.preset(layout.group(self._primary).preset).fs
        self._hole_s = loss_after_s(primary_fs, self.config.max_gap_s)
        if self.recorder is not None:
            self._metrics_csv = self.recorder.open_csv(METRICS_FILE, MetricUpdate.csv_columns())
            self.recorder.add_extra({FEEDBACK_Z_KEY: FEEDBACK_Z_VERSION})
        self.started = True  # ("protocol started" is logged at the first sample: _consume)

    def close(self) -> None:
        """Stop and release the source and close the recording (status completed)."""
        if self.closed:
            return
        self.closed = True
        try:
            if self.source.state not in (SourceState.STOPPED, SourceState.RELEASED):
                self.source.stop()
                if self.recorder is not None and not self.recorder.closed:
                    # One last poll drains what arrived before the stop (unless the recording
                    # already failed: then its error is the one to report).
                    chunk = poll_checked(self.source)
                    if self.losses is not None:  # (counted too: the total said at the end)
                        self.losses.push(chunk.raw)
                    if not chunk.empty:
                        self.recorder.write(chunk)
                        if self.on_chunk is not None:  # (e.g. the LSL outlets: the same samples)
                            with contextlib.suppress(Exception):
                                self.on_chunk(chunk)
        finally:
            self.source.release()
            # what was lost on the way: said, and kept for the report
            said = self.losses.closing_notes() if self.losses is not None else []
            self._notes += said
            if self.recorder is not None and not self.recorder.closed:
                self._write_early_events(None)  # (no sample ever came)
                for text in said:
                    self.recorder.add_event(EVENT_SOURCE_NOTE, text)
                ending = self.ending
                text = f"{self.protocol.name}: closed"
                if ending != ENDED_FINISHED:
                    text += (
                        f" ({ending} after {self.session_s / 60:.1f} of "
                        f"{self.protocol.duration_s / 60:.1f} min)"
                    )
                self.recorder.add_event("protocol", text)
                self.recorder.close(extra={"ended": ending, "protocol_s": round(self.session_s, 3)})

    # -- commands ----------------------------------------------------------------------------

    def pause(self) -> None:
        """Pause the protocol: metrics go on, protocol time, baseline and reward stop."""
        if not self.paused:
            self.paused = True
            self._event("pause", "")

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self._event("resume", "")

    def toggle_pause(self) -> None:
        self.resume() if self.paused else self.pause()

    def add_marker(self, text: str = "") -> None:
        """Record a marker (one key in the dashboard)."""
        self._event("marker", text)

    def add_note(self, text: str) -> None:
        """Record a free-text note."""
        self._event("note", text)

    def set_threshold(self, threshold_z: float) -> None:
        """Fix the reward threshold (z-score) by hand."""
        self.threshold.set_manual(threshold_z)
        self._event("threshold", f"manual {threshold_z:.2f}")

    def set_auto_threshold(self, target_rate: float | None = None) -> None:
        """Let the threshold follow the target reward rate."""
        self.threshold.set_auto(target_rate)
        self._event("threshold", f"auto, target {self.threshold.target_rate:.2f}")

    def _event(self, kind: str, text: str, time: float | None = None) -> None:
        """Record an event at data time ``time`` (by default that of the last update; one
        before the first sample is held and stamped with that sample's time, when the protocol
        starts: it had no time, NaN in events.csv, and was listed after the whole session)."""
        if self.recorder is None or self.recorder.closed:
            return
        if time is None and self._next_t is None:
            self._early_events.append((kind, text))
            return
        self.recorder.add_event(kind, text, time=self._last_t if time is None else time)

    def _write_early_events(self, time: float | None) -> None:
        """Write the events held until the first sample (:meth:`_event`) at ``time`` (None:
        the recorder's newest sample, NaN without any)."""
        early, self._early_events = self._early_events, []
        for kind, text in early:
            self.recorder.add_event(kind, text, time=time)

    # -- the loop ----------------------------------------------------------------------------

    @property
    def phase(self) -> tuple[int, Phase, float] | None:
        """(index, phase, seconds into it) now; None once the protocol is over."""
        # asked several times per update: looked up once per step of protocol time
        key = (self.session_s, self.protocol)
        memo = self._phase_key
        if memo is None or memo[0] != key[0] or memo[1] is not key[1]:
            self._phase_now = self.protocol.phase_at(key[0])
            self._phase_key = key
        return self._phase_now

    @property
    def finished(self) -> bool:
        """True once the protocol is over, or the source has delivered all it ever will."""
        return self.started and (self.phase is None or self._source_ended)

    @property
    def ending(self) -> str:
        """How the session ends if it is closed now (recorded in ``session.json``).

        ``"finished"`` once the protocol is over or less than :data:`SOURCE_END_SLACK_S` of it is
        left, ``"device failed"`` when reading the source failed before that (a DeviceError from
        :meth:`tick`: the device broke, or did not come back after a drop), ``"source ended"``
        when the source ran out before that, else ``"stopped"``.
        """
        if self.protocol.duration_s - self.session_s <= SOURCE_END_SLACK_S:
            return ENDED_FINISHED
        if self._source_failed:
            return ENDED_DEVICE_FAILED
        return ENDED_SOURCE if self._source_ended else ENDED_STOPPED

    def tick(self) -> list[MetricUpdate]:
        """Poll once and return the updates that became due (possibly none).

        Huge or non-finite samples overflow in the metrics: the results are NaN/inf, which the
        quality gate reports, and numpy's warnings about them are not printed.
        """
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._tick()

    def _tick(self) -> list[MetricUpdate]:
        if not self.started:
            self.start()
        try:
            chunk = poll_checked(self.source)
        except DeviceError as exc:
            if not self._source_failed:
                self._source_failed = True
                with contextlib.suppress(RecordingError):  # (the device's error is the one
                    self._event("device_failed", str(exc))  # to report; close() says the other)
            raise
        if self.recorder is not None and not chunk.empty:
            self.recorder.write(chunk)
        if self.on_chunk is not None and not chunk.empty:
            self.on_chunk(chunk)
        self._take_source_events()
        state = self.source.state
        # The chunk's samples came while the source streamed, whatever it says now: SILENT or
        # ENDED with them is what follows them (a hole, the end of a file), and is entered
        # only once they are consumed. So an accelerated source whose poll reads far ahead of
        # the updates (or reads the rest of its file at once) gives the same updates as one
        # polled in real time.
        self._data_state = _arrival_state(chunk, state)
        lost = self._watch_state(chunk, self._data_state)
        if not chunk.empty:
            self._last_received = chunk.received_at
        signals = {role: _usable(block) for role, block in chunk.signals.items()}
        missing = self._counted_losses(chunk)
        for role, block in signals.items():
            self._pending[role].add(block, missing.get(role))
        eeg_block = signals.get("eeg")
        if self.eeg is not None and eeg_block is not None and eeg_block.n_samples:
            self.eeg.receive(eeg_block.samples)
            self._newest_eeg_t = float(eeg_block.timestamps[-1])
        updates = self._consume()
        if state != self._data_state:
            # (timed at the update of the chunk's last samples, as a loss found by an empty poll)
            lost = self._watch_state(chunk, state) or lost
        now = self.clock.now()
        if updates:
            self._last_update_clock = now
        if (
            lost or (not updates and now - self._last_update_clock >= self.config.heartbeat_s)
        ) and self._last_t is not None:
            # A lost signal is shown at once, not at the next heartbeat (after the updates of
            # the samples that came before the loss).
            updates.append(self._make_update(self._last_t, heartbeat=True))
            self._last_update_clock = now
        if updates:
            self.latest = updates[-1]
        self.preview = self._preview()
        if self.source.state == SourceState.ENDED and not self._source_ended:
            # A recording or simulation ran out before the protocol did: wrap up with what we have.
            self._source_ended = True
            if self.phase is not None:
                self._event(
                    "protocol", f"{self.protocol.name}: source ended in phase {self.phase[1].name}"
                )
                # (as long as the protocol but for a few samples: finished; else part of it)
                self._finish_assessment(complete=self.ending == ENDED_FINISHED)
        return updates

    def _take_source_events(self) -> None:
        """Record the source's own events (e.g. ReconnectingSource: "device_error",
        "reconnected after 4.1 s"); its notes (:data:`SAID_SOURCE_KINDS`) are kept for
        :meth:`take_notes` too."""
        take_events = getattr(self.source, "take_events", None)
        if callable(take_events):
            for kind, text in take_events():
                if kind in REOPENED_KINDS and self.losses is not None:
                    self.losses.restart()  # (a device opened again counts from scratch)
                if kind in SAID_SOURCE_KINDS:
                    self._notes.append(text)
                if self.recorder is not None and not self.recorder.closed:
                    self.recorder.add_event(kind, text)

    def _counted_losses(self, chunk: Chunk) -> dict[str, np.ndarray]:
        """The samples lost before each of ``chunk``'s samples, per role of a counted preset
        (:class:`~biotrainer.acquisition.counter.SourceLosses`); a counter found not to fit
        its timestamps is recorded and said as the source's notes are."""
        if self.losses is None:
            return {}
        missing = self.losses.push(chunk.raw)
        for text in self.losses.take_notes():
            self._notes.append(text)
            if self.recorder is not None and not self.recorder.closed:
                self.recorder.add_event(EVENT_SOURCE_NOTE, text)
        return missing

    @property
    def link_losing(self) -> str:
        """What a wireless link is losing now ("losing samples (PPG 4 %)"; "" when no
        counted preset lost over 2 % of its samples over its last 30 s): for the therapist's
        quality line (:meth:`~biotrainer.acquisition.counter.SourceLosses.losing`)."""
        return self.losses.losing() if self.losses is not None else ""

    def take_notes(self) -> list[str]:
        """Return and forget the source's notes since the previous call (what it assumed of its
        stream, e.g. an LSL stream's unit): the commands print them, the trainer shows them."""
        notes, self._notes = self._notes, []
        return notes

    def _watch_state(self, chunk: Chunk, state: SourceState) -> bool:
        """Log the source's change to ``state``; True when the signal was just lost.

        A loss or an end is timed at the last update made ("signal_lost", "source_ended").
        "signal_restored" carries the time of the first sample after the loss (``chunk``'s, or
        that of the first later poll that brings samples), not the time of the last update
        before it, which is when the signal was lost.
        """
        lost = state == SourceState.SILENT and self._source_state != SourceState.SILENT
        if state != self._source_state:
            if state == SourceState.SILENT:
                if self._restore_pending:
                    self._restore_pending = False  # lost again before any sample came back
                else:
                    self._event("signal_lost", "no new samples")
            elif self._source_state == SourceState.SILENT and state == SourceState.STREAMING:
                self._restore_pending = True
            elif state == SourceState.ENDED:
                self._event("source_ended", "")
            self._source_state = state
        if self._restore_pending:
            first = self._first_sample_time(chunk)
            if first is not None:
                self._restore_pending = False
                self._event("signal_restored", "", time=first)
        return lost

    def _first_sample_time(self, chunk: Chunk) -> float | None:
        """Timestamp of the first sample of ``chunk`` (of the primary role when it has some),
        None for an empty chunk."""
        blocks = [b for b in chunk.signals.values() if b.n_samples]
        if not blocks:
            return None
        primary = chunk.signals.get(self._primary)
        if primary is not None and primary.n_samples:
            return float(primary.timestamps[0])
        return min(float(b.timestamps[0]) for b in blocks)

    def _consume(self) -> list[MetricUpdate]:
        primary = self._pending[self._primary]
        if primary.t.size == 0:
            return []
        if self._next_t is None:
            # the protocol starts with its first sample: logged then (no sample has a time
            # before it; logged at start() it had none, NaN in events.csv)
            self._event("protocol", f"{self.protocol.name}: started", time=float(primary.t[0]))
            self._write_early_events(float(primary.t[0]))
            self._start_streams(primary.t[0])
            self._next_t = float(primary.t[0]) + self.config.update_interval_s
        self._holes = []
        boundaries = self._due_boundaries(primary.t)
        holes = self._holes
        if not boundaries:
            return [u for _, start, n in holes for u in self._lost_updates(start, n)]
        # All due intervals are fed at once (one filter/spectrum pass per processor); the
        # processors then step through the boundaries, so every update sees exactly the state
        # that feeding the intervals one by one gives, and chunking does not change the results.
        # The "signal lost" updates of a hole come before the boundary after it is reached (at
        # the protocol time before the hole).
        updates = []
        h = 0
        steps = self._feed_batch(boundaries)
        for i, boundary in enumerate(boundaries):
            while h < len(holes) and holes[h][0] <= i:
                updates.extend(self._lost_updates(holes[h][1], holes[h][2]))
                h += 1
            next(steps)
            updates.append(self._make_update(boundary))
        for _, start, n in holes[h:]:
            updates.extend(self._lost_updates(start, n))
        # Whatever is left of the primary role (< one interval) waits for the next boundary.
        return updates

    def _due_boundaries(self, t: np.ndarray) -> list[float]:
        """The update boundaries covered by the pending primary timestamps ``t``; advances
        ``_next_t`` past them (jumping holes, :meth:`_skip_hole_at`, as if the intervals had
        been consumed one by one)."""
        out: list[float] = []
        last = float(t[-1])
        interval = self.config.update_interval_s
        # ~100 boundaries a batch: bisect a list (the same index as np.searchsorted on sorted
        # timestamps, without its per-call overhead); unsorted ones keep numpy's search
        ordered = t.size < 2 or bool(np.all(t[1:] >= t[:-1]))
        tl = t.tolist() if ordered else t
        self._skip_hole_at(tl, 0, 0)
        while self._next_t <= last:
            boundary = self._next_t
            out.append(boundary)
            self._next_t += interval
            if ordered:
                self._skip_hole_at(tl, bisect.bisect_right(tl, boundary), len(out))
            else:
                self._skip_hole_at(t, int(np.searchsorted(t, boundary, side="right")), len(out))
        return out

    def _skip_hole_at(self, t: np.ndarray | list[float], first: int, position: int) -> None:
        """Jump the next update boundary over a hole in the data (a device drop) before the
        pending primary sample ``t[first]`` (the batched :meth:`_consume` looks ahead without
        taking the samples).

        No metrics are computed for the empty intervals, so the hole neither counts as protocol
        time nor rewards stale metrics; each of them gets a "signal lost" update instead
        (:meth:`_lost_updates`, noted in ``_holes`` to come before the ``position``-th due
        boundary), so the loss is in ``metrics.csv`` and in the session's quality figures. The
        boundary stays on the same 0.1-s grid.
        """
        if first >= len(t):
            return
        hole = float(t[first]) - self._next_t
        if hole > self._hole_s:
            interval = self.config.update_interval_s
            n = math.floor(hole / interval)
            rows = min(n, math.floor(self.config.max_lost_s / interval))
            self._holes.append((position, self._next_t, rows))
            self._next_t += n * interval

    def _cardiac_role_in(self, layout: SourceLayout) -> str | None:
        """The role the heart metrics come from (the configured one, else the first of
        ecg, ppg, rr the source has), or None when the source has none of it."""
        role = self.config.cardiac_role or next(
            (r for r in self._cardiac_roles if layout.group(r) is not None), None
        )
        return role if role is not None and layout.group(role) is not None else None

    def _check_signals(self, layout: SourceLayout) -> None:
        """Refuse, before protocol time starts, a source without a signal the protocol's
        feedback is made of (:func:`missing_signals`).

        Raises
        ------
        DeviceError
            Naming the protocol, what it needs and the source.
        """
        problem = missing_signals(self.protocol, layout)
        if problem is not None:
            raise DeviceError(problem)

    def _check_rates(self, layout: SourceLayout, roles: list[str]) -> None:
        """Refuse, before protocol time starts, a source whose signal in ``roles`` or in its
        heart role comes at a rate the processors cannot filter (EEG below 32 Hz...).

        Raises
        ------
        DeviceError
            Naming the device, the role, the rate and the bound
            (:func:`~biotrainer.limits.role_rate_problem`).
        """
        cardiac = self._cardiac_role_in(layout)
        for role in [*roles, *([cardiac] if cardiac is not None else [])]:
            problem = role_rate_problem(role, layout.preset(layout.group(role).preset).fs)
            if problem is not None:
                raise DeviceError(f"the source {layout.device} cannot be used: {problem}")

    def _start_streams(self, t0: float) -> None:
        layout = self.source.layout
        role = self._cardiac_role_in(layout)
        if role is not None:
            g = layout.group(role)
            first = self._pending[role].t
            start = float(first[0]) if first.size else t0
            fs = layout.preset(g.preset).fs
            self.cardiac = _processor(role, lambda: CardiacProcessor(fs, role, start))
            self._cardiac_t = start
            self._cardiac_role = role
            self._cardiac_channel = pulse_channel(g.names) if role == "ppg" else 0
        self._start_resp(layout)

    def _start_resp(self, layout: SourceLayout) -> None:
        """The breathing rate from the first respiration channel, when there is one at a rate
        it can be filtered at (below 4 Hz the heart rhythm's estimate is kept)."""
        g = layout.group("resp")
        if g is None or not g.rows:
            return
        fs = layout.preset(g.preset).fs
        if fs >= MIN_RESP_FS:
            self.resp = RespRateStream(fs)

    def _feed_batch(self, boundaries: list[float]) -> Iterator[None]:
        """Take the pending samples up to the last boundary, hand them to the processors as
        pieces ending at the boundaries, and step through the boundaries (one ``yield`` each,
        after the processors and protocol time reached that boundary)."""
        t_last = boundaries[-1]
        eeg_steps = cardiac_steps = None
        rr_pieces = None
        if self.eeg is not None:
            taken = self._pending["eeg"].take_until(t_last)
            if taken is not None:
                ends = np.searchsorted(taken.t, boundaries, side="right")
                eeg_steps = self.eeg.push_many(taken.x, ends)
        cardiac_t: list[float] | None = None  # time of the newest heart sample per boundary
        if self.cardiac is not None:
            taken = self._pending[self._cardiac_role].take_until(t_last)
            if taken is not None:
                ends = np.searchsorted(taken.t, boundaries, side="right")
                cardiac_t = _newest_at(taken.t, ends)
                if self._cardiac_role == "rr":
                    starts = np.concatenate(([0], ends[:-1]))
                    rr_pieces = [
                        (taken.x[0][a:b], taken.t[a:b]) for a, b in zip(starts, ends, strict=True)
                    ]
                else:
                    y = taken.x[self._cardiac_channel]
                    at, steps = timestamp_gaps(taken.t, self._cardiac_t, self.config.max_gap_s)
                    fill_at, fill_n, at, steps = split_counted_losses(
                        at, steps, taken.lost, self.cardiac.fs, self.config.max_gap_s
                    )
                    if fill_at.size:
                        y, moved = with_missing(y, fill_at, fill_n, [ends, at])
                        ends, at = moved
                    self.cardiac.mark_holes(at.tolist(), steps.tolist())
                    cardiac_steps = self.cardiac.push_many(y, ends)
        resp_steps = resp_t = None
        if self.resp is not None:
            taken = self._pending["resp"].take_until(t_last)
            if taken is not None:
                resp_steps, resp_t = self._resp_steps(taken, boundaries)
        for role, pending in self._pending.items():
            if role == "resp" and self.resp is not None:
                continue
            if role != "eeg" and (self.cardiac is None or role != self._cardiac_role):
                pending.take_until(t_last)  # not analysed: drop to keep memory flat
        for i, t_end in enumerate(boundaries):
            if eeg_steps is not None:
                next(eeg_steps)
            if cardiac_steps is not None:
                next(cardiac_steps)
            if resp_steps is not None:
                next(resp_steps)
                if resp_t[i] == resp_t[i]:  # (not NaN)
                    self._resp_t = resp_t[i]
            if rr_pieces is not None and rr_pieces[i][0].size:
                self.cardiac.push_rr(*rr_pieces[i])
            if cardiac_t is not None and cardiac_t[i] == cardiac_t[i]:  # (not NaN)
                self._cardiac_t = cardiac_t[i]
            self._advance_protocol_time(t_end)
            yield None

    def _resp_steps(
        self, taken: _Taken, boundaries: list[float]
    ) -> tuple[Iterator[None], list[float]]:
        """Hand the respiration samples ``taken`` to the breathing count as pieces ending at
        ``boundaries``; return its steps and the time of the newest respiration sample at each
        boundary.

        A gap in the stamps of up to :data:`BELT_BRIDGE_S` (a Bluetooth hiccup), or samples the
        device's packet counter says were lost, are filled with missing samples (held, and
        counted against the window's share of them); after a longer one the count starts again
        (no breath is counted across it)."""
        stamps = taken.t
        y = taken.x[0]
        fs = self.resp.fs
        ends = np.searchsorted(stamps, boundaries, side="right")
        newest = _newest_at(stamps, ends)
        gaps, steps = timestamp_gaps(stamps, self._resp_t, self.config.max_gap_s)
        gaps, steps = join_counted_holes(gaps, steps, taken.lost, fs)
        short = steps <= BELT_BRIDGE_S
        bridged, restarts = gaps[short], gaps[~short]
        if bridged.size:
            lost = np.rint(steps[short] * fs).astype(np.int64) - 1  # samples not received
            y = np.insert(y, np.repeat(bridged, lost), np.nan)
            shift = np.concatenate(([0], np.cumsum(lost)))
            ends = ends + shift[np.searchsorted(bridged, ends, side="left")]
            restarts = restarts + shift[np.searchsorted(bridged, restarts, side="right")]
        return self.resp.push_many(y, ends, restarts.tolist()), newest

    def _advance_protocol_time(self, t_end: float) -> None:
        if self._last_t is not None and not self.paused and self.phase is not None:
            self.session_s += min(max(0.0, t_end - self._last_t), self.config.max_gap_s)
        self._last_t = t_end

    # -- one update --------------------------------------------------------------------------

    def _feedback_value(self, kind: str) -> float:
        if kind == "alpha":
            return self.eeg.alpha if self.eeg else NAN
        if kind == "relaxation":
            return self.eeg.relaxation if self.eeg else NAN
        if kind == "coherence":
            return self.cardiac.coherence if self.cardiac else NAN
        raise ValueError(kind)

    def _metric_kinds(self) -> tuple[str, ...]:
        return self.protocol.feedback_kinds

    def _quality(
        self,
        state: SourceState | None = None,
        kinds: tuple[str, ...] | None = None,
        heart_lost: bool = False,
    ) -> tuple[bool, str]:
        if state is None:
            state = self.source.state
        if state == SourceState.SILENT:
            return False, "signal lost"
        uses_eeg = self.protocol.uses_eeg
        if uses_eeg:
            if self.eeg is None:  # made at start whenever the device has EEG
                return False, "this protocol needs EEG and the device has none"
            if not self.eeg.clean:
                return False, self.eeg.quality_reason
        if kinds is None:
            kinds = self._metric_kinds()
        if "coherence" in kinds and self.cardiac is None:
            return False, "this protocol needs ECG or PPG and the device has none"
        if "coherence" in kinds and heart_lost:
            return False, HEART_LOST_REASON
        if "coherence" in kinds and self.cardiac.slow_irregular:
            return False, HEART_IRREGULAR_REASON
        if uses_eeg:
            # clean enough for feedback; name the channels left out, if any
            return True, self.eeg.quality_reason
        return True, "ok"

    def _make_update(self, t: float, heartbeat: bool = False, lost: bool = False) -> MetricUpdate:
        """The update at data time ``t``; a ``heartbeat`` (no new data, not written to
        metrics.csv) or a ``lost`` one (an empty interval of a hole in the data, see
        :meth:`_lost_updates`)."""
        located = self.phase
        # (nothing below changes the state) a heartbeat tells the source's state now; an update
        # of samples, the state they came in (see _tick); an empty interval of a hole, the loss
        state = self.source.state if heartbeat else self._data_state
        if lost:
            state = SourceState.SILENT
        streaming = state == SourceState.STREAMING
        kinds = self._metric_kinds()
        c = self.cardiac
        # beats stopped while data flows (an electrode off): the heart metrics are withdrawn
        # (or the heart signal's own samples stopped coming: a stalled preset)
        heart_lost = (
            c is not None
            and not lost
            and (c.beatless_s() > BEATS_LOST_S or t - self._cardiac_t > BEATS_LOST_S)
        )
        quality_ok, reason = self._quality(state, kinds, heart_lost)
        if heartbeat and not streaming:
            quality_ok = False
            reason = state.value
        values = {
            k: NAN if lost or (heart_lost and k == "coherence") else self._feedback_value(k)
            for k in kinds
        }
        if located is not None:
            index, phase, elapsed = located
            eyes, phase_kind = phase.eyes, phase.kind
        else:
            eyes, phase_kind = "open", ""
        active = not self.paused and located is not None

        if active and phase_kind == "baseline" and quality_ok and not heartbeat:
            for k, v in values.items():
                base = self._baselines.get((k, eyes))
                if base is None:
                    base = self._baselines[(k, eyes)] = metric_baseline(k)
                base.add(v)
        zs = [self._z(k, v, eyes) for k, v in values.items()]
        z = sum(zs) / len(zs) if zs and all(math.isfinite(x) for x in zs) else NAN
        if not streaming or heartbeat:
            z = NAN  # no fresh data: the view holds still
        elif quality_ok and math.isfinite(z):
            self._last_clean_z = z
        elif math.isfinite(z) and math.isfinite(self._last_clean_z):
            z = min(z, self._last_clean_z)  # an artifact may lower the feedback, never raise it
        else:
            z = NAN if not quality_ok else z
        rewarded = False
        # what the reward is judged against (the threshold then moves)
        bar, scale = self.threshold.threshold_z, self.threshold.score_scale
        if active and phase_kind == "training" and quality_ok and not heartbeat:
            rewarded = self.threshold.update(t, z)
        elif active and phase_kind == "pacing" and quality_ok and not heartbeat:
            self.threshold.follow(t, z)
        # centred on the bar: above 0.5 exactly when rewarded
        score = _score(z, bar, scale, held=phase_kind == "training" and not rewarded)

        beats = c.take_new_beats() if c is not None and not lost else ()
        if located is not None:
            if index != self._phase_index:
                self._phase_index = index
                self._event("phase", f"{index}: {phase.name}")
            if phase_kind == "pacing" and active:
                self._pacing_beats[index].extend(beats)
            phase_fields = (index, phase.name, elapsed, phase.duration_s - elapsed,
                            self._pacer(phase), phase.inhale_ratio)  # fmt: skip
        else:
            n_phases = len(self.protocol.phases)
            if self._phase_index != n_phases:
                self._phase_index = n_phases
                self._event("protocol", f"{self.protocol.name}: finished")
                self._finish_assessment()
            phase_fields = (n_phases, "Finished", 0.0, 0.0, NAN, 0.4)

        eeg = self.eeg
        threshold = self.threshold
        channel_ok = eeg.channel_ok if eeg else ()
        if lost:
            c = eeg = None  # no data: no metrics
            channel_ok = (False,) * len(channel_ok)
        elif heart_lost:
            c = None
        breathing = self._breathing(c, lost, t)
        update = MetricUpdate.of(
            session_s=self.session_s,
            sample_time=t,
            received_at=self._last_received,
            computed_at=self.clock.now(),
            phase_index=phase_fields[0],
            phase_name=phase_fields[1],
            phase_kind=phase_kind,
            phase_eyes=eyes if located is not None else "",
            phase_elapsed_s=phase_fields[2],
            phase_remaining_s=phase_fields[3],
            pacer_bpm=phase_fields[4],
            inhale_ratio=phase_fields[5],
            paused=self.paused,
            finished=located is None,
            feedback_value=sum(values.values()) / len(values) if values else NAN,
            feedback_z=z,
            feedback_score=score,
            rewarded=rewarded,
            threshold_z=threshold.threshold_z,
            reward_rate=threshold.reward_rate,
            target_reward_rate=threshold.target_rate,
            relaxation=eeg.relaxation if eeg else NAN,
            alpha=eeg.alpha if eeg else NAN,
            hr_bpm=c.hr_bpm if c else NAN,
            rmssd_ms=c.rmssd_ms if c else NAN,
            coherence=c.coherence if c else NAN,
            breathing_bpm=breathing[0],
            breathing_source=breathing[1],
            heart_irregular=c.irregular if c else False,
            beats=beats,
            quality_ok=quality_ok,
            quality_reason=reason,
            channel_ok=channel_ok,
            band_powers=eeg.band_powers if eeg else None,
            source_state=state.value,
        )
        if self._metrics_csv is not None and not heartbeat:
            self._metrics_csv.append(update.csv_row())
        return update

    def _breathing(self, c: CardiacProcessor | None, lost: bool, t: float) -> tuple[float, str]:
        """(breathing rate, where it comes from) at data time ``t``: the respiration belt's
        rate while it has one and its samples come (a respiration channel whose samples stopped
        for over :data:`~biotrainer.limits.BEATS_LOST_S` while the rest streams gives none),
        else the heart rhythm's (RSA) while there is one, else (NaN, "")."""
        if lost:
            return NAN, ""
        r = self.resp
        if r is not None and math.isfinite(r.breathing_bpm) and t - self._resp_t <= BEATS_LOST_S:
            return r.breathing_bpm, BREATHING_FROM_RESP
        if c is not None and math.isfinite(c.breathing_bpm):
            return c.breathing_bpm, BREATHING_FROM_HEART
        return NAN, ""

    def _lost_updates(self, start: float, n: int) -> list[MetricUpdate]:
        """One "signal lost" update per empty interval of a hole in the data: the boundaries
        ``start + k * update_interval_s`` (k < n), written to ``metrics.csv`` like any update.

        They are made from the data's timestamps only (not from the clock or the source state
        while the signal was away), so a replay of the recording makes the same ones: the
        lost time counts in the quality figures ("device not streaming", "clean") live and
        offline alike. Protocol time, the baseline, the reward and the beats do not move; the
        metrics are NaN (no data), so the averages are those of the data there is.
        """
        interval = self.config.update_interval_s
        return [self._make_update(start + k * interval, lost=True) for k in range(n)]

    def _preview(self) -> FeedbackPreview | None:
        """The alpha feedback at the newest sample, scored and gated like :attr:`latest`."""
        u = self.latest
        if (
            u is None
            or u.finished
            or self.eeg is None
            or self.protocol.feedback != "alpha"
            or not self._newest_eeg_t > max(u.sample_time, self._previewed_t)
        ):
            return None
        self._previewed_t = self._newest_eeg_t
        value = self.eeg.newest_alpha
        if self._data_state != SourceState.STREAMING:  # (the state its samples came in)
            z = NAN
        else:
            located = self.phase
            z = self._z("alpha", value, located[1].eyes if located else "open")
            if not u.quality_ok:
                # as in the updates: an artifact may lower the feedback, never raise it
                clean = self._last_clean_z
                z = min(z, clean) if math.isfinite(z) and math.isfinite(clean) else NAN
        # scored as the next update will be: against the bar it will be judged by
        th = self.threshold
        held = u.phase_kind == "training" and not u.quality_ok
        score = _score(z, th.threshold_z, th.score_scale, held)
        return FeedbackPreview(
            sample_time=self._newest_eeg_t,
            received_at=self._last_received,
            feedback_value=value,
            feedback_z=z,
            feedback_score=score,
        )

    def _z(self, kind: str, value: float, eyes: str) -> float:
        base = self._baselines.get((kind, eyes))
        if base is None or not base.ready:
            # fall back to any baseline of this metric (e.g. eyes-closed training after an
            # eyes-open baseline only)
            base = next((b for (k, _), b in self._baselines.items() if k == kind and b.ready), None)
        return base.z(value) if base is not None else NAN

    def _pacer(self, phase: Phase) -> float:
        if phase.pacer_bpm is None:
            return NAN
        if self.pacer_override is not None and phase.kind != "pacing":
            return float(self.pacer_override)
        return phase.pacer_bpm

    def _finish_assessment(self, complete: bool = True) -> None:
        """Assess the paced rates; choose the resonance rate only when ``complete`` (every
        paced rate was reached and held to its end)."""
        if not self._pacing_beats:
            return
        results = [
            assess_rate(self.protocol.phases[i].pacer_bpm or NAN, np.asarray(beats))
            for i, beats in sorted(self._pacing_beats.items())
        ]
        summary = ", ".join(
            f"{r.bpm:g}/min LF {r.lf_power_ms2:.0f} ms² swing {r.hr_swing_bpm:.1f} bpm, "
            f"{r.n_beats} beats{' too irregular' if r.irregular else ''}"
            for r in results
        )
        if complete:
            self.resonance = choose_resonance(results)
            self._event("resonance", f"best {self.resonance.best_bpm:g}/min ({summary})")
            return
        n_rates = sum(p.kind == "pacing" for p in self.protocol.phases)
        self.resonance = ResonanceResult(tuple(results), NAN, complete=False)
        self._event(
            "resonance",
            f"best nan/min ({summary}); {NOT_DECIDED}: the assessment ended after "
            f"{len(results)} of its {n_rates} rates",
        )

    def baseline(self, kind: str, eyes: str = "open") -> Baseline | None:
        """The baseline learned for ``kind`` (``alpha``, ``relaxation``, ``coherence``)."""
        return self._baselines.get((kind, eyes))


def _score(z: float, bar: float, scale: float, held: bool) -> float:
    """The feedback score of ``z`` against the reward threshold ``bar``
    (:func:`~biotrainer.engine.feedback.score_from_z`); ``held``: a training update that was
    not rewarded (or, for a preview, will not be judged: poor signal) stays at the bar or below."""
    score = score_from_z(z, bar, scale=scale)
    return 0.5 if held and score > 0.5 else score
