"""`biotrainer record` (placeholder: not implemented yet)."""

from __future__ import annotations

import argparse

from biotrainer.errors import BiotrainerError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    subparsers.add_parser("record", help="record (not implemented yet)")


def run(args: argparse.Namespace) -> int:
    raise BiotrainerError("'record' is not implemented yet")
