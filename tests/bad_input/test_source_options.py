"""Source options and session layouts the commands took on and should have refused.

* An empty source option (``--replay ''``, ``--lsl-name ''``, ``--device ''``...) was taken for
  a left-out one: the session silently ran on the synthetic board and recorded fake data.
* ``--ip-address 'not an ip'`` got the hint for a device that is switched off.
* ``--speed 1e-300`` stalled for ever; ``monitor --stream-lost-after 1e309`` never flagged.
* ``session.json`` layouts the engine cannot run (an EEG group of no row, two EEG groups, an
  unknown role) and recordings of a rate it cannot filter crashed ``run --replay`` with a
  traceback.
* A configuration file starting with a UTF-8 byte-order mark was "not valid TOML".

Each refusal is one ``biotrainer: `` line, exit 2, no traceback, nothing in the data folder
changed (tests/bad_input/badinputkit.py).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from badinputkit import LAYOUT, fingerprint, one_line, record_session

from biotrainer.acquisition.profiles import load_profile
from biotrainer.acquisition.simulator.scenario import load_scenario
from biotrainer.cli import main
from biotrainer.engine.protocol import load_protocol
from biotrainer.session.folder import META_FILE
from biotrainer.session.store import Store

PROTOCOL = """name = "short"
feedback = "alpha"
[[phases]]
kind = "baseline"
duration_s = 5
[[phases]]
kind = "training"
duration_s = 5
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """A data folder with patient P1 and one registered recording; a spare good recording, a
    recording whose EEG came at 20 Hz, and a short protocol."""
    root = tmp_path_factory.mktemp("source-options")
    data = root / "data"
    folder = data / "sessions" / "20250101-000000-muse2"
    folder.mkdir(parents=True)
    record_session(folder, seconds=4.0)
    with Store.open(data) as store:
        store.add_patient("P1")
        store.finish_session(store.add_session("P1", folder, "alpha-uptraining", "muse2").id)
    good = root / "good"
    shutil.copytree(folder, good)
    slow_layout = dataclasses.replace(
        LAYOUT, presets=(dataclasses.replace(LAYOUT.presets[0], fs=20.0),)
    )
    (root / "slow").mkdir()
    slow = record_session(root / "slow", seconds=4.0, layout=slow_layout)
    (root / "short.toml").write_text(PROTOCOL)
    return {"data": data, "good": good, "slow": slow, "protocol": root / "short.toml"}


def _refused(capsys, argv: list[str]) -> str:
    return one_line(main(argv), capsys.readouterr().err)


# -- empty source options -----------------------------------------------------------------

EMPTY_OPTIONS = (
    "--replay",
    "--lsl-name",
    "--lsl-type",
    "--device",
    "--scenario",
    "--protocol",
    "--file",
    "--file-aux",
    "--file-anc",
    "--master-board",
)


#: (command, option): every command with the option (run's own --protocol is not here: it is
#: defined in commands/run.py).
EMPTY_CASES = [
    (command, option)
    for command in ("gui", "run", "record")
    for option in EMPTY_OPTIONS
    if not (command == "record" and option in ("--replay", "--protocol"))
    and not (command == "run" and option == "--protocol")
]


@pytest.mark.parametrize("value", ["", "  "], ids=["empty", "blank"])
@pytest.mark.parametrize(("command", "option"), EMPTY_CASES)
def test_an_empty_source_option_is_refused_not_taken_as_left_out(
    world, capsys, command, option, value
) -> None:
    """(``run --replay ''`` recorded the synthetic board as the patient's session.)"""
    before = fingerprint(world["data"])
    argv = [command, option, value, "--data-dir", str(world["data"])]
    if command == "record":
        argv += ["--duration", "1"]
    line = _refused(capsys, argv)
    assert line == f"biotrainer: {option} is empty: give a value or leave it out"
    assert fingerprint(world["data"]) == before


# -- IP address, speed, monitor thresholds --------------------------------------------------


@pytest.mark.parametrize("address", ["not an ip", "256.1.1.1", "", "192.168.1"])
@pytest.mark.parametrize("device", ["crown", "emotibit"])
def test_an_ip_address_that_is_none_is_said_to_be_none(capsys, device, address) -> None:
    """(It got "... is not ready: switch it on", a hint for hardware.)"""
    line = _refused(
        capsys, ["record", "--device", device, "--ip-address", address, "--duration", "1"]
    )
    assert line == f"biotrainer: --ip-address {address!r} is not an IP address (e.g. 192.168.4.1)"


