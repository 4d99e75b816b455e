"""The trainer with the patient store, the signal check, LSL and the session summary.

Dialogs are scripted by replacing their ``exec`` (no modal waits); sessions run on the simulator
or a fake source in simulated time.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pylsl
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog

from biotrainer.acquisition.factory import open_accelerated
from biotrainer.acquisition.profiles import load_profile
from biotrainer.acquisition.simulator.render import render_scenario
from biotrainer.acquisition.simulator.scenario import load_scenario
from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout, SourceState
from biotrainer.clock import SimulatedClock
from biotrainer.engine.protocol import load_protocol
from biotrainer.errors import BiotrainerError
from biotrainer.reports.session_report import build_session_report
from biotrainer.session.folder import read_meta
from biotrainer.session.reader import load_session
from biotrainer.session.recorder import Recorder
from biotrainer.session.store import DB_FILE, NOTHING_RECORDED, Store
from biotrainer.ui.patient_dialogs import PatientDialog, SelfReportDialog
from biotrainer.ui.quality_lights import UNKNOWN
from biotrainer.ui.session_summary import phase_cells
from biotrainer.ui.signal_check import check_protocol
from biotrainer.ui.trainer_window import TrainerWindow

from .fakes import FakeSource, fake_layout

# LSL runs on this machine only: tests/conftest.py sets the configuration once per run.


class Script:
    """What the scripted dialogs answer (None = cancel / skip)."""

    def __init__(self) -> None:
        self.patient: str | None = "P-017"
        self.ratings: dict[str, tuple[int | None, int | None, str] | None] = {
            "pre": (6, 7, "tense shoulders"),
            "post": (4, 3, "calmer"),
        }
        self.asked: list[str] = []


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> Script:
    s = Script()

    def patient_exec(dialog: PatientDialog):
        s.asked.append("patient")
        if s.patient is None:
            return QDialog.DialogCode.Rejected
        if dialog.store.find_patient(s.patient) is None:
            dialog.new_code.setText(s.patient)
            dialog.new_name.setText("Jane Example")
            assert dialog.add_patient() is not None
        else:
            dialog.filter.setText(s.patient)  # one match: selected
        return QDialog.DialogCode.Accepted

    def rating_exec(dialog: SelfReportDialog):
        s.asked.append(dialog.moment)
        values = s.ratings.get(dialog.moment)
        if values is None:
            return QDialog.DialogCode.Rejected
        dialog.pain.set_value(values[0])
        dialog.stress.set_value(values[1])
        dialog.note.setPlainText(values[2])
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(PatientDialog, "exec", patient_exec)
    monkeypatch.setattr(SelfReportDialog, "exec", rating_exec)
    return s


@pytest.fixture
def opened_urls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    urls: list[str] = []
    monkeypatch.setattr(
        QDesktopServices, "openUrl", staticmethod(lambda url: urls.append(url.toLocalFile()))
    )
    return urls


@pytest.fixture
def settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "trainer.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "data") as s:
        yield s


class FullDisk:
    """A store connection on a full disk: reads work, every write fails as SQLite says."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def execute(self, sql, *args):
        if sql.lstrip().startswith(("INSERT", "UPDATE", "DELETE")):
            raise sqlite3.OperationalError("database or disk is full")
        return self.conn.execute(sql, *args)

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction


def make_window(qtbot, settings, store, make_source, protocol, clock, step_s=1.0, **kw):
    window = TrainerWindow(
        make_source,
        load_protocol(protocol),
        clock=clock,
        data_dir=store.root if store is not None else kw.pop("data_dir"),
        settings=settings,
        store=store,
        tick_hz=200,
        fps=60,
        before_tick=lambda: clock.advance(step_s),
        **kw,
    )
    qtbot.addWidget(window)
    if window.patient_view is not None:
        qtbot.addWidget(window.patient_view)
        window.patient_view.resize(400, 260)
    window.resize(1200, 760)
    window.show()
    return window


def assert_closed_cleanly(window, threads_before) -> None:
    window.close()
    QApplication.processEvents()
    assert [w for w in QApplication.topLevelWidgets() if w.isVisible()] == []
    assert not window.frame_timer_active
    assert not window.signal_check.timer_active and not window.checking
    assert window.bridge is None or (not window.bridge.running and window.bridge.closed)
    if window.patient_view is not None:
        assert not window.patient_view.timer_active
    if window.engine is not None:
        assert window.engine.source.state is SourceState.RELEASED
    assert window.session_outlets is None
    assert set(threading.enumerate()) <= threads_before


