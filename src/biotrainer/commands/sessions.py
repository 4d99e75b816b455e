"""`biotrainer sessions`: list registered sessions, register folders, add ratings.

A session's figures in the list are the means of its training (or paced breathing): one over
less than half of that time (:meth:`~biotrainer.session.analysis.MetricMeans.thin`) is followed
by "*", explained once under the list (:data:`THIN_LIST_NOTE`).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from biotrainer.cli import add_data_dir_argument, int_option, session_id_option

if TYPE_CHECKING:  # (the list's modules are read when it runs: other commands start faster)
    from biotrainer.session.analysis import MetricMeans

#: What the session list says under it when a figure in it is marked thin: its figures are the
#: means of each session's training or paced breathing, not of one phase (see
#: :func:`biotrainer.reports.progress.practice_means`).
THIN_LIST_NOTE = (
    "* mean over less than half of the session's training (or paced breathing): no value for "
    "the rest (signal unclean or lost, or heart beats too irregular)"
)

#: Said under the list when a session's z is left blank for its scale.
OLD_SCALE_LIST_NOTE = (
    "z blank (–) for a session before 2026-11-29 that fed back coherence or the EEG relaxation "
    "index: scored on another scale, it does not compare"
)

#: The means of :class:`~biotrainer.session.analysis.MetricMeans` the list shows that keep the
#: share of their updates they rest on (its "target": the clean share of training).
LIST_MEANS = ("z", "time_in_target", "rmssd_ms")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sessions",
        help="list sessions (the first column is the id 'report' takes)",
        description="List the sessions of the local store, oldest first. Each row starts with "
        "the session id that 'biotrainer report' takes.",
    )
    p.add_argument("--patient", metavar="CODE", help="only this patient's sessions")
    add_data_dir_argument(p)
    sub = p.add_subparsers(dest="sessions_action", metavar="ACTION")
    i = sub.add_parser(
        "import",
        help="register session folders found on disk (also interrupted ones)",
        description="Register session folders for a patient (or refresh them if registered). "
        "A folder whose session.json says it was recorded for another patient is refused: "
        "import it with that patient's code. A recording is registered once: a copy of a "
        "registered one is refused, and one moved from its registered folder (gone) is "
        "pointed to in its new folder, its session kept.",
    )
    i.add_argument("folders", nargs="+", metavar="SESSION_DIR")
    i.add_argument("--patient", dest="import_patient", metavar="CODE", required=True)
    add_data_dir_argument(i)
    r = sub.add_parser(
        "rate",
        help="save a pain/stress self-report (0-10) for a session",
        description="Save the rating given before (pre) or after (post) a session. Only what "
        "is given changes: a stored pain or stress value (or note) not given again is kept.",
    )
    r.add_argument("session_id", metavar="SESSION_ID", type=session_id_option)
    r.add_argument("moment", choices=("pre", "post"))
    r.add_argument("--pain", type=int_option("--pain", 0, 10), help="pain 0-10")
    r.add_argument("--stress", type=int_option("--stress", 0, 10), help="stress 0-10")
    r.add_argument("--note", help="free-text note (replaces the stored one)")
    add_data_dir_argument(r)


def run(args: argparse.Namespace) -> int:
    import functools
    import sys

    from biotrainer.paths import shown
    from biotrainer.reports.format import local_time, num, pct, signed
    from biotrainer.reports.progress import blanks_z, practice_means
    from biotrainer.reports.session_report import installed_protocol
    from biotrainer.session.store import Store

    # Lists and reports also read a data folder that cannot be written.
    action = getattr(args, "sessions_action", None)
    opener = Store.open if action in ("import", "rate") else Store.open_to_read
    with opener(args.data_dir) as store:
        if action == "import":
            for folder in args.folders:
                rec = store.import_folder(
                    folder,
                    args.import_patient,
                    say=lambda line: print(f"biotrainer: note: {line}", file=sys.stderr),
                )
                print(f"{rec.id}\t{rec.outcome}\t{rec.folder}")
            return 0
        if action == "rate":
            print(_rate(store, args))
            return 0
        sessions = store.sessions(args.patient)
        if not sessions:
            # (naming the folder: a BIOTRAINER_DATA or --data-dir pointing elsewhere shows)
            whose = f" for patient {args.patient}" if args.patient else ""
            print(f"no sessions registered{whose} in {shown(store.root)}", file=sys.stderr)
            return 0
        # The patient column fits the longest code: codes differ often only at the end.
        width = max(12, *(len(rec.patient_code) for rec in sessions))
        print(
            f"{'id':>4s}  {'patient':{width}s} {'started':21s}  {'protocol':24s} {'status':13s} "
            f"{'min':>5s} {'z':>5s} {'target':>6s} {'RMSSD':>5s}  pain  stress"
        )
        installed = functools.cache(installed_protocol)  # (read once per protocol)
        marked = blanked = False
        for rec in sessions:
            m = practice_means(rec, installed)  # (none for a session ended in its baseline)
            z = m.z if m else None
            if blanks_z(rec, m, installed):
                z, blanked = None, True
            reports = store.self_reports(rec.id)
            pre, post = reports.get("pre"), reports.get("post")

            def delta(field: str, pre=pre, post=post) -> str:
                a = getattr(pre, field) if pre else None
                b = getattr(post, field) if post else None
                return "-" if a is None or b is None else signed(b - a, 0)

            print(
                f"{rec.id:4d}  {rec.patient_code:{width}s} {local_time(rec.started_utc):21s}  "
                f"{rec.protocol[:24]:24s} {rec.outcome:13s} {num(rec.duration_s / 60, 1):>5s} "
                f"{signed(z):>5s}{_mark(m, 'z') if z is not None else ' '}"
                f"{pct(m.time_in_target if m else None):>6s}{_mark(m, 'time_in_target')}"
                f"{num(m.rmssd_ms if m else None, 1):>5s}{_mark(m, 'rmssd_ms')} "
                f"{delta('pain'):>4s}  {delta('stress'):>6s}"
            )
            marked = marked or any(_mark(m, f) == "*" for f in LIST_MEANS)
        if marked:
            print(THIN_LIST_NOTE)
        if blanked:
            print(OLD_SCALE_LIST_NOTE)
    return 0


def _mark(m: MetricMeans | None, field: str) -> str:
    """What follows a session's mean ``field`` in the list: "*" when it rests on a thin share of
    its updates (:meth:`~biotrainer.session.analysis.MetricMeans.thin`), else a space (the "*"
    takes the space's place, so the columns stay where an unmarked list has them)."""
    return "*" if m is not None and m.thin(field) else " "


def _rate(store, args: argparse.Namespace) -> str:
    """Save a self-report, keeping the stored values the command line does not give.

    Returns
    -------
    str
        What is now stored, e.g. ``session 3 pre: pain 4, stress 6 (stress kept)``.
    """
    from biotrainer.errors import BiotrainerError

    given = {"pain": args.pain, "stress": args.stress, "note": args.note}
    if all(v is None for v in given.values()):
        raise BiotrainerError("nothing to save: give --pain, --stress and/or --note")
    rep, kept = store.amend_self_report(
        args.session_id, args.moment, pain=args.pain, stress=args.stress, note=args.note
    )

    def shown(v: int | None) -> str:
        return "not rated" if v is None else str(v)

    line = (
        f"session {rep.session_id} {rep.moment}: pain {shown(rep.pain)}, stress {shown(rep.stress)}"
    )
    if rep.note:
        line += ", with a note"
    return line + (f" ({' and '.join(kept)} kept)" if kept else "")
