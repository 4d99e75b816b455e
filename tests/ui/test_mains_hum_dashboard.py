"""Mains hum on the therapist's dashboard: the trace titles name the display notch, and the
quality line names the hum with what to check, while the channels stay usable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biotrainer.dsp.quality import signal_quality
from biotrainer.engine.protocol import load_protocol
from biotrainer.engine.updates import MetricUpdate
from biotrainer.ui.dashboard import TherapistDashboard, quality_text
from biotrainer.ui.quality_lights import MAINS_ADVICE
from biotrainer.ui.signal_plots import Theme
from biotrainer.ui.trace_canvas import TraceCanvas
from biotrainer.ui.traces import DisplayTrace

from .fakes import fake_layout

HUM_RECORDING = "OpenBCI_GUI-v6-blinks-jawClench-alpha.txt"


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


@pytest.fixture
def dash(qtbot):
    d = TherapistDashboard()
    qtbot.addWidget(d)
    d.set_protocol(load_protocol("alpha-uptraining"))
    d.set_layout(fake_layout(n_eeg=4))
    d.resize(1300, 800)
    d.show()
    d.set_state("running")
    return d


def _shown(dash: TherapistDashboard, **kw) -> str:
    """The quality line's whole text for an update (checking it is shown in two lines)."""
    dash.show_update(_update(**kw))
    dash.refresh()
    assert dash.quality_label.text().count("\n") <= 1
    return dash.quality_label.full_text()


def test_quality_line_names_hum_on_clean_channels_with_what_to_check(dash):
    names = dash.lights.eeg_names
    humming = "; ".join(f"{n}: 60 Hz mains 46 dB" for n in names)
    text = _shown(dash, channel_ok=(True,) * len(names), quality_reason=humming)
    assert text == (f"Quality: signals clean · mains hum on {len(names)} channels: {MAINS_ADVICE}")
    assert "Fz: 60 Hz mains 46 dB" in dash.quality_label.toolTip()
    # one channel humming is named
    one = _shown(dash, channel_ok=(True,) * len(names), quality_reason="C3: 50 Hz mains 30 dB")
    assert one == f"Quality: signals clean · mains hum on C3: {MAINS_ADVICE}"
    # the hum gone, so is the note
    assert _shown(dash, channel_ok=(True,) * len(names)) == "Quality: signals clean"


def test_other_trouble_stays_first_and_the_hum_is_said_once(dash):
    names = dash.lights.eeg_names
    both = "; ".join(f"{n}: 60 Hz mains 46 dB, blink/motion 300 µV" for n in names)
    text = _shown(dash, channel_ok=(False,) * len(names), quality_ok=False, quality_reason=both)
    assert text.startswith(f"Quality: {len(names)} channels: blinks/movement · mains hum on ")
    assert text.count("mains") == 1
    # clean enough for feedback with a channel left out: why, then the hum
    text = _shown(
        dash,
        channel_ok=(True, False, True, True),
        quality_reason="Fz: 60 Hz mains 40 dB; C3: 60 Hz mains 46 dB, EMG 31 µV",
    )
    assert text.startswith("Quality: good (C3 left out: muscle (EMG)) · mains hum on Fz, C3")
    assert text.count("mains") == 1


def test_a_hum_recording_is_named_on_the_quality_line(shared_data: Path):
    path = shared_data / "eeg_headsets" / HUM_RECORDING
    with open(path) as fh:
        lines = [ln for ln in fh if not ln.startswith("%")]
    header = [h.strip() for h in lines[0].split(",")]
    cols = [i for i, h in enumerate(header) if h.startswith("EXG Channel")]
    x = np.loadtxt(lines[1:], delimiter=",", usecols=cols).T
    fs = 250.0
    names = tuple(f"ch{i + 1}" for i in range(x.shape[0]))
    second = x[:, int(43 * fs) : int(44 * fs)]  # eyes closed, still
    q = signal_quality(second, fs)
    assert q.line_noise.any(), "the recording's strong mains hum was not found"
    reason = "; ".join(f"{n}: {r}" for n, r in zip(names, q.reasons, strict=True) if r != "ok")
    text = quality_text(_update(channel_ok=tuple(q.usable.tolist()), quality_reason=reason), names)
    assert "mains hum on" in text and text.endswith(MAINS_ADVICE)
