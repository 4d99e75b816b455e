"""The engine's breathing rate comes from a respiration channel when the device has one.

Before, it always came from the heart rhythm (RSA), which at ordinary breathing often locks onto
a slower heart-rate wave: on the simulator's stressed start (16 breaths/min) it read 4-5.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import cache

import numpy as np
from memsource import MemorySource

from biotrainer.acquisition.profiles import load_profile
from biotrainer.acquisition.simulator import load_scenario, render_scenario
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.engine.updates import BREATHING_FROM_HEART, BREATHING_FROM_RESP


@cache
def rendered(profile: str):
    layout = load_profile(profile).layout()
    return render_scenario(load_scenario("stressed-to-relaxed"), layout, seed=11)


def run(
    profile: str,
    seconds: float,
    *,
    drop_resp_after: float | None = None,
    hole: tuple[float, float] | None = None,
    stall_resp_after: float | None = None,
) -> tuple:
    r = rendered(profile)
    data = {p: a.copy() for p, a in r.data.items()}
    if hole is not None:  # the device dropped out: no sample of any signal in (a, b)
        for p, a in data.items():
            t = a[r.layout.preset(p).timestamp_row] - r.truth.start_timestamp
            data[p] = a[:, (t < hole[0]) | (t >= hole[1])].copy()
    layout = r.layout
    if stall_resp_after is not None:  # the belt on a preset of its own, which stalls
        layout, data = _belt_preset(layout, data, r.truth.start_timestamp, stall_resp_after)
    if drop_resp_after is not None:  # the belt comes off: its channel goes flat
        g = r.layout.group("resp")
        a = data[g.preset]
        t = a[r.layout.preset(g.preset).timestamp_row] - r.truth.start_timestamp
        a[g.rows[0], t > drop_resp_after] = a[g.rows[0], t <= drop_resp_after][-1]
    clock = SimulatedClock()
    engine = Engine(
        MemorySource(layout, data, clock), load_protocol("hrv-resonance-breathing"), clock=clock
    )
    updates = []
    engine.start()
    while clock.now() < seconds:
        clock.advance(0.5)
        updates.extend(engine.tick())
    engine.close()
    return updates, r.truth


def _belt_preset(layout, data: dict, t0: float, stall_after: float) -> tuple:
    """The layout and data with the respiration channel moved to a preset of its own (rows:
    the belt, its timestamps), whose samples stop ``stall_after`` s into the recording."""
    g = layout.group("resp")
    main = layout.preset(g.preset)
    a = data[g.preset]
    ts = a[main.timestamp_row]
    keep = ts - t0 <= stall_after
    belt = np.vstack([a[g.rows[0], keep], ts[keep]])
    preset = replace(main, preset="auxiliary", num_rows=2, timestamp_row=1, marker_row=None)
    groups = tuple(
        replace(x, preset="auxiliary", rows=(0,)) if x.role == "resp" else x for x in layout.groups
    )
    layout = replace(layout, presets=(*layout.presets, preset), groups=groups)
    return layout, {**data, "auxiliary": belt}


def true_rate(truth, t_end: float) -> float:
    """Breaths/min over the minute before ``t_end`` (scenario seconds): whole breath cycles
    between the first and last inhale onsets in it over the time they span."""
    onsets = truth.inhale_s[(truth.inhale_s > t_end - 60) & (truth.inhale_s <= t_end)]
    return 60.0 * (onsets.size - 1) / (onsets[-1] - onsets[0])


def test_the_rate_comes_from_the_belt_and_follows_the_breath():
    updates, truth = run("simulator", 300.0)
    late = [u for u in updates if u.sample_time - truth.start_timestamp > 75]
    assert late and all(u.breathing_source == BREATHING_FROM_RESP for u in late)
    errors = np.array(
        [u.breathing_bpm - true_rate(truth, u.sample_time - truth.start_timestamp) for u in late]
    )
    assert np.all(np.abs(errors) < 1.0), np.abs(errors).max()
    # the stressed start, where the heart rhythm's estimate fell to 4-5 breaths/min
    start = [u.breathing_bpm for u in late if u.sample_time - truth.start_timestamp < 120]
    assert min(start) > 14.0


def test_without_a_belt_the_heart_rhythm_gives_it_and_says_so():
    updates, _ = run("simulator-muse2", 150.0)
    rated = [u for u in updates if math.isfinite(u.breathing_bpm)]
    assert rated and all(u.breathing_source == BREATHING_FROM_HEART for u in rated)
    assert all(u.breathing_source == "" for u in updates if not math.isfinite(u.breathing_bpm))


def test_a_belt_that_goes_flat_hands_back_to_the_heart_rhythm():
    updates, truth = run("simulator", 260.0, drop_resp_after=120.0)
    at = {round(u.sample_time - truth.start_timestamp): u for u in updates}
    assert at[110].breathing_source == BREATHING_FROM_RESP
    assert at[250].breathing_source == BREATHING_FROM_HEART  # the flat minute gives no count


def test_a_short_hole_is_bridged_and_no_breath_is_counted_across_a_long_one():
    # 4 s (a Bluetooth hiccup): the count goes on, the hole's samples counted as missing; the
    # breath taken in it is not seen, so for the minute after the rate is a breath/min low
    updates, truth = run("simulator", 260.0, hole=(150.0, 154.0))
    at = {round(u.sample_time - truth.start_timestamp): u for u in updates}
    for t in (149, *range(156, 260, 3)):
        assert at[t].breathing_source == BREATHING_FROM_RESP, t
        error = at[t].breathing_bpm - true_rate(truth, t)
        assert -1.5 < error < 0.5 if t < 215 else abs(error) < 0.5, (t, error)
    # 12 s: the count starts again after it; the heart rhythm's rate meanwhile
    updates, truth = run("simulator", 260.0, hole=(150.0, 162.0))
    at = {round(u.sample_time - truth.start_timestamp): u for u in updates}
    assert at[149].breathing_source == BREATHING_FROM_RESP
    assert all(at[t].breathing_source != BREATHING_FROM_RESP for t in range(164, 191))
    assert at[250].breathing_source == BREATHING_FROM_RESP
    assert abs(at[250].breathing_bpm - true_rate(truth, 250.0)) < 1.0


def test_a_belt_whose_samples_stop_gives_no_rate_after_five_seconds():
    """The respiration channel on a preset of its own that stalls while the rest streams:
    its last rate is not shown on (it stayed at 16.1 'from the belt' for 100 s, review)."""
    updates, truth = run("simulator", 260.0, stall_resp_after=150.0)
    at = {round(u.sample_time - truth.start_timestamp): u for u in updates}
    assert at[149].breathing_source == BREATHING_FROM_RESP
    assert all(at[t].breathing_source != BREATHING_FROM_RESP for t in range(156, 260))
