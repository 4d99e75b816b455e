"""signal_quality, the feedback gate and streaming quality.

Synthetic signals with known defects, then the consumer-headset recordings (skipped when absent).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from biotrainer.dsp.alpha_stream import AlphaStream
from biotrainer.dsp.eeg import relaxation_index
from biotrainer.dsp.quality import (
    FeedbackGate,
    StreamingQuality,
    feedback_blocked,
    gate_feedback,
    signal_quality,
)

FS = 250.0


def eeg(seconds: float = 1.0, n_ch: int = 1, seed: int = 0, alpha_uv: float = 10.0) -> np.ndarray:
    """Plausible clean EEG in µV: 1/f noise (~8 µV RMS) plus a 10 Hz rhythm."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    f = np.fft.rfftfreq(n, 1 / FS)
    amp = np.zeros_like(f)
    amp[1:] = 1 / np.sqrt(f[1:])
    out = []
    for _ in range(n_ch):
        x = np.fft.irfft(amp * np.exp(2j * np.pi * rng.random(f.size)), n)
        t = np.arange(n) / FS
        out.append(x / x.std() * 8.0 + alpha_uv * np.sin(2 * np.pi * 10 * t + rng.random() * 6))
    return np.array(out)


def emg(shape: tuple[int, int], rms_uv: float, seed: int = 1) -> np.ndarray:
    """Broadband 20–100 Hz muscle activity (a jaw clench)."""
    sos = signal.butter(4, [20, 100], btype="bandpass", fs=FS, output="sos")
    e = signal.sosfilt(sos, np.random.default_rng(seed).normal(0, 1, shape), axis=-1)
    return e / e.std() * rms_uv


def test_clean_eeg_is_usable() -> None:
    q = signal_quality(eeg(1.0, 4) + 3000.0, FS, "eeg")  # a DC offset is fine
    assert q.usable.all() and q.reason == "ok"
    assert not (q.flat | q.railed | q.emg | q.blink | q.nonfinite | q.line_noise).any()
    assert not feedback_blocked(q)


def test_each_defect_is_flagged_on_its_channel() -> None:
    x = eeg(1.0, 7)
    t = np.arange(x.shape[1]) / FS
    x[0] = 12.0  # flat
    x[1] = np.clip(x[1] * 5, -40, 40)  # clipped amplifier
    x[2, 50] = np.nan
    x[3] += emg((x.shape[1],), 30.0)
    x[4] += 250.0 * np.exp(-(((t - 0.5) / 0.1) ** 2))  # 250 µV blink
    x[5] += 40.0 * np.sin(2 * np.pi * 50 * t)
    x[6] += 40.0 * np.sin(2 * np.pi * 60 * t)
    q = signal_quality(x, FS, "eeg")
    assert q.flat.tolist() == [True, False, False, False, False, False, False]
    assert q.railed[1] and not q.railed[[3, 4, 5, 6]].any()
    assert q.nonfinite.tolist() == [False, False, True, False, False, False, False]
    assert q.emg[3] and not q.emg[[1, 4, 5, 6]].any()
    assert q.blink[4] and not q.blink[[1, 3, 5, 6]].any()
    assert q.line_noise_hz[5] == 50.0 and q.line_noise_hz[6] == 60.0 and q.line_noise[5]
    assert np.isnan(q.line_noise_hz[4])
    # line noise alone keeps a channel usable; the other defects do not
    assert q.usable.tolist() == [False, False, False, False, False, True, True]
    assert "flat" in q.reason and "EMG" in q.reason and "NaN" in q.reason


def test_adc_limits_flag_samples_near_the_rails() -> None:
    x = eeg(1.0) + 187000.0  # Cyton input range is about ±187500 µV
    assert not signal_quality(x, FS).railed[0]
    assert signal_quality(x, FS, adc_limits=(-187500.0, 187500.0)).railed[0]


def test_quantised_smooth_signal_is_not_railed() -> None:
    x = np.round(eeg(1.0, 4, seed=3, alpha_uv=20.0) / 1.64) * 1.64  # Muse-like 10-bit steps
    assert not signal_quality(x, FS).railed.any()


MUSE_STEP_UV = 1682.815 / 1023  # Muse 2: 10-bit samples


def test_quiet_coarsely_quantised_eeg_is_not_railed() -> None:
    """A quiet channel spans only a dozen quantisation steps: its lowest value repeating is
    not a pile-up at a rail (2-3 µV RMS on a Muse gave 3-7 % false "railed" before)."""
    railed = 0
    for seed in range(60):
        x = eeg(1.0, 4, seed=seed, alpha_uv=8.0)
        x = x / x.std(axis=1, keepdims=True) * (2.0 + seed % 2)
        railed += signal_quality(np.round(x / MUSE_STEP_UV) * MUSE_STEP_UV, FS).railed.sum()
    assert railed == 0


