"""Per-channel signal-quality lights: a green or amber dot per EEG channel, plus the heart.

The lights sit in a compact grid of at most :data:`MAX_ROWS` rows (a 16-channel headset and its
heart light take two rows of nine), so the bar under the plots stays low enough for a 720-pixel
screen. Each name is shown beside its dot, elided past :data:`LABEL_MAX_PX` pixels; the full name
and the light's verdict are in the tooltips.

Strong mains hum (the quality check's "60 Hz mains 46 dB", at least :data:`STRONG_MAINS_DB`)
does not make a channel unusable (the metrics notch it out), so its light stays green, but with a
yellow ring, and its tooltip says what to check ("mains hum 46 dB (60 Hz): check the
ground/reference electrode and cables"): hum that strong usually means a loose ground or
reference electrode or a cable near a mains lead, and it can still hide the EEG in the raw
recording. Weaker hum, which the quality check also names (from 20 dB), is normal and left
unsaid. The ring comes on only once the hum has been strong for :data:`HUM_ON_S` seconds and
goes off only after :data:`HUM_OFF_S` seconds without it (:class:`MainsHumHold`), so it does not
flicker with the hum's size. The lights are on the therapist's dashboard only, never in the
patient view.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from biotrainer.engine.updates import MetricUpdate
from biotrainer.session.quality_causes import MAINS_FINDING

GOOD = "#7fd18b"
BAD = "#f0a860"
LOST = "#e57373"
UNKNOWN = "#56616c"
#: Ring around a light whose channel carries strong mains hum (usable nonetheless).
HUM_RING = "#f2d64b"

#: What to check when a channel carries strong mains hum.
MAINS_ADVICE = "check the ground/reference electrode and cables"
#: Mains hum (dB of the 50/60 Hz peak over its neighbouring frequencies, as the quality check
#: reports it) from which the dashboard rings a light and says what to check. The quality check
#: names hum from 20 dB (``line_noise_flag_db``), which the simulator's ordinary 1.5 µV of mains
#: reaches in 62 % of its updates (median 21 dB, at most 30 dB in a 12-min session); its
#: 40 µV mains burst (scenario "artifacts") reports 43 dB (median), and an OpenBCI Cyton
#: recording with 77-239 µV of 60 Hz hum 36-44 dB per channel (median; at least 31 dB while
#: still, lower only during blinks and jaw clenches).
STRONG_MAINS_DB = 33.0
#: Seconds of strong hum on a channel before its ring and the dashboard's note come on.
HUM_ON_S = 2.0
#: Seconds without strong hum on a channel before its ring and note go off.
HUM_OFF_S = 5.0

#: Rows of lights at most (more channels make more columns, never a third row).
MAX_ROWS = 2
#: Lights in one row when they all fit in it.
ONE_ROW = 8
#: Widest a channel name is shown (longer names are elided; the tooltip has them whole).
LABEL_MAX_PX = 48
#: Diameter of a light (pixels).
DIAMETER_PX = 12
#: Point size of the names (the dashboard's style sheet gives ``QLabel#lightLabel`` the same).
LABEL_PT = 9
#: Width of the ring of :data:`HUM_RING` (pixels).
RING_PX = 2.5


def grid_columns(n: int) -> int:
    """Columns of the grid for ``n`` lights: one row up to :data:`ONE_ROW`, else as few columns
    as :data:`MAX_ROWS` rows allow."""
    return max(1, n) if n <= ONE_ROW else math.ceil(n / MAX_ROWS)


def channel_reasons(quality_reason: str) -> dict[str, str]:
    """Split an update's ``quality_reason`` ("AF7: EMG; TP9: flat") into channel -> reason."""
    out: dict[str, str] = {}
    for part in quality_reason.split(";"):
        name, sep, reason = part.strip().partition(":")
        if sep and name.strip() and " " not in name.strip():
            out[name.strip()] = reason.strip()
    return out


def split_mains(reason: str) -> tuple[str | None, str]:
    """Split one channel's reason into its mains hum, said plainly, and its other findings.

    Parameters
    ----------
    reason : str
        The channel's findings, comma-separated ("60 Hz mains 46 dB, EMG 31 µV").

    Returns
    -------
    hum : str or None
        "mains hum 46 dB (60 Hz)" when the reason names mains, else None.
    rest : str
        The other findings as they were ("EMG 31 µV"; "" when there are none).
    """
    hum = None
    rest = []
    for finding in (part.strip() for part in reason.split(",")):
        match = MAINS_FINDING.fullmatch(finding)
        if match is not None:
            hum = _hum_said(match)
        elif finding:
            rest.append(finding)
    return hum, ", ".join(rest)


def _hum_said(match: re.Match[str]) -> str:
    """A mains finding (:data:`MAINS_FINDING`) said plainly: "mains hum 46 dB (60 Hz)"."""
    db = f" {match['db']} dB" if match["db"] else ""
    hz = f" ({match['hz']} Hz)" if match["hz"] else ""
    return f"mains hum{db}{hz}"