@pytest.mark.parametrize("address", ["192.168.4.1", "::1", "225.1.1.1"])
def test_ip_addresses_are_taken(address) -> None:
    from biotrainer.cli import build_parser

    args = build_parser().parse_args(["record", "--ip-address", address, "--duration", "1"])
    assert args.ip_address == address


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--device", "simulator", "--no-record"],
        ["replay", "{good}"],
    ],
    ids=["run", "replay"],
)
@pytest.mark.parametrize("speed", ["1e-300", "0.001"])
def test_a_speed_too_slow_to_see_is_refused(world, capsys, argv, speed) -> None:
    """(``--speed 1e-300`` ran for ever printing nothing.)"""
    argv = [a.format(good=world["good"]) for a in argv]
    line = _refused(capsys, [*argv, "--speed", speed])
    assert (
        line == f"biotrainer: --speed '{speed}' is too slow: give at least 0.01 (times real time)"
    )


@pytest.mark.parametrize("value", ["", "  "], ids=["empty", "blank"])
@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--device", "simulator", "--no-record", "--data-dir", "{data}"],
        ["replay", "{good}"],
        ["gui", "--device", "simulator", "--data-dir", "{data}"],
    ],
    ids=["run", "replay", "gui"],
)
def test_an_empty_speed_is_refused_not_taken_as_real_time(world, capsys, argv, value) -> None:
    """(``run --speed ''``, an empty shell variable, ran the 12-minute session at real time.)"""
    argv = [a.format(good=world["good"], data=world["data"]) for a in argv]
    before = fingerprint(world["data"])
    line = _refused(capsys, [*argv, "--speed", value])
    assert line == "biotrainer: --speed is empty: give a value or leave it out"
    assert fingerprint(world["data"]) == before


def test_the_slowest_speed_is_taken() -> None:
    from biotrainer.commands.sources import parse_speed

    assert parse_speed("0.01") == 0.01


@pytest.mark.parametrize(
    ("value", "shown"), [("1e309", "inf"), ("1e300", "1e+300"), ("3601", "3601"), ("0", "0")]
)
@pytest.mark.parametrize("option", ["--stream-lost-after", "--signal-lost-after"])
def test_monitor_thresholds_are_bounded(capsys, option, value, shown) -> None:
    """(1e309 was taken: a station was never flagged. The window is never opened here.)"""
    line = _refused(capsys, ["monitor", option, value])
    assert line == (
        f"biotrainer: {option} must be a positive number of seconds, at most 3600, not {shown}"
    )


# -- recordings the engine cannot run ------------------------------------------------------


def _copy_edit(world: dict, tmp: Path, edit: Callable[[dict], None]) -> Path:
    s = tmp / "s"
    shutil.copytree(world["good"], s)
    d = json.loads((s / META_FILE).read_text())
    edit(d)
    (s / META_FILE).write_text(json.dumps(d))
    return s


def _rows_empty(d: dict) -> None:
    d["layout"]["groups"][0]["rows"] = []
    d["layout"]["groups"][0]["names"] = []


def _role_twice(d: dict) -> None:
    groups = d["layout"]["groups"]
    groups.append(dict(groups[0], rows=[5], names=["X"]))


def _role(role: str) -> Callable[[dict], None]:
    def edit(d: dict) -> None:
        d["layout"]["groups"][0]["role"] = role

    return edit


LAYOUT_CASES = [
    ("rows-empty", _rows_empty, "'layout.groups[0].rows' is empty: a channel group needs"),
    ("role-twice", _role_twice, "'layout.groups[1].role' 'eeg' appears twice: one group per role"),
    ("role-unknown", _role("foo"), "'layout.groups[0].role' is 'foo', not a role biotrainer knows"),
    ("role-upper-case", _role("EEG"), "'layout.groups[0].role' is 'EEG', not a role"),
]

