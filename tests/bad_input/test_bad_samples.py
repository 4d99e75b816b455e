"""NaN / Inf / flat / railed / huge samples and absurd sampling rates: no crash, flagged, kept.

Through the dsp functions (whole-window and streaming) and through the whole engine with a
recorder: a bad stretch in one session must be flagged by the quality check (no reward while it
lasts), must not poison the streaming filters (feedback comes back once the data is clean), and
must be kept in the recording as it was received.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from biotrainer import dsp
from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout, SourceState
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.session import load_session
from biotrainer.session.recorder import Recorder

FS = 256.0
RNG = np.random.default_rng(7)


def eeg(seconds: float, n_channels: int = 4, fs: float = FS) -> np.ndarray:
    t = np.arange(int(seconds * fs)) / fs
    return np.vstack(
        [10 * np.sin(2 * np.pi * 10 * t + c) + RNG.normal(0, 3, t.size) for c in range(n_channels)]
    )


def corrupt(x: np.ndarray, kind: str, start: int, stop: int) -> np.ndarray:
    y = x.copy()
    seg = y[0, start:stop]
    if kind == "nan":
        seg[:] = np.nan
    elif kind == "inf":
        seg[:] = np.inf
    elif kind == "-inf":
        seg[::7] = -np.inf
    elif kind == "flat":
        seg[:] = 0.0
    elif kind == "railed":
        seg[:] = np.clip(seg * 1e5, -187_500.0, 187_500.0)
    elif kind == "huge":
        seg[:] = seg * 1e6  # volts instead of microvolts
    elif kind == "absurd":
        seg[:] = seg * 1e12  # a broken conversion
    elif kind == "max-float":
        seg[:] = np.where(np.arange(seg.shape[-1]) % 2, 1e308, -1e308)  # overflows when squared
    else:
        raise ValueError(kind)
    return y


KINDS = ("nan", "inf", "-inf", "flat", "railed", "huge", "absurd", "max-float")

#: What the quality check must say about channel 0 for each kind of defect.
FLAG = {
    "nan": "nonfinite",
    "inf": "nonfinite",
    "-inf": "nonfinite",
    "flat": "flat",
    "railed": "railed",
    "huge": None,  # any reason, as long as the channel is not usable
    "absurd": None,
    "max-float": None,
}


# -- dsp, whole windows ------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_quality_flags_the_bad_channel_only(kind: str) -> None:
    x = corrupt(eeg(1.0), kind, 0, int(FS))
    q = dsp.signal_quality(x, FS, adc_limits=(-187_500.0, 187_500.0))
    assert not q.usable[0]
    assert q.usable[1:].all()
    if FLAG[kind] is not None:
        assert getattr(q, FLAG[kind])[0], q.reasons[0]
    assert q.reasons[0] != "ok" and q.reasons[1] == "ok"


@pytest.mark.parametrize("kind", KINDS)
def test_eeg_metrics_do_not_crash_and_keep_good_channels(kind: str) -> None:
    clean = eeg(4.0)
    x = corrupt(clean, kind, 256, 512)
    bp, ref = dsp.band_powers(x, FS), dsp.band_powers(clean, FS)
    # the good channels are unaffected by the bad one
    np.testing.assert_allclose(bp.alpha_uv2[1:], ref.alpha_uv2[1:])
    usable = dsp.signal_quality(x[:, 256:512], FS).usable
    r = dsp.relaxation_index(x, FS, usable=usable)
    assert math.isfinite(r)


@pytest.mark.parametrize("kind", KINDS)
def test_peak_detectors_survive_bad_stretches(kind: str) -> None:
    t = np.arange(int(20 * 250)) / 250
    ecg = np.zeros_like(t)
    ecg[(np.arange(0, t.size, 200))] = 1000.0  # 75 bpm spikes
    ecg = np.convolve(ecg, np.hanning(9), mode="same") + RNG.normal(0, 5, t.size)
    bad = corrupt(ecg[None, :], kind, 2500, 3000)[0]
    peaks = dsp.ecg_peaks(bad, 250.0)
    assert np.all(np.diff(peaks) > 0)
    clean_part = peaks[(peaks < 2400) | (peaks > 3500)]
    assert clean_part.size >= 14  # the beats outside the bad 2 s (+ recovery) are found
    s = dsp.EcgPeakStream(250.0)
    for i in range(0, bad.size, 25):
        s.push(bad[i : i + 25])


# -- recovery of the beat detectors after bursts of any size -------------------------------

BURST_START_S = 20.0
#: (amplitude, seconds) of the garbage bursts, in multiples of the signal's own amplitude
#: scale (uV for the ECG): a loose electrode, a railed amplifier, a broken conversion.
BURSTS = [(a, d) for a in (1e3, 1e6, 1e13) for d in (0.2, 2.0, 10.0)]


def _spiky_ecg(
    fs: float, seconds: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A 1 mV QRS-like spike train (uV) with a slowly varying rate, and its beat samples."""
    rr = 60.0 / (72.0 + 6.0 * np.sin(np.arange(int(seconds * 1.5)) / 4.0))
    beats = np.cumsum(rr)
    beats = (beats[beats < seconds - 0.5] * fs).astype(np.int64)
    x = np.zeros(int(seconds * fs))
    x[beats] = 1000.0
    x = np.convolve(x, np.hanning(int(0.04 * fs) | 1), mode="same")
    return x + rng.normal(0, 10, x.size) + 300.0, beats  # 300 uV electrode offset


