"""An in-memory Source over rendered arrays, served by a simulated clock (test helper)."""

from __future__ import annotations

import numpy as np

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.source import SourceLayout, SourceState


class MemorySource:
    def __init__(self, layout: SourceLayout, data: dict[str, np.ndarray], clock, speed=1.0):
        self._layout, self.data, self.clock, self.speed = layout, data, clock, speed
        self._state = SourceState.IDLE
        self._pos = {p: 0 for p in data}
        self._t_start = min(float(a[layout.preset(p).timestamp_row, 0]) for p, a in data.items())
        self.silent_after: float | None = None  # data time after which nothing is delivered

    @property
    def state(self):
        return self._state

    @property
    def layout(self):
        return self._layout

    def prepare(self):
        self._state = SourceState.PREPARED

    def start(self):
        self._t0 = self.clock.now()
        self._state = SourceState.STREAMING

    def poll(self) -> Chunk:
        now = self.clock.now()
        if self._state not in (SourceState.STREAMING, SourceState.SILENT):
            return Chunk(received_at=now)
        due = self._t_start + (now - self._t0) * self.speed
        if self.silent_after is not None:
            due = min(due, self._t_start + self.silent_after)
            if (now - self._t0) * self.speed > self.silent_after + 2.0:
                self._state = SourceState.SILENT
        raw = {}
        for p, a in self.data.items():
            ts = a[self._layout.preset(p).timestamp_row]
            k = int(np.searchsorted(ts, due, side="right"))
            raw[p] = a[:, self._pos[p] : k]
            self._pos[p] = max(self._pos[p], k)
        if all(self._pos[p] >= a.shape[1] for p, a in self.data.items()):
            self._state = SourceState.ENDED
        return Chunk(raw=raw, signals=self._layout.split(raw), received_at=now)

    def stop(self):
        self._state = SourceState.STOPPED

    def release(self):
        self._state = SourceState.RELEASED
