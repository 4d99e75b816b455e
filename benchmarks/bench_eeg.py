"""EEG metrics benchmark: accuracy on the shared recordings, AlphaStream latency, throughput.

Run from the repository root::

    .venv/bin/python benchmarks/bench_eeg.py

Needs ../shared/data (see its MANIFEST.md). Prints:

* window-level AUC (4 s windows) eyes closed > eyes open on eeg_eyes/eeg_ec.txt vs eeg_eo.txt for
  relaxation_index and for plain relative alpha (8-13 / 1-45 Hz), at the 250 Hz the spectrum
  shows (mains at 50 Hz, alpha at 9.5 Hz) and at the 125 Hz the file header claims;
* Subject00_1 (rest) vs Subject04_2 (arithmetic) on posterior channels;
* OpenBCI file segment scores; signal_quality flags on the headset files;
* the halfway step-response delay of AlphaStream and of BrainFlow get_avg_band_powers on
  1/2/4 s sliding windows, measured the same way (median / p95 over seeds);
* throughput.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from biotrainer.dsp.alpha_stream import AlphaStream
from biotrainer.dsp.eeg import band_powers, relaxation_index
from biotrainer.dsp.quality import feedback_blocked, signal_quality

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def auc(pos, neg) -> float:
    pos, neg = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


def windows(x: np.ndarray, n: int) -> list[np.ndarray]:
    return [x[..., i : i + n] for i in range(0, x.shape[-1] - n + 1, n)]


def read_edf(path: Path, labels: tuple[str, ...] | None) -> tuple[np.ndarray, float]:
    import pyedflib

    with pyedflib.EdfReader(str(path)) as r:
        names = r.getSignalLabels()
        idx = [
            i
            for i, name in enumerate(names)
            if name.startswith("EEG")
            and "A2-A1" not in name
            and (labels is None or name.replace("EEG ", "") in labels)
        ]
        return np.array([r.readSignal(i) for i in idx]), float(r.getSampleFrequency(idx[0]))


def read_openbci(path: Path) -> np.ndarray:
    with open(path) as fh:
        lines = [ln for ln in fh if not ln.startswith("%")]
    header = [h.strip() for h in lines[0].split(",")]
    cols = [i for i, h in enumerate(header) if h.startswith("EXG Channel")]
    return np.loadtxt(lines[1:], delimiter=",", usecols=cols).T


def _alpha_means(x: np.ndarray, fs: float) -> np.ndarray:
    """AlphaStream's value averaged over 1 s, the first 2 s (filter settling) dropped."""
    v = AlphaStream(fs, x.shape[0]).push(x).value
    n = int(fs)
    k = v.size // n
    return v[: k * n].reshape(k, n).mean(axis=1)[2:]


