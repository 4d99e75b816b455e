"""Personal baselines, z-scored feedback and the auto-threshold.

The feedback metric (alpha, relaxation index, HRV coherence...) is turned into a score in three
steps:

1. :class:`Baseline` learns the person's mean and spread during the baseline phases (coherence
   on its logarithm and the relaxation index on its log-odds, each with a floor under its
   spread: :func:`metric_baseline`).
2. Each new value becomes a z-score against that baseline (``MetricUpdate.feedback_z``): the
   therapist's measure of progress against the person's own baseline, recorded in
   ``metrics.csv``.
3. :class:`AutoThreshold` places the reward threshold on the z-score so that the person is
   rewarded for a target fraction of the time (65 % by default): hard enough to mean something,
   easy enough to stay encouraging. The therapist can fix the threshold by hand instead.

The score shown to the patient (:func:`score_from_z`: the orb, the sound, the dashboard's bar)
is a logistic of the distance of the z-score from the current reward threshold: 0.5 at the bar,
and in a training phase above 0.5 exactly when the update is rewarded (an update not judged,
for poor signal or a pause, is held at 0.5 at most). So the orb keeps room to move: after a
short or stressed baseline the person can sit at z +5 to +9 for whole phases; a score centred on
the baseline then stayed at 1.00, while the auto-threshold follows the person up and keeps the
orb moving around its middle. With a manual threshold the orb is half open at the therapist's
bar. Baseline and rest phases are scored against the threshold as it stands; in pacing phases
(no reward) the auto-threshold follows the z-scores without rewarding
(:meth:`AutoThreshold.follow`), so the orb stays informative there too.

The score is relative to the bar, not to the baseline, so it does not compare across phases or
sessions (an auto-threshold moves): progress against the baseline is ``feedback_z`` or the
metric itself. The logistic is fitted to how widely the recent z-scores spread
(:attr:`AutoThreshold.score_scale`): widened when they spread far (a short baseline of a few
almost equal values, with z-scores in the hundreds), so the score does not merely jump between
0 and 1, and narrowed, within a limit, when they hardly move (coherence, which changes slowly
against the spread of whole minutes), so the orb still answers; it stays 0.5 at the bar.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

#: Smallest baseline spread used for z-scores, as a fraction of |mean| (avoids dividing by ~0
#: when a baseline is unnaturally steady, e.g. a flat simulated signal).
MIN_RELATIVE_SD = 0.02

#: Different values a baseline needs before z-scores are given against it: fewer say little of
#: the person's spread (the standard error of a standard deviation from 5 values is a third of
#: it; from 2 values it is about 70 %).
MIN_DISTINCT_VALUES = 5

#: Smallest spread of a coherence baseline, in natural-log units of the ratio (z-scores of
#: coherence are taken on its logarithm, see :func:`metric_baseline`). Coherence comes every 5 s
#: over the last 64 s of beats, so a baseline of a minute or two holds one or two independent
#: windows and its own spread says little: in 263 ten-minute stretches of three real records
#: (two day-long ambulatory RR series, sleep and activity included, and MIT-BIH 100; see
#: ``../shared/data/MANIFEST.md``), ln(coherence) of consecutive independent 70-s windows
#: differed by a spread of median 0.59, 25th percentile 0.45, 10th 0.33; a baseline is taken
#: to vary at least as much as three in four of them (``benchmarks/bench_feedback.py --only
#: spread``).
COHERENCE_MIN_LN_SD = 0.45

#: Values of the relaxation index are kept this far from 0 and 1 before their log-odds.
LOGIT_SCALE_FLOOR = 1e-4

#: Smallest spread (log-odds) of a relaxation baseline: a safety for a still signal, half the
#: least seen on real EEG (within a minute, 4-s windows a second apart: 0.43-0.84 on the four
#: eyes-open/eyes-closed recordings of ``../shared/data/eeg_eyes``, median per recording).
RELAXATION_MIN_LOGIT_SD = 0.2

#: How a session's feedback z-scores were made, recorded in its ``session.json``
#: (``extra.feedback_z_version``): 2 since coherence is scored on its logarithm with
#: :data:`COHERENCE_MIN_LN_SD`, 3 since the relaxation index is scored on its log-odds (both
#: 2026-11-29). Sessions without it scored coherence on its own scale against the spread of one
#: baseline window (z-scores up to ten times larger), those before 3 the relaxation index on
#: its own scale (changes near its top squeezed): the progress report does not set such
#: z-scores beside the new ones (:data:`FIRST_VERSION_OF`).
FEEDBACK_Z_VERSION = 3
#: The first :data:`FEEDBACK_Z_VERSION` whose z-scores of each feedback metric compare with
#: today's.
FIRST_VERSION_OF = {"alpha": 1, "coherence": 2, "relaxation": 3}
#: The key of ``session.json``'s ``extra`` that holds it.
FEEDBACK_Z_KEY = "feedback_z_version"

#: A value below this is taken as this before its logarithm on a log-scale baseline (a
#: coherence ratio of 0 has none).
LOG_SCALE_FLOOR = 1e-3

#: The score's logistic spans this many robust SDs of the recent z-scores per unit of its
#: argument (see :attr:`AutoThreshold.score_scale`).
SCORE_SPREAD_SD = 2.0

#: The score's scale is never below this (its logistic at most 2.5 times as steep as with
#: recent z-scores spread by 2): half a baseline SD above the bar then scores 0.73, and the
#: z-scores of a still signal are not blown up into swings of the orb.
MIN_SCORE_SCALE = 0.4


class Baseline:
    """Running mean and standard deviation of a metric (Welford's algorithm).

    The engine adds the metric at every update (10 a second), but a slow metric is computed
    less often and held in between (HRV coherence every 5 s, over 64 s of beats): its values
    come as runs of repeats. A run weighs by how long it held, which is right for the mean,
    but it is one observation of the person: the spread of a baseline is only known once
    :data:`MIN_DISTINCT_VALUES` values have been seen (:attr:`ready`). Before, z-scores are NaN
    (the feedback holds still). A 60 s baseline gives coherence only one or two values; z-scores
    against their spread ran into the hundreds.

    Non-finite values are ignored.

    Parameters
    ----------
    log_scale : bool
        Learn and score the natural logarithm of the values (a ratio such as coherence, which
        can grow twentyfold from a stressed minute to a relaxed one), floored at
        :data:`LOG_SCALE_FLOOR`. :attr:`mean` and :attr:`sd` are then in log units.
    logit_scale : bool
        Learn and score the log-odds ``ln(p / (1 - p))`` of values in 0-1 (the EEG relaxation
        index, a logistic of a log power ratio: its logistic squeezes changes near 1 and 0),
        kept within :data:`LOGIT_SCALE_FLOOR` of the ends.
    min_sd : float
        Smallest spread used for z-scores, in the units of :attr:`sd` (the relative floor
        :data:`MIN_RELATIVE_SD` applies on the linear scale only).
    """

    def __init__(
        self, *, log_scale: bool = False, logit_scale: bool = False, min_sd: float = 0.0
    ) -> None:
        if log_scale and logit_scale:
            raise ValueError("a baseline has one scale: log or logit")
        self.log_scale = bool(log_scale)
        self.logit_scale = bool(logit_scale)
        self.min_sd = float(min_sd)
        self.reset()

    def reset(self) -> None:
        """Forget every value."""
        self.n = 0
        self.distinct = 0  # values that differ from the one added before them
        self._last = math.nan
        self._mean = 0.0
        self._m2 = 0.0
        self._sd = math.nan  # cache of :attr:`sd` (renewed by :meth:`add`)

    def _scaled(self, value: float) -> float:
        if self.log_scale and math.isfinite(value):
            return math.log(max(value, LOG_SCALE_FLOOR))
        if self.logit_scale and math.isfinite(value):
            p = min(max(value, LOGIT_SCALE_FLOOR), 1.0 - LOGIT_SCALE_FLOOR)
            return math.log(p / (1.0 - p))
        return value

    def add(self, value: float) -> None:
        """Add one metric value."""
        if not math.isfinite(value):
            return
        value = self._scaled(value)
        self.n += 1
        if value != self._last:
            self.distinct += 1
            self._last = value
        delta = value - self._mean
        self._mean += delta / self.n
        self._m2 += delta * (value - self._mean)
        self._sd = self._compute_sd()

    @property
    def mean(self) -> float:
        return self._mean if self.n else math.nan

    @property
    def sd(self) -> float:
        """Sample standard deviation, floored at :attr:`min_sd` and, on the linear scale, at
        ``MIN_RELATIVE_SD * |mean|`` (NaN if n < 2)."""
        return self._sd

    def _compute_sd(self) -> float:
        if self.n < 2:
            return math.nan
        sd = math.sqrt(self._m2 / (self.n - 1))
        linear = not (self.log_scale or self.logit_scale)
        relative = MIN_RELATIVE_SD * abs(self._mean) if linear else 0.0
        return max(sd, relative, self.min_sd, 1e-12)

    @property
    def ready(self) -> bool:
        """True once :data:`MIN_DISTINCT_VALUES` different values are in (the spread is known
        well enough for a z-score)."""
        return self.distinct >= MIN_DISTINCT_VALUES

    def z(self, value: float) -> float:
        """z-score of ``value`` against the baseline (NaN before the baseline is ready)."""
        if not self.ready or not math.isfinite(value):
            return math.nan
        return (self._scaled(value) - self._mean) / self._sd


def metric_baseline(kind: str) -> Baseline:
    """A new baseline for the feedback metric ``kind`` (``alpha``, ``relaxation``,
    ``coherence``): coherence is learnt on its logarithm with a spread of at least
    :data:`COHERENCE_MIN_LN_SD`; the relaxation index on its log-odds (the log power ratio
    its logistic is made of) with a spread of at least :data:`RELAXATION_MIN_LOGIT_SD`;
    alpha, which a baseline sees in many independent windows, on its own scale."""
    if kind == "coherence":
        return Baseline(log_scale=True, min_sd=COHERENCE_MIN_LN_SD)
    if kind == "relaxation":
        return Baseline(logit_scale=True, min_sd=RELAXATION_MIN_LOGIT_SD)
    return Baseline()


@dataclass(frozen=True)
class ThresholdState:
    """The threshold as the dashboard shows it.

    Attributes
    ----------
    threshold_z : float
        Current reward threshold on the z-score.
    reward_rate : float
        Fraction of recent feedback updates that were rewarded (0-1), NaN before any.
    target_rate : float
        What the auto-threshold aims for.
    auto : bool
        True when the threshold follows the target; False when set by hand.
    """

    threshold_z: float
    reward_rate: float
    target_rate: float
    auto: bool


class AutoThreshold:
    """Keeps the reward rate near a target by moving the threshold on the z-score.

    The threshold is the (1 − target) quantile of the z-scores of the last ``window_s`` seconds,
    followed smoothly (time constant ``tau_s``) so it does not jump. With ``auto`` off the
    threshold stays where the therapist put it.

    Parameters
    ----------
    target_rate : float
        Desired fraction of time rewarded, in (0, 1). Default 0.65.
    window_s : float
        Length of the recent history used for the quantile, in seconds.
    tau_s : float
        Smoothing time constant of the threshold, in seconds.
    """

    def __init__(self, target_rate: float = 0.65, window_s: float = 30.0, tau_s: float = 5.0):
        if not 0.0 < target_rate < 1.0:
            raise ValueError(f"target reward rate must be between 0 and 1, got {target_rate}")
        self.target_rate = float(target_rate)
        self.window_s = float(window_s)
        self.tau_s = float(tau_s)
        self.auto = True
        self.threshold_z = 0.0
        # (t, z, rewarded); rewarded None for a z taken by follow() (no reward judged)
        self._history: deque[tuple[float, float, bool | None]] = deque()
        self._n_rewarded = 0  # rewarded entries in _history (reward_rate in O(1))
        self._n_judged = 0  # entries with a reward judged (not None)
        self._sorted: list[float] = []  # the z of _history, sorted (the quantile in O(log n))
        self._last_t: float | None = None
        # score_scale of the history as it was at change number _scale_of (asked for by every
        # update, while the history changes only with a z taken in training or pacing)
        self._changes = 0
        self._scale_of = -1
        self._scale = 1.0

    def set_manual(self, threshold_z: float) -> None:
        """Fix the threshold by hand (turns auto off)."""
        self.auto = False
        self.threshold_z = float(threshold_z)

    def set_auto(self, target_rate: float | None = None) -> None:
        """Let the threshold follow the target reward rate again."""
        if target_rate is not None:
            if not 0.0 < target_rate < 1.0:
                raise ValueError(f"target reward rate must be between 0 and 1, got {target_rate}")
            self.target_rate = float(target_rate)
        self.auto = True

    def update(self, t: float, z: float) -> bool:
        """Take the z-score at time ``t`` (seconds) and return whether it is rewarded: ``z``
        above the threshold as it was before this call (:attr:`threshold_z` then moves)."""
        if not math.isfinite(z):
            return False
        rewarded = z > self.threshold_z
        self._add(t, z, rewarded)
        return rewarded

    def follow(self, t: float, z: float) -> None:
        """Take the z-score at time ``t`` of a phase without reward (pacing): the threshold
        follows it as in :meth:`update`, the reward rate leaves it out."""
        if math.isfinite(z):
            self._add(t, z, None)

    def _add(self, t: float, z: float, rewarded: bool | None) -> None:
        self._history.append((t, z, rewarded))
        self._n_judged += rewarded is not None
        self._n_rewarded += rewarded is True
        bisect.insort(self._sorted, z)
        self._changes += 1
        while self._history and self._history[0][0] < t - self.window_s:
            _, old, was_rewarded = self._history.popleft()
            self._n_judged -= was_rewarded is not None
            self._n_rewarded -= was_rewarded is True
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        if self.auto and len(self._history) >= 5:
            goal = linear_quantile(self._sorted, 1.0 - self.target_rate)
            dt = 0.0 if self._last_t is None else max(0.0, t - self._last_t)
            alpha = 1.0 - math.exp(-dt / self.tau_s) if self.tau_s > 0 else 1.0
            self.threshold_z += alpha * (goal - self.threshold_z)
        self._last_t = t

    @property
    def reward_rate(self) -> float:
        """Fraction of the rewardable updates of the recent window that were rewarded (NaN
        when none)."""
        if not self._n_judged:
            return math.nan
        return self._n_rewarded / self._n_judged

    @property
    def spread_z(self) -> float:
        """Robust standard deviation of the z-scores of the recent window: interquartile range
        / 1.349 (0 with fewer than 5)."""
        if len(self._sorted) < 5:
            return 0.0
        q1 = linear_quantile(self._sorted, 0.25)
        q3 = linear_quantile(self._sorted, 0.75)
        return (q3 - q1) / 1.349

    @property
    def score_scale(self) -> float:
        """What the distance from the threshold is divided by in the score: the recent spread
        of the z-scores / :data:`SCORE_SPREAD_SD`, at least :data:`MIN_SCORE_SCALE` (1 with
        fewer than 5 z-scores). A baseline of a few almost equal values (a short one: the
        floored spread) can spread them by tens, and the score would then only jump between 0
        and 1; coherence, scored against the spread of whole minutes (:func:`metric_baseline`),
        moves by a few tenths in 30 s, and a fixed scale of 1 left the orb between 0.37 and
        0.68 through a whole training block of the simulated stressed-to-relaxed session."""
        if self._scale_of != self._changes:
            self._scale = self._compute_scale()
            self._scale_of = self._changes
        return self._scale

    def _compute_scale(self) -> float:
        if len(self._sorted) < 5:
            return 1.0
        return max(MIN_SCORE_SCALE, self.spread_z / SCORE_SPREAD_SD)

    def state(self) -> ThresholdState:
        """A snapshot for display."""
        return ThresholdState(self.threshold_z, self.reward_rate, self.target_rate, self.auto)

    def reset(self) -> None:
        """Forget the history (keeps the mode and the current threshold)."""
        self._history.clear()
        self._sorted.clear()
        self._changes += 1
        self._n_rewarded = 0
        self._n_judged = 0
        self._last_t = None


def linear_quantile(ordered: list[float], q: float) -> float:
    """Quantile ``q`` of the sorted finite values ``ordered``: ``np.quantile(ordered, q)`` with
    its default 'linear' method (Hyndman & Fan 1996, definition 7), computed with numpy's own
    arithmetic (virtual index ``(n - 1) q``; the interpolation from the nearer neighbour, as
    numpy's ``_lerp``), so the value is identical without numpy's per-call overhead."""
    n = len(ordered)
    v = (n - 1) * q
    if v >= n - 1:
        return float(ordered[-1])
    if v < 0:
        return float(ordered[0])
    i = math.floor(v)
    gamma = v - i
    a, b = ordered[i], ordered[i + 1]
    diff = b - a
    return float(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma)


def score_from_z(
    z: float, centre_z: float = 0.0, steepness: float = 0.8, scale: float = 1.0
) -> float:
    """Map a z-score to a feedback score in [0, 1]: logistic, 0.5 at ``centre_z``.

    ``1 / (1 + exp(-steepness (z - centre_z) / scale))``. The engine centres it on the reward
    threshold the update is judged against, with the threshold's
    :attr:`~AutoThreshold.score_scale` (>= 1). The score is above 0.5 exactly when
    ``z > centre_z`` (also for a difference too small for the logistic to resolve in floating
    point) and 0.5 at the bar. With the default steepness and scale, z 2 above the centre gives
    0.83 and 2 below gives 0.17.
    NaN (no baseline yet, or no clean signal) maps to NaN: the view holds still.
    """
    if not (math.isfinite(z) and math.isfinite(centre_z)):
        return math.nan
    x = steepness * (z - centre_z) / scale
    if x >= 0.0:
        score = 1.0 / (1.0 + math.exp(-x))
        return max(score, _ABOVE_HALF) if z > centre_z else score
    e = math.exp(x)  # (x < 0: no overflow, however far below the centre)
    return e / (1.0 + e)


#: The smallest score above 0.5: what a z-score just above the centre maps to.
_ABOVE_HALF = math.nextafter(0.5, 1.0)
