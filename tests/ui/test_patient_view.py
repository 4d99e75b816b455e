"""The patient view: smooth, calm feedback driven by metric updates on a simulated clock."""

from __future__ import annotations

import itertools
import logging
import math

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from biotrainer.clock import SimulatedClock
from biotrainer.engine.updates import MetricUpdate
from biotrainer.ui.audio_feedback import ToneSynth
from biotrainer.ui.patient_view import (
    BREATHE_IN,
    BREATHE_OUT,
    FINISHED,
    PAUSED,
    STAY_STILL,
    PatientView,
)
from biotrainer.ui.smoothing import (
    AdaptiveSpring,
    CriticallyDampedSmoother,
    ExponentialSmoother,
    PacerClock,
    PatientAnimation,
)

FPS = 60


def upd(t: float, score: float = math.nan, **fields) -> MetricUpdate:
    return MetricUpdate(
        session_s=t, sample_time=t, received_at=t, computed_at=t, feedback_score=score, **fields
    )


def drive(target, clock: SimulatedClock, seconds: float, score=math.nan, **fields) -> None:
    """10 updates a second to ``target`` (a view or an animation), stepped at 60 frames/s."""
    animation = target.animation if isinstance(target, PatientView) else target
    feed = (
        target.show_update
        if isinstance(target, PatientView)
        else (lambda u: target.feed(u, clock.now()))
    )
    for i in range(round(seconds * FPS)):
        clock.advance(1 / FPS)
        if i % 6 == 0:
            s = score(clock.now()) if callable(score) else score
            feed(upd(clock.now(), s, **fields))
        animation.step(clock.now())


# -- smoothers (Qt-free) -------------------------------------------------------------------


def test_exponential_smoother_is_exact_and_independent_of_frame_rate():
    a, b = ExponentialSmoother(0.5, 0.0), ExponentialSmoother(0.5, 0.0)
    a.target = b.target = 1.0
    a.step(0.5)
    for _ in range(50):
        b.step(0.01)
    assert a.value == pytest.approx(1 - math.exp(-1), abs=1e-12)
    assert b.value == pytest.approx(a.value, abs=1e-12)
    a.step(-1.0)  # time never runs backwards
    assert a.value == pytest.approx(1 - math.exp(-1), abs=1e-12)


def test_critically_damped_smoother_never_overshoots_and_settles():
    s = CriticallyDampedSmoother(3.5, 0.0)
    s.target = 1.0
    values = [s.step(1 / FPS) for _ in range(FPS * 4)]
    assert all(b >= a for a, b in itertools.pairwise(values))  # monotonic rise
    assert max(values) <= 1.0
    # Analytic: 1 - (1 + w t) exp(-w t).
    t = 1.0
    assert values[FPS - 1] == pytest.approx(1 - (1 + 3.5 * t) * math.exp(-3.5 * t), abs=1e-9)
    assert values[-1] == pytest.approx(1.0, abs=1e-3)
    # Starts gently: the first frame moves far less than an exponential smoother would.
    first = CriticallyDampedSmoother(3.5, 0.0)
    first.target = 1.0
    assert first.step(1 / FPS) < 0.1 * (1 - math.exp(-3.5 / FPS))


def test_critically_damped_smoother_does_not_depend_on_step_size():
    a, b = CriticallyDampedSmoother(4.0, 0.2), CriticallyDampedSmoother(4.0, 0.2)
    a.target = b.target = 0.9
    a.step(0.3)
    for _ in range(30):
        b.step(0.01)
    assert b.value == pytest.approx(a.value, abs=1e-9)
    assert b.velocity == pytest.approx(a.velocity, abs=1e-9)


