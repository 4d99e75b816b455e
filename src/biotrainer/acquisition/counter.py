"""Samples a device lost on the way, from the sequence number it puts in its packets.

A Bluetooth headset drops packets now and then (a Muse one in tens to hundreds, more with the
head turned away from the receiver). BrainFlow passes on what arrives and stamps it on the host,
spreading a packet's samples evenly since the one before (checked in BrainFlow's Muse code), so
a lost packet leaves no step in the timestamps: the samples after it simply come early by its
length. Counted by sample, a beat after the loss is that much early and its RR interval that
much short (47 ms for one 12-sample Muse packet at 256 Hz), a difference RMSSD squares.

Many boards number their packets, and BrainFlow puts the number in the preset's package-number
row. Where the number comes from the device itself (not counted by BrainFlow on the host), a jump
in it says how many packets did not arrive. A device profile declares how to read it
(``[counters.<preset>]``, :class:`PacketCounter`); :class:`LossCounter` reads the row as it
streams and says where samples are missing and how many.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from biotrainer.limits import GAP_THRESHOLD_S

#: Most samples one package number may be shared by (a profile or session.json asking more is
#: refused).
MAX_SAMPLES_PER_VALUE = 4096

#: Largest cycle a package number may have (a 32-bit counter's).
MAX_MODULO = 1 << 32

#: Largest share of a counter's cycle a jump may cover and still be taken as packets lost: a
#: larger one is the counter going back or starting again (a reconnect), not a loss.
MAX_JUMP_SHARE = 0.5


@dataclass(frozen=True)
class PacketCounter:
    """How a preset's package-number row counts what the device sent.

    Attributes
    ----------
    row : int
        The preset's package-number row.
    samples_per_value : int
        Consecutive samples that share one value (the samples of one packet; 1 when the device
        numbers every sample).
    step : int
        What the value goes up by from one packet (or sample) to the next.
    modulo : int
        The value wraps to 0 on reaching this (256 for an 8-bit counter).
    """

    row: int
    samples_per_value: int = 1
    step: int = 1
    modulo: int = 256

    def __post_init__(self) -> None:
        if not 1 <= self.samples_per_value <= MAX_SAMPLES_PER_VALUE:
            raise ValueError(
                f"samples_per_value is {self.samples_per_value}, not in 1..{MAX_SAMPLES_PER_VALUE}"
            )
        if not 2 <= self.modulo <= MAX_MODULO:
            raise ValueError(f"modulo is {self.modulo}, not in 2..{MAX_MODULO}")
        if not 1 <= self.step < self.modulo:
            raise ValueError(f"step {self.step} is not in 1..modulo-1 ({self.modulo - 1})")

    def to_dict(self) -> dict[str, int]:
        """The rule as saved in ``session.json``."""
        return {
            "row": self.row,
            "samples_per_value": self.samples_per_value,
            "step": self.step,
            "modulo": self.modulo,
        }


@dataclass(frozen=True)
class Losses:
    """Where samples are missing in a block, and how many.

    Attributes
    ----------
    offsets : np.ndarray
        Indices (int64, ascending) of the block's samples that follow missing ones.
    counts : np.ndarray
        Samples missing just before each of ``offsets`` (int64, each at least 1).
    """

    offsets: np.ndarray
    counts: np.ndarray

    @property
    def total(self) -> int:
        """Samples missing in all."""
        return int(self.counts.sum())


NO_LOSSES = Losses(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))


class LossCounter:
    """Read a preset's package numbers as they stream and find the samples that did not arrive.

    Parameters
    ----------
    counter : PacketCounter
        How the preset's package-number row counts.

    Notes
    -----
    From the first sample of value ``a`` to the first of the next value ``b``, the device sent
    ``((b - a) mod modulo) / step`` packets of ``samples_per_value`` samples; those of them not
    read (the samples read with value ``a`` taken off) were lost. So a Muse packet lost between
    two others is 12 samples, and a Cyton + Daisy row that repeats the number before it (its
    even radio packet lost: BrainFlow still makes the row, with the old number) is no loss, nor
    is the step of 4 after it. A change that is not a whole number of steps, or covers more
    than :data:`MAX_JUMP_SHARE` of the cycle (the counter went back, or started again after a
    reconnect), is not taken as a loss; nor is anything at a value that is not a whole number
    in ``0..modulo - 1`` (after which counting starts again). The first run of values after a
    start is taken as whole (it may have begun mid-packet). A loss longer than a whole cycle of
    the counter cannot be seen in it (an 8-bit per-sample counter at 250 Hz cycles in about a
    second): the timestamps show such a hole.
    """

    def __init__(self, counter: PacketCounter) -> None:
        self.counter = counter
        self._last: int | None = None  # the value of the run the last push ended in
        self._run = 0  # samples read of that run
        self._whole = False  # whether that run began right after another value (not a start)
        #: Samples found missing so far.
        self.lost = 0
        #: Samples read so far.
        self.seen = 0

    def restart(self) -> None:
        """Take the next package number as the first (no loss is counted before it)."""
        self._last, self._run, self._whole = None, 0, False

    def push(self, values: np.ndarray) -> Losses:
        """Read the next package numbers ``values`` (the row, shape ``(n,)``) and return where
        samples are missing in them (an offset 0 means before the first of them)."""
        x = np.asarray(values, dtype=np.float64).ravel()
        n = x.size
        if n == 0:
            return NO_LOSSES
        self.seen += int(n)
        c = self.counter
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(x) & (x >= 0) & (x < c.modulo) & (x == np.floor(x))
        v = np.where(valid, x, -1.0).astype(np.int64)
        # where a run of one value starts (a value that is not valid is a run of its own)
        new = np.empty(n, dtype=bool)
        new[0] = self._last is None or not valid[0] or v[0] != self._last
        new[1:] = (v[1:] != v[:-1]) | ~valid[1:] | ~valid[:-1]
        starts = np.flatnonzero(new)
        carried = self._run + (int(starts[0]) if starts.size else n)  # the last push's run
        if not starts.size:
            self._run = carried
            return NO_LOSSES
        # each run's predecessor (the run before it, or the last push's for the first): its
        # value, whether known, its length, whether it began right after another value
        known = np.empty(starts.size, dtype=bool)
        known[0] = starts[0] > 0 or self._last is not None
        known[1:] = valid[starts[1:] - 1]
        last_v = -1 if self._last is None else self._last
        before_v = np.where(starts > 0, v[np.maximum(starts - 1, 0)], last_v)
        before_len = np.diff(starts, prepend=0)
        before_len[0] = carried
        whole = np.empty(starts.size, dtype=bool)
        whole[0] = self._whole
        whole[1:] = known[:-1] & valid[starts[:-1]]
        # the state for the next push: the run the values end in
        self._last = int(v[-1]) if valid[-1] else None
        self._run = n - int(starts[-1]) if valid[-1] else 0
        self._whole = bool(valid[-1] and known[-1])
        ok = known & valid[starts]
        if not ok.any():
            return NO_LOSSES
        at = starts[ok]
        jump = (v[at] - before_v[ok]) % c.modulo
        steps_ok = (jump % c.step == 0) & (jump > 0) & (jump <= MAX_JUMP_SHARE * c.modulo)
        read = np.where(whole[ok], before_len[ok], c.samples_per_value)
        missed = (jump // c.step) * c.samples_per_value - read
        lost = steps_ok & (missed > 0)
        if not lost.any():
            return NO_LOSSES
        counts = missed[lost].astype(np.int64)
        self.lost += int(counts.sum())
        return Losses(at[lost].astype(np.int64), counts)


#: Time (s) a loss may seem to take beyond what the timestamps around it leave: a Bluetooth
#: board's packets come in bursts, stamped when they arrive.
SLACK_S = 1.0

#: Seconds of samples over which the share lost is watched, and the share above which it is
#: said (:meth:`SourceLosses.take_notes`): a headset far from its receiver.
WATCH_S = 30.0
SAY_SHARE = 0.02

#: Seconds of samples after a said loss before another is said.
SAY_AGAIN_S = 300.0

#: Seconds of a preset's timestamps after which its counter is checked against them.
CHECK_AFTER_S = 20.0

#: Share of the samples the timestamps allow by which the samples received and counted lost may
#: exceed them before the counter is not believed (a device's clock may run a little fast).
CHECK_TOLERANCE = 0.03


#: How the note on what a session lost in all begins (:meth:`SourceLosses.summary`).
SUMMARY_START = "over the session the device lost"


def percent(share: float) -> str:
    """A share lost as said: "3.2 %", "under 0.1 %" (not "0.0 %" for a few samples)."""
    return f"{100 * share:.1f} %" if share >= 0.0005 else "under 0.1 %"


def is_passing_loss_note(text: str) -> bool:
    """Whether ``text`` is a note on a stretch of a session's link losing packets (said along
    the way: "the device lost 4 % of its PPG samples on the way over the last 30 s ..."), which
    the session's total (:data:`SUMMARY_START`) sums up."""
    return text.startswith("the device lost ") and " on the way over the last " in text


