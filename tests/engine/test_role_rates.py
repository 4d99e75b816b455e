"""Sampling rates the processors cannot filter: one DeviceError naming role, rate and bound.

An EEG stream below 32 Hz, ECG below 100 Hz or PPG below 10 Hz made AlphaStream or the cardiac
processor raise a plain ValueError from ``Engine.start`` / the first tick, which the command
line shows as a traceback. The bounds of :data:`biotrainer.limits.ROLE_RATES_HZ` are the DSP
classes' own, checked here against them.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from memsource import MemorySource

from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout
from biotrainer.clock import SimulatedClock
from biotrainer.dsp.alpha_stream import AlphaStream
from biotrainer.dsp.ecg import EcgPeakStream
from biotrainer.dsp.ppg import PpgPeakStream
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.errors import DeviceError
from biotrainer.limits import ROLE_RATES_HZ, layout_rate_problem, role_rate_problem

MAKERS = {
    "eeg": lambda fs: AlphaStream(fs, 1),
    "ecg": EcgPeakStream,
    "ppg": PpgPeakStream,
}


@pytest.mark.parametrize("role", sorted(ROLE_RATES_HZ))
def test_the_bounds_are_those_of_the_dsp_classes(role) -> None:
    low, high = ROLE_RATES_HZ[role]
    make = MAKERS[role]
    make(low)  # the lowest rate is taken
    with pytest.raises(ValueError):
        make(low * 0.99)
    if high is not None:
        make(high)
        with pytest.raises(ValueError):
            make(high * 1.01)
    assert role_rate_problem(role, low) is None
    assert f"below the {low:g} Hz" in role_rate_problem(role, low * 0.99)


def test_roles_without_metrics_of_their_own_have_no_bounds() -> None:
    assert role_rate_problem("resp", 1.0) is None
    assert role_rate_problem("rr", 0.0) is None


def _layout(role: str, fs: float, rows: tuple[int, ...] = (0,)) -> SourceLayout:
    names = tuple(f"{role}{i}" for i in range(len(rows)))
    return SourceLayout(
        device="testdev",
        board_id=-1,
        presets=(PresetLayout("default", fs, 2, 1),),
        groups=(ChannelGroup(role, "default", rows, names, "uV"),),
    )


def _engine(layout: SourceLayout, protocol: str) -> Engine:
    fs = layout.presets[0].fs
    n = int(10 * fs)
    data = np.vstack([np.random.default_rng(0).normal(0, 10, n), 1000.0 + np.arange(n) / fs])
    clock = SimulatedClock(0.0)
    source = MemorySource(layout, {"default": data}, clock)
    return Engine(source, load_protocol(protocol), clock=clock)


@pytest.mark.parametrize(
    ("role", "fs", "protocol", "words"),
    [
        ("eeg", 20.0, "alpha-uptraining", "its EEG comes at 20 Hz, below the 32 Hz"),
        ("ecg", 50.0, "hrv-resonance-breathing", "its ECG comes at 50 Hz, below the 100 Hz"),
        ("ppg", 5.0, "hrv-resonance-breathing", "its PPG comes at 5 Hz, below the 10 Hz"),
    ],
)
def test_the_engine_refuses_a_rate_its_processors_cannot_filter(role, fs, protocol, words) -> None:
    """(A ValueError from AlphaStream at start, or from the cardiac processor at the first
    tick, before.)"""
    engine = _engine(_layout(role, fs), protocol)
    try:
        with pytest.raises(DeviceError, match=words):
            engine.start()
            engine.tick()
    finally:
        engine.source.release()


def test_an_eeg_group_of_no_channel_is_a_device_error_not_a_value_error() -> None:
    """Whatever else a processor refuses (here an EEG group with no row) ends the session
    with a DeviceError too."""
    engine = _engine(_layout("eeg", 256.0, rows=()), "alpha-uptraining")
    try:
        with pytest.raises(DeviceError, match="cannot process this EEG signal: n_channels"):
            engine.start()
    finally:
        engine.source.release()


def test_an_eeg_rate_is_no_matter_when_the_protocol_does_not_use_eeg() -> None:
    """An HRV protocol on a source whose EEG is too slow runs on its heart signal."""
    layout = SourceLayout(
        device="testdev",
        board_id=-1,
        presets=(PresetLayout("default", 20.0, 2, 1), PresetLayout("ancillary", 250.0, 2, 1)),
        groups=(
            ChannelGroup("eeg", "default", (0,), ("Fz",), "uV"),
            ChannelGroup("ecg", "ancillary", (0,), ("ECG",), "uV"),
        ),
    )
    assert "EEG comes at 20 Hz" in layout_rate_problem(layout)
    clock = SimulatedClock(0.0)
    data = {
        p.preset: np.vstack([np.zeros(int(10 * p.fs)), 1000.0 + np.arange(int(10 * p.fs)) / p.fs])
        for p in layout.presets
    }
    engine = Engine(
        MemorySource(layout, data, clock), load_protocol("hrv-resonance-breathing"), clock=clock
    )
    try:
        engine.start()
        clock.advance(1.0)
        engine.tick()
        assert engine.eeg is None and engine.cardiac is not None
    finally:
        engine.source.release()


@pytest.mark.parametrize(
    ("role", "protocol", "needs"),
    [
        ("eeg", "hrv-resonance-breathing", "needs a heart signal (ECG, PPG or RR intervals),"),
        ("eeg", "resonance-assessment", "needs a heart signal (ECG, PPG or RR intervals),"),
        ("eeg", "eeg-hrv-relaxation", "needs a heart signal (ECG, PPG or RR intervals),"),
        ("ecg", "alpha-uptraining", "needs EEG,"),
        ("ecg", "eyes-closed-relaxation", "needs EEG,"),
        ("resp", "eeg-hrv-relaxation", "needs EEG and a heart signal"),
    ],
)
def test_a_protocol_needing_a_signal_the_source_lacks_is_refused_at_start(
    role, protocol, needs
) -> None:
    """A heart-rate protocol on an EEG headset without a pulse sensor ran to its end with the
    feedback on hold ("this protocol needs ECG or PPG" on every update) and was registered as a
    session with 0 % clean; it is refused before protocol time starts, naming what it needs."""
    engine = _engine(_layout(role, 256.0), protocol)
    try:
        with pytest.raises(
            DeviceError, match=re.escape(f"the protocol {protocol} {needs}")
        ) as caught:
            engine.start()
        assert "the source testdev has none" in str(caught.value)
        assert engine.latest is None
    finally:
        engine.source.release()


@pytest.mark.parametrize(
    ("role", "protocol"),
    [
        ("eeg", "alpha-uptraining"),
        ("ecg", "hrv-resonance-breathing"),
        ("rr", "resonance-assessment"),
    ],
)
def test_a_protocol_whose_signals_the_source_has_starts(role, protocol) -> None:
    engine = _engine(_layout(role, 256.0), protocol)
    try:
        engine.start()
        assert engine.started
    finally:
        engine.source.release()
