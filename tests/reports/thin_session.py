"""Metric values for report tests of means over part of a phase (test helper)."""

from __future__ import annotations

#: The values every protocol row gets (finite everywhere: full coverage).
FULL = {
    "feedback_z": "0.4",
    "relaxation": "0.5",
    "hr_bpm": "72.0",
    "rmssd_ms": "41.0",
    "coherence": "1.5",
    "breathing_bpm": "6.5",
    "quality_ok": "1",
    "paused": "0",
}
#: The training's RMSSD, on its first ``THIN_SHARE`` of rows only (as record 106's 38 of 600).
THIN_RMSSD = "116.7"
THIN_SHARE = 38 / 600
