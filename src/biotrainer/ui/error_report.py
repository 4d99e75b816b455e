"""The last line of defence: an exception that escapes a Qt slot becomes a dialog, not a traceback.

Every failure the app knows about is handled where it happens, with its own message. Whatever
still escapes a slot or a Qt override (a bug, a library raising something unexpected) would
otherwise print a Python traceback on the terminal while the window carries on as if nothing
happened. :class:`SlotErrorReporter`, installed as ``sys.excepthook`` while the event loop runs,
appends the traceback to an owner-only log file in the data folder and shows the person a short
dialog saying what failed and where the details are. The same failure repeating (say on every
tick) is shown once and counted in the log.
"""

from __future__ import annotations

import html
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from PySide6.QtWidgets import QMessageBox

from biotrainer.paths import FILE_MODE, ensure_private_dir

#: Name of the log file, in ``<data dir>/logs``.
ERROR_LOG = "errors.log"


class SlotErrorReporter:
    """``sys.excepthook`` for the GUI: log the traceback, show one dialog per distinct error.

    Parameters
    ----------
    log_path : Path, optional
        Where tracebacks are appended (its folder is created owner-only); None: not logged.
    show : callable, optional
        ``show(title, text)``; a critical message box by default (tests pass a recorder).
    """

    def __init__(
        self, log_path: Path | None, show: Callable[[str, str], None] | None = None
    ) -> None:
        self.log_path = log_path
        self._show = show or (lambda title, text: QMessageBox.critical(None, title, text))
        self._seen: set[tuple[str, str]] = set()
        self._showing = False
        self.count = 0  #: exceptions reported

    def __call__(
        self,
        exc_type: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        self.count += 1
        logged = self.log(exc_type, exc, tb)
        key = (exc_type.__name__, str(exc))
        if key in self._seen or self._showing:
            return
        self._seen.add(key)
        where = f"The details were written to {logged}." if logged else ""
        text = (
            f"Something went wrong inside biotrainer ({exc_type.__name__}: {exc}).\n\n"
            f"What was recorded so far is kept. {where} Please report this problem."
        )
        self._showing = True  # (the dialog runs the event loop: no dialog over a dialog)
        try:
            self._show("biotrainer: an unexpected error", text)
        finally:
            self._showing = False

    def log(
        self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> Path | None:
        """Append the traceback to the log file; its path, or None when not written."""
        if self.log_path is None:
            return None
        try:
            ensure_private_dir(self.log_path.parent)
            fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
            with os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace") as fh:
                fh.write(f"--- {datetime.now(UTC).isoformat(timespec='seconds')}\n")
                fh.write("".join(traceback.format_exception(exc_type, exc, tb)))
        except Exception:  # (a failing log must not hide the dialog)
            return None
        return self.log_path


def log_unexpected(exc: BaseException) -> Path | None:
    """Append ``exc``'s traceback to the log of the installed :class:`SlotErrorReporter`
    without a dialog (for failures that are shown another way); the log's path, or None when
    no reporter is installed or the log cannot be written."""
    hook = sys.excepthook
    if isinstance(hook, SlotErrorReporter):
        return hook.log(type(exc), exc, exc.__traceback__)
    return None


def capitalised(message: str) -> str:
    """``message`` with a capital first letter (a sentence in a dialog, not a log line)."""
    return message[:1].upper() + message[1:]


def device_error_text(exc: BaseException, *, rich: bool = True) -> str:
    """What the GUI says about a device that could not be opened.

    The error messages name command-line options ("pass --serial-port /dev/ttyUSB0"), which
    is right on a terminal. A connection setting the device needs but did not get
    (:class:`~biotrainer.acquisition.brainflow_source.MissingConnectionError`) is said here as
    what to do from the trainer: it has no connection fields, it takes them from the command
    (or desktop shortcut) that starts it. ``rich``: for a message box, the setting to add in a
    paragraph of its own that never wraps (an option is never broken at its hyphen); else one
    plain line (the status bar, after a colon). Other errors: their message (capitalised for a
    message box).
    """
    field = getattr(exc, "field", None)
    profile = getattr(exc, "profile", None)
    if field is None or profile is None:
        return capitalised(str(exc)) if rich else str(exc)
    from biotrainer.acquisition.brainflow_source import CLI_OPTIONS

    option, example, what = CLI_OPTIONS.get(field, (f"--{field}", "...", field))
    setting = f"{option} {example}"
    first = f"The {profile} device needs {what}, and none was given."
    then = (
        "Close biotrainer, add the setting below (with your own value) to the command or "
        "desktop shortcut that starts it, and start it again:"
    )
    if not rich:
        return f"{first} Close biotrainer and start it again with {setting} (your own value)."
    return (
        f"<p>{html.escape(first)}</p><p>{html.escape(then)}</p>"
        f"<p style='white-space:pre'><b>{html.escape(setting)}</b></p>"
    )


@contextmanager
def reporting_slot_errors(log_path: Path | None) -> Iterator[SlotErrorReporter]:
    """Install a :class:`SlotErrorReporter` as ``sys.excepthook`` for the ``with`` block."""
    reporter = SlotErrorReporter(log_path)
    previous = sys.excepthook
    sys.excepthook = reporter
    try:
        yield reporter
    finally:
        sys.excepthook = previous
