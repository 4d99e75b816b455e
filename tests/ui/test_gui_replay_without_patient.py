"""The trainer's ``--replay`` is no session of a patient: no patient asked for or taken, nothing
registered, its recordings marked as replays (as ``run --replay``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from biotrainer.acquisition.factory import open_accelerated
from biotrainer.cli import build_parser, main
from biotrainer.clock import SimulatedClock
from biotrainer.commands import gui
from biotrainer.engine.protocol import load_protocol
from biotrainer.session.folder import read_meta
from biotrainer.session.store import Store
from biotrainer.ui import trainer_window
from biotrainer.ui.trainer_window import TrainerWindow


@pytest.fixture
def recorded(data_dir: Path, tmp_path: Path, short_run_argv) -> Path:
    """A short session of P-1 recorded by `run`."""
    assert main(["patients", "add", "P-1", "--data-dir", str(data_dir)]) == 0
    assert main(short_run_argv(data_dir, tmp_path)) == 0
    (folder,) = (data_dir / "sessions").iterdir()
    return folder


@pytest.fixture
def trainers(monkeypatch) -> list[dict]:
    """The keyword arguments of each trainer window opened (none is)."""
    calls: list[dict] = []
    monkeypatch.setattr(trainer_window, "run_trainer", lambda *a, **k: calls.append(k) or 0)
    return calls


def test_gui_replay_with_a_patient_is_refused_as_run_refuses_it(
    recorded, data_dir, trainers, monkeypatch, capsys
):
    dialogs: list[str] = []
    monkeypatch.setattr("biotrainer.ui.app.show_start_dialog", dialogs.append)
    capsys.readouterr()
    rc = main(["gui", "--replay", str(recorded), "--patient", "P-1", "--data-dir", str(data_dir)])
    out, err = capsys.readouterr()
    line = (
        "--replay plays a recording again, which is not a new session of a patient: it cannot "
        "go with --patient (nothing was registered, no resonance rate stored). To register the "
        f"recording itself: biotrainer sessions import {recorded} --patient P-1"
    )
    assert (rc, out, err) == (2, "", f"biotrainer: {line}\n")
    assert dialogs == [line[0].upper() + line[1:]] and trainers == []


def test_gui_replay_opens_the_trainer_without_the_store(recorded, data_dir, trainers):
    """Before: the store and ask_patient=True, so the trainer asked for a patient and
    registered the replay as their new session."""
    args = build_parser().parse_args(["--replay", str(recorded), "--data-dir", str(data_dir)])
    assert gui.run(args) == 0
    (kw,) = trainers
    assert kw["store"] is None and kw["patient"] is None
    assert kw["ask_patient"] is False and kw["replay"] is True
    with Store.open(data_dir) as store:
        assert [r.id for r in store.sessions()] == [1]


def test_the_trainer_marks_a_replay_s_recording(qtbot, tmp_path, errors_shown):
    clock = SimulatedClock()
    window = TrainerWindow(
        lambda: open_accelerated("simulator-muse2", clock, 1.0, seed=3),
        load_protocol("alpha-uptraining"),
        clock=clock,
        data_dir=tmp_path / "data",
        settings=QSettings(str(tmp_path / "trainer.ini"), QSettings.Format.IniFormat),
        tick_hz=200,
        fps=60,
        before_tick=lambda: clock.advance(1.0),
        replay=True,
    )
    qtbot.addWidget(window)
    if window.patient_view is not None:
        qtbot.addWidget(window.patient_view)
    window.show()
    assert window.start_session()
    qtbot.waitUntil(lambda: window.engine.session_s > 2, timeout=10_000)
    window.stop_session(ask=False)
    assert errors_shown == []
    assert read_meta(window.session_folder).extra.get("replay") is True
    window.close()
