"""Shared renders for the simulator tests (rendered once per session: a render takes < 1 s)."""

from __future__ import annotations

import pytest
from simulator_helpers import steady_scenario

from biotrainer.acquisition.profiles import load_profile
from biotrainer.acquisition.simulator import load_scenario, render_scenario


@pytest.fixture(scope="session")
def research_layout():
    return load_profile("simulator").layout()


@pytest.fixture(scope="session")
def muse_layout():
    return load_profile("simulator-muse2").layout()


@pytest.fixture(scope="session")
def stressed_research(research_layout):
    """The full 13-minute stressed-to-relaxed scenario in the 16-channel layout."""
    return render_scenario(load_scenario("stressed-to-relaxed"), research_layout, seed=11)


@pytest.fixture(scope="session")
def short_muse(muse_layout):
    """Two minutes of a steady person in the Muse 2 layout."""
    return render_scenario(steady_scenario(120, 12.0), muse_layout, seed=5)
