"""Dialogs around a session: choose or create the patient; pain and stress ratings before/after.

The rating dialog is meant for the patient: two large 0-10 sliders (numeric rating scale, 0 = none,
10 = worst imaginable), a free note, and a Skip button. A slider that was not touched is saved as
"not rated" rather than as 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QMouseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QVBoxLayout,
    QWidget,
)

from biotrainer.errors import BiotrainerError
from biotrainer.session.store import MAX_NOTE, Patient, Store, StoreError, clean_text

SLIDER_STYLE = """
QSlider::groove:horizontal { height: 14px; border-radius: 7px;
    background: qlineargradient(x1:0, y1:0, x2:1, y2:0, stop:0 #8fd19e, stop:0.5 #f3d37a,
    stop:1 #e8836f); }
QSlider::handle:horizontal { width: 40px; height: 40px; margin: -14px 0; border-radius: 20px;
    background: #1f4e79; border: 3px solid white; }
QSlider[rated="false"]::handle:horizontal { background: #9aa5b1; }
"""


class TapSlider(QSlider):
    """A slider whose handle jumps to where it is clicked or tapped.

    A plain QSlider moves one step towards a click on its track, so a tap at "7" would give 1
    (then 2, 3... on more taps): a wrong rating for anyone who taps rather than drags.
    """

    def mousePressEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if ev.button() == Qt.MouseButton.LeftButton:
            self.setValue(self.value_at(ev.position().x()))  # the handle is now under it
        super().mousePressEvent(ev)  # ... so this starts a drag from there

    def value_at(self, x: float) -> int:
        """The value whose handle position is nearest to ``x`` (widget pixels)."""
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        style = self.style()
        cc, sc = QStyle.ComplexControl.CC_Slider, QStyle.SubControl
        groove = style.subControlRect(cc, opt, sc.SC_SliderGroove, self)
        handle = style.subControlRect(cc, opt, sc.SC_SliderHandle, self)
        span = max(1, groove.width() - handle.width())
        pos = round(x - groove.x() - handle.width() / 2)
        return QStyle.sliderValueFromPosition(
            self.minimum(), self.maximum(), min(max(pos, 0), span), span, opt.upsideDown
        )


class RatingSlider(QWidget):
    """A 0-10 rating with a large handle, anchor words and a big value read-out.

    ``value()`` is None until the person moved the slider (clicked, dragged or used the keys).
    """

    changed = Signal()

    def __init__(self, question: str, low: str, high: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rated = False
        title = QLabel(question)
        f = QFont(title.font())
        f.setPointSizeF(f.pointSizeF() * 1.35)
        title.setFont(f)
        title.setWordWrap(True)
        self.slider = TapSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 10)
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setTickInterval(1)
        self.slider.setMinimumHeight(56)
        self.slider.setMinimumWidth(420)
        self.slider.setProperty("rated", False)
        self.slider.setStyleSheet(SLIDER_STYLE)
        self.slider.setAccessibleName(question)
        self.readout = QLabel("–")
        big = QFont(self.readout.font())
        big.setPointSizeF(big.pointSizeF() * 2.6)
        big.setBold(True)
        self.readout.setFont(big)
        self.readout.setMinimumWidth(90)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        numbers = QHBoxLayout()
        #: The numbers printed under the track, 0 to 10.
        self.number_labels: list[QLabel] = []
        for i in range(11):
            n = QLabel(str(i))
            n.setAlignment(Qt.AlignmentFlag.AlignCenter)
            numbers.addWidget(n)
            self.number_labels.append(n)
        anchors = QHBoxLayout()
        anchors.addWidget(QLabel(f"0 = {low}"))
        anchors.addStretch(1)
        anchors.addWidget(QLabel(f"10 = {high}"))
        left = QVBoxLayout()
        left.addWidget(self.slider)
        left.addLayout(numbers)
        left.addLayout(anchors)
        row = QHBoxLayout()
        row.addLayout(left, 1)
        row.addWidget(self.readout)
        box = QVBoxLayout(self)
        box.addWidget(title)
        box.addLayout(row)
        self.slider.actionTriggered.connect(self._touched)
        self.slider.sliderPressed.connect(self._touched)
        self.slider.valueChanged.connect(self._show)

    def _touched(self, *_: object) -> None:
        if not self._rated:
            self._rated = True
            self.slider.setProperty("rated", True)
            self.slider.style().unpolish(self.slider)
            self.slider.style().polish(self.slider)
        # actionTriggered fires before the value moves: show it once it has.
        self._show()

    def _show(self, *_: object) -> None:
        self.readout.setText(str(self.slider.value()) if self._rated else "–")
        self.changed.emit()

    def value(self) -> int | None:
        return self.slider.value() if self._rated else None

    def set_value(self, value: int | None) -> None:
        """Preset a rating (None = not rated)."""
        self._rated = value is not None
        self.slider.setProperty("rated", self._rated)
        self.slider.setValue(0 if value is None else int(value))
        self._show()


@dataclass(frozen=True)
class SelfReportValues:
    """What the rating dialog returns: 0-10 or None (not rated), and a note."""

    pain: int | None
    stress: int | None
    note: str

    @property
    def empty(self) -> bool:
        return self.pain is None and self.stress is None and not self.note


class SelfReportDialog(QDialog):
    """Pain and stress before (``moment="pre"``) or after (``"post"``) a session."""

    def __init__(self, moment: str = "pre", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if moment not in ("pre", "post"):
            raise ValueError(f"moment is 'pre' or 'post', not {moment!r}")
        self.moment = moment
        when = "before the session" if moment == "pre" else "after the session"
        self.setWindowTitle(f"How do you feel {when}?")
        self.pain = RatingSlider(
            "How strong is your pain right now?", "no pain", "worst pain imaginable"
        )
        self.stress = RatingSlider(
            "How stressed or tense do you feel right now?", "not at all", "extremely"
        )
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText("Anything you would like to add (optional)")
        self.note.setMaximumHeight(90)
        self.problem = QLabel("")  # why Save did not close the dialog
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #b3261e;")
        self.problem.hide()
        buttons = QDialogButtonBox()
        self.save_button = buttons.addButton("Save", QDialogButtonBox.ButtonRole.AcceptRole)
        self.skip_button = buttons.addButton("Skip", QDialogButtonBox.ButtonRole.RejectRole)
        for b in (self.save_button, self.skip_button):
            b.setMinimumHeight(44)
            b.setMinimumWidth(120)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pain)
        layout.addSpacing(12)
        layout.addWidget(self.stress)
        layout.addSpacing(12)
        layout.addWidget(self.note)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)

    def accept(self) -> None:
        """Save only a note the patient store takes (its length); else say what to change and
        keep the dialog open, so nothing typed is lost. Control characters a paste brings (a
        Word line break, a page break), which the patient cannot see, become spaces
        (:func:`typed_note`) instead of a refusal no one could act on."""
        try:
            clean_text(typed_note(self.note.toPlainText()), "note", MAX_NOTE)
        except StoreError as exc:
            self.problem.setText(f"{str(exc)[0].upper()}{str(exc)[1:]}. Please change it.")
            self.problem.show()
            return
        super().accept()

    def values(self) -> SelfReportValues:
        return SelfReportValues(
            self.pain.value(), self.stress.value(), typed_note(self.note.toPlainText()).strip()
        )


#: Control characters a typed or pasted note never keeps (newlines, carriage returns and tabs
#: are kept: the note has lines).
_UNSEEN_IN_NOTES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def typed_note(text: str) -> str:
    """A rating note as it is stored: the control characters the patient cannot see
    (:data:`_UNSEEN_IN_NOTES`) become spaces."""
    return _UNSEEN_IN_NOTES.sub(" ", text)


def ask_self_report(moment: str, parent: QWidget | None = None) -> SelfReportValues | None:
    """Show the rating dialog; None when skipped or left empty."""
    dialog = SelfReportDialog(moment, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    values = dialog.values()
    return None if values.empty else values


def save_self_report(store: Store, session_id: int, moment: str, values: SelfReportValues) -> None:
    """Store what :func:`ask_self_report` returned (StoreError on invalid input)."""
    store.add_self_report(
        session_id, moment, pain=values.pain, stress=values.stress, note=values.note
    )


class PatientDialog(QDialog):
    """Choose a patient from the store or register a new one.

    Names are hidden unless "Show names" is ticked (the screen may be seen by others).
    """

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setWindowTitle("Choose the patient")
        self.setMinimumWidth(460)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by code")
        self.show_names = QCheckBox("Show names")
        self.list = QListWidget()
        self.list.setMinimumHeight(220)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.show_names)

        self.new_code = QLineEdit()
        self.new_code.setPlaceholderText("pseudonymous code, e.g. P-017")
        self.new_name = QLineEdit()
        self.new_name.setPlaceholderText("optional")
        self.new_notes = QLineEdit()
        self.new_notes.setPlaceholderText("optional")
        self.add_button = QPushButton("Add patient")
        self.error = QLabel("")
        self.error.setStyleSheet("color: #c0392b")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Code", self.new_code)
        form.addRow("Name", self.new_name)
        form.addRow("Notes", self.new_notes)
        form.addRow("", self.add_button)
        new_box = QGroupBox("New patient")
        new_box.setLayout(form)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Choose")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.list)
        layout.addWidget(new_box)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

        self.filter.textChanged.connect(self.refresh)
        self.show_names.toggled.connect(self.refresh)
        self.add_button.clicked.connect(self.add_patient)
        self.new_code.returnPressed.connect(self.add_patient)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        self.list.currentItemChanged.connect(lambda *_: self._update_ok())
        self.refresh()

    def refresh(self) -> None:
        keep = self.selected_code()
        self.list.clear()
        text = self.filter.text().strip().lower()
        counts = self.store.session_counts()
        for p in self.store.patients():
            if text and text not in p.code.lower():
                continue
            label = p.code
            if self.show_names.isChecked() and p.name:
                label += f"  ({p.name})"
            n = counts.get(p.id, 0)
            label += f"  — {n} session{'s' if n != 1 else ''}"
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, p.code)
            self.list.addItem(item)
            if p.code == keep:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count() == 1:
            self.list.setCurrentRow(0)
        self._update_ok()

    def _update_ok(self) -> None:
        self.ok_button.setEnabled(self.selected_code() is not None)

    def selected_code(self) -> str | None:
        item = self.list.currentItem() if hasattr(self, "list") else None
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    def selected_patient(self) -> Patient | None:
        code = self.selected_code()
        return None if code is None else self.store.find_patient(code)

    def add_patient(self) -> Patient | None:
        """Register the patient typed in the form and select it; errors show in the dialog."""
        try:
            p = self.store.add_patient(
                self.new_code.text(), name=self.new_name.text(), notes=self.new_notes.text()
            )
        except BiotrainerError as exc:
            self.error.setText(str(exc))
            return None
        self.error.setText("")
        for w in (self.new_code, self.new_name, self.new_notes):
            w.clear()
        self.filter.clear()
        self.refresh()
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == p.code:
                self.list.setCurrentRow(i)
        return p


def choose_patient(store: Store, parent: QWidget | None = None) -> Patient | None:
    """Show :class:`PatientDialog`; the chosen patient, or None when cancelled."""
    dialog = PatientDialog(store, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.selected_patient()
