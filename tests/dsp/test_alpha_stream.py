"""AlphaStream: chunking invariance, step-response delay (in simulated time), robustness."""

from __future__ import annotations

import numpy as np
import pytest
from test_eeg import _read_biosppy_txt, _read_edf, auc, read_openbci_txt

from biotrainer.dsp.alpha_stream import AlphaStream

FS = 250.0


def pink(n: int, rng: np.random.Generator, rms: float = 10.0) -> np.ndarray:
    f = np.fft.rfftfreq(n, 1 / FS)
    amp = np.zeros_like(f)
    amp[1:] = 1 / np.sqrt(f[1:])
    x = np.fft.irfft(amp * np.exp(2j * np.pi * rng.random(f.size)), n)
    return x / x.std() * rms


def step_pair(seed: int, t_step: float = 4.0, seconds: float = 8.0):
    """The same 1/f background with a 10 Hz alpha that steps 5 -> 20 µV, and without the step."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    t = np.arange(n) / FS
    background = pink(n, rng)
    alpha = np.sin(2 * np.pi * 10.0 * t + rng.random() * 6)
    stepped = background + np.where(t < t_step, 5.0, 20.0) * alpha
    return stepped, background + 5.0 * alpha, int(t_step * FS)


def halfway_delay_s(seed: int, **kwargs) -> float:
    """Time from the step until the output has moved half of its settled change.

    The step response is the output with the step minus the output of the identical signal
    without it, which removes the background's own fluctuation.
    """
    stepped, flat, k0 = step_pair(seed)
    d = (
        AlphaStream(FS, 1, **kwargs).push(stepped).value
        - AlphaStream(FS, 1, **kwargs).push(flat).value
    )
    settled = np.median(d[k0 + int(1.5 * FS) : k0 + int(3.5 * FS)])
    assert settled > 0.2  # the value clearly rises with alpha
    return float(np.flatnonzero(d[k0:] >= 0.5 * settled)[0]) / FS


def test_step_response_delay_is_bounded() -> None:
    delays = np.array([halfway_delay_s(seed) for seed in range(12)])
    stream = AlphaStream(FS, 1)
    assert 0.05 < stream.group_delay_s < 0.10  # stated: 75 ms for the 7-13 Hz envelope
    assert np.median(delays) <= 0.10
    assert np.max(delays) <= 0.20
    assert np.min(delays) >= 0.01  # causal: the twins only differ after the step


def test_rest_noise_is_small_against_the_step() -> None:
    """At a steady 5 µV alpha the value's spread stays well below the 5 -> 20 µV step."""
    ratios = []
    for seed in range(8):
        stepped, _, k0 = step_pair(seed)
        v = AlphaStream(FS, 1).push(stepped).value
        rest, after = v[int(1.5 * FS) : k0], v[k0 + int(1.5 * FS) :]
        ratios.append(np.std(rest) / (np.median(after) - np.median(rest)))
    assert np.median(ratios) < 0.8


def test_muscle_artifact_lowers_the_value() -> None:
    """Broadband muscle activity (20-30 Hz) raises the flanking power, so the value drops."""
    rng = np.random.default_rng(5)
    n = int(8 * FS)
    t = np.arange(n) / FS
    x = pink(n, rng) + 15.0 * np.sin(2 * np.pi * 10.0 * t)
    emg = np.random.default_rng(6).normal(0, 1, n)
    from scipy import signal

    emg = signal.sosfilt(signal.butter(4, (20, 30), "bandpass", fs=FS, output="sos"), emg)
    emg *= 40.0 / emg.std() * (t >= 4.0)
    clean = AlphaStream(FS, 1).push(x).value
    noisy = AlphaStream(FS, 1).push(x + emg).value
    late = slice(int(6 * FS), n)
    assert np.median(noisy[late]) < 0.6 * np.median(clean[late])


