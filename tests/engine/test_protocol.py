from pathlib import Path

import pytest

from biotrainer.engine.protocol import list_protocols, load_protocol
from biotrainer.errors import ConfigError

SHIPPED = [
    "alpha-uptraining",
    "eyes-closed-relaxation",
    "hrv-resonance-breathing",
    "resonance-assessment",
    "eeg-hrv-relaxation",
]


def test_every_required_protocol_ships_and_loads():
    assert set(SHIPPED) <= set(list_protocols())
    for name in list_protocols():
        p = load_protocol(name)
        assert p.name == name and p.phases and p.duration_s > 0


def test_resonance_assessment_steps_down_by_half_a_breath():
    p = load_protocol("resonance-assessment")
    rates = [ph.pacer_bpm for ph in p.phases if ph.kind == "pacing"]
    assert rates == [6.5, 6.0, 5.5, 5.0, 4.5]
    assert all(ph.duration_s == 120 for ph in p.phases if ph.kind == "pacing")


def test_repeat_expands_and_phase_at_walks_the_timeline():
    p = load_protocol("alpha-uptraining")
    kinds = [ph.kind for ph in p.phases]
    assert kinds == ["baseline", "baseline", "training", "training", "training", "rest"]
    assert p.phase_at(0)[0] == 0
    assert p.phase_at(125)[0] == 2
    assert p.phase_at(p.duration_s) is None


GOOD = """name = "x"
feedback = "alpha"
[[phases]]
kind = "baseline"
duration_s = 60
[[phases]]
kind = "training"
duration_s = 60
"""


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("name = 'x'\nfeedback = 'alpha'\nphases = [", "", "not valid TOML"),
        (GOOD.replace('feedback = "alpha"', 'feedback = "beta"'), "feedback", "must be one of"),
        (GOOD.replace('name = "x"', 'name = "y"'), "name", "must equal the file name"),
        (
            GOOD.replace("duration_s = 60\n[[phases]]", "duration_s = -5\n[[phases]]"),
            "phases[0].duration_s",
            "between 1 s and 4 h",
        ),
        (GOOD.replace('kind = "training"', 'kind = "nap"'), "phases[1].kind", "must be one of"),
        (GOOD + "pacer_bpm = 30\n", "phases[1].pacer_bpm", "between 3 and 10"),
        (GOOD + "colour = 'blue'\n", "phases[1].colour", "unknown key"),
        (
            GOOD.replace("duration_s = 60\n[[phases]]", 'duration_s = "long"\n[[phases]]'),
            "phases[0].duration_s",
            "expected",
        ),
        ('name = "x"\nfeedback = "alpha"\nphases = []\n', "phases", "at least one phase"),
        (
            'name = "x"\nfeedback = "alpha"\n[[phases]]\nkind = "training"\nduration_s = 60\n',
            "phases",
            "baseline",
        ),
        (  # the baseline after the training: that training would have no feedback
            'name = "x"\nfeedback = "alpha"\n[[phases]]\nkind = "training"\nduration_s = 60\n'
            '[[phases]]\nkind = "baseline"\nduration_s = 60\n',
            "phases",
            "baseline phase before it",
        ),
        (  # coherence feedback too is a z-score against a baseline
            'name = "x"\nfeedback = "coherence"\n[[phases]]\nkind = "training"\nduration_s = 60\n',
            "phases",
            "baseline phase before it",
        ),
        (
            'name = "x"\nfeedback = "alpha"\n[[phases]]\nkind = "pacing"\nduration_s = 60\n',
            "phases[0].pacer_bpm",
            "needs a pacer",
        ),
    ],
)
def test_malformed_protocol_names_file_key_and_problem(tmp_path: Path, text, key, problem):
    f = tmp_path / "x.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_protocol(f)
    assert err.value.path == str(f)
    assert err.value.key == key
    assert problem in err.value.problem


def test_unknown_protocol_lists_known_ones():
    with pytest.raises(ConfigError, match="alpha-uptraining"):
        load_protocol("no-such-protocol")


def test_non_utf8_protocol(tmp_path: Path):
    f = tmp_path / "x.toml"
    f.write_bytes(b'name = "\xff\xfe"\n')
    with pytest.raises(ConfigError, match="UTF-8"):
        load_protocol(f)
