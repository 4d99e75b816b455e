"""Optional sound for eyes-closed practice: a soft drone that warms and brightens with the score.

:class:`ToneSynth` (numpy only) renders the sound; :class:`AudioFeedback` pushes it to the
default audio output through ``PySide6.QtMultimedia.QAudioSink``. When Qt Multimedia cannot be
loaded (missing system libraries) or there is no audio output (CI, a server), enabling audio
logs one warning and does nothing else: the visual feedback never depends on sound.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from PySide6.QtCore import QObject, QTimer, Slot

log = logging.getLogger(__name__)


class ToneSynth:
    """A quiet harmonic drone following a 0-1 level, rendered block by block.

    The sound is a sum of sine partials on a low fundamental. As the level rises the volume
    grows a little, the upper partials fade in (a brighter, more open timbre) and the pitch
    rises by at most a whole tone; a reward adds a soft major third two octaves up. Targets are
    smoothed exponentially (time constant ``tau_s``) and every parameter is ramped linearly
    across a block, with oscillator phases carried over, so the output has no clicks.

    Parameters
    ----------
    sample_rate : int
        Samples per second.
    base_hz : float
        Fundamental at level 0.
    tau_s : float
        Smoothing time constant of level, reward and gain (seconds).
    """

    #: Partials as multiples of the fundamental: root, octave, fifth above, two octaves.
    PARTIALS = np.array([1.0, 2.0, 3.0, 4.0, 5.0])

    def __init__(self, sample_rate: int = 44100, base_hz: float = 130.8, tau_s: float = 0.5):
        self.sample_rate = int(sample_rate)
        self.base_hz = float(base_hz)
        self.tau_s = float(tau_s)
        self.level = 0.5
        self.reward = 0.0
        self.gain = 0.0
        self.target_level = 0.5
        self.target_reward = 0.0
        self.target_gain = 1.0
        self._phases = np.zeros(len(self.PARTIALS))
        self._lfo_phase = 0.0

    def set_target(self, level: float, rewarded: bool = False) -> None:
        """Follow ``level`` (0-1; NaN keeps the previous target) and the reward state."""
        if math.isfinite(level):
            self.target_level = min(1.0, max(0.0, float(level)))
        self.target_reward = 1.0 if rewarded else 0.0

    def _amplitudes(self, level: float, reward: float) -> np.ndarray:
        return np.array(
            [1.0, 0.15 + 0.45 * level, 0.25 * level**1.5, 0.12 * level**2, 0.22 * reward]
        )

    def _volume(self, level: float) -> float:
        return 0.05 + 0.10 * level

    def render(self, n: int) -> np.ndarray:
        """Return the next ``n`` samples (float32, within -1..1)."""
        if n <= 0:
            return np.zeros(0, dtype=np.float32)
        a = 1.0 - math.exp(-n / (self.sample_rate * self.tau_s))
        level0, reward0, gain0 = self.level, self.reward, self.gain
        self.level += (self.target_level - self.level) * a
        self.reward += (self.target_reward - self.reward) * a
        self.gain += (self.target_gain - self.gain) * a
        ramp = (np.arange(1, n + 1) / n)[None, :]  # 1/n .. 1: ends exactly on the new values

        f0_start = self.base_hz * 2 ** (2 * level0 / 12)
        f0_end = self.base_hz * 2 ** (2 * self.level / 12)
        freqs = self.PARTIALS[:, None] * (f0_start + (f0_end - f0_start) * ramp)
        phase_inc = 2 * np.pi * freqs / self.sample_rate
        phases = self._phases[:, None] + np.cumsum(phase_inc, axis=1)
        self._phases = np.mod(phases[:, -1], 2 * np.pi)

        amp0 = self._amplitudes(level0, reward0)[:, None]
        amp1 = self._amplitudes(self.level, self.reward)[:, None]
        amps = amp0 + (amp1 - amp0) * ramp
        mix = (amps * np.sin(phases)).sum(axis=0) / 2.0

        # A very slow swell (one every 10 s) keeps the drone alive without a rhythm to follow.
        lfo_inc = 2 * np.pi * 0.1 / self.sample_rate
        lfo = self._lfo_phase + lfo_inc * np.arange(1, n + 1)
        self._lfo_phase = float(np.mod(lfo[-1], 2 * np.pi))
        swell = 0.85 + 0.15 * np.sin(lfo)

        vol0 = self._volume(level0) * gain0
        vol1 = self._volume(self.level) * self.gain
        volume = vol0 + (vol1 - vol0) * ramp[0]
        return np.clip(mix * swell * volume, -1.0, 1.0).astype(np.float32)


class AudioFeedback(QObject):
    """Plays a :class:`ToneSynth` on the default audio output while enabled.

    The sink is opened by :meth:`set_enabled` (True) and closed by ``set_enabled(False)`` or
    :meth:`close`. A 20 ms timer keeps about ``buffer_s`` of sound queued. Every failure (no
    Qt Multimedia, no output device, unsupported format, sink error) is logged once and leaves
    the object disabled: :attr:`status` says why.

    Parameters
    ----------
    parent : QObject, optional
    buffer_s : float
        Seconds of sound kept ahead of the device (latency of a change of level).
    """

    def __init__(self, parent: QObject | None = None, *, buffer_s: float = 0.12) -> None:
        super().__init__(parent)
        self.buffer_s = buffer_s
        self.synth: ToneSynth | None = None
        self.status = "off"
        self._sink = None
        self._io = None
        self._sample_format = ""
        self._level = 0.5
        self._rewarded = False
        self._timer = QTimer(self)
        self._timer.setInterval(20)
        self._timer.timeout.connect(self._pump)

    @property
    def active(self) -> bool:
        """True while sound is being played."""
        return self._sink is not None

    def set_target(self, level: float, rewarded: bool = False) -> None:
        """Follow the feedback ``level`` (0-1, NaN holds) and the reward state."""
        if math.isfinite(level):
            self._level = level
        self._rewarded = rewarded
        if self.synth is not None:
            self.synth.set_target(level, rewarded)

    def set_enabled(self, enabled: bool) -> bool:
        """Start or stop the sound; return whether sound is now playing."""
        if not enabled:
            self.close()
            self.status = "off"
            return False
        if self._sink is not None:
            return True
        try:
            self._open()
        except Exception as exc:  # any failure of the audio stack must not reach the patient
            self.close()
            self.status = f"audio unavailable: {exc}"
            log.warning("audio feedback disabled: %s", exc)
            return False
        self.status = "playing"
        return True

    def _open(self) -> None:
        try:
            from PySide6.QtMultimedia import QAudio, QAudioFormat, QAudioSink, QMediaDevices
        except (ImportError, OSError) as exc:
            raise RuntimeError(f"Qt Multimedia could not be loaded ({exc})") from exc
        device = QMediaDevices.defaultAudioOutput()
        if device.isNull():
            raise RuntimeError("no audio output device")
        fmt = QAudioFormat()
        fmt.setSampleRate(44100)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        if not device.isFormatSupported(fmt):
            fmt = device.preferredFormat()
        kinds = {QAudioFormat.SampleFormat.Int16: "int16", QAudioFormat.SampleFormat.Float: "float"}
        if fmt.sampleFormat() not in kinds or fmt.channelCount() < 1 or fmt.sampleRate() <= 0:
            raise RuntimeError("the audio output accepts no usable sample format")
        sink = QAudioSink(device, fmt, self)
        sink.setBufferSize(int(fmt.bytesForDuration(int(self.buffer_s * 2e6))))
        io = sink.start()
        if io is None or sink.error() != QAudio.Error.NoError:
            sink.stop()
            raise RuntimeError(f"the audio output could not be started ({sink.error()})")
        self.attach(sink, io, fmt.sampleRate(), kinds[fmt.sampleFormat()], fmt.channelCount())

    def attach(
        self, sink, io, sample_rate: int, sample_format: str = "int16", channels: int = 1
    ) -> None:
        """Start feeding an opened sink (``bytesFree``, ``bufferSize``, ``stop``) through its
        device ``io`` (``write``); :meth:`set_enabled` calls this, a test may give fakes.

        Parameters
        ----------
        sample_format : {"int16", "float"}
            Samples as signed 16-bit integers or 32-bit floats, interleaved by channel.
        """
        self._sample_format = sample_format
        self._channels = channels
        self._bytes_per_frame = channels * (2 if sample_format == "int16" else 4)
        self._max_queued = round(self.buffer_s * sample_rate) * self._bytes_per_frame
        self.synth = ToneSynth(sample_rate)
        self.synth.gain = 0.0  # fade in
        self.synth.level = self.synth.target_level = self._level
        self.synth.set_target(self._level, self._rewarded)
        self._sink, self._io = sink, io
        self.status = "playing"
        self._pump()
        self._timer.start()

    @Slot()
    def _pump(self) -> None:
        sink, io, synth = self._sink, self._io, self.synth
        if sink is None or io is None or synth is None:
            return
        queued = sink.bufferSize() - sink.bytesFree()
        free = min(sink.bytesFree(), self._max_queued - queued)
        frames = free // self._bytes_per_frame
        if frames <= 0:
            return
        mono = synth.render(frames)
        data = (mono * 32767).astype(np.int16) if self._sample_format == "int16" else mono
        if self._channels > 1:
            data = np.repeat(data[:, None], self._channels, axis=1)
        io.write(data.tobytes())

    def close(self) -> None:
        """Stop the sound and release the output (safe to call more than once)."""
        self._timer.stop()
        sink, self._sink, self._io = self._sink, None, None
        if sink is not None:
            try:
                sink.stop()
            except Exception as exc:  # pragma: no cover - depends on the audio backend
                log.warning("audio output did not stop cleanly: %s", exc)
            sink.deleteLater()
