"""`biotrainer export` (placeholder: not implemented yet)."""

from __future__ import annotations

import argparse

from biotrainer.errors import BiotrainerError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    subparsers.add_parser("export", help="export (not implemented yet)")


def run(args: argparse.Namespace) -> int:
    raise BiotrainerError("'export' is not implemented yet")
