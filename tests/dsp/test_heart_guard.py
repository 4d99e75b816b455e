"""Off-scale heart-signal samples (a sensor off or knocked) given as missing: never on the
ECGs and PPGs at rest, always over a real finger-off, the same in any chunking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biotrainer.dsp.heart_guard import REBASE_S, REFERENCE_BLOCKS, HeartSignalGuard


def _meditation_ir(shared_data: Path) -> tuple[np.ndarray, float]:
    """The DIY wearable's infrared PPG at 50 Hz (its finger came off at about 590-597.5 s)."""
    import csv

    path = shared_data / "meditation_ppg_breath" / "meditation_10min_20260121_185132.csv"
    with open(path, newline="") as fh:
        rows = [r for r in csv.reader(line for line in fh if not line.startswith("#"))]
    head, body = rows[0], np.array(rows[1:], dtype=np.float64)
    t = body[:, head.index("timestamp_ms")] / 1000.0
    grid = np.arange(t[0], t[-1], 0.02)
    return np.interp(grid, t, body[:, head.index("ir")]), 50.0


def _chunked(x: np.ndarray, fs: float, sizes) -> tuple[np.ndarray, list[int]]:
    g = HeartSignalGuard(fs)
    out, restarts, pos = [], [], 0
    for n in sizes:
        y, r = g.push(x[pos : pos + n])
        out.append(y)
        restarts += [pos + k for k in r]
        pos += n
    return np.concatenate(out), restarts


def test_a_finger_off_is_off_scale_and_a_chunking_changes_nothing(shared_data: Path) -> None:
    x, fs = _meditation_ir(shared_data)
    y, restarts = HeartSignalGuard(fs).push(x)
    off = np.isnan(y)
    t = np.arange(x.size) / fs
    # the level fell from about 200,000 counts to 1,400 for some 4 s: all of it is off-scale
    dropped = x < 0.05 * np.median(x[(t > 500) & (t < 580)])
    assert 3.0 < dropped.sum() / fs < 10.0 and t[dropped].min() > 580.0
    assert off[dropped].all()
    assert not off[(t > 20) & (t < 240)].any()  # the calm first minutes: nothing
    assert restarts and all(not off[k] and off[k - 1] for k in restarts)
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 200, size=x.size // 50)
    sizes = np.append(sizes, x.size - sizes.sum())
    y2, r2 = _chunked(x, fs, sizes[sizes > 0])
    np.testing.assert_array_equal(y2, y)
    assert r2 == restarts


def test_nothing_is_off_scale_on_the_heart_signals_at_rest(shared_data: Path) -> None:
    """Every MIT-BIH lead (ectopic beats, bigeminy, flutter, 2:1 block included) and the
    resting ECG and PPG records: no sample judged off-scale."""
    wfdb = pytest.importorskip("wfdb")
    signals = []
    for rec in ("100", "106", "113", "202", "231", "800"):
        r = wfdb.rdrecord(str(shared_data / "ecg_mitdb" / rec))
        signals += [(r.p_signal[:, 0], r.fs), (r.p_signal[:, 1], r.fs)]
    for name in ("bio_resting_5min_100hz.csv", "bio_resting_8min_100hz.csv"):
        d = np.genfromtxt(shared_data / "ecg_ppg_rsp" / name, delimiter=",", names=True)
        signals += [(d[c], 100.0) for c in ("ECG", "PPG") if c in d.dtype.names]
    for x, fs in signals:
        y, restarts = HeartSignalGuard(fs).push(x)
        assert not np.isnan(y).any() and not restarts


def test_a_new_scale_is_taken_after_rebase_s() -> None:
    """A sensor put back with ten times the gain: off-scale for REBASE_S, then the signal."""
    fs = 100.0
    t = np.arange(0, 60.0, 1 / fs)
    x = np.sin(2 * np.pi * 1.2 * t)
    x[t >= 30.0] *= 10.0
    y, restarts = HeartSignalGuard(fs).push(x)
    off = np.isnan(y)
    assert not off[t < 30.0].any()
    # every second of the larger signal has off-scale samples (its peaks) until it is taken
    blocks = off[(t >= 30.0) & (t < 30.0 + REBASE_S)].reshape(-1, int(fs))
    assert blocks.any(axis=1).all()
    assert not off[t >= 30.0 + REBASE_S + 1.0].any()
    assert restarts


