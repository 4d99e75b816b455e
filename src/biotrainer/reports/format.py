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
    """Seconds as "12 min 5 s" ("–" when missing)."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = int(round(seconds))
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
    whole words are replaced (case and Unicode normalisation aside): a fragment of a name inside
    another word would give the name away ("pl[name]ed" for "Ann"), and a short first name
    ("Jo") must go as well.
    """
    if not name or not text:
        return text
    text = unicodedata.normalize("NFC", text)
    name = unicodedata.normalize("NFC", name)
    parts = [name.strip()] + [w for w in re.split(r"\W+", name) if len(w) >= 2]
    for part in sorted(set(parts), key=len, reverse=True):
        if part:
            pattern = rf"(?<!\w){re.escape(part)}(?!\w)"
            text = re.sub(pattern, "[name]", text, flags=re.IGNORECASE)
    return text
    parts = [name.strip()] + [w for w in re.split(r"\W+", name) if len(w) >= 3]
    for part in sorted(set(parts), key=len, reverse=True):
        if part:
            text = re.sub(re.escape(part), "[name]", text, flags=re.IGNORECASE)
    return text
