from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from observatoire.errors import InvalidValueError
from observatoire.territories.codes import CodeBook, CodeStatus, normalise_code


@pytest.mark.parametrize(
    ("raw", "level", "expected"),
    [
        ("1001", "commune", "01001"),
        (1001, "commune", "01001"),
        (1001.0, "commune", "01001"),
        ("1001.0", "commune", "01001"),
        (" 93066 ", "commune", "93066"),
        ("2a004", "commune", "2A004"),
        ("10040101", "iris", "010040101"),
        ("930590101", "iris", "930590101"),
        ("1", "departement", "01"),
        ("2B", "departement", "2B"),
        ("974", "departement", "974"),
        ("200054781", "epci", "200054781"),
    ],
)
def test_normalise_repairs_what_spreadsheets_do(raw: object, level: str, expected: str) -> None:
    assert normalise_code(raw, level) == expected


@pytest.mark.parametrize(
    ("raw", "level"),
    [
        ("", "commune"),
        ("ABCDE", "commune"),
        ("123456", "commune"),
        ("2C004", "commune"),
        ("12", "iris"),
        ("1234", "epci"),
    ],
)
def test_normalise_refuses_what_cannot_be_repaired(raw: str, level: str) -> None:
    with pytest.raises(InvalidValueError):
        normalise_code(raw, level)


@given(st.integers(min_value=1001, max_value=95690))
def test_a_commune_code_survives_being_read_as_a_number(number: int) -> None:
    code = f"{number:05d}"
    assert normalise_code(number, "commune") == code
    assert normalise_code(float(number), "commune") == code
    assert normalise_code(str(number), "commune") == code


def test_codebook_classifies_and_suggests() -> None:
    book = CodeBook("commune", frozenset({"93066", "93070", "93071"}), {"93059": "2025-01-01"})
    assert book.classify("93066").status is CodeStatus.CURRENT
    past = book.classify("93059")
    assert past.status is CodeStatus.PAST and past.valid_until == "2025-01-01"
    unknown = book.classify("93067")
    assert unknown.status is CodeStatus.UNKNOWN
    assert "93066" in unknown.suggestions
