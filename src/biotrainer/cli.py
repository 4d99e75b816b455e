"""The ``biotrainer`` command.

``biotrainer`` with no subcommand opens the GUI (Qt is imported only then). Each subcommand lives
in its own module under :mod:`biotrainer.commands` with two functions:
``add_parser(subparsers)`` and ``run(args) -> int``.

Every :class:`~biotrainer.errors.BiotrainerError` ends the command with one plain line on stderr
and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from biotrainer import __version__
from biotrainer.errors import BiotrainerError
from biotrainer.limits import MAX_CONNECTION_TEXT, MAX_SEED, MAX_TIMEOUT_S

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

#: The device used when ``--device`` is not given (BrainFlow's synthetic board).
DEFAULT_DEVICE = "synthetic"

#: Longest ``record --duration`` (s): a day. Shorter than a second records next to nothing.
MAX_DURATION_S = 24 * 3600.0
MIN_DURATION_S = 1.0

#: argparse's ``argument --option: problem`` (the option's last spelling, and the problem).
_ARGUMENT_PREFIX = re.compile(r"^argument (?:[^:/ ]+/)*([^:/ ]+): (.*)$")

#: A whole number and a plain decimal number, in ASCII only: Python's ``int()`` and ``float()``
#: also take other scripts' digits ('١', fullwidth '１'), '_' separators, 'inf' and 'nan'.
_ASCII_INT = re.compile(r"[+-]?[0-9]+")
_ASCII_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: The blanks allowed around a number (' 12 '): ASCII ones only.
_ASCII_BLANKS = " \t\n\r\f\v"
#: A word argparse reads as a negative number, not an option (the parser has none like it).
_NEGATIVE_NUMBER = re.compile(r"-[0-9]+|-[0-9]*\.[0-9]+")


class SubcommandAction(argparse._SubParsersAction):
    """Subcommands that keep the options given before them.

    argparse copies every value the subcommand's parser produced over the outer namespace,
    its defaults included: ``biotrainer --data-dir X sessions`` (or ``biotrainer patients
    --data-dir X add P-1``) would quietly use the default data folder, not X. Here an option
    given before the subcommand keeps its value unless the subcommand's own option was given
    too (with another value: refused); an option the subcommand does not take is refused.
    """

    def __call__(self, parser, namespace, values, option_string=None):
        before = dict(vars(namespace))
        sub = self._name_parser_map.get(values[0]) if values else None
        typed_after = _typed_dests(sub, values[1:]) if sub is not None else set()
        super().__call__(parser, namespace, values, option_string)
        sub = self._name_parser_map[values[0]]
        for dest, outer in before.items():
            if outer == parser.get_default(dest):
                continue  # not given before the subcommand
            option = _option_of(parser, dest)
            if dest not in _dests(sub):
                sub.error(f"{option} does not apply to '{sub.prog}'")
            inner = getattr(namespace, dest)
            if dest not in typed_after and inner == sub.get_default(dest):
                setattr(namespace, dest, outer)  # not given after the subcommand
            elif inner != outer:
                sub.error(f"{option} is given twice, with two values: give it once")


#: Stands for "not on the command line" while :func:`_typed_dests` parses.
_NOT_TYPED = object()


def _typed_dests(sub: argparse.ArgumentParser, arg_strings: list[str]) -> set[str]:
    """The options of ``sub`` itself that ``arg_strings`` give (typed, even with the default's
    value: ``--protocol alpha-uptraining`` after the subcommand is not "left out")."""
    parsers = _parsers_under(sub)  # (a nested subcommand's defaults would look typed)
    saved = [(action, action.default) for q in parsers for action in q._actions]
    saved_defaults = [(q, q._defaults) for q in parsers]
    try:
        for action, default in saved:
            if default is not argparse.SUPPRESS:
                action.default = _NOT_TYPED
        for q in parsers:
            q._defaults = {}
        probe, _ = sub.parse_known_args(list(arg_strings), argparse.Namespace())
    finally:
        for action, default in saved:
            action.default = default
        for q, defaults in saved_defaults:
            q._defaults = defaults
    return {d for d, v in vars(probe).items() if v is not _NOT_TYPED}


def _parsers_under(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """``parser`` and every subcommand parser below it."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _parsers_under(sub)
    return found


def _option_of(parser: argparse.ArgumentParser, dest: str) -> str:
    """How ``dest`` is spelled on ``parser``'s command line (``--data-dir``)."""
    for action in parser._actions:
        if action.dest == dest and action.option_strings:
            return action.option_strings[-1]
    return dest