def _pulses(fs: float, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """A PPG-like wave (systolic upstroke then a slow decay), amplitude ~1, 66 pulses/min."""
    period = 60.0 / 66.0
    t = np.arange(int(seconds * fs)) / fs
    phase = (t % period) / period
    x = np.where(phase < 0.2, np.sin(np.pi / 2 * phase / 0.2), np.exp(-(phase - 0.2) * 3.0))
    onsets = np.arange(0.0, seconds - 0.5, period)
    return x, (onsets * fs).astype(np.int64)


def _with_burst(x: np.ndarray, fs: float, amp: float, dur: float, kind: str, rng) -> np.ndarray:
    y = x.copy()
    seg = slice(int(BURST_START_S * fs), int((BURST_START_S + dur) * fs))
    if kind == "noise":
        y[seg] = amp * rng.standard_normal(y[seg].size)
    else:  # a railed amplifier: the input stuck at a huge constant value
        y[seg] = amp
    return y


def _found(det: np.ndarray, beats: np.ndarray, tol: float) -> np.ndarray:
    k = np.clip(np.searchsorted(det, beats), 1, max(det.size - 1, 1))
    if det.size == 0:
        return np.zeros(beats.size, dtype=bool)
    near = np.minimum(np.abs(det[k - 1] - beats), np.abs(det[np.minimum(k, det.size - 1)] - beats))
    return near <= tol


def _check_recovery(det, stream_det, beats, fs, dur, recover_s, tol_s, atol=1e-6) -> None:
    np.testing.assert_allclose(stream_det, det, rtol=0, atol=atol)  # streaming == offline
    end = (BURST_START_S + dur) * fs
    found = _found(det.astype(np.float64), beats, tol_s * fs)
    before = (beats > 2.5 * fs) & (beats < BURST_START_S * fs - 0.5 * fs)
    after = beats > end + recover_s * fs
    assert found[before].all(), "beats before the burst were lost"
    assert found[after].mean() >= 0.97, f"after the burst only {found[after].mean():.0%} found"
    # and no flood of false beats once recovered
    late = det[det > end + recover_s * fs]
    assert late.size <= after.sum() + 2


@pytest.mark.parametrize("kind", ["noise", "railed"])
@pytest.mark.parametrize(("amp", "dur"), BURSTS, ids=[f"{a:.0e}x{d}s" for a, d in BURSTS])
def test_ecg_detector_recovers_within_seconds_after_any_burst(amp, dur, kind) -> None:
    fs = 250.0
    rng = np.random.default_rng(11)
    x, beats = _spiky_ecg(fs, BURST_START_S + dur + 25.0, rng)
    y = _with_burst(x, fs, amp, dur, kind, rng)
    stream = dsp.EcgPeakStream(fs)
    n = int(0.1 * fs)
    streamed = np.concatenate([stream.push_positions(y[i : i + n]) for i in range(0, y.size, n)])
    det = dsp.ecg_peaks(y, fs, subsample=True)
    _check_recovery(det, streamed, beats, fs, dur, recover_s=5.0, tol_s=0.15)


@pytest.mark.parametrize(
    ("amp", "dur", "kind"),
    [(a, d, k) for a, d in BURSTS for k in ("noise", "railed")],
    ids=[f"{a:.0e}x{d}s-{k}" for a, d in BURSTS for k in ("noise", "railed")],
)
def test_ppg_detector_recovers_after_any_burst(amp, dur, kind) -> None:
    """The 0.5 Hz high-pass rings down at ~1 decade per second of excess amplitude, so the
    PPG detector's recovery time grows with the log of the burst's size."""
    fs = 64.0
    rng = np.random.default_rng(12)
    recover_s = 5.0 + 1.5 * np.log10(amp)
    x, onsets = _pulses(fs, BURST_START_S + dur + recover_s + 20.0)
    y = _with_burst(x, fs, amp, dur, kind, rng)
    stream = dsp.PpgPeakStream(fs)
    n = int(0.1 * fs)
    streamed = np.concatenate([stream.push_positions(y[i : i + n]) for i in range(0, y.size, n)])
    det = dsp.ppg_peaks(y, fs, subsample=True)
    # the max-upslope fiducial sits a fixed time after the synthetic onset: compare to a clean
    # run (streamed positions may differ by a few 1/64-sample spline steps: the synthetic
    # upstroke has a broad slope maximum, so float rounding can move the argmax)
    clean = dsp.ppg_peaks(x, fs, subsample=True)
    assert clean.size >= onsets.size - 4
    _check_recovery(det, streamed, clean, fs, dur, recover_s=recover_s, tol_s=0.15, atol=0.1)


@pytest.mark.parametrize(
    "rr",
    [
        [800.0, math.nan, 810.0],
        [800.0, math.inf, 810.0],
        [800.0, -5.0, 810.0],
        [800.0, 0.0, 810.0],
    ],
    ids=["nan", "inf", "negative", "zero"],
)
def test_hrv_on_bad_intervals(rr) -> None:
    x = np.array(rr * 60)
    assert math.isfinite(dsp.hrv_time(x).rmssd)
    assert dsp.clean_rr(x).rr_ms.size >= 100
    dsp.hrv_frequency(x)
    dsp.coherence(x)


def test_hrv_frequency_on_a_huge_interval() -> None:
    """An absurd interval is dropped, not resampled onto a 4 Hz grid (terabytes)."""
    with_bad = dsp.hrv_frequency(np.array([800.0, 1e12, 810.0] * 60))
    without = dsp.hrv_frequency(np.array([800.0, 810.0] * 60))
    assert with_bad.lf == pytest.approx(without.lf, rel=0.5, abs=1.0)


# -- dsp: sampling rates -------------------------------------------------------------------

ENTRY_POINTS = {
    "band_powers": lambda fs: dsp.band_powers(eeg(4.0), fs),
    "relaxation_index": lambda fs: dsp.relaxation_index(eeg(4.0), fs),
    "signal_quality": lambda fs: dsp.signal_quality(eeg(1.0), fs),
    "ecg_peaks": lambda fs: dsp.ecg_peaks(eeg(4.0)[0], fs),
    "ppg_peaks": lambda fs: dsp.ppg_peaks(eeg(4.0)[0], fs),
    "butter_sos": lambda fs: dsp.butter_sos(fs, 1.0, 40.0),
    "AlphaStream": lambda fs: dsp.AlphaStream(fs, 2),
    "StreamingQuality": lambda fs: dsp.StreamingQuality(fs, 2),
    "EcgPeakStream": lambda fs: dsp.EcgPeakStream(fs),
    "PpgPeakStream": lambda fs: dsp.PpgPeakStream(fs),
    "rr_from_peaks": lambda fs: dsp.rr_from_peaks(np.array([1, 300, 600]), fs),
}


@pytest.mark.parametrize("fs", [0, -256.0, math.nan, math.inf, -math.inf], ids=str)
@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_impossible_sampling_rates_are_a_clear_value_error(name: str, fs: float) -> None:
    with pytest.raises(ValueError, match=r"sampling rate must be a positive number of Hz, got"):
        ENTRY_POINTS[name](fs)


@pytest.mark.parametrize("name", ["ecg_peaks", "ppg_peaks", "EcgPeakStream", "rr_from_peaks"])
def test_absurd_rates_are_refused_by_the_peak_detectors(name: str) -> None:
    with pytest.raises(ValueError, match=r"sampling rate 1e\+09 Hz is outside the supported range"):
        ENTRY_POINTS[name](1e9)


@pytest.mark.parametrize("name", ["signal_quality", "AlphaStream"])
def test_absurdly_low_eeg_rates_are_a_clear_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="sampling rate"):
        ENTRY_POINTS[name](0.5)


