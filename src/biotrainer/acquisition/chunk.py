"""What a source delivers on each poll.

A :class:`Chunk` carries the new samples of one poll twice over:

* ``raw``: the BrainFlow arrays exactly as the board gave them, one per preset
  (rows x samples, BrainFlow's own row layout). The recorder writes these untouched so a
  recording replays through BrainFlow's playback board along the same path as live data.
* ``signals``: the same samples sorted by physiological role (``eeg``, ``ecg``, ``ppg``,
  ``rr`` (RR intervals in ms, one sample per beat, from devices that report them), ``resp``,
  ``eda``, ``accel``...), each with its sampling rate, channel names and timestamps.
  DSP and the UI read these and never need to know board row numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Physiological roles a channel can have.
ROLES = ("eeg", "ecg", "ppg", "rr", "resp", "eda", "accel", "gyro", "temp", "marker")

#: BrainFlow preset names as used in profiles and recordings.
PRESETS = ("default", "auxiliary", "ancillary")


@dataclass(frozen=True)
class SignalBlock:
    """New samples of one physiological role.

    Attributes
    ----------
    role : str
        One of :data:`ROLES`.
    fs : float
        Sampling rate in Hz.
    channel_names : tuple of str
        One name per row of ``samples`` (electrode position where known, e.g. ``"AF7"``).
    units : str
        Physical unit of ``samples`` (``"uV"`` for EEG/ECG as BrainFlow delivers them).
    timestamps : np.ndarray
        Shape ``(n,)``, seconds on BrainFlow's clock (or the simulated clock).
    samples : np.ndarray
        Shape ``(channels, n)``, float64.
    """

    role: str
    fs: float
    channel_names: tuple[str, ...]
    units: str
    timestamps: np.ndarray
    samples: np.ndarray

    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[1])


@dataclass(frozen=True)
class Chunk:
    """All new samples from one :meth:`Source.poll`.

    Attributes
    ----------
    raw : dict of str to np.ndarray
        Preset name -> BrainFlow array ``(rows, n)`` in the board's row layout.
    signals : dict of str to SignalBlock
        Role -> block of the samples with that role.
    received_at : float
        Time (source clock, seconds) at which the poll returned; the start of the latency chain.
    """

    raw: dict[str, np.ndarray] = field(default_factory=dict)
    signals: dict[str, SignalBlock] = field(default_factory=dict)
    received_at: float = 0.0

    @property
    def empty(self) -> bool:
        """True when no preset delivered any sample."""
        return (
            all(a.shape[1] == 0 for a in self.raw.values())
            if self.raw
            else not any(b.n_samples for b in self.signals.values())
        )
