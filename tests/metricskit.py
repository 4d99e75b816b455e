"""Helpers of the tests that read metric updates (importable from every test folder: pytest puts
``tests/`` on the path for its conftest)."""

from __future__ import annotations

import math


def new_data_updates(updates: list) -> list:
    """The updates of new data, as metrics.csv holds them: heartbeats, made while no data comes,
    repeat the previous sample time and are left out."""
    out, last = [], -math.inf
    for u in updates:
        if u.sample_time > last:
            out.append(u)
            last = u.sample_time
    return out
