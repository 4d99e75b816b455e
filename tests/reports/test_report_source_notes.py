"""The session report repeats what the source said of its stream while recording (an LSL
stream's unit taken as microvolts, its clock stepping back): it bears on the figures, and it
was only in events.csv."""

from __future__ import annotations

import csv

from reportkit import cli
from short_protocol import rest_then_train

from biotrainer.reports.session_report import (
    MAX_SOURCE_NOTES,
    build_session_report,
    source_note_warnings,
)
from biotrainer.session.reader import Event
from biotrainer.session.store import Store

UNIT = "LSL stream 'x': its EEG channels give no unit: taken as microvolts"


def test_a_recordings_source_notes_are_in_its_report(tmp_path) -> None:
    data = str(tmp_path / "data")
    protocol = tmp_path / "short.toml"
    protocol.write_text(rest_then_train("short", "Short", training_s=20))
    assert cli("patients", "add", "P-1", "--data-dir", data)[0] == 0
    rc, out, err = cli("run", "--protocol", str(protocol), "--patient", "P-1",
                       "--device", "simulator", "--speed", "max", "--data-dir", data)  # fmt: skip
    assert rc == 0, err
    sid = int(next(x for x in out.splitlines() if x.startswith("session ")).split()[1])
    with Store.open(data) as store:
        folder = store.session(sid).folder
        with open(folder / "events.csv", "a", newline="", encoding="utf-8") as f:
            for _ in range(2):  # (said once however often it was recorded)
                csv.writer(f).writerow(["1700000005.0", "source_note", UNIT])
        report = build_session_report(store, sid)
    assert report.warnings.count(f"From the device: {UNIT}") == 1


def test_many_notes_are_counted_not_listed() -> None:
    events = [Event(float(i), "source_note", f"step back {i}") for i in range(8)]
    events.append(Event(9.0, "marker", "not a note"))
    said = source_note_warnings(events)
    assert said[:MAX_SOURCE_NOTES] == [f"From the device: step back {i}" for i in range(5)]
    assert said[MAX_SOURCE_NOTES:] == ["From the device: 3 more notes in events.csv"]
