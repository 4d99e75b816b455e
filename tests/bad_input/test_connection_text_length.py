"""Connection settings too long for BrainFlow are refused before BrainFlow sees them.

A serial port named with some 1050 characters or more made BrainFlow abort the whole process
("double free or corruption (!prev)", exit 134, no message); 1000 characters got the proper
"no device answered" line. ``--serial-port``, ``--serial-number``, ``--other-info`` and
``--ip-address`` (whose IPv6 zone may be any text) now take at most 255 characters, and the
playback ``--file`` options a path the system can take, each refused in one line naming the
option and the limit.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from badinputkit import one_line

from biotrainer.cli import main
from biotrainer.limits import MAX_CONNECTION_TEXT

#: (option, device whose profile takes it, what the line says the value is)
OPTIONS = [
    ("--serial-port", "cyton", "a serial port's name"),
    ("--serial-number", "muse2", "a serial number or device name"),
    ("--other-info", "callibri-ecg", "a board's extra setting"),
]


@pytest.mark.parametrize("length", [MAX_CONNECTION_TEXT + 1, 1000])  # (1100: below)
@pytest.mark.parametrize(("option", "device", "what"), OPTIONS, ids=[o[0] for o in OPTIONS])
def test_a_connection_text_over_255_characters_is_refused(
    tmp_path, capsys, option, device, what, length
) -> None:
    value = "/dev/" + "x" * (length - 5)
    argv = ["record", "--device", device, option, value, "--duration", "1", "--timeout", "1"]
    line = one_line(main([*argv, "--data-dir", str(tmp_path / "data")]), capsys.readouterr().err)
    assert line == (
        f"biotrainer: {option} is {length} characters long: {what} has at most 255 "
        "('/dev/xxxxxxxxxxxxxxx'…)"
    )
    assert not (tmp_path / "data").exists()  # no session folder, nothing registered


def test_an_ip_address_with_a_zone_over_255_characters_is_refused(capsys) -> None:
    address = "fe80::1%" + "x" * 300
    line = one_line(
        main(["record", "--device", "crown", "--ip-address", address]), capsys.readouterr().err
    )
    assert line.startswith("biotrainer: --ip-address is 308 characters long: an IP address has")


def test_255_characters_are_still_taken() -> None:
    from biotrainer.cli import build_parser

    port = "/dev/" + "x" * (MAX_CONNECTION_TEXT - 5)
    args = build_parser().parse_args(
        ["record", "--device", "cyton", "--serial-port", port, "--duration", "1"]
    )
    assert args.serial_port == port


def test_a_serial_port_brainflow_would_abort_on_is_said_in_a_line() -> None:
    """In a process of its own: on the old code BrainFlow ended the process (exit 134)."""
    port = "/dev/" + "x" * 1100
    argv = ["record", "--device", "cyton", "--serial-port", port, "--duration", "1"]
    code = "import sys; from biotrainer.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60
    )
    line = one_line(done.returncode, done.stderr)
    assert line.startswith("biotrainer: --serial-port is 1105 characters long")


@pytest.mark.parametrize(
    ("device", "field"),
    [("cyton", "serial_port"), ("muse2", "serial_number"), ("crown", "ip_address")],
)
def test_a_long_connection_text_from_the_api_is_refused_before_brainflow(
    device: str, field: str
) -> None:
    """Code that builds the connection itself (not through the command line) is refused too:
    BrainFlow never gets the text."""
    from biotrainer.acquisition.brainflow_source import BrainFlowSource, ConnectionParams
    from biotrainer.acquisition.profiles import load_profile
    from biotrainer.clock import SimulatedClock
    from biotrainer.errors import DeviceError

    made = []
    conn = ConnectionParams(**{field: "x" * (MAX_CONNECTION_TEXT + 1)})
    with pytest.raises(DeviceError, match=f"is {MAX_CONNECTION_TEXT + 1} characters long"):
        BrainFlowSource(
            load_profile(device), conn, SimulatedClock(1.0), board_factory=lambda *a: made.append(a)
        ).prepare()
    assert made == []
