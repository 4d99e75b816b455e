"""Simulator scenarios: TOML scripts of a simulated person's state over time.

A scenario file (``scenarios/<name>.toml``) has a ``[person]`` table (traits that stay fixed:
individual alpha frequency, resonance breathing rate, heart-rate range...), a list of
``[[segments]]`` played one after the other, and optional ``[[artifacts]]``::

    name = "stressed-to-relaxed"          # must equal the file stem
    title = "Stressed to relaxed"
    description = "..."

    [person]
    resonance_breaths_per_min = 5.5

    [[segments]]
    label = "stressed"
    duration_s = 120
    relaxation = 0.1                      # a number (constant) or [start, end] (linear ramp)
    breathing_rate_bpm = [16, 14]         # breaths per minute
    eyes_closed = false

    [[artifacts]]
    kind = "jaw_clench"                   # see ARTIFACT_KINDS
    start_s = 30
    end_s = 33

A segment field that is left out continues from where the previous segment ended
(``heart_rate_bpm`` left out everywhere follows the relaxation level between the person's
``hr_stressed_bpm`` and ``hr_relaxed_bpm``). The segments last at most
:data:`~biotrainer.limits.MAX_SCENARIO_S` (4 h) together. Loading validates every key and raises
:class:`~biotrainer.errors.ConfigError` naming the file, the key and the problem.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from biotrainer.errors import ConfigError
from biotrainer.limits import MAX_SCENARIO_S
from biotrainer.paths import path_too_long, read_config_text, shown_short

#: Artifact kinds a scenario can script.
ARTIFACT_KINDS = ("blink", "jaw_clench", "electrode_pop", "motion", "flat", "line_noise")

#: Environment variable naming an extra folder searched for scenario files.
SCENARIO_DIR_ENV = "BIOTRAINER_SCENARIOS"


def scenario_dirs() -> list[Path]:
    """Folders searched for ``<name>.toml``: ``$BIOTRAINER_SCENARIOS``, then ``scenarios/``."""
    dirs = []
    env = os.environ.get(SCENARIO_DIR_ENV)
    if env:
        dirs.append(Path(env).expanduser())
    dirs.append(Path(__file__).resolve().parents[4] / "scenarios")
    return dirs


def available_scenarios() -> list[str]:
    """Names of the scenario files found in :func:`scenario_dirs`."""
    names: set[str] = set()
    for d in scenario_dirs():
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.toml"))
    return sorted(names)


@dataclass(frozen=True)
class Person:
    """Fixed traits of the simulated person.

    Attributes
    ----------
    alpha_peak_hz : float or None
        Individual alpha frequency; None draws one in 9–11 Hz from the seed.
    alpha_uv : float
        RMS alpha amplitude (µV) at an occipital site, fully relaxed, eyes open.
    eyes_closed_alpha_gain : float
        Factor on alpha while the eyes are closed (Berger effect).
    theta_uv, beta_uv : float
        RMS theta (4–7 Hz) and beta (13–30 Hz) amplitude (µV) when fully stressed.
    background_uv : float
        RMS of the 1/f background (µV).
    hr_stressed_bpm, hr_relaxed_bpm : float
        Mean heart rate at relaxation 0 and 1 (used where a segment gives no heart rate).
    hr_variability_bpm : float
        Standard deviation of slow random heart-rate fluctuation (bpm).
    resonance_breaths_per_min : float
        Breathing rate of the largest respiratory sinus arrhythmia (the resonance frequency).
    rsa_max_bpm : float
        Peak-to-trough heart-rate swing (bpm) when breathing at resonance, fully relaxed.
    rsa_q : float
        Sharpness (quality factor) of the RSA resonance curve.
    ptt_ms : float
        Mean pulse transit time, R peak to pulse foot (ms).
    ectopic_per_min, dropped_per_min : float
        Rates of premature ventricular beats and dropped (non-conducted) beats.
    blink_rate_per_min : float
        Spontaneous blink rate while the eyes are open.
    line_noise_hz : float
        Mains frequency (50 or 60).
    line_noise_uv : float
        Mains interference amplitude on EEG (µV).
    """

    alpha_peak_hz: float | None = None
    alpha_uv: float = 10.0
    eyes_closed_alpha_gain: float = 2.2
    theta_uv: float = 4.0
    beta_uv: float = 3.5
    background_uv: float = 6.0
    hr_stressed_bpm: float = 84.0
    hr_relaxed_bpm: float = 64.0
    hr_variability_bpm: float = 1.0
    resonance_breaths_per_min: float = 5.5
    rsa_max_bpm: float = 16.0
    rsa_q: float = 2.5
    ptt_ms: float = 220.0
    ectopic_per_min: float = 0.2
    dropped_per_min: float = 0.1
    blink_rate_per_min: float = 8.0
    line_noise_hz: float = 50.0
    line_noise_uv: float = 1.5


_PERSON_RANGES: dict[str, tuple[float, float]] = {
    "alpha_peak_hz": (7.0, 13.0),
    "alpha_uv": (0.0, 200.0),
    "eyes_closed_alpha_gain": (1.0, 10.0),
    "theta_uv": (0.0, 200.0),
    "beta_uv": (0.0, 200.0),
    "background_uv": (0.0, 200.0),
    "hr_stressed_bpm": (30.0, 200.0),
    "hr_relaxed_bpm": (30.0, 200.0),
    "hr_variability_bpm": (0.0, 20.0),
    "resonance_breaths_per_min": (3.0, 12.0),
    "rsa_max_bpm": (0.0, 60.0),
    "rsa_q": (0.3, 20.0),
    "ptt_ms": (50.0, 500.0),
    "ectopic_per_min": (0.0, 20.0),
    "dropped_per_min": (0.0, 20.0),
    "blink_rate_per_min": (0.0, 60.0),
    "line_noise_hz": (40.0, 70.0),
    "line_noise_uv": (0.0, 1000.0),
}


@dataclass(frozen=True)
class Segment:
    """One stretch of the script; ``*_start``/``*_end`` are ramped linearly across it."""

    label: str
    start_s: float
    duration_s: float
    relaxation: tuple[float, float]
    heart_rate_bpm: tuple[float, float] | None
    breathing_rate_bpm: tuple[float, float]
    paced: bool
    inhale_fraction: float
    eyes_closed: bool

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class ArtifactSpec:
    """A scripted artifact.

    Attributes
    ----------
    kind : str
        One of :data:`ARTIFACT_KINDS`.
    start_s, end_s : float
        Interval in scenario seconds.
    channels : tuple of str
        Channel names it affects; names absent from a layout are ignored, and when none is
        present the kind's default channels are used (see ``render``).
    amplitude : float or None
        Size in the signal's unit (µV for EEG); None takes the kind's default.
    rate_per_min : float or None
        For event kinds (blink, electrode_pop): events per minute inside the interval; None
        means one event at ``start_s`` (electrode_pop) or 20/min (blink).
    """

    kind: str
    start_s: float
    end_s: float
    channels: tuple[str, ...] = ()
    amplitude: float | None = None
    rate_per_min: float | None = None


@dataclass(frozen=True)
class Scenario:
    """A loaded, validated scenario."""

    name: str
    title: str
    description: str
    person: Person
    segments: tuple[Segment, ...]
    artifacts: tuple[ArtifactSpec, ...]
    source: str = ""
    text: str = ""

    @property
    def duration_s(self) -> float:
        return self.segments[-1].end_s

    def evaluate(self, t: np.ndarray) -> ScriptState:
        """Return the scripted state at times ``t`` (seconds from the start)."""
        t = np.asarray(t, dtype=np.float64)
        starts = np.array([s.start_s for s in self.segments])
        idx = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(self.segments) - 1)
        seg_start = starts[idx]
        seg_dur = np.array([s.duration_s for s in self.segments])[idx]
        frac = np.clip((t - seg_start) / seg_dur, 0.0, 1.0)

        def ramp(get) -> np.ndarray:
            a = np.array([get(s)[0] for s in self.segments])[idx]
            b = np.array([get(s)[1] for s in self.segments])[idx]
            return a + (b - a) * frac

        relax = ramp(lambda s: s.relaxation)
        p = self.person
        hr_default = p.hr_stressed_bpm + (p.hr_relaxed_bpm - p.hr_stressed_bpm) * relax
        has_hr = np.array([s.heart_rate_bpm is not None for s in self.segments])[idx]
        hr_given = ramp(lambda s: s.heart_rate_bpm or (0.0, 0.0))
        return ScriptState(
            relaxation=relax,
            heart_rate_bpm=np.where(has_hr, hr_given, hr_default),
            breathing_rate_bpm=ramp(lambda s: s.breathing_rate_bpm),
            paced=np.array([s.paced for s in self.segments])[idx],
            inhale_fraction=np.array([s.inhale_fraction for s in self.segments])[idx],
            eyes_closed=np.array([s.eyes_closed for s in self.segments])[idx],
            segment=idx,
        )

    def relaxation_at(self, t: np.ndarray, block: int = 1 << 16) -> np.ndarray:
        """``evaluate(t).relaxation`` computed ``block`` times at a time: the same values, without
        the dozen temporaries of ``t``'s size that :meth:`evaluate` makes for a long ``t``."""
        t = np.asarray(t, dtype=np.float64)
        flat = t.reshape(-1)
        out = np.empty(flat.shape)
        for k in range(0, flat.size, block):
            out[k : k + block] = self.evaluate(flat[k : k + block]).relaxation
        return out.reshape(t.shape)


