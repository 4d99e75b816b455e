"""Streaming SOS filters: chunked output equals one scipy.signal.sosfilt pass, bit for bit,
through scipy's compiled loop and through the public-function fallback alike."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from biotrainer.dsp import filters
from biotrainer.dsp.filters import StreamingFilter, butter_sos, notch_sos, sosfilt_rows

FS = 250.0


@pytest.fixture(params=["compiled loop", "public sosfilt"])
def kernel(request, monkeypatch):
    """Run each test with scipy's compiled loop and with the fallback."""
    if request.param == "public sosfilt":
        monkeypatch.setattr(filters, "_sosfilt_kernel", None)
    elif filters._sosfilt_kernel is None:
        pytest.skip("this scipy does not expose its compiled SOS loop")
    return request.param


def chunks(n: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Random chunk bounds covering 0..n, empty and one-sample chunks included."""
    edges = np.sort(rng.integers(0, n, size=40))
    edges = np.concatenate(([0], edges, [0, 0], [n]))
    edges.sort()
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


@pytest.mark.parametrize(
    "sos",
    [
        butter_sos(FS, 1.0, 40.0, order=4),
        butter_sos(FS, low=0.5, order=2),
        butter_sos(FS, high=3.0, order=2),
        notch_sos(FS, 50.0),
    ],
    ids=["bandpass", "highpass", "lowpass", "notch"],
)
def test_chunked_stream_equals_one_sosfilt_pass_bit_for_bit(kernel, sos) -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 3000)) * 20 + 300.0  # an offset: the start state matters
    zi = signal.sosfilt_zi(sos)[:, None, :] * x[:, 0][None, :, None]  # steady state at x[0]
    expected = signal.sosfilt(sos, x, axis=-1, zi=zi)[0]
    f = StreamingFilter(sos, n_channels=6)
    out = np.concatenate([f.push(x[:, a:b]) for a, b in chunks(x.shape[1], rng)], axis=1)
    assert np.array_equal(out, expected)
    # one channel as a 1-D signal
    f1 = StreamingFilter(sos)
    out1 = np.concatenate([f1.push(x[2, a:b]) for a, b in chunks(x.shape[1], rng)])
    assert out1.ndim == 1
    assert np.array_equal(out1, expected[2])


def test_push_never_changes_its_input_and_returns_a_new_array(kernel) -> None:
    x = np.arange(40.0).reshape(2, 20)
    keep = x.copy()
    f = StreamingFilter(butter_sos(FS, 1.0, 40.0), n_channels=2)
    y = f.push(x)
    assert np.array_equal(x, keep)
    assert not np.shares_memory(x, y)
    # non-contiguous and integer input is accepted too
    ints = np.arange(60).reshape(3, 20)[::2, ::1]
    assert StreamingFilter(butter_sos(FS, 1.0, 40.0), 2).push(ints).dtype == np.float64


def test_reset_and_process_start_a_new_stream(kernel) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 500))
    f = StreamingFilter(butter_sos(FS, 1.0, 40.0), 3)
    first = f.process(x)
    f.push(rng.standard_normal((3, 77)))
    assert np.array_equal(f.process(x), first)


def test_a_chunk_with_another_number_of_channels_is_refused(kernel) -> None:
    f = StreamingFilter(butter_sos(FS, 1.0, 40.0), 4)
    f.push(np.zeros((4, 10)))
    with pytest.raises(ValueError, match="4 signal"):
        f.push(np.zeros((3, 10)))


def test_sosfilt_rows_on_complex_signals_matches_sosfilt(kernel) -> None:
    rng = np.random.default_rng(3)
    sos = butter_sos(FS, high=3.0, order=2)
    x = rng.standard_normal((5, 800)) + 1j * rng.standard_normal((5, 800))
    zi0 = rng.standard_normal((5, sos.shape[0], 2)) * (1 + 0.5j)
    expected, zf = signal.sosfilt(sos, x, axis=-1, zi=zi0.transpose(1, 0, 2))
    y, zi = np.array(x, order="C"), zi0.copy()
    sosfilt_rows(sos.astype(np.complex128), y, zi)
    assert np.array_equal(y, expected)
    assert np.array_equal(zi, zf.transpose(1, 0, 2))


def test_the_private_loop_is_used_only_when_it_checks_out(monkeypatch) -> None:
    private = pytest.importorskip("scipy.signal._sosfilt")

    if filters._sosfilt_kernel is not None:
        assert filters._compiled_sosfilt() is private._sosfilt
    monkeypatch.setattr(private, "_sosfilt", lambda sos, x, zi: None)  # wrong numbers
    assert filters._compiled_sosfilt() is None

    def changed_signature(sos, x):
        raise AssertionError("not called like this")

    monkeypatch.setattr(private, "_sosfilt", changed_signature)
    assert filters._compiled_sosfilt() is None
