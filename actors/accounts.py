"""A bank's accounts as columns: a field of every account in one array, not an object each.

A run opens every user's account from columns (:class:`upisim.scenarios.people.Openings`):
opening balance, PIN block, new-user flag, card limit. An :class:`AccountBook` keeps each
account's state in a slot of arrays (balance, card debt, the day's counters, PIN tries, the
new-user cooling): ~90 bytes an account, however many payments touch it. An object an
account, its PIN block string, its number's string and a dict entry were ~360 bytes an
account touched: 310 MB at a million users paying a million times. The closing balances are
the balance column put back at the accounts' rows.

A world's account numbers are the bank's code and the user's row (:func:`account_number`),
so finding an account needs no dict of a million numbers; accounts opened from
:class:`AccountSpec` (actor tests, any numbers) are found through a dict.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

import numpy as np

from upisim.actors.records import AccountSpec

DIGITS = 12  # of a world's account number, after its bank's code
OLD_HAND = -1  # ``new_since`` of a user who is not new to UPI
_PRINT = 16  # bytes of a PIN block's fingerprint


def account_number(bank: str, row: int) -> str:
    """The number of the account of the user at ``row`` of a run's openings, at ``bank``."""
    return bank + str(row).zfill(DIGITS)  # (twice as fast as an f-string's padding)


def _fingerprint(pin_block: str) -> bytes:
    return hashlib.blake2b(pin_block.encode(), digest_size=_PRINT).digest()


class AccountState(NamedTuple):
    """One account's fields as they are now (a copy: tests, inspection)."""

    balance: int
    outstanding: int  # owed on the credit card
    card_limit: int
    new_since: int | None  # a new UPI user since then (ms); None: an old hand
    cooling_sent: int  # sent while new
    pin_failures: int
    locked_until: int
    day: int
    day_amount: int
    day_count: int


def _q(values: np.ndarray | int, n: int) -> array[int]:
    """An int64 ``array`` of ``values`` (or ``n`` of one value)."""
    column = np.full(n, values, np.int64) if isinstance(values, int) else values.astype(np.int64)
    return array("q", column.tobytes())


class AccountBook:
    """A bank's accounts, a column per field, an account's fields at its *slot* (its place
    among ``rows``, the rows of the run's openings that are this bank's, ascending).
    ``balance``, ``card_limit`` and ``new_since`` (:data:`OLD_HAND`: not new to UPI) are by
    row; ``pin_hash(row)`` is the PIN block the bank stores for a row, asked for the first
    time the account's PIN is checked (:meth:`upisim.actors.records.User.credential`) and
    kept as a fingerprint; ``index`` finds a row by number (None: numbers are
    :func:`account_number` of the bank's ``code``)."""

    def __init__(
        self,
        code: str,
        rows: np.ndarray,
        balance: np.ndarray,
        pin_hash: Callable[[int], str],
        new_since: np.ndarray,
        card_limit: np.ndarray,
        index: dict[str, int] | None = None,
    ) -> None:
        self.code = code
        self.rows = rows  # int64, ascending: the rows that are this bank's accounts
        n = len(rows)
        slot_of = np.full(len(balance), -1, np.int32)
        slot_of[rows] = np.arange(n, dtype=np.int32)
        self._slot_of = array("i", slot_of.tobytes())  # by row: its slot here, or -1
        self._index = index
        self._pin_hash = pin_hash
        self.opening_total = int(balance[rows].sum())
        # the columns, by slot
        self.balance = _q(balance[rows], n)
        self.outstanding = _q(0, n)
        self.card_limit = _q(card_limit[rows], n)
        self.new_since = _q(new_since[rows], n)
        self.cooling_sent = _q(0, n)
        self.pin_failures = _q(0, n)
        self.locked_until = _q(-1, n)
        self.day = _q(-1, n)
        self.day_amount = _q(0, n)
        self.day_count = _q(0, n)
        self._pins = bytearray(_PRINT * n)  # each PIN block's fingerprint, once asked for
        self._pin_known = bytearray(n)

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
            np.array([OLD_HAND if s.new_since is None else s.new_since for s in specs], np.int64),
            np.array([spec.card_limit for spec in specs], np.int64),
            index,
        )

    def slot(self, number: str) -> int:
        """The slot of account ``number`` here, or -1 if it is not one of this bank's."""
        if self._index is not None:
            row = self._index.get(number, -1)
        else:
            code = self.code
            if len(number) != len(code) + DIGITS or not number.startswith(code):
                return -1
            digits = number[len(code) :]
            if not (digits.isascii() and digits.isdigit()):
                return -1
            row = int(digits)
        return self._slot_of[row] if 0 <= row < len(self._slot_of) else -1

    def pin_ok(self, slot: int, cred: str) -> bool:
        """Whether ``cred`` is the PIN block the bank stores for the account at ``slot``."""
        at = slot * _PRINT
        if not self._pin_known[slot]:
            self._pins[at : at + _PRINT] = _fingerprint(self._pin_hash(int(self.rows[slot])))
            self._pin_known[slot] = 1
        return self._pins[at : at + _PRINT] == _fingerprint(cred)

    def __getitem__(self, number: str) -> AccountState:
        s = self.slot(number)
        if s < 0:
            raise KeyError(number)
        since = self.new_since[s]
        return AccountState(
            self.balance[s],
            self.outstanding[s],
            self.card_limit[s],
            None if since == OLD_HAND else since,
            self.cooling_sent[s],
            self.pin_failures[s],
            self.locked_until[s],
            self.day[s],
            self.day_amount[s],
            self.day_count[s],
        )

    def __contains__(self, number: object) -> bool:
        return isinstance(number, str) and self.slot(number) >= 0

    def __len__(self) -> int:
        return len(self.rows)

    def numbers(self) -> Iterator[str]:
        """Every account's number, in row order."""
        if self._index is not None:
            yield from self._index  # made in row order
        else:
            for row in self.rows.tolist():
                yield account_number(self.code, row)

    def values(self) -> list[AccountState]:
        """Every account as it is now (tests, small banks)."""
        return [self[number] for number in self.numbers()]

    def closing(self) -> tuple[np.ndarray, np.ndarray]:
        """Every account's balance and card debt now, by slot (int64, copies)."""
        return (
            np.frombuffer(self.balance, np.int64).copy(),
            np.frombuffer(self.outstanding, np.int64).copy(),
        )
