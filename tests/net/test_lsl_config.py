"""liblsl's own log line stays off the terminal unless the user configured liblsl."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from biotrainer.net.lsl_config import has_user_config, user_config_files


def _env_without_lsl_config(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "LSLAPICFG"}
    env["HOME"] = str(home)
    return env


def _run_lsl_name(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    argv = ["run", "--lsl-name", "biotrainer-absent-stream", "--timeout", "1", "--no-record"]
    return subprocess.run(
        [sys.executable, "-m", "biotrainer.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )


def test_without_a_user_config_the_message_is_one_line(tmp_path):
    """liblsl printed "Loaded default config" before biotrainer's own one-line message."""
    if Path("/etc/lsl_api/lsl_api.cfg").is_file():
        pytest.skip("this machine has a liblsl configuration in /etc/lsl_api")
    done = _run_lsl_name(tmp_path, _env_without_lsl_config(tmp_path))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("biotrainer: no LSL stream named 'biotrainer-absent-stream'")


def test_a_user_config_is_used_as_it_is(tmp_path):
    """A clinic's lsl_api.cfg (here with liblsl's INFO log on) is not replaced."""
    config = tmp_path / "lsl_api.cfg"
    config.write_text("[log]\nlevel = 0\n[multicast]\nResolveScope = machine\n")
    env = _env_without_lsl_config(tmp_path)
    env["LSLAPICFG"] = str(config)
    done = _run_lsl_name(tmp_path, env)
    assert done.returncode == 2
    assert f"Configuration loaded from {config}" in done.stderr
    assert "biotrainer: no LSL stream named" in done.stderr


def test_user_config_is_found_where_liblsl_looks(tmp_path, monkeypatch):
    monkeypatch.delenv("LSLAPICFG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    if Path("/etc/lsl_api/lsl_api.cfg").is_file():
        pytest.skip("this machine has a liblsl configuration in /etc/lsl_api")
    assert not has_user_config()
    home_config = tmp_path / "home" / "lsl_api" / "lsl_api.cfg"
    assert home_config in user_config_files()
    home_config.parent.mkdir(parents=True)
    home_config.write_text("[log]\nlevel = 0\n")
    assert has_user_config()
    home_config.unlink()
    (tmp_path / "lsl_api.cfg").write_text("")
    assert has_user_config()
    (tmp_path / "lsl_api.cfg").unlink()
    monkeypatch.setenv("LSLAPICFG", str(tmp_path / "elsewhere.cfg"))
    assert has_user_config()
