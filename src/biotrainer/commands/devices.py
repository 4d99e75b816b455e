"""`biotrainer devices` (placeholder: not implemented yet)."""

from __future__ import annotations

import argparse

from biotrainer.errors import BiotrainerError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    subparsers.add_parser("devices", help="devices (not implemented yet)")


def run(args: argparse.Namespace) -> int:
    raise BiotrainerError("'devices' is not implemented yet")
