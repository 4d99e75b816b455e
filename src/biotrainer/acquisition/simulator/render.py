"""Render a scenario into BrainFlow arrays in a board's row layout, with its ground truth.

:func:`render_scenario` is pure (no file I/O): it returns one array per BrainFlow preset
(rows × samples, exactly the master board's layout: package number row counting samples,
the timestamp row in seconds from ``start_timestamp``, zeros in rows no role uses) and a
:class:`GroundTruth`. :func:`write_rendered` writes the arrays with ``DataFilter.write_file``
(``raw_default.csv``, ``raw_auxiliary.csv``, ``raw_ancillary.csv``, the names a session
folder uses) and the truth to ``ground_truth/``.

Ground-truth times are given twice: ``t_s`` (seconds from the scenario start) and
``timestamp`` (the same instant on the clock of the files' timestamp row,
``start_timestamp + t_s``). A playback that keeps the file timestamps
(``keep_file_timestamps=True``) therefore delivers samples on the ground truth's clock.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biotrainer.acquisition.simulator import artifacts as art
from biotrainer.acquisition.simulator import cardiac, eeg, noise, respiration
from biotrainer.acquisition.simulator.scenario import Scenario
from biotrainer.acquisition.source import SourceLayout

#: Bump when the generator changes output for the same scenario and seed (invalidates caches).
GENERATOR_VERSION = 2
#: File timestamps start here (2023-11-14T22:13:20Z): positive, like BrainFlow's Unix seconds.
DEFAULT_START_TIMESTAMP = 1_700_000_000.0
#: Control grid of the slow physiology (breathing, heart rate), Hz.
CONTROL_FS = 100.0
#: Sampling rate of the ground-truth time series, Hz.
TRUTH_FS = 4.0

PRESET_FILES = {p: f"raw_{p}.csv" for p in ("default", "auxiliary", "ancillary")}

#: Samples per ``DataFilter.write_file`` call when writing a rendered array.
_WRITE_BLOCK = 1 << 16

_PPG_DC = 50_000.0
_PPG_AC = 1_000.0


@dataclass(frozen=True)
class ArtifactRow:
    """One ground-truth artifact interval on one channel (seconds from the start)."""

    kind: str
    role: str
    channel: str
    start_s: float
    end_s: float
    spontaneous: bool


@dataclass(frozen=True)
class GroundTruth:
    """What the simulated person really did (all times in seconds from the scenario start).

    Attributes
    ----------
    start_timestamp : float
        Timestamp (files' clock) of ``t_s = 0``.
    iaf_hz : float
        Individual alpha frequency.
    resonance_breaths_per_min : float
    beat_s, beat_kind : np.ndarray
        Every beat: R-peak time (or expected time of a dropped beat) and kind
        (``"N"`` sinus, ``"V"`` ectopic, ``"dropped"``).
    ptt_s, ppg_peak_s : np.ndarray
        Per beat: pulse transit time (R peak to pulse foot) and systolic PPG peak time
        (NaN for dropped beats).
    inhale_s, exhale_s : np.ndarray
        Onsets of inhalations and exhalations.
    t_s : np.ndarray
        Times of the series below (``TRUTH_FS``).
    relaxation, eyes_closed, breathing_rate_bpm, paced, heart_rate_bpm, rsa_bpm : np.ndarray
        Scripted/model state: relaxation 0..1, eyes closed, instantaneous breathing rate
        (breaths/min), paced breathing, instantaneous heart rate (bpm), expected
        peak-to-trough RSA swing (bpm).
    segment : tuple of str
        Label of the scenario segment at each time.
    eeg_channels : tuple of str
    alpha_rms_uv : np.ndarray
        (channels, times) expected RMS amplitude of the alpha component per EEG channel (µV).
    artifacts : tuple of ArtifactRow
    """

    start_timestamp: float
    iaf_hz: float
    resonance_breaths_per_min: float
    beat_s: np.ndarray
    beat_kind: np.ndarray
    ptt_s: np.ndarray
    ppg_peak_s: np.ndarray
    inhale_s: np.ndarray
    exhale_s: np.ndarray
    t_s: np.ndarray
    relaxation: np.ndarray
    eyes_closed: np.ndarray
    breathing_rate_bpm: np.ndarray
    paced: np.ndarray
    heart_rate_bpm: np.ndarray
    rsa_bpm: np.ndarray
    segment: tuple[str, ...]
    eeg_channels: tuple[str, ...]
    alpha_rms_uv: np.ndarray
    artifacts: tuple[ArtifactRow, ...]

    @property
    def r_peak_s(self) -> np.ndarray:
        """Times of beats with a QRS complex."""
        return self.beat_s[self.beat_kind != cardiac.DROPPED]


@dataclass(frozen=True)
class Rendered:
    """A rendered scenario: BrainFlow arrays per preset and the ground truth."""

    scenario: Scenario
    seed: int
    layout: SourceLayout
    data: dict[str, np.ndarray]
    truth: GroundTruth

    @property
    def start_timestamp(self) -> float:
        return self.truth.start_timestamp


# ----------------------------------------------------------------------------- layouts


def layout_for(board: SourceLayout | int) -> SourceLayout:
    """A layout from a SourceLayout (returned as is) or a master board id.

    For a board id, the shipped simulator profile of that master board is used when there is one
    (``devices/simulator*.toml``), else :func:`biotrainer.acquisition.profiles.layout_for_board`.
    """
    if isinstance(board, SourceLayout):
        return board
    from biotrainer.acquisition import profiles

    board_id = int(board)
    d = profiles.profiles_dir()
    for name in profiles.profile_names(d):
        if not name.startswith("simulator"):
            continue
        p = profiles.load_profile(d / f"{name}.toml")
        if p.simulator is not None and p.master_board_id == board_id:
            return p.layout()
    return profiles.layout_for_board(board_id)


def _package_rows(board_id: int, presets: tuple[str, ...]) -> dict[str, int | None]:
    from biotrainer.acquisition.profiles import board_description

    out: dict[str, int | None] = {}
    for p in presets:
        try:
            d = board_description(board_id, p)
        except KeyError:
            out[p] = None
            continue
        out[p] = d.get("package_num_channel")
    return out


# ----------------------------------------------------------------------------- model


@dataclass(frozen=True)
class _Model:
    scenario: Scenario
    seed: int
    iaf_hz: float
    breathing: respiration.Breathing
    heart: cardiac.Heart
    ppg_peaks: np.ndarray
    events: list[art.ArtifactEvent]
    motion: tuple[np.ndarray, np.ndarray]


def _build_model(scenario: Scenario, seed: int) -> _Model:
    dur = scenario.duration_s
    t = np.arange(0.0, dur + 2.0, 1.0 / CONTROL_FS)  # a little past the end
    state = scenario.evaluate(t)
    breathing = respiration.simulate_breathing(t, CONTROL_FS, state, noise.stream(seed, "breath"))
    heart = cardiac.simulate_heart(
        t, CONTROL_FS, state, breathing, scenario.person, noise.stream(seed, "heart")
    )
    iaf = scenario.person.alpha_peak_hz
    if iaf is None:
        iaf = float(noise.stream(seed, "alpha").uniform(9.0, 11.0))
    events = art.plan_events(scenario, noise.stream(seed, "artifacts"))
    motion = art.motion_source(dur, events, noise.stream(seed, "motion"))
    peaks = cardiac.ppg_peak_times(heart, breathing)
    return _Model(scenario, seed, iaf, breathing, heart, peaks, events, motion)


def _render_role(
    role: str, names: tuple[str, ...], t: np.ndarray, fs: float, m: _Model, rng: np.random.Generator
) -> np.ndarray:
    """Signals of one role (channels × samples) before artifacts."""
    n, c = t.size, len(names)
    sc, b, h = m.scenario, m.breathing, m.heart
    if role == "eeg":
        return eeg.render_eeg(t, fs, names, sc, m.iaf_hz, rng)
    if role == "ecg":
        clean = cardiac.ecg_clean(t, h, b)
        return np.stack(
            [
                clean * (1.0 - 0.2 * i) + cardiac.ecg_noise(t, fs, rng, sc.person.line_noise_hz)
                for i in range(c)
            ]
        )
    if role == "ppg":
        clean = cardiac.ppg_clean(t, h, b)
        rows = []
        for nm in names:
            ambient = "amb" in nm.lower()
            gain = 0.05 if ambient else (0.6 if "red" in nm.lower() else 1.0)
            drift = noise.ou(rng, n, fs, tau_s=20.0, sigma=0.15)
            rows.append(
                _PPG_DC * (0.4 if ambient else 1.0)
                + _PPG_AC * (gain * clean + drift + rng.normal(0.0, 0.012, n))
            )
        return np.stack(rows)
    if role == "resp":
        return np.stack([1000.0 * b.signal(t) + rng.normal(0.0, 8.0, n) for _ in range(c)])
    if role == "accel":
        out = rng.normal(0.0, 0.004, size=(c, n))
        out[min(2, c - 1)] += 1.0  # gravity on z
        out[0] += 0.002 * b.wave(t)  # breathing sway
        return out
    if role == "gyro":
        return rng.normal(0.0, 0.3, size=(c, n))
    if role == "eda":
        tonic = 2.0 + 6.0 * (1.0 - sc.relaxation_at(t))
        return np.stack(
            [tonic + noise.ou(rng, n, fs, 30.0, 0.3) + rng.normal(0, 0.01, n) for _ in range(c)]
        )
    if role == "temp":
        warm = 30.0 + 4.0 * sc.relaxation_at(t)
        return np.stack([warm + noise.ou(rng, n, fs, 60.0, 0.1) for _ in range(c)])
    return np.zeros((c, n))


def render_scenario(
    scenario: Scenario,
    layout: SourceLayout | int,
    seed: int = 0,
    start_timestamp: float = DEFAULT_START_TIMESTAMP,
) -> Rendered:
    """Render ``scenario`` for ``seed`` into BrainFlow arrays in ``layout`` (no file I/O).

    Parameters
    ----------
    scenario : Scenario
        From :func:`~biotrainer.acquisition.simulator.scenario.load_scenario`.
    layout : SourceLayout or int
        The layout of a simulator profile (``profile.layout()``) or a master board id.
    seed : int
        Everything random is drawn from streams of this seed: same seed, same output.
    start_timestamp : float
        Value of the timestamp row at the first sample.
    """
    layout = layout_for(layout)
    m = _build_model(scenario, int(seed))
    dur = scenario.duration_s
    pkg_rows = _package_rows(layout.board_id, tuple(p.preset for p in layout.presets))
    names_by_role = {g.role: g.names for g in layout.groups}
    targets = [(e, art.targets(e, names_by_role)) for e in m.events]

    data: dict[str, np.ndarray] = {}
    for p in layout.presets:
        groups = [g for g in layout.groups if g.preset == p.preset]
        n = int(np.floor(dur * p.fs + 1e-9))
        t = np.arange(n) / p.fs
        arr = np.zeros((p.num_rows, n))
        pkg = pkg_rows.get(p.preset)
        if pkg is not None:
            arr[pkg] = np.arange(n)
        arr[p.timestamp_row] = start_timestamp + t
        for g in groups:
            rng = noise.stream(seed, f"{g.role}:{p.preset}:{','.join(g.names)}")
            x = _render_role(g.role, g.names, t, p.fs, m, rng)
            _apply_artifacts(x, g.role, g.names, t, p.fs, targets, m, rng)
            arr[list(g.rows)] = x
            del x  # (not held while the next group renders)
        data[p.preset] = arr

    truth = _truth(m, layout, targets, start_timestamp)
    return Rendered(scenario, int(seed), layout, data, truth)


def _apply_artifacts(
    x: np.ndarray,
    role: str,
    names: tuple[str, ...],
    t: np.ndarray,
    fs: float,
    targets,
    m: _Model,
    rng: np.random.Generator,
) -> None:
    index = {nm: i for i, nm in enumerate(names)}
    flats = []
    for event, hits in targets:
        for tg in hits:
            if tg.role != role or tg.channel not in index:
                continue
            if event.kind == "flat":
                flats.append((event, index[tg.channel]))
                continue
            i0, i1 = np.searchsorted(t, [event.start_s - 0.5, event.end_s + 0.5])
            if i1 <= i0:
                continue
            w = art.additive_waveform(
                event, tg, t[i0:i1], fs, rng, m.motion, m.scenario.person.line_noise_hz
            )
            if w is not None:
                x[index[tg.channel], i0:i1] += w
    for event, ch in flats:
        i0, i1 = np.searchsorted(t, [event.start_s, event.end_s])
        if i1 > i0:
            x[ch, i0:i1] = x[ch, i0]


def _truth(m: _Model, layout: SourceLayout, targets, t0: float) -> GroundTruth:
    sc = m.scenario
    tt = np.arange(0.0, sc.duration_s, 1.0 / TRUTH_FS)
    st = sc.evaluate(tt)
    h, b = m.heart, m.breathing
    eeg_group = layout.group("eeg")
    eeg_names = eeg_group.names if eeg_group else ()
    env = eeg.alpha_envelope(sc, tt)
    alpha = np.array([eeg.site_gains(nm)["alpha"] * env for nm in eeg_names]).reshape(
        len(eeg_names), tt.size
    )
    inhale, exhale = b.onsets()
    keep = h.beat_s < sc.duration_s
    rows = []
    for event, hits in targets:
        for tg in hits:
            if tg.gain >= art.MIN_GAIN:
                rows.append(
                    ArtifactRow(
                        event.kind,
                        tg.role,
                        tg.channel,
                        float(event.start_s),
                        float(event.end_s),
                        event.spontaneous,
                    )
                )
    return GroundTruth(
        start_timestamp=t0,
        iaf_hz=m.iaf_hz,
        resonance_breaths_per_min=sc.person.resonance_breaths_per_min,
        beat_s=h.beat_s[keep],
        beat_kind=h.kind[keep],
        ptt_s=h.ptt_s[keep],
        ppg_peak_s=m.ppg_peaks[keep],
        inhale_s=inhale[inhale < sc.duration_s],
        exhale_s=exhale[exhale < sc.duration_s],
        t_s=tt,
        relaxation=st.relaxation,
        eyes_closed=st.eyes_closed.astype(bool),
        breathing_rate_bpm=np.interp(tt, b.t_s, b.rate_bpm),
        paced=st.paced.astype(bool),
        heart_rate_bpm=np.interp(tt, h.t_s, h.hr_bpm),
        rsa_bpm=np.interp(tt, h.t_s, h.rsa_bpm),
        segment=tuple(sc.segments[i].label for i in st.segment),
        eeg_channels=tuple(eeg_names),
        alpha_rms_uv=alpha,
        artifacts=tuple(rows),
    )


# ----------------------------------------------------------------------------- writing


def write_rendered(rendered: Rendered, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write BrainFlow files (one per preset) and ``ground_truth/`` into ``out_dir``.

    Returns
    -------
    dict of str to Path
        Preset name -> BrainFlow file written.
    """
    from brainflow.data_filter import DataFilter

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for preset, arr in rendered.data.items():
        path = out / PRESET_FILES[preset]
        # A sample per line, so appending blocks of samples writes the same file as writing
        # the array at once, without DataFilter.write_file's full-size flattened copy.
        for k in range(0, max(arr.shape[1], 1), _WRITE_BLOCK):
            block = np.ascontiguousarray(arr[:, k : k + _WRITE_BLOCK])
            DataFilter.write_file(block, str(path), "w" if k == 0 else "a")
        files[preset] = path
    write_truth(rendered, out / "ground_truth", files)
    return files


def _csv(path: Path, header: list[str], rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def _f(x: float, nd: int = 6) -> str:
    return "" if not np.isfinite(x) else f"{x:.{nd}f}"


def write_truth(rendered: Rendered, folder: Path, files: dict[str, Path] | None = None) -> None:
    """Write the ground truth CSVs and ``meta.json`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    g = rendered.truth
    t0 = g.start_timestamp
    _csv(
        folder / "beats.csv",
        ["timestamp", "t_s", "kind", "ptt_s"],
        (
            [_f(t0 + t), _f(t), k, _f(p, 4)]
            for t, k, p in zip(g.beat_s, g.beat_kind, g.ptt_s, strict=True)
        ),
    )
    ok = np.isfinite(g.ppg_peak_s)
    _csv(
        folder / "ppg_peaks.csv",
        ["timestamp", "t_s", "beat_t_s", "kind"],
        (
            [_f(t0 + t), _f(t), _f(bt), k]
            for t, bt, k in zip(g.ppg_peak_s[ok], g.beat_s[ok], g.beat_kind[ok], strict=True)
        ),
    )
    breaths = sorted([(t, "inhale") for t in g.inhale_s] + [(t, "exhale") for t in g.exhale_s])
    _csv(
        folder / "breaths.csv",
        ["timestamp", "t_s", "phase"],
        ([_f(t0 + t), _f(t), ph] for t, ph in breaths),
    )
    _csv(
        folder / "breathing.csv",
        ["timestamp", "t_s", "rate_bpm", "paced"],
        (
            [_f(t0 + t), _f(t), _f(r, 3), int(p)]
            for t, r, p in zip(g.t_s, g.breathing_rate_bpm, g.paced, strict=True)
        ),
    )
    _csv(
        folder / "relaxation.csv",
        ["timestamp", "t_s", "relaxation", "eyes_closed", "heart_rate_bpm", "rsa_bpm", "segment"],
        (
            [_f(t0 + t), _f(t), _f(r, 4), int(e), _f(hr, 3), _f(rsa, 3), s]
            for t, r, e, hr, rsa, s in zip(
                g.t_s,
                g.relaxation,
                g.eyes_closed,
                g.heart_rate_bpm,
                g.rsa_bpm,
                g.segment,
                strict=True,
            )
        ),
    )
    _csv(
        folder / "alpha_amplitude.csv",
        ["timestamp", "t_s", *g.eeg_channels],
        (
            [_f(t0 + t), _f(t), *(_f(v, 3) for v in g.alpha_rms_uv[:, i])]
            for i, t in enumerate(g.t_s)
        ),
    )
    _csv(
        folder / "artifacts.csv",
        [
            "kind",
            "role",
            "channel",
            "start_s",
            "end_s",
            "start_timestamp",
            "end_timestamp",
            "spontaneous",
        ],
        (
            [
                a.kind,
                a.role,
                a.channel,
                _f(a.start_s),
                _f(a.end_s),
                _f(t0 + a.start_s),
                _f(t0 + a.end_s),
                int(a.spontaneous),
            ]
            for a in g.artifacts
        ),
    )
    sc = rendered.scenario
    meta = {
        "scenario": sc.name,
        "title": sc.title,
        "scenario_file": sc.source,
        "seed": rendered.seed,
        "generator_version": GENERATOR_VERSION,
        "duration_s": sc.duration_s,
        "start_timestamp": t0,
        "iaf_hz": g.iaf_hz,
        "resonance_breaths_per_min": g.resonance_breaths_per_min,
        "line_noise_hz": sc.person.line_noise_hz,
        "truth_fs": TRUTH_FS,
        "layout": rendered.layout.to_dict(),
        "files": {k: v.name for k, v in (files or {}).items()},
        "beats": {
            k: int(np.sum(g.beat_kind == k))
            for k in (cardiac.NORMAL, cardiac.ECTOPIC, cardiac.DROPPED)
        },
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
