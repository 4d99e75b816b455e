"""The patient's screen: one calm visual, a breathing pacer, a large instruction, optional sound.

:class:`PatientView` renders the latest :class:`~biotrainer.engine.updates.MetricUpdate` given
to :meth:`PatientView.show_update` and nothing else (it never reads the engine or another
widget). Motion comes from :class:`~biotrainer.ui.smoothing.PatientAnimation`, stepped by one
timer at about 60 frames per second while the view is visible; the timer reads the injectable
clock, so tests step the animation themselves. During a session the view can instead step on
the engine's ticks (:meth:`PatientView.follow`): each frame then shows the samples polled just
before it, rather than waiting up to a frame for the view's own timer.
"""

from __future__ import annotations

import contextlib
import logging
import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import (
    QEvent,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
    SignalInstance,
    Slot,
)
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QHideEvent,
    QPainter,
    QPaintEvent,
    QPixmap,
    QRegion,
    QResizeEvent,
    QShowEvent,
    QStaticText,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import QApplication, QSizePolicy, QWidget

from biotrainer.clock import Clock, MonotonicClock
from biotrainer.engine.preview import FeedbackPreview
from biotrainer.engine.updates import MetricUpdate
from biotrainer.ui.audio_feedback import AudioFeedback
from biotrainer.ui.orb import Geometry, OrbPainter, Palette, rgba
from biotrainer.ui.pacer import PacerPainter
from biotrainer.ui.smoothing import Frame, PatientAnimation
from biotrainer.ui.text_lines import wrapped_lines

log = logging.getLogger(__name__)

#: Shown (gently, after a few seconds) while the signal is poor or lost.
STAY_STILL = "Adjusting… please stay still"
PAUSED = "Paused. Rest for a moment."
FINISHED = "Well done. The session is complete."
#: The last words after a session the device or the recording ended early.
ENDED = "The session has ended. Thank you."
BREATHE_IN = "Breathe in"
BREATHE_OUT = "Breathe out"

#: The least pixel sizes the instruction and the words under the ring shrink to where there is
#: not room (a window whose own sizes are smaller keeps those).
MIN_INSTRUCTION_PX = 14
MIN_WORD_PX = 12
#: The numbers line: at least this pixel size, at this opacity (over 5.6:1 of contrast on the
#: sky, 4.5:1 being the least for small text; at 45 % it was 3.7:1).
NUMBERS_MIN_PX = 14
NUMBERS_OPACITY = 0.65


