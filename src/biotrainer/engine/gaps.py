"""Holes in a signal's samples: steps in its timestamps, and samples its device lost on the way.

A device that dropped and came back leaves a step in the timestamps. A Bluetooth headset's lost
packet does not (BrainFlow spreads a packet's samples over the time since the one before), but
the packet numbers the device puts in them say where samples are missing
(:class:`~biotrainer.acquisition.counter.SourceLosses`). These functions join the two for the
engine's heart and breathing signals.
"""

from __future__ import annotations

import math

import numpy as np


def timestamp_gaps(
    stamps: np.ndarray, before: float, max_gap_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Offsets in ``stamps`` that follow a step over ``max_gap_s`` from the sample before (the
    one at ``before``, the newest taken in earlier, when finite), and those steps (s)."""
    steps = np.diff(stamps, prepend=before if math.isfinite(before) else float(stamps[0]))
    at = np.flatnonzero(steps > max_gap_s)
    return at, steps[at]


def split_counted_losses(
    at: np.ndarray, steps: np.ndarray, lost: np.ndarray | None, fs: float, max_gap_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split the samples a heart signal's packet counter says were lost (``lost``, per
    sample, None when not counted) into those to fill and those that make holes.

    A loss of up to ``max_gap_s`` where the timestamps show no hole is filled with missing
    samples (the detector holds over them), so that every beat keeps its time (a 6-sample Muse
    PPG packet lost made the RR interval across it 94 ms short). A longer one is a hole, as a
    step in the timestamps (``at``, ``steps``: :func:`timestamp_gaps`) is: no RR interval spans it.

    Returns
    -------
    fill_at, fill_n : np.ndarray
        Offsets of the samples after each loss to fill, and how many samples to put before each.
    at, steps : np.ndarray
        The holes (offsets and steps, s), those of the timestamps and the long losses.
    """
    none = np.empty(0, dtype=np.int64)
    if lost is None or not lost.any():
        return none, none, at, steps
    short = lost.copy()
    short[at] = 0  # (a hole in the timestamps there already)
    short[short > max_gap_s * fs] = 0
    at, steps = join_counted_holes(at, steps, lost - short, fs)
    fill_at = np.flatnonzero(short)
    return fill_at, short[fill_at], at, steps


def with_missing(
    y: np.ndarray, fill_at: np.ndarray, fill_n: np.ndarray, offsets: list[np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """``y`` with ``fill_n[i]`` missing samples (NaN) put before sample ``fill_at[i]``, and
    each of ``offsets`` (sample counts: a piece's end, a sample after a hole) moved to match."""
    filled = np.insert(y, np.repeat(fill_at, fill_n), np.nan)
    shift = np.concatenate(([0], np.cumsum(fill_n)))
    return filled, [
        np.asarray(o) + shift[np.searchsorted(fill_at, o, side="right")] for o in offsets
    ]


def join_counted_holes(
    at: np.ndarray, steps: np.ndarray, lost: np.ndarray | None, fs: float
) -> tuple[np.ndarray, np.ndarray]:
    """The holes the timestamps show (offsets ``at``, steps ``steps`` in s, see
    :func:`timestamp_gaps`) joined with those the device's packet counter shows (``lost``:
    samples lost before each sample, None when not counted), as offsets and steps.

    A Bluetooth board's timestamps spread a packet's samples over the time since the one before,
    so a lost packet leaves no step in them. Where the timestamps show a hole too, their step is
    kept: an 8-bit per-sample counter cannot show a loss longer than its cycle, and a counter
    that started again (a reconnect) may seem to jump by thousands of packets."""
    if lost is None:
        return at, steps
    k = np.setdiff1d(np.flatnonzero(lost), at)
    if not k.size:
        return at, steps
    joined = np.union1d(at, k)
    out = np.empty(joined.size)
    out[np.searchsorted(joined, at)] = steps
    out[np.searchsorted(joined, k)] = (lost[k] + 1) / fs
    return joined, out
