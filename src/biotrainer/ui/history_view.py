"""A patient's history: the sessions with their summaries, and progress charts across sessions.

The table and the charts come from :func:`biotrainer.reports.progress.build_progress_report`, the
same data as the progress PDF; the charts are drawn by
:func:`biotrainer.ui.report_pdf.build_plot`. Buttons write the session PDF, the progress PDF and
the CSV of a session's metrics.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from biotrainer.errors import BiotrainerError
from biotrainer.paths import check_export_target
from biotrainer.reports.format import local_time, minutes, num, pct, signed
from biotrainer.reports.html import with_coverage
from biotrainer.reports.progress import ProgressReport, ProgressRow, build_progress_report
from biotrainer.reports.session_report import nothing_recorded_phrase
from biotrainer.session.store import Store

COLUMNS = (
    "Session",
    "Date",
    "Protocol",
    "Status",
    "m:ss",
    "vs baseline (z)",
    "In target",
    "RMSSD (ms)",
    "Coherence",
    "Breathing",
    "Pain",
    "Stress",
)


def _pair(a: int | None, b: int | None) -> str:
    if a is None and b is None:
        return "–"
    text = f"{'–' if a is None else a} → {'–' if b is None else b}"
    if a is not None and b is not None:
        text += f" ({signed(b - a, 0)})"
    return text


#: Tooltips of the rows of sessions that did not run their whole protocol, by outcome.
STATUS_TIPS = {
    "recording": "being recorded: figures cover what was recorded so far",
    "interrupted": "interrupted session: figures cover what was recorded",
    "stopped early": "stopped before the end of its protocol: figures cover what was recorded",
    "source ended": "the device or recording ended before the protocol did: figures cover what "
    "was recorded",
    "device failed": "the device failed before the end of the protocol: figures cover what was "
    "recorded",
}


def status_tip(r: ProgressRow) -> str:
    """How the row of a session that did not run its whole protocol is read ("" for none): a
    session closed before its first sample says that it has no figures."""
    if not r.recorded:
        return f"{nothing_recorded_phrase(r.ended)}: there are no figures"
    return STATUS_TIPS.get(r.status, "")


def file_name_part(text: str) -> str:
    """``text`` safe in a file name on any system: letters, digits, "-" and "_" kept, anything
    else (a path separator as in a patient code "2024/017", ":", "*"...) made "_", as the
    CLI's default report names do."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text) or "_"


#: The tooltip of a mean over a thin share of its session's phases (after its share).
THIN_MEAN_TIP = (
    "the mean rests on less than half of the session's training (or paced breathing): for "
    "the rest the metric had no value (the signal unclean or lost, or the heart beats too "
    "irregular to measure)"
)


#: The tooltip of the z cell of a session scored on an earlier scale (left blank).
OLD_SCALE_TIP = (
    "coherence and the relaxation index were scored on other scales before 2026-11-29: this "
    "session's z is not set beside the others"
)


def row_cells(r: ProgressRow) -> list[str]:
    """The table cells of one session; a mean over a thin share of its phases is followed by
    that share, as in the progress report ("0.24 (6 %)")."""
    return [
        str(r.session_id),
        local_time(r.started_utc),
        r.protocol,
        r.status,
        minutes(r.duration_s),
        with_coverage(signed(r.z), r.coverage("z")),
        with_coverage(pct(r.time_in_target), r.coverage("time_in_target")),
        with_coverage(num(r.rmssd_ms, 1), r.coverage("rmssd_ms")),
        with_coverage(num(r.coherence, 2), r.coverage("coherence")),
        with_coverage(num(r.breathing_bpm, 1), r.coverage("breathing_bpm")),
        _pair(r.pain_pre, r.pain_post),
        _pair(r.stress_pre, r.stress_post),
    ]


#: The column of each mean of :func:`row_cells` that can be thin.
MEAN_CELLS = {
    COLUMNS.index(heading): field
    for heading, field in (
        ("vs baseline (z)", "z"),
        ("In target", "time_in_target"),
        ("RMSSD (ms)", "rmssd_ms"),
        ("Coherence", "coherence"),
        ("Breathing", "breathing_bpm"),
    )
}


def cell_tip(r: ProgressRow, column: int) -> str:
    """The tooltip of a cell of :func:`row_cells`: why a thin mean shows its share, and how a
    session that did not run its whole protocol is read ("" for none)."""
    tips = []
    field = MEAN_CELLS.get(column)
    if field is not None and r.thin(field):
        tips.append(THIN_MEAN_TIP)
    if field == "z" and r.z_old_scale:
        tips.append(OLD_SCALE_TIP)
    tips.append(status_tip(r))
    return "; ".join(t for t in tips if t)


