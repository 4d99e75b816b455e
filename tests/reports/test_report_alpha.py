"""An alpha protocol's report shows the alpha it trains.

The session report compared baseline and training by z-score, relaxation index, heart figures
and clean share, but not by relative alpha, the value an alpha up-training feeds back: a clinic
could not see whether alpha itself rose. The summaries now keep its mean over clean signal and
the share of the phase it rests on, and the report compares it.
"""

from __future__ import annotations

import math
import re

import pytest
from reportkit import record_session
from short_protocol import rest_then_train
from thin_session import rewrite_metrics

from biotrainer.engine.updates import MetricUpdate
from biotrainer.reports.html import session_html
from biotrainer.reports.session_report import build_session_report
from biotrainer.session.analysis import summarize_updates
from biotrainer.session.store import Store


def _update(i: int, kind: str, alpha: float, ok: bool = True) -> MetricUpdate:
    return MetricUpdate(
        session_s=0.1 * i, sample_time=100.0 + 0.1 * i, received_at=0.0, computed_at=0.0,
        phase_index={"baseline": 0, "training": 1}[kind], phase_name=kind, phase_kind=kind,
        alpha=alpha, quality_ok=ok, source_state="streaming",
    )  # fmt: skip


def test_the_summary_keeps_the_mean_relative_alpha_over_clean_signal():
    """Baseline 0.2; training 0.4 while clean, 0.9 in its 20 unclean updates (an artifact's
    value, not the person's), NaN in 50 (no usable channel)."""
    ups = [_update(i, "baseline", 0.2) for i in range(100)]
    ups += [_update(i, "training", 0.4) for i in range(100, 230)]
    ups += [_update(i, "training", 0.9, ok=False) for i in range(230, 250)]
    ups += [_update(i, "training", math.nan) for i in range(250, 300)]
    s = summarize_updates(ups)
    assert s.baseline.alpha == pytest.approx(0.2) and s.baseline.alpha_coverage == 1.0
    assert s.training.alpha == pytest.approx(0.4)
    assert s.training.alpha_coverage == pytest.approx(130 / 200)
    assert s.phases[1].means.alpha == pytest.approx(0.4)


def test_the_report_compares_baseline_and_training_alpha(tmp_path):
    toml = rest_then_train("alpha", "Alpha", training_s=30)
    data, sid, metrics = record_session(tmp_path, toml, "P-A", "alpha")

    def alpha(rows: list[dict[str, str]]) -> None:
        for r in rows:
            r["quality_ok"], r["paused"] = "1", "0"
            r["alpha"] = {"baseline": "0.25", "training": "0.4"}.get(r["phase_kind"], "")

    rewrite_metrics(metrics, alpha)
    with Store.open(data) as store:
        html = session_html(build_session_report(store, int(sid)))
    section = html.split("<h2>Baseline vs training</h2>")[1]
    row = section.split("Relative alpha (0–1)")[1].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    assert cells[:3] == ["0.25", "0.40", "+0.15"], cells
