"""The incremental trace renderer: column peaks, same picture as a full redraw, lanes, repaints."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PySide6.QtGui import QFont, QFontMetrics, QImage
from PySide6.QtWidgets import QApplication

from biotrainer.acquisition.chunk import Chunk, SignalBlock
from biotrainer.ui.signal_plots import SignalPlots, Theme
from biotrainer.ui.trace_canvas import TraceCanvas
from biotrainer.ui.traces import DisplayTrace, column_peaks, column_spans

from .fakes import fake_layout


def _block(trace: DisplayTrace, y: np.ndarray, first: int) -> SignalBlock:
    y = np.atleast_2d(y)
    t = (first + np.arange(y.shape[1])) / trace.fs
    return SignalBlock(trace.role, trace.fs, trace.channel_names, trace.units, t, y)


def _signal(fs: float, n_ch: int, start: int, n: int, rng) -> np.ndarray:
    t = (start + np.arange(n)) / fs
    phase = np.arange(n_ch)[:, None]
    return 30.0 * np.sin(2 * np.pi * 3.0 * t + phase) + rng.normal(0.0, 8.0, (n_ch, n))


def _canvas(qtbot, trace: DisplayTrace, size=(400, 300), sweep: bool = False) -> TraceCanvas:
    canvas = TraceCanvas(trace, Theme(), sweep=sweep)
    qtbot.addWidget(canvas)
    canvas.resize(*size)
    canvas.show()
    return canvas


@pytest.mark.parametrize(("n_window", "width"), [(2500, 760), (2500, 2500), (40, 333), (9973, 517)])
def test_column_peaks_match_brute_force(n_window: int, width: int) -> None:
    rng = np.random.default_rng(3)
    first = 12345
    y = rng.normal(size=(3, 3 * n_window // 2))
    idx = first + np.arange(y.shape[1])
    col_of = idx * width // n_window
    col_lo, col_hi = int(col_of[0]) + 1, int(col_of[-1])  # whole columns only
    cols, lo, hi = column_peaks(y, first, n_window, width, col_lo, col_hi)
    expected = [c for c in range(col_lo, col_hi) if np.any(col_of == c)]
    np.testing.assert_array_equal(cols, expected)
    for j, c in enumerate(cols):
        sel = col_of == c
        np.testing.assert_array_equal(lo[:, j], y[:, sel].min(axis=1))
        np.testing.assert_array_equal(hi[:, j], y[:, sel].max(axis=1))
    # Columns with fewer samples than pixels: only the columns a sample falls in.
    if n_window < width:
        assert cols.size < col_hi - col_lo


def test_display_trace_since_returns_the_newest_samples_after_compaction() -> None:
    trace = DisplayTrace("eda", 10.0, ("a",), "uS", window_s=2.0)  # 20-sample window
    values = np.arange(1000, dtype=float)
    pushed = 0
    rng = np.random.default_rng(0)
    while pushed < values.size:
        n = int(rng.integers(1, 30))
        trace.push(_block(trace, values[pushed : pushed + n], pushed))
        pushed = min(values.size, pushed + n)
        first, y = trace.since(pushed - 22)  # a bit more than the window is kept
        assert first == max(0, pushed - 22)
        np.testing.assert_array_equal(y[0], values[first:pushed])
        assert not y.flags.writeable
    first, y = trace.since(0)  # older than held: from the oldest held sample
    assert first > 0 and y.shape[1] == pushed - first
    _, snap = trace.snapshot()
    np.testing.assert_array_equal(snap[0], values[-20:])


CASES = {
    "eeg 4 ch, 1.5 samples/column": ("eeg", 250.0, 4, (400, 300)),
    "eeg 8 ch, 6 samples/column": ("eeg", 1000.0, 8, (400, 300)),
    "resp 3 ch, sparse samples": ("accel", 20.0, 3, (400, 300)),
    "eda 1 ch": ("eda", 333.0, 1, (517, 260)),
}


@pytest.mark.parametrize("sweep", [False, True], ids=["scroll", "sweep"])
@pytest.mark.parametrize("case", CASES)
def test_incremental_drawing_gives_the_picture_of_a_full_redraw(
    qtbot, case: str, sweep: bool
) -> None:
    role, fs, n_ch, size = CASES[case]
    trace = DisplayTrace(role, fs, [f"c{i}" for i in range(n_ch)], "uV", window_s=2.0)
    canvas = _canvas(qtbot, trace, size, sweep)
    rng = np.random.default_rng(7)
    n = 0
    compared = 0
    for step in range(420):  # several laps of the ring image
        m = int(rng.integers(0, fs / 15 + 3))
        trace.push(_block(trace, _signal(fs, n_ch, n, m, rng), n))
        n += m
        canvas.refresh()
        if step % 60 == 59:
            incremental = canvas.image_array()
            redraws = canvas.full_redraws
            canvas.redraw_all()
            assert canvas.full_redraws == redraws + 1
            full = canvas.image_array()
            # Exactly the same picture, across the seam of the ring image too.
            np.testing.assert_array_equal(incremental, full, err_msg=case)
            compared += 1  # (drawing then goes on incrementally from the redrawn picture)
    assert compared == 7
    assert trace.samples_received > 3 * trace.n_window  # several laps of the ring


def _trace_mask(canvas: TraceCanvas, img: np.ndarray) -> np.ndarray:
    a, b = canvas.trace_rgb()
    return (img == a) | (img == b)


def test_stacked_lanes_have_data_and_stay_in_their_band(qtbot) -> None:
    fs, n_ch = 250.0, 16
    trace = DisplayTrace("eeg", fs, [f"E{i}" for i in range(n_ch)], "uV", window_s=4.0)
    canvas = _canvas(qtbot, trace, (600, 700))
    rng = np.random.default_rng(1)
    n = 0
    for _ in range(60):
        y = 1000.0 * np.arange(1, n_ch + 1)[:, None] + _signal(fs, n_ch, n, 25, rng)
        y[5] *= 1.0 + 40.0 * (n > 500)  # one channel goes wild: clipped to its lane
        trace.push(_block(trace, y, n))
        n += 25
        canvas.refresh()
    canvas.rescale()
    canvas.refresh()
    img = canvas.image_array()
    shades = canvas.trace_rgb()
    assert shades[0] != shades[1]
    lane_of_row = np.zeros(img.shape[0], dtype=int)
    for i in range(n_ch):
        lane_of_row[slice(*canvas.lane_rows(i))] = i
    for i in range(n_ch):
        top, bottom = canvas.lane_rows(i)
        own = img == shades[i % 2]
        rows = np.flatnonzero(own[:, 8:].any(axis=1))  # skip the start of the stream
        in_lane = rows[(rows >= top - 1) & (rows < bottom + 1)]
        assert in_lane.size > 0.3 * (bottom - top), f"lane {i} nearly empty"
        # Pixels of this shade outside the lane belong to the lanes two away, never i +- 1.
        stray = own[:, 8:].any(axis=1) & (np.abs(lane_of_row - i) == 1)
        assert not stray.any()
    # The wild channel is clipped: it fills its lane from edge to edge, nothing more.
    top, bottom = canvas.lane_rows(5)
    own5 = (img == shades[1]).any(axis=1)
    assert own5[top] and own5[bottom - 1]


def test_drawn_columns_span_the_min_and_max_of_their_samples(qtbot) -> None:
    fs = 1000.0
    trace = DisplayTrace("eda", fs, ("EDA",), "uS", window_s=1.0)  # no display filter
    canvas = _canvas(qtbot, trace, (437, 300))
    rng = np.random.default_rng(5)
    values = rng.normal(0.0, 1.0, 3000) + np.sin(np.arange(3000) / 40.0) * 3
    for k in range(0, 3000, 17):
        trace.push(_block(trace, values[k : k + 17], k))
        canvas.refresh()
    assert canvas.rescale()  # the first range came from the first 17 samples
    canvas.refresh()
    img = canvas.image_array()
    height, width = img.shape
    trace_px = _trace_mask(canvas, img)
    col_end = canvas.newest_column
    idx = np.arange(values.size)
    col_of = idx * width // trace.n_window
    off_axis = 0
    for p in range(1, width - 1):
        c = col_end - width + p
        sel = col_of == c
        lo, hi = values[sel].min(), values[sel].max()
        r_lo, r_hi = canvas.value_to_row(np.array([lo, hi]))
        if r_hi >= height or r_lo < 0:  # the whole column is beyond the axis range
            off_axis += 1
            continue
        # (values beyond the axis range are drawn at the image edge)
        r_lo, r_hi = np.clip([r_lo, r_hi], 0, height - 1)
        rows = np.flatnonzero(trace_px[:, p])
        assert rows.size
        # The column covers its samples' range (rows grow downwards, +-1 px rasterisation)...
        assert rows.min() <= r_hi + 1 and rows.max() >= r_lo - 1
        # ...and reaches no further than the joins to its neighbours.
        near = (col_of >= c - 1) & (col_of <= c + 1)
        n_lo, n_hi = canvas.value_to_row(np.array([values[near].min(), values[near].max()]))
        assert rows.min() >= n_hi - 1 and rows.max() <= n_lo + 1
    assert off_axis < 0.02 * width


def test_rescale_redraws_only_when_the_division_changes(qtbot) -> None:
    fs = 250.0
    trace = DisplayTrace("eeg", fs, ("a", "b"), "uV", window_s=2.0)
    canvas = _canvas(qtbot, trace)
    rng = np.random.default_rng(2)
    n = 0

    def feed(amplitude: float, seconds: float) -> None:
        nonlocal n
        for _ in range(int(seconds * 10)):
            trace.push(_block(trace, amplitude * _signal(fs, 2, n, 25, rng) / 30.0, n))
            n += 25
            canvas.refresh()

    feed(20.0, 3.0)
    canvas.rescale()
    canvas.refresh()
    first = canvas.scale.common
    filtered = "display filter 1–40 Hz, 50/60 Hz notch"
    assert canvas.title == f"EEG · 250 Hz · {first:g} µV / division · {filtered}"
    redraws = canvas.full_redraws
    feed(20.0, 1.0)
    assert canvas.rescale() is False  # same division, baselines still: keep drawing on
    feed(20.0, 0.5)
    assert canvas.full_redraws == redraws
    feed(400.0, 2.5)
    assert canvas.rescale() is True
    canvas.refresh()
    assert canvas.full_redraws == redraws + 1
    assert canvas.scale.common > 5 * first
    assert f"{canvas.scale.common:g} µV / division" in canvas.title


def test_single_channel_gets_a_value_axis_in_its_unit(qtbot) -> None:
    trace = DisplayTrace("temp", 10.0, ("T",), "degC", window_s=4.0)
    canvas = _canvas(qtbot, trace)
    trace.push(_block(trace, 36.6 + 0.01 * np.sin(np.arange(40) / 3.0), 0))
    canvas.refresh()
    lo, hi = canvas.y_range
    assert lo < 36.59 and hi > 36.61 and hi - lo < 0.1
    assert canvas.title == "Temperature · 10 Hz · °C"
    assert canvas.lane_labels == ()


@pytest.mark.parametrize("height", [40, 52, 70, 120, 300])
def test_value_labels_never_overlap_in_a_short_panel(qtbot, height: int) -> None:
    trace = DisplayTrace("temp", 10.0, ("T",), "degC", window_s=4.0)
    canvas = _canvas(qtbot, trace, size=(400, height))
    trace.push(_block(trace, 30.47 + 0.03 * np.sin(np.arange(40) / 3.0), 0))
    canvas.refresh()
    ticks = canvas.value_ticks
    font = QFont()
    font.setPointSize(Theme().font_pt)  # the axis labels' font
    line = QFontMetrics(font).height()
    assert ticks, "no value on the axis"
    ys = sorted(y for y, _ in ticks)
    assert all(b - a >= line for a, b in itertools.pairwise(ys))
    data = canvas.data_rect()
    assert all(data.top() - 1 <= y <= data.bottom() + 1 for y in ys)
    if height >= 120:
        assert len(ticks) >= 2  # room for a readable scale: at least two values


def test_only_panels_with_new_samples_are_repainted(qtbot) -> None:
    layout = fake_layout(n_eeg=4)
    plots = SignalPlots(layout, window_s=2.0)
    qtbot.addWidget(plots)
    plots.resize(900, 600)
    plots.show()
    qtbot.waitExposed(plots)
    assert set(plots.panels) == {"eeg", "ppg", "eda"}
    eeg, ppg = plots.panels["eeg"], plots.panels["ppg"]
    assert eeg.lane_labels == layout.group("eeg").names
    rng = np.random.default_rng(0)

    def eeg_chunk(first: int, n: int) -> Chunk:
        return Chunk(signals={"eeg": _block(eeg.trace, _signal(250.0, 4, first, n, rng), first)})

    plots.push(eeg_chunk(0, 100))
    assert plots.refresh() == 1
    qtbot.waitUntil(lambda: eeg.paints > 0)
    before = (eeg.paints, ppg.paints, plots.frames_painted)
    for k in range(5):
        plots.push(eeg_chunk(100 + 25 * k, 25))
        assert plots.refresh() == 1
        qtbot.wait(5)
    assert eeg.paints > before[0] and ppg.paints == before[1]
    assert plots.frames_painted > before[2]
    assert plots.refresh() == 0  # nothing new: nothing drawn, nothing scheduled
    assert eeg.has_data and not ppg.has_data and not plots.has_data


@pytest.mark.parametrize("sweep", [False, True], ids=["scroll", "sweep"])
def test_resize_redraws_at_the_new_width_and_drawing_goes_on(qtbot, sweep: bool) -> None:
    fs = 250.0
    trace = DisplayTrace("eeg", fs, ("a", "b", "c"), "uV", window_s=2.0)
    canvas = _canvas(qtbot, trace, (400, 300), sweep)
    rng = np.random.default_rng(4)
    n = 0

    def feed(chunks: int) -> None:
        nonlocal n
        for _ in range(chunks):
            m = int(rng.integers(1, 12))
            trace.push(_block(trace, _signal(fs, 3, n, m, rng), n))
            n += m
            canvas.refresh()

    feed(100)
    old_width, redraws = canvas.image.width(), canvas.full_redraws
    canvas.resize(640, 360)
    assert canvas.image.width() == canvas.data_rect().width() > old_width
    assert canvas.full_redraws == redraws + 1
    feed(80)
    incremental = canvas.image_array()
    canvas.redraw_all()
    np.testing.assert_array_equal(incremental, canvas.image_array())


def _qt_polyline_pixels(cols: np.ndarray, a: np.ndarray, b: np.ndarray, size) -> np.ndarray:
    """The min/max polyline drawn by QPainter as 1-pixel aliased cosmetic segments (how the
    panels were drawn before the spans), as a (height, width) bool mask."""
    import pyqtgraph as pg
    from PySide6.QtGui import QColor, QImage, QPainter, QPen

    width, height = size
    img = QImage(width, height, QImage.Format.Format_RGB32)
    img.fill(QColor("black"))
    k = cols.size
    v = np.empty(2 * k)
    v[0::2], v[1::2] = a, b
    x = np.repeat(cols.astype(float), 2)
    xs = np.stack((x[:-1], x[1:]), axis=1).ravel()
    ys = np.stack((v[:-1], v[1:]), axis=1).ravel()
    painter = QPainter(img)
    pen = QPen(QColor("white"), 1)
    pen.setCosmetic(True)
    painter.setPen(pen)
    painter.drawPath(pg.arrayToQPath(xs, ys, connect="pairs", finiteCheck=False))
    painter.end()
    px = np.frombuffer(img.constBits(), np.uint32).reshape(height, img.bytesPerLine() // 4)
    return (px[:, :width] & 0xFFFFFF) != 0


@pytest.mark.parametrize("sparse", [False, True])
def test_column_spans_light_the_pixels_qt_lights(qapp, sparse: bool) -> None:
    rng = np.random.default_rng(11 + sparse)
    width, height = 60, 70
    lit_qt = differ = 0
    for _ in range(150):
        if sparse:
            cols = np.sort(rng.choice(np.arange(2, width - 2), 9, replace=False))
        else:
            cols = np.arange(2, width - 2)
        a = rng.uniform(4.0, height - 4.0, cols.size)
        b = np.maximum(a - rng.exponential(5.0, cols.size) * (rng.random(cols.size) > 0.2), 4.0)
        top, bottom = column_spans(cols, a[None], b[None], 0, width)
        rows = np.arange(height)[:, None]
        ours = (rows >= top) & (rows <= bottom)
        theirs = _qt_polyline_pixels(cols, a, b, (width, height))
        lit_qt += theirs.sum()
        differ += (ours != theirs).sum()
        # Each sample column covers its own min..max exactly; nothing is drawn outside the
        # polyline's first and last column.
        for c, lo_row, hi_row in zip(cols, a, b, strict=True):
            assert top[0, c] <= np.floor(hi_row) and bottom[0, c] >= np.floor(lo_row)
        assert not ours[:, : cols[0]].any() and not ours[:, cols[-1] + 1 :].any()
    # Qt's stroker differs by a pixel at some segment ends (it is not symmetric up/down).
    assert differ / lit_qt < (0.03 if sparse else 0.015)


def test_dense_column_spans_equal_the_general_rule() -> None:
    from biotrainer.ui.traces import _column_spans

    rng = np.random.default_rng(8)
    for trial in range(300):
        k, c0 = int(rng.integers(1, 12)), int(rng.integers(-5, 50))
        cols = np.arange(c0, c0 + k)
        a = rng.uniform(0.0, 80.0, (3, k))
        if trial % 2:
            a = np.round(a * 2) / 2  # rows exactly on pixel centres and edges
        b = np.minimum(a, np.round(a - rng.exponential(5.0, (3, k)) * 4) / 4)
        x_lo = int(rng.integers(c0, c0 + k))
        dense = column_spans(cols, a, b, x_lo, c0 + k)
        general = _column_spans(cols, a, b, x_lo, c0 + k)
        np.testing.assert_array_equal(dense[0], general[0])
        np.testing.assert_array_equal(dense[1], general[1])


def test_painted_panel_shows_the_image_with_lines_at_whole_seconds_under_the_traces(qtbot):
    fs = 250.0
    trace = DisplayTrace("eeg", fs, ("a", "b", "c"), "uV", window_s=4.0)
    canvas = _canvas(qtbot, trace, (500, 300))
    rng = np.random.default_rng(9)
    n = 0
    for _ in range(130):  # more than a lap of the ring
        trace.push(_block(trace, _signal(fs, 3, n, 10, rng), n))
        n += 10
        canvas.refresh()
    picture = canvas.image_array()
    data = canvas.data_rect()
    shot = canvas.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    px = np.frombuffer(shot.constBits(), np.uint32).reshape(shot.height(), -1)
    on_screen = px[data.top() : data.bottom() + 1, data.left() : data.right() + 1]
    np.testing.assert_array_equal(on_screen, picture)
    # One line per whole second inside the window, at a fixed place: only where no trace is.
    line = canvas._grid.rgba()
    traces_px = _trace_mask(canvas, picture)
    line_cols = np.flatnonzero((picture == line).sum(axis=0) > 0.5 * picture.shape[0])
    assert line_cols.size == 3
    for x in line_cols:
        assert np.all((picture[:, x] == line) | traces_px[:, x])
    assert np.count_nonzero(picture == line) == np.count_nonzero(~traces_px[:, line_cols])


# -- sweep ------------------------------------------------------------------------------------


class _RegionRecorder(TraceCanvas):
    """A panel that remembers the regions it was asked to paint."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.regions: list = []

    def paintEvent(self, ev) -> None:  # noqa: N802 - Qt override
        self.regions.append(ev.region())
        super().paintEvent(ev)