def bench_accuracy() -> None:
    ec = np.loadtxt(DATA / "eeg_eyes" / "eeg_ec.txt", comments="#")
    eo = np.loadtxt(DATA / "eeg_eyes" / "eeg_eo.txt", comments="#")
    print("== eeg_eyes: eyes closed > eyes open, 4 s windows, window-level AUC")
    for fs, note in ((250.0, "spectrum-evident rate"), (125.0, "header rate")):
        n = int(4 * fs)
        we, wo = windows(ec, n), windows(eo, n)
        ri = auc([relaxation_index(w, fs) for w in we], [relaxation_index(w, fs) for w in wo])
        ra = auc(
            [band_powers(w, fs).alpha_rel[0] for w in we],
            [band_powers(w, fs).alpha_rel[0] for w in wo],
        )
        print(
            f"  fs={fs:.0f} Hz ({note}): relaxation_index AUC {ri:.3f}"
            f"   relative alpha AUC {ra:.3f}"
            f"   ({len(we)} EC / {len(wo)} EO windows)"
        )

    print("== eegmat: Subject00_1 (rest, eyes closed) vs Subject04_2 (arithmetic), 4 s windows")
    for labels, name in (
        (("O1", "O2", "P3", "P4", "Pz"), "posterior O1 O2 P3 P4 Pz"),
        (None, "all 19"),
    ):
        rest, fs = read_edf(DATA / "eeg_eyes" / "Subject00_1.edf", labels)
        task, _ = read_edf(DATA / "eeg_eyes" / "Subject04_2.edf", labels)
        a = [relaxation_index(w, fs) for w in windows(rest, int(4 * fs))]
        b = [relaxation_index(w, fs) for w in windows(task, int(4 * fs))]
        print(
            f"  {name}: median RI rest {np.median(a):.3f} [IQR {np.percentile(a, 25):.3f}-"
            f"{np.percentile(a, 75):.3f}]  task {np.median(b):.3f} [IQR {np.percentile(b, 25):.3f}-"
            f"{np.percentile(b, 75):.3f}]  window AUC {auc(a, b):.3f}"
        )

    print("== OpenBCI GUI v6 file (8 ch, 250 Hz): relaxation_index per segment, 4 s windows")
    x = read_openbci(DATA / "eeg_headsets" / "OpenBCI_GUI-v6-blinks-jawClench-alpha.txt")
    fs = 250.0
    for lo, hi, what in ((0, 20, "blinks + jaw clench"), (22, 74, "eyes closed"), (75, 90, "end")):
        v = [relaxation_index(w, fs) for w in windows(x[:, int(lo * fs) : int(hi * fs)], 1000)]
        print(
            f"  {lo:2d}-{hi:2d} s {what:20s}: median {np.median(v):.3f}  min {np.min(v):.3f}"
            f"  max {np.max(v):.3f}"
        )
    v_start = [relaxation_index(w, fs) for w in windows(x[:, : int(20 * fs)], 1000)]
    v_closed = [relaxation_index(w, fs) for w in windows(x[:, int(22 * fs) : int(74 * fs)], 1000)]
    print(f"  AUC eyes-closed vs start: {auc(v_closed, v_start):.3f}")

    print("== AlphaStream (the live feedback value) on the same recordings, 1 s means, window AUC")
    posterior = ("O1", "O2", "P3", "P4", "Pz")
    rest, fs_mat = read_edf(DATA / "eeg_eyes" / "Subject00_1.edf", posterior)
    task, _ = read_edf(DATA / "eeg_eyes" / "Subject04_2.edf", posterior)
    pairs = (
        ("eeg_eyes eyes closed > open", ec[None, :], eo[None, :], 250.0),
        ("eegmat rest > arithmetic (posterior)", rest, task, fs_mat),
        ("OpenBCI eyes closed > blink/jaw start", x[:, int(22 * fs) : int(74 * fs)],
         x[:, : int(20 * fs)], fs),
    )  # fmt: skip
    for what, a, b, rate in pairs:
        print(f"  {what:40s}: AUC {auc(_alpha_means(a, rate), _alpha_means(b, rate)):.3f}")

    print("== signal_quality on 1 s windows: fraction flagged (EMG on any ch / blocked feedback)")
    files = [("OpenBCI", x, 250.0, (0, 20), (22, 74))]
    for name in ("musedata_meditation.csv", "musedata_daydreaming.csv"):
        m = np.loadtxt(
            DATA / "eeg_headsets" / name, delimiter=",", skiprows=1, usecols=(1, 2, 3, 4)
        ).T
        dur = m.shape[1] / 220.0
        files.append((name, m, 220.0, (0, 5), (10, dur - 10)))
        files.append((name + " last 5 s", m, 220.0, (dur - 5, dur), (10, dur - 10)))
    for name, data, fs, art, quiet in files:
        n = int(fs)
        qs = [signal_quality(w, fs) for w in windows(data, n)]
        t = np.arange(len(qs))
        emg = np.array([q.emg.any() for q in qs])
        blk = np.array([feedback_blocked(q) for q in qs])
        a = (t >= art[0]) & (t < art[1])
        b = (t >= quiet[0]) & (t < quiet[1])
        print(
            f"  {name:34s} artifact {art[0]:.0f}-{art[1]:.0f} s: EMG {emg[a].mean():.2f} blocked "
            f"{blk[a].mean():.2f} | quiet: EMG {emg[b].mean():.2f} blocked {blk[b].mean():.2f}"
        )