@dataclass(frozen=True)
class ScriptState:
    """Scripted values sampled at some times (arrays of equal length)."""

    relaxation: np.ndarray
    heart_rate_bpm: np.ndarray
    breathing_rate_bpm: np.ndarray
    paced: np.ndarray
    inhale_fraction: np.ndarray
    eyes_closed: np.ndarray
    segment: np.ndarray


# ----------------------------------------------------------------------------- loading


def resolve_scenario_path(name_or_path: str | os.PathLike[str]) -> Path:
    """Find a scenario by name (``stressed-to-relaxed``) or by path to a ``.toml`` file.

    Raises
    ------
    ConfigError
        When no such scenario exists (the message lists the available ones), or its path is
        too long for the system.
    """
    text = str(name_or_path)
    p = Path(text).expanduser()
    if p.suffix == ".toml" or os.sep in text or "/" in text:
        _check_length(p)
        if not p.exists():  # (a pipe or a folder exists: load_scenario says what it is)
            raise ConfigError(str(p), "", "no such scenario file")
        return p
    for d in scenario_dirs():
        cand = d / f"{text}.toml"
        _check_length(cand)
        if cand.exists():  # one that is not a regular file is refused, not passed over
            return cand
    known = ", ".join(available_scenarios()) or "none found"
    raise ConfigError(text, "", f"unknown scenario (available: {known})")


