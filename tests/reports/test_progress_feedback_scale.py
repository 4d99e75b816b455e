"""Coherence z-scores made before 2026-11-29 (on coherence's own scale, up to ten times larger)
are not set beside the new ones in a patient's progress: each session says in ``session.json``
how its z-scores were made, and the progress report leaves out the old coherence ones and says
so (review of the twenty-first session: they sat in one chart unmarked)."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from reportkit import cli

from biotrainer.clock import SimulatedClock
from biotrainer.engine.engine import Engine
from biotrainer.engine.feedback import FEEDBACK_Z_KEY, FEEDBACK_Z_VERSION
from biotrainer.engine.protocol import load_protocol
from biotrainer.reports.progress import build_progress_report, progress_charts
from biotrainer.session.folder import read_meta, write_meta
from biotrainer.session.recorder import Recorder
from biotrainer.session.store import Store

#: A short coherence protocol (a 100-s baseline: coherence needs a minute of beats).
BRIEF = """
name = "brief-coherence"
title = "Brief coherence"
feedback = "coherence"

[[phases]]
name = "Rest"
kind = "baseline"
duration_s = 100

[[phases]]
name = "Breathe"
kind = "training"
duration_s = 60
"""


@pytest.fixture(scope="module")
def patient(tmp_path_factory):
    """Two sessions of the coherence protocol for patient P-COH, the first made to look as if
    recorded before the change (its session.json without the key)."""
    tmp = tmp_path_factory.mktemp("coherence-scale")
    protocols = tmp / "protocols"
    protocols.mkdir()
    (protocols / "brief-coherence.toml").write_text(BRIEF)
    data = str(tmp / "data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIOTRAINER_PROTOCOLS", str(protocols))
        assert cli("patients", "add", "P-COH", "--data-dir", data)[0] == 0
        run = ("run", "--protocol", "brief-coherence", "--patient", "P-COH", "--device")
        for _ in range(2):
            rc, _, err = cli(*run, "simulator", "--speed", "max", "--data-dir", data)
            assert rc == 0, err
        with Store.open(data) as store:
            first = store.sessions("P-COH")[0].folder
            meta = read_meta(first)
            assert meta.extra[FEEDBACK_Z_KEY] == FEEDBACK_Z_VERSION
            extra = {k: v for k, v in meta.extra.items() if k != FEEDBACK_Z_KEY}
            write_meta(first, meta.with_(extra=extra))
            report = build_progress_report(store, "P-COH")
            folders = [r.folder for r in store.sessions("P-COH")]
        rc, listed, err = cli("sessions", "--patient", "P-COH", "--data-dir", data)
        assert rc == 0, err
        return SimpleNamespace(rows=report.rows, folders=folders, report=report, listed=listed)


def test_old_coherence_z_scores_are_left_out_and_said_so(patient):
    old, new = patient.rows
    assert old.z_old_scale and math.isnan(old.z) and math.isnan(old.coverage("z"))
    assert not new.z_old_scale and math.isfinite(new.z)
    assert math.isfinite(old.coherence) and math.isfinite(old.rmssd_ms)  # the rest is kept
    (z_chart,) = [c for c in progress_charts(patient.rows) if c.name == "z"]
    assert "1 session scored on a scale used before 2026-11-29 left out" in z_chart.title


def test_a_session_says_how_its_z_scores_are_made_from_its_start(tmp_path: Path):
    """Written when the engine starts, so an interrupted session keeps it."""
    from biotrainer.acquisition.factory import open_accelerated

    clock = SimulatedClock()
    source = open_accelerated("simulator-muse2", clock, 1.0, scenario="stressed-to-relaxed")
    recorder = Recorder.create(source.layout, out=tmp_path, clock=clock, fsync=False)
    engine = Engine(source, load_protocol("alpha-uptraining"), clock=clock, recorder=recorder)
    engine.start()
    try:
        assert read_meta(recorder.path).extra[FEEDBACK_Z_KEY] == FEEDBACK_Z_VERSION
    finally:
        engine.close()


def test_the_history_table_says_why_the_z_is_blank(patient):
    from biotrainer.ui.history_view import COLUMNS, OLD_SCALE_TIP, cell_tip

    old, new = patient.rows
    z_column = COLUMNS.index("vs baseline (z)")
    assert OLD_SCALE_TIP in cell_tip(old, z_column)
    assert OLD_SCALE_TIP not in cell_tip(new, z_column)


@pytest.mark.parametrize(
    ("version", "protocol", "old"),
    [
        (None, "hrv-resonance-breathing", True),
        (2, "hrv-resonance-breathing", False),
        (2, "eyes-closed-relaxation", True),  # relaxation on its log-odds since version 3
        (2, "eeg-hrv-relaxation", True),
        (3, "eeg-hrv-relaxation", False),
        (None, "alpha-uptraining", False),  # alpha's scale never changed
        ("3", "eyes-closed-relaxation", True),  # not a version
    ],
)
def test_which_sessions_are_on_an_earlier_scale(patient, tmp_path, version, protocol, old):
    import shutil

    from biotrainer.engine.protocol import load_protocol
    from biotrainer.reports.progress import z_on_old_scale

    folder = tmp_path / "session"
    shutil.copytree(patient.folders[1], folder)
    meta = read_meta(folder)
    extra = {k: v for k, v in meta.extra.items() if k != FEEDBACK_Z_KEY}
    if version is not None:
        extra[FEEDBACK_Z_KEY] = version
    write_meta(folder, meta.with_(extra=extra))
    rec = SimpleNamespace(protocol=protocol, folder=folder)
    assert z_on_old_scale(rec, lambda name: load_protocol(name)) is old


def test_the_table_and_the_list_say_why_the_z_is_blank(patient):
    """Right after an upgrade every session of a patient may be old: the z chart is then empty
    and left out, and the table had to say why its z column is blank (review)."""
    from biotrainer.commands.sessions import OLD_SCALE_LIST_NOTE
    from biotrainer.reports.html import OLD_SCALE_NOTE, progress_html

    assert OLD_SCALE_NOTE in progress_html(patient.report)
    header, *rows = patient.listed.splitlines()[:3]
    end = header.index(" target")  # (the z column is right-aligned before it, 5 wide)
    old_z, new_z = (line[end - 5 : end].strip() for line in rows)
    assert old_z in ("-", "–") and new_z.startswith("+")
    assert patient.listed.rstrip().endswith(OLD_SCALE_LIST_NOTE)


def test_what_cannot_be_told_keeps_its_z(patient, tmp_path):
    from biotrainer.engine.protocol import load_protocol
    from biotrainer.reports.progress import z_on_old_scale

    new = SimpleNamespace(protocol="hrv-resonance-breathing", folder=patient.folders[1])
    assert not z_on_old_scale(new, lambda name: load_protocol(name))  # version 3, coherence
    assert not z_on_old_scale(new, lambda name: None)  # the protocol is not installed any more
    gone = SimpleNamespace(protocol="hrv-resonance-breathing", folder=tmp_path / "nothing")
    assert not z_on_old_scale(gone, lambda name: load_protocol(name))  # unreadable folder
