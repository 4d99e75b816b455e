"""Rendering: determinism, the board row layout, files, ground truth, cache, BrainFlow playback."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np
import pytest
from brainflow.board_shim import BoardIds
from brainflow.data_filter import DataFilter
from simulator_helpers import steady_scenario

from biotrainer.acquisition.profiles import load_profile
from biotrainer.acquisition.simulator import (
    load_scenario,
    prepare_playback,
    render,
    render_scenario,
    write_rendered,
)
from biotrainer.errors import ConfigError


def test_same_seed_same_output_different_seed_different(muse_layout):
    sc = steady_scenario(30, 12.0)
    a = render_scenario(sc, muse_layout, seed=7)
    b = render_scenario(sc, muse_layout, seed=7)
    c = render_scenario(sc, muse_layout, seed=8)
    for p in a.data:
        np.testing.assert_array_equal(a.data[p], b.data[p])
    np.testing.assert_array_equal(a.truth.beat_s, b.truth.beat_s)
    assert not np.array_equal(a.data["default"], c.data["default"])
    assert not np.array_equal(a.truth.beat_s, c.truth.beat_s)


def test_the_heart_of_a_seed_does_not_depend_on_the_layout(muse_layout, research_layout):
    sc = steady_scenario(30, 12.0)
    a = render_scenario(sc, muse_layout, seed=7)
    b = render_scenario(sc, research_layout, seed=7)
    np.testing.assert_array_equal(a.truth.beat_s, b.truth.beat_s)


@pytest.mark.parametrize("profile", ["simulator", "simulator-muse2"])
def test_arrays_have_the_master_board_layout(profile):
    prof = load_profile(profile)
    layout = prof.layout()
    r = render_scenario(steady_scenario(20, 12.0), layout, seed=1)
    assert set(r.data) == {p.preset for p in layout.presets}
    for p in layout.presets:
        arr = r.data[p.preset]
        assert arr.shape == (p.num_rows, int(20 * p.fs))
        ts = arr[p.timestamp_row]
        np.testing.assert_allclose(np.diff(ts), 1.0 / p.fs, rtol=0, atol=1e-6)
        assert ts[0] == r.start_timestamp
        np.testing.assert_array_equal(arr[0], np.arange(arr.shape[1]))  # package numbers
        used = {p.timestamp_row, 0} | {
            r for g in layout.groups if g.preset == p.preset for r in g.rows
        }
        for row in range(p.num_rows):
            if row not in used:
                assert not arr[row].any(), f"row {row} should be empty"
        for g in layout.groups:
            if g.preset == p.preset:
                assert np.all(np.std(arr[list(g.rows)], axis=1) > 0), g.role


def test_muse2_layout_matches_brainflow():
    layout = load_profile("simulator-muse2").layout()
    assert layout.board_id == int(BoardIds.MUSE_2_BOARD)
    assert layout.preset("default").fs == 256 and layout.preset("ancillary").fs == 64
    assert layout.group("ppg").preset == "ancillary"
    assert layout.group("eeg").names == ("TP9", "AF7", "AF8", "TP10")
    research = load_profile("simulator").layout()
    assert {"eeg", "ecg", "ppg", "resp"} <= set(research.roles)
    assert len(research.group("eeg").rows) == 16
    rows = [r for g in research.groups for r in g.rows]
    assert len(rows) == len(set(rows))  # no row carries two roles


def test_write_and_read_back(tmp_path: Path, muse_layout):
    r = render_scenario(load_scenario("artifacts"), muse_layout, seed=2)
    files = write_rendered(r, tmp_path)
    for preset, path in files.items():
        back = DataFilter.read_file(str(path))
        np.testing.assert_allclose(back, r.data[preset], atol=1e-6, rtol=0)
    gt = tmp_path / "ground_truth"
    meta = json.loads((gt / "meta.json").read_text())
    assert meta["scenario"] == "artifacts" and meta["seed"] == 2
    with (gt / "beats.csv").open() as fh:
        beats = list(csv.DictReader(fh))
    assert len(beats) == len(r.truth.beat_s)
    t0 = meta["start_timestamp"]
    for row in beats[:20]:
        assert float(row["timestamp"]) == pytest.approx(t0 + float(row["t_s"]), abs=1e-5)
    with (gt / "artifacts.csv").open() as fh:
        arts = list(csv.DictReader(fh))
    assert len(arts) == len(r.truth.artifacts)
    assert {"blink", "flat", "motion"} <= {a["kind"] for a in arts}
    for name in (
        "ppg_peaks.csv",
        "breathing.csv",
        "breaths.csv",
        "relaxation.csv",
        "alpha_amplitude.csv",
    ):
        assert (gt / name).stat().st_size > 0
    with (gt / "alpha_amplitude.csv").open() as fh:
        assert next(csv.reader(fh))[2:] == list(muse_layout.group("eeg").names)


def test_prepare_playback_renders_once_and_reuses_the_cache(tmp_path, monkeypatch):
    prof = load_profile("simulator-muse2")
    opts = {"scenario": "artifacts", "seed": 4, "cache_dir": str(tmp_path)}
    conn = prepare_playback(prof, None, opts)
    assert conn.master_board == int(BoardIds.MUSE_2_BOARD)
    assert Path(conn.file).is_file() and Path(conn.file_anc).is_file()
    assert Path(conn.file_aux).is_file()
    assert (Path(conn.file).parent / "ground_truth" / "beats.csv").is_file()

    def boom(*a, **k):
        raise AssertionError("re-rendered despite the cache")

    monkeypatch.setattr("biotrainer.acquisition.simulator.render_scenario", boom)
    again = prepare_playback(prof, None, opts)
    assert again.file == conn.file
    with pytest.raises(AssertionError):  # another seed is a new render
        prepare_playback(prof, None, {**opts, "seed": 5})


def test_the_cache_folder_is_the_option_then_biotrainer_cache_then_the_user_cache(
    tmp_path, monkeypatch
):
    import platformdirs

    from biotrainer.acquisition.simulator import cache_root

    monkeypatch.setenv("BIOTRAINER_CACHE", str(tmp_path / "env"))
    assert cache_root() == tmp_path / "env"
    assert cache_root(tmp_path / "option") == tmp_path / "option"
    monkeypatch.setenv("BIOTRAINER_CACHE", "  ")
    user = Path(platformdirs.user_cache_dir("biotrainer", appauthor=False)) / "simulator"
    assert cache_root() == user


def test_the_tests_never_render_into_the_users_cache():
    import platformdirs

    from biotrainer.acquisition.simulator import cache_root

    user = Path(platformdirs.user_cache_dir("biotrainer", appauthor=False))
    assert not cache_root().resolve().is_relative_to(user.resolve())


def test_an_unwritable_cache_says_which_folder_and_how_to_choose_another(tmp_path, monkeypatch):
    from biotrainer.errors import DeviceError

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("BIOTRAINER_CACHE", str(blocker / "simulator"))
    with pytest.raises(DeviceError) as err:
        prepare_playback(load_profile("simulator-muse2"), None, {"scenario": "artifacts"})
    assert str(blocker / "simulator") in str(err.value)
    assert "BIOTRAINER_CACHE" in str(err.value)


def test_prepare_playback_errors(tmp_path):
    prof = load_profile("simulator")
    with pytest.raises(ConfigError, match="unknown scenario"):
        prepare_playback(prof, None, {"scenario": "nope", "cache_dir": str(tmp_path)})
    with pytest.raises(ConfigError) as err:
        prepare_playback(prof, None, {"seed": -1, "cache_dir": str(tmp_path)})
    assert err.value.key == "simulator.seed"
    with pytest.raises(ConfigError, match="from 0 to 4294967295"):
        prepare_playback(prof, None, {"seed": 2**32, "cache_dir": str(tmp_path)})


def test_playback_through_brainflow_returns_the_rendered_samples(tmp_path):
    """Muse 2: default-preset EEG at 256 Hz and ancillary PPG at 64 Hz side by side."""
    from biotrainer.acquisition.factory import open_source

    src = open_source(
        "simulator-muse2",
        scenario="artifacts",
        seed=6,
        cache_dir=str(tmp_path),
        keep_file_timestamps=True,
    )
    expected = render_scenario(
        load_scenario("artifacts"), load_profile("simulator-muse2").layout(), seed=6
    )
    got: dict[str, list[np.ndarray]] = {}
    src.prepare()
    src.start()
    try:
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline:
            chunk = src.poll()
            for p, a in chunk.raw.items():
                got.setdefault(p, []).append(a)
            n = {p: sum(a.shape[1] for a in v) for p, v in got.items()}
            if n.get("default", 0) >= 256 and n.get("ancillary", 0) >= 64:
                break
            time.sleep(0.05)
    finally:
        src.stop()
        src.release()
    for preset in ("default", "ancillary"):
        arr = np.concatenate(got[preset], axis=1)
        assert arr.shape[1] > 0
        np.testing.assert_allclose(arr, expected.data[preset][:, : arr.shape[1]], atol=1e-5)
    blocks = src.layout.split({p: np.concatenate(v, axis=1) for p, v in got.items()})
    assert blocks["eeg"].fs == 256 and blocks["ppg"].fs == 64


def test_render_speed_budget_is_reported_not_tested():
    # Rendering speed is measured in benchmarks, never asserted; just check the constant exists.
    assert render.GENERATOR_VERSION >= 1


def test_cache_keeps_a_bounded_number_of_renders(tmp_path, monkeypatch):
    from biotrainer.acquisition import simulator

    monkeypatch.setattr(simulator, "MAX_CACHED_RENDERS", 2)
    sc = steady_scenario(5, 12.0)
    layout = load_profile("simulator-muse2").layout()
    folders = [simulator.render_to_folder(sc, layout, s, tmp_path)[0] for s in range(4)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f.name for f in folders[-2:])


def test_a_board_id_selects_the_shipped_simulator_layout():
    r = render_scenario(steady_scenario(5, 12.0), int(BoardIds.MUSE_2_BOARD), seed=0)
    assert r.layout == load_profile("simulator-muse2").layout()
    assert set(r.data) == {"default", "auxiliary", "ancillary"}


def test_a_render_finished_meanwhile_by_another_process_is_kept(tmp_path, monkeypatch):
    """Two processes rendering the same scenario into a cold cache: the one finishing second
    must not replace the files the first is already playing (a concurrent ``record`` of the
    same scenario played nothing when it did)."""
    from biotrainer.acquisition import simulator

    sc = steady_scenario(5, 12.0)
    layout = load_profile("simulator-muse2").layout()
    real = simulator.render_scenario
    first: dict[str, object] = {}

    def render_while_another_finishes(*args, **kwargs):
        out = real(*args, **kwargs)
        if not first:  # "the other process" renders the same scenario and finishes first
            monkeypatch.setattr(simulator, "render_scenario", real)
            folder, files = simulator.render_to_folder(sc, layout, 3, tmp_path)
            first.update(folder=folder, inodes={p: f.stat().st_ino for p, f in files.items()})
        return out

    monkeypatch.setattr(simulator, "render_scenario", render_while_another_finishes)
    folder, files = simulator.render_to_folder(sc, layout, 3, tmp_path)
    assert folder == first["folder"]
    assert {p: f.stat().st_ino for p, f in files.items()} == first["inodes"]  # untouched
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # no partial render left


def test_a_render_missing_a_file_is_rendered_again_in_its_place(tmp_path):
    """A partial clean-up of the cache (one raw file deleted): the render was made again, then
    thrown away because the folder still said it was complete, and every run failed on the
    missing file."""
    from biotrainer.acquisition import simulator

    sc = steady_scenario(5, 12.0)
    layout = load_profile("simulator-muse2").layout()
    folder, files = simulator.render_to_folder(sc, layout, 3, tmp_path)
    want = {p: f.read_bytes() for p, f in files.items()}
    files["default"].unlink()
    again, files2 = simulator.render_to_folder(sc, layout, 3, tmp_path)
    assert again == folder and all(f.is_file() for f in files2.values())
    assert {p: f.read_bytes() for p, f in files2.items()} == want
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]
