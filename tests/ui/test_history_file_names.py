"""The file names the patient history offers in its save dialogs are file names, whatever the
patient code holds."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog

from biotrainer.session.store import Store
from biotrainer.ui.history_view import HistoryView, file_name_part


@pytest.mark.parametrize(
    ("code", "part"),
    [
        ("P-017", "P-017"),
        ("2024/017", "2024_017"),
        (r"a\b:c*d?e", "a_b_c_d_e"),
        ("../x", "___x"),
        ("Ø-1", "Ø-1"),
    ],
)
def test_file_name_part_keeps_letters_digits_dash_and_underscore(code: str, part: str) -> None:
    assert file_name_part(code) == part
    assert "/" not in file_name_part(code) and "\\" not in file_name_part(code)


def test_the_progress_report_offers_a_file_name_for_a_code_with_a_slash(
    qtbot, tmp_path, monkeypatch
) -> None:
    """A code 2024/017 made the offered name biotrainer-progress-2024/017.pdf: a file 017.pdf
    in a folder biotrainer-progress-2024 the save dialog then said does not exist."""
    offered: list[str] = []

    def save_dialog(parent, title, default, pattern):
        offered.append(default)
        return "", ""  # cancelled

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_dialog))
    with Store.open(tmp_path / "data") as store:
        # (an older version took such a code; a new code takes no '/', which LSL refuses)
        store._conn.execute(
            "INSERT INTO patients (code, notes, created_utc) VALUES (?, '', ?)",
            ("2024/017", "2024-01-01T00:00:00+00:00"),
        )
        view = HistoryView(store, "2024/017")
        qtbot.addWidget(view)
        assert view.patient_code() == "2024/017"
        view._ask_progress_pdf()
    assert offered == ["biotrainer-progress-2024_017.pdf"]
