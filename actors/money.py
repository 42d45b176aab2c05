"""Parsing and formatting rupee amounts; everything inside is integer paise."""

from __future__ import annotations

import re

from upisim.actors.errors import AmountError
from upisim.actors.types import Paise

# ASCII digits only: Python's \d and int() also read Devanagari, Arabic-Indic and
# full-width digits, which a scenario file must not slip in as money.
_AMOUNT = re.compile(r"^(?P<rupees>[0-9]+)(?:\.(?P<paise>[0-9]{1,2}))?$")
_TOO_PRECISE = re.compile(r"^[0-9]+\.[0-9]{3,}$")

MAX_AMOUNT_PAISE = Paise(10**14)
"""The most any one amount, balance or limit may be: ₹10,00,00,00,00,000.00 (₹1 lakh crore)."""

MAX_MONEY_PAISE = 10**17
"""The most money a whole run may hold (₹1 crore crore): 1/92 of int64, so every total,
settlement and card debt of a run fits the tables' int64 columns with room to spare."""


def parse_amount(text: object) -> Paise:
    """Parse ``"499.99"`` (or an int number of rupees) into paise, refusing anything else.

    Floats are refused on purpose: ``0.1 + 0.2`` is not a rupee amount.
    """
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise AmountError(
            f'amount {text!r} must be a string of rupees like "499.99" or a whole number '
            f"of rupees, not {type(text).__name__}"
        )
    if isinstance(text, int) and text > MAX_AMOUNT_PAISE // 100:
        raise _too_large(text)
    raw = str(text).strip().replace(",", "").removeprefix("₹").strip()
    if raw.startswith("-"):
        raise AmountError(f"amount {text!r} is negative; amounts must be positive")
    match = _AMOUNT.match(raw)
    if match is None:
        if _TOO_PRECISE.match(raw):
            raise AmountError(f"amount {text!r} has more than two decimals (paise are the unit)")
        raise AmountError(
            f'amount {text!r} is not a number of rupees like "499.99" (ASCII digits 0-9 only)'
        )
    rupees = match["rupees"].lstrip("0")
    if len(rupees) > len(str(MAX_AMOUNT_PAISE // 100)):  # before int(): it may be huge
        raise _too_large(text)
    paise = int(rupees or "0") * 100 + int((match["paise"] or "0").ljust(2, "0"))
    if paise > MAX_AMOUNT_PAISE:
        raise _too_large(text)
    if paise == 0:
        raise AmountError(f"amount {text!r} is zero; amounts must be positive")
    return Paise(paise)


def _too_large(text: str | int) -> AmountError:
    if isinstance(text, int):  # str() of a huge int is slow or refused: say how big it is
        shown = repr(text) if text < 10**40 else f"of {text.bit_length()} bits"
    else:
        shown = repr(text) if len(text) <= 40 else f"{text[:20]!r}… ({len(text)} characters)"
    return AmountError(
        f"amount {shown} is more than the most an amount may be, {format_inr(MAX_AMOUNT_PAISE)}"
    )


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
