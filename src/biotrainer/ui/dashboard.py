"""The therapist dashboard: signals, spectrum, trends, quality, protocol state and controls.

The dashboard is a view plus a command panel. It never talks to the engine: it renders the
latest :class:`~biotrainer.engine.updates.MetricUpdate` and the raw chunks it is given, and its
controls emit Qt signals that the trainer window forwards to the engine bridge. Everything it
receives is buffered; :meth:`TherapistDashboard.refresh` (the window's frame timer) paints.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import (
    QFont,
    QFontMetrics,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QTextOption,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.source import SourceLayout
from biotrainer.engine.protocol import Protocol
from biotrainer.engine.updates import MetricUpdate
from biotrainer.session.quality_causes import MAINS, finding_kind
from biotrainer.session.store import DIRECTION_CONTROLS
from biotrainer.ui.quality_lights import MAINS_ADVICE, QualityLights, channel_reasons
from biotrainer.ui.signal_plots import SignalPlots, Theme
from biotrainer.ui.spectrum import SpectrumPanel
from biotrainer.ui.text_lines import wrapped_lines
from biotrainer.ui.trends import TrendPlots

#: What the "Stream to LSL" checkbox exposes (its tooltip).
LSL_TOOLTIP = (
    "Publish the raw signals and the live metrics of the next session on Lab Streaming Layer, "
    "for a clinic monitor or LabRecorder.\n"
    "LSL is unauthenticated: anyone on the local network can discover and read these streams. "
    "They carry the patient code only, never a name. Off by default."
)

#: Range of the manual threshold slider (z-scores) and its steps per z.
THRESHOLD_Z_RANGE = (-2.0, 2.0)
SLIDER_STEPS_PER_Z = 100

DASHBOARD_STYLE = """
QWidget#dashboard, QWidget#dashboard QWidget {{ background: {bg}; color: {text}; }}
QWidget#dashboard QLabel {{ font-size: 10pt; }}
QWidget#dashboard QLabel#lightLabel {{ font-size: 9pt; }}
QLabel#phase {{ font-size: 15pt; color: {title}; font-weight: 600; }}
QLabel#protocol {{ font-size: 11pt; color: #9fb2c4; }}
QLabel#patient {{ font-size: 11pt; color: {title}; font-weight: 600; }}
QLabel#clock {{ font-size: 13pt; color: {title}; }}
QLabel#bigValue {{ font-size: 13pt; color: {title}; }}
QLabel#path {{ font-size: 9pt; color: #8794a1; }}
QLabel#banner {{ font-size: 12pt; font-weight: 600; padding: 4px 12px; border-radius: 4px; }}
QFrame#bar {{ background: #0c1014; border-top: 1px solid #222b34; }}
QFrame#bar QWidget {{ background: #0c1014; }}
QFrame#header {{ background: #151b22; border-bottom: 1px solid #222b34; }}
QFrame#header QWidget {{ background: #151b22; }}
QPushButton {{ background: #1f2833; color: {title}; border: 1px solid #34414e;
    border-radius: 4px; padding: 6px 14px; font-size: 10pt; }}