def test_assessed_resonance_is_stored_with_ratings_and_paces_the_next_session(
    qtbot, settings, store, script, errors_shown, opened_urls, tmp_path, monkeypatch
):
    threads_before = set(threading.enumerate())
    clock = SimulatedClock()

    def simulator():
        return open_accelerated("simulator", clock, 1.0, scenario="resonance-breathing", seed=3)

    window = make_window(
        qtbot, settings, store, simulator, "resonance-assessment", clock, step_s=3.0
    )
    assert window.start_session()
    assert script.asked == ["patient", "pre"]
    patient = store.patient("P-017")
    assert window.patient == patient and "P-017" in window.windowTitle()
    assert window.dashboard.patient_label.text() == "Patient P-017"
    folder = window.session_folder
    meta = read_meta(folder)
    assert meta.extra["patient_code"] == "P-017"  # the pseudonymous code, not the database id
    assert "Jane" not in (folder / "session.json").read_text()
    (rec,) = store.sessions("P-017")
    assert rec.folder.resolve() == folder.resolve() and rec.protocol == "resonance-assessment"
    assert window.session_id == rec.id
    assert store.self_reports(rec.id)["pre"].pain == 6

    qtbot.waitUntil(lambda: window.outcome is not None, timeout=60_000)
    assert script.asked == ["patient", "pre", "post"]
    truth = render_scenario(
        load_scenario("resonance-breathing"), load_profile("simulator").layout(), seed=3
    ).truth.resonance_breaths_per_min
    assert window.outcome.resonance_bpm == pytest.approx(truth)
    assert window.outcome.session_id == rec.id
    rec = store.session(rec.id)
    assert rec.status == "completed" and rec.summary is not None
    reports = store.self_reports(rec.id)
    assert (reports["pre"].pain, reports["pre"].stress, reports["pre"].note) == (
        6,
        7,
        "tense shoulders",
    )
    assert (reports["post"].pain, reports["post"].stress) == (4, 3)
    assert store.patient("P-017").resonance_bpm == pytest.approx(truth)

    # the summary: one row per phase, the resonance rates, a session report that opens
    dialog = window.summary_dialog
    assert dialog.isVisible()
    assert dialog.phase_table.rowCount() == len(window.outcome.phases) == 6
    assert dialog.phase_table.item(1, 0).text() == window.outcome.phases[1].name
    # the dialog shows the numbers of the session report and of the store, cell for cell
    table = dialog.phase_table
    shown = [
        [table.item(i, j).text() for j in range(table.columnCount())]
        for i in range(table.rowCount())
    ]
    report = build_session_report(store, rec.id)
    assert shown == [phase_cells(p) for p in report.summary.phases]
    assert shown == [phase_cells(p) for p in store.session(rec.id).summary.phases]
    assert f"{truth:g} breaths/min" in dialog.resonance_label.text()
    assert dialog.resonance_table.rowCount() == 5
    chosen = [dialog.resonance_table.item(i, 1).text() for i in range(5)]
    assert chosen.count("✓") == 1
    pdf = tmp_path / "report.pdf"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(pdf), "PDF (*.pdf)"))
    )
    dialog.pdf_button.click()
    assert pdf.read_bytes().startswith(b"%PDF") and opened_urls == [str(pdf)]
    assert b"Jane" not in pdf.read_bytes()  # de-identified by default

    # history and progress for this patient (menu action)
    window.history_action.trigger()
    hv = window.history_window
    assert hv.isVisible() and hv.patient_code() == "P-017"
    assert hv.table.rowCount() == 1 and hv.table.item(0, 0).text() == str(rec.id)
    assert hv.chart_grid.count() > 0
    progress = hv.save_progress_report(tmp_path / "progress.pdf")
    assert progress.read_bytes().startswith(b"%PDF")
    assert_closed_cleanly(window, threads_before)

    # the next session (another window, --patient given): no patient dialog, paced at the rate
    script.asked.clear()
    script.ratings = {"pre": None, "post": None}  # both skipped
    clock2 = SimulatedClock()
    window2 = make_window(
        qtbot,
        settings,
        store,
        lambda: open_accelerated("simulator", clock2, 1.0, scenario="resonance-breathing", seed=4),
        "hrv-resonance-breathing",
        clock2,
        patient="P-017",
    )
    assert window2.start_session()
    assert script.asked == ["pre"]
    assert read_meta(window2.session_folder).extra["pacer_bpm"] == pytest.approx(truth)
    training = window2.protocol.phases[1]
    qtbot.waitUntil(lambda: window2.engine.session_s > 125, timeout=30_000)
    paced = [u.pacer_bpm for u in window2.updates if u.phase_name == training.name]
    assert paced and all(p == pytest.approx(truth) for p in paced)
    assert training.pacer_bpm != pytest.approx(truth)  # the protocol's own rate was replaced
    window2.stop_session()
    assert script.asked == ["pre", "post"]
    assert store.self_reports(window2.session_id) == {}  # skipped ratings store nothing
    assert [s.protocol for s in store.sessions("P-017")] == [
        "resonance-assessment",
        "hrv-resonance-breathing",
    ]
    assert errors_shown == []
    assert_closed_cleanly(window2, threads_before)