def text_direction(text: str) -> Qt.LayoutDirection:
    """The paragraph direction of ``text``: that of its first strong character (right to left
    for Hebrew or Arabic, else left to right), as the Unicode bidirectional algorithm has it."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return Qt.LayoutDirection.RightToLeft
        if kind == "L":
            return Qt.LayoutDirection.LeftToRight
    return Qt.LayoutDirection.LeftToRight


def distance(point: QPointF, rect: QRectF) -> float:
    """How far ``point`` is from the nearest point of ``rect`` (0 inside)."""
    dx = max(rect.left() - point.x(), 0.0, point.x() - rect.right())
    dy = max(rect.top() - point.y(), 0.0, point.y() - rect.bottom())
    return math.hypot(dx, dy)


#: What separates the numbers line's parts ("Heart rate 72 · Breathing 6.1/min (guide 6/min)").
NUMBERS_SEPARATOR = " · "


def whole_parts(text: str, font: QFont, width: float) -> str:
    """The numbers line ``text`` as it is laid out ``width`` pixels wide in ``font``: it breaks
    between its parts only ("On target 65% of the time" whole, never "6/" at a line's end and
    "min)" at the next's start), the spaces in a part (and the one before each "·") made
    no-break, a word joiner after each slash; as it is when a part is wider than ``width`` (it
    breaks where it must, rather than run past the width)."""
    metrics = QFontMetricsF(font)
    parts = text.split(NUMBERS_SEPARATOR)
    if max((metrics.horizontalAdvance(part + " ·") for part in parts), default=0.0) > width:
        return text
    return "\u00a0· ".join(part.replace(" ", "\u00a0").replace("/", "/\u2060") for part in parts)


def elided(text: str, font: QFont, width: float, lines: int) -> str:
    """``text`` cut short with "…" to fit ``lines`` lines ``width`` pixels wide (word-wrapped
    as :class:`_Text` wraps it)."""
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WordWrap)
    option.setTextDirection(text_direction(text))
    starts = [start for start, _ in wrapped_lines(text, font, width, option, lines + 1)]
    if len(starts) <= lines:
        return text  # it fits
    last = starts[lines - 1]
    rest = " ".join(text[last:].split())
    end = QFontMetricsF(font).elidedText(rest, Qt.TextElideMode.ElideRight, max(1.0, width - 2))
    return text[:last] + end


@dataclass(frozen=True)
class _Layout:
    """Where the words go (pixels; see :meth:`PatientView._layout`)."""

    instruction_y: float
    cue_y: float
    #: The note's place under the breathing word (it takes the word's place without a pacer).
    note_y: float
    numbers_x: float
    numbers_y: float
    numbers_width: float  # the width the numbers line wraps at
    fonts: tuple[int, ...]  # the pixel sizes of the instruction, the words and the numbers


class _Text:
    """A cached, centred, word-wrapped line of text (re-laid out only when it changes)."""

    def __init__(self, align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignHCenter) -> None:
        self.static = QStaticText()
        self.static.setTextFormat(Qt.TextFormat.PlainText)
        option = QTextOption(align)
        option.setWrapMode(QTextOption.WrapMode.WordWrap)
        self.static.setTextOption(option)
        self.text = ""
        self.font = QFont()
        self._key: tuple[str, str, float] = ("", "", 0.0)
        self._sprite: QPixmap | None = None
        self._sprite_key: tuple | None = None
        self._pad = 0
        self._natural: tuple | None = None

    def prepare(self, text: str, font: QFont, width: float) -> None:
        key = (text, font.key(), width)  # the font's key: family, size, weight...
        if key != self._key:
            self._key = key
            self.text = text
            self.font = font
            option = self.static.textOption()
            direction = text_direction(text)
            if option.textDirection() != direction:  # (its final full stop on its left...)
                option.setTextDirection(direction)
                self.static.setTextOption(option)
            self.static.setText(text)
            self.static.setTextWidth(width)
            self.static.prepare(font=font)

    def draw(self, p: QPainter, x: float, y: float, colour: QColor) -> None:
        """Draw in ``colour`` with the top-left of the text box at ``(x, y)``.

        The text is rendered once into a sprite (again when its text, font, colour or
        sub-pixel position changes) and blitted: the animation repaints the region around
        the orb many times a second, and part of the instruction lies in it.
        """
        if not self.text:
            return
        dpr = p.device().devicePixelRatioF() if p.device() is not None else 1.0
        # whole device pixels for the blit, the fraction inside the sprite
        dx, dy = x * dpr, y * dpr
        ix, iy = math.floor(dx), math.floor(dy)
        key = (self._key, colour.rgba(), dx - ix, dy - iy, dpr)
        if key != self._sprite_key or self._sprite is None:
            self._sprite = self._render(colour, dx - ix, dy - iy, dpr)
            self._sprite_key = key
        pad = self._pad
        p.drawPixmap(QPointF((ix - pad) / dpr, (iy - pad) / dpr), self._sprite)

    def _render(self, colour: QColor, fx: float, fy: float, dpr: float) -> QPixmap:
        """The text in a sprite with ``self._pad`` device pixels around it (for glyphs that
        overhang the box), offset by ``(fx, fy)`` device pixels."""
        self._pad = pad = max(4, math.ceil(self.font.pixelSize() * 0.5 * dpr))
        size = self.static.size()
        width = max(size.width(), self.static.textWidth())
        sprite = QPixmap(
            max(1, math.ceil(width * dpr) + 2 * pad + 1),
            max(1, math.ceil(size.height() * dpr) + 2 * pad + 1),
        )
        sprite.setDevicePixelRatio(dpr)
        sprite.fill(Qt.GlobalColor.transparent)
        p = QPainter(sprite)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        p.setFont(self.font)
        p.setPen(colour)
        p.drawStaticText(QPointF((pad + fx) / dpr, (pad + fy) / dpr), self.static)
        p.end()
        return sprite

    @property
    def height(self) -> float:
        return self.static.size().height()

    @property
    def natural_width(self) -> float:
        """The width of the longest line as laid out (the box is :meth:`QStaticText.textWidth`
        wide)."""
        if self._natural is None or self._natural[0] != self._key:
            layout = QTextLayout(self.text, self.font)
            layout.setTextOption(self.static.textOption())
            width = 0.0
            layout.beginLayout()
            while (line := layout.createLine()).isValid():
                line.setLineWidth(self.static.textWidth())
                width = max(width, line.naturalTextWidth())
            layout.endLayout()
            self._natural = (self._key, width)
        return self._natural[1]

    def bounds(self, x: float, y: float) -> QRectF:
        """Where the lines drawn at ``(x, y)`` lie (their box narrowed to the longest line,
        as aligned)."""
        box, natural = self.static.textWidth(), self.natural_width
        option = self.static.textOption()
        centred = bool(option.alignment() & Qt.AlignmentFlag.AlignHCenter)
        rtl = option.textDirection() == Qt.LayoutDirection.RightToLeft
        left = x + (box - natural) / 2 if centred else x + box - natural if rtl else x
        return QRectF(left, y, natural, self.height)


class PatientView(QWidget):
    """Feedback for the person training: calm, large, without numbers unless asked for.

    Parameters
    ----------
    parent : QWidget, optional
        None for a window of its own (which :meth:`show_on_screen` can put full-screen on a
        second monitor).
    clock : Clock, optional
        Time source of the animation (monotonic time by default). Give the engine's clock to
        make :attr:`last_latency_s` meaningful.
    fps : float
        Frames per second of the animation timer (also the tick rate a driver of
        :meth:`follow` should have).
    palette : Palette, optional

    Signals
    -------
    update_painted(float)
        Emitted at the first paint after each new update with its latency in seconds: the
        clock time of the paint minus ``update.received_at``.
    """

    update_painted = Signal(float)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        clock: Clock | None = None,
        fps: float = 60.0,
        palette: Palette | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("biotrainer")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._clock: Clock = clock or MonotonicClock()
        self.palette_ = palette or Palette()
        self.animation = PatientAnimation(self._clock.now())
        self.orb = OrbPainter(self.palette_)
        self.pacer = PacerPainter(self.palette_)
        self.audio = AudioFeedback(self)
        # The sound asked for (set_audio_enabled): closing the window stops the sound, showing
        # it again brings it back; the output is released for good when the application ends
        # (and with the view).
        self._audio_wanted = False
        self._closed = False
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._release_audio)
        self._latest: MetricUpdate | None = None
        self._instruction = ""
        self._finished_text = FINISHED
        self._show_numbers = False
        self._painted_pending = False
        self._band_dirty = False
        self._painted_frame: Frame | None = None
        self._asked: tuple[Frame | None, Frame, QRegion] | None = None
        self.last_latency_s: float | None = None
        self.frames_painted = 0
        self._paint_region = QRegion()
        self._fonts: dict[tuple[int, QFont.Weight], QFont] = {}
        self._texts = {k: _Text() for k in ("instruction", "cue_in", "cue_out", "note")}
        self._texts["numbers"] = _Text(Qt.AlignmentFlag.AlignLeft)
        self._texts["numbers_beside"] = _Text(Qt.AlignmentFlag.AlignLeft)
        self._numbers_line = self._texts["numbers"]  # the one drawn (see _layout)
        self._laid_out: dict[tuple, str] = {}  # whole_parts of the numbers line, by its key
        self._nominal_words: tuple = (None, (0.0, 0.0, 0.0))
        self.fps = float(fps)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(max(1, round(1000.0 / fps)))
        self._timer.timeout.connect(self.advance)
        self._ticks: SignalInstance | None = None  # what the frames follow (see follow)
        self._layout_key: tuple | None = None
        self._layout_cache: _Layout | None = None
        self._instruction_key: tuple | None = None
        self._instruction_place = (0.0, 0)

    # -- inputs ----------------------------------------------------------------------------

    @Slot(object)
    def show_update(self, update: MetricUpdate) -> None:
        """Render ``update`` from now on (targets are approached smoothly)."""
        self._latest = update
        self.animation.feed(update, self._clock.now())
        self.audio.set_target(update.feedback_score, update.rewarded)
        self._painted_pending = True
        self._band_dirty = self._band_dirty or self._show_numbers
        if self._timer.isActive():
            self.advance()  # paint now rather than at the next frame tick

    def new_session(self) -> None:
        """Forget the previous session: the orb, its reward halo and lights, the pacer, the
        sound's level and the last update start again as in a view just opened (a session
        that begins with a baseline would otherwise hold the last session's picture)."""
        self.animation = PatientAnimation(self._clock.now())
        self.audio.set_target(0.5, False)  # (a fresh view's sound level)
        self._latest = None
        self._finished_text = FINISHED
        self._painted_pending = False
        self._painted_frame = None  # the next frame repaints everything
        self._asked = None
        self._band_dirty = True
        self.last_latency_s = None
        self.update()

    @Slot(object)
    def show_preview(self, preview: FeedbackPreview) -> None:
        """Move the orb towards the score at the newest sample (between updates)."""
        self.animation.feed_preview(preview.feedback_score, self._clock.now(), preview.sample_time)

    @Slot(str)
    def set_finished_text(self, text: str = FINISHED) -> None:
        """What the view says once the session is over (:data:`FINISHED`, or :data:`ENDED`
        after a session the device or the recording ended early)."""
        self._finished_text = text
        self.update()

    def set_instruction(self, text: str) -> None:
        """Show ``text`` (the current protocol phase's instruction) large at the top."""
        self._instruction = text.strip()
        self.update()

    @Slot(bool)
    def set_show_numbers(self, show: bool) -> None:
        """Show (therapist's choice) or hide a small line of plain-language numbers."""
        self._show_numbers = bool(show)
        self.update()

    @Slot(bool)
    def set_audio_enabled(self, enabled: bool) -> bool:
        """Turn the sound on or off; return whether sound is playing (False without output).

        While the view's window is closed the sound waits, and starts when it is shown again
        (closing the window stops the sound; it does not turn it off).
        """
        self._audio_wanted = bool(enabled)
        if enabled and self._closed:
            return False
        return self.audio.set_enabled(enabled)

    @property
    def audio_wanted(self) -> bool:
        """Whether sound was asked for (:meth:`set_audio_enabled`), playing or not."""
        return self._audio_wanted

    @property
    def audio_waiting(self) -> bool:
        """Sound was asked for while the window is closed: it starts when the window is shown
        (no failure of the sound output)."""
        return self._audio_wanted and self._closed

    @Slot()
    def _release_audio(self) -> None:
        """The application ends: no sound from now on, the output released."""
        self._audio_wanted = False
        with contextlib.suppress(RuntimeError):  # (the view may be gone already)
            self.audio.set_enabled(False)

    # -- state (for the owner and tests) ---------------------------------------------------

    @property
    def frame(self) -> Frame:
        """The frame painted next."""
        return self.animation.frame

    @property
    def instruction(self) -> str:
        """The text shown at the top (the instruction, or a paused / finished message)."""
        u = self._latest
        if u is not None and u.finished:
            return self._finished_text
        if u is not None and u.paused:
            return PAUSED
        return self._instruction

    @property
    def show_numbers(self) -> bool:
        return self._show_numbers

    @property
    def numbers_text(self) -> str:
        """The numbers line as painted ("" while hidden or before any update)."""
        u = self._latest
        if not self._show_numbers or u is None:
            return ""
        parts = []
        if math.isfinite(u.hr_bpm):
            parts.append(f"Heart rate {u.hr_bpm:.0f}")
        # Without a respiration belt the breathing rate comes from the heart rhythm:
        # trustworthy while the person follows the pacer's slow breathing, often too low at
        # normal breathing (README, "Known limits"). The patient sees it only while the pacer
        # runs (with a belt too: one rule, and a rate is what the pacer guides), beside the
        # pacer's rate
        # (alone, "Breathing 14.4/min" next to a slow pacer reads as failing).
        # Not while paused or finished either: the guide is hidden then.
        guided = math.isfinite(u.pacer_bpm) and not (u.paused or u.finished)
        if math.isfinite(u.breathing_bpm) and guided:
            parts.append(f"Breathing {u.breathing_bpm:.1f}/min (guide {u.pacer_bpm:g}/min)")
        # Not the score: it is centred on the reward threshold (half at the bar, whatever the
        # person's level), so a percentage of it would read as "how calm" and mislead. The
        # share of the last half-minute on target is what the orb's brightening rewards.
        if math.isfinite(u.reward_rate) and u.phase_kind == "training":
            parts.append(f"On target {100 * u.reward_rate:.0f}% of the time")
        return NUMBERS_SEPARATOR.join(parts)

    @property
    def note_text(self) -> str:
        """The calm note currently visible ("" when none)."""
        return STAY_STILL if self.frame.note > 0.05 else ""

    def text_rects(self, f: Frame | None = None) -> dict[str, QRectF]:
        """Where the texts frame ``f`` (the next by default) shows are drawn: "instruction",
        "cue", "note", "numbers" (each narrowed to its longest line)."""
        f = f or self.frame
        layout = self._layout()
        margin = self.width() * 0.12
        texts, rects = self._texts, {}
        if self.instruction:
            rects["instruction"] = texts["instruction"].bounds(margin, layout.instruction_y)
        if f.pacer * f.cue > 0.01:
            cue = texts["cue_in" if f.inhaling else "cue_out"]
            rects["cue"] = cue.bounds(margin, layout.cue_y)
        if f.note > 0.01:
            y = layout.cue_y + (layout.note_y - layout.cue_y) * f.pacer
            rects["note"] = texts["note"].bounds(margin, y)
        if self.numbers_text:
            rects["numbers"] = self._numbers_line.bounds(layout.numbers_x, layout.numbers_y)
        return rects

    @property
    def cue_text(self) -> str:
        """The breathing word currently visible ("" when none)."""
        f = self.frame
        if f.pacer * f.cue < 0.05:
            return ""
        return BREATHE_IN if f.inhaling else BREATHE_OUT

    @property
    def timer_active(self) -> bool:
        return self._timer.isActive()

    @property
    def following(self) -> bool:
        """True while the frames step on a driver's ticks (:meth:`follow`), not the timer."""
        return self._ticks is not None

    def follow(self, ticks: SignalInstance | None = None) -> None:
        """Step the frames on ``ticks`` (a signal without arguments, e.g. the engine bridge's
        ``ticked``, emitted at about :attr:`fps`) instead of on the view's own timer; None
        goes back to the timer.

        A tick comes right after the engine polled the device and published its feedback, so
        the frame painted on it shows the newest samples with no wait for the next frame of an
        unrelated timer (about 8 ms on average at 60 fps). The frames stay evenly spaced, and
        go on when the device sends nothing.
        """
        if self._ticks is not None:
            with contextlib.suppress(RuntimeError, TypeError):  # its sender may be gone
                self._ticks.disconnect(self._on_tick)
        self._ticks = ticks
        if ticks is not None:
            self._timer.stop()
            ticks.connect(self._on_tick)
        elif self.isVisible():
            self._timer.start()

    @Slot()
    def _on_tick(self) -> None:
        # At once: a scheduled repaint would wait behind the dashboard's, scheduled earlier in
        # the same tick.
        if self.isVisible():
            self.advance(paint_now=True)

    @property
    def audio_active(self) -> bool:
        return self.audio.active

    # -- windowing -------------------------------------------------------------------------

    def show_on_screen(self, screen_index: int | None = None) -> int:
        """Show this view's window full-screen on a monitor and return the monitor's index.

        Parameters
        ----------
        screen_index : int, optional
            Index into ``QGuiApplication.screens()``. None picks the last monitor that is not
            the primary one (the patient's screen in a two-monitor setup), or the primary one.
            An index out of range falls back to the same choice (logged).
        """
        screens = QGuiApplication.screens()
        primary = QGuiApplication.primaryScreen()
        default = 0
        if screens:
            others = [i for i, s in enumerate(screens) if s is not primary]
            default = others[-1] if others else screens.index(primary) if primary in screens else 0
        if screen_index is None or not (0 <= screen_index < len(screens)):
            if screen_index is not None:
                log.warning("no screen %s (of %d); using %d", screen_index, len(screens), default)
            screen_index = default
        window = self.window()
        if screens:
            screen = screens[screen_index]
            if window.isFullScreen():
                window.showNormal()
            window.setScreen(screen)
            window.setGeometry(screen.geometry())
        window.showFullScreen()
        self.setCursor(Qt.CursorShape.BlankCursor)  # no stray pointer on the patient's screen
        return screen_index

    def toggle_fullscreen(self) -> bool:
        """Switch this view's window between full-screen and normal; return the new state."""
        window = self.window()
        if window.isFullScreen():
            window.showNormal()
            self.unsetCursor()
            return False
        window.showFullScreen()
        self.setCursor(Qt.CursorShape.BlankCursor)
        return True

    # -- animation -------------------------------------------------------------------------

    @Slot()
    def advance(self, paint_now: bool = False) -> Frame:
        """Step the animation to the clock's time and schedule a repaint (the timer's slot);
        ``paint_now``: repaint at once instead.

        Only what changed since the frame painted last is repainted (the glow when its layer
        changes, else the orb's body, the lights, the pacer's ring, the words), and nothing
        when the frame would look the same (a still orb costs no power).
        """
        frame = self.animation.step(self._clock.now())
        painted = self._painted_frame
        if painted is None or self._painted_pending or not frame.still_as(painted):
            region = self._animated_region(frame, painted)
            self._asked = (painted, frame, region)
            if region.isEmpty() and self._painted_pending:
                c = self.orb.geometry.centre  # nothing to see: one pixel, to time the update
                region = QRegion(round(c.x()), round(c.y()), 1, 1)
            if not region.isEmpty():
                if paint_now:
                    self.repaint(region)
                else:
                    self.update(region)
        return frame

    def _animated_region(self, frame: Frame, painted: Frame | None) -> QRegion:
        """What painting ``frame`` changes over ``painted`` (see :meth:`_changed_region`),
        and the band of words below the pacer when nothing was painted yet or the numbers
        line changed; not the instruction, which :meth:`set_instruction` repaints."""
        region = self._changed_region(frame, painted)
        if self._band_dirty or painted is None:
            self._band_dirty = False
            region = region.united(self._band_rect())
        return region

    def _words(self, f: Frame) -> tuple:
        """What the band of words shows in frame ``f`` (as painted: which word, its opacity
        in steps of 1/255, where the note is)."""
        cue = note = None
        if f.pacer * f.cue > 0.01:
            cue = (f.inhaling, round(255 * 0.88 * f.pacer * f.cue))
        if f.note > 0.01:
            note = (round(255 * 0.88 * f.note), f.pacer)
        return cue, note

    def _changed_region(self, frame: Frame, painted: Frame | None) -> QRegion:
        """The pixels of the orb and the pacer that differ between ``painted`` (None: the
        whole animated square) and ``frame``, and the band of words below the pacer when a
        word appears, fades or goes."""
        orb = self.orb
        region = orb.changed_region(painted, frame)
        region = region.united(self.pacer.changed_region(orb.geometry, painted, frame, orb.discs))
        if painted is not None and self._words(frame) != self._words(painted):
            region = region.united(self._band_rect())
        return region

    def _band_rect(self) -> QRect:
        band_top = math.floor(self._cue_y())
        return QRect(0, band_top, self.width(), self.height() - band_top)

    def _cue_y(self) -> float:
        """The top of the breathing word (and of the band of words under the ring)."""
        return self._layout().cue_y

    def _whole_parts(self, text: str, font: QFont, width: float) -> str:
        """:func:`whole_parts`, measured once per text, font and width (the layout is asked
        for at every paint)."""
        key = (text, font.key(), width)
        if key not in self._laid_out:
            if len(self._laid_out) > 8:  # (the texts of the last few updates and sizes)
                self._laid_out.clear()
            self._laid_out[key] = whole_parts(text, font, width)
        return self._laid_out[key]

    def _layout(self) -> _Layout:
        """Where the words go, and their sizes (the texts prepared at them).

        The instruction, from 5 % of the height down, ends above the pacer ring at its
        widest: its font shrinks to :data:`MIN_INSTRUCTION_PX` where it does not fit, then its
        last line is cut short with "…". Under the ring: the breathing word with a place for
        the calm note under it, and the numbers line at the bottom, in the corner left of the
        words where there is room (clear of the ring), else in a band of its own under them;
        the word and the note shrink together to :data:`MIN_WORD_PX` where they do not fit
        (and climb over the ring's widest place only in a window too small even for that).
        No two texts overlap.
        Worked out again only when the size, the font, the instruction or the numbers line's
        height changes (not at each frame).
        """
        w, h = max(1, self.width()), max(1, self.height())
        g = Geometry(w, h)
        u = g.unit
        base = (w, h, self.font().key())
        instruction_y, instruction_px = self._place_instruction(base, g)
        # under the ring
        bottom = h - u * 0.02
        gap = max(2.0, u * 0.01)
        cue_top = g.centre.y() + g.pacer_radius(1.0) + u * 0.02
        numbers = self.numbers_text
        key: tuple = (*base, self.instruction, instruction_y, instruction_px)
        side = u * 0.03
        line = self._texts["numbers"]  # in a band of its own ...
        if numbers:
            if self._nominal_words[0] != base:
                self._nominal_words = (base, self._words_at(max(10, round(u * 0.038))))
                self._layout_key = None  # (the words are prepared at another size now)
            cue_h, note_h, widest = self._nominal_words[1]
            font = self._font(max(NUMBERS_MIN_PX, u * 0.020), QFont.Weight.Normal)
            band_w = max(1.0, w - 2 * side)
            line.prepare(self._whole_parts(numbers, font, band_w), font, band_w)
            words_h = cue_h + gap + note_h
            beside = self._texts["numbers_beside"]  # ... or in the corner, left of the words
            beside_w = (w - widest) / 2 - side - 2 * gap
            if cue_top + words_h + gap + line.height > bottom and beside_w >= 8 * font.pixelSize():
                beside.prepare(self._whole_parts(numbers, font, beside_w), font, beside_w)
                corner = QRectF(side, bottom - beside.height, beside_w, beside.height)
                clear = g.pacer_radius(1.0) + PacerPainter.line_width(g) + gap
                if (
                    cue_top + words_h <= bottom
                    and corner.top() >= g.centre.y()
                    and distance(g.centre, corner) >= clear
                ):
                    line = beside
            key = (*key, line is beside, line.height)
        self._numbers_line = line
        if key == self._layout_key and self._layout_cache is not None:
            return self._layout_cache
        numbers_y = max(0.0, bottom - line.height) if numbers else bottom
        if numbers and line is not self._texts["numbers_beside"]:
            bottom = numbers_y - gap

        def fits(px: int) -> bool:
            cue_h, note_h, _ = self._words_at(px)
            return cue_top + cue_h + gap + note_h <= bottom

        nominal = max(10, round(u * 0.038))
        px = self._fit(nominal, min(nominal, MIN_WORD_PX), fits)
        cue_h, note_h, _ = self._words_at(px)  # (and the words prepared at this size)
        cue_y = max(0.0, min(cue_top, bottom - note_h - gap - cue_h))
        layout = _Layout(
            instruction_y=instruction_y,
            cue_y=cue_y,
            note_y=cue_y + cue_h + gap,
            numbers_x=side,
            numbers_y=numbers_y,
            numbers_width=line.static.textWidth() if numbers else 0.0,
            fonts=(instruction_px, px, line.font.pixelSize() if numbers else 0),
        )
        moved = self._layout_cache is not None and layout != self._layout_cache
        if moved and self._layout_key is not None and self._layout_key[:2] == key[:2]:
            self.update()  # the words moved (a resize repaints all anyway): all repainted
        self._layout_key, self._layout_cache = key, layout
        return layout

    def _words_at(self, px: int) -> tuple[float, float, float]:
        """The heights of the breathing word and of the note with the word at ``px`` pixels
        (the note a little smaller), and the widest of their lines; the texts prepared so."""
        w = max(1, self.width())
        tw = w - 2 * w * 0.12
        font, small = self._font(px), self._font(px * 36 / 38)
        texts = self._texts
        cue = max(
            self._prepare_height(texts["cue_in"], BREATHE_IN, font, tw),
            self._prepare_height(texts["cue_out"], BREATHE_OUT, font, tw),
        )
        note = self._prepare_height(texts["note"], STAY_STILL, small, tw)
        widest = max(texts[k].natural_width for k in ("cue_in", "cue_out", "note"))
        return cue, note, widest

    def _place_instruction(self, base: tuple, g: Geometry) -> tuple[float, int]:
        """Prepare the instruction to end above the ring at its widest; return its top and
        pixel size."""
        instruction = self.instruction
        key = (*base, instruction)
        if key == self._instruction_key:
            return self._instruction_place
        w, h, u = g.width, g.height, g.unit
        tw = w - 2 * w * 0.12
        top = h * 0.05
        limit = g.centre.y() - g.pacer_radius(1.0) - max(4.0, u * 0.015)
        text = self._texts["instruction"]
        nominal = max(10, round(u * 0.042))
        px = self._fit(
            nominal,
            min(nominal, MIN_INSTRUCTION_PX),
            lambda px: self._prepare_height(text, instruction, self._font(px), tw) <= limit - top,
        )
        font = self._font(px)
        text.prepare(instruction, font, tw)
        if top + text.height > limit:  # too long even at the least size: its end cut short
            lines = max(1, math.floor((limit - top) / QFontMetricsF(font).lineSpacing()))
            while True:
                text.prepare(elided(instruction, font, tw, lines), font, tw)
                if top + text.height <= limit or lines == 1:
                    break
                lines -= 1
            top = max(0.0, min(top, limit - text.height))
        self._instruction_key, self._instruction_place = key, (top, px)
        return top, px

    @staticmethod
    def _fit(largest: int, least: int, fits: Callable[[int], bool]) -> int:
        """The largest pixel size from ``least`` to ``largest`` that ``fits`` (``least`` when
        none does), by bisection."""
        if largest <= least or fits(largest):
            return largest
        lo, hi = least, largest  # fits(hi) is False
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if fits(mid):
                lo = mid
            else:
                hi = mid
        return lo

    @staticmethod
    def _prepare_height(text: _Text, words: str, font: QFont, width: float) -> float:
        text.prepare(words, font, width)
        return text.height

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        self.animation.step(self._clock.now())
        if self._ticks is None:
            self._timer.start()
        self._closed = False
        if self._audio_wanted and not self.audio.active:
            self.audio.set_enabled(True)  # the sound stopped when the window was closed
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt override
        self._timer.stop()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Stop the frames and the sound at once; the sound asked for comes back when the
        window is shown again (View > Show / hide patient view during a session)."""
        self._timer.stop()
        self._closed = True
        self.audio.set_enabled(False)
        super().closeEvent(event)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(1280, 800)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.FontChange:
            self._fonts.clear()  # the cached fonts derive from the widget's
            self.update()
        super().changeEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        self.orb.resize(self.width(), self.height(), self.devicePixelRatioF())
        self._painted_frame = None
        super().resizeEvent(event)

    # -- painting --------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        region = event.region()
        self._paint_region = region
        w, h = self.width(), self.height()
        self.orb.resize(w, h, self.devicePixelRatioF())
        f = self.animation.frame
        g = self.orb.geometry
        # What must change since the last frame painted; when this paint does not cover it
        # all (the window system asked for a part), the next frame repaints everything.
        painted = self._painted_frame
        asked = self._asked
        if asked is not None and asked[0] is painted and asked[1] is f:
            needed = asked[2]  # what the last step asked for
        else:
            needed = self._changed_region(f, painted)
        p = QPainter(self)
        try:
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
            self.orb.paint_backdrop(p, f)
            self.orb.paint_front(p, f)
            self.pacer.paint(p, g, f)  # around the orb's body, over the halo
            self._paint_texts(p, w, h, f)
        finally:
            p.end()
        self.frames_painted += 1
        self._painted_frame = f if needed.subtracted(region).isEmpty() else None
        if self._painted_pending and self._latest is not None:
            self._painted_pending = False
            self.last_latency_s = self._clock.now() - self._latest.received_at
            self.update_painted.emit(self.last_latency_s)

    def _font(self, pixel_size: float, weight: QFont.Weight = QFont.Weight.Light) -> QFont:
        key = (max(10, round(pixel_size)), weight)
        font = self._fonts.get(key)
        if font is None:
            if len(self._fonts) > 32:
                self._fonts.clear()
            font = self._fonts[key] = QFont(self.font())
            font.setPixelSize(key[0])
            font.setWeight(weight)
        return font

    def _draw_text(self, p: QPainter, text: _Text, x: float, y: float, colour: QColor) -> None:
        """Draw ``text`` at ``(x, y)`` in ``colour`` if this paint's region touches it."""
        box = QRectF(x, y, text.static.textWidth(), text.height).toAlignedRect()
        pad = math.ceil(text.font.pixelSize() * 0.5) + 2  # the sprite's margin, and more
        if self._paint_region.intersects(box.adjusted(-pad, -pad, pad, pad)):
            text.draw(p, x, y, colour)

    def _paint_texts(self, p: QPainter, w: int, h: int, f: Frame) -> None:
        pal = self.palette_
        margin = w * 0.12

        layout = self._layout()  # (the texts prepared)
        self._draw_text(
            p, self._texts["instruction"], margin, layout.instruction_y, rgba(pal.text, 0.92)
        )

        cue_y = layout.cue_y
        if f.pacer * f.cue > 0.01:
            cue = self._texts["cue_in" if f.inhaling else "cue_out"]
            self._draw_text(p, cue, margin, cue_y, rgba(pal.pacer, 0.88 * f.pacer * f.cue))

        if f.note > 0.01:
            # Below the breathing word when the pacer shows, in its place otherwise.
            y = cue_y + (layout.note_y - cue_y) * f.pacer
            self._draw_text(p, self._texts["note"], margin, y, rgba(pal.warm_core, 0.88 * f.note))

        if self.numbers_text:
            colour = rgba(pal.text, NUMBERS_OPACITY)
            self._draw_text(p, self._numbers_line, layout.numbers_x, layout.numbers_y, colour)