def _dests(parser: argparse.ArgumentParser) -> set[str]:
    """Every option destination of ``parser`` and of its subcommands."""
    found = set()
    for action in parser._actions:
        found.add(action.dest)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _dests(sub)
    return found


class CommandLineRefused(SystemExit):
    """The exit of a refused command line (exit code 2); ``text`` is its one line without the
    ``biotrainer:`` prefix, for the trainer to show in a dialog too (:func:`main`)."""

    def __init__(self, text: str) -> None:
        super().__init__(EXIT_USER_ERROR)
        self.text = text


class ArgumentParser(argparse.ArgumentParser):
    """An argument parser whose errors are one ``biotrainer: ...`` line (no usage block), and
    whose subcommands keep the options given before them (:class:`SubcommandAction`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", SubcommandAction)

    def error(self, message: str) -> NoReturn:
        """Print ``message`` as one line on stderr and exit with code 2.

        A message that already names its option (``--timeout must be ...``, from the ``type=``
        functions below) is printed without argparse's ``argument --timeout:`` prefix; others
        point to ``--help``.
        """
        text = " ".join(message.split())
        m = _ARGUMENT_PREFIX.match(text)
        if m and m.group(1) in m.group(2):  # our own message, naming the option already
            text = m.group(2)
        else:
            text = f"{text} (see '{self.prog} --help')"
        self._print_message(f"biotrainer: {text}\n", sys.stderr)
        raise CommandLineRefused(text)


def shown_arg(text: str) -> str:
    """``text`` from the command line, quoted for a one-line message: characters that are not
    printable ASCII are escaped (``'\\u0661'``, ``'\\x07'``, ``'\\udcff'`` for a byte that is
    not UTF-8)."""
    return ascii(text)


def ascii_int(text: str) -> int:
    """A whole number written in ASCII digits (an optional sign, blanks around allowed).

    Raises
    ------
    ValueError
        For anything else: other scripts' digits, '_' separators, decimals, empty text.
    """
    core = text.strip(_ASCII_BLANKS)
    if not _ASCII_INT.fullmatch(core):
        raise ValueError(f"not a whole number in ASCII digits: {shown_arg(text)}")
    return int(core)


def ascii_float(text: str) -> float:
    """A plain decimal number written in ASCII (``12``, ``-0.5``, ``1e3``; blanks around allowed).

    Raises
    ------
    ValueError
        For anything else: other scripts' digits, '_' separators, 'inf', 'nan', hex, empty text.
    """
    core = text.strip(_ASCII_BLANKS)
    if not _ASCII_FLOAT.fullmatch(core):
        raise ValueError(f"not a plain number in ASCII: {shown_arg(text)}")
    return float(core)


def number_option(option: str) -> Callable[[str], float]:
    """An argparse ``type=`` for a plain ASCII number (:func:`ascii_float`); ranges are checked
    where the value is used.

    Returns
    -------
    callable
        Parses the text or raises :class:`argparse.ArgumentTypeError` with a one-line message.
    """

    def parse(text: str) -> float:
        try:
            return ascii_float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{option} must be a number, not {shown_arg(text)}"
            ) from None

    return parse


def session_id_option(text: str) -> int:
    """``SESSION_ID``: a whole number in ASCII digits (whether it names a session is the
    store's to say).

    Raises
    ------
    argparse.ArgumentTypeError
        With a one-line message.
    """
    try:
        return ascii_int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"SESSION_ID {shown_arg(text)}: a session id is a number written in digits 0-9 "
            "(see 'biotrainer sessions')"
        ) from None


def seconds_option(option: str, maximum: float, minimum: float = 0.0) -> Callable[[str], float]:
    """An argparse ``type=`` for a finite number of seconds in (``minimum``, ``maximum``].

    Parameters
    ----------
    option : str
        The option's name, e.g. ``--timeout`` (said in the message).
    maximum : float
        The largest value allowed (s).
    minimum : float
        Values below this (and 0 or less) are refused (s).

    Returns
    -------
    callable
        Parses the text or raises :class:`argparse.ArgumentTypeError` with a one-line message.
    """

    def parse(text: str) -> float:
        try:
            value = ascii_float(text)
        except ValueError:
            value = math.nan
        if not (value > 0 and value >= minimum and value <= maximum):  # also refuses NaN
            low = f"at least {minimum:g}" if minimum > 0 else "more than 0"
            raise argparse.ArgumentTypeError(
                f"{option} must be a positive number of seconds, {low} and at most "
                f"{maximum:g}, not {shown_arg(text)}"
            )
        return value

    return parse


def int_option(option: str, minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type=`` for a whole number in [``minimum``, ``maximum``].

    Returns
    -------
    callable
        Parses the text or raises :class:`argparse.ArgumentTypeError` with a one-line message.
    """
    what = (
        f"a whole number from {minimum} to {maximum}"
        if maximum is not None
        else ("a non-negative whole number" if minimum == 0 else f"a whole number >= {minimum}")
    )

    def parse(text: str) -> int:
        try:
            value = ascii_int(text)
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"{option} must be {what}, not {shown_arg(text)}")
        return value

    return parse