def test_adaptive_spring_is_calm_for_wobbles_and_quick_for_large_changes():
    # small wobbles of +-0.05 at 5 Hz around 0.5: the level barely moves
    s = AdaptiveSpring(value=0.5)
    moves = []
    for i in range(FPS * 4):
        s.target = 0.55 if (i // 6) % 2 else 0.45
        before = s.value
        moves.append(abs(s.step(1 / FPS) - before))
    assert max(moves) < 0.01
    assert 0.45 < s.value < 0.55
    # a sustained step of 0.6 is half followed within 0.1 s, without overshoot
    s = AdaptiveSpring(value=0.2)
    s.target = 0.8
    values = [s.step(1 / FPS) for _ in range(FPS * 2)]
    half = next(i for i, v in enumerate(values) if v >= 0.5)
    assert (half + 1) / FPS <= 0.1
    assert max(values) <= 0.8
    assert values[-1] == pytest.approx(0.8, abs=1e-3)
    # it starts gently: the first frame moves less than the second
    assert values[0] - 0.2 < values[1] - values[0]
    # the same wobbles through a fixed stiff spring (omega 50) would jump far more
    stiff = CriticallyDampedSmoother(50.0, 0.5)
    jumps = []
    for i in range(FPS * 4):
        stiff.target = 0.55 if (i // 6) % 2 else 0.45
        before = stiff.value
        jumps.append(abs(stiff.step(1 / FPS) - before))
    assert max(jumps) > 3 * max(moves)


def _ramp_halfway_s(spring: AdaptiveSpring, use_track: bool) -> float:
    """Seconds after a 0.2 -> 0.8 ramp (0.15 s long, targets at 50 Hz) starts until the
    spring passes 0.5 (stepped every millisecond, for resolution)."""
    t, step, value = 0.0, 0, spring.value
    while value < 0.5:
        step += 1
        t = step / 1000
        data_t = math.floor(t * 50) / 50  # the newest 50 Hz target available at t
        target = 0.2 + 0.6 * min(1.0, data_t / 0.15)
        if use_track:
            spring.track(target, data_t)
        else:
            spring.target = target
        value = spring.step(1 / 1000)
    return t


def test_adaptive_spring_stiffens_on_a_fast_move_before_falling_behind():
    by_speed = _ramp_halfway_s(AdaptiveSpring(value=0.2), use_track=True)
    by_distance = _ramp_halfway_s(AdaptiveSpring(value=0.2), use_track=False)
    target_halfway = 0.075 + 0.02  # the ramp passes 0.5 after 75 ms (+ one 50 Hz target)
    assert by_speed < by_distance - 0.01
    assert by_speed - target_halfway < 0.05  # follows the move within 50 ms


def test_adaptive_spring_stays_calm_on_slow_steady_wobble():
    # +-0.05 at 2 Hz around 0.5 (the feedback's own noise after its low-pass): the
    # level follows less than half of it
    s = AdaptiveSpring(value=0.5)
    values = []
    for i in range(FPS * 6):
        t = i / FPS
        s.track(0.5 + 0.05 * math.sin(2 * math.pi * 2.0 * t), t)
        values.append(s.step(1 / FPS))
    swing = max(values[FPS * 2 :]) - min(values[FPS * 2 :])
    assert swing < 0.5 * 0.1
    assert s.omega < 0.5 * (s.omega_min + s.omega_max)


def test_adaptive_spring_ignores_late_targets_and_restarts_on_a_new_stream():
    s = AdaptiveSpring(value=0.5)
    assert s.track(0.6, 10.0)
    assert not s.track(0.2, 9.95)  # older than the newest: ignored
    assert s.target == 0.6
    assert s.track(0.7, 10.02)
    assert s.speed > 0
    assert s.track(0.3, 2.0)  # far back in time: a new stream, accepted afresh
    assert s.target == 0.3 and s.speed == 0.0
    assert s.track(0.4, math.nan)  # no usable time: aimed at, nothing learnt
    assert s.target == 0.4 and s.speed == 0.0
    assert s.track(0.5, 2.02) and s.speed > 0  # the history goes on from t = 2.0


def test_adaptive_spring_rejects_bad_parameters():
    with pytest.raises(ValueError):
        AdaptiveSpring(omega_min=10.0, omega_max=5.0)
    with pytest.raises(ValueError):
        AdaptiveSpring(error_scale=0.0)
    with pytest.raises(ValueError):
        AdaptiveSpring(speed_scale=-1.0)


# -- pacer (Qt-free, exact phase math) -------------------------------------------------------


def test_pacer_phase_follows_rate_and_inhale_ratio():
    pacer = PacerClock(6.0, 0.4, t=100.0)  # 10 s breaths: 4 s in, 6 s out
    s = pacer.state(102.0)
    assert s.phase == pytest.approx(0.2)
    assert s.inhaling and s.progress == pytest.approx(0.5) and s.openness == pytest.approx(0.5)
    s = pacer.state(104.0)
    assert not s.inhaling and s.openness == pytest.approx(1.0)
    s = pacer.state(107.0)
    assert not s.inhaling and s.progress == pytest.approx(0.5) and s.openness == pytest.approx(0.5)
    assert pacer.state(100.0).openness == pytest.approx(0.0)
    assert pacer.phase(112.0) == pytest.approx(0.2)  # one period later

    slow = PacerClock(4.5, 0.5, t=0.0)  # 13.33 s breaths, equal halves
    assert slow.state(60 / 4.5 / 4).openness == pytest.approx(0.5)
    assert slow.state(60 / 4.5 / 2).openness == pytest.approx(1.0)


def test_pacer_phase_is_continuous_when_the_rate_changes():
    pacer = PacerClock(6.0, 0.4, t=0.0)
    before = pacer.phase(5.0)
    pacer.set_rate(10.0, 5.0)
    assert pacer.phase(5.0) == pytest.approx(before)  # no jump
    assert pacer.cycles(8.0) == pytest.approx(0.5 + 3.0 * 10 / 60)  # new slope
    eps = 1e-6
    assert abs(pacer.phase(5.0 + eps) - pacer.phase(5.0 - eps)) < 1e-5


def test_new_inhale_ratio_waits_for_the_next_breath():
    pacer = PacerClock(6.0, 0.4, t=0.0)
    pacer.set_inhale_ratio(0.5, 2.0)
    assert pacer.state(4.5).inhaling is False  # still 0.4 in this breath
    s = pacer.state(14.5)  # next breath, phase 0.45: inhaling under the new ratio
    assert pacer.inhale_ratio == 0.5 and s.inhaling and s.progress == pytest.approx(0.9)


@pytest.mark.parametrize("bpm", [0.0, -3.0, 60.0, math.nan])
def test_pacer_rejects_impossible_rates(bpm):
    with pytest.raises(ValueError):
        PacerClock(bpm)


# -- animation state (Qt-free) ---------------------------------------------------------------


def test_rising_scores_raise_the_level_smoothly():
    clock = SimulatedClock(0.0)
    anim = PatientAnimation(clock.now())
    levels = []
    for k in range(20):  # the score climbs from 0.2 to 0.9 over 10 s
        drive(anim, clock, 0.5, score=0.2 + 0.7 * k / 19)
        levels.append(anim.frame.level)
    assert all(b > a for a, b in itertools.pairwise(levels[5:]))
    assert levels[-1] > 0.8 and levels[2] < 0.5
    # Fluid: no frame jumps, even when the score flips between its extremes.
    anim2, clock2 = PatientAnimation(0.0), SimulatedClock(0.0)
    prev, jumps = anim2.frame.level, []
    for i in range(FPS * 3):
        clock2.advance(1 / FPS)
        if i % 6 == 0:
            anim2.feed(upd(clock2.now(), 1.0 if (i // 6) % 2 else 0.0), clock2.now())
        jumps.append(abs(anim2.step(clock2.now()).level - prev))
        prev = anim2.frame.level
    assert max(jumps) < 0.35
    assert min(anim2.frame.level, prev) >= 0.0 and max(anim2.frame.level, prev) <= 1.0


def test_previews_move_the_level_between_updates_but_not_while_holding():
    clock = SimulatedClock(0.0)
    anim = PatientAnimation(clock.now())
    drive(anim, clock, 2.0, score=0.3)
    low = anim.frame.level
    for _ in range(6):  # 0.1 s of previews at 60 Hz, no update
        clock.advance(1 / FPS)
        anim.feed_preview(0.9, clock.now())
        anim.step(clock.now())
    assert anim.frame.level > low + 0.3  # followed within 0.1 s
    anim.feed(upd(clock.now(), 0.5, paused=True), clock.now())
    held = anim.step(clock.now()).level
    for _ in range(30):
        clock.advance(1 / FPS)
        anim.feed_preview(0.1, clock.now())
        anim.step(clock.now())
    assert anim.frame.level > held - 0.25  # paused: previews are ignored
    assert anim.level.target == pytest.approx(0.9)


def test_an_update_older_than_the_last_preview_does_not_pull_the_level_back():
    clock = SimulatedClock(0.0)
    anim = PatientAnimation(clock.now())
    drive(anim, clock, 2.0, score=0.3)
    t = clock.now()
    anim.feed_preview(0.8, t, sample_time=t + 0.05)  # the newest sample
    anim.feed(upd(t + 0.02, 0.35), t)  # a grid update of an older sample, delivered later
    assert anim.level.target == pytest.approx(0.8)
    anim.feed(upd(t + 0.1, 0.4), t)  # a newer one does
    assert anim.level.target == pytest.approx(0.4)


def test_nan_score_holds_still_and_dims_gently():
    clock = SimulatedClock(0.0)
    anim = PatientAnimation(clock.now())
    drive(anim, clock, 5.0, score=0.8)
    held, bright = anim.frame.level, anim.frame.presence
    assert bright == pytest.approx(1.0, abs=0.01)
    drive(anim, clock, 5.0)  # NaN
    assert anim.frame.level == pytest.approx(held, abs=0.01)
    assert PatientAnimation.HOLD_PRESENCE - 0.01 < anim.frame.presence < bright
    assert anim.frame.note == 0.0  # holding still is not "signal lost"


def test_reward_rises_and_fades_slowly_and_gathers_lights():
    clock = SimulatedClock(0.0)
    anim = PatientAnimation(clock.now(), bloom_fill_s=20.0)
    drive(anim, clock, 0.2, score=0.8, rewarded=True)
    assert 0.0 < anim.frame.reward < 0.3  # no flash
    drive(anim, clock, 10.0, score=0.8, rewarded=True)
    assert anim.frame.reward > 0.95
    assert anim.frame.bloom == pytest.approx(10.2 / 20.0, abs=0.02)
    drive(anim, clock, 0.2, score=0.5, rewarded=False)
    assert anim.frame.reward > 0.7
    drive(anim, clock, 8.0, score=0.5, rewarded=False)
    assert anim.frame.reward < 0.01
    assert 0.0 < anim.frame.bloom < 0.51  # the lights fade slowly


def test_calm_note_only_after_seconds_of_lost_signal():
    clock = SimulatedClock(0.0)
    anim = PatientAnimation(clock.now(), note_delay_s=3.0)
    drive(anim, clock, 2.0, score=0.6)
    lost = dict(source_state="signal lost", quality_ok=False)
    drive(anim, clock, 2.0, **lost)
    assert not anim.note_due and anim.frame.note == 0.0  # a short dropout goes unnoticed
    drive(anim, clock, 3.0, **lost)
    assert anim.note_due and anim.frame.note > 0.5
    drive(anim, clock, 5.0, score=0.6)
    assert not anim.note_due and anim.frame.note < 0.01


def test_silence_without_updates_counts_as_lost():
    clock = SimulatedClock(0.0)
    anim = PatientAnimation(clock.now(), stale_after_s=3.0)
    drive(anim, clock, 1.0, score=0.6)
    for _ in range(FPS * 5):  # no updates at all
        clock.advance(1 / FPS)
        anim.step(clock.now())
    assert anim.note_due and anim.frame.note > 0.5


def test_pacer_fades_in_and_out_with_the_protocol():
    clock = SimulatedClock(0.0)
    anim = PatientAnimation(clock.now())
    drive(anim, clock, 3.0, score=0.5)
    assert anim.frame.pacer == 0.0
    drive(anim, clock, 4.0, score=0.5, pacer_bpm=6.0, inhale_ratio=0.4)
    assert anim.frame.pacer > 0.95
    start = anim.pacer
    drive(anim, clock, 1.0, score=0.5, pacer_bpm=5.5, inhale_ratio=0.4)
    assert anim.pacer is start and anim.pacer.bpm == 5.5  # same clock, phase carried on
    drive(anim, clock, 5.0, score=0.5)
    assert anim.frame.pacer < 0.01


def test_pacer_rests_during_a_pause():
    """'Paused. Rest for a moment.' was shown while the pacer went on saying 'Breathe out'."""
    clock = SimulatedClock(0.0)
    anim = PatientAnimation(clock.now())
    drive(anim, clock, 4.0, score=0.5, pacer_bpm=6.0, inhale_ratio=0.4)
    assert anim.frame.pacer > 0.95
    drive(anim, clock, 4.0, score=0.5, pacer_bpm=6.0, inhale_ratio=0.4, paused=True)
    assert anim.frame.pacer < 0.01
    drive(anim, clock, 0.5, score=0.5, pacer_bpm=6.0, inhale_ratio=0.4)
    assert anim.frame.inhaling and anim.frame.pacer > 0.0  # back, with an inhale


# -- the widget -------------------------------------------------------------------------------


@pytest.fixture
def view(qtbot):
    clock = SimulatedClock(1000.0)
    v = PatientView(clock=clock)
    v.clock = clock
    qtbot.addWidget(v)
    v.resize(640, 400)
    return v


def centre_brightness(v: PatientView) -> float:
    image = v.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    arr = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    arr = arr.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).astype(float)
    cy, cx = round(h * 0.52), w // 2
    r = round(min(w, h) * 0.25)
    return float(arr[cy - r : cy + r, cx - r : cx + r].mean())


def ring_rgb(v: PatientView) -> np.ndarray:
    """Mean colour just outside the orb."""
    image = v.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    arr = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    arr = arr.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).astype(float)
    g = v.orb.geometry
    r = g.orb_radius(v.frame.level)
    yy, xx = np.mgrid[0:h, 0:w]
    d = np.hypot(xx - g.centre.x(), yy - g.centre.y())
    return arr[(d > r * 1.05) & (d < r * 1.3)].mean(axis=0)


def test_rising_score_brightens_the_picture(view):
    drive(view, view.clock, 6.0, score=0.1)
    low_level, low = view.frame.level, centre_brightness(view)
    drive(view, view.clock, 6.0, score=0.9)
    high_level, high = view.frame.level, centre_brightness(view)
    assert low_level < 0.15 and high_level > 0.85
    assert high > low * 1.5


def test_nan_score_holds_the_picture(view):
    drive(view, view.clock, 6.0, score=0.7)
    level = view.frame.level
    drive(view, view.clock, 3.0)
    assert view.frame.level == pytest.approx(level, abs=0.01)
    assert view.note_text == ""


def test_reward_indicator_warms_the_light_and_goes_away(view):
    drive(view, view.clock, 6.0, score=0.8)
    plain = ring_rgb(view)
    drive(view, view.clock, 6.0, score=0.8, rewarded=True)
    assert view.frame.reward > 0.95
    warm = ring_rgb(view)
    assert warm[0] > plain[0] + 40  # much more red: warm light
    assert warm[0] > warm[2]
    drive(view, view.clock, 8.0, score=0.8, rewarded=False)
    assert view.frame.reward < 0.01
    assert ring_rgb(view)[0] == pytest.approx(plain[0], abs=6)


def test_pacer_words_follow_the_breath(view):
    drive(view, view.clock, 1.0, score=0.5)
    assert view.cue_text == ""  # no pacer in this phase
    fields = dict(score=0.5, pacer_bpm=6.0, inhale_ratio=0.4)
    drive(view, view.clock, 2.0, **fields)  # pacer started at the first of these updates
    t0 = view.animation.pacer._t0
    drive(view, view.clock, t0 + 12.0 - view.clock.now(), **fields)  # phase 0.2: inhaling
    assert view.cue_text == BREATHE_IN
    assert view.frame.pacer_open == pytest.approx(0.5, abs=0.02)
    drive(view, view.clock, 5.0, **fields)  # phase 0.7: exhaling
    assert view.cue_text == BREATHE_OUT
    drive(view, view.clock, 5.0, score=0.5)  # pacer off
    assert view.cue_text == "" and view.frame.pacer < 0.01


def test_numbers_hidden_unless_the_therapist_turns_them_on(view):
    drive(view, view.clock, 1.0, score=0.72, hr_bpm=64.2, reward_rate=0.64, phase_kind="training")
    assert not view.show_numbers and view.numbers_text == ""
    hidden = view.grab().toImage()
    view.set_show_numbers(True)
    # the share of time on target, not the score (centred on the reward threshold: a
    # percentage of it would read as "how calm")
    assert view.numbers_text == "Heart rate 64 · On target 64% of the time"
    assert view.grab().toImage() != hidden  # the line is painted
    view.set_show_numbers(False)
    assert view.numbers_text == ""


def test_breathing_number_only_while_the_pacer_runs(view):
    """The breathing rate (from the heart rhythm) is reliable during paced breathing only."""
    view.set_show_numbers(True)
    drive(view, view.clock, 1.0, score=0.72, hr_bpm=64.2, breathing_bpm=5.9, pacer_bpm=6.0,
          phase_kind="pacing", reward_rate=0.5)  # fmt: skip
    # (no reward in a paced phase: no time on target)
    assert view.numbers_text == "Heart rate 64 · Breathing 5.9/min (guide 6/min)"
    drive(view, view.clock, 1.0, score=0.72, hr_bpm=64.2, breathing_bpm=4.5)  # pacer off
    assert view.numbers_text == "Heart rate 64"


def test_instruction_paused_and_finished(view):
    view.set_instruction("  Close your eyes and let your breathing settle. ")
    assert view.instruction == "Close your eyes and let your breathing settle."
    drive(view, view.clock, 0.5, score=0.5, paused=True)
    assert view.instruction == PAUSED
    drive(view, view.clock, 0.5, score=0.5, finished=True)
    assert view.instruction == FINISHED


def test_a_new_font_family_redraws_the_words(view):
    view.set_instruction("Close your eyes and let your breathing settle.")
    before = view.grab().toImage()
    font = view.font()
    font.setFamily("DejaVu Serif" if "Serif" not in font.family() else "DejaVu Sans Mono")
    view.setFont(font)  # same pixel sizes (they follow the window), another face
    after = view.grab().toImage()
    assert view._texts["instruction"].font.family() == font.family()
    assert after != before


def test_signal_lost_shows_a_calm_note(view):
    drive(view, view.clock, 2.0, score=0.6)
    drive(view, view.clock, 5.0, source_state="signal lost", quality_ok=False)
    assert view.note_text == STAY_STILL
    assert view.frame.presence < 0.9


def test_latency_is_measured_at_the_first_paint(view, qtbot):
    got = []
    view.update_painted.connect(got.append)
    t = view.clock.now()
    view.show_update(MetricUpdate(session_s=1, sample_time=t, received_at=t, computed_at=t))
    view.clock.advance(0.04)
    view.grab()
    view.grab()  # the second paint of the same update is not counted again
    assert got == [pytest.approx(0.04)]


def test_timer_runs_only_while_shown_and_close_stops_everything(view, qtbot):
    assert not view.timer_active
    view.show()
    qtbot.waitExposed(view)
    assert view.timer_active
    view.hide()
    assert not view.timer_active
    view.show()
    assert view.timer_active
    view.set_audio_enabled(True)
    view.close()
    assert not view.timer_active and not view.audio_active


def test_frames_can_follow_a_drivers_ticks_instead_of_the_timer(view, qtbot):
    from PySide6.QtCore import QObject, Signal

    class Driver(QObject):
        ticked = Signal()

    driver = Driver()
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view.frames_painted > 0)  # the window's first paint
    assert view.timer_active and not view.following
    view.follow(driver.ticked)
    assert view.following and not view.timer_active
    before = view.frame
    view.show_update(upd(view.clock.now(), 0.9))  # no frame of its own while following
    assert view.frame is before
    view.clock.advance(0.1)
    painted = view.frames_painted
    driver.ticked.emit()  # each tick is a frame, painted at once (not at the next loop pass)
    assert view.frame is not before and view.frame.t == pytest.approx(view.clock.now())
    assert view.frames_painted == painted + 1
    view.hide()  # hidden: ticks step nothing, and showing again does not start the timer
    stepped = view.frame
    view.clock.advance(0.1)
    driver.ticked.emit()
    assert view.frame is stepped
    view.show()
    qtbot.waitExposed(view)
    assert not view.timer_active
    view.follow(None)  # back to the timer; the driver's ticks no longer step the view
    assert view.timer_active and not view.following
    stepped = view.frame
    view.clock.advance(0.1)
    driver.ticked.emit()
    assert view.frame is stepped


def test_still_picture_is_not_repainted(view, qtbot):
    view.show()
    qtbot.waitExposed(view)
    drive(view, view.clock, 8.0, score=0.5)  # settled, no pacer, no reward lights
    view.advance()
    QApplication.processEvents()
    painted = view.frames_painted
    for _ in range(10):
        view.clock.advance(1 / FPS)
        view.advance()
        QApplication.processEvents()
    assert view.frames_painted == painted
    view.show_update(upd(view.clock.now(), 0.9))
    view.clock.advance(1 / FPS)
    view.advance()
    QApplication.processEvents()
    assert view.frames_painted > painted


def test_fullscreen_on_a_chosen_screen(view):
    assert view.show_on_screen(None) == 0  # one screen offscreen
    assert view.isFullScreen()
    assert view.toggle_fullscreen() is False and not view.isFullScreen()
    assert view.show_on_screen(7) == 0  # out of range falls back
    assert view.isFullScreen()
    assert view.toggle_fullscreen() is False


def test_audio_without_an_output_device_does_not_crash(view, caplog):
    with caplog.at_level(logging.WARNING):
        playing = view.set_audio_enabled(True)
    if not playing:  # the usual case offscreen / in CI
        assert not view.audio_active
        assert view.audio.status.startswith("audio unavailable")
        assert any("audio" in r.getMessage() for r in caplog.records)
    drive(view, view.clock, 1.0, score=0.7, rewarded=True)  # updates keep flowing
    assert view.set_audio_enabled(False) is False and not view.audio_active


# -- the sound itself (numpy) -----------------------------------------------------------------


def test_tone_is_quiet_continuous_and_brightens_with_the_level():
    def render(level: float, seconds: float = 2.0) -> np.ndarray:
        synth = ToneSynth(22050, tau_s=0.1)
        synth.gain = synth.target_gain = 1.0
        synth.level = level
        synth.set_target(level)
        return np.concatenate([synth.render(441) for _ in range(round(seconds * 50))])

    def centroid_hz(x: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        freqs = np.fft.rfftfreq(len(x), 1 / 22050)
        return float((freqs * spectrum).sum() / spectrum.sum())

    low, high = render(0.1), render(0.9)
    for x in (low, high):
        assert np.abs(x).max() < 0.5  # a soft sound
        assert np.abs(np.diff(x)).max() < 0.05  # no clicks between blocks
    assert np.sqrt((high**2).mean()) > 1.3 * np.sqrt((low**2).mean())
    assert centroid_hz(high) > centroid_hz(low) + 40

    synth = ToneSynth(22050, tau_s=0.2)
    synth.set_target(0.2)
    synth.set_target(math.nan)  # NaN holds the last target
    assert synth.target_level == 0.2
    changing = np.concatenate(
        [synth.render(441) for _ in range(20)]
        + [(synth.set_target(1.0, True), synth.render(441))[1] for _ in range(20)]
    )
    assert np.abs(np.diff(changing)).max() < 0.05


class FakeSink:
    """Stands in for QAudioSink: a buffer the 'device' drains when told."""

    def __init__(self, size: int) -> None:
        self.size, self.queued, self.stopped = size, 0, False

    def bufferSize(self) -> int:  # noqa: N802 - Qt's name
        return self.size

    def bytesFree(self) -> int:  # noqa: N802 - Qt's name
        return self.size - self.queued

    def stop(self) -> None:
        self.stopped = True

    def deleteLater(self) -> None:  # noqa: N802 - Qt's name
        pass


class FakeDevice:
    def __init__(self, sink: FakeSink) -> None:
        self.sink, self.chunks = sink, []

    def write(self, data: bytes) -> int:
        assert len(data) <= self.sink.bytesFree()
        self.sink.queued += len(data)
        self.chunks.append(data)
        return len(data)


@pytest.mark.parametrize(
    ("fmt", "channels", "dtype"), [("int16", 1, np.int16), ("float", 2, np.float32)]
)
def test_audio_keeps_a_short_queue_of_sound_on_the_output(qtbot, fmt, channels, dtype):
    from biotrainer.ui.audio_feedback import AudioFeedback

    audio = AudioFeedback(buffer_s=0.1)
    rate = 8000
    frame_bytes = channels * np.dtype(dtype).itemsize
    sink = FakeSink(size=rate * frame_bytes)  # 1 s of room
    device = FakeDevice(sink)
    audio.set_target(0.8, rewarded=True)
    audio.attach(sink, device, rate, fmt, channels)
    assert audio.active and audio.status == "playing"
    assert sink.queued == 800 * frame_bytes  # 0.1 s queued, not the whole buffer
    audio._pump()
    assert len(device.chunks) == 1  # full: nothing more to write
    sink.queued -= 400 * frame_bytes  # the device played 50 ms
    audio._pump()
    assert sum(map(len, device.chunks)) == 1200 * frame_bytes
    samples = np.frombuffer(b"".join(device.chunks), dtype=dtype).reshape(-1, channels)
    assert np.all(samples[:, 0] == samples[:, -1])  # same sound in every channel
    assert np.abs(samples.astype(float)).max() > 0  # not silence (it fades in)
    audio.close()
    assert sink.stopped and not audio.active
    audio.close()  # twice is fine


def test_no_breathing_number_while_paused_or_finished(view):
    """Paused, the guide rests (hidden), yet the numbers line went on saying "Breathing
    13.0/min (guide 6/min)"."""
    view.set_show_numbers(True)
    paced = dict(score=0.72, hr_bpm=64.2, breathing_bpm=13.0, pacer_bpm=6.0, phase_kind="pacing")
    drive(view, view.clock, 1.0, **paced)
    assert view.numbers_text == "Heart rate 64 · Breathing 13.0/min (guide 6/min)"
    drive(view, view.clock, 4.0, paused=True, **paced)
    assert view.frame.pacer < 0.01  # the guide is gone ...
    assert view.numbers_text == "Heart rate 64"  # ... and so is its number
    drive(view, view.clock, 1.0, finished=True, **paced)
    assert view.numbers_text == "Heart rate 64"


def test_a_new_session_starts_from_the_picture_of_a_new_view(view, qtbot):
    """The last session's open orb, warm halo and gathered lights went on into the next
    session's baseline (no score there: the level holds)."""
    view.show()
    drive(view, view.clock, 30.0, score=0.95, rewarded=True, pacer_bpm=6.0)
    drive(view, view.clock, 1.0, score=0.95, finished=True)
    old = view.frame
    assert old.level > 0.9 and old.bloom > 0.3 and old.reward > 0.3
    view.new_session()
    fresh = PatientView(clock=view.clock)
    qtbot.addWidget(fresh)
    fresh.resize(640, 400)
    for v in (view, fresh):  # (both at the same moment)
        v.show_update(upd(view.clock.now(), phase_kind="baseline"))
    for _ in range(90):  # 1.5 s of a baseline: no score
        view.clock.advance(1 / FPS)
        frames = [v.advance() for v in (view, fresh)]
        assert frames[0] == frames[1]
    assert view.instruction == fresh.instruction and view.note_text == ""
    assert centre_brightness(view) == pytest.approx(centre_brightness(fresh))
