"""Where patient data lives, with owner-only permissions.

The data directory is, in order of precedence: the ``--data-dir`` argument, the ``BIOTRAINER_DATA``
environment variable, then the platform's per-user data directory (``platformdirs``; on Linux
``~/.local/share/biotrainer``). Folders are created 0700 and files 0600 so other users of the
machine cannot read recordings.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from pathlib import Path

import platformdirs

from biotrainer.errors import BiotrainerError, ConfigError, RecordingError

ENV_VAR = "BIOTRAINER_DATA"
DIR_MODE = 0o700
FILE_MODE = 0o600

#: What to do about a folder whose name is not UTF-8 (writers take file names as UTF-8 text).
UTF8_FOLDER_ADVICE = "choose a folder whose name is valid UTF-8 text"

#: Longest name of one file or folder (bytes of its encoded name): 255 on the file systems of
#: Linux, macOS and Windows. A longer one makes the system refuse the whole path
#: (``ENAMETOOLONG``), even when only asked whether it exists.
NAME_MAX = 255
#: Longest whole path the system takes (bytes): Linux's ``PATH_MAX`` (4096) less its final NUL.
PATH_MAX = 4095
#: Characters of an over-long name a message shows.
_SHOWN_NAME_CHARS = 40
#: Characters of an over-long path a message shows (its start and its end).
_SHOWN_PATH_CHARS = 160


class PathTooLongError(BiotrainerError):
    """A path the system refuses to look at: one of its names is over :data:`NAME_MAX` bytes, or
    it is over :data:`PATH_MAX` bytes in all.

    Parameters
    ----------
    path : path-like
        The path (shown with its over-long names cut).
    what : str
        What the path is for, said first (``"--csv"``, ``"the data folder"``); may be empty.
    problem : str, optional
        What is too long (:func:`path_too_long`); found again when not given.
    """

    def __init__(self, path: str | os.PathLike[str], what: str = "", problem: str = "") -> None:
        self.path = path
        self.problem = problem or path_too_long(path) or "the path is too long"
        where = f"{what} {shown_short(path)}" if what else shown_short(path)
        super().__init__(f"{where}: {self.problem}")


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the data directory (not created).

    Parameters
    ----------
    override : path-like, optional
        An explicit directory (``--data-dir``); wins over the environment and the default.

    Raises
    ------
    RecordingError
        If ``BIOTRAINER_DATA`` is blank or a relative path: set once for every command, it
        would otherwise name another (empty) store in each folder a command is run from.
    PathTooLongError
        If the folder's path is too long for the system (:func:`path_too_long`).
    """
    if override:
        return check_path_length(Path(override).expanduser(), "the data folder")
    env = os.environ.get(ENV_VAR)
    if env is not None and env != "":
        path = Path(env).expanduser()
        if not env.strip() or not path.is_absolute():
            why = (
                "it is blank"
                if not env.strip()
                else "a relative one would mean another folder for each place a command is run from"
            )
            raise RecordingError(
                f"{ENV_VAR} must be a folder's full path (like /home/me/biotrainer-data), not "
                f"{env!r}: {why}"
            )
        return check_path_length(path, f"the data folder in {ENV_VAR}")
    return Path(platformdirs.user_data_dir("biotrainer", appauthor=False))


