"""``biotrainer monitor --data-dir``: the monitor's error log goes where the user says.

The monitor keeps no data, but an exception escaping one of its slots is logged to
``<data dir>/logs/errors.log``; without ``--data-dir`` that was always the user's default data
folder, even for a person who keeps everything of biotrainer elsewhere.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar

import pytest

from biotrainer.cli import main


class _FakeMonitor:
    """Stands for biotrainer.ui.monitor: records what the window would be opened with."""

    calls: ClassVar[list[dict]] = []

    @classmethod
    def run_monitor(cls, **kwargs) -> int:
        cls.calls.append(kwargs)
        return 0


@pytest.fixture
def fake_monitor(monkeypatch):
    _FakeMonitor.calls = []
    monkeypatch.setitem(sys.modules, "biotrainer.ui.monitor", _FakeMonitor)
    return _FakeMonitor


def test_the_data_folder_given_is_where_the_error_log_goes(fake_monitor, tmp_path: Path):
    assert main(["monitor", "--data-dir", str(tmp_path / "elsewhere")]) == 0
    (call,) = fake_monitor.calls
    assert Path(call["data_directory"]) == tmp_path / "elsewhere"


def test_without_it_the_default_data_folder_is_used(fake_monitor):
    assert main(["monitor"]) == 0
    assert fake_monitor.calls[0]["data_directory"] is None


def test_a_data_folder_that_is_a_file_is_refused_on_one_line(fake_monitor, tmp_path, capsys):
    f = tmp_path / "a-file"
    f.write_text("x")
    assert main(["monitor", "--data-dir", str(f)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("biotrainer: ") and "Traceback" not in err[0]
    assert fake_monitor.calls == []


def test_the_window_logs_under_the_data_folder_given(tmp_path: Path, monkeypatch):
    """The real run_monitor hands the folder to the event loop that installs the error log."""
    pytest.importorskip("PySide6")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    from biotrainer.ui import app as app_module
    from biotrainer.ui import monitor

    seen = {}

    def fake_exec(app, window, data_directory=None):
        seen["data_directory"] = data_directory
        window.close()
        return 0

    monkeypatch.setattr(app_module, "exec_until_closed", fake_exec)
    assert monitor.run_monitor(data_directory=tmp_path / "d") == 0
    assert seen["data_directory"] == tmp_path / "d"