def _check_length(path: Path) -> None:
    """ConfigError if ``path`` is too long for the system to say whether it exists."""
    too_long = path_too_long(path)
    if too_long is not None:
        raise ConfigError(shown_short(path), "", too_long)


def load_scenario(name_or_path: str | os.PathLike[str]) -> Scenario:
    """Load and validate a scenario by name or path.

    Raises
    ------
    ConfigError
        When the scenario does not exist, is not a regular file (a pipe, a device, a folder:
        never read), is not UTF-8 TOML, or is invalid.
    """
    path = resolve_scenario_path(name_or_path)
    text = read_config_text(path, "no such scenario file", what="scenario file")
    return parse_scenario(text, source=str(path))


def parse_scenario(text: str, source: str = "<string>") -> Scenario:
    """Validate scenario TOML ``text``; ``source`` names the file in error messages.

    When ``source`` is a path, the scenario ``name`` must equal its stem.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "", f"not valid TOML ({exc})") from exc
    v = _Validator(source)
    v.keys(data, "", {"name", "title", "description", "person", "segments", "artifacts"})
    name = v.string(data, "name", required=True)
    if source.endswith(".toml") and Path(source).stem != name:
        raise ConfigError(
            source, "name", f"'{name}' must equal the file name '{Path(source).stem}'"
        )
    title = v.string(data, "title") or name
    description = v.string(data, "description") or ""
    person = _parse_person(v, data.get("person", {}))
    segments = _parse_segments(v, data.get("segments"))
    duration = segments[-1].end_s
    artifacts = _parse_artifacts(v, data.get("artifacts", []), duration)
    return Scenario(name, title, description, person, segments, artifacts, source, text)


class _Validator:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.source, key, problem)

    def keys(self, table: Any, prefix: str, allowed: set[str]) -> None:
        if not isinstance(table, dict):
            raise self.fail(prefix.rstrip("."), "must be a table")
        for k in table:
            if k not in allowed:
                raise self.fail(prefix + k, f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def string(self, table: dict, key: str, prefix: str = "", required: bool = False) -> str | None:
        if key not in table:
            if required:
                raise self.fail(prefix + key, "is required")
            return None
        val = table[key]
        if not isinstance(val, str) or (required and not val.strip()):
            raise self.fail(prefix + key, "must be a non-empty string")
        return val

    def number(self, val: Any, key: str, lo: float, hi: float) -> float:
        if isinstance(val, bool) or not isinstance(val, int | float) or not math.isfinite(val):
            raise self.fail(key, f"must be a number, got {val!r}")
        if not lo <= val <= hi:
            raise self.fail(key, f"must be between {lo:g} and {hi:g}, got {val:g}")
        return float(val)

    def ramp(self, val: Any, key: str, lo: float, hi: float) -> tuple[float, float]:
        if isinstance(val, list):
            if len(val) != 2:
                raise self.fail(key, "must be a number or a [start, end] pair")
            return (self.number(val[0], key, lo, hi), self.number(val[1], key, lo, hi))
        x = self.number(val, key, lo, hi)
        return (x, x)

    def boolean(self, val: Any, key: str) -> bool:
        if not isinstance(val, bool):
            raise self.fail(key, f"must be true or false, got {val!r}")
        return val


def _parse_person(v: _Validator, table: Any) -> Person:
    allowed = {f.name for f in fields(Person)}
    v.keys(table, "person.", allowed)
    values = {k: v.number(val, f"person.{k}", *_PERSON_RANGES[k]) for k, val in table.items()}
    if "line_noise_hz" in values and values["line_noise_hz"] not in (50.0, 60.0):
        raise v.fail("person.line_noise_hz", "must be 50 or 60")
    return Person(**values)


_SEGMENT_KEYS = {
    "label",
    "duration_s",
    "relaxation",
    "heart_rate_bpm",
    "breathing_rate_bpm",
    "paced",
    "inhale_fraction",
    "eyes_closed",
}


def _parse_segments(v: _Validator, items: Any) -> tuple[Segment, ...]:
    if items is None:
        raise v.fail("segments", "is required (at least one [[segments]] table)")
    if not isinstance(items, list) or not items:
        raise v.fail("segments", "must be a non-empty list of [[segments]] tables")
    out: list[Segment] = []
    relax_end, br_end, paced, inhale, eyes = 0.5, 12.0, False, 0.4, False
    hr_end: float | None = None
    t = 0.0
    for i, seg in enumerate(items):
        p = f"segments[{i}]."
        v.keys(seg, p, _SEGMENT_KEYS)
        if "duration_s" not in seg:
            raise v.fail(p + "duration_s", "is required")
        dur = v.number(seg["duration_s"], p + "duration_s", 1.0, MAX_SCENARIO_S)
        if t + dur > MAX_SCENARIO_S:
            raise v.fail(
                p + "duration_s",
                f"brings the scenario to {t + dur:g} s: all segments together may last at most "
                f"{MAX_SCENARIO_S:g} s ({MAX_SCENARIO_S / 3600:g} h)",
            )
        relax = (
            v.ramp(seg["relaxation"], p + "relaxation", 0.0, 1.0)
            if "relaxation" in seg
            else (relax_end, relax_end)
        )
        br = (
            v.ramp(seg["breathing_rate_bpm"], p + "breathing_rate_bpm", 2.0, 40.0)
            if "breathing_rate_bpm" in seg
            else (br_end, br_end)
        )
        if "heart_rate_bpm" in seg:
            hr: tuple[float, float] | None = v.ramp(
                seg["heart_rate_bpm"], p + "heart_rate_bpm", 30.0, 200.0
            )
        else:
            hr = None if hr_end is None else (hr_end, hr_end)
        if "paced" in seg:
            paced = v.boolean(seg["paced"], p + "paced")
        if "inhale_fraction" in seg:
            inhale = v.number(seg["inhale_fraction"], p + "inhale_fraction", 0.2, 0.8)
        if "eyes_closed" in seg:
            eyes = v.boolean(seg["eyes_closed"], p + "eyes_closed")
        label = v.string(seg, "label", prefix=p) or f"segment {i + 1}"
        out.append(Segment(label, t, dur, relax, hr, br, paced, inhale, eyes))
        relax_end, br_end = relax[1], br[1]
        hr_end = hr[1] if hr is not None else None
        t += dur
    return tuple(out)


def _parse_artifacts(v: _Validator, items: Any, duration: float) -> tuple[ArtifactSpec, ...]:
    if not isinstance(items, list):
        raise v.fail("artifacts", "must be a list of [[artifacts]] tables")
    out = []
    allowed = {"kind", "start_s", "end_s", "channels", "amplitude", "rate_per_min"}
    for i, art in enumerate(items):
        p = f"artifacts[{i}]."
        v.keys(art, p, allowed)
        kind = v.string(art, "kind", prefix=p, required=True)
        if kind not in ARTIFACT_KINDS:
            raise v.fail(p + "kind", f"unknown kind '{kind}' (known: {', '.join(ARTIFACT_KINDS)})")
        if "start_s" not in art:
            raise v.fail(p + "start_s", "is required")
        start = v.number(art["start_s"], p + "start_s", 0.0, duration)
        end = v.number(art.get("end_s", start), p + "end_s", start, duration)
        if kind != "electrode_pop" and end <= start:
            raise v.fail(p + "end_s", f"must be after start_s ({start:g}) and within {duration:g}")
        chans = art.get("channels", [])
        if not isinstance(chans, list) or not all(isinstance(c, str) and c for c in chans):
            raise v.fail(p + "channels", "must be a list of channel names")
        amp = v.number(art["amplitude"], p + "amplitude", 0.0, 1e5) if "amplitude" in art else None
        rate = (
            v.number(art["rate_per_min"], p + "rate_per_min", 0.0, 600.0)
            if "rate_per_min" in art
            else None
        )
        out.append(ArtifactSpec(kind, start, end, tuple(chans), amp, rate))
    return tuple(out)
