"""A small in-memory Source for UI tests (numpy only, paced by an injectable clock)."""

from __future__ import annotations

import numpy as np

from biotrainer.acquisition.chunk import Chunk, SignalBlock
from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout, SourceState
from biotrainer.clock import Clock, MonotonicClock
from biotrainer.errors import DeviceError

EEG_NAMES = ("Fz", "C3", "Cz", "C4", "Pz", "PO7", "Oz", "PO8",
             "F5", "F7", "F3", "F1", "F2", "F4", "F6", "F8")  # fmt: skip


def fake_layout(n_eeg: int = 16, fs: float = 250.0, aux_fs: float = 64.0) -> SourceLayout:
    """EEG (default preset, rows 1..n_eeg) plus PPG and EDA in an ancillary preset."""
    ts_row = n_eeg + 1
    return SourceLayout(
        device="fake",
        board_id=-1,
        presets=(
            PresetLayout("default", fs, num_rows=n_eeg + 2, timestamp_row=ts_row),
            PresetLayout("ancillary", aux_fs, num_rows=3, timestamp_row=2),
        ),
        groups=(
            ChannelGroup("eeg", "default", tuple(range(1, n_eeg + 1)), EEG_NAMES[:n_eeg], "uV"),
            ChannelGroup("ppg", "ancillary", (0,), ("PPG",), "a.u."),
            ChannelGroup("eda", "ancillary", (1,), ("EDA",), "uS"),
        ),
    )


class FakeSource:
    """Synthesises samples at the nominal rates for the time elapsed on ``clock``.

    Parameters
    ----------
    clock : Clock
        Paces the samples (real time by default).
    fail_on_prepare : str, optional
        Raise DeviceError with this message from :meth:`prepare`.
    fail_after_polls : int, optional
        Raise DeviceError from the poll after this many successful polls.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        n_eeg: int = 16,
        fail_on_prepare: str | None = None,
        fail_after_polls: int | None = None,
        seed: int = 0,
    ) -> None:
        self.clock = clock or MonotonicClock()
        self._layout = fake_layout(n_eeg)
        self._state = SourceState.IDLE
        self.fail_on_prepare = fail_on_prepare
        self.fail_after_polls = fail_after_polls
        self.polls = 0
        self.calls: list[str] = []
        self._rng = np.random.default_rng(seed)
        self._t0 = 0.0
        self._produced = {p.preset: 0 for p in self._layout.presets}

    @property
    def state(self) -> SourceState:
        return self._state

    @property
    def layout(self) -> SourceLayout:
        return self._layout

    def prepare(self) -> None:
        self.calls.append("prepare")
        if self.fail_on_prepare:
            raise DeviceError(self.fail_on_prepare)
        self._state = SourceState.PREPARED

    def start(self) -> None:
        self.calls.append("start")
        self._t0 = self.clock.now()
        self._state = SourceState.STREAMING

    def _preset_block(self, p: PresetLayout, elapsed: float) -> np.ndarray:
        due = int(elapsed * p.fs)
        n = due - self._produced[p.preset]
        k = np.arange(self._produced[p.preset], due)
        self._produced[p.preset] = due
        t = k / p.fs
        data = np.zeros((p.num_rows, n))
        data[p.timestamp_row] = self._t0 + t
        for g in self._layout.groups:
            if g.preset != p.preset:
                continue
            for j, row in enumerate(g.rows):
                # DC offset + 10 Hz rhythm + noise: the display filter must remove the offset.
                data[row] = (
                    1000.0 * (j + 1)
                    + 20.0 * np.sin(2 * np.pi * 10.0 * t + j)
                    + self._rng.normal(0.0, 3.0, n)
                )
        return data

    def poll(self) -> Chunk:
        self.calls.append("poll")
        if self._state is SourceState.STOPPED:
            return self._layout.empty_chunk(self.clock.now())  # the drain after stop()
        if self._state not in (SourceState.STREAMING, SourceState.SILENT):
            raise DeviceError(f"poll while {self._state.value}")
        if self.fail_after_polls is not None and self.polls >= self.fail_after_polls:
            raise DeviceError("the fake device was unplugged")
        self.polls += 1
        if self._state is SourceState.SILENT:
            return self._layout.empty_chunk(self.clock.now())
        elapsed = self.clock.now() - self._t0
        raw = {p.preset: self._preset_block(p, elapsed) for p in self._layout.presets}
        return Chunk(raw=raw, signals=self._layout.split(raw), received_at=self.clock.now())

    def go_silent(self) -> None:
        """Stop delivering samples and report it, as a device that lost its signal."""
        self._state = SourceState.SILENT

    def stop(self) -> None:
        self.calls.append("stop")
        self._state = SourceState.STOPPED

    def release(self) -> None:
        self.calls.append("release")
        self._state = SourceState.RELEASED


def signal_block(samples: np.ndarray, fs: float, t0: float = 0.0, role: str = "eeg") -> SignalBlock:
    """A block of ``role`` samples (channels ch0, ch1...; µV) at ``fs`` from time ``t0``."""
    samples = np.atleast_2d(samples)
    n = samples.shape[1]
    return SignalBlock(
        role=role,
        fs=fs,
        channel_names=tuple(f"ch{i}" for i in range(samples.shape[0])),
        units="uV",
        timestamps=t0 + np.arange(n) / fs,
        samples=samples,
    )
