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
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --out or --csv file (never one in the data folder or a "
        "session folder); without it an existing file is refused",
    )
    add_data_dir_argument(p)


def run(args: argparse.Namespace) -> int:
    from biotrainer.commands.record import interrupted_by_signals

    # SIGTERM and SIGHUP end the command as Ctrl+C does: the temporary file is removed
    with interrupted_by_signals():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
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
    if args.out is not None:
        check_pdf_target(args.out, args)
    if args.csv is not None:
        csv_out = check_csv_target(args.csv, args.data_dir, overwrite=args.overwrite)
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
            out = check_pdf_target(out, args)
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
        n = export_metrics_csv(report.session.folder, csv_out, report.series)
        print(f"{args.csv}: {n} rows")
        for warning in report.series.warnings:  # (rows skipped: a gap in the CSV)
            _note(f"{warning}, so not in {args.csv}")
        if args.out is None:
            return 0
    from biotrainer.ui.report_pdf import write_session_pdf

    out = check_pdf_target(args.out or f"biotrainer-session-{report.session.id}.pdf", args)
    print(write_session_pdf(report, out, warn=_note))
    return 0


def check_pdf_target(out: str | Path, args: argparse.Namespace) -> Path:
    """Refuse a PDF report file (``--out``, or the default name) that may not be written: see
    :func:`biotrainer.paths.check_cli_export` (as ``--csv``: never a file in the data folder or
    a session folder, an existing one only with ``--overwrite``).

    Raises
    ------
    BiotrainerError
        Naming the file and why.
    """
    from biotrainer.paths import check_cli_export

    return check_cli_export(out, args.data_dir, "--out", overwrite=args.overwrite)


def _note(text: str) -> None:
    import sys

    print(f"biotrainer: note: {text}", file=sys.stderr)


def check_csv_target(csv: str, data_directory: str | None, *, overwrite: bool = False) -> Path:
    """Refuse a ``--csv`` file that could overwrite anything but an earlier export.

    Parameters
    ----------
    csv : str
        The ``--csv`` argument.
    data_directory : str or None
        ``--data-dir`` (the data folder, where recordings and the database live).
    overwrite : bool
        ``--overwrite``: an existing file outside the data folder may be replaced.

    Returns
    -------
    Path
        The file to write.

    Raises
    ------
    BiotrainerError
        If the name is empty or does not end in .csv, it is not a file an export may write (a
        folder, a pipe, a device, a link to one or to nothing), the file exists (unless
        ``overwrite``), or it lies inside the data folder or a session folder (recordings and
        the database must not be overwritten or mixed with exports), or its path is too long
        for the system (:func:`biotrainer.paths.check_cli_export`).
    """
    from biotrainer.paths import check_cli_export

    if not str(csv).strip():
        raise BiotrainerError("--csv is empty: give the name of a new .csv file to write")
    path = Path(csv).expanduser()
    if path.suffix.lower() != ".csv":
        raise BiotrainerError(f"the metrics file name should end in .csv, not {csv}")
    return check_cli_export(path, data_directory, "--csv", overwrite=overwrite)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)