def ensure_private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and parents) if needed, owner-only (0700).

    A folder that already exists keeps its permissions: the user may have chosen a shared
    folder (``--data-dir /srv/clinic``, or one with the sticky bit) on purpose, and what
    biotrainer writes inside it is owner-only anyway (session folders 0700, files 0600).

    Raises
    ------
    RecordingError
        If the directory cannot be created or is not writable.
    """
    p = Path(path)
    if p.is_symlink() and not p.exists():
        raise RecordingError(
            f"the data folder {p} is a link to nothing (its target is missing, or the links "
            "go round in a loop). Fix the link or choose another folder with --data-dir."
        )
    try:
        existed = p.is_dir()
        p.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        if not existed:
            os.chmod(p, DIR_MODE)  # whatever the umask
    except OSError as exc:
        raise RecordingError(
            f"cannot create the data folder {p}: {exc.strerror or exc}. "
            "Choose another folder with --data-dir or BIOTRAINER_DATA."
        ) from exc
    if not os.access(p, os.W_OK):
        raise RecordingError(
            f"the data folder {p} is not writable. "
            "Choose another folder with --data-dir or BIOTRAINER_DATA."
        )
    return p


def check_export_target(
    out: str | os.PathLike[str],
    data_directory: str | os.PathLike[str] | None = None,
    *,
    inside_ok: bool = False,
) -> Path:
    """Refuse an export (a report, a CSV) that could replace part of the data folder or of a
    session folder (one holding a ``session.json``, wherever it lies).

    Parameters
    ----------
    out : path
        The file to write.
    data_directory : path, optional
        The data folder (the default one when None).
    inside_ok : bool
        A new file there is allowed (a report saved beside its recording); an existing one only
        if it is a ``.pdf`` (an earlier report), never a recording's file or the database.

    Returns
    -------
    Path
        ``out``, with ``~`` expanded.

    Raises
    ------
    BiotrainerError
        If the file lies in the data folder or a session folder (also through a link) and may
        not, or it is not a file an export may write (:func:`check_output_file`).
    """
    path = Path(out).expanduser()
    check_output_file(path)
    where = protected_folder(path, data_directory)
    if where is None:
        return path
    if not inside_ok:
        raise BiotrainerError(f"{path} is inside {where}: write the export somewhere else")
    if (path.exists() or path.is_symlink()) and path.suffix.lower() != ".pdf":
        raise BiotrainerError(
            f"{path} is a file of {where} (a recording or the database): it is never replaced, "
            "write the report under another name"
        )
    return path


def protected_folder(
    out: str | os.PathLike[str], data_directory: str | os.PathLike[str] | None = None
) -> str | None:
    """The folder whose files an export to ``out`` could replace or mix with, for a message
    (``"the data folder /x"``, ``"the session folder /y"``: one holding a ``session.json``,
    ``out``'s own folder or any folder above it), or None.

    A link is followed: where it points is what would be written.

    Parameters
    ----------
    out : path
        The file to write (``~`` already expanded).
    data_directory : path, optional
        The data folder (the default one when None).
    """
    path = Path(out)
    data = data_dir(data_directory)
    try:
        real = path.resolve()
        if real.is_relative_to(data.resolve()):
            return f"the data folder {data}"
        for folder in dict.fromkeys((*path.parents, *real.parents)):
            if (folder / "session.json").exists():
                return f"the session folder {folder}"  # (one kept outside the data folder)
    except OSError:
        pass
    return None


def check_cli_export(
    out: str | os.PathLike[str],
    data_directory: str | os.PathLike[str] | None,
    option: str,
    *,
    overwrite: bool = False,
) -> Path:
    """Refuse a file named on the command line for an export (``report --out``, ``--csv``,
    ``export --edf``) that it may not write, before anything is read or written.

    Refused: a path too long for the system; a folder, pipe, socket or device, or a link to
    one or to nothing (:func:`check_output_file`); anything inside the data folder or a session
    folder (recordings and the database are never replaced, exports never mixed with them);
    an existing file unless ``overwrite`` (``--overwrite``, as the GUI's save dialogs ask
    before replacing a file).

    Parameters
    ----------
    out : path-like
        The file given.
    data_directory : path-like or None
        ``--data-dir`` (the default data folder when None).
    option : str
        The option that named it (``"--csv"``), for a message.
    overwrite : bool
        An existing regular file (or a link to one: the file it names) may be replaced.

    Returns
    -------
    Path
        ``out``, with ``~`` expanded.

    Raises
    ------
    BiotrainerError
        Naming the file and why it is refused.
    """
    path = check_path_length(Path(out).expanduser(), option)
    check_output_file(path)
    where = protected_folder(path, data_directory)
    if where is not None:
        if path.exists():
            raise BiotrainerError(
                f"{shown(path)} already exists in {where}: a file there is never replaced, "
                "write the export somewhere else"
            )
        raise BiotrainerError(f"{shown(path)} is inside {where}: write the export somewhere else")
    if path.exists() and not overwrite:
        raise BiotrainerError(
            f"{shown(path)} already exists: give a new file name for {option}, or add "
            "--overwrite to replace it"
        )
    return path


def path_too_long(path: str | os.PathLike[str]) -> str | None:
    """What is too long in ``path`` for the system to take it (None when nothing is).

    Only the text is looked at, nothing on the disk: Python's ``Path.exists()`` and
    ``is_dir()`` raise ``OSError`` (``File name too long``) for such a path instead of
    answering False.

    Parameters
    ----------
    path : path-like
        A path as given (relative or absolute).

    Returns
    -------
    str or None
        The problem for a message (``"the path is too long: ..."``), or None.
    """
    encoded = os.fsencode(path)
    longest = max((len(name) for name in encoded.split(b"/")), default=0)
    if longest > NAME_MAX:
        return (
            f"the path is too long: a name in it is {longest} bytes, over the {NAME_MAX} a file "
            "or folder name may have"
        )
    if len(encoded) > PATH_MAX:
        return f"the path is too long: {len(encoded)} bytes, over the {PATH_MAX} a path may have"
    return None


def check_path_length(path: str | os.PathLike[str], what: str = "") -> Path:
    """``path`` as a :class:`~pathlib.Path` if the system can take it (see
    :func:`path_too_long`).

    Parameters
    ----------
    path : path-like
        The path to check.
    what : str
        What it is for, said first in the message (``"--csv"``); may be empty.

    Raises
    ------
    PathTooLongError
        Naming the path (its long names cut) and what is too long.
    """
    problem = path_too_long(path)
    if problem is not None:
        raise PathTooLongError(path, what, problem)
    return Path(path)


def shown_short(path: str | os.PathLike[str]) -> str:
    """``path`` as text for a message (:func:`shown`), each name longer than a few dozen
    characters cut (``/tmp/xxxx…``) and, when the whole is still long, the middle left out:
    a name of 300 characters would fill the line."""
    text = "/".join(
        name if len(name) <= _SHOWN_NAME_CHARS else name[:_SHOWN_NAME_CHARS] + "…"
        for name in shown(path).split("/")
    )
    if len(text) > _SHOWN_PATH_CHARS:  # (many folders deep): its start and its end
        half = _SHOWN_PATH_CHARS // 2
        text = f"{text[:half]}…{text[-half:]}"
    return text


def nearest_existing(path: str | os.PathLike[str]) -> Path:
    """``path`` if it exists, else its nearest parent that does (the root at the latest): where
    making ``path`` would start, and what decides whether it can be made.

    Raises
    ------
    PathTooLongError
        If the system cannot take ``path`` (:func:`path_too_long`).
    """
    there = check_path_length(path)
    while not there.exists() and there != there.parent:
        there = there.parent
    return there


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


#: How the temporary file of an export starts (hidden; then random letters and, e.g.,
#: ``.pdf.part``): what :func:`remove_stale_export_temps` recognises as its own.
EXPORT_TEMP_PREFIX = ".biotrainer-export-"
#: Age (seconds since last written) past which an export's temporary file is a leftover of a
#: killed export: no export takes that long without writing to its file.
STALE_EXPORT_TEMP_S = 3600.0


def private_temp_beside(out: Path, suffix: str, *, utf8_name: bool = True) -> Path:
    """A new empty owner-only (0600) file in ``out``'s folder, to write ``out`` into and rename.

    Writing to it and renaming it to ``out`` when complete leaves no partial file behind and
    keeps an older ``out``. Its name is plain text, so ``out`` may have a name that is not
    UTF-8 (writers such as pyedflib and Qt take file names as text); the folder's may not,
    unless ``utf8_name`` is False (a writer that takes any name). It is named
    ``.biotrainer-export-XXXXXXXX<suffix>``; such files of a killed export (SIGKILL, a power
    cut) older than :data:`STALE_EXPORT_TEMP_S` are removed first
    (:func:`remove_stale_export_temps`).

    Parameters
    ----------
    out : Path
        The file to be written (a link already followed: :func:`check_output_file`).
    suffix : str
        The end of the temporary file's name (``".pdf.part"``); it must end in ``.part``.
    utf8_name : bool
        Refuse a folder whose name is not UTF-8 text (the writer takes names as text).

    Raises
    ------
    RecordingError
        If the file cannot be made there, or the folder's name is not UTF-8 text.
    """
    import tempfile

    remove_stale_export_temps(out.parent)
    try:
        fd, name = tempfile.mkstemp(prefix=EXPORT_TEMP_PREFIX, suffix=suffix, dir=out.parent)
        os.close(fd)
    except OSError as exc:
        raise RecordingError(f"cannot write {shown(out)}: {exc.strerror or exc}") from exc
    if utf8_name and not is_utf8(name):
        os.unlink(name)
        raise RecordingError(f"cannot write {shown(out)}: {UTF8_FOLDER_ADVICE}")
    return Path(name)


def remove_stale_export_temps(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files of exports killed in ``folder`` (SIGKILL, a power cut).

    Only regular files of this user named as :func:`private_temp_beside` names them and not
    written for :data:`STALE_EXPORT_TEMP_S` are removed: an export still running (another
    process writing to the same folder) keeps its file. Nothing is reported when the folder
    cannot be read or a file cannot be removed.

    Returns
    -------
    list of Path
        The files removed.
    """
    removed: list[Path] = []
    uid = os.getuid() if hasattr(os, "getuid") else None
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(EXPORT_TEMP_PREFIX) and entry.name.endswith(".part")):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or (uid is not None and st.st_uid != uid):
                continue
            if now - st.st_mtime < STALE_EXPORT_TEMP_S:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def check_output_file(out: str | os.PathLike[str]) -> Path:
    """The file an export to ``out`` writes: ``out``, or the file it is a symbolic link to.

    Every export (PDF reports, the CSV, EDF+) writes a temporary file and renames it over the
    file this returns, so a link to a file survives and the file it names gets the export.
    Nothing is opened.

    - a new file (``out`` does not exist, or its folder does not: the writer says so): ``out``;
    - a regular file, or a link to one: the file (an older export replaced when complete);
    - a link to nothing (its target is missing, or the links go round in a loop): refused,
      since writing the target would make a file somewhere the user did not name and
      replacing the link would lose it;
    - a folder, a pipe, a socket or a device, or a link to one: refused (a rename would put a
      regular file in place of a pipe or ``/dev/full``, a pipe never ends).

    Parameters
    ----------
    out : path-like
        The file to write.

    Returns
    -------
    Path
        The file to rename the finished export to.

    Raises
    ------
    BiotrainerError
        Naming ``out`` and what it is, when it may not be written.
    """
    path = Path(out)
    name = shown(path)
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return path  # a new file
    except OSError as exc:
        raise BiotrainerError(f"cannot write {name}: {exc.strerror or exc}") from exc
    if not stat.S_ISLNK(mode):
        if not stat.S_ISREG(mode):
            raise BiotrainerError(
                f"cannot write {name}: it is {file_kind(mode)}, not a regular file. Give the "
                "name of a file to write"
            )
        return path
    target = Path(os.path.realpath(path))
    try:
        check_regular_file(path)
    except NotRegularFileError as exc:
        raise BiotrainerError(
            f"cannot write {name}: it is a link to {shown(target)}, which is {exc.kind}, not a "
            "regular file. Give the name of a file to write"
        ) from exc
    except OSError as exc:
        if not isinstance(exc, (FileNotFoundError, NotADirectoryError)) and (
            exc.errno != errno.ELOOP
        ):
            raise BiotrainerError(f"cannot write {name}: {exc.strerror or exc}") from exc
        raise BiotrainerError(
            f"cannot write {name}: it is a link to nothing (its target {shown(target)} is "
            "missing, or the links go round in a loop). Fix the link or give another file"
        ) from exc
    return target


