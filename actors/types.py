"""Domain quantities as NewTypes: money in paise, time in milliseconds, ids as strings."""

from __future__ import annotations

from typing import NewType

Paise = NewType("Paise", int)
"""Money: an integer number of paise (₹1 = 100 paise)."""

SimTime = NewType("SimTime", int)
"""Simulated time: integer milliseconds since the start of the run."""

Vpa = NewType("Vpa", str)
"""Virtual payment address, ``name@handle``."""

TxnId = NewType("TxnId", str)
"""UPI transaction id: alphanumeric, at most 35 characters."""

BankCode = NewType("BankCode", str)
"""Short bank code such as ``HDFC``."""

Address = NewType("Address", str)
"""An actor's network address, such as ``switch`` or ``bank:HDFC``."""

SECOND: SimTime = SimTime(1000)
MINUTE: SimTime = SimTime(60 * SECOND)
HOUR: SimTime = SimTime(60 * MINUTE)
DAY: SimTime = SimTime(24 * HOUR)
