"""Sorting a poll's raw arrays into role blocks (done 60 times a second, from a plan made once
per layout) gives the blocks of the plain rule: each group's rows of its preset's array, and
that preset's timestamp row."""

from __future__ import annotations

import numpy as np

from biotrainer.acquisition.profiles import load_profile


def test_split_gives_each_role_its_rows_and_timestamps() -> None:
    layout = load_profile("simulator").layout()  # 16 EEG, ECG, PPG, resp, EDA, motion...
    assert len(layout.groups) >= 6
    rng = np.random.default_rng(0)
    raw = {p.preset: rng.normal(size=(p.num_rows, 7)) for p in layout.presets}
    for _ in range(2):  # the plan is made at the first split and kept
        blocks = layout.split(raw)
        assert list(blocks) == [g.role for g in layout.groups]
        for g in layout.groups:
            p, block = layout.preset(g.preset), blocks[g.role]
            assert (block.role, block.fs, block.channel_names, block.units) == (
                g.role,
                p.fs,
                g.names,
                g.units,
            )
            np.testing.assert_array_equal(block.samples, raw[g.preset][list(g.rows)])
            np.testing.assert_array_equal(block.timestamps, raw[g.preset][p.timestamp_row])
            assert block.samples.dtype == np.float64
            assert not np.shares_memory(block.samples, raw[g.preset])  # a copy, as before
    empty = layout.empty_chunk(0.0)
    assert all(b.n_samples == 0 for b in empty.signals.values())
    assert set(empty.signals) == set(layout.roles)