def test_chunked_push_equals_one_push() -> None:
    rng = np.random.default_rng(0)
    x = np.vstack([pink(3000, rng) + 3000.0 * c for c in range(3)])
    whole = AlphaStream(FS, 3).push(x)
    stream = AlphaStream(FS, 3)
    parts, k = [], 0
    for size in rng.integers(0, 40, size=400):
        parts.append(stream.push(x[:, k : k + size]))
        k += size
        if k >= x.shape[1]:
            break
    parts.append(stream.push(x[:, k:]))
    np.testing.assert_array_equal(np.concatenate([p.index for p in parts]), np.arange(x.shape[1]))
    np.testing.assert_allclose(
        np.concatenate([p.value for p in parts]), whole.value, rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(
        np.hstack([p.alpha_uv for p in parts]), whole.alpha_uv, rtol=1e-9, atol=1e-9
    )


def test_value_is_scale_invariant_and_bounded() -> None:
    rng = np.random.default_rng(1)
    x = pink(2500, rng) + 10 * np.sin(2 * np.pi * 10 * np.arange(2500) / FS)
    a = AlphaStream(FS, 1).push(x).value
    b = AlphaStream(FS, 1).push(50.0 * x).value
    np.testing.assert_allclose(a[250:], b[250:], rtol=1e-6)
    assert np.all((a[250:] >= 0) & (a[250:] <= 1))


def test_nan_samples_do_not_poison_the_stream_and_reset_restarts() -> None:
    rng = np.random.default_rng(2)
    x = pink(2500, rng)[None, :]
    x[0, 1000:1010] = np.nan
    stream = AlphaStream(FS, 1)
    out = stream.push(x)
    assert np.all(np.isfinite(out.value[1100:]))
    stream.reset()
    again = stream.push(x[:, :10])
    assert again.index[0] == 0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="sampling rate"):
        AlphaStream(0.0, 1)
    with pytest.raises(ValueError, match="sampling rate"):
        AlphaStream(float("nan"), 1)
    with pytest.raises(ValueError):
        AlphaStream(FS, 0)
    with pytest.raises(ValueError, match="shape"):
        AlphaStream(FS, 2).push(np.zeros((3, 10)))
    empty = AlphaStream(FS, 2).push(np.zeros((2, 0)))
    assert empty.value.size == 0 and np.isnan(empty.latest)


# -- real recordings: the fast value still tells relaxed from not ----------------------------


def _one_second_means(x: np.ndarray, fs: float) -> np.ndarray:
    v = AlphaStream(fs, x.shape[0]).push(x).value
    n = int(fs)
    k = v.size // n
    return v[: k * n].reshape(k, n).mean(axis=1)[2:]  # the first 2 s settle the filters


def test_real_eyes_closed_above_eyes_open(shared_data) -> None:
    # the pair is sampled at 250 Hz, not the header's 125 (see test_eeg)
    ec = _read_biosppy_txt(shared_data / "eeg_eyes" / "eeg_ec.txt")[None, :]
    eo = _read_biosppy_txt(shared_data / "eeg_eyes" / "eeg_eo.txt")[None, :]
    assert auc(_one_second_means(ec, FS), _one_second_means(eo, FS)) >= 0.85


def test_real_rest_above_mental_arithmetic(shared_data) -> None:
    posterior = ("O1", "O2", "P3", "P4", "Pz")
    rest, fs = _read_edf(shared_data / "eeg_eyes" / "Subject00_1.edf", posterior)
    task, _ = _read_edf(shared_data / "eeg_eyes" / "Subject04_2.edf", posterior)
    assert auc(_one_second_means(rest, fs), _one_second_means(task, fs)) >= 0.75


def test_real_headset_eyes_closed_above_blinks_and_clenching(shared_data) -> None:
    x, fs = read_openbci_txt(
        shared_data / "eeg_headsets" / "OpenBCI_GUI-v6-blinks-jawClench-alpha.txt"
    )
    w = _one_second_means(x, fs)
    t = np.arange(w.size) + 2  # second of each mean
    assert auc(w[(t >= 22) & (t < 74)], w[t < 20]) >= 0.9
