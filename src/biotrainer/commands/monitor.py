"""`biotrainer monitor`: the clinic window watching every biotrainer station on the network.

It discovers the LSL metrics streams that sessions started with ``--lsl`` publish
(``biotrainer-metrics-<station>``, type ``Metrics``) and shows each station's patient code,
phase, feedback score, HR/RMSSD and signal quality, flagging lost signals and vanished stations.
Qt is imported only inside :func:`run`.
"""

from __future__ import annotations

import argparse

from biotrainer.cli import add_data_dir_argument, number_option

#: Longest ``--stream-lost-after`` / ``--signal-lost-after`` (s): an hour. A station silent
#: for longer than that is long lost; a larger threshold would never flag it.
MAX_LOST_AFTER_S = 3600.0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "monitor",
        help="clinic monitor: watch every biotrainer station streaming on the network (LSL)",
        description="Open the clinic monitor: one tile per biotrainer station found on the local "
        "network (sessions started with --lsl). Read-only; LSL is unauthenticated, so only "
        "pseudonymous patient codes are ever sent.",
    )
    p.add_argument(
        "--stream-lost-after",
        type=number_option("--stream-lost-after"),
        default=5.0,
        metavar="S",
        help="flag a station whose stream sent nothing for S seconds (default 5, at most 3600)",
    )
    p.add_argument(
        "--signal-lost-after",
        type=number_option("--signal-lost-after"),
        default=5.0,
        metavar="S",
        help="flag a station whose signal quality has been bad for S seconds (default 5, at most "
        "3600)",
    )
    add_data_dir_argument(p)  # (the monitor keeps no data: only its error log goes there)


def run(args: argparse.Namespace) -> int:
    from biotrainer.errors import BiotrainerError

    for name in ("stream_lost_after", "signal_lost_after"):
        v = getattr(args, name, 5.0)
        if not 0 < v <= MAX_LOST_AFTER_S:  # (also refuses NaN and 1e309, read as infinity)
            raise BiotrainerError(
                f"--{name.replace('_', '-')} must be a positive number of seconds, at most "
                f"{MAX_LOST_AFTER_S:g}, not {v:g}"
            )
    from biotrainer.ui.monitor import run_monitor  # Qt is loaded here, and only here

    return run_monitor(
        stream_lost_after_s=args.stream_lost_after,
        signal_lost_after_s=args.signal_lost_after,
        data_directory=getattr(args, "data_dir", None),
    )
