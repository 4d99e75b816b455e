"""One station's tile in the clinic monitor, drawn at a text scale the window chooses.

A tile reads, top to bottom: the station (bold), the patient code, the protocol and phase, then
the feedback score (large) beside HR / RMSSD and the signal quality, a progress bar and the state
banner. Its frame and banner turn amber when the signal is lost and red when the stream is gone,
purple when two stations use the same name, slate when the session ended, grey when the stream is
not a biotrainer station's (or another version's). Long texts are shortened or wrapped, never cut
(see :mod:`biotrainer.ui.monitor_labels`); a score outside 0-1 is shown as "–". :class:`TileType`
gives every text's size at a scale, never below a legible floor; :meth:`StationTile.set_scale`
applies it; :class:`TileMeasure` tells the window how much room a tile needs at each scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QLayout,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from biotrainer.net.discovery import StationState, StationStatus
from biotrainer.ui.monitor_labels import (
    BannerLabel,
    ElidedLabel,
    PhaseLabel,
    banner_fit,
    set_point_size,
)

#: Frame / banner colour of each state.
STATE_COLOURS = {
    StationState.CONNECTING: "#7f8c8d",
    StationState.LIVE: "#27ae60",
    StationState.SIGNAL_LOST: "#e67e22",
    StationState.STREAM_LOST: "#c0392b",
    StationState.ENDED: "#34495e",
    StationState.INCOMPATIBLE: "#5d6d7e",
}
#: Frame / banner colour of a station whose name another station on the air also uses.
SAME_NAME_COLOUR = "#8e44ad"
#: Colour of the values (and progress bar) of a station that is not live.
STALE_COLOUR = "#95a5a6"
#: Padding inside the banner, in pixels (each side).
BANNER_PAD = 4
#: Width of the coloured tile frame, in pixels.
FRAME = 4
#: The widest values a tile must show whole: its narrowest width is taken from these.
WIDEST_SCORE = "100"
WIDEST_CARDIAC = "HR 188 bpm\nRMSSD 188 ms"
WIDEST_QUALITY = "signal NOT clean"


def _fmt(value: float, unit: str, digits: int = 0) -> str:
    return "–" if not math.isfinite(value) else f"{value:.{digits}f} {unit}"


def _scaled(base: int, floor: int, scale: float) -> int:
    return max(floor, round(base * scale))


@dataclass(frozen=True)
class TileType:
    """Point sizes and spacing of a tile at one scale (1.0: the reference look).

    Text never goes below a legible floor (10 pt, the station 13 pt, the score 24 pt), so
    scales under about 0.6 change nothing.

    Attributes
    ----------
    title, patient, phase, score, cardiac, quality : int
        Point sizes.
    banner : tuple of int
        Banner point sizes, largest first (it takes the largest that fits, see
        :class:`BannerLabel`).
    margin : int
        Horizontal padding inside the frame, in pixels.
    bar : int
        Progress bar height, in pixels.
    """

    title: int
    patient: int
    phase: int
    score: int
    cardiac: int
    quality: int
    banner: tuple[int, ...]
    margin: int
    bar: int

    @classmethod
    def at(cls, scale: float) -> TileType:
        """The sizes at ``scale``."""
        top, bottom = _scaled(16, 10, scale), _scaled(12, 10, scale)
        return cls(
            title=_scaled(22, 13, scale),
            patient=_scaled(16, 10, scale),
            phase=_scaled(14, 10, scale),
            score=_scaled(40, 24, scale),
            cardiac=_scaled(16, 10, scale),
            quality=_scaled(14, 10, scale),
            banner=tuple(range(top, bottom - 1, -1)),
            margin=_scaled(8, 5, scale),
            bar=_scaled(12, 8, scale),
        )


class StationTile(QFrame):
    """One station, legible from across a room; :meth:`set_scale` sizes its text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tile")
        self.title = ElidedLabel()
        self.patient = ElidedLabel()
        self.phase = PhaseLabel()
        self.score = QLabel()
        self.score.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setTextVisible(False)
        self.cardiac = QLabel()  # "HR … bpm" over "RMSSD … ms"
        self.quality = QLabel()
        self.banner = BannerLabel()
        lay = self._grid = QGridLayout(self)
        lay.setHorizontalSpacing(12)
        lay.setVerticalSpacing(2)
        for row, w in enumerate((self.title, self.patient, self.phase)):
            lay.addWidget(w, row, 0, 1, 2)
        lay.addWidget(self.score, 3, 0)
        vitals = QVBoxLayout()
        vitals.setSpacing(0)
        vitals.addStretch(1)
        vitals.addWidget(self.cardiac)
        vitals.addWidget(self.quality)
        vitals.addStretch(1)
        lay.addLayout(vitals, 3, 1)
        lay.addWidget(self.bar, 4, 0, 1, 2)
        lay.addWidget(self.banner, 5, 0, 1, 2)
        lay.setRowStretch(3, 1)  # spare height goes round the score, not between text lines
        lay.setColumnStretch(0, 1)
        lay.setColumnStretch(1, 1)
        self.scale = 0.0
        self.set_scale(1.0)
        self.status: StationStatus | None = None

    def set_scale(self, scale: float) -> None:
        """Size the text and spacing for ``scale`` (see :class:`TileType`)."""
        if scale == self.scale:
            return
        self.scale = scale
        t = TileType.at(scale)
        set_point_size(self.title, t.title, bold=True)
        set_point_size(self.patient, t.patient)
        set_point_size(self.phase, t.phase)
        set_point_size(self.score, t.score, bold=True)
        set_point_size(self.cardiac, t.cardiac)
        set_point_size(self.quality, t.quality)
        self.banner.set_point_sizes(t.banner)
        self.bar.setFixedHeight(t.bar)
        self._grid.setContentsMargins(t.margin, 3, t.margin, 3)

    def show_status(self, s: StationStatus) -> None:
        """Render one snapshot."""
        self.status = s
        self.title.setText(s.station)
        self.patient.setText(f"Patient {s.patient_code}" if s.patient_code else "Patient –")
        if s.state is StationState.INCOMPATIBLE:
            self.phase.setText("–")
        else:
            self.phase.setText(
                f"{s.protocol}: {s.phase_name}" if s.phase_name else (s.protocol or "waiting…")
            )
        score = s.feedback_score
        shown = math.isfinite(score) and 0.0 <= score <= 1.0  # (1e30 would overflow the bar)
        self.score.setText(f"{round(100 * score)}" if shown else "–")
        self.bar.setValue(round(100 * score) if shown else 0)
        self.cardiac.setText(f"HR {_fmt(s.hr_bpm, 'bpm')}\nRMSSD {_fmt(s.rmssd_ms, 'ms')}")
        q = {None: "quality –", True: "signal clean", False: "signal NOT clean"}[s.quality_ok]
        self.quality.setText(q)
        # Values of a station that is not live are stale: greyed, never mistaken for live ones.
        live = s.state is StationState.LIVE
        stale = "" if live else f"color: {STALE_COLOUR};"
        for w in (self.score, self.cardiac, self.quality, self.phase):
            w.setStyleSheet(stale)
        self.bar.setStyleSheet(
            "" if live else f"QProgressBar::chunk {{ background-color: {STALE_COLOUR}; }}"
        )
        if s.same_name:
            colour = SAME_NAME_COLOUR
            self.banner.setText(s.alert)  # not upper-cased: the name and --lsl must read as typed
        else:
            colour = STATE_COLOURS[s.state]
            self.banner.setText(s.alert.upper() if s.alert else s.state.value)
        self.banner.setStyleSheet(
            f"background: {colour}; color: white; padding: {BANNER_PAD}px; border-radius: 4px;"
        )
        self.setStyleSheet(f"#tile {{ border: {FRAME}px solid {colour}; border-radius: 8px; }}")


