"""Dashboard widgets on hand-made updates and chunks: what they show and what they emit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from biotrainer.clock import EpochClock, SimulatedClock
from biotrainer.engine.preview import FeedbackPreview
from biotrainer.engine.protocol import load_protocol
from biotrainer.engine.updates import MetricUpdate
from biotrainer.ui.dashboard import TherapistDashboard, fmt_clock, quality_text
from biotrainer.ui.engine_bridge import FrameLatency, LatencyMeter
from biotrainer.ui.quality_lights import BAD, GOOD, LOST, UNKNOWN, channel_reasons
from biotrainer.ui.spectrum import BAND_NAMES
from biotrainer.ui.trends import running_mean

from .fakes import FakeSource


def update(**kw) -> MetricUpdate:
    base = dict(session_s=75.0, sample_time=1000.0, received_at=5.0, computed_at=5.0)
    base.update(kw)
    return MetricUpdate(**base)


@pytest.fixture
def dash(qtbot):
    d = TherapistDashboard()
    qtbot.addWidget(d)
    d.set_protocol(load_protocol("alpha-uptraining"))
    clock = SimulatedClock()
    source = FakeSource(clock, n_eeg=4)
    source.prepare()
    source.start()
    d.set_layout(source.layout)
    d.resize(1300, 800)
    d.show()
    d.source, d.clock = source, clock
    return d


def test_phase_timer_score_and_reward_are_shown(dash):
    dash.set_state("running")
    dash.add_updates(
        [
            update(
                phase_index=1,
                phase_name="Baseline, eyes closed",
                phase_kind="baseline",
                phase_elapsed_s=15.0,
                phase_remaining_s=45.0,
                feedback_score=0.73,
                feedback_z=1.2,
                reward_rate=0.61,
                threshold_z=0.4,
                channel_ok=(True, False, True, True),
                quality_reason="C3: EMG",
                quality_ok=False,
            )
        ]
    )
    assert dash.refresh() is not None
    assert (
        "Baseline, eyes closed" in dash.phase_label.text() and "2 of 6" in dash.phase_label.text()
    )
    assert dash.phase_clock.text().startswith("0:15 / 1:00")
    assert "0:45 left" in dash.phase_clock.text()
    assert dash.session_progress.value() == round(1000 * 75 / 720)
    assert dash.score_bar.value() == 73 and "+1.20" in dash.score_label.text()
    assert dash.reward_label.text() == "reward rate 61 %"
    assert dash.threshold_slider.value() == 40  # auto mode: the slider follows the engine
    assert dash.quality_label.text() == "Quality: C3: muscle (EMG)"
    lights = dash.lights.colors()
    assert lights["C3"] == QColor(BAD).name() and lights["Fz"] == QColor(GOOD).name()
    assert dash.lights.lights["C3"].toolTip() == "C3: EMG"
    assert dash.banner.isVisible() and "quality" in dash.banner.text()
    assert dash.refresh() is None  # nothing new: nothing repainted


def test_quality_line_names_the_channels_left_out(dash):
    """Clean enough for feedback while single lights are amber: the line says which channels
    the feedback goes on without (and why, where the reason names them)."""
    dash.set_state("running")

    def shown(**kw) -> str:
        dash.show_update(update(**kw))
        dash.refresh()
        return dash.quality_label.text()

    assert shown(channel_ok=(True,) * 4) == "Quality: signals clean"
    text = shown(channel_ok=(True, False, True, False))  # Fz C3 Cz C4
    assert text == "Quality: good (C3, C4 left out)"
    lights = dash.lights.colors()
    assert lights["C3"] == lights["C4"] == QColor(BAD).name() != lights["Fz"]
    text = shown(
        channel_ok=(False, False, True, False), quality_reason="Fz: EMG; C3: EMG; C4: flat"
    )
    assert text == "Quality: good (Fz, C3 left out: muscle (EMG); C4 left out: flat)"
    # not clean: what is wrong, the channels grouped by what is wrong with them
    assert shown(
        channel_ok=(False,) * 4, quality_ok=False, quality_reason="Fz: flat; C3: flat"
    ) == ("Quality: Fz, C3: flat")
    # a protocol without EEG feedback says nothing about single EEG channels
    dash.set_protocol(load_protocol("hrv-resonance-breathing"))
    assert shown(channel_ok=(True, False, True, True), sample_time=1001.0) == (
        "Quality: signals clean"
    )


def test_quality_text_without_lights_or_channels():
    u = update(channel_ok=(False, True))
    assert quality_text(u, ()) == "Quality: signals clean"
    assert quality_text(u, ("A", "B")) == "Quality: good (A left out)"
    assert quality_text(u, ("A",)) == "Quality: good (A left out)"
    assert quality_text(update(channel_ok=()), ("A", "B")) == "Quality: signals clean"


def test_signal_lost_banner_and_red_lights(dash):
    dash.set_state("running")
    dash.show_update(update(source_state="signal lost", quality_ok=False))
    dash.refresh()
    assert dash.banner.text().startswith("SIGNAL LOST")
    assert set(dash.lights.colors().values()) == {QColor(LOST).name()}


def test_a_pause_freezes_the_feedback_bar_and_says_so(dash):
    """The engine goes on computing during a pause; the therapist must not read its moving
    score as the patient's feedback."""
    from types import SimpleNamespace

    dash.set_state("running")
    dash.add_updates([update(feedback_score=0.4, feedback_z=-0.3)])
    dash.refresh()
    assert dash.score_bar.value() == 40
    dash.set_state("paused")
    dash.add_updates([update(session_s=76.0, feedback_score=0.93, feedback_z=3.2, paused=True)])
    dash.refresh()
    dash.show_preview(SimpleNamespace(feedback_score=0.97))
    assert dash.score_bar.value() == 40 and dash.score_label.text() == "Feedback –  (paused)"
    dash.set_state("running")
    dash.add_updates([update(session_s=77.0, feedback_score=0.6, feedback_z=0.3)])
    dash.refresh()
    assert dash.score_bar.value() == 60 and dash.score_label.text().startswith("Feedback 0.60")


