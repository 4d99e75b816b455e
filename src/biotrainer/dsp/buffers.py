"""A preallocated ring buffer of multichannel samples (the last N samples per channel)."""

from __future__ import annotations

import numpy as np


class RingBuffer:
    """A preallocated buffer keeping the latest ``capacity`` samples of ``n_channels`` rows.

    Parameters
    ----------
    n_channels : int
        Rows of every pushed block.
    capacity : int
        Samples kept per row.
    """

    def __init__(self, n_channels: int, capacity: int) -> None:
        if n_channels < 1 or capacity < 1:
            raise ValueError(
                f"a ring buffer needs >= 1 channel and >= 1 sample, got {n_channels} x {capacity}"
            )
        self._data = np.zeros((n_channels, capacity), dtype=np.float64)
        self._head = 0  # next write position
        self._size = 0
        self.total = 0  #: samples pushed since creation (per row)

    @property
    def n_channels(self) -> int:
        return int(self._data.shape[0])

    @property
    def capacity(self) -> int:
        return int(self._data.shape[1])

    @property
    def size(self) -> int:
        """Samples currently held per row (<= capacity)."""
        return self._size

    def push(self, samples: np.ndarray) -> None:
        """Append ``samples`` of shape ``(n_channels, n)`` (or ``(n,)`` for one channel)."""
        x = np.asarray(samples, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[0] != self.n_channels:
            raise ValueError(
                f"expected {self.n_channels} channel(s) per block, got shape {x.shape}"
            )
        n = x.shape[1]
        cap = self.capacity
        if n == 0:
            return
        if n >= cap:
            self._data[:] = x[:, n - cap :]
            self._head = 0
        else:
            end = self._head + n
            if end <= cap:
                self._data[:, self._head : end] = x
            else:
                k = cap - self._head
                self._data[:, self._head :] = x[:, :k]
                self._data[:, : n - k] = x[:, k:]
            self._head = end % cap
        self._size = min(cap, self._size + n)
        self.total += n

    def latest(self) -> np.ndarray:
        """Return a copy of the held samples, oldest first, shape ``(n_channels, size)``."""
        if self._size < self.capacity:
            # Never wrapped: the data sit at [0, size).
            return self._data[:, : self._size].copy()
        return np.concatenate((self._data[:, self._head :], self._data[:, : self._head]), axis=1)
