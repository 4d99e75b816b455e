"""Damage a recorded session folder at random and check every command answers in words.

    .venv/bin/python scripts/fuzz_session_folders.py [--seed 1] [--trials 40] [--store]

A short session (80 s, simulator in the Muse 2 layout: three raw files, metrics, events) is
recorded once into a temporary folder. Each trial copies it and damages one or two of its files
at random: ``session.json`` edited (a key deleted, a value replaced by one of the wrong type),
a file deleted, emptied or truncated, bytes overwritten, junk inserted, two lines swapped. Then
``replay --speed max``, ``export --edf`` and ``run --replay --speed max`` run on the copy (with
``--store``: ``sessions import``, ``report`` PDF and CSV, and the patient's progress report)
in this process. A trial fails when an exception escapes a command, a traceback is printed or
the exit status is not 0, 1 or 2. The tests' corpus (``tests/bad_input``) holds the cases this
found; this is the search for the next ones, kept so that anyone can run it again.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

from biotrainer.cli import main as biotrainer

SHORT_PROTOCOL = """name = "fuzz"
feedback = "combined"
[[phases]]
kind = "baseline"
duration_s = 40
[[phases]]
kind = "training"
duration_s = 40
"""

WRONG_VALUES = (None, -1, 0, 1e308, "x", "", [], {}, True, 3.5, "../../etc/passwd")
JUNK = (b"\n\n", b"nan\tinf\n", b"\x00" * 50, b"1e400\t" * 5 + b"\n", b"\xe9\x80\n", b"-\t-\t-\n")


def damage_json(obj: object, rng: random.Random) -> str:
    """Delete or replace one value somewhere in ``obj``; say what was done."""
    if isinstance(obj, dict) and obj:
        key = rng.choice(list(obj))
        if rng.random() < 0.25:
            del obj[key]
            return f"del {key}"
        if rng.random() < 0.5 or not isinstance(obj[key], dict | list):
            obj[key] = rng.choice(WRONG_VALUES)
            return f"{key}={obj[key]!r}"
        return f"{key}." + damage_json(obj[key], rng)
    if isinstance(obj, list) and obj:
        i = rng.randrange(len(obj))
        if rng.random() < 0.3:
            obj.pop(i)
            return f"pop [{i}]"
        if isinstance(obj[i], dict | list):
            return f"[{i}]." + damage_json(obj[i], rng)
        obj[i] = rng.choice(WRONG_VALUES)
        return f"[{i}]={obj[i]!r}"
    return "nothing"


def damage(folder: Path, rng: random.Random) -> str:
    """Damage one file of ``folder`` at random; say what was done."""
    path = rng.choice(sorted(folder.iterdir()))
    data = path.read_bytes()
    r = rng.random()
    if path.name == "session.json" and r < 0.6:
        obj = json.loads(data)
        what = damage_json(obj, rng)
        path.write_text(json.dumps(obj), encoding="utf-8")
        return f"{path.name}: {what}"
    if r < 0.15:
        path.unlink()
        return f"{path.name}: deleted"
    if r < 0.35:
        cut = rng.randrange(len(data) + 1)
        path.write_bytes(data[:cut])
        return f"{path.name}: truncated at byte {cut}"
    if r < 0.55:
        b = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            if b:
                b[rng.randrange(len(b))] = rng.randrange(256)
        path.write_bytes(bytes(b))
        return f"{path.name}: bytes overwritten"
    if r < 0.7:
        at = rng.randrange(len(data) + 1)
        path.write_bytes(data[:at] + rng.choice(JUNK) + data[at:])
        return f"{path.name}: junk inserted at byte {at}"
    if r < 0.8:
        path.write_bytes(b"")
        return f"{path.name}: emptied"
    lines = data.split(b"\n")
    if len(lines) > 3:
        i, j = rng.randrange(1, len(lines) - 1), rng.randrange(1, len(lines) - 1)
        lines[i], lines[j] = lines[j], lines[i]
    path.write_bytes(b"\n".join(lines))
    return f"{path.name}: two lines swapped"


def run_command(argv: list[str]) -> tuple[str, str]:
    """Run one biotrainer command here; (verdict, its last ``biotrainer:`` line or the error)."""
    err, out = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = biotrainer(argv)
    except SystemExit as exc:
        code = exc.code
    except BaseException:  # (what this script looks for)
        return "FAIL", traceback.format_exc()
    text = err.getvalue()
    if "Traceback" in text:
        return "FAIL", text
    if code not in (0, 1, 2, None):
        return "FAIL", f"exit status {code}\n{text}"
    said = [line for line in text.splitlines() if line.startswith("biotrainer:")]
    return f"exit {code or 0}", said[-1] if said else ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--store", action="store_true", help="import and report instead of replay")
    ap.add_argument("--verbose", action="store_true", help="print every command's answer")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    failures = 0
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        protocol = tmp / "fuzz.toml"
        protocol.write_text(SHORT_PROTOCOL, encoding="utf-8")
        base = tmp / "base"
        recorded = run_command(
            ["--data-dir", str(tmp / "data"), "run", "--device", "simulator-muse2",
             "--scenario", "stressed-to-relaxed", "--protocol", str(protocol),
             "--speed", "max", "--out", str(base)]
        )  # fmt: skip
        if recorded[0] != "exit 0":
            print(f"could not record the session to damage: {recorded[1]}", file=sys.stderr)
            return 2
        for trial in range(args.trials):
            work = tmp / f"trial{trial}"
            shutil.copytree(base, work)
            what = damage(work, rng)
            if rng.random() < 0.3:
                what += " + " + damage(work, rng)
            if args.store:
                data = str(tmp / f"store{trial}")
                run_command(["patients", "add", "P-1", "--data-dir", data])
                commands = [
                    ["sessions", "import", "--patient", "P-1", "--data-dir", data, str(work)],
                    ["report", "1", "--data-dir", data, "--out", f"{work}.pdf"],
                    ["report", "1", "--data-dir", data, "--csv", f"{work}.csv"],
                    ["report", "--patient", "P-1", "--data-dir", data, "--out", f"{work}p.pdf"],
                ]
            else:
                commands = [
                    ["replay", str(work), "--speed", "max"],
                    ["export", str(work), "--edf", f"{work}.edf"],
                    ["--data-dir", str(tmp / "data"), "run", "--replay", str(work), "--speed",
                     "max", "--protocol", str(protocol), "--out", f"{work}_out"],
                ]  # fmt: skip
            for command in commands:
                verdict, said = run_command(command)
                name = command[2] if command[0] == "--data-dir" else command[0]
                counts[f"{name} {verdict}"] = counts.get(f"{name} {verdict}", 0) + 1
                if verdict == "FAIL":
                    failures += 1
                    print(f"FAIL trial {trial} ({what}), {' '.join(command[:2])}:\n{said}")
                elif args.verbose:
                    print(f"trial {trial} ({what}), {name}: {verdict} {said}")
            shutil.rmtree(work, ignore_errors=True)
    return summary(f"seed {args.seed}, {args.trials} damaged folders", counts, failures)


def summary(title: str, counts: dict[str, int], failures: int) -> int:
    """Print the answers counted per command and verdict; the exit status (1 on a failure)."""
    print(f"{title}:")
    for key in sorted(counts):
        print(f"  {counts[key]:4d}  {key}")
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
