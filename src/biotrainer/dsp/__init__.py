"""Signal processing and metrics: pure numpy/scipy, explicit sampling rates, no Qt, no I/O.

Whole-recording functions are named ``<signal>_<verb>`` and streaming classes have
``push(chunk)`` and ``reset()``; a stream fed a whole signal gives the offline result.
"""

from biotrainer.dsp.alpha_stream import AlphaStream, AlphaUpdate
from biotrainer.dsp.ecg import EcgPeakStream, ecg_peaks
from biotrainer.dsp.eeg import BandPowers, band_powers, relaxation_index
from biotrainer.dsp.filters import StreamingFilter, butter_sos, notch_sos
from biotrainer.dsp.hrv import (
    HrvFrequency,
    HrvTime,
    breathing_rate,
    coherence,
    hrv_frequency,
    hrv_time,
)
from biotrainer.dsp.ppg import PpgPeakStream, ppg_peaks
from biotrainer.dsp.quality import (
    FeedbackGate,
    SignalQuality,
    StreamingQuality,
    feedback_blocked,
    gate_feedback,
    signal_quality,
)
from biotrainer.dsp.rr import RrCleaning, clean_rr, fill_rr_holes, rr_from_peaks

__all__ = [
    "AlphaStream",
    "AlphaUpdate",
    "BandPowers",
    "EcgPeakStream",
    "FeedbackGate",
    "HrvFrequency",
    "HrvTime",
    "PpgPeakStream",
    "RrCleaning",
    "SignalQuality",
    "StreamingFilter",
    "StreamingQuality",
    "band_powers",
    "breathing_rate",
    "butter_sos",
    "clean_rr",
    "coherence",
    "ecg_peaks",
    "feedback_blocked",
    "fill_rr_holes",
    "gate_feedback",
    "hrv_frequency",
    "hrv_time",
    "notch_sos",
    "ppg_peaks",
    "relaxation_index",
    "rr_from_peaks",
    "signal_quality",
]
