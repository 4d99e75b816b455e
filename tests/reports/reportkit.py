"""Helpers of the report tests: the CLI run in process, and a PDF read back as text."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from biotrainer.cli import main


def cli(*args: str) -> tuple[int, str, str]:
    """Run ``biotrainer ARGS`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()


def pdf_text(path: Path) -> str:
    """The text of a PDF, ligatures spelt out and white space collapsed (needs pypdf)."""
    import pypdf

    text = " ".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    text = text.replace("\ufb01", "fi").replace("\ufb02", "fl")
    return re.sub(r"\s+", " ", text)


def pdf_images(path: Path) -> int:
    """How many images the PDF's pages hold (needs pypdf)."""
    import pypdf

    return sum(len(page.images) for page in pypdf.PdfReader(path).pages)


def record_session(
    tmp: Path, protocol_toml: str, patient: str, name: str = "protocol"
) -> tuple[str, str, Path]:
    """Record a session of ``protocol_toml`` (its ``name``) for a new ``patient`` from the
    simulator at full speed, in a data folder under ``tmp``: (data folder, session id, its
    metrics.csv)."""
    data = str(tmp / "data")
    protocol = tmp / f"{name}.toml"
    protocol.write_text(protocol_toml)
    assert cli("patients", "add", patient, "--data-dir", data)[0] == 0
    rc, out, err = cli("run", "--protocol", str(protocol), "--patient", patient,
                       "--device", "simulator", "--speed", "max", "--data-dir", data)  # fmt: skip
    assert rc == 0, err
    (sid,) = [x.split()[1] for x in out.splitlines() if x.startswith("session ")]
    (metrics,) = Path(data).rglob("metrics.csv")
    return data, sid, metrics
