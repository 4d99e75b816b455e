"""The file an export writes (PDF reports, the metrics CSV, EDF+; CLI and the writers the GUI
calls): a link to a file is followed and kept, a link to nothing, a folder, a pipe or a device
(also through a link) is refused before anything is written, an existing file is replaced only
with ``--overwrite``, nothing is written into the data folder or a session folder, and a
terminated or killed export leaves no temporary file for long.

A device is only ever a link in the test's folder to ``/dev/null``, and the rename every export
ends with is watched so that it could never be made onto anything outside the test's folder.
"""

from __future__ import annotations

import os
import signal
import stat
import time
from pathlib import Path

import pytest
from badinputkit import fingerprint, one_line, record_session, run_recorded_session

from biotrainer.cli import EXIT_INTERRUPTED, main
from biotrainer.errors import BiotrainerError
from biotrainer.paths import check_export_target
from biotrainer.session.store import Store

#: How an export's temporary file is named (``.biotrainer-export-XXXXXXXX.pdf.part``): the
#: name a later export recognises as a leftover of a killed one.
EXPORT_TEMP_PREFIX = ".biotrainer-export-"
KINDS = ("pdf", "progress", "csv", "edf")
#: The first bytes of a file each export writes.
MAGIC = {"pdf": b"%PDF-", "progress": b"%PDF-", "csv": b"session_s,", "edf": b"0       "}
SUFFIX = {"pdf": ".pdf", "progress": ".pdf", "csv": ".csv", "edf": ".edf"}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """A data folder with patient P1 and one recorded, registered session."""
    return run_recorded_session(tmp_path_factory.mktemp("targets"))


@pytest.fixture(autouse=True)
def _data_folder(world, monkeypatch) -> None:
    """The data folder is the world's for ``export`` too (it takes no --data-dir here)."""
    monkeypatch.setenv("BIOTRAINER_DATA", str(world["data"]))


def _argv(world: dict[str, Path], kind: str, out: Path, *extra: str) -> list[str]:
    data = ["--data-dir", str(world["data"])]
    if kind == "pdf":
        return ["report", str(world["sid"]), "--out", str(out), *data, *extra]
    if kind == "progress":
        return ["report", "--patient", "P1", "--out", str(out), *data, *extra]
    if kind == "csv":
        return ["report", str(world["sid"]), "--csv", str(out), *data, *extra]
    return ["export", str(world["folder"]), "--edf", str(out), *extra]


def _write(world: dict[str, Path], kind: str, out: Path) -> None:
    """Export with the function the GUI calls (no check of the command line before it)."""
    if kind == "edf":
        from biotrainer.session.edf import export_edf

        export_edf(world["folder"], out)
        return
    if kind == "csv":
        from biotrainer.reports.csv_export import export_metrics_csv

        export_metrics_csv(world["folder"], out)
        return
    from biotrainer.ui.report_pdf import write_progress_pdf, write_session_pdf

    with Store.open_to_read(world["data"]) as store:
        if kind == "pdf":
            from biotrainer.reports.session_report import build_session_report

            write_session_pdf(build_session_report(store, int(str(world["sid"]))), out)
        else:
            from biotrainer.reports.progress import build_progress_report

            write_progress_pdf(build_progress_report(store, "P1"), out)


@pytest.fixture
def watched_replace(tmp_path, monkeypatch) -> list[tuple[str, str]]:
    """Every rename made (an export's last step), refused onto anything outside ``tmp_path``."""
    made: list[tuple[str, str]] = []
    replace = os.replace
    inside = os.path.realpath(tmp_path)

    def guarded(src, dst, *args, **kwargs):
        if not os.path.realpath(dst).startswith(inside + os.sep):
            raise AssertionError(f"a rename onto {dst} ({os.path.realpath(dst)})")
        made.append((os.fspath(src), os.fspath(dst)))
        return replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", guarded)
    return made


def _kind_of(path: Path) -> str:
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISFIFO(mode):
        return "pipe"
    if stat.S_ISDIR(mode):
        return "folder"
    return "file" if stat.S_ISREG(mode) else "other"


# -- links to a file: followed, the link kept ---------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_link_to_a_file_is_written_through_and_kept(world, tmp_path, kind) -> None:
    old = tmp_path / f"old{SUFFIX[kind]}"
    old.write_bytes(b"an older export")
    link = tmp_path / f"latest{SUFFIX[kind]}"
    link.symlink_to(old)
    _write(world, kind, link)
    assert _kind_of(link) == "link" and os.readlink(link) == str(old)
    assert old.read_bytes().startswith(MAGIC[kind])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([old.name, link.name])