QPushButton:hover {{ background: #283442; }}
QPushButton:disabled {{ color: #56616c; border-color: #222b34; }}
QPushButton#start {{ background: #24453a; border-color: #3b6b59; }}
QPushButton#stop {{ background: #4a2a2a; border-color: #6b3b3b; }}
QPushButton#check[checking="true"] {{ background: #23405a; border-color: #3f6d8c; }}
QPushButton#start:disabled, QPushButton#stop:disabled {{ background: #161c22;
    border-color: #222b34; color: #56616c; }}
QProgressBar {{ background: #1a2129; border: 1px solid #2a3440; border-radius: 3px;
    color: {title}; text-align: center; font-size: 9pt; }}
QProgressBar::chunk {{ background: #3f6d8c; border-radius: 2px; }}
QProgressBar#score::chunk {{ background: #4f8f7f; }}
QProgressBar#score[rewarded="true"]::chunk {{ background: #7fd18b; }}
QLineEdit {{ background: #1a2129; color: {title}; border: 1px solid #3f6d8c;
    border-radius: 3px; padding: 4px; font-size: 10pt; }}
QSpinBox {{ background: #1a2129; color: {title}; border: 1px solid #34414e; padding: 2px; }}
QCheckBox {{ font-size: 10pt; }}
QSlider::groove:horizontal {{ height: 4px; background: #34414e; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: #9fc3ee; width: 14px; margin: -6px 0;
    border-radius: 7px; }}
QSlider::handle:horizontal:disabled {{ background: #56616c; }}
QSplitter::handle {{ background: #222b34; }}
QCheckBox::indicator {{ width: 13px; height: 13px; border: 1px solid #6b7c8c; border-radius: 3px;
    background: #1a2129; }}
QCheckBox::indicator:checked {{ background: #4f8f7f; border-color: #7fd18b; }}
QCheckBox::indicator:disabled {{ border-color: #34414e; }}
QWidget#dashboard QPushButton:disabled, QWidget#dashboard QCheckBox:disabled,
QWidget#dashboard QLineEdit:disabled {{ color: #56616c; border-color: #222b34; }}
"""


def fmt_clock(seconds: float) -> str:
    """``m:ss`` of a non-negative number of seconds (``–`` for NaN)."""
    if not math.isfinite(seconds):
        return "–"
    s = max(0, int(round(seconds)))
    return f"{s // 60}:{s % 60:02d}"


def pacer_text(bpm: float) -> str:
    """The pacer's rate ("pacer 5.5/min") as a wrapping label never breaks it (a no-break
    space, word joiners)."""
    return f"pacer\u00a0{bpm:g}\u2060/\u2060min"


#: Channels named one by one in a summary of the quality; more are counted ("16 channels").
NAMED_CHANNELS = 3


def reason_kinds(reason: str) -> tuple[str, ...]:
    """The kinds of trouble in one channel's reason, without the measured values:
    "50 Hz mains 21 dB, blink/motion 364 µV" -> ("mains hum", "blinks/movement")
    (:func:`biotrainer.session.quality_causes.finding_kind`; an unknown finding as it is)."""
    kinds = (finding_kind(part) or part.strip() for part in reason.split(","))
    return tuple(dict.fromkeys(k for k in kinds if k))


def _channels(names: list[str]) -> str:
    if len(names) > NAMED_CHANNELS:
        return f"{len(names)} channels"
    return ", ".join(names)


def quality_summary(quality_reason: str, leave_out: tuple[str, ...] = ()) -> str:
    """``quality_reason`` short: the channels grouped by kind of trouble, the most affected
    first, more than :data:`NAMED_CHANNELS` counted rather than named ("16 channels:
    blink/motion; O1: 50 Hz mains"); the parts that name no channel ("signal lost") as they
    are. The kinds in ``leave_out`` (said elsewhere) are not grouped."""
    by_kind: dict[str, list[str]] = {}
    others: list[str] = []
    for part in quality_reason.split(";"):
        part = part.strip()
        channel = channel_reasons(part)
        if not channel:
            if part:
                others.append(part)
            continue
        [(name, reason)] = channel.items()
        for kind in reason_kinds(reason) or (reason,):
            if kind not in leave_out:
                by_kind.setdefault(kind, []).append(name)
    grouped = sorted(by_kind.items(), key=lambda item: -len(item[1]))  # (stable: ties in order)
    return "; ".join([*others, *(f"{_channels(names)}: {kind}" for kind, names in grouped)])


#: What to do about a wireless link losing packets.
LINK_ADVICE = "bring the receiver closer"


def mains_hum_note(humming: Sequence[str]) -> str:
    """What the quality line says of strong mains hum: on which channels it steadily is
    (``humming``, :meth:`biotrainer.ui.quality_lights.QualityLights.humming`) and what to check
    ("mains hum on 8 channels: check the ground/reference electrode and cables"); "" when none
    has it. Hum alone leaves a channel usable."""
    return f"mains hum on {_channels(list(humming))}: {MAINS_ADVICE}" if humming else ""


def quality_text(
    update: MetricUpdate,
    eeg_names: tuple[str, ...] | list[str],
    humming: Sequence[str] = (),
    losing: str = "",
) -> str:
    """The dashboard's quality line for an update (short: :func:`quality_details` is all of it).

    Not clean: what is wrong (``quality_reason``, summarised by :func:`quality_summary`).
    Clean with every channel usable: "signals clean". Clean while some EEG channels are not
    usable (fewer than half, so feedback goes on without them, see
    :func:`biotrainer.dsp.quality.feedback_blocked`): which channels are left out and, where
    ``quality_reason`` names it, why -- "good (F7, T8 left out: EMG)". Mains hum, which
    leaves a channel usable, is not named there; the channels with strong, steady hum
    (``humming``) are said after all that, with what to check (:func:`mains_hum_note`):
    "signals clean · mains hum on 8 channels: check the ground/reference electrode and
    cables".

    Parameters
    ----------
    update : MetricUpdate
    eeg_names : sequence of str
        EEG channel names in the order of ``update.channel_ok`` (empty when the protocol does
        not use EEG: nothing is then said about single channels).
    humming : sequence of str, optional
        The channels of ``eeg_names`` with strong mains hum for a while
        (:meth:`biotrainer.ui.quality_lights.QualityLights.humming`; default none).
    losing : str, optional
        What a wireless link is losing now (:attr:`biotrainer.engine.engine.Engine.link_losing`:
        "losing samples (PPG 4 %)"), said last with what to do: "wireless link losing samples
        (PPG 4 %): bring the receiver closer".
    """
    hum = mains_hum_note([n for n in humming if n in eeg_names])
    verdict = _quality_verdict(update, eeg_names, leave_out=(MAINS,))
    link = f"wireless link {losing}: {LINK_ADVICE}" if losing else ""
    return "Quality: " + " · ".join(part for part in (verdict, hum, link) if part)


def _quality_verdict(
    update: MetricUpdate, eeg_names: tuple[str, ...] | list[str], leave_out: tuple[str, ...]
) -> str:
    """The quality line's verdict (:func:`quality_text`), the kinds of trouble ``leave_out``
    not said ("" when a summary has nothing else)."""
    if not update.quality_ok:  # (all of it when the kinds left out were all there was)
        summary = quality_summary(update.quality_reason, leave_out)
        return summary or quality_summary(update.quality_reason)
    left_out = [n for n, ok in zip(eeg_names, update.channel_ok, strict=False) if not ok]
    if not left_out:
        return "signals clean"
    reasons = channel_reasons(update.quality_reason)
    by_reason: dict[str, list[str]] = {}
    for name in left_out:
        kinds = reason_kinds(reasons.get(name, ""))
        by_reason.setdefault(", ".join(k for k in kinds if k not in leave_out), []).append(name)
    parts = [
        ", ".join(names) + " left out" + (f": {reason}" if reason else "")
        for reason, names in by_reason.items()
    ]
    return f"good ({'; '.join(parts)})"


def quality_details(update: MetricUpdate) -> str:
    """Everything ``update`` says about the signal quality (the quality line's tooltip)."""
    reason = update.quality_reason
    if update.quality_ok and reason == "ok":
        return "Quality: signals clean"
    return "Quality: " + "\n".join(part.strip() for part in reason.split(";"))


def elided_lines(text: str, font: QFont, width: int, max_lines: int) -> str:
    """``text`` as is when it word-wraps at ``width`` pixels in ``font`` into at most
    ``max_lines`` lines; else its first ``max_lines`` lines (joined by newlines), the last
    cut with "…"."""
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    lines = wrapped_lines(text, font, width, option, max_lines + 1)
    if len(lines) <= max_lines:
        return text
    kept = [text[start : start + n].strip() for start, n in lines[: max_lines - 1]]
    rest = text[lines[max_lines - 1][0] :].strip()
    kept.append(QFontMetrics(font).elidedText(rest, Qt.TextElideMode.ElideRight, width))
    return "\n".join(kept)


class ElidedLabel(QLabel):
    """A label of a fixed number of lines: longer text is word-wrapped and cut with "…" (the
    whole text in the tooltip), so the layout around it never changes height with the text.

    Parameters
    ----------
    lines : int
        Lines shown (the label's height).
    """

    def __init__(self, lines: int = 2, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lines = lines
        self._full = ""
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.setWordWrap(True)  # (a text that fits wraps as a label wraps it)
        # (its width comes from the layout, never from the text's length)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._fit_height()

    def full_text(self) -> str:
        """The text as given (:meth:`text` is what is shown)."""
        return self._full

    def set_full_text(self, text: str, tooltip: str | None = None) -> None:
        """Show ``text`` in at most :attr:`lines` lines; the tooltip is ``tooltip`` (default:
        the text)."""
        self._full = text
        self.setToolTip(text if tooltip is None else tooltip)
        self._elide()

    def _fit_height(self) -> None:
        m = self.contentsMargins()
        self.setFixedHeight(self.lines * self.fontMetrics().lineSpacing() + m.top() + m.bottom())

    def _elide(self) -> None:
        width = max(1, self.contentsRect().width())
        shown = elided_lines(self._full, self.font(), width, self.lines)
        if shown != self.text():
            self.setText(shown)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # (the style sheet's font arrives so)
            self._fit_height()
            self._elide()


class FitLabel(QLabel):
    """A label of at most ``lines`` lines that takes narrower room than its text when it must
    (a small screen): the text is then shown cut with "…", all of it in the tooltip.
    :meth:`text` is always all of it, and the label's height never changes with it.

    Parameters
    ----------
    text : str
    least_px : int
        The least width it asks for (pixels; less when its text is shorter).
    lines : int
        1: one line, as wide as the text when there is room. More: the text is word-wrapped
        into at most that many lines (the label's fixed height).
    """

    def __init__(
        self,
        text: str = "",
        least_px: int = 120,
        lines: int = 1,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(text, parent)
        self.least_px = least_px
        self.lines = lines
        self._fit_height()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), self.least_px), hint.height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """As wide as the text on one line; of more lines, about as wide as it is wrapped into
        them (so that the labels beside it are not the ones cut)."""
        hint = super().sizeHint()
        if self.lines == 1:
            return hint
        fm = self.fontMetrics()
        wrapped = math.ceil(fm.horizontalAdvance(self.text()) / self.lines)
        return QSize(min(hint.width(), wrapped + 4 * fm.averageCharWidth()), self.height())

    def shown_text(self) -> str:
        """The text as shown: cut with "…" when it does not fit (lines joined by newlines)."""
        width = max(1, self.contentsRect().width())
        if self.lines == 1:
            return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, width)
        return elided_lines(self.text(), self.font(), width, self.lines)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt API
        super().setText(text)
        self._tip()

    def _fit_height(self) -> None:
        if self.lines > 1:
            m = self.contentsMargins()
            lines = self.lines * self.fontMetrics().lineSpacing()
            self.setFixedHeight(lines + m.top() + m.bottom())

    def _tip(self) -> None:
        tip = self.text() if self.shown_text() != self.text() else ""
        if self.toolTip() != tip:
            self.setToolTip(tip)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._tip()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # (the style sheet's font arrives so)
            self._fit_height()
            self._tip()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        shown = self.shown_text()
        if self.lines == 1 and shown == self.text():
            super().paintEvent(event)
            return
        QFrame.paintEvent(self, event)
        flags = int(self.alignment()) | int(Qt.TextFlag.TextWordWrap)
        painter = QPainter(self)
        self.style().drawItemText(
            painter,
            self.contentsRect(),
            flags,
            self.palette(),
            self.isEnabled(),
            shown,
            self.foregroundRole(),
        )
        painter.end()


#: Characters a note never keeps: control characters (a pasted NUL, a tab) and the
#: directional overrides and isolates that make a text read in another order than it is stored.
_HIDDEN_IN_NOTES = re.compile(f"[\x00-\x1f\x7f-\x9f{DIRECTION_CONTROLS}]+")


def note_text(text: str) -> str:
    """A typed or pasted note as it is recorded: what :data:`_HIDDEN_IN_NOTES` matches becomes
    a space (so ``events.csv``, the store and the report show what the therapist saw), and the
    ends are trimmed."""
    return _HIDDEN_IN_NOTES.sub(" ", text).strip()


class NoteBox(QLineEdit):
    """A one-line note entry: Enter submits (:func:`note_text` of what was typed), Escape
    cancels."""

    submitted = Signal(str)
    cancelled = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            text = note_text(self.text())
            self.clear()
            if text:
                self.submitted.emit(text)
            else:
                self.cancelled.emit()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.clear()
            self.cancelled.emit()
            return
        super().keyPressEvent(event)


class FrameBar(QProgressBar):
    """A progress bar whose new value is painted with the window's next repaint.

    :meth:`QProgressBar.setValue` repaints at once: for the feedback bar, which takes a new
    value at every engine tick, that is a second repaint and flush of the window besides its
    frame, 50-60 times a second. Here the change is scheduled like any other widget's
    (``update()``), so it is painted with the frame the same event-loop pass paints.
    """

    def setValue(self, value: int) -> None:  # noqa: N802 - Qt API
        if value == self.value():
            return
        self.setUpdatesEnabled(False)  # QProgressBar.setValue's repaint() does nothing now
        try:
            super().setValue(value)
        finally:
            self.setUpdatesEnabled(True)  # ... and this schedules the update()


#: How the side column shares extra height between the spectrum and the trends.
SPECTRUM_STRETCH, TRENDS_STRETCH = 2, 5
#: Least heights of the spectrum and of the five trends (pixels): with the header, the bars
#: and the controls they make the window's least height, which must fit a 1024x600 screen
#: beside a taskbar and under the window's title bar (about 540 pixels).
SPECTRUM_MIN_PX, TRENDS_MIN_PX = 120, 206

#: Height of the session progress and the feedback bars (pixels): fixed, so that the header
#: and the bar under the plots are as tall as the window's least height counts them.
BAR_HEIGHT_PX = 20

#: How a session ended -> (phase header, banner colours).
ENDINGS = {
    "complete": ("Finished", "background:#2f5d4a; color:#fff;"),
    "stopped": ("Stopped early", "background:#3a4654; color:#fff;"),
    "source": ("Ended early", "background:#6b5a2a; color:#fff;"),
    "failed": ("Stopped by an error", "background:#7a2e2e; color:#fff;"),
}

#: How a session ended -> what the quality line and the lights say after it: no signal is
#: analysed any more, so the last seconds' verdict ("signals clean") would be stale.
ENDING_QUALITY = {
    "complete": "no live signal: the session has finished",
    "stopped": "no live signal: the session was stopped",
    "source": "no live signal: the device or recording ended",
    "failed": "no signal: the device stopped with an error",
}


class TherapistDashboard(QWidget):
    """Everything the therapist watches and controls during a session.

    Signals
    -------
    start_clicked(), pause_clicked(), stop_clicked(), marker_clicked()
    note_entered(str)
    threshold_changed(float)
        The therapist set a manual threshold (z).
    auto_threshold_requested(float)
        The therapist switched the auto-threshold on (target reward rate 0..1).
    patient_view_clicked()
        Show / hide the patient view.
    check_clicked()
        Start or stop the signal check (live signals and quality lights, nothing recorded).
    """

    start_clicked = Signal()
    pause_clicked = Signal()
    stop_clicked = Signal()
    marker_clicked = Signal()
    note_entered = Signal(str)
    threshold_changed = Signal(float)
    auto_threshold_requested = Signal(float)
    patient_view_clicked = Signal()
    check_clicked = Signal()

    def __init__(
        self, theme: Theme | None = None, window_s: float = 10.0, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("dashboard")
        self.theme = theme or Theme()
        self.window_s = window_s
        #: Signal panels sweep (True) or scroll (:meth:`set_sweep`).
        self.sweep = True
        self.protocol: Protocol | None = None
        self.latest: MetricUpdate | None = None
        self._shown: MetricUpdate | None = None
        self.frames = 0
        self.plots: SignalPlots | None = None
        self.spectrum: SpectrumPanel | None = None
        self.trends = TrendPlots(theme=self.theme)
        self.lights: QualityLights | None = None
        self.state = "idle"
        self._ending: tuple[str, str] | None = None  # (banner, style) after a session
        self._losing = ""  # what a wireless link is losing now (the quality line says it)
        th = self.theme
        self.setStyleSheet(DASHBOARD_STYLE.format(bg=th.background, text=th.text, title=th.title))
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self._build_header())

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setChildrenCollapsible(False)
        self._signals_holder = QWidget()
        holder = QVBoxLayout(self._signals_holder)
        holder.setContentsMargins(0, 0, 0, 0)
        self._placeholder = QLabel(
            "Check signals shows the electrodes live without recording.\n"
            "Start (space) begins the session."
        )
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setStyleSheet("font-size: 14pt; color: #9fb2c4;")
        holder.addWidget(self._placeholder)
        self.side_splitter = QSplitter(Qt.Orientation.Vertical)
        self.side_splitter.setObjectName("sideSplitter")
        self.side_splitter.setChildrenCollapsible(False)
        self._spectrum_holder = QWidget()
        QVBoxLayout(self._spectrum_holder).setContentsMargins(0, 0, 0, 0)
        self.side_splitter.addWidget(self._spectrum_holder)
        self.side_splitter.addWidget(self.trends)
        self.side_splitter.setStretchFactor(0, SPECTRUM_STRETCH)
        self.side_splitter.setStretchFactor(1, TRENDS_STRETCH)
        self.splitter.addWidget(self._signals_holder)
        self.splitter.addWidget(self.side_splitter)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([880, 560])
        self.side_splitter.setSizes([270, 560])
        self._spectrum_holder.setMinimumHeight(SPECTRUM_MIN_PX)
        self.trends.setMinimumHeight(TRENDS_MIN_PX)
        self._shown_layout: SourceLayout | None = None
        outer.addWidget(self.splitter, 1)
        outer.addWidget(self._build_status_bar())
        outer.addWidget(self._build_controls())
        self._set_controls_for("idle")

    # -- building ----------------------------------------------------------------------------

    def _build_header(self) -> QFrame:
        header = QFrame()
        header.setObjectName("header")
        row = QHBoxLayout(header)
        row.setContentsMargins(14, 8, 14, 8)
        row.setSpacing(18)
        left = QVBoxLayout()
        left.setSpacing(0)
        # The patient's code and the protocol share a line: a third line made the header, and
        # so the window's least height, taller than a 1024x600 screen has room for.
        who = QHBoxLayout()
        who.setSpacing(12)
        self.patient_label = FitLabel("", least_px=100)
        self.patient_label.setObjectName("patient")
        self.patient_label.setVisible(False)
        who.addWidget(self.patient_label)
        self.protocol_label = FitLabel("No protocol", least_px=200)
        self.protocol_label.setObjectName("protocol")
        who.addWidget(self.protocol_label, 1)
        self.phase_label = FitLabel("Not started", least_px=200)
        self.phase_label.setObjectName("phase")
        left.addLayout(who)
        left.addWidget(self.phase_label)
        row.addLayout(left, 2)
        # (two lines at most, so that a long instruction never makes the header taller than
        # the window's least height counts it)
        self.instruction_label = FitLabel("", least_px=160, lines=2)
        self.instruction_label.setStyleSheet("color: #9fb2c4; font-style: italic;")
        row.addWidget(self.instruction_label, 3)
        timers = QVBoxLayout()
        timers.setSpacing(2)
        self.phase_clock = QLabel("phase –")
        self.phase_clock.setObjectName("clock")
        self.phase_clock.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.session_progress = FrameBar()
        self.session_progress.setRange(0, 1000)
        self.session_progress.setFormat("session –")
        self.session_progress.setMinimumWidth(200)
        self.session_progress.setFixedHeight(BAR_HEIGHT_PX)
        timers.addWidget(self.phase_clock)
        timers.addWidget(self.session_progress)
        row.addLayout(timers, 2)
        self.banner = FitLabel("", least_px=160)
        self.banner.setObjectName("banner")
        self.banner.setVisible(False)
        row.addWidget(self.banner)
        return header

    def _build_status_bar(self) -> QFrame:
        bar = QFrame()
        bar.setObjectName("bar")
        row = QHBoxLayout(bar)
        row.setContentsMargins(12, 4, 12, 2)
        row.setSpacing(16)
        self._lights_holder = QWidget()
        QHBoxLayout(self._lights_holder).setContentsMargins(0, 0, 0, 0)
        row.addWidget(self._lights_holder, 3, Qt.AlignmentFlag.AlignVCenter)
        score_box = QVBoxLayout()
        score_box.setSpacing(2)
        self.score_label = FitLabel("Feedback –", least_px=160)
        self.score_bar = FrameBar()
        self.score_bar.setObjectName("score")
        self.score_bar.setRange(0, 100)
        self.score_bar.setValue(0)
        self.score_bar.setTextVisible(False)
        self.score_bar.setMinimumWidth(200)
        self.score_bar.setFixedHeight(BAR_HEIGHT_PX)
        score_box.addWidget(self.score_label)
        score_box.addWidget(self.score_bar)
        row.addLayout(score_box, 2)
        # At most two lines, whatever the quality says: a long reason (every channel of a cap
        # with its measure) grew it to nine lines and pushed the trends out of view.
        self.quality_label = ElidedLabel(lines=2)
        self.quality_label.setMinimumWidth(160)
        row.addWidget(self.quality_label, 2)
        self.latency_label = QLabel("latency –")
        self.latency_label.setToolTip(
            "dashboard / patient: time from the poll that brought the newest samples into the "
            "app to the frame that shows them; data age: from the moment the newest sample on "
            "screen entered BrainFlow's buffer (medians of the last 50)"
        )
        # (the trainer window moves it to its status bar, beside the messages, where it takes
        # no width from the quality lights)
        row.addWidget(self.latency_label)
        return bar

    def _build_controls(self) -> QFrame:
        """Two rows, each narrower than a 1024-pixel screen: the session's buttons, then the
        feedback threshold, LSL and the recording (where the note box opens)."""
        bar = QFrame()
        bar.setObjectName("bar")
        outer = QVBoxLayout(bar)
        outer.setContentsMargins(12, 4, 12, 6)
        outer.setSpacing(4)
        outer.addLayout(self._build_session_row())
        outer.addLayout(self._build_feedback_row())
        return bar

    def _build_session_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(10)
        self.check_button = self._button("Check signals", "check", self.check_clicked)
        self.check_button.setToolTip(
            "Open the device and show the signals and quality lights without recording, "
            "to check the electrodes before the session"
        )
        self.start_button = self._button("Start  (space)", "start", self.start_clicked)
        self.pause_button = self._button("Pause  (space)", "pause", self.pause_clicked)
        self.stop_button = self._button("Stop", "stop", self.stop_clicked)
        for b in (self.check_button, self.start_button, self.pause_button, self.stop_button):
            row.addWidget(b)
        row.addSpacing(16)
        self.marker_button = self._button("Marker  (M)", "marker", self.marker_clicked)
        self.note_button = self._button("Note  (N)", "note", None)
        self.note_button.clicked.connect(self.open_note_box)
        self.patient_button = self._button("Patient view  (F11 full screen)", "patient", None)
        self.patient_button.clicked.connect(self.patient_view_clicked)
        for b in (self.marker_button, self.note_button, self.patient_button):
            row.addWidget(b)
        row.addStretch(1)
        return row

    def _build_feedback_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(10)
        row.addWidget(QLabel("Threshold"))
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        lo, hi = THRESHOLD_Z_RANGE
        self.threshold_slider.setRange(
            round(lo * SLIDER_STEPS_PER_Z), round(hi * SLIDER_STEPS_PER_Z)
        )
        self.threshold_slider.setMinimumWidth(120)
        self.threshold_slider.setMaximumWidth(240)
        self.threshold_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.threshold_slider.valueChanged.connect(self._on_slider)
        row.addWidget(self.threshold_slider, 1)
        self.threshold_label = QLabel("z 0.00")
        self.threshold_label.setMinimumWidth(56)
        row.addWidget(self.threshold_label)
        self.auto_check = QCheckBox("auto, target")
        self.auto_check.setChecked(True)
        self.auto_check.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.auto_check.toggled.connect(self._on_auto_toggled)
        row.addWidget(self.auto_check)
        self.target_spin = QSpinBox()
        self.target_spin.setRange(10, 95)
        self.target_spin.setSuffix(" %")
        self.target_spin.setValue(65)
        self.target_spin.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.target_spin.valueChanged.connect(self._on_target)
        row.addWidget(self.target_spin)
        self.reward_label = QLabel("reward rate –")
        self.reward_label.setMinimumWidth(130)
        row.addWidget(self.reward_label)
        row.addSpacing(6)
        self.lsl_check = QCheckBox("Stream to LSL")
        self.lsl_check.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.lsl_check.setToolTip(LSL_TOOLTIP)
        self.station_edit = QLineEdit()
        self.station_edit.setPlaceholderText("station")
        self.station_edit.setMaxLength(32)
        self.station_edit.setMaximumWidth(120)
        self.station_edit.setToolTip(
            "Station name in the stream names (biotrainer-metrics-<station>): 1-32 letters, "
            "digits, '_', '.' or '-'"
        )
        row.addWidget(self.lsl_check)
        row.addWidget(self.station_edit)
        self.path_label = QLabel("Recording: –")
        self.path_label.setObjectName("path")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.path_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row.addWidget(self.path_label, 3)
        # The note box opens in the place of LSL and the recording's folder (LSL cannot be
        # changed during a session, when notes are taken): so it is wide on any screen.
        self.note_box = NoteBox()
        self.note_box.setPlaceholderText("Note for the session log — Enter to save, Esc to cancel")
        self.note_box.setVisible(False)
        self.note_box.submitted.connect(self._on_note)
        self.note_box.cancelled.connect(self._close_note_box)
        row.addWidget(self.note_box, 3)
        return row

    def _button(self, text: str, name: str, signal) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName(name)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # space is the start/pause shortcut
        if signal is not None:
            b.clicked.connect(signal)
        return b

    # -- session set-up ----------------------------------------------------------------------

    def set_protocol(self, protocol: Protocol) -> None:
        """Show the protocol and take its target reward rate."""
        self.protocol = protocol
        self.protocol_label.setText(f"{protocol.title}  ·  {fmt_clock(protocol.duration_s)}")
        self.target_spin.blockSignals(True)
        self.target_spin.setValue(round(100 * protocol.target_reward_rate))
        self.target_spin.blockSignals(False)
        self.session_progress.setFormat(f"session 0:00 / {fmt_clock(protocol.duration_s)}")
        lo, hi = THRESHOLD_Z_RANGE  # (as wide again as a new session needs)
        self.threshold_slider.blockSignals(True)
        self.threshold_slider.setRange(
            round(lo * SLIDER_STEPS_PER_Z), round(hi * SLIDER_STEPS_PER_Z)
        )
        self.threshold_slider.blockSignals(False)

    def set_layout(self, layout: SourceLayout) -> None:
        """Build the signal plots, the spectrum and the quality lights for a source."""
        for holder in (self._signals_holder, self._spectrum_holder, self._lights_holder):
            lay = holder.layout()
            while lay.count():
                w = lay.takeAt(0).widget()
                if w is not None:
                    w.setParent(None)
                    w.deleteLater()
        self.plots = SignalPlots(layout, window_s=self.window_s, theme=self.theme, sweep=self.sweep)
        self._signals_holder.layout().addWidget(self.plots)
        eeg = layout.group("eeg")
        if eeg is not None:
            self.spectrum = SpectrumPanel(
                layout.preset(eeg.preset).fs, len(eeg.names), theme=self.theme
            )
            self._spectrum_holder.layout().addWidget(self.spectrum)
        else:
            self.spectrum = None
            self._spectrum_holder.setVisible(False)
        has_heart = any(layout.group(r) is not None for r in ("ecg", "ppg"))
        self.lights = QualityLights(eeg.names if eeg is not None else (), has_heart=has_heart)
        self._lights_holder.layout().addWidget(self.lights)
        self._shown_layout = layout

    def set_sweep(self, sweep: bool) -> None:
        """Signal panels sweep (True) or scroll (False), now and after the next source."""
        self.sweep = sweep
        if self.plots is not None:
            self.plots.set_sweep(sweep)

    @property
    def shown_layout(self) -> SourceLayout | None:
        """The layout the plots were built for (None before the first source)."""
        return self._shown_layout

    def set_patient(self, code: str | None) -> None:
        """Show the patient's pseudonymous code in the header (never a name)."""
        self.patient_label.setText(f"Patient {code}" if code else "No patient")
        self.patient_label.setVisible(True)

    def new_session(self) -> None:
        """Forget the previous session's trends and read-outs (the signal plots go on)."""
        old = self.trends
        self.trends = TrendPlots(theme=self.theme)
        self.trends.setMinimumHeight(old.minimumHeight())
        sizes = self.side_splitter.sizes()
        index = self.side_splitter.indexOf(old)
        self.side_splitter.replaceWidget(index, self.trends)
        # (a splitter keeps stretch in its widgets' size policies: the new one has none, and
        # all the height a larger window adds would go to the spectrum)
        self.side_splitter.setStretchFactor(index, TRENDS_STRETCH)
        self.side_splitter.setSizes(sizes)
        old.setParent(None)
        old.deleteLater()
        self.take_note_draft()  # (nothing of the last session's note box carries over)
        self.latest = None
        self._shown = None
        self._ending: tuple[str, str] | None = None
        self._losing = ""
        self._set_text(self.score_label, "Feedback –")
        self.score_bar.setValue(0)
        self._set_text(self.reward_label, "reward rate –")
        if self.protocol is not None:
            self.session_progress.setValue(0)
            self.session_progress.setFormat(f"session 0:00 / {fmt_clock(self.protocol.duration_s)}")
        self._set_text(self.phase_label, "Not started")
        self._set_text(self.phase_clock, "phase –")

    def show_ending(self, banner: str, kind: str = "complete") -> None:
        """After a session: the banner says how it ended (``kind``: a key of
        :data:`ENDINGS`), and the phase header stops."""
        header, style = ENDINGS[kind]
        self._ending = (banner, style)
        self._set_text(self.phase_label, header)
        self._set_text(self.phase_clock, "")
        self._set_text(self.score_label, "Feedback –")
        self.score_bar.setValue(0)
        said = ENDING_QUALITY[kind]
        self.quality_label.set_full_text(
            f"Quality: – ({said})",
            f"Quality: {said}. The lights and this line show live signals only: a signal "
            "check or a new session shows them again.",
        )
        if self.lights is not None:
            self.lights.show_stopped(said)
        self._update_banner()

    def set_session_folder(self, path: str | Path | None) -> None:
        self.path_label.setText(f"Recording: {path}" if path else "Recording: –")
        self.path_label.setToolTip(str(path) if path else "")

    def set_state(self, state: str) -> None:
        """``idle``, ``preview`` (signal check), ``running``, ``paused``, ``finished`` or
        ``failed``: buttons and banner."""
        self.state = state
        self._set_controls_for(state)
        self._update_banner()

    def _set_controls_for(self, state: str) -> None:
        active = state in ("running", "paused")
        self.start_button.setEnabled(not active)
        self.check_button.setEnabled(not active)
        checking = "true" if state == "preview" else "false"
        self.check_button.setText("Stop signal check" if state == "preview" else "Check signals")
        if self.check_button.property("checking") != checking:
            self.check_button.setProperty("checking", checking)
            self.check_button.style().unpolish(self.check_button)
            self.check_button.style().polish(self.check_button)
        self.pause_button.setEnabled(active)
        self.pause_button.setText("Resume  (space)" if state == "paused" else "Pause  (space)")
        self.stop_button.setEnabled(active)
        for w in (self.marker_button, self.note_button):
            w.setEnabled(active)
        for w in (self.lsl_check, self.station_edit):
            w.setEnabled(not active)

    # -- data in -----------------------------------------------------------------------------

    def push_chunk(self, chunk: Chunk) -> None:
        """Buffer raw samples for the signal plots and the spectrum (no painting)."""
        if self.plots is not None:
            self.plots.push(chunk)
        if self.spectrum is not None:
            self.spectrum.push(chunk)

    def add_updates(self, updates: list[MetricUpdate]) -> None:
        """Take every update of an engine tick (trends) and keep the newest."""
        if not updates:
            return
        self.trends.append(updates)
        self.latest = updates[-1]

    def show_update(self, update: MetricUpdate) -> None:
        """Keep ``update`` as the one to paint at the next frame."""
        self.latest = update

    def show_preview(self, preview) -> None:
        """Move the feedback bar to the score at the newest sample (a
        :class:`~biotrainer.engine.preview.FeedbackPreview`) at once, between updates."""
        shown = self._shown
        score = preview.feedback_score
        if shown is None or self.state == "preview" or shown.paused or not math.isfinite(score):
            return
        if math.isfinite(shown.feedback_score) and not shown.finished:
            self.score_bar.setValue(round(100 * score))

    # -- painting ----------------------------------------------------------------------------

    def refresh(self) -> MetricUpdate | None:
        """Paint what arrived since the last frame; return the update now shown (or None)."""
        self.frames += 1
        if self.plots is not None:
            self.plots.refresh()
            if self.frames % 30 == 0:
                self.plots.rescale()
        if self.frames % 15 == 0:
            if self.spectrum is not None:
                self.spectrum.refresh()
            self.trends.refresh()
        return self.show_latest()

    def show_latest(self) -> MetricUpdate | None:
        """Show the newest update's numbers now if not yet shown (the trainer calls this as
        updates arrive, not only on the frame timer); return it, or None."""
        u = self.latest
        if u is None or u is self._shown:
            return None
        if self._ending is not None and self.state != "preview":
            return None  # (after the session's end: show_ending said there is no live signal)
        self._shown = u
        if self.state == "preview":
            self._show_check(u)
            return None
        if self.lights is not None:  # (first: the quality line names the lights' hum)
            self.lights.show_update(u)
        self._show_labels(u)
        if self.spectrum is not None and u.band_powers is not None:
            self.spectrum.set_band_powers(u.band_powers)
        return u

    @staticmethod
    def _set_text(label: QLabel, text: str) -> None:
        if label.text() != text:
            label.setText(text)

    def _show_labels(self, u: MetricUpdate) -> None:
        n_phases = len(self.protocol.phases) if self.protocol else 0
        if u.finished:
            self._set_text(self.phase_label, "Finished")
            self._set_text(self.phase_clock, "")
        else:
            self._set_text(
                self.phase_label, f"{u.phase_name}   ·   {u.phase_index + 1} of {n_phases}"
            )
            total = u.phase_elapsed_s + u.phase_remaining_s
            self._set_text(
                self.phase_clock,
                f"{fmt_clock(u.phase_elapsed_s)} / {fmt_clock(total)}   "
                f"({fmt_clock(u.phase_remaining_s)} left)",
            )
            if self.protocol is not None and 0 <= u.phase_index < n_phases:
                phase = self.protocol.phases[u.phase_index]
                pacer = f"  ·  {pacer_text(u.pacer_bpm)}" if math.isfinite(u.pacer_bpm) else ""
                self._set_text(self.instruction_label, f"“{phase.instruction}”{pacer}")
        if self.protocol is not None:
            dur = self.protocol.duration_s
            self.session_progress.setValue(round(1000 * min(1.0, u.session_s / dur)))
            self.session_progress.setFormat(f"session {fmt_clock(u.session_s)} / {fmt_clock(dur)}")
        score = u.feedback_score
        if u.paused:  # (the engine goes on computing; nothing is fed back during a pause)
            self._set_text(self.score_label, "Feedback –  (paused)")
        elif math.isfinite(score):
            self.score_bar.setValue(round(100 * score))
            z = f"z {u.feedback_z:+.2f}" if math.isfinite(u.feedback_z) else ""
            self._set_text(self.score_label, f"Feedback {score:.2f}   {z}")
        elif u.phase_kind == "baseline":
            self._set_text(self.score_label, "Feedback –  (baseline: measuring the usual level)")
        elif u.quality_ok and not u.finished and u.source_state == "streaming":
            # clean data but no z-score: the metric had too few values in the baseline phases
            self._set_text(self.score_label, "Feedback –  (on hold: too little baseline)")
        else:
            self._set_text(self.score_label, "Feedback –  (on hold)")
        rewarded = "true" if u.rewarded else "false"
        if self.score_bar.property("rewarded") != rewarded:
            self.score_bar.setProperty("rewarded", rewarded)
            self.score_bar.style().unpolish(self.score_bar)
            self.score_bar.style().polish(self.score_bar)
        rate = f"{100 * u.reward_rate:.0f} %" if math.isfinite(u.reward_rate) else "–"
        self._set_text(self.reward_label, f"reward rate {rate}")
        if self.auto_check.isChecked():
            self._show_threshold(u.threshold_z)
        self._show_quality(u)
        self._update_banner()

    def _show_check(self, u: MetricUpdate) -> None:
        """The signal check: quality lights, heart rate and band powers; no feedback."""
        if self.lights is not None:
            self.lights.show_update(u)
        if self.spectrum is not None and u.band_powers is not None:
            self.spectrum.set_band_powers(u.band_powers)
        hr = f"heart {u.hr_bpm:.0f} bpm" if math.isfinite(u.hr_bpm) else "no heart beats yet"
        self._set_text(self.score_label, f"Signal check · {hr}")
        self._show_quality(u)
        self._update_banner()

    def show_link_losing(self, losing: str) -> None:
        """What a wireless link is losing now ("" when nothing worth saying), said in the
        quality line from the next update (:func:`quality_text`)."""
        self._losing = losing

    def _show_quality(self, u: MetricUpdate) -> None:
        names = self._feedback_eeg_names()
        humming = self.lights.humming() if self.lights is not None and names else ()
        text, details = quality_text(u, names, humming, self._losing), quality_details(u)
        label = self.quality_label
        if text != label.full_text() or details != label.toolTip():
            label.set_full_text(text, details)

    def _feedback_eeg_names(self) -> tuple[str, ...]:
        """The EEG channel names whose quality the feedback depends on (none when the protocol
        does not use EEG)."""
        if self.lights is None or (self.protocol is not None and not self.protocol.uses_eeg):
            return ()
        return self.lights.eeg_names

    def _show_threshold(self, z: float) -> None:
        if not math.isfinite(z):
            return
        self.threshold_slider.blockSignals(True)
        # The slider reaches the threshold the auto-threshold set (a relaxed person's can be
        # +8 or more): taking it over by hand then starts from there, not from the slider's end.
        step = round(z * SLIDER_STEPS_PER_Z)
        lo, hi = self.threshold_slider.minimum(), self.threshold_slider.maximum()
        if not lo <= step <= hi:
            margin = SLIDER_STEPS_PER_Z
            self.threshold_slider.setRange(min(lo, step - margin), max(hi, step + margin))
        self.threshold_slider.setValue(step)
        self.threshold_slider.blockSignals(False)
        self._set_text(self.threshold_label, f"z {z:+.2f}")

    def _update_banner(self) -> None:
        u = self.latest
        text, style = "", ""
        if self.state == "failed":
            text, style = self._ending or ENDINGS["failed"]
        elif u is not None and u.source_state == "signal lost":
            text = "SIGNAL LOST — check the headset and its connection"
            style = "background:#a33b3b; color:#fff;"
        elif self.state == "preview":
            text = "Signal check — nothing is recorded"
            style = "background:#23405a; color:#fff;"
        elif self.state == "paused":
            text, style = "Paused — space resumes", "background:#6b5a2a; color:#fff;"
        elif self.state == "finished":
            text, style = self._ending or ("Session complete", ENDINGS["complete"][1])
        elif u is not None and not u.quality_ok and self.state == "running":
            text, style = "Feedback on hold: signal quality", "background:#5a4a2a; color:#fff;"
        self.banner.setVisible(bool(text))
        if text and self.banner.text() != text:
            self.banner.setText(text)
            self.banner.setStyleSheet(style)

    # -- controls ----------------------------------------------------------------------------

    @property
    def threshold_z(self) -> float:
        return self.threshold_slider.value() / SLIDER_STEPS_PER_Z

    def _on_slider(self, value: int) -> None:
        z = value / SLIDER_STEPS_PER_Z
        self._set_text(self.threshold_label, f"z {z:+.2f}")
        if self.auto_check.isChecked():
            self.auto_check.blockSignals(True)
            self.auto_check.setChecked(False)
            self.auto_check.blockSignals(False)
        self.threshold_changed.emit(z)

    def _on_auto_toggled(self, on: bool) -> None:
        if on:
            self.auto_threshold_requested.emit(self.target_spin.value() / 100.0)
        else:
            self.threshold_changed.emit(self.threshold_z)

    def _on_target(self, value: int) -> None:
        if self.auto_check.isChecked():
            self.auto_threshold_requested.emit(value / 100.0)

    def open_note_box(self) -> None:
        """Show the note entry and give it the keyboard (bringing this window forward: N may
        have been pressed in the patient view)."""
        if self.state not in ("running", "paused"):
            return
        self._show_note_box(True)
        window = self.window()
        window.raise_()
        window.activateWindow()
        self.note_box.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def take_note_draft(self) -> str:
        """The note being typed (:func:`note_text`; "" if none), the note box then emptied and
        closed."""
        text = note_text(self.note_box.text()) if self.note_box.isVisible() else ""
        self.note_box.clear()
        self._close_note_box()
        return text

    def _on_note(self, text: str) -> None:
        self.note_entered.emit(text)
        self._close_note_box()

    def _close_note_box(self) -> None:
        self._show_note_box(False)
        self.note_box.clearFocus()

    def _show_note_box(self, shown: bool) -> None:
        """Show the note box in the place of LSL and the recording's folder, or hide it."""
        for w in (self.lsl_check, self.station_edit, self.path_label):
            w.setVisible(not shown)
        self.note_box.setVisible(shown)
