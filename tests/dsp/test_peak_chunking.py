"""The beat detectors give the same beats however the signal is cut into chunks.

A live session pushes whatever arrived since the last poll; an offline analysis pushes the
whole recording. Both must find the same beats at the same positions, also around what makes
the detectors' state change: the learning period, a silence long enough to relearn the
levels, an artefact burst, beats of changing size.
"""

from __future__ import annotations

import numpy as np
import pytest

from biotrainer.dsp.ecg import EcgPeakStream, ecg_peaks
from biotrainer.dsp.ppg import PpgPeakStream, ppg_peaks

FS = 250.0


def beats_with_silence_and_burst(seed: int) -> np.ndarray:
    """60 s of sharp beats of varying size with a T-like wave, a 3.5-8 s silence (electrode
    off) and a 0.5 s noise burst, on low noise."""
    rng = np.random.default_rng(seed)
    n = int(60 * FS)
    t = np.arange(n) / FS
    x = 0.02 * rng.standard_normal(n)
    silence = (20.0, 20.0 + rng.uniform(3.5, 8.0))
    for b in np.cumsum(rng.uniform(0.6, 1.1, 80)):
        if b >= 58 or silence[0] < b < silence[1]:
            continue
        x += rng.uniform(0.5, 1.5) * np.exp(-0.5 * ((t - b) / 0.012) ** 2)
        x += 0.3 * np.exp(-0.5 * ((t - b - 0.25) / 0.04) ** 2)
    start, k = int(rng.uniform(30, 50) * FS), int(0.5 * FS)
    x[start : start + k] += rng.uniform(2, 20) * rng.standard_normal(k)
    return x


def pushed_in_chunks(stream, x: np.ndarray, chunk: int) -> np.ndarray:
    return np.concatenate(
        [stream.push_positions(x[i : i + chunk]) for i in range(0, x.size, chunk)]
    )


@pytest.mark.parametrize(
    ("stream_cls", "offline"), [(EcgPeakStream, ecg_peaks), (PpgPeakStream, ppg_peaks)]
)
@pytest.mark.parametrize("seed", range(8))
def test_any_chunking_gives_the_offline_beats(stream_cls, offline, seed: int) -> None:
    x = beats_with_silence_and_burst(seed)
    whole = offline(x, FS, subsample=True)
    assert whole.size > 30  # the detectors found the beats (not a vacuous comparison)
    for chunk in (1, 7, 25, 333):
        np.testing.assert_array_equal(pushed_in_chunks(stream_cls(FS), x, chunk), whole)


def test_split_push_equals_pieces_and_whole() -> None:
    """EcgPeakStream.push_positions_split (the engine's batch path) equals pushing the pieces
    one by one, and the whole signal at once."""
    x = beats_with_silence_and_burst(11)
    ends = [*range(25, x.size, 25), x.size]
    split = np.concatenate(EcgPeakStream(FS).push_positions_split(x, ends))
    np.testing.assert_array_equal(split, pushed_in_chunks(EcgPeakStream(FS), x, 25))
    np.testing.assert_array_equal(split, EcgPeakStream(FS).push_positions(x))
