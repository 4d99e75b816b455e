"""Times in lists and reports say their zone."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import pytest

from biotrainer.reports.format import local_time

SUMMER = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
WINTER = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def zone(monkeypatch):
    """Set the process's time zone (TZ) for one test."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is not available on this platform")

    def set_zone(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield set_zone
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("name", "summer", "winter"),
    [
        ("UTC", "2026-07-01 12:00 UTC", "2026-01-01 12:00 UTC"),
        # the zone in force at that time, summer time included
        ("Europe/Berlin", "2026-07-01 14:00 CEST", "2026-01-01 13:00 CET"),
        ("America/St_Johns", "2026-07-01 09:30 NDT", "2026-01-01 08:30 NST"),
        # a zone the system has no name for is given as its offset
        ("<+0530>-5:30", "2026-07-01 17:30 +0530", "2026-01-01 17:30 +0530"),
    ],
)
def test_local_time_says_its_zone(zone, name, summer, winter):
    if "/" in name and not os.path.exists(f"/usr/share/zoneinfo/{name}"):
        pytest.skip(f"no time zone data for {name} on this machine")
    zone(name)
    assert local_time(SUMMER) == summer
    assert local_time(WINTER) == winter


def test_a_missing_time_is_a_dash():
    assert local_time(None) == "–"


@pytest.mark.parametrize(
    ("text", "name", "shown"),
    [
        # a short first name went through, and fragments were masked inside other words
        (
            "Jo said she planned to sleep more; Lee family visit",
            "Jo Ann Lee",
            "[name] said she planned to sleep more; [name] family visit",
        ),
        ("Annie was annoyed with ANN", "Ann Smith", "Annie was annoyed with [name]"),
        ("Jo-Ann Lee came", "Jo-Ann Lee", "[name] came"),
        ("Zo\u00eb felt calm", "Zoe\u0308 Smith", "[name] felt calm"),  # NFC vs NFD
        ("no name here", "", "no name here"),
    ],
)
def test_mask_name_hides_whole_name_words_only(text, name, shown):
    from biotrainer.reports.format import mask_name

    assert mask_name(text, name) == shown


def test_a_value_that_rounds_to_zero_has_no_minus_sign():
    from biotrainer.reports.format import num

    assert [num(-0.04), num(-0.0), num(-0.4, 0), num(-0.06)] == ["0.0", "0.0", "0", "-0.1"]
    assert num(-0.001, 2, "ms") == "0.00 ms"
