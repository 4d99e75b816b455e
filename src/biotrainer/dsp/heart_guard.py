"""Off-scale samples of a heart signal: a sensor that comes off, slips or is knocked.

A PPG finger clip taken off drops its raw counts from some 200,000 to 1,400 in a sample; an ECG
electrode knocked throws the trace far beyond its QRS. The pulse and R-peak detectors follow
such a stretch: the band-pass rings after the step and the adaptive thresholds relearn on what
is left, so they report beats where there are none (a finger-off of 7.5 s in a meditation
recording gave nine, and RMSSD three times too high for the minute after).

:class:`HeartSignalGuard` judges every sample against the signal's own recent scale, the
same in any chunking: the spread (max - min) of each 1-s block and the level (median) of the
latest block judged normal. A sample further than :data:`OFF_SCALE` times the median spread of
the last :data:`REFERENCE_BLOCKS` normal blocks from that level is off-scale; it is given as
missing (NaN), which the detectors hold at the last value, so they see a still signal and
report no beat. Blocks with an off-scale sample do not enter the reference, nor do quiet ones
(a spread under a quarter of the reference's: an electrode off with only noise on the trace,
which stays normal). When the last
:data:`REBASE_S` of them in a row agree with each other (levels within 4 of their median
spreads, spreads within a factor 4) and spread at least a quarter of the reference, the signal
has settled at another scale (a sensor put back with another gain or level, a sensor put on
after the stream started) and they become the reference. A sensor lying off -- a level
somewhere else with only noise on it -- is never taken for the signal, however long it lasts,
and the samples are normal again as soon as the sensor is back (a gain more than 4 times
smaller than before is taken for that too, and stays off-scale).

On every ECG and PPG at hand (MIT-BIH 100-800, both leads; the resting ECGs and PPG; the
camera PPG of 7 of 11 subjects) no sample is off-scale; the meditation recording's finger-off
(and a 2-s dip of its level before it, with one real pulse), the movement of 3 camera subjects
and 0.3 s of a fourth are.
"""

from __future__ import annotations

import numpy as np

from biotrainer.dsp.filters import check_fs

__all__ = ["OFF_SCALE", "REBASE_S", "REFERENCE_BLOCKS", "HeartSignalGuard"]

#: A sample further than this many median block spreads from the level is off-scale.
OFF_SCALE = 4.0
#: Normal 1-s blocks whose spreads make the reference (the first ones are not judged).
REFERENCE_BLOCKS = 10
#: Seconds of agreeing blocks with off-scale samples after which they are the reference.
REBASE_S = 5.0