def test_no_patient_no_session_unless_demo_mode(qtbot, settings, store, script, errors_shown):
    clock = SimulatedClock()
    source = FakeSource(clock, n_eeg=4)
    script.patient = None  # the therapist cancels the patient dialog
    window = make_window(qtbot, settings, store, lambda: source, "alpha-uptraining", clock, 0.1)
    assert not window.start_session()
    assert script.asked == ["patient"]
    assert window.bridge is None and source.calls == [] and window.state == "idle"
    assert not (store.root / "sessions").exists()
    window.close()

    # demonstration mode: no patient asked, the session is recorded but not registered
    script.asked.clear()
    demo = make_window(
        qtbot, settings, store, lambda: source, "alpha-uptraining", clock, 0.1, ask_patient=False
    )
    assert demo.start_session()
    assert script.asked == [] and demo.session_id is None
    assert "patient_code" not in read_meta(demo.session_folder).extra
    qtbot.waitUntil(lambda: demo.engine.session_s > 2, timeout=10_000)
    # the history does not ask for a patient mid-session: the demonstration would become theirs
    script.patient = "P-3"
    assert demo.open_history() is None
    assert script.asked == [] and demo.patient is None
    assert "no patient" in demo.statusBar().currentMessage()
    demo.stop_session()
    assert script.asked == [] and store.sessions() == []
    assert not demo.summary_dialog.pdf_button.isEnabled()  # no store record: no report
    assert errors_shown == []
    demo.close()


def test_signal_check_streams_before_start_and_records_only_after(
    qtbot, settings, store, script, errors_shown
):
    threads_before = set(threading.enumerate())
    clock = SimulatedClock()
    opened: list[FakeSource] = []

    def make_source():
        opened.append(FakeSource(clock, n_eeg=4, seed=len(opened)))
        return opened[-1]

    # an HRV protocol: the check still judges every EEG electrode the device has
    window = make_window(qtbot, settings, store, make_source, "hrv-resonance-breathing", clock, 0.1)
    checked_chunks = []
    window.signal_check.chunk_ready.connect(checked_chunks.append)
    window.dashboard.check_button.click()
    assert window.checking and window.state == "preview"
    assert window.dashboard.start_button.isEnabled()
    qtbot.waitUntil(lambda: window.dashboard.plots.has_data, timeout=10_000)
    lights = window.dashboard.lights
    qtbot.waitUntil(lambda: lights.colors()["Fz"] != UNKNOWN.lower(), timeout=10_000)
    assert window.dashboard.banner.text().startswith("Signal check")
    assert "Signal check" in window.dashboard.score_label.text()
    assert not (store.root / "sessions").exists()  # nothing recorded during the check
    assert window.updates == [] and window.bridge is None

    assert window.start_session()
    assert len(opened) == 1  # the checked source goes on streaming into the session
    assert opened[0].calls.count("prepare") == 1 and opened[0].calls.count("start") == 1
    assert not window.checking and not window.signal_check.timer_active
    last_checked = max(c.raw["default"][-1, -1] for c in checked_chunks if not c.empty)
    qtbot.waitUntil(lambda: window.engine.session_s > 2, timeout=10_000)
    folder = window.session_folder
    window.stop_session()

    rec = load_session(folder)
    ts_row = fake_layout(4).presets[0].timestamp_row
    ts = rec.raw["default"][ts_row]
    fs = fake_layout(4).presets[0].fs
    # recorded from the first sample after the check: no overlap, no gap
    assert ts[0] > last_checked
    assert ts[0] - last_checked == pytest.approx(1.0 / fs, rel=0.01)
    assert np.all(np.diff(ts) > 0)

    # after the session the check can run again (a new source), and closing releases it
    window.start_signal_check()
    assert window.checking and len(opened) == 2
    qtbot.waitUntil(lambda: window.signal_check.polls > 5, timeout=10_000)
    window.close()
    assert opened[1].state is SourceState.RELEASED
    assert errors_shown == []
    assert_closed_cleanly(window, threads_before)


def test_check_protocol_analyses_every_signal_of_the_device():
    hrv = load_protocol("hrv-resonance-breathing")
    alpha = load_protocol("alpha-uptraining")
    both = check_protocol(hrv, fake_layout(4))
    assert both.feedback == "combined" and both.uses_eeg and both.uses_hrv
    (phase,) = both.phases
    assert phase.kind == "baseline" and phase.pacer_bpm is None and phase.duration_s >= 3600
    heart_only = SourceLayout(
        device="strap",
        board_id=-1,
        presets=(PresetLayout("default", 130.0, num_rows=2, timestamp_row=1),),
        groups=(ChannelGroup("ecg", "default", (0,), ("ECG",), "uV"),),
    )
    assert check_protocol(alpha, heart_only).feedback == "coherence"
    assert check_protocol(alpha, heart_only).name == "alpha-uptraining"


def test_signal_check_problems_do_not_block(qtbot, settings, store, script, errors_shown):
    clock = SimulatedClock()

    def no_device():
        raise BiotrainerError("no headset found")

    window = make_window(
        qtbot, settings, store, no_device, "alpha-uptraining", clock, check_on_open=True
    )
    qtbot.waitUntil(lambda: "no headset found" in window.statusBar().currentMessage())
    assert errors_shown == [] and window.state == "idle"  # at opening: a notice, no dialog
    window.dashboard.check_button.click()
    assert errors_shown == [("The device could not be opened", "No headset found")]
    window.close()


class FakeOutlets:
    def __init__(self, layout, station, patient_code, protocol) -> None:
        self.args = (layout, station, patient_code, protocol.name)
        self.chunks = 0
        self.updates = 0
        self.closed = False

    def push_chunk(self, chunk) -> None:
        assert not self.closed
        self.chunks += 1

    def push_update(self, update) -> None:
        assert not self.closed
        self.updates += 1

    def close(self) -> None:
        self.closed = True


