"""A :class:`~biotrainer.acquisition.source.Source` over BrainFlow's ``BoardShim``.

One class serves every board of the device profiles, including BrainFlow's
``PLAYBACK_FILE_BOARD`` (replay of recordings and of rendered simulator scenarios), so replayed
and simulated data take exactly the path live data takes.

* ``poll()`` never blocks: it drains BrainFlow's ring buffer of every preset the layout uses
  (``get_board_data(preset=...)``) and sorts the rows into role blocks.
* The ring buffer holds ``buffer_seconds`` (default 120 s) at the fastest preset's rate, so a
  poll loop may stall for that long without losing a sample.
* No new sample for ``silence_timeout`` seconds (clock-based, 2 s by default) makes the state
  :attr:`SourceState.SILENT`; data coming back makes it STREAMING again. A playback without
  loopback that has delivered every line of its files becomes :attr:`SourceState.ENDED`
  (BrainFlow's playback board just stops delivering at the end of a file; lines it skips, those
  without the master board's number of fields, are not counted).
* A playback file a person names (not a recording's replay, whose layout is known, nor a
  simulator's render) whose timestamps give another rate than the master board's is refused at
  ``prepare()``: BrainFlow would play it at its own rate and the samples be read at the board's
  (:mod:`biotrainer.acquisition.playback_rate`).
* A playback file stamped in Unix milliseconds or microseconds (a Crown's, written by BrainFlow)
  is played from a private copy with its timestamps in seconds
  (:func:`~biotrainer.acquisition.playback_copy.write_seconds_copy`), written at ``prepare()``
  and deleted at ``release()`` (or when ``prepare()`` fails, or the source is garbage-collected
  or the program exits): BrainFlow's playback board waits the steps between timestamps as
  seconds. The original file is never changed.
* Every ``BrainFlowError`` becomes a :class:`~biotrainer.errors.DeviceError` whose message says
  what to check, chosen by BrainFlow's exit code.
* Timestamps are seconds, as BrainFlow stamps samples on the host. A board that passes on its own
  clock in Unix milliseconds or microseconds (the Neurosity Crown's OSC stream carries the
  headset's time; BrainFlow copies it as sent) is seen from the size of its first usable
  timestamps (:func:`typical_timestamp`, :func:`timestamp_scale`) and its timestamps are scaled
  to seconds: read as seconds, every step between two samples was a gap of seconds.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
from brainflow.board_shim import BoardIds, BoardShim, BrainFlowError, BrainFlowInputParams
from brainflow.exit_codes import BrainFlowExitCodes

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.playback_copy import remove_copy, write_seconds_copy
from biotrainer.acquisition.playback_rate import check_playback_rate, playback_file_scale
from biotrainer.acquisition.profiles import (
    PLAYBACK_BOARD_ID,
    PRESET_IDS,
    DeviceProfile,
    resolve_master_board,
)
from biotrainer.acquisition.source import PresetLayout, SourceLayout, SourceState
from biotrainer.clock import Clock, MonotonicClock
from biotrainer.errors import DeviceError
from biotrainer.limits import MAX_CONNECTION_TEXT
from biotrainer.paths import is_utf8, shown

#: Set to 1 to let BrainFlow log to stderr (otherwise its logger is off).
LOG_ENV = "BIOTRAINER_BRAINFLOW_LOG"

#: Default seconds without a new sample before the source reports SILENT.
SILENCE_TIMEOUT_S = 2.0

#: Default ring-buffer length in seconds at the fastest preset's sampling rate.
BUFFER_SECONDS = 120.0

#: Connection field -> (CLI option, example value, what it is). Used in error messages.
CLI_OPTIONS: dict[str, tuple[str, str, str]] = {
    "serial_port": ("--serial-port", "/dev/ttyUSB0", "a serial port"),
    "mac_address": ("--mac-address", "00:55:DA:B3:12:34", "a Bluetooth MAC address"),
    "serial_number": ("--serial-number", "Muse-1234", "a serial number or device name"),
    "ip_address": ("--ip-address", "192.168.4.1", "an IP address"),
    "ip_port": ("--ip-port", "6677", "an IP port"),
    "file": ("--file", "RECORDING.csv", "a recording file"),
    "file_aux": ("--file-aux", "RECORDING_aux.csv", "an auxiliary-preset file"),
    "file_anc": ("--file-anc", "RECORDING_anc.csv", "an ancillary-preset file"),
    "master_board": ("--master-board", "muse2", "the board that recorded the file"),
    "other_info": ("--other-info", "...", "extra board settings"),
}


class MissingConnectionError(DeviceError):
    """A device profile needs a connection setting that was not given (the message names the
    command-line option; the GUI says it its own way from ``profile`` and ``field``)."""

    def __init__(self, message: str, profile: str, field: str) -> None:
        super().__init__(message)
        self.profile = profile
        #: The missing field of :class:`ConnectionParams` (a key of :data:`CLI_OPTIONS`).
        self.field = field


#: A Bluetooth MAC address (``00:55:DA:B3:12:34`` or with dashes), or the UUID macOS gives BLE
#: devices instead of a MAC.
_MAC_RE = re.compile(
    r"[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}"
    r"|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)

_PRESET_FILE_FIELD = {"default": "file", "auxiliary": "file_aux", "ancillary": "file_anc"}
_PLAYBACK_FIELDS = ("file", "file_aux", "file_anc", "master_board")


@dataclass(frozen=True)
class ConnectionParams:
    """What a person tells us about how to reach a device (BrainFlowInputParams, typed).

    Attributes
    ----------
    serial_port, mac_address, serial_number, ip_address, other_info : str or None
    ip_port : int or None
    file, file_aux, file_anc : str or None
        BrainFlow files of the default / auxiliary / ancillary preset (playback).
    master_board : str or int or None
        Playback: the board that recorded the files, as a device profile name (``muse2``), a
        BrainFlow board name (``MUSE_2_BOARD``) or a board id.
    timeout : float or None
        Discovery / answer timeout in seconds (None: the profile's or BrainFlow's default).
    """

    serial_port: str | None = None
    mac_address: str | None = None
    serial_number: str | None = None
    ip_address: str | None = None
    ip_port: int | None = None
    file: str | None = None
    file_aux: str | None = None
    file_anc: str | None = None
    other_info: str | None = None
    master_board: str | int | None = None
    timeout: float | None = None

    def given(self) -> tuple[str, ...]:
        """Names of the connection fields that are set (``timeout`` excluded)."""
        return tuple(
            f.name
            for f in fields(self)
            if f.name != "timeout" and getattr(self, f.name) not in (None, "")
        )


def _utf8_text(field: str, value: str) -> str:
    """``value`` if BrainFlow can take it (it passes text to its library as UTF-8), else a
    :class:`DeviceError` naming the field (bytes that are not UTF-8 text, e.g. from a terminal
    in another encoding, made BrainFlow fail and then print a traceback when the board object
    was freed)."""
    if not is_utf8(value):
        raise DeviceError(
            f"the {field.replace('_', ' ')} '{shown(value)}' holds bytes that are not UTF-8 "
            "text: retype it"
        )
    return value


def _where(c: ConnectionParams) -> str:
    """' on /dev/ttyUSB0', ' at 00:55:...', ... for messages ('' when nothing was given)."""
    if c.serial_port:
        return f" on {c.serial_port}"
    if c.mac_address:
        return f" at {c.mac_address}"
    if c.serial_number:
        return f" named {c.serial_number}"
    if c.ip_address:
        return f" at {c.ip_address}"
    return ""


def brainflow_error_message(
    exc: BrainFlowError, action: str, title: str, connection: ConnectionParams
) -> str:
    """An actionable sentence for a BrainFlow failure, chosen by its exit code.

    Parameters
    ----------
    exc : BrainFlowError
    action : str
        What we were doing ("open", "start", "read", "stop").
    title : str
        The device's human name.
    connection : ConnectionParams
        To name the port / address in the message.
    """
    code = getattr(exc, "exit_code", None)
    try:
        name = BrainFlowExitCodes(code).name
    except ValueError:
        name = f"code {code}"
    codes = BrainFlowExitCodes
    port = connection.serial_port
    where = _where(connection)
    if code == codes.UNABLE_TO_OPEN_PORT_ERROR:
        if port:
            return (
                f"no device answered on {port} ({title}): is the dongle plugged in and the "
                "port right?"
            )
        return f"could not open the connection to the {title}{where}: is it on and in range?"
    if code == codes.PORT_ALREADY_OPEN_ERROR:
        return (
            f"the port of the {title}{where} is already in use: close any other program using "
            "it (OpenBCI GUI, another biotrainer) and retry"
        )
    if code == codes.SER_PORT_ERROR:
        return (
            f"cannot configure the serial port{where}: check you may use it (on Linux join "
            "the 'dialout' group) and that it is the device's port"
        )
    if code == codes.BOARD_WRITE_ERROR:
        return f"cannot send commands to the {title}{where}: is it switched on and in range?"
    if code in (codes.INCOMMING_MSG_ERROR, codes.INITIAL_MSG_ERROR):
        return (
            f"the {title}{where} answered unexpectedly: switch it off and on, and check the "
            "device profile matches the hardware"
        )
    if code == codes.BOARD_NOT_READY_ERROR:
        return (
            f"the {title}{where} is not ready: switch it on, charge it, bring it close, and "
            "disconnect it from any phone app"
        )
    if code == codes.SYNC_TIMEOUT_ERROR:
        return (
            f"the {title}{where} did not answer in time: is it switched on, in range and not "
            "connected to another app? (raise the timeout for slow discovery)"
        )
    if code == codes.INVALID_ARGUMENTS_ERROR:
        if connection.file:
            return (
                f"BrainFlow cannot play {connection.file}: check the file exists, is readable "
                "and was recorded by the master board given"
            )
        return (
            f"BrainFlow rejected the connection settings of the {title}{where}: check the "
            "serial port / MAC address / serial number (see 'biotrainer devices')"
        )
    if code == codes.UNSUPPORTED_BOARD_ERROR:
        return f"this BrainFlow build does not support the {title} on this computer"
    if code == codes.ANOTHER_BOARD_IS_CREATED_ERROR:
        return (
            f"another session with the same {title} and settings is already open in this "
            "program: close it first"
        )
    if code in (codes.STREAM_THREAD_ERROR, codes.STREAM_THREAD_IS_NOT_RUNNING):
        return f"the {title} is not streaming (cannot {action}): reconnect it and start again"
    if code == codes.INVALID_BUFFER_SIZE_ERROR:
        return f"BrainFlow refused the buffer size while trying to {action} the {title}"
    if code == codes.STREAM_ALREADY_RUN_ERROR:
        return f"the {title} is already streaming"
    if code in (codes.BOARD_NOT_CREATED_ERROR, codes.EMPTY_BUFFER_ERROR):
        return f"the {title} session is not open (cannot {action}): prepare it first"
    hint = ""
    if action == "open":
        hint = " Is it switched on, in range, and are the connection settings right?"
    return (
        f"BrainFlow could not {action} the {title}{where} ({name}).{hint} "
        f"Set {LOG_ENV}=1 to see BrainFlow's log."
    )


#: Bytes BrainFlow's playback board reads at a time (``fgets`` into an 8192-byte buffer): a longer
#: line is read in pieces, each of which it skips as malformed.
_FGETS_MAX = 8191

#: Bytes of a playback file counted at a time (also the longest line accepted).
_COUNT_BLOCK = 1 << 22


def _count_lines(path: Path, num_cols: int) -> tuple[int, int]:
    """Number of lines of a BrainFlow file its playback board plays, and the columns of the first.

    BrainFlow's playback board reads a line (at most :data:`_FGETS_MAX` bytes at a time, up to
    a NUL byte), splits it at tabs (at commas when it has no tab) and skips it, without a word,
    unless it has ``num_cols`` fields: a malformed line, a last line cut short by a killed
    writer, a blank line. Only the lines it plays are counted, or a playback whose file has such
    a line would wait for it for ever instead of ending. The file is read in blocks of
    :data:`_COUNT_BLOCK` bytes whose fields are counted by numpy (a 60-minute recording has about
    a million lines).

    Parameters
    ----------
    path : Path
    num_cols : int
        Fields of a line the playback board plays (the master board's ``num_rows``).

    Returns
    -------
    tuple of int
        The lines played, and the fields of the first line that is not blank (0: none).

    Raises
    ------
    ValueError
        When the first line or the last line played is not all numbers (BrainFlow's playback
        board would read text as zeros), or a line is longer than a block, naming the line.
    OSError
        The file cannot be read.
    """
    n = 0
    first_cols = 0
    first: tuple[int, bytes] | None = None
    last: tuple[int, bytes] | None = None
    lines_before = 0  # lines of the blocks already counted
    rest = b""
    with path.open("rb") as fh:
        while True:
            block = fh.read(_COUNT_BLOCK)
            data = rest + block if rest else block
            if not data:
                break
            cut = len(data) if not block else data.rfind(b"\n") + 1
            if cut == 0:
                if len(data) > _COUNT_BLOCK:
                    raise ValueError(f"line {lines_before + 1} is over {_COUNT_BLOCK} bytes long")
                rest = data
                continue
            starts, stops, cols, played = _fields_per_line(data[:cut], num_cols)
            if first is None:
                for i in range(starts.size):
                    text = data[starts[i] : stops[i]]
                    if text.strip():
                        first, first_cols = (lines_before + i + 1, text), int(cols[i])
                        break
            hits = np.flatnonzero(played)
            if hits.size:
                n += int(played.sum())
                i = int(hits[-1])
                last = (lines_before + i + 1, data[starts[i] : stops[i]])
            lines_before += int(starts.size)
            rest = data[cut:]
            if not block:
                break
    for line in (first, last):
        if line is not None:
            _check_numbers(line[1], line[0])
    return n, first_cols


def _fields_per_line(
    data: bytes, num_cols: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Start, end (before the newline), fields as BrainFlow's playback board counts them and
    samples it plays (0 or 1; a line it reads in pieces may give more) of each line of ``data``
    (every line but the last ends with a newline)."""
    a = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(a == 10) + 1
    if ends.size == 0 or ends[-1] != a.size:
        ends = np.append(ends, a.size)
    starts = np.concatenate(([0], ends[:-1]))
    stops = ends - (a[ends - 1] == 10)

    def per_line(byte: int) -> np.ndarray:  # (every line has a byte: reduceat sums each)
        return np.add.reduceat((a == byte).view(np.uint8), starts, dtype=np.int32)

    tabs = per_line(9)
    use_tab = tabs > 0
    seps = tabs if use_tab.all() else np.where(use_tab, tabs, per_line(44))
    # std::getline gives no field after a separator that ends the text, and BrainFlow drops the
    # field that is the newline alone
    last_byte = a[np.maximum(stops - 1, 0)]
    bare_end = (stops == starts) | (last_byte == np.where(use_tab, 9, 44))
    cols = seps + 1 - bare_end
    played = (cols == num_cols).astype(np.int64)
    odd = ends - starts > _FGETS_MAX
    if not a.all():
        odd |= per_line(0) > 0
    for i in np.flatnonzero(odd):  # rare: read in pieces, or cut at a NUL, by the playback board
        pieces = [
            _fields(data[j : min(j + _FGETS_MAX, ends[i])].split(b"\0", 1)[0])
            for j in range(int(starts[i]), int(ends[i]), _FGETS_MAX)
        ]
        cols[i] = pieces[0]
        played[i] = pieces.count(num_cols)
    return starts, stops, cols, played


def _fields(text: bytes) -> int:
    """Fields BrainFlow's playback board finds in ``text`` (what one ``fgets`` read)."""
    text = text.removesuffix(b"\n")
    sep = b"\t" if b"\t" in text else b","
    return text.count(sep) + (0 if not text or text.endswith(sep) else 1)


def _check_numbers(line: bytes, number: int) -> None:
    sep = b"\t" if b"\t" in line else b","
    try:
        for field in line.strip().split(sep):
            float(field)
    except ValueError:
        raise ValueError(f"line {number} is not numbers") from None


#: Unix time in seconds stays below this until the year 5138; in milliseconds it has been above
#: it since 1973, in microseconds above 1000 times it.
_UNIX_SECONDS_BELOW = 1e11


def timestamp_scale(first: float) -> float:
    """What a board's timestamps are multiplied by to be seconds, judged from one of them: 1e-3
    for Unix time in milliseconds, 1e-6 in microseconds, else 1 (seconds, or a clock of the
    board's own that cannot be told: left as it is).

    Parameters
    ----------
    first : float
        A timestamp as the board gave it (the first sample of a session).
    """
    if not math.isfinite(first) or first < _UNIX_SECONDS_BELOW:
        return 1.0
    return 1e-3 if first < 1e3 * _UNIX_SECONDS_BELOW else 1e-6


def typical_timestamp(stamps: np.ndarray) -> float | None:
    """The median of the finite, positive ``stamps`` (None when there is none): what a board's
    or a file's unit is judged on (:func:`timestamp_scale`), so that one bad first stamp (0,
    NaN, garbage) does not decide it."""
    usable = stamps[np.isfinite(stamps) & (stamps > 0)]
    return float(np.median(usable)) if usable.size else None


#: Connection texts whose length is checked before BrainFlow gets them.
_CHECKED_TEXT_FIELDS = ("serial_port", "serial_number", "other_info", "ip_address")


class BrainFlowSource:
    """A BrainFlow board as a :class:`~biotrainer.acquisition.source.Source`.

    Parameters
    ----------
    profile : DeviceProfile
    connection : ConnectionParams, optional
    clock : Clock, optional
        Gives ``Chunk.received_at`` and times the silence; :class:`MonotonicClock` by default.
    layout : SourceLayout, optional
        Playback only: the layout of the files (from a recording's ``session.json``). Default:
        the profile's layout for the master board.
    loopback : bool
        Playback only: restart at the end of the files instead of ending.
    silence_timeout : float
        Seconds without a new sample before the state becomes SILENT.
    buffer_seconds : float
        Ring-buffer length in seconds at the fastest preset's sampling rate.
    keep_file_timestamps : bool
        Playback only: deliver the timestamps written in the files (BrainFlow's default, kept
        here too when False, is to stamp samples with the time they are played).
    board_factory : callable, optional
        ``(board_id, BrainFlowInputParams) -> BoardShim``-like; for tests.

    Raises
    ------
    DeviceError
        A required connection field is missing, or one the profile does not use is given.
    """

    def __init__(
        self,
        profile: DeviceProfile,
        connection: ConnectionParams | None = None,
        clock: Clock | None = None,
        *,
        layout: SourceLayout | None = None,
        loopback: bool = False,
        silence_timeout: float = SILENCE_TIMEOUT_S,
        buffer_seconds: float = BUFFER_SECONDS,
        keep_file_timestamps: bool = False,
        board_factory: Callable[[int, BrainFlowInputParams], Any] | None = None,
    ) -> None:
        self._profile = profile
        self._conn = connection or ConnectionParams()
        self._clock: Clock = clock or MonotonicClock()
        self._playback = not profile.is_live
        self._loopback = bool(loopback)
        self._keep_file_timestamps = bool(keep_file_timestamps)
        if silence_timeout <= 0 or buffer_seconds <= 0:
            raise ValueError("silence_timeout and buffer_seconds must be positive")
        self._silence_timeout = float(silence_timeout)
        self._buffer_seconds = float(buffer_seconds)
        self._board_factory = board_factory or BoardShim
        self._timestamp_scales: dict[str, float] = {}  # per preset, from its first stamps
        if layout is not None and not self._playback:
            raise ValueError("an explicit layout is only for playback sources")

        self._check_connection()
        # Files a person names are checked to be at the master board's rate; not those of a
        # recording (its layout is known) nor those a simulator renders at the board's rate.
        self._check_rate = self._playback and layout is None and profile.simulator is None
        self._master_profile: DeviceProfile | None = None
        self._master_id = self._resolve_master(layout)
        if layout is None:
            named = self._master_profile
            if named is not None and profile.is_playback and not profile.channels:
                # --master-board named a device profile: the files have its layout (the first
                # profile of its board may have other channels, e.g. synthetic for simulator)
                layout = replace(named.layout(), device=profile.name)
            else:
                try:
                    layout = profile.layout(self._master_id if self._playback else None)
                except ValueError as exc:
                    raise DeviceError(str(exc)) from exc
        if self._playback:
            layout = self._restrict_to_files(layout)
        self._layout = layout
        self._board_id = PLAYBACK_BOARD_ID if self._playback else profile.board_id
        self._params = self._input_params()

        self._board: Any = None
        self._state = SourceState.IDLE
        self._last_data_at = 0.0
        self._file_samples: dict[str, int] = {}
        self._delivered: dict[str, int] = {}
        # playback files in Unix ms / µs: preset -> private copy in seconds, played instead
        self._copies: dict[str, Path] = {}
        weakref.finalize(self, _remove_copies, self._copies)

    # ------------------------------------------------------------------ properties

    @property
    def state(self) -> SourceState:
        return self._state

    @property
    def layout(self) -> SourceLayout:
        return self._layout

    @property
    def profile(self) -> DeviceProfile:
        return self._profile

    @property
    def connection(self) -> ConnectionParams:
        return self._conn

    @property
    def board_id(self) -> int:
        """The BrainFlow board opened (PLAYBACK_FILE_BOARD for playback)."""
        return self._board_id

    @property
    def is_playback(self) -> bool:
        return self._playback

    @property
    def buffer_size(self) -> int:
        """Ring-buffer size in samples passed to ``start_stream``."""
        fastest = max(p.fs for p in self._layout.presets)
        return math.ceil(fastest * self._buffer_seconds)

    # ------------------------------------------------------------------ set-up

    def _check_connection(self) -> None:
        p = self._profile
        given = set(self._conn.given())
        accepted = set(p.connection.accepted)
        required = list(p.connection.required)
        if self._playback:
            accepted |= set(_PLAYBACK_FIELDS)
            if "file" not in required:
                required.insert(0, "file")
        for f in required:
            if f not in given:
                option, example, what = CLI_OPTIONS[f]
                raise MissingConnectionError(
                    f"the {p.name} profile needs {what}: pass {option} {example}", p.name, f
                )
        extra = sorted(given - accepted)
        if extra:
            opts = ", ".join(CLI_OPTIONS[f][0] for f in extra)
            uses = ", ".join(CLI_OPTIONS[f][0] for f in p.connection.accepted) or "no options"
            raise DeviceError(f"the {p.name} profile does not use {opts} (it takes {uses})")
        mac = self._conn.mac_address
        if mac not in (None, "") and not _MAC_RE.fullmatch(str(mac).strip()):
            raise DeviceError(
                f"--mac-address {mac!r} is not a Bluetooth address: expected six pairs of hex "
                "digits like 00:55:DA:B3:12:34 (on macOS the device's UUID)"
            )
        for f in _CHECKED_TEXT_FIELDS:  # (the command line refuses these first; the API too)
            value = getattr(self._conn, f)
            if value is not None and len(str(value)) > MAX_CONNECTION_TEXT:
                raise DeviceError(
                    f"{CLI_OPTIONS[f][0]} is {len(str(value))} characters long: at most "
                    f"{MAX_CONNECTION_TEXT} are taken (BrainFlow would abort on a long one)"
                )

    def _resolve_master(self, layout: SourceLayout | None) -> int | None:
        if not self._playback:
            return None
        p = self._profile
        candidates = []
        master = self._conn.master_board
        if master is not None and master != "":
            board_id, self._master_profile = resolve_master_board(master)
            candidates.append(board_id)
        if layout is not None:
            candidates.append(int(layout.board_id))
        if p.master_board_id is not None:
            candidates.append(p.master_board_id)
        if not p.is_playback:
            candidates.append(p.board_id)
        if not candidates:
            return p.data_board_id(None)  # raises the DeviceError naming --master-board
        if len(set(candidates)) > 1:
            names = sorted({BoardIds(c).name for c in candidates})
            raise DeviceError(
                f"conflicting master boards for {p.name}: {', '.join(names)}; the files can "
                "have the row layout of one board only"
            )
        return candidates[0]

    def _restrict_to_files(self, layout: SourceLayout) -> SourceLayout:
        have = {
            pr for pr, f in _PRESET_FILE_FIELD.items() if getattr(self._conn, f) not in (None, "")
        }
        presets = tuple(p for p in layout.presets if p.preset in have)
        if not presets:
            raise DeviceError(
                f"no playback file for any preset of {self._profile.name}: pass --file"
            )
        kept = {p.preset for p in presets}
        groups = tuple(g for g in layout.groups if g.preset in kept)
        return replace(layout, presets=presets, groups=groups)

    def _input_params(self) -> BrainFlowInputParams:
        c = self._conn
        params = BrainFlowInputParams()
        for name in ("serial_port", "mac_address", "serial_number", "ip_address", "other_info"):
            value = getattr(c, name)
            if value:
                setattr(params, name, _utf8_text(name, str(value)))
        if c.ip_port:
            params.ip_port = int(c.ip_port)
        timeout = c.timeout if c.timeout is not None else self._profile.connection.timeout_s
        if timeout:
            params.timeout = math.ceil(timeout)
        if self._playback:
            for name in ("file", "file_aux", "file_anc"):
                value = getattr(c, name)
                if value:
                    setattr(params, name, _utf8_text(name, os.fspath(value)))
            params.master_board = int(self._master_id)  # type: ignore[arg-type]
        return params

    def _board_params(self) -> BrainFlowInputParams:
        """The input params BrainFlow gets: the files a person named, or their copies in
        seconds (:attr:`_copies`)."""
        if not self._copies:
            return self._params
        params = self._input_params()
        for preset, copy in self._copies.items():
            setattr(params, _PRESET_FILE_FIELD[preset], os.fspath(copy))
        return params

    def _fail(self, exc: BrainFlowError, action: str) -> DeviceError:
        return DeviceError(brainflow_error_message(exc, action, self._profile.title, self._conn))

    def _check_files(self) -> None:
        """Playback: files exist, have the master board's row count (and, when checked, its
        rate); remember their lengths; copy those stamped in Unix ms or µs to seconds."""
        self._file_samples = {}
        for p in self._layout.presets:
            path = Path(getattr(self._conn, _PRESET_FILE_FIELD[p.preset]))
            if path.is_dir():
                raise DeviceError(f"the playback file {path} is a folder, not a file")
            if not path.is_file():
                what = "is not a regular file" if path.exists() else "does not exist"
                raise DeviceError(f"the playback file {path} {what}")
            try:
                n, cols = _count_lines(path, p.num_rows)
            except OSError as exc:
                raise DeviceError(
                    f"cannot read the playback file {path}: {exc.strerror or exc}"
                ) from exc
            except ValueError as exc:
                raise DeviceError(
                    f"the playback file {path} is not a BrainFlow recording ({exc})"
                ) from exc
            if cols == 0:  # (with the first line's columns right, n is at least 1)
                raise DeviceError(f"the playback file {path} is empty")
            if cols != p.num_rows:
                raise DeviceError(
                    f"the playback file {path} has {cols} columns but the {p.preset} preset of "
                    f"{BoardIds(self._layout.board_id).name} has {p.num_rows}: was it recorded "
                    "by another board? (check --master-board)"
                )
            scale = self._check_file_rate(path, p) if self._check_rate else self._scale(path, p)
            if scale != 1.0:
                self._copies[p.preset] = self._seconds_copy(path, p, scale)
            self._file_samples[p.preset] = n

    def _scale(self, path: Path, p: PresetLayout) -> float:
        """What the timestamps of the file are multiplied by to be seconds."""
        try:
            return playback_file_scale(path, p.num_rows, p.timestamp_row)
        except OSError as exc:
            raise DeviceError(
                f"cannot read the playback file {path}: {exc.strerror or exc}"
            ) from exc

    def _seconds_copy(self, path: Path, p: PresetLayout, scale: float) -> Path:
        """A private copy of the file with its timestamps (times ``scale``) in seconds."""
        try:
            return write_seconds_copy(path, p.num_rows, p.timestamp_row, scale)
        except OSError as exc:
            raise DeviceError(
                f"cannot read the playback file {path}: {exc.strerror or exc}"
            ) from exc

    def _check_file_rate(self, path: Path, p: PresetLayout) -> float:
        """Refuse a file whose timestamps give another rate than the master board's preset
        (BrainFlow plays it at the file's rate; the samples would be taken at the board's);
        return what its timestamps are multiplied by to be seconds."""
        board = BoardIds(self._layout.board_id).name
        if p.preset != "default":
            board = f"the {p.preset} preset of {board}"
        if self._profile.is_playback and self._profile.master_board_id is None:
            advice = "choose the board the file was recorded with (--master-board)"
        else:
            advice = (
                "play it with --device playback and the board it was recorded with "
                f"(--master-board), not with the {self._profile.name} profile"
            )
        try:
            return check_playback_rate(path, p.num_rows, p.timestamp_row, p.fs, board, advice)
        except OSError as exc:
            raise DeviceError(
                f"cannot read the playback file {path}: {exc.strerror or exc}"
            ) from exc

    # ------------------------------------------------------------------ lifecycle

    def prepare(self) -> None:
        """Open the session (``prepare_session``) and send the profile's board commands."""
        if self._state not in (SourceState.IDLE, SourceState.RELEASED):
            raise DeviceError(f"the {self._profile.title} is already prepared")
        if os.environ.get(LOG_ENV):
            BoardShim.enable_dev_board_logger()
        else:
            BoardShim.disable_board_logger()
        try:
            self._open_session()
        except BaseException:
            _remove_copies(self._copies)
            raise
        self._state = SourceState.PREPARED

    def _open_session(self) -> None:
        """Check the files (playback), open the session and configure the board."""
        if self._playback:
            self._check_files()
        board = self._board_factory(self._board_id, self._board_params())
        try:
            board.prepare_session()
        except BrainFlowError as exc:
            raise self._fail(exc, "open") from exc
        self._board = board
        try:
            if self._playback:
                board.config_board("loopback_true" if self._loopback else "loopback_false")
                stamps = "old_timestamps" if self._keep_file_timestamps else "new_timestamps"
                board.config_board(stamps)
            else:
                for command in self._profile.board_config:
                    board.config_board(command)
        except BrainFlowError as exc:
            self._release_quietly()
            raise self._fail(exc, "configure") from exc

    def start(self) -> None:
        """Start streaming into a ring buffer of :attr:`buffer_size` samples per preset."""
        if self._state is not SourceState.PREPARED and self._state is not SourceState.STOPPED:
            raise DeviceError(f"the {self._profile.title} must be prepared before it starts")
        try:
            self._board.start_stream(self.buffer_size)
        except BrainFlowError as exc:
            raise self._fail(exc, "start") from exc
        self._delivered = {p.preset: 0 for p in self._layout.presets}
        self._timestamp_scales = {}
        self._last_data_at = self._clock.now()
        self._state = SourceState.STREAMING

    def poll(self) -> Chunk:
        """Return every sample that arrived since the previous poll (never blocks).

        After :meth:`stop`, one more poll returns what arrived before the stop. In any other
        state without a session the chunk is empty.
        """
        now = self._clock.now()
        if self._board is None or self._state in (
            SourceState.IDLE,
            SourceState.PREPARED,
            SourceState.RELEASED,
        ):
            return self._layout.empty_chunk(now)
        raw: dict[str, np.ndarray] = {}
        try:
            for p in self._layout.presets:
                raw[p.preset] = self._board.get_board_data(preset=PRESET_IDS[p.preset])
        except BrainFlowError as exc:
            raise self._fail(exc, "read") from exc
        now = self._clock.now()
        new = 0
        for name, a in raw.items():
            n = int(a.shape[1])
            new += n
            if name in self._delivered:
                self._delivered[name] += n
            if n:
                self._to_seconds(name, a)
        if self._state in (SourceState.STREAMING, SourceState.SILENT, SourceState.ENDED):
            self._update_state(now, new)
        return Chunk(raw=raw, signals=self._layout.split(raw), received_at=now)

    def _to_seconds(self, preset: str, data: np.ndarray) -> None:
        """Scale the timestamp row of ``data`` to seconds, in place, with the scale the first
        chunk with usable timestamps showed (:func:`typical_timestamp`)."""
        row = self._layout.preset(preset).timestamp_row
        scale = self._timestamp_scales.get(preset)
        if scale is None:
            typical = typical_timestamp(data[row])
            if typical is None:
                return  # (judged on the next chunk)
            scale = self._timestamp_scales[preset] = timestamp_scale(typical)
        if scale != 1.0:
            data[row] *= scale

    def _update_state(self, now: float, new: int) -> None:
        if new:
            self._last_data_at = now
        if (
            self._playback
            and not self._loopback
            and self._file_samples
            and all(self._delivered.get(p, 0) >= n for p, n in self._file_samples.items())
        ):
            self._state = SourceState.ENDED
        elif new:
            self._state = SourceState.STREAMING
        elif now - self._last_data_at >= self._silence_timeout:
            self._state = SourceState.SILENT

    def stop(self) -> None:
        """Stop streaming (data already buffered can still be polled once)."""
        if self._board is None or self._state not in (
            SourceState.STREAMING,
            SourceState.SILENT,
            SourceState.ENDED,
        ):
            return
        try:
            self._board.stop_stream()
        except BrainFlowError as exc:
            raise self._fail(exc, "stop") from exc
        finally:
            self._state = SourceState.STOPPED

    def release(self) -> None:
        """Close the session and free BrainFlow's resources (safe to call more than once)."""
        if self._board is not None:
            if self._state in (SourceState.STREAMING, SourceState.SILENT, SourceState.ENDED):
                with contextlib.suppress(BrainFlowError):
                    self._board.stop_stream()
            self._release_quietly()
        _remove_copies(self._copies)  # (BrainFlow has closed them: its threads are joined)
        self._state = SourceState.RELEASED

    def _release_quietly(self) -> None:
        # Nothing a person can do about a failed release; the session is gone either way.
        with contextlib.suppress(BrainFlowError):
            self._board.release_session()
        self._board = None

    def insert_marker(self, value: float, preset: str = "default") -> None:
        """Write ``value`` into the marker row of the next sample of ``preset``."""
        if self._board is None:
            raise DeviceError(f"the {self._profile.title} is not open")
        try:
            self._board.insert_marker(float(value), PRESET_IDS[preset])
        except BrainFlowError as exc:
            raise self._fail(exc, "mark") from exc

    def __enter__(self) -> BrainFlowSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return (
            f"BrainFlowSource({self._profile.name!r}, board={BoardIds(self._board_id).name}, "
            f"state={self._state.name})"
        )


def _remove_copies(copies: dict[str, Path]) -> None:
    """Delete a source's copies of playback files in seconds, and forget them (also run when
    the source is garbage-collected or the program exits)."""
    for copy in copies.values():
        remove_copy(copy)
    copies.clear()
