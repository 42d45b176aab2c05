"""A bank's accounts by number, each made an object only when a payment first touches it.

A run opens every user's account from columns (:class:`upisim.scenarios.people.Openings`):
opening balance, PIN block, new-user flag, card limit. Making a million :class:`Account`
objects (and a dict of them) up front took over a second and ~190 bytes a user, most of them
never touched in a short run. An :class:`AccountBook` keeps the columns and opens an account
the first time it is asked for; the closing balances are the opening column with the opened
accounts' balances put back at their rows.

A world's account numbers are the bank's code and the user's row (:func:`account_number`),
so finding a row needs no dict of a million numbers; accounts opened from
:class:`AccountSpec` (actor tests, any numbers) are found through a dict.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from upisim.actors.records import Account, AccountSpec

DIGITS = 12  # of a world's account number, after its bank's code


def account_number(bank: str, row: int) -> str:
    """The number of the account of the user at ``row`` of a run's openings, at ``bank``."""
    return bank + str(row).zfill(DIGITS)  # (twice as fast as an f-string's padding)


class AccountBook:
    """A bank's accounts, opened lazily from columns indexed by row: ``rows`` are the rows that
    are this bank's; ``pin_hash(row)`` is the PIN block the bank stores for a row (made when
    the account opens: :meth:`upisim.actors.records.User.credential`); ``index`` finds a row
    by number (None: numbers are :func:`account_number` of the bank's ``code``)."""

    def __init__(
        self,
        code: str,
        rows: np.ndarray,
        balance: np.ndarray,
        pin_hash: Callable[[int], str],
        new_since: Sequence[int | None],
        card_limit: np.ndarray,
        index: dict[str, int] | None = None,
    ) -> None:
        self.code = code
        self.rows = rows  # int64, ascending: the rows that are this bank's accounts
        self._balance = balance
        self._pin_hash = pin_hash
        self._new_since = new_since
        self._card_limit = card_limit
        self._index = index
        mine = np.zeros(len(balance), np.bool_)
        mine[rows] = True
        self._mine = mine.tobytes()  # one byte a row: is it this bank's?
        self.opening_total = int(balance[rows].sum())
        self._opened: dict[str, Account] = {}
        self._opened_rows = array("q")  # in the order opened, as ``_opened`` (8 B a row)

    @classmethod
    def of(cls, specs: Iterable[AccountSpec], code: str = "") -> AccountBook:
        """A book of these accounts (any numbers; each number once)."""
        specs = list(specs)
        index = {spec.number: row for row, spec in enumerate(specs)}
        if len(index) != len(specs):
            numbers = [spec.number for spec in specs]
            twice = next(n for n in numbers if numbers.count(n) > 1)
            raise ValueError(f"account {twice} is opened twice")
        for spec in specs:
            if spec.balance < 0:
                raise ValueError(f"account {spec.number} opens with a negative balance")
        return cls(
            code,
            np.arange(len(specs), dtype=np.int64),
            np.array([spec.balance for spec in specs], np.int64),
            [spec.pin_hash for spec in specs].__getitem__,
            [spec.new_since for spec in specs],
            np.array([spec.card_limit for spec in specs], np.int64),
            index,
        )

    def _row(self, number: str) -> int:
        """The row of account ``number`` here, or -1 if it is not one of this bank's."""
        if self._index is not None:
            return self._index.get(number, -1)
        code = self.code
        if len(number) != len(code) + DIGITS or not number.startswith(code):
            return -1
        digits = number[len(code) :]
        if not (digits.isascii() and digits.isdigit()):
            return -1
        row = int(digits)
        return row if row < len(self._mine) and self._mine[row] else -1

    def get(self, number: str) -> Account | None:
        """Account ``number``, opened now if this is its first touch; None if there is none."""
        account = self._opened.get(number)
        if account is not None:
            return account
        row = self._row(number)
        if row < 0:
            return None
        account = self._opened[number] = Account(
            int(self._balance[row]),
            self._pin_hash(row),
            self._new_since[row],
            int(self._card_limit[row]),
        )
        self._opened_rows.append(row)
        return account

    def __getitem__(self, number: str) -> Account:
        account = self.get(number)
        if account is None:
            raise KeyError(number)
        return account

    def __contains__(self, number: object) -> bool:
        return isinstance(number, str) and (number in self._opened or self._row(number) >= 0)

    def __len__(self) -> int:
        return len(self.rows)

    def numbers(self) -> Iterator[str]:
        """Every account's number, in row order."""
        if self._index is not None:
            yield from self._index  # made in row order
        else:
            for row in self.rows.tolist():
                yield account_number(self.code, row)

    def values(self) -> list[Account]:
        """Every account, opening those not yet touched (tests, small banks)."""
        return [self[number] for number in self.numbers()]

    def opened(self) -> tuple[np.ndarray, list[Account]]:
        """The rows of the accounts opened so far, and those accounts, in the same order: the
        rest are as they opened."""
        rows = np.frombuffer(self._opened_rows, np.int64).copy()  # (a view would pin the array)
        return rows, list(self._opened.values())
