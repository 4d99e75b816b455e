"""A fake device whose failures a test schedules on a simulated clock (test helper).

:class:`World` is the physical situation (when the device errors, when it goes quiet, when it is
unplugged); every :class:`FakeDevice` opened from it delivers samples on a fixed grid of the
clock (``t = k / fs``) with those timestamps, so a drop leaves a real jump in the recording.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout, SourceState
from biotrainer.errors import DeviceError

FS = 256.0

#: A Muse-like default preset: 4 EEG rows, timestamp row 6, marker row 7.
LAYOUT = SourceLayout(
    device="fake-muse",
    board_id=38,
    presets=(PresetLayout("default", FS, 8, 6, 7),),
    groups=(ChannelGroup("eeg", "default", (1, 2, 3, 4), ("TP9", "AF7", "AF8", "TP10"), "uV"),),
)

#: Another device: a different row layout.
OTHER_LAYOUT = SourceLayout(
    device="fake-other",
    board_id=-1,
    presets=(PresetLayout("default", 250.0, 32, 30, 31),),
    groups=(ChannelGroup("eeg", "default", (1, 2), ("C3", "C4"), "uV"),),
)

#: A chest strap's stream of RR intervals: one sample (ms) per beat, its timestamp row 1.
RR_LAYOUT = SourceLayout(
    device="fake-strap",
    board_id=-100,
    presets=(PresetLayout("default", 0.0, 2, 1),),
    groups=(ChannelGroup("rr", "default", (0,), ("RR",), "ms"),),
)


class FakeStrap:
    """RR intervals (1000 ms), one sample per beat delivered on the clock's multiples of
    ``every_s`` from its start on (a Bluetooth bridge sends them in notifications), none from
    ``stops_at`` on nor inside ``pause`` (the strap was off)."""

    def __init__(
        self,
        clock,
        every_s: float = 1.0,
        stops_at: float = math.inf,
        pause: tuple[float, float] = (math.inf, math.inf),
    ) -> None:
        self.clock, self.every_s, self.stops_at, self.pause = clock, every_s, stops_at, pause
        self.layout = RR_LAYOUT
        self.state = SourceState.IDLE
        self._next = every_s

    def prepare(self) -> None:
        self.state = SourceState.PREPARED

    def start(self) -> None:
        self._next = (math.floor(self.clock.now() / self.every_s) + 1.0) * self.every_s
        self.state = SourceState.STREAMING

    def poll(self) -> Chunk:
        now = self.clock.now()
        beats = []
        while self._next <= now and self._next < self.stops_at:
            if not self.pause[0] <= self._next < self.pause[1]:
                beats.append(self._next)
            self._next += self.every_s
        raw = np.array([[1000.0] * len(beats), beats]).reshape(2, len(beats))
        chunk = {"default": raw}
        return Chunk(raw=chunk, signals=RR_LAYOUT.split(chunk), received_at=now)

    def stop(self) -> None:
        self.state = SourceState.STOPPED

    def release(self) -> None:
        self.state = SourceState.RELEASED


@dataclass
class World:
    """When things go wrong, in clock seconds (half-open windows ``[from, until)``).

    ``broken``: a device opened before the window raises on every poll from its start on, and
    opening fails inside the window. ``mute``: devices deliver nothing inside the window; a device
    opened before it stays mute after it (it must be re-opened) when ``mute_sticks``.
    ``ends_at``: the data stop for good and sources report ENDED (a playback file).
    ``poll_errors``: every device raises on every poll inside the window, however recently it
    was opened (it opens fine, then fails at once). ``slow_reopen_s``: a device opened after the
    first sends its first sample only this long after it started.
    """

    clock: object
    broken: tuple[float, float] | None = None
    mute: tuple[float, float] | None = None
    mute_sticks: bool = True
    ends_at: float | None = None
    layout_after_reopen: SourceLayout | None = None
    poll_errors: tuple[float, float] | None = None
    slow_reopen_s: float = 0.0
    first_device: FakeDevice | None = None
    opened: list[float] = field(default_factory=list)
    failed_opens: list[float] = field(default_factory=list)

    def open(self) -> FakeDevice:
        layout = LAYOUT
        if self.layout_after_reopen is not None and self.opened:
            layout = self.layout_after_reopen
        device = FakeDevice(self, layout)
        if self.first_device is None:
            self.first_device = device
        return device

    @staticmethod
    def inside(window: tuple[float, float] | None, t: float) -> bool:
        return window is not None and window[0] <= t < window[1]


class FakeDevice:
    def __init__(self, world: World, layout: SourceLayout) -> None:
        self.world = world
        self.clock = world.clock
        self._layout = layout
        self._state = SourceState.IDLE
        self._next_k = 0
        self.opened_at = math.nan

    @property
    def state(self) -> SourceState:
        return self._state

    @property
    def layout(self) -> SourceLayout:
        return self._layout

    def prepare(self) -> None:
        now = self.clock.now()
        if World.inside(self.world.broken, now):
            self.world.failed_opens.append(now)
            raise DeviceError("could not open the connection to the fake headset")
        self.world.opened.append(now)
        self.opened_at = now
        self._state = SourceState.PREPARED

    def start(self) -> None:
        self._next_k = math.floor(self.clock.now() * FS) + 1
        self.started_at = self.clock.now()
        self._state = SourceState.STREAMING

    def _mute_at(self, t: float) -> bool:
        w = self.world
        if w.slow_reopen_s and len(w.opened) > 1 and t < self.started_at + w.slow_reopen_s:
            return self is not w.first_device
        if World.inside(w.mute, t):
            return True
        return bool(w.mute and w.mute_sticks and self.opened_at < w.mute[0] <= t)

    def poll(self) -> Chunk:
        now = self.clock.now()
        w = self.world
        p = self._layout.presets[0]
        if self._state not in (SourceState.STREAMING, SourceState.SILENT, SourceState.STOPPED):
            return self._layout.empty_chunk(now)
        if (w.broken and self.opened_at < w.broken[0] <= now) or World.inside(w.poll_errors, now):
            raise DeviceError("BrainFlow could not read the fake headset (BOARD_NOT_READY)")
        k_end = math.floor(now * p.fs) + 1
        if w.ends_at is not None:
            k_end = min(k_end, math.floor(w.ends_at * p.fs) + 1)
        ks = np.arange(self._next_k, max(k_end, self._next_k))
        self._next_k = max(self._next_k, k_end)
        t = ks / p.fs
        keep = np.array([not self._mute_at(x) for x in t], dtype=bool)
        ks, t = ks[keep], t[keep]
        raw = np.zeros((p.num_rows, t.size))
        raw[0] = ks % 256
        for i, row in enumerate(self._layout.groups[0].rows):
            # 10 Hz alpha of 10 uV on pink-ish noise, deterministic per sample index
            noise = np.sin(ks * (0.7 + i)) * 3 + np.sin(ks * 2.3 + i) * 2
            raw[row] = 10 * np.sin(2 * np.pi * 10 * t + i) + noise
        raw[p.timestamp_row] = t
        if w.ends_at is not None and now >= w.ends_at:
            self._state = SourceState.ENDED
        chunk = {"default": raw}
        return Chunk(raw=chunk, signals=self._layout.split(chunk), received_at=now)

    def stop(self) -> None:
        self._state = SourceState.STOPPED

    def release(self) -> None:
        self._state = SourceState.RELEASED


def pump(source, clock, until: float, step: float = 0.05, on_poll=None) -> list[Chunk]:
    """Poll ``source`` every ``step`` s of clock time until ``until``; return the chunks."""
    chunks = []
    while clock.now() < until - 1e-9:
        clock.advance(step)
        chunk = source.poll()
        chunks.append(chunk)
        if on_poll is not None:
            on_poll(clock.now(), source, chunk)
    return chunks
