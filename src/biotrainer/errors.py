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


class RecordingError(BiotrainerError):
    """A session folder or recording is missing, unreadable, corrupt or cannot be written."""
