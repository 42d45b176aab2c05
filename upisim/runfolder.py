"""The run folder's tables, defined once: one row type per table, and the words its columns use.

Actors build their rows with these types; the Parquet writer derives each
file's schema from them (:func:`columns`), and the notebook loader reads each
file through them. ``docs/run-folder.md`` documents the same columns, and a
test holds all of them against each other. This module imports nothing of
upisim's own, so actors, scenarios and reports can all depend on it.

Annotations are evaluated (no ``from __future__ import annotations``): a
column's type is read from its field's annotation.
"""

import types
from typing import Final, NamedTuple, Union, get_args, get_origin, get_type_hints


class Kind:
    """What kind of payment a transactions row is (its ``kind`` column)."""

    PAY: Final = "PAY"  # push: the payer's app sends the money
    COLLECT: Final = "COLLECT"  # pull: the payee asks, the payer approves
    REFUND: Final = "REFUND"  # a merchant gives a payment back (``refund_of`` names it)


class State:
    """How a payment ended (the ``state`` column): its terminal state, or PENDING."""

    SUCCESS: Final = "SUCCESS"
    FAILED: Final = "FAILED"
    EXPIRED: Final = "EXPIRED"  # a collect request nobody answered in time
    DEEMED: Final = "DEEMED"  # deemed approved: the credit stands though a reply was lost
    # not terminal: the run stopped at its drain limit while the switch still waited on it
    # (such a run has failed); its row says where it had got to
    PENDING: Final = "PENDING"

    ALL: Final = (SUCCESS, FAILED, EXPIRED, DEEMED, PENDING)
    MOVED: Final = frozenset({SUCCESS, DEEMED})  # the states in which money moved


class Notice:
    """What a user's app tells them (the notifications table's ``kind``)."""

    DEBIT: Final = "DEBIT"  # money out
    CREDIT: Final = "CREDIT"  # money in
    COLLECT_REQUEST: Final = "COLLECT_REQUEST"  # someone asks for money
    EXPIRED: Final = "EXPIRED"  # a request that ran out
    REVERSAL: Final = "REVERSAL"  # a posting put back
    DECLINED: Final = "DECLINED"  # a payment that did not go through
    PENDING: Final = "PENDING"  # a payment whose outcome a bank has not given yet

    ALL: Final = (DEBIT, CREDIT, COLLECT_REQUEST, EXPIRED, REVERSAL, DECLINED, PENDING)


class TransactionRow(NamedTuple):
    """One payment attempt, written when it reaches its terminal state."""

    txn_id: str
    kind: str  # Kind
    method: str
    payer_vpa: str
    payee_vpa: str
    payer_bank: str
    payee_bank: str
    amount_paise: int
    state: str  # State
    response_code: str
    reason_code: str
    decline_type: str
    fraud_flags: str
    t_initiated_ms: int
    t_received_ms: int | None
    t_resolved_ms: int | None
    t_risk_ms: int | None
    t_debited_ms: int | None
    t_credited_ms: int | None
    t_completed_ms: int
    latency_ms: int
    refund_of: str


class EventRow(NamedTuple):
    """Something notable an actor saw: a fraud flag, a timeout, a reversal, a rate-limit hit."""

    t_ms: int
    kind: str
    actor: str
    txn_id: str
    subject: str
    detail: str
    value: int


class MoneyRow(NamedTuple):
    """One bank's books at one sample time."""

    t_ms: int
    bank: str
    customers_paise: int
    settlement_paise: int
    card_outstanding_paise: int
    settled_paise: int  # net positions of the settlement cycles closed and posted so far


class SettlementRow(NamedTuple):
    """One bank's multilateral net position in one closed settlement cycle."""

    cycle: int  # 0, 1, ... in order; the last may close early, when the day's payments end
    t_close_ms: int
    bank: str
    payments: int  # payments that moved money with a leg at this bank, ended in the cycle
    debits_paise: int  # paid by its customers
    credits_paise: int  # paid to its customers
    net_paise: int  # credits - debits: received (+) or owed (-) at settlement