def _feed(canvases, trace_of, fs: float, n_ch: int, chunks: int, rng, start: int = 0) -> int:
    """Push the same random chunks to every canvas's trace, refreshing each; return the
    samples pushed in all."""
    n = start
    for _ in range(chunks):
        m = int(rng.integers(1, 12))
        y = _signal(fs, n_ch, n, m, rng)
        for c in canvases:
            trace_of(c).push(_block(trace_of(c), y, n))
            c.refresh()
        n += m
    return n


def test_sweep_shows_the_scrolling_picture_in_place_with_a_gap_ahead_of_the_cursor(qtbot):
    fs, n_ch, size = 250.0, 4, (430, 300)
    names = [f"c{i}" for i in range(n_ch)]
    sweep = _canvas(qtbot, DisplayTrace("eeg", fs, names, "uV", window_s=2.0), size, True)
    scroll = _canvas(qtbot, DisplayTrace("eeg", fs, names, "uV", window_s=2.0), size, False)
    rng = np.random.default_rng(11)
    _feed([sweep, scroll], lambda c: c.trace, fs, n_ch, 300, rng)  # several laps of the ring
    assert sweep.newest_column == scroll.newest_column
    w = sweep.image.width()
    cursor = sweep.newest_column % w  # the column the next sample goes to
    gap = sweep.gap_columns
    assert 4 <= gap < w // 10
    swept, scrolled = sweep.image_array(), scroll.image_array()
    # The sweep's ring, read from the cursor on, is the scrolling picture (oldest first)...
    in_time_order = np.roll(_trace_mask(sweep, swept), -cursor, axis=1)
    np.testing.assert_array_equal(in_time_order[:, gap:], _trace_mask(scroll, scrolled)[:, gap:])
    # ... except its oldest columns: the gap ahead of the cursor is blank.
    ahead = (cursor + np.arange(gap)) % w
    assert not _trace_mask(sweep, swept)[:, ahead].any()
    assert _trace_mask(scroll, scrolled)[:, :gap].any()
    # Lines at whole seconds of the sweep: fixed columns (here one, at 1 s of 2 s).
    line = sweep._grid.rgba()
    line_cols = np.flatnonzero((swept == line).sum(axis=0) > 0.5 * swept.shape[0])
    np.testing.assert_array_equal(line_cols, [round(w / 2)])


