"""PPG orientation when the stream starts with a jolt: the sensor put on a few seconds after the
stream started (raw counts step from the ambient reading to the skin's, hundreds of times the
pulse), or missing samples; two agreeing verdicts decide, and a decision that the pulses keep
contradicting is corrected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_ppg_polarity import _meditation_ir, in_chunks, pulses

from biotrainer.dsp.ppg import PpgPeakStream, ppg_peaks, pulse_polarity


def raw_counts(fs: float, seconds: float, seed: int) -> np.ndarray:
    """Reflectance photodiode counts: a high level that falls by ~300 counts with each pulse."""
    return 200000.0 - 300.0 * (pulses(fs, seconds, seed=seed) - 1000.0)


def ambient(fs: float, seconds: float, seed: int) -> np.ndarray:
    """The reading before the finger covers the sensor: low, noisy, no pulse."""
    return 3000.0 + 20.0 * np.random.default_rng(seed).standard_normal(int(seconds * fs))


def streamed(x: np.ndarray, fs: float) -> tuple[np.ndarray, int]:
    stream = PpgPeakStream(fs)
    beats = in_chunks(stream, x, 5)
    return beats, stream.polarity


@pytest.mark.parametrize("on_s", [0.5, 1.0, 3.0, 6.0])
def test_a_sensor_put_on_after_the_start_gives_the_pulses_the_right_way_up(on_s: float) -> None:
    fs = 50.0
    raw = raw_counts(fs, 40.0, seed=1)
    lead = ambient(fs, on_s, seed=1)
    beats, polarity = streamed(np.concatenate([lead, raw]), fs)
    assert polarity == -1  # (the step of ~200000 counts read as an upstroke: +1)
    # once the band-pass has settled after the step, the pulses are those of the record alone
    later = beats[beats > lead.size + 10 * fs] - lead.size
    alone = ppg_peaks(raw, fs, subsample=True)
    np.testing.assert_allclose(later, alone[alone > 10 * fs], rtol=0, atol=0.05)


def test_the_reviewers_sensor_on_case_reads_the_resting_rate(shared_data: Path) -> None:
    """MAX3010x counts with the finger put on the sensor 1 s after the stream started: the heart
    rate read 88.8 beats/min instead of 71 (the step decided the orientation)."""
    fs = 50.0
    ir = _meditation_ir(str(shared_data))[: int(60 * fs)]
    lead = ambient(fs, 1.0, seed=0)
    beats, polarity = streamed(np.concatenate([lead, ir]), fs)
    assert polarity == -1
    after = beats[beats > lead.size + 4 * fs] / fs
    alone = ppg_peaks(ir, fs, subsample=True) / fs
    hr, hr_alone = 60.0 / np.median(np.diff(after)), 60.0 / np.median(np.diff(alone))
    assert hr == pytest.approx(hr_alone, abs=1.0)  # ~71 bpm


@pytest.mark.parametrize("n_nan", [1, 25, 100])
def test_missing_samples_at_the_start_are_held_from_the_first_sample(n_nan: int) -> None:
    """The NaN hold started from 0: a step of 200000 counts at the first real sample."""
    fs = 50.0
    raw = raw_counts(fs, 40.0, seed=2)
    beats, polarity = streamed(np.concatenate([np.full(n_nan, np.nan), raw]), fs)
    assert polarity == -1
    np.testing.assert_allclose(beats - n_nan, ppg_peaks(raw, fs, subsample=True), atol=1e-6)


@pytest.mark.parametrize("lead_s", [8.0, 12.0, 20.0])
def test_a_long_missing_start_then_pulses_are_the_pulses_without_it(lead_s: float) -> None:
    """Seconds without a sample, then raw counts (upside down): the stream starts at the first
    sample, so its pulses are those of the counts alone, from the first one. The missing start
    was held from 0 and counted towards the orientation's 10-s wait: after 20 s of it the held
    samples were released as given, and the first pulses were read upside down."""
    fs = 50.0
    raw = raw_counts(fs, 40.0, seed=3)
    lead = int(lead_s * fs)
    beats, polarity = streamed(np.concatenate([np.full(lead, np.nan), raw]), fs)
    assert polarity == -1
    alone = ppg_peaks(raw, fs, subsample=True)
    np.testing.assert_allclose(beats - lead, alone, rtol=0, atol=1e-9)


def test_pulse_polarity_judges_only_after_a_jolt() -> None:
    fs = 50.0
    raw = raw_counts(fs, 8.0, seed=4)
    assert pulse_polarity(raw, fs) == -1
    early = np.concatenate([ambient(fs, 1.5, seed=4), raw[int(1.5 * fs) :]])
    assert pulse_polarity(early, fs) == -1  # 6.5 s of pulses after the step
    assert pulse_polarity(-early, fs) == 1
    late = np.concatenate([ambient(fs, 5.0, seed=4), raw[int(5.0 * fs) :]])
    assert pulse_polarity(late, fs) == 0  # 3 s after the step: not judged


def test_two_agreeing_verdicts_decide_the_orientation() -> None:
    fs = 50.0
    x = raw_counts(fs, 10.0, seed=5)
    stream = PpgPeakStream(fs)
    assert stream.push_positions(x[: int(4 * fs)]).size == 0
    assert stream.polarity == 0  # the first verdict (at 4 s) alone does not decide
    stream.push_positions(x[int(4 * fs) : int(5 * fs)])
    assert stream.polarity == -1


def test_a_decision_the_pulses_keep_contradicting_is_corrected() -> None:
    """6 s drawn the right way up, then the same kind of pulses upside down for good: the early
    decision (+1) is corrected after 8 verdicts against it, and the pulses then are those of the
    upside-down part read the right way up."""
    fs = 64.0
    first = pulses(fs, 6.0, seed=6)
    rest = 2000.0 - pulses(fs, 50.0, seed=7)
    stream = PpgPeakStream(fs)
    in_chunks(stream, first, 32)
    assert stream.polarity == 1
    beats = in_chunks(stream, rest, 32) - first.size
    assert stream.polarity == -1
    alone = ppg_peaks(rest, fs, subsample=True)
    late = beats[beats > 30 * fs]
    np.testing.assert_allclose(late, alone[alone > 30 * fs], rtol=0, atol=0.05)


def test_a_few_seconds_the_other_way_up_do_not_turn_the_decision() -> None:
    fs = 64.0
    parts = (pulses(fs, 30.0, seed=8), 2000.0 - pulses(fs, 5.0, seed=9), pulses(fs, 30.0, seed=10))
    stream = PpgPeakStream(fs)
    seen = []
    for part in parts:
        for i in range(0, part.size, 32):
            stream.push_positions(part[i : i + 32])
            seen.append(stream.polarity)
    assert set(seen[int(6 * fs / 32) :]) == {1}
