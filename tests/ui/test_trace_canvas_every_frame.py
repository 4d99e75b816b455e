"""The sweep's picture after every frame (not only now and then) is that of a full redraw:
the columns written, the gap erased ahead of the cursor, across the seam of the ring."""

from __future__ import annotations

import numpy as np
import pytest

from biotrainer.acquisition.chunk import SignalBlock
from biotrainer.ui.signal_plots import Theme
from biotrainer.ui.trace_canvas import TraceCanvas
from biotrainer.ui.traces import DisplayTrace


def _block(trace: DisplayTrace, y: np.ndarray, first: int) -> SignalBlock:
    t = (first + np.arange(y.shape[1])) / trace.fs
    return SignalBlock(trace.role, trace.fs, trace.channel_names, trace.units, t, y)


def _signal(fs: float, n_ch: int, start: int, n: int, rng) -> np.ndarray:
    t = (start + np.arange(n)) / fs
    return 30.0 * np.sin(2 * np.pi * 3.0 * t + np.arange(n_ch)[:, None]) + rng.normal(
        0.0, 8.0, (n_ch, n)
    )


def _panel(qtbot, role: str, fs: float, n_ch: int, size: tuple[int, int]) -> TraceCanvas:
    trace = DisplayTrace(role, fs, [f"c{i}" for i in range(n_ch)], "uV", window_s=2.0)
    panel = TraceCanvas(trace, Theme(), sweep=True)
    qtbot.addWidget(panel)
    panel.resize(*size)
    return panel


CASES = {
    "eeg, a column or two a frame": ("eeg", 250.0, 4, (400, 260), 20),
    "sparse samples, columns far apart": ("accel", 20.0, 3, (400, 260), 3),
    "narrow, frames of most of the ring": ("eda", 250.0, 1, (140, 120), 400),
}


@pytest.mark.parametrize("case", CASES)
def test_every_sweep_frame_leaves_the_picture_of_a_full_redraw(qtbot, case: str) -> None:
    role, fs, n_ch, size, most = CASES[case]
    drawn = _panel(qtbot, role, fs, n_ch, size)  # frame by frame only
    redrawn = _panel(qtbot, role, fs, n_ch, size)  # redrawn whole after every frame
    rng = np.random.default_rng(5)
    n = 0
    for _ in range(150):  # several laps of the ring
        m = int(rng.integers(0, most + 1))
        y = _signal(fs, n_ch, n, m, rng)
        for panel in (drawn, redrawn):
            panel.trace.push(_block(panel.trace, y, n))
            panel.refresh()
        n += m
        if redrawn.image is not None:
            redrawn.redraw_all()
            np.testing.assert_array_equal(drawn.image_array(), redrawn.image_array())
    assert drawn.full_redraws == 1
    assert drawn.trace.samples_received > 2 * drawn.trace.n_window