def _pink(n: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    f = np.fft.rfftfreq(n, 1 / fs)
    amp = np.zeros_like(f)
    amp[1:] = 1 / np.sqrt(f[1:])
    x = np.fft.irfft(amp * np.exp(2j * np.pi * rng.random(f.size)), n)
    return x / x.std() * 10.0


def _step_pair(seed: int, fs: float):
    rng = np.random.default_rng(seed)
    n = int(10 * fs)
    t = np.arange(n) / fs
    bg = _pink(n, fs, rng)
    alpha = np.sin(2 * np.pi * 10.0 * t + rng.random() * 6)
    return bg + np.where(t < 5.0, 5.0, 20.0) * alpha, bg + 5.0 * alpha, int(5.0 * fs)


def _halfway(d: np.ndarray, k0: int, fs: float, settle_s: float) -> float:
    settled = np.median(d[k0 + int(settle_s * fs) : k0 + int((settle_s + 1.0) * fs)])
    return float(np.flatnonzero(d[k0:] >= 0.5 * settled)[0]) / fs


def bench_latency(n_seeds: int = 20) -> None:
    from brainflow.data_filter import DataFilter

    fs = 250.0
    print(
        "== step response: 10 Hz alpha 5 -> 20 µV in 10 µV-RMS 1/f noise, 250 Hz, "
        f"{n_seeds} seeds; time to half of the settled change (stepped minus unstepped twin)"
    )
    d_alpha = []
    for seed in range(n_seeds):
        a, b, k0 = _step_pair(seed, fs)
        d = AlphaStream(fs, 1).push(a).value - AlphaStream(fs, 1).push(b).value
        d_alpha.append(_halfway(d, k0, fs, 1.5))
    gd = AlphaStream(fs, 1).group_delay_s
    print(
        "  AlphaStream (7-13 Hz demodulated, flanking-band ratio; "
        f"stated group delay {gd * 1000:.0f} ms): "
        f"median {np.median(d_alpha) * 1000:.0f} ms  p95 {np.percentile(d_alpha, 95) * 1000:.0f} ms"
    )
    step = 5  # evaluate BrainFlow every 20 ms
    for win_s in (1.0, 2.0, 4.0):
        n = int(win_s * fs)
        delays = []
        for seed in range(n_seeds):
            a, b, k0 = _step_pair(seed, fs)
            ends = np.arange(n, a.size + 1, step)
            out = []
            for sig in (a, b):
                vals = []
                for e in ends:
                    win = np.ascontiguousarray(sig[e - n : e][None, :])
                    avg, _ = DataFilter.get_avg_band_powers(win, [0], int(fs), False)
                    vals.append(avg[2])  # alpha 8-13 Hz, relative (BrainFlow normalises)
                out.append(np.array(vals))
            d = out[0] - out[1]
            k = int(np.searchsorted(ends, k0 + 1))
            delays.append(_halfway(d, k, fs / step, win_s + 0.5))
        print(
            f"  BrainFlow get_avg_band_powers {win_s:.0f} s window (evaluated every 20 ms): "
            f"median {np.median(delays) * 1000:.0f} ms"
            f"  p95 {np.percentile(delays, 95) * 1000:.0f} ms"
        )


def bench_throughput() -> None:
    fs, n_ch = 250.0, 8
    rng = np.random.default_rng(0)
    x = rng.normal(0, 10, (n_ch, int(60 * fs)))
    stream = AlphaStream(fs, n_ch)
    chunk = 12  # ~50 ms
    t0 = time.perf_counter()
    n_chunks = 0
    for k in range(0, x.shape[1], chunk):
        stream.push(x[:, k : k + chunk])
        n_chunks += 1
    dt = time.perf_counter() - t0
    print("== throughput (8 channels, 250 Hz)")
    print(
        f"  AlphaStream, 50 ms chunks: {x.size / dt / 1e6:.2f} M samples/s, "
        f"{dt / n_chunks * 1e6:.0f} µs per chunk"
    )
    w4 = x[:, : int(4 * fs)]
    w1 = x[:, : int(fs)]
    for name, fn, reps in (
        ("relaxation_index, 4 s window", lambda: relaxation_index(w4, fs), 200),
        ("band_powers, 4 s window", lambda: band_powers(w4, fs), 200),
        ("signal_quality, 1 s window", lambda: signal_quality(w1, fs), 200),
    ):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        dt = (time.perf_counter() - t0) / reps
        print(f"  {name}: {dt * 1e3:.2f} ms per call")


def main() -> int:
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 1
    bench_accuracy()
    bench_latency()
    bench_throughput()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
