"""A phase's mean over under half of the phase says so in the session report (per-phase table
and baseline vs training), in the HTML and the PDF; a mean over most of its phase looks as
before.

Found on MIT-BIH record 106 replayed as a session: a phase's RMSSD of 116.7 ms rested on 38 of
its 600 rows (the beats too irregular for the rest), and the report gave it as the phase's.
The session here is a simulator run whose metrics are then set: every metric finite on every
row, but for the training's RMSSD, kept on its first rows only.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from reportkit import cli, pdf_text
from short_protocol import rest_then_train
from thin_session import FULL, THIN_RMSSD, set_thin_metrics

from biotrainer.engine.updates import MetricUpdate
from biotrainer.reports.html import session_html
from biotrainer.reports.session_report import build_session_report
from biotrainer.session.analysis import phase_rows, series_from_updates
from biotrainer.session.store import Store

pypdf = pytest.importorskip("pypdf")


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> dict:
    """A 20-s baseline and 40 s of training, recorded from the simulator and its metrics set
    as :data:`FULL`, the training's RMSSD as :data:`THIN_RMSSD` on its first rows only."""
    tmp = tmp_path_factory.mktemp("coverage")
    data = str(tmp / "data")
    protocol = tmp / "coverage.toml"
    protocol.write_text(rest_then_train("coverage", "Coverage", training_s=40))
    assert cli("patients", "add", "P-COV", "--data-dir", data)[0] == 0
    rc, out, err = cli("run", "--protocol", str(protocol), "--patient", "P-COV",
                       "--device", "simulator", "--speed", "max", "--data-dir", data)  # fmt: skip
    assert rc == 0, err
    (line,) = [x for x in out.splitlines() if x.startswith("session ")]
    sid = line.split()[1]
    (metrics,) = Path(data).rglob("metrics.csv")
    share = set_thin_metrics(metrics, thin=True)
    with Store.open(data) as store:
        report = build_session_report(store, int(sid))
    return {"tmp": tmp, "data": data, "sid": sid, "report": report, "share": share}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _phase_rows(html: str) -> dict[str, str]:
    """The per-phase table's rows as text, by phase name."""
    table = html[html.index("<h2>Phases</h2>") :].split("</table>")[0]
    rows = [_text(r) for r in table.split("<tr>")[2:]]
    return {name: r for r in rows for name in ("Rest first", "Train") if name in r}


def test_a_thin_mean_says_its_share_of_the_phase(session) -> None:
    share = session["share"]
    assert share < 0.5
    said = f"{math.floor(100 * share)} %"
    html = session_html(session["report"])
    rows = _phase_rows(html)
    assert f"{THIN_RMSSD} ({said})" in rows["Train"]
    # the training's other means, over the whole phase, and the baseline's: as before
    assert rows["Train"].count(" %)") == 1
    assert " %)" not in rows["Rest first"]
    assert f" {FULL['rmssd_ms']} " in rows["Rest first"]
    # in the baseline vs training table, the training's RMSSD only; explained under each table
    text = _text(html)
    assert f"RMSSD {FULL['rmssd_ms']} ms {THIN_RMSSD} ms ({said} of training)" in text
    # (and the change from it says so too: audit130 7e)
    assert text.count(" of training)") == 2 and " of baseline)" not in text
    assert text.count("A share in brackets with a mean") == 2


def test_the_pdf_says_it_too(session) -> None:
    pdf = session["tmp"] / "r.pdf"
    rc, _, err = cli("report", session["sid"], "--out", str(pdf), "--data-dir", session["data"])
    assert rc == 0, err
    text = pdf_text(pdf)
    said = f"{math.floor(100 * session['share'])} %"
    assert f"{THIN_RMSSD} ({said})" in text
    assert f"{THIN_RMSSD} ms ({said} of training)" in text


def _updates(rmssd: list[float], clean: list[bool]) -> list[MetricUpdate]:
    return [
        MetricUpdate(
            session_s=0.1 * i, sample_time=100.0 + 0.1 * i, received_at=0.0, computed_at=0.0,
            phase_index=0, phase_name="Rest", phase_kind="baseline", rmssd_ms=v,
            relaxation=0.5, quality_ok=ok,
        )
        for i, (v, ok) in enumerate(zip(rmssd, clean, strict=True))
    ]  # fmt: skip


def test_half_the_phase_is_enough_and_a_mean_is_over_its_own_rows() -> None:
    from biotrainer.reports.html import with_coverage
    from biotrainer.reports.session_report import mean_coverage

    nan = math.nan
    half = series_from_updates(_updates([40.0] * 5 + [nan] * 5, [True] * 10))
    cover = mean_coverage(half, phase_rows(half))
    assert cover["rmssd_ms"] == 0.5
    assert with_coverage("40.0", cover["rmssd_ms"]) == "40.0"
    less = series_from_updates(_updates([40.0] * 4 + [nan] * 6, [True] * 10))
    thin = mean_coverage(less, phase_rows(less))["rmssd_ms"]
    assert with_coverage("40.0", thin) == "40.0 (40 %)"
    assert with_coverage("40.0 ms", thin, "training") == "40.0 ms (40 % of training)"
    # relaxation is a mean over clean rows: a value in unclean rows is not counted
    unclean = series_from_updates(_updates([40.0] * 10, [True] * 3 + [False] * 7))
    assert mean_coverage(unclean, phase_rows(unclean))["relaxation"] == pytest.approx(0.3)
    # no rows: nothing to say (the mean is shown as "–")
    none = mean_coverage(unclean, phase_rows(unclean))["coherence"]
    assert none == 0 and with_coverage("–", none) == "–"
