"""`biotrainer gui` (also what `biotrainer` alone runs): the trainer window.

The trainer opens on a protocol (``--protocol``; by default alpha up-training when the device
has EEG, resonance breathing when it only has a heart signal). ``--speed`` serves a simulator
device or a recording (``--replay``) faster than real time; ``--signals`` opens the plain live
signal window instead (no protocol, no recording).

Sessions are registered in the local patient store: the trainer asks for the patient before the
first session unless ``--patient CODE`` names one (``--no-patient`` runs unregistered sessions,
for demonstrations). A replay (``--replay``) is no new session of a patient: it runs without the
store (no patient asked for, nothing registered, no resonance rate stored), and ``--patient``
is refused with it (``sessions import`` registers a recording). ``--lsl STATION`` ticks "Stream
to LSL" (off by default: LSL is unauthenticated and discoverable on the local network; the streams
carry the patient code only).
With a live device the signal check starts as soon as the window opens.

Qt is imported only inside :func:`run`, so parsing arguments and the other commands stay
headless.
"""

from __future__ import annotations

import argparse
import sys

from biotrainer.cli import add_data_dir_argument, add_device_arguments, text_option
from biotrainer.commands.sources import parse_speed, source_factory
from biotrainer.errors import BiotrainerError

#: Default protocols by what the device measures.
EEG_DEFAULT = "alpha-uptraining"
HEART_DEFAULT = "hrv-resonance-breathing"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gui",
        help="open the trainer window (the default when no command is given)",
        description="Open the trainer: therapist dashboard and patient view, on a device "
        "(BrainFlow's synthetic board by default). Every session is recorded.",
    )
    add_device_arguments(parser)
    add_data_dir_argument(parser)
    add_trainer_arguments(parser)


