"""AlphaStream: chunking invariance, step-response delay (in simulated time), robustness."""

from __future__ import annotations

import numpy as np
import pytest

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
    assert 0.08 < stream.group_delay_s < 0.16  # stated: ~121 ms at 250 Hz
    assert np.median(delays) <= 0.25
    assert np.max(delays) <= 0.40
    assert np.median(delays) >= 0.5 * stream.group_delay_s  # causal: cannot react instantly


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