def test_feedback_held_for_want_of_a_baseline_says_so(dash):
    """Clean data but no z-score (a baseline too short for the metric, e.g. the resonance
    assessment's 60 s for coherence): the therapist reads why, not just "on hold"."""
    dash.set_state("running")
    nan = float("nan")
    dash.add_updates([update(phase_kind="pacing", feedback_score=nan, feedback_z=nan)])
    dash.refresh()
    assert dash.score_label.text() == "Feedback –  (on hold: too little baseline)"
    dash.add_updates([update(session_s=80.0, phase_kind="pacing", feedback_score=nan,
                             feedback_z=nan, quality_ok=False)])  # fmt: skip
    dash.refresh()
    assert dash.score_label.text() == "Feedback –  (on hold)"


def test_a_recording_that_ended_greys_the_lights_instead_of_turning_them_red(dash):
    """A replay or simulator that has delivered everything is not a lost signal."""
    dash.set_state("running")
    dash.show_update(update(source_state="ended"))
    dash.refresh()
    assert set(dash.lights.colors().values()) == {QColor(UNKNOWN).name()}
    assert not dash.banner.text().startswith("SIGNAL LOST")


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("complete", "no live signal: the session has finished"),
        ("stopped", "no live signal: the session was stopped"),
        ("source", "no live signal: the device or recording ended"),
    ],
)
def test_after_a_session_the_quality_says_no_signal_until_a_signal_check(dash, kind, said):
    """The last verdict stayed as if the signal were still analysed; a signal check after the
    session shows the live quality again."""
    dash.set_state("running")
    dash.show_update(update(quality_ok=True, quality_reason="ok", channel_ok=[True] * 4))
    dash.refresh()
    assert dash.quality_label.full_text() == "Quality: signals clean"
    assert {dash.lights.colors()[n] for n in dash.lights.eeg_names} == {QColor(GOOD).name()}
    dash.set_state("finished")
    dash.show_ending("Session complete", kind)
    dash.show_update(update(session_s=76.0, quality_ok=True, channel_ok=[True] * 4))
    dash.refresh()  # (no update after the end brings the old verdict back)
    assert dash.quality_label.full_text() == f"Quality: – ({said})"
    assert set(dash.lights.colors().values()) == {QColor(UNKNOWN).name()}
    dash.set_state("preview")
    dash.show_update(update(session_s=77.0, quality_ok=True, channel_ok=[True] * 4))
    dash.refresh()
    assert dash.quality_label.full_text() == "Quality: signals clean"
    assert {dash.lights.colors()[n] for n in dash.lights.eeg_names} == {QColor(GOOD).name()}


