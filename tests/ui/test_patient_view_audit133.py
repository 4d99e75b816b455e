"""The patient view after audit 133: the sound survives closing the window, the words never
overlap one another or run into the pacer ring, the numbers line is readable, and a
right-to-left instruction reads from the right.

The pixel tests compare pictures of the view that differ by one text (or the ring) only, so
they hold for any layout; the geometry tests use :meth:`PatientView.text_rects`.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from biotrainer.clock import SimulatedClock
from biotrainer.engine.updates import MetricUpdate
from biotrainer.ui.audio_feedback import AudioFeedback
from biotrainer.ui.pacer import PacerPainter
from biotrainer.ui.patient_view import PatientView, _Text
from biotrainer.ui.smoothing import Frame

from .pictures import frame as still_frame

LONG = (
    "Sit comfortably with both feet on the floor and your hands resting loosely in your lap. "
    "Let your shoulders drop, soften your jaw and your forehead, and breathe slowly through "
    "your nose, following the ring as it grows and shrinks; there is nothing to do and nothing "
    "to get right today."
)
SHORT = "Let the light grow. There is nothing to force: notice what helps it open."
LANDSCAPE = [(1920, 1080), (1366, 768), (1024, 600)]
SIZES = [
    *LANDSCAPE,
    (1280, 800),
    (800, 480),
    (640, 400),
    (480, 320),
    (320, 240),
    (1080, 1920),
    (600, 1024),
    (240, 320),
]
#: Sizes with room for every word under the ring at its widest (below these the words climb
#: over the ring's widest place, never over one another).
ROOMY = [s for s in SIZES if min(s) >= 400]


# -- helpers -------------------------------------------------------------------------------


def frame(**kw) -> Frame:
    """A still frame (:func:`pictures.frame`) at level 0.6, the ring half open, exhaling."""
    return still_frame(**{"level": 0.6, "pacer_open": 0.5, "inhaling": False, **kw})


class Still:
    """Stands in for the view's animation: always the frame given."""

    def __init__(self, f: Frame) -> None:
        self.frame = f

    def step(self, t: float) -> Frame:
        return self.frame

    def feed(self, *args) -> None:
        pass

    def feed_preview(self, *args) -> None:
        pass


def numbers_update(t: float = 0.0) -> MetricUpdate:
    """An update whose numbers line is as long as it gets (heart rate, breathing beside the
    guide's rate, time on target)."""
    return MetricUpdate(
        session_s=t, sample_time=t, received_at=t, computed_at=t, feedback_score=math.nan,
        quality_ok=False, hr_bpm=72.0, breathing_bpm=6.1, pacer_bpm=6.0, inhale_ratio=0.4,
        reward_rate=0.65, phase_kind="training", rewarded=True,
    )  # fmt: skip


def make_view(qtbot, size, instruction=SHORT, numbers=True) -> PatientView:
    v = PatientView(clock=SimulatedClock(0.0))
    qtbot.addWidget(v)
    v.resize(*size)
    v.animation = Still(frame())
    v.set_instruction(instruction)
    v.set_show_numbers(numbers)
    v.show_update(numbers_update())
    return v


def picture(v: PatientView, f: Frame) -> np.ndarray:
    v.animation = Still(f)
    v._painted_frame = None
    image = v.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    arr = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return arr.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).astype(int)


def ink(a: np.ndarray, b: np.ndarray, grow: int = 1) -> np.ndarray:
    """Where pictures ``a`` and ``b`` differ visibly, grown by ``grow`` pixels."""
    mask = np.abs(a - b).max(axis=2) > 12
    out = mask.copy()
    for dy, dx in itertools.product(range(-grow, grow + 1), repeat=2):
        out |= np.roll(np.roll(mask, dy, axis=0), dx, axis=1)
    return out


def distance(point, rect) -> float:
    """How far ``point`` is from the nearest point of ``rect``."""
    dx = max(rect.left() - point.x(), 0.0, point.x() - rect.right())
    dy = max(rect.top() - point.y(), 0.0, point.y() - rect.bottom())
    return math.hypot(dx, dy)


