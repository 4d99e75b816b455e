"""Building the source a command runs on, from its options (shared by ``run`` and ``gui``).

One place decides between a recording (``--replay``), an LSL stream (``--lsl-name`` /
``--lsl-type``), a simulator served faster than real time (``--speed``) and a device profile
(``--device`` with its connection options).
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable

from biotrainer.acquisition.source import Source
from biotrainer.clock import Clock
from biotrainer.errors import BiotrainerError, DeviceError, RecordingError
from biotrainer.limits import MIN_SPEED


def parse_speed(text: str | None, allow_max: bool = False) -> float:
    """``--speed`` as a positive number (``inf`` for ``max`` when allowed).

    Parameters
    ----------
    text : str or None
        The option's text; None (left out) means 1, an empty one is refused (an empty shell
        variable ran a session at real time instead of fast). Only plain ASCII numbers are taken
        (:func:`~biotrainer.cli.ascii_float`), from :data:`~biotrainer.limits.MIN_SPEED` up.
    allow_max : bool
        Whether ``max`` (as fast as the clock allows) is accepted.

    Raises
    ------
    BiotrainerError
        With a one-line message naming the option and the value.
    """
    from biotrainer.cli import ascii_float, shown_arg

    if text is not None and not str(text).strip():
        raise BiotrainerError("--speed is empty: give a value or leave it out")
    text = "1" if text is None else str(text)
    if allow_max and text == "max":
        return math.inf
    try:
        v = ascii_float(text)
    except ValueError:
        v = math.nan
    if not (v > 0 and math.isfinite(v)):
        extra = " or 'max'" if allow_max else ""
        raise BiotrainerError(f"--speed must be a positive number{extra}, not {shown_arg(text)}")
    if v < MIN_SPEED:
        raise BiotrainerError(
            f"--speed {shown_arg(text)} is too slow: give at least {MIN_SPEED:g} (times real time)"
        )
    return v


def source_factory(
    args: argparse.Namespace, clock: Clock, speed: float = 1.0
) -> Callable[[], Source]:
    """Check the options now and return a function that opens a fresh (unprepared) source.

    ``speed`` > 1 (or ``inf``: as fast as ``clock`` advances) works with recordings and
    simulator devices only.
    """
    from biotrainer.acquisition.factory import (
        accelerable_profile,
        connection_from_args,
        open_accelerated,
        open_source,
        source_options_from_args,
    )
    from biotrainer.acquisition.profiles import load_profile

    source_speed = 1.0 if math.isinf(speed) else speed
    replay = getattr(args, "replay", None)
    lsl_name, lsl_type = getattr(args, "lsl_name", None), getattr(args, "lsl_type", None)
    device = getattr(args, "device", None) or "synthetic"
    options = source_options_from_args(args)

    if replay is not None:
        from biotrainer.cli import device_options_given
        from biotrainer.session.replay import open_replay

        given = device_options_given(args)
        if given:
            raise DeviceError(
                f"--replay plays a recording: {', '.join(given)} would be ignored; leave "
                f"{'it' if len(given) == 1 else 'them'} out"
            )
        _check_replay_rates(replay)

        # 'max' serves the file on the simulated clock: BrainFlow's playback board (chosen at
        # speed 1) runs in real time whatever the clock, which made 'max' slower than real time
        board = False if math.isinf(speed) else None
        return lambda: open_replay(replay, speed=source_speed, clock=clock, playback_board=board)
    if lsl_name is not None or lsl_type is not None:
        _refuse_device_options(
            args, "an LSL stream (--lsl-name/--lsl-type)", ("--lsl-name", "--lsl-type", "--timeout")
        )
        if speed != 1.0:
            raise DeviceError(
                "an LSL stream is live: --speed cannot be used with --lsl-name/--lsl-type"
            )
        from biotrainer.acquisition.lsl_source import open_lsl_source

        timeout = getattr(args, "timeout", None)
        wait = {} if timeout is None else {"resolve_timeout": float(timeout)}
        return lambda: open_lsl_source(lsl_name, lsl_type, clock, **wait)
    profile = load_profile(device)  # unknown or malformed: said before any window opens
    if profile.simulator is not None:
        _refuse_device_options(
            args,
            f"the {profile.name} device (a rendered scenario)",
            ("--device", "--scenario", "--seed", "--timeout"),
        )
    if speed != 1.0:
        # say so now, not when the session starts (a playback refusal names the file given)
        accelerable_profile(device, connection_from_args(args))
        return lambda: open_accelerated(device, clock, source_speed, **options)
    return lambda: open_source(device, connection_from_args(args), clock, **options)


def _refuse_device_options(args: argparse.Namespace, what: str, takes: tuple[str, ...]) -> None:
    """Refuse the device options (:func:`~biotrainer.cli.device_options_given`) that ``what``
    would silently ignore: every one given but ``takes``.

    Raises
    ------
    DeviceError
        Naming the first such option.
    """
    from biotrainer.cli import device_options_given

    given = [o for o in device_options_given(args) if o not in takes]
    if given:
        raise DeviceError(f"{given[0]} does not apply to {what}: leave it out")


def _check_replay_rates(session_dir: str) -> None:
    """Refuse a recording whose signals biotrainer cannot process (EEG below 32 Hz...:
    :func:`~biotrainer.limits.layout_rate_problem`), before a session is made of it.

    Raises
    ------
    RecordingError
        Naming the recording's ``session.json``, the role, its rate and the bound.
    """
    from biotrainer.limits import layout_rate_problem
    from biotrainer.session.folder import META_FILE, read_meta

    problem = layout_rate_problem(read_meta(session_dir).layout)
    if problem is not None:
        path = os.path.join(os.fspath(session_dir), META_FILE)
        raise RecordingError(f"the recording {path} cannot be replayed into a session: {problem}")
