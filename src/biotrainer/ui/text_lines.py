"""Where a text breaks into lines at a width (the dashboard's and the patient view's elision)."""

from __future__ import annotations

from PySide6.QtGui import QFont, QTextLayout, QTextOption


def wrapped_lines(
    text: str, font: QFont, width: float, option: QTextOption, most: int
) -> list[tuple[int, int]]:
    """The first lines (at most ``most``) that ``text`` wraps into at ``width`` pixels in
    ``font``, laid out with ``option`` (its wrap mode and direction), as ``(start, length)``
    in ``text`` (ask for one more line than may be shown: getting it means the text does not
    fit)."""
    layout = QTextLayout(text, font)
    layout.setTextOption(option)
    lines: list[tuple[int, int]] = []
    layout.beginLayout()
    while len(lines) < most:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        lines.append((line.textStart(), line.textLength()))
    layout.endLayout()
    return lines
