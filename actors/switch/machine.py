"""A payment's state machine: its stages, the one table of allowed moves, and its row.

Each payment the switch holds is a :class:`Payment`; :meth:`Payment.move` is
the only way its stage changes, and it refuses any move :data:`TRANSITIONS`
does not list. Terminal stages are the ``state`` values of the transactions
table (:class:`upisim.runfolder.State`) and have no moves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from upisim.actors import codes
from upisim.actors.errors import InvariantError
from upisim.actors.methods import UPI_COLLECT, UPI_PUSH
from upisim.actors.types import Address, Paise, TxnId, Vpa
from upisim.runfolder import Kind, State, TransactionRow


class Stage:
    """Stages of a payment. Plain strings: they are compared on the hot path."""

    COLLECTING: Final = "COLLECTING"  # collect: waiting for the payer to approve or decline
    RESOLVING: Final = "RESOLVING"
    RISK: Final = "RISK"
    DEBITING: Final = "DEBITING"
    CREDITING: Final = "CREDITING"
    REVERSING_CREDIT: Final = "REVERSING_CREDIT"
    REVERSING_DEBIT: Final = "REVERSING_DEBIT"
    CHECKING: Final = "CHECKING"  # deemed: asking the beneficiary bank whether the credit stands
    SUCCESS: Final = State.SUCCESS
    FAILED: Final = State.FAILED
    DEEMED: Final = State.DEEMED
    EXPIRED: Final = State.EXPIRED


_MONEY_LEGS: dict[str, frozenset[str]] = {
    Stage.RISK: frozenset({Stage.DEBITING, Stage.FAILED}),
    Stage.DEBITING: frozenset({Stage.CREDITING, Stage.FAILED, Stage.REVERSING_DEBIT}),
    Stage.CREDITING: frozenset({Stage.SUCCESS, Stage.REVERSING_DEBIT, Stage.REVERSING_CREDIT}),
    Stage.REVERSING_CREDIT: frozenset({Stage.REVERSING_DEBIT, Stage.DEEMED, Stage.CHECKING}),
    Stage.CHECKING: frozenset({Stage.DEEMED, Stage.REVERSING_DEBIT}),
    Stage.REVERSING_DEBIT: frozenset({Stage.FAILED, Stage.DEEMED}),
    Stage.SUCCESS: frozenset(),
    Stage.FAILED: frozenset(),
    Stage.DEEMED: frozenset(),
}

#: The only allowed moves, one table per kind of payment. Terminal states have none.
TRANSITIONS: Mapping[str, Mapping[str, frozenset[str]]] = {
    Kind.PAY: {Stage.RESOLVING: frozenset({Stage.RISK, Stage.FAILED}), **_MONEY_LEGS},
    Kind.REFUND: {Stage.RESOLVING: frozenset({Stage.RISK, Stage.FAILED}), **_MONEY_LEGS},
    Kind.COLLECT: {
        Stage.COLLECTING: frozenset({Stage.RISK, Stage.FAILED, Stage.EXPIRED}),
        **_MONEY_LEGS,
        Stage.EXPIRED: frozenset(),
    },
}
TERMINAL = frozenset(
    stage for table in TRANSITIONS.values() for stage, moves in table.items() if not moves
)


class Payment:
    """One payment the switch holds, from its request to its terminal state."""

    __slots__ = (
        "amount",
        "attempt",
        "banks_asked",
        "code",
        "cred",
        "deadline",
        "flags",
        "initiated_at",
        "kind",
        "merchant",
        "method",
        "payee",
        "payee_account",
        "payee_bank",
        "payee_psp",
        "payer",
        "payer_account",
        "payer_bank",
        "payer_psp",
        "pending",
        "psp",
        "reason",
        "received_at",
        "refund_of",
        "risk",
        "stage",
        "t_credited",
        "t_debited",
        "t_resolved",
        "t_risk",
        "timer_at",
        "txn_id",
    )

    def __init__(
        self,
        kind: str,
        txn_id: TxnId,
        payer: Vpa,
        payee: Vpa,
        amount: Paise,
        initiated_at: int,
        psp: Address,
        now: int,
    ) -> None:
        collect = kind == Kind.COLLECT
        self.kind = kind
        self.txn_id = txn_id
        self.payer = payer
        self.payee = payee
        self.amount = amount
        self.initiated_at = initiated_at
        self.psp = psp  # the initiator's PSP: the payer's for a push, the payee's for a collect
        self.payer_psp = Address("") if collect else psp
        # the payee's, once the directory named it (for a collect, the initiator's)
        self.payee_psp = psp if collect else Address("")
        self.method = UPI_COLLECT if collect else UPI_PUSH
        self.merchant = False  # the payee is a merchant: the payment may be refunded
        self.refund_of = TxnId("")
        self.received_at = now
        self.stage: str = Stage.COLLECTING if collect else Stage.RESOLVING
        self.attempt = 0  # tries at the current stage
        self.deadline = 0  # when the current stage times out
        self.timer_at: int | None = None  # when the payment's one timer fires
        self.banks_asked = 0  # which banks hold a leg of it: 1 the payer's, 2 the payee's
        self.pending = False  # its quick tries were spent: the payer was told it is pending
        self.payer_bank = ""
        self.payer_account = ""
        self.cred = ""
        self.payee_bank = ""
        self.payee_account = ""
        self.flags = ""
        self.risk = ""  # which bank NPCI's score asks to decline: "", REMITTER, BENEFICIARY
        self.code = ""
        self.reason = ""
        self.t_resolved: int | None = None
        self.t_risk: int | None = None
        self.t_debited: int | None = None
        self.t_credited: int | None = None

    def move(self, to: str) -> None:
        """Go to stage ``to``, if the table allows it from here."""
        if to not in TRANSITIONS[self.kind][self.stage]:
            raise InvariantError(f"payment {self.txn_id}: {self.stage} -> {to} is not allowed")
        self.stage = to
        self.attempt = 0

    def row(self, now: int) -> TransactionRow:
        """The payment's row of the transactions table, once it is over."""
        return TransactionRow(
            self.txn_id,
            self.kind,
            self.method,
            self.payer,
            self.payee,
            self.payer_bank,
            self.payee_bank,
            self.amount,
            self.stage,
            self.code,
            self.reason,
            codes.decline_type(self.reason),
            self.flags,
            self.initiated_at,
            self.received_at,
            self.t_resolved,
            self.t_risk,
            self.t_debited,
            self.t_credited,
            now,
            now - self.initiated_at,
            self.refund_of,
        )
