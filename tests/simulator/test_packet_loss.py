"""The simulator's lossy Bluetooth link (``simulator-muse2-lossy``): a Muse 2 that sends its EEG
and PPG in numbered packets and loses some, so that what biotrainer does with lost packets can
be run without a headset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biotrainer.acquisition.counter import LossCounter
from biotrainer.acquisition.profiles import load_profile
from biotrainer.acquisition.simulator import render_session
from biotrainer.errors import ConfigError
from biotrainer.session import load_session


@pytest.fixture(scope="module")
def lossy(tmp_path_factory):
    profile = load_profile("simulator-muse2-lossy")
    cache = tmp_path_factory.mktemp("cache")
    folder = render_session(profile, {"scenario": "eyes-open-closed", "cache_dir": str(cache)})
    return profile, load_session(folder)


def test_the_counted_presets_lose_about_the_profiles_share_of_packets(lossy) -> None:
    profile, rec = lossy
    assert profile.simulator["packet_loss"] == 0.03
    for preset, per in (("default", 12), ("ancillary", 6)):
        p = rec.layout.preset(preset)
        counter = LossCounter(p.counter)
        losses = counter.push(rec.raw[preset][p.counter.row])
        share = counter.lost / (counter.lost + counter.seen)
        assert 0.02 <= share <= 0.04, (preset, share)
        assert set((losses.counts % per).tolist()) == {0}
        steps = np.diff(rec.raw[preset][p.timestamp_row])
        assert steps.max() < 0.5  # (no step in the timestamps shows a lost packet)


def test_a_preset_not_counted_is_sent_whole(lossy, tmp_path) -> None:
    _, rec = lossy
    assert rec.layout.preset("auxiliary").counter is None
    whole = render_session(
        load_profile("simulator-muse2"),
        {"scenario": "eyes-open-closed", "cache_dir": str(tmp_path)},
    )
    np.testing.assert_array_equal(load_session(whole).raw["auxiliary"], rec.raw["auxiliary"])


def test_the_same_seed_loses_the_same_packets(lossy, tmp_path) -> None:
    profile, rec = lossy
    again = render_session(profile, {"scenario": "eyes-open-closed", "cache_dir": str(tmp_path)})
    np.testing.assert_array_equal(load_session(again).raw["default"], rec.raw["default"])


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("packet_loss = 0.7", "must be a share from 0 to 0.5, got 0.7"),
        ("packet_loss = true", "must be a share from 0 to 0.5, got True"),
        ('packet_loss = "3 %"', "must be a share from 0 to 0.5"),
    ],
)
def test_a_packet_loss_out_of_range_is_refused(tmp_path: Path, line: str, problem: str) -> None:
    text = (Path(load_profile("simulator-muse2-lossy").path)).read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(
        text.replace('name = "simulator-muse2-lossy"', 'name = "bad"').replace(
            "packet_loss = 0.03", line
        )
    )
    with pytest.raises(ConfigError) as err:
        render_session(load_profile(bad), {"cache_dir": str(tmp_path)})
    assert err.value.key == "simulator.packet_loss" and problem in err.value.problem


def test_a_packet_loss_without_counted_presets_is_refused(tmp_path: Path) -> None:
    text = Path(load_profile("simulator-muse2").path).read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(
        text.replace('name = "simulator-muse2"', 'name = "bad"').replace(
            "seed = 0", "seed = 0\npacket_loss = 0.02"
        )
    )
    with pytest.raises(ConfigError) as err:
        render_session(load_profile(bad), {"cache_dir": str(tmp_path)})
    assert err.value.key == "simulator.packet_loss"
    assert "needs a [counters.<preset>] table" in err.value.problem
