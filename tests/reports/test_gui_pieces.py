"""Patient/rating dialogs and the history view, offscreen."""

from __future__ import annotations

import csv
import json

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QSlider

from biotrainer.errors import BiotrainerError
from biotrainer.session.store import Store
from biotrainer.ui.history_view import HistoryView
from biotrainer.ui.patient_dialogs import (
    PatientDialog,
    SelfReportDialog,
    SelfReportValues,
    save_self_report,
)

COLUMNS = [
    "session_s", "phase_index", "phase_name", "phase_kind", "paused", "finished",
    "feedback_score", "feedback_z", "rewarded", "reward_rate", "hr_bpm", "rmssd_ms", "quality_ok",
    "quality_reason", "source_state",
]  # fmt: skip


def fake_session(store: Store, tmp_path, code: str, n: int = 600):
    """A session folder with a small hand-written metrics.csv (baseline then training)."""
    folder = tmp_path / f"s{len(store.sessions())}"
    folder.mkdir()
    with open(folder / "metrics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for i in range(n):
            train = i >= n // 2
            phase = ("Training", "training") if train else ("Baseline", "baseline")
            score, z = (0.7, 1.5) if train else (0.5, 0.0)
            rewarded = int(train and i % 4 != 0)
            w.writerow([i / 10, int(train), *phase, 0, 0, score, z, rewarded, 0.6, 70.0, 40.0, 1,
                        "ok", "streaming"])  # fmt: skip
    (folder / "session.json").write_text(json.dumps({"not": "read here"}))
    rec = store.add_session(code, folder, "alpha-uptraining", "simulator")
    return store.finish_session(rec.id, status="completed")


def test_rating_sliders_start_unrated_and_record_what_was_touched(qtbot, data_dir):
    dialog = SelfReportDialog("post")
    qtbot.addWidget(dialog)
    assert dialog.values() == SelfReportValues(None, None, "")
    assert dialog.values().empty and "after" in dialog.windowTitle()
    for _ in range(6):
        dialog.pain.slider.triggerAction(QSlider.SliderAction.SliderSingleStepAdd)
    dialog.note.setPlainText("  calmer now ")
    values = dialog.values()
    assert values == SelfReportValues(6, None, "calmer now")
    assert dialog.pain.readout.text() == "6" and dialog.stress.readout.text() == "–"
    dialog.stress.set_value(0)  # rated zero is not "not rated"
    assert dialog.values().stress == 0
    with Store.open(data_dir) as store:
        store.add_patient("G-1")
        folder = data_dir / "x"
        folder.mkdir()
        sid = store.add_session("G-1", folder, "p", "d").id
        save_self_report(store, sid, "post", dialog.values())
        r = store.self_reports(sid)["post"]
        assert (r.pain, r.stress, r.note) == (6, 0, "calmer now")
    with pytest.raises(ValueError):
        SelfReportDialog("during")


def test_a_tap_on_a_rating_gives_the_number_tapped(qtbot):
    """Tapping (not dragging) at a number sets that number, on the first tap and on repeats; a
    plain QSlider stepped one towards the tap (a tap at 7 gave 1, then 2, 3...)."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    dialog = SelfReportDialog("pre")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    slider, numbers = dialog.stress.slider, dialog.stress.number_labels
    assert [n.text() for n in numbers] == [str(i) for i in range(11)]
    for k in (7, 7, 3, 10, 0, 5):
        # at the middle of the number printed under the track, in the slider's coordinates
        centre = slider.mapFromGlobal(numbers[k].mapToGlobal(numbers[k].rect().center()))
        at = QPoint(centre.x(), slider.height() // 2)
        QTest.mouseClick(slider, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
        assert dialog.stress.value() == k and dialog.stress.readout.text() == str(k)
    assert dialog.pain.value() is None  # the other rating stays untouched


def test_patient_dialog_adds_and_selects_patients(qtbot, data_dir):
    with Store.open(data_dir) as store:
        store.add_patient("B-2", name="Secret Name")
        dialog = PatientDialog(store)
        qtbot.addWidget(dialog)
        texts = [dialog.list.item(i).text() for i in range(dialog.list.count())]
        assert len(texts) == 1 and "Secret" not in texts[0]
        dialog.show_names.setChecked(True)
        assert "Secret Name" in dialog.list.item(0).text()
        # (a new code takes letters, digits and - _ . only: SQL-special text is refused there
        # with the character named, and kept verbatim in the free-text notes)
        dialog.new_code.setText("A-1'; DROP TABLE patients;--")
        assert dialog.add_patient() is None and 'the sign "\'"' in dialog.error.text()
        dialog.new_code.setText("A-1")
        dialog.new_notes.setText("new'; DROP TABLE patients;--")
        assert dialog.add_patient() is not None
        assert dialog.selected_code() == "A-1"
        assert dialog.ok_button.isEnabled()
        dialog.new_code.setText("b-2")
        assert dialog.add_patient() is None and "already exists" in dialog.error.text()
        dialog.filter.setText("b-")
        assert dialog.list.count() == 1
        assert {p.code for p in store.patients()} == {"B-2", "A-1"}
        assert store.patient("A-1").notes == "new'; DROP TABLE patients;--"


def test_history_view_lists_sessions_draws_charts_and_saves_reports(qtbot, data_dir, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    with Store.open(data_dir) as store:
        store.add_patient("H-1", name="Hidden Person")
        recs = [fake_session(store, tmp_path, "H-1") for _ in range(2)]
        store.add_self_report(recs[0].id, "pre", pain=7, stress=6)
        store.add_self_report(recs[0].id, "post", pain=4, stress=2)
        view = HistoryView(store, "h-1")
        qtbot.addWidget(view)
        assert view.patient_code() == "H-1"
        assert view.table.rowCount() == 2
        cells = [view.table.item(0, j).text() for j in range(view.table.columnCount())]
        assert cells[0] == str(recs[0].id)
        # the feedback against the baseline (mean z of training), not the threshold-centred score
        assert "+1.5" in cells and "75 %" in cells and "7 → 4 (−3)" in cells
        assert view.chart_grid.count() >= 4
        assert view.selected_session_id() == recs[1].id
        with qtbot.waitSignal(view.session_activated) as blocker:
            view.table.cellDoubleClicked.emit(0, 1)
        assert blocker.args == [recs[0].id]
        pdf = view.save_progress_report(tmp_path / "p.pdf")
        text = " ".join(p.extract_text() for p in pypdf.PdfReader(pdf).pages)
        assert "H-1" in text and "Hidden" not in text
        view.with_name.setChecked(True)
        pdf = view.save_session_report(recs[0].id, tmp_path / "s.pdf")
        text = " ".join(p.extract_text() for p in pypdf.PdfReader(pdf).pages)
        assert "Hidden" in text and "75" in text
        assert view.save_csv(recs[0].id, tmp_path / "m.csv") == 600


def test_history_exports_never_replace_a_recording_or_the_database(qtbot, data_dir, tmp_path):
    """The save dialog lets one pick any file and confirm "replace": a recording's metrics.csv
    was rewritten in the export's format (before)."""
    with Store.open(data_dir) as store:
        store.add_patient("H-2")
        rec = fake_session(store, tmp_path, "H-2")
        view = HistoryView(store, "H-2")
        qtbot.addWidget(view)
        metrics = rec.folder / "metrics.csv"
        before = metrics.read_bytes()
        for target in (metrics, rec.folder / "new.csv", store.path, data_dir / "x.csv"):
            with pytest.raises(BiotrainerError, match="write the export somewhere else"):
                view.save_csv(rec.id, target)
        for target in (metrics, store.path, rec.folder / "session.json"):
            with pytest.raises(BiotrainerError, match="never replaced"):
                view.save_session_report(rec.id, target)
        assert metrics.read_bytes() == before
        # a report beside the recording is fine, and may be saved again
        assert view.save_session_report(rec.id, rec.folder / "report.pdf").exists()
        assert view.save_session_report(rec.id, rec.folder / "report.pdf").exists()
        assert view.save_progress_report(data_dir / "progress.pdf").exists()


def test_history_columns_are_as_wide_as_their_contents_in_a_wide_window(qtbot, data_dir, tmp_path):
    """The last column (Stress) was stretched over the table's free width: its "–" sat at the
    window's right edge, far from its heading."""
    with Store.open(data_dir) as store:
        store.add_patient("W-1")
        fake_session(store, tmp_path, "W-1")
        view = HistoryView(store, "W-1")
        qtbot.addWidget(view)
        view.resize(1800, 700)
        view.show()
        qtbot.waitExposed(view)
        header = view.table.horizontalHeader()
        for j in range(view.table.columnCount()):
            want = max(header.sectionSizeHint(j), view.table.sizeHintForColumn(j))
            assert view.table.columnWidth(j) <= want + 2, view.table.horizontalHeaderItem(j).text()


def test_history_view_says_when_a_saved_report_has_characters_no_font_draws(
    qtbot, data_dir, tmp_path, monkeypatch
):
    from PySide6.QtGui import QFontDatabase
    from PySide6.QtWidgets import QFileDialog

    if QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese):
        pytest.skip("this machine has a font for Chinese: nothing would be printed as boxes")
    with Store.open(data_dir) as store:
        store.add_patient("H-2", name="王小明")
        rec = fake_session(store, tmp_path, "H-2")
        view = HistoryView(store, "H-2")
        qtbot.addWidget(view)
        out = tmp_path / "s.pdf"
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: (str(out), ""))
        view._ask_session_pdf()
        assert view.status.text() == f"Saved {out}."  # the name is not shown: nothing to say
        view.with_name.setChecked(True)
        view._ask_session_pdf()
        assert out.stat().st_size > 0 and view.selected_session_id() == rec.id
        assert view.status.text().startswith(f"Saved {out}. Note: no installed font can draw 王")


