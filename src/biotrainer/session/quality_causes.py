"""Why the signal was unclean, counted by kind of finding rather than by exact text.

The engine's ``quality_reason`` lists every EEG channel with a finding and its measured size
("Fp1: 60 Hz mains 46 dB, blink/motion 376 µV; O1: EMG 10 µV"), so on real EEG nearly every
update has a text of its own: counted as they are, no reason reaches 1 % of a session and the
report's list says nothing. :func:`count_causes` counts each update once per *kind* (muscle,
blink/motion, flat, railed, impossible samples; whole texts such as "signal lost" are kinds of
their own), naming the channels that had it most often (ties in the order the reasons name
them). Mains hum alone never makes a channel unusable (the quality check does not count it
against the channel), so it is a cause only when nothing else is named. The engine's wait for
its first second of EEG (:data:`STARTING_UP`) is no fault of the signal: it is never named as a
cause, though those updates stay unclean (the clean share counts them as not clean).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

#: The quality check's mains finding ("60 Hz mains 46 dB"; the frequency ``hz`` and the size
#: ``db`` optional).
MAINS_FINDING = re.compile(r"(?:(?P<hz>[\d.]+) Hz )?mains(?: (?P<db>-?[\d.]+) dB)?")
#: EEG findings of :func:`biotrainer.dsp.quality.signal_quality` (the measured size optional):
#: pattern -> kind shown.
FINDINGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"EMG(?: -?[\d.]+ µV)?"), "muscle (EMG)"),
    (re.compile(r"blink/motion(?: -?[\d.]+ µV)?"), "blinks/movement"),
    (re.compile(r"railed/clipped"), "railed"),
    (re.compile(r"flat"), "flat"),
    (re.compile(r"NaN/Inf or impossible samples"), "impossible samples"),
    (MAINS_FINDING, "mains hum"),
)
MAINS = "mains hum"
#: The engine's ``quality_reason`` before its first EEG quality verdict (the session's first
#: second): not a cause of unclean signal.
STARTING_UP = "EEG: waiting for the first second of signal"
#: Channels named after a kind, at most.
LISTED_CHANNELS = 3


def finding_kind(finding: str) -> str | None:
    """The kind of one EEG finding ("EMG 31 µV" -> "muscle (EMG)"); None when unknown."""
    finding = finding.strip()
    return next((k for pattern, k in FINDINGS if pattern.fullmatch(finding)), None)


def _channel_findings(part: str) -> tuple[str, list[str]] | None:
    """``("Fp1", ["muscle (EMG)", ...])`` for one channel's part of a reason, or None
    when the part is not a channel's findings."""
    name, sep, rest = part.partition(": ")
    if not sep or not name or not rest:
        return None
    kinds = []
    for finding in rest.split(","):
        kind = finding_kind(finding)
        if kind is None:
            return None
        kinds.append(kind)
    return name, kinds


def reason_causes(reason: str) -> dict[str, list[str]]:
    """The kinds of cause in one ``quality_reason``, each with the channels that had it in the
    order named (none for a cause that is not a channel's, such as "signal lost"); the wait
    for the first second of EEG (:data:`STARTING_UP`) is none."""
    causes: dict[str, list[str]] = {}
    for part in (p.strip() for p in (reason or "unknown").split("; ")):
        if part == STARTING_UP:
            continue
        found = _channel_findings(part)
        if found is None:
            causes.setdefault(part or "unknown", [])
            continue
        name, kinds = found
        for kind in kinds:
            names = causes.setdefault(kind, [])
            if name not in names:
                names.append(name)
    if len(causes) > 1:
        causes.pop(MAINS, None)
    return causes


def count_causes(reasons: Iterable[str]) -> list[tuple[str, int]]:
    """Updates per kind of cause, most frequent first, as texts for a report.

    Parameters
    ----------
    reasons : iterable of str
        The ``quality_reason`` of every unclean update.

    Returns
    -------
    list of (str, int)
        ``("muscle (EMG): T7, T8, F7 and 2 more", 84)``: each update counts once per kind; an
        update waiting for its first second of EEG (:data:`STARTING_UP`) counts in none.
    """
    updates: Counter[str] = Counter()
    channels: dict[str, Counter[str]] = {}
    for reason, times in Counter(reasons).items():  # (each distinct text parsed once)
        for kind, names in reason_causes(reason).items():
            updates[kind] += times
            channels.setdefault(kind, Counter()).update(dict.fromkeys(names, times))
    out = []
    for kind, n in updates.most_common():
        by_channel = [name for name, _ in channels[kind].most_common()]
        text = kind
        if by_channel:
            text += ": " + ", ".join(by_channel[:LISTED_CHANNELS])
            if len(by_channel) > LISTED_CHANNELS:
                text += f" and {len(by_channel) - LISTED_CHANNELS} more"
        out.append((text, n))
    return out