def strong_hum(reason: str, min_db: float = STRONG_MAINS_DB) -> str | None:
    """One channel's mains hum said plainly ("mains hum 46 dB (60 Hz)", :func:`split_mains`)
    when the reason names it at ``min_db`` or more (or without its size), else None."""
    hum = None
    for finding in reason.split(","):
        match = MAINS_FINDING.fullmatch(finding.strip())
        if match is not None and (match["db"] is None or float(match["db"]) >= min_db):
            hum = _hum_said(match)
    return hum


def channel_tip(name: str, usable: bool, reason: str, hum: str | None = None) -> str:
    """The tooltip of a streaming channel's light: its verdict, and the channel's strong mains
    hum ``hum`` (None: none) with what to check ("Fp1: ok, but mains hum 46 dB (60 Hz): check
    the ground/reference electrode and cables"); weaker hum named in ``reason`` is left out."""
    rest = split_mains(reason)[1]
    verdict = "ok" if usable else (rest or "not usable")
    if hum is None:
        return f"{name}: {verdict}"
    joint = ", but" if usable else ";"
    return f"{name}: {verdict}{joint} {hum}: {MAINS_ADVICE}"


@dataclass
class _HumState:
    """One channel's hold: since when its reports disagree with what is shown (None: they
    agree) and the strong hum last reported."""

    shown: bool = False
    since: float | None = None
    hum: str = ""


class MainsHumHold:
    """Which channels carry strong mains hum steadily: a channel is held once its hum has been
    reported strong (:func:`strong_hum`) for ``on_s`` seconds of updates, and let go once
    ``off_s`` seconds went by without it, so a hum around the threshold does not flicker.

    Parameters
    ----------
    on_s, off_s : float
        Seconds of strong hum before a channel is held; seconds without before it is let go.
    min_db : float
        Weakest hum counted (dB as the quality check reports it).
    """

    def __init__(
        self, on_s: float = HUM_ON_S, off_s: float = HUM_OFF_S, min_db: float = STRONG_MAINS_DB
    ) -> None:
        self.on_s, self.off_s, self.min_db = on_s, off_s, min_db
        self._states: dict[str, _HumState] = {}
        self._last_t = -math.inf

    def reset(self) -> None:
        """Forget every channel (the signal stopped)."""
        self._states.clear()
        self._last_t = -math.inf

    def update(self, t: float, reasons: dict[str, str]) -> None:
        """Take one update's findings per channel (:func:`channel_reasons`) at time ``t``
        (seconds, of the data; an earlier ``t`` than the last starts afresh)."""
        if not math.isfinite(t):
            return
        if t < self._last_t:
            self.reset()
        self._last_t = t
        for name in set(self._states) | set(reasons):
            self._step(self._states.setdefault(name, _HumState()), t, reasons.get(name, ""))

    def _step(self, state: _HumState, t: float, reason: str) -> None:
        hum = strong_hum(reason, self.min_db)
        if hum is not None:
            state.hum = hum
        if (hum is not None) == state.shown:
            state.since = None
            return
        if state.since is None:
            state.since = t
        if t - state.since >= (self.off_s if state.shown else self.on_s):
            state.shown, state.since = not state.shown, None

    def hum(self, name: str) -> str | None:
        """The held channel's strong hum ("mains hum 46 dB (60 Hz)", the last reported), or
        None when ``name`` is not held."""
        state = self._states.get(name)
        return state.hum if state is not None and state.shown else None


