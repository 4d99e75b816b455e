"""PPG orientation: the pulse detector decides from the pulse shape whether the signal is upside
down (raw photodiode counts, a phone camera's brightness), so a recording and its negation give
the same pulses, and the heart rate of raw counts is right."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from biotrainer.dsp.ecg import ecg_peaks
from biotrainer.dsp.hrv import hrv_time
from biotrainer.dsp.ppg import PpgPeakStream, ppg_peaks, pulse_polarity
from biotrainer.dsp.rr import clean_rr

# -- synthetic -----------------------------------------------------------------------------------


def pulses(fs: float, seconds: float, seed: int = 0, start_s: float = 0.0) -> np.ndarray:
    """A finger-like PPG, more blood = larger: a 0.12 s upstroke and a slow decay with a
    dicrotic wave, 60-85 bpm, breathing wander and noise, on a DC offset."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    x = 0.01 * rng.standard_normal(t.size) + 0.3 * np.sin(2 * np.pi * 0.25 * t)
    beat = start_s + rng.uniform(0.0, 0.3)
    while beat < seconds:
        u = t - beat
        rise = np.clip(u / 0.12, 0.0, 1.0)
        up = 0.5 - 0.5 * np.cos(np.pi * rise)
        decay = np.where(u > 0.12, np.exp(-(u - 0.12) / 0.35), 1.0)
        notch = 0.15 * np.exp(-0.5 * ((u - 0.38) / 0.05) ** 2)
        x += rng.uniform(0.8, 1.2) * np.where(u > 0, up * decay + notch, 0.0)
        beat += 60.0 / rng.uniform(60.0, 85.0)
    return 1000.0 + x


def in_chunks(stream: PpgPeakStream, x: np.ndarray, chunk: int) -> np.ndarray:
    return np.concatenate(
        [stream.push_positions(x[i : i + chunk]) for i in range(0, x.size, chunk)]
    )


@pytest.mark.parametrize("fs", [25.0, 64.0, 250.0])
def test_a_signal_and_its_negation_give_the_same_pulses(fs: float) -> None:
    x = pulses(fs, 60.0, seed=int(fs))
    as_is = ppg_peaks(x, fs, subsample=True)
    assert 55 <= as_is.size <= 90  # 60-85 bpm for a minute
    np.testing.assert_array_equal(ppg_peaks(-x, fs, subsample=True), as_is)
    up, down = PpgPeakStream(fs), PpgPeakStream(fs)
    in_chunks(up, x, 10)
    in_chunks(down, -x, 10)
    assert (up.polarity, down.polarity) == (1, -1)


def test_upside_down_pulses_are_found_on_their_upstroke() -> None:
    fs = 100.0
    x = pulses(fs, 40.0, seed=3)
    foot = ppg_peaks(x, fs, subsample=True)
    # the maximum upslope of the drawn pulse is ~60 ms after its foot; of the negated pulse
    # (the old reading of raw counts) it was the decay, ~200 ms later
    raw_counts = 2000.0 - x
    np.testing.assert_array_equal(ppg_peaks(raw_counts, fs, subsample=True), foot)


@pytest.mark.parametrize("chunk", [1, 7, 64, 333, 5000])
def test_the_orientation_does_not_depend_on_the_chunking(chunk: int) -> None:
    fs = 64.0
    x = -pulses(fs, 45.0, seed=9)
    whole = ppg_peaks(x, fs, subsample=True)
    assert whole.size > 40
    np.testing.assert_array_equal(in_chunks(PpgPeakStream(fs), x, chunk), whole)


