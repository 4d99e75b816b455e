"""Long raw texts are read by pandas' C reader (``rawfile._parse_plain``): the same values as
numpy's ``loadtxt`` bit for bit, and for any text that is not plainly ``rows`` numbers per line
the same result or the same error message as ``loadtxt`` gives."""

from __future__ import annotations

import io

import numpy as np
import pytest

from biotrainer.errors import RecordingError
from biotrainer.session import rawfile
from biotrainer.session.rawfile import FAST_PARSE_MIN_BYTES, parse_lines

ROWS = 4


def _text(n: int, seed: int = 0) -> tuple[bytes, np.ndarray]:
    """``n`` lines of BrainFlow's ``%f`` values plus values written with every digit."""
    rng = np.random.default_rng(seed)
    values = np.column_stack(
        [
            np.arange(n, dtype=float),
            rng.normal(0.0, 200.0, n),
            rng.standard_cauchy(n) * 1e-3,
            1.7e9 + np.arange(n) / 250.0,
        ]
    )
    lines = []
    for i, row in enumerate(values):
        fmt = repr if i % 3 == 0 else "{:.6f}".format  # shortest round trip, or BrainFlow's %f
        lines.append("\t".join(fmt(float(v)) for v in row))
    return ("\n".join(lines) + "\n").encode(), values


def _loadtxt(text: bytes) -> np.ndarray:
    return np.loadtxt(io.BytesIO(text), delimiter="\t", dtype=np.float64, ndmin=2).T


def _outcome(text: bytes) -> tuple[str, object]:
    try:
        return "ok", parse_lines(text, ROWS, "raw.csv")
    except RecordingError as exc:
        return "error", str(exc)


def test_long_text_takes_the_fast_path_with_loadtxts_values() -> None:
    text, _ = _text(30_000)
    assert len(text) > FAST_PARSE_MIN_BYTES
    fast = rawfile._parse_plain(text, ROWS)
    assert fast is not None
    np.testing.assert_array_equal(fast, _loadtxt(text))
    got = parse_lines(text, ROWS, "raw.csv")
    np.testing.assert_array_equal(got, _loadtxt(text))
    assert got.flags.c_contiguous and got.flags.writeable and got.shape == (ROWS, 30_000)


@pytest.mark.parametrize(
    "value",
    [
        "0.00000000000001953",  # read 1.95e-14 by pandas 1.2's "high" parser
        "1.700000000000000177635684",  # more digits than a double holds
        "-15.361",
        "4.9406564584124654e-324",  # the smallest subnormal
        "1.7976931348623157e308",
        "-0.0",
        "123456789012345678901234567890",
        "1e-400",  # underflows to 0
    ],
)
def test_hard_values_round_as_loadtxt_does(value: str) -> None:
    text, _ = _text(20_000)
    line = f"1.0\t{value}\t2.0\t3.0\n".encode()
    text = text + line * 10
    fast = rawfile._parse_plain(text, ROWS)
    assert fast is not None
    expected = _loadtxt(text)
    assert fast[1, -1] == float(value) and np.signbit(fast[1, -1]) == np.signbit(float(value))
    np.testing.assert_array_equal(fast, expected)


@pytest.mark.parametrize(
    "line",
    [
        b"\n",  # a blank line: loadtxt skips it
        b"   \n",  # a line of spaces: loadtxt refuses it
        b"1.0\t2.0\t3.0\n",  # a value missing
        b"1.0\t2.0\t3.0\t4.0\t5.0\n",  # a value too many
        b"1.0\t2.0\t3.0\t\n",  # a trailing tab
        b"1.0\tnan\t3.0\t4.0\n",  # a NaN sample: loadtxt reads it
        b"1.0\t-inf\t3.0\t4.0\n",
        b"# a comment\n",  # loadtxt skips comments
        b'1.0\t"2.0"\t3.0\t4.0\n',  # a quoted value
        b"1.0\t2,5\t3.0\t4.0\n",
        b"1.0\t\xff\t3.0\t4.0\n",  # a byte that is not text
        b"1.0 2.0 3.0 4.0\n",  # spaces instead of tabs
        b"1.0\t2.0\r\n",
    ],
)
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_text_that_is_not_plain_reads_as_loadtxt_reads_it(line: bytes, where: str) -> None:
    text, _ = _text(20_000)
    lines = text.splitlines(keepends=True)
    at = {"first": 0, "middle": len(lines) // 2, "last": len(lines)}[where]
    damaged = b"".join(lines[:at]) + line + b"".join(lines[at:])
    assert len(damaged) > FAST_PARSE_MIN_BYTES
    got = _outcome(damaged)
    old = rawfile.FAST_PARSE_MIN_BYTES
    try:
        rawfile.FAST_PARSE_MIN_BYTES = 1 << 62  # loadtxt alone, as before the fast path
        want = _outcome(damaged)
    finally:
        rawfile.FAST_PARSE_MIN_BYTES = old
    assert got[0] == want[0]
    if got[0] == "ok":
        np.testing.assert_array_equal(got[1], want[1])
    else:
        assert got[1] == want[1]  # the same message, naming the same line


def test_wrong_number_of_rows_is_not_read_fast() -> None:
    text, _ = _text(20_000)
    assert rawfile._parse_plain(text, ROWS + 1) is None
    with pytest.raises(RecordingError, match=r"4 values per line but session\.json describes 5"):
        parse_lines(text, ROWS + 1, "raw.csv")
