"""`biotrainer export`: export a recorded session (EDF+)."""

from __future__ import annotations

import argparse
import sys

from biotrainer.cli import add_data_dir_argument
from biotrainer.errors import BiotrainerError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a recorded session to EDF+",
        description="Export a session folder to EDF+ (channel labels, physical units, events "
        "as annotations).",
    )
    p.add_argument("session_dir", metavar="SESSION_DIR", help="a session folder")
    p.add_argument("--edf", metavar="OUT.edf", required=True, help="the EDF+ file to write")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --edf file (never one in the data folder or a session "
        "folder); without it an existing file is refused",
    )
    add_data_dir_argument(p)


def run(args: argparse.Namespace) -> int:
    from biotrainer.commands.record import interrupted_by_signals

    # SIGTERM and SIGHUP end the export as Ctrl+C does: the temporary file is removed
    with interrupted_by_signals():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from biotrainer.paths import check_cli_export, shown
    from biotrainer.session.edf import export_edf
    from biotrainer.session.folder import describe_recording
    from biotrainer.session.reader import load_session

    if not str(args.edf).lower().endswith((".edf", ".edf+")):
        raise BiotrainerError(f"the EDF file name should end in .edf, not {shown(args.edf)}")
    out = check_cli_export(args.edf, args.data_dir, "--edf", overwrite=args.overwrite)
    rec = load_session(args.session_dir)
    for w in rec.warnings:
        print(f"biotrainer: note: {w}", file=sys.stderr)
    result = export_edf(rec, out)
    for w in result.warnings:
        print(f"biotrainer: note: {w}", file=sys.stderr)
    print(
        f"wrote {shown(result.path)}: {len(result.signals)} signals, "
        f"{result.n_records * result.record_duration_s} s, {result.n_annotations} annotations "
        f"(session {describe_recording(rec.meta, rec.path)})"
    )
    return 0
