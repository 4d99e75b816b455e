"""Animation state of the patient view, free of Qt so it can be tested without a display.

The patient view receives metric updates about 10 times a second but paints about 60 times a
second. Everything that moves on screen is computed here from an explicit time ``t`` (seconds,
from any monotonic source): the widget's timer only calls :meth:`PatientAnimation.step` with the
time of its clock and paints the returned :class:`Frame`. A test drives the same code with a
simulated clock and checks values exactly, without sleeping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from biotrainer.engine.updates import MetricUpdate

#: Breathing rates the pacer shows (breaths per minute); others hide it.
PACER_MIN_BPM = 1.0
PACER_MAX_BPM = 30.0

#: Largest time step a smoother takes at once (a stalled timer must not make things jump).
MAX_STEP_S = 0.25

#: Distance below which a smoother lands exactly on its target (so "at rest" can be detected).
SNAP = 1e-5


def _clip01(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


class ExponentialSmoother:
    """First-order low-pass: the value approaches its target by ``1 - exp(-dt / tau)`` per step.

    Exact for any step length, so the result does not depend on the frame rate.

    Parameters
    ----------
    tau_s : float
        Time constant in seconds (63 % of a step change after ``tau_s``).
    value : float
        Initial value (also the initial target).
    """

    def __init__(self, tau_s: float, value: float = 0.0) -> None:
        if tau_s <= 0:
            raise ValueError(f"tau_s must be positive, got {tau_s}")
        self.tau_s = float(tau_s)
        self.value = float(value)
        self.target = float(value)

    def step(self, dt: float) -> float:
        """Advance by ``dt`` seconds (negative counts as 0) and return the new value."""
        if dt > 0:
            self.value += (self.target - self.value) * (1.0 - math.exp(-dt / self.tau_s))
            if abs(self.target - self.value) < SNAP:
                self.value = self.target
        return self.value


class CriticallyDampedSmoother:
    """A critically damped spring ``x'' = -2 w x' - w^2 (x - target)``, stepped exactly.

    It starts and stops gently (no velocity jump when a new target arrives) and never
    overshoots a step change, which makes 10 Hz targets look fluid at 60 frames per second.
    The closed-form solution over a step ``dt`` with ``y = x - target``::

        y(dt) = (y0 + (v0 + w y0) dt) exp(-w dt)
        v(dt) = (v0 - w (v0 + w y0) dt) exp(-w dt)

    Parameters
    ----------
    omega : float
        Natural angular frequency (rad/s); settles to 5 % of a step in about ``4.74 / omega`` s.
    value : float
        Initial value (also the initial target), at rest.
    """

    def __init__(self, omega: float, value: float = 0.0) -> None:
        if omega <= 0:
            raise ValueError(f"omega must be positive, got {omega}")
        self.omega = float(omega)
        self.value = float(value)
        self.velocity = 0.0
        self.target = float(value)

    def step(self, dt: float) -> float:
        """Advance by ``dt`` seconds (negative counts as 0) and return the new value."""
        if dt <= 0:
            return self.value
        w = self.omega
        y0 = self.value - self.target
        v0 = self.velocity
        decay = math.exp(-w * dt)
        k = v0 + w * y0
        self.value = self.target + (y0 + k * dt) * decay
        self.velocity = (v0 - w * k * dt) * decay
        if abs(self.value - self.target) < SNAP and abs(self.velocity) < SNAP:
            self.value, self.velocity = self.target, 0.0
        return self.value


class AdaptiveSpring(CriticallyDampedSmoother):
    """A critically damped spring whose stiffness grows with the size and speed of a change.

    Small, quick wobbles of the target (the feedback's own noise) move it slowly and calmly;
    a large or fast change (the person really relaxing, or tensing) is followed quickly, so the
    feedback stays immediate where it matters. Per step::

        reach = max(min(1, |target - value| / error_scale), min(1, |speed| / speed_scale))
        omega = omega_min + (omega_max - omega_min) * reach^2

    ``speed`` is the target's own rate of change (units per second of data time), averaged
    over ``speed_tau_s``, from the targets given to :meth:`track`. Keying on it as well as on
    the distance lets the spring stiffen as soon as the target starts a sustained move, before
    it has fallen behind; the noise of a steady feedback moves too slowly to stiffen it.
    The same idea as the "1 euro" filter (Casiez, Roussel & Vogel, CHI 2012), which adapts a
    low-pass cut-off to the signal's speed, but on a spring, so motion starts without a jump.
    When the spring softens as it closes in, its speed is capped at ``omega * distance`` (the
    fastest approach a critically damped spring ends without overshoot), so it never
    overshoots a target that holds still.

    Parameters
    ----------
    omega_min, omega_max : float
        Stiffness (rad/s) for tiny and for large changes.
    error_scale : float
        Distance (in the value's units) at and beyond which the spring is stiffest.
    speed_scale : float
        Target speed (units per second) at and beyond which the spring is stiffest.
    speed_tau_s : float
        Time constant (s, data time) of the target speed's average.
    value : float
        Initial value (and target), at rest.
    """

    #: A target this much (s) older than the newest tracked one starts a new history.
    RESTART_S = 1.0

    def __init__(
        self,
        omega_min: float = 5.0,
        omega_max: float = 70.0,
        error_scale: float = 0.25,
        speed_scale: float = 2.0,
        speed_tau_s: float = 0.05,
        value: float = 0.0,
    ) -> None:
        if not 0 < omega_min <= omega_max:
            raise ValueError(f"need 0 < omega_min <= omega_max, got {omega_min}, {omega_max}")
        if error_scale <= 0 or speed_scale <= 0 or speed_tau_s <= 0:
            raise ValueError(
                "error_scale, speed_scale and speed_tau_s must be positive, got "
                f"{error_scale}, {speed_scale}, {speed_tau_s}"
            )
        super().__init__(omega_min, value)
        self.omega_min = float(omega_min)
        self.omega_max = float(omega_max)
        self.error_scale = float(error_scale)
        self.speed_scale = float(speed_scale)
        self.speed_tau_s = float(speed_tau_s)
        self.speed = 0.0
        self._tracked: tuple[float, float] | None = None

    def track(self, target: float, t: float) -> bool:
        """Aim at ``target``, the value at data time ``t`` (s), and update the target speed.

        A target older than the newest one tracked is ignored (returns False): a late
        arrival must not pull the spring back. A time more than :attr:`RESTART_S` older
        starts a new history instead; a non-finite time sets the target and leaves the speed
        and history as they are.
        """
        if not math.isfinite(t):
            self.target = float(target)  # no usable time: aim, but learn no speed from it
            return True
        last = self._tracked
        if last is not None and t < last[0] - self.RESTART_S:
            last = None  # time went far back: a new stream (replay, reconnect), not a late one
            self.speed = 0.0
        if last is not None:
            dt = t - last[0]
            if dt < 0:
                return False
            if dt > 0:
                weight = 1.0 - math.exp(-dt / self.speed_tau_s)
                self.speed += weight * ((target - last[1]) / dt - self.speed)
        self._tracked = (float(t), float(target))
        self.target = float(target)
        return True

    def forget_speed(self) -> None:
        """Forget the target's speed and history (after a hold, the next target starts fresh)."""
        self.speed = 0.0
        self._tracked = None

    def step(self, dt: float) -> float:
        """Advance by ``dt`` seconds with the stiffness of the current distance and speed."""
        error = self.value - self.target
        reach = max(
            min(1.0, abs(error) / self.error_scale), min(1.0, abs(self.speed) / self.speed_scale)
        )
        self.omega = self.omega_min + (self.omega_max - self.omega_min) * reach * reach
        # A softer spring must not inherit a speed it cannot stop in time: moving towards the
        # target faster than omega * distance would overshoot, so cap the speed there.
        if self.velocity * error < 0 and abs(self.velocity) > self.omega * abs(error):
            self.velocity = -self.omega * error
        return super().step(dt)


@dataclass(frozen=True)
class PacerState:
    """Where the breathing pacer is.

    Attributes
    ----------
    phase : float
        Position in the current breath, 0 (start of inhale) to 1 (end of exhale).
    inhaling : bool
        True during the inhale part (``phase < inhale_ratio``).
    progress : float
        0-1 position within the current inhale or exhale.
    openness : float
        0-1 size of the pacer shape: rises as a half cosine during the inhale, falls during the
        exhale, so it never moves abruptly.
    """

    phase: float
    inhaling: bool
    progress: float
    openness: float


class PacerClock:
    """Breath phase at a rate that may change, continuous across every change.

    The phase is the number of breaths since the pacer started, accumulated piecewise: a rate
    change at time ``t`` keeps ``cycles(t)`` and only changes its slope. A new inhale ratio takes
    effect at the start of the next breath, so the shape never jumps mid-breath.

    Parameters
    ----------
    bpm : float
        Breaths per minute.
    inhale_ratio : float
        Fraction of each breath spent inhaling (0.4 = inhale 2 : exhale 3).
    t : float
        Time (s) at which the first inhale starts.
    """

    def __init__(self, bpm: float, inhale_ratio: float = 0.4, t: float = 0.0) -> None:
        self._check_bpm(bpm)
        self.bpm = float(bpm)
        self._t0 = float(t)
        self._cycles0 = 0.0
        self.inhale_ratio = self._check_ratio(inhale_ratio)
        self._pending_ratio: float | None = None
        self._pending_from = 0.0

    @staticmethod
    def _check_bpm(bpm: float) -> None:
        if not (PACER_MIN_BPM <= bpm <= PACER_MAX_BPM):
            raise ValueError(f"pacer rate must be {PACER_MIN_BPM}-{PACER_MAX_BPM} /min, got {bpm}")

    @staticmethod
    def _check_ratio(ratio: float) -> float:
        if not (0.05 <= ratio <= 0.95):
            raise ValueError(f"inhale ratio must be 0.05-0.95, got {ratio}")
        return float(ratio)

    def cycles(self, t: float) -> float:
        """Breaths (including the fraction of the current one) since the pacer started."""
        return self._cycles0 + max(0.0, t - self._t0) * self.bpm / 60.0

    def phase(self, t: float) -> float:
        """Position 0-1 in the breath at time ``t`` (0 = start of inhale)."""
        c = self.cycles(t)
        return c - math.floor(c)

    def set_rate(self, bpm: float, t: float) -> None:
        """Change the rate from time ``t`` on, keeping the phase at ``t``."""
        self._check_bpm(bpm)
        if bpm == self.bpm:
            return
        self._cycles0 = self.cycles(t)
        self._t0 = max(self._t0, float(t))
        self.bpm = float(bpm)

    def set_inhale_ratio(self, ratio: float, t: float) -> None:
        """Use ``ratio`` from the start of the next breath after time ``t``."""
        ratio = self._check_ratio(ratio)
        if ratio == self.inhale_ratio and self._pending_ratio is None:
            return
        c = self.cycles(t)
        self._pending_ratio = ratio
        self._pending_from = math.floor(c) + 1.0 if c - math.floor(c) > 0 else c

    def state(self, t: float) -> PacerState:
        """The pacer at time ``t`` (a later call may apply a pending inhale ratio)."""
        c = self.cycles(t)
        if self._pending_ratio is not None and c >= self._pending_from:
            self.inhale_ratio = self._pending_ratio
            self._pending_ratio = None
        phase = c - math.floor(c)
        r = self.inhale_ratio
        if phase < r:
            progress = phase / r
            return PacerState(phase, True, progress, 0.5 - 0.5 * math.cos(math.pi * progress))
        progress = (phase - r) / (1.0 - r)
        return PacerState(phase, False, progress, 0.5 + 0.5 * math.cos(math.pi * progress))


@dataclass(frozen=True)
class Frame:
    """Everything the patient view paints at one instant (all 0-1 unless noted).

    Attributes
    ----------
    t : float
        Time (s) of this frame on the view's clock.
    level : float
        The smoothed feedback score: brightness and opening of the visual.
    presence : float
        1 while the feedback is live, lower (dimmed gently) while it holds still.
    reward : float
        Strength of the warm reward halo (rises and falls slowly, never flashes).
    bloom : float
        Reward gathered over the last minutes: how many warm lights circle the visual.
    spin : float
        Slow rotation (turns) of those lights.
    pacer : float
        Visibility of the breathing pacer (fades in and out).
    pacer_open : float
        Size of the pacer shape (0 = breathed out, 1 = breathed in).
    inhaling : bool
        Which word the pacer cue shows.
    cue : float
        Opacity of the "Breathe in" / "Breathe out" word (fades near each turn).
    note : float
        Opacity of the calm "please stay still" note shown when the signal is poor.
    """

    t: float
    level: float
    presence: float
    reward: float
    bloom: float
    spin: float
    pacer: float
    pacer_open: float
    inhaling: bool
    cue: float
    note: float

    def still_as(self, other: Frame, eps: float = 1e-3) -> bool:
        """True when painting this frame would look the same as painting ``other``.

        Nothing moves on its own (no pacer, no circling lights) and every value differs by
        less than ``eps``; the view skips such repaints to save power.
        """
        if self.pacer > 0.0 or other.pacer > 0.0 or self.bloom > 0.0 or other.bloom > 0.0:
            return False
        pairs = (
            (self.level, other.level),
            (self.presence, other.presence),
            (self.reward, other.reward),
            (self.note, other.note),
        )
        return all(abs(a - b) < eps for a, b in pairs)


class PatientAnimation:
    """Turns metric updates into smooth on-screen motion.

    :meth:`feed` sets targets from an update; :meth:`step` advances every smoother to time
    ``t`` and returns the :class:`Frame` to paint. Times are seconds on one monotonic clock.

    Parameters
    ----------
    t : float
        Start time.
    level_omega : (float, float)
        Stiffness range of the score's :class:`AdaptiveSpring` (rad/s): 5 for the
        feedback's small wobbles (calm), 70 for large or fast changes (a 0.6 step is half
        shown within about 30 ms; a steady rise is followed about 30 ms behind).
    note_delay_s : float
        Seconds of poor signal before the calm note appears (short dropouts pass unnoticed).
    stale_after_s : float
        Seconds without any update after which the signal counts as lost.
    bloom_fill_s, bloom_fade_s : float
        Seconds of reward that fill the ring of lights, and of no reward that empty it.
    """

    #: Presence while the feedback holds still (NaN score, paused).
    HOLD_PRESENCE = 0.72

    def __init__(
        self,
        t: float = 0.0,
        *,
        level_omega: tuple[float, float] = (5.0, 70.0),
        note_delay_s: float = 3.0,
        stale_after_s: float = 3.0,
        bloom_fill_s: float = 60.0,
        bloom_fade_s: float = 120.0,
    ) -> None:
        self.t = float(t)
        self.level = AdaptiveSpring(level_omega[0], level_omega[1], value=0.5)
        self.presence = ExponentialSmoother(0.8, self.HOLD_PRESENCE)
        self.reward = ExponentialSmoother(1.2, 0.0)
        self.pacer_visibility = ExponentialSmoother(0.6, 0.0)
        self.note = ExponentialSmoother(0.7, 0.0)
        self.note_delay_s = note_delay_s
        self.stale_after_s = stale_after_s
        self.bloom_fill_s = bloom_fill_s
        self.bloom_fade_s = bloom_fade_s
        self.bloom = 0.0
        self.spin_turns_per_s = 1.0 / 90.0
        self.pacer: PacerClock | None = None
        self.rewarded = False
        self.latest: MetricUpdate | None = None
        self._last_update_t: float | None = None
        self._trouble_since: float | None = None
        self._pacer_bpm = math.nan
        self._inhale_ratio = 0.4
        self._frame = self._make_frame(PacerState(0.0, True, 0.0, 0.0))

    # -- input -----------------------------------------------------------------------------

    def feed(self, update: MetricUpdate, t: float) -> None:
        """Take the targets of ``update``, which arrived at time ``t``."""
        self.latest = update
        self._last_update_t = float(t)
        score = update.feedback_score
        holding = update.paused or update.finished or not math.isfinite(score)
        if not holding:
            self.level.track(_clip01(score), update.sample_time)
        self.presence.target = self.HOLD_PRESENCE if holding else 1.0
        self.rewarded = bool(update.rewarded) and not holding
        self.reward.target = 1.0 if self.rewarded else 0.0
        trouble = update.source_state == "signal lost" or not update.quality_ok
        if trouble and not update.paused and not update.finished:
            if self._trouble_since is None:
                self._trouble_since = float(t)
        else:
            self._trouble_since = None
        # A pause is a rest ("Paused. Rest for a moment."): the pacer fades out rather than
        # going on saying "Breathe out", and starts again with an inhale on resuming.
        bpm = math.nan if update.paused else update.pacer_bpm
        self._set_pacer(bpm, update.inhale_ratio, float(t))

    def feed_preview(self, score: float, t: float, sample_time: float | None = None) -> None:
        """Take the score at the newest sample (an engine preview between updates) as the
        level's target, unless the feedback is holding still.

        ``sample_time`` is the data time of that sample (source clock, as the updates'
        ``sample_time``); ``None`` takes the arrival time ``t``.
        """
        u = self.latest
        if u is None or u.paused or u.finished or not math.isfinite(score):
            return
        if not math.isfinite(u.feedback_score):
            return  # the last update says hold still (no baseline, poor signal)
        self.level.track(_clip01(score), t if sample_time is None else sample_time)

    def _set_pacer(self, bpm: float, ratio: float, t: float) -> None:
        valid = math.isfinite(bpm) and PACER_MIN_BPM <= bpm <= PACER_MAX_BPM
        ratio = min(0.95, max(0.05, ratio)) if math.isfinite(ratio) else 0.4
        self.pacer_visibility.target = 1.0 if valid else 0.0
        if not valid:
            return
        if self.pacer is None or self.pacer_visibility.value < 0.02:
            # (Re)start with an inhale when the pacer appears.
            self.pacer = PacerClock(bpm, ratio, t)
        else:
            self.pacer.set_rate(bpm, t)
            self.pacer.set_inhale_ratio(ratio, t)

    # -- output ----------------------------------------------------------------------------

    @property
    def frame(self) -> Frame:
        """The frame of the latest :meth:`step`."""
        return self._frame

    @property
    def note_due(self) -> bool:
        """True when the signal has been poor (or silent) for at least ``note_delay_s``."""
        t = self.t
        last = self._last_update_t
        finished = self.latest is not None and self.latest.finished
        if last is not None and t - last >= self.stale_after_s and not finished:
            return True
        return self._trouble_since is not None and t - self._trouble_since >= self.note_delay_s

    def step(self, t: float) -> Frame:
        """Advance to time ``t`` (earlier times are ignored) and return the frame to paint."""
        dt = min(MAX_STEP_S, max(0.0, t - self.t))
        self.t = max(self.t, float(t))
        if self.note_due:
            self.presence.target = self.HOLD_PRESENCE
        self.note.target = 1.0 if self.note_due else 0.0
        self.level.step(dt)
        self.presence.step(dt)
        self.reward.step(dt)
        self.pacer_visibility.step(dt)
        self.note.step(dt)
        if self.rewarded:
            self.bloom = min(1.0, self.bloom + dt / self.bloom_fill_s)
        else:
            self.bloom = max(0.0, self.bloom - dt / self.bloom_fade_s)
        pacer = self.pacer.state(self.t) if self.pacer is not None else PacerState(0, True, 0, 0)
        self._frame = self._make_frame(pacer)
        return self._frame

    def _make_frame(self, pacer: PacerState) -> Frame:
        edge = min(pacer.progress, 1.0 - pacer.progress)
        return Frame(
            t=self.t,
            level=_clip01(self.level.value),
            presence=_clip01(self.presence.value),
            reward=_clip01(self.reward.value),
            bloom=self.bloom,
            spin=(self.t * self.spin_turns_per_s) % 1.0,
            pacer=_clip01(self.pacer_visibility.value),
            pacer_open=pacer.openness,
            inhaling=pacer.inhaling,
            cue=_clip01(edge / 0.12),
            note=_clip01(self.note.value),
        )
