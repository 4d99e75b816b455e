"""`biotrainer patients`: list and register patients in the local store."""

from __future__ import annotations

import argparse

from biotrainer.cli import add_data_dir_argument, number_option


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
        print(f"{'code':16s} {'sessions':>8s} {'resonance':>10s}  {'added':10s}  notes")
        for p in patients:
            label = p.code + (f" ({p.name})" if show_name and p.name else "")
            notes = p.notes.replace("\n", " ")
            if not show_name:
                notes = mask_name(notes, p.name)  # (the name is shown with --with-name only)
            notes = notes if len(notes) <= 40 else notes[:39] + "…"
            print(
                f"{label:16s} {counts.get(p.id, 0):8d} {num(p.resonance_bpm, 1):>10s}  "
                f"{local_date(p.created_utc):10s}  {notes}"
            )
    return 0
