"""The clinic monitor's labels: texts that are shortened or shrunk to fit, never cut.

:class:`ElidedLabel` shortens a one-line text in the middle ("…", full text in the tooltip) so
that two patient codes differing only at the end still look different, and texts that would
still look alike (``clinic-room-01-long-name-x`` and ``clinic-room-17-long-name-x``) keep the
part where they differ (:func:`distinguishing_span`); :class:`PhaseLabel` shortens the
protocol's name before the phase's; :class:`BannerLabel` takes the largest of its point sizes
that keeps its text on one line, else two, and wraps (:func:`banner_fit`).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

#: The banner's point sizes at the reference scale, largest first.
BANNER_SIZES: tuple[int, ...] = (16, 15, 14, 13, 12)
#: What Qt puts where it shortens a text.
ELLIPSIS = "…"


def set_point_size(label: QLabel, size: int, bold: bool = False) -> None:
    """Give ``label`` this point size and weight (its font otherwise kept)."""
    if label.font().pointSize() != size or label.font().bold() != bold:
        f = QFont(label.font())
        f.setPointSize(size)
        f.setBold(bold)
        label.setFont(f)


def distinguishing_span(text: str, others: Sequence[str]) -> tuple[int, int] | None:
    """Where ``text`` differs from the most alike of ``others`` (the text between their longest
    common start and end), widened to whole runs of letters and digits.

    Parameters
    ----------
    text : str
    others : sequence of str
        Texts to tell ``text`` apart from; equal ones are ignored (nothing tells them apart).

    Returns
    -------
    tuple of int or None
        ``(start, end)`` indices into ``text``; None when no other text differs from it, or
        ``text`` has nothing of its own (it is the start or end of another).
    """
    best: tuple[int, int, int] | None = None
    for other in others:
        if other == text:
            continue
        most = min(len(text), len(other))
        head = next((i for i in range(most) if text[i] != other[i]), most)
        tail = next((i for i in range(most - head) if text[-1 - i] != other[-1 - i]), most - head)
        if best is None or head + tail > best[0]:
            best = (head + tail, head, len(text) - tail)
    if best is None:
        return None
    _, start, end = best
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return (start, end) if start < end else None


def _keeps(text: str, shown: str, span: tuple[int, int]) -> bool:
    """Whether ``shown`` (``text`` elided once) shows ``text[start:end]`` whole."""
    head, cut, tail = shown.partition(ELLIPSIS)
    start, end = span
    return not cut or end <= len(head) or start >= len(text) - len(tail)


class ElidedLabel(QLabel):
    """A one-line label that shortens its text in the middle ("…") to the width it is given
    instead of being clipped or widening its tile; :meth:`text` stays the full text (also the
    tooltip), :meth:`shown_text` is what is painted.

    When the label knows the texts of its neighbours (:meth:`set_others`) and one of them would
    be shortened to the same text, it shortens so that the part where they differ shows: at its
    end, else at its start, else with an ellipsis before the differing part."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._others: tuple[str, ...] = ()

    def set_others(self, others: Sequence[str]) -> None:
        """The texts of the labels this one must not look like (the other tiles')."""
        others = tuple(others)
        if others != self._others:
            self._others = others
            self.update()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt name
        if text != self.text():
            super().setText(text)
            self.setToolTip(text)

    def shown_text(self) -> str:
        """The text as painted at the label's width."""
        width = max(self.contentsRect().width(), 1)
        fm, text = self.fontMetrics(), self.text()
        shown = fm.elidedText(text, Qt.TextElideMode.ElideMiddle, width)
        if shown == text:
            return shown
        alike = [
            o
            for o in self._others
            if fm.elidedText(o, Qt.TextElideMode.ElideMiddle, width) == shown
        ]
        span = distinguishing_span(text, alike)
        if span is None:
            return shown
        for mode in (Qt.TextElideMode.ElideRight, Qt.TextElideMode.ElideLeft):
            elided = fm.elidedText(text, mode, width)
            if _keeps(text, elided, span):
                return elided
        rest = width - fm.horizontalAdvance(ELLIPSIS)
        return ELLIPSIS + fm.elidedText(text[span[0] :], Qt.TextElideMode.ElideRight, rest)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt name
        painter = QPainter(self)
        self.style().drawItemText(
            painter,
            self.contentsRect(),
            int(self.alignment()),
            self.palette(),
            self.isEnabled(),
            self.shown_text(),
            self.foregroundRole(),
        )


