"""Parsing and formatting rupee amounts; everything inside is integer paise."""

from __future__ import annotations

import re

from upisim.actors.errors import AmountError
from upisim.actors.types import Paise

_AMOUNT = re.compile(r"^(?P<rupees>\d+)(?:\.(?P<paise>\d{1,2}))?$")


def parse_amount(text: object) -> Paise:
    """Parse ``"499.99"`` (or an int number of rupees) into paise, refusing anything else.

    Floats are refused on purpose: ``0.1 + 0.2`` is not a rupee amount.
    """
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise AmountError(
            f'amount {text!r} must be a string of rupees like "499.99" or a whole number '
            f"of rupees, not {type(text).__name__}"
        )
    raw = str(text).strip().replace(",", "").removeprefix("₹").strip()
    if raw.startswith("-"):
        raise AmountError(f"amount {text!r} is negative; amounts must be positive")
    match = _AMOUNT.match(raw)
    if match is None:
        if re.match(r"^\d+\.\d{3,}$", raw):
            raise AmountError(f"amount {text!r} has more than two decimals (paise are the unit)")
        raise AmountError(f'amount {text!r} is not a number of rupees like "499.99"')
    paise = int(match["rupees"]) * 100 + int((match["paise"] or "0").ljust(2, "0"))
    if paise == 0:
        raise AmountError(f"amount {text!r} is zero; amounts must be positive")
    return Paise(paise)


def format_inr(paise: int) -> str:
    """Format paise as rupees with Indian digit grouping: 10000000 -> '₹1,00,000.00'."""
    sign = "-" if paise < 0 else ""
    rupees, rest = divmod(abs(paise), 100)
    digits = str(rupees)
    if len(digits) > 3:
        head, tail = digits[:-3], digits[-3:]
        groups: list[str] = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        digits = ",".join([*groups, tail])
    return f"{sign}₹{digits}.{rest:02d}"
