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
from biotrainer.ui.error_report import (
    ERROR_LOG,
    capitalised,
    device_error_text,
    reporting_slot_errors,
)
from biotrainer.ui.main_window import MainWindow

#: What to do when no platform Qt was told to use can start.
DISPLAY_ADVICE = (
    "run biotrainer from a desktop session (or set QT_QPA_PLATFORM=offscreen for a headless test)"
)


#: Qt platforms that draw into memory (tests, screenshots, headless runs): nobody sees their
#: windows, so nobody could close a modal dialog on them.
UNSEEN_PLATFORMS = frozenset({"offscreen", "minimal"})


def show_start_dialog(message: str) -> None:
    """Say why the window did not open in a modal dialog: started from a desktop icon, it is all
    the person sees (the caller prints the terminal line too).

    Not without a display (:func:`check_display`), nor on a platform nobody sees
    (:data:`UNSEEN_PLATFORMS`), where the dialog would wait for ever for a click and the command
    would never end: the terminal line is all there is.

    Parameters
    ----------
    message : str
        The sentence to show.
    """
    try:
        application()
    except BiotrainerError:
        return  # no display
    if QApplication.platformName() in UNSEEN_PLATFORMS:
        return
    QMessageBox.critical(None, "biotrainer", message)


def check_display() -> None:
    """Raise a :class:`BiotrainerError` when Qt could not open a window (instead of Qt aborting
    the whole process with a core dump, which a program started from a desktop icon cannot
    even report).

    On Linux Qt needs an X11 or Wayland display unless ``QT_QPA_PLATFORM`` names another
    platform (``offscreen`` for tests and screenshots). Said here: no display at all, a
    ``DISPLAY`` no X server answers (the session ended, another user's display), Qt's X11
    plugin missing a system library, and a ``QT_QPA_PLATFORM`` none of whose platforms can
    start (``xcb`` or ``wayland`` without their display, a name Qt has no plugin for).
    """
    if not sys.platform.startswith("linux"):
        return
    requested = os.environ.get("QT_QPA_PLATFORM", "")
    if requested.strip():
        _check_requested_platforms(requested)
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise BiotrainerError(f"no display found: {DISPLAY_ADVICE}")
    if not os.environ.get("WAYLAND_DISPLAY"):
        problem = _xcb_problem()
        if problem is not None:
            raise BiotrainerError(f"Qt cannot open a window on X11: {problem}")


def _check_requested_platforms(requested: str) -> None:
    """Refuse a ``QT_QPA_PLATFORM`` (``name[:options]``, several separated by ``;``: Qt tries
    them in turn) when none of its platforms can start."""
    names = [part.split(":", 1)[0].strip() for part in requested.split(";")]
    problems = [_platform_problem(name) for name in names if name]
    if problems and all(problems):
        raise BiotrainerError(
            f"Qt cannot open a window with QT_QPA_PLATFORM={requested}: "
            f"{'; '.join(p for p in problems if p)}. {capitalised(DISPLAY_ADVICE)}"
        )


def _platform_problem(name: str) -> str | None:
    """Why Qt's platform ``name`` cannot start here, or None when it may (only the display
    servers and the plugin's presence are checked)."""
    if name == "xcb":
        if not os.environ.get("DISPLAY"):
            return "xcb needs an X11 display, and DISPLAY is not set"
        return _xcb_problem()
    if name.startswith("wayland"):
        return _wayland_problem()
    known = _platform_plugins()
    if known and name not in known:
        return f"Qt has no platform {name!r} (it has {', '.join(sorted(known))})"
    return None


def _platform_plugins() -> set[str]:
    """The platform names of Qt's own plugins (empty when other plugin folders are added with
    ``QT_PLUGIN_PATH``: whatever they hold is not known here)."""
    if os.environ.get("QT_PLUGIN_PATH"):
        return set()
    folder = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    names = {
        found.group(1)
        for plugin in folder.glob("libq*.so*")
        if (found := re.match(r"libq(.+?)\.so", plugin.name))
    }
    if "wayland" in names:
        names |= {"wayland-egl", "wayland-brcm"}  # (keys of the same plugin)
    return names


def _wayland_problem() -> str | None:
    """Why no Wayland display can be reached: its socket, found as the Wayland library finds
    it (``WAYLAND_DISPLAY``, by default ``wayland-0``, in ``XDG_RUNTIME_DIR``), is missing."""
    name = os.environ.get("WAYLAND_DISPLAY")
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    where: Path | None = Path(name or "wayland-0")
    if not where.is_absolute():
        where = Path(runtime, where) if runtime else None
    if where is not None and where.exists():
        return None
    said = f"WAYLAND_DISPLAY={name}" if name else "WAYLAND_DISPLAY is not set"
    return f"wayland needs a Wayland display, and none was found ({said})"


#: Debian/Ubuntu packages Qt's X11 plugin needs beyond a minimal desktop.
XCB_PACKAGES = (
    "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 "
    "libxkbcommon-x11-0"
)


def _xcb_problem() -> str | None:
    """Why Qt's X11 platform cannot start (a missing system library, an X server that does not
    answer), or None."""
    return _xcb_plugin_problem() or _x11_connection_problem()


def _xcb_plugin_problem() -> str | None:
    """Load Qt's X11 platform plugin the way Qt would; Qt >= 6.5 aborts the whole process when
    one of its system libraries is missing, so name the missing library instead."""
    plugin = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    plugin /= "libqxcb.so"
    if not plugin.is_file():
        return None
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        found = re.search(r"(lib[\w.+-]+\.so[\w.]*): cannot open", str(exc))
        missing = found.group(1) if found else str(exc)
        return (
            f"the system library {missing} is missing. "
            f"Install Qt's X11 libraries (Debian/Ubuntu: sudo apt install {XCB_PACKAGES})"
        )
    return None


def _x11_connection_problem() -> str | None:
    """Connect to the X server ``DISPLAY`` names the way Qt's plugin would (libxcb); Qt aborts
    when it cannot. None when it answers, or when libxcb is not there to ask."""
    display = os.environ.get("DISPLAY", "")
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return None
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(os.fsencode(display), None)
    try:
        failed = xcb.xcb_connection_has_error(connection)
    finally:
        xcb.xcb_disconnect(connection)
    if failed:
        return (
            f"no X server answers at DISPLAY={display} (the desktop session has ended, or it "
            "belongs to another user)"
        )
    return None


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
        # A live device's reconnecting wrapper builds the device's own source when first asked
        # for its layout: a refusal of its options is said here, not once the window is up.
        _ = source.layout
    except BiotrainerError as exc:
        show_start_dialog(device_error_text(exc))
        raise
    window = MainWindow(source, poll_hz=poll_hz, fps=fps, window_s=window_s, sweep=sweep)
    window.show()
    if not window.start():
        raise BiotrainerError(window.error or "the device could not be opened")
    return exec_until_closed(app, window)
