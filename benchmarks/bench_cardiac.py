"""Cardiac metrics benchmark: R peaks (vs NeuroKit2), PPG vs ECG, breathing rate, RR cleaning,
the engine's heart rate, irregular beats, throughput. Run from the repository root:

    .venv/bin/python benchmarks/bench_cardiac.py [--data ../shared/data]
        [--only heart-rate|irregular|sensor-off|electrode-off|ppg-noise]
"""

from __future__ import annotations

import argparse
import csv
import math
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from biotrainer.dsp.ecg import EcgPeakStream, ecg_peaks
from biotrainer.dsp.hrv import breathing_rate, coherence, hrv_time
from biotrainer.dsp.ppg import PpgPeakStream, ppg_peaks
from biotrainer.dsp.rr import MAX_IRREGULAR_FRACTION, clean_rr, rr_irregular_fraction

BEATS = set("NLRBAaJSVrFejnE/fQ?")
RECORDS = ["100", "106", "113", "202", "231", "800"]


def match(det, ref, fs, tol_s=0.15):
    det = np.sort(np.asarray(det, dtype=np.float64))
    used = np.zeros(det.size, dtype=bool)
    diffs = []
    for r, k in zip(ref, np.searchsorted(det, ref), strict=True):
        best = None
        for c in (k - 1, k):
            if (0 <= c < det.size and not used[c] and abs(det[c] - r) <= tol_s * fs) and (
                best is None or abs(det[c] - r) < abs(det[best] - r)
            ):
                best = c
        if best is not None:
            used[best] = True
            diffs.append(det[best] - r)
    tp = len(diffs)
    se, ppv = 100 * tp / ref.size, 100 * tp / max(det.size, 1)
    f1 = 2 * se * ppv / (se + ppv) if se + ppv else 0.0
    return se, ppv, f1, float(np.std(diffs) / fs * 1000)


def stream_all(cls, x, fs, chunk_s=0.1):
    s = cls(fs)
    n = max(1, int(round(chunk_s * fs)))
    times, out = [], []
    for i in range(0, x.size, n):
        t0 = time.perf_counter()
        out.append(s.push_positions(x[i : i + n]))
        times.append(time.perf_counter() - t0)
    return np.concatenate(out), np.array(times)


