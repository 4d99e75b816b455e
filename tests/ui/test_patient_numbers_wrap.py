"""The patient view's numbers line breaks between its parts only.

Left to Qt's word wrap it broke anywhere a space or a slash allowed: "(guide 6/" at the end of a
line and "min) · On target 65% of the time" on the next (1024×600), "On" alone before "target 65%
of the time" (1920×1080), "Breathing 6.1/" and "min" (800×480). Where a part is wider than the
room it has (the corner of a 640×400 window), it still breaks where it must.
"""

from __future__ import annotations

import pytest
from PySide6.QtGui import QFontMetricsF, QTextOption

from biotrainer.ui.patient_view import NUMBERS_SEPARATOR
from biotrainer.ui.text_lines import wrapped_lines

from .test_patient_view_audit133 import SIZES, make_view

#: Windows whose corner beside the words is narrower than the breathing part of the line.
SMALL = [(640, 400), (240, 320)]


def _painted_lines(view) -> list[str]:
    line = view._numbers_line
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WordWrap)
    starts = [s for s, _ in wrapped_lines(line.text, line.font, line.static.textWidth(), option, 9)]
    ends = [*starts[1:], len(line.text)]
    return [line.text[a:b] for a, b in zip(starts, ends, strict=True)]


@pytest.mark.parametrize("size", SIZES)
def test_the_numbers_line_wraps_between_its_parts(qtbot, size) -> None:
    v = make_view(qtbot, size)
    v.grab()  # (laid out as painted)
    lines = _painted_lines(v)
    parts = v.numbers_text.split(NUMBERS_SEPARATOR)
    assert len(parts) == 3  # heart rate, breathing beside the guide, time on target
    line = v._numbers_line
    widest = max(QFontMetricsF(line.font).horizontalAdvance(p + " ·") for p in parts)
    if widest > line.static.textWidth():  # (the corner of a small window: breaks as it must)
        assert line.text == v.numbers_text and size in SMALL
        return
    found = []
    for line in lines:
        text = line.replace("\u00a0", " ").replace("\u2060", "").rstrip().removesuffix(" ·")
        found += text.split(NUMBERS_SEPARATOR)  # (a line holds whole parts only)
    assert found == parts, lines
