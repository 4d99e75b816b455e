"""Open the right source for a device profile name and the connection a person gave.

* ``open_source("synthetic")`` - BrainFlow's synthetic board (the default).
* ``open_source("muse2", ConnectionParams(serial_number="Muse-1234"))`` - a headset.
* ``open_source("playback", ConnectionParams(file=..., master_board="muse2"))`` - a BrainFlow
  file replayed in real time through ``PLAYBACK_FILE_BOARD``.
* ``open_playback({"default": f0, "ancillary": f2}, layout)`` - replay of a recording whose
  layout (from its ``session.json``) is known.
* A profile with a ``[simulator]`` table is rendered to BrainFlow files by
  :func:`biotrainer.acquisition.simulator.prepare_playback` and then played back.
"""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Mapping
from typing import Any

from biotrainer.acquisition.brainflow_source import BrainFlowSource, ConnectionParams
from biotrainer.acquisition.profiles import CONNECTION_FIELDS, DeviceProfile, load_profile
from biotrainer.acquisition.source import Source, SourceLayout
from biotrainer.clock import Clock
from biotrainer.errors import DeviceError

#: Keyword options :class:`BrainFlowSource` understands (others go to the simulator).
SOURCE_OPTIONS = frozenset(
    {"layout", "loopback", "silence_timeout", "buffer_seconds", "keep_file_timestamps"}
)

#: Options of simulator profiles (passed to ``prepare_playback``).
SIMULATOR_OPTIONS = frozenset({"scenario", "seed", "cache_dir"})

#: Connection options read from the command line: every profile connection field, and timeout.
_FIELDS = (*CONNECTION_FIELDS, "timeout")

#: Connection fields that name a playback file.
_FILE_FIELDS = frozenset({"file", "file_aux", "file_anc"})


def open_source(
    device: str | os.PathLike[str] = "synthetic",
    connection: ConnectionParams | None = None,
    clock: Clock | None = None,
    **options: Any,
) -> Source:
    """Load a device profile and return its (not yet prepared) source.

    Parameters
    ----------
    device : str or path
        Profile name (see ``biotrainer devices``) or path to a profile file.
    connection : ConnectionParams, optional
        Serial port, MAC address, file... as the profile requires.
    clock : Clock, optional
        Defaults to :class:`~biotrainer.clock.MonotonicClock`.
    **options
        ``layout`` (SourceLayout of the played files), ``loopback`` (bool),
        ``silence_timeout`` (s), ``buffer_seconds`` (s), ``keep_file_timestamps`` (bool);
        simulator profiles also receive every option (scenario settings) in
        ``prepare_playback``.

    Raises
    ------
    DeviceError, ConfigError
        Unknown profile, malformed profile, missing or unused connection fields.
    """
    profile = load_profile(device)
    source_options = {k: v for k, v in options.items() if k in SOURCE_OPTIONS}
    if profile.simulator is not None:
        from biotrainer.acquisition.simulator import prepare_playback

        connection = prepare_playback(profile, connection, dict(options))
    else:
        sim = sorted(set(options) & SIMULATOR_OPTIONS)
        if sim:
            raise DeviceError(
                f"--{sim[0].replace('_', '-')} only applies to simulator devices "
                f"(e.g. --device simulator), not to {profile.name}"
            )
        unknown = sorted(set(options) - SOURCE_OPTIONS)
        if unknown:
            raise TypeError(f"open_source() got unknown options {unknown}")
    return BrainFlowSource(profile, connection, clock, **source_options)


def open_playback(
    files: Mapping[str, str | os.PathLike[str]],
    layout: SourceLayout,
    clock: Clock | None = None,
    **options: Any,
) -> Source:
    """Replay BrainFlow files whose layout is known (a recording's ``session.json``).

    Parameters
    ----------
    files : mapping of str to path
        Preset name (``"default"``, ``"auxiliary"``, ``"ancillary"``) -> BrainFlow file.
        Presets of the layout without a file are not played.
    layout : SourceLayout
        The recorded layout; its ``board_id`` is the master board of the playback.
    clock : Clock, optional
    **options
        As :func:`open_source` (``loopback``, ``silence_timeout``, ``keep_file_timestamps``...).
    """
    unknown = set(files) - {"default", "auxiliary", "ancillary"}
    if unknown:
        raise ValueError(f"unknown presets {sorted(unknown)}")
    connection = ConnectionParams(
        file=_path(files.get("default")),
        file_aux=_path(files.get("auxiliary")),
        file_anc=_path(files.get("ancillary")),
        master_board=int(layout.board_id),
    )
    return open_source("playback", connection, clock, layout=layout, **options)


