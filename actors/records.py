"""What a bank keeps: each customer's account and each leg it was asked to post."""

from __future__ import annotations

from dataclasses import dataclass

from upisim.actors.methods import ACCOUNT
from upisim.actors.types import BankCode, Paise, Vpa


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """An account to open at the start of a run."""

    number: str
    owner_vpa: str
    balance: Paise
    pin_hash: str
    new_since: int | None = None  # a new UPI user since this time (ms), None: an old hand
    card_limit: Paise = Paise(0)  # credit line of the customer's credit card; 0: no card


class Account:
    __slots__ = (
        "balance",
        "card_limit",
        "cooling_sent",
        "day",
        "day_amount",
        "day_count",
        "locked_until",
        "new_since",
        "number",
        "outstanding",
        "pin_failures",
        "pin_hash",
    )

    def __init__(self, spec: AccountSpec) -> None:
        self.number = spec.number
        self.balance = int(spec.balance)
        self.new_since = spec.new_since
        self.cooling_sent = 0
        self.pin_hash = spec.pin_hash
        self.pin_failures = 0
        self.locked_until = -1
        self.day = -1
        self.day_amount = 0
        self.day_count = 0
        self.card_limit = int(spec.card_limit)
        self.outstanding = 0  # owed on the credit card


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


@dataclass(frozen=True, slots=True)
class User:
    """A person with a VPA, an account at a bank and a UPI PIN."""

    name: str
    vpa: Vpa
    bank: BankCode
    account: str
    pin: str
    merchant: bool = False
    card: bool = False  # holds a credit card (a credit line at their bank)
    pin_hash: str = ""  # what the bank stores, when given instead of the PIN (pin is then "")
