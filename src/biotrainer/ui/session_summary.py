"""The end-of-session summary: a per-phase table, the resonance result and the session report.

Shown (non-modal) by the trainer window when a session ends. The table comes from
:func:`biotrainer.session.analysis.summarize_updates` (means per phase, the same numbers as the
store and the reports; the feedback column is the mean z-score against the person's baseline,
which compares across phases, unlike the score centred on a moving reward threshold); after a
resonance assessment the
rates tried are listed with their LF power and heart-rate swing, the chosen one highlighted.
"Session report (PDF)…" writes the de-identified session report of the patient store
(:func:`biotrainer.reports.session_report.build_session_report`) and opens it.
A mean over less than half of its phase (:meth:`~biotrainer.session.analysis.MetricMeans.thin`)
is followed by "*", its cell's tooltip gives the share, and a note under the table says why, as
in the table ``biotrainer run`` prints.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from biotrainer.engine.resonance import ResonanceResult
from biotrainer.errors import BiotrainerError
from biotrainer.paths import check_export_target
from biotrainer.reports.format import part, signed
from biotrainer.session.analysis import THIN_MEAN_NOTE, PhaseStats

PHASE_COLUMNS = (
    "Phase",
    "Kind",
    "m:ss",
    "vs baseline (z)",
    "Rewarded",
    "Clean",
    "HR (bpm)",
    "RMSSD (ms)",
    "Coherence",
    "Breathing (/min)",
)

#: The columns of :data:`PHASE_COLUMNS` that show a mean keeping the share of its phase it
#: rests on, by the mean each shows: a thin one is marked "*".
MEAN_CELLS = {
    3: "z",
    4: "time_in_target",
    6: "hr_bpm",
    7: "rmssd_ms",
    8: "coherence",
    9: "breathing_bpm",
}

#: The least height of a table of the summary (pixels): its header and about three rows.
TABLE_MIN_PX = 130

SUMMARY_STYLE = """
QDialog {{ background: {bg}; color: {text}; }}
QDialog QLabel {{ color: {text}; font-size: 10pt; }}
QLabel#title {{ font-size: 15pt; font-weight: 600; color: {title}; }}
QLabel#resonance {{ font-size: 13pt; color: #7fd18b; font-weight: 600; }}
QTableWidget {{ background: #151b22; color: {title}; gridline-color: #222b34;
    font-size: 10pt; border: 1px solid #222b34; }}
QHeaderView::section {{ background: #1f2833; color: #9fb2c4; border: none; padding: 4px; }}
QPushButton {{ background: #1f2833; color: {title}; border: 1px solid #34414e;
    border-radius: 4px; padding: 6px 14px; font-size: 10pt; }}
QPushButton:disabled {{ color: #56616c; border-color: #222b34; }}
QCheckBox {{ color: {text}; }}
"""


def _f(x: float, nd: int = 1, scale: float = 1.0) -> str:
    return "–" if not math.isfinite(x) else f"{scale * x:.{nd}f}"


def _mmss(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "–"
    s = max(0, int(round(seconds)))
    return f"{s // 60}:{s % 60:02d}"


def phase_cells(p: PhaseStats) -> list[str]:
    """The table cells of one phase; a mean over a thin share of the phase
    (:meth:`~biotrainer.session.analysis.MetricMeans.thin`) is followed by "*"."""
    m = p.means
    cells = [
        p.name,
        p.kind,
        _mmss(m.duration_s),
        signed(m.z),
        _f(m.time_in_target, 0, 100) + (" %" if math.isfinite(m.time_in_target) else ""),
        _f(m.clean_fraction, 0, 100) + (" %" if math.isfinite(m.clean_fraction) else ""),
        _f(m.hr_bpm),
        _f(m.rmssd_ms),
        _f(m.coherence, 2),
        _f(m.breathing_bpm),
    ]
    for column, field in MEAN_CELLS.items():
        if m.thin(field):
            cells[column] += "*"
    return cells


def phase_cell_tip(p: PhaseStats, column: int) -> str:
    """The tooltip of cell ``column`` of :func:`phase_cells`: for a mean marked thin, the share of
    the phase it rests on ("mean over 6 % of the phase ..."); "" for any other cell."""
    field = MEAN_CELLS.get(column)
    if field is None or not p.means.thin(field):
        return ""
    return (
        f"mean over {part(p.means.coverage(field))} of the phase: no value for the rest (signal "
        "unclean or lost, or heart beats too irregular)"
    )


def _table(
    headers: tuple[str, ...] | list[str],
    rows: list[list[str]],
    tips: list[list[str]] | None = None,
) -> QTableWidget:
    table = QTableWidget(len(rows), len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            item = QTableWidgetItem(text)
            if tips is not None and tips[i][j]:
                item.setToolTip(tips[i][j])
            if j >= 2:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(i, j, item)
    height = table.horizontalHeader().sizeHint().height() + 4
    height += sum(table.rowHeight(i) for i in range(len(rows)))
    # (a long table scrolls: two of them, each its whole height, made the dialog taller than a
    # 1024x600 screen)
    table.setMinimumHeight(min(height, TABLE_MIN_PX))
    return table


class SessionSummaryDialog(QDialog):
    """What a session gave, for the therapist (non-modal).

    Parameters
    ----------
    title : str
        Protocol title.
    phases : sequence of PhaseStats
        The phases of a :class:`~biotrainer.session.analysis.SessionSummary`.
    status : str
        One line: completed, stopped, or the error.
    folder : Path, optional
        The recording.
    patient_code : str, optional
    resonance : ResonanceResult, optional
        The assessment's per-rate results and chosen rate.
    store, session_id : optional
        The patient store and the session's id in it: enables the session report.
    """

    def __init__(
        self,
        title: str,
        phases: list[PhaseStats] | tuple[PhaseStats, ...],
        status: str,
        *,
        folder: Path | None = None,
        patient_code: str | None = None,
        resonance: ResonanceResult | None = None,
        store=None,
        session_id: int | None = None,
        theme=None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.session_id = session_id
        self.folder = folder
        self.saved_pdf: Path | None = None
        self.setWindowTitle("Session summary")
        if theme is not None:
            self.setStyleSheet(
                SUMMARY_STYLE.format(bg=theme.background, text=theme.text, title=theme.title)
            )
        layout = QVBoxLayout(self)
        heading = QLabel(title + (f"  ·  patient {patient_code}" if patient_code else ""))
        heading.setObjectName("title")
        layout.addWidget(heading)
        self.status_label = QLabel(status)
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)

        rows = [phase_cells(p) for p in phases]
        tips = [[phase_cell_tip(p, j) for j in range(len(PHASE_COLUMNS))] for p in phases]
        self.phase_table = _table(PHASE_COLUMNS, rows, tips)
        if not rows:
            layout.addWidget(QLabel("No metrics were computed (no usable data)."))
        layout.addWidget(self.phase_table)
        # (shown only under a table with a mean marked thin, as under the one `run` prints)
        self.thin_note: QLabel | None = None
        if any(p.means.thin(f) for p in phases for f in MEAN_CELLS.values()):
            self.thin_note = QLabel(THIN_MEAN_NOTE)
            self.thin_note.setWordWrap(True)
            layout.addWidget(self.thin_note)

        self.resonance_label: QLabel | None = None
        self.resonance_table: QTableWidget | None = None
        if resonance is not None:
            best = resonance.best_bpm
            text = (
                f"Resonance breathing rate: {best:g} breaths/min — stored for this patient's "
                "next sessions"
                if math.isfinite(best) and patient_code
                else f"Resonance breathing rate: {best:g} breaths/min"
                if math.isfinite(best)
                else "Resonance breathing rate: not decided (the assessment did not reach its "
                "end; the rate stored before is kept)"
                if not resonance.complete
                else "Resonance breathing rate: undecided (not enough clean beats)"
            )
            self.resonance_label = QLabel(text)
            self.resonance_label.setObjectName("resonance")
            layout.addWidget(self.resonance_label)
            rrows = [
                [
                    f"{r.bpm:g}",
                    "✓" if math.isfinite(best) and r.bpm == best else "",
                    _f(r.lf_power_ms2, 0),
                    _f(r.hr_swing_bpm, 1),
                    str(r.n_beats),
                ]
                for r in resonance.rates
            ]
            self.resonance_table = _table(
                ("Rate (/min)", "Chosen", "LF power (ms²)", "HR swing (bpm)", "Beats"), rrows
            )
            layout.addWidget(self.resonance_table)

        if folder is not None:
            path = QLabel(f"Recording: {folder}")
            path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            small = QFont(path.font())
            small.setPointSizeF(small.pointSizeF() * 0.9)
            path.setFont(small)
            path.setWordWrap(True)
            layout.addWidget(path)

        buttons = QHBoxLayout()
        self.with_name = QCheckBox("Name in the report")
        self.with_name.setToolTip("Reports are de-identified (patient code only) unless ticked")
        self.pdf_button = QPushButton("Session report (PDF)…")
        self.pdf_button.setEnabled(store is not None and session_id is not None)
        if not self.pdf_button.isEnabled():
            self.pdf_button.setToolTip("Only sessions registered for a patient have a report")
        self.pdf_button.clicked.connect(self._ask_pdf)
        self.folder_button = QPushButton("Open recording folder")
        self.folder_button.setEnabled(folder is not None)
        self.folder_button.clicked.connect(self._open_folder)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons.addWidget(self.with_name)
        buttons.addStretch(1)
        buttons.addWidget(self.folder_button)
        buttons.addWidget(self.pdf_button)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.resize(900, 300 + 28 * (len(rows) + (len(resonance.rates) if resonance else 0)))

    def save_pdf(self, out: str | os.PathLike[str]) -> Path:
        """Write the session report PDF (de-identified unless "Name in the report")."""
        if self.store is None or self.session_id is None:
            raise BiotrainerError("this session is not registered for a patient: no report")
        from biotrainer.reports.session_report import build_session_report
        from biotrainer.ui.report_pdf import write_session_pdf

        check_export_target(out, self.store.root, inside_ok=True)
        report = build_session_report(
            self.store, self.session_id, with_name=self.with_name.isChecked()
        )
        self.saved_pdf = write_session_pdf(report, out)
        return self.saved_pdf

    def _ask_pdf(self) -> None:
        default = str((self.folder or Path.home()) / f"biotrainer-session-{self.session_id}.pdf")
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the session report", default, "PDF (*.pdf)"
        )
        if not path:
            return
        try:
            saved = self.save_pdf(path)
        except BiotrainerError as exc:
            QMessageBox.warning(self, "Session report", str(exc))
            return
        self.status_label.setText(f"{self.status_label.text()}\nReport saved: {saved}")
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(saved)))

    def _open_folder(self) -> None:
        if self.folder is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder)))
