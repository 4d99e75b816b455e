"""A two-phase alpha protocol for report tests: a baseline, then training."""

from __future__ import annotations


def rest_then_train(name: str, title: str, training_s: int, baseline_s: int = 20) -> str:
    """The TOML text of protocol ``name``: a ``baseline_s`` baseline ("Rest first"), then
    ``training_s`` of training ("Train"), eyes open."""
    return f"""
name = "{name}"
title = "{title}"
feedback = "alpha"

[[phases]]
name = "Rest first"
kind = "baseline"
duration_s = {baseline_s}
eyes = "open"

[[phases]]
name = "Train"
kind = "training"
duration_s = {training_s}
eyes = "open"
"""