class Light(QWidget):
    """A round indicator light, optionally ringed (:meth:`set_ring`)."""

    def __init__(self, diameter: int = DIAMETER_PX, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.diameter = diameter
        self.color = QColor(UNKNOWN)
        self.ring: QColor | None = None
        self.setFixedSize(QSize(diameter + 2, diameter + 2))

    def set_color(self, color: str) -> None:
        c = QColor(color)
        if c != self.color:
            self.color = c
            self.update()

    def set_ring(self, color: str | None) -> None:
        """Draw a ring of ``color`` around the light (None: no ring)."""
        ring = None if color is None else QColor(color)
        if ring != self.ring:
            self.ring = ring
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setBrush(self.color)
        if self.ring is None:
            p.setPen(Qt.PenStyle.NoPen)
            p.drawEllipse(QRectF(1, 1, self.diameter, self.diameter))
            return
        pen = QPen(self.ring)
        pen.setWidthF(RING_PX)
        p.setPen(pen)
        inset = 1 + RING_PX / 2
        size = self.diameter - RING_PX
        p.drawEllipse(QRectF(inset, inset, size, size))


class QualityLights(QWidget):
    """One light per EEG channel (named) and one for the heart signal.

    Green: usable; amber: not usable now (the tooltip says why); red: signal lost; grey: no
    verdict yet. A yellow ring: strong mains hum on the channel for a while
    (:class:`MainsHumHold`; usable nonetheless; the tooltip says what to check).

    Parameters
    ----------
    eeg_names : tuple of str
        EEG channel names (may be empty).
    has_heart : bool
        Show a light for the ECG/PPG beat detection.
    columns : int, optional
        Lights per row (default: :func:`grid_columns`, at most :data:`MAX_ROWS` rows).
    """

    def __init__(
        self,
        eeg_names: tuple[str, ...] = (),
        has_heart: bool = False,
        columns: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.eeg_names = tuple(eeg_names)
        self._heart_seen = False  # a heart rate was shown (no rate after it: beats lost)
        #: Which channels carry strong mains hum steadily (their lights are ringed).
        self.hum_hold = MainsHumHold()
        self.lights: dict[str, Light] = {}
        #: The name label beside each light (its text may be elided; its tooltip is whole).
        self.labels: dict[str, QLabel] = {}
        names = list(self.eeg_names) + (["Heart"] if has_heart else [])
        columns = columns or grid_columns(len(names))
        grid = QGridLayout(self)
        grid.setContentsMargins(2, 0, 2, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        for i, name in enumerate(names):
            light = Light()
            label = QLabel()
            label.setObjectName("lightLabel")
            font = QFont(label.font())
            font.setPointSize(LABEL_PT)
            label.setFont(font)
            shown = QFontMetrics(font).elidedText(name, Qt.TextElideMode.ElideRight, LABEL_MAX_PX)
            label.setText(shown)
            cell = QWidget()
            row = QGridLayout(cell)
            row.setContentsMargins(0, 0, 0, 0)
            row.setHorizontalSpacing(3)
            row.addWidget(light, 0, 0)
            row.addWidget(label, 0, 1)
            row.setColumnStretch(2, 1)  # (a wider column's room goes after the name)
            grid.addWidget(cell, i // columns, i % columns)
            self.lights[name] = light
            self.labels[name] = label
            self._tip(name, f"{name}: waiting for signal")
        grid.setColumnStretch(columns, 1)

    def show_update(self, update: MetricUpdate) -> None:
        """Colour the lights from ``update.channel_ok``, its reasons and the heart rate.

        A lost signal turns every light red; a source that is not streaming for another reason
        (a recording that ended, a device stopped) greys them: nothing is wrong with the signal.
        """
        streaming = update.source_state == "streaming"
        off = LOST if update.source_state == "signal lost" else UNKNOWN
        reasons = channel_reasons(update.quality_reason)
        if streaming:
            self.hum_hold.update(update.sample_time, reasons)
        else:
            self.hum_hold.reset()
        for i, name in enumerate(self.eeg_names):
            light = self.lights[name]
            hum = None
            if not streaming:
                light.set_color(off)
                self._tip(name, f"{name}: {update.source_state}")
            elif i < len(update.channel_ok):
                ok = update.channel_ok[i]
                hum = self.hum_hold.hum(name)
                light.set_color(GOOD if ok else BAD)
                self._tip(name, channel_tip(name, ok, reasons.get(name, ""), hum))
            else:
                light.set_color(UNKNOWN)
                self._tip(name, f"{name}: not analysed by this protocol")
            light.set_ring(HUM_RING if hum is not None else None)
        heart = self.lights.get("Heart")
        if heart is not None:
            if not streaming:
                heart.set_color(off)
                self._tip("Heart", f"Heart: {update.source_state}")
            elif math.isfinite(update.hr_bpm) and update.heart_irregular:
                self._heart_seen = True
                heart.set_color(BAD)
                self._tip(
                    "Heart",
                    f"Heart: {update.hr_bpm:.0f} bpm, beats too irregular to measure variability "
                    "(sensor moving or loose?)",
                )
            elif math.isfinite(update.hr_bpm):
                self._heart_seen = True
                heart.set_color(GOOD)
                self._tip("Heart", f"Heart: beats detected, {update.hr_bpm:.0f} bpm")
            elif self._heart_seen:
                # the beats stopped while the data flow (limits.BEATS_LOST_S)
                heart.set_color(BAD)
                self._tip("Heart", "Heart: no beats detected now: check the ECG/PPG sensor")
            else:
                heart.set_color(UNKNOWN)
                self._tip("Heart", "Heart: no beats detected yet")

    def show_stopped(self, reason: str) -> None:
        """Grey every light: no signal is analysed any more (``reason`` says why, in each
        light's tooltip)."""
        self.hum_hold.reset()
        for name, light in self.lights.items():
            light.set_color(UNKNOWN)
            light.set_ring(None)
            self._tip(name, f"{name}: {reason}")

    def _tip(self, name: str, text: str) -> None:
        """The same tooltip on a light and its name (set only when it changed)."""
        light = self.lights[name]
        if light.toolTip() != text:
            light.setToolTip(text)
            self.labels[name].setToolTip(text)

    def colors(self) -> dict[str, str]:
        """Current colour of every light (tests)."""
        return {name: light.color.name() for name, light in self.lights.items()}

    def humming(self) -> list[str]:
        """The EEG channels ringed for strong mains hum, in order (the dashboard names them)."""
        return [name for name in self.eeg_names if self.lights[name].ring is not None]

    def hum_marked(self) -> list[str]:
        """The lights ringed for mains hum (tests)."""
        return [name for name, light in self.lights.items() if light.ring is not None]
