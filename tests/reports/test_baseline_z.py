"""A baseline is the reference of the z-scores: it has no mean z of its own, and the practice
is compared with the baseline of its eyes.

Live, each update of a baseline phase is scored against the baseline learnt so far: the only
reference at that moment. The summaries averaged those z-scores as the baseline's, and the
report's "Change" took training minus them. On the Muse recording of zazen, training that lay
0.31 above its baseline (as the engine scored it) was reported as a change of -0.25: the
baseline phase's own z-scores averaged +0.55. Taking them as 0 (the baseline's values against
the baseline they make) was no better where a protocol has an eyes-closed baseline beside the
eyes-open one the training is scored against, or a baseline after training: each showed 0.0
where it lay 1-2 z from the reference. And the baseline the report compared training with
pooled both eyes: eyes-open training alpha looked lower than an eyes-closed-inflated baseline
while its z said higher.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from engine.memsource import MemorySource  # (tests/ is on the path)
from reportkit import record_session
from scipy.signal import resample_poly
from short_protocol import rest_then_train
from thin_session import rewrite_metrics

from biotrainer.acquisition.profiles import load_profile
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.engine.updates import MetricUpdate
from biotrainer.reports.html import BASELINE_Z, session_html
from biotrainer.reports.session_report import build_session_report
from biotrainer.session.analysis import (
    series_from_updates,
    summarize_series,
    summarize_updates,
    z_outside_baselines,
)
from biotrainer.session.store import Store

MUSE_RATE = 256.0

#: An alpha protocol with an eyes-closed baseline between eyes-open ones, eyes-open training
#: and a baseline after it (as the shipped alpha-uptraining, plus the re-baseline).
EYES_PROTOCOL = """
name = "eyes"
title = "Eyes"
feedback = "alpha"
[[phases]]
name = "Open before"
kind = "baseline"
duration_s = 20
eyes = "open"
[[phases]]
name = "Closed"
kind = "baseline"
duration_s = 20
eyes = "closed"
[[phases]]
name = "Train"
kind = "training"
duration_s = 30
eyes = "open"
[[phases]]
name = "Open after"
kind = "baseline"
duration_s = 20
eyes = "open"
"""


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


def _compared_row(html: str, label: str) -> list[str]:
    """The cells of row ``label`` of the report's baseline-vs-training table."""
    section = html.split("<h2>Baseline vs training</h2>")[1]
    row = section.split(label)[1].split("</tr>")[0]
    return re.findall(r"<td[^>]*>([^<]*)</td>", row)


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
    fed = [u for u in updates if u.phase_kind == "baseline" and u.quality_ok and not u.paused]
    assert np.nanmean([u.feedback_z for u in fed]) > 0.3  # (what was averaged before)
    assert math.isnan(summary.baseline.z) and summary.baseline.z_coverage == 0.0
    # training is as the engine scored it: above the baseline
    trained = [u.feedback_z for u in updates if u.phase_kind == "training" and u.quality_ok]
    assert summary.training.z == pytest.approx(np.nanmean(trained))
    assert summary.training.z > 0.1
    assert summary.overall.z == pytest.approx(summary.training.z)


def _update(i: int, index: int, kind: str, z: float, alpha: float, eyes: str, ok=True):
    return MetricUpdate(
        session_s=0.1 * i, sample_time=100.0 + 0.1 * i, received_at=0.0, computed_at=0.0,
        phase_index=index, phase_name=kind, phase_kind=kind, phase_eyes=eyes, feedback_z=z,
        alpha=alpha, quality_ok=ok, source_state="streaming",
    )  # fmt: skip


def _eyes_session(eyes: bool) -> list[MetricUpdate]:
    """Baselines eyes open (alpha 0.3, live z 1.0, the first 20 before the baseline is known),
    eyes closed (alpha 0.6, live z 0.5), eyes-open training (alpha 0.35, z 0.3, 10 unclean);
    without ``eyes``, as a recording made before the phases' eyes were kept."""

    def say(e: str) -> str:
        return e if eyes else ""

    ups = [_update(i, 0, "baseline", math.nan, 0.3, say("open")) for i in range(20)]
    ups += [_update(i, 0, "baseline", 1.0, 0.3, say("open")) for i in range(20, 100)]
    ups += [_update(i, 1, "baseline", 0.5, 0.6, say("closed")) for i in range(100, 200)]
    ups += [_update(i, 2, "training", 0.3, 0.35, say("open"), ok=i % 10 != 0)
            for i in range(200, 300)]  # fmt: skip
    return ups


def test_a_baseline_has_no_z_and_the_practice_is_compared_with_its_eyes_baseline():
    series = series_from_updates(_eyes_session(eyes=True))
    before = series["feedback_z"].copy()
    z = z_outside_baselines(series)
    np.testing.assert_array_equal(series["feedback_z"], before)  # (not changed in place)
    assert np.isnan(z[:200]).all() and (z[200:] == 0.3).all()
    s = summarize_series(series)
    assert all(math.isnan(p.means.z) for p in s.phases[:2])
    assert [p.means.z_coverage for p in s.phases[:2]] == [0.0, 0.0]  # (no value, not "thin")
    assert not s.phases[0].means.thin("z")
    assert s.training.z == pytest.approx(0.3) and s.overall.z == pytest.approx(0.3)
    # the eyes-open baseline only: the training is scored against it
    assert s.baseline.alpha == pytest.approx(0.3)
    assert s.baseline.duration_s == pytest.approx(s.phases[0].means.duration_s)
    # a recording that does not say the eyes: every baseline phase, as before
    old = summarize_updates(_eyes_session(eyes=False))
    assert old.baseline.alpha == pytest.approx(0.45)


def test_the_report_compares_training_with_its_eyes_baseline(tmp_path):
    """A recorded session of :data:`EYES_PROTOCOL` whose baseline updates were scored +0.5 live
    and its training +0.3; relative alpha 0.3 with eyes open, 0.6 closed, 0.35 in training. The
    report gave a z change of -0.2, and an alpha change of -0.06 against the pooled baselines
    (0.41), while the training lay above the eyes-open baseline it was scored against."""
    data, sid, metrics = record_session(tmp_path, EYES_PROTOCOL, "P-Z", "eyes")
    eyes = {}

    def live(rows: list[dict[str, str]]) -> None:
        for r in rows:
            r["quality_ok"], r["paused"] = "1", "0"
            r["feedback_z"] = {"baseline": "0.5", "training": "0.3"}.get(r["phase_kind"], "")
            r["alpha"] = {"Closed": "0.6", "Train": "0.35"}.get(r["phase_name"], "0.3")
            eyes[r["phase_name"]] = r["phase_eyes"]

    rewrite_metrics(metrics, live)
    assert eyes["Open before"] == eyes["Train"] == eyes["Open after"] == "open"
    assert eyes["Closed"] == "closed"
    with Store.open(data) as store:
        html = session_html(build_session_report(store, int(sid)))
    assert _compared_row(html, "z-score)")[:3] == [BASELINE_Z, "0.3", "+0.3"]
    assert _compared_row(html, "Relative alpha (0–1)")[:3] == ["0.30", "0.35", "+0.05"]
    # the per-phase table: no z for a baseline phase, the training's
    phases = html.split("<h2>Phases</h2>")[1].split("</table>")[0].split("</tr>")
    z = {
        name: re.findall(r"<td[^>]*>(.*?)</td>", next(r for r in phases if name in r))[3]
        for name in ("Open before", "Closed", "Train", "Open after")
    }
    assert z == {"Open before": "–", "Closed": "–", "Train": "+0.3", "Open after": "–"}
