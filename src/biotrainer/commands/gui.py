"""`biotrainer gui` (also what `biotrainer` alone runs): the live signal window.

Qt is imported only inside :func:`run`, so parsing arguments and the other commands stay
headless.
"""

from __future__ import annotations

import argparse

from biotrainer.cli import add_data_dir_argument, add_device_arguments


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gui",
        help="open the live signal window (the default when no command is given)",
        description="Open the live signal window on a device (BrainFlow's synthetic board "
        "by default).",
    )
    add_device_arguments(parser)
    add_data_dir_argument(parser)


def run(args: argparse.Namespace) -> int:
    from biotrainer.acquisition.factory import connection_from_args, open_source
    from biotrainer.ui.app import run_main_window  # Qt is loaded here, and only here

    device = getattr(args, "device", None) or "synthetic"

    def make_source():
        return open_source(device=device, connection=connection_from_args(args))

    return run_main_window(make_source)