def _invalidate(layout: QLayout) -> None:
    """Drop the cached sizes of ``layout`` and of the layouts inside it."""
    for i in range(layout.count()):
        inner = layout.itemAt(i).layout()
        if inner is not None:
            _invalidate(inner)
    layout.invalidate()


class TileMeasure:
    """What a tile needs at each scale, measured on a tile that is never shown (so the numbers
    are the layout's own: fonts, frame, margins and spacing of this style and screen).

    Parameters
    ----------
    parent : QWidget, optional
        Owner of the hidden measuring widgets.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        self._tile = StationTile(parent)
        self._tile.hide()
        for label in (self._tile.title, self._tile.patient, self._tile.phase):
            label.setText("Mg")  # elided to any width: only their height counts
        self._tile.cardiac.setText(WIDEST_CARDIAC)
        self._tile.quality.setText(WIDEST_QUALITY)
        self._tile.score.setText(WIDEST_SCORE)
        self._tile.setStyleSheet(f"#tile {{ border: {FRAME}px solid black; }}")
        self._tile.banner.hide()  # measured apart: its height depends on its text and width
        self._sizes: dict[float, tuple[int, int]] = {}
        self._probe = BannerLabel(parent)  # the banner's own height for a text, font, width
        self._probe.hide()
        self._probe.setStyleSheet(f"padding: {BANNER_PAD}px;")
        self._probe.ensurePolished()
        self._banners: dict[tuple[str, float, int], int] = {}

    def _measure(self, scale: float) -> tuple[int, int]:
        if scale not in self._sizes:
            tile = self._tile
            tile.set_scale(scale)
            tile.ensurePolished()
            _invalidate(tile.layout())  # a widget never shown keeps its old sizes otherwise
            hint = tile.sizeHint().expandedTo(tile.minimumSizeHint())
            self._sizes[scale] = hint.width(), hint.height()
        return self._sizes[scale]

    def width(self, scale: float) -> int:
        """The narrowest a tile may be at ``scale``: its widest values still whole."""
        return self._measure(scale)[0]

    def height(self, scale: float, width: int, banner: str) -> int:
        """The height a tile ``width`` pixels wide needs at ``scale`` to show ``banner`` whole."""
        spacing = self._tile.layout().verticalSpacing()
        return self._measure(scale)[1] + spacing + self._banner_height(banner, scale, width)

    def _banner_height(self, text: str, scale: float, width: int) -> int:
        key = (text, scale, width)
        if key not in self._banners:
            probe = self._probe
            probe.setText(text)
            inner = width - 2 * (FRAME + TileType.at(scale).margin)
            size = banner_fit(text, inner - 2 * BANNER_PAD, TileType.at(scale).banner)[0]
            set_point_size(probe, size, bold=True)
            if len(self._banners) > 4096:
                self._banners.clear()
            self._banners[key] = probe.heightForWidth(inner)
        return self._banners[key]
