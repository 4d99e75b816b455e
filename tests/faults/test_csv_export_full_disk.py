"""`report --csv` on a full disk: one clear line and nothing under the name asked for.

The CSV was written straight into the requested file: a full disk left it truncated there, and
the next try (once space was freed) was refused because the file existed. A full disk is
simulated by a file that takes a few kilobytes, then fails with ``ENOSPC`` as a real one does.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from biotrainer.cli import main
from biotrainer.errors import BiotrainerError
from biotrainer.reports.csv_export import export_metrics_csv


@pytest.fixture(scope="module")
def session(tmp_path_factory, short_run_argv) -> tuple[Path, Path]:
    """A data folder with one short session (id 1) of patient P-1; its folder."""
    base = tmp_path_factory.mktemp("csv")
    data = base / "data"
    assert main(["patients", "add", "P-1", "--data-dir", str(data)]) == 0
    assert main(short_run_argv(data, base)) == 0
    (folder,) = (data / "sessions").iterdir()
    return data, folder


class _FillingFile:
    """A text file on a disk with ``room`` characters left: what fits is written, then the
    write fails with ENOSPC."""

    def __init__(self, f, room: int) -> None:
        self._f = f
        self._room = room

    def write(self, text: str) -> int:
        if len(text) > self._room:
            self._f.write(text[: self._room])
            self._f.flush()
            self._room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(text)
        return self._f.write(text)

    def __getattr__(self, name: str):
        return getattr(self._f, name)

    def __enter__(self) -> _FillingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()


@pytest.fixture
def full_disk(monkeypatch) -> None:
    """Files opened from a descriptor (as the export opens its file) fill up after 4 kB."""
    real = os.fdopen

    def fdopen(fd, *args, **kwargs):
        return _FillingFile(real(fd, *args, **kwargs), room=4096)

    monkeypatch.setattr(os, "fdopen", fdopen)


def test_a_full_disk_leaves_no_truncated_csv(session, tmp_path, full_disk) -> None:
    _, folder = session
    out = tmp_path / "exports" / "s1.csv"
    out.parent.mkdir()
    with pytest.raises(BiotrainerError, match=f"cannot write {out}: No space left on device"):
        export_metrics_csv(folder, out)
    assert list(out.parent.iterdir()) == []  # neither the file nor a temporary one


def test_report_csv_on_a_full_disk_can_be_tried_again(session, tmp_path, monkeypatch, capsys):
    data, _ = session
    out = tmp_path / "s1.csv"
    real = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: _FillingFile(real(fd, *a, **k), 4096))
    capsys.readouterr()
    assert main(["report", "1", "--csv", str(out), "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip() == f"biotrainer: cannot write {out}: No space left on device"
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(os, "fdopen", real)  # space freed: the same command works
    assert main(["report", "1", "--csv", str(out), "--data-dir", str(data)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("session_s,") and len(lines) > 20
    assert (out.stat().st_mode & 0o777) == 0o600