def test_lsl_checkbox_streams_each_session_with_the_patient_code(
    qtbot, settings, store, script, errors_shown
):
    store.add_patient("P-2", name="Secret Name")
    clock = SimulatedClock()
    made: list[FakeOutlets] = []

    def factory(*args):
        made.append(FakeOutlets(*args))
        return made[-1]

    source_layout = fake_layout(4)
    window = make_window(
        qtbot,
        settings,
        store,
        lambda: FakeSource(clock, n_eeg=4),
        "alpha-uptraining",
        clock,
        0.1,
        patient="P-2",
        outlets_factory=factory,
    )
    check = window.dashboard.lsl_check
    assert not check.isChecked() and not window.lsl_action.isChecked()  # off by default
    tip = check.toolTip()
    assert "unauthenticated" in tip and "local network" in tip and "patient code" in tip
    assert window.start_session() and made == []  # unticked: no outlets
    window.stop_session()

    window.lsl_action.trigger()  # the Session menu and the checkbox are the same switch
    assert check.isChecked()
    window.dashboard.station_edit.setText("")
    assert not window.start_session()
    assert errors_shown[-1][0] == "Streaming to LSL needs a station name" and made == []
    window.dashboard.station_edit.setText("room1")
    for _ in range(2):
        assert window.start_session()
        assert not check.isEnabled()  # not switched while a session runs
        qtbot.waitUntil(lambda: made[-1].updates > 5, timeout=10_000)
        window.stop_session()
    assert [o.args for o in made] == [(source_layout, "room1", "P-2", "alpha-uptraining")] * 2
    assert all(o.closed and o.chunks > 0 for o in made)
    assert read_meta(window.session_folder).extra["lsl_station"] == "room1"
    window.close()

    # the station is remembered, the switch is not
    again = make_window(qtbot, settings, store, lambda: None, "alpha-uptraining", clock)
    assert again.dashboard.station_edit.text() == "room1"
    assert not again.dashboard.lsl_check.isChecked()
    again.close()


