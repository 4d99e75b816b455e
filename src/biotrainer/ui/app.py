"""Starting the Qt application (the only entry point the CLI uses)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from PySide6.QtCore import QLibraryInfo, QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from biotrainer.acquisition.source import Source
from biotrainer.errors import BiotrainerError
from biotrainer.paths import data_dir
from biotrainer.ui.error_report import ERROR_LOG, device_error_text, reporting_slot_errors
from biotrainer.ui.main_window import MainWindow


def check_display() -> None:
    """Raise a :class:`BiotrainerError` when no display is available (instead of Qt aborting).

    On Linux Qt needs an X11 or Wayland display unless ``QT_QPA_PLATFORM`` names another
    platform (``offscreen`` for tests and screenshots).
    """
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise BiotrainerError(
            "no display found: run biotrainer from a desktop session "
            "(or set QT_QPA_PLATFORM=offscreen for a headless test)"
        )
    if not os.environ.get("WAYLAND_DISPLAY"):
        _check_xcb_plugin()


#: Debian/Ubuntu packages Qt's X11 plugin needs beyond a minimal desktop.
XCB_PACKAGES = (
    "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 "
    "libxkbcommon-x11-0"
)


def _check_xcb_plugin() -> None:
    """Load Qt's X11 platform plugin the way Qt would; Qt >= 6.5 aborts the whole process when
    one of its system libraries is missing, so name the missing library instead."""
    plugin = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    plugin /= "libqxcb.so"
    if not plugin.is_file():
        return
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        found = re.search(r"(lib[\w.+-]+\.so[\w.]*): cannot open", str(exc))
        missing = found.group(1) if found else str(exc)
        raise BiotrainerError(
            f"Qt cannot open a window on X11: the system library {missing} is missing. "
            f"Install Qt's X11 libraries (Debian/Ubuntu: sudo apt install {XCB_PACKAGES})"
        ) from exc


def application() -> QApplication:
    """Return the running QApplication, creating it if needed."""
    app = QApplication.instance()
    if app is None:
        check_display()
        # Qt's raster engine hands large fills to a thread pool; for our small, frequent
        # repaints the hand-over costs more CPU than it saves (measured: 35 -> 28 % of a core
        # for the trainer). A value the user set in the environment is kept.
        os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
        app = QApplication([sys.argv[0] if sys.argv else "biotrainer"])
        app.setApplicationName("biotrainer")
        app.setOrganizationName("biotrainer")
    return app  # type: ignore[return-value]


def exec_until_closed(
    app: QApplication, window: QWidget, data_directory: str | os.PathLike[str] | None = None
) -> int:
    """Run the event loop until ``window`` is closed; return the loop's exit code.

    Ctrl-C in the terminal, SIGTERM (logout, shutdown, ``kill``) and SIGHUP (the terminal
    closed) close the window cleanly, as its close button does: a session running in it is
    stopped and its recording closed (:func:`closing_on_signals`). The window is closed on the
    way out. An exception escaping a slot meanwhile is shown in a dialog and logged to
    ``<data dir>/logs/errors.log`` (:mod:`biotrainer.ui.error_report`), not printed.
    """
    log = data_dir(data_directory) / "logs" / ERROR_LOG
    try:
        with closing_on_signals(window), reporting_slot_errors(log):
            return int(app.exec())
    finally:
        window.close()


#: The signals that close the window: Ctrl-C, SIGTERM and, where there is one, SIGHUP.
CLOSING_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextlib.contextmanager
def closing_on_signals(window: QWidget) -> Iterator[None]:
    """Close ``window`` when one of :data:`CLOSING_SIGNALS` arrives (main thread only; the
    handlers before are put back after).

    The close is posted to the event loop, not done inside the handler: Python runs a handler
    between two bytecodes of whatever runs, perhaps halfway through an engine tick. The signal
    also wakes the event loop (a socket the C-level handler writes to), so a window waiting
    for input closes at once, not at the next mouse move.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wake_read, wake_write = socket.socketpair()
    for s in (wake_read, wake_write):
        s.setblocking(False)
    notifier = QSocketNotifier(wake_read.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(lambda *_: _drain(wake_read))
    previous_fd = signal.set_wakeup_fd(wake_write.fileno(), warn_on_full_buffer=False)
    previous = {s: signal.getsignal(s) for s in CLOSING_SIGNALS}
    try:
        for s in CLOSING_SIGNALS:
            signal.signal(s, lambda *_: QTimer.singleShot(0, window.close))
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        signal.set_wakeup_fd(previous_fd)
        notifier.setEnabled(False)
        wake_read.close()
        wake_write.close()


def _drain(sock: socket.socket) -> None:
    """Read what the signal handler wrote (the Python handler itself runs on return to
    Python, which this slot is)."""
    with contextlib.suppress(OSError):
        while sock.recv(512):
            pass


def run_main_window(
    make_source: Callable[[], Source],
    *,
    poll_hz: float | None = None,
    fps: float = 60.0,
    window_s: float = 10.0,
    sweep: bool = True,
) -> int:
    """Open the main window on the source ``make_source()`` builds and run the event loop.

    Parameters
    ----------
    make_source : callable
        Builds the (unprepared) source; may raise :class:`BiotrainerError` (unknown profile,
        missing serial port...).
    poll_hz, fps, window_s : float
        See :class:`~biotrainer.ui.main_window.MainWindow` (None: poll just above the frame
        rate; 60 frames per second).
    sweep : bool
        The signal panels sweep instead of scrolling.

    Returns
    -------
    int
        The event loop's exit code (0 after a normal close).

    Raises
    ------
    BiotrainerError
        The source could not be built or opened. The message was already shown in a message
        box; the caller prints it as one line and exits non-zero.
    """
    app = application()
    try:
        data_dir()  # (where errors are logged: a bad BIOTRAINER_DATA is said before the window)
        source = make_source()
    except BiotrainerError as exc:
        QMessageBox.critical(None, "biotrainer", device_error_text(exc))
        raise
    window = MainWindow(source, poll_hz=poll_hz, fps=fps, window_s=window_s, sweep=sweep)
    window.show()
    if not window.start():
        raise BiotrainerError(window.error or "the device could not be opened")
    return exec_until_closed(app, window)
