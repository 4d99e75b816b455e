"""Number and text formatting shared by the reports, the CLI listings and the history view."""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import datetime


def num(x: float | int | None, nd: int = 1, unit: str = "") -> str:
    """``x`` with ``nd`` decimals and an optional unit; "–" when missing (None/NaN)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    text = f"{x:.{nd}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]  # (-0.04 is "0.0", not "-0.0")
    return f"{text} {unit}" if unit else text


def pct(x: float | None) -> str:
    """A 0-1 fraction as a whole percentage ("–" when missing)."""
    if x is None or not math.isfinite(x):
        return "–"
    if 0 < x < 0.005:
        return "< 1 %"
    if 0.995 <= x < 1:
        return "> 99 %"
    return f"{100 * x:.0f} %"


def part(x: float) -> str:
    """A share (0-1) of a whole that is only part of it, as a whole percentage rounded down
    ("< 1 %" under 1 %): a part never reads as none of the whole, nor as a round half of it
    when it is less ("49 %" for 0.495)."""
    whole = math.floor(100 * x)
    return "< 1 %" if whole < 1 else f"{whole} %"


def signed(x: float | None, nd: int = 1) -> str:
    """A change with its sign (+1.0 / −2.0 / 0.0)."""
    if x is None or not math.isfinite(x):
        return "–"
    text = f"{abs(x):.{nd}f}"
    if round(x, nd) > 0:
        return "+" + text
    if round(x, nd) < 0:
        return "−" + text
    return text


def minutes(seconds: float | None) -> str:
    """Seconds as "m:ss" ("–" when missing)."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


def duration(seconds: float | None) -> str:
    """Seconds as "12 min 5 s", under a minute as "8 s" ("–" when missing).

    Examples
    --------
    >>> duration(725), duration(600), duration(8.4), duration(0.2)
    ('12 min 5 s', '10 min', '8 s', '0 s')
    """
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"


def local_time(t: datetime | None) -> str:
    """A UTC datetime in the machine's local time with its zone, "YYYY-MM-DD HH:MM CET" ("–" when
    missing). The zone is the one in force at ``t`` (summer time included); where the system has
    no name for it, its offset ("+0530")."""
    if t is None:
        return "–"
    local = t.astimezone()
    zone = local.strftime("%Z")
    if not zone or not zone.isascii() or " " in zone:
        zone = local.strftime("%z")
    return f"{local.strftime('%Y-%m-%d %H:%M')} {zone}"


def local_date(t: datetime | None) -> str:
    if t is None:
        return "–"
    return t.astimezone().strftime("%Y-%m-%d")


def change(before: float | int | None, after: float | int | None) -> float | None:
    """after − before, or None when either is missing."""
    if before is None or after is None:
        return None
    return float(after) - float(before)


def mask_name(text: str, name: str | None) -> str:
    """Replace the patient's name and each of its words (2+ letters) in ``text`` by "[name]".

    De-identified reports show free-text notes as typed except for the patient's own name. Only
    whole words are replaced, compared without case or accents (:func:`folded`: "Zoe" and
    "ZOË" are "Zoë", "Jose" is "José", and "José" is "Jose"): a fragment of a name inside
    another word would give the name away ("pl[name]ed" for "Ann"), and a short first name
    ("Jo") must go as well. A common word that is also a name ("Will", "May") goes wherever it
    stands: the safer side.
    """
    if not name or not text:
        return text
    text = unicodedata.normalize("NFC", text)
    name = unicodedata.normalize("NFC", name)
    words = [name.strip()] + [w for w in re.split(r"\W+", name) if len(w) >= 2]
    parts = sorted({folded(w)[0] for w in words} - {""}, key=len, reverse=True)
    if not parts:
        return text
    pattern = rf"(?<!\w)(?:{'|'.join(re.escape(p) for p in parts)})(?!\w)"
    flat, origin = folded(text)
    out, done = [], 0
    for m in re.finditer(pattern, flat):
        start = origin[m.start()]
        end = origin[m.end()] if m.end() < len(flat) else len(text)
        out += [text[done:start], "[name]"]
        done = max(end, origin[m.end() - 1] + 1)  # (its last character whole)
    return "".join([*out, text[done:]])


def folded(text: str) -> tuple[str, list[int]]:
    """``text`` as names are compared: case folded, accents and other marks removed
    (compatibility decomposition), and for each of its characters the index of the character
    of ``text`` it comes from.

    Examples
    --------
    >>> folded("Zoë Straße")
    ('zoe strasse', [0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 9])
    """
    chars: list[str] = []
    origin: list[int] = []
    for i, c in enumerate(text):
        plain = unicodedata.normalize("NFKD", c.casefold())
        plain = "".join(p for p in plain if not unicodedata.combining(p))
        chars.append(plain)
        origin += [i] * len(plain)
    return "".join(chars), origin
