"""The low-memory generator code computes exactly what plain whole-array code computes.

A render is cached under a key holding ``GENERATOR_VERSION``, so changing a single output value
without bumping it would make a cached render and a fresh one differ. The generator works a row
or a block at a time to keep a long render's memory down; each test here compares one of those
pieces bit for bit with a straightforward whole-array reference (the code it replaced).
"""

from __future__ import annotations

import numpy as np
import pytest
from brainflow.data_filter import DataFilter
from simulator_helpers import steady_scenario

from biotrainer.acquisition.simulator import cardiac, eeg, noise, render, render_scenario


def _shaped_reference(rng, n, fs, gain, channels):
    n_fft = max(int(n), 2)
    spec = rng.standard_normal((channels, n_fft // 2 + 1)) + 1j * rng.standard_normal(
        (channels, n_fft // 2 + 1)
    )
    freqs = np.fft.rfftfreq(n_fft, 1.0 / fs)
    spec *= gain(freqs)
    x = np.fft.irfft(spec, n=n_fft, axis=-1)[:, :n]
    rms = np.sqrt(np.mean(x**2, axis=-1, keepdims=True))
    return x / np.where(rms > 0, rms, 1.0)


def _render_eeg_reference(t, fs, names, scenario, iaf_hz, rng, shaped):
    p = scenario.person
    n, c = t.size, len(names)
    gains = [eeg.site_gains(nm) for nm in names]
    g = {k: np.array([gi[k] for gi in gains])[:, None] for k in eeg.GAIN_NAMES}

    def pink(ch=1):
        return shaped(rng, n, fs, noise.pink_gain(1.2, 0.5), ch)

    def narrow(center, width, ch=1):
        return shaped(rng, n, fs, noise.narrowband_gain(center, width), ch)

    common_bg = pink()
    own_bg = pink(c)
    x = p.background_uv * (0.45 * common_bg + 0.9 * own_bg) / np.hypot(0.45, 0.9)
    common_alpha = narrow(iaf_hz, 0.45)
    own_alpha = narrow(iaf_hz, 0.45, c)
    alpha = (common_alpha + 0.35 * own_alpha) / np.hypot(1.0, 0.35)
    x += g["alpha"] * eeg.alpha_envelope(scenario, t) * alpha
    st = scenario.evaluate(t)
    arousal = 0.3 + 0.7 * (1.0 - st.relaxation)
    x += g["theta"] * p.theta_uv * arousal * narrow(5.8, 0.9, c)
    beta = shaped(rng, n, fs, noise.band_gain(13.0, 30.0, fs), c)
    x += g["beta"] * p.beta_uv * arousal * beta
    phase = rng.uniform(0, 2 * np.pi, size=(c, 1))
    line_amp = p.line_noise_uv * rng.uniform(0.5, 1.5, size=(c, 1))
    x += line_amp * np.sqrt(2) * np.sin(2 * np.pi * p.line_noise_hz * t[None, :] + phase)
    x += rng.normal(0.0, 0.7, size=(c, n))
    return x


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("n", [1, 2, 7, 500, 1001])
@pytest.mark.parametrize("channels", [1, 3])
def test_shaped_noise_equals_the_whole_array_reference(n, channels):
    gains = [
        noise.pink_gain(1.2, 0.5),
        noise.narrowband_gain(10.0, 0.45),
        noise.band_gain(13.0, 300.0, 250.0),
    ]
    for gain in gains:
        a, b = noise.stream(3, "x"), noise.stream(3, "x")
        assert _same(
            noise._shaped(a, n, 250.0, gain, channels),
            _shaped_reference(b, n, 250.0, gain, channels),
        )
        assert a.standard_normal() == b.standard_normal()  # the stream is left in the same state


def test_public_noise_functions_and_their_row_iterators_agree():
    rng = [noise.stream(1, "y") for _ in range(2)]
    cases = [
        (noise.pink, noise.pink_gain(1.5, f_min=1.0), (1.5,), {"f_min": 1.0}),
        (noise.narrowband, noise.narrowband_gain(9.5, 0.5), (9.5, 0.5), {}),
        (noise.band, noise.band_gain(4.0, 7.0, 128.0), (4.0, 7.0), {}),
    ]
    for whole, gain, args, kw in cases:
        x = whole(rng[0], 999, 128.0, *args, channels=3, **kw)
        y = np.stack(list(noise.shaped_rows(rng[1], 999, 128.0, gain, 3)))
        assert _same(x, y)
    assert rng[0].standard_normal() == rng[1].standard_normal()


def test_render_eeg_equals_the_whole_array_reference():
    sc = steady_scenario(20, 12.0)
    fs = 256.0
    t = np.arange(int(20 * fs)) / fs
    names = ("TP9", "AF7", "AF8", "TP10", "O1")
    a, b = noise.stream(4, "eeg"), noise.stream(4, "eeg")
    x = eeg.render_eeg(t, fs, names, sc, 10.2, a)
    ref = _render_eeg_reference(t, fs, names, sc, 10.2, b, _shaped_reference)
    assert _same(x, ref)
    assert a.standard_normal() == b.standard_normal()


def test_relaxation_at_equals_evaluate():
    sc = steady_scenario(20, 12.0)
    t = np.linspace(-1.0, 25.0, 3001)
    assert _same(sc.relaxation_at(t, block=97), sc.evaluate(t).relaxation)


def test_ppg_peak_times_do_not_depend_on_the_block_size():
    sc = steady_scenario(60, 12.0)
    m = render._build_model(sc, 9)
    whole = cardiac.ppg_peak_times(m.heart, m.breathing, block=1 << 30)  # one block: all at once
    assert np.isfinite(whole).sum() > 40
    for block in (64, 1000, 4096):
        assert _same(cardiac.ppg_peak_times(m.heart, m.breathing, block=block), whole)


def test_files_written_in_blocks_equal_one_write(tmp_path, monkeypatch, muse_layout):
    r = render_scenario(steady_scenario(12, 12.0), muse_layout, seed=1)
    monkeypatch.setattr(render, "_WRITE_BLOCK", 100)
    files = render.write_rendered(r, tmp_path / "blocks")
    (tmp_path / "once").mkdir()
    for preset, arr in r.data.items():
        assert arr.shape[1] > 100
        once = tmp_path / "once" / files[preset].name
        DataFilter.write_file(np.ascontiguousarray(arr), str(once), "w")
        assert files[preset].read_bytes() == once.read_bytes()
