"""Metric values for report tests of means over part of a phase (test helper)."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from pathlib import Path

#: The values every protocol row gets (finite everywhere: full coverage).
FULL = {
    "feedback_z": "0.4",
    "relaxation": "0.5",
    "hr_bpm": "72.0",
    "rmssd_ms": "41.0",
    "coherence": "1.5",
    "breathing_bpm": "6.5",
    "quality_ok": "1",
    "paused": "0",
}
#: The training's RMSSD, on its first ``THIN_SHARE`` of rows only (as record 106's 38 of 600).
THIN_RMSSD = "116.7"
THIN_SHARE = 38 / 600


def rewrite_metrics(metrics: Path, change: Callable[[list[dict[str, str]]], None]) -> None:
    """Rewrite a recorded ``metrics.csv`` with its rows (dicts by column) changed by ``change``
    in place."""
    with open(metrics, newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    change(rows)
    with open(metrics, "w", newline="") as fh:
        writer = csv.DictWriter(fh, header)
        writer.writeheader()
        writer.writerows(rows)


def set_thin_metrics(metrics: Path, thin: bool) -> float:
    """Set every protocol row of ``metrics`` to :data:`FULL`; with ``thin``, the training's
    RMSSD to :data:`THIN_RMSSD` on its first :data:`THIN_SHARE` of rows only. The share of the
    training the RMSSD then rests on is returned."""
    share = math.nan

    def change(rows: list[dict[str, str]]) -> None:
        nonlocal share
        in_protocol = [r for r in rows if int(r["phase_index"]) >= 0 and r["finished"] != "1"]
        training = [r for r in in_protocol if r["phase_kind"] == "training"]
        kept = max(1, int(THIN_SHARE * len(training))) if thin else len(training)
        for r in in_protocol:
            r.update(FULL)
        if thin:
            for i, r in enumerate(training):
                r["rmssd_ms"] = THIN_RMSSD if i < kept else ""
        share = kept / len(training)

    rewrite_metrics(metrics, change)
    return share


def store_summary_as_version(store, sid: int, version: int, dropped: Callable[[str], bool]) -> None:
    """Store session ``sid``'s summary as biotrainer's summary ``version`` did: without the
    means' keys ``dropped`` says it did not keep yet (the shares of their updates)."""
    (text,) = store._conn.execute("SELECT summary FROM sessions WHERE id = ?", (sid,)).fetchone()
    data = json.loads(text)
    data["version"] = version
    means = [p["means"] for p in data["phases"]]
    means += [data[k] for k in ("baseline", "training", "pacing", "overall") if data.get(k)]
    for m in means:
        for key in [k for k in m if dropped(k)]:
            del m[key]
    with store._write() as c:
        c.execute("UPDATE sessions SET summary = ? WHERE id = ?", (json.dumps(data), sid))


def phase_update(i: int, phase: int, **values):
    """The ``i``-th update (0.1 s apart) of a session in phase ``phase`` (0 the baseline, else
    training), with the metric ``values``."""
    from biotrainer.engine.updates import MetricUpdate

    kind = "baseline" if phase == 0 else "training"
    return MetricUpdate(
        session_s=0.1 * i, sample_time=100.0 + 0.1 * i, received_at=0.0, computed_at=0.0,
        phase_index=phase, phase_name=f"P{phase}", phase_kind=kind, **values,
    )  # fmt: skip