def bench_ecg(data: Path, lead: int = 0) -> None:
    import neurokit2 as nk
    import wfdb

    which = "first lead (MLII; 800: ECG1)" if lead == 0 else "second lead (V1, V5 or ECG2)"
    print(f"\n## R peaks on MIT-BIH, {which} (150 ms tolerance; SD of detected - annotated time)")
    print(
        f"{'rec lead':>9} {'fs':>4} {'beats':>5} | {'ecg_peaks Se/PPV/F1/SD':>27} | "
        f"{'stream 0.1s Se/PPV/F1/SD':>27} | {'nk default':>27} | {'nk pantompkins1985':>27}"
    )
    rows = {k: [] for k in ("off", "str", "nk", "pt")}
    for rec in RECORDS:
        r = wfdb.rdrecord(str(data / "ecg_mitdb" / rec))
        a = wfdb.rdann(str(data / "ecg_mitdb" / rec), "atr")
        fs, x = float(r.fs), r.p_signal[:, lead]
        ref = np.array([s for s, y in zip(a.sample, a.symbol, strict=True) if y in BEATS])
        res = {
            "off": match(ecg_peaks(x, fs, subsample=True), ref, fs),
            "str": match(stream_all(EcgPeakStream, x, fs)[0], ref, fs),
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for key, method in (("nk", "neurokit"), ("pt", "pantompkins1985")):
                clean = nk.ecg_clean(x, sampling_rate=int(fs), method=method)
                _, info = nk.ecg_peaks(clean, sampling_rate=int(fs), method=method)
                res[key] = match(info["ECG_R_Peaks"], ref, fs)
        cells = " | ".join(
            "{:6.2f} {:6.2f} {:6.2f} {:5.1f}".format(*res[k]) for k in ("off", "str", "nk", "pt")
        )
        name = f"{rec} {r.sig_name[lead]}"
        print(f"{name:>9} {fs:4.0f} {ref.size:5d} | {cells}")
        for k in rows:
            rows[k].append(res[k])
    for k, name in (
        ("off", "ecg_peaks"),
        ("str", "EcgPeakStream"),
        ("nk", "nk default"),
        ("pt", "nk pantompkins"),
    ):
        arr = np.array(rows[k])
        print(
            f"  {name:15s}: min Se {arr[:, 0].min():.2f} %, min PPV {arr[:, 1].min():.2f} %, "
            f"mean F1 {arr[:, 2].mean():.2f} %, median timing SD {np.median(arr[:, 3]):.1f} ms"
        )


def bench_ppg(data: Path) -> None:
    d = np.genfromtxt(
        data / "ecg_ppg_rsp" / "bio_resting_5min_100hz.csv", delimiter=",", names=True
    )
    r = ecg_peaks(d["ECG"], 100.0, subsample=True) / 100
    hr_e = hrv_time(clean_rr(np.diff(r) * 1000).rr_ms).mean_hr
    print("\n## PPG (max-upslope fiducial) vs ECG, bio_resting_5min_100hz.csv")
    print(f"(ECG cleaned mean HR over the whole record: {hr_e:.2f} bpm; HR/RMSSD below are on the")
    print(" intervals between consecutive pulses and between their own R peaks)")
    print(" fs | pulses | unmatched | HR ppg  HR ecg | RMSSD ppg  RMSSD ecg  diff")
    for fs, (up, down) in ((100, (1, 1)), (64, (16, 25)), (25, (1, 4))):
        y = resample_poly(d["PPG"], up, down) if up != down else d["PPG"]
        p = ppg_peaks(y, fs, subsample=True) / fs
        p = p[p > 0.6]
        k0 = np.searchsorted(r, p - 0.05) - 1
        typical = np.median((p - r[np.clip(k0, 0, None)])[k0 >= 0])
        k = np.full(p.size, -1)
        for i, t in enumerate(p):
            c = np.flatnonzero((r >= t - 0.6) & (r <= t - 0.05))
            if c.size:
                k[i] = c[np.argmin(np.abs(t - r[c] - typical))]
        rr_p, rr_e = np.diff(p) * 1000, np.diff(r[k]) * 1000
        good = (rr_p < 1.5 * np.median(rr_p)) & (k[1:] >= 0) & (k[:-1] >= 0)
        both = good[1:] & good[:-1]
        a = np.sqrt(np.mean(np.diff(rr_p)[both] ** 2))
        b = np.sqrt(np.mean(np.diff(rr_e)[both] ** 2))
        hr_p, hr_m = 60000 / np.mean(rr_p[good]), 60000 / np.mean(rr_e[good])
        print(
            f"{fs:3d} | {p.size:6d} | {np.sum(k < 0):9d} | {hr_p:6.2f}  {hr_m:6.2f} | "
            f"{a:9.1f}  {b:9.1f}  {100 * (a / b - 1):+5.1f} %"
        )

    print(
        "\n## Camera PPG (Welltory, ~30 fps resampled to 30 Hz, red as recorded: the detector"
        " turns it the right way up) vs Polar H10 RR (report only)"
    )
    print("subject | HR ppg  HR polar | RMSSD ppg  RMSSD polar")
    for sub in sorted((data / "ppg_camera_welltory").glob("subject_*")):
        raw = np.genfromtxt(sub / "PPG.csv", delimiter=",", names=True)
        t = (raw["time"] - raw["time"][0]) / 1000
        grid = np.arange(0, t[-1], 1 / 30)
        y = np.interp(grid, t, raw["R"])
        p = ppg_peaks(y, 30, subsample=True) / 30
        ref = np.loadtxt(sub / "RR.txt").ravel()
        hp = hrv_time(clean_rr(np.diff(p) * 1000).rr_ms)
        hr = hrv_time(clean_rr(ref).rr_ms)
        print(
            f"{sub.name:>10} | {hp.mean_hr:6.1f}  {hr.mean_hr:6.1f} | {hp.rmssd:9.1f}  "
            f"{hr.rmssd:9.1f}"
        )


def bench_breathing(data: Path) -> None:
    print("\n## breathing_rate over the last 60 s (cleaned RR) vs paced rate")
    folder = data / "breathing_paced"
    with open(folder / "trials.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            rr = clean_rr(np.loadtxt(folder / row["file"])).rr_ms
            paced = float(row["paced_rate_breaths_per_min"])
            br = breathing_rate(rr, 60.0)
            print(
                f"  {Path(row['file']).name:28s} paced {paced:4.1f}  est {br:5.2f}  "
                f"error {br - paced:+5.2f} br/min  coherence {coherence(rr):5.2f}"
            )


def bench_breathing_belt(data: Path) -> None:
    """The breathing rate at spontaneous breathing, against the respiration belt recorded with
    the same ECG: 60-s windows every 30 s. The belt's rate is NeuroKit2's ``rsp_process`` rate
    averaged over the window (the oracle). Two estimates: ``breathing_rate`` (RSA, from the R
    peaks; the engine's without a belt) and ``RespRateStream`` (breaths counted on the belt,
    pushed a second at a time; the engine's with one). Then a nasal thermistor that saturates
    half the time: how many windows the count gives a rate for."""
    import neurokit2 as nk

    print("\n## breathing rate vs the respiration belt at rest (RSA; counted on the belt)")
    for name in ("bio_resting_5min_100hz.csv", "bio_resting_8min_100hz.csv"):
        d = np.genfromtxt(data / "ecg_ppg_rsp" / name, delimiter=",", names=True)
        fs = 100.0
        beats = ecg_peaks(d["ECG"], fs, subsample=True) / fs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            belt = nk.rsp_process(d["RSP"], sampling_rate=int(fs))[0]["RSP_Rate"].to_numpy()
        counted = _belt_rates(d["RSP"], fs)
        errors, count_errors = [], []
        rows = []
        for end in range(60, int(d["ECG"].size / fs) + 1, 30):
            upto = beats[beats <= end]
            est = breathing_rate(clean_rr(np.diff(upto) * 1000).rr_ms, 60.0)
            ref = float(np.nanmean(belt[int((end - 60) * fs) : int(end * fs)]))
            got = counted[end - 1]
            errors.append(est - ref)
            count_errors.append(got - ref)
            rows.append(f"{end:4d}s belt {ref:5.1f} RSA {est:5.2f} ({est - ref:+6.2f}) "
                        f"counted {got:5.2f} ({got - ref:+5.2f})")  # fmt: skip
        for label, e in (("RSA", errors), ("counted", count_errors)):
            err = np.abs(np.array(e))
            print(f"  {name} {label:8s}: {len(rows)} windows, median |error| "
                  f"{np.nanmedian(err):.2f} br/min, {int(np.sum(err > 2))} more than 2 off, "
                  f"worst {np.nanmax(err):.2f}, no rate {int(np.isnan(err).sum())}")  # fmt: skip
        for row in rows:
            print("    " + row)
    path = data / "meditation_ppg_breath" / "meditation_10min_20260121_185132.csv"
    d = np.genfromtxt(path, delimiter=",", names=True, skip_header=6)
    x = d["thermistor"].astype(float)
    counted = _belt_rates(x, 50.0)
    ends = np.arange(60, x.size // 50 + 1, 30)
    rated = np.isfinite(counted[ends - 1])
    print(f"  nasal thermistor (meditation, 50 Hz, {np.mean(x >= 4095):.0%} of samples at the "
          f"4095 rail, jumps of ~2000 counts): rate given in {int(rated.sum())} of "
          f"{ends.size} windows")  # fmt: skip


def _belt_rates(x: np.ndarray, fs: float) -> np.ndarray:
    """``RespRateStream``'s rate after each second of ``x``, pushed a second at a time."""
    from biotrainer.dsp.resp import RespRateStream

    stream = RespRateStream(fs)
    out = []
    step = int(fs)
    for i in range(0, x.size - step + 1, step):
        stream.push(x[i : i + step])
        out.append(stream.breathing_bpm)
    return np.array(out)


def bench_rr_long(data: Path) -> None:
    print("\n## clean_rr on rr_long (per 5-min window; RMSSD/SDNN raw -> cleaned, ms)")
    series = {
        "nsr001": np.loadtxt(data / "rr_long" / "nsr001_rr_secs.txt")[1:] * 1000,
        "000": np.loadtxt(data / "rr_long" / "000.txt"),
    }
    for name, rr in series.items():
        t0 = time.perf_counter()
        c = clean_rr(rr)
        dt = time.perf_counter() - t0
        print(
            f"{name}: {rr.size} intervals, cleaned in {dt * 1000:.0f} ms; flagged: "
            f"ectopic {c.ectopic.sum()}, missed {c.missed.sum()}, extra {c.extra.sum()}, "
            f"long {c.long.sum()}, short {c.short.sum()}, invalid {c.invalid.sum()}"
        )
        win = (np.cumsum(rr) / 1000 // 300).astype(int)
        changes = []
        shown = 0
        for w in np.unique(win):
            sel = win == w
            if sel.sum() < 50:
                continue
            cw = clean_rr(rr[sel])
            a, b = hrv_time(rr[sel]), hrv_time(cw.rr_ms)
            changes.append((cw.n_flagged, a.rmssd, b.rmssd, a.sdnn, b.sdnn))
            if cw.n_flagged and shown < 8:
                shown += 1
                print(
                    f"   window {w:3d}: {cw.n_flagged:3d} flagged | RMSSD {a.rmssd:7.1f} -> "
                    f"{b.rmssd:6.1f} | SDNN {a.sdnn:7.1f} -> {b.sdnn:6.1f}"
                )
        ch = np.array(changes)
        f = ch[:, 0] > 0
        print(
            f"   {len(ch)} windows, {f.sum()} with flags; median RMSSD change in those "
            f"{np.median(ch[f, 2] - ch[f, 1]):+.1f} ms (max {np.min(ch[f, 2] - ch[f, 1]):+.1f}),"
            f" median SDNN change {np.median(ch[f, 4] - ch[f, 3]):+.1f} ms"
        )


def bench_speed(data: Path) -> None:
    import wfdb

    print("\n## Throughput")
    x = wfdb.rdrecord(str(data / "ecg_mitdb" / "100")).p_signal[:, 0]
    t0 = time.perf_counter()
    ecg_peaks(x, 360.0)
    dt = time.perf_counter() - t0
    print(f"ecg_peaks offline: {x.size / dt / 1e6:.2f} M samples/s ({x.size} samples, {dt:.2f} s)")
    _, times = stream_all(EcgPeakStream, x, 360.0)
    print(
        f"EcgPeakStream 0.1 s chunks @360 Hz: {x.size / times.sum() / 1e6:.2f} M samples/s; "
        f"per chunk mean {times.mean() * 1e3:.3f} ms, p99 {np.percentile(times, 99) * 1e3:.3f} "
        f"ms, max {times.max() * 1e3:.2f} ms"
    )
    d = np.genfromtxt(
        data / "ecg_ppg_rsp" / "bio_resting_5min_100hz.csv", delimiter=",", names=True
    )
    y = resample_poly(d["PPG"], 16, 25)
    _, times = stream_all(PpgPeakStream, y, 64.0)
    print(
        f"PpgPeakStream 0.1 s chunks @64 Hz: {y.size / times.sum() / 1e6:.2f} M samples/s; "
        f"per chunk mean {times.mean() * 1e3:.3f} ms, p99 {np.percentile(times, 99) * 1e3:.3f} ms"
    )
    rr = np.loadtxt(data / "rr_long" / "000.txt")[:300]
    t0 = time.perf_counter()
    for _ in range(100):
        clean_rr(rr)
        hrv_time(rr)
        coherence(rr)
        breathing_rate(rr)
    print(
        f"per-beat update (clean_rr + hrv_time + coherence + breathing_rate on 300 beats): "
        f"{(time.perf_counter() - t0) * 10:.2f} ms"
    )


def bench_heart_rate(data: Path, step_s: float = 0.1, block_s: float = 10.0) -> None:
    """The engine's heart rate (``CardiacProcessor`` fed as a re-analysis feeds it: 10-s blocks
    stepped every 0.1 s) against the annotated beats' rate over the last 10 s, each second."""
    import wfdb

    from biotrainer.engine.processors import CardiacProcessor

    print("\n## engine heart rate vs annotated beats over the last 10 s (MIT-BIH, first lead)")
    head = f"{'rec':>4} | {'seconds':>7} | {'median |err|':>12} | {'p95 |err|':>9} |"
    print(f"{head} {'> 5 bpm off':>11}")
    for rec in RECORDS:
        r = wfdb.rdrecord(str(data / "ecg_mitdb" / rec))
        a = wfdb.rdann(str(data / "ecg_mitdb" / rec), "atr")
        fs, x = float(r.fs), r.p_signal[:, 0]
        beats = np.array([s for s, y in zip(a.sample, a.symbol, strict=True) if y in BEATS]) / fs
        processor = CardiacProcessor(fs, "ecg", 0.0)
        step, block = round(step_s * fs), round(block_s * fs)
        errors, next_t = [], 15.0
        ends = [*range(step, block, step), block]
        for b0 in range(0, x.size - block + 1, block):
            for i, _ in enumerate(processor.push_many(x[b0 : b0 + block], ends)):
                t = (b0 + ends[i]) / fs
                if t < next_t:  # (one value a second)
                    continue
                next_t = math.floor(t) + 1.0
                last = beats[(beats <= t) & (beats > t - 10.0)]
                if last.size >= 3 and np.isfinite(processor.hr_bpm):
                    truth = 60.0 * (last.size - 1) / (last[-1] - last[0])
                    errors.append(abs(processor.hr_bpm - truth))
        e = np.array(errors)
        print(
            f"{rec:>4} | {e.size:7d} | {np.median(e):9.2f} bpm | {np.percentile(e, 95):5.1f} bpm"
            f" | {100 * np.mean(e > 5):9.1f} %"
        )


def _minute_windows(beats_s: np.ndarray, step_s: float) -> list[np.ndarray]:
    """Cleaned RR (ms) of the 60-s windows of ``beats_s`` ending every ``step_s`` (intervals
    over 3 s left out, as the engine does)."""
    out = []
    for end in np.arange(60.0, beats_s[-1] + 1e-9, step_s):
        b = beats_s[(beats_s > end - 60.0) & (beats_s <= end)]
        rr = np.diff(b) * 1000.0
        rr = rr[rr < 3000.0]
        if rr.size >= 20:
            out.append(clean_rr(rr).rr_ms)
    return out


def bench_irregular(data: Path) -> None:
    """The irregular-beats gate (``dsp.rr.rr_too_irregular``) on every recording with beats:
    per 60-s window of cleaned RR, the share of steps over 20 %; windows over the limit give
    no RMSSD, coherence or breathing rate in the engine."""
    import wfdb

    print(f"\n## Irregular beats: share of cleaned-RR steps over 20 % per 60-s window "
          f"(withheld above {MAX_IRREGULAR_FRACTION:g})")  # fmt: skip
    print(f"{'recording':34s} | windows | worst | withheld | RMSSD shown (median) / reference")

    def row(label: str, beats: np.ndarray, step: float, ref: float = math.nan) -> None:
        w = _minute_windows(beats, step)
        if not w:
            return
        frac = np.array([rr_irregular_fraction(x) for x in w])
        held = frac > MAX_IRREGULAR_FRACTION
        shown = [hrv_time(x).rmssd for x, h in zip(w, held, strict=True) if not h]
        med = f"{np.median(shown):6.1f}" if shown else "     -"
        tail = f" / {ref:5.1f}" if math.isfinite(ref) else ""
        print(f"{label:34s} | {len(w):7d} | {frac.max():5.2f} | {held.mean() * 100:6.1f} % | "
              f"{med}{tail}")  # fmt: skip

    for sub in sorted((data / "ppg_camera_welltory").glob("subject_*")):
        raw = np.genfromtxt(sub / "PPG.csv", delimiter=",", names=True)
        t = (raw["time"] - raw["time"][0]) / 1000
        y = np.interp(np.arange(0, t[-1], 1 / 30), t, raw["R"])
        strap = np.loadtxt(sub / "RR.txt").ravel()
        ref = hrv_time(clean_rr(strap).rr_ms).rmssd
        row(f"camera PPG {sub.name}", ppg_peaks(y, 30, subsample=True) / 30, 10.0, ref)
        row("  its Polar H10 RR", np.cumsum(strap) / 1000.0, 10.0)
    for name in ("bio_resting_5min_100hz.csv", "bio_resting_8min_100hz.csv"):
        d = np.genfromtxt(data / "ecg_ppg_rsp" / name, delimiter=",", names=True)
        row(f"resting ECG {name[12:16]}", ecg_peaks(d["ECG"], 100, subsample=True) / 100, 10.0)
        if "PPG" in (d.dtype.names or ()):
            row(f"resting PPG {name[12:16]}", ppg_peaks(d["PPG"], 100, subsample=True) / 100, 10.0)
    for rec in RECORDS:
        r = wfdb.rdrecord(str(data / "ecg_mitdb" / rec))
        beats = ecg_peaks(r.p_signal[:, 0], r.fs, subsample=True) / r.fs
        row(f"MIT-BIH {rec} first lead, detected", beats, 10.0)
    with open(data / "breathing_paced" / "trials.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            rr = np.loadtxt(data / "breathing_paced" / r["file"])
            row(f"paced {Path(r['file']).name[:20]}", np.cumsum(rr) / 1000.0, 10.0)
    row("rr_long 000 (21 h)", np.cumsum(np.loadtxt(data / "rr_long" / "000.txt")) / 1000, 60.0)
    nsr = np.loadtxt(data / "rr_long" / "nsr001_rr_secs.txt")[1:]
    row("rr_long nsr001 (23 h)", np.cumsum(nsr), 60.0)


def bench_sensor_off(data: Path) -> None:
    """A real finger-off (the meditation wearable's, where its infrared level fell under a
    tenth, and a second either side) copied into the middle of the recording at 300 s, fed to
    the engine's ``CardiacProcessor`` in 0.1-s pieces: pulses during it and RMSSD around it.
    Then the share of samples ``HeartSignalGuard`` judges off-scale on every heart signal."""
    from biotrainer.engine.processors import CardiacProcessor

    print("\n## A PPG finger-off (7 s, real) copied in at 300 s: pulses and RMSSD (ms) around it")
    path = data / "meditation_ppg_breath" / "meditation_10min_20260121_185132.csv"
    with open(path, newline="") as fh:
        rows_in = list(csv.reader(line for line in fh if not line.startswith("#")))
    head, body = rows_in[0], np.array(rows_in[1:], dtype=np.float64)
    fs = 50.0
    t = body[:, head.index("timestamp_ms")] / 1000.0
    x = np.interp(np.arange(t[0], t[-1], 1 / fs), t, body[:, head.index("ir")])
    low = np.flatnonzero(x < 0.1 * np.median(x))
    off = x[low[0] - int(fs) : low[-1] + int(fs)]
    at = int(300 * fs)
    y = np.concatenate([x[:at], off, x[at : at + int(200 * fs)]])
    end = 300.0 + off.size / fs
    proc = CardiacProcessor(fs, "ppg", t0=0.0)
    beats, rows = [], []
    step = int(0.1 * fs)
    for k in range(0, y.size, step):
        for _ in proc.push_many(y[k : k + step], (min(step, y.size - k),)):
            pass
        beats += proc.take_new_beats()
        rows.append(((k + step) / fs, proc.rmssd_ms))
    b = np.array(beats)
    tt, r = np.array(rows).T
    inside = int(np.sum((b > 301.5) & (b < end - 1.5)))
    before, after = r[(tt >= 240) & (tt < 300)], r[(tt >= end + 2) & (tt < end + 60)]
    print(f"  off {300.0:.1f}-{end:.1f} s: pulses inside {inside}; RMSSD 240-300 s median "
          f"{np.nanmedian(before):.1f} (max {np.nanmax(before):.1f}); the minute after: median "
          f"{np.nanmedian(after):.1f} (max {np.nanmax(after):.1f})")  # fmt: skip
    try:
        from biotrainer.dsp.heart_guard import HeartSignalGuard
    except ImportError:
        return
    import wfdb

    print("  samples judged off-scale (HeartSignalGuard):")
    signals = [("meditation PPG ir (its own finger-off at the end)", x, fs)]
    for rec in RECORDS:
        r = wfdb.rdrecord(str(data / "ecg_mitdb" / rec))
        for lead in (0, 1):
            signals.append((f"MIT-BIH {rec} lead {lead}", r.p_signal[:, lead], r.fs))
    for name in ("bio_resting_5min_100hz.csv", "bio_resting_8min_100hz.csv"):
        d = np.genfromtxt(data / "ecg_ppg_rsp" / name, delimiter=",", names=True)
        for c in ("ECG", "PPG"):
            if c in (d.dtype.names or ()):
                signals.append((f"resting {c} {name[12:16]}", d[c], 100.0))
    for sub in sorted((data / "ppg_camera_welltory").glob("subject_*")):
        raw = np.genfromtxt(sub / "PPG.csv", delimiter=",", names=True)
        tc = (raw["time"] - raw["time"][0]) / 1000
        signals.append((f"camera PPG {sub.name}", np.interp(np.arange(0, tc[-1], 1 / 30), tc,
                                                             raw["R"]), 30.0))  # fmt: skip
    for name, sig, f in signals:
        out, _ = HeartSignalGuard(f).push(sig)
        share = float(np.mean(np.isnan(out) & np.isfinite(sig)))
        print(f"    {name:48s} {100 * share:6.2f} %")


def bench_electrode_off(data: Path) -> None:
    """An ECG electrode off with only the amplifier's noise on the trace (5 uV white noise in
    place of the signal, 10 or 40 s, at 10 points of every MIT-BIH record's first lead): R peaks
    found in the noise and, for the 30 s from 5 s after the electrode is back, the count
    against the annotated beats. Then 2 h of noise alone (white, brown) at 100/250/500 Hz."""
    import wfdb

    print("\n## ECG electrode off, 5 uV noise on the trace (10 starts x 10/40 s per record)")
    rng = np.random.default_rng(7)
    for rec in RECORDS:
        r = wfdb.rdrecord(str(data / "ecg_mitdb" / rec))
        a = wfdb.rdann(str(data / "ecg_mitdb" / rec), "atr")
        fs, x = float(r.fs), r.p_signal[:, 0]
        ref = np.array([s for s, y in zip(a.sample, a.symbol, strict=True) if y in BEATS])
        in_noise, wrong, worst = [], 0, 0
        for start in np.linspace(300.0, 1500.0, 10):
            for off_s in (10.0, 40.0):
                i, j = int(start * fs), int((start + off_s) * fs)
                det = ecg_peaks(np.concatenate([x[:i], rng.normal(0, 0.005, j - i), x[j:]]), fs)
                in_noise.append(int(np.sum((det > i + 0.5 * fs) & (det < j))) / (off_s - 0.5))
                lo, hi = j + 5 * fs, j + 35 * fs
                diff = int(np.sum((det > lo) & (det < hi))) - int(np.sum((ref > lo) & (ref < hi)))
                wrong += abs(diff) > 1
                worst = max(worst, abs(diff), key=abs)
        print(f"  {rec}: beats/s in the noise median {np.median(in_noise):.2f} max "
              f"{max(in_noise):.2f}; the half minute after off by > 1 beat in {wrong} of 20 "
              f"(worst {worst:+d})")  # fmt: skip
    for fs in (100.0, 250.0, 500.0):
        n = int(7200 * fs)
        white = ecg_peaks(rng.normal(0.0, 1.0, n), fs).size
        brown = ecg_peaks(np.cumsum(rng.normal(0.0, 1.0, n)), fs).size
        print(f"  2 h of noise alone at {fs:.0f} Hz: {white} beats (white), {brown} (brown)")


def _first_pulse_out_s(x: np.ndarray, fs: float) -> float:
    """Seconds of signal streamed (0.1-s chunks) until the first pulse comes out (NaN: none)."""
    stream, n = PpgPeakStream(fs), max(1, int(round(0.1 * fs)))
    for i in range(0, x.size, n):
        if stream.push_positions(x[i : i + n]).size:
            return min(i + n, x.size) / fs
    return math.nan


def _respaced_pulses(ppg: np.ndarray, fs: float, intervals_s: np.ndarray) -> np.ndarray:
    """The PPG's own beats (cycles from 0.15 s before an upstroke) at ``intervals_s``: the
    first 0.35 s of a cycle kept, the rest stretched to the interval, ramped to meet the next."""
    feet = ppg_peaks(ppg, fs) - int(round(0.15 * fs))
    feet, kept = feet[feet > 0], int(round(0.35 * fs))
    pieces = []
    for k, interval in enumerate(intervals_s):
        cycle = ppg[feet[k % (feet.size - 1)] : feet[k % (feet.size - 1) + 1]]
        n = int(round(interval * fs))
        rest = np.interp(np.linspace(kept, cycle.size - 1, n - kept), np.arange(cycle.size), cycle)
        pieces.append(np.concatenate([cycle[:kept], rest]))
    for k in range(len(pieces) - 1):
        pieces[k] = pieces[k] + np.linspace(0, 1, pieces[k].size) * (
            pieces[k + 1][0] - pieces[k][-1]
        )
    return np.concatenate(pieces)


def bench_ppg_noise(data: Path) -> None:
    """A PPG sensor with only noise on its trace (on the table, before the finger is on):
    pulses counted in 10 min of white/pink/brown noise at 25-250 Hz; then the time until the
    first pulse comes out on the real PPGs, streamed from every 10 s of each record, and on the
    resting finger's beats re-spaced at random 0.4-1.2 s (as in atrial fibrillation)."""
    print("\n## PPG noise alone (10 min): pulses counted (white, pink, brown)")
    rng = np.random.default_rng(20)
    for fs in (25.0, 50.0, 100.0, 250.0):
        n = int(600 * fs)
        white = rng.standard_normal(n)
        f = np.fft.rfftfreq(n)
        f[0] = f[1]
        pink = np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) / np.sqrt(f), n)
        brown = np.cumsum(rng.standard_normal(n))
        counts = [ppg_peaks(1000.0 + y, fs).size for y in (white, pink, brown)]
        print(f"  {fs:5.0f} Hz: {counts[0]}, {counts[1]}, {counts[2]}")
    print("## PPG time to the first pulse out (streamed from every 10 s, 40 s each)")
    rest = np.genfromtxt(data / "ecg_ppg_rsp" / "bio_resting_5min_100hz.csv", delimiter=",",
                         names=True)["PPG"]  # fmt: skip
    path = data / "meditation_ppg_breath" / "meditation_10min_20260121_185132.csv"
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    column = lines[0].split(",").index("ir")
    ir = np.array([float(line.split(",")[column]) for line in lines[1:]])
    rng = np.random.default_rng(21)
    fibrillation = _respaced_pulses(rest, 100.0, rng.uniform(0.4, 1.2, 400))
    for name, x, fs in (
        ("finger PPG at rest, 100 Hz", rest, 100.0),
        ("MAX3010x ir, 50 Hz", ir, 50.0),
        ("its beats at random 0.4-1.2 s", fibrillation, 100.0),
    ):
        first = [_first_pulse_out_s(x[int(s * fs) : int((s + 40) * fs)], fs)
                 for s in np.arange(0.0, x.size / fs - 40.0, 10.0)]  # fmt: skip
        print(f"  {name:28s} median {np.nanmedian(first):.1f} s, max {np.nanmax(first):.1f} s, "
              f"none in {int(np.sum(np.isnan(first)))} of {len(first)}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
    ap.add_argument(
        "--only",
        choices=[
            "heart-rate",
            "irregular",
            "sensor-off",
            "electrode-off",
            "ppg-noise",
            "breathing",
        ],
        help="run one part only",
    )
    args = ap.parse_args()
    if args.only == "heart-rate":
        bench_heart_rate(args.data)
        return
    if args.only == "irregular":
        bench_irregular(args.data)
        return
    if args.only == "sensor-off":
        bench_sensor_off(args.data)
        return
    if args.only == "electrode-off":
        bench_electrode_off(args.data)
        return
    if args.only == "ppg-noise":
        bench_ppg_noise(args.data)
        return
    if args.only == "breathing":
        bench_breathing(args.data)
        bench_breathing_belt(args.data)
        return
    bench_ecg(args.data)
    bench_ecg(args.data, lead=1)
    bench_ppg(args.data)
    bench_breathing(args.data)
    bench_breathing_belt(args.data)
    bench_rr_long(args.data)
    bench_heart_rate(args.data)
    bench_irregular(args.data)
    bench_sensor_off(args.data)
    bench_electrode_off(args.data)
    bench_ppg_noise(args.data)
    bench_speed(args.data)


if __name__ == "__main__":
    main()
