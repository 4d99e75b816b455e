"""An ECG stream that starts with missing samples (NaN before the electrodes touch, a driver that
sends NaN until the first reading) gives the beats of the same stream without them.

The detector held the missing samples at 0 until the first real one: the step from 0 to the
ECG's offset at the first real sample was taken for a beat, or the levels were learnt on the
flat stretch (with 1-20 s of NaN before MIT-BIH 100, 106 and 113: up to 8 false beats). It now
starts at the first real sample, as if the stream had begun there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_ecg_signal_edge import FS, synthetic_ecg

from biotrainer.dsp.ecg import EcgPeakStream, ecg_peaks


def streamed(x: np.ndarray, fs: float, size: int) -> np.ndarray:
    stream = EcgPeakStream(fs)
    parts = [stream.push_positions(x[a : a + size]) for a in range(0, x.size, size)]
    return np.concatenate(parts)


def with_missing_start(x: np.ndarray, n: int, value: float = np.nan) -> np.ndarray:
    return np.concatenate([np.full(n, value), x])


@pytest.mark.parametrize("missing_s", [0.004, 0.5, 3.0, 8.0])
@pytest.mark.parametrize("value", [np.nan, np.inf, 1e300])
def test_a_missing_start_gives_the_beats_of_the_stream_without_it(
    missing_s: float, value: float
) -> None:
    x = synthetic_ecg(40.0, seed=4)
    n = int(round(missing_s * FS))
    alone = ecg_peaks(x, FS, subsample=True)
    y = with_missing_start(x, n, value)
    np.testing.assert_allclose(ecg_peaks(y, FS, subsample=True), alone + n, rtol=0, atol=1e-9)
    np.testing.assert_allclose(streamed(y, FS, 7), alone + n, rtol=0, atol=1e-9)


def test_missing_samples_in_pieces_of_any_size() -> None:
    """The missing start spread over several chunks, the first real sample inside one, and a
    batch cut into pieces: the same beats."""
    x = synthetic_ecg(30.0, seed=5)
    n = 1000
    y = with_missing_start(x, n)
    alone = ecg_peaks(x, FS, subsample=True) + n
    np.testing.assert_allclose(streamed(y, FS, 333), alone, rtol=0, atol=1e-9)
    ends = [100, 999, 1000, 1001, 4000, y.size]
    pieces = EcgPeakStream(FS).push_positions_split(y, ends)
    one_by_one = EcgPeakStream(FS)
    for got, lo, hi in zip(pieces, [0, *ends[:-1]], ends, strict=True):
        np.testing.assert_allclose(got, one_by_one.push_positions(y[lo:hi]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.concatenate(pieces), alone, rtol=0, atol=1e-9)


def test_a_stream_with_no_real_sample_finds_nothing_and_then_starts() -> None:
    stream = EcgPeakStream(FS)
    for _ in range(5):
        assert stream.push(np.full(250, np.nan)).size == 0
    x = synthetic_ecg(20.0, seed=6)
    got = np.concatenate([stream.push_positions(x[a : a + 50]) for a in range(0, x.size, 50)])
    np.testing.assert_allclose(got, ecg_peaks(x, FS, subsample=True) + 1250, rtol=0, atol=1e-9)


def test_later_missing_samples_are_still_held() -> None:
    """Only the missing start is left out: a dropout later is a held, flat stretch, so the
    positions after it keep counting every sample."""
    x = synthetic_ecg(40.0, seed=7)
    y = x.copy()
    y[5000:5100] = np.nan
    beats = ecg_peaks(y, FS, subsample=True)
    alone = ecg_peaks(x, FS, subsample=True)
    late = alone[alone > 6000]
    assert np.min(np.abs(beats[:, None] - late[None, :]), axis=0).max() < 1e-6


@pytest.mark.parametrize("rec", ["100", "106", "113"])
@pytest.mark.parametrize("missing_s", [1.0, 3.0, 8.0, 20.0])
def test_mitdb_with_a_missing_start(shared_data: Path, rec: str, missing_s: float) -> None:
    wfdb = pytest.importorskip("wfdb")
    r = wfdb.rdrecord(str(shared_data / "ecg_mitdb" / rec), sampto=int(120 * 360))
    fs = float(r.fs)
    x = r.p_signal[:, 0].astype(np.float64)
    n = int(missing_s * fs)
    y = x.copy()
    y[:n] = np.nan  # the first seconds of the record missing
    expected = ecg_peaks(x[n:], fs, subsample=True) + n
    np.testing.assert_allclose(ecg_peaks(y, fs, subsample=True), expected, rtol=0, atol=1e-9)