def port_option(text: str) -> int:
    """``--ip-port``: a TCP/UDP port, 1-65535.

    Raises
    ------
    argparse.ArgumentTypeError
        With a one-line message.
    """
    try:
        value = ascii_int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--ip-port must be a number, not {shown_arg(text)}"
        ) from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"--ip-port {value}: port out of range (1-65535)")
    return value


def text_option(option: str) -> Callable[[str], str]:
    """An argparse ``type=`` refusing empty or blank text (``--patient ""``)."""

    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"{option} is empty: give a value or leave it out")
        return text

    return parse


def connection_text_option(option: str, what: str) -> Callable[[str], str]:
    """An argparse ``type=`` for a connection setting BrainFlow gets as text: refused when
    longer than :data:`MAX_CONNECTION_TEXT` characters (empty text is "not given", as before).

    Parameters
    ----------
    option : str
        The option's name, e.g. ``--serial-port`` (said in the message).
    what : str
        What the value is, e.g. ``"a serial port's name"``.

    Returns
    -------
    callable
        Returns the text or raises :class:`argparse.ArgumentTypeError` with a one-line message.
    """

    def parse(text: str) -> str:
        if len(text) > MAX_CONNECTION_TEXT:
            raise argparse.ArgumentTypeError(
                f"{option} is {len(text)} characters long: {what} has at most "
                f"{MAX_CONNECTION_TEXT} ({shown_arg(text[:20])}…)"
            )
        return text

    return parse


def file_option(option: str) -> Callable[[str], str]:
    """An argparse ``type=`` for a file to read (``--file``): refused when empty or blank, or
    when its path is too long for the system (see :func:`biotrainer.paths.path_too_long`).

    Returns
    -------
    callable
        Returns the text or raises :class:`argparse.ArgumentTypeError` with a one-line message.
    """
    blank = text_option(option)

    def parse(text: str) -> str:
        from biotrainer.paths import path_too_long, shown_short

        blank(text)
        path = Path(text).expanduser()
        too_long = path_too_long(path)
        if too_long is not None:
            raise argparse.ArgumentTypeError(f"{option} {shown_short(path)}: {too_long}")
        return text

    return parse


def ip_address_option(text: str) -> str:
    """``--ip-address``: an IPv4 or IPv6 address (``192.168.4.1``), as :mod:`ipaddress` reads
    it; a device is never looked for at anything else.

    Raises
    ------
    argparse.ArgumentTypeError
        With a one-line message.
    """
    import ipaddress

    if len(text) > MAX_CONNECTION_TEXT:  # (an IPv6 address's zone may be any text)
        raise argparse.ArgumentTypeError(
            f"--ip-address is {len(text)} characters long: an IP address has at most "
            f"{MAX_CONNECTION_TEXT} ({shown_arg(text[:20])}…)"
        )
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--ip-address {shown_arg(text)} is not an IP address (e.g. 192.168.4.1)"
        ) from None
    return text


def data_dir_option(text: str) -> str:
    """``--data-dir``: refused when empty, too long a path for the system, or when it (or a
    parent) is a file, not a folder.

    Raises
    ------
    argparse.ArgumentTypeError
        With a one-line message.
    """
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "--data-dir is empty: give a folder, or leave the option out to use the default"
        )
    from biotrainer.paths import nearest_existing, path_too_long, shown_short

    path = Path(text).expanduser()
    too_long = path_too_long(path)
    if too_long is not None:
        raise argparse.ArgumentTypeError(f"--data-dir {shown_short(path)}: {too_long}")
    existing = nearest_existing(path)
    if existing.exists() and not existing.is_dir():
        raise argparse.ArgumentTypeError(
            f"cannot create the data folder: {existing} is a file, not a folder. "
            "Choose another folder with --data-dir"
        )
    return text


