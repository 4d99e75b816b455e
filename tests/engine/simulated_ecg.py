"""The 16-channel simulator's resonance-breathing recording with its ECG edited, served to an
engine in simulated time (test helper for the heart-signal fault tests)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from memsource import MemorySource

from biotrainer.acquisition.profiles import load_profile
from biotrainer.acquisition.simulator.render import render_scenario
from biotrainer.acquisition.simulator.scenario import load_scenario
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol

ECG_ROW = 27  # the 16-channel simulator's ECG row (checked below)


def run_protocol(layout, data, protocol: str, until_s: float) -> tuple[list, Engine]:
    """Every update of ``protocol`` on ``data`` served in simulated time until ``until_s``
    (or the protocol's end), and the engine."""
    clock = SimulatedClock()
    engine = Engine(MemorySource(layout, data, clock), load_protocol(protocol), clock=clock)
    updates = []
    while clock.now() < until_s and not engine.finished:
        clock.advance(0.5)
        updates.extend(engine.tick())
    return updates, engine


def run_with_ecg(
    protocol: str,
    start_s: float,
    stop_s: float,
    until_s: float,
    edit: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
) -> tuple[float, list, Engine]:
    """The resonance recording with its ECG over ``[start_s, stop_s)`` of data replaced by
    ``edit(timestamps, ecg, part)`` (``part`` masks the stretch; returns its new samples), run
    through ``protocol``: (first sample time, updates, engine)."""
    layout = load_profile("simulator").layout()
    assert layout.group("ecg").rows == (ECG_ROW,)
    r = render_scenario(load_scenario("resonance-breathing"), layout, seed=3)
    data = {k: v.copy() for k, v in r.data.items()}
    raw = data["default"]
    ts = raw[layout.preset("default").timestamp_row]
    t0 = float(ts[0])
    part = (ts >= t0 + start_s) & (ts < t0 + stop_s)
    raw[ECG_ROW, part] = edit(ts, raw[ECG_ROW], part)
    updates, engine = run_protocol(layout, data, protocol, until_s)
    return t0, updates, engine


def between(updates, t0: float, a: float, b: float) -> list:
    """The updates of data time ``[t0 + a, t0 + b)``."""
    return [u for u in updates if t0 + a <= u.sample_time < t0 + b]