def luminance(rgb) -> float:
    def lin(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(float(c)) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    la, lb = sorted((luminance(a), luminance(b)))
    return (lb + 0.05) / (la + 0.05)


# -- finding 6: the numbers line, the note and the breathing word never overlap ------------


@pytest.mark.parametrize("size", LANDSCAPE)
def test_numbers_line_is_drawn_apart_from_the_note_and_the_breathing_word(qtbot, size):
    """Pixels: what the numbers line adds and what the word and the note add share none
    (before, "On target 65% of the time" was drawn over "Adjusting… please stay still")."""
    v = make_view(qtbot, size)
    quiet = frame(pacer=1.0, pacer_open=0.5)
    with_numbers = picture(v, quiet)
    words = picture(v, frame(pacer=1.0, pacer_open=0.5, cue=1.0, note=1.0))
    v.set_show_numbers(False)
    without = picture(v, quiet)  # (no words: where they would go does not matter)
    numbers_ink = ink(with_numbers, without)
    words_ink = ink(words, with_numbers)
    assert numbers_ink.sum() > 200 and words_ink.sum() > 200  # both drawn
    assert not (numbers_ink & words_ink).any()


@pytest.mark.parametrize("size", LANDSCAPE)
def test_breathing_word_and_note_are_drawn_apart(qtbot, size):
    """Guard (held before at these sizes): the word and the note share no pixel."""
    v = make_view(qtbot, size)
    base = picture(v, frame(pacer=1.0))
    cue = ink(picture(v, frame(pacer=1.0, cue=1.0)), base)
    note = ink(picture(v, frame(pacer=1.0, note=1.0)), base)
    assert cue.sum() > 100 and note.sum() > 100
    assert not (cue & note).any()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("numbers", [True, False])
def test_no_two_texts_overlap_at_any_size(qtbot, size, numbers):
    w, h = size
    v = make_view(qtbot, size, numbers=numbers)
    f = frame(pacer=1.0, pacer_open=1.0, cue=1.0, note=1.0)
    v.grab()  # as painted
    rects = v.text_rects(f)
    assert set(rects) == {"instruction", "cue", "note"} | ({"numbers"} if numbers else set())
    for (a, ra), (b, rb) in itertools.combinations(rects.items(), 2):
        assert not ra.intersects(rb), f"{a} {ra} and {b} {rb} overlap at {size}"
    for name, r in rects.items():
        assert r.top() >= 0 and r.bottom() <= h and r.left() >= 0 and r.right() <= w, name
    g = v.orb.geometry
    assert rects["instruction"].bottom() <= g.centre.y() - g.pacer_radius(1.0)
    if size in ROOMY:  # clear of the ring at its widest, with its line
        ring = g.pacer_radius(1.0) + PacerPainter.line_width(g) / 2
        for name, r in rects.items():
            assert distance(g.centre, r) > ring, f"{name} {r} over the ring at {size}"


def test_words_keep_their_full_size_where_the_numbers_fit_beside_them(qtbot):
    """At 1920x1080 the numbers line goes in the corner, the patient's words keep their size."""
    v = make_view(qtbot, (1920, 1080))
    v.grab()
    plain = make_view(qtbot, (1920, 1080), numbers=False)
    plain.grab()
    assert v._layout().fonts[1] == plain._layout().fonts[1] == round(1080 * 0.038)


def test_the_note_takes_the_words_place_without_a_pacer(qtbot):
    v = make_view(qtbot, (1366, 768))
    rects = v.text_rects(frame(pacer=0.0, note=1.0))
    assert rects["note"].top() == pytest.approx(v._cue_y())


def test_moving_words_repaint_the_whole_view(qtbot, monkeypatch):
    """Guard (of the new layout): when the numbers line's height changes (another wrap), the
    words may move: the whole view is repainted, not only the band under the ring."""
    v = make_view(qtbot, (1024, 600))
    t = 1.0
    v.show_update(
        MetricUpdate(session_s=t, sample_time=t, received_at=t, computed_at=t, hr_bpm=70.0)
    )
    before = v._layout()
    calls = []
    monkeypatch.setattr(v, "update", lambda *args: calls.append(args))
    v.show_update(numbers_update(2.0))  # two lines now
    v._band_rect()  # (what the next frame asks to repaint)
    assert v._layout() != before and () in calls


# -- finding 7: a long instruction ends above the ring -------------------------------------


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080), (1024, 600)])
def test_a_long_instruction_is_not_drawn_over_the_ring(qtbot, size):
    """Pixels: the instruction's ink and the pacer ring at its widest share none (before,
    five lines ran across the ring at 1366x768)."""
    v = make_view(qtbot, size, instruction=LONG, numbers=False)
    ring_wide = frame(pacer=1.0, pacer_open=1.0)
    with_text = picture(v, ring_wide)
    v.set_instruction("")
    bare = picture(v, ring_wide)
    ring = ink(bare, picture(v, frame(pacer=0.0, pacer_open=1.0)), grow=2)
    text = ink(with_text, bare)
    assert text.sum() > 500 and ring.sum() > 500
    assert not (text & ring).any()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("length", [80, 250, 1000])
