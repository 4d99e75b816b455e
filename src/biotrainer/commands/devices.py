"""``biotrainer devices``: list the device profiles, or show one in detail."""

from __future__ import annotations

import argparse
import sys

from biotrainer.acquisition.brainflow_source import CLI_OPTIONS
from biotrainer.acquisition.profiles import (
    DeviceProfile,
    check_profiles_dir,
    load_profile,
    profile_names,
)
from biotrainer.errors import ConfigError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "devices",
        help="list device profiles (modalities, connection options)",
        description="List the device profiles, or show the channel layout of one.",
    )
    p.add_argument("name", nargs="?", help="show this profile in detail")


def _options(names: tuple[str, ...]) -> str:
    return " ".join(CLI_OPTIONS[n][0] for n in names) or "-"


def _table(profiles: list[DeviceProfile]) -> str:
    rows = [("NAME", "TITLE", "MODALITIES", "NEEDS", "OPTIONAL")]
    for p in profiles:
        roles = ",".join(p.roles) or ("from recording" if p.is_playback else "-")
        rows.append(
            (
                p.name,
                p.title,
                roles,
                _options(p.connection.required),
                _options(p.connection.optional),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _detail(p: DeviceProfile) -> str:
    lines = [
        f"{p.name}: {p.title}",
        f"  board:       {p.board}" + (f" (files of {p.master_board})" if p.master_board else ""),
    ]
    if p.description:
        lines.append(f"  description: {p.description}")
    lines.append(f"  needs:       {_options(p.connection.required)}")
    lines.append(f"  optional:    {_options(p.connection.optional)}")
    if p.connection.timeout_s:
        lines.append(f"  timeout:     {p.connection.timeout_s:g} s")
    if p.is_playback and not p.channels and p.master_board is None:
        lines.append("  channels:    those of the board that recorded the file (--master-board)")
        return "\n".join(lines)
    layout = p.layout()
    lines.append("  channels:")
    for g in layout.groups:
        fs = layout.preset(g.preset).fs
        lines.append(f"    {g.role:<6} {g.preset:<9} {fs:g} Hz  {g.units:<6} {', '.join(g.names)}")
    # (only what the processing applies: mains hum is detected, 50 or 60 Hz, and the heart
    # metrics come from the ECG when there is one, else the PPG)
    if p.defaults.alpha_channels:
        lines.append(f"  alpha from:  {', '.join(p.defaults.alpha_channels)}")
    for preset, c in p.counters:
        per = "each sample" if c.samples_per_value == 1 else f"{c.samples_per_value} samples each"
        step = "" if c.step == 1 else f", +{c.step} a step"
        lines.append(f"  losses from: {preset} packet numbers ({per}{step}, wrap at {c.modulo})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "name", None):
        print(_detail(load_profile(args.name)))
        return 0
    directory = check_profiles_dir()
    profiles: list[DeviceProfile] = []
    problems: list[str] = []
    for name in profile_names(directory):
        try:
            profiles.append(load_profile(directory / f"{name}.toml"))
        except ConfigError as exc:
            problems.append(str(exc))
    print(_table(profiles))
    print(f"\n{len(profiles)} profiles in {directory}; 'biotrainer devices NAME' for details.")
    for problem in problems:
        print(f"biotrainer: invalid profile: {problem}", file=sys.stderr)
    return 2 if problems else 0