def test_controls_emit_commands(dash, qtbot):
    dash.set_state("running")
    with qtbot.waitSignal(dash.threshold_changed) as sig:
        dash.threshold_slider.setValue(-50)
    assert sig.args == [pytest.approx(-0.5)]
    assert not dash.auto_check.isChecked()
    with qtbot.waitSignal(dash.auto_threshold_requested) as sig:
        dash.target_spin.setValue(70)
        dash.auto_check.setChecked(True)
    assert sig.args == [pytest.approx(0.7)]
    with qtbot.waitSignal(dash.note_entered) as sig:
        dash.open_note_box()
        qtbot.keyClicks(dash.note_box, "cough")
        qtbot.keyClick(dash.note_box, Qt.Key.Key_Return)
    assert sig.args == ["cough"] and not dash.note_box.isVisible()
    dash.open_note_box()
    qtbot.keyClick(dash.note_box, Qt.Key.Key_Escape)
    assert not dash.note_box.isVisible()
    dash.set_state("idle")
    assert dash.start_button.isEnabled() and not dash.stop_button.isEnabled()
    dash.open_note_box()  # no session: no notes
    assert not dash.note_box.isVisible()


def test_spectrum_shows_the_alpha_rhythm_of_the_signal(dash):
    # FakeSource: 20 µV 10 Hz rhythm + 3 µV noise on every channel
    for _ in range(6):
        dash.clock.advance(1.0)
        dash.push_chunk(dash.source.poll())
    assert dash.spectrum.refresh()
    f, p = dash.spectrum.freqs_hz, dash.spectrum.power_db
    assert abs(f[np.argmax(p)] - 10.0) <= 0.5
    # no engine band powers (None): computed here, alpha dominates
    rel = dash.spectrum.relative
    assert BAND_NAMES[int(np.nanargmax(rel))] == "alpha" and rel.sum() == pytest.approx(1.0)
    # signal plots got the samples too
    dash.refresh()
    assert dash.plots.panels["eeg"].trace.version > 0


