"""Direction embeddings, overrides and isolates in free text become spaces in the store, as in
session notes: a note reads in the order it is stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from biotrainer.acquisition.source import ChannelGroup, PresetLayout, SourceLayout
from biotrainer.cli import main
from biotrainer.clock import SimulatedClock
from biotrainer.session.recorder import Recorder
from biotrainer.session.store import Store, StoreError, clean_text

LAYOUT = SourceLayout(
    device="muse2",
    board_id=38,
    presets=(PresetLayout("default", 256.0, 8, 6, 7),),
    groups=(ChannelGroup("eeg", "default", (1, 2, 3, 4), ("TP9", "AF7", "AF8", "TP10"), "uV"),),
)
#: "Pain after: 8/10" on the page, "01/8" reversed by the override (audit130).
OVERRIDDEN = "Pain after: \u202e01/8\u202c, patient upset"


def _session(data_dir: Path) -> int:
    with Store.open(data_dir) as store:
        store.add_patient("P-1")
        rec = Recorder.create(LAYOUT, data_directory=data_dir, clock=SimulatedClock())
        rec.close()
        return store.import_folder(rec.path, "P-1").id


def test_a_rating_note_with_a_direction_override_is_stored_as_it_reads(data_dir, capsys):
    sid = _session(data_dir)
    rc = main(["sessions", "rate", str(sid), "post", "--pain", "8", "--note", OVERRIDDEN])
    assert rc == 0, capsys.readouterr().err
    with Store.open(data_dir) as store:
        assert store.self_reports(sid)["post"].note == "Pain after:  01/8 , patient upset"


@pytest.mark.parametrize(
    "char",
    ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"],
)
def test_every_direction_control_becomes_a_space(char):
    assert clean_text(f"a{char}b", "note", 100) == "a b"
    assert clean_text(f"{char}ab{char}", "note", 100) == "ab"  # (and then trimmed)


def test_guard_the_joiners_of_an_emoji_and_a_persian_word_are_kept():
    """Guard: only the direction controls go; a zero-width joiner or non-joiner is part of
    the text (an emoji family, the Persian "mi‌ravam")."""
    for text in (
        "\U0001f468\u200d\U0001f469\u200d\U0001f467 calm",
        "\u0645\u06cc\u200c\u0631\u0648\u0645",
    ):
        assert clean_text(text, "note", 100) == text


def test_patient_notes_markers_and_ratings_alike(data_dir):
    sid = _session(data_dir)
    with Store.open(data_dir) as store:
        store.add_patient("P-2", notes=OVERRIDDEN)
        assert "\u202e" not in store.patient("P-2").notes
        store.update_patient("P-2", notes="knee\u2067 pain\nsince May")
        assert store.patient("P-2").notes == "knee  pain\nsince May"  # (lines kept)
        assert store.add_marker(sid, OVERRIDDEN).text == "Pain after:  01/8 , patient upset"
        rep, _ = store.amend_self_report(sid, "pre", note=OVERRIDDEN)
        assert rep.note == "Pain after:  01/8 , patient upset"


def test_guard_names_and_codes_still_refuse_them(data_dir):
    """Guard: a name or a patient code with an invisible character is refused, not mended."""
    with Store.open(data_dir) as store:
        with pytest.raises(StoreError, match="invisible characters"):
            store.add_patient("P-3", name="Ann\u202eSmith")
        with pytest.raises(StoreError, match="cannot be seen"):
            store.add_patient("P-\u200b4")
        assert store.patients() == []


@pytest.mark.parametrize("char", ["\x7f", "\x85", "\x9b"])
def test_c1_control_characters_are_refused_as_the_others_are(char):
    """(U+0080-U+009F went into the store: U+009B is a terminal's escape introducer.)"""
    with pytest.raises(StoreError, match="contains control characters"):
        clean_text(f"pain{char}8", "note", 100)
