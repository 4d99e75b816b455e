"""CardiacProcessor: the batched path (all pieces of a block planned at once) leaves exactly
the state that pushing the pieces one by one leaves, whatever the block size."""

from __future__ import annotations

import math

import numpy as np

from biotrainer.engine.processors import CardiacProcessor

FS = 250.0
T0 = 1_700_000_000.0


def synthetic_ecg(seconds: float, seed: int = 1) -> np.ndarray:
    """Gaussian QRS/T complexes at RR intervals with 6/min sinus arrhythmia, premature beats
    and noise (a known beat train the detector finds)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    t = np.arange(n) / FS
    beats, b = [], 0.4
    while b < seconds:
        beats.append(b)
        rr = 0.85 + 0.08 * math.sin(2 * math.pi * 0.1 * b) + rng.normal(0, 0.01)
        if rng.random() < 0.03:
            rr *= 0.6  # a premature beat (cleaned away by clean_rr)
        b += rr
    x = rng.normal(0, 0.02, n)
    for bt in beats:
        x += 1.2 * np.exp(-0.5 * ((t - bt) / 0.012) ** 2)
        x += 0.25 * np.exp(-0.5 * ((t - bt - 0.25) / 0.04) ** 2)
    return x * 1000.0  # µV


def _state(p: CardiacProcessor) -> tuple:
    return (p.hr_bpm, p.rmssd_ms, p.coherence, p.breathing_bpm, p.take_new_beats())


def _same(a: tuple, b: tuple) -> bool:
    return all(
        (isinstance(x, float) and math.isnan(x) and math.isnan(y)) or x == y
        for x, y in zip(a, b, strict=True)
    )


def run_blocks(
    x: np.ndarray, block_s: float, piece: int = 25, sequential: bool = False
) -> list[tuple]:
    """Feed ``x`` in blocks of ``block_s`` seconds, each split into pieces of ``piece``
    samples (the engine's 0.1 s updates), and record the state after every piece.
    ``sequential``: the reference path, every piece's beats added and measured in turn."""
    p = CardiacProcessor(FS, "ecg", T0)
    if sequential:
        p._plan = lambda pieces, ends: None  # what push_many does for beats out of order
    out = []
    step = int(block_s * FS)
    for a in range(0, x.size, step):
        block = x[a : a + step]
        ends = [*range(piece, block.size, piece), block.size]
        for _ in p.push_many(block, ends):
            out.append(_state(p))
    return out


def test_batched_blocks_equal_piece_by_piece() -> None:
    x = synthetic_ecg(150.0)
    one_by_one = run_blocks(x, 0.1, sequential=True)
    assert len(one_by_one) == 1500
    n_beats = sum(len(s[-1]) for s in one_by_one)
    assert 160 < n_beats < 190
    final = one_by_one[-1]
    assert 60 < final[0] < 80 and final[1] > 5 and final[2] > 0 and 4 < final[3] < 8
    for block_s in (0.1, 10.0, 7.3, 150.0):
        batched = run_blocks(x, block_s)
        assert len(batched) == len(one_by_one)
        bad = [i for i, (a, b) in enumerate(zip(one_by_one, batched, strict=True))
               if not _same(a, b)]  # fmt: skip
        assert not bad, f"{block_s} s blocks differ first at piece {bad[0]}"


def test_rr_source_metrics_follow_the_intervals() -> None:
    p = CardiacProcessor(FS, "rr", T0)
    rr = 1000.0 + 50.0 * np.sin(2 * np.pi * np.arange(120) / 10)
    stamps = T0 + np.cumsum(rr) / 1000.0
    for i in range(0, 120, 4):
        p.push_rr(rr[i : i + 4], stamps[i : i + 4])
    assert 58 < p.hr_bpm < 64
    d = np.diff(rr[-60:])
    assert abs(p.rmssd_ms - math.sqrt(np.mean(d * d))) < 5.0
    assert 5.5 < p.breathing_bpm < 6.5  # one cycle per 10 beats of 1 s


def run_blocks_with_holes(
    x: np.ndarray, stamps: np.ndarray, block_s: float, sequential: bool = False
) -> list[tuple]:
    """As :func:`run_blocks`, the holes in ``stamps`` marked before each block (as the engine
    does)."""
    p = CardiacProcessor(FS, "ecg", T0)
    if sequential:
        p._plan = lambda pieces, ends: None
    out = []
    step = int(block_s * FS)
    for a in range(0, x.size, step):
        block = x[a : a + step]
        steps = np.diff(stamps[max(a - 1, 0) : a + block.size], prepend=[] if a else stamps[0])
        holes = np.flatnonzero(steps > 0.5)
        p.mark_holes(holes.tolist(), steps[holes].tolist())
        ends = [*range(25, block.size, 25), block.size]
        for _ in p.push_many(block, ends):
            out.append(_state(p))
    return out


def test_batched_blocks_equal_piece_by_piece_across_holes() -> None:
    """Holes bridged (2 s), starting a new coherence window (8 s) and a new series for all
    metrics (70 s): the batched path still gives exactly the one-by-one path's values."""
    x = synthetic_ecg(400.0)
    stamps = T0 + np.arange(x.size) / FS
    keep = np.ones(x.size, dtype=bool)
    for at, hole in ((100.0, 2.0), (170.0, 8.0), (240.0, 70.0)):
        keep[int(at * FS) : int((at + hole) * FS)] = False
    x, stamps = x[keep], stamps[keep]
    one_by_one = run_blocks_with_holes(x, stamps, 0.1, sequential=True)
    coherent = [s[2] for s in one_by_one]
    assert all(math.isfinite(c) for c in coherent[1100:1300])  # bridged 2 s at 100 s
    assert sum(math.isnan(c) for c in coherent[1650:2300]) > 300  # restarted after 8 s
    for block_s in (0.1, 10.0, 7.3, 400.0):
        batched = run_blocks_with_holes(x, stamps, block_s)
        assert len(batched) == len(one_by_one)
        bad = [i for i, (a, b) in enumerate(zip(one_by_one, batched, strict=True))
               if not _same(a, b)]  # fmt: skip
        assert not bad, f"{block_s} s blocks differ first at piece {bad[0]}"


def _rr_metrics(rr: np.ndarray, stamps: np.ndarray) -> list[tuple]:
    p = CardiacProcessor(FS, "rr", T0)
    out = []
    for i in range(0, rr.size, 2):
        p.push_rr(rr[i : i + 2], stamps[i : i + 2])
        out.append((float(stamps[min(i + 1, rr.size - 1)]), p.hr_bpm, p.coherence,
                    p.breathing_bpm))  # fmt: skip
    return out


def test_an_rr_source_that_lost_beats_is_bridged_not_joined() -> None:
    """A chest strap's stream that lost 5 beats (~4 s): the beats after it are re-anchored to
    their timestamps, and the interval across the pause is no RR interval. Taken for one, the
    heart rate read ~41 for ~71 beats/min for 10 s and coherence 1.1-1.9 for 6-7.7 for a
    minute."""
    beat = np.arange(400) * 0.85
    rr = 850.0 + 60.0 * np.sin(2 * np.pi * 0.1 * beat)
    rr += np.random.default_rng(1).normal(0, 8, rr.size)
    stamps = T0 + np.cumsum(rr) / 1000.0
    whole = _rr_metrics(rr, stamps)
    keep = np.ones(rr.size, dtype=bool)
    keep[150:155] = False
    holed = _rr_metrics(rr[keep], stamps[keep])
    times = np.array([w[0] for w in whole])
    back = stamps[155]
    after = [(h, whole[int(np.argmin(np.abs(times - h[0])))]) for h in holed
             if back <= h[0] < back + 60.0]  # fmt: skip
    assert len(after) > 30
    for h, w in after:
        assert abs(h[1] - w[1]) < 3.0  # heart rate
        assert abs(h[2] - w[2]) < 0.3 * w[2]  # coherence
        assert abs(h[3] - w[3]) < 0.2  # breathing rate


def _states_by_time(x: np.ndarray, stamps: np.ndarray) -> tuple[CardiacProcessor, dict]:
    """Feed ``x`` in 0.1-s blocks, holes marked as the engine does; the state after each block
    by the time (s from T0, 0.1 s grid) of its last sample."""
    p = CardiacProcessor(FS, "ecg", T0)
    out = {}
    for a in range(0, x.size, 25):
        block = x[a : a + 25]
        steps = np.diff(stamps[max(a - 1, 0) : a + block.size], prepend=[] if a else stamps[0])
        holes = np.flatnonzero(steps > 0.5)
        p.mark_holes(holes.tolist(), steps[holes].tolist())
        p.push(block)
        out[round(float(stamps[a + block.size - 1] - T0), 1)] = _state(p)[:4]
    return p, out


def _cut(x: np.ndarray, *holes: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    stamps = T0 + np.arange(x.size) / FS
    keep = np.ones(x.size, dtype=bool)
    for at, length in holes:
        keep[int(at * FS) : int((at + length) * FS)] = False
    return x[keep], stamps[keep]


def test_two_holes_between_the_same_two_beats_are_bridged_with_both_lengths() -> None:
    """A link that flaps (2 s gone, 0.2 s back, 2 s gone) with no beat in between: the interval
    across both got one hole's time, and coherence read 62 % off the record without the holes
    for a minute."""
    x = synthetic_ecg(300.0)
    _, whole = _states_by_time(*_cut(x))
    _, holed = _states_by_time(*_cut(x, (150.36, 2.0), (150.56 + 2.0, 2.0)))
    errors = [abs(v[2] - whole[t][2]) / whole[t][2] for t, v in holed.items()
              if 160.0 <= t < 215.0 and t in whole]  # fmt: skip
    assert len(errors) > 400 and np.median(errors) < 0.15


def test_a_short_hole_while_the_beats_had_stopped_bridges_nothing() -> None:
    """A heart sensor off for 20 s with a 1-s hole in the data meanwhile: the interval across
    was bridged with 20 s of made-up beats (coherence 0.15-1.2 for ~6 for a minute). Now
    coherence waits for a new window of beats, as without the hole, and the heart rate is that
    of the beats, not one beat in 20 s (it read 14.5 at their return)."""
    x = synthetic_ecg(300.0)
    x[int(150 * FS) : int(170 * FS)] = 0.0
    _, holed = _states_by_time(*_cut(x, (160.0, 1.0)))
    back = [v for t, v in holed.items() if 171.0 <= t < 225.0]
    assert back and all(math.isnan(v[2]) for v in back)  # coherence withheld
    assert all(55.0 < v[0] < 90.0 for v in back)  # heart rate
    assert any(math.isfinite(v[2]) for t, v in holed.items() if t >= 240.0)


def test_the_holes_kept_stay_few_while_no_beats_come() -> None:
    """Every hole was kept for as long as no beat came (3600 after 4 h of a flat signal on a
    link that drops every 4 s), each one looked at on every block."""
    x = np.zeros(int(3600 * FS))
    x, stamps = _cut(x, *[(a, 1.0) for a in np.arange(2.0, 3598.0, 4.0)])
    p, _ = _states_by_time(x, stamps)
    assert len(p._holes) <= 100
