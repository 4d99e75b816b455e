"""Mains hum on the therapist's dashboard: the trace titles name the display notch, and the
quality line names strong, lasting hum with what to check, while the channels stay usable
(the threshold and the hold: tests/ui/test_mains_hum_hold.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from biotrainer.dsp.quality import StreamingQuality
from biotrainer.engine.updates import MetricUpdate
from biotrainer.ui.dashboard import TherapistDashboard, quality_text
from biotrainer.ui.quality_lights import HUM_OFF_S, HUM_ON_S, MAINS_ADVICE, QualityLights
from biotrainer.ui.signal_plots import Theme
from biotrainer.ui.trace_canvas import TraceCanvas
from biotrainer.ui.traces import DisplayTrace

HUM_RECORDING = "OpenBCI_GUI-v6-blinks-jawClench-alpha.txt"
#: The engine's update interval (s).
STEP_S = 0.1


def _update(**kw) -> MetricUpdate:
    base = dict(session_s=75.0, sample_time=1000.0, received_at=5.0, computed_at=5.0)
    base.update(kw)
    return MetricUpdate(**base)


def _title(qtbot, role: str, fs: float) -> str:
    canvas = TraceCanvas(DisplayTrace(role, fs, ("a", "b"), "uV", window_s=2.0), Theme())
    qtbot.addWidget(canvas)
    return canvas.title


def test_trace_titles_name_the_mains_notches_the_display_applies(qtbot):
    assert _title(qtbot, "eeg", 250.0).endswith("display filter 1–40 Hz, 50/60 Hz notch")
    assert _title(qtbot, "ecg", 250.0).endswith("display filter 0.5–40 Hz, 50/60 Hz notch")
    # 60 Hz is the Nyquist frequency at 120 Hz: only 50 Hz is notched
    assert _title(qtbot, "eeg", 120.0).endswith("display filter 1–40 Hz, 50 Hz notch")
    # at 100 Hz neither is below Nyquist (50 Hz is exactly it): no notch is said
    at_100 = _title(qtbot, "eeg", 100.0)
    assert at_100.endswith("display filter 1–40 Hz") and "notch" not in at_100
    assert "notch" not in _title(qtbot, "ppg", 250.0)  # PPG is not notched


class _Shown:
    """Shows updates on a dashboard every :data:`STEP_S` of data time."""

    def __init__(self, dash: TherapistDashboard) -> None:
        self.dash = dash
        self.t = 1000.0

    def __call__(self, seconds: float, **kw) -> str:
        """The quality line's whole text after the same update for ``seconds`` (checking it is
        shown in two lines)."""
        for _ in range(round(seconds / STEP_S) + 1):
            self.dash.show_update(_update(sample_time=self.t, **kw))
            self.dash.refresh()
            self.t += STEP_S
        assert self.dash.quality_label.text().count("\n") <= 1
        return self.dash.quality_label.full_text()


def test_quality_line_names_hum_on_clean_channels_with_what_to_check(dash):
    names, shown = dash.lights.eeg_names, _Shown(dash)
    humming = "; ".join(f"{n}: 60 Hz mains 46 dB" for n in names)
    text = shown(HUM_ON_S, channel_ok=(True,) * len(names), quality_reason=humming)
    assert text == (f"Quality: signals clean · mains hum on {len(names)} channels: {MAINS_ADVICE}")
    assert "Fz: 60 Hz mains 46 dB" in dash.quality_label.toolTip()
    # one channel humming is named
    ok = (True,) * len(names)
    one = shown(HUM_OFF_S, channel_ok=ok, quality_reason="C3: 50 Hz mains 40 dB")
    assert one == f"Quality: signals clean · mains hum on C3: {MAINS_ADVICE}"
    # the hum gone, so is the note
    assert shown(HUM_OFF_S, channel_ok=ok) == "Quality: signals clean"


def test_other_trouble_stays_first_and_the_hum_is_said_once(dash):
    names, shown = dash.lights.eeg_names, _Shown(dash)
    both = "; ".join(f"{n}: 60 Hz mains 46 dB, blink/motion 300 µV" for n in names)
    bad = (False,) * len(names)
    text = shown(HUM_ON_S, channel_ok=bad, quality_ok=False, quality_reason=both)
    assert text.startswith(f"Quality: {len(names)} channels: blinks/movement · mains hum on ")
    assert text.count("mains") == 1
    # clean enough for feedback with a channel left out: why, then the hum
    text = shown(
        HUM_OFF_S,
        channel_ok=(True, False, True, True),
        quality_reason="Fz: 60 Hz mains 40 dB; C3: 60 Hz mains 46 dB, EMG 31 µV",
    )
    assert text.startswith("Quality: good (C3 left out: muscle (EMG)) · mains hum on Fz, C3")
    assert text.count("mains") == 1


def test_a_hum_recording_is_named_on_the_quality_line_soon_and_steadily(qtbot, shared_data: Path):
    """The Cyton's 60 Hz hum (77-239 µV), still with eyes closed (20-75 s), updated every
    :data:`STEP_S` as the engine does: the note comes on after the hold and stays."""
    path = shared_data / "eeg_headsets" / HUM_RECORDING
    with open(path) as fh:
        lines = [ln for ln in fh if not ln.startswith("%")]
    header = [h.strip() for h in lines[0].split(",")]
    cols = [i for i, h in enumerate(header) if h.startswith("EXG Channel")]
    x = np.loadtxt(lines[1:], delimiter=",", usecols=cols).T
    fs = 250.0
    names = tuple(f"ch{i + 1}" for i in range(x.shape[0]))
    lights = QualityLights(names)
    qtbot.addWidget(lights)
    quality = StreamingQuality(fs, len(names))
    step = round(STEP_S * fs)
    first, texts = None, []
    for end in range(int(20 * fs) + step, int(75 * fs) + 1, step):
        quality.push(x[:, end - step : end])
        q = quality.latest
        if q is None:
            continue
        first = end / fs if first is None else first
        reason = "; ".join(f"{n}: {r}" for n, r in zip(names, q.reasons, strict=True) if r != "ok")
        update = _update(
            sample_time=end / fs, channel_ok=tuple(q.usable.tolist()), quality_reason=reason
        )
        lights.show_update(update)
        texts.append((end / fs - first, quality_text(update, names, lights.humming())))
    on = next(t for t, text in texts if "mains hum on" in text)
    assert on <= HUM_ON_S + 0.5, f"the hum was said only after {on:.1f} s"
    assert all(text.endswith(MAINS_ADVICE) for t, text in texts if t >= on), "the note went off"