def test_a_sensor_lying_off_is_never_taken_for_the_signal() -> None:
    """A clip left off for a minute (its level elsewhere, only noise on it): off-scale all the
    while, and normal again as soon as it is back; a clip put on after the stream started is
    taken once it has pulsed steadily for REBASE_S."""
    fs = 50.0
    rng = np.random.default_rng(2)
    t = np.arange(0, 150.0, 1 / fs)
    x = 200_000 + 3_000 * np.sin(2 * np.pi * 1.1 * t)
    lying = (t >= 40.0) & (t < 100.0)
    x[lying] = 1_420 + rng.normal(0, 10, lying.sum())
    y, restarts = HeartSignalGuard(fs).push(x)
    off = np.isnan(y)
    assert off[lying].all()
    assert not off[t >= 100.0].any() and not off[t < 40.0].any()
    assert [t[k] for k in restarts] == [100.0]
    # the other way round: noise first (the scale learnt from it), then the pulse
    z = np.where(t < 30.0, 1_420 + rng.normal(0, 10, t.size), x)
    z[lying] = x[~lying][: lying.sum()]
    y2, _ = HeartSignalGuard(fs).push(z)
    taken = np.flatnonzero(~np.isnan(y2) & (t >= 30.0))[0]
    assert 30.0 + REBASE_S - 1.0 <= t[taken] <= 30.0 + REBASE_S + 1.0


def test_what_the_caller_does_with_the_samples_changes_nothing_later() -> None:
    """The detectors may write into the array they are given (missing samples held): the
    guard's judgement of the samples after it must not follow."""
    fs = 50.0
    x = 1000.0 + 50.0 * np.sin(2 * np.pi * 1.1 * np.arange(0, 400.0, 1 / fs))
    x[9000:9400] = 10.0
    y1, r1 = HeartSignalGuard(fs).push(x)
    guard, rng, pos, restarts = HeartSignalGuard(fs), np.random.default_rng(3), 0, []
    while pos < x.size:
        n = int(rng.integers(1, 120))
        y, r = guard.push(x[pos : pos + n])
        np.testing.assert_array_equal(y, y1[pos : pos + n])
        y[:] = -1e9  # scribbled on
        restarts += [pos + k for k in r]
        pos += n
    assert restarts == r1 == [9400]


def test_the_first_blocks_and_missing_samples_are_not_judged() -> None:
    fs = 50.0
    x = np.sin(2 * np.pi * np.arange(0, 30.0, 1 / fs))
    x[: int(REFERENCE_BLOCKS * fs) - 5] *= 100.0  # a wild start sets the scale, is not judged
    x[1000:1010] = np.nan
    y, _ = HeartSignalGuard(fs).push(x)
    assert not np.isnan(y[: int(REFERENCE_BLOCKS * fs) - 5]).any()
    assert np.isnan(y[1000:1010]).all() and np.isnan(y).sum() >= 10


def test_a_quiet_trace_sets_no_scale_so_the_signal_is_normal_when_back() -> None:
    """An ECG electrode off with only the amplifier's noise on the trace (at the same level):
    the noise is normal (the detector finds no beat in it) but does not become the scale, so
    the ECG is normal again from its first sample back (before: off-scale for 5 s, cut into
    pieces the detector took for beats)."""
    fs = 250.0
    t = np.arange(0, 90 * fs) / fs
    ecg = np.exp(-0.5 * ((t % 0.85 - 0.4) / 0.012) ** 2)  # QRS-like spikes, ~70/min
    quiet = (t >= 30) & (t < 60)
    ecg[quiet] = np.random.default_rng(1).normal(0.0, 0.002, quiet.sum())
    y, restarts = HeartSignalGuard(fs).push(ecg)
    assert not np.isnan(y).any() and restarts == []
