"""Bounds shared by the command line and the files it reads (no imports: the CLI starts fast)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (for the type hints only)
    from biotrainer.acquisition.source import SourceLayout

#: A jump between consecutive timestamps of a preset longer than this is a gap in the data (s):
#: the recorder logs it, the EDF export closes it up, and a jump in a device's packet numbers
#: across it is not counted as samples lost on the way (the timestamps show it themselves).
GAP_THRESHOLD_S = 1.0

#: Longest wait (s) for a device to answer: ``--timeout`` and a device profile's
#: ``connection.timeout``.
MAX_TIMEOUT_S = 600.0

#: Longest text of a connection setting handed to BrainFlow (``--serial-port``,
#: ``--serial-number``, ``--other-info``, ``--ip-address``), in characters: a file name's 255.
#: BrainFlow 5.x aborts the whole process ("double free or corruption") on a serial port name
#: of some 1050 bytes; no device name, serial number or setting comes near 255.
MAX_CONNECTION_TEXT = 255

#: Largest simulator seed (``--seed``, a simulator profile's ``seed``): the generator draws from
#: 32 bits of it, so larger seeds would repeat smaller ones under another name.
MAX_SEED = 2**32 - 1

#: Longest simulator scenario (s), all its segments together: 4 h, the longest phase a protocol
#: may have. Rendering one takes some 0.4 GB of memory per hour of the 16-channel layout.
MAX_SCENARIO_S = 4 * 3600.0

#: Slowest ``--speed`` (times real time): slower, a session would seem to stand still.
MIN_SPEED = 0.01

#: Seconds without a heart beat after which the heart metrics are withdrawn (a sensor come off;
#: a heart at 30 beats/min has then missed two beats in a row). A source of RR intervals alone,
#: a beat or two apart, is silent, has a gap in its recording and a hole in its data only after
#: this long.
BEATS_LOST_S = 5.0


def loss_after_s(fs: float, regular_s: float) -> float:
    """Seconds without a sample that are a loss of signal for a stream sampled at ``fs`` Hz:
    ``regular_s`` for a regular stream, at least :data:`BEATS_LOST_S` for one without a fixed
    rate (RR intervals, ``fs`` 0: one sample a beat, two at once from some bridges)."""
    return regular_s if fs > 0 else max(regular_s, BEATS_LOST_S)


#: Sampling rates (Hz) the signal processing takes for the roles it computes metrics from, as
#: (lowest, highest or None). EEG: :data:`biotrainer.dsp.alpha_stream.MIN_FS_HZ` (the alpha
#: band must lie well below Nyquist); ECG: :class:`~biotrainer.dsp.ecg.EcgPeakStream`; PPG:
#: :class:`~biotrainer.dsp.ppg.PpgPeakStream` (tests/engine/test_role_rates.py holds these to
#: the DSP classes).
ROLE_RATES_HZ: dict[str, tuple[float, float | None]] = {
    "eeg": (32.0, None),
    "ecg": (100.0, 20000.0),
    "ppg": (10.0, 10000.0),
}


def role_rate_problem(role: str, fs: float) -> str | None:
    """What keeps biotrainer from processing ``role`` sampled at ``fs`` Hz, or None.

    Parameters
    ----------
    role : str
        A channel group's role (``"eeg"``...); roles without metrics of their own (``"resp"``,
        ``"rr"``...) have no bounds here.
    fs : float
        The sampling rate, Hz.

    Returns
    -------
    str or None
        E.g. ``"its EEG comes at 20 Hz, below the 32 Hz biotrainer needs for EEG"``.
    """
    bounds = ROLE_RATES_HZ.get(role)
    if bounds is None:
        return None
    low, high = bounds
    name = role.upper()
    if not fs >= low:
        return f"its {name} comes at {fs:g} Hz, below the {low:g} Hz biotrainer needs for {name}"
    if high is not None and fs > high:
        return f"its {name} comes at {fs:g} Hz, above the {high:g} Hz biotrainer takes for {name}"
    return None


def layout_rate_problem(layout: SourceLayout) -> str | None:
    """:func:`role_rate_problem` of the first channel group of ``layout`` whose rate biotrainer
    cannot process, or None when every group's rate is fine."""
    for group in layout.groups:
        problem = role_rate_problem(group.role, layout.preset(group.preset).fs)
        if problem is not None:
            return problem
    return None
