"""The ``biotrainer`` command.

``biotrainer`` with no subcommand opens the GUI (Qt is imported only then). Each subcommand lives
in its own module under :mod:`biotrainer.commands` with two functions:
``add_parser(subparsers)`` and ``run(args) -> int``.

Every :class:`~biotrainer.errors.BiotrainerError` ends the command with one plain line on stderr
and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from biotrainer import __version__
from biotrainer.errors import BiotrainerError

#: Subcommand modules under biotrainer.commands, in the order ``--help`` lists them.
COMMANDS = (
    "gui",
    "run",
    "devices",
    "record",
    "replay",
    "export",
    "monitor",
    "patients",
    "sessions",
    "report",
)

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options that choose and connect a device (shared by gui, record...)."""
    parser.add_argument(
        "--device", default="synthetic", help="device profile name (see 'biotrainer devices')"
    )
    parser.add_argument("--serial-port", help="serial port of the device or dongle")
    parser.add_argument("--mac-address", help="Bluetooth MAC address, e.g. 00:55:DA:B3:12:34")
    parser.add_argument("--serial-number", help="device serial number or name, e.g. Muse-1234")
    parser.add_argument("--ip-address", help="IP address of a WiFi device")
    parser.add_argument("--ip-port", type=int, help="IP port of a WiFi device")
    parser.add_argument("--other-info", help="board-specific extra connection setting")
    parser.add_argument("--timeout", type=float, help="seconds to wait for the device to answer")
    parser.add_argument("--file", help="recording file for the playback device (default preset)")
    parser.add_argument("--file-aux", help="playback file of the auxiliary preset")
    parser.add_argument("--file-anc", help="playback file of the ancillary preset")
    parser.add_argument(
        "--master-board", help="for playback: the profile or board whose layout the file has"
    )
    parser.add_argument(
        "--scenario", help="simulator devices: scenario name or .toml file (see scenarios/)"
    )
    parser.add_argument("--seed", type=int, help="simulator devices: random seed (default 0)")
    parser.add_argument("--lsl-name", help="use this Lab Streaming Layer stream as the device")
    parser.add_argument("--lsl-type", help="LSL stream type to use: EEG, ECG, PPG, RESP, RR or IBI")


def add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--data-dir`` (overrides BIOTRAINER_DATA and the platform default)."""
    parser.add_argument(
        "--data-dir", help="session store (default: $BIOTRAINER_DATA or the user data dir)"
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the full argument parser."""
    parser = argparse.ArgumentParser(
        prog="biotrainer",
        description="Neurofeedback and biofeedback relaxation trainer. "
        "Not a medical device: it does not diagnose or treat.",
    )
    parser.add_argument("--version", action="version", version=f"biotrainer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = {}
    for name in COMMANDS:
        module = importlib.import_module(f"biotrainer.commands.{name}")
        module.add_parser(sub)
        modules[name] = module
    parser.set_defaults(_modules=modules)
    # `biotrainer` alone (or with only GUI options) opens the GUI.
    add_device_arguments(parser)
    add_data_dir_argument(parser)
    modules["gui"].add_trainer_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``biotrainer`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    name = args.command or "gui"
    try:
        return int(args._modules[name].run(args) or 0)
    except BiotrainerError as exc:
        print(f"biotrainer: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("biotrainer: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