def test_a_sweep_frame_repaints_only_the_columns_the_cursor_passed(qtbot) -> None:
    fs, n_ch = 250.0, 3
    trace = DisplayTrace("eeg", fs, ("a", "b", "c"), "uV", window_s=4.0)
    canvas = _RegionRecorder(trace, Theme(), sweep=True)
    qtbot.addWidget(canvas)
    canvas.resize(600, 300)
    canvas.show()
    qtbot.waitExposed(canvas)
    rng = np.random.default_rng(2)
    n = _feed([canvas], lambda c: c.trace, fs, n_ch, 60, rng)
    qtbot.waitUntil(lambda: canvas.paints > 0)
    data, w = canvas.data_rect(), canvas.image.width()
    widths = []
    for _ in range(40):  # across the seam of the ring too (about 1.6 laps)
        QApplication.processEvents()
        canvas.regions.clear()
        before = canvas.newest_column
        trace.push(_block(trace, _signal(fs, n_ch, n, 25, rng), n))
        n += 25
        assert canvas.refresh()
        QApplication.processEvents()
        assert canvas.regions, "nothing repainted"
        area = sum(r.width() * r.height() for reg in canvas.regions for r in reg)
        passed = canvas.newest_column - before
        # the new columns, the one before them (joined to them) and the gap; no more
        assert area <= (passed + 1 + canvas.gap_columns + 2) * data.height()
        assert all(data.contains(r) for reg in canvas.regions for r in reg)
        widths.append(area / data.height())
    assert max(widths) < w / 4
    # And what is on screen is the picture.
    shot = canvas.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    px = np.frombuffer(shot.constBits(), np.uint32).reshape(shot.height(), -1)
    on_screen = px[data.top() : data.bottom() + 1, data.left() : data.right() + 1]
    np.testing.assert_array_equal(on_screen, canvas.image_array())