# -- the whole engine with a recorder ------------------------------------------------------

LAYOUT = SourceLayout(
    device="fake-muse",
    board_id=38,
    presets=(PresetLayout("default", FS, 8, 6, 7),),
    groups=(ChannelGroup("eeg", "default", (1, 2, 3, 4), ("TP9", "AF7", "AF8", "TP10"), "uV"),),
)


class ArraySource:
    """Serves a prepared (rows x n) array in clock time (timestamps = clock seconds)."""

    def __init__(self, data: np.ndarray, clock: SimulatedClock) -> None:
        self.data, self.clock, self.pos = data, clock, 0
        self.state = SourceState.IDLE
        self.layout = LAYOUT

    def prepare(self) -> None:
        self.state = SourceState.PREPARED

    def start(self) -> None:
        self.state = SourceState.STREAMING

    def poll(self) -> Chunk:
        ts = self.data[6]
        k = int(np.searchsorted(ts, self.clock.now(), side="right"))
        raw = {"default": self.data[:, self.pos : max(k, self.pos)]}
        self.pos = max(k, self.pos)
        if self.pos >= ts.size:
            self.state = SourceState.ENDED
        return Chunk(raw=raw, signals=LAYOUT.split(raw), received_at=self.clock.now())

    def stop(self) -> None:
        self.state = SourceState.STOPPED

    def release(self) -> None:
        self.state = SourceState.RELEASED


