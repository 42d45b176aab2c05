"""A bank's book of accounts: opened from columns, an object only once a payment touches it."""

from __future__ import annotations

import numpy as np
import pytest

from upisim.actors.accounts import AccountBook, account_number
from upisim.actors.records import AccountSpec
from upisim.actors.types import Paise

# four users' columns: rows 0 and 2 bank at HDFC, rows 1 and 3 at SBI
BALANCE = np.array([100_00, 200_00, 300_00, 400_00], np.int64)
MADE: list[int] = []  # the rows whose PIN block was asked for, in order


def pin_block_of(row: int) -> str:
    MADE.append(row)
    return f"p{row}"


NEW = [None, 0, None, None]
CARD = np.array([0, 0, 5_000_00, 0], np.int64)


def book(code: str = "HDFC", rows: tuple[int, ...] = (0, 2)) -> AccountBook:
    return AccountBook(code, np.array(rows, np.int64), BALANCE, pin_block_of, NEW, CARD)


def test_an_account_is_opened_from_its_row_at_its_first_touch_and_kept() -> None:
    MADE.clear()
    hdfc = book()
    assert hdfc.opened()[0].tolist() == [] and hdfc.opened()[1] == []
    assert hdfc.opening_total == 400_00 and len(hdfc) == 2
    account = hdfc.get(account_number("HDFC", 2))
    assert account is not None
    assert (account.balance, account.pin_hash) == (300_00, "p2")
    assert (account.card_limit, account.new_since) == (5_000_00, None)
    account.balance -= 50_00
    assert hdfc["HDFC000000000002"] is account  # the same account, not opened again
    assert MADE == [2]  # its PIN block made as it opened, once; no other row's
    rows, accounts = hdfc.opened()
    assert rows.tolist() == [2] and accounts == [account]
    assert hdfc.get("HDFC000000000000") is not None  # more open while the rows are held
    assert rows.tolist() == [2] and hdfc.opened()[0].tolist() == [2, 0]


def test_only_this_banks_rows_in_its_own_numbers_are_its_accounts() -> None:
    hdfc, sbi = book(), book("SBI", (1, 3))
    assert sbi.get("SBI000000000001") is not None and sbi.get("SBI000000000001").new_since == 0  # type: ignore[union-attr]
    for number in (
        "HDFC000000000001",  # SBI's customer's row
        "SBI000000000000",  # HDFC's customer's row under SBI's code
        "HDFC000000000004",  # no such row
        "HDFC00000000002",  # one digit short
        "HDFCX00000000002",  # not a number after the code
        "HDFC00000000000²",  # a digit, but not an ASCII one
        "",
    ):
        assert hdfc.get(number) is None and number not in hdfc
        with pytest.raises(KeyError):
            hdfc[number]
    assert "HDFC000000000000" in hdfc and hdfc.opened()[1] == []  # asking is no touch
    assert list(sbi.numbers()) == ["SBI000000000001", "SBI000000000003"]
    assert [a.balance for a in sbi.values()] == [200_00, 400_00]


def test_a_book_of_specs_finds_any_number_and_refuses_bad_ones() -> None:
    specs = [AccountSpec("H1", "a@x", Paise(10_00), "h1"), AccountSpec("H2", "b@x", Paise(0), "h2")]
    made = AccountBook.of(specs)
    assert made.opening_total == 10_00
    assert list(made.numbers()) == ["H1", "H2"] and made.get("H3") is None
    assert [a.pin_hash for a in made.values()] == ["h1", "h2"]
    with pytest.raises(ValueError, match="account H1 is opened twice"):
        AccountBook.of([*specs, specs[0]])
    with pytest.raises(ValueError, match="account H9 opens with a negative balance"):
        AccountBook.of([AccountSpec("H9", "c@x", Paise(-1), "h9")])
