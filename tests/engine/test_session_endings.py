"""How a session ended reaches the recording, the store, the list and the reports.

A session stopped after one minute of a fifteen-minute protocol was stored, listed and reported
as "completed", like one that ran its whole protocol (and the session report's warning for
interrupted sessions said "stopped before the end of the protocol", which was never the case).
"""

from __future__ import annotations

import math
from functools import cache

import pytest
from memsource import MemorySource

from biotrainer.acquisition.profiles import load_profile
from biotrainer.acquisition.simulator.render import render_scenario
from biotrainer.acquisition.simulator.scenario import load_scenario
from biotrainer.acquisition.source import SourceState
from biotrainer.cli import main
from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import SOURCE_END_SLACK_S, Engine
from biotrainer.engine.protocol import load_protocol
from biotrainer.errors import DeviceError
from biotrainer.reports.html import progress_html, session_html
from biotrainer.reports.progress import build_progress_report
from biotrainer.reports.session_report import build_session_report
from biotrainer.session.folder import describe_recording, read_meta
from biotrainer.session.recorder import Recorder
from biotrainer.session.store import Store

PROTOCOL_S = 60.0
PROTOCOL = f"""name = "one-minute"
feedback = "alpha"
[[phases]]
kind = "baseline"
duration_s = 20
[[phases]]
kind = "training"
duration_s = {PROTOCOL_S - 20:g}
"""


@cache
def _rendered():
    layout = load_profile("simulator-muse2").layout()
    return render_scenario(load_scenario("eyes-open-closed"), layout, seed=3)


class FailingSource(MemorySource):
    """Its poll raises a DeviceError from ``fail_at`` (clock s after start) while streaming, as
    a device that stops answering does (the one poll after ``stop`` is quiet)."""

    fail_at = math.inf

    def poll(self):
        if self.state is SourceState.STREAMING and self.clock.now() - self._t0 >= self.fail_at:
            raise DeviceError("the headset stopped answering")
        return super().poll()


def _record(
    tmp_path,
    name: str,
    *,
    stop_at_s: float | None,
    data_s: float | None = None,
    fail_at_s: float | None = None,
):
    """Run the one-minute protocol into a folder; stop by hand at ``stop_at_s`` (None: let it
    run), on a source that holds ``data_s`` seconds (None: the whole 6-minute scenario) and
    fails at ``fail_at_s`` (None: never), which ends the session as the window does."""
    r = _rendered()
    data = r.data
    if data_s is not None:
        data = {p: a[:, : int(data_s * r.layout.preset(p).fs)] for p, a in data.items()}
    clock = SimulatedClock()
    protocol_file = tmp_path / "one-minute.toml"
    protocol_file.write_text(PROTOCOL)
    recorder = Recorder.create(r.layout, out=tmp_path / name, clock=clock)
    source = FailingSource(r.layout, data, clock)
    if fail_at_s is not None:
        source.fail_at = fail_at_s
    engine = Engine(source, load_protocol(protocol_file), clock=clock, recorder=recorder)
    while not engine.finished and (stop_at_s is None or engine.session_s < stop_at_s):
        clock.advance(0.1)
        try:
            engine.tick()
        except DeviceError:
            break
    engine.close()
    return recorder.path, engine


@pytest.mark.parametrize(
    ("stop_at_s", "data_s", "fail_at_s", "ended"),
    [
        (None, None, None, "finished"),
        (15.0, None, None, "stopped"),
        (None, 30.0, None, "source ended"),
        # a source that runs out within the slack of the protocol's end has finished it
        (None, PROTOCOL_S - SOURCE_END_SLACK_S / 2, None, "finished"),
        # a device failure is not the therapist's decision (audit 8, finding 6: was "stopped")
        (None, None, 20.0, "device failed"),
    ],
)
def test_the_recording_says_how_the_session_ended(tmp_path, stop_at_s, data_s, fail_at_s, ended):
    folder, engine = _record(tmp_path, "s", stop_at_s=stop_at_s, data_s=data_s, fail_at_s=fail_at_s)
    meta = read_meta(folder)
    assert meta.status == "completed"  # the recording itself was closed cleanly
    assert meta.ended == ended
    assert meta.extra["protocol_s"] == pytest.approx(engine.session_s, abs=1e-3)
    # `export` and `replay` say it in the words of the list and the reports
    words = {"finished": "completed", "stopped": "stopped early"}.get(ended, ended)
    assert describe_recording(meta, folder) == words
    events = (folder / "events.csv").read_text()
    if ended == "finished":
        assert "one-minute: closed\n" in events
    else:
        assert f"one-minute: closed ({ended} after " in events and "of 1.0 min)" in events
    # the failure itself is in the events, with the device's message
    assert ("device_failed,the headset stopped answering" in events) == (fail_at_s is not None)


