"""The order of a raw file's timestamps: clock steps back, and lines out of recording order.

BrainFlow stamps samples with the computer's clock. When that clock is set back during a
recording (an NTP or manual correction), a raw file's timestamps *step back*: one line lies
well before the line just before it, and the timestamps increase again from there. The samples
are sound and in recording order, so every command keeps them and says where the step is, in the
one line :meth:`TimestampScan.note` makes. Timestamps that fall behind earlier ones without such
a step (a file whose lines were reversed) are *out of order*: replays refuse the file, an export
keeps every sample and says so.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from biotrainer.errors import RecordingError

#: How far (s) a timestamp may fall behind an earlier one of the same file before it counts as a
#: step back of the clock or as out of order (BrainFlow's timestamps of Bluetooth devices jitter
#: by a few milliseconds).
MAX_STEP_BACK_S = 1.0

#: What every note about a file's timestamps ends with: no sample is dropped or moved.
KEPT = "every sample is kept in recorded order, times near it may be off"


class TimestampScan:
    """Follow the timestamps of one raw file in file order, block by block.

    A *step back* is a line more than :data:`MAX_STEP_BACK_S` before the line just before it.
    With every step back undone, a line still more than :data:`MAX_STEP_BACK_S` before an
    earlier line is *out of order*.

    Parameters
    ----------
    path : path-like
        The file (for the messages).
    in_order : bool
        True (replay, import): a line out of order raises RecordingError. False (export, which
        keeps every sample): it is only noted (:meth:`notes`).

    Attributes
    ----------
    lines : int
        Lines seen so far.
    first, last : float
        Earliest and latest timestamp seen (inf and -inf before any).
    steps : int
        Steps back seen.
    first_step : tuple of (int, float) or None
        Line and size (s) of the first step back.
    largest_step_s : float
        Size of the largest step back (0 if none).
    disorder : tuple of (int, float) or None
        The first line out of order, and how far (s) it lies before an earlier line.
    """

    def __init__(self, path: str | os.PathLike[str], *, in_order: bool = True) -> None:
        self.path = Path(path)
        self.in_order = in_order
        self.lines = 0
        self.first = math.inf
        self.last = -math.inf
        self.steps = 0
        self.first_step: tuple[int, float] | None = None
        self.largest_step_s = 0.0
        self.disorder: tuple[int, float] | None = None
        self._prev = math.nan  # timestamp of the last line seen
        self._offset = 0.0  # sum of the steps back so far (undoes them)
        self._high = -math.inf  # latest timestamp seen, steps back undone

    def add(self, ts: np.ndarray, first_line: int | None = None) -> None:
        """Take the timestamps of the next lines.

        Parameters
        ----------
        ts : np.ndarray
            Timestamps (s) of consecutive lines, following those already added.
        first_line : int, optional
            Line number of ``ts[0]`` in the file (default: the line after those added).

        Raises
        ------
        RecordingError
            Naming the file and line when a timestamp is not a finite number, or (``in_order``)
            a line is out of order.
        """
        ts = np.asarray(ts, dtype=np.float64)
        first_line = self.lines + 1 if first_line is None else first_line
        if ts.size == 0:
            return
        bad = ~np.isfinite(ts)
        if bad.any():
            line = first_line + int(np.argmax(bad))
            raise RecordingError(
                f"{self.path} is corrupt: the timestamp at line {line} is not a number "
                f"({ts[bad][0]})"
            )
        drop = np.concatenate(([self._prev], ts[:-1])) - ts  # NaN before the file's first line
        step = drop > MAX_STEP_BACK_S
        undo = np.cumsum(np.where(step, drop, 0.0))
        undone = ts + self._offset + undo
        if step.any():
            if self.first_step is None:
                k = int(np.argmax(step))
                self.first_step = (first_line + k, float(drop[k]))
            self.steps += int(step.sum())
            self.largest_step_s = max(self.largest_step_s, float(drop[step].max()))
        high = np.maximum.accumulate(np.concatenate(([self._high], undone[:-1])))
        late = high - undone > MAX_STEP_BACK_S
        if late.any() and self.disorder is None:
            k = int(np.argmax(late))
            self.disorder = (first_line + k, float(high[k] - undone[k]))
            if self.in_order:
                raise RecordingError(
                    f"{self.path} is corrupt: its timestamps are not increasing "
                    f"{self._disorder_text()}; biotrainer export keeps every sample"
                )
        self.lines += int(ts.size)
        self.first = min(self.first, float(ts.min()))
        self.last = max(self.last, float(ts.max()))
        self._prev = float(ts[-1])
        self._offset += float(undo[-1])
        self._high = max(float(high[-1]), float(undone[-1]))

    def note(self) -> str | None:
        """The one line said about the file's steps back (None if it has none)."""
        if self.first_step is None:
            return None
        line, back = self.first_step
        more = ""
        if self.steps > 1:
            others = self.steps - 1
            more = (
                f" and at {others} more line{'s' if others > 1 else ''}, by up to "
                f"{self.largest_step_s:.1f} s"
            )
        return (
            f"{self.path.name}: the timestamps go back by {back:.1f} s at line {line} (a clock "
            f"change?){more}; {KEPT}"
        )

    def notes(self) -> list[str]:
        """Every note about the file: its steps back, and (not ``in_order``) the first line
        out of order."""
        out = [n for n in (self.note(),) if n is not None]
        if self.disorder is not None:
            disorder = f"the timestamps are not increasing {self._disorder_text()}"
            out.append(f"{self.path.name}: {disorder}; {KEPT}")
        return out

    def _disorder_text(self) -> str:
        line, behind = self.disorder  # type: ignore[misc]
        return f"(line {line} is {behind:.3f} s earlier than a line before it)"
