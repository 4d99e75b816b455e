"""One live signal panel drawn incrementally: a frame only costs the samples that are new.

Two ways to show the window of the last seconds:

- **sweep** (the default of the windows, like a bedside monitor): the picture stays still
  and a cursor writes the newest samples from left to right, erasing the oldest ones just
  ahead of it behind a small gap, then starts again at the left. A frame repaints only the
  few columns the cursor passed, so it costs a fraction of a scrolling frame, and a drawn
  wave stays where it is while the eye reads it.
- **scroll**: the newest sample is always at the right edge and the picture moves left.

The traces of a panel live in a persistent image, one pixel column per column of an absolute
grid (:func:`~biotrainer.ui.traces.column_peaks`). When new columns complete, only they are
drawn: per channel the min/max polyline joined to the previous column, rasterised straight into
the image's pixels as one run of rows per column (:func:`~biotrainer.ui.traces.column_spans`,
the pixels Qt's 1-pixel aliased line would light, give or take one at a segment's end), all
lanes at once. The image is a ring of columns, so the scroll itself costs nothing:
``paintEvent`` blits its two halves in time order (scroll) or the ring as it is (sweep).
Scrolling, the faint lines at whole seconds stay fixed on screen while the picture moves: at
each step the columns they leave get their pixels back and the columns now under them get the
line colour on their background, both read from a column-major copy of the image (a column of
the image itself is a cache line per row); sweeping, they are fixed columns of the ring. The
title and axes sit in a pixmap rendered again only when the size, the scale or the title
changes. The whole image is redrawn from the :class:`~biotrainer.ui.traces.DisplayTrace` only
on resize or rescale, and gives exactly the picture of the incremental path.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from biotrainer.dsp.filters import below_nyquist
from biotrainer.ui.traces import (
    COMMON_SCALE_ROLES,
    DISPLAY_MAINS_HZ,
    DisplayTrace,
    StackScale,
    axis_ticks,
    column_peaks,
    column_spans,
    robust_range,
    stack_scale,
)

if TYPE_CHECKING:
    from biotrainer.ui.signal_plots import Theme

#: Nice names for roles in panel titles.
ROLE_TITLES = {
    "eeg": "EEG",
    "ecg": "ECG",
    "ppg": "PPG",
    "resp": "Respiration",
    "eda": "EDA",
    "accel": "Accelerometer",
    "gyro": "Gyroscope",
    "temp": "Temperature",
}

#: Samples per channel used to choose a scale (a strided subset of the window).
SCALE_SAMPLES = 2048

#: Narrowest trace image drawn (pixels); narrower panels show their frame only.
MIN_WIDTH_PX = 16

TICK_PX = 5
RIGHT_MARGIN_PX = 10

#: Blank ahead of the sweep's cursor, between the newest and the oldest samples, as a share of
#: the width (0.2 s of a 10 s window).
SWEEP_GAP_SHARE = 0.02
#: Narrowest gap ahead of the cursor (image pixels).
MIN_SWEEP_GAP_PX = 4


def pretty_unit(units: str) -> str:
    """Return a display form of a unit string (``uV`` -> ``µV``, ``degC`` -> ``°C``)."""
    return {"uV": "µV", "uS": "µS", "degC": "°C", "deg/s": "°/s"}.get(units, units)


def _range_moved(old: tuple[float, float], new: tuple[float, float]) -> bool:
    """True when ``new`` differs enough from ``old`` to be worth a visible rescale."""
    span = max(old[1] - old[0], 1e-12)
    return abs(new[0] - old[0]) > 0.1 * span or abs(new[1] - old[1]) > 0.1 * span


def _scale_moved(old: StackScale, new: StackScale) -> bool:
    """True when the lane divisions changed or a baseline moved by a tenth of a lane."""
    if not np.array_equal(old.divisions, new.divisions):
        return True
    return bool(np.any(np.abs(new.centers - old.centers) > 0.1 * old.divisions))


def display_filter_caption(
    fs: float, band: tuple[float | None, float | None] | None, mains_notch: bool
) -> str:
    """What a trace's display filter applies, said briefly for its panel title.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    band : tuple or None
        The trace's ``(low, high)`` display pass-band in Hz (either ``None``); a low-pass edge
        at the Nyquist frequency or above is not said (it does nothing visible).
    mains_notch : bool
        Whether the trace notches :data:`~biotrainer.ui.traces.DISPLAY_MAINS_HZ` out; only
        the mains frequencies below the Nyquist frequency are notched, and said.

    Returns
    -------
    str
        "display filter 1–40 Hz, 50/60 Hz notch", "display high-pass 1 Hz", "display 50 Hz
        notch"...; "" when the display is not filtered.
    """
    said = ""
    if band is not None:
        lo, hi = band
        if hi is not None and hi >= fs / 2 * 0.99:
            hi = None
        if lo is not None and hi is not None:
            said = f"display filter {lo:g}–{hi:g} Hz"
        elif lo is not None:
            said = f"display high-pass {lo:g} Hz"
    notched = below_nyquist(fs, DISPLAY_MAINS_HZ)  # (the notches the trace's filter has)
    if not (mains_notch and notched):
        return said
    notch = "/".join(f"{hz:g}" for hz in notched) + " Hz notch"
    return f"{said}, {notch}" if said else f"display {notch}"


class TraceCanvas(QWidget):
    """The traces of one role with its title and axes.

    Multi-channel roles are stacked: channel ``i`` is drawn in lane ``i`` from the top (named
    on the left axis), scaled by :func:`~biotrainer.ui.traces.stack_scale` and clipped to its
    lane; odd lanes use a darker shade so neighbours are easy to follow. A single channel gets
    a value axis in its unit (:func:`~biotrainer.ui.traces.robust_range`).

    Parameters
    ----------
    trace : DisplayTrace
        The buffer this panel draws.
    theme : Theme
    show_time_axis : bool
        Label the seconds and the time axis (the lowest panel of a column).
    sweep : bool
        Sweep (a cursor writes from left to right over a still picture) instead of scrolling
        (the newest sample at the right edge); see :meth:`set_sweep`.
    on_painted : callable, optional
        Called after each paint (the owner counts frames).
    parent : QWidget, optional
    """

    def __init__(
        self,
        trace: DisplayTrace,
        theme: Theme,
        show_time_axis: bool = True,
        on_painted=None,
        parent: QWidget | None = None,
        *,
        sweep: bool = True,
    ) -> None:
        super().__init__(parent)
        self.trace = trace
        self.sweep = sweep
        self.theme = theme
        self.show_time_axis = show_time_axis
        self._on_painted = on_painted
        self.stacked = trace.n_channels > 1
        self.common_scale = trace.role in COMMON_SCALE_ROLES
        self.scale: StackScale | None = None
        self.y_range: tuple[float, float] | None = None
        self.title = ""
        self.drawn_version = -1
        #: Columns drawn so far (counting incremental and full draws), for tests and benchmarks.
        self.columns_drawn = 0
        self.full_redraws = 0
        self.paints = 0  #: paint events handled
        self.image: QImage | None = None
        self._pixels: np.ndarray | None = None  # uint32 view of self.image
        self._data_rect_for = None
        self._static: QPixmap | None = None
        self._col_end = 0  # absolute grid column just right of the image's last column
        self._needs_full = True
        self._font = QFont()
        self._font.setPointSize(theme.font_pt)
        self._title_font = QFont()
        self._title_font.setPointSize(theme.title_pt)
        self._bg = QColor(theme.background)
        base = QColor(theme.trace_color(trace.role))
        odd = base.darker(125) if self.stacked else base
        self._shades = np.array([base.rgba(), odd.rgba()], dtype=np.uint32)  # even, odd lanes
        # Opaque colour of a faint second line over the background (drawn under the traces).
        axis, a = QColor(theme.axis), theme.grid_alpha
        mix = zip(axis.getRgbF()[:3], self._bg.getRgbF()[:3], strict=True)
        self._grid = QColor.fromRgbF(*(a * c1 + (1 - a) * c0 for c1, c0 in mix))
        self._bg_px = np.uint32(self._bg.rgba())
        self._grid_cols = np.zeros(0, dtype=np.int64)  # image x of the lines at whole seconds
        self._blank = np.zeros(0, dtype=np.uint32)  # sweep: per image x, its empty pixel
        self._gap = 0  # sweep: columns kept blank ahead of the cursor
        self._drawn_from = 0  # the first absolute column the last draw wrote
        self._grid_px = np.uint32(self._grid.rgba())
        self._columns = np.zeros((0, 0), dtype=np.uint32)  # the image by columns (x, y)
        self._grid_over_bg = self._bg.rgba() < self._grid.rgba() < int(self._shades.min())
        self._width = 0  # of the image
        self._rows = np.zeros((0, 1))
        self._row_lane: np.ndarray | None = None  # per image row, its lane (stacked)
        self._row_px = np.zeros((0, 1), dtype=np.uint32)  # per image row, its trace colour
        self._affine: tuple[np.ndarray, ...] = ()
        self._data_rect: QRect | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(120, 60)
        self.title = self._make_title()

    # -- geometry -----------------------------------------------------------------------------

    def data_rect(self) -> QRect:
        """Where the traces are drawn, in widget pixels."""
        if self._data_rect is None or self._data_rect_for != self.size():
            self._data_rect = self._compute_data_rect()
            self._data_rect_for = self.size()
        return self._data_rect

    def _compute_data_rect(self) -> QRect:
        fm = QFontMetrics(self._font)
        top = QFontMetrics(self._title_font).height() + 6
        bottom = TICK_PX + 2
        if self.show_time_axis:
            bottom += 2 * fm.height() + 4
        left = self.theme.axis_width_px
        w = max(0, self.width() - left - RIGHT_MARGIN_PX)
        h = max(0, self.height() - top - bottom)
        return QRect(left, top, w, h)

    def _image_size(self) -> tuple[int, int]:
        r = self.data_rect()
        dpr = self.devicePixelRatioF()
        return round(r.width() * dpr), round(r.height() * dpr)

    def resizeEvent(self, ev) -> None:  # noqa: N802 - Qt override
        self._static = None
        self._needs_full = True
        self.drawn_version = -1
        self.refresh()
        super().resizeEvent(ev)

    # -- scale and title ----------------------------------------------------------------------

    def _make_title(self) -> str:
        t = self.trace
        unit = pretty_unit(t.units)
        parts = [ROLE_TITLES.get(t.role, t.role), f"{t.fs:g} Hz"]
        if self.stacked:
            common = self.scale.common if self.scale is not None else None
            if not self.common_scale:
                parts.append("each channel scaled to fit")
            elif common is not None:
                parts.append(f"{common:g} {unit} / division")
        elif unit:
            parts.append(unit)
        caption = display_filter_caption(t.fs, t.band, t.mains_notch)
        if caption:
            parts.append(caption)
        return " · ".join(parts)

    def rescale(self) -> bool:
        """Recompute the vertical scale from the current window (about once a second).

        The picture is redrawn only when the scale visibly changed; return True then.
        """
        _, y = self.trace.snapshot()
        if y.shape[1] == 0:
            return False
        y = y[:, :: max(1, y.shape[1] // SCALE_SAMPLES)]
        if self.stacked:
            scale = stack_scale(y, common=self.common_scale)
            if scale is None or (self.scale is not None and not _scale_moved(self.scale, scale)):
                return False
            self.scale = scale
        else:
            rng = robust_range(y[0])
            if rng is None or (self.y_range is not None and not _range_moved(self.y_range, rng)):
                return False
            self.y_range = rng
        self.title = self._make_title()
        self._static = None
        self._needs_full = True
        self.drawn_version = -1
        self.update()
        return True

    @property
    def has_scale(self) -> bool:
        return self.scale is not None if self.stacked else self.y_range is not None

    @property
    def lane_labels(self) -> tuple[str, ...]:
        """Names on the left axis, top lane first (empty for a single channel)."""
        return self.trace.channel_names if self.stacked else ()

    # -- drawing into the image ---------------------------------------------------------------

    def refresh(self) -> bool:
        """Draw the columns completed since the last frame; return True when the image changed.

        Only the trace area is scheduled for repainting, and only when something was drawn.
        A frame with no new sample, or no newly completed column, costs next to nothing.
        """
        trace = self.trace
        if trace.version == self.drawn_version:
            return False
        self.drawn_version = trace.version
        image = self.image
        if not self._needs_full and image is not None:
            col_end = trace.samples_received * self._width // trace.n_window
            shift = col_end - self._col_end
            if shift <= 0:
                return False
            if shift < self._width:
                self._draw(self._col_end, col_end)
                if self.sweep:
                    self._update_columns(self._drawn_from, col_end + self._gap)
                else:
                    self.update(self._data_rect)
                return True
        if trace.samples_received == 0:
            return False
        if not self.has_scale and not self.rescale():
            return False
        width, height = self._image_size()
        if width < MIN_WIDTH_PX or height < 2:
            return False
        self.redraw_all()
        self.update(self.data_rect())
        return True

    def set_sweep(self, sweep: bool) -> None:
        """Sweep (True) or scroll (False) from the next frame on; the picture is redrawn."""
        if sweep == self.sweep:
            return
        self.sweep = sweep
        self._static = None
        self._needs_full = True
        self.drawn_version = -1
        self.refresh()
        self.update()

    def _update_columns(self, start: int, end: int) -> None:
        """Schedule the repaint of absolute columns ``[start, end)`` where they are on screen
        in the sweep (one or two strips of the trace area: the ring may wrap)."""
        data, w = self.data_rect(), self._width
        start = max(start, end - w)
        scale = data.width() / w
        i0 = start % w
        for a, b in ((i0, min(w, i0 + end - start)), (0, i0 + end - start - w)):
            if b > a:
                left = data.left() + math.floor(a * scale)
                right = data.left() + math.ceil(b * scale)
                self.update(QRect(left, data.top(), right - left, data.height()))

    def redraw_all(self) -> None:
        """Redraw the whole trace image from the trace's buffer (resize, rescale)."""
        width, height = self._image_size()
        if (
            self.image is None
            or self.image.size().toTuple() != (width, height)
            or self._blank.size != width
        ):
            self.image = QImage(width, height, QImage.Format.Format_RGB32)
            self._pixels = np.frombuffer(self.image.bits(), np.uint32).reshape(
                height, self.image.bytesPerLine() // 4
            )[:, :width]
            win = self.trace.window_s
            xs = [round(width * (1.0 - s / win)) for s in range(1, math.ceil(win))]
            self._grid_cols = np.array([x for x in xs if 0 <= x < width], dtype=np.int64)
            self._columns = np.zeros((width, height), dtype=np.uint32)
            # Sweeping, the lines at whole seconds of the sweep are fixed columns of the ring.
            self._blank = np.full(width, self._bg_px, dtype=np.uint32)
            sweep_xs = [round(width * s / win) for s in range(1, math.ceil(win))]
            self._blank[[x for x in sweep_xs if 0 <= x < width]] = self._grid_px
            self._gap = max(MIN_SWEEP_GAP_PX, math.ceil(width * SWEEP_GAP_SHARE))
        self._width = width
        self._affine = self._pixel_map(height)
        col_end = self.trace.samples_received * width // self.trace.n_window
        self._draw(None, col_end)
        self._needs_full = False
        self.full_redraws += 1

    # The image is a ring of columns: absolute column c lives at image x = c mod width, so
    # scrolling costs nothing; paintEvent blits the two halves in time order. A column-major
    # copy of it (_columns, without the lines at whole seconds) is kept for reading columns.

    def _pixel_map(self, height: int) -> tuple[np.ndarray, ...]:
        """Per channel ``(gain, offset, top, bottom)``: pixel row = clip(gain * v + offset).

        Stacked: the mapping of :func:`~biotrainer.ui.traces.to_lanes` (lane ``i`` from the top,
        clipped to +-half a lane) in pixels; single: the value axis ``y_range``. Also sets the
        per-row tables the columns are written with: the row index, its lane and its colour.
        """
        n = self.trace.n_channels
        self._rows = np.arange(height, dtype=np.float64)[:, None]
        if self.stacked:
            lane = height / n
            gain = -lane / self.scale.divisions
            offset = (np.arange(n) + 0.5) * lane - gain * self.scale.centers
            # Whole pixel rows per lane, so neighbouring lanes never share a pixel row.
            bounds = np.round(np.arange(n + 1) * lane)
            top, bottom = bounds[:-1], np.maximum(bounds[1:] - 1.0, bounds[:-1])
            lanes = np.searchsorted(bounds[1:], np.arange(height), side="right")
            self._row_lane = np.minimum(lanes, n - 1)
            self._row_px = self._shades[self._row_lane % 2][:, None]
            return gain[:, None], offset[:, None], top[:, None], bottom[:, None]
        self._row_lane = None
        self._row_px = np.full((height, 1), self._shades[0], dtype=np.uint32)
        lo, hi = self.y_range
        gain = -height / (hi - lo)
        return (np.array([[gain]]), np.array([[-gain * hi]]), np.array([[-2.0]]),
                np.array([[height + 2.0]]))  # fmt: skip

    def _draw(self, old_end: int | None, col_end: int) -> None:
        """Move the image's right edge from column ``old_end`` to ``col_end`` (``None``: draw
        the whole window), writing the pixels of every column whose picture changed."""
        px, w, n_window = self._pixels, self._width, self.trace.n_window
        x_lo = col_end - w if old_end is None else old_end
        # The last column holding a sample before x_lo: its join to the next column is new,
        # and so are the empty columns after it.
        prev = (max(0, -((-x_lo * n_window) // w) - 1) * w) // n_window
        from_col = min(prev, x_lo)
        first, y = self.trace.since(-((-from_col * n_window) // w))
        cols, lo, hi = column_peaks(y, first, n_window, w, from_col, col_end)
        x_lo = max(from_col, col_end - w)
        self._drawn_from = x_lo
        if cols.size:
            gain, offset, top, bottom = self._affine
            a, b = lo * gain, hi * gain  # rows: a (the minimum) below b
            for rows in (a, b):
                rows += offset
                np.minimum(rows, bottom, out=rows)
                np.maximum(rows, top, out=rows)
            span_top, span_bottom = column_spans(cols, a, b, x_lo, col_end)
            new = x_lo if old_end is None else old_end
            self.columns_drawn += cols.size - int(np.searchsorted(cols, new))
            if self._row_lane is not None:
                span_top, span_bottom = span_top[self._row_lane], span_bottom[self._row_lane]
        else:
            span_top = span_bottom = np.nan
        rows = self._rows
        i0, i1 = x_lo % w, (col_end - 1) % w + 1
        if self.sweep:
            self._sweep_columns(x_lo, col_end, (rows >= span_top) & (rows <= span_bottom))
            return
        block = np.where((rows >= span_top) & (rows <= span_bottom), self._row_px, self._bg_px)
        if i0 < i1:
            px[:, i0:i1] = block
            self._columns[i0:i1] = block.T
        else:  # across the seam of the ring
            px[:, i0:], px[:, :i1] = block[:, : w - i0], block[:, w - i0 :]
            self._columns[i0:], self._columns[:i1] = block[:, : w - i0].T, block[:, w - i0 :].T
        self._col_end = col_end
        if self._grid_cols.size:
            # The lines at whole seconds stay at their place on screen while the picture
            # moves through the ring: the columns they leave get their pixels back, the
            # columns now under them get the line colour on the background (not on the
            # traces). Both are read from the image by columns (a column of the image itself
            # is a cache line per row).
            if old_end is not None:
                left = (old_end + self._grid_cols) % w
                px[:, left] = self._columns[left].T
            under = self._columns[(col_end + self._grid_cols) % w].T
            if self._grid_over_bg:  # background < line < traces as 0xAARRGGBB numbers
                lined = np.maximum(under, self._grid_px)
            else:
                lined = np.where(under == self._bg_px, self._grid_px, under)
            px[:, (col_end + self._grid_cols) % w] = lined

    def _sweep_columns(self, x_lo: int, col_end: int, lit: np.ndarray) -> None:
        """Sweeping: write absolute columns ``[x_lo, col_end)`` (``lit``: their trace pixels)
        over their blank (background, or the line at a whole second), and blank the gap of
        columns ahead of the cursor, where the oldest samples are erased."""
        px, w = self._pixels, self._width
        xs = np.arange(x_lo, col_end) % w
        px[:, xs] = np.where(lit, self._row_px, self._blank[xs])
        gap = np.arange(col_end, col_end + min(self._gap, w - 1)) % w
        px[:, gap] = self._blank[gap]
        self._col_end = col_end

    # -- painting -----------------------------------------------------------------------------

    def paintEvent(self, ev) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        data = self.data_rect()
        if not data.contains(ev.rect()):
            if (
                self._static is None
                or self._static.size() != self.size() * self.devicePixelRatioF()
            ):
                self._static = self._render_static()
            painter.drawPixmap(0, 0, self._static)
        if self.image is not None and self.image.size().toTuple() == self._image_size():
            w, h = self.image.width(), self.image.height()
            if self.sweep:  # the ring as it is, only where it was exposed
                scale = w / data.width()
                for r in ev.region():
                    r = r.intersected(data)
                    if not r.isEmpty():
                        source = QRectF((r.left() - data.left()) * scale, 0, r.width() * scale, h)
                        painter.drawImage(QRectF(r.left(), data.top(), r.width(), data.height()),
                                          self.image, source)  # fmt: skip
                self._painted(painter)
                return
            # Oldest columns (ring x >= split) on the left, the newest on the right.
            split = self._col_end % w
            scale = data.width() / w
            left = QRectF(data.left(), data.top(), (w - split) * scale, data.height())
            painter.drawImage(left, self.image, QRectF(split, 0, w - split, h))
            if split:
                right = QRectF(left.right(), data.top(), split * scale, data.height())
                painter.drawImage(right, self.image, QRectF(0, 0, split, h))
        else:
            painter.fillRect(data, self._bg)
        self._painted(painter)

    def _painted(self, painter: QPainter) -> None:
        painter.end()
        self.paints += 1
        if self._on_painted is not None:
            self._on_painted()

    def _render_static(self) -> QPixmap:
        """Background, title and axes (everything that does not move with the traces)."""
        th = self.theme
        dpr = self.devicePixelRatioF()
        pix = QPixmap(self.size() * dpr)
        pix.setDevicePixelRatio(dpr)
        pix.fill(self._bg)
        p = QPainter(pix)
        data = self.data_rect()
        p.setFont(self._title_font)
        p.setPen(QColor(th.title))
        tfm = QFontMetrics(self._title_font)
        title = tfm.elidedText(
            self.title, Qt.TextElideMode.ElideRight, self.width() - data.left() - 8
        )
        p.drawText(data.left() + 4, 3 + tfm.ascent(), title)
        axis_pen = QPen(QColor(th.axis), 1)
        axis_pen.setCosmetic(True)
        text = QColor(th.text)
        p.setFont(self._font)
        fm = QFontMetrics(self._font)
        left, right = data.left() - 1, data.right() + 1
        top, bottom = data.top(), data.bottom() + 1
        # Left axis: lane names (stacked) or values in the unit.
        p.setPen(axis_pen)
        p.drawLine(left, top, left, bottom)
        for y_px, label in self._left_ticks(data, fm):
            p.setPen(axis_pen)
            p.drawLine(QPointF(left - TICK_PX, y_px), QPointF(left, y_px))
            p.setPen(text)
            r = QRectF(0, y_px - fm.height() / 2, left - TICK_PX - 3, fm.height())
            p.drawText(r, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
        # Bottom axis: whole seconds; scrolling, 0 = the newest sample at the right edge;
        # sweeping, the seconds of the sweep from its start at the left edge.
        p.setPen(axis_pen)
        p.drawLine(left, bottom, right, bottom)
        win = self.trace.window_s
        secs = range(0, math.floor(win) + 1) if self.sweep else range(-math.floor(win), 1)
        origin = 0.0 if self.sweep else 1.0
        every = 1
        while every * data.width() / win < fm.horizontalAdvance("-10") + 12:
            every = {1: 2, 2: 5}.get(every, every * 2)
        for s in secs:
            x = data.left() + data.width() * (origin + s / win)
            p.setPen(axis_pen)
            p.drawLine(QPointF(x, bottom), QPointF(x, bottom + TICK_PX))
            if self.show_time_axis and s % every == 0 and 0 < abs(s) < win:
                p.setPen(text)
                r = QRectF(x - 30, bottom + TICK_PX + 1, 60, fm.height())
                p.drawText(r, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, f"{s}")
        if self.show_time_axis:
            p.setPen(text)
            r = QRectF(data.left(), bottom + TICK_PX + fm.height() + 3, data.width(), fm.height())
            caption = "time in the sweep (s)" if self.sweep else "time (s)"
            p.drawText(r, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, caption)
        p.end()
        return pix

    def _left_ticks(self, data: QRect, fm: QFontMetrics) -> list[tuple[float, str]]:
        h = data.height()
        if self.stacked:
            n = self.trace.n_channels
            lane = h / n
            every = max(1, math.ceil((fm.height() + 1) / max(lane, 1e-9)))
            return [
                (data.top() + (i + 0.5) * lane, name)
                for i, name in enumerate(self.trace.channel_names)
                if i % every == 0
            ]
        if self.y_range is None:
            return []
        lo, hi = self.y_range
        ticks, decimals = axis_ticks(lo, hi, max(2, h // (2 * fm.height())))
        if ticks.size >= 2:
            # A short panel: every so many ticks, so that no two labels overlap (one label
            # when even two would).
            apart = (ticks[1] - ticks[0]) * h / (hi - lo)
            ticks = ticks[:: max(1, math.ceil((fm.height() + 1) / max(apart, 1e-9)))]
        return [(data.top() + (hi - v) * h / (hi - lo), f"{v:.{decimals}f}") for v in ticks]

    @property
    def value_ticks(self) -> list[tuple[float, str]]:
        """The left axis' labels as painted: (y in pixels, text), top first (lane names when
        stacked)."""
        return self._left_ticks(self.data_rect(), QFontMetrics(self._font))

    # -- inspection (tests) -------------------------------------------------------------------

    @property
    def newest_column(self) -> int:
        """The absolute grid column just right of the newest one drawn (the right edge)."""
        return self._col_end

    def lane_rows(self, channel: int) -> tuple[int, int]:
        """Image rows ``[top, bottom)`` of a stacked channel's lane."""
        h, n = self.image.height(), self.trace.n_channels
        return round(channel * h / n), round((channel + 1) * h / n)

    def value_to_row(self, values: np.ndarray, channel: int = 0) -> np.ndarray:
        """Image rows (float, 0 = top) at which ``values`` of ``channel`` are drawn."""
        gain, offset, top, bottom = (a[channel] for a in self._affine)
        return np.clip(np.asarray(values, dtype=np.float64) * gain + offset, top, bottom)

    @property
    def has_data(self) -> bool:
        """True when some samples have been drawn."""
        return self.columns_drawn > 0

    def image_array(self) -> np.ndarray:
        """The trace picture as on screen: ``(height, width)`` 0xAARRGGBB values (a copy).
        Scrolling, the oldest column first; sweeping, the ring as it is (the newest column
        just left of the gap)."""
        if self.image is None:
            return np.zeros((0, 0), np.uint32)
        if self.sweep:
            return self._pixels.copy()
        return np.roll(self._pixels, -(self._col_end % self.image.width()), axis=1)

    @property
    def gap_columns(self) -> int:
        """Sweeping: the columns kept blank ahead of the cursor."""
        return self._gap

    def trace_rgb(self) -> tuple[int, int]:
        """The 0xAARRGGBB values of the even- and odd-lane trace colours."""
        return int(self._shades[0]), int(self._shades[1])
