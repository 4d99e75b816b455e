"""Breathing: the phase of the breathing cycle over time, its waveform and breath onsets.

The breathing phase (in cycles) is the integral of the instantaneous breathing rate. Paced
segments follow the scripted rate and inhale fraction exactly; spontaneous breathing wanders
around the scripted rate (±8 %, 15 s time constant) with a 42 % inhale. The waveform rises
from -1 to +1 during inhalation and falls back during exhalation (half-cosines), scaled by a
tidal depth that grows as breathing slows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from biotrainer.acquisition.simulator.noise import ou
from biotrainer.acquisition.simulator.scenario import ScriptState

SPONTANEOUS_INHALE_FRACTION = 0.42


@dataclass(frozen=True)
class Breathing:
    """Breathing on the model's control grid.

    Attributes
    ----------
    t_s : np.ndarray
        Control-grid times (s).
    phase : np.ndarray
        Cumulative breathing phase in cycles (integer = start of an inhalation).
    rate_bpm : np.ndarray
        Instantaneous breathing rate (breaths/min).
    depth : np.ndarray
        Relative tidal depth (1 at 12 breaths/min).
    inhale_fraction : np.ndarray
        Fraction of each cycle spent inhaling.
    paced : np.ndarray of bool
    """

    t_s: np.ndarray
    phase: np.ndarray
    rate_bpm: np.ndarray
    depth: np.ndarray
    inhale_fraction: np.ndarray
    paced: np.ndarray

    def wave(self, t: np.ndarray, lag_cycles: np.ndarray | float = 0.0) -> np.ndarray:
        """Unit breathing waveform (-1 end of exhale, +1 end of inhale) at times ``t``.

        ``lag_cycles`` delays the waveform by that fraction of a cycle (used for the heart's
        phase lag behind breathing).
        """
        ph = np.interp(t, self.t_s, self.phase) - lag_cycles
        frac = np.mod(ph, 1.0)
        ie = np.interp(t, self.t_s, self.inhale_fraction)
        inhale = frac < ie
        return np.where(
            inhale,
            -np.cos(np.pi * frac / ie),
            np.cos(np.pi * (frac - ie) / (1.0 - ie)),
        )

    def signal(self, t: np.ndarray) -> np.ndarray:
        """Breathing waveform scaled by the tidal depth (relative units)."""
        return self.wave(t) * np.interp(t, self.t_s, self.depth)

    def onsets(self) -> tuple[np.ndarray, np.ndarray]:
        """Times (s) at which inhalations and exhalations begin."""
        first = np.ceil(self.phase[0])
        k = np.arange(first, np.floor(self.phase[-1]) + 1)
        inhale = np.interp(k, self.phase, self.t_s)
        ie = np.interp(inhale, self.t_s, self.inhale_fraction)
        ex_phase = k + ie
        ok = ex_phase <= self.phase[-1]
        exhale = np.interp(ex_phase[ok], self.phase, self.t_s)
        return inhale, exhale


def simulate_breathing(
    t: np.ndarray, fs: float, state: ScriptState, rng: np.random.Generator
) -> Breathing:
    """Integrate the scripted breathing rate into a breathing phase on the control grid ``t``."""
    paced = state.paced.astype(bool)
    wander = np.exp(0.08 * ou(rng, t.size, fs, tau_s=15.0, sigma=1.0))
    rate = np.where(paced, state.breathing_rate_bpm, state.breathing_rate_bpm * wander)
    depth_base = np.clip(np.sqrt(12.0 / rate), 0.6, 1.8)
    depth = np.where(paced, depth_base, depth_base * (1.0 + 0.1 * ou(rng, t.size, fs, 8.0, 1.0)))
    inhale = np.where(paced, state.inhale_fraction, SPONTANEOUS_INHALE_FRACTION)
    start = rng.uniform(0.0, 1.0)
    phase = start + np.concatenate([[0.0], np.cumsum(rate[:-1] / 60.0 / fs)])
    return Breathing(t, phase, rate, depth, inhale, paced)
