"""Device profiles: one TOML file per board in the repository's ``devices/`` folder.

A profile names a BrainFlow board and says which rows of which BrainFlow preset carry which
physiological role (EEG, ECG, PPG, EDA, accelerometer...), which connection fields a person must
fill in, and a few sensible defaults. Profiles are validated on load against the *installed*
BrainFlow (``BoardShim.get_board_presets`` first, then ``BoardShim.get_board_descr`` only for
presets the board has: asking BrainFlow 5.23 for a preset a board lacks makes a later
``start_stream`` fail with GENERAL_ERROR). Every problem raises
:class:`~biotrainer.errors.ConfigError` naming the file, the dotted key and what is wrong.

Schema (keys marked * are required)::

    name* = "muse2"                  # equals the file stem
    title* = "Muse 2 (InteraXon)"
    board* = "MUSE_2_BOARD"          # a brainflow BoardIds member name
    master_board = "SYNTHETIC_BOARD" # only with board = "PLAYBACK_FILE_BOARD"
    description = "..."
    board_config = ["p61"]           # config_board commands sent after prepare_session
    [connection]
    required = ["serial_port"]       # among CONNECTION_FIELDS
    optional = ["mac_address"]
    timeout = 15                     # seconds (BrainFlowInputParams.timeout)
    [[channels]]                     # one table per role; none for the generic playback profile
    role* = "eeg"                    # a ROLES member
    preset = "default"               # default | auxiliary | ancillary
    rows* = "eeg_channels"           # a key of the preset's board description, or a list of ints
    names = ["TP9", "AF7"]           # defaults: eeg_names of the board, else role + index
    units = "uV"                     # defaults: DEFAULT_UNITS[role]
    [defaults]                       # all optional, see ProfileDefaults
    line_frequency = 50
    alpha_channels = ["TP9", "TP10"]
    hr_source = "ppg"
    [simulator]                      # free-form; simulator profiles only (checked there)
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from brainflow.board_shim import BoardIds, BoardShim, BrainFlowError, BrainFlowPresets

from biotrainer.acquisition.chunk import PRESETS, ROLES
from biotrainer.acquisition.counter import MAX_MODULO, MAX_SAMPLES_PER_VALUE, PacketCounter
from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout
from biotrainer.errors import EXCERPT_CHARS, ConfigError, DeviceError, excerpt
from biotrainer.limits import MAX_TIMEOUT_S
from biotrainer.paths import path_too_long, read_config_text, shown_short

#: Environment variable overriding the profiles folder.
DEVICES_ENV = "BIOTRAINER_DEVICES"

#: BrainFlowInputParams fields a profile may ask for (plus the playback-only ones).
CONNECTION_FIELDS = (
    "serial_port",
    "mac_address",
    "serial_number",
    "ip_address",
    "ip_port",
    "file",
    "file_aux",
    "file_anc",
    "master_board",
    "other_info",
)

#: Unit of each role when a profile does not say (as BrainFlow delivers them).
DEFAULT_UNITS = {
    "eeg": "uV",
    "ecg": "uV",
    "ppg": "a.u.",
    "resp": "a.u.",
    "eda": "uS",
    "accel": "g",
    "gyro": "deg/s",
    "temp": "degC",
    "marker": "",
}

#: BrainFlow preset name -> BrainFlowPresets value.
PRESET_IDS = {
    "default": int(BrainFlowPresets.DEFAULT_PRESET),
    "auxiliary": int(BrainFlowPresets.AUXILIARY_PRESET),
    "ancillary": int(BrainFlowPresets.ANCILLARY_PRESET),
}

PLAYBACK_BOARD_ID = int(BoardIds.PLAYBACK_FILE_BOARD)

_TOP_KEYS = {
    "name",
    "title",
    "board",
    "master_board",
    "description",
    "board_config",
    "connection",
    "channels",
    "defaults",
    "simulator",
    "counters",
}
_CONNECTION_KEYS = {"required", "optional", "timeout"}
_CHANNEL_KEYS = {"role", "preset", "rows", "names", "units"}
_DEFAULT_KEYS = {"line_frequency", "alpha_channels", "hr_source"}
_COUNTER_KEYS = {"samples_per_value", "step", "modulo"}

#: Description key used to name rows of each role when deriving a layout for an unknown board.
_DERIVED_ROLE_KEYS = (
    ("eeg", "eeg_channels"),
    ("ecg", "ecg_channels"),
    ("ppg", "ppg_channels"),
    ("eda", "eda_channels"),
    ("accel", "accel_channels"),
    ("gyro", "gyro_channels"),
    ("temp", "temperature_channels"),
)


@dataclass(frozen=True)
class ChannelSpec:
    """The rows of one preset that carry one role, resolved against the board description.

    Attributes
    ----------
    role : str
        One of :data:`biotrainer.acquisition.chunk.ROLES`.
    preset : str
        ``"default"``, ``"auxiliary"`` or ``"ancillary"``.
    rows : tuple of int
        Row indices in that preset's BrainFlow array.
    names : tuple of str
        One label per row (electrode position where known).
    units : str
        Physical unit of the values.
    rows_key : str or None
        The board-description key the rows came from (``None`` for an explicit list).
    """

    role: str
    preset: str
    rows: tuple[int, ...]
    names: tuple[str, ...]
    units: str
    rows_key: str | None = None


@dataclass(frozen=True)
class ConnectionSpec:
    """Which :data:`CONNECTION_FIELDS` a person must (``required``) or may (``optional``) give.

    Attributes
    ----------
    required, optional : tuple of str
    timeout_s : float or None
        Discovery / answer timeout passed to BrainFlow, seconds (``None``: BrainFlow's default).
    """

    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    timeout_s: float | None = None

    @property
    def accepted(self) -> tuple[str, ...]:
        """Every field the profile uses (required first)."""
        return self.required + self.optional


@dataclass(frozen=True)
class ProfileDefaults:
    """Typed ``[defaults]`` of a profile.

    Attributes
    ----------
    line_frequency_hz : float
        The mains frequency where the device is used (50 or 60 Hz). Checked, not applied: the
        quality check detects 50 or 60 Hz mains hum itself, wherever the device is.
    alpha_channels : tuple of str
        EEG channel names alpha feedback and the relaxation index come from while any of them
        is usable (empty: every usable EEG channel); carried by :meth:`DeviceProfile.layout`.
    hr_source : str or None
        Role the heart rate comes from (``"ecg"`` or ``"ppg"``), ``None`` when the device has none.
        Checked, not applied: the engine takes the ECG when there is one, else the PPG.
    """

    line_frequency_hz: float = 50.0
    alpha_channels: tuple[str, ...] = ()
    hr_source: str | None = None


@dataclass(frozen=True)
class DeviceProfile:
    """A validated device profile.

    Attributes
    ----------
    name, title, description : str
    board : str
        BrainFlow ``BoardIds`` member name.
    board_id : int
    master_board : str or None
        For ``PLAYBACK_FILE_BOARD`` profiles: the board whose row layout the files have
        (``None``: given at run time by the connection or the recording).
    master_board_id : int or None
    board_config : tuple of str
        ``config_board`` commands sent after ``prepare_session`` (e.g. ``"p61"`` enables Muse PPG).
    connection : ConnectionSpec
    channels : tuple of ChannelSpec
    defaults : ProfileDefaults
    simulator : dict or None
        The free-form ``[simulator]`` table of simulator profiles.
    counters : tuple of (str, PacketCounter)
        Per preset (``[counters.<preset>]``), how its package-number row counts the device's
        packets, for the presets where it is the device's own sequence number.
    path : Path
        The file it was loaded from.
    """

    name: str
    title: str
    board: str
    board_id: int
    description: str
    connection: ConnectionSpec
    channels: tuple[ChannelSpec, ...]
    defaults: ProfileDefaults
    path: Path
    master_board: str | None = None
    master_board_id: int | None = None
    board_config: tuple[str, ...] = ()
    simulator: dict[str, Any] | None = field(default=None, compare=False)
    counters: tuple[tuple[str, PacketCounter], ...] = ()

    @property
    def is_playback(self) -> bool:
        """True when the profile opens BrainFlow's PLAYBACK_FILE_BOARD."""
        return self.board_id == PLAYBACK_BOARD_ID

    @property
    def is_live(self) -> bool:
        """True when the profile streams from hardware (or BrainFlow's synthetic board): not a
        playback of files and not a rendered simulator scenario, which end rather than drop."""
        return not self.is_playback and self.simulator is None

    @property
    def roles(self) -> tuple[str, ...]:
        """Roles the profile declares (empty for the generic playback profile)."""
        return tuple(c.role for c in self.channels)

    def data_board_id(self, master_board_id: int | None = None) -> int:
        """The board whose row layout the data has (the master board for playback).

        Raises
        ------
        DeviceError
            A playback profile without a master board, and none given.
        ValueError
            ``master_board_id`` contradicts the profile.
        """
        if not self.is_playback:
            if master_board_id is not None and int(master_board_id) != self.board_id:
                raise ValueError(
                    f"profile {self.name} has the layout of {self.board}, not board "
                    f"{master_board_id}"
                )
            return self.board_id
        if self.master_board_id is not None:
            if master_board_id is not None and int(master_board_id) != self.master_board_id:
                raise ValueError(
                    f"profile {self.name} plays files of {self.master_board}, not board "
                    f"{master_board_id}"
                )
            return self.master_board_id
        if master_board_id is None:
            raise DeviceError(
                f"the {self.name} profile needs the board that recorded the file: pass "
                "--master-board with a device profile or BrainFlow board name (e.g. muse2 or "
                "MUSE_2_BOARD), or replay a session folder"
            )
        return int(master_board_id)

    def layout(self, master_board_id: int | None = None) -> SourceLayout:
        """Return how this profile's raw BrainFlow arrays map to roles.

        Parameters
        ----------
        master_board_id : int, optional
            For the generic playback profile: the board that recorded the files. Its layout is
            that of the shipped profile of that board when there is one, else derived from the
            board description.
        """
        board_id = self.data_board_id(master_board_id)
        if self.is_playback and not self.channels:
            return replace(layout_for_board(board_id), device=self.name)
        layout = _build_layout(self.name, board_id, self.channels, dict(self.counters))
        # (the profile's alpha sites go with every recording, so a replay feeds back as live)
        return replace(layout, alpha_channels=self.defaults.alpha_channels)


# --------------------------------------------------------------------------- loading


def profiles_dir() -> Path:
    """The folder of device profiles: ``$BIOTRAINER_DEVICES`` or the repository's ``devices/``."""
    env = os.environ.get(DEVICES_ENV)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[3] / "devices"


def check_profiles_dir() -> Path:
    """:func:`profiles_dir`, refused when it is not a folder (e.g. a mistyped
    ``$BIOTRAINER_DEVICES``).

    Raises
    ------
    DeviceError
        If the folder does not exist or is a file.
    """
    d = profiles_dir()
    where = f" (set by ${DEVICES_ENV})" if os.environ.get(DEVICES_ENV) else ""
    too_long = path_too_long(d)
    if too_long is not None:
        raise DeviceError(f"the device profile folder {shown_short(d)}{where}: {too_long}")
    if not d.is_dir():
        problem = "is a file, not a folder" if d.exists() else "does not exist"
        raise DeviceError(f"the device profile folder {d}{where} {problem}")
    return d


def profile_names(directory: str | os.PathLike[str] | None = None) -> list[str]:
    """Sorted names (file stems) of the profiles in ``directory`` (default: profiles_dir())."""
    d = Path(directory) if directory is not None else profiles_dir()
    if not d.is_dir():
        return []
    return sorted(p.stem for p in d.glob("*.toml"))


def list_profiles(directory: str | os.PathLike[str] | None = None) -> list[DeviceProfile]:
    """Load and validate every profile in ``directory`` (default :func:`profiles_dir`).

    Raises
    ------
    ConfigError
        The first malformed profile.
    """
    d = Path(directory) if directory is not None else profiles_dir()
    return [load_profile(d / f"{n}.toml") for n in profile_names(d)]


def load_profile(name_or_path: str | os.PathLike[str]) -> DeviceProfile:
    """Load and validate one profile by name (in :func:`profiles_dir`) or by path.

    Raises
    ------
    DeviceError
        No profile of that name exists.
    ConfigError
        The file is malformed or does not match the installed BrainFlow, or its path is too
        long for the system.
    """
    text = str(name_or_path)
    looks_like_path = (
        isinstance(name_or_path, os.PathLike) or text.endswith(".toml") or os.sep in text
    )
    if looks_like_path:
        path = Path(name_or_path)
    else:
        check_profiles_dir()
        path = profiles_dir() / f"{text}.toml"
        too_long = path_too_long(path)
        if too_long is not None:  # (the system would not even say whether it exists)
            raise ConfigError(shown_short(path), "", too_long)
        if not path.exists():  # (one that is not a regular file is refused below)
            names = profile_names()
            close = difflib.get_close_matches(text, names, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise DeviceError(
                f"unknown device profile '{text}'.{hint} Available: {', '.join(names) or 'none'} "
                "(see 'biotrainer devices')."
            )
    return _parse(path, _read_toml(path))


def _read_toml(path: Path) -> dict:
    """The TOML document of a profile file; a pipe or a device is refused, never read.

    Raises
    ------
    ConfigError
        When the file is missing, not a regular file, unreadable, not UTF-8 or not TOML.
    """
    text = read_config_text(path, "no such device profile file", what="device profile file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"not valid TOML: {exc}") from exc


# --------------------------------------------------------------------------- validation


class _Checker:
    """Small helpers that raise ConfigError for one file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(str(self.path), key, problem)

    def unknown_keys(self, table: dict, allowed: set[str], prefix: str) -> None:
        for k in table:
            if k not in allowed:
                close = difflib.get_close_matches(k, sorted(allowed), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.fail(
                    f"{prefix}{k if len(k) <= EXCERPT_CHARS else excerpt(k)}",
                    f"unknown key{hint}; allowed: {', '.join(sorted(allowed))}",
                )

    def string(self, table: dict, key: str, dotted: str, *, required: bool) -> str | None:
        if key not in table:
            if required:
                raise self.fail(dotted, "missing (required)")
            return None
        v = table[key]
        if not isinstance(v, str):
            raise self.fail(dotted, f"must be a string, got {type(v).__name__} {excerpt(v)}")
        if required and not v.strip():
            raise self.fail(dotted, "must not be empty")
        return v

    def str_list(self, table: dict, key: str, dotted: str) -> tuple[str, ...]:
        v = table.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise self.fail(dotted, f"must be a list of strings, got {excerpt(v)}")
        return tuple(v)

    def table(self, doc: dict, key: str, dotted: str) -> dict:
        v = doc.get(key, {})
        if not isinstance(v, dict):
            raise self.fail(dotted, f"must be a table ([{dotted}]), got {type(v).__name__}")
        return v


def _board_id(chk: _Checker, name: str, key: str) -> int:
    try:
        return int(BoardIds[name])
    except KeyError:
        close = difflib.get_close_matches(name, list(BoardIds.__members__), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise chk.fail(key, f"unknown BrainFlow board {excerpt(name)}{hint}") from None


def board_presets(board_id: int) -> tuple[str, ...]:
    """Names of the presets ``board_id`` has in the installed BrainFlow, in PRESETS order.

    Uses ``BoardShim.get_board_presets`` only, so it never asks for a preset a board lacks.
    """
    ids = {int(p) for p in BoardShim.get_board_presets(board_id)}
    return tuple(p for p in PRESETS if PRESET_IDS[p] in ids)


def board_description(board_id: int, preset: str) -> dict[str, Any]:
    """``BoardShim.get_board_descr`` of a preset, after checking the board has that preset.

    Raises
    ------
    KeyError
        The board has no such preset (BrainFlow is not asked).
    """
    if preset not in board_presets(board_id):
        raise KeyError(preset)
    return BoardShim.get_board_descr(board_id, PRESET_IDS[preset])


def _parse(path: Path, doc: dict) -> DeviceProfile:
    chk = _Checker(path)
    chk.unknown_keys(doc, _TOP_KEYS, "")

    name = chk.string(doc, "name", "name", required=True)
    assert name is not None
    if name != path.stem:
        raise chk.fail("name", f"{excerpt(name)} must equal the file name '{path.stem}'")
    title = chk.string(doc, "title", "title", required=True) or ""
    description = chk.string(doc, "description", "description", required=False) or ""
    board = chk.string(doc, "board", "board", required=True) or ""
    board_id = _board_id(chk, board, "board")
    board_config = chk.str_list(doc, "board_config", "board_config")

    master = chk.string(doc, "master_board", "master_board", required=False)
    master_id: int | None = None
    if master is not None:
        if board_id != PLAYBACK_BOARD_ID:
            raise chk.fail("master_board", 'only allowed with board = "PLAYBACK_FILE_BOARD"')
        master_id = _board_id(chk, master, "master_board")
        if master_id == PLAYBACK_BOARD_ID:
            raise chk.fail("master_board", "must be the board that recorded the files")

    connection = _parse_connection(chk, chk.table(doc, "connection", "connection"))

    raw_channels = doc.get("channels", [])
    if not isinstance(raw_channels, list) or not all(isinstance(c, dict) for c in raw_channels):
        raise chk.fail("channels", "must be an array of tables ([[channels]])")
    data_board = master_id if board_id == PLAYBACK_BOARD_ID else board_id
    if data_board is None:
        if raw_channels:
            raise chk.fail(
                "channels",
                "a playback profile without master_board cannot name rows: the layout comes "
                "from the recording or the --master-board option",
            )
        channels: tuple[ChannelSpec, ...] = ()
    else:
        if not raw_channels:
            raise chk.fail("channels", "missing: declare at least one [[channels]] table")
        presets = board_presets(data_board)
        channels = tuple(
            _parse_channel(chk, c, i, data_board, presets) for i, c in enumerate(raw_channels)
        )
        seen: set[str] = set()
        for i, c in enumerate(channels):
            if c.role in seen:
                raise chk.fail(f"channels[{i}].role", f"role '{c.role}' is declared twice")
            seen.add(c.role)

    defaults = _parse_defaults(chk, chk.table(doc, "defaults", "defaults"), channels)

    simulator = doc.get("simulator")
    if simulator is not None and not isinstance(simulator, dict):
        raise chk.fail("simulator", "must be a table ([simulator])")
    counters = _parse_counters(chk, chk.table(doc, "counters", "counters"), data_board)

    return DeviceProfile(
        name=name,
        title=title,
        board=board,
        board_id=board_id,
        description=description,
        connection=connection,
        channels=channels,
        defaults=defaults,
        path=path,
        master_board=master,
        master_board_id=master_id,
        board_config=board_config,
        simulator=simulator,
        counters=counters,
    )


def _parse_counters(
    chk: _Checker, table: dict, board_id: int | None
) -> tuple[tuple[str, PacketCounter], ...]:
    """The ``[counters.<preset>]`` tables: each preset one the board has, with a package-number
    row, and whole numbers in range."""
    if table and board_id is None:
        raise chk.fail("counters", "a playback profile without master_board has no rows to count")
    out: list[tuple[str, PacketCounter]] = []
    for preset, spec in table.items():
        shown = preset if len(preset) <= EXCERPT_CHARS else excerpt(preset)
        key = f"counters.{shown}"
        if not isinstance(spec, dict):
            raise chk.fail(key, f"must be a table ([{key}]), got {type(spec).__name__}")
        assert board_id is not None
        presets = board_presets(board_id)
        if preset not in presets:
            raise chk.fail(
                key,
                f"board {BoardIds(board_id).name} has no {shown} preset in this "
                f"BrainFlow (it has: {', '.join(presets)})",
            )
        row = BoardShim.get_board_descr(board_id, PRESET_IDS[preset]).get("package_num_channel")
        if row is None:
            raise chk.fail(
                key, f"the {preset} preset of {BoardIds(board_id).name} has no package numbers"
            )
        chk.unknown_keys(spec, _COUNTER_KEYS, key + ".")
        per = _whole_key(chk, spec, "samples_per_value", key, 1, MAX_SAMPLES_PER_VALUE)
        modulo = _whole_key(chk, spec, "modulo", key, 2, MAX_MODULO)
        step = _whole_key(chk, spec, "step", key, 1, modulo - 1, default=1)
        out.append((preset, PacketCounter(int(row), per, step, modulo)))
    return tuple(out)


def _whole_key(
    chk: _Checker, table: dict, name: str, key: str, lo: int, hi: int, default: int | None = None
) -> int:
    """``table[name]``, a whole number in ``lo..hi`` (``default`` when absent, if given)."""
    if name not in table:
        if default is not None:
            return default
        raise chk.fail(f"{key}.{name}", "missing (required)")
    v = table[name]
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise chk.fail(f"{key}.{name}", f"must be a whole number in {lo}..{hi}, got {excerpt(v)}")
    return v


def _parse_connection(chk: _Checker, table: dict) -> ConnectionSpec:
    chk.unknown_keys(table, _CONNECTION_KEYS, "connection.")
    required = chk.str_list(table, "required", "connection.required")
    optional = chk.str_list(table, "optional", "connection.optional")
    for key, fields in (("required", required), ("optional", optional)):
        for f in fields:
            if f not in CONNECTION_FIELDS:
                raise chk.fail(
                    f"connection.{key}",
                    f"unknown connection field {excerpt(f)}; known: {', '.join(CONNECTION_FIELDS)}",
                )
    both = set(required) & set(optional)
    if both:
        raise chk.fail("connection.optional", f"{sorted(both)} also listed as required")
    timeout = table.get("timeout")
    if timeout is not None:
        # (TOML has inf and nan: both passed "> 0" or failed it silently, and broke the
        # connection with a traceback)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not 0 < timeout <= MAX_TIMEOUT_S
        ):
            raise chk.fail(
                "connection.timeout",
                f"must be a positive number of seconds, at most {MAX_TIMEOUT_S:g}, got "
                f"{excerpt(timeout)}",
            )
        timeout = float(timeout)
    return ConnectionSpec(required=required, optional=optional, timeout_s=timeout)


def _parse_channel(
    chk: _Checker, table: dict, i: int, board_id: int, presets: tuple[str, ...]
) -> ChannelSpec:
    prefix = f"channels[{i}]."
    chk.unknown_keys(table, _CHANNEL_KEYS, prefix)
    role = chk.string(table, "role", prefix + "role", required=True)
    if role not in ROLES:
        raise chk.fail(prefix + "role", f"unknown role {excerpt(role)}; known: {', '.join(ROLES)}")
    preset = chk.string(table, "preset", prefix + "preset", required=False) or "default"
    if preset not in PRESETS:
        raise chk.fail(
            prefix + "preset", f"unknown preset {excerpt(preset)}; known: {', '.join(PRESETS)}"
        )
    if preset not in presets:
        raise chk.fail(
            prefix + "preset",
            f"board {BoardIds(board_id).name} has no {preset} preset in this BrainFlow "
            f"(it has: {', '.join(presets)})",
        )
    descr = BoardShim.get_board_descr(board_id, PRESET_IDS[preset])
    num_rows = int(descr["num_rows"])

    if "rows" not in table:
        raise chk.fail(prefix + "rows", "missing (required)")
    rows_value = table["rows"]
    rows_key: str | None = None
    if isinstance(rows_value, str):
        rows_key = rows_value
        if rows_key not in descr:
            keys = sorted(k for k, v in descr.items() if isinstance(v, list))
            raise chk.fail(
                prefix + "rows",
                f"{excerpt(rows_key)} is not in the {preset} description of "
                f"{BoardIds(board_id).name}; "
                f"it has: {', '.join(keys)}",
            )
        found = descr[rows_key]
        if isinstance(found, int) and not isinstance(found, bool):
            rows = (found,)
        elif isinstance(found, list) and all(isinstance(r, int) for r in found):
            rows = tuple(found)
        else:
            raise chk.fail(
                prefix + "rows", f"{excerpt(rows_key)} does not name rows ({excerpt(found)})"
            )
    elif isinstance(rows_value, list) and all(
        isinstance(r, int) and not isinstance(r, bool) for r in rows_value
    ):
        rows = tuple(rows_value)
    else:
        raise chk.fail(
            prefix + "rows",
            f"must be a board-description key or a list of row numbers, got {excerpt(rows_value)}",
        )
    if not rows:
        raise chk.fail(prefix + "rows", "names no rows")
    for r in rows:
        if not 0 <= r < num_rows:
            raise chk.fail(
                prefix + "rows",
                f"row {excerpt(r)} is out of range: the {preset} preset of "
                f"{BoardIds(board_id).name} has "
                f"{num_rows} rows (0..{num_rows - 1})",
            )
    repeated = _first_repeated(rows)
    if repeated is not None:
        raise chk.fail(prefix + "rows", f"repeats row {repeated}: {excerpt(list(rows))}")
    for r in rows:
        what = service_row(descr, r, role)
        if what is not None:
            raise chk.fail(
                prefix + "rows",
                f"row {r} is the board's {what} row, not a signal ({BoardIds(board_id).name}, "
                f"{preset} preset)",
            )

    if "names" in table:
        names = chk.str_list(table, "names", prefix + "names")
        if len(names) != len(rows):
            raise chk.fail(prefix + "names", f"has {len(names)} names for {len(rows)} rows")
    else:
        names = _default_names(role, rows, descr)
    twice = _first_repeated(names)
    if twice is not None:
        raise chk.fail(
            prefix + "names",
            f"repeats the name {excerpt(twice)}: each channel needs its own "
            f"({excerpt(list(names))})",
        )
    units = chk.string(table, "units", prefix + "units", required=False)
    if units is None:
        units = DEFAULT_UNITS[role]
    return ChannelSpec(
        role=role, preset=preset, rows=rows, names=names, units=units, rows_key=rows_key
    )


def _first_repeated(items: tuple[Any, ...]) -> Any | None:
    """The first row (or name) that appears a second time in ``items`` (None if each appears
    once)."""
    seen: set[Any] = set()
    for r in items:
        if r in seen:
            return r
        seen.add(r)
    return None


#: Rows of a BrainFlow board that carry no signal: description key -> what the row holds.
SERVICE_ROWS = {
    "timestamp_channel": "timestamp",
    "package_num_channel": "package-number",
    "marker_channel": "marker",
}


def service_row(descr: dict[str, Any], row: int, role: str) -> str | None:
    """What a row of a board's preset holds if it is not a signal (``"timestamp"``,
    ``"package-number"``, ``"marker"``), else None.

    Parameters
    ----------
    descr : dict
        The preset's board description (``BoardShim.get_board_descr``); a board that has no
        package-number or marker row lacks the key.
    row : int
        The row a channel would be read from.
    role : str
        The channel's role: the marker row is the signal of a ``marker`` channel.
    """
    for key, what in SERVICE_ROWS.items():
        if descr.get(key) == row and not (key == "marker_channel" and role == "marker"):
            return what
    return None


def _default_names(role: str, rows: tuple[int, ...], descr: dict) -> tuple[str, ...]:
    """EEG electrode names from the board description where it has them, else role+index."""
    if role == "eeg" and "eeg_names" in descr and "eeg_channels" in descr:
        labels = dict(zip(descr["eeg_channels"], str(descr["eeg_names"]).split(","), strict=False))
        if all(r in labels for r in rows):
            return tuple(labels[r].strip() for r in rows)
    return tuple(f"{role}{i + 1}" for i in range(len(rows)))


def _parse_defaults(
    chk: _Checker, table: dict, channels: tuple[ChannelSpec, ...]
) -> ProfileDefaults:
    chk.unknown_keys(table, _DEFAULT_KEYS, "defaults.")
    out = ProfileDefaults()
    if "line_frequency" in table:
        lf = table["line_frequency"]
        if isinstance(lf, bool) or lf not in (50, 60):
            raise chk.fail("defaults.line_frequency", f"must be 50 or 60 (Hz), got {excerpt(lf)}")
        out = replace(out, line_frequency_hz=float(lf))
    if "alpha_channels" in table:
        alpha = chk.str_list(table, "alpha_channels", "defaults.alpha_channels")
        eeg = next((c for c in channels if c.role == "eeg"), None)
        if eeg is None:
            raise chk.fail("defaults.alpha_channels", "the profile declares no eeg channels")
        missing = [a for a in alpha if a not in eeg.names]
        if missing:
            raise chk.fail(
                "defaults.alpha_channels",
                f"{excerpt(missing)} are not eeg channel names ({excerpt(list(eeg.names))})",
            )
        out = replace(out, alpha_channels=alpha)
    if "hr_source" in table:
        src = chk.string(table, "hr_source", "defaults.hr_source", required=False)
        if src not in ("ecg", "ppg"):
            raise chk.fail("defaults.hr_source", f'must be "ecg" or "ppg", got {excerpt(src)}')
        if channels and src not in {c.role for c in channels}:
            raise chk.fail("defaults.hr_source", f"the profile declares no {src} channels")
        out = replace(out, hr_source=src)
    return out


# --------------------------------------------------------------------------- layouts


def _build_layout(
    device: str,
    board_id: int,
    channels: tuple[ChannelSpec, ...],
    counters: dict[str, PacketCounter] | None = None,
) -> SourceLayout:
    used = {"default"} | {c.preset for c in channels}
    presets = []
    for p in board_presets(board_id):
        if p not in used:
            continue
        d = BoardShim.get_board_descr(board_id, PRESET_IDS[p])
        presets.append(
            PresetLayout(
                preset=p,
                fs=float(d["sampling_rate"]),
                num_rows=int(d["num_rows"]),
                timestamp_row=int(d["timestamp_channel"]),
                marker_row=int(d["marker_channel"]) if "marker_channel" in d else None,
                counter=(counters or {}).get(p),
            )
        )
    groups = tuple(
        ChannelGroup(role=c.role, preset=c.preset, rows=c.rows, names=c.names, units=c.units)
        for c in channels
    )
    return SourceLayout(device=device, board_id=board_id, presets=tuple(presets), groups=groups)


def derived_channels(board_id: int) -> tuple[ChannelSpec, ...]:
    """Channels of a board read from its BrainFlow description alone.

    Each role of :data:`_DERIVED_ROLE_KEYS` is taken from the first preset that has its key.
    ECG rows that are the EEG rows (BrainFlow lists ExG rows under every ExG key) are skipped.
    """
    presets = board_presets(board_id)
    descrs = {p: BoardShim.get_board_descr(board_id, PRESET_IDS[p]) for p in presets}
    specs: list[ChannelSpec] = []
    for role, key in _DERIVED_ROLE_KEYS:
        for p in presets:
            d = descrs[p]
            rows = d.get(key)
            if not rows:
                continue
            if role == "ecg" and rows == d.get("eeg_channels"):
                break
            rows = tuple(int(r) for r in rows)
            specs.append(
                ChannelSpec(
                    role=role,
                    preset=p,
                    rows=rows,
                    names=_default_names(role, rows, d),
                    units=DEFAULT_UNITS[role],
                    rows_key=key,
                )
            )
            break
    return tuple(specs)


def layout_for_board(board_id: int) -> SourceLayout:
    """The layout of data recorded from ``board_id``.

    The first shipped (non-playback, non-simulator) profile of that board gives its layout;
    otherwise the layout is derived from BrainFlow's board description
    (:func:`derived_channels`). Profiles that fail to load are skipped here.
    """
    board_id = int(board_id)
    try:
        BoardIds(board_id)
    except ValueError:
        raise DeviceError(f"BrainFlow knows no board with id {board_id}") from None
    check_recording_board(board_id)
    d = profiles_dir()
    for n in profile_names(d):
        try:
            p = load_profile(d / f"{n}.toml")
        except (ConfigError, BrainFlowError):
            continue
        if p.board_id == board_id and p.simulator is None:
            return p.layout()
    return _build_layout(BoardIds(board_id).name.lower(), board_id, derived_channels(board_id))


#: Keys of a preset's board description a layout is built from (:func:`_build_layout`).
_LAYOUT_KEYS = ("sampling_rate", "num_rows", "timestamp_channel")


def check_recording_board(board_id: int) -> None:
    """Refuse a board whose files cannot be played: one BrainFlow has no channel description of
    (``NO_BOARD``, which LSL recordings name in their ``session.json``, ``STREAMING_BOARD``) or
    ``PLAYBACK_FILE_BOARD`` itself.

    Raises
    ------
    DeviceError
        Naming the board and asking for the one that recorded the file.
    """
    name = f"board {BoardIds(board_id).name} ({board_id})"
    if board_id == PLAYBACK_BOARD_ID:
        raise DeviceError(
            f"{name} plays files, it does not record them: name the board that recorded the file"
        )
    described = False
    if board_id != int(BoardIds.NO_BOARD):  # (asking BrainFlow about it logs an error)
        try:
            presets = board_presets(board_id)
            described = bool(presets) and all(
                all(k in board_description(board_id, p) for k in _LAYOUT_KEYS) for p in presets
            )
        except BrainFlowError:
            pass
    if not described:
        raise DeviceError(
            f"{name} has no channel description in BrainFlow: name the board that recorded the file"
        )


def resolve_board(value: str | int) -> int:
    """A board id from a BrainFlow board name, a board id or a device profile name.

    Raises
    ------
    DeviceError
        Nothing matches, or the board cannot have recorded a file
        (:func:`check_recording_board`).
    """
    return resolve_master_board(value)[0]


def resolve_master_board(value: str | int) -> tuple[int, DeviceProfile | None]:
    """The board that recorded a file, from a BrainFlow board name, a board id or a device
    profile name, with the profile when ``value`` names one (its layout is that of the file).

    Raises
    ------
    DeviceError
        Nothing matches, the board cannot have recorded a file
        (:func:`check_recording_board`), or the profile is one that plays any board's files.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            board_id = int(BoardIds(value))
        except ValueError:
            raise DeviceError(f"BrainFlow knows no board with id {value}") from None
        check_recording_board(board_id)
        return board_id, None
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return resolve_master_board(int(text))
    if text.upper() in BoardIds.__members__:
        return resolve_master_board(int(BoardIds[text.upper()]))
    if text in profile_names():
        p = load_profile(text)
        if p.is_playback and p.master_board_id is None:
            raise DeviceError(
                f"the {p.name} profile plays files of any board: name the board that recorded "
                "the file (e.g. muse2 or MUSE_2_BOARD)"
            )
        return p.data_board_id(), p
    raise DeviceError(
        f"'{text}' is neither a device profile nor a BrainFlow board name "
        "(e.g. muse2 or MUSE_2_BOARD)"
    )
