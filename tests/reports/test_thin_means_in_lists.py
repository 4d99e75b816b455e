"""``biotrainer sessions`` marks a session's figure that rests on less than half of its training.

The list showed a session's RMSSD of 116.7 ms, from 6 % of its training (the beats too irregular
for the rest), as the session's, where the progress report and the history window give its
share: a mean over a thin share is followed by "*", explained once under the list.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from reportkit import cli
from short_protocol import rest_then_train
from thin_session import FULL, THIN_RMSSD, THIN_SHARE, set_thin_metrics

from biotrainer.commands.sessions import LIST_MEANS, THIN_LIST_NOTE, _mark
from biotrainer.session.analysis import MIN_COVERAGE, MetricMeans

#: The list's column headings, by the mean each shows.
HEADINGS = {"z": "z", "rmssd_ms": "RMSSD"}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> dict[str, str]:
    """A simulator session (20-s baseline, 40 s of training) of each of two patients, their
    metrics then set as :data:`FULL`: P-THIN's training RMSSD on a thin share only, P-FULL's on
    all of it; each folder imported again so its summary is that of these metrics."""
    tmp = tmp_path_factory.mktemp("thinlist")
    data = str(tmp / "data")
    protocol = tmp / "thinlist.toml"
    protocol.write_text(rest_then_train("thinlist", "Thin list", training_s=40))
    shares = {}
    for code, thin in (("P-THIN", True), ("P-FULL", False)):
        assert cli("patients", "add", code, "--data-dir", data)[0] == 0
        rc, _, err = cli("run", "--protocol", str(protocol), "--patient", code, "--device",
                          "simulator", "--speed", "max", "--data-dir", data)  # fmt: skip
        assert rc == 0, err
        (folder,) = [p for p in Path(data).rglob("metrics.csv") if p.parent not in shares]
        shares[folder.parent] = set_thin_metrics(folder, thin)
        rc, _, err = cli("sessions", "import", str(folder.parent), "--patient", code,
                         "--data-dir", data)  # fmt: skip
        assert rc == 0, err
    thin_share, full_share = shares.values()
    assert 0 < thin_share < MIN_COVERAGE and full_share == 1.0
    return {"data": data}


def _listed(data: str, *options: str) -> list[str]:
    rc, out, err = cli("sessions", *options, "--data-dir", data)
    assert rc == 0, err
    return out.splitlines()


def _cells(lines: list[str]) -> dict[tuple[str, str], str]:
    """The list's z and RMSSD cells by (patient code, heading): the value, then its mark if any
    (the character after the column, where an unmarked list has a space)."""
    head = lines[0]
    cells = {}
    for line in lines[1:]:
        if line.startswith("* "):
            continue  # (the note under the list)
        code = line.split()[1]
        for heading in HEADINGS.values():
            end = head.index(f" {heading} ") + 1 + len(heading)
            width = 5  # (the list's z and RMSSD columns)
            cells[(code, heading)] = line[end - width : end].strip() + line[end].strip()
    return cells


def test_the_session_list_marks_a_thin_mean_and_says_why_once(store) -> None:
    lines = _listed(store["data"])
    cells = _cells(lines)
    assert cells[("P-THIN", "RMSSD")] == f"{THIN_RMSSD}*"
    assert cells[("P-FULL", "RMSSD")] == FULL["rmssd_ms"]
    # z rests on every clean, unpaused row of the training: not marked
    assert not cells[("P-THIN", "z")].endswith("*") and not cells[("P-FULL", "z")].endswith("*")
    assert "\n".join(lines).count("*") == 2 and lines[-1] == THIN_LIST_NOTE
    assert THIN_LIST_NOTE.startswith("* mean over less than half of the session's training")
    # the columns after a marked figure stay where an unmarked row has them
    thin_row, full_row = (x for x in lines[1:3])
    assert len(thin_row) == len(full_row) and thin_row[-13:] == full_row[-13:]
    # a list without a thin mean says nothing of them
    alone = _listed(store["data"], "--patient", "P-FULL")
    assert len(alone) == 2 and "*" not in "\n".join(alone)


def test_a_mean_without_its_share_is_not_marked() -> None:
    """Means stored before their shares were kept (NaN) and means over none of their updates
    (shown "–") are never marked; one over a thin share is."""
    old = MetricMeans(60.0, 0.5, 0.6, 0.5, 70.0, 40.0, 0.5, 6.0, 0.98, 0.3)
    assert [_mark(old, f) for f in LIST_MEANS] == [" ", " ", " "]
    none = MetricMeans(60.0, 0.5, 0.6, 0.5, 70.0, math.nan, 0.5, 6.0, 0.98, 0.3,
                       z_coverage=1.0, rmssd_ms_coverage=0.0)  # fmt: skip
    assert [_mark(none, f) for f in LIST_MEANS] == [" ", " ", " "]
    thin = MetricMeans(60.0, 0.5, 0.6, 0.5, 70.0, 116.7, 0.5, 6.0, 0.98, 0.3,
                       z_coverage=1.0, rmssd_ms_coverage=THIN_SHARE,
                       time_in_target_coverage=THIN_SHARE)  # fmt: skip
    assert [_mark(thin, f) for f in LIST_MEANS] == [" ", "*", "*"]
    assert _mark(None, "z") == " "  # (a session without figures)