def test_split_push_equals_pieces_across_the_decision() -> None:
    fs = 64.0
    x = -pulses(fs, 30.0, seed=4)
    ends = [*range(37, x.size, 37), x.size]
    split = PpgPeakStream(fs)._push_positions_split(x, ends)
    pieces = PpgPeakStream(fs)
    one_by_one = [pieces.push_positions(x[a:b]) for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    assert len(split) == len(one_by_one)
    for a, b in zip(split, one_by_one, strict=True):
        np.testing.assert_array_equal(a, b)


def test_pulses_are_held_back_until_the_orientation_is_known() -> None:
    fs = 50.0
    stream = PpgPeakStream(fs)
    x = -pulses(fs, 20.0, seed=5)
    got = [stream.push_positions(x[i : i + 25]) for i in range(0, x.size, 25)]
    first = next(i for i, g in enumerate(got) if g.size)
    assert first * 0.5 >= 3.5  # the shape is first judged at 4 s
    assert stream.polarity == -1
    np.testing.assert_array_equal(np.concatenate(got), ppg_peaks(-x, fs, subsample=True))


def test_a_flat_start_is_used_as_given_then_flipped() -> None:
    """12 s without a pulse (sensor off: no shape to judge), then upside-down pulses: the
    detector starts on the signal as given after 10 s and flips it once two verdicts agree; when
    the pulses later turn the other way up for good, it turns back after 8 verdicts against."""
    fs = 64.0
    off = 1000.0 + 0.01 * np.random.default_rng(0).standard_normal(int(12 * fs))
    drawn = pulses(fs, 40.0, seed=6)
    last = pulses(fs, 40.0, seed=7)
    stream = PpgPeakStream(fs)
    beats, polarity = [], []
    for part in (off, 2000.0 - drawn, last):
        beats.append(in_chunks(stream, part, 32))
        polarity.append(stream.polarity)
    assert polarity == [0, -1, 1]
    # once flipped and relearnt, the pulses are those of the drawn signal
    flipped = beats[1][beats[1] > off.size + 8 * fs] - off.size
    ref = ppg_peaks(drawn, fs, subsample=True)
    np.testing.assert_allclose(flipped, ref[ref > 8 * fs], rtol=0, atol=0.05)
    # and those of the last part once turned back (8 verdicts, 2 s of relearning)
    turned = beats[2][beats[2] > off.size + drawn.size + 20 * fs] - off.size - drawn.size
    ref = ppg_peaks(last, fs, subsample=True)
    np.testing.assert_allclose(turned, ref[ref > 20 * fs], rtol=0, atol=0.05)


def test_pulse_polarity_is_odd_and_silent_on_no_shape() -> None:
    fs = 64.0
    x = pulses(fs, 8.0, seed=8)
    assert pulse_polarity(x, fs) == 1
    assert pulse_polarity(-x, fs) == -1
    assert pulse_polarity(np.full(512, 208538.0), fs) == 0
    assert pulse_polarity(np.random.default_rng(1).standard_normal(512), fs) == 0


# -- real recordings -----------------------------------------------------------------------------


def _mean_hr_rmssd(beats_s: np.ndarray) -> tuple[float, float]:
    h = hrv_time(clean_rr(np.diff(beats_s) * 1000.0).rr_ms)
    return h.mean_hr, h.rmssd


@cache
def _meditation_ir(folder: str) -> np.ndarray:
    path = Path(folder) / "meditation_ppg_breath" / "meditation_10min_20260121_185132.csv"
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    column = lines[0].split(",").index("ir")
    ir = [float(line.split(",")[column]) for line in lines[1 : 1 + 180 * 50]]
    return np.array(ir)  # the first 3 minutes


def test_raw_reflectance_counts_give_the_heart_rate(shared_data: Path) -> None:
    """MAX3010x infrared photodiode counts (the kind of raw optical counts BrainFlow passes on):
    more blood absorbs more light, so the counts fall with each pulse."""
    raw = _meditation_ir(str(shared_data))
    fs = 50.0
    beats = ppg_peaks(raw, fs, subsample=True)
    np.testing.assert_array_equal(ppg_peaks(-raw, fs, subsample=True), beats)
    stream = PpgPeakStream(fs)
    stream.push_positions(raw[: int(10 * fs)])
    assert stream.polarity == -1
    hr, rmssd = _mean_hr_rmssd(beats / fs)
    assert 68.0 <= hr <= 80.0  # ~75 bpm (MANIFEST); read upside down it was ~84 bpm
    assert rmssd < 120.0  # read upside down: ~250 ms


def test_a_negated_finger_ppg_gives_the_ecg_beats(shared_data: Path) -> None:
    data = np.genfromtxt(
        shared_data / "ecg_ppg_rsp" / "bio_resting_5min_100hz.csv", delimiter=",", names=True
    )
    fs = 100.0
    ppg = data["PPG"].astype(np.float64)
    as_is = ppg_peaks(ppg, fs, subsample=True)
    np.testing.assert_array_equal(ppg_peaks(-ppg, fs, subsample=True), as_is)
    r = ecg_peaks(data["ECG"].astype(np.float64), fs, subsample=True) / fs
    hr_ppg, rmssd_ppg = _mean_hr_rmssd(as_is / fs)
    hr_ecg, rmssd_ecg = _mean_hr_rmssd(r)
    assert hr_ppg == pytest.approx(hr_ecg, abs=1.0)
    assert rmssd_ppg == pytest.approx(rmssd_ecg, rel=0.25)


# subjects whose camera PPG gives the Polar heart rate within 1.5 bpm when read the right way up
# (benchmarks/bench_cardiac.py); the others are too disturbed for any orientation to help
WELLTORY_USABLE = ["05", "09", "13", "15", "17", "19"]


@pytest.mark.parametrize("subject", WELLTORY_USABLE)
def test_camera_red_as_recorded_gives_the_chest_strap_rate(shared_data: Path, subject) -> None:
    """A phone camera's red brightness falls with each pulse; used as recorded (no inversion)
    it gives the heart rate of the Polar H10 worn at the same time."""
    folder = shared_data / "ppg_camera_welltory" / f"subject_{subject}"
    raw = np.genfromtxt(folder / "PPG.csv", delimiter=",", names=True)
    t = (raw["time"] - raw["time"][0]) / 1000.0
    fs = 30.0
    red = np.interp(np.arange(0.0, t[-1], 1.0 / fs), t, raw["R"])
    beats = ppg_peaks(red, fs, subsample=True)
    np.testing.assert_array_equal(ppg_peaks(-red, fs, subsample=True), beats)
    hr, _ = _mean_hr_rmssd(beats / fs)
    polar, _ = _mean_hr_rmssd(np.cumsum(np.loadtxt(folder / "RR.txt").ravel()) / 1000.0)
    assert hr == pytest.approx(polar, abs=2.0)


def test_simulated_ppg_is_drawn_the_right_way_up() -> None:
    """The simulator's PPG (more blood = larger) is used as given, and its negation gives the
    same pulses."""
    from biotrainer.acquisition.profiles import load_profile
    from biotrainer.acquisition.simulator import parse_scenario, render_scenario

    scenario = parse_scenario(
        'name = "short"\n[[segments]]\nduration_s = 40\nrelaxation = 0.6\n'
        "breathing_rate_bpm = 12.0\n"
    )
    rendered = render_scenario(scenario, load_profile("simulator-muse2").layout(), seed=5)
    group = rendered.layout.group("ppg")
    fs = rendered.layout.preset(group.preset).fs
    ir = rendered.data[group.preset][group.rows[group.names.index("ppg_ir")]]
    stream = PpgPeakStream(fs)
    beats = stream.push_positions(ir)
    assert stream.polarity == 1
    np.testing.assert_array_equal(ppg_peaks(-ir, fs, subsample=True), beats)
    # each pulse's maximum upslope is on the way up to its systolic peak
    peaks = rendered.truth.ppg_peak_s
    peaks = peaks[np.isfinite(peaks) & (peaks > beats[0] / fs) & (peaks < ir.size / fs - 0.5)]
    k = np.searchsorted(beats / fs, peaks) - 1
    assert np.all(k >= 0)
    lead = peaks - beats[k] / fs
    assert np.all((lead > 0.0) & (lead < 0.25))
    assert np.unique(k).size == k.size >= beats.size - 2  # one pulse each, none extra
