"""The simulated heart: beat times with respiratory sinus arrhythmia, ECG and PPG waveforms.

Heart rate
    ``HR(t) = scripted mean + RSA(t) + slow random fluctuation``. The RSA is the breathing
    waveform (heart rate rises on inhalation) delayed by the phase of a second-order resonance
    and scaled by its gain: the peak-to-trough swing is
    ``rsa_max * vagal(relaxation) / sqrt(1 + Q² (f/f0 − f0/f)²)`` with ``f`` the breathing rate
    and ``f0`` the person's resonance rate, so the swing is largest when breathing near
    ``f0`` (≈ 0.1 Hz, the baroreflex resonance of Vaschillo et al. 2002, Lehrer 2013) and small
    at 12+ breaths/min. Beats fall where the integral of HR/60 crosses an integer.
Ectopic and dropped beats
    A premature ventricular beat replaces a sinus beat at 60 % of its interval (full
    compensatory pause); a dropped beat is a sinus beat without QRS or pulse.
ECG
    A sum of Gaussians per beat (P, Q, R, S, T), in the spirit of McSharry et al. 2003 (IEEE TBME
    50:289) but written directly in time rather than as their ODE; P and T offsets and widths scale
    with √RR. Wide QRS and inverted T for ectopic beats. µV.
PPG
    Per beat a systolic and a diastolic (reflected wave) Gaussian starting one pulse transit time
    (R peak to pulse foot, ≈ 220 ms ± breathing and jitter) after the R peak; amplitude
    modulated by breathing, baseline wander with breathing and slow drift. Arbitrary units.

NeuroKit2 has ECG/PPG simulators, but it is a test dependency only (it is the independent
oracle the tests check this generator against), and its simulators cannot take our beat
times, ectopy and RSA coupling; this module is small numpy code with exact ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from biotrainer.acquisition.simulator.noise import ou
from biotrainer.acquisition.simulator.respiration import Breathing
from biotrainer.acquisition.simulator.scenario import Person, ScriptState

#: Beat kinds in the ground truth: sinus, premature ventricular, dropped (no QRS, no pulse).
NORMAL, ECTOPIC, DROPPED = "N", "V", "dropped"

# (offset s, amplitude µV, width s, scales with sqrt(RR))
_SINUS_WAVES = (
    (-0.17, 120.0, 0.022, True),  # P
    (-0.028, -90.0, 0.009, False),  # Q
    (0.0, 1100.0, 0.0095, False),  # R
    (0.030, -250.0, 0.011, False),  # S
    (0.27, 280.0, 0.055, True),  # T
)
_ECTOPIC_WAVES = (
    (0.0, 1400.0, 0.028, False),
    (0.075, -450.0, 0.03, False),
    (0.32, -330.0, 0.07, True),
)
# PPG pulse shape after the foot: (offset s, relative amplitude, width s), all scale with sqrt(RR)
_PULSE_WAVES = ((0.13, 1.0, 0.048), (0.36, 0.42, 0.085))


def rsa_gain(breathing_bpm: np.ndarray, person: Person) -> tuple[np.ndarray, np.ndarray]:
    """Resonance curve: relative RSA gain (1 at resonance) and phase lag (cycles) per rate."""
    x = np.asarray(breathing_bpm, dtype=float) / person.resonance_breaths_per_min
    detune = person.rsa_q * (x - 1.0 / x)
    return 1.0 / np.sqrt(1.0 + detune**2), np.arctan(detune) / (2 * np.pi)


@dataclass(frozen=True)
class Heart:
    """Heart rate on the control grid and the resulting beats.

    Attributes
    ----------
    t_s, hr_bpm : np.ndarray
        Control grid and instantaneous heart rate.
    rsa_bpm : np.ndarray
        Expected peak-to-trough RSA swing (bpm) at each time.
    beat_s : np.ndarray
        Every beat event time (R peak, or where a dropped beat would have been).
    kind : np.ndarray of str
        :data:`NORMAL`, :data:`ECTOPIC` or :data:`DROPPED`.
    rr_s : np.ndarray
        Sinus interval at each beat (sets P/T timing and pulse width).
    ptt_s : np.ndarray
        Pulse transit time (R peak to pulse foot) per beat (NaN for dropped beats).
    pulse_amp : np.ndarray
        Relative pulse amplitude per beat (0 for dropped beats).
    """

    t_s: np.ndarray
    hr_bpm: np.ndarray
    rsa_bpm: np.ndarray
    beat_s: np.ndarray
    kind: np.ndarray
    rr_s: np.ndarray
    ptt_s: np.ndarray
    pulse_amp: np.ndarray


def simulate_heart(
    t: np.ndarray,
    fs: float,
    state: ScriptState,
    breathing: Breathing,
    person: Person,
    rng: np.random.Generator,
) -> Heart:
    """Heart rate with RSA on the control grid ``t`` and the beats it produces."""
    gain, lag = rsa_gain(breathing.rate_bpm, person)
    vagal = 0.35 + 0.65 * state.relaxation
    rsa_pp = person.rsa_max_bpm * vagal * gain
    rsa = 0.5 * rsa_pp * breathing.wave(t, lag_cycles=lag)
    drift = ou(rng, t.size, fs, tau_s=12.0, sigma=person.hr_variability_bpm)
    hr = np.clip(state.heart_rate_bpm + rsa + drift, 30.0, 220.0)

    cum = rng.uniform(0.0, 1.0) + np.concatenate([[0.0], np.cumsum(hr[:-1] / 60.0 / fs)])
    k = np.arange(np.ceil(cum[0]), np.floor(cum[-1]) + 1)
    beats = np.interp(k, cum, t)
    n = beats.size
    rr = np.diff(beats, prepend=beats[0] - 60.0 / hr[0]) if n else beats
    kind = np.full(n, NORMAL, dtype=object)

    duration_min = (t[-1] - t[0]) / 60.0
    candidates = np.arange(2, max(n - 2, 2))
    rng.shuffle(candidates)
    used: set[int] = set()

    def pick(count: int) -> list[int]:
        out = []
        for i in candidates:
            if len(out) >= count:
                break
            if not used.intersection({i - 2, i - 1, i, i + 1, i + 2}):
                used.add(int(i))
                out.append(int(i))
        return out

    beats = beats.copy()
    for i in pick(rng.poisson(person.ectopic_per_min * duration_min)):
        beats[i] = beats[i - 1] + 0.6 * (beats[i] - beats[i - 1])
        kind[i] = ECTOPIC
    for i in pick(rng.poisson(person.dropped_per_min * duration_min)):
        kind[i] = DROPPED

    resp = breathing.wave(beats)
    hr_at = np.interp(beats, t, hr)
    ptt = person.ptt_ms / 1000.0 + 0.008 * resp - 0.0006 * (hr_at - 70.0)
    ptt = ptt + rng.normal(0.0, 0.003, size=n)
    amp = (1.0 + 0.12 * resp) * np.where(kind == ECTOPIC, 0.45, 1.0)
    amp = np.where(kind == DROPPED, 0.0, amp)
    ptt = np.where(kind == DROPPED, np.nan, ptt)
    return Heart(t, hr, rsa_pp, beats, kind.astype(str), rr, ptt, amp)


def _add_waves(
    out: np.ndarray, t: np.ndarray, centers: np.ndarray, scale: np.ndarray, amps: np.ndarray, waves
) -> None:
    """Add Gaussian waves around each center (in place); windows of ±1 s for speed."""
    lo = np.searchsorted(t, centers - 0.6)
    hi = np.searchsorted(t, centers + 1.0)
    for c, s, a, i0, i1 in zip(centers, scale, amps, lo, hi, strict=True):
        if i1 <= i0 or a == 0:
            continue
        tt = t[i0:i1] - c
        seg = np.zeros(tt.size)
        for off, amp, width, scaled in waves:
            f = s if scaled else 1.0
            seg += amp * np.exp(-0.5 * ((tt - off * f) / (width * f)) ** 2)
        out[i0:i1] += a * seg


def ecg_clean(t: np.ndarray, heart: Heart, breathing: Breathing) -> np.ndarray:
    """Noise-free ECG (µV) at times ``t``: PQRST per beat, amplitude modulated by breathing."""
    out = np.zeros(t.size)
    scale = np.sqrt(np.clip(heart.rr_s, 0.3, 2.0))
    amp = 1.0 + 0.07 * breathing.wave(heart.beat_s)
    sinus = heart.kind == NORMAL
    ect = heart.kind == ECTOPIC
    _add_waves(out, t, heart.beat_s[sinus], scale[sinus], amp[sinus], _SINUS_WAVES)
    _add_waves(out, t, heart.beat_s[ect], scale[ect], amp[ect], _ECTOPIC_WAVES)
    return out + 60.0 * breathing.signal(t)


def ecg_noise(t: np.ndarray, fs: float, rng: np.random.Generator, line_hz: float) -> np.ndarray:
    """Electrode drift, white noise and a little mains pick-up (µV)."""
    drift = np.interp(
        t,
        np.linspace(t[0], t[-1], max(t.size // 25, 2)),
        ou(rng, max(t.size // 25, 2), fs / 25, tau_s=5.0, sigma=25.0),
    )
    return drift + rng.normal(0.0, 6.0, t.size) + 5.0 * np.sin(2 * np.pi * line_hz * t + 1.0)


def ppg_clean(t: np.ndarray, heart: Heart, breathing: Breathing) -> np.ndarray:
    """Noise-free pulse wave (relative units, pulse amplitude ≈ 1) at times ``t``."""
    out = np.zeros(t.size)
    ok = heart.kind != DROPPED
    feet = heart.beat_s[ok] + heart.ptt_s[ok]
    scale = np.sqrt(np.clip(heart.rr_s[ok], 0.3, 2.0))
    waves = tuple((off, a, w, True) for off, a, w in _PULSE_WAVES)
    _add_waves(out, t, feet, scale, heart.pulse_amp[ok], waves)
    return out + 0.15 * breathing.signal(t)


def ppg_peak_times(
    heart: Heart, breathing: Breathing, fs_fine: float = 2000.0, block: int = 1 << 18
) -> np.ndarray:
    """True systolic peak time of each pulse (NaN for dropped beats).

    Found as the maximum of the noise-free pulse wave rendered at ``fs_fine`` within the
    systolic part of each pulse, so overlapping pulses and wander are accounted for. The wave
    is rendered about ``block`` samples at a time, around the pulses being searched (every
    sample has the value a render of the whole span would give it).
    """
    peaks = np.full(heart.beat_s.size, np.nan)
    ok = np.flatnonzero(heart.kind != DROPPED)
    if ok.size == 0:
        return peaks
    scale = np.sqrt(np.clip(heart.rr_s, 0.3, 2.0))
    t0 = heart.beat_s[ok[0]] - 1.0
    t = np.arange(t0, heart.beat_s[ok[-1]] + 2.0, 1.0 / fs_fine)
    windows = []  # (beat, first, end) sample index of the search window
    for i in ok:
        c = heart.beat_s[i] + heart.ptt_s[i] + _PULSE_WAVES[0][0] * scale[i]
        w = 2.0 * _PULSE_WAVES[0][2] * scale[i]
        i0, i1 = np.searchsorted(t, [c - w, c + w])
        windows.append((i, int(i0), int(i1)))
    k = 0
    while k < len(windows):
        # a run of windows whose samples (and one on each side, for the refinement) fit a block
        lo, hi, end = windows[k][1] - 1, windows[k][2] + 1, k + 1
        while end < len(windows):
            lo2, hi2 = min(lo, windows[end][1] - 1), max(hi, windows[end][2] + 1)
            if hi2 - lo2 > block:
                break
            lo, hi, end = lo2, hi2, end + 1
        lo, hi = max(lo, 0), min(hi, t.size)
        x = ppg_clean(t[lo:hi], heart, breathing)
        for i, i0, i1 in windows[k:end]:
            j = i0 + int(np.argmax(x[i0 - lo : i1 - lo]))
            if 0 < j < t.size - 1:  # parabolic refinement
                y0, y1, y2 = x[j - 1 - lo], x[j - lo], x[j + 1 - lo]
                den = y0 - 2 * y1 + y2
                dj = 0.5 * (y0 - y2) / den if den != 0 else 0.0
            else:
                dj = 0.0
            peaks[i] = t[j] + dj / fs_fine
        k = end
    return peaks