def test_any_instruction_ends_above_the_ring_and_stays_readable(qtbot, size, length):
    words = (LONG + " ") * 4
    text = words[:length].rsplit(" ", 1)[0] + "."
    v = make_view(qtbot, size, instruction=text)
    v.grab()
    g = v.orb.geometry
    box = v.text_rects(frame())["instruction"]
    assert box.top() >= 0
    assert box.bottom() <= g.centre.y() - g.pacer_radius(1.0)
    font = v._texts["instruction"].font.pixelSize()
    assert font >= min(14, round(g.unit * 0.042))  # shrunk no smaller than 14 px
    shown = v._texts["instruction"].text
    assert shown == text or shown.endswith("…")  # cut short, and said so


def test_a_short_instruction_keeps_its_size(qtbot):
    """Guard: the instruction shrinks only where it does not fit."""
    v = make_view(qtbot, (1366, 768))
    v.grab()
    assert v._texts["instruction"].font.pixelSize() == round(768 * 0.042)
    assert v._texts["instruction"].text == SHORT


# -- finding 11: the numbers line is readable ----------------------------------------------


@pytest.mark.parametrize("size", [(1024, 600), (800, 480), (1366, 768)])
def test_numbers_line_has_contrast_and_size(qtbot, size):
    v = make_view(qtbot, size)
    quiet = frame()
    on = picture(v, quiet)
    v.set_show_numbers(False)
    off = picture(v, quiet)
    where = np.abs(on - off).max(axis=2) > 12
    assert where.any()
    text = on[where]
    brightest = text[np.argmax(text.sum(axis=1))]
    background = np.median(off[where], axis=0)
    assert contrast(brightest, background) >= 4.5
    assert v._numbers_line.font.pixelSize() >= 14


# -- finding 12: right-to-left instructions ------------------------------------------------


def runs(image: QImage) -> list[tuple[int, int, int]]:
    """Columns with ink, as (first, last, ink) runs from left to right."""
    image = image.convertToFormat(QImage.Format.Format_Grayscale8)
    w, h = image.width(), image.height()
    arr = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    arr = arr.reshape(h, image.bytesPerLine())[:, :w].astype(int)
    cols = (arr > 60).sum(axis=0)
    out, start = [], None
    for x, c in enumerate([*cols, 0]):
        if c and start is None:
            start = x
        elif not c and start is not None:
            out.append((start, x - 1, int(cols[start:x].sum())))
            start = None
    return out


@pytest.mark.parametrize(
    ("words", "full_stop_on_the_left"),
    [("مرحبا بك.", True), ("שלום לך.", True), ("Hello you.", False), ("2024: مرحبا.", True)],
)
def test_full_stop_goes_where_the_paragraph_ends(qapp, words, full_stop_on_the_left):
    font = QFont("DejaVu Sans")
    font.setPixelSize(40)
    text = _Text()
    text.prepare(words, font, 600.0)
    image = QImage(700, 120, QImage.Format.Format_RGB32)
    image.fill(QColor(0, 0, 0))
    p = QPainter(image)
    text.draw(p, 50.0, 20.0, QColor(255, 255, 255))
    p.end()
    found = runs(image)
    stop = min(found, key=lambda r: r[2])  # the full stop: the least ink
    assert (stop is found[0]) == full_stop_on_the_left
    assert (stop is found[-1]) != full_stop_on_the_left


