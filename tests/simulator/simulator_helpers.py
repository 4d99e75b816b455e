"""Helpers of the simulator tests."""

from __future__ import annotations

import numpy as np

from biotrainer.acquisition.simulator import parse_scenario


def steady_scenario(
    duration_s: float, breathing_bpm: float, paced: bool = False, extra: str = ""
) -> object:
    text = f"""
name = "steady"
[person]
ectopic_per_min = 0.5
dropped_per_min = 0.3
{extra}
[[segments]]
duration_s = {duration_s}
relaxation = 0.6
breathing_rate_bpm = {breathing_bpm}
paced = {str(paced).lower()}
"""
    return parse_scenario(text)


def nearest_error(detected: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Signed distance (s) from each true time to the nearest detected time."""
    detected = np.sort(np.asarray(detected, dtype=float))
    idx = np.clip(np.searchsorted(detected, truth), 1, len(detected) - 1)
    left, right = detected[idx - 1], detected[idx]
    return np.where(np.abs(right - truth) < np.abs(left - truth), right, left) - truth


def rows_of(rendered, role: str) -> tuple[np.ndarray, float, tuple[str, ...]]:
    """(channels × samples, fs, names) of one role of a render."""
    g = rendered.layout.group(role)
    p = rendered.layout.preset(g.preset)
    return rendered.data[g.preset][list(g.rows)], p.fs, g.names
