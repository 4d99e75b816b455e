"""`biotrainer gui` (placeholder: not implemented yet)."""

from __future__ import annotations

import argparse

from biotrainer.errors import BiotrainerError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    subparsers.add_parser("gui", help="gui (not implemented yet)")


def run(args: argparse.Namespace) -> int:
    raise BiotrainerError("'gui' is not implemented yet")