def test_the_instruction_is_laid_out_right_to_left_in_the_view(qtbot):
    v = make_view(qtbot, (1366, 768), instruction="تنفّس مع الدائرة ببطء.")
    v.grab()
    option = v._texts["instruction"].static.textOption()
    assert option.textDirection() == Qt.LayoutDirection.RightToLeft
    assert option.alignment() & Qt.AlignmentFlag.AlignHCenter  # still centred
    v.set_instruction("Breathe slowly.")
    v.grab()
    option = v._texts["instruction"].static.textOption()
    assert option.textDirection() == Qt.LayoutDirection.LeftToRight


# -- finding 4: closing the window stops the sound, showing it brings it back --------------


class FakeSink:
    def __init__(self) -> None:
        self.stopped = False

    def bufferSize(self) -> int:  # noqa: N802 - Qt's name
        return 20000

    def bytesFree(self) -> int:  # noqa: N802 - Qt's name
        return 20000

    def stop(self) -> None:
        self.stopped = True

    def deleteLater(self) -> None:  # noqa: N802 - Qt's name
        pass


class FakeIO:
    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.bytes += len(data)
        return len(data)


@pytest.fixture
def sinks(monkeypatch) -> list[FakeSink]:
    """An audio output that always opens (each opening's sink in the list)."""
    opened: list[FakeSink] = []

    def fake_open(self: AudioFeedback) -> None:
        sink = FakeSink()
        opened.append(sink)
        self.attach(sink, FakeIO(), 44100, "int16", 1)

    monkeypatch.setattr(AudioFeedback, "_open", fake_open)
    return opened


@pytest.fixture
def shown(qtbot) -> PatientView:
    v = PatientView(clock=SimulatedClock(0.0))
    qtbot.addWidget(v)
    v.resize(640, 400)
    v.show()
    qtbot.waitExposed(v)
    return v


def test_closing_the_window_stops_the_sound_and_showing_it_again_brings_it_back(
    qtbot, shown, sinks
):
    assert shown.set_audio_enabled(True) is True and shown.audio_active
    shown.close()
    assert sinks[0].stopped and not shown.audio_active  # silent at once
    shown.show()  # View > Show / hide patient view
    qtbot.waitExposed(shown)
    assert shown.audio_active and len(sinks) == 2 and not sinks[1].stopped
    assert shown.audio_wanted  # it was never turned off: "Sound feedback" still holds
    shown.hide()  # hidden (not closed): the sound goes on, for eyes-closed practice
    assert shown.audio_active


def test_sound_turned_off_while_the_window_is_closed_stays_off(qtbot, shown, sinks):
    """Guard (held before too): the session ended while the window was closed."""
    shown.set_audio_enabled(True)
    shown.close()
    assert shown.set_audio_enabled(False) is False
    shown.show()
    qtbot.waitExposed(shown)
    assert not shown.audio_active and len(sinks) == 1


def test_sound_asked_for_while_the_window_is_closed_waits_for_it(qtbot, shown, sinks):
    shown.close()
    assert shown.set_audio_enabled(True) is False  # no sound from a closed window
    assert not shown.audio_active and not sinks
    shown.show()
    qtbot.waitExposed(shown)
    assert shown.audio_active and len(sinks) == 1


def test_nothing_plays_after_the_application_ends(qtbot, shown, sinks):
    shown.set_audio_enabled(True)
    shown._release_audio()  # (connected to QApplication.aboutToQuit)
    assert sinks[0].stopped and not shown.audio_active and not shown.audio_wanted
    shown.close()
    shown.show()
    assert not shown.audio_active and len(sinks) == 1


def test_a_view_never_shown_plays_when_asked(qtbot, sinks):
    """Guard: a view not shown yet (the trainer turns the sound on as the session starts,
    then shows the view) plays at once, as before."""
    v = PatientView(clock=SimulatedClock(0.0))
    qtbot.addWidget(v)
    assert v.set_audio_enabled(True) is True and v.audio_active
    v.close()
    assert not v.audio_active
