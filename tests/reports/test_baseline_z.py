"""A baseline phase's mean z is its values scored against the baseline it ended with.

Live, each update of a baseline phase is scored against the baseline learnt so far: the only
reference at that moment. The summaries averaged those z-scores as the baseline's, and the
report's "Change" took training minus them. On the Muse recording of zazen, training that lay
0.31 above its baseline (as the engine scored it) was reported as a change of -0.25: the
baseline phase's own z-scores averaged +0.55. Scored against the baseline it ended with, a
baseline's values average 0 (the baseline is their mean).
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from engine.memsource import MemorySource  # (tests/ is on the path)
from reportkit import cli
from scipy.signal import resample_poly
from short_protocol import rest_then_train
from thin_session import rewrite_metrics

from biotrainer.acquisition.profiles import load_profile
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.engine.updates import MetricUpdate
from biotrainer.reports.html import session_html
from biotrainer.reports.session_report import build_session_report
from biotrainer.session.analysis import (
    series_from_updates,
    summarize_series,
    summarize_updates,
    z_against_final_baseline,
)
from biotrainer.session.store import Store

MUSE_RATE = 256.0


def _muse_meditation_on_a_muse2(shared_data: Path):
    """The Muse (2015) zazen recording (Muse Monitor, ~220 Hz) resampled to the Muse 2's rate,
    as the EEG preset of the muse2 profile: (layout, data, seconds)."""
    path = shared_data / "eeg_headsets" / "musedata_meditation.csv"
    raw = np.genfromtxt(path, delimiter=",", names=True, dtype=None, encoding="utf-8")
    names = ("RAW_TP9", "RAW_FP1", "RAW_FP2", "RAW_TP10")
    eeg = resample_poly(np.vstack([raw[c].astype(float) for c in names]), 256, 220, axis=1)
    full = load_profile("muse2").layout()
    group = full.group("eeg")
    preset = full.preset(group.preset)
    layout = replace(full, presets=(preset,), groups=(group,))
    data = np.zeros((preset.num_rows, eeg.shape[1]))
    data[preset.timestamp_row] = 1.7e9 + np.arange(eeg.shape[1]) / MUSE_RATE
    data[list(group.rows)] = eeg
    return layout, {preset.preset: data}, eeg.shape[1] / MUSE_RATE


def test_the_muse_meditation_reports_the_change_the_engine_fed_back(shared_data, tmp_path):
    layout, data, seconds = _muse_meditation_on_a_muse2(shared_data)
    protocol = tmp_path / "zazen.toml"
    protocol.write_text(rest_then_train("zazen", "Zazen", int(seconds) - 68, baseline_s=60))
    clock = SimulatedClock()
    engine = Engine(MemorySource(layout, data, clock), load_protocol(protocol), clock=clock)
    updates: list[MetricUpdate] = []
    while clock.now() < seconds + 5 and not engine.finished:
        clock.advance(0.5)
        updates.extend(engine.tick())
    summary = summarize_updates(updates)

    # the baseline's values, scored against the baseline the engine ended with
    baseline = engine.baseline("alpha", "open")
    fed = [u for u in updates if u.phase_kind == "baseline" and u.quality_ok and not u.paused]
    rescored = [baseline.z(u.feedback_value) for u in fed if math.isfinite(u.feedback_value)]
    assert len(rescored) > 400
    assert summary.baseline.z == pytest.approx(np.mean(rescored), abs=1e-9)
    live = [u.feedback_z for u in fed if math.isfinite(u.feedback_z)]
    assert np.mean(live) > 0.3  # (what was averaged before)
    assert summary.baseline.z_coverage == pytest.approx(len(live) / 600, abs=0.01)

    # training is as the engine scored it, and the change has its sign
    trained = [u.feedback_z for u in updates if u.phase_kind == "training" and u.quality_ok]
    assert summary.training.z == pytest.approx(np.nanmean(trained))
    assert summary.training.z > 0.1
    assert summary.training.z - summary.baseline.z > 0.1


def _update(i: int, kind: str, z: float, ok: bool = True) -> MetricUpdate:
    return MetricUpdate(
        session_s=0.1 * i, sample_time=100.0 + 0.1 * i, received_at=0.0, computed_at=0.0,
        phase_index={"baseline": 0, "training": 1}[kind], phase_name=kind, phase_kind=kind,
        feedback_z=z, quality_ok=ok, source_state="streaming",
    )  # fmt: skip


def test_unknown_z_stays_unknown_and_the_whole_session_weighs_the_baseline_as_zero():
    """100 baseline updates (the first 20 before the baseline is known, 10 not clean), then 100
    of training at z 0.3: the baseline's mean is 0 over the same 70 updates, the session's
    mean weighs them as 0."""
    ups = [_update(i, "baseline", math.nan) for i in range(20)]
    ups += [_update(i, "baseline", 1.0 + 0.01 * i, ok=i % 8 != 0) for i in range(20, 100)]
    ups += [_update(i, "training", 0.3) for i in range(100, 200)]
    series = series_from_updates(ups)
    before = series["feedback_z"].copy()
    z = z_against_final_baseline(series)
    np.testing.assert_array_equal(series["feedback_z"], before)  # (not changed in place)
    assert np.isnan(z[:20]).all() and (z[20:100] == 0).all() and (z[100:] == 0.3).all()
    s = summarize_series(series)
    assert s.baseline.z == 0.0 and s.phases[0].means.z == 0.0
    assert s.baseline.z_coverage == pytest.approx(70 / 100)  # clean, with a z
    assert s.training.z == pytest.approx(0.3)
    assert s.overall.z == pytest.approx(100 * 0.3 / 170)
    never = summarize_updates(ups[:20])  # (a baseline never known has no z)
    assert math.isnan(never.baseline.z) and never.baseline.z_coverage == 0.0


def test_the_reports_change_is_the_trainings_z(tmp_path):
    """A recorded session whose baseline updates were scored +0.5 live and its training +0.3:
    the report gave a change of -0.2, against a baseline the training lay above."""
    data = str(tmp_path / "data")
    protocol = tmp_path / "above.toml"
    protocol.write_text(rest_then_train("above", "Above", training_s=30))
    assert cli("patients", "add", "P-Z", "--data-dir", data)[0] == 0
    rc, out, err = cli("run", "--protocol", str(protocol), "--patient", "P-Z",
                       "--device", "simulator", "--speed", "max", "--data-dir", data)  # fmt: skip
    assert rc == 0, err
    (sid,) = [x.split()[1] for x in out.splitlines() if x.startswith("session ")]
    (metrics,) = Path(data).rglob("metrics.csv")

    def live_z(rows: list[dict[str, str]]) -> None:
        for r in rows:
            r["quality_ok"], r["paused"] = "1", "0"
            r["feedback_z"] = {"baseline": "0.5", "training": "0.3"}.get(r["phase_kind"], "")

    rewrite_metrics(metrics, live_z)
    with Store.open(data) as store:
        html = session_html(build_session_report(store, int(sid)))
    section = html.split("<h2>Baseline vs training</h2>")[1]
    row = section.split("z-score)")[1].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    assert cells[:3] == ["0.0", "0.3", "+0.3"], cells
