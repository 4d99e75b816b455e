"""Patient codes that look (or read) the same as another are refused; new codes are what LSL takes.

The audit: next to ``P-001`` the store took ``Р-001`` (Cyrillic Р), ``Ｐ-001`` (fullwidth P),
``P-0０1`` (fullwidth zero) and ``P-001̈`` (a combining mark); ``P-Ⅰ`` (Roman numeral) next to
``P-I``; ``P  001`` next to ``P 001``: two patients whose codes look alike on screen. It also took
``P-ü1``, which the LSL outlets then refuse, so that patient could never stream.
"""

from __future__ import annotations

import contextlib

import pytest

from biotrainer.cli import main
from biotrainer.errors import BiotrainerError
from biotrainer.net.lsl_outlets import check_code
from biotrainer.session.store import Store, StoreError

RULE = "use letters A-Z or a-z, digits 0-9, single spaces"


@pytest.mark.parametrize(
    ("existing", "code", "why"),
    [
        ("P-001", "Р-001", "has a letter that is not Latin (Р, Cyrillic)"),
        ("P-001", "Ｐ-001", "has a fullwidth letter (Ｐ, fullwidth latin capital letter p)"),
        ("P-001", "P-0０1", "has a fullwidth digit (０, fullwidth digit zero)"),
        ("P-001", "P-001\u0308", "has an accent or mark on a letter (U+0308, combining diaeresis)"),
        ("P-I", "P-Ⅰ", "has a number sign that is not 0-9 (Ⅰ, roman numeral one)"),
        ("P 001", "P  001", "has two spaces in a row"),
        ("P-001", "P-ü1", "has a letter that is not plain A-Z (ü, latin small letter u with"),
        ("P-001", "P-٠٠1", "has a digit that is not 0-9 (٠, arabic-indic digit zero)"),
        ("P-001", "2024/017", "has the sign '/'"),
        ("P-001", "-P1", "starts with '-'"),
        ("P-001", "P1.", "ends with '.'"),
    ],
)
def test_the_audit_codes_are_refused_naming_the_character(data_dir, existing, code, why):
    with Store.open(data_dir) as store:
        store.add_patient(existing)
        with pytest.raises(StoreError) as refused:
            store.add_patient(code)
        assert str(refused.value).startswith(f"the patient code {code!r} {why}")
        assert RULE in str(refused.value) and "what LSL streams take" in str(refused.value)
        assert [p.code for p in store.patients()] == [existing]


@pytest.mark.parametrize(
    ("existing", "code"),
    [
        ("P-001", "P 001"),  # spaces and separators do not tell codes apart when read
        ("P-001", "P_001"),
        ("P-001", "p.001"),
        ("P-001", "P001"),
        ("P-001", "P-0O1"),  # O and 0
        ("P-I", "P-l"),  # I and l
        ("P-I", "P-1"),
        ("CLINIC-2024-001", "clinic 2024 001"),
    ],
)
def test_a_code_that_reads_like_a_stored_one_is_refused_naming_it(data_dir, existing, code):
    with Store.open(data_dir) as store:
        store.add_patient(existing)
        with pytest.raises(StoreError) as refused:
            store.add_patient(code)
        assert str(refused.value).startswith(
            f"the patient code {code!r} looks the same as existing code {existing!r} (codes "
            "are compared as they read"
        )
        assert [p.code for p in store.patients()] == [existing]


def test_codes_that_read_differently_are_accepted_and_their_look_alikes_refused(data_dir):
    codes = ["P-001", "P-002", "P-010", "P-100", "Q-001", "P-1-2", "CLINIC-2024-001", "A B", "x"]
    alikes = ["P 0O1", "p_002", "P.0l0", "P100", "q-0o1", "P12", "clinic2024001", "a-b", "X"]
    with Store.open(data_dir) as store:
        for code in codes:
            store.add_patient(code)
        for code, alike in zip(codes, alikes, strict=True):
            message = (
                "already exists"
                if alike.casefold() == code.casefold()
                else f"looks the same as existing code {code!r}"
            )
            with pytest.raises(StoreError, match=message):
                store.add_patient(alike)
        assert sorted(p.code for p in store.patients()) == sorted(codes)


