"""A bank's book of accounts: a column per field, found by number, PINs checked by block."""

from __future__ import annotations

import numpy as np
import pytest

from upisim.actors.accounts import OLD_HAND, AccountBook, AccountState, account_number
from upisim.actors.records import AccountSpec
from upisim.actors.types import Paise

# four users' columns: rows 0 and 2 bank at HDFC, rows 1 and 3 at SBI
BALANCE = np.array([100_00, 200_00, 300_00, 400_00], np.int64)
NEW = np.array([OLD_HAND, 0, OLD_HAND, OLD_HAND], np.int64)
CARD = np.array([0, 0, 5_000_00, 0], np.int64)
ASKED: list[int] = []  # the rows whose PIN block was asked for, in order


def pin_block_of(row: int) -> str:
    ASKED.append(row)
    return f"p{row}"


def book(code: str = "HDFC", rows: tuple[int, ...] = (0, 2)) -> AccountBook:
    return AccountBook(code, np.array(rows, np.int64), BALANCE, pin_block_of, NEW, CARD)


def test_an_account_is_its_rows_columns_and_changes_where_it_is_kept() -> None:
    hdfc = book()
    assert hdfc.opening_total == 400_00 and len(hdfc) == 2
    s = hdfc.slot(account_number("HDFC", 2))
    assert s == 1  # the bank's second row
    assert hdfc["HDFC000000000002"] == AccountState(300_00, 0, 5_000_00, None, 0, 0, -1, -1, 0, 0)
    hdfc.balance[s] -= 50_00
    hdfc.outstanding[s] += 7_00
    assert hdfc["HDFC000000000002"].balance == 250_00
    balance, owed = hdfc.closing()
    assert balance.tolist() == [100_00, 250_00] and owed.tolist() == [0, 7_00]
    balance[0] = 1  # a copy: the book is as it was
    assert hdfc.balance[0] == 100_00


def test_a_pin_block_is_asked_for_once_at_the_first_check_and_only_that_one_matches() -> None:
    ASKED.clear()
    hdfc = book()
    assert ASKED == []  # opening a book asks for no PIN block
    s = hdfc.slot("HDFC000000000002")
    assert not hdfc.pin_ok(s, "p0") and not hdfc.pin_ok(s, "")
    assert hdfc.pin_ok(s, "p2") and hdfc.pin_ok(s, "p2")
    assert ASKED == [2]
    assert hdfc.pin_ok(hdfc.slot("HDFC000000000000"), "p0") and ASKED == [2, 0]


def test_only_this_banks_rows_in_its_own_numbers_are_its_accounts() -> None:
    hdfc, sbi = book(), book("SBI", (1, 3))
    assert sbi["SBI000000000001"].new_since == 0
    for number in (
        "HDFC000000000001",  # SBI's customer's row
        "SBI000000000000",  # HDFC's customer's row under SBI's code
        "HDFC000000000004",  # no such row
        "HDFC00000000002",  # one digit short
        "HDFCX00000000002",  # not a number after the code
        "HDFC00000000000²",  # a digit, but not an ASCII one
        "",
    ):
        assert hdfc.slot(number) == -1 and number not in hdfc
        with pytest.raises(KeyError):
            hdfc[number]
    assert "HDFC000000000000" in hdfc
    assert list(sbi.numbers()) == ["SBI000000000001", "SBI000000000003"]
    assert [a.balance for a in sbi.values()] == [200_00, 400_00]


def test_a_book_of_specs_finds_any_number_and_refuses_bad_ones() -> None:
    specs = [
        AccountSpec("H1", "a@x", Paise(10_00), "h1", new_since=5),
        AccountSpec("H2", "b@x", Paise(0), "h2", card_limit=Paise(9_00)),
    ]
    made = AccountBook.of(specs)
    assert made.opening_total == 10_00
    assert list(made.numbers()) == ["H1", "H2"] and made.slot("H3") == -1
    assert made.pin_ok(made.slot("H2"), "h2") and not made.pin_ok(made.slot("H1"), "h2")
    assert [(a.new_since, a.card_limit) for a in made.values()] == [(5, 0), (None, 9_00)]
    with pytest.raises(ValueError, match="account H1 is opened twice"):
        AccountBook.of([*specs, specs[0]])
    with pytest.raises(ValueError, match="account H9 opens with a negative balance"):
        AccountBook.of([AccountSpec("H9", "c@x", Paise(-1), "h9")])
