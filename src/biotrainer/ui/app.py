"""Starting the Qt application (the only entry point the CLI uses)."""

from __future__ import annotations

import ctypes
import os
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QLibraryInfo
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

    Ctrl-C in the terminal closes the window cleanly (Python runs the handler between polls,
    which come back to Python many times a second); the window is closed on the way out. An
    exception escaping a slot meanwhile is shown in a dialog and logged to
    ``<data dir>/logs/errors.log`` (:mod:`biotrainer.ui.error_report`), not printed.
    """
    log = data_dir(data_directory) / "logs" / ERROR_LOG
    previous = signal.signal(signal.SIGINT, lambda *_: window.close())
    try:
        with reporting_slot_errors(log):
            return int(app.exec())
    finally:
        signal.signal(signal.SIGINT, previous)
        window.close()


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