LSL_VALID = ["P-001", "A", "z9", "CLINIC 2024 001", "a_b.c-d", "X" * 64]
CORPUS = [
    *LSL_VALID,
    *("P-ü1", "Р-001", "Ｐ-001", "P  001", "2024/017", "Q'1;--", "_P1", "P1.", "P-1🙂", "P\t1"),
]


def test_every_new_code_the_store_takes_is_one_lsl_takes(data_dir):
    """The store's rule for new codes is LSL's patient-code rule or stricter (and not empty)."""
    taken = []
    with Store.open(data_dir) as store:
        for code in CORPUS:
            with contextlib.suppress(StoreError):
                taken.append(store.add_patient(code).code)
    refused_by_lsl = []
    for code in taken:
        try:
            check_code(code, "patient code")
        except BiotrainerError:
            refused_by_lsl.append(code)
    assert refused_by_lsl == []
    assert taken == LSL_VALID


@pytest.mark.parametrize("code", ["P-ü1", "2024/017", "Q'1;--", "P-1🙂"])
def test_a_code_lsl_refuses_is_refused_by_the_store(data_dir, code):
    with pytest.raises(BiotrainerError, match="is not valid for LSL"):
        check_code(code, "patient code")
    with Store.open(data_dir) as store, pytest.raises(StoreError, match="what LSL streams take"):
        store.add_patient(code)


def _legacy(store: Store, *codes: str) -> None:
    """Patients whose codes an older version stored under its looser rule."""
    for code in codes:
        store._conn.execute(
            "INSERT INTO patients (code, notes, created_utc) VALUES (?, '', ?)",
            (code, "2024-01-01T00:00:00+00:00"),
        )


LEGACY = ("Р-001", "P-ü1", "P  002", "2024/017")


@pytest.mark.parametrize(
    ("legacy", "code"),
    [("Р-001", "P-001"), ("P-ü1", "P-u1"), ("P  002", "P 002"), ("Ｐ-003", "P-003")],
)
def test_a_new_code_like_a_legacy_one_is_refused(data_dir, legacy, code):
    with Store.open(data_dir) as store:
        _legacy(store, legacy)
        with pytest.raises(StoreError, match=f"looks the same as existing code {legacy!r}"):
            store.add_patient(code)
        assert [p.code for p in store.patients()] == [legacy]


def test_codes_stored_under_the_old_rule_stay_usable(data_dir, tmp_path, capsys):
    """Only a new code is checked: a store an older version filled opens, lists and records;
    a new code that reads like one of its codes is refused."""
    with Store.open(data_dir) as store:
        _legacy(store, *LEGACY)
        for n, code in enumerate(LEGACY):
            folder = tmp_path / f"s{n}"
            folder.mkdir()
            assert store.add_session(code, folder, "alpha-uptraining", "simulator").patient_code
            store.set_resonance(code, 6.0)
            assert store.patient(code).code == code
        assert sorted(r.patient_code for r in store.sessions()) == sorted(LEGACY)
    assert main(["patients", "--data-dir", str(data_dir)]) == 0
    listed = capsys.readouterr().out
    assert all(code in listed for code in LEGACY)
    assert main(["sessions", "--patient", "P-ü1", "--data-dir", str(data_dir)]) == 0
    assert main(["patients", "add", "P-u1", "--data-dir", str(data_dir)]) == 2
    assert "looks the same as existing code 'P-ü1'" in capsys.readouterr().err


def test_an_unknown_code_names_the_stored_code_it_reads_like(data_dir):
    with Store.open(data_dir) as store:
        store.add_patient("P-001")
        with pytest.raises(
            StoreError, match=r"^no patient with code 'P001'; did you mean P-001\?$"
        ):
            store.patient("P001")
        with pytest.raises(StoreError, match="add one with 'biotrainer patients add P-002'"):
            store.patient("P-002")


def test_patients_add_on_the_command_line_is_one_line(tmp_path, capsys):
    data = str(tmp_path / "data")
    assert main(["patients", "add", "P-001", "--data-dir", data]) == 0
    capsys.readouterr()
    assert main(["patients", "add", "Р-001", "--data-dir", data]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(
        "biotrainer: the patient code 'Р-001' has a letter that is not Latin (Р, Cyrillic): "
    )
    assert main(["patients", "add", "P 001", "--data-dir", data]) == 2
    assert "looks the same as existing code 'P-001'" in capsys.readouterr().err
    with Store.open(data) as store:
        assert [p.code for p in store.patients()] == ["P-001"]