@pytest.mark.parametrize("kind", KINDS)
def test_the_cli_replaces_a_linked_file_only_with_overwrite(world, tmp_path, capsys, kind):
    old = tmp_path / f"old{SUFFIX[kind]}"
    old.write_bytes(b"an older export")
    link = tmp_path / f"latest{SUFFIX[kind]}"
    link.symlink_to(old)
    line = one_line(main(_argv(world, kind, link)), capsys.readouterr().err)
    assert f"{link} already exists" in line and "--overwrite" in line
    assert old.read_bytes() == b"an older export"
    assert main(_argv(world, kind, link, "--overwrite")) == 0, capsys.readouterr().err
    assert _kind_of(link) == "link" and old.read_bytes().startswith(MAGIC[kind])


# -- an existing file, the data folder, a session folder ----------------------------------


@pytest.mark.parametrize("kind", ["pdf", "progress", "edf"])  # (--csv refused one already)
def test_an_existing_file_is_replaced_only_with_overwrite(world, tmp_path, capsys, kind):
    out = tmp_path / f"x{SUFFIX[kind]}"
    out.write_bytes(b"an older export")
    line = one_line(main(_argv(world, kind, out)), capsys.readouterr().err)
    assert line == (
        f"biotrainer: {out} already exists: give a new file name for "
        f"{'--edf' if kind == 'edf' else '--out'}, or add --overwrite to replace it"
    )
    assert out.read_bytes() == b"an older export"
    assert main(_argv(world, kind, out, "--overwrite")) == 0, capsys.readouterr().err
    assert out.read_bytes().startswith(MAGIC[kind])


@pytest.mark.parametrize("kind", ["pdf", "progress", "edf"])  # (--csv refused these already)
@pytest.mark.parametrize("where", ["sessions", "session-folder"])
def test_nothing_is_written_into_the_data_folder(world, capsys, kind, where) -> None:
    folder = world["data"] / "sessions" if where == "sessions" else world["folder"]
    out = folder / f"new{SUFFIX[kind]}"
    before = fingerprint(world["data"])
    for extra in ((), ("--overwrite",)):
        line = one_line(main(_argv(world, kind, out, *extra)), capsys.readouterr().err)
        assert f"{out} is inside the data folder {world['data']}" in line
    assert not out.exists()
    assert fingerprint(world["data"]) == before


def test_an_existing_report_in_the_data_folder_is_never_replaced(world, capsys) -> None:
    out = world["folder"] / "events.csv"
    before = fingerprint(world["data"])
    argv = ["report", str(world["sid"]), "--data-dir", str(world["data"]), "--overwrite"]
    line = one_line(main([*argv, "--csv", str(out)]), capsys.readouterr().err)
    assert f"{out} already exists in the data folder" in line and "never replaced" in line
    assert fingerprint(world["data"]) == before


def test_no_edf_into_a_session_folder_outside_the_data_folder(tmp_path, capsys) -> None:
    (tmp_path / "s").mkdir()
    session = record_session(tmp_path / "s")
    files = sorted(session.iterdir())
    for out in (session / "x.edf", session / "sub" / "x.edf"):
        line = one_line(main(["export", str(session), "--edf", str(out)]), capsys.readouterr().err)
        assert f"{out} is inside the session folder {session}" in line
    assert sorted(session.iterdir()) == files


# -- what is not a file: refused, left as it is -------------------------------------------


def _special(tmp_path: Path, what: str, suffix: str) -> Path:
    out = tmp_path / f"target{suffix}"
    if what == "pipe":
        os.mkfifo(out)
    elif what == "folder":
        out.mkdir()
    elif what == "link-to-folder":
        (tmp_path / "Reports").mkdir()
        out.symlink_to(tmp_path / "Reports")
    elif what == "link-to-pipe":
        os.mkfifo(tmp_path / "pipe")
        out.symlink_to(tmp_path / "pipe")
    elif what == "link-to-device":
        out.symlink_to("/dev/null")
    elif what == "link-to-nothing":
        out.symlink_to(tmp_path / "gone" / f"old{suffix}")
    else:  # a link to itself, by way of another
        out.symlink_to(tmp_path / "loop")
        (tmp_path / "loop").symlink_to(out)
    return out


#: What each special target is called in the refusal.
SAID = {
    "pipe": "it is a pipe, not a regular file",
    "folder": "it is a folder, not a regular file",
    "link-to-folder": "it is a link to {tmp}/Reports, which is a folder, not a regular file",
    "link-to-pipe": "it is a link to {tmp}/pipe, which is a pipe, not a regular file",
    "link-to-device": "it is a link to /dev/null, which is a device, not a regular file",
    "link-to-nothing": "it is a link to nothing (its target {tmp}/gone/old{suffix} is missing",
    "link-loop": "it is a link to nothing",
}


