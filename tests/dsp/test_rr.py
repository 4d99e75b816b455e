"""RR artefact detection/correction (Lipponen & Tarvainen 2019) on simulated and real series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biotrainer.dsp.hrv import hrv_time
from biotrainer.dsp.rr import clean_rr


def _simulate(seed: int, n: int = 3000):
    """Sinus rhythm with RSA and slow drift, with injected ectopic/missed/extra beats."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    rr = (
        800
        + 40 * np.sin(2 * np.pi * t / 5)
        + 20 * np.sin(2 * np.pi * t / 60)
        + rng.normal(0, 15, n)
    )
    out, kinds, truth = [], [], []
    i = 0
    while i < n - 3:
        u = rng.random()
        if u < 0.01:  # premature beat + compensatory pause
            a = rr[i] * rng.uniform(0.55, 0.7)
            out += [a, rr[i] + rr[i + 1] - a]
            kinds += ["ectopic", "ectopic"]
            truth += [rr[i], rr[i + 1]]
            i += 2
        elif u < 0.02:  # missed beat: two intervals merged
            out.append(rr[i] + rr[i + 1])
            kinds.append("missed")
            truth += [rr[i], rr[i + 1]]
            i += 2
        elif u < 0.03:  # extra detection: one interval split
            f = rng.uniform(0.3, 0.7)
            out += [rr[i] * f, rr[i] * (1 - f)]
            kinds += ["extra", "extra"]
            truth.append(rr[i])
            i += 1
        else:
            out.append(rr[i])
            kinds.append("")
            truth.append(rr[i])
            i += 1
    return np.array(out), np.array(kinds), np.array(truth)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_injected_artefacts_are_flagged(seed: int) -> None:
    rr, kinds, truth = _simulate(seed)
    c = clean_rr(rr)
    clean = kinds == ""
    # precision: few false flags on clean beats
    assert (c.flagged & clean).sum() <= 0.01 * clean.sum()
    # recall per event type, with the right label
    missed = kinds == "missed"
    assert c.flagged[missed].mean() >= 0.95
    assert (c.missed & missed).sum() >= 0.9 * missed.sum()
    assert c.missed.sum() <= 1.1 * missed.sum()
    first_extra = (kinds == "extra") & np.r_[True, kinds[:-1] != "extra"]
    assert (c.extra & first_extra).sum() >= 0.9 * first_extra.sum()
    ect = kinds == "ectopic"
    pairs = ect & np.r_[True, kinds[:-1] != "ectopic"]
    hit = c.flagged[np.flatnonzero(pairs)] | c.flagged[np.flatnonzero(pairs) + 1]
    assert hit.mean() >= 0.95
    # correction restores the beat count and the true RMSSD closely
    assert abs(c.rr_ms.size - truth.size) <= 0.005 * truth.size
    assert hrv_time(c.rr_ms).rmssd == pytest.approx(hrv_time(truth).rmssd, rel=0.08)
    assert hrv_time(rr).rmssd > 2 * hrv_time(truth).rmssd  # the artefacts did matter


def test_clean_series_is_left_alone() -> None:
    rng = np.random.default_rng(5)
    rr = 900 + 50 * np.sin(np.arange(600) * 2 * np.pi / 6) + rng.normal(0, 10, 600)
    c = clean_rr(rr)
    assert c.n_flagged <= 3
    np.testing.assert_allclose(np.sum(c.rr_ms), np.sum(rr), rtol=0.01)


def test_matches_neurokit_kubios_flags() -> None:
    nk = pytest.importorskip("neurokit2")
    rr, _, _ = _simulate(7, 1500)
    peaks = np.round(np.cumsum(np.r_[0, rr])).astype(int)
    info, _ = nk.signal_fixpeaks(peaks, sampling_rate=1000, iterative=False, method="Kubios")
    theirs = set(np.asarray(info["ectopic"]).tolist() + np.asarray(info["missed"]).tolist())
    theirs |= set(np.asarray(info["extra"]).tolist()) | set(np.asarray(info["longshort"]).tolist())
    # NeuroKit indexes peaks; interval j ends at peak j + 1
    ours = set((np.flatnonzero(clean_rr(rr).flagged) + 1).tolist())
    near = {j for j in ours if {j - 1, j, j + 1} & theirs}
    assert len(near) >= 0.85 * len(ours)


def test_degenerate_inputs() -> None:
    c = clean_rr([])
    assert c.rr_ms.size == 0 and c.n_flagged == 0
    c = clean_rr([800, 810, 790])
    assert c.n_flagged == 0 and c.rr_ms.size == 3
    c = clean_rr([800, np.nan, 810, -5, 790, 800, 805, 795])
    assert c.invalid.tolist() == [False, True, False, True, False, False, False, False]
    assert c.rr_ms.size == 6 and np.all(np.isfinite(c.rr_ms))
    c = clean_rr(np.full(200, 1000.0))  # no variability at all: nothing to flag
    assert c.n_flagged == 0


def test_rr_long_gaps_and_ectopics(shared_data: Path) -> None:
    """nsr001 (first value is an offset): gaps (> 2x local median) are all flagged, the
    flagged fraction stays small, and cleaning lowers RMSSD where it changed anything."""
    secs = np.loadtxt(shared_data / "rr_long" / "nsr001_rr_secs.txt")
    rr = secs[1:] * 1000.0
    c = clean_rr(rr)
    med = np.convolve(rr, np.ones(11) / 11, mode="same")
    gaps = rr > 2.2 * med
    assert gaps.sum() > 0
    assert c.flagged[gaps].mean() >= 0.95
    assert c.flagged.mean() < 0.05
    # per 5-min windows containing flags, RMSSD after cleaning is lower
    t = np.cumsum(rr) / 1000
    win = (t // 300).astype(int)
    lowered = total = 0
    for w in np.unique(win)[:60]:
        sel = win == w
        if c.flagged[sel].sum() >= 2:
            total += 1
            lowered += hrv_time(clean_rr(rr[sel]).rr_ms).rmssd < hrv_time(rr[sel]).rmssd
    assert total > 0 and lowered >= 0.9 * total
