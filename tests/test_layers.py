"""Layering rules: Qt and pyqtgraph live only in biotrainer.ui (the core runs headless)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "biotrainer"
GUI_MODULES = ("PySide6", "pyqtgraph", "shiboken6")


def _core_modules() -> list[str]:
    names = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = rel.parts
        if "ui" in parts[1:2]:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize(
    "path",
    [p for p in sorted(SRC.rglob("*.py")) if p.relative_to(SRC).parts[0] != "ui"],
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_no_gui_import_in_source_outside_ui(path: Path) -> None:
    """No module outside ui/ names PySide6 or pyqtgraph in an import statement."""
    assert not (_imported_roots(path) & set(GUI_MODULES)), f"{path} imports a GUI toolkit"


def test_importing_the_core_loads_no_gui_toolkit() -> None:
    """Importing every core module (transitively) never loads Qt or pyqtgraph."""
    code = (
        "import importlib, sys\n"
        f"for m in {_core_modules()!r}: importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {GUI_MODULES!r}]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core modules pulled in: {out.stdout.strip()}"


def test_cli_help_does_not_import_qt() -> None:
    """The CLI itself (argument parsing, non-GUI commands) stays headless."""
    code = (
        "import sys\nfrom biotrainer.cli import build_parser\nbuild_parser()\n"
        f"print(','.join(m for m in sys.modules if m.split('.')[0] in {GUI_MODULES!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
