"""Every actor's network address, made and taken apart in one place.

An address is ``kind`` or ``kind:name``: the NPCI switch is ``switch``, the
fraud monitor ``fraud``, a bank ``bank:HDFC``, a user cohort (a PSP's app
server) ``users:3``. The senders outside the actors (the load, the scripted
payments, the timer wake-ups) have addresses too, so every envelope has one.
"""

from __future__ import annotations

from typing import Final

from upisim.actors.types import Address, BankCode

# kinds of address
SWITCH_KIND: Final = "switch"
FRAUD_KIND: Final = "fraud"
BANK_KIND: Final = "bank"
USERS_KIND: Final = "users"

SWITCH: Final = Address(SWITCH_KIND)
FRAUD: Final = Address(FRAUD_KIND)

# senders from outside the actors
LOAD: Final = Address("load")  # generated payments
COLLECTS: Final = Address("collects")  # merchants' generated collect requests
P2P_COLLECTS: Final = Address("p2p-collects")  # people's generated collect requests
SCRIPT: Final = Address("script")  # the scenario's scripted payments
TIMER: Final = Address("timer")  # wake-ups for actors' own timers


def bank(code: str) -> Address:
    """The address of the bank with this code: ``bank:HDFC``."""
    return Address(f"{BANK_KIND}:{code}")


def users(index: int) -> Address:
    """The address of user cohort ``index``: ``users:3``."""
    return Address(f"{USERS_KIND}:{index}")


def kind_of(address: str) -> str:
    """``switch``, ``fraud``, ``bank`` or ``users`` (or an outside sender's own name)."""
    return address.partition(":")[0]


def bank_code(address: str) -> BankCode:
    """``HDFC`` for ``bank:HDFC``; a ValueError for any other kind of address."""
    kind, _, code = address.partition(":")
    if kind != BANK_KIND or not code:
        raise ValueError(f"{address!r} is not a bank's address")
    return BankCode(code)


def is_behind_switch(address: str) -> bool:
    """A bank or the fraud monitor: the links where UPI's timeouts, reversals and status
    checks keep the books right when messages are lost."""
    return kind_of(address) in (BANK_KIND, FRAUD_KIND)
