"""Helpers of the painting tests: frames of the patient animation, pictures as arrays."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from biotrainer.ui.smoothing import Frame


def frame(**fields) -> Frame:
    """A frame of the patient animation: a still orb at half level, unless ``fields`` say."""
    values = dict(
        t=0.0, level=0.5, presence=1.0, reward=0.0, bloom=0.0, spin=0.0, pacer=0.0,
        pacer_open=0.0, inhaling=True, cue=0.0, note=0.0,
    )  # fmt: skip
    values.update(fields)
    return Frame(**values)


def pixels(image: QImage) -> np.ndarray:
    """The ``(height, width, 3)`` RGB values of ``image`` (ints)."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    arr = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return arr.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).astype(int)
