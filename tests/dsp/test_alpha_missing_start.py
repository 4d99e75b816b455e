"""AlphaStream on channels that start with missing samples (NaN until an electrode settles).

Such a channel must start at its first finite sample, as a stream begun there would: held at 0
instead, the step to the signal's DC offset rang through the band-passes as a false alpha burst.
Before its first finite sample the channel's output is NaN.
"""

from __future__ import annotations

import numpy as np
from test_alpha_stream import pink
from test_eeg import _read_biosppy_txt

from biotrainer.dsp.alpha_stream import AlphaStream

FS = 250.0
#: Leading missing samples per channel (one channel complete, one short gap, one long gap).
LEADS = (0, 137, 700)
#: Rounding only: the demodulation phase counts from the stream's first sample, not the channel's.
RTOL, ATOL = 1e-9, 1e-12


def eeg_with_offsets(seconds: float = 8.0, seed: int = 3) -> np.ndarray:
    """Three channels of 1/f noise with a 10 Hz alpha on DC offsets of 0, 500 and -2000 µV."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    t = np.arange(n) / FS
    alpha = 15.0 * np.sin(2 * np.pi * 10.0 * t)
    return np.vstack([pink(n, rng) + alpha + offset for offset in (0.0, 500.0, -2000.0)])


def with_missing_start(x: np.ndarray, leads: tuple[int, ...] = LEADS) -> np.ndarray:
    y = x.copy()
    for c, lead in enumerate(leads):
        y[c, :lead] = np.nan
    return y


def assert_started_at_first_sample(
    relative: np.ndarray, alpha_uv: np.ndarray, x: np.ndarray, leads: tuple[int, ...]
) -> None:
    """Each channel is NaN before its lead and then equals a fresh stream begun at its lead."""
    for c, lead in enumerate(leads):
        begun_there = AlphaStream(FS, 1).push(x[c, lead:])
        np.testing.assert_allclose(relative[c, lead:], begun_there.relative[0], RTOL, ATOL)
        np.testing.assert_allclose(alpha_uv[c, lead:], begun_there.alpha_uv[0], RTOL, 1e-9)
        assert np.all(np.isnan(relative[c, :lead])) and np.all(np.isnan(alpha_uv[c, :lead]))


def test_missing_start_gives_the_stream_begun_at_the_first_finite_sample() -> None:
    x = eeg_with_offsets()
    out = AlphaStream(FS, 3).push(with_missing_start(x))
    assert_started_at_first_sample(out.relative, out.alpha_uv, x, LEADS)
    # the feedback value is the median of the channels that have started
    np.testing.assert_array_equal(out.value, AlphaStream.median_over_channels(out.relative))
    assert np.all(np.isfinite(out.value))  # channel 0 runs from the first sample


def test_missing_start_cut_into_chunks_gives_the_one_push_output() -> None:
    """The missing start spread over many chunks (some all NaN, some where a channel starts
    mid-chunk), twice (reset must wait for the first finite samples again)."""
    x = eeg_with_offsets()
    y = with_missing_start(x)
    whole = AlphaStream(FS, 3).push(y)
    stream = AlphaStream(FS, 3)
    rng = np.random.default_rng(4)
    for _ in range(2):
        stream.reset()
        parts, k = [], 0
        while k < y.shape[1]:
            size = int(rng.integers(0, 90))
            parts.append(stream.push(y[:, k : k + size]))
            k += size
        relative = np.hstack([p.relative for p in parts])
        alpha_uv = np.hstack([p.alpha_uv for p in parts])
        np.testing.assert_array_equal(
            np.concatenate([p.index for p in parts]), np.arange(y.shape[1])
        )
        np.testing.assert_allclose(relative, whole.relative, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(alpha_uv, whole.alpha_uv, rtol=1e-9, atol=1e-9)
        assert_started_at_first_sample(relative, alpha_uv, x, LEADS)


def test_all_channels_missing_at_first_then_starting_in_later_chunks() -> None:
    """No channel has a finite sample in the first chunks: the value is NaN until one has."""
    x = eeg_with_offsets()
    leads = (300, 301, 900)
    y = with_missing_start(x, leads)
    stream = AlphaStream(FS, 3)
    parts = [stream.push(y[:, a : a + 100]) for a in range(0, y.shape[1], 100)]
    value = np.concatenate([p.value for p in parts])
    assert np.all(np.isnan(value[:300])) and np.all(np.isfinite(value[300:]))
    relative = np.hstack([p.relative for p in parts])
    assert_started_at_first_sample(relative, np.hstack([p.alpha_uv for p in parts]), x, leads)


def test_a_channel_that_never_starts_stays_nan_and_leaves_the_others_alone() -> None:
    x = eeg_with_offsets()[:2]
    x[1] = np.nan
    out = AlphaStream(FS, 2).push(x)
    assert np.all(np.isnan(out.relative[1])) and np.all(np.isnan(out.alpha_uv[1]))
    alone = AlphaStream(FS, 1).push(x[0])
    np.testing.assert_array_equal(out.relative[0], alone.relative[0])
    np.testing.assert_array_equal(out.value, alone.value)


def test_real_recording_with_a_missing_first_second(shared_data) -> None:
    """Raw ADC EEG (a DC offset of about 480 units): the missing first second must not move
    the value after it."""
    # the pair is sampled at 250 Hz, not the header's 125 (see test_eeg)
    x = _read_biosppy_txt(shared_data / "eeg_eyes" / "eeg_ec.txt")[: int(20 * FS)]
    lead = int(1.0 * FS)
    y = x.copy()
    y[:lead] = np.nan
    got = AlphaStream(FS, 1).push(y).value
    begun_there = AlphaStream(FS, 1).push(x[lead:]).value
    assert np.all(np.isnan(got[:lead]))
    np.testing.assert_allclose(got[lead:], begun_there, RTOL, ATOL)
