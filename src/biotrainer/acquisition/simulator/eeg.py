"""Simulated EEG (µV): 1/f background, alpha/theta/beta rhythms following the script.

Per channel::

    x = background (1/f, partly shared across channels)
      + alpha_env(t) · g_alpha(site) · alpha source (narrowband at the individual alpha frequency)
      + theta_env(t) · g_theta(site) · theta (4–7 Hz) + beta_env(t) · g_beta(site) · beta (13–30 Hz)
      + mains interference + amplifier noise

``alpha_env = alpha_uv · (0.15 + 0.85 · relaxation) · (eyes_closed_alpha_gain when eyes closed)``;
theta and beta envelopes move the other way (``0.3 + 0.7 · (1 − relaxation)``). The spatial
gains depend on the 10-20/10-10 electrode name: alpha is strongest at occipital/parietal sites
and weaker but present at frontal (AF7/AF8) and temporal-parietal (TP9/TP10) Muse sites. The
alpha source is shared across channels (with a smaller independent part) so it is coherent
like a real posterior alpha rhythm. Artifacts (blinks, EMG...) are added by ``render``.
"""

from __future__ import annotations

import re

import numpy as np

from biotrainer.acquisition.simulator import noise
from biotrainer.acquisition.simulator.scenario import Person, Scenario

#: Region of a 10-20 electrode name -> (alpha, theta, beta, blink, emg) gains.
_REGION_GAINS: dict[str, tuple[float, float, float, float, float]] = {
    "FP": (0.30, 1.0, 0.9, 1.00, 0.25),
    "AF": (0.40, 1.0, 0.9, 0.85, 0.35),
    "F": (0.45, 1.0, 1.0, 0.45, 0.20),
    "FC": (0.50, 0.9, 1.0, 0.25, 0.15),
    "FT": (0.50, 0.8, 1.0, 0.20, 0.80),
    "C": (0.60, 0.8, 1.0, 0.12, 0.10),
    "T": (0.50, 0.7, 1.0, 0.10, 1.00),
    "TP": (0.65, 0.7, 0.9, 0.06, 1.00),
    "CP": (0.75, 0.7, 0.8, 0.05, 0.10),
    "P": (0.90, 0.6, 0.7, 0.04, 0.08),
    "PO": (1.00, 0.6, 0.7, 0.03, 0.10),
    "O": (1.00, 0.6, 0.7, 0.02, 0.15),
}
_DEFAULT_GAINS = (0.6, 0.7, 0.8, 0.1, 0.2)
#: Lateral frontal sites sit on the temporalis muscle: strong jaw-clench EMG.
_LATERAL = {"F7", "F8", "F9", "F10", "AF7", "AF8"}

GAIN_NAMES = ("alpha", "theta", "beta", "blink", "emg")


def site_gains(name: str) -> dict[str, float]:
    """Spatial gains of an electrode name (``"O1"``, ``"AF7"``, ``"TP10"``...) per component."""
    m = re.match(r"([A-Za-z]+?)(z|Z|\d+)?$", name.strip())
    region = m.group(1).upper() if m else ""
    gains = list(_REGION_GAINS.get(region, _DEFAULT_GAINS))
    if name.strip().upper() in _LATERAL:
        gains[4] = max(gains[4], 0.7)
    return dict(zip(GAIN_NAMES, gains, strict=True))


def alpha_envelope(scenario: Scenario, t: np.ndarray, fs_ctrl: float = 20.0) -> np.ndarray:
    """Alpha RMS amplitude (µV) at a unit-gain (occipital) site at times ``t``.

    The eyes-closed factor is smoothed over 0.5 s so opening the eyes blocks alpha quickly
    but not in one sample.
    """
    p = scenario.person
    grid = np.arange(0.0, scenario.duration_s + 1.0 / fs_ctrl, 1.0 / fs_ctrl)
    st = scenario.evaluate(grid)
    eyes = np.where(st.eyes_closed, p.eyes_closed_alpha_gain, 1.0)
    k = max(int(0.5 * fs_ctrl), 1)
    eyes = np.convolve(np.pad(eyes, (k, k), mode="edge"), np.ones(k) / k, mode="same")[k:-k]
    env = p.alpha_uv * (0.15 + 0.85 * st.relaxation) * eyes
    return np.interp(t, grid, env)


def render_eeg(
    t: np.ndarray,
    fs: float,
    names: tuple[str, ...],
    scenario: Scenario,
    iaf_hz: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """EEG without artifacts, shape (len(names), len(t)), µV.

    Built a channel at a time (the per-channel noises come a row at a time), so a long render
    holds the result and a few rows rather than several arrays of its size; every sample is
    computed with the same operations in the same order as on whole arrays.
    """
    p: Person = scenario.person
    n, c = t.size, len(names)
    gains = [site_gains(nm) for nm in names]
    g = {k: np.array([gi[k] for gi in gains]) for k in GAIN_NAMES}
    x = np.empty((c, n))

    # background_uv * (0.45 * common + 0.9 * own) / hypot(0.45, 0.9)
    common = 0.45 * noise.pink(rng, n, fs, 1.2)[0]
    for i, own in enumerate(noise.shaped_rows(rng, n, fs, noise.pink_gain(1.2), c)):
        own *= 0.9
        own += common
        own *= p.background_uv
        own /= np.hypot(0.45, 0.9)
        x[i] = own

    # + g_alpha * envelope * (common + 0.35 * own) / hypot(1, 0.35)
    common = noise.narrowband(rng, n, fs, iaf_hz, 0.45)[0]
    env = alpha_envelope(scenario, t)
    for i, own in enumerate(noise.shaped_rows(rng, n, fs, noise.narrowband_gain(iaf_hz, 0.45), c)):
        own *= 0.35
        own += common
        own /= np.hypot(1.0, 0.35)
        w = g["alpha"][i] * env
        w *= own
        x[i] += w
    del common, env

    arousal = 0.3 + 0.7 * (1.0 - scenario.relaxation_at(t))
    for i, theta in enumerate(noise.shaped_rows(rng, n, fs, noise.narrowband_gain(5.8, 0.9), c)):
        w = g["theta"][i] * p.theta_uv * arousal
        w *= theta
        x[i] += w
    for i, beta in enumerate(noise.shaped_rows(rng, n, fs, noise.band_gain(13.0, 30.0, fs), c)):
        w = g["beta"][i] * p.beta_uv * arousal
        w *= beta
        x[i] += w
    del arousal

    # + mains interference + amplifier noise
    phase = rng.uniform(0, 2 * np.pi, size=(c, 1))
    line_amp = p.line_noise_uv * rng.uniform(0.5, 1.5, size=(c, 1)) * np.sqrt(2)
    wt = 2 * np.pi * p.line_noise_hz * t
    for i in range(c):
        w = wt + phase[i, 0]
        np.sin(w, out=w)
        w *= line_amp[i, 0]
        x[i] += w
        x[i] += rng.normal(0.0, 0.7, size=n)
    return x
