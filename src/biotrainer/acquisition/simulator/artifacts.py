"""Artifacts: events planned from the scenario, the channels they hit, and their waveforms.

Kinds (see :data:`~biotrainer.acquisition.simulator.scenario.ARTIFACT_KINDS`):

``blink``
    ≈ 0.4 s positive deflection (default 150 µV at Fp sites), frontal channels by spatial gain.
    Spontaneous blinks (the person's blink rate, eyes open only) are events of this kind too.
``jaw_clench``
    Broadband EMG, 20–100 Hz (clipped below Nyquist), default 35 µV RMS, mostly temporal sites
    (T7/T8/TP9/TP10) and lateral frontal ones (F7/F8/AF7/AF8).
``electrode_pop``
    A step of default 400 µV on one channel decaying with a 0.4 s time constant.
``motion``
    A common 0.3–3 Hz movement (default 80 µV on EEG) on every channel of every modality,
    including the accelerometer.
``flat``
    The channel holds a constant value (lost contact).
``line_noise``
    Extra mains interference (default 40 µV) on EEG.

A ground-truth row is written per (event, channel) for channels hit with gain ≥ 0.3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from biotrainer.acquisition.simulator import noise
from biotrainer.acquisition.simulator.eeg import site_gains
from biotrainer.acquisition.simulator.scenario import Scenario

BLINK_DURATION_S = 0.45
POP_TAU_S = 0.4
MIN_GAIN = 0.3

DEFAULT_AMPLITUDE = {
    "blink": 150.0,
    "jaw_clench": 35.0,
    "electrode_pop": 400.0,
    "motion": 80.0,
    "flat": 0.0,
    "line_noise": 40.0,
}
#: Motion amplitude per role relative to the EEG amplitude (in each role's own unit).
MOTION_SCALE = {
    "eeg": 1.0,
    "ecg": 3.0,
    "ppg": 8.0,
    "resp": 3.0,
    "accel": 0.003,
    "gyro": 0.25,
    "eda": 0.01,
    "temp": 0.0,
}


@dataclass(frozen=True)
class ArtifactEvent:
    """One artifact occurrence in scenario seconds; ``channels`` empty = chosen by kind."""

    kind: str
    start_s: float
    end_s: float
    amplitude: float
    channels: tuple[str, ...] = ()
    spontaneous: bool = False


@dataclass(frozen=True)
class Target:
    """A channel an event hits and how strongly (1 = the event's full amplitude)."""

    role: str
    channel: str
    gain: float


def plan_events(scenario: Scenario, rng: np.random.Generator) -> list[ArtifactEvent]:
    """Spontaneous blinks plus every scripted artifact, as concrete events."""
    events: list[ArtifactEvent] = []
    p = scenario.person
    cand = noise.poisson_times(
        rng, p.blink_rate_per_min, 0.0, scenario.duration_s - BLINK_DURATION_S, min_gap_s=1.0
    )
    if cand.size:
        open_ = (
            ~scenario.evaluate(cand).eyes_closed
            & ~scenario.evaluate(cand + BLINK_DURATION_S).eyes_closed
        )
        amp = DEFAULT_AMPLITUDE["blink"] * rng.uniform(0.7, 1.2, size=cand.size)
        events += [
            ArtifactEvent("blink", s, s + BLINK_DURATION_S, a, (), True)
            for s, a in zip(cand[open_], amp[open_], strict=True)
        ]
    for spec in scenario.artifacts:
        amp = DEFAULT_AMPLITUDE[spec.kind] if spec.amplitude is None else spec.amplitude
        if spec.kind in ("blink", "electrode_pop"):
            dur = BLINK_DURATION_S if spec.kind == "blink" else 5 * POP_TAU_S
            rate = spec.rate_per_min
            if rate is None and spec.kind == "blink":
                rate = 20.0
            if rate is None:
                times = np.array([spec.start_s])
            else:
                times = noise.poisson_times(
                    rng, rate, spec.start_s, max(spec.end_s - dur, spec.start_s), min_gap_s=dur
                )
            events += [
                ArtifactEvent(spec.kind, s, min(s + dur, scenario.duration_s), amp, spec.channels)
                for s in times
            ]
        else:
            events.append(ArtifactEvent(spec.kind, spec.start_s, spec.end_s, amp, spec.channels))
    return sorted(events, key=lambda e: (e.start_s, e.kind))


def targets(event: ArtifactEvent, channels: dict[str, tuple[str, ...]]) -> tuple[Target, ...]:
    """Channels (by role) the event hits in a layout with ``channels`` (role -> names)."""
    if event.channels:
        hit = tuple(
            Target(role, nm, 1.0)
            for role, names in channels.items()
            for nm in names
            if nm in event.channels
        )
        if hit:
            return hit
    eeg = channels.get("eeg", ())
    if event.kind in ("blink", "jaw_clench"):
        key = "blink" if event.kind == "blink" else "emg"
        return tuple(Target("eeg", nm, site_gains(nm)[key]) for nm in eeg)
    if event.kind in ("electrode_pop", "flat"):
        return (Target("eeg", eeg[-1], 1.0),) if eeg else ()
    if event.kind == "line_noise":
        return tuple(Target("eeg", nm, 1.0) for nm in eeg)
    # motion: everything that moves
    return tuple(
        Target(role, nm, 1.0)
        for role, names in channels.items()
        for nm in names
        if MOTION_SCALE.get(role, 0.0) > 0
    )


def motion_source(
    duration_s: float, events: list[ArtifactEvent], rng: np.random.Generator, fs: float = 50.0
) -> tuple[np.ndarray, np.ndarray]:
    """Three axes of unit-RMS 0.3–3 Hz movement, zero outside motion events (grid, (3, n))."""
    grid = np.arange(0.0, duration_s + 2.0 / fs, 1.0 / fs)
    axes = noise.band(rng, grid.size, fs, 0.3, 3.0, channels=3)
    env = np.zeros(grid.size)
    for e in events:
        if e.kind == "motion":
            env = np.maximum(env, _ramp(grid, e.start_s, e.end_s, 0.2))
    return grid, axes * env


def _ramp(t: np.ndarray, start: float, end: float, rise: float) -> np.ndarray:
    """1 inside [start, end] with raised-cosine edges of ``rise`` seconds inside the interval."""
    rise = min(rise, 0.5 * (end - start)) or 1e-9
    up = np.clip((t - start) / rise, 0.0, 1.0)
    down = np.clip((end - t) / rise, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * np.minimum(up, down))


def additive_waveform(
    event: ArtifactEvent,
    target: Target,
    t: np.ndarray,
    fs: float,
    rng: np.random.Generator,
    motion: tuple[np.ndarray, np.ndarray],
    line_hz: float,
) -> np.ndarray | None:
    """What ``event`` adds to one channel at times ``t`` (None for replacing kinds: flat)."""
    a = event.amplitude * target.gain
    if event.kind == "blink":
        tt = t - event.start_s - 0.15
        sigma = np.where(tt < 0, 0.05, 0.1)
        return a * np.exp(-0.5 * (tt / sigma) ** 2)
    if event.kind == "jaw_clench":
        i0, i1 = np.searchsorted(t, [event.start_s, event.end_s])
        out = np.zeros(t.size)
        if i1 - i0 > 4:
            out[i0:i1] = (
                a
                * noise.band(rng, i1 - i0, fs, 20.0, 100.0)[0]
                * _ramp(t[i0:i1], event.start_s, event.end_s, 0.05)
            )
        return out
    if event.kind == "electrode_pop":
        tt = t - event.start_s
        return np.where(tt >= 0, a * np.exp(-np.maximum(tt, 0) / POP_TAU_S), 0.0)
    if event.kind == "line_noise":
        env = _ramp(t, event.start_s, event.end_s, 0.05)
        return a * np.sqrt(2) * env * np.sin(2 * np.pi * line_hz * t + rng.uniform(0, 2 * np.pi))
    if event.kind == "motion":
        grid, axes = motion
        w = rng.normal(size=3)
        w /= np.linalg.norm(w)
        return a * MOTION_SCALE.get(target.role, 0.0) * np.interp(t, grid, w @ axes)
    return None