class HistoryView(QWidget):
    """Sessions of one patient (table) above their progress charts.

    Parameters
    ----------
    store : Store
    patient_code : str, optional
        The patient shown first (else the first in the store).

    Signals
    -------
    session_activated(int)
        A session row was double-clicked (its id).
    """

    session_activated = Signal(int)

    def __init__(
        self, store: Store, patient_code: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.report: ProgressReport | None = None
        self.patient_box = QComboBox()
        self.with_name = QCheckBox("Name in reports")
        self.session_pdf = QPushButton("Session report…")
        self.progress_pdf = QPushButton("Progress report…")
        self.csv_button = QPushButton("Export CSV…")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self._notes: list[str] = []  # what the last saved report had to say (missing fonts)
        top = QHBoxLayout()
        top.addWidget(QLabel("Patient"))
        top.addWidget(self.patient_box, 1)
        top.addWidget(self.with_name)
        top.addWidget(self.session_pdf)
        top.addWidget(self.csv_button)
        top.addWidget(self.progress_pdf)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # (every column as wide as its contents: a stretched last one put its values a window's
        # width away from their heading)
        self.table.horizontalHeader().setStretchLastSection(False)

        self.charts = QWidget()
        self.chart_grid = QGridLayout(self.charts)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.charts)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(scroll)
        split.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)

        self.patient_box.currentIndexChanged.connect(lambda _i: self.refresh())
        self.table.cellDoubleClicked.connect(self._activated)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.session_pdf.clicked.connect(self._ask_session_pdf)
        self.progress_pdf.clicked.connect(self._ask_progress_pdf)
        self.csv_button.clicked.connect(self._ask_csv)
        self.reload_patients(patient_code)

    # -- data ------------------------------------------------------------------------------

    def reload_patients(self, select: str | None = None) -> None:
        """Re-read the patient list (after one was added) and show ``select`` if given."""
        current = select or self.patient_code()
        self.patient_box.blockSignals(True)
        self.patient_box.clear()
        for p in self.store.patients():
            self.patient_box.addItem(p.code, p.code)
        if current:
            i = self.patient_box.findData(current, flags=Qt.MatchFlag.MatchFixedString)
            if i >= 0:
                self.patient_box.setCurrentIndex(i)
        self.patient_box.blockSignals(False)
        self.refresh()

    def patient_code(self) -> str | None:
        data = self.patient_box.currentData()
        return None if data is None else str(data)

    def refresh(self) -> None:
        """Re-read the shown patient's sessions and redraw table and charts."""
        code = self.patient_code()
        self.report = build_progress_report(self.store, code) if code else None
        rows = self.report.rows if self.report else ()
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            for j, text in enumerate(row_cells(r)):
                item = QTableWidgetItem(text)
                if j >= 4 or j == 0:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                tip = cell_tip(r, j)
                if tip:
                    item.setToolTip(tip)
                self.table.setItem(i, j, item)
        if rows:
            self.table.selectRow(len(rows) - 1)
        self._draw_charts()
        self._update_buttons()
        self.status.setText(
            f"{len(rows)} session(s)" if code else "No patient yet: add one before a session."
        )

    def _draw_charts(self) -> None:
        from biotrainer.ui.report_pdf import build_plot

        while self.chart_grid.count():
            w = self.chart_grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        charts = self.report.charts() if self.report and self.report.rows else []
        for k, chart in enumerate(charts):
            plot = build_plot(chart, (420, 200))
            plot.setMinimumHeight(plot.height())  # (200, and the legend's lines if wrapped)
            self.chart_grid.addWidget(plot, k // 2, k % 2)

    def selected_session_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return None if item is None else int(item.text())

    def _update_buttons(self) -> None:
        has = self.selected_session_id() is not None
        self.session_pdf.setEnabled(has)
        self.csv_button.setEnabled(has)
        self.progress_pdf.setEnabled(self.patient_code() is not None)

    def _activated(self, row: int, _col: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.session_activated.emit(int(item.text()))

    # -- outputs ----------------------------------------------------------------------------

    def save_session_report(self, session_id: int, out: str | os.PathLike[str]) -> Path:
        from biotrainer.reports.session_report import build_session_report
        from biotrainer.ui.report_pdf import write_session_pdf

        check_export_target(out, self.store.root, inside_ok=True)
        report = build_session_report(self.store, session_id, with_name=self.with_name.isChecked())
        return write_session_pdf(report, out, warn=self._notes.append)

    def save_progress_report(self, out: str | os.PathLike[str]) -> Path:
        from biotrainer.ui.report_pdf import write_progress_pdf

        code = self.patient_code()
        if code is None:
            raise BiotrainerError("choose a patient first")
        check_export_target(out, self.store.root, inside_ok=True)
        report = build_progress_report(self.store, code, with_name=self.with_name.isChecked())
        return write_progress_pdf(report, out, warn=self._notes.append)

    def save_csv(self, session_id: int, out: str | os.PathLike[str]) -> int:
        from biotrainer.reports.csv_export import export_metrics_csv

        check_export_target(out, self.store.root)  # (as `report --csv`: never in the data folder)
        rec = self.store.session(session_id)
        if rec.folder is None:
            raise BiotrainerError(f"session {session_id} has no session folder")
        return export_metrics_csv(rec.folder, out)

    def _save(self, title: str, default: str, pattern: str, action) -> None:
        path, _ = QFileDialog.getSaveFileName(self, title, default, pattern)
        if not path:
            return
        self._notes.clear()
        try:
            action(path)
        except BiotrainerError as exc:
            QMessageBox.warning(self, title, str(exc))
            return
        notes = "".join(f" Note: {n}." for n in self._notes)
        self.status.setText(f"Saved {path}.{notes}")

    def _ask_session_pdf(self) -> None:
        sid = self.selected_session_id()
        if sid is not None:
            self._save(
                "Save the session report",
                f"biotrainer-session-{sid}.pdf",
                "PDF (*.pdf)",
                lambda p: self.save_session_report(sid, p),
            )

    def _ask_progress_pdf(self) -> None:
        code = self.patient_code()
        if code is not None:
            self._save(
                "Save the progress report",
                f"biotrainer-progress-{file_name_part(code)}.pdf",
                "PDF (*.pdf)",
                self.save_progress_report,
            )

    def _ask_csv(self) -> None:
        sid = self.selected_session_id()
        if sid is not None:
            self._save(
                "Export the metrics as CSV",
                f"biotrainer-session-{sid}.csv",
                "CSV (*.csv)",
                lambda p: self.save_csv(sid, p),
            )
