"""Where patient data lives, with owner-only permissions.

The data directory is, in order of precedence: the ``--data-dir`` argument, the ``BIOTRAINER_DATA``
environment variable, then the platform's per-user data directory (``platformdirs``; on Linux
``~/.local/share/biotrainer``). Folders are created 0700 and files 0600 so other users of the
machine cannot read recordings.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from biotrainer.errors import RecordingError

ENV_VAR = "BIOTRAINER_DATA"
DIR_MODE = 0o700
FILE_MODE = 0o600


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the data directory (not created).

    Parameters
    ----------
    override : path-like, optional
        An explicit directory (``--data-dir``); wins over the environment and the default.
    """
    if override:
        return Path(override).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("biotrainer", appauthor=False))


def ensure_private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and parents) if needed and make it owner-only (0700).

    Raises
    ------
    RecordingError
        If the directory cannot be created or is not writable.
    """
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        os.chmod(p, DIR_MODE)
    except OSError as exc:
        doing = "write to" if p.is_dir() else "create"
        raise RecordingError(
            f"cannot {doing} the data folder {p}: {exc.strerror or exc}. "
            "Choose another folder with --data-dir or BIOTRAINER_DATA."
        ) from exc
    if not os.access(p, os.W_OK):
        raise RecordingError(
            f"the data folder {p} is not writable. "
            "Choose another folder with --data-dir or BIOTRAINER_DATA."
        )
    return p


def shown(path: str | os.PathLike[str]) -> str:
    """``path`` as text for a message; bytes that are not UTF-8 are shown as ``\\xff`` escapes.

    (A path holding such bytes cannot be printed as is: stdout is strict UTF-8.)
    """
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def is_utf8(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` (a file name, or any text from the command line) is UTF-8 text.

    Python brings bytes that are not UTF-8 in as lone surrogates; libraries that take names as
    text (BrainFlow, pyedflib, Qt) cannot use them.
    """
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeError:
        return False
    return True


def private_temp_beside(out: Path, suffix: str) -> Path:
    """A new empty owner-only (0600) file in ``out``'s folder, to write ``out`` into and rename.

    Writing to it and renaming it to ``out`` when complete leaves no partial file behind and
    keeps an older ``out``. Its name is plain text, so ``out`` may have a name that is not
    UTF-8 (writers such as pyedflib and Qt take file names as text); the folder's may not.

    Raises
    ------
    RecordingError
        If the file cannot be made there, or the folder's name is not UTF-8 text.
    """
    import tempfile

    try:
        fd, name = tempfile.mkstemp(prefix=".", suffix=suffix, dir=out.parent)
        os.close(fd)
    except OSError as exc:
        raise RecordingError(f"cannot write {shown(out)}: {exc.strerror or exc}") from exc
    if not is_utf8(name):
        os.unlink(name)
        raise RecordingError(
            f"cannot write {shown(out)}: choose a folder whose name is valid UTF-8 text"
        )
    return Path(name)
