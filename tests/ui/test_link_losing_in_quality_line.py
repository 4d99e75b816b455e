"""The therapist's quality line says while a wireless link loses packets (a headset far from
its receiver): it was said only in the status bar for 10 s, once in 5 minutes."""

from __future__ import annotations

from biotrainer.acquisition.factory import open_accelerated
from biotrainer.clock import SimulatedClock
from biotrainer.engine.updates import MetricUpdate
from biotrainer.ui.dashboard import quality_text

from .test_trainer import make_window, settings  # noqa: F401


def test_the_quality_line_names_what_the_link_is_losing_with_what_to_do() -> None:
    u = MetricUpdate(session_s=0.0, sample_time=0.0, received_at=0.0, computed_at=0.0)
    assert quality_text(u, (), losing="losing samples (PPG 4 %)") == (
        "Quality: signals clean · wireless link losing samples (PPG 4 %): bring the receiver closer"
    )
    assert quality_text(u, ()) == "Quality: signals clean"  # (nothing lost: nothing said)


def test_a_lossy_link_shows_on_the_dashboard(
    qtbot,
    settings,  # noqa: F811
    tmp_path,
    errors_shown,
    monkeypatch,
):
    """The simulated Muse 2 that loses 3 % of its packets: named on the quality line once the
    first 30 s of its samples were watched; what it lost in all is said when the session
    closes (it went to events.csv and the report only)."""
    monkeypatch.setenv("BIOTRAINER_CACHE", str(tmp_path / "cache"))
    clock = SimulatedClock()
    window = make_window(
        qtbot,
        settings,
        tmp_path,
        lambda: open_accelerated("simulator-muse2-lossy", clock, 1.0),
        "hrv-resonance-breathing",
        clock,
        0.1,
    )
    assert window.start_session()
    label = window.dashboard.quality_label
    qtbot.waitUntil(lambda: "wireless link losing samples (" in label.full_text(), timeout=30_000)
    assert "bring the receiver closer" in label.full_text()
    assert window.engine.session_s >= 25.0  # (30 s of samples sent, lost ones counted)
    said: list[str] = []
    window.bridge.warning.connect(said.append)
    window.stop_session(ask=False)
    # the session's total, said as the session closes (the status bar)
    assert any(text.startswith("over the session the device lost ") for text in said), said
    window.close()