@pytest.mark.parametrize("overwrite", [(), ("--overwrite",)], ids=["", "overwrite"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("what", list(SAID))
def test_a_target_that_is_not_a_file_is_refused_by_the_cli(
    world, tmp_path, capsys, watched_replace, kind, what, overwrite
) -> None:
    out = _special(tmp_path, what, SUFFIX[kind])
    kinds = {p.name: _kind_of(p) for p in tmp_path.iterdir()}
    line = one_line(main(_argv(world, kind, out, *overwrite)), capsys.readouterr().err)
    said = SAID[what].format(tmp=os.path.realpath(tmp_path), suffix=SUFFIX[kind])
    assert line.startswith(f"biotrainer: cannot write {out}: {said}"), line
    assert {p.name: _kind_of(p) for p in tmp_path.iterdir()} == kinds
    assert watched_replace == []
    if (tmp_path / "Reports").exists():
        assert list((tmp_path / "Reports").iterdir()) == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("what", list(SAID))
def test_a_target_that_is_not_a_file_is_refused_by_the_writers(
    world, tmp_path, watched_replace, kind, what
) -> None:
    """The GUI's save buttons call these writers (and show the message in a dialog)."""
    out = _special(tmp_path, what, SUFFIX[kind])
    kinds = {p.name: _kind_of(p) for p in tmp_path.iterdir()}
    with pytest.raises(BiotrainerError) as refused:
        _write(world, kind, out)
    said = SAID[what].format(tmp=os.path.realpath(tmp_path), suffix=SUFFIX[kind])
    assert str(refused.value).startswith(f"cannot write {out}: {said}")
    assert {p.name: _kind_of(p) for p in tmp_path.iterdir()} == kinds
    assert watched_replace == []


def test_the_gui_check_refuses_a_link_to_a_pipe(world, tmp_path) -> None:
    """The history window and the session summary check the file before building the report."""
    out = _special(tmp_path, "link-to-pipe", ".pdf")
    with pytest.raises(BiotrainerError, match="which is a pipe, not a regular file"):
        check_export_target(out, world["data"], inside_ok=True)


# -- temporary files: gone after SIGTERM, and after SIGKILL by the next export ------------


@pytest.fixture
def sigterm_noted(monkeypatch) -> list[int]:
    """SIGTERM noted instead of ending the test run (the export's own handler, if any, takes
    its place while it runs)."""
    noted: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: noted.append(signum))
    yield noted
    signal.signal(signal.SIGTERM, previous)


def _terminate_while_writing(monkeypatch, kind: str, seen: list[str], folder: Path) -> None:
    """SIGTERM to this process once the temporary file is written (before its rename)."""
    if kind == "edf":
        import biotrainer.session.edf as module

        name = "_write_edf"
    elif kind == "csv":
        import biotrainer.reports.csv_export as module

        name = "_cell"
    else:
        import biotrainer.ui.report_pdf as module

        name = "_print_pdf"
    original = getattr(module, name)

    def then_terminate(*args, **kwargs):
        result = original(*args, **kwargs)
        if not seen:
            seen.extend(sorted(p.name for p in folder.iterdir()))
            os.kill(os.getpid(), signal.SIGTERM)
        return result

    monkeypatch.setattr(module, name, then_terminate)


@pytest.mark.parametrize("kind", KINDS)
def test_sigterm_during_an_export_leaves_no_temporary_file(
    world, tmp_path, capsys, monkeypatch, sigterm_noted, kind
) -> None:
    seen: list[str] = []
    _terminate_while_writing(monkeypatch, kind, seen, tmp_path)
    code = main(_argv(world, kind, tmp_path / f"x{SUFFIX[kind]}"))
    assert "Traceback" not in capsys.readouterr().err
    assert len(seen) == 1 and seen[0].startswith(EXPORT_TEMP_PREFIX)  # (named as its own)
    assert code == EXIT_INTERRUPTED
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", KINDS)
def test_an_export_removes_what_a_killed_one_left(world, tmp_path, capsys, kind) -> None:
    """A temporary file of an export killed with SIGKILL (unused for hours) is removed by the
    next export to the folder; a young one (an export still running) and others' files stay."""
    suffix = SUFFIX[kind]
    left = tmp_path / f"{EXPORT_TEMP_PREFIX}k1ll3d{suffix}.part"
    young = tmp_path / f"{EXPORT_TEMP_PREFIX}runn1n{suffix}.part"
    others = [tmp_path / f".tmpk1ll3d{suffix}.part", tmp_path / "notes.part"]
    for f in (left, young, *others):
        f.write_bytes(b"x" * 1000)
    hours_ago = time.time() - 3 * 3600
    for f in (left, *others):
        os.utime(f, (hours_ago, hours_ago))
    out = tmp_path / f"x{suffix}"
    assert main(_argv(world, kind, out)) == 0, capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (out, young, *others)
    )
