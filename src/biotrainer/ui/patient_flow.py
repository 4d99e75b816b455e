"""The patient store around a trainer session: who, how they feel, what it gave.

:class:`PatientFlow` is the trainer window's link to :class:`~biotrainer.session.store.Store`:
it asks for (or keeps) the patient, takes the pre- and post-session ratings, registers the
session folder, closes the session in the store and keeps the assessed resonance rate. It also
finds recorded session folders the store does not know (a crash between recording and
registering, an older version) and imports those that name a known patient.

The dialogs are the ones of :mod:`biotrainer.ui.patient_dialogs`, looked up at call time, so
tests can replace their ``exec``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtWidgets import QWidget

from biotrainer.errors import BiotrainerError, RecordingError
from biotrainer.session.folder import META_FILE, read_meta, sessions_root
from biotrainer.session.store import Patient, SessionRecord, Store, is_replay
from biotrainer.ui import patient_dialogs
from biotrainer.ui.patient_dialogs import SelfReportValues


class RatingNotSavedError(BiotrainerError):
    """The session was registered but its pre-session rating could not be saved.

    Attributes
    ----------
    record : SessionRecord
        The registered session.
    """

    def __init__(self, record: SessionRecord, reason: BiotrainerError) -> None:
        super().__init__(f"the rating could not be saved: {reason}")
        self.record = record


@dataclass(frozen=True)
class FolderScan:
    """Unregistered session folders: those that name a known patient, the others, and those
    that cannot be read (folder and reason: shown, so no recording is left out unseen)."""

    importable: tuple[Path, ...]
    without_patient: tuple[Path, ...]
    damaged: tuple[tuple[Path, str], ...] = ()

    @property
    def damaged_text(self) -> str:
        """One status-bar line about the damaged folders ("" when none)."""
        n = len(self.damaged)
        if not n:
            return ""
        folder, reason = self.damaged[0]
        many = f"{n} session folders cannot be read" if n > 1 else "A session folder cannot be read"
        return f"{many}: {folder.name}: {reason}"

    @property
    def offer_text(self) -> str:
        """The one-line offer to import the importable folders."""
        n = len(self.importable)
        return f"{n} recorded session{'s' if n != 1 else ''} not in the patient store — import"

    @property
    def offer_details(self) -> str:
        """What the importable folders are (a tooltip; the first 20 named)."""
        return (
            "Sessions recorded for a known patient but never registered (interrupted, or "
            "recorded while the store could not be written):\n"
            + "\n".join(f.name for f in self.importable[:20])
        )


@dataclass(frozen=True)
class ImportResult:
    """What :meth:`PatientFlow.import_unregistered` did.

    Attributes
    ----------
    done : int
        Folders registered.
    errors : tuple of str
        One line per folder that could not be registered.
    without_patient : int
        Unregistered folders left because they name no known patient.
    """

    done: int
    errors: tuple[str, ...] = ()
    without_patient: int = 0

    @property
    def message(self) -> str:
        """One status-bar line."""
        text = f"Imported {self.done} session{'s' if self.done != 1 else ''}"
        if self.errors:
            text += f"; {len(self.errors)} failed: {self.errors[0]}"
        if self.without_patient:
            text += (
                f"; {self.without_patient} without a patient code left (import them with "
                "'biotrainer sessions import FOLDER --patient CODE')"
            )
        return text


class PatientFlow:
    """Patient, ratings and registration for the sessions of one trainer window.

    Parameters
    ----------
    store : Store
        Open store (the caller closes it).
    parent : QWidget
        Parent of the dialogs.
    patient : Patient or str, optional
        The patient (or their code) chosen beforehand (``--patient``): no dialog then.
    """

    def __init__(self, store: Store, parent: QWidget, patient: Patient | str | None = None) -> None:
        self.store = store
        self.parent = parent
        self.patient: Patient | None = None
        if patient is not None:
            self.patient = patient if isinstance(patient, Patient) else store.patient(str(patient))

    @property
    def code(self) -> str | None:
        return self.patient.code if self.patient is not None else None

    def choose(self) -> Patient | None:
        """Ask for the patient (choose or create); keep the current one when cancelled."""
        chosen = patient_dialogs.choose_patient(self.store, self.parent)
        if chosen is not None:
            self.patient = chosen
        return chosen

    def ensure_patient(self) -> Patient | None:
        """The current patient, asking for one first if there is none (None: cancelled)."""
        if self.patient is None:
            self.choose()
        return self.patient

    def refresh(self) -> Patient | None:
        """Re-read the current patient (their resonance rate may have changed)."""
        if self.patient is not None:
            self.patient = self.store.patient(self.patient.code)
        return self.patient

    @property
    def resonance_bpm(self) -> float | None:
        """The patient's assessed resonance breathing rate (breaths/min), if any."""
        if self.patient is None or self.patient.resonance_bpm is None:
            return None
        return float(self.patient.resonance_bpm)

    def ask_rating(self, moment: str) -> SelfReportValues | None:
        """The pre/post pain and stress rating (None: skipped)."""
        return patient_dialogs.ask_self_report(moment, self.parent)

    def register(
        self,
        folder: str | Path,
        protocol: str,
        device: str,
        started_utc: datetime | None = None,
        pre: SelfReportValues | None = None,
    ) -> SessionRecord:
        """Register the session folder for the current patient and save the pre rating.

        Raises
        ------
        StoreError
        """
        if self.patient is None:
            raise BiotrainerError("no patient chosen")
        rec = self.store.add_session(
            self.patient.code, folder, protocol, device, started_utc=started_utc
        )
        if pre is not None:
            try:
                patient_dialogs.save_self_report(self.store, rec.id, "pre", pre)
            except BiotrainerError as exc:
                # the session is registered all the same: its id must not be lost
                raise RatingNotSavedError(rec, exc) from exc
        return rec

    def finish(
        self,
        session_id: int,
        post: SelfReportValues | None,
        resonance_bpm: float,
        patient_code: str | None = None,
    ) -> SessionRecord:
        """Close the session in the store (status and summary from its folder), save the post
        rating and, when the session assessed it, the patient's resonance rate (for
        ``patient_code``, by default the current patient). Doing it again after a failure
        completes what is missing.

        Raises
        ------
        StoreError
        """
        rec = self.store.finish_session(session_id)
        # (before the rating: a refused rating keeps it)
        self.keep_resonance(resonance_bpm, patient_code)
        if post is not None:
            patient_dialogs.save_self_report(self.store, session_id, "post", post)
        return rec

    def save_rating(self, session_id: int, moment: str, values: SelfReportValues) -> None:
        """Save a rating (``"pre"`` or ``"post"``) of a registered session.

        Raises
        ------
        StoreError
        """
        patient_dialogs.save_self_report(self.store, session_id, moment, values)

    def keep_resonance(self, resonance_bpm: float, patient_code: str | None = None) -> None:
        """Store an assessed resonance rate for ``patient_code`` (by default the current
        patient; NaN: nothing assessed).

        Raises
        ------
        StoreError
        """
        code = patient_code or (self.patient.code if self.patient is not None else None)
        if math.isfinite(resonance_bpm) and code:
            rec = self.store.set_resonance(code, float(resonance_bpm))
            if self.patient is not None and self.patient.code == code:
                self.patient = rec

    # -- folders the store does not know -----------------------------------------------------

    def scan_unregistered(self) -> FolderScan:
        """Unregistered session folders under the data dir, split by whether their
        ``session.json`` names a patient the store knows (``extra.patient_code``); recordings
        of a replay (:func:`~biotrainer.session.store.is_replay`), no sessions, and copies of
        a registered recording (:meth:`~biotrainer.session.store.Store.registered_copy_of`,
        which the import refuses) are left out."""
        importable, orphans, damaged = [], [], []
        for folder in self.store.unregistered_folders():
            try:
                meta = read_meta(folder)
            except RecordingError as exc:
                damaged.append((folder, str(exc)))
                continue
            if is_replay(meta) or self.store.registered_copy_of(folder, meta) is not None:
                continue
            code = meta.extra.get("patient_code")
            ok = False
            if isinstance(code, str) and code:
                try:
                    ok = self.store.find_patient(code) is not None
                except BiotrainerError:
                    ok = False
            (importable if ok else orphans).append(folder)
        damaged.extend((f, "its session.json is missing") for f in _folders_without_meta(self))
        return FolderScan(tuple(importable), tuple(orphans), tuple(damaged))

    def import_folders(self, folders: tuple[Path, ...] | list[Path]) -> tuple[int, list[str]]:
        """Register ``folders`` for the patients they name; (number imported, error lines)."""
        done, errors = 0, []
        for folder in folders:
            try:
                self.store.import_folder(folder)
                done += 1
            except BiotrainerError as exc:
                errors.append(f"{folder.name}: {exc}")
        return done, errors

    def import_unregistered(self) -> ImportResult:
        """Register every unregistered folder that names a known patient.

        Raises
        ------
        StoreError
            The data folder cannot be scanned.
        """
        scan = self.scan_unregistered()
        done, errors = self.import_folders(scan.importable)
        errors += [f"{folder.name}: {reason}" for folder, reason in scan.damaged]
        return ImportResult(done, tuple(errors), len(scan.without_patient))


def _folders_without_meta(flow: PatientFlow) -> list[Path]:
    """Folders in the sessions folder that hold a raw recording but no ``session.json``."""
    root = sessions_root(flow.store.root)
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and not (p / META_FILE).exists() and any(p.glob("raw_*.csv"))
    )
