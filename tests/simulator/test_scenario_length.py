"""A scenario's segments together last at most 4 h (limits.MAX_SCENARIO_S).

Each segment was capped at 24 h but not their sum, so a long scenario was accepted and its
render died of MemoryError (some 0.4 GB per hour of the 16-channel layout).
"""

from __future__ import annotations

import pytest

from biotrainer.acquisition.simulator.scenario import parse_scenario
from biotrainer.errors import ConfigError
from biotrainer.limits import MAX_SCENARIO_S


def _scenario(*durations: float) -> str:
    return 'name = "long"\n' + "".join(f"[[segments]]\nduration_s = {d}\n" for d in durations)


def test_four_hours_in_all_are_taken() -> None:
    assert MAX_SCENARIO_S == 4 * 3600
    scenario = parse_scenario(_scenario(7200, 7200), source="long.toml")
    assert scenario.segments[-1].end_s == MAX_SCENARIO_S


@pytest.mark.parametrize(
    ("durations", "key", "total"),
    [((7200, 7201), "segments[1].duration_s", 14401), ((86400,), "segments[0].duration_s", None)],
)
def test_more_is_refused_naming_the_file_and_the_segment(durations, key, total) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_scenario(_scenario(*durations), source="long.toml")
    assert caught.value.path == "long.toml" and caught.value.key == key
    if total is not None:
        assert caught.value.problem == (
            f"brings the scenario to {total} s: all segments together may last at most "
            "14400 s (4 h)"
        )
    else:
        assert caught.value.problem == "must be between 1 and 14400, got 86400"