class FraudTruthRow(NamedTuple):
    """The ground truth of one fraudulent payment, written by the user who made it: never a
    column of the transactions table (a detector must earn it from behaviour)."""

    txn_id: str
    typology: str  # collect_scam, authorised_push, account_takeover, qr_merchant, ...
    case_id: int  # one fraud case: a theft, or one mule network's laundering
    payer_role: str  # victim, fraudster, mule, cash_out
    payee_role: str
    stage: str  # theft, layering, cash_out
    pattern: str  # a laundering payment's pattern (fan_out, chain, cycle, ...); "" otherwise


class AccountRow(NamedTuple):
    """One user's account as the run opened and closed."""

    vpa: str
    name: str
    bank: str
    account: str
    merchant: bool
    new_user: bool
    opening_paise: int
    closing_paise: int
    card_limit_paise: int
    card_outstanding_paise: int


class Notification(NamedTuple):
    """What a user's app showed them: one row of the optional notifications table."""

    t_ms: int
    vpa: str  # the user told
    kind: str  # Notice
    txn_id: str
    amount_paise: int
    counterparty: str  # who paid them, whom they paid, or who asks
    code: str  # the NPCI code that goes with it ("00" for money that moved)


class QueueRow(NamedTuple):
    """One second of one place's worker pool (a bank's core banking): what arrived, what
    was refused, how long the queue was, and what the work waited and asked for."""

    t_s: int  # the second, from the start of the run
    place: str  # the actor: bank:SBI
    workers: int  # workers in service that second (fewer in a capacity cut)
    arrivals: int  # work admitted (debits, credits, reversals, status checks)
    refused: int  # new work turned away: queue full or core offline
    queue_len: int  # work waiting for a worker as the second ended
    queue_ms: int  # the queue's length integrated over the second (mean length x 1000)
    wait_ms: int  # summed queue waits of the work that arrived this second
    service_ms: int  # summed service the work that arrived this second asked for
    busy_ms: int  # worker time spent in this second (utilisation: / 1000 x workers)


class TraceRow(NamedTuple):
    """One message of a traced payment (``[trace]``): who sent it to whom, when it left and
    when it arrived (none: lost, to a fault or a crash, or still in flight at the end)."""

    txn_id: str
    t_sent_ms: int  # when it left its sender, after any queueing or processing there
    t_delivered_ms: int | None  # when its recipient handled it
    sender: str  # an actor's address: users:3 (a PSP's app server), switch, bank:HDFC, fraud
    recipient: str
    seq: int  # the sender's count of messages sent: orders what it sent at one instant
    message: str  # the message's type: ReqPay, ReqAuthDetails, RespPayLeg, ...
    code: str  # the NPCI response code it carries, or ""
    detail: str  # what else it says: leg=DEBIT, decision=ALLOW, result=SUCCESS, ...
    amount_paise: int | None  # the amount it carries, if any


#: file stem -> row type, for every table a run folder may hold
TABLES: Final[dict[str, type[tuple[object, ...]]]] = {
    "transactions": TransactionRow,
    "events": EventRow,
    "money": MoneyRow,
    "accounts": AccountRow,
    "notifications": Notification,
    "queues": QueueRow,
    "settlement": SettlementRow,
    "fraud_truth": FraudTruthRow,
    "trace": TraceRow,
}

#: the column types a table may have
STRING: Final = "string"
INT64: Final = "int64"
BOOL: Final = "bool"
_TYPES: Final = {str: STRING, int: INT64, bool: BOOL}


class Column(NamedTuple):
    name: str
    type: str  # STRING, INT64 or BOOL
    nullable: bool


def columns(row: type[tuple[object, ...]]) -> list[Column]:
    """The columns of a row type, in order, read from its annotations."""
    out = []
    for name, hint in get_type_hints(row).items():
        nullable = False
        if get_origin(hint) in (Union, types.UnionType):
            args = [a for a in get_args(hint) if a is not type(None)]
            nullable, hint = len(args) < len(get_args(hint)), args[0]
        while hasattr(hint, "__supertype__"):  # a NewType such as Paise
            hint = hint.__supertype__
        out.append(Column(name, _TYPES[hint], nullable))
    return out