@pytest.mark.parametrize("rms_uv", [20.0, 200.0])
def test_clipping_is_still_found_at_coarse_steps(rms_uv: float) -> None:
    found = 0
    for seed in range(20):
        x = eeg(1.0, 1, seed=seed, alpha_uv=8.0)
        x = x / x.std() * rms_uv
        x = np.minimum(x, np.quantile(x, 0.85))  # the top 15 % sit on the rail
        found += signal_quality(np.round(x / MUSE_STEP_UV) * MUSE_STEP_UV, FS).railed[0]
    assert found >= 18


def test_quiet_muse_recording_has_no_railed_channel(shared_data: Path) -> None:
    x = np.loadtxt(
        shared_data / "eeg_headsets" / "musedata_daydreaming.csv",
        delimiter=",", skiprows=1, usecols=(1, 2, 3, 4),
    ).T  # fmt: skip
    fs = 220.0
    windows = [x[:, i * 220 : (i + 1) * 220] for i in range(x.shape[1] // 220)]
    assert len(windows) > 100
    assert not any(signal_quality(w, fs).railed.any() for w in windows)


def test_short_window_invalid_fs_and_kind() -> None:
    q = signal_quality(eeg(1.0)[:, :50], FS)
    assert not q.usable[0] and q.reason == "ch 0: window too short"
    with pytest.raises(ValueError, match="sampling rate"):
        signal_quality(eeg(), 0.0)
    with pytest.raises(ValueError, match="sampling rate"):
        signal_quality(eeg(), float("nan"))
    with pytest.raises(ValueError, match="kind"):
        signal_quality(eeg(), FS, "emg")


def test_ecg_and_ppg_kinds_skip_eeg_only_checks() -> None:
    t = np.arange(int(2 * FS)) / FS
    ppg = 1000 + 50 * np.sin(2 * np.pi * 1.2 * t) ** 21  # big slow pulses, arbitrary units
    q = signal_quality(ppg, FS, "ppg")
    assert q.usable[0] and not q.blink[0] and not q.emg[0]
    assert signal_quality(np.full(500, 3.0), FS, "ecg").flat[0]


def test_gate_never_lets_an_artifact_raise_the_feedback() -> None:
    clean = signal_quality(eeg(1.0, 4), FS)
    x = eeg(1.0, 4)
    x += emg(x.shape, 40.0)
    clench = signal_quality(x, FS)
    assert feedback_blocked(clench)
    assert gate_feedback(0.9, clench, last_clean=0.4) == 0.4
    assert gate_feedback(0.2, clench, last_clean=0.4) == 0.2
    assert np.isnan(gate_feedback(0.9, clench, last_clean=float("nan")))
    assert gate_feedback(0.9, clean, last_clean=0.4) == 0.9
    # one blinking channel of four only leaves the index, it does not block feedback
    y = eeg(1.0, 4)
    y[0] += 300.0 * np.exp(-(((np.arange(y.shape[1]) / FS - 0.5) / 0.1) ** 2))
    one = signal_quality(y, FS)
    assert one.blink[0] and not feedback_blocked(one)


def test_emg_bursts_do_not_raise_gated_feedback() -> None:
    """Jaw clench bursts on top of EEG: flagged, and neither feedback path rises."""
    n_ch, seconds = 4, 12.0
    x = eeg(seconds, n_ch, seed=7, alpha_uv=6.0)
    burst = np.zeros(x.shape[1], dtype=bool)
    for start in (3.0, 7.5):
        burst[int(start * FS) : int((start + 2.0) * FS)] = True
    dirty = x + emg(x.shape, 50.0, seed=2) * burst
    settled = np.zeros_like(burst)
    for start in (3.75, 8.25):
        settled[int(start * FS) : int((start + 1.25) * FS)] = True

    # relaxation_index on 4 s windows, gated by the quality of the window
    gate = FeedbackGate()
    for k in range(0, x.shape[1] - 1000 + 1, 125):
        w_clean, w_dirty = x[:, k : k + 1000], dirty[:, k : k + 1000]
        q = signal_quality(w_dirty[:, -250:], FS)
        ri_clean = relaxation_index(w_clean, FS)
        gated = gate.push(relaxation_index(w_dirty, FS, usable=q.usable), q)
        if burst[k + 750 : k + 1000].all():
            assert q.emg.all()
        if np.isfinite(gated):
            assert gated <= ri_clean + 1e-9

    # AlphaStream with StreamingQuality and the gate, 50 ms chunks
    streams = [AlphaStream(FS, n_ch) for _ in range(2)]
    quality = StreamingQuality(FS, n_ch, "eeg")
    gate.reset()
    gated_vals, clean_vals, flagged = [], [], []
    for k in range(0, x.shape[1], 12):
        v_clean = streams[0].push(x[:, k : k + 12]).latest
        v_dirty = streams[1].push(dirty[:, k : k + 12]).latest
        q = quality.push(dirty[:, k : k + 12]) or quality.latest
        if q is None:
            continue
        gated_vals.append(gate.push(v_dirty, q))
        clean_vals.append(v_clean)
        flagged.append((bool(settled[k]), feedback_blocked(q)))
    g, c = np.array(gated_vals), np.array(clean_vals)
    ok = np.isfinite(g)
    # EMG raises the flanking-band reference at once, so even before the gate reacts it cannot
    # lift the ratio
    assert np.all(g[ok] <= c[ok] + 0.02)
    # 0.75 s into a burst (quality window 1 s, re-evaluated every 0.25 s) the gate is closed
    assert all(blocked for in_burst, blocked in flagged if in_burst)


def test_streaming_quality_matches_the_window_function() -> None:
    x = eeg(3.0, 2, seed=4)
    sq = StreamingQuality(FS, 2, "eeg", window_s=1.0, every_s=0.2)
    last = None
    for k in range(0, x.shape[1], 10):
        last = sq.push(x[:, k : k + 10]) or last
    assert last is not None
    ref = signal_quality(x[:, -250:], FS)
    np.testing.assert_allclose(sq.latest.emg_rms_uv, ref.emg_rms_uv)
    np.testing.assert_array_equal(sq.latest.usable, ref.usable)
    with pytest.raises(ValueError):
        sq.push(np.zeros((3, 10)))


# ---------------------------------------------------------------- real recordings


def _openbci(path: Path) -> tuple[np.ndarray, float]:
    with open(path) as fh:
        lines = [ln for ln in fh if not ln.startswith("%")]
    header = [h.strip() for h in lines[0].split(",")]
    cols = [i for i, h in enumerate(header) if h.startswith("EXG Channel")]
    return np.loadtxt(lines[1:], delimiter=",", usecols=cols).T, 250.0


def _muse(path: Path) -> tuple[np.ndarray, float]:
    data = np.loadtxt(path, delimiter=",", skiprows=1, usecols=(1, 2, 3, 4))
    return data.T, 220.0  # Muse 2015 raw EEG rate; the file has 1 s timestamps only


def _blocked_per_second(x: np.ndarray, fs: float) -> np.ndarray:
    n = int(fs)
    return np.array(
        [
            feedback_blocked(signal_quality(x[:, i : i + n], fs))
            for i in range(0, x.shape[1] - n + 1, n)
        ]
    )


def test_openbci_jaw_clench_is_flagged(shared_data: Path) -> None:
    x, fs = _openbci(shared_data / "eeg_headsets" / "OpenBCI_GUI-v6-blinks-jawClench-alpha.txt")
    emg_any = np.array(
        [
            signal_quality(x[:, i : i + 250], fs).emg.sum() >= 4
            for i in range(0, x.shape[1] - 249, 250)
        ]
    )
    assert emg_any[:20].sum() >= 2  # clenches in the first 20 s, on most channels
    assert emg_any[22:74].mean() <= 0.05  # eyes closed, quiet
    blocked = _blocked_per_second(x, fs)
    assert blocked[:20].any() and blocked[22:74].mean() <= 0.05


@pytest.mark.parametrize("name", ["musedata_meditation.csv", "musedata_daydreaming.csv"])
def test_muse_jaw_clench_is_flagged(shared_data: Path, name: str) -> None:
    x, fs = _muse(shared_data / "eeg_headsets" / name)
    q = [signal_quality(x[:, i : i + 220], fs) for i in range(0, x.shape[1] - 219, 220)]
    emg = np.array([qi.emg.any() for qi in q])
    assert emg[:6].any() and emg[-6:].any()  # clench in the first and last 5 s
    assert emg[10:-10].mean() <= 0.05
    blocked = np.array([feedback_blocked(qi) for qi in q])
    assert blocked[10:-10].mean() <= 0.1


@pytest.mark.parametrize(
    ("fs", "piece_s"), [(250.0, 0.1), (256.0, 0.1), (500.0, 0.05), (128.0, 0.1), (1000.0, 0.1)]
)
def test_streaming_quality_checks_four_times_a_second_on_short_pieces(fs, piece_s):
    """The engine feeds 0.1 s pieces: the check ran on every third one (3.3 a second), not the
    4 a second the gate is documented with."""
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 10.0, (2, int(31 * fs)))
    sq = StreamingQuality(fs, 2, "eeg")
    step = int(round(piece_s * fs))
    ends = list(range(step, x.shape[1] + 1, step))
    checks = sum(q is not None for q in sq.push_many(x[:, : ends[-1]], ends))
    assert checks == pytest.approx(4 * 30, abs=2)  # (the first second fills the window)
