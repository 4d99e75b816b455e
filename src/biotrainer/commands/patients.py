"""`biotrainer patients`: list and register patients in the local store."""

from __future__ import annotations

import argparse
import unicodedata

from biotrainer.cli import add_data_dir_argument, number_option

#: At most this many terminal columns of a name (``--with-name``) or of notes are shown.
NAME_COLUMNS = 40
NOTES_COLUMNS = 40


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "patients",
        help="list or add patients",
        description="List the patients of the local store, or add one. Patients are known by a "
        "pseudonymous code; the name is optional and never printed in reports unless asked.",
    )
    add_data_dir_argument(p)
    p.add_argument(
        "--with-name", action="store_true", help="show names in the list (hidden by default)"
    )
    sub = p.add_subparsers(dest="patients_action", metavar="ACTION")
    a = sub.add_parser("add", help="add a patient", description="Add a patient.")
    a.add_argument(
        "code",
        metavar="CODE",
        help="pseudonymous patient code, e.g. P-017: letters A-Z, digits 0-9, single spaces, "
        "'_', '.' and '-' (a code that reads like another patient's is refused)",
    )
    a.add_argument("--name", help="the patient's name (optional)")
    a.add_argument("--notes", default="", help="free-text notes")
    add_data_dir_argument(a)
    r = sub.add_parser(
        "resonance",
        help="set a patient's resonance breathing rate",
        description="Store the resonance breathing rate found by an assessment.",
    )
    r.add_argument("code", metavar="CODE")
    r.add_argument("bpm", metavar="BPM", type=number_option("BPM"), help="breaths per minute")
    add_data_dir_argument(r)


def run(args: argparse.Namespace) -> int:
    from biotrainer.paths import shown
    from biotrainer.reports.format import local_date, mask_name, num
    from biotrainer.session.store import Store

    # Lists and reports also read a data folder that cannot be written.
    action = getattr(args, "patients_action", None)
    opener = Store.open if action in ("add", "resonance") else Store.open_to_read
    with opener(args.data_dir) as store:
        if action == "add":
            p = store.add_patient(args.code, name=args.name, notes=args.notes)
            print(f"added patient {p.code}")
            return 0
        if action == "resonance":
            p = store.set_resonance(args.code, args.bpm)
            print(f"{p.code}: resonance breathing rate {p.resonance_bpm:g} breaths/min")
            return 0
        patients = store.patients()
        if not patients:
            print(
                f"no patients yet in {shown(store.root)}: add one with "
                "'biotrainer patients add CODE'"
            )
            return 0
        counts = store.session_counts()
        show_name = getattr(args, "with_name", False)
        labels = []
        for p in patients:
            name = _cut(_one_line(p.name or ""), NAME_COLUMNS) if show_name else ""
            labels.append(_one_line(p.code) + (f" ({name})" if name else ""))
        # (as wide as the widest code or name, in terminal columns: a Chinese character takes 2)
        width = max(16, *(display_width(label) for label in labels))
        print(f"{_pad('code', width)} {'sessions':>8s} {'resonance':>10s}  {'added':10s}  notes")
        for p, label in zip(patients, labels, strict=True):
            notes = _one_line(p.notes)
            if not show_name:
                notes = mask_name(notes, p.name)  # (the name is shown with --with-name only)
            print(
                f"{_pad(label, width)} {counts.get(p.id, 0):8d} {num(p.resonance_bpm, 1):>10s}  "
                f"{local_date(p.created_utc):10s}  {_cut(notes, NOTES_COLUMNS)}"
            )
    return 0


def char_width(c: str) -> int:
    """Terminal columns of one character: 2 for wide ones (CJK...), 0 for combining marks and
    invisible format characters, else 1."""
    if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes (:func:`char_width`)."""
    return sum(char_width(c) for c in text)


def _one_line(text: str) -> str:
    """``text`` with its line breaks and tabs (which the store keeps) as single spaces."""
    return " ".join(text.split()) if any(c in text for c in "\n\r\t") else text


def _pad(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` terminal columns."""
    return text + " " * max(0, width - display_width(text))


def _cut(text: str, columns: int) -> str:
    """``text`` if it takes at most ``columns`` terminal columns, else its start and "…"."""
    if display_width(text) <= columns:
        return text
    out, used = [], 0
    for c in text:
        w = char_width(c)
        if used + w > columns - 1:
            break
        out.append(c)
        used += w
    return "".join(out).rstrip() + "…"
