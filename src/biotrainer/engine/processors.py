"""Per-modality processing inside the engine: EEG (alpha, relaxation, quality) and cardiac
(beats, HR, RMSSD, coherence, breathing rate).

Each processor takes consecutive sample blocks of one role (``push``) and keeps its latest
metric values as attributes; the engine reads them when it makes an update. They are plain
Python over :mod:`biotrainer.dsp`, so what the engine computes live is what an offline pass
over the same recording computes.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from biotrainer.dsp.alpha_stream import AlphaStream
from biotrainer.dsp.buffers import RingBuffer
from biotrainer.dsp.ecg import EcgPeakStream
from biotrainer.dsp.eeg import BandPowers, band_powers, relaxation_index
from biotrainer.dsp.hrv import breathing_rate, coherence, hrv_time
from biotrainer.dsp.ppg import PpgPeakStream
from biotrainer.dsp.quality import SignalQuality, StreamingQuality, feedback_blocked
from biotrainer.dsp.rr import clean_rr

NAN = math.nan


class EegProcessor:
    """Alpha feedback (every sample), relaxation index and band powers (every ``every_s`` of
    data, on the last ``window_s``), and per-channel quality (1 s window, 4 per second).

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    channel_names : tuple of str
        EEG channel labels.
    window_s : float
        Window of the relaxation index and the band powers (4 s).
    every_s : float
        How often (seconds of data) they are recomputed (0.5 s).
    """

    def __init__(
        self, fs: float, channel_names: tuple[str, ...], window_s: float = 4.0, every_s: float = 0.5
    ) -> None:
        self.fs = float(fs)
        self.channel_names = tuple(channel_names)
        n = len(self.channel_names)
        self.alpha_stream = AlphaStream(self.fs, n)
        self.quality_stream = StreamingQuality(self.fs, n, "eeg")
        self.window = RingBuffer(n, max(8, int(round(window_s * self.fs))))
        self._every = max(1, int(round(every_s * self.fs)))
        self._since = 0
        self._spectrum_every = 2  # band powers every 2nd relaxation update (1 s of data)
        self._count = 0
        self.alpha = NAN
        self.relaxation = NAN
        self.band_powers: BandPowers | None = None
        self.quality: SignalQuality | None = None

    @property
    def clean(self) -> bool:
        """True when the latest quality allows feedback (False before the first verdict)."""
        return self.quality is not None and not feedback_blocked(self.quality)

    @property
    def channel_ok(self) -> tuple[bool, ...]:
        if self.quality is None:
            return tuple(False for _ in self.channel_names)
        return tuple(bool(u) for u in self.quality.usable)

    @property
    def quality_reason(self) -> str:
        if self.quality is None:
            return "EEG: waiting for the first second of signal"
        bad = [
            f"{name}: {reason}"
            for name, reason in zip(self.channel_names, self.quality.reasons, strict=False)
            if reason != "ok"
        ]
        return "; ".join(bad) if bad else "ok"

    def push(self, samples: np.ndarray) -> None:
        """Process the next block ``(channels, n)``."""
        if samples.shape[1] == 0:
            return
        self.alpha = self.alpha_stream.push(samples).latest
        q = self.quality_stream.push(samples)
        if q is not None:
            self.quality = q
        self.window.push(samples)
        self._since += samples.shape[1]
        if self._since >= self._every and self.window.size >= self.window.capacity // 2:
            self._since = 0
            data = self.window.latest()
            usable = self.quality.usable if self.quality is not None else None
            self.relaxation = relaxation_index(data, self.fs, usable=usable)
            self._count += 1
            if self._count % self._spectrum_every == 0:
                self.band_powers = band_powers(data, self.fs)

    def reset(self) -> None:
        self.__init__(self.fs, self.channel_names)  # type: ignore[misc]


class CardiacProcessor:
    """Beats from ECG or PPG, then HR and RMSSD per beat, coherence and breathing rate.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    kind : {"ecg", "ppg", "rr"}
        "rr" takes RR intervals (:meth:`push_rr`) instead of samples.
    t0 : float
        Timestamp (s) of the first sample that will be pushed: beat times are
        ``t0 + position / fs``.
    rmssd_window_s : float
        RMSSD/HR window (60 s of beats).
    slow_every_s : float
        How often (seconds of data) coherence and breathing rate are recomputed (5 s).
    """

    def __init__(
        self,
        fs: float,
        kind: str,
        t0: float,
        rmssd_window_s: float = 60.0,
        slow_every_s: float = 5.0,
    ) -> None:
        if kind not in ("ecg", "ppg", "rr"):
            raise ValueError(f"cardiac kind must be 'ecg', 'ppg' or 'rr', got {kind!r}")
        self.fs = float(fs)
        self.kind = kind
        self.t0 = float(t0)
        self.stream = None
        if kind == "ecg":
            self.stream = EcgPeakStream(self.fs)
        elif kind == "ppg":
            self.stream = PpgPeakStream(self.fs)
        self.rmssd_window_s = rmssd_window_s
        self._slow_every = slow_every_s
        self._n = 0
        self._last_slow_t = self.t0
        self._beats: deque[float] = deque()  # beat times (s), last ~5 min
        self._keep_s = 300.0
        self.new_beats: list[float] = []
        self.hr_bpm = NAN
        self.rmssd_ms = NAN
        self.coherence = NAN
        self.breathing_bpm = NAN

    def rr_ms(self, window_s: float | None = None) -> np.ndarray:
        """RR intervals (ms) of the kept beats, optionally only the last ``window_s`` seconds."""
        t = np.fromiter(self._beats, dtype=float, count=len(self._beats))
        if window_s is not None and t.size:
            t = t[t >= t[-1] - window_s]
        return np.diff(t) * 1000.0

    def push(self, samples: np.ndarray) -> None:
        """Process the next block of one ECG or PPG channel, shape ``(n,)``."""
        if samples.size == 0:
            return
        if self.stream is None:
            raise ValueError("an RR source takes push_rr, not samples")
        positions = self.stream.push_positions(samples)
        self._n += samples.size
        self._add_beats(self.t0 + positions / self.fs, self.t0 + self._n / self.fs)

    def push_rr(self, rr_ms: np.ndarray, stamps: np.ndarray) -> None:
        """Take RR intervals (ms) from a device that reports them (e.g. a chest strap over LSL),
        with their timestamps (s); beats are chained from the intervals (see
        :func:`biotrainer.acquisition.lsl_source.beat_times_from_rr`)."""
        from biotrainer.acquisition.lsl_source import beat_times_from_rr

        rr = np.asarray(rr_ms, dtype=float).ravel()
        if rr.size == 0:
            return
        last = self._beats[-1] if self._beats else None
        times = beat_times_from_rr(rr, np.asarray(stamps, dtype=float), last)
        self._add_beats(times, float(times[-1]))

    def _add_beats(self, times: np.ndarray, now: float) -> None:
        for t in times:
            self._beats.append(float(t))
            self.new_beats.append(float(t))
        while self._beats and self._beats[0] < self._beats[-1] - self._keep_s:
            self._beats.popleft()
        if len(times):
            cleaned = clean_rr(self.rr_ms(self.rmssd_window_s)).rr_ms
            if cleaned.size >= 2:
                ht = hrv_time(cleaned)
                self.rmssd_ms = ht.rmssd
                self.hr_bpm = 60000.0 / float(np.median(cleaned[-5:]))
        if now - self._last_slow_t >= self._slow_every:
            self._last_slow_t = now
            cleaned = clean_rr(self.rr_ms(70.0)).rr_ms
            self.coherence = coherence(cleaned)
            self.breathing_bpm = breathing_rate(cleaned)

    def take_new_beats(self) -> tuple[float, ...]:
        """Beat times detected since the previous call."""
        out = tuple(self.new_beats)
        self.new_beats.clear()
        return out
