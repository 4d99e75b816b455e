"""TimestampScan: a step back of the clock is noted, lines out of order are refused, block by
block exactly as in one piece."""

from __future__ import annotations

import numpy as np
import pytest

from biotrainer.errors import RecordingError
from biotrainer.session.timestamps import KEPT, TimestampScan

FS = 256.0


def _ts(n: int = 2048) -> np.ndarray:
    return 1000.0 + np.arange(n) / FS


def _set_back(ts: np.ndarray, line: int, seconds: float) -> np.ndarray:
    """The clock set back by ``seconds`` just before ``line`` (1-based)."""
    out = ts.copy()
    out[line - 1 :] -= seconds
    return out


def _scan(ts: np.ndarray, block: int | None = None, in_order: bool = True) -> TimestampScan:
    scan = TimestampScan("/s/raw_default.csv", in_order=in_order)
    block = block or ts.size
    for k in range(0, ts.size, block):
        scan.add(ts[k : k + block], k + 1)
    return scan


def test_a_clock_set_back_is_one_note_naming_the_line_and_size() -> None:
    ts = _set_back(_ts(), 1001, 1.6)
    scan = _scan(ts)
    assert scan.note() == (
        f"raw_default.csv: the timestamps go back by 1.6 s at line 1001 (a clock change?); {KEPT}"
    )
    assert scan.notes() == [scan.note()]
    assert (scan.lines, scan.first, scan.last) == (2048, ts.min(), ts.max())


@pytest.mark.parametrize("block", [1, 2, 7, 256, 1000, 1001, 4096])
def test_blocks_give_what_one_piece_gives(block: int) -> None:
    """The step may fall on a block's first line (1001 = 1000 + 1): the line before it is in
    the previous block."""
    ts = _set_back(_set_back(_ts(), 1001, 1.6), 1500, 30.0)
    whole, blocks = _scan(ts), _scan(ts, block)
    assert blocks.note() == whole.note()
    assert "at line 1001 (a clock change?) and at 1 more line, by up to 30.0 s" in whole.note()
    assert (blocks.steps, blocks.first_step, blocks.lines) == (
        2,
        (1001, pytest.approx(1.6, abs=0.01)),
        2048,
    )


def test_a_clock_set_back_further_than_the_recording_went_is_still_in_order() -> None:
    scan = _scan(_set_back(_ts(), 1001, 3600.0))  # the last line is an hour before the first
    assert scan.disorder is None and "go back by 3600.0 s at line 1001" in scan.note()


def test_one_line_stamped_far_back_is_a_step_back() -> None:
    ts = _ts()
    ts[600] -= 12.3
    assert "go back by 12.3 s at line 601" in _scan(ts).note()


def test_jitter_is_not_a_step() -> None:
    ts = _ts()
    ts[100] -= 0.01  # Bluetooth timestamps step back by milliseconds
    scan = _scan(ts)
    assert scan.note() is None and scan.notes() == []


def test_reversed_lines_are_out_of_order() -> None:
    """Each line a little earlier than the one before: no step of a clock, a file out of
    order. Refused where the lines must be in order, noted where every sample is kept."""
    ts = _ts()[::-1].copy()
    with pytest.raises(RecordingError) as err:
        _scan(ts, block=100)
    assert str(err.value) == (
        "/s/raw_default.csv is corrupt: its timestamps are not increasing (line 258 is 1.004 s "
        "earlier than a line before it); biotrainer export keeps every sample"
    )
    kept = _scan(ts, in_order=False)
    assert kept.notes() == [
        "raw_default.csv: the timestamps are not increasing (line 258 is 1.004 s earlier than a "
        f"line before it); {KEPT}"
    ]


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_timestamp_that_is_not_a_number_is_named(bad: float) -> None:
    ts = _ts()
    ts[40] = bad
    with pytest.raises(RecordingError, match="the timestamp at line 41 is not a number"):
        _scan(ts, block=16, in_order=False)
