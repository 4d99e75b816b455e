"""Scenario TOML: shipped files load; bad input names file, key and problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biotrainer.acquisition.simulator import available_scenarios, load_scenario, parse_scenario
from biotrainer.errors import ConfigError

SHIPPED = ("stressed-to-relaxed", "resonance-breathing", "eyes-open-closed", "artifacts")

GOOD = """
name = "x"
[[segments]]
duration_s = 60
relaxation = [0.2, 0.8]
breathing_rate_bpm = 12
[[segments]]
duration_s = 30
eyes_closed = true
"""


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_load(name):
    sc = load_scenario(name)
    assert sc.name == name
    assert sc.duration_s >= 60
    assert name in available_scenarios()


def test_shipped_scripts_say_what_the_brief_says():
    s = load_scenario("stressed-to-relaxed")
    assert s.duration_s == 780
    st = s.evaluate(np.array([10.0, 590.0]))
    assert st.relaxation[1] > st.relaxation[0] + 0.5
    assert st.breathing_rate_bpm[1] < st.breathing_rate_bpm[0]
    assert st.heart_rate_bpm[1] < st.heart_rate_bpm[0]

    r = load_scenario("resonance-breathing")
    # natural breathing for the assessment protocol's baseline, then the pacer, step for step
    from biotrainer.engine.protocol import load_protocol

    phases = load_protocol("resonance-assessment").phases
    assert [seg.duration_s for seg in r.segments] == [ph.duration_s for ph in phases]
    assert r.segments[0].duration_s == 120
    paced = r.segments[1:]
    mids = np.array([seg.start_s + seg.duration_s / 2 for seg in paced])
    st = r.evaluate(mids)
    np.testing.assert_allclose(st.breathing_rate_bpm, [6.5, 6.0, 5.5, 5.0, 4.5])
    assert st.paced.all()
    assert not r.evaluate(np.array([30.0])).paced.any()
    assert all(seg.duration_s == 120 for seg in paced)

    e = load_scenario("eyes-open-closed")
    st = e.evaluate(np.arange(30.0, e.duration_s, 60.0))
    assert list(st.eyes_closed) == [False, True] * (len(st.eyes_closed) // 2)

    kinds = {a.kind for a in load_scenario("artifacts").artifacts}
    assert {"blink", "jaw_clench", "electrode_pop", "motion", "flat"} <= kinds


def test_ramps_and_inheritance():
    sc = parse_scenario(GOOD)
    st = sc.evaluate(np.array([0.0, 30.0, 60.0, 75.0]))
    np.testing.assert_allclose(st.relaxation, [0.2, 0.5, 0.8, 0.8])
    assert list(st.eyes_closed) == [False, False, True, True]
    np.testing.assert_allclose(st.breathing_rate_bpm, 12.0)
    # heart rate follows relaxation between the person's stressed and relaxed rates
    assert st.heart_rate_bpm[0] > st.heart_rate_bpm[2]


@pytest.mark.parametrize(
    ("edit", "key", "words"),
    [
        (
            lambda t: t.replace("relaxation = [0.2, 0.8]", "relaxation = 1.5"),
            "segments[0].relaxation",
            "between 0 and 1",
        ),
        (
            lambda t: t + '[[artifacts]]\nkind = "sneeze"\nstart_s = 1\nend_s = 2\n',
            "artifacts[0].kind",
            "unknown kind",
        ),
        (
            lambda t: t + '[[artifacts]]\nkind = "motion"\nstart_s = 10\nend_s = 500\n',
            "artifacts[0].end_s",
            "between",
        ),
        (
            lambda t: t.replace("duration_s = 30", "duraton_s = 30"),
            "segments[1].duraton_s",
            "unknown key",
        ),
        (
            lambda t: t.replace("eyes_closed = true", 'eyes_closed = "yes"'),
            "segments[1].eyes_closed",
            "true or false",
        ),
        (lambda t: t + "[person]\nline_noise_hz = 55\n", "person.line_noise_hz", "50 or 60"),
        (lambda t: 'name = "x"\n', "segments", "required"),
        (lambda t: t.replace('name = "x"', ""), "name", "required"),
    ],
)
def test_errors_name_file_key_and_problem(tmp_path: Path, edit, key, words):
    path = tmp_path / "x.toml"
    path.write_text(edit(GOOD), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    assert err.value.path == str(path)
    assert err.value.key == key
    assert words in err.value.problem


def test_name_must_match_file_and_bad_toml(tmp_path: Path):
    p = tmp_path / "other.toml"
    p.write_text(GOOD, encoding="utf-8")
    with pytest.raises(ConfigError, match="file name"):
        load_scenario(p)
    p.write_text("name = ", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(p)


def test_unknown_scenario_lists_the_known_ones():
    with pytest.raises(ConfigError) as err:
        load_scenario("no-such-scenario")
    assert "stressed-to-relaxed" in err.value.problem


def test_every_shipped_protocol_runs_to_its_end_on_the_simulators_default_scenario():
    """The simulator profiles' scenario lasts as long as the longest shipped protocol: the
    README's first simulator example (eeg-hrv-relaxation, 10.5 min, on a 10-minute scenario)
    said "the protocol did not finish", and so did the trainer on ``--device simulator``
    (alpha-uptraining, 12 min)."""
    import tomllib

    from biotrainer.engine.protocol import list_protocols, load_protocol

    devices = Path(__file__).resolve().parents[2] / "devices"
    profiles = [p for p in devices.glob("*.toml") if "[simulator]" in p.read_text("utf-8")]
    assert len(profiles) >= 2  # simulator, simulator-muse2
    protocols = [load_protocol(name) for name in list_protocols()]
    assert len(protocols) >= 5
    longest = max(p.duration_s for p in protocols)
    for profile in profiles:
        name = tomllib.loads(profile.read_text("utf-8"))["simulator"]["scenario"]
        assert load_scenario(name).duration_s >= longest, (profile.name, name)