COMMANDS = {
    "replay": ["replay", "{s}", "--speed", "max"],
    "export": ["export", "{s}", "--edf", "{tmp}/x.edf"],
    "run-replay": ["run", "--replay", "{s}", "--speed", "max", "--no-record"],
    "import": ["sessions", "import", "{s}", "--patient", "P1", "--data-dir", "{data}"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(("edit", "words"), [pytest.param(e, w, id=i) for i, e, w in LAYOUT_CASES])
def test_a_layout_the_engine_cannot_run_is_corrupt(
    world, tmp_path, capsys, command, edit, words
) -> None:
    """(``run --replay`` died with ValueError "n_channels must be >= 1" or a shape mismatch.)"""
    s = _copy_edit(world, tmp_path, edit)
    before = fingerprint(world["data"])
    fill = {"s": s, "tmp": tmp_path, "data": world["data"]}
    argv = [a.format(**fill) for a in COMMANDS[command]]
    line = _refused(
        capsys,
        [*argv, *(["--protocol", str(world["protocol"])] if command == "run-replay" else [])],
    )
    assert line.startswith(f"biotrainer: {s / META_FILE} is corrupt: ")
    assert words in line
    assert fingerprint(world["data"]) == before
    assert not (tmp_path / "x.edf").exists()


@pytest.mark.parametrize("command", ["run", "gui"])
def test_a_recording_too_slow_to_process_is_not_replayed_into_a_session(
    world, tmp_path, capsys, monkeypatch, command
) -> None:
    """EEG recorded at 20 Hz (an LSL stream before the LSL source refused it): a traceback from
    AlphaStream before."""
    before = fingerprint(world["data"])
    argv = [command, "--replay", str(world["slow"])]
    if command == "run":
        argv += ["--speed", "max", "--protocol", str(world["protocol"])]
    else:  # (refused before any window opens; the dialog that says it too is not shown here)
        shown = []
        monkeypatch.setattr("biotrainer.commands.gui._show_error", shown.append)
        argv += ["--no-patient"]
    line = _refused(capsys, [*argv, "--data-dir", str(world["data"])])
    assert line == (
        f"biotrainer: the recording {world['slow'] / META_FILE} cannot be replayed into a "
        "session: its EEG comes at 20 Hz, below the 32 Hz biotrainer needs for EEG"
    )
    assert fingerprint(world["data"]) == before
    if command == "gui":
        assert [str(e) for e in shown] == [line.removeprefix("biotrainer: ")]


def test_a_recording_too_slow_to_process_still_exports(world, tmp_path, capsys) -> None:
    """Its data stay readable: the refusal is of a training session, not of the recording."""
    assert main(["export", str(world["slow"]), "--edf", str(tmp_path / "slow.edf")]) == 0
    assert (tmp_path / "slow.edf").stat().st_size > 0


# -- a byte-order mark ----------------------------------------------------------------------

BOM = b"\xef\xbb\xbf"


def test_configuration_files_may_start_with_a_byte_order_mark(tmp_path) -> None:
    """(Windows Notepad writes one: "not valid TOML ... at line 1, column 1" before.)"""
    (tmp_path / "short.toml").write_bytes(BOM + PROTOCOL.encode())
    assert load_protocol(tmp_path / "short.toml").name == "short"
    scenario = 'name = "calm"\n[[segments]]\nduration_s = 60\n'
    (tmp_path / "calm.toml").write_bytes(BOM + scenario.encode())
    assert load_scenario(tmp_path / "calm.toml").name == "calm"
    profile = (Path(__file__).parents[2] / "devices" / "synthetic.toml").read_bytes()
    (tmp_path / "synthetic.toml").write_bytes(BOM + profile)
    assert load_profile(tmp_path / "synthetic.toml").name == "synthetic"


def test_a_scenario_longer_than_four_hours_in_all_is_refused(tmp_path, capsys) -> None:
    """(Segments of up to 24 h each, any number of them: the render died of MemoryError.)"""
    text = 'name = "long"\n' + "[[segments]]\nduration_s = 10000\n" * 2
    (tmp_path / "long.toml").write_text(text)
    argv = ["run", "--device", "simulator", "--scenario", str(tmp_path / "long.toml")]
    line = _refused(capsys, [*argv, "--speed", "max", "--no-record"])
    assert line == (
        f"biotrainer: {tmp_path / 'long.toml'}: segments[1].duration_s: brings the scenario to "
        "20000 s: all segments together may last at most 14400 s (4 h)"
    )