BAD_FROM_S, BAD_TO_S, TOTAL_S = 70.0, 76.0, 100.0


@pytest.mark.parametrize("kind", KINDS)
def test_engine_flags_a_bad_stretch_and_recovers(kind: str, tmp_path) -> None:
    x = eeg(TOTAL_S)
    n = x.shape[1]
    x = corrupt(x, kind, int(BAD_FROM_S * FS), int(BAD_TO_S * FS))
    # every channel goes bad (a loose reference): the feedback itself must hold still
    for c in range(1, 4):
        x[c] = corrupt(x[c : c + 1], kind, int(BAD_FROM_S * FS), int(BAD_TO_S * FS))[0]
    data = np.zeros((8, n))
    data[1:5] = x
    data[0] = np.arange(n) % 256
    data[6] = (np.arange(n) + 1) / FS
    clock = SimulatedClock()
    rec = Recorder.create(LAYOUT, out=tmp_path / "s", clock=clock, fsync=False)
    engine = Engine(
        ArraySource(data, clock), load_protocol("alpha-uptraining"), clock=clock, recorder=rec
    )
    updates = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy overflow warnings were printed, dozens of lines
        while not engine.finished:
            clock.advance(0.05)
            updates.extend(engine.tick())
    engine.close()

    during = [u for u in updates if BAD_FROM_S + 1.0 <= u.sample_time <= BAD_TO_S]
    before = [u for u in updates if 50.0 <= u.sample_time < BAD_FROM_S]
    after = [u for u in updates if u.sample_time >= BAD_TO_S + 8.0]
    assert during and before and after
    # flagged while it lasts, never rewarded, the score never above what it was clean
    assert not any(u.quality_ok for u in during), {u.quality_reason for u in during}
    assert not any(u.rewarded for u in during)
    # (the 1-s quality window lags: the last update judged clean may fall inside the stretch)
    last_clean = next(
        u.feedback_score
        for u in reversed(updates)
        if u.quality_ok and u.sample_time < during[0].sample_time
    )
    scores = np.array([u.feedback_score for u in during])
    assert np.all(np.isnan(scores) | (scores <= last_clean + 1e-9))
    # the streaming filters were not poisoned: clean, finite feedback comes back
    assert all(u.quality_ok for u in after[-20:]), {u.quality_reason for u in after}
    assert all(math.isfinite(u.alpha) and math.isfinite(u.feedback_value) for u in after[-20:])
    # the recording keeps exactly what was received, bad values included
    got = load_session(tmp_path / "s").raw["default"]
    assert got.shape == data.shape
    with np.errstate(over="ignore"):  # (rounding 1e308 to 6 decimals overflows: kept as is)
        expected = np.where(np.abs(data[1:5]) < 1e15, np.round(data[1:5], 6), data[1:5])
    np.testing.assert_allclose(got[1:5], expected, rtol=1e-6, atol=1e-6)