def add_trainer_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the trainer (``--protocol``, ``--replay``, ``--speed``, ``--signals``,
    ``--patient``, ``--no-patient``, ``--traces``, ``--lsl``)."""
    parser.add_argument(
        "--protocol",
        type=text_option("--protocol"),
        help=f"protocol name or .toml file (default: {EEG_DEFAULT} with EEG, "
        f"{HEART_DEFAULT} with only ECG/PPG)",
    )
    parser.add_argument(
        "--replay",
        metavar="SESSION_DIR",
        type=text_option("--replay"),
        help="use a recorded session as the source",
    )
    parser.add_argument(
        "--speed",
        default="1",
        help="times real time, for simulator devices and --replay (default 1)",
    )
    parser.add_argument(
        "--signals",
        action="store_true",
        help="open the plain live signal window (no protocol, no recording)",
    )
    who = parser.add_mutually_exclusive_group()
    who.add_argument(
        "--patient",
        metavar="CODE",
        type=text_option("--patient"),
        help="the patient's code in the local store (no patient dialog)",
    )
    who.add_argument(
        "--no-patient",
        action="store_true",
        help="do not ask for a patient: sessions are recorded but not registered (demos)",
    )
    parser.add_argument(
        "--traces",
        choices=("sweep", "scroll"),
        help="signal panels: sweep (a cursor writes over a still picture, like a bedside "
        "monitor) or scroll (newest sample at the right edge); default: the trainer's last "
        "choice in its View menu, sweep at first",
    )
    parser.add_argument(
        "--lsl",
        metavar="STATION",
        type=text_option("--lsl"),
        help="stream signals and metrics on Lab Streaming Layer as this station (off by "
        "default; unauthenticated and visible on the local network; patient code only)",
    )


def default_protocol(roles: tuple[str, ...] | list[str]) -> str:
    """The protocol to open when none was asked for, from the roles a device delivers."""
    if "eeg" in roles:
        return EEG_DEFAULT
    if "ecg" in roles or "ppg" in roles:
        return HEART_DEFAULT
    raise BiotrainerError(
        "this device has neither EEG nor a heart signal (ECG/PPG): no protocol can use it"
    )


def _roles(args: argparse.Namespace, make_source) -> tuple[str, ...]:
    replay = getattr(args, "replay", None)
    if replay:
        from biotrainer.session.folder import read_meta

        return read_meta(replay).layout.roles
    from biotrainer.acquisition.profiles import load_profile

    try:
        return load_profile(getattr(args, "device", None) or "synthetic").layout().roles
    except BiotrainerError:
        # e.g. the playback profile, whose layout depends on its connection
        return make_source().layout.roles


def session_sources(args: argparse.Namespace, clock, speed: float = 1.0):
    """What the windows call to open their source (once per signal check or session).

    A live device comes wrapped in a
    :class:`~biotrainer.acquisition.reconnect.ReconnectingSource` that re-opens it after a drop
    on a thread of its own, so the window keeps painting "signal lost" meanwhile.

    Raises
    ------
    BiotrainerError
        Unknown device, malformed profile or connection options.
    """
    from biotrainer.commands.run import reconnects

    make_source = source_factory(args, clock, speed)
    if not reconnects(args, speed):
        return make_source
    from biotrainer.acquisition.reconnect import ReconnectingSource

    return lambda: ReconnectingSource(make_source, clock, open_in_background=True)


def run(args: argparse.Namespace) -> int:
    from biotrainer.clock import MonotonicClock
    from biotrainer.engine.protocol import load_protocol

    if getattr(args, "signals", False):
        try:
            # (--speed serves a recording or a simulator in the signal window too)
            make_source = session_sources(
                args, MonotonicClock(), parse_speed(getattr(args, "speed", None))
            )
        except BiotrainerError as exc:
            _show_error(exc)
            raise
        from biotrainer.ui.app import run_main_window  # Qt is loaded here, and only here

        return run_main_window(make_source, sweep=getattr(args, "traces", None) != "scroll")

    clock = MonotonicClock()
    store = patient = None
    replay = getattr(args, "replay", None)
    try:
        if replay and getattr(args, "patient", None):
            from biotrainer.commands.run import replay_with_patient

            raise BiotrainerError(replay_with_patient(replay, args.patient))
        speed = parse_speed(getattr(args, "speed", None))
        station = getattr(args, "lsl", None)
        if station is not None:
            if speed != 1.0:
                raise BiotrainerError("--lsl streams live sessions only: leave out --speed")
            from biotrainer.net.lsl_outlets import check_code

            check_code(station, "station name")
        make_source = session_sources(args, clock, speed)  # options it would ignore: refused
        if replay:
            from biotrainer.commands.record import say
            from biotrainer.session.replay import scan_recording

            # Every line is read first, as `run --replay` does: a damaged file is refused before
            # the window opens, a step back of the clock said in the note `export` says.
            for note in scan_recording(replay).notes:
                say(sys.stderr, f"biotrainer: note: {note}\n")
        name = getattr(args, "protocol", None) or default_protocol(_roles(args, make_source))
        protocol = load_protocol(name)
        if not replay:  # (a replay is no patient's session: no store, no patient asked for)
            from biotrainer.session.store import Store

            store = Store.open(getattr(args, "data_dir", None))
            code = getattr(args, "patient", None)
            patient = store.patient(code) if code else None  # unknown code: said first
    except BiotrainerError as exc:
        if store is not None:
            store.close()
        _show_error(exc)
        raise

    from biotrainer.ui.trainer_window import run_trainer  # Qt is loaded here, and only here

    try:
        return run_trainer(
            make_source,
            protocol,
            clock=clock,
            data_dir=getattr(args, "data_dir", None),
            store=store,
            patient=patient,
            ask_patient=not (getattr(args, "no_patient", False) or replay),
            lsl_station=station,
            sweep=_sweep(args),
            # a live device is checked at once; a replay would lose its start to the check
            check_on_open=not replay,
            replay=bool(replay),
        )
    finally:
        if store is not None:
            store.close()


def _sweep(args: argparse.Namespace) -> bool | None:
    """``--traces``: True (sweep), False (scroll) or None (the trainer's remembered choice)."""
    traces = getattr(args, "traces", None)
    return None if traces is None else traces == "sweep"


def _show_error(exc: BiotrainerError) -> None:
    """A dialog as well as the stderr line: the trainer is often started from a desktop icon
    (a missing connection setting said the GUI's way, see
    :func:`~biotrainer.ui.error_report.device_error_text`)."""
    from biotrainer.ui.error_report import device_error_text

    show_start_error(device_error_text(exc))


def show_start_error(message: str) -> None:
    """Show why the window did not open in a modal dialog, as well as on the terminal (the
    caller prints the line): started from a desktop icon, the dialog is all the person sees.

    Nothing is shown when Qt cannot open a window at all (no display, see
    :func:`~biotrainer.ui.app.check_display`): the terminal line is all there is.

    Parameters
    ----------
    message : str
        The one line the terminal gets, without its ``biotrainer:`` prefix (a refusal of the
        command line too, e.g. ``--data-dir`` naming a file); a sentence in the dialog.
    """
    from biotrainer.ui.app import show_start_dialog
    from biotrainer.ui.error_report import capitalised

    show_start_dialog(capitalised(message))