class PhaseLabel(ElidedLabel):
    """One line of "protocol: phase"; when it is too long the protocol name is shortened first
    (the phase is what changes during a session), then the phase name."""

    def shown_text(self) -> str:
        """The text as painted at the label's width."""
        width = max(self.contentsRect().width(), 1)
        fm = self.fontMetrics()
        text = self.text()
        if fm.horizontalAdvance(text) <= width:
            return text
        protocol, sep, phase = text.partition(": ")
        if sep:
            rest = sep + phase
            room = width - fm.horizontalAdvance(rest) - 1
            if room >= fm.horizontalAdvance("eeg…"):
                return fm.elidedText(protocol, Qt.TextElideMode.ElideRight, room) + rest
            return fm.elidedText(phase, Qt.TextElideMode.ElideRight, width)
        return fm.elidedText(text, Qt.TextElideMode.ElideMiddle, width)


def banner_fit(text: str, width: int, sizes: tuple[int, ...]) -> tuple[int, int]:
    """The banner's point size and text height (pixels) for ``text`` in ``width`` pixels.

    The largest of ``sizes`` that keeps the text on one line, else the largest that keeps it on
    two, else the smallest (wrapped on as many lines as it needs).
    """
    font = QFont()
    font.setBold(True)
    flags = int(Qt.TextFlag.TextWordWrap) | int(Qt.AlignmentFlag.AlignCenter)
    width = max(width, 1)
    best: tuple[int, int] | None = None
    for size in sizes:
        font.setPointSize(size)
        fm = QFontMetrics(font)
        if fm.horizontalAdvance(text) <= width:
            return size, fm.height()  # one line
        if best is None:
            rect = fm.boundingRect(0, 0, width, 10_000, flags, text)
            if rect.width() <= width and rect.height() <= 2 * fm.lineSpacing():
                best = size, rect.height()  # two lines, unless a smaller font gets it on one
    if best is not None:
        return best
    font.setPointSize(sizes[-1])
    return sizes[-1], QFontMetrics(font).boundingRect(0, 0, width, 10_000, flags, text).height()


class BannerLabel(QLabel):
    """The state banner, word-wrapped (never cut) in the largest of its point sizes that keeps
    its text on one line, else two (see :func:`banner_fit`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.point_sizes: tuple[int, ...] = BANNER_SIZES
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        # Word-wrapped labels ask for little width: take the whole tile width, and keep the
        # height-for-width of a wrapping label (two lines get two lines' room).
        policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        set_point_size(self, self.point_sizes[0], bold=True)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt name
        if text != self.text():
            super().setText(text)
            self._fit()

    def set_point_sizes(self, sizes: tuple[int, ...]) -> None:
        """Use these point sizes (largest first)."""
        if sizes != self.point_sizes:
            self.point_sizes = sizes
            self._fit()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt name
        """The height the text needs at the label's width (Qt's own guess for a wrapping label
        assumes a narrow one, and the scroll area would keep room for it)."""
        return QSize(0, self.heightForWidth(max(self.width(), 1)))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt name
        """As :meth:`minimumSizeHint`."""
        return self.minimumSizeHint()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit()
            self.updateGeometry()  # the hints follow the width

    def _fit(self) -> None:
        width = self.contentsRect().width()
        if width > 0:
            set_point_size(self, banner_fit(self.text(), width, self.point_sizes)[0], True)
