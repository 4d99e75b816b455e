"""Damage the shipped device profiles, protocols and scenarios at random, then use them.

    .venv/bin/python scripts/fuzz_config_files.py [--seed 1] [--trials 60]

Each trial copies one shipped TOML file (``devices/``, ``protocols/``, ``scenarios/``) and
damages one to three of its lines: a line deleted, a value replaced by one of another type or
out of range (TOML's ``inf`` and ``nan`` included), a stray table or key inserted, a character
overwritten. The copy is then used as the command line would: a profile by ``record --device
FILE --duration 1`` (a real headset is not there: its connection must fail in words; a
simulator profile records a second), a protocol by ``run --protocol FILE`` on the simulator at
``--speed max``, a scenario by ``run --scenario FILE`` with a short protocol. A trial fails when
an exception escapes, a traceback is printed or the exit status is not 0, 1 or 2. A profile
whose ``connection.timeout = inf`` was accepted and broke the connection with a traceback was
found by an earlier form of this search (seed 6 of this one, 150 trials, finds it in the code
before the fix).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

from fuzz_session_folders import SHORT_PROTOCOL, run_command, summary

REPO = Path(__file__).resolve().parents[1]
VALUES = ('""', "-1", "0", "1e400", "nan", "inf", "-inf", "[]", "{}", "true", '"x"', "1e9",
          '[1, "a"]', '"\\u0000"', "99999999999999999999")  # fmt: skip
INSERTS = ("[[phases]]", "[x]", "a = 1", "[[segments]]", "[simulator]", "[[channels]]")


def damage(text: str, rng: random.Random) -> tuple[str, list[str]]:
    """``text`` with one to three lines damaged; what was done."""
    lines = text.splitlines()
    done = []
    for _ in range(rng.randint(1, 3)):
        keys = [k for k, line in enumerate(lines) if "=" in line and not line.startswith("#")]
        # mostly a value (where the checks are), sometimes any line
        i = rng.choice(keys) if keys and rng.random() < 0.7 else rng.randrange(len(lines))
        r = rng.random()
        line = lines[i]
        if r < 0.3:
            lines.pop(i)
            done.append(f"deleted {line.strip()!r}")
        elif r < 0.8 and "=" in line and not line.lstrip().startswith("#"):
            key = line.split("=")[0]
            lines[i] = f"{key}= {rng.choice(VALUES)}"
            done.append(f"{line.strip()!r} -> {lines[i].strip()!r}")
        elif r < 0.9:
            lines.insert(i, rng.choice(INSERTS))
            done.append(f"inserted {lines[i]!r}")
        elif line:
            j = rng.randrange(len(line))
            lines[i] = line[:j] + chr(rng.randrange(32, 127)) + line[j + 1 :]
            done.append(f"{line.strip()!r} -> {lines[i].strip()!r}")
    return "\n".join(lines) + "\n", done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--verbose", action="store_true", help="print every command's answer")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    folders = ("devices", "protocols", "scenarios")
    sources = sorted(p for folder in folders for p in (REPO / folder).glob("*.toml"))
    failures = 0
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        short = tmp / "fuzz.toml"  # (a protocol's name must be its file's stem)
        short.write_text(SHORT_PROTOCOL, encoding="utf-8")
        data = str(tmp / "data")
        for trial in range(args.trials):
            src = rng.choice(sources)
            text, done = damage(src.read_text(encoding="utf-8"), rng)
            folder = tmp / f"trial{trial}"
            folder.mkdir()
            path = folder / src.name  # (a profile's or scenario's name must be its file's stem)
            path.write_text(text, encoding="utf-8")
            kind = src.parent.name
            run = ["--data-dir", data, "run", "--device", "simulator-muse2", "--speed", "max"]
            if kind == "devices":
                command = ["record", "--device", str(path), "--duration", "1", "--data-dir", data]
            elif kind == "protocols":
                command = [*run, "--scenario", "eyes-open-closed", "--protocol", str(path)]
            else:
                command = [*run, "--scenario", str(path), "--protocol", str(short)]
            verdict, said = run_command(command)
            counts[f"{kind} {verdict}"] = counts.get(f"{kind} {verdict}", 0) + 1
            what = f"{src.parent.name}/{src.name}: {'; '.join(done)}"
            if verdict == "FAIL":
                failures += 1
                print(f"FAIL trial {trial} ({what}):\n{said}")
            elif args.verbose:
                print(f"trial {trial} ({what}): {verdict} {said}")
    return summary(f"seed {args.seed}, {args.trials} damaged files", counts, failures)


if __name__ == "__main__":
    sys.exit(main())
