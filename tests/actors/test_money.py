from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from upisim.actors.errors import AmountError
from upisim.actors.money import format_inr, parse_amount


@pytest.mark.parametrize(
    ("text", "paise"),
    [
        ("499.99", 49999),
        ("1", 100),
        ("0.01", 1),
        ("100000", 10000000),
        ("12.5", 1250),
        ("₹1,200.50", 120050),
        (" 7.00 ", 700),
        (250, 25000),
    ],
)
def test_parses_rupees_into_paise(text: object, paise: int) -> None:
    assert parse_amount(text) == paise


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("-5", "negative"),
        ("0", "zero"),
        ("0.00", "zero"),
        ("1.234", "more than two decimals"),
        ("abc", "not a number"),
        ("NaN", "not a number"),
        ("", "not a number"),
        ("1e5", "not a number"),
        (1.5, "not float"),
        (True, "not bool"),
        (None, "not NoneType"),
        ("inf", "not a number"),
    ],
)
def test_refuses_what_is_not_an_amount_and_says_why(text: object, why: str) -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount(text)
    assert repr(text) in str(caught.value)
    assert why.split()[-1] in str(caught.value)


@given(st.integers(min_value=1, max_value=10**12))
def test_format_and_parse_round_trip(paise: int) -> None:
    assert parse_amount(format_inr(paise)) == paise


def test_indian_digit_grouping() -> None:
    assert format_inr(7000000) == "₹70,000.00"
    assert format_inr(10000000) == "₹1,00,000.00"
    assert format_inr(123456789012) == "₹1,23,45,67,890.12"
    assert format_inr(-150) == "-₹1.50"
