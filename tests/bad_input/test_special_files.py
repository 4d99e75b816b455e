"""Pipes and devices given as configuration files: one line saying what they are, never a hang.

A named pipe (``os.mkfifo``) or ``/dev/zero`` given as a scenario (``--scenario``), a protocol
(``--protocol``) or a device profile (``--device``), by path or found by name in
``$BIOTRAINER_SCENARIOS`` / ``$BIOTRAINER_PROTOCOLS`` / ``$BIOTRAINER_DEVICES``, was said to be
missing ("no such file", "unknown scenario" while listing it). Reading one would wait for a writer
forever or never end: each is refused, before it is opened for reading, with exit code 2 and one
line naming the file and what it is. An alarm fails a test that hangs.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from badinputkit import one_line

from biotrainer.cli import main

REPO = Path(__file__).resolve().parents[2]
PIPE = "not a regular file (it is a pipe)"
DEVICE = "not a regular file (it is a device)"
RUN = ["run", "--no-record"]
SIMULATOR = ["run", "--no-record", "--device", "simulator", "--speed", "max"]
PROTOCOLS = "BIOTRAINER_PROTOCOLS"


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Fail (instead of waiting forever) when the code under test blocks on a pipe."""

    def alarm(signum: int, frame: object) -> None:
        pytest.fail("hung reading a pipe or a device")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(30)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def specials(tmp_path: Path, no_hang: None) -> Path:
    """In ``tmp_path``: pipes ``fifo.toml`` and ``fifo``, ``zero.toml`` (a link to /dev/zero),
    and a folder ``search`` (for the search path variables) holding ``pipe.toml`` (a pipe) and
    ``zero.toml``."""
    os.mkfifo(tmp_path / "fifo.toml")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "zero.toml").symlink_to("/dev/zero")
    search = tmp_path / "search"
    search.mkdir()
    os.mkfifo(search / "pipe.toml")
    (search / "zero.toml").symlink_to("/dev/zero")
    return tmp_path


# (id, argv with {tmp}, environment variables set to {tmp}/search, words the line must hold)
CASES: list[tuple[str, list[str], tuple[str, ...], str]] = [
    # scenarios, by path and by name
    ("scenario-pipe", [*SIMULATOR, "--scenario", "{tmp}/fifo.toml"], (), f"fifo.toml: {PIPE}"),
    ("scenario-dev-zero", [*SIMULATOR, "--scenario", "/dev/zero"], (), f"/dev/zero: {DEVICE}"),
    ("scenario-link-to-zero", [*SIMULATOR, "--scenario", "{tmp}/zero.toml"], (), DEVICE),
    (
        "scenario-pipe-by-name",
        [*SIMULATOR, "--scenario", "pipe"],
        ("BIOTRAINER_SCENARIOS",),
        f"{{tmp}}/search/pipe.toml: {PIPE}",
    ),
    (
        "scenario-pipe-on-record",
        ["record", "--device", "simulator", "--duration", "1", "--scenario", "{tmp}/fifo.toml"],
        (),
        f"fifo.toml: {PIPE}",
    ),
    # protocols, by path (with or without .toml) and by name
    ("protocol-pipe", [*RUN, "--protocol", "{tmp}/fifo.toml"], (), f"{{tmp}}/fifo.toml: {PIPE}"),
    ("protocol-pipe-no-suffix", [*RUN, "--protocol", "{tmp}/fifo"], (), f"{{tmp}}/fifo: {PIPE}"),
    ("protocol-dev-zero", [*RUN, "--protocol", "/dev/zero"], (), f"/dev/zero: {DEVICE}"),
    ("protocol-link-to-zero", [*RUN, "--protocol", "{tmp}/zero.toml"], (), DEVICE),
    *(
        (f"protocol-{name}-by-name", [*RUN, "--protocol", name], (PROTOCOLS,), words)
        for name, words in (("pipe", f"search/pipe.toml: {PIPE}"), ("zero", DEVICE))
    ),
    # device profiles, by path and by name
    ("device-pipe", [*RUN, "--device", "{tmp}/fifo.toml"], (), f"{{tmp}}/fifo.toml: {PIPE}"),
    ("device-dev-zero", [*RUN, "--device", "/dev/zero"], (), f"/dev/zero: {DEVICE}"),
    (
        "device-pipe-by-name",
        [*RUN, "--device", "pipe"],
        ("BIOTRAINER_DEVICES",),
        f"{{tmp}}/search/pipe.toml: {PIPE}",
    ),
    (
        "device-zero-by-name-on-record",
        ["record", "--device", "zero", "--duration", "1"],
        ("BIOTRAINER_DEVICES",),
        f"search/zero.toml: {DEVICE}",
    ),
    ("devices-detail-pipe", ["devices", "{tmp}/fifo.toml"], (), f"fifo.toml: {PIPE}"),
]


@pytest.mark.parametrize(
    ("argv", "env", "words"), [pytest.param(a, e, w, id=i) for i, a, e, w in CASES]
)
def test_a_pipe_or_device_as_a_config_file_is_refused_on_one_line(
    specials: Path, monkeypatch, capsys, argv: list[str], env: tuple[str, ...], words: str
) -> None:
    for var in env:
        monkeypatch.setenv(var, str(specials / "search"))
    argv = [a.format(tmp=specials) for a in argv]
    if argv[0] == "record":
        argv += ["--data-dir", str(specials / "d")]
    line = one_line(main(argv), capsys.readouterr().err)
    assert words.format(tmp=specials) in line
    assert "no such" not in line and "unknown" not in line
    sessions = specials / "d" / "sessions"
    assert not sessions.exists() or not any(sessions.iterdir())  # no half-made session


def test_devices_lists_the_good_profiles_and_one_line_per_special_file(
    specials: Path, monkeypatch, capsys
) -> None:
    search = specials / "search"
    shutil.copy(REPO / "devices" / "muse2.toml", search / "muse2.toml")
    monkeypatch.setenv("BIOTRAINER_DEVICES", str(search))
    assert main(["devices"]) == 2
    out, err = capsys.readouterr()
    assert "muse2" in out
    assert err.splitlines() == [
        f"biotrainer: invalid profile: {search}/pipe.toml: {PIPE}",
        f"biotrainer: invalid profile: {search}/zero.toml: {DEVICE}",
    ]


def test_read_regular_file_never_opens_a_pipe_for_a_blocking_read(specials: Path) -> None:
    from biotrainer.paths import NotRegularFileError, read_regular_file

    with pytest.raises(NotRegularFileError) as info:
        read_regular_file(specials / "fifo")
    assert info.value.kind == "a pipe"
    with pytest.raises(NotRegularFileError, match="is a folder, not a regular file"):
        read_regular_file(specials / "search")
    with pytest.raises(FileNotFoundError):
        read_regular_file(specials / "missing.toml")
    (specials / "ok.toml").write_bytes(b"x = 1\n")
    assert read_regular_file(specials / "ok.toml") == b"x = 1\n"


def test_a_raw_file_that_is_a_pipe_keeps_its_recording_message(specials: Path) -> None:
    from biotrainer.errors import RecordingError
    from biotrainer.session.rawfile import check_regular_file

    with pytest.raises(RecordingError, match="is a pipe, not a regular file: it cannot be a rec"):
        check_regular_file(specials / "fifo")
    with pytest.raises(RecordingError, match=r"missing\.csv is missing from"):
        check_regular_file(specials / "missing.csv")
