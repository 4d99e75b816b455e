"""The engine's wait for its first second of EEG is no fault of the signal: the session summary
(and so the report) does not list it among the causes of unclean signal, yet those updates are
still not counted clean (the review saw "EEG: waiting for the first second of signal 2 %" listed
beside muscle and blinks)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from biotrainer.acquisition.factory import open_accelerated
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.processors import EegProcessor
from biotrainer.engine.protocol import load_protocol
from biotrainer.engine.updates import MetricUpdate
from biotrainer.reports.format import pct
from biotrainer.session.analysis import summarize_updates
from biotrainer.session.quality_causes import count_causes

PROTOCOL = """
name = "startup-causes"
title = "Start-up wait test"
feedback = "alpha"
target_reward_rate = 0.6

[[phases]]
name = "Rest first"
kind = "baseline"
duration_s = 5
eyes = "open"
instruction = "Rest."

[[phases]]
name = "Train"
kind = "training"
duration_s = 5
eyes = "open"
instruction = "Train."
"""


def _update(k: int, ok: bool, reason: str) -> MetricUpdate:
    t = k / 10
    return MetricUpdate(
        session_s=t, sample_time=t, received_at=t, computed_at=t, phase_index=0,
        phase_name="Train", phase_kind="training", quality_ok=ok,
        quality_reason=reason, source_state="streaming",
    )  # fmt: skip


def _engine_wait_reason() -> str:
    """The engine's quality reason before its first EEG verdict (asked of the processor)."""
    return EegProcessor(256.0, ("TP9", "TP10")).quality_reason


def test_the_start_up_wait_is_no_cause_but_is_not_clean() -> None:
    waiting = _engine_wait_reason()
    updates = [_update(k, False, waiting) for k in range(10)]
    updates += [_update(10 + k, True, "ok") for k in range(80)]
    updates += [_update(90 + k, False, "TP9: EMG 12 µV") for k in range(10)]
    q = summarize_updates(updates).quality
    assert q.reasons == (("muscle (EMG): TP9", pytest.approx(0.1)),)
    assert q.clean_fraction == pytest.approx(0.8)


def test_a_wait_alone_gives_no_cause_and_a_real_cause_beside_it_is_kept() -> None:
    waiting = _engine_wait_reason()
    assert count_causes([waiting] * 4) == []
    assert count_causes([f"{waiting}; signal lost"]) == [("signal lost", 1)]


def test_a_simulated_session_lists_no_start_up_wait(tmp_path) -> None:
    path = tmp_path / "startup-causes.toml"
    path.write_text(PROTOCOL)
    clock = SimulatedClock()
    source = open_accelerated("simulator-muse2", clock, 1.0)
    source.prepare()
    engine = Engine(source, load_protocol(path), clock=clock)
    updates = []
    engine.start()
    while not engine.finished:
        clock.advance(0.05)
        updates.extend(engine.tick())
    engine.close()
    waited = [u for u in updates if u.quality_reason == _engine_wait_reason()]
    assert waited and not any(u.quality_ok for u in waited)  # the start-up wait happened
    q = summarize_updates(updates).quality
    assert not any("waiting" in reason for reason, _ in q.reasons)
    assert q.clean_fraction < 1.0


def test_the_report_says_what_the_start_up_wait_took_from_the_clean_share(tmp_path) -> None:
    """A session whose only unclean second was the start-up: the report said "Clean 98 %" and
    listed no cause, so a clinic could not tell why (review)."""
    from reportkit import record_session

    from biotrainer.reports.html import session_html
    from biotrainer.reports.session_report import build_session_report
    from biotrainer.session.analysis import phase_rows
    from biotrainer.session.store import Store

    data, sid, _ = record_session(tmp_path, PROTOCOL, "P-UP", "startup-causes")
    with Store.open(data) as store:
        report = build_session_report(store, int(sid))
    quality = session_html(report).split("<h2>Signal quality</h2>")[1].split("<h2>")[0]
    rows = report.series["quality_reason"][phase_rows(report.series)]
    share = float(np.mean(rows == _engine_wait_reason()))
    assert share > 0
    said = re.search(r"while the EEG check started .*?: ([^<]*) of the time", quality)
    assert said and said.group(1) == pct(share), quality
