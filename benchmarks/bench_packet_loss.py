"""Heart metrics of a Bluetooth PPG that loses packets, with and without reading its packet
numbers. Run from the repository root:

    .venv/bin/python benchmarks/bench_packet_loss.py [--data ../shared/data] [--seeds 3]

A PPG is cut into numbered 6-sample packets at 64 Hz (a Muse's), some lost at random
(:func:`biotrainer.acquisition.simulator.packets.bluetooth_packets`: the timestamps spread over
the time since the packet before, as BrainFlow stamps them), recorded as a session folder and
replayed through the engine (``FileSource`` -> ``Engine``, protocol hrv-resonance-breathing),
once with the Muse profile's counter rule in its layout and once without (as before it was
read). Each is compared with the same PPG replayed without losses, at every update from 90 s
on: median relative RMSSD error, median absolute coherence and heart-rate error. Cases: two
simulator sessions, and two real PPG recordings resampled to 64 Hz (NeuroKit2's 5-min resting
record, the 10-min meditation wearable's infrared).
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from biotrainer.acquisition.chunk import Chunk
from biotrainer.acquisition.counter import PacketCounter
from biotrainer.acquisition.file_source import FileSource
from biotrainer.acquisition.profiles import load_profile
from biotrainer.acquisition.simulator.packets import bluetooth_packets
from biotrainer.acquisition.simulator.render import render_scenario
from biotrainer.acquisition.simulator.scenario import load_scenario
from biotrainer.acquisition.source import SourceState
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.session import Recorder

FS = 64.0
PER_PACKET = 6
FROM_S = 90.0
LOSSES = (0.005, 0.01, 0.03, 0.1)
T0 = 1_700_000_000.0


def _layouts():
    layout = load_profile("simulator-muse2").layout()
    preset, group = layout.preset("ancillary"), layout.group("ppg")
    plain = replace(layout, presets=(preset,), groups=(group,))
    rule = load_profile("muse2").layout().preset("ancillary").counter
    return plain, replace(plain, presets=(replace(preset, counter=rule),))


def _array(plain, ppg: np.ndarray) -> np.ndarray:
    """A 64-Hz PPG in the Muse ancillary preset's rows (the same signal on the three rows)."""
    p, g = plain.presets[0], plain.groups[0]
    a = np.zeros((p.num_rows, ppg.size))
    a[list(g.rows)] = ppg
    a[p.timestamp_row] = T0 + np.arange(ppg.size) / FS
    return a


def cases(plain, data: Path) -> dict[str, np.ndarray]:
    out = {}
    for name, seed in (("resonance-breathing", 3), ("stressed-to-relaxed", 1)):
        out[f"simulator {name}"] = render_scenario(load_scenario(name), plain, seed=seed).data[
            "ancillary"
        ]
    rest = data / "ecg_ppg_rsp" / "bio_resting_5min_100hz.csv"
    if rest.is_file():
        with rest.open() as f:
            rows = list(csv.DictReader(f))
        ppg = np.array([float(r["PPG"]) for r in rows])
        out["NeuroKit resting 5 min"] = _array(plain, resample_poly(ppg, 16, 25))
    med = next((data / "meditation_ppg_breath").glob("meditation_10min_*.csv"), None)
    if med is not None:
        with med.open() as f:
            rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
        ppg = np.array([float(r["ir"]) for r in rows])
        out["meditation wearable IR"] = _array(plain, resample_poly(ppg, 32, 25))
    return out


def replay(layout, arr: np.ndarray, folder: Path) -> dict[int, object]:
    """Record ``arr`` as a session in ``layout`` and replay it through the engine."""
    clock = SimulatedClock()
    rec = Recorder.create(layout, out=folder, clock=clock, fsync=False)
    ts = arr[layout.presets[0].timestamp_row]
    for lo in np.arange(ts[0], ts[-1] + 1.0, 1.0):
        i, j = np.searchsorted(ts, [lo, lo + 1.0])
        raw = {"ancillary": arr[:, i:j]}
        rec.write(Chunk(raw=raw, signals=layout.split(raw), received_at=lo))
        clock.advance(1.0)
    rec.close()
    clock = SimulatedClock()
    source = FileSource(folder, clock, max_poll_s=5.0)
    engine = Engine(source, load_protocol("hrv-resonance-breathing"), clock=clock)
    updates = []
    while not engine.finished:
        clock.advance(5.0)
        ups = engine.tick()
        updates += [u for u in ups if u.source_state == "streaming"]
        if source.state == SourceState.ENDED and not ups:
            break
    engine.close()
    return {round(u.sample_time - T0): u for u in updates}


def errors(got: dict, ref: dict) -> tuple[float, float, float]:
    times = [k for k in sorted(ref) if k >= FROM_S and k in got]
    a = np.array([(got[k].rmssd_ms, got[k].coherence, got[k].hr_bpm) for k in times])
    b = np.array([(ref[k].rmssd_ms, ref[k].coherence, ref[k].hr_bpm) for k in times])
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (a metric NaN throughout: NaN)
        rel = np.abs(a[:, 0] / b[:, 0] - 1.0)
        return (
            float(np.nanmedian(rel)),
            float(np.nanmedian(np.abs(a[:, 1] - b[:, 1]))),
            float(np.nanmedian(np.abs(a[:, 2] - b[:, 2]))),
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--seeds", type=int, default=3, help="loss draws per case and rate")
    args = ap.parse_args()
    plain, counted = _layouts()
    rule: PacketCounter = counted.presets[0].counter
    p = plain.presets[0]
    started = time.perf_counter()
    print("median over updates from 90 s, vs the same PPG without losses; over loss draws:")
    print("RMSSD relative error / coherence abs error / HR abs error (beats/min)\n")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for c, (name, arr) in enumerate(cases(plain, args.data).items()):
            ref = replay(plain, arr, tmp / f"{c}-ref")
            print(f"{name} ({arr.shape[1] / FS:.0f} s)")
            for loss in LOSSES:
                rows = {"before": [], "counted": []}
                for seed in range(args.seeds):
                    s = bluetooth_packets(
                        arr, FS, p.timestamp_row, rule.row, PER_PACKET, loss,
                        np.random.default_rng(100 + seed),
                    )  # fmt: skip
                    for label, layout in (("before", plain), ("counted", counted)):
                        folder = tmp / f"{c}-{label}-{seed}-{loss}"
                        rows[label].append(errors(replay(layout, s.data, folder), ref))
                line = f"  loss {100 * loss:4.1f} %"
                for label, errs in rows.items():
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)
                        e = np.nanmedian(np.array(errs), axis=0)
                    line += f"   {label}: {100 * e[0]:5.1f} % / {e[1]:4.2f} / {e[2]:4.2f}"
                print(line)
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