@dataclass
class _Counted:
    """What :class:`SourceLosses` keeps of one counted preset."""

    preset: Any  # its PresetLayout (timestamp row, rate, counter rule)
    counter: LossCounter
    roles: list[str]  # the roles it carries, as said ("EEG", "PPG")
    first: float = math.nan  # its first and newest timestamps so far
    last: float = math.nan
    watched: int = 0  # samples received and lost in the stretch watched now
    watched_lost: int = 0
    since_said: float = math.inf  # samples since its losses were last said
    recent: float = 0.0  # the share lost over the last stretch watched
    not_due: list[tuple[float, int]] = field(default_factory=list)  # (due, samples): losses
    due: int = 0  # samples lost whose time the timestamps have reached
    believed: bool = True

    @property
    def span_s(self) -> float:
        """Seconds its timestamps span so far (0 before any)."""
        return self.last - self.first if math.isfinite(self.first) else 0.0


class SourceLosses:
    """The samples each counted preset of a source lost, found chunk by chunk.

    Parameters
    ----------
    presets : iterable of PresetLayout
        The source's presets; those with a :class:`PacketCounter` are read.
    groups : iterable of ChannelGroup
        The source's channel groups (each role's preset).

    Notes
    -----
    A counter that finds more samples lost than the preset's timestamps leave room for (the
    samples received and lost, over the time they span at the preset's rate, more than
    :data:`CHECK_TOLERANCE` over, once they span :data:`CHECK_AFTER_S`; a loss is held against
    them once they reach past the time it took) is not believed from then on: the profile's
    rule does not fit what the device sends. Its preset is then counted no more and
    :meth:`take_notes` says so once.
    """

    def __init__(self, presets, groups) -> None:
        groups = list(groups)
        self._counted = {
            p.preset: _Counted(
                p,
                LossCounter(p.counter),
                [g.role.upper() for g in groups if g.preset == p.preset] or [p.preset],
            )
            for p in presets
            if p.counter
        }
        self._roles = {g.role: g.preset for g in groups if g.preset in self._counted}
        self._notes: list[str] = []

    @property
    def counters(self) -> dict[str, LossCounter]:
        """The loss counter of each counted preset."""
        return {name: c.counter for name, c in self._counted.items()}

    @property
    def disbelieved(self) -> set[str]:
        """Presets whose counter was found not to fit their timestamps."""
        return {name for name, c in self._counted.items() if not c.believed}

    @property
    def counted(self) -> bool:
        """Whether any preset is counted."""
        return bool(self._counted)

    def push(self, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Read the package numbers of the next raw arrays (preset -> rows x n); return, for
        each role of a counted preset, the samples lost just before each of its samples
        (int64, shape ``(n,)``, mostly zeros)."""
        per_preset: dict[str, np.ndarray] = {}
        for preset in self._counted:
            data = raw.get(preset)
            before = None if data is None else self.push_preset(preset, data)
            if before is not None:
                per_preset[preset] = before
        return {role: per_preset[p] for role, p in self._roles.items() if p in per_preset}

    def push_preset(self, preset: str, data: np.ndarray) -> np.ndarray | None:
        """Read the package numbers of preset ``preset``'s next raw array (rows x n); return the
        samples lost just before each of its samples (int64, shape ``(n,)``), None when the
        preset is not counted, its counter is not believed, or ``data`` is empty."""
        c = self._counted.get(preset)
        if c is None or data.shape[1] == 0 or not c.believed:
            return None
        p = c.preset
        stamps = data[p.timestamp_row]
        losses = self._timed(c, c.counter.push(data[p.counter.row]), stamps)
        c.not_due += [
            (float(stamps[k]) + n / p.fs + SLACK_S, int(n))
            for k, n in zip(losses.offsets.tolist(), losses.counts.tolist(), strict=True)
        ]
        if not self._fits(c, stamps):
            return None
        before = np.zeros(data.shape[1], dtype=np.int64)
        before[losses.offsets] = losses.counts
        self._watch_share(c, data.shape[1], losses.total)
        return before

    def _watch_share(self, c: _Counted, received: int, lost: int) -> None:
        """Say when more than :data:`SAY_SHARE` of a preset's samples were lost over the last
        :data:`WATCH_S` (at most once in :data:`SAY_AGAIN_S`)."""
        fs = c.preset.fs
        c.watched += received + lost
        c.watched_lost += lost
        c.since_said += received + lost
        if c.watched < WATCH_S * fs or c.span_s < CHECK_AFTER_S:  # (or not yet checked)
            return
        sent, c.recent = c.watched, c.watched_lost / c.watched
        c.watched = c.watched_lost = 0
        if c.recent > SAY_SHARE and c.since_said >= SAY_AGAIN_S * fs:
            c.since_said = 0
            self._notes.append(
                f"the device lost {100 * c.recent:.0f} % of its {' and '.join(c.roles)} samples "
                f"on the way over the last {sent / fs:.0f} s (a wireless link: bring the "
                "receiver closer); the metrics keep their time over them"
            )

    def _timed(self, c: _Counted, losses: Losses, stamps: np.ndarray) -> Losses:
        """``losses`` without those the timestamps leave no time for, or show themselves.

        A Bluetooth board spreads the samples of the packet after a loss over the time since
        the packet before, so the step to the first of them, times the samples of a packet, is
        the time the loss took: a loss longer than that (and :data:`SLACK_S`) is none (a
        counter that started again after a reconnect may seem to jump by thousands of
        packets). Judged on the first sample after the loss only, so however the samples come
        in chunks (live, or a replay cut by time) the same losses stand. A loss after a step
        in the timestamps over :data:`~biotrainer.limits.GAP_THRESHOLD_S` is a gap they show (a
        drop and a reconnect), not samples lost on the way."""
        if not losses.offsets.size:
            return losses
        prev = np.concatenate(([c.last], stamps))[losses.offsets]
        step = stamps[losses.offsets] - prev
        room = step * c.preset.counter.samples_per_value + SLACK_S
        with np.errstate(invalid="ignore"):  # (NaN: no sample before, believed)
            ok = ~(losses.counts / c.preset.fs > room) & ~(step > GAP_THRESHOLD_S)
        if ok.all():
            return losses
        c.counter.lost -= int(losses.counts[~ok].sum())
        return Losses(losses.offsets[ok], losses.counts[ok])

    def _fits(self, c: _Counted, stamps: np.ndarray) -> bool:
        """Whether the counter of ``c`` still fits its timestamps (see the class notes)."""
        finite = stamps[np.isfinite(stamps)]
        if finite.size:
            if not math.isfinite(c.first):
                c.first = float(finite[0])
            c.last = float(finite[-1])
        while c.not_due and c.not_due[0][0] <= c.last:  # (their time is stamped now)
            c.due += c.not_due.pop(0)[1]
        if c.span_s < CHECK_AFTER_S:
            return True
        per = c.preset.counter.samples_per_value
        room = c.span_s * c.preset.fs * (1.0 + CHECK_TOLERANCE)
        if c.counter.seen + c.due <= room + 2 * per:
            return True
        c.believed = False
        self._notes.append(
            f"the device's packet numbers ({c.preset.preset} preset) count {c.counter.lost} "
            f"samples lost in {c.span_s:.0f} s, more than its timing allows: samples lost on "
            "the way are not counted for it"
        )
        return False

    def losing(self) -> str:
        """What the link is losing now, where over :data:`SAY_SHARE` of a preset's samples
        were lost over the last watched stretch ("" when none): "losing samples (EEG 3 %,
        PPG 4 %)"."""
        parts = [
            f"{'/'.join(c.roles)} {100 * c.recent:.0f} %"
            for c in self._counted.values()
            if c.recent > SAY_SHARE and c.believed
        ]
        return f"losing samples ({', '.join(parts)})" if parts else ""

    def summary(self) -> str | None:
        """What the device lost on the way so far, per counted preset that lost any (None when
        none did): "the device lost 3.2 % of its EEG samples (6336) and 2.6 % of its PPG
        samples (1320) on the way", for the end of a session."""
        parts = [
            f"{percent(self.share_lost(name))} of its {' and '.join(c.roles)} samples "
            f"({c.counter.lost})"
            for name, c in self._counted.items()
            if c.counter.lost and c.believed
        ]
        return f"{SUMMARY_START} {' and '.join(parts)} on the way" if parts else None

    def closing_notes(self) -> list[str]:
        """What is left to say at the end: the notes not yet taken, then the total
        (:meth:`summary`), if any was lost."""
        total = self.summary()
        return [*self.take_notes(), *([total] if total else [])]

    def restart(self) -> None:
        """Count afresh from the next package number (the device was opened again)."""
        for c in self._counted.values():
            c.counter.restart()

    def take_notes(self) -> list[str]:
        """Return and forget what was found since the previous call (a counter not believed)."""
        notes, self._notes = self._notes, []
        return notes

    def share_lost(self, preset: str) -> float:
        """The share of the samples preset ``preset`` sent that were lost so far (NaN before
        any, when it is not counted, or when its counter was not believed)."""
        c = self._counted.get(preset)
        if c is None or c.counter.seen == 0 or not c.believed:
            return float("nan")
        return c.counter.lost / (c.counter.lost + c.counter.seen)
