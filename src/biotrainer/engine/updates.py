"""What the engine tells the rest of the app: immutable metric updates."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from biotrainer.dsp.eeg import BandPowers

NAN = math.nan


#: ``breathing_source`` of a rate counted on a respiration channel (see :mod:`biotrainer.dsp.resp`).
BREATHING_FROM_RESP = "resp"
#: ``breathing_source`` of a rate read from the heart rhythm (respiratory sinus arrhythmia).
BREATHING_FROM_HEART = "heart"


@dataclass(frozen=True)
class MetricUpdate:
    """One feedback tick (10 per second of data), carrying the latest value of every metric.

    Times
    -----
    session_s : float
        Protocol time in seconds (pauses excluded).
    sample_time : float
        BrainFlow timestamp (s) of the newest sample that went into this update.
    received_at : float
        Engine clock time (s) at which the poll that brought that sample returned: the start
        of the latency chain. The UI subtracts it from the time the frame is painted.
    computed_at : float
        Engine clock time (s) at which this update was made.

    Protocol
    --------
    phase_index, phase_name, phase_kind : the current phase (index -1 / "" before start).
    phase_eyes : "open" or "closed" in a phase ("" outside the protocol): the baselines are
        learnt, and the phases scored, per eyes.
    phase_elapsed_s, phase_remaining_s : seconds into / left in the phase.
    pacer_bpm, inhale_ratio : breathing pacer (NaN for none).
    paused, finished : bool.

    Feedback
    --------
    feedback_value : float
        The raw feedback metric of the protocol (alpha ratio, relaxation index, coherence...).
    feedback_z : float
        Its z-score against the person's baseline (NaN before the baseline is known, and while
        gated by signal quality).
    feedback_score : float
        0-1 score driving the patient view: a logistic of ``feedback_z`` centred on the reward
        threshold this update was judged against (the previous update's ``threshold_z``), so
        0.5 at the bar and, in a training phase, above 0.5 exactly when rewarded (see
        :mod:`biotrainer.engine.feedback`). Relative to a moving bar: progress against the
        baseline is ``feedback_z``. NaN = hold still.
    rewarded : bool
        ``feedback_z`` is above the threshold in a training phase with clean signals.
    threshold_z, reward_rate, target_reward_rate : the auto-threshold state after this update
        (the threshold the next update is judged against).

    Metrics
    -------
    relaxation : EEG relaxation index 0-1. alpha : AlphaStream value.
    hr_bpm, rmssd_ms, coherence : cardiac metrics (NaN when not available).
    breathing_bpm : breaths/min over the last 60 s (NaN when not available), from the
        respiration channel (a belt) when the source has one and it gives a rate, else from the
        heart rhythm (RSA; trustworthy at slow paced breathing, often too low otherwise).
    breathing_source : where ``breathing_bpm`` comes from: :data:`BREATHING_FROM_RESP`,
        :data:`BREATHING_FROM_HEART`, or "" without a rate.
    heart_irregular : bool, the latest minute of beats (RMSSD's window) is too irregular to
        measure variability (:func:`biotrainer.dsp.rr.rr_too_irregular`): ``rmssd_ms`` is NaN
        (coherence and the heart rhythm's breathing rate, over their own 64/60 s, are NaN while
        theirs is; a rate counted on a respiration belt is not).
    beats : tuple of float, BrainFlow times (s) of beats detected since the previous update.
    band_powers : BandPowers or None, the EEG band powers of the last 4 s (renewed every second
        of data; the same object is carried until then).

    Quality
    -------
    quality_ok : bool, all signals the feedback uses are clean.
    quality_reason : str, "ok" or what is wrong ("ch AF7: EMG").
    channel_ok : tuple of bool per EEG channel (then per cardiac channel).
    source_state : str, e.g. "streaming", "signal lost".
    """

    session_s: float
    sample_time: float
    received_at: float
    computed_at: float
    phase_index: int = -1
    phase_name: str = ""
    phase_kind: str = ""
    phase_eyes: str = ""
    phase_elapsed_s: float = 0.0
    phase_remaining_s: float = 0.0
    pacer_bpm: float = NAN
    inhale_ratio: float = 0.4
    paused: bool = False
    finished: bool = False
    feedback_value: float = NAN
    feedback_z: float = NAN
    feedback_score: float = NAN
    rewarded: bool = False
    threshold_z: float = 0.0
    reward_rate: float = NAN
    target_reward_rate: float = 0.65
    relaxation: float = NAN
    alpha: float = NAN
    hr_bpm: float = NAN
    rmssd_ms: float = NAN
    coherence: float = NAN
    breathing_bpm: float = NAN
    breathing_source: str = ""
    heart_irregular: bool = False
    beats: tuple[float, ...] = ()
    band_powers: BandPowers | None = None
    quality_ok: bool = True
    quality_reason: str = "ok"
    channel_ok: tuple[bool, ...] = ()
    source_state: str = "streaming"

    @classmethod
    def of(cls, **values: object) -> MetricUpdate:
        """An update from a value for every field (no defaults): what ``MetricUpdate(**values)``
        makes, without the frozen dataclass's one ``object.__setattr__`` per field (the engine
        makes 10 per second of data; an accelerated re-analysis 36,000 per hour)."""
        if values.keys() != _FIELD_SET:
            missing = sorted(_FIELD_SET - values.keys())
            extra = sorted(values.keys() - _FIELD_SET)
            raise TypeError(
                f"MetricUpdate.of needs every field: missing {missing}, unknown {extra}"
            )
        update = object.__new__(cls)
        update.__dict__.update(values)
        return update

    #: Columns written to metrics.csv (the scalar fields, in order).
    @classmethod
    def csv_columns(cls) -> tuple[str, ...]:
        return _CSV_COLUMNS

    def csv_row(self) -> tuple[object, ...]:
        """Values of :meth:`csv_columns`, floats rounded for a compact file."""
        out: list[object] = []
        for name in self.csv_columns():
            v = getattr(self, name)
            if isinstance(v, bool):
                out.append(int(v))
            elif isinstance(v, float):
                out.append("" if math.isnan(v) else round(v, 6))
            else:
                out.append(v)
        return tuple(out)


_FIELD_SET = frozenset(f.name for f in fields(MetricUpdate))
_CSV_COLUMNS = tuple(
    f.name for f in fields(MetricUpdate) if f.name not in ("beats", "channel_ok", "band_powers")
)