def test_switching_between_sweep_and_scroll_redraws_the_picture(qtbot) -> None:
    fs, n_ch, size = 250.0, 3, (420, 260)
    names = ("a", "b", "c")
    canvas = _canvas(qtbot, DisplayTrace("eeg", fs, names, "uV", window_s=2.0), size, True)
    other = _canvas(qtbot, DisplayTrace("eeg", fs, names, "uV", window_s=2.0), size, False)
    rng = np.random.default_rng(5)
    n = _feed([canvas, other], lambda c: c.trace, fs, n_ch, 150, rng)
    redraws = canvas.full_redraws
    canvas.set_sweep(False)
    assert not canvas.sweep and canvas.full_redraws == redraws + 1
    np.testing.assert_array_equal(canvas.image_array(), other.image_array())
    _feed([canvas, other], lambda c: c.trace, fs, n_ch, 40, rng, start=n)
    np.testing.assert_array_equal(canvas.image_array(), other.image_array())
    canvas.set_sweep(True)
    other.set_sweep(True)
    np.testing.assert_array_equal(canvas.image_array(), other.image_array())
    assert canvas.image_array()[:, (canvas.newest_column % canvas.image.width())].size


def test_signal_plots_switch_every_panel(qtbot) -> None:
    plots = SignalPlots(fake_layout(n_eeg=4), window_s=2.0, sweep=False)
    qtbot.addWidget(plots)
    assert not any(p.sweep for p in plots.panels.values())
    plots.set_sweep(True)
    assert plots.sweep and all(p.sweep for p in plots.panels.values())
