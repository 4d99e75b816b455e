"""The one clock of the application.

Every layer that needs "now" takes a :class:`Clock`. Live sessions use :class:`MonotonicClock`;
tests, fast replay and offline analysis use :class:`SimulatedClock`, which only moves when told,
so a 10-minute protocol runs in seconds through the same code.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the time in seconds."""

    def now(self) -> float:
        """Return the current time in seconds."""
        ...


class MonotonicClock:
    """Wall-clock time for live sessions (``time.monotonic``)."""

    def now(self) -> float:
        return time.monotonic()


class EpochClock:
    """Seconds since the Unix epoch (``time.time``): the clock BrainFlow stamps samples with,
    used only to measure how old a sample is when it is painted."""

    def now(self) -> float:
        return time.time()


class SimulatedClock:
    """A clock that moves only when :meth:`advance` or :meth:`set` is called.

    Parameters
    ----------
    start : float
        The initial time in seconds.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (>= 0) and return the new time."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards (advance by {seconds} s)")
        self._now += seconds
        return self._now

    def set(self, t: float) -> None:
        """Jump to time ``t``, which must not be earlier than now."""
        if t < self._now:
            raise ValueError(f"a clock cannot go backwards (from {self._now} to {t})")
        self._now = float(t)
