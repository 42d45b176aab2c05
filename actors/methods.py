"""Payment methods as strategies: where the money comes from, which rules hold, how long it takes.

Every payment goes through the same switch and the same debit-then-credit
legs; the method decides the rest. The payer's app picks a method the payee
accepts (cards and, by default, net banking are for merchants), the switch
adds the method's extra hop to the remitter leg (card network authorisation,
the net-banking redirect), and the remitter bank funds the debit from the
method's source: the savings account, or the credit line of a credit card
(whose outstanding balance is debt the bank created, counted in conservation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from upisim.actors.types import Paise

UPI_PUSH = "UPI_PUSH"
UPI_COLLECT = "UPI_COLLECT"
DEBIT_CARD = "DEBIT_CARD"
CREDIT_CARD = "CREDIT_CARD"
NET_BANKING = "NET_BANKING"

ACCOUNT = "ACCOUNT"  # the savings account behind the VPA
CARD = "CARD"  # the credit line of the customer's credit card


@dataclass(frozen=True, slots=True)
class Method:
    """One way to pay. ``per_txn`` 0 means the bank's own UPI limit applies."""

    name: str
    source: str = ACCOUNT
    p2m_only: bool = False  # only to merchants (a person cannot take card payments)
    upi_rules: bool = True  # the bank's UPI daily limits and new-user cooling apply
    per_txn: Paise = Paise(0)
    extra_ms: int = 0  # added to the switch -> remitter leg
    spread_ms: int = 0  # and a uniform 0..spread_ms more: how much that hop varies


_CARD = Method(
    DEBIT_CARD,
    p2m_only=True,
    upi_rules=False,
    per_txn=Paise(2_00_000_00),
    extra_ms=250,
    spread_ms=250,
)
#: The defaults (⚠ limits and latencies are typical values, not NPCI figures: a scenario's
#: ``[methods.*]`` tables change them).
DEFAULT_METHODS: Mapping[str, Method] = {
    UPI_PUSH: Method(UPI_PUSH),
    UPI_COLLECT: Method(UPI_COLLECT),
    DEBIT_CARD: _CARD,
    # the same card network, drawing on a credit line instead of the account
    CREDIT_CARD: replace(_CARD, name=CREDIT_CARD, source=CARD, per_txn=Paise(5_00_000_00)),
    NET_BANKING: Method(
        NET_BANKING,
        upi_rules=False,
        per_txn=Paise(10_00_000_00),
        extra_ms=1_500,
        spread_ms=3_000,  # a person logging in to their bank's page
    ),
}

#: How the switch debits a merchant giving a payment back: from its account, under no UPI
#: per-payment, daily or new-user limit (a refund is as large as the payment it returns, and
#: not a payment the merchant chose to make). Not a method a scenario can pick.
REFUND_DEBIT = Method("REFUND_DEBIT", upi_rules=False)

#: Methods a payer's app can start as a push (a collect is started by the payee).
PUSH_METHODS = (UPI_PUSH, DEBIT_CARD, CREDIT_CARD, NET_BANKING)


def methods_with(overrides: Mapping[str, Mapping[str, object]]) -> dict[str, Method]:
    """The default methods with some fields changed: ``{"NET_BANKING": {"extra_ms": 3000}}``."""
    table = dict(DEFAULT_METHODS)
    for name, fields in overrides.items():
        if name not in table:
            raise KeyError(f"no payment method {name!r} (methods: {', '.join(table)})")
        table[name] = replace(table[name], **fields)  # type: ignore[arg-type]
    return table
