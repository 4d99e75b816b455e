"""The interface every data source implements (BrainFlow board, playback, file, LSL inlet)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

from biotrainer.acquisition.chunk import Chunk, SignalBlock
from biotrainer.acquisition.counter import PacketCounter
from biotrainer.errors import BiotrainerError, DeviceError

#: Kind of the events a source queues (``take_events``) to say what it assumed of its stream
#: or did to its timestamps: recorded in ``events.csv`` and said to the person running the
#: session (:meth:`biotrainer.engine.engine.Engine.take_notes`).
EVENT_SOURCE_NOTE = "source_note"


class SourceState(enum.Enum):
    """Where a source is in its life.

    ``SILENT`` means streaming was started but no new sample arrived for the silence timeout
    (2 s by default): the device is reported, not waited on. ``ENDED`` means a finite source
    (a file) has delivered everything.
    """

    IDLE = "idle"
    PREPARED = "prepared"
    STREAMING = "streaming"
    SILENT = "signal lost"
    ENDED = "ended"
    STOPPED = "stopped"
    RELEASED = "released"


class Source(Protocol):
    """A source of physiological samples.

    Lifecycle: ``prepare() -> start() -> poll()* -> stop() -> poll() -> release()``. ``poll``
    never blocks: it returns whatever arrived since the previous poll (possibly an empty chunk);
    the one poll after ``stop`` drains what arrived before the stop.
    """

    @property
    def state(self) -> SourceState: ...

    @property
    def layout(self) -> SourceLayout: ...

    def prepare(self) -> None: ...

    def start(self) -> None: ...

    def poll(self) -> Chunk: ...

    def stop(self) -> None: ...

    def release(self) -> None: ...


def poll_checked(source: Source) -> Chunk:
    """``source.poll()``, with any failure that is not already one of biotrainer's errors (a
    source breaking the contract above, an OS or library error) turned into a
    :class:`~biotrainer.errors.DeviceError` that says what it was (the original is chained)."""
    try:
        return source.poll()
    except BiotrainerError:
        raise
    except Exception as exc:
        raise DeviceError(
            f"the device failed unexpectedly while reading ({type(exc).__name__}: {exc})"
        ) from exc


@dataclass(frozen=True)
class PresetLayout:
    """One BrainFlow preset of a board as the data arrives.

    Attributes
    ----------
    preset : str
        ``"default"``, ``"auxiliary"`` or ``"ancillary"``.
    fs : float
        Nominal sampling rate in Hz.
    num_rows : int
        Rows of the BrainFlow array of this preset.
    timestamp_row : int
        Row holding BrainFlow timestamps (seconds).
    marker_row : int or None
        Row holding markers, when the preset has one.
    counter : PacketCounter or None
        How the preset's package-number row counts the device's packets, when the device
        profile says (:mod:`biotrainer.acquisition.counter`): samples lost on the way are
        found from it.
    """

    preset: str
    fs: float
    num_rows: int
    timestamp_row: int
    marker_row: int | None = None
    counter: PacketCounter | None = None

    def to_dict(self) -> dict:
        """A JSON-serialisable form (for ``session.json``)."""
        d: dict = {
            "preset": self.preset,
            "fs": self.fs,
            "num_rows": self.num_rows,
            "timestamp_row": self.timestamp_row,
            "marker_row": self.marker_row,
        }
        if self.counter is not None:
            d["counter"] = self.counter.to_dict()
        return d


@dataclass(frozen=True)
class ChannelGroup:
    """The rows of one preset that carry one physiological role.

    Attributes
    ----------
    role : str
        One of :data:`biotrainer.acquisition.chunk.ROLES`.
    preset : str
        The preset whose array holds these rows.
    rows : tuple of int
        Row indices in that array.
    names : tuple of str
        One label per row (electrode positions where known).
    units : str
        Physical unit of the values.
    """

    role: str
    preset: str
    rows: tuple[int, ...]
    names: tuple[str, ...]
    units: str


@dataclass(frozen=True)
class SourceLayout:
    """How a source's raw arrays map to roles. Saved in ``session.json`` with every recording.

    Attributes
    ----------
    device : str
        Device profile name.
    board_id : int
        BrainFlow board id whose row layout the raw arrays have (the master board when
        played back).
    presets : tuple of PresetLayout
    groups : tuple of ChannelGroup
        At most one group per role.
    alpha_channels : tuple of str
        EEG channels alpha feedback comes from while any of them is usable (the device
        profile's alpha sites); empty: every usable EEG channel.
    """

    device: str
    board_id: int
    presets: tuple[PresetLayout, ...]
    groups: tuple[ChannelGroup, ...]
    alpha_channels: tuple[str, ...] = ()

    def preset(self, name: str) -> PresetLayout:
        """Return the layout of preset ``name`` (KeyError if the board lacks it)."""
        for p in self.presets:
            if p.preset == name:
                return p
        raise KeyError(name)

    def group(self, role: str) -> ChannelGroup | None:
        """Return the channel group of ``role``, or None when the source has no such signal."""
        for g in self.groups:
            if g.role == role:
                return g
        return None

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(g.role for g in self.groups)

    @cached_property
    def _split_plan(self) -> tuple[tuple[ChannelGroup, PresetLayout | None, np.ndarray], ...]:
        """Per group, its preset's layout (None when the layout lacks it) and its rows as an
        index array: :meth:`split` runs on every poll, 60 times a second."""
        presets = {p.preset: p for p in self.presets}
        return tuple(
            (g, presets.get(g.preset), np.array(g.rows, dtype=np.intp)) for g in self.groups
        )

    def split(self, raw: dict[str, np.ndarray]) -> dict[str, SignalBlock]:
        """Sort raw BrainFlow arrays (preset -> rows x n) into role blocks."""
        blocks: dict[str, SignalBlock] = {}
        for g, p, rows in self._split_plan:
            data = raw.get(g.preset)
            if data is None:
                continue
            if p is None:
                raise KeyError(g.preset)
            blocks[g.role] = SignalBlock(
                role=g.role,
                fs=p.fs,
                channel_names=g.names,
                units=g.units,
                timestamps=np.asarray(data[p.timestamp_row], dtype=np.float64),
                samples=np.asarray(data[rows], dtype=np.float64),
            )
        return blocks

    def empty_chunk(self, received_at: float) -> Chunk:
        """A chunk with no sample: an empty array for every preset, and its empty role blocks."""
        raw = {p.preset: np.zeros((p.num_rows, 0)) for p in self.presets}
        return Chunk(raw=raw, signals=self.split(raw), received_at=received_at)

    def to_dict(self) -> dict:
        """A JSON-serialisable form (for ``session.json``; read back, with every field
        checked, by :meth:`biotrainer.session.folder.SessionMeta.from_dict`)."""
        d = {
            "device": self.device,
            "board_id": self.board_id,
            "presets": [p.to_dict() for p in self.presets],
            "groups": [
                {**vars(g), "rows": list(g.rows), "names": list(g.names)} for g in self.groups
            ],
        }
        if self.alpha_channels:
            d["alpha_channels"] = list(self.alpha_channels)
        return d