class NotRegularFileError(Exception):
    """A path names a folder, a pipe, a socket or a device, not a regular file.

    Reading a pipe waits for a writer that may never come; a device such as ``/dev/zero``
    never ends. ``kind`` says what it is (``"a pipe"``...).
    """

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        self.path = Path(path)
        self.kind = kind
        super().__init__(f"{shown(path)} is {kind}, not a regular file")

    @property
    def problem(self) -> str:
        """What is wrong, without the path (``"not a regular file (it is a pipe)"``)."""
        return f"not a regular file (it is {self.kind})"


def file_kind(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is, for a message (``"a pipe"``, ``"a folder"``...)."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def check_regular_file(path: str | os.PathLike[str]) -> Path:
    """``path`` if it is a regular file (a symbolic link is followed); nothing is opened.

    Raises
    ------
    FileNotFoundError
        When it does not exist.
    NotRegularFileError
        When it is a folder, a pipe, a socket or a device.
    OSError
        When it cannot be inspected.
    """
    path = Path(path)
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        raise NotRegularFileError(path, file_kind(mode))
    return path


def read_regular_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a regular file, never blocking on a pipe or reading a device.

    The path is inspected before it is opened (opening some devices has effects, e.g. a serial
    port resets the board behind it), and the opened file again, without waiting, in case it
    was replaced in between.

    Raises
    ------
    FileNotFoundError
        When it does not exist.
    NotRegularFileError
        When it is a folder, a pipe, a socket or a device.
    OSError
        When it cannot be read.
    """
    path = check_regular_file(path)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(path, file_kind(mode))
        return f.read()


def read_config_text(
    path: str | os.PathLike[str], missing: str, what: str = "configuration file"
) -> str:
    """The UTF-8 text of a configuration file (device profile, protocol, scenario), without
    the byte-order mark an editor may have put first.

    Parameters
    ----------
    path : path-like
        The file.
    missing : str
        The problem to report when it does not exist (``"no such protocol file ..."``).
    what : str, optional
        What the file is, for a folder given in its place (``"it is a folder, not a protocol
        file"``).

    Raises
    ------
    ConfigError
        Naming the file: missing, a folder, not a regular file (never read), unreadable, not
        UTF-8, or a path too long for the system (:func:`path_too_long`).
    """
    problem = path_too_long(path)
    if problem is not None:
        raise ConfigError(shown_short(path), "", problem)
    try:
        # (a byte-order mark, which some Windows editors write first, is no part of the text)
        return read_regular_file(path).decode("utf-8-sig")
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise ConfigError(str(path), "", missing) from exc
    except NotRegularFileError as exc:
        if exc.kind == "a folder":  # (a folder is not "not a regular file" to most people)
            raise ConfigError(str(path), "", f"it is a folder, not a {what}") from exc
        raise ConfigError(str(path), "", exc.problem) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), "", f"not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read the file: {exc.strerror or exc}") from exc
