"""A physiological simulator played through BrainFlow.

A simulator device profile (``devices/simulator*.toml``) is a ``PLAYBACK_FILE_BOARD`` profile
with a ``master_board`` and a ``[simulator]`` table. Opening it renders a scenario
(``scenarios/*.toml``) into BrainFlow files in the master board's row layout and plays them
with BrainFlow's playback board, so simulated signals take exactly the path of live ones.

Public API
----------
prepare_playback(profile, connection, options) -> ConnectionParams
    Used by :func:`biotrainer.acquisition.factory.open_source`.
render_scenario(scenario, layout, seed) -> Rendered
    Pure: arrays per preset + :class:`GroundTruth`.
write_rendered(rendered, out_dir)
    BrainFlow files + ``ground_truth/``.
load_scenario(name_or_path) -> Scenario
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from biotrainer.acquisition.simulator.render import (
    GENERATOR_VERSION,
    PRESET_FILES,
    GroundTruth,
    Rendered,
    render_scenario,
    write_rendered,
)
from biotrainer.acquisition.simulator.scenario import (
    Scenario,
    available_scenarios,
    load_scenario,
    parse_scenario,
)
from biotrainer.errors import ConfigError, DeviceError, excerpt
from biotrainer.limits import MAX_SEED

__all__ = [
    "GroundTruth",
    "Rendered",
    "Scenario",
    "available_scenarios",
    "cache_root",
    "load_scenario",
    "parse_scenario",
    "prepare_playback",
    "render_scenario",
    "write_rendered",
]

#: Options :func:`prepare_playback` reads (the rest are the source's own).
SIMULATOR_OPTIONS = ("scenario", "seed", "cache_dir")
#: Renders kept in the cache (a 10-minute 16-channel render is about 50 MB).
MAX_CACHED_RENDERS = 6
_DONE = "complete.json"


#: Environment variable naming the folder of rendered scenarios (instead of the user cache).
CACHE_ENV_VAR = "BIOTRAINER_CACHE"


def cache_root(override: str | os.PathLike[str] | None = None) -> Path:
    """Folder of rendered scenarios: ``override``, else ``$BIOTRAINER_CACHE``, else
    ``simulator`` in the user cache dir (``platformdirs``)."""
    chosen = override or os.environ.get(CACHE_ENV_VAR, "").strip()
    if chosen:
        return Path(chosen).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("biotrainer", appauthor=False)) / "simulator"


def _cache_key(scenario: Scenario, seed: int, layout_dict: dict, packet_loss: float) -> str:
    h = hashlib.sha256()
    key: dict[str, Any] = {"v": GENERATOR_VERSION, "seed": seed, "layout": layout_dict}
    if packet_loss:
        key["packet_loss"] = packet_loss
    h.update(json.dumps(key, sort_keys=True).encode())
    h.update(scenario.text.encode())
    return h.hexdigest()[:20]


def render_to_folder(
    scenario: Scenario,
    layout: Any,
    seed: int,
    cache_dir: str | os.PathLike[str] | None = None,
    packet_loss: float = 0.0,
) -> tuple[Path, dict[str, Path]]:
    """Render into the cache (reusing an earlier identical render) and return (folder, files).

    The cache key hashes the scenario text, the seed, the layout, the packet loss and the
    generator version. A render is written to a temporary folder and renamed into place, so an
    interrupted render is never reused. With ``packet_loss`` (0..0.5), the presets the layout
    counts (:class:`~biotrainer.acquisition.counter.PacketCounter`) come as a wireless link
    delivers them, that share of their packets lost (:func:`lose_packets`).
    """
    from biotrainer.acquisition.simulator.render import layout_for

    layout = layout_for(layout)
    key = _cache_key(scenario, int(seed), layout.to_dict(), packet_loss)
    root = cache_root(cache_dir)
    folder = root / f"{scenario.name}-seed{int(seed)}-{key}"
    done = folder / _DONE
    if done.is_file():
        names = json.loads(done.read_text(encoding="utf-8"))["files"]
        files = {p: folder / n for p, n in names.items()}
        if all(f.is_file() for f in files.values()):
            os.utime(done)  # most recently used
            return folder, files
        # a file of the render is gone (a partial clean-up): render it again, in its place
        with contextlib.suppress(FileNotFoundError):
            done.unlink()
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".render-", dir=root))
        rendered = lose_packets(render_scenario(scenario, layout, int(seed)), packet_loss)
        files = write_rendered(rendered, tmp)
        _write_session_meta(tmp, rendered)
        (tmp / _DONE).write_text(
            json.dumps({"files": {p: f.name for p, f in files.items()}}), encoding="utf-8"
        )
        _move_into_place(tmp, folder)
        _prune(root, keep=folder)
    except OSError as exc:
        raise DeviceError(
            f"cannot write the simulated recording under {root}: {exc.strerror or exc}. "
            f"Make it writable, or point {CACHE_ENV_VAR} at a writable folder."
        ) from exc
    return folder, {p: folder / PRESET_FILES[p] for p in files}


def lose_packets(rendered: Any, loss: float) -> Any:
    """``rendered`` with each counted preset's samples in numbered packets, as a wireless link
    delivers them (:func:`~biotrainer.acquisition.simulator.packets.bluetooth_packets`), a
    share ``loss`` of them lost (drawn from the render's seed); unchanged when ``loss`` is 0."""
    from dataclasses import replace

    import numpy as np

    from biotrainer.acquisition.simulator.packets import bluetooth_packets

    if not loss:
        return rendered
    data = dict(rendered.data)
    for p in rendered.layout.presets:
        c = p.counter
        if c is None or p.preset not in data:
            continue
        rng = np.random.default_rng([rendered.seed, sorted(data).index(p.preset), 0x10557])
        data[p.preset] = bluetooth_packets(
            data[p.preset], p.fs, p.timestamp_row, c.row, c.samples_per_value, loss, rng, c.modulo
        ).data
    return replace(rendered, data=data)


def _move_into_place(tmp: Path, folder: Path) -> None:
    """Rename the finished render ``tmp`` to ``folder``, unless another process finished the
    same render there meanwhile: its files may already be playing, so they stay and ``tmp``
    goes (replacing them made a concurrent ``record`` of the same scenario play nothing)."""
    if not (folder / _DONE).is_file():
        if folder.exists():  # an earlier render that never finished
            shutil.rmtree(folder, ignore_errors=True)
        try:
            os.replace(tmp, folder)
            return
        except OSError:
            if not (folder / _DONE).is_file():
                raise
    shutil.rmtree(tmp, ignore_errors=True)


def _prune(root: Path, keep: Path) -> None:
    """Delete the least recently used renders beyond :data:`MAX_CACHED_RENDERS`, and abandoned
    partial renders more than an hour older than the newest render."""
    done = sorted(
        (d for d in root.iterdir() if (d / _DONE).is_file() and d != keep),
        key=lambda d: (d / _DONE).stat().st_mtime,
        reverse=True,
    )
    for d in done[MAX_CACHED_RENDERS - 1 :]:
        shutil.rmtree(d, ignore_errors=True)
    newest = (keep / _DONE).stat().st_mtime
    for d in root.glob(".render-*"):
        if d.stat().st_mtime < newest - 3600:
            shutil.rmtree(d, ignore_errors=True)


def _write_session_meta(folder: Path, rendered: Any) -> None:
    """Make the render a complete session folder too, so it can be replayed faster than real
    time through :class:`~biotrainer.acquisition.file_source.FileSource`."""
    from datetime import UTC, datetime

    from biotrainer.session.folder import STATUS_COMPLETED, SessionMeta, write_meta

    start = datetime.fromtimestamp(rendered.start_timestamp, tz=UTC)
    samples = {p: int(a.shape[1]) for p, a in rendered.data.items()}
    write_meta(
        folder,
        SessionMeta(
            layout=rendered.layout,
            device=rendered.layout.device,
            start_utc=start,
            start_timestamp=rendered.start_timestamp,
            end_timestamp=rendered.start_timestamp + rendered.scenario.duration_s,
            status=STATUS_COMPLETED,
            samples=samples,
            extra={"simulator": {"scenario": rendered.scenario.name, "seed": rendered.seed}},
        ),
    )


def render_session(profile: Any, options: dict | None = None) -> Path:
    """Render a simulator profile's scenario and return its folder, which is also a session
    folder (``session.json`` + raw files) that :class:`FileSource` can replay at any speed."""
    scenario, seed, loss = _scenario_and_seed(profile, options or {})
    cache = (options or {}).get("cache_dir")
    folder, _ = render_to_folder(scenario, profile.layout(), seed, cache, loss)
    return folder


def prepare_playback(profile: Any, connection: Any = None, options: dict | None = None) -> Any:
    """Render the profile's scenario and return the connection that plays it back.

    Parameters
    ----------
    profile : DeviceProfile
        A profile with a ``[simulator]`` table (``scenario = "..."``, optionally ``seed``)
        and a ``master_board``.
    connection : ConnectionParams, optional
        Ignored except for ``timeout``; the files are the simulator's.
    options : dict, optional
        ``scenario`` (name or path to a .toml, overrides the profile's), ``seed`` (int,
        default the profile's or 0), ``cache_dir`` (folder for rendered files). Other keys are
        ignored (they belong to the source).

    Returns
    -------
    ConnectionParams
        ``file``/``file_aux``/``file_anc`` of the rendered presets and ``master_board``.
        The ground truth is in ``Path(file).parent / "ground_truth"``.

    Raises
    ------
    ConfigError
        Unknown scenario, malformed scenario or ``[simulator]`` table.
    DeviceError
        The rendered files cannot be written.
    """
    from biotrainer.acquisition.brainflow_source import ConnectionParams

    options = dict(options or {})
    scenario, seed, loss = _scenario_and_seed(profile, options)
    _, files = render_to_folder(scenario, profile.layout(), seed, options.get("cache_dir"), loss)
    timeout = getattr(connection, "timeout", None) if connection is not None else None
    return ConnectionParams(
        file=str(files["default"]) if "default" in files else None,
        file_aux=str(files["auxiliary"]) if "auxiliary" in files else None,
        file_anc=str(files["ancillary"]) if "ancillary" in files else None,
        master_board=int(profile.master_board_id),
        timeout=timeout,
    )


def _scenario_and_seed(profile: Any, options: dict) -> tuple[Scenario, int, float]:
    """Validate the profile's [simulator] table and the options; return (scenario, seed,
    packet loss)."""
    table = dict(profile.simulator or {})
    path = str(getattr(profile, "path", profile.name))
    unknown = set(table) - {"scenario", "seed", "packet_loss"}
    if unknown:
        raise ConfigError(
            path,
            f"simulator.{sorted(unknown)[0]}",
            "unknown key (allowed: scenario, seed, packet_loss)",
        )
    loss = table.get("packet_loss", 0.0)
    if isinstance(loss, bool) or not isinstance(loss, int | float) or not 0 <= loss <= 0.5:
        raise ConfigError(
            path, "simulator.packet_loss", f"must be a share from 0 to 0.5, got {excerpt(loss)}"
        )

    scenario_name = options.get("scenario") or table.get("scenario")
    if not scenario_name:
        raise ConfigError(path, "simulator.scenario", "is required (a scenario name)")
    if not isinstance(scenario_name, str):
        raise ConfigError(
            path, "simulator.scenario", f"must be a scenario name, got {excerpt(scenario_name)}"
        )
    seed = options.get("seed")
    if seed is None:
        seed = table.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(
            path,
            "simulator.seed",
            f"must be a whole number from 0 to {MAX_SEED}, got {excerpt(seed)}",
        )
    if profile.master_board_id is None:
        raise ConfigError(path, "master_board", "a simulator profile needs a master_board")
    if loss and not any(p.counter for p in profile.layout().presets):
        raise ConfigError(
            path,
            "simulator.packet_loss",
            "needs a [counters.<preset>] table: the packets lost are those of counted presets",
        )
    return load_scenario(scenario_name), int(seed), float(loss)
