"""RawBlockReader cuts a BrainFlow raw file into blocks of exactly ``block_lines`` lines (the
last one shorter), with the values numpy's parser gives for the whole file, and drops a partial
last line."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from biotrainer.errors import RecordingError
from biotrainer.session.rawfile import RawBlockReader, append_raw


def _write(path: Path, n: int, rows: int = 5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = rng.normal(0, 50, (rows, n))
    data[0] = np.arange(n)
    data[-1] = 1.7e9 + np.arange(n) / 250.0
    for a in range(0, n, 333):  # appended in pieces, as the recorder does
        append_raw(path, data[:, a : a + 333])
    return data


def _read_all(path: Path, rows: int, block: int) -> tuple[list[int], np.ndarray, RawBlockReader]:
    r = RawBlockReader(path, rows, block)
    sizes, parts = [], []
    while (b := r.read_block()).shape[1]:
        sizes.append(b.shape[1])
        parts.append(b)
    r.close()
    return sizes, np.concatenate(parts, axis=1) if parts else np.empty((rows, 0)), r


@pytest.mark.parametrize("block", [1, 7, 100, 1000, 4096, 100_000])
def test_blocks_have_exactly_block_lines(tmp_path: Path, block: int) -> None:
    path = tmp_path / "raw.csv"
    _write(path, 2500)
    whole = np.loadtxt(io.BytesIO(path.read_bytes()), delimiter="\t", ndmin=2).T
    sizes, got, r = _read_all(path, 5, block)
    assert sum(sizes) == 2500 == r.lines_read
    assert all(s == block for s in sizes[:-1]) and 0 < sizes[-1] <= block
    np.testing.assert_array_equal(got, whole)
    assert not r.dropped_partial_line


def test_partial_last_line_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "raw.csv"
    _write(path, 1000)
    with open(path, "ab") as f:
        f.write(b"1000.000000\t3.2\t-1.")  # a writer killed mid-line
    for block in (10, 1000, 5000):
        sizes, got, r = _read_all(path, 5, block)
        assert sum(sizes) == 1000 and got.shape == (5, 1000)
        assert r.dropped_partial_line


def test_empty_file_and_corrupt_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    sizes, _, r = _read_all(empty, 5, 100)
    assert sizes == [] and not r.dropped_partial_line
    bad = tmp_path / "bad.csv"
    _write(bad, 300)
    text = bad.read_bytes().split(b"\n")
    text[250] = b"1\t2\tx\t4\t5"
    bad.write_bytes(b"\n".join(text))
    with pytest.raises(RecordingError, match="line 251"):
        _read_all(bad, 5, 64)