def _resolve(prop: str, value: str, timeout: float = 5.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = pylsl.resolve_byprop(prop, value, 1, 0.5)
        if found:
            return found
    return []


def test_real_lsl_outlets_from_the_checkbox(qtbot, settings, store, script, errors_shown):
    store.add_patient("P-9", name="Secret Name")
    station = f"gui{uuid.uuid4().hex[:8]}"
    clock = SimulatedClock()
    window = make_window(
        qtbot,
        settings,
        store,
        lambda: FakeSource(clock, n_eeg=4),
        "alpha-uptraining",
        clock,
        0.1,
        patient="P-9",
        lsl_station=station,
    )
    assert window.dashboard.lsl_check.isChecked()
    assert window.start_session()
    found = _resolve("name", f"biotrainer-metrics-{station}")
    assert found, "the metrics stream was not found on this machine"
    inlet = pylsl.StreamInlet(found[0])
    inlet.open_stream(timeout=5.0)
    desc = inlet.info(timeout=5.0).desc()
    assert desc.child_value("patient_code") == "P-9"
    assert desc.child_value("protocol") == "alpha-uptraining"
    assert "Secret" not in inlet.info(timeout=5.0).as_xml()
    got = []
    deadline = time.monotonic() + 5.0
    while len(got) < 3 and time.monotonic() < deadline:
        qtbot.wait(20)  # the GUI keeps ticking while the inlet pulls
        samples, _ = inlet.pull_chunk(timeout=0.0)
        got.extend(samples)
    assert len(got) >= 3 and all(len(s) == 9 for s in got)
    assert all(0 <= s[7] < len(window.protocol.phases) for s in got)  # phase_index channel
    inlet.close_stream()
    del inlet
    window.stop_session()
    assert window.session_outlets is None
    window.close()


def test_unregistered_folders_are_offered_for_import(qtbot, settings, store, script):
    store.add_patient("P-5")
    clock = SimulatedClock()
    layout = fake_layout(4)
    folders = []
    for extra in ({"patient_code": "P-5", "protocol": "alpha-uptraining"}, {}):
        rec = Recorder.create(layout, data_directory=store.root, clock=clock, extra=extra)
        rec.add_event("note", "recorded while the store was away")
        rec.close()
        folders.append(rec.path)
    window = make_window(qtbot, settings, store, lambda: None, "alpha-uptraining", clock)
    qtbot.waitUntil(lambda: window.import_button is not None, timeout=5000)
    button = window.import_button
    assert button.isVisible() and button.text().startswith("1 recorded session ")
    assert store.sessions() == []
    assert script.asked == []  # the notice does not ask anything by itself
    button.click()
    (rec,) = store.sessions("P-5")
    assert rec.folder.resolve() == folders[0].resolve()
    assert not button.isVisible()
    message = window.statusBar().currentMessage()
    assert message.startswith("Imported 1 session") and "1 without a patient code" in message
    assert window.offer_import() == 0
    window.close()


def test_unreadable_session_folders_are_named_not_skipped(qtbot, settings, store, script):
    """A folder whose session.json is corrupt or missing (but holds a recording) is said at
    opening and among the import's failures; the readable folder beside it is imported."""
    store.add_patient("P-5")
    clock = SimulatedClock()
    folders = []
    for _ in range(3):
        rec = Recorder.create(
            fake_layout(4), data_directory=store.root, clock=clock, extra={"patient_code": "P-5"}
        )
        rec.close()
        folders.append(Path(rec.path))
    meta = folders[1] / "session.json"
    meta.write_text(meta.read_text().replace('"extra": {', '"extra": "oops", "x": {'))
    (folders[2] / "session.json").unlink()
    (folders[2] / "raw_default.csv").write_text("1\t2\n")
    window = make_window(qtbot, settings, store, lambda: None, "alpha-uptraining", clock)
    qtbot.waitUntil(lambda: window.import_button is not None, timeout=5000)
    shown = window.statusBar().currentMessage()
    assert shown.startswith("2 session folders cannot be read: ") and "extra" in shown
    window.import_button.click()
    (rec,) = store.sessions("P-5")
    assert rec.folder.resolve() == folders[0].resolve()
    message = window.statusBar().currentMessage()
    assert message.startswith("Imported 1 session; 2 failed: ")
    assert folders[1].name in message and "'extra' should be an object" in message
    window.close()


def test_gui_command_options(monkeypatch, tmp_path):
    from biotrainer.cli import build_parser
    from biotrainer.commands import gui
    from biotrainer.ui import trainer_window

    parser = build_parser()
    top = parser.parse_args(["--lsl", "room1", "--patient", "P-1"])
    assert (top.command, top.lsl, top.patient) == (None, "room1", "P-1")
    sub = parser.parse_args(["gui", "--lsl", "room2", "--no-patient"])
    assert (sub.command, sub.lsl, sub.no_patient) == ("gui", "room2", True)
    with pytest.raises(SystemExit):
        parser.parse_args(["gui", "--patient", "P-1", "--no-patient"])
    run = parser.parse_args(["run", "--protocol", "alpha-uptraining", "--lsl", "r3"])
    assert run.lsl == "r3"

    calls = []
    monkeypatch.setattr(trainer_window, "run_trainer", lambda *a, **k: calls.append(k) or 0)
    monkeypatch.setattr("biotrainer.ui.app.show_start_dialog", lambda message: None)
    data = str(tmp_path / "data")
    with Store.open(data) as s:
        s.add_patient("P-1")
    args = parser.parse_args(["--data-dir", data, "--lsl", "room1", "--patient", "P-1"])
    assert gui.run(args) == 0
    (kw,) = calls
    assert kw["patient"].code == "P-1" and kw["lsl_station"] == "room1"
    assert kw["ask_patient"] and kw["check_on_open"] and kw["store"] is not None
    for bad, match in (
        (["--patient", "nobody"], "no patient"),
        (["--lsl", "room 1"], "station name"),
        (["--lsl", "room1", "--speed", "4"], "live sessions"),
    ):
        with pytest.raises(BiotrainerError, match=match):
            gui.run(parser.parse_args(["--data-dir", data, *bad]))
    replay_like = parser.parse_args(["--data-dir", data, "--no-patient"])
    assert gui.run(replay_like) == 0
    assert calls[-1]["ask_patient"] is False and calls[-1]["patient"] is None


def test_rating_dialog_keeps_a_note_the_store_refuses_open(qtbot):
    """Save with a note the store would refuse: the dialog says why and stays open, the note
    kept for editing (before: accepted, then the whole rating was dropped)."""
    dialog = SelfReportDialog("post")
    qtbot.addWidget(dialog)
    dialog.pain.set_value(2)
    for note, words in (("x" * 10_001, "too long (10001 characters"),):
        dialog.note.setPlainText(note)
        dialog.accept()
        assert dialog.result() != QDialog.DialogCode.Accepted
        assert not dialog.problem.isHidden() and words in dialog.problem.text()
        assert dialog.note.toPlainText() == note
    dialog.note.setPlainText("calmer now")
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.values().note == "calmer now" and dialog.values().pain == 2


def test_control_characters_a_paste_brings_become_spaces_in_a_rating_note(qtbot):
    """A note pasted from Word or a PDF (a line break \\x0b, a page break \\x0c) was refused:
    "The note contains control characters. Please change it." -- characters the patient
    cannot see, so cannot change. They become spaces; the note's lines are kept."""
    dialog = SelfReportDialog("post")
    qtbot.addWidget(dialog)
    dialog.pain.set_value(3)
    dialog.note.setPlainText("page1\x0cpage2\x0bline\x01x\x85y\nnext line\tend")
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted and dialog.problem.isHidden()
    assert dialog.values().note == "page1 page2 line x y\nnext line\tend"


def test_a_refused_pre_rating_keeps_the_session_registered(qtbot, settings, store, script):
    """The store refusing the rating (here a note too long, past the dialog) must not make the
    window forget the session it registered."""
    clock = SimulatedClock()
    script.ratings["pre"] = (6, 7, "x" * 10_001)  # the scripted dialog skips its own check
    window = make_window(
        qtbot, settings, store, lambda: FakeSource(clock, n_eeg=4), "alpha-uptraining", clock
    )
    assert window.start_session()
    (rec,) = store.sessions("P-017")
    assert window.session_id == rec.id
    assert "registered, but the rating could not be saved" in window.statusBar().currentMessage()
    assert "pre" not in store.self_reports(rec.id)
    window.stop_session(ask=False)
    assert store.session(rec.id).status == "interrupted"  # stopped before the first sample
    assert store.session(rec.id).summary is not None  # finished in the store
    window.close()


class BrokenSource(FakeSource):
    """A source that breaks the Source contract: its poll raises OSError, not DeviceError."""

    def poll(self):
        if self.polls >= 5:
            raise OSError(5, "Input/output error")
        return super().poll()


def test_an_unexpected_error_in_the_tick_stops_the_session_with_a_dialog(
    qtbot, settings, store, script, errors_shown, tmp_path
):
    """Before: a traceback on every tick while the session went on 'running'."""
    clock = SimulatedClock()
    window = make_window(
        qtbot, settings, store, lambda: BrokenSource(clock, n_eeg=4), "alpha-uptraining", clock
    )
    assert window.start_session()
    qtbot.waitUntil(lambda: window.outcome is not None, timeout=10_000)
    ((title, text),) = errors_shown
    assert title == "The session stopped"
    assert "The device failed unexpectedly while reading (OSError: [Errno 5]" in text
    assert not window.running and window.engine.source.state is SourceState.RELEASED
    assert read_meta(window.session_folder).status == "completed"  # the recording was closed
    window.close()


def test_a_bug_in_the_engine_tick_stops_the_session_with_a_dialog(
    qtbot, settings, store, script, errors_shown, monkeypatch
):
    clock = SimulatedClock()
    window = make_window(
        qtbot, settings, store, lambda: FakeSource(clock, n_eeg=4), "alpha-uptraining", clock
    )
    assert window.start_session()
    monkeypatch.setattr(window.engine, "tick", lambda: 1 / 0)
    qtbot.waitUntil(lambda: window.outcome is not None, timeout=10_000)
    ((title, text),) = errors_shown
    assert title == "The session stopped"
    assert "An unexpected error stopped the session (ZeroDivisionError" in text
    assert "what was recorded so far is kept" in text
    assert read_meta(window.session_folder).status == "completed"
    window.close()


def test_a_full_disk_under_the_store_is_a_message_not_a_traceback(
    qtbot, settings, store, script, errors_shown
):
    """The store's SQLite failing (the disk full) while a session starts and ends: the session
    still runs and is summarised, the store's problem is said (GUI audit: a traceback escaped
    the Start button, and the summary never came)."""
    clock = SimulatedClock()
    window = make_window(
        qtbot, settings, store, lambda: FakeSource(clock, n_eeg=4), "alpha-uptraining", clock
    )
    window.flow.ensure_patient()  # P-017 added while there is room

    real = store._conn
    store._conn = FullDisk(real)
    assert window.start_session()
    assert window.session_id is None
    assert "the disk is full" in window.statusBar().currentMessage()
    window.stop_session()
    assert window.summary_dialog is not None and window.summary_dialog.isVisible()
    assert errors_shown == []
    store._conn = real
    window.close()


def test_a_session_stopped_before_its_first_sample_is_not_completed(qtbot, settings, store, script):
    """A quick start/stop that never got a sample is registered as interrupted, says why, and
    the summary says nothing was recorded; a session that got samples stays completed."""
    clock = SimulatedClock()
    window = make_window(
        qtbot, settings, store, lambda: FakeSource(clock, n_eeg=4), "alpha-uptraining", clock
    )
    assert window.start_session()
    outcome = window.stop_session()  # no tick ran: the source never delivered
    assert outcome is not None and not outcome.recorded and not outcome.completed
    assert "nothing was recorded" in window.summary_text
    rec = store.session(outcome.session_id)
    assert rec.status == "interrupted"
    assert NOTHING_RECORDED in rec.summary.warnings

    assert window.start_session()
    qtbot.waitUntil(lambda: len(window.updates) >= 3, timeout=10_000)
    outcome = window.stop_session(completed=True)
    assert outcome.recorded and outcome.completed
    assert "nothing was recorded" not in window.summary_text
    rec = store.session(outcome.session_id)
    assert rec.status == "completed" and NOTHING_RECORDED not in rec.summary.warnings
    window.close()


def test_a_session_the_therapist_stops_is_kept_as_stopped_early(qtbot, settings, store, script):
    """Stop in the window before the protocol's end: stored and listed as "stopped early" (it
    was "completed", like a session that ran its whole protocol), and the summary says when."""
    from PySide6.QtWidgets import QLabel

    clock = SimulatedClock()
    window = make_window(
        qtbot, settings, store, lambda: FakeSource(clock, n_eeg=4), "alpha-uptraining", clock
    )
    assert window.start_session()
    qtbot.waitUntil(lambda: len(window.updates) >= 3, timeout=10_000)
    outcome = window.stop_session()
    assert outcome.recorded and not outcome.completed and outcome.ended == "stopped"
    rec = store.session(outcome.session_id)
    assert rec.status == "completed" and rec.outcome == "stopped early" and rec.ended_early
    labels = [w.text() for w in window.summary_dialog.findChildren(QLabel)]
    assert any(t.startswith("Stopped by the therapist after 0.") for t in labels), labels
    assert any("of 12.0 minutes." in t for t in labels)
    # The dashboard says so too (it said "Session complete"), and its phase clock stops.
    dash = window.dashboard
    assert dash.banner.text().startswith("Stopped early (0:") and "of 12:00)" in dash.banner.text()
    assert dash.phase_label.text() == "Stopped early" and dash.phase_clock.text() == ""
    from dataclasses import replace

    from biotrainer.ui.trainer_window import ending_banner

    assert ending_banner(replace(outcome, completed=True, ended="finished")) == (
        "Session complete",
        "complete",
    )
    text, kind = ending_banner(replace(outcome, completed=True, ended="source ended"))
    assert kind == "source" and text.startswith("The device or recording ended early (0:")
    window.close()


def test_a_device_that_cannot_be_opened_is_said_before_the_patient_rates(
    qtbot, settings, store, script, errors_shown
):
    """The pre rating was asked first, then thrown away when the device failed to open (and
    asked again at the next try)."""
    clock = SimulatedClock()
    failing = FakeSource(clock, fail_on_prepare="the dongle is not plugged in")
    window = make_window(qtbot, settings, store, lambda: failing, "alpha-uptraining", clock)
    assert not window.start_session()
    assert errors_shown == [("The device could not be opened", "The dongle is not plugged in")]
    assert script.asked == ["patient"]  # no rating asked for nothing
    assert store.sessions("P-017") == []
    window.close()


def test_a_protocol_the_device_cannot_feed_is_said_before_the_patient_rates(
    qtbot, settings, store, script, errors_shown
):
    """A heart-rate protocol on a headset without a pulse sensor ran to its end with the
    feedback on hold and was registered as a session; it is refused once the device is open,
    before the patient rates, and nothing is recorded."""
    from dataclasses import replace

    clock = SimulatedClock()
    eeg_only = FakeSource(clock, n_eeg=4)
    eeg_only._layout = replace(eeg_only._layout, groups=(eeg_only._layout.group("eeg"),))
    window = make_window(qtbot, settings, store, lambda: eeg_only, "hrv-resonance-breathing", clock)
    assert not window.start_session()
    assert [title for title, _ in errors_shown] == ["The protocol does not fit this device"]
    text = errors_shown[0][1]
    assert "needs a heart signal (ECG, PPG or RR intervals)" in text
    # What to do is said for the window, not the command line ('biotrainer devices'): it has
    # no protocol or device to choose, it runs those biotrainer was started with.
    assert "biotrainer devices" not in text and "'biotrainer" not in text and "--" not in text
    assert "close biotrainer and start it again with a protocol for the signals" in text
    assert "Nothing was recorded." in text
    assert script.asked == ["patient"]  # no rating asked for nothing
    assert store.sessions("P-017") == [] and window.session_folder is None
    assert eeg_only.state is SourceState.RELEASED
    window.close()


def test_a_station_name_lsl_refuses_is_said_before_the_patient_rates(
    qtbot, settings, store, script, errors_shown
):
    """The rating was asked, then thrown away when the outlets refused the station name."""
    clock = SimulatedClock()
    opened = []

    def make_source():
        opened.append(FakeSource(clock, n_eeg=4))
        return opened[-1]

    window = make_window(qtbot, settings, store, make_source, "alpha-uptraining", clock)
    window.dashboard.lsl_check.setChecked(True)
    window.dashboard.station_edit.setText("room 1")
    assert not window.start_session()
    assert [title for title, _ in errors_shown] == ["Streaming to LSL could not start"]
    assert "room 1" in errors_shown[0][1]
    assert script.asked == ["patient"] and opened == []  # neither rated nor opened
    assert store.sessions("P-017") == []
    window.close()


def test_a_store_that_fills_up_during_the_session_is_said_in_the_summary(
    qtbot, settings, store, script, errors_shown
):
    """The summary said "Session 1 in the patient store" though the rating after the session
    could not be saved there (GUI audit, disk full mid-session)."""
    from PySide6.QtWidgets import QLabel

    clock = SimulatedClock()
    window = make_window(
        qtbot, settings, store, lambda: FakeSource(clock, n_eeg=4), "alpha-uptraining", clock
    )
    assert window.start_session() and window.session_id is not None
    qtbot.waitUntil(lambda: len(window.updates) >= 3, timeout=10_000)

    real = store._conn
    store._conn = FullDisk(real)
    try:
        window.stop_session()
    finally:
        store._conn = real
    labels = [w.text() for w in window.summary_dialog.findChildren(QLabel)]
    said = [t for t in labels if "is in the patient store, but it could not be updated" in t]
    assert said and "the rating after the session" in said[0], labels
    assert "saved there when it has room again" in said[0]
    assert not any(t.endswith("in the patient store.") for t in labels)
    assert errors_shown == []
    # The rating is kept, not lost: saved once the store can be written again (here at the next
    # session's start; at the latest when the window closes).
    first = window.session_id
    assert store.self_reports(first).get("post") is None
    assert window.unsaved_ending is not None and window.unsaved_ending.post is not None
    assert window.start_session()
    post = store.self_reports(first)["post"]
    assert (post.pain, post.stress, post.note) == (4, 3, "calmer")
    assert window.unsaved_ending is None and window.session_id != first
    window.close()
    assert errors_shown == []


def test_a_rating_the_store_never_takes_is_said_when_the_window_closes(
    qtbot, settings, store, script, errors_shown
):
    clock = SimulatedClock()
    window = make_window(
        qtbot, settings, store, lambda: FakeSource(clock, n_eeg=4), "alpha-uptraining", clock
    )
    assert window.start_session()
    qtbot.waitUntil(lambda: len(window.updates) >= 3, timeout=10_000)
    real = store._conn
    store._conn = FullDisk(real)
    try:
        window.stop_session()
        window.close()
    finally:
        store._conn = real
    assert [t for t, _ in errors_shown] == ["Not saved in the patient store"]
    assert "could not be saved" in errors_shown[0][1]


def test_a_nearly_full_disk_is_refused_before_the_device_or_the_rating(
    qtbot, settings, store, script, errors_shown, monkeypatch
):
    """The CLI refuses to start with less than 50 MB free; the trainer window started the
    session all the same (and lost it when the disk filled)."""
    import shutil

    from biotrainer.session import recorder

    clock = SimulatedClock()
    opened: list[FakeSource] = []

    def make_source() -> FakeSource:
        opened.append(FakeSource(clock, n_eeg=4))
        return opened[-1]

    window = make_window(qtbot, settings, store, make_source, "alpha-uptraining", clock)
    real = shutil.disk_usage
    eight_mb = real(store.root)._replace(free=8_000_000)
    monkeypatch.setattr(recorder.shutil, "disk_usage", lambda path: eight_mb)
    assert not window.start_session()
    title, text = errors_shown[-1]
    assert title == "The session cannot be recorded"
    assert "is full (8 MB free, a session needs at least 50 MB)" in text
    assert "No session runs without its recording" in text
    assert opened == [] and script.asked == []  # no device opened, nobody asked to rate
    assert window.bridge is None and window.state == "idle"
    assert not (store.root / "sessions").exists() or not any((store.root / "sessions").iterdir())

    monkeypatch.setattr(recorder.shutil, "disk_usage", real)  # room again: it starts
    assert window.start_session() and len(opened) == 1
    window.stop_session(ask=False)
    window.close()


def test_the_store_is_updated_before_the_rating_after_the_session_is_asked(
    qtbot, settings, store, script, errors_shown, monkeypatch
):
    """The window asked the rating after the session, then updated the store: a process killed
    while the rating dialog was open left a completed session "interrupted" there."""
    clock = SimulatedClock()
    window = make_window(
        qtbot, settings, store, lambda: FakeSource(clock, n_eeg=4), "alpha-uptraining", clock
    )
    assert window.start_session()
    qtbot.waitUntil(lambda: len(window.updates) >= 3, timeout=10_000)
    sid = window.session_id
    seen = []
    scripted = SelfReportDialog.exec

    def rating_exec(dialog: SelfReportDialog):
        if dialog.moment == "post":  # the dialog is open: what would a kill now leave?
            # (the row as stored, read past the store, which would bring a stale row up to date)
            with sqlite3.connect(store.root / DB_FILE) as raw:
                seen.append(
                    raw.execute(
                        "SELECT status, ended_utc, summary FROM sessions WHERE id = ?", (sid,)
                    ).fetchone()
                )
        return scripted(dialog)

    monkeypatch.setattr(SelfReportDialog, "exec", rating_exec)
    window.stop_session()
    [(status, ended_utc, summary)] = seen
    assert status == "completed" and ended_utc is not None
    assert summary is not None and '"stopped"' in summary  # how it ended, from session.json
    post = store.self_reports(sid)["post"]  # the rating, saved after it
    assert (post.pain, post.stress, post.note) == (4, 3, "calmer")
    assert window.unsaved_ending is None and errors_shown == []
    window.close()


def test_a_rating_the_store_refuses_after_the_session_was_closed_is_kept(
    qtbot, settings, store, script, errors_shown
):
    """The store closes the session, then refuses the rating (the disk filled meanwhile): the
    rating is kept and saved at the next session's start, as when closing failed."""
    from PySide6.QtWidgets import QLabel

    from biotrainer.session.store import StoreError

    clock = SimulatedClock()
    window = make_window(
        qtbot, settings, store, lambda: FakeSource(clock, n_eeg=4), "alpha-uptraining", clock
    )
    assert window.start_session()
    qtbot.waitUntil(lambda: len(window.updates) >= 3, timeout=10_000)
    first = window.session_id

    def full(*_args):
        raise StoreError("the disk holding the store is full")

    window.flow.save_rating = full
    window.stop_session()
    assert store.session(first).status == "completed" and "post" not in store.self_reports(first)
    assert window.unsaved_ending is not None and window.unsaved_ending.post is not None
    labels = [w.text() for w in window.summary_dialog.findChildren(QLabel)]
    assert any("could not be updated (the disk holding the store is full)" in t for t in labels)
    del window.flow.save_rating  # room again
    assert window.start_session()
    post = store.self_reports(first)["post"]
    assert (post.pain, post.stress, post.note) == (4, 3, "calmer")
    assert window.unsaved_ending is None
    window.stop_session(ask=False)
    window.close()
    assert errors_shown == []