def check_brainflow_path(path: str | os.PathLike[str], what: str) -> None:
    """Refuse a path BrainFlow cannot take (it passes file names to its library as UTF-8).

    Raises
    ------
    BiotrainerError
        If ``path`` holds bytes that are not UTF-8 text (e.g. from a terminal in another
        encoding); the message names ``what`` (e.g. ``--out``).
    """
    from biotrainer.paths import UTF8_FOLDER_ADVICE, is_utf8, shown

    if not is_utf8(path):
        raise BiotrainerError(
            f"{what} {shown(path)} is not UTF-8 text, which the recorder cannot write to: "
            f"{UTF8_FOLDER_ADVICE}"
        )


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options that choose and connect a device (shared by gui, record...)."""
    parser.add_argument(
        "--device",
        default=DEFAULT_DEVICE,
        type=text_option("--device"),
        help="device profile name (see 'biotrainer devices')",
    )
    parser.add_argument(
        "--serial-port",
        type=connection_text_option("--serial-port", "a serial port's name"),
        help="serial port of the device or dongle",
    )
    parser.add_argument("--mac-address", help="Bluetooth MAC address, e.g. 00:55:DA:B3:12:34")
    parser.add_argument(
        "--serial-number",
        type=connection_text_option("--serial-number", "a serial number or device name"),
        help="device serial number or name, e.g. Muse-1234",
    )
    parser.add_argument("--ip-address", type=ip_address_option, help="IP address of a WiFi device")
    parser.add_argument("--ip-port", type=port_option, help="IP port of a WiFi device")
    parser.add_argument(
        "--other-info",
        type=connection_text_option("--other-info", "a board's extra setting"),
        help="board-specific extra connection setting",
    )
    parser.add_argument(
        "--timeout",
        type=seconds_option("--timeout", MAX_TIMEOUT_S),
        help=f"seconds to wait for the device to answer (at most {MAX_TIMEOUT_S:g})",
    )
    parser.add_argument(
        "--file",
        type=file_option("--file"),
        help="recording file for the playback device (default preset)",
    )
    parser.add_argument(
        "--file-aux", type=file_option("--file-aux"), help="playback file of the auxiliary preset"
    )
    parser.add_argument(
        "--file-anc", type=file_option("--file-anc"), help="playback file of the ancillary preset"
    )
    parser.add_argument(
        "--master-board",
        type=text_option("--master-board"),
        help="for playback: the profile or board whose layout the file has",
    )
    parser.add_argument(
        "--scenario",
        type=text_option("--scenario"),
        help="simulator devices: scenario name or .toml file (see scenarios/)",
    )
    parser.add_argument(
        "--seed",
        type=int_option("--seed", 0, MAX_SEED),
        help="simulator devices: random seed (default 0)",
    )
    parser.add_argument(
        "--lsl-name",
        type=text_option("--lsl-name"),
        help="use this Lab Streaming Layer stream as the device",
    )
    parser.add_argument(
        "--lsl-type",
        type=text_option("--lsl-type"),
        help="LSL stream type to use: EEG, ECG, PPG, RESP, RR or IBI",
    )


def device_options_given(args: argparse.Namespace) -> list[str]:
    """The device options (those of :func:`add_device_arguments`) set in ``args`` to anything
    but their default, as spelled on the command line (``--serial-port``...)."""
    parser = argparse.ArgumentParser(add_help=False)
    add_device_arguments(parser)
    return [
        action.option_strings[-1]
        for action in parser._actions
        if getattr(args, action.dest, None) not in (None, "", action.default)
    ]


def add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--data-dir`` (overrides BIOTRAINER_DATA and the platform default)."""
    parser.add_argument(
        "--data-dir",
        type=data_dir_option,
        help="session store (default: $BIOTRAINER_DATA or the user data dir)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the full argument parser."""
    parser = ArgumentParser(
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


#: Exit code when the output cannot be written (its reader is gone, a full disk).
EXIT_OUTPUT_FAILED = 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``biotrainer`` console script."""
    _tolerate_any_encoding()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except OSError as exc:
        if not _name_too_long(exc):
            raise
        # (a path an option's check asked about; the checks refuse those they know first)
        return _refuse_too_long(exc, _opens_the_trainer(parser, _given(argv)))
    except CommandLineRefused as refused:  # (one line already said)
        if _opens_the_trainer(parser, _given(argv)):
            # started from a desktop icon (a launcher with options), the dialog is all one sees
            from biotrainer.commands.gui import show_start_error

            show_start_error(refused.text)
        return EXIT_USER_ERROR
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_USER_ERROR
    name = args.command or "gui"
    try:
        return int(args._modules[name].run(args) or 0)
    except BiotrainerError as exc:
        print(f"biotrainer: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("biotrainer: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `biotrainer sessions | head -1`: the reader has what it wanted. Python would complain
        # again when it flushes stdout at exit, so stdout goes nowhere from here.
        _silence_stdout()
        return EXIT_OUTPUT_FAILED
    except OSError as exc:
        if _name_too_long(exc):
            # A path too long for the system that a check missed (they refuse those they know
            # in a line of their own): Python's Path.exists() raises instead of saying False.
            return _refuse_too_long(exc, name == "gui")
        if exc.errno not in (errno.ENOSPC, errno.EIO):
            raise
        _silence_stdout()
        print(f"biotrainer: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_OUTPUT_FAILED


def _given(argv: Sequence[str] | None) -> Sequence[str]:
    """The command line's words (without the program's name) that :func:`main` parses."""
    return sys.argv[1:] if argv is None else argv


def _name_too_long(exc: OSError) -> bool:
    """True for the system's refusal of a path too long to look at (``ENAMETOOLONG``) that
    names the path."""
    return exc.errno == errno.ENAMETOOLONG and exc.filename is not None


def _refuse_too_long(exc: OSError, trainer: bool) -> int:
    """Say in one line (and, for the trainer, a dialog) which path was too long; exit code 2.

    Parameters
    ----------
    exc : OSError
        The ``ENAMETOOLONG`` error, whose ``filename`` is the path.
    trainer : bool
        The command starts the trainer window: the dialog is all a person started from a
        desktop icon sees.
    """
    from biotrainer.paths import path_too_long, shown_short

    path = exc.filename
    text = f"{shown_short(path)}: {path_too_long(path) or 'the path is too long for the system'}"
    print(f"biotrainer: {text}", file=sys.stderr)
    if trainer:
        from biotrainer.commands.gui import show_start_error

        show_start_error(text)
    return EXIT_USER_ERROR


def _opens_the_trainer(parser: argparse.ArgumentParser, argv: Sequence[str]) -> bool:
    """True when the command line starts the trainer: it names no command (``biotrainer``
    alone, with options only) or ``gui``. A misspelt command (``biotrainer reprot 3``) is
    another command typed in a terminal, not the trainer."""
    return _command_word(parser, argv) in (None, "gui")


def _command_word(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str | None:
    """The word of ``argv`` that ``parser`` reads as its COMMAND, known or not, or None.

    The words are walked as argparse walks them: an option of ``parser`` that takes a value
    takes the next word with it (``--protocol report``: no command) unless written
    ``--option=value``; an option it does not know takes none; after ``--`` the next word is
    the command.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The top-level parser (:func:`build_parser`).
    argv : sequence of str
        The command line without the program's name.
    """
    words = iter(argv)
    for word in words:
        if word == "--":
            return next(words, None)
        if not word.startswith("-") or word == "-" or _NEGATIVE_NUMBER.fullmatch(word):
            return word
        action = _option_action(parser, word.split("=", 1)[0])
        if action is not None and action.nargs is None and "=" not in word:
            next(words, None)  # its value
    return None


def _option_action(parser: argparse.ArgumentParser, spelt: str) -> argparse.Action | None:
    """The option of ``parser`` that ``spelt`` names: its own spelling or, as argparse takes
    them, the unambiguous start of a long one (``--data`` for ``--data-dir``); else None."""
    actions = parser._option_string_actions
    if spelt in actions:
        return actions[spelt]
    if not spelt.startswith("--") or not parser.allow_abbrev:
        return None
    found = {action for option, action in actions.items() if option.startswith(spelt)}
    return found.pop() if len(found) == 1 else None


def _tolerate_any_encoding() -> None:
    """Names, notes and the program's own dashes print in any locale: characters the
    terminal's encoding cannot show are escaped (``\\u2013``) instead of raising."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")


def _silence_stdout() -> None:
    if sys.stdout is not None and sys.stdout is sys.__stdout__:  # the process's own output
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
