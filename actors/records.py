"""Users, the accounts a run opens, and each leg a bank was asked to post (a bank's accounts
themselves are columns: :mod:`upisim.actors.accounts`)."""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from upisim.actors.methods import ACCOUNT
from upisim.actors.types import BankCode, Paise, Vpa


def pin_block(vpa: str, pin: str) -> str:
    """What the payer's app sends for a PIN, and what the bank stores: never the PIN itself."""
    return hashlib.sha256(f"upisim|{vpa}|{pin}".encode()).hexdigest()[:32]


class AccountSpec(NamedTuple):
    """An account to open at the start of a run (a tuple: a million are made in a build)."""

    number: str
    owner_vpa: str
    balance: Paise
    pin_hash: str
    new_since: int | None = None  # a new UPI user since this time (ms), None: an old hand
    card_limit: Paise = Paise(0)  # credit line of the customer's credit card; 0: no card


class Leg:
    """What this bank did for one side (DEBIT or CREDIT) of one transaction id: small, because
    there is one per in-flight leg for the whole idempotency window."""

    __slots__ = ("account", "amount", "done", "source", "undone")

    def __init__(self, account: str, amount: int) -> None:
        self.account = account
        self.amount = amount
        self.source = ACCOUNT  # what was posted to: the savings account or the card
        self.done: str | None = None  # the code the leg was answered with
        self.undone: str | None = None  # the code its reversal was answered with


class User(NamedTuple):
    """A person with a VPA, an account at a bank and a UPI PIN (a tuple: a million are made in
    a build, twice as fast as a frozen dataclass)."""

    name: str
    vpa: Vpa
    bank: BankCode
    account: str
    pin: str
    merchant: bool = False
    card: bool = False  # holds a credit card (a credit line at their bank)
    # the PIN block given instead of the PIN (pin is then ""); empty for a user with a PIN
    pin_hash: str = ""

    def credential(self) -> str:
        """What the app sends for the right PIN, and what the bank stores: the PIN block given
        for this user, or made from their PIN when it is typed (made then, not kept: a
        million users' blocks were 81 MB and over a second of a build)."""
        return self.pin_hash or pin_block(self.vpa, self.pin)