def test_store_list_and_reports_tell_a_session_stopped_early(tmp_path, capsys):
    data = tmp_path / "data"
    full, _ = _record(tmp_path, "full", stop_at_s=None)
    early, _ = _record(tmp_path, "early", stop_at_s=15.0)
    short, _ = _record(tmp_path, "short", stop_at_s=None, data_s=30.0)
    with Store.open(data) as store:
        store.add_patient("P-1")
        recs = [store.import_folder(f, "P-1") for f in (full, early, short)]
        assert [r.status for r in recs] == ["completed"] * 3
        assert [r.outcome for r in recs] == ["completed", "stopped early", "source ended"]
        assert [r.ended_early for r in recs] == [False, True, True]
        # kept in the store: read back, not only returned
        assert [store.session(r.id).outcome for r in recs] == [r.outcome for r in recs]

        report = build_session_report(store, recs[1].id)
        assert report.warnings[0].startswith("This session was stopped early (after 15 s")
        assert "of the protocol's 1 min" not in report.warnings[0]  # not an installed protocol
        assert "Stopped early" in session_html(report)
        assert not any("stopped" in w for w in build_session_report(store, recs[0].id).warnings)
        source = build_session_report(store, recs[2].id).warnings[0]
        assert source.startswith("The device or recording stopped delivering signal")

        progress = build_progress_report(store, "P-1")
        html = progress_html(progress)
        assert "3 (1 completed, 1 stopped early, 1 source ended, 0 interrupted)" in html
        assert "<i>(stopped early)</i>" in html

    assert main(["sessions", "--data-dir", str(data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "stopped early" in lines[2] and "source ended" in lines[3]
    assert "completed" in lines[1]


def test_folders_recorded_before_the_ending_was_kept_read_as_completed(tmp_path):
    """session.json without ``extra.ended`` (older biotrainer) stays "completed"."""
    import json

    folder, _ = _record(tmp_path, "old", stop_at_s=15.0)
    meta_file = folder / "session.json"
    meta = json.loads(meta_file.read_text())
    del meta["extra"]["ended"]
    meta_file.write_text(json.dumps(meta))
    assert read_meta(folder).ended is None
    with Store.open(tmp_path / "data") as store:
        store.add_patient("P-1")
        rec = store.import_folder(folder, "P-1")
    assert rec.outcome == "completed" and not rec.ended_early


def test_a_folder_being_recorded_is_not_called_interrupted(tmp_path):
    """`export` / `replay` of a folder a recorder is still writing said "interrupted"."""
    r = _rendered()
    recorder = Recorder.create(r.layout, out=tmp_path / "live", clock=SimulatedClock())
    try:
        assert describe_recording(read_meta(recorder.path), recorder.path) == "still being recorded"
    finally:
        recorder.abandon()  # as a killed process leaves it
    assert describe_recording(read_meta(recorder.path), recorder.path) == "interrupted"


def test_store_list_and_reports_tell_a_device_failure(tmp_path, capsys):
    """A session ended by a device failure read as "stopped early" (the therapist's decision)."""
    data = tmp_path / "data"
    failed, engine = _record(tmp_path, "failed", stop_at_s=None, fail_at_s=20.0)
    assert engine.ending == "device failed"
    with Store.open(data) as store:
        store.add_patient("P-1")
        rec = store.import_folder(failed, "P-1")
        assert rec.status == "completed" and rec.ended == "device failed"
        assert rec.outcome == "device failed" and rec.ended_early
        assert store.session(rec.id).outcome == "device failed"
        report = build_session_report(store, rec.id)
        assert not any("stopped early" in w for w in report.warnings)
        assert any(w.startswith("The device failed before the end") for w in report.warnings)
        assert "Device failed" in session_html(report)
        progress = progress_html(build_progress_report(store, "P-1"))
        assert "1 (0 completed, 1 device failed, 0 interrupted)" in progress
    assert main(["sessions", "--data-dir", str(data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "device failed" in lines[1]
