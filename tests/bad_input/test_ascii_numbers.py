"""Numbers on the command line are ASCII: other scripts' digits are refused, not read.

Python's ``int()`` and ``float()`` take any Unicode decimal digit: ``biotrainer report ١``
(ARABIC-INDIC DIGIT ONE) reported session 1, ``sessions rate ١ pre --pain ٣`` rated it, and
fullwidth digits, '_' separators ('1_0') passed as well. Every session id, whole number and number
of seconds or speed is now read from ASCII digits only; anything else is refused with exit code 2
and one line naming the option and showing the value with odd characters escaped ('\\u0661').
Blanks around a number (' 12 ') are still accepted.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import pytest
from badinputkit import fingerprint, one_line, record_session

from biotrainer.cli import main
from biotrainer.session.store import Store

ARABIC_1 = "\u0661"  # ١
FULLWIDTH_1 = "\uff11"  # １
SUPERSCRIPT_1 = "\u00b9"  # ¹
ARABIC_3 = "\u0663"  # ٣
HUNDRED = "\u0661\u0660\u0660"  # ١٠٠


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """A data folder with patient P1 and session 1 (registered, completed)."""
    data = tmp_path_factory.mktemp("ascii") / "data"
    folder = data / "sessions" / "20250101-000000-muse2"
    folder.mkdir(parents=True)
    record_session(folder)
    with Store.open(data) as store:
        store.add_patient("P1")
        sid = store.add_session("P1", folder, "alpha-uptraining", "muse2").id
        store.finish_session(sid)
    assert sid == 1
    (data.parent / "short.toml").write_text(SHORT_PROTOCOL)
    return data


#: What makes a command that the old code accepted end at once (simulated clock, no recording).
FAST = {
    "run": ["--speed", "max", "--no-record", "--protocol", "{data}/../short.toml"],
    "record": ["--duration", "1"],
}
SHORT_PROTOCOL = """name = "short"
feedback = "alpha"
[[phases]]
kind = "baseline"
duration_s = 5
[[phases]]
kind = "training"
duration_s = 5
"""
ID_ERROR = ": a session id is a number written in digits 0-9 (see 'biotrainer sessions')"
RATE = ["sessions", "rate"]

# (id, argv ({data} is the data folder), words the one line must hold)
CASES: list[tuple[str, list[str], str]] = [
    # session ids
    *(
        (
            f"report-{name}",
            ["report", digit, "--data-dir", "{data}"],
            f"SESSION_ID {shown}{ID_ERROR}",
        )
        for name, digit, shown in (
            ("arabic", ARABIC_1, "'\\u0661'"),
            ("fullwidth", FULLWIDTH_1, "'\\uff11'"),
            ("superscript", SUPERSCRIPT_1, "'\\xb9'"),
            ("underscore", "1_0", "'1_0'"),
            ("arabic-with-blanks", f" {ARABIC_1} ", "' \\u0661 '"),
        )
    ),
    (
        "rate-arabic-id",
        [*RATE, ARABIC_1, "pre", "--pain", "3", "--data-dir", "{data}"],
        f"SESSION_ID '\\u0661'{ID_ERROR}",
    ),
    # ratings
    *(
        (
            f"rate-{opt}-arabic",
            [*RATE, "1", "post", f"--{opt}", ARABIC_3, "--data-dir", "{data}"],
            f"--{opt} must be a whole number from 0 to 10, not '\\u0663'",
        )
        for opt in ("pain", "stress")
    ),
    (
        "rate-pain-fullwidth",
        [*RATE, "1", "post", "--pain", "\uff13", "--data-dir", "{data}"],
        "--pain must be a whole number from 0 to 10, not '\\uff13'",
    ),
    # device options
    *(
        (
            f"{cmd}-seed-{name}",
            [cmd, "--device", "simulator", "--seed", value, *FAST[cmd]],
            f"--seed must be a whole number from 0 to 4294967295, not {shown}",
        )
        for cmd in ("run", "record")
        for name, value, shown in (
            ("arabic", ARABIC_3, "'\\u0663'"),
            ("underscore", "1_0", "'1_0'"),
        )
    ),
    (
        "ip-port-arabic",
        ["run", "--ip-port", "\u0668\u0660", *FAST["run"]],
        "--ip-port must be a number, not '\\u0668\\u0660'",
    ),
    (
        "timeout-arabic",
        ["record", "--duration", "1", "--timeout", "\u0665"],
        "--timeout must be a positive number of seconds, more than 0 and at most 600, "
        "not '\\u0665'",
    ),
    (
        "duration-arabic",
        ["record", "--duration", "\u0662"],
        "--duration must be a positive number of seconds, at least 1 and at most 86400, "
        "not '\\u0662'",
    ),
    (
        "duration-fullwidth-with-point",
        ["record", "--duration", "\uff11\uff10.5"],
        "--duration must be a positive number of seconds",
    ),
    ("duration-underscore", ["record", "--duration", "1_0"], "not '1_0'"),
    # speeds
    (
        "run-speed-arabic",
        ["run", "--device", "simulator", "--speed", HUNDRED, *FAST["run"][2:]],
        "--speed must be a positive number or 'max', not '\\u0661\\u0660\\u0660'",
    ),
    (
        "replay-speed-arabic",
        ["replay", "{data}/sessions/20250101-000000-muse2", "--speed", HUNDRED],
        "--speed must be a positive number or 'max', not '\\u0661\\u0660\\u0660'",
    ),
    (
        "replay-speed-text",
        ["replay", "{data}/sessions/20250101-000000-muse2", "--speed", "fast"],
        "--speed must be a positive number or 'max', not 'fast'",
    ),
    # other numbers
    (
        "resonance-arabic",
        ["patients", "resonance", "P1", "\u0666", "--data-dir", "{data}"],
        "BPM must be a number, not '\\u0666'",
    ),
    (
        "monitor-arabic",
        ["monitor", "--stream-lost-after", "\u0665"],
        "--stream-lost-after must be a number, not '\\u0665'",
    ),
]


class _NoMonitor:
    """Stands for biotrainer.ui.monitor: the window returns at once."""

    @staticmethod
    def run_monitor(**kwargs: float) -> int:
        return 0


@pytest.mark.parametrize(("argv", "words"), [pytest.param(a, w, id=i) for i, a, w in CASES])
def test_a_number_that_is_not_ascii_is_refused_on_one_line(
    world: Path, tmp_path: Path, capsys, monkeypatch, argv: list[str], words: str
) -> None:
    monkeypatch.chdir(tmp_path)  # a report written "here" would show up
    # a monitor window that opened (the value read as 5) would run until closed
    monkeypatch.setitem(sys.modules, "biotrainer.ui.monitor", _NoMonitor)
    argv = [a.format(data=world) for a in argv]
    if argv[0] in ("run", "record") and "--data-dir" not in argv:
        argv += ["--data-dir", str(tmp_path / "d")]
    before = fingerprint(world)
    line = one_line(main(argv), capsys.readouterr().err)
    assert words in line
    assert "argument " not in line  # the option is named once, in the sentence
    assert fingerprint(world) == before  # nothing rated, registered or changed
    assert not list(tmp_path.glob("*.pdf"))


def test_a_session_id_with_blanks_around_is_still_read(world: Path, tmp_path, capsys) -> None:
    data = tmp_path / "data"
    shutil.copytree(world, data)
    argv = ["sessions", "rate", " 1 ", "pre", "--pain", " 3 ", "--data-dir", str(data)]
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == "session 1 pre: pain 3, stress not rated"


@pytest.mark.parametrize(
    ("text", "value"), [("12", 12), (" 12 ", 12), ("+7", 7), ("-3", -3), ("\t5\n", 5)]
)
def test_ascii_int_reads_plain_digits(text: str, value: int) -> None:
    from biotrainer.cli import ascii_int

    assert ascii_int(text) == value


@pytest.mark.parametrize(
    "text", [ARABIC_1, FULLWIDTH_1, SUPERSCRIPT_1, "1_0", "1.0", "", " ", "0x1", "\u20071"]
)
def test_ascii_int_refuses_the_rest(text: str) -> None:
    from biotrainer.cli import ascii_int

    with pytest.raises(ValueError):
        ascii_int(text)


@pytest.mark.parametrize(
    ("text", "value"), [("2", 2.0), (" 0.5 ", 0.5), (".5", 0.5), ("5.", 5.0), ("1e3", 1000.0)]
)
def test_ascii_float_reads_plain_numbers(text: str, value: float) -> None:
    from biotrainer.cli import ascii_float

    assert ascii_float(text) == value


@pytest.mark.parametrize(
    "text", [ARABIC_1, "\u0661.\u0665", FULLWIDTH_1, "1_0.5", "inf", "nan", "0x10", "", "1e"]
)
def test_ascii_float_refuses_the_rest(text: str) -> None:
    from biotrainer.cli import ascii_float

    with pytest.raises(ValueError):
        ascii_float(text)


def test_int_option_message_escapes_the_value() -> None:
    from biotrainer.cli import int_option

    with pytest.raises(argparse.ArgumentTypeError, match=r"not '\\u0663\\x07'$"):
        int_option("--seed", 0)("\u0663\x07")