class HeartSignalGuard:
    """Streaming judge of a heart signal's samples against its own recent scale.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.

    Notes
    -----
    :meth:`push` returns the samples with the off-scale ones set to NaN, and the offsets (in
    the chunk) of the first normal sample after each off-scale stretch, where the beats
    before and after it must not be joined into an interval. Missing samples (NaN, inf) are
    passed on as they are and not judged. Chunked pushes give the output of one push.
    """

    def __init__(self, fs: float) -> None:
        self.fs = check_fs(fs)
        self._block = max(1, int(round(self.fs)))
        self._rebase_blocks = max(1, int(round(REBASE_S * self.fs / self._block)))
        self.reset()

    def reset(self) -> None:
        """Forget the reference; the next chunk starts a new stream."""
        self._spreads: list[float] = []  # of the last REFERENCE_BLOCKS normal blocks
        self._level = np.nan  # median of the latest normal block
        self._limit = np.inf  # OFF_SCALE x the median spread (inf until there are enough)
        self._pending: list[np.ndarray] = []  # the current block's samples so far
        self._pending_n = 0
        self._pending_off = False  # the current block holds an off-scale sample
        self._off_run: list[tuple[float, float]] = []  # (spread, level) of such blocks in a row
        self._in_off = False  # the latest judged sample was off-scale

    @property
    def off(self) -> bool:
        """True while the latest sample judged was off-scale."""
        return self._in_off

    def push(self, chunk: np.ndarray) -> tuple[np.ndarray, list[int]]:
        """Judge the next samples.

        Parameters
        ----------
        chunk : array_like
            The next samples, shape ``(n,)``.

        Returns
        -------
        samples : np.ndarray
            ``chunk`` as float64 with its off-scale samples set to NaN (a new array).
        restarts : list of int
            Offsets in ``chunk`` of the first normal sample after an off-scale stretch.
        """
        x = np.array(chunk, dtype=np.float64).ravel()
        restarts: list[int] = []
        pos = 0
        while pos < x.size:
            stop = min(x.size, pos + self._block - self._pending_n)
            part = x[pos:stop]  # (a view of x)
            self._pending_n += part.size
            with np.errstate(invalid="ignore"):
                off = np.abs(part - self._level) > self._limit  # (NaN compares False)
            if off.any() or self._in_off:
                self._pending.append(part.copy())  # (the block's statistics: as received)
                self._pending_off |= bool(off.any())
                # the first normal sample after an off-scale one (judged samples in order)
                judged = np.isfinite(part)
                states = off[judged]
                if states.size:
                    idx = np.flatnonzero(judged)
                    was = np.concatenate(([self._in_off], states[:-1]))
                    restarts += (pos + idx[~states & was]).tolist()
                    self._in_off = bool(states[-1])
                part[off] = np.nan
            else:
                self._pending.append(part)  # (not written to below)
            pos = stop
            if self._pending_n == self._block:
                self._close_block()
        # (what waits for the next chunk must not change with the array handed out)
        self._pending = [piece.copy() for piece in self._pending]
        return x, restarts

    def _close_block(self) -> None:
        """Take the completed block into the reference (or count it as off-scale)."""
        block = self._pending[0] if len(self._pending) == 1 else np.concatenate(self._pending)
        self._pending, self._pending_n = [], 0
        finite = block if np.isfinite(block).all() else block[np.isfinite(block)]
        if self._pending_off:
            self._pending_off = False
            if finite.size:
                stats = (float(np.ptp(finite)), _median(finite))
                self._off_run = [*self._off_run[-(self._rebase_blocks - 1) :], stats]
            if self._settled_elsewhere():
                # the signal has settled at another scale: it is the signal now
                spreads = [spread for spread, _ in self._off_run]
                self._spreads = [float(np.median(spreads))] * REFERENCE_BLOCKS
                self._level = self._off_run[-1][1]
                self._off_run = []
                self._set_limit()
            return
        self._off_run = []
        spread = float(np.ptp(finite)) if finite.size else 0.0
        if spread == 0 or spread * OFF_SCALE * OFF_SCALE < self._limit < np.inf:
            # a still signal (a sensor not on yet) or a quiet one (an electrode off with only
            # the amplifier's noise on the trace) sets no scale: learnt from such blocks, the
            # scale shrank to the noise's and the signal coming back was off-scale for 5 s,
            # cut into pieces the detector took for beats at twice the rate
            return
        self._spreads = [*self._spreads[-(REFERENCE_BLOCKS - 1) :], spread]
        self._level = _median(finite)
        self._set_limit()

    def _settled_elsewhere(self) -> bool:
        """The last REBASE_S of off-scale blocks agree with each other (levels within
        OFF_SCALE of their median spreads, spreads within a factor OFF_SCALE) and are at
        least a quarter of the reference's spread: a signal, not a sensor lying off."""
        if len(self._off_run) < self._rebase_blocks:
            return False
        spreads = [spread for spread, _ in self._off_run]
        levels = [level for _, level in self._off_run]
        typical = float(np.median(spreads))
        return (
            min(spreads) > 0
            and max(spreads) <= OFF_SCALE * min(spreads)
            and max(levels) - min(levels) <= OFF_SCALE * typical
            and OFF_SCALE * typical >= self._limit / OFF_SCALE
        )

    def _set_limit(self) -> None:
        if len(self._spreads) >= REFERENCE_BLOCKS:
            ranked = sorted(self._spreads)  # (ten numbers: plain Python is quicker)
            mid = len(ranked) // 2
            self._limit = OFF_SCALE * (ranked[mid] + ranked[-mid - 1]) / 2.0


def _median(x: np.ndarray) -> float:
    """``np.median`` of a 1-D array of finite numbers (one partition, without its checks: it
    runs for every second of a heart signal)."""
    n = x.size
    k = n // 2
    if n % 2:
        return float(np.partition(x, k)[k])
    lo, hi = np.partition(x, (k - 1, k))[k - 1 : k + 1]
    return float((lo + hi) / 2.0)
