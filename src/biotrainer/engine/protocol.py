"""Training protocols: TOML files in ``protocols/`` validated into frozen dataclasses.

A protocol is a sequence of phases. Baseline phases measure the person (their feedback metric's
mean and spread); training phases reward departures from that baseline in the relaxed direction
(z-scores), so the feedback adapts to the person rather than to a population constant.

File format (one file per protocol, file stem = ``name``)::

    name = "alpha-uptraining"
    title = "Alpha up-training"
    description = "..."
    feedback = "alpha"            # alpha | relaxation | coherence | combined
    audio = false                 # audio feedback on by default
    target_reward_rate = 0.65     # auto-threshold target (0 < r < 1)

    [[phases]]
    name = "Baseline, eyes open"
    kind = "baseline"             # baseline | training | rest | pacing
    duration_s = 60
    eyes = "open"                 # open | closed
    instruction = "Sit comfortably and look at the screen."
    pacer_bpm = 6.0               # optional breathing pacer, 3-10 breaths/min
    inhale_ratio = 0.4            # optional fraction of each breath spent inhaling
    repeat = 1                    # optional: the phase is repeated this many times

Any problem raises :class:`~biotrainer.errors.ConfigError` naming the file, the key and the problem.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from biotrainer.errors import ConfigError
from biotrainer.paths import path_too_long, read_config_text

FEEDBACK_KINDS = ("alpha", "relaxation", "coherence", "combined")
PHASE_KINDS = ("baseline", "training", "rest", "pacing")
EYES = ("open", "closed")
PACER_RANGE_BPM = (3.0, 10.0)
PROTOCOLS_ENV = "BIOTRAINER_PROTOCOLS"

_TOP_KEYS = {"name", "title", "description", "feedback", "audio", "target_reward_rate", "phases"}
_PHASE_KEYS = {
    "name",
    "kind",
    "duration_s",
    "eyes",
    "instruction",
    "pacer_bpm",
    "inhale_ratio",
    "repeat",
}


@dataclass(frozen=True)
class Phase:
    """One step of a protocol.

    Attributes
    ----------
    name : str
        Shown to the therapist (and, simplified, to the patient).
    kind : str
        ``baseline`` (learns the person's baseline, no reward), ``training`` (rewards on),
        ``rest`` (no reward and nothing learned: the metrics are still recorded and the score
        shown against the reward bar as it stands), ``pacing`` (paced breathing, measured
        separately: resonance assessment).
    duration_s : float
        Length in seconds.
    eyes : str
        ``open`` or ``closed``.
    instruction : str
        Plain words for the patient.
    pacer_bpm : float or None
        Breathing pacer rate in breaths/min, None for no pacer.
    inhale_ratio : float
        Fraction of each paced breath spent inhaling.
    """

    name: str
    kind: str
    duration_s: float
    eyes: str = "open"
    instruction: str = ""
    pacer_bpm: float | None = None
    inhale_ratio: float = 0.4


@dataclass(frozen=True)
class Protocol:
    """A validated protocol. ``phases`` has every ``repeat`` expanded."""

    name: str
    title: str
    description: str
    feedback: str
    audio: bool
    target_reward_rate: float
    phases: tuple[Phase, ...]
    path: str = ""

    @property
    def duration_s(self) -> float:
        """Total length in seconds."""
        return sum(p.duration_s for p in self.phases)

    def phase_at(self, t: float) -> tuple[int, Phase, float] | None:
        """Return (index, phase, seconds into it) at ``t`` s from the start; None after the end."""
        start = 0.0
        for i, p in enumerate(self.phases):
            if t < start + p.duration_s:
                return i, p, t - start
            start += p.duration_s
        return None

    @property
    def feedback_kinds(self) -> tuple[str, ...]:
        """The metrics the feedback is made of ("combined" is relaxation and coherence)."""
        return ("relaxation", "coherence") if self.feedback == "combined" else (self.feedback,)

    @property
    def uses_hrv(self) -> bool:
        return self.feedback in ("coherence", "combined") or any(
            p.kind == "pacing" for p in self.phases
        )

    @property
    def uses_eeg(self) -> bool:
        return self.feedback in ("alpha", "relaxation", "combined")


def protocols_dir() -> Path:
    """The folder of shipped protocols (``BIOTRAINER_PROTOCOLS`` overrides)."""
    env = os.environ.get(PROTOCOLS_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "protocols"


def list_protocols() -> list[str]:
    """Names of the protocols in :func:`protocols_dir`, sorted."""
    return sorted(p.stem for p in protocols_dir().glob("*.toml"))


def load_protocol(name_or_path: str | os.PathLike[str]) -> Protocol:
    """Load and validate a protocol by name (from :func:`protocols_dir`) or by file path.

    Raises
    ------
    ConfigError
        If the file is missing, not a regular file (a pipe, a device, a folder: never read),
        not UTF-8 TOML, or any key is missing, unknown or out of range.
    """
    p = Path(name_or_path)
    text = str(name_or_path)
    # (a path too long for the system is not asked about: read_config_text says what it is)
    given_as_path = ("/" in text or os.sep in text) and (path_too_long(p) is not None or p.exists())
    by_name = p.suffix != ".toml" and not given_as_path
    if by_name:
        p = protocols_dir() / f"{name_or_path}.toml"
    known = ", ".join(list_protocols()) or "none"
    missing = f"no such protocol file (known protocols: {known})"
    if by_name and text and not os.path.lexists(p):
        # A name that is no protocol but names something here: a folder or a pipe ("somedir",
        # ".") is said to be one (read_config_text, never reading it); a file is only named
        # (a name is never taken for a file here unless given as a path).
        if os.path.isfile(text):
            missing += f"; to use the file {text} in this folder, give it as ./{text}"
        elif os.path.exists(text):
            p = Path(os.path.abspath(text))
    text = read_config_text(p, missing, what="protocol file")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(p), "", f"not valid TOML: {exc}") from exc
    return _parse(raw, str(p))


def _get(d: dict, key: str, typ: type | tuple[type, ...], path: str, where: str, default=...):
    if key not in d:
        if default is ...:
            raise ConfigError(path, where + key, "missing")
        return default
    v = d[key]
    types = typ if isinstance(typ, tuple) else (typ,)
    if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
        raise ConfigError(path, where + key, f"expected {_typename(typ)}, got {v!r}")
    return v


def _typename(typ: type | tuple[type, ...]) -> str:
    names = {
        str: "text",
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        list: "a list",
    }
    ts = typ if isinstance(typ, tuple) else (typ,)
    return " or ".join(names.get(t, t.__name__) for t in ts)


def _parse(raw: dict, path: str) -> Protocol:
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise ConfigError(
            path, sorted(unknown)[0], f"unknown key (allowed: {', '.join(sorted(_TOP_KEYS))})"
        )
    name = _get(raw, "name", str, path, "")
    stem = Path(path).stem
    if name != stem:
        raise ConfigError(path, "name", f"must equal the file name {stem!r}, got {name!r}")
    feedback = _get(raw, "feedback", str, path, "")
    if feedback not in FEEDBACK_KINDS:
        raise ConfigError(
            path, "feedback", f"must be one of {', '.join(FEEDBACK_KINDS)}, got {feedback!r}"
        )
    target = float(_get(raw, "target_reward_rate", (int, float), path, "", 0.65))
    if not 0.05 <= target <= 0.95:
        raise ConfigError(
            path, "target_reward_rate", f"must be between 0.05 and 0.95, got {target}"
        )
    phases_raw = _get(raw, "phases", list, path, "")
    if not phases_raw:
        raise ConfigError(path, "phases", "a protocol needs at least one phase")
    phases: list[Phase] = []
    for i, ph in enumerate(phases_raw):
        where = f"phases[{i}]."
        if not isinstance(ph, dict):
            raise ConfigError(path, f"phases[{i}]", "each phase must be a table ([[phases]])")
        unknown = set(ph) - _PHASE_KEYS
        if unknown:
            raise ConfigError(path, where + sorted(unknown)[0], "unknown key")
        kind = _get(ph, "kind", str, path, where)
        if kind not in PHASE_KINDS:
            raise ConfigError(
                path, where + "kind", f"must be one of {', '.join(PHASE_KINDS)}, got {kind!r}"
            )
        duration = float(_get(ph, "duration_s", (int, float), path, where))
        if not 1 <= duration <= 4 * 3600:
            raise ConfigError(
                path, where + "duration_s", f"must be between 1 s and 4 h, got {duration}"
            )
        eyes = _get(ph, "eyes", str, path, where, "open")
        if eyes not in EYES:
            raise ConfigError(path, where + "eyes", f"must be 'open' or 'closed', got {eyes!r}")
        pacer = _get(ph, "pacer_bpm", (int, float), path, where, None)
        if pacer is not None and not PACER_RANGE_BPM[0] <= pacer <= PACER_RANGE_BPM[1]:
            raise ConfigError(
                path, where + "pacer_bpm", f"must be between 3 and 10 breaths/min, got {pacer}"
            )
        if kind == "pacing" and pacer is None:
            raise ConfigError(path, where + "pacer_bpm", "a pacing phase needs a pacer rate")
        inhale = float(_get(ph, "inhale_ratio", (int, float), path, where, 0.4))
        if not 0.2 <= inhale <= 0.8:
            raise ConfigError(
                path, where + "inhale_ratio", f"must be between 0.2 and 0.8, got {inhale}"
            )
        repeat = _get(ph, "repeat", int, path, where, 1)
        if not 1 <= repeat <= 100:
            raise ConfigError(path, where + "repeat", f"must be between 1 and 100, got {repeat}")
        phase = Phase(
            name=_get(ph, "name", str, path, where, kind.capitalize()),
            kind=kind,
            duration_s=duration,
            eyes=eyes,
            instruction=_get(ph, "instruction", str, path, where, ""),
            pacer_bpm=None if pacer is None else float(pacer),
            inhale_ratio=inhale,
        )
        phases.extend([phase] * repeat)
    kinds = [p.kind for p in phases]
    if "training" in kinds and "baseline" not in kinds[: kinds.index("training")]:
        # (every feedback is a z-score against the person's baseline: without one before it,
        # a training phase would give no feedback and no reward at all)
        raise ConfigError(
            path, "phases", "training needs a baseline phase before it (personal thresholds)"
        )
    return Protocol(
        name=name,
        title=_get(raw, "title", str, path, "", name),
        description=_get(raw, "description", str, path, "", ""),
        feedback=feedback,
        audio=_get(raw, "audio", bool, path, "", False),
        target_reward_rate=target,
        phases=tuple(phases),
        path=path,
    )
