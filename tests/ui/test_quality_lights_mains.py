"""Strong mains hum on a usable channel: the light stays green but the therapist is told (once
the hum has lasted :data:`HUM_ON_S`: tests/ui/test_mains_hum_hold.py)."""

from __future__ import annotations

from PySide6.QtGui import QColor

from biotrainer.engine.updates import MetricUpdate
from biotrainer.ui.quality_lights import BAD, GOOD, HUM_OFF_S, HUM_ON_S, QualityLights

#: The engine's update interval (s).
STEP_S = 0.1


def _update(**kw) -> MetricUpdate:
    base = dict(session_s=75.0, sample_time=1000.0, received_at=5.0, computed_at=5.0)
    base.update(kw)
    return MetricUpdate(**base)


def _show_for(lights: QualityLights, seconds: float, t0: float = 1000.0, **kw) -> float:
    """Show the same update every :data:`STEP_S` for ``seconds`` from ``t0``; return the time
    after the last."""
    steps = round(seconds / STEP_S) + 1
    for i in range(steps):
        lights.show_update(_update(sample_time=t0 + i * STEP_S, **kw))
    return t0 + steps * STEP_S


def _lights(qtbot) -> QualityLights:
    lights = QualityLights(("Fp1", "O1", "O2"), has_heart=True)
    qtbot.addWidget(lights)
    lights.show()
    return lights


def test_mains_hum_on_a_usable_channel_is_shown_with_advice(qtbot):
    lights = _lights(qtbot)
    t = _show_for(
        lights, HUM_ON_S, channel_ok=(True, True, True), quality_reason="Fp1: 60 Hz mains 46 dB"
    )
    tip = lights.lights["Fp1"].toolTip()
    assert "mains hum 46 dB (60 Hz)" in tip and "ground/reference electrode" in tip
    assert lights.labels["Fp1"].toolTip() == tip
    assert lights.lights["O1"].toolTip() == "O1: ok"
    # still usable: green, not amber; the hum is marked by a ring, on that light only
    assert lights.colors()["Fp1"] == QColor(GOOD).name()
    assert lights.hum_marked() == ["Fp1"]
    light = lights.lights["Fp1"]
    image = light.grab().toImage()
    edge = image.pixelColor(light.width() // 2, 2)
    centre = image.pixelColor(light.width() // 2, light.height() // 2)
    assert centre.name() == QColor(GOOD).name() and edge.name() != centre.name()
    # the hum goes away: so do the ring and the advice
    _show_for(lights, HUM_OFF_S, t, channel_ok=(True, True, True), quality_reason="ok")
    assert lights.hum_marked() == []
    assert lights.lights["Fp1"].toolTip() == "Fp1: ok"


def test_mains_hum_with_an_unusable_finding_keeps_both(qtbot):
    lights = _lights(qtbot)
    _show_for(
        lights,
        HUM_ON_S,
        channel_ok=(False, True, False),
        quality_reason="Fp1: 50 Hz mains 41 dB, EMG 24 µV; O2: flat",
    )
    tip = lights.lights["Fp1"].toolTip()
    assert tip.startswith("Fp1: EMG 24 µV; mains hum 41 dB (50 Hz)")
    assert "ground/reference" in tip
    assert lights.colors()["Fp1"] == QColor(BAD).name()
    assert lights.hum_marked() == ["Fp1"]
    assert lights.lights["O2"].toolTip() == "O2: flat"
