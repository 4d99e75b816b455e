"""Per-modality processing inside the engine: EEG (alpha, relaxation, quality) and cardiac
(beats, HR, RMSSD, coherence, breathing rate).

Each processor takes consecutive sample blocks of one role (``push``) and keeps its latest
metric values as attributes; the engine reads them when it makes an update. They are plain
Python over :mod:`biotrainer.dsp`, so what the engine computes live is what an offline pass
over the same recording computes.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator

import numpy as np

from biotrainer.dsp.alpha_stream import AlphaStream
from biotrainer.dsp.buffers import RingBuffer
from biotrainer.dsp.ecg import EcgPeakStream
from biotrainer.dsp.eeg import BandPowers, SegmentCache, band_powers_at, relaxation_indices_at
from biotrainer.dsp.heart_guard import HeartSignalGuard
from biotrainer.dsp.hrv import breathing_rate, coherence, heart_rate, rmssd
from biotrainer.dsp.ppg import PpgPeakStream
from biotrainer.dsp.quality import SignalQuality, StreamingQuality, feedback_blocked
from biotrainer.dsp.rr import (
    clean_and_count_rr_windows,
    clean_rr,
    clean_rr_windows,
    fill_rr_holes,
    rr_too_irregular,
)
from biotrainer.session.quality_causes import STARTING_UP

NAN = math.nan

#: Holes in the heart signal (s) up to which coherence and breathing rate bridge (see
#: :class:`CardiacProcessor`): a Bluetooth hiccup keeps a coherence protocol's feedback going.
BRIDGE_MAX_S = 5.0
#: Holes (s) up to which HR and RMSSD join the beats either side.
JOIN_MAX_S = 60.0
#: Time (s) between the beats of an RR source beyond their interval that counts as a hole.
MISSING_BEATS_S = 0.5
#: An interval across holes is bridged or joined only while it is at most this much (s) longer
#: than the longest hole bridged or joined: the beat either side of the hole (a longer one means
#: the beats had stopped around it: a sensor off).
SPAN_SLACK_S = 2.0
#: An interval between detected beats longer than this (s; 20 beats/min) is beats not detected
#: (a sensor off, an electrode loose), not an RR interval: HR and RMSSD leave it out.
LONGEST_RR_S = 3.0


def _alpha_channels(
    quality: SignalQuality | None, preferred: np.ndarray | None = None
) -> np.ndarray | None:
    """The channels alpha feedback is taken from under ``quality`` (None: all of them).

    The ``preferred`` channels (the device profile's alpha sites, e.g. TP9/TP10 of a Muse) that
    are usable; when none of them is, every usable channel. Before the first verdict the
    preferred ones; when no channel is usable, all (the quality gate holds the feedback).
    """
    if quality is None:
        return preferred
    usable = np.asarray(quality.usable, dtype=bool)
    if preferred is not None:
        chosen = usable & preferred
        if chosen.any():
            return chosen
    return usable if usable.any() and not usable.all() else None


def _relaxation_channels(
    quality: SignalQuality | None, preferred: np.ndarray | None
) -> np.ndarray | None:
    """The channels the relaxation index is the median over (None: all): the usable ones,
    narrowed to the ``preferred`` ones when any of those is usable."""
    if quality is None:
        return preferred
    if preferred is not None:
        chosen = quality.usable & preferred
        if chosen.any():
            return chosen
    return quality.usable


def _variability(cleaned: np.ndarray) -> tuple[float, float, bool]:
    """(coherence, breathing rate, too irregular) of one window of cleaned RR intervals (ms):
    NaN for both when the window is too irregular to measure."""
    if rr_too_irregular(cleaned):
        return NAN, NAN, True
    return coherence(cleaned), breathing_rate(cleaned), False


def _noop(n: int) -> Iterator[None]:
    for _ in range(n):
        yield None


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
    alpha_channels : tuple of str
        The channels alpha feedback and the relaxation index come from while any of them is
        usable (the device profile's alpha sites); empty: every usable channel. Names not in
        ``channel_names`` are ignored.
    """

    def __init__(
        self,
        fs: float,
        channel_names: tuple[str, ...],
        window_s: float = 4.0,
        every_s: float = 0.5,
        alpha_channels: tuple[str, ...] = (),
    ) -> None:
        self.fs = float(fs)
        self.channel_names = tuple(channel_names)
        n = len(self.channel_names)
        preferred = np.array([c in alpha_channels for c in self.channel_names], dtype=bool)
        self._preferred = preferred if preferred.any() and not preferred.all() else None
        self.alpha_stream = AlphaStream(self.fs, n)
        self.quality_stream = StreamingQuality(self.fs, n, "eeg")
        self.window = RingBuffer(n, max(8, int(round(window_s * self.fs))))
        self._every = max(1, int(round(every_s * self.fs)))
        self._since = 0
        self._spectrum_every = 2  # band powers every 2nd relaxation update (1 s of data)
        self._count = 0
        # Welch segments shared by consecutive blocks (relaxation index, band powers)
        self._relax_cache = SegmentCache()
        self._band_cache = SegmentCache()
        # Alpha runs ahead of the update grid: samples are pushed into the AlphaStream as they
        # arrive (:meth:`receive`), their values wait here until the grid consumes them.
        self._alpha_ahead = np.empty((n, 0))
        self._newest_relative: np.ndarray | None = None  # (see newest_alpha)
        self.alpha = NAN
        self.relaxation = NAN
        self.band_powers: BandPowers | None = None
        self.quality = None

    @property
    def quality(self) -> SignalQuality | None:
        """The latest per-channel quality verdict (None before the first second of signal)."""
        return self._quality

    @quality.setter
    def quality(self, q: SignalQuality | None) -> None:
        # what every update reads is derived once per verdict (4 per second), not per update
        self._quality = q
        self._clean = q is not None and not feedback_blocked(q)
        self._channel_ok = (
            tuple(False for _ in self.channel_names) if q is None else tuple(q.usable.tolist())
        )
        self._reason: str | None = None  # quality_reason, made when first asked for

    @property
    def clean(self) -> bool:
        """True when the latest quality allows feedback (False before the first verdict)."""
        return self._clean

    @property
    def channel_ok(self) -> tuple[bool, ...]:
        return self._channel_ok

    @property
    def quality_reason(self) -> str:
        if self._reason is None:
            self._reason = self._describe_quality()
        return self._reason

    def _describe_quality(self) -> str:
        if self.quality is None:
            return STARTING_UP
        bad = [
            f"{name}: {reason}"
            for name, reason in zip(self.channel_names, self.quality.reasons, strict=False)
            if reason != "ok"
        ]
        return "; ".join(bad) if bad else "ok"

    def receive(self, samples: np.ndarray) -> None:
        """Run the alpha feedback on samples as soon as they arrive, ahead of :meth:`push_many`
        (which must later be given the same samples, in order): :attr:`newest_alpha` is then
        the value at the newest sample. The values the update grid reads are unchanged, since
        the AlphaStream gives the same output however its input is chunked."""
        x = np.asarray(samples, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] == 0:
            return
        relative = self.alpha_stream.push_relative(x)
        self._alpha_ahead = np.concatenate((self._alpha_ahead, relative), axis=1)
        self._newest_relative = relative[:, -1:]

    @property
    def newest_alpha(self) -> float:
        """Alpha at the newest sample received (the live preview): the median over the
        channels the latest quality verdict finds usable (NaN before any sample)."""
        newest = self._newest_relative
        if newest is None:
            return NAN
        usable = _alpha_channels(self.quality, self._preferred)
        if usable is not None:
            newest = np.where(usable[:, None], newest, NAN)
        return float(AlphaStream.median_over_channels(newest)[0])

    def _take_alpha(self, x: np.ndarray, ends: list[int], qualities: list) -> np.ndarray:
        """Alpha at the end of every piece of ``x`` (received ahead or now), NaN when empty:
        the median over the channels the quality verdict in force at that piece finds usable
        (a flat or railed electrode's ratio of noise would pull the feedback down)."""
        n = x.shape[1]
        have = self._alpha_ahead.shape[1]
        if have < n:
            self.receive(x[:, have:])
        relative = self._alpha_ahead[:, :n]
        self._alpha_ahead = self._alpha_ahead[:, n:]
        ends_arr = np.asarray(ends, dtype=np.int64)
        starts = np.concatenate(([0], ends_arr[:-1]))
        out = np.full(ends_arr.size, NAN)
        nonempty = ends_arr > starts
        if not nonempty.any():
            return out
        at = relative[:, ends_arr[nonempty] - 1]
        quality = self.quality
        masks = []
        # (a verdict holds for several pieces: its channels are found once)
        mask_of, mask = None, None
        for q, keep in zip(qualities, nonempty.tolist(), strict=True):
            quality = q if q is not None else quality
            if keep:
                if mask_of is not quality or not masks:
                    mask_of, mask = quality, _alpha_channels(quality, self._preferred)
                masks.append(mask)
        if any(m is not None for m in masks):
            full = np.ones(at.shape[0], dtype=bool)
            usable = np.stack([full if m is None else m for m in masks], axis=1)
            at = np.where(usable, at, NAN)
        out[nonempty] = AlphaStream.median_over_channels(at)
        return out

    def push(self, samples: np.ndarray) -> None:
        """Process the next block ``(channels, n)``."""
        for _ in self.push_many(samples, (samples.shape[1],)):
            pass

    def push_many(self, samples: np.ndarray, ends) -> Iterator[None]:
        """Process a block as consecutive pieces ending at sample counts ``ends`` (increasing,
        the last one the block's length).

        The heavy work (filters, quality and spectra of every evaluation) is done for the whole
        block at once, in arrays; the returned iterator then steps through the pieces: after
        its ``i``-th step the attributes (``alpha``, ``quality``, ``relaxation``,
        ``band_powers``) are exactly what pushing pieces ``0..i`` one by one leaves.
        """
        ends = [int(e) for e in ends]
        if not ends or samples.shape[1] == 0:
            return _noop(len(ends))
        x = np.asarray(samples, dtype=np.float64)
        qualities = self.quality_stream.push_many(x, ends)
        alphas = self._take_alpha(x, ends, qualities)
        # when the relaxation index (and every 2nd time the band powers) is due
        total0 = self.window.total
        cap = self.window.capacity
        due: list[tuple[int, int, SignalQuality | None]] = []  # (piece, samples so far, quality)
        quality = self.quality
        start = 0
        for i, end in enumerate(ends):
            k = end - start
            start = end
            if qualities[i] is not None:
                quality = qualities[i]
            if k == 0:
                continue
            self._since += k
            if self._since >= self._every and min(cap, total0 + end) >= cap // 2:
                self._since = 0
                due.append((i, end, quality))
        relax: dict[int, float] = {}
        spectra: dict[int, BandPowers] = {}
        if due:
            held = self.window.latest()
            full = np.concatenate((held, x), axis=1)
            h = held.shape[1]
            groups: dict[int, list[tuple[int, int, SignalQuality | None, bool]]] = {}
            for i, end, q in due:
                size = min(cap, total0 + end)
                self._count += 1
                want = self._count % self._spectrum_every == 0
                groups.setdefault(size, []).append((i, h + end, q, want))
            for size, items in groups.items():
                values = relaxation_indices_at(
                    full, [e for _, e, _, _ in items], size, self.fs,
                    [_relaxation_channels(q, self._preferred) for _, _, q, _ in items],
                    cache=self._relax_cache, offset=total0 - h,
                )  # fmt: skip
                relax.update(zip([i for i, _, _, _ in items], values, strict=True))
                spec = [(i, e) for i, e, _, want in items if want]
                if spec:
                    bps = band_powers_at(full, [e for _, e in spec], size, self.fs,
                                         cache=self._band_cache, offset=total0 - h)  # fmt: skip
                    spectra.update(zip([i for i, _ in spec], bps, strict=True))
        self.window.push(x)
        return self._steps(ends, alphas, qualities, relax, spectra)

    def _steps(self, ends, alphas, qualities, relax, spectra) -> Iterator[None]:
        start = 0
        for i, end in enumerate(ends):
            if end > start:
                self.alpha = float(alphas[i])
            start = end
            if qualities[i] is not None:
                self.quality = qualities[i]
            if i in relax:
                self.relaxation = relax[i]
            if i in spectra:
                self.band_powers = spectra[i]
            yield None


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

    Notes
    -----
    Beat times count samples, so the samples on either side of a hole in the data (a device
    that dropped and came back) are joined. The caller marks such holes with their length
    (:meth:`mark_holes`); the interval that spans one is not an RR interval:

    - HR and RMSSD leave it out and go on with the beats either side (up to a hole of
      :data:`JOIN_MAX_S`; after a longer one their series starts again, and they keep their
      last values until it has two intervals). They leave out any interval over
      :data:`LONGEST_RR_S` too: beats not detected.
    - Coherence and breathing rate need the series' true time axis (the breathing rhythm goes
      on through the hole): up to a hole of :data:`BRIDGE_MAX_S` the spanning interval is
      spread over its true length (:func:`~biotrainer.dsp.rr.fill_rr_holes`); after a longer
      one their series starts again and they are NaN until it fills their windows (about a
      minute).

    Samples far off the signal's own recent scale (a PPG sensor taken off, an ECG electrode
    knocked: :class:`~biotrainer.dsp.heart_guard.HeartSignalGuard`) reach the detector as
    missing, so it reports no beats there, and the stretch is a hole as above: a real 7-s
    finger-off copied into a recording had given false pulses and RMSSD of median 135 ms for
    the minute after it, against 53-55 ms before (``bench_cardiac.py --only sensor-off``).

    Beats the cleaning could not make regular (:func:`~biotrainer.dsp.rr.rr_too_irregular`:
    over a fifth of the cleaned window's steps still change by more than 20 %) give no
    variability: RMSSD, coherence and breathing rate are NaN for such a window;
    :attr:`irregular` is the verdict of the latest HR/RMSSD window (RMSSD is NaN exactly when
    it is set, once there are beats), :attr:`slow_irregular` that of the latest
    coherence/breathing window (they are NaN when it is set); the heart rate,
    a count of beats, stays. A phone camera's PPG following movement gave RMSSD of 205-560 ms
    this way, against 32-34 ms from a chest strap worn at the same time (three subjects).

    Judged on the spanning interval's true length (all the holes in it, plus the beats' time
    either side, at most :data:`SPAN_SLACK_S` more): a short hole while the beats had stopped
    anyway (a sensor off) bridges nothing.

    An RR source's beats keep real time; beats its stream lost (a pause, after which
    ``beat_times_from_rr`` re-anchors the chain of intervals ahead) are such a hole too. Joined
    as they were, the breathing rhythm of the series jumped by the hole's length: for a minute
    after a 4-s drop, coherence read 0.8-1.4 for 4-7 (and from an RR source the heart rate read
    41 for 71 beats/min for 10 s).
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
        #: Off-scale samples (a sensor off or knocked) become missing before the detector.
        self.guard = HeartSignalGuard(self.fs) if self.stream is not None else None
        self.rmssd_window_s = rmssd_window_s
        self._slow_every = slow_every_s
        self._slow_window_s = 70.0  # cleaned beats for coherence (64 s) and breathing (60 s)
        self._n = 0
        self._last_slow_t = self.t0
        self._beats = np.empty(0)  # beat times (s), the last ~5 min
        #: Holes in the data: (time on the beats' clock of the first sample or beat after it,
        #: the time (ms) it adds to the interval that spans it: its length for samples, whose
        #: clock skips holes; none for an RR source, whose beats keep real time).
        self._holes: list[tuple[float, float]] = []
        #: Time of the latest beat (s); the first sample's time before any.
        self.last_beat_t = self.t0
        #: Data time of the newest sample pushed, on the beats' clock (``t0 + n / fs``: the
        #: samples counted, so a hole in the timestamps does not count as time without beats).
        self.data_t = self.t0
        self._keep_s = 300.0
        self.new_beats: list[float] = []
        self.hr_bpm = NAN
        self.rmssd_ms = NAN
        self.coherence = NAN
        self.breathing_bpm = NAN
        #: The latest HR/RMSSD window was too irregular to measure (RMSSD NaN).
        self.irregular = False
        #: The latest coherence/breathing window was too irregular (both NaN).
        self.slow_irregular = False

    def mark_holes(self, offsets, steps_s) -> None:
        """Mark holes in the data before the samples at ``offsets`` (counted from the start of
        the next block pushed), ``steps_s`` the time from the sample before each to it."""
        for k, step in zip(offsets, steps_s, strict=True):
            hole_ms = 1000.0 * max(0.0, float(step) - 1.0 / self.fs)
            self._holes.append((self.t0 + (self._n + int(k)) / self.fs, hole_ms))

    def _spans(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The intervals of beats ``t`` that span holes (ascending indices into ``diff(t)``)
        and their true lengths (ms: all the holes each spans added)."""
        none = np.empty(0, dtype=np.intp), np.empty(0)
        if not self._holes:
            return none
        at, extra_ms = np.array(self._holes).T
        i = np.searchsorted(t, at, "left") - 1
        inside = (i >= 0) & (i + 1 < t.size)
        if not inside.any():
            return none
        i, which = np.unique(i[inside], return_inverse=True)
        return i, (t[i + 1] - t[i]) * 1000.0 + np.bincount(which, weights=extra_ms[inside])

    def _series_starts(self, t: np.ndarray, last: np.ndarray, max_hole_s: float) -> np.ndarray:
        """For beats ``t`` (sorted) and windows ending at beat indices ``last``, the index of the
        first beat of the series each window's last beat belongs to: a series starts again
        after an interval across holes longer than ``max_hole_s`` (plus the beat either side)."""
        spans, true_ms = self._spans(t)
        firsts = spans[true_ms > 1000.0 * (max_hole_s + SPAN_SLACK_S)] + 1
        if not firsts.size:
            return np.zeros(last.shape, dtype=np.int64)
        k = np.searchsorted(firsts, last, "right") - 1
        return np.where(k >= 0, firsts[np.maximum(k, 0)], 0)

    def _beat_rr(self, t: np.ndarray) -> np.ndarray:
        """RR intervals (ms) of beats ``t`` for HR and RMSSD: one that spans a hole or is over
        :data:`LONGEST_RR_S` is NaN (so :func:`~biotrainer.dsp.rr.clean_rr` leaves it out)."""
        rr = np.diff(t) * 1000.0
        spans, _ = self._spans(t)
        rr[spans] = NAN
        rr[rr > 1000.0 * LONGEST_RR_S] = NAN
        return rr

    def _beat_windows(self, t: np.ndarray, last: np.ndarray) -> np.ndarray:
        """First beat of the HR/RMSSD window that ends at each beat index ``last``."""
        starts = np.searchsorted(t, t[last] - self.rmssd_window_s, "left")
        return np.maximum(starts, self._series_starts(t, last, JOIN_MAX_S))

    def _slow_window(self, t: np.ndarray, last: int) -> int:
        """First beat of the coherence/breathing window that ends at beat index ``last``."""
        a = int(np.searchsorted(t, t[last] - self._slow_window_s, "left"))
        return max(a, int(self._series_starts(t, np.array([last]), BRIDGE_MAX_S)[0]))

    def _slow_metrics(self, t: np.ndarray, windows: list[tuple[int, int]]) -> list[tuple]:
        """(coherence, breathing rate, too irregular) of the beats ``t[a:b + 1]`` of each window
        ``(a, b)``, an interval that spans a short hole spread over its true length."""
        rr = np.diff(t) * 1000.0
        spans, true_ms = self._spans(t)
        out: list[tuple] = [(NAN, NAN, False)] * len(windows)
        plain: list[int] = []
        for w, (a, b) in enumerate(windows):
            inside = (spans >= a) & (spans < b)
            if not inside.any():
                plain.append(w)
                continue
            at = spans[inside]
            filled = fill_rr_holes(rr[a:b], at - a, true_ms[inside])
            out[w] = _variability(clean_rr(filled).rr_ms)
        starts = [windows[w][0] for w in plain]
        cleaned = clean_rr_windows(rr, starts, [windows[w][1] for w in plain])
        for w, c in zip(plain, cleaned, strict=True):
            out[w] = _variability(c)
        return out

    def push(self, samples: np.ndarray) -> None:
        """Process the next block of one ECG or PPG channel, shape ``(n,)``."""
        for _ in self.push_many(samples, (np.size(samples),)):
            pass

    def push_many(self, samples: np.ndarray, ends) -> Iterator[None]:
        """Process a block of one channel as consecutive pieces ending at sample counts
        ``ends`` (the last one the block's length). ECG peaks are detected over the whole block
        at once (:meth:`~biotrainer.dsp.ecg.EcgPeakStream.push_positions_split`), and the
        metrics of every piece are computed together (:meth:`_plan`); the returned iterator
        steps through the pieces, after step ``i`` the beats and metrics are exactly what
        pushing pieces ``0..i`` one by one gives."""
        if self.stream is None:
            raise ValueError("an RR source takes push_rr, not samples")
        ends = [int(e) for e in ends]
        x = np.asarray(samples, dtype=np.float64).ravel()
        if x.size == 0:
            return _noop(len(ends))
        x, restarts = self.guard.push(x)
        for k in restarts:  # an off-scale stretch (a sensor off) is a hole for the beats
            bisect.insort(self._holes, (self.t0 + (self._n + k) / self.fs, 0.0))
        if isinstance(self.stream, EcgPeakStream):
            pieces = self.stream.push_positions_split(x, ends)
        else:
            starts = [0, *ends[:-1]]
            pieces = [
                self.stream.push_positions(x[a:b]) if b > a else np.empty(0)
                for a, b in zip(starts, ends, strict=True)
            ]
        steps = self._plan(pieces, ends)
        if steps is None:  # beat times out of order: the one-by-one path
            return self._beat_steps(pieces, ends)
        return steps

    def _beat_steps(self, pieces: list[np.ndarray], ends: list[int]) -> Iterator[None]:
        start = 0
        for positions, end in zip(pieces, ends, strict=True):
            k = end - start
            start = end
            if k:
                self._n += k
                self._add_beats(self.t0 + positions / self.fs, self.t0 + self._n / self.fs)
                self.data_t = self.t0 + self._n / self.fs
            yield None

    def _plan(self, pieces: list[np.ndarray], ends: list[int]) -> Iterator[None] | None:
        """Compute the metrics after every piece at once and return the iterator that hands
        them out (None when the beat times are not in order, a case for :meth:`_add_beats`).

        The windows are those :meth:`_add_beats` takes piece by piece -- the beats of the last
        ``rmssd_window_s`` after a piece that brought beats, of the last 70 s at every
        slow-metric time -- found with the same arithmetic in arrays and cleaned together
        (:func:`~biotrainer.dsp.rr.clean_rr_windows`, equal to cleaning them one by one), so
        the values are identical.
        """
        k = np.diff(np.asarray(ends, dtype=np.int64), prepend=0)  # samples per piece
        took = k > 0  # (a piece without samples brings nothing)
        sizes = np.array([p.size for p in pieces], dtype=np.int64) * took  # beats per piece
        new = [p for p, ok in zip(pieces, took.tolist(), strict=True) if ok and p.size]
        new_t = self.t0 + np.concatenate(new) / self.fs if new else np.empty(0)
        t_all = np.concatenate((self._beats, new_t))
        if t_all.size > 1 and not bool(np.all(t_all[1:] >= t_all[:-1])):
            return None
        counts = self._beats.size + np.cumsum(sizes)  # beats after each piece
        n_end = self._n + np.cumsum(k)
        nows = self.t0 + n_end / self.fs  # data time at the end of each piece
        # per-beat windows: the last rmssd_window_s of beats after each piece with beats
        with_beats = np.flatnonzero(sizes)
        last = counts[with_beats] - 1
        # slow metrics: every slow_every_s of data (compared as the one-by-one path does)
        last_slow = self._last_slow_t
        slow_at: list[int] = []
        i = 0
        while i < k.size:
            due = np.flatnonzero(took[i:] & (nows[i:] - last_slow >= self._slow_every))
            if not due.size:
                break
            i += int(due[0])
            slow_at.append(i)
            last_slow = float(nows[i])
            i += 1
        cleaned, counted = clean_and_count_rr_windows(
            self._beat_rr(t_all), self._beat_windows(t_all, last), last
        )
        beat: dict[int, tuple[float, float]] = {}
        for i, c, n in zip(with_beats.tolist(), cleaned, counted, strict=True):
            if c.size >= 2:
                irregular = rr_too_irregular(c)
                beat[i] = (NAN if irregular else rmssd(c), heart_rate(n), irregular)
        ends = [int(counts[i]) - 1 for i in slow_at]  # last beat of each window (-1: none)
        slow_windows = [(self._slow_window(t_all, b), b) if b >= 0 else (0, 0) for b in ends]
        slow = dict(zip(slow_at, self._slow_metrics(t_all, slow_windows), strict=True))
        # the state after the block (what the one-by-one path leaves)
        self._n = int(n_end[-1]) if n_end.size else self._n
        self._last_slow_t = last_slow
        keep_from = np.searchsorted(t_all, t_all[-1] - self._keep_s, "left") if t_all.size else 0
        self._beats = t_all[keep_from:].copy()
        self._forget_old_holes(float(nows[-1]))
        return self._planned_steps(new_t.tolist(), sizes.tolist(), beat, slow, nows.tolist())

    def _planned_steps(
        self, new_t: list[float], sizes: list[int], beat, slow, nows: list[float]
    ) -> Iterator[None]:
        o = 0
        for i, s in enumerate(sizes):
            self.data_t = nows[i]
            if s:
                self.new_beats.extend(new_t[o : o + s])
                o += s
                self.last_beat_t = new_t[o - 1]
            if i in beat:
                self.rmssd_ms, self.hr_bpm, self.irregular = beat[i]
            if i in slow:
                self.coherence, self.breathing_bpm, self.slow_irregular = slow[i]
            yield None

    def push_rr(self, rr_ms: np.ndarray, stamps: np.ndarray) -> None:
        """Take RR intervals (ms) from a device that reports them (e.g. a chest strap over LSL),
        with their timestamps (s); beats are chained from the intervals (see
        :func:`biotrainer.acquisition.lsl_source.beat_times_from_rr`)."""
        from biotrainer.acquisition.lsl_source import beat_times_from_rr

        rr = np.asarray(rr_ms, dtype=float).ravel()
        if rr.size == 0:
            return
        last = float(self._beats[-1]) if self._beats.size else None
        times = beat_times_from_rr(rr, np.asarray(stamps, dtype=float), last)
        # beats the stream lost (a pause, a dropped strap): the chain was re-anchored ahead
        before = np.concatenate(([math.nan if last is None else last], times[:-1]))
        lost_s = times - before - rr / 1000.0
        for k in np.flatnonzero(lost_s > MISSING_BEATS_S):
            self._holes.append((float(times[k]), 0.0))
        self._add_beats(times, float(times[-1]))

    def _add_beats(self, times: np.ndarray, now: float) -> None:
        """Add beats one block at a time (RR sources, and beat times out of order)."""
        times = np.asarray(times, dtype=np.float64)
        self.new_beats.extend(times.tolist())
        if times.size:
            self.last_beat_t = max(self.last_beat_t, float(times[-1]))
        self.data_t = max(self.data_t, now)
        t = np.concatenate((self._beats, times))
        drop = 0
        while drop < t.size and t[drop] < t[-1] - self._keep_s:
            drop += 1
        self._beats = t[drop:]
        self._forget_old_holes(self.data_t)
        last = self._beats.size - 1
        if len(times):
            a = int(self._beat_windows(self._beats, np.array([last]))[0])
            cleaning = clean_rr(self._beat_rr(self._beats)[a:last])
            if cleaning.rr_ms.size >= 2:
                self.irregular = rr_too_irregular(cleaning.rr_ms)
                self.rmssd_ms = NAN if self.irregular else rmssd(cleaning.rr_ms)
                self.hr_bpm = heart_rate(cleaning.counted_ms)
        if now - self._last_slow_t >= self._slow_every:
            self._last_slow_t = now
            window = (self._slow_window(self._beats, last), last) if last >= 0 else (0, 0)
            self.coherence, self.breathing_bpm, self.slow_irregular = self._slow_metrics(
                self._beats, [window]
            )[0]

    def _forget_old_holes(self, now: float) -> None:
        """Forget the holes at or before the first kept beat (no kept interval spans them) and
        those over :attr:`_keep_s` before ``now`` (while no beat comes: an interval across them
        is too long to bridge or join anyway)."""
        first = self._beats[0] if self._beats.size else -math.inf
        while self._holes and (
            self._holes[0][0] <= first or self._holes[0][0] < now - self._keep_s
        ):
            del self._holes[0]

    def beatless_s(self) -> float:
        """Seconds of samples since the latest beat (or the first sample, before any)."""
        return max(0.0, self.data_t - self.last_beat_t)

    def take_new_beats(self) -> tuple[float, ...]:
        """Beat times detected since the previous call."""
        out = tuple(self.new_beats)
        self.new_beats.clear()
        return out
