"""A session stopped before its first sample: the history's tooltips and the session report
say that nothing was recorded (they said "figures cover what was recorded", and the report
that the program was closed or failed)."""

from __future__ import annotations

from biotrainer.clock import SimulatedClock
from biotrainer.reports.html import session_html
from biotrainer.reports.session_report import build_session_report
from biotrainer.session.store import NOTHING_RECORDED
from biotrainer.ui.history_view import HistoryView

from .fakes import FakeSource
from .test_trainer_patients import make_window, script, settings, store  # noqa: F401

NOTHING = "stopped before any signal was recorded: there are no figures"


def _quick_stop_and_a_session(qtbot, settings, store):  # noqa: F811
    """Session 1 stopped before its first sample, session 2 stopped after a few updates."""
    clock = SimulatedClock()
    window = make_window(
        qtbot, settings, store, lambda: FakeSource(clock, n_eeg=4), "alpha-uptraining", clock
    )
    assert window.start_session()
    empty = window.stop_session()  # no tick ran: the source never delivered
    assert window.start_session()
    qtbot.waitUntil(lambda: len(window.updates) >= 3, timeout=10_000)
    some = window.stop_session()
    window.close()
    assert NOTHING_RECORDED in store.session(empty.session_id).summary.warnings
    assert store.session(some.session_id).summary.n_updates > 0
    return empty.session_id, some.session_id


def test_history_tooltip_of_a_session_stopped_before_its_first_sample(
    qtbot,
    settings,  # noqa: F811
    store,  # noqa: F811
    script,  # noqa: F811
):
    empty, some = _quick_stop_and_a_session(qtbot, settings, store)
    view = HistoryView(store, "P-017")
    qtbot.addWidget(view)
    assert view.table.rowCount() == 2
    tips = {
        int(view.table.item(i, 0).text()): {
            view.table.item(i, j).toolTip() for j in range(view.table.columnCount())
        }
        for i in range(2)
    }
    assert tips[empty] == {NOTHING}, tips[empty]
    # a session that recorded something keeps the usual words
    assert tips[some] == {
        "stopped before the end of its protocol: figures cover what was recorded"
    }, tips[some]


def test_report_of_a_session_stopped_before_its_first_sample(
    qtbot,
    settings,  # noqa: F811
    store,  # noqa: F811
    script,  # noqa: F811
):
    empty, some = _quick_stop_and_a_session(qtbot, settings, store)
    report = build_session_report(store, empty)
    text = " ".join(report.warnings)
    assert "This session was stopped before any signal was recorded: there are no figures." in (
        report.warnings
    )
    assert "figures cover" not in text
    assert "the program was closed or failed" not in text  # it was stopped, nothing failed
    html = session_html(report)
    assert "stopped before any signal was recorded" in html and "figures cover" not in html
    # a session with figures keeps its warning
    (early,) = [w for w in build_session_report(store, some).warnings if "stopped early" in w]
    assert early.endswith("the figures cover what was recorded.")


def test_how_a_session_with_nothing_recorded_ended_is_said(
    qtbot,
    settings,  # noqa: F811
    store,  # noqa: F811
    script,  # noqa: F811
):
    """The device failing (or the recording ending) before the first sample is said as such."""
    from dataclasses import replace

    from biotrainer.reports.progress import build_progress_report
    from biotrainer.reports.session_report import nothing_recorded_warning
    from biotrainer.ui.history_view import cell_tip

    empty, _ = _quick_stop_and_a_session(qtbot, settings, store)
    rec = store.session(empty)
    assert nothing_recorded_warning(replace(rec, ended="device failed")) == (
        "The device failed before any signal was recorded: there are no figures."
    )
    assert nothing_recorded_warning(replace(rec, ended="source ended")) == (
        "The device or recording ended before any signal was recorded: there are no figures."
    )
    row = next(r for r in build_progress_report(store, "P-017").rows if r.session_id == empty)
    assert not row.recorded
    assert cell_tip(replace(row, ended="device failed"), 3) == (
        "the device failed before any signal was recorded: there are no figures"
    )