def test_trends_append_per_update_and_scroll(dash):
    ups = [
        update(session_s=t, feedback_score=0.5 + 0.1 * math.sin(t), hr_bpm=60 + (t // 10))
        for t in np.arange(0, 900, 0.1)
    ]
    dash.trends.append(ups)
    assert dash.trends.refresh()
    x, y = dash.trends.curves["hr_bpm"].getData()
    # heart rate stored on change only, and only the last 10 minutes are handed to the curve
    assert x[0] >= 5.0 - 1e-9 and x[-1] == pytest.approx(890 / 60)
    assert len(x) <= 61
    x, y = dash.trends.curves["feedback_score"].getData()
    assert x[-1] == pytest.approx(899.9 / 60)
    assert len(x) <= 601 and np.nanmax(y) <= 0.6 + 1e-9
    assert not dash.trends.refresh()


def test_running_mean_ignores_nan():
    v = np.array([1.0, np.nan, 3.0, 5.0, np.nan, np.nan, np.nan])
    out = running_mean(v, 2)
    np.testing.assert_allclose(out[:5], [1.0, 1.0, 3.0, 4.0, 5.0])
    assert math.isnan(out[6])


def test_channel_reasons_and_clock_format():
    assert channel_reasons("AF7: EMG; TP9: flat") == {"AF7": "EMG", "TP9": "flat"}
    assert channel_reasons("signal lost") == {}
    assert fmt_clock(61.4) == "1:01" and fmt_clock(math.nan) == "–"


def test_latency_meter_counts_each_sample_batch_once():
    clock = SimulatedClock(10.0)
    meter = LatencyMeter(clock, window=3)
    assert math.isnan(meter.median_ms)
    u = update(received_at=9.96)
    assert meter.painted(u) == pytest.approx(0.04)
    assert meter.painted(u) is None  # already measured
    assert meter.painted(update(received_at=math.nan)) is None
    for r in (9.97, 9.98, 9.99):
        meter.painted(update(received_at=r))
    assert len(meter.recent) == 3 and len(meter.all) == 4
    assert meter.median_ms == pytest.approx(20.0)
    assert meter.percentile_ms(100) == pytest.approx(40.0)


def test_frame_latency_stamps_what_the_painted_frame_shows():
    clock = SimulatedClock(10.0)
    frames = FrameLatency(clock)
    assert frames.text() is None
    frames.shown(update(received_at=9.95))
    frames.shown(None)  # nothing new since: the update is still the one on the next frame
    clock.advance(0.01)
    frames.painted()
    assert list(frames.dashboard.all) == pytest.approx([0.06])
    frames.painted()  # a frame without anything new measures nothing
    assert len(frames.dashboard.all) == 1
    # sample_time 1000 s is not on the epoch clock: no data age
    assert not frames.data_age.all
    frames.patient_painted(math.nan)
    frames.patient_painted(-0.01)
    frames.patient_painted(0.03)
    assert list(frames.patient.all) == [0.03]
    assert frames.text() == "latency dashboard 60 ms · patient 30 ms"
    # a preview newer than the update gives the data age of its sample (epoch-stamped here)
    stamp = EpochClock().now() - 1.0
    frames.shown(update(received_at=9.99, sample_time=stamp - 0.1))
    frames.previewed(FeedbackPreview(stamp, 9.99, 0.5, 0.0, 0.5))
    frames.painted()
    assert len(frames.dashboard.all) == 2 and len(frames.data_age.all) == 1
    assert frames.data_age.all[0] >= 1.0  # measured from the preview's sample


def test_trend_titles_and_band_bars_follow_the_values_and_are_kept_when_unchanged(dash):
    trends = dash.trends
    trends.append([update(session_s=1.0, hr_bpm=61.0)])
    trends.refresh()
    title = trends.plots["hr_bpm"].titleLabel.text
    assert "61" in title
    calls = []
    trends.plots["hr_bpm"].titleLabel.setText = lambda *a, **k: calls.append(a)
    trends.append([update(session_s=1.1, hr_bpm=61.0)])  # same value: no new title
    trends.refresh()
    assert calls == []
    trends.append([update(session_s=1.2, hr_bpm=74.0)])
    trends.refresh()
    assert calls and "74" in calls[-1][0]

    spectrum = dash.spectrum
    drawn = []
    original = spectrum.bars.setOpts
    spectrum.bars.setOpts = lambda **k: (drawn.append(k), original(**k))
    spectrum.relative = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    spectrum.refresh()  # (not a second of new EEG yet: only the bars)
    spectrum.refresh()
    assert len(drawn) == 1 and np.allclose(drawn[0]["height"], [10, 20, 40, 20, 10])
    spectrum.relative = np.array([0.2, 0.2, 0.3, 0.2, 0.1])
    spectrum.refresh()
    assert len(drawn) == 2


def test_bars_are_painted_with_the_next_frame_not_at_every_new_value(dash, qtbot):
    """QProgressBar.setValue repaints at once; the dashboard's bars wait for the frame, so the
    feedback bar's 50-60 values a second do not each repaint the window."""
    from PySide6.QtCore import QEvent, QObject

    qtbot.waitExposed(dash)
    painted = []

    class Count(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 - Qt override
            if event.type() == QEvent.Type.Paint:
                painted.append(obj)
            return False

    counter = Count()
    for bar in (dash.score_bar, dash.session_progress):
        bar.installEventFilter(counter)
        qtbot.wait(20)
        painted.clear()
        for v in (10, 40, 70):
            bar.setValue(v)
        assert painted == [] and bar.value() == 70  # nothing painted yet
        qtbot.waitUntil(lambda b=bar: b in painted, timeout=2000)
        assert painted.count(bar) == 1  # one paint for the three values
        image = bar.grab().toImage()
        bar.setValue(10)
        assert bar.grab().toImage() != image  # and it shows the new value
        bar.removeEventFilter(counter)


def test_a_larger_window_gives_the_trends_their_share_after_a_new_session(dash, qtbot):
    """The trends were replaced at each session without their stretch: a window enlarged
    during a session gave all its new height to the spectrum (trends unreadable at 1080 px)."""
    dash.resize(1280, 720)
    dash.show()
    qtbot.waitExposed(dash)
    dash.new_session()
    spectrum_before, trends_before = dash.side_splitter.sizes()
    dash.resize(1920, 1080)
    QApplication.processEvents()
    spectrum, trends = dash.side_splitter.sizes()
    grown = (spectrum - spectrum_before) + (trends - trends_before)
    assert grown > 250
    assert trends - trends_before > 0.6 * grown  # 5 : 2


def test_the_heart_light_turns_amber_when_the_beats_stop(qtbot):
    """No heart rate after one was shown: the sensor is off (the engine withdraws the heart
    metrics after BEATS_LOST_S without a beat); before the first beat it is only grey."""
    from biotrainer.ui.quality_lights import QualityLights

    lights = QualityLights(("Fz",), has_heart=True)
    qtbot.addWidget(lights)
    lights.show_update(update(hr_bpm=math.nan))
    assert lights.colors()["Heart"] == QColor(UNKNOWN).name()
    lights.show_update(update(hr_bpm=70.0))
    assert lights.colors()["Heart"] == QColor(GOOD).name()
    lights.show_update(update(hr_bpm=math.nan))
    assert lights.colors()["Heart"] == QColor(BAD).name()
    assert "check the ECG/PPG sensor" in lights.lights["Heart"].toolTip()


def test_the_heart_light_says_when_the_beats_are_too_irregular_to_measure(qtbot):
    """Beats counted but too irregular for RMSSD and coherence (the engine blanks them): the
    light turns amber and says why, and green again once they are regular."""
    from biotrainer.ui.quality_lights import QualityLights

    lights = QualityLights(("Fz",), has_heart=True)
    qtbot.addWidget(lights)
    lights.show_update(update(hr_bpm=70.0, rmssd_ms=math.nan, heart_irregular=True))
    assert lights.colors()["Heart"] == QColor(BAD).name()
    assert "too irregular" in lights.lights["Heart"].toolTip()
    assert "70 bpm" in lights.lights["Heart"].toolTip()
    lights.show_update(update(hr_bpm=71.0, rmssd_ms=40.0))
    assert lights.colors()["Heart"] == QColor(GOOD).name()


def test_a_pasted_note_keeps_no_control_or_direction_characters(qtbot):
    """A note pasted with a NUL or a right-to-left override went into events.csv, the store
    and the PDF as typed (the PDF drew a box; the override reversed what the report showed)."""
    from biotrainer.ui.dashboard import NoteBox

    box = NoteBox()
    qtbot.addWidget(box)
    box.setText("\tcalm\x00 now \u202eevil\u202c, \u05e9\u05dc\u05d5\u05dd\u200d ")
    with qtbot.waitSignal(box.submitted) as sent:
        qtbot.keyClick(box, Qt.Key.Key_Return)
    # (letters of any script and a zero-width joiner stay: only what hides or reorders goes)
    assert sent.args == ["calm  now  evil , \u05e9\u05dc\u05d5\u05dd\u200d"]


def test_the_breathing_trend_says_where_its_rate_comes_from(dash):
    trends = dash.trends
    trends.append([update(session_s=1.0, breathing_bpm=14.2, breathing_source="heart")])
    trends.refresh()
    assert "from heart rhythm" in trends.plots["breathing_bpm"].titleLabel.text
    trends.append([update(session_s=1.1, breathing_bpm=15.8, breathing_source="resp")])
    trends.refresh()
    title = trends.plots["breathing_bpm"].titleLabel.text
    assert "respiration belt" in title and "15.8" in title


def test_taking_over_a_high_auto_threshold_starts_from_it(dash, qtbot):
    """A relaxed person's auto-threshold can be +8 or more; the slider ended at +2, so unticking
    "auto" sent +2.0 and every update was rewarded (review)."""
    dash.set_state("running")
    dash.add_updates([update(threshold_z=8.44, feedback_z=8.9)])
    dash.refresh()
    assert dash.threshold_label.text() == "z +8.44"
    with qtbot.waitSignal(dash.threshold_changed) as sig:
        dash.auto_check.setChecked(False)
    assert sig.args == [pytest.approx(8.44)]
    dash.set_protocol(load_protocol("alpha-uptraining"))  # a new session: the usual range
    assert dash.threshold_slider.maximum() == 200