#: Why ``--speed`` does not apply to a playback device, and what does.
PLAYBACK_SPEED_REFUSED = (
    "--speed does not work with the {device} device: BrainFlow's playback board plays a file in "
    "real time only; to go faster, record the file once into a session folder (biotrainer "
    "record --device {device} {files} --master-board {board} --duration SECONDS --out DIR: in "
    "real time, it stops at the file's end), then replay that with --replay DIR --speed X"
)


def playback_speed_refusal(device: str, connection: ConnectionParams | None = None) -> str:
    """:data:`PLAYBACK_SPEED_REFUSED` for ``device``, its record command naming the files and
    the master board of ``connection`` where given (FILE and BOARD where not).

    Parameters
    ----------
    device : str
        The playback profile's name.
    connection : ConnectionParams, optional
        The options given (``--file``, ``--file-aux``, ``--file-anc``, ``--master-board``).

    Returns
    -------
    str
        The refusal, its values quoted as a shell needs them.
    """
    c = connection or ConnectionParams()
    given = (("--file", c.file or "FILE"), ("--file-aux", c.file_aux), ("--file-anc", c.file_anc))
    files = " ".join(f"{option} {shlex.quote(str(v))}" for option, v in given if v)
    board = "BOARD" if c.master_board in (None, "") else shlex.quote(str(c.master_board))
    return PLAYBACK_SPEED_REFUSED.format(device=device, files=files, board=board)


def open_accelerated(
    device: str | os.PathLike[str], clock: Clock, speed: float, **options: Any
) -> Source:
    """A simulator device served faster than real time on ``clock`` (tests, demos, soak).

    BrainFlow's playback board has no speed control, so the rendered scenario is read directly
    by :class:`~biotrainer.acquisition.file_source.FileSource`, which feeds the same downstream
    code in simulated time. Options are the simulator's (``scenario``, ``seed``, ``cache_dir``).

    Raises
    ------
    DeviceError
        If ``device`` is not a simulator profile (a live device cannot go faster than time).
    """
    from biotrainer.acquisition.file_source import FileSource
    from biotrainer.acquisition.simulator import render_session

    profile = accelerable_profile(device)
    return FileSource(render_session(profile, options), clock, speed=speed)


def accelerable_profile(
    device: str | os.PathLike[str], connection: ConnectionParams | None = None
) -> DeviceProfile:
    """The profile of ``device`` if it can be served faster than real time (a simulator).

    Parameters
    ----------
    device : str or path
        Device profile name or file.
    connection : ConnectionParams, optional
        The connection options given, which a playback profile's refusal fills in
        (:func:`playback_speed_refusal`).

    Raises
    ------
    DeviceError
        A live device (it cannot deliver data faster than real time) or a playback profile
        (BrainFlow plays its file in real time only: the message says how to replay it faster);
        ConfigError or DeviceError for an unknown or malformed profile.
    """
    profile = load_profile(device)
    if profile.simulator is not None:
        return profile
    if profile.is_playback:  # (a simulator plays its rendered scenario through it too)
        raise DeviceError(playback_speed_refusal(profile.name, connection))
    raise DeviceError(
        f"--speed works with simulator devices and recordings, not with {profile.name}: "
        "a live device cannot deliver data faster than real time"
    )


def _path(p: str | os.PathLike[str] | None) -> str | None:
    return os.fspath(p) if p is not None else None


def connection_from_args(args: argparse.Namespace) -> ConnectionParams:
    """Connection fields from parsed CLI options (those of ``cli.add_device_arguments``).

    Options absent from the parser or left empty are None.
    """
    values: dict[str, Any] = {}
    for name in _FIELDS:
        v = getattr(args, name, None)
        if v in (None, ""):
            continue
        if name == "ip_port":
            v = int(v)
        elif name == "timeout":
            v = float(v)
        elif name in _FILE_FIELDS and os.path.isdir(os.path.expanduser(str(v))):
            option = "--" + name.replace("_", "-")
            raise DeviceError(
                f"the playback file {v} ({option}) is a folder, not a file: give a recording "
                "file (e.g. raw_default.csv of a session folder)"
            )
        values[name] = v
    return ConnectionParams(**values)


def source_options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Simulator options (``--scenario``, ``--seed``) given on the command line, for
    :func:`open_source`; empty when none was given."""
    return {
        name: getattr(args, name)
        for name in ("scenario", "seed")
        if getattr(args, name, None) not in (None, "")
    }
