"""Errors a person can act on.

Every failure that reaches a user is a :class:`BiotrainerError` whose message is one plain
sentence saying what went wrong and what to do. The CLI prints it as one line and exits non-zero;
the GUI shows it in a dialog. Raw library exceptions (BrainFlowError, OSError, ...) are caught
at the layer boundary and wrapped.
"""

from __future__ import annotations


class BiotrainerError(Exception):
    """Base class of every error meant to be shown to a person."""


class ConfigError(BiotrainerError):
    """A configuration file (device profile, protocol, scenario) is missing or malformed.

    Parameters
    ----------
    path : str
        The file.
    key : str
        The dotted key that is wrong ("" for the whole file).
    problem : str
        What is wrong with it.
    """

    def __init__(self, path: str, key: str, problem: str) -> None:
        self.path = str(path)
        self.key = key
        self.problem = problem
        where = f"{self.path}: {key}: " if key else f"{self.path}: "
        super().__init__(where + problem)


class DeviceError(BiotrainerError):
    """A device could not be opened, started or read."""


class SourceRefusedError(DeviceError):
    """A device or stream that works but sends what this session cannot use (another rate
    than it announces, a restart with other channels): re-opening it would not help, so a
    reconnecting source ends the session with this message instead of trying again."""


class RecordingError(BiotrainerError):
    """A session folder or recording is missing, unreadable, corrupt or cannot be written."""


#: How much of an offending value a message shows: list items, and characters of a text.
EXCERPT_ITEMS = 3
EXCERPT_CHARS = 40


def excerpt(value: object) -> str:
    """A short ``repr`` of a value for a one-line message, whatever its size.

    A list shows its first items and how many it has (``[1, 1, 1, … (5000 in all)]``), a table
    its first entries, a text its first characters and its length (characters that are not
    printable are escaped, as in ``repr``); anything else is cut to a few dozen characters.

    Parameters
    ----------
    value : object
        The offending value (e.g. from a TOML file).

    Returns
    -------
    str
        A few hundred characters at most.
    """
    if isinstance(value, list | tuple | dict):
        entries = list(value.items() if isinstance(value, dict) else value)
        shown = [
            f"{_short(e[0])}: {_short(e[1])}" if isinstance(value, dict) else _short(e)
            for e in entries[:EXCERPT_ITEMS]
        ]
        if len(entries) > EXCERPT_ITEMS:
            shown.append(f"… ({len(entries)} in all)")
        opening, closing = {list: "[]", tuple: "()", dict: "{}"}.get(type(value), "[]")
        return opening + ", ".join(shown) + closing
    if isinstance(value, str) and len(value) > EXCERPT_CHARS:
        return f"{_cut(repr(value[:EXCERPT_CHARS]))}… ({len(value)} characters)"
    return _short(value)


def _short(value: object) -> str:
    """``repr`` of one item, at most about :data:`EXCERPT_CHARS` characters."""
    if isinstance(value, list | tuple | dict):
        return excerpt(value) if not value else f"a {type(value).__name__} of {len(value)}"
    if isinstance(value, str):
        return _cut(repr(value[:EXCERPT_CHARS])) + ("…" if len(value) > EXCERPT_CHARS else "")
    try:
        return _cut(repr(value))
    except ValueError:  # an integer of more than 4300 digits
        return "a number too long to show"


def _cut(text: str) -> str:
    """``text`` cut to about :data:`EXCERPT_CHARS` characters (a long repr of escapes)."""
    return text if len(text) <= EXCERPT_CHARS + 2 else text[: EXCERPT_CHARS + 1] + "…"
