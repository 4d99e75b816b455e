"""The heart rate counts beats over time (``heart_rate`` on ``clean_rr(...).counted_ms``): in
bigeminy and atrial fibrillation a median of recent cleaned intervals is far from the number of
beats (a review: 117-133 against 76-88 beats/min on MIT-BIH 106), while a missed or an extra
detection is still corrected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biotrainer.dsp.hrv import heart_rate
from biotrainer.dsp.rr import clean_and_count_rr_windows, clean_rr
from biotrainer.engine.processors import CardiacProcessor

#: MIT-BIH beat annotation symbols (every beat, normal or not)
BEATS = set("NLRBAaJSVrFejnE/fQ?")


def _bigeminy(n_pairs: int = 60, short: float = 520.0, long: float = 1080.0) -> np.ndarray:
    rng = np.random.default_rng(1)
    pairs = np.column_stack([short + rng.normal(0, 8, n_pairs), long + rng.normal(0, 8, n_pairs)])
    return np.concatenate([np.full(40, 800.0) + rng.normal(0, 10, 40), pairs.ravel()])


def test_heart_rate_counts_beats_over_the_last_seconds() -> None:
    assert heart_rate([1000.0] * 30) == pytest.approx(60.0)
    assert heart_rate([500.0, 1100.0] * 20) == pytest.approx(75.0, abs=2.5)
    assert heart_rate([1100.0, 500.0] * 20, window_s=8.0) == pytest.approx(75.0)
    assert heart_rate([2000.0, 600.0, 600.0], window_s=1.0) == pytest.approx(100.0)
    assert heart_rate([2000.0, 600.0, 600.0], window_s=1.5) == pytest.approx(60 * 2.15 / 1.5)
    assert heart_rate([1500.0], window_s=10.0) == pytest.approx(40.0)  # fewer than 10 s: all
    assert np.isnan(heart_rate([]))


def test_bigeminy_reads_the_number_of_beats() -> None:
    rr = _bigeminy()
    truth = 60000.0 * 2 / (520.0 + 1080.0)  # 75 beats/min
    cleaning = clean_rr(rr)
    assert cleaning.ectopic.sum() + cleaning.long.sum() + cleaning.short.sum() > 20
    assert heart_rate(cleaning.counted_ms) == pytest.approx(truth, abs=2.0)
    processor = CardiacProcessor(250.0, "rr", 0.0)
    times = np.cumsum(rr) / 1000.0
    processor.push_rr(rr, times)
    assert processor.hr_bpm == pytest.approx(truth, abs=2.0)


def test_a_missed_and_an_extra_detection_are_still_corrected() -> None:
    rng = np.random.default_rng(2)
    rr = 900.0 + rng.normal(0, 15, 120)
    missed = rr.copy()
    missed[115] += missed[116]  # one beat not detected
    missed = np.delete(missed, 116)
    extra = np.insert(rr, 116, rr[115] - 300.0)
    extra[115] = 300.0  # a T wave taken for a beat
    for series in (missed, extra):
        cleaning = clean_rr(series)
        assert cleaning.missed.any() or cleaning.extra.any()
        assert heart_rate(cleaning.counted_ms) == pytest.approx(60000.0 / 900.0, abs=2.5)


def test_windows_count_as_one_by_one() -> None:
    rr = _bigeminy(200)
    starts = np.arange(0, 300, 7)
    stops = starts + 90
    cleaned, counted = clean_and_count_rr_windows(rr, starts, stops)
    for a, b, c, n in zip(starts, stops, cleaned, counted, strict=True):
        one = clean_rr(rr[a:b])
        np.testing.assert_array_equal(c, one.rr_ms)
        np.testing.assert_array_equal(n, one.counted_ms)
        assert n.sum() == pytest.approx(rr[a:b].sum())


def test_engine_heart_rate_on_mitdb_106_bigeminy(shared_data: Path) -> None:
    wfdb = pytest.importorskip("wfdb")
    path = str(shared_data / "ecg_mitdb" / "106")
    record = wfdb.rdrecord(path, sampto=int(900 * 360))
    ann = wfdb.rdann(path, "atr", sampto=int(900 * 360))
    fs = float(record.fs)
    beats = np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEATS]) / fs
    x = record.p_signal[:, 0]
    processor = CardiacProcessor(fs, "ecg", 0.0)
    step = int(0.1 * fs)
    errors = []
    for i in range(0, x.size - step + 1, step):
        processor.push(x[i : i + step])
        t = (i + step) / fs
        if 750.0 <= t <= 850.0 and round(t * 10) % 50 == 0:  # in bigeminy, every 5 s
            last = beats[(beats <= t) & (beats > t - 10.0)]
            truth = 60.0 * (last.size - 1) / (last[-1] - last[0])
            errors.append(abs(processor.hr_bpm - truth))
    assert len(errors) >= 15
    assert np.median(errors) < 5.0, errors