def test_a_chart_of_absurd_values_renders_without_them(qtbot) -> None:
    """A damaged metrics.csv (1e308 times and values) made pyqtgraph raise 'Cannot set range
    [-inf, inf]' and the whole report fail; such values are left out of the drawing."""
    import numpy as np

    from biotrainer.reports.charts import Chart, Series, auto_range
    from biotrainer.ui.report_pdf import render_chart

    x = np.array([-1e308, 1.0, 1e308, 3.0])
    y = np.array([-1e308, 1e308, 2.0, -np.inf])
    for style in ("line", "points", "linepoints"):
        chart = Chart("c", "title", "y", (Series("s", x, y, style=style),), x_label="x")
        assert auto_range(chart) is not None and np.isfinite(auto_range(chart)).all()
        image = render_chart(chart)
        assert image.width() > 0 and image.height() > 0


def test_pdf_is_written_whole_or_not_at_all(qtbot, tmp_path, monkeypatch) -> None:
    """A full disk left a 0-byte PDF and 'could not write the PDF'; a non-UTF-8 file name made
    Qt write the PDF under another name."""
    import os
    from types import SimpleNamespace

    import pytest

    from biotrainer.errors import BiotrainerError
    from biotrainer.ui import report_pdf

    odd = os.fsdecode(os.fsencode(tmp_path) + b"/r\xff.pdf")
    assert report_pdf.write_pdf("<p>hello</p>", [], odd, "t") == report_pdf.Path(odd)
    assert os.listdir(tmp_path) == [os.path.basename(odd)]
    assert report_pdf.Path(odd).read_bytes().startswith(b"%PDF")

    monkeypatch.setattr(report_pdf, "_print_pdf", lambda *a: None)  # nothing gets written
    monkeypatch.setattr(report_pdf.shutil, "disk_usage", lambda p: SimpleNamespace(free=0))
    with pytest.raises(
        BiotrainerError, match=r"could not write the PDF .*new.pdf: the disk is full"
    ):
        report_pdf.write_pdf("<p>x</p>", [], tmp_path / "new.pdf", "t")
    assert sorted(os.listdir(tmp_path)) == [os.path.basename(odd)]  # no empty or partial file


