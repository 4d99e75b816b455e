"""`biotrainer report`: session and progress PDFs, and the metric time series as CSV.

Qt is imported only here, inside :func:`run`, and runs offscreen (no display needed).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from biotrainer.cli import add_data_dir_argument, session_id_option
from biotrainer.errors import BiotrainerError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="PDF report of a session or of a patient's progress; CSV of a session's metrics",
        description="Write a session report (biotrainer report SESSION_ID) or a progress report "
        "across sessions (biotrainer report --patient CODE) as PDF. Reports are de-identified "
        "(patient code only) unless --with-name is given.",
    )
    p.add_argument(
        "session_id",
        nargs="?",
        metavar="SESSION_ID",
        type=session_id_option,
        help="see 'biotrainer sessions'",
    )
    p.add_argument("--patient", metavar="CODE", help="progress report of this patient")
    p.add_argument("--out", metavar="FILE.pdf", help="the PDF to write (default: in this folder)")
    p.add_argument(
        "--csv",
        metavar="OUT.csv",
        help="write the session's metric time series as CSV (no PDF unless --out is also given)",
    )
    p.add_argument("--with-name", action="store_true", help="show the patient's name")
    add_data_dir_argument(p)


def run(args: argparse.Namespace) -> int:
    from biotrainer.session.store import Store

    if (args.session_id is None) == (args.patient is None):
        raise BiotrainerError(
            "give either a SESSION_ID or --patient CODE (see 'biotrainer sessions')"
        )
    if args.patient is not None and args.csv:
        raise BiotrainerError("--csv exports one session: give a SESSION_ID instead of --patient")
    if args.out is not None and not str(args.out).strip():
        raise BiotrainerError("--out is empty: give the PDF file to write, or leave the option out")
    if args.out is not None and not str(args.out).lower().endswith(".pdf"):
        raise BiotrainerError(f"the report file name should end in .pdf, not {args.out}")
    if args.csv is not None:
        check_csv_target(args.csv, args.data_dir)
        if args.with_name and args.out is None:
            raise BiotrainerError(
                "--with-name applies to the PDF report (--out): the CSV holds the metrics only, "
                "never a name"
            )
    with Store.open_to_read(args.data_dir) as store:
        if args.patient is not None:
            from biotrainer.reports.progress import build_progress_report

            report = build_progress_report(store, args.patient, with_name=args.with_name)
            out = Path(args.out or f"biotrainer-progress-{_safe(report.patient_code)}.pdf")
            from biotrainer.ui.report_pdf import write_progress_pdf

            print(write_progress_pdf(report, out, warn=_note))
            return 0
        from biotrainer.reports.session_report import build_session_report

        report = build_session_report(store, args.session_id, with_name=args.with_name)
    if args.csv is not None:
        from biotrainer.reports.csv_export import export_metrics_csv

        if report.series is None:
            raise BiotrainerError(
                f"session {report.session.id} has no readable metrics to export: "
                + "; ".join(report.warnings)
            )
        n = export_metrics_csv(report.session.folder, args.csv, report.series)
        print(f"{args.csv}: {n} rows")
        if args.out is None:
            return 0
    from biotrainer.ui.report_pdf import write_session_pdf

    out = Path(args.out or f"biotrainer-session-{report.session.id}.pdf")
    print(write_session_pdf(report, out, warn=_note))
    return 0


def _note(text: str) -> None:
    import sys

    print(f"biotrainer: note: {text}", file=sys.stderr)


def check_csv_target(csv: str, data_directory: str | None) -> Path:
    """Refuse a ``--csv`` file that could overwrite anything: the CSV export makes a new file.

    Parameters
    ----------
    csv : str
        The ``--csv`` argument.
    data_directory : str or None
        ``--data-dir`` (the data folder, where recordings and the database live).

    Returns
    -------
    Path
        The file to write.

    Raises
    ------
    BiotrainerError
        If the name is empty or does not end in .csv, the file exists, or it lies inside the
        data folder (recordings and the database must not be overwritten or mixed with exports),
        or its path is too long for the system.
    """
    from biotrainer.paths import check_export_target, check_path_length

    if not str(csv).strip():
        raise BiotrainerError("--csv is empty: give the name of a new .csv file to write")
    path = Path(csv).expanduser()
    if path.suffix.lower() != ".csv":
        raise BiotrainerError(f"the metrics file name should end in .csv, not {csv}")
    check_path_length(path, "--csv")
    if path.is_dir():
        raise BiotrainerError(f"--csv {path} is a folder, not a file: give a new .csv file")
    if path.exists() or path.is_symlink():
        raise BiotrainerError(
            f"{path} already exists: give a new .csv file name (an existing file is never "
            "overwritten)"
        )
    return check_export_target(path, data_directory)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)
