"""EEG spectrum (median over channels) and relative band-power bars (delta..gamma).

The spectrum is a Welch estimate (:func:`biotrainer.dsp.eeg.welch_psd`) of the last
``window_s`` seconds of raw EEG, recomputed once per second of new data. The bars show the
relative band powers the engine computed (``update.band_powers``, averaged over channels); when
the protocol does not analyse EEG, they are computed here from the same window with
:func:`biotrainer.dsp.eeg.band_powers`.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QWidget

from biotrainer.acquisition.chunk import Chunk
from biotrainer.dsp.buffers import RingBuffer
from biotrainer.dsp.eeg import BANDS_HZ, BandPowers, band_powers, welch_psd
from biotrainer.ui.signal_plots import Theme

BAND_NAMES = tuple(BANDS_HZ)  # delta, theta, alpha, beta, gamma
BAND_SYMBOLS = {"delta": "δ", "theta": "θ", "alpha": "α", "beta": "β", "gamma": "γ"}
BAND_COLORS = ("#8c9eff", "#9fc3ee", "#86cfc3", "#f3c08f", "#ef9d9d")
#: Frequencies shown (Hz).
SHOWN_HZ = (1.0, 40.0)
#: Pixels a value label above a bar takes besides its line of text (the text item's margins).
LABEL_PAD_PX = 10


def mean_relative(bp: BandPowers) -> np.ndarray:
    """Relative power per band (fractions), averaged over the channels with a value."""
    out = np.full(len(BAND_NAMES), np.nan)
    for i, band in enumerate(BAND_NAMES):
        rel = np.asarray(bp.relative(band), dtype=float)
        if np.any(np.isfinite(rel)):
            out[i] = float(np.nanmean(rel))
    return out


def bars_top(highest_pct: float, label_px: float, height_px: float) -> float:
    """Top of the band-power axis (%): at least 40, and high enough that the value label
    (``label_px`` tall, standing on the highest bar) stays inside a plot ``height_px`` tall."""
    room = 1.0 - label_px / height_px if height_px > 0 else 0.8
    return max(40.0, highest_pct / max(room, 0.5))


class SpectrumPanel(pg.GraphicsLayoutWidget):
    """Spectrum plot (left) and band-power bars (right).

    Parameters
    ----------
    fs : float
        EEG sampling rate (Hz).
    n_channels : int
        EEG channels in every pushed block.
    window_s : float
        Seconds of EEG the spectrum is computed on.
    theme : Theme, optional
    """

    def __init__(
        self,
        fs: float,
        n_channels: int,
        window_s: float = 4.0,
        theme: Theme | None = None,
        parent: QWidget | None = None,
    ) -> None:
        self.theme = theme or Theme()
        super().__init__(parent=parent, show=False, size=None, title=None)
        self.setBackground(self.theme.background)
        self.fs = float(fs)
        self.buffer = RingBuffer(n_channels, max(8, int(round(window_s * fs))))
        self._new = 0
        self._every = int(round(fs))  # one second of new data
        self._engine_bands = False
        self.relative = np.full(len(BAND_NAMES), np.nan)
        self._bars_for: np.ndarray | None = None  # the relative powers the bars show
        self._bars_px = 0.0  # ... in a plot this tall
        self.freqs_hz = np.empty(0)
        self.power_db = np.empty(0)
        self.computed = 0
        th = self.theme
        font = QFont()
        font.setPointSize(th.font_pt)

        self.spec_plot = self.addPlot(row=0, col=0)
        self.spec_plot.setMenuEnabled(False)
        self.spec_plot.hideButtons()
        self.spec_plot.setMouseEnabled(x=False, y=False)
        self.spec_plot.setXRange(*SHOWN_HZ, padding=0)
        # (a short title: a pyqtgraph title is never narrower than its text, and a long one
        # pushed the band-power bars out of a 1280-pixel-wide window; the tooltip says more)
        self.setToolTip(
            f"Left: the EEG spectrum of the last {window_s:g} s (Welch), the median over the "
            "channels; the alpha band is shaded.\nRight: each band's share of the total power "
            "(%), averaged over the channels."
        )
        self.spec_plot.setTitle(
            f"EEG spectrum · median · last {window_s:g} s",
            color=th.title,
            size=f"{th.title_pt}pt",
            justify="left",
        )
        self.spec_plot.setLabel("bottom", "frequency (Hz)", color=th.text, size=f"{th.font_pt}pt")
        self.spec_plot.setLabel("left", "power (dB µV²/Hz)", color=th.text, size=f"{th.font_pt}pt")
        alpha = QColor("#86cfc3")
        alpha.setAlpha(40)
        lo, hi = BANDS_HZ["alpha"]
        region = pg.LinearRegionItem((lo, hi), movable=False, brush=pg.mkBrush(alpha))
        region.setZValue(-10)
        for line in region.lines:
            line.setPen(pg.mkPen(None))
        self.spec_plot.addItem(region, ignoreBounds=True)
        self.spec_curve = self.spec_plot.plot(pen=pg.mkPen(th.trace_color("eeg"), width=2))

        self.bar_plot = self.addPlot(row=0, col=1)
        self.bar_plot.setMenuEnabled(False)
        self.bar_plot.hideButtons()
        self.bar_plot.setMouseEnabled(x=False, y=False)
        self.bar_plot.setTitle(
            "Band power (%)", color=th.title, size=f"{th.title_pt}pt", justify="left"
        )
        self.bar_plot.setYRange(0, 60, padding=0)
        self.bar_plot.hideAxis("left")  # (each bar carries its value)
        self.bar_plot.setXRange(-0.5, len(BAND_NAMES) - 0.5, padding=0.02)
        ticks = [(i, BAND_SYMBOLS[name]) for i, name in enumerate(BAND_NAMES)]
        self.bar_plot.getAxis("bottom").setTicks([ticks, []])
        self.bars = pg.BarGraphItem(
            x=np.arange(len(BAND_NAMES)),
            height=np.zeros(len(BAND_NAMES)),
            width=0.7,
            brushes=[pg.mkBrush(c) for c in BAND_COLORS],
            pens=[pg.mkPen(None)] * len(BAND_NAMES),
        )
        self.bar_plot.addItem(self.bars)
        self.bar_labels = []
        self._label_px = QFontMetrics(font).height() + LABEL_PAD_PX
        for i in range(len(BAND_NAMES)):
            label = pg.TextItem("", color=th.text, anchor=(0.5, 1.0))
            label.setFont(font)
            label.setPos(i, 0)
            self.bar_plot.addItem(label)
            self.bar_labels.append(label)
        for plot in (self.spec_plot, self.bar_plot):
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(pg.mkPen(th.axis))
                axis.setTextPen(pg.mkPen(th.text))
                axis.setTickFont(font)
        self.ci.layout.setColumnStretchFactor(0, 3)
        self.ci.layout.setColumnStretchFactor(1, 2)
        self._fit_width()

    def _fit_width(self) -> None:
        """Be at least as wide as the two plots' titles and axes: a view does not take its
        scene's least size, and a splitter squeezed the panel on a 1024-pixel screen until
        the gamma bar was cut off."""
        least = math.ceil(self.ci.effectiveSizeHint(Qt.SizeHint.MinimumSize).width()) + 2
        if least != self.minimumWidth():
            self.setMinimumWidth(least)

    def push(self, chunk: Chunk) -> None:
        """Buffer the EEG of ``chunk`` (no computing, no painting)."""
        block = chunk.signals.get("eeg")
        if block is None or block.n_samples == 0:
            return
        x = np.asarray(block.samples, dtype=float)
        if x.shape[1] > self.buffer.capacity:
            x = x[:, -self.buffer.capacity :]
        self.buffer.push(x)
        self._new += x.shape[1]

    def set_band_powers(self, bp: BandPowers | None) -> None:
        """Band powers from the engine (``update.band_powers``); None keeps computing here."""
        if bp is None:
            return
        self._engine_bands = True
        self.relative = mean_relative(bp)

    def refresh(self) -> bool:
        """Recompute and redraw when a second of new EEG arrived; return True when redrawn."""
        if self._new < self._every or self.buffer.size < self.buffer.capacity // 2:
            self._draw_bars()
            return False
        self._new = 0
        data = self.buffer.latest()
        f, p = welch_psd(data, self.fs)
        keep = (f >= SHOWN_HZ[0]) & (f <= SHOWN_HZ[1])
        finite = np.all(np.isfinite(p[:, keep]), axis=1) & np.any(p[:, keep] > 0, axis=1)
        if not np.any(finite):
            return False
        med = np.median(p[finite][:, keep], axis=0)
        self.freqs_hz = f[keep]
        self.power_db = 10.0 * np.log10(np.maximum(med, 1e-12))
        self.spec_curve.setData(self.freqs_hz, self.power_db)
        lo, hi = np.percentile(self.power_db, [1, 100])
        self.spec_plot.setYRange(lo - 3, hi + 3, padding=0)
        self._fit_width()  # (the power axis' width follows its labels)
        if not self._engine_bands:
            self.relative = mean_relative(band_powers(data, self.fs))
        self.computed += 1
        self._draw_bars()
        return True

    def _draw_bars(self) -> None:
        height_px = self.bar_plot.vb.height()
        if (
            self._bars_for is not None
            and np.array_equal(self._bars_for, self.relative, equal_nan=True)
            and height_px == self._bars_px
        ):
            return  # unchanged since last drawn
        self._bars_for = self.relative.copy()
        self._bars_px = height_px
        pct = np.nan_to_num(100.0 * self.relative, nan=0.0)
        self.bars.setOpts(height=pct)
        top = bars_top(float(np.max(pct)), self._label_px, height_px)
        self.bar_plot.setYRange(0, top, padding=0)
        for label, v, raw in zip(self.bar_labels, pct, self.relative, strict=True):
            label.setText("–" if not np.isfinite(raw) else f"{v:.0f}")
            label.setPos(label.pos().x(), v)