def test_progress_table_numbers_and_headings_are_not_broken_inside(qtbot, data_dir, tmp_path):
    """On the A4 page the table's narrow columns read "10:0 / 0", "Pai / n" and "Coher / ."."""
    from dataclasses import replace

    from PySide6.QtCore import QSizeF
    from PySide6.QtGui import QTextDocument

    from biotrainer.reports.html import progress_html
    from biotrainer.reports.progress import build_progress_report

    with Store.open(data_dir) as store:
        store.add_patient("P-1")
        for _ in range(2):
            fake_session(store, tmp_path, "P-1", n=6001)  # 10:00 long
        report = build_progress_report(store, "P-1")
    # the crowded case: a note under each protocol, every rating given
    rows = tuple(
        replace(r, status="source ended", pain_pre=10, pain_post=3, stress_pre=10, stress_post=2)
        for r in report.rows
    )
    html = progress_html(replace(report, rows=rows))
    doc = QTextDocument()
    doc.setDocumentMargin(0)
    doc.setHtml(html)
    doc.setPageSize(QSizeF((210 - 30) / 25.4 * 96, (297 - 30) / 25.4 * 96))  # as the PDF lays out
    doc.size()  # lays the document out
    cells = {"10:00", "Pain", "Stress", "Coher.", "In target", "RMSSD"}
    seen = set()
    block = doc.begin()
    while block.isValid():
        text = block.text().replace("\xa0", " ")  # Qt keeps unbroken spaces as no-break ones
        if text in cells:
            seen.add(text)
            assert block.layout().lineCount() == 1, f"{text!r} is broken over lines"
        block = block.next()
    assert seen == cells
