"""The session report repeats what the source said of its stream while recording (an LSL
stream's unit taken as microvolts, its clock stepping back): it bears on the figures, and it
was only in events.csv."""

from __future__ import annotations

import csv

from reportkit import record_session
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
    data, sid, metrics = record_session(
        tmp_path, rest_then_train("short", "Short", 20), "P-1", "short"
    )
    with Store.open(data) as store:
        with open(metrics.parent / "events.csv", "a", newline="", encoding="utf-8") as f:
            for _ in range(2):  # (said once however often it was recorded)
                csv.writer(f).writerow(["1700000005.0", "source_note", UNIT])
        report = build_session_report(store, int(sid))
    assert report.warnings.count(f"From the device: {UNIT}") == 1


def test_many_notes_are_counted_not_listed() -> None:
    events = [Event(float(i), "source_note", f"step back {i}") for i in range(8)]
    events.append(Event(9.0, "marker", "not a note"))
    said = source_note_warnings(events)
    assert said[:MAX_SOURCE_NOTES] == [f"From the device: step back {i}" for i in range(5)]
    assert said[MAX_SOURCE_NOTES:] == ["From the device: 3 more notes in events.csv"]


def _along(i: int) -> str:
    return (
        f"the device lost {i + 3} % of its PPG samples on the way over the last 30 s (a wireless "
        "link: bring the receiver closer); the metrics keep their time over them"
    )


def test_what_the_device_lost_over_the_session_stands_for_what_it_lost_along_the_way() -> None:
    """The session's total of samples lost on the way is said at its end, after the notes of
    the link losing packets along the way, which filled the report's notes (and pushed the
    total out of them): the total is listed first, in their place; the other notes stay."""
    along = [Event(float(i), "source_note", _along(i)) for i in range(6)]
    total = "over the session the device lost 3.2 % of its PPG samples (1320) on the way"
    said = source_note_warnings(
        [*along, Event(50, "source_note", UNIT), Event(99, "source_note", total)]
    )
    assert said == [f"From the device: {total}", f"From the device: {UNIT}"]


def test_without_the_total_the_losses_along_the_way_are_listed() -> None:
    """Guard: a session killed before its end has no total; its notes are what there is."""
    said = source_note_warnings([Event(float(i), "source_note", _along(i)) for i in range(2)])
    assert said == [f"From the device: {_along(0)}", f"From the device: {_along(1)}"]
