"""`biotrainer export`: export a recorded session (EDF+)."""

from __future__ import annotations

import argparse
import sys

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


def run(args: argparse.Namespace) -> int:
    from biotrainer.paths import shown
    from biotrainer.session.edf import export_edf
    from biotrainer.session.folder import describe_recording
    from biotrainer.session.reader import load_session

    if not str(args.edf).lower().endswith((".edf", ".edf+")):
        raise BiotrainerError(f"the EDF file name should end in .edf, not {shown(args.edf)}")
    rec = load_session(args.session_dir)
    for w in rec.warnings:
        print(f"biotrainer: note: {w}", file=sys.stderr)
    result = export_edf(rec, args.edf)
    for w in result.warnings:
        print(f"biotrainer: note: {w}", file=sys.stderr)
    print(
        f"wrote {shown(result.path)}: {len(result.signals)} signals, "
        f"{result.n_records * result.record_duration_s} s, {result.n_annotations} annotations "
        f"(session {describe_recording(rec.meta, rec.path)})"
    )
    return 0
