"""Every message that crosses an actor boundary, named after the UPI API where one exists.

Messages are immutable (Pykka does not copy them): named tuples rather than
frozen dataclasses, because a frozen dataclass costs ~5x as much to build
(2.7 µs against 0.6 µs for ReqPay) and a payment builds a dozen messages.
Amounts are paise, times are simulated milliseconds. Outcomes carry NPCI
response codes: a decline is a value, never an exception.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from upisim.actors.methods import ACCOUNT, UPI_PUSH
from upisim.actors.types import Address, BankCode, Paise, SimTime, TxnId, Vpa

# --- load (SimPy -> user actors) --------------------------------------------------------


class StartPayments(NamedTuple):
    """Load: ``count`` of this cohort's users each start a payment of their own choosing now."""

    number: int


class StartCollects(NamedTuple):
    """Load: ``number`` of this cohort's merchants (or, ``by_people``, people: P2P collect)
    each send a collect request now."""

    number: int
    by_people: bool = False


class StartPayment(NamedTuple):
    """Load: a scripted payment; ``pin`` is what the payer types (``None``: the right PIN).
    With method ``UPI_COLLECT`` it goes to the payee's app, which asks the payer for it."""

    payer: Vpa
    payee: Vpa
    amount: Paise
    pin: str | None = None
    note: str = ""
    method: str = UPI_PUSH


# --- payer PSP <-> NPCI switch ----------------------------------------------------------


class ReqPay(NamedTuple):
    """Payer PSP -> switch: pay ``amount`` from ``payer`` to ``payee`` (push, ``ReqPay``)."""

    txn_id: TxnId
    payer: Vpa
    payee: Vpa
    amount: Paise
    payer_bank: BankCode
    payer_account: str
    cred: str  # the PIN block: never the PIN itself
    initiated_at: SimTime
    refund_of: TxnId = TxnId("")  # a merchant's refund names the payment it gives back
    method: str = UPI_PUSH  # a refund carries the method of the payment it gives back


class Result:
    """What ``RespPay`` tells the initiator."""

    SUCCESS: Final = "SUCCESS"
    FAILURE: Final = "FAILURE"
    DEEMED: Final = "DEEMED"
    EXPIRED: Final = "EXPIRED"
    DUPLICATE: Final = "DUPLICATE"  # a request reusing an id already seen: refused, not run
    PENDING: Final = "PENDING"  # not known yet: a bank has not answered; the outcome follows


class RespPay(NamedTuple):
    """Switch -> payer PSP: the final outcome of a payment. A collect request that did not go
    through is told to the payee (who asked) too: that copy is ``for_payee``."""

    txn_id: TxnId
    payer: Vpa
    amount: Paise
    result: str  # a Result
    code: str  # NPCI response code the payer sees
    reason: str  # most specific code (the remitter's Z9 inside U30)
    payee: Vpa = Vpa("")
    for_payee: bool = False


class ReqTxnConfirmation(NamedTuple):
    """Switch -> payee PSP: money arrived for ``payee`` (``ReqTxnConfirmation``)."""

    txn_id: TxnId
    payer: Vpa
    payee: Vpa
    amount: Paise
    method: str = UPI_PUSH
    kind: str = "PAY"  # PAY, COLLECT or REFUND (a refund is never refunded)


class ReversalNotice(NamedTuple):
    """Switch -> payer PSP: the debit of a payment that failed was reversed, and the money is
    back in ``vpa``'s account (``leg`` DEBIT). A credit taken back before the payment ended is
    not told: the payee never heard of it."""

    txn_id: TxnId
    vpa: Vpa
    amount: Paise
    leg: str
    payee: Vpa = Vpa("")  # whom the payment was for


class ReqPayCollect(NamedTuple):
    """Payee PSP -> switch: ask ``payer`` for ``amount`` (``ReqPay`` type COLLECT)."""

    txn_id: TxnId
    payee: Vpa
    payer: Vpa
    amount: Paise
    payee_bank: BankCode
    payee_account: str
    initiated_at: SimTime
    expire_after: int  # ms: the request expires (U69) unless approved by then
    payee_merchant: bool = True  # a person's request (P2P collect) only where allowed


# --- address resolution ----------------------------------------------------------------


class ReqAuthDetails(NamedTuple):
    """Switch -> PSP: resolve ``vpa`` to an account (``ReqAuthDetails``). For a collect request
    ``collect_from`` is the requester: the payer must approve with the PIN or decline."""

    txn_id: TxnId
    vpa: Vpa
    collect_from: Vpa = Vpa("")
    amount: Paise = Paise(0)


class RespAuthDetails(NamedTuple):
    """Payee PSP -> switch: the payee's bank and account, or a code saying why not."""

    txn_id: TxnId
    vpa: Vpa
    code: str
    bank: BankCode = BankCode("")
    account: str = ""
    cred: str = ""  # a collect approval carries the payer's PIN block
    merchant: bool = False  # the payee is a merchant (cards take only merchant payments)


# --- fraud monitor ---------------------------------------------------------------------


class ReqRiskScore(NamedTuple):
    """Switch -> fraud monitor: score a payment before the debit. A merchant's ``refund``
    gives money back: it is not the merchant's own spending."""

    txn_id: TxnId
    payer: Vpa
    payee: Vpa
    amount: Paise
    refund: bool = False


class RespRiskScore(NamedTuple):
    """Fraud monitor -> switch: ALLOW, FLAG (allow, record), DECLINE (NPCI declines, ``U16``),
    or REMITTER / BENEFICIARY (the score goes with that bank's leg, and the bank declines:
    ``K1`` / ``ZI``), and the rules that fired."""

    txn_id: TxnId
    decision: str
    rules: tuple[str, ...] = ()


class RiskRelease(NamedTuple):
    """Switch -> fraud monitor: a payment it allowed did not move money; forget its amount."""

    txn_id: TxnId
    payer: Vpa
    amount: Paise
    scored_at: SimTime
    reason: str = ""  # the bank's code, when it declined the debit (ZM: a wrong PIN)


class CollectAsked(NamedTuple):
    """Switch -> fraud monitor, when a rule watches collect requests: ``requester`` asked
    ``payer`` for money (whether or not the payer approves)."""

    txn_id: TxnId
    requester: Vpa
    payer: Vpa


# --- disputes (NPCI's UDIR): a victim's report freezes the account the money went to -----


class ReqFraudReport(NamedTuple):
    """Victim's PSP -> switch -> payee's PSP: the victim reports ``txn_id`` as fraud."""

    txn_id: TxnId
    victim: Vpa
    payee: Vpa


class RespFraudReport(NamedTuple):
    """Payee's PSP -> switch: the reported payee's bank and account."""

    txn_id: TxnId
    payee: Vpa
    bank: BankCode
    account: str


class ReqFreeze(NamedTuple):
    """Switch -> bank: freeze ``account`` (reported in ``txn_id``): no debit or credit posts to
    it any more (``YE`` / ``YF``); what it holds stays, for the courts to release."""

    txn_id: TxnId
    account: str


# --- switch <-> banks ------------------------------------------------------------------


class ReqPayDebit(NamedTuple):
    """Switch -> remitter bank: ``ReqPay`` type DEBIT; verify the PIN block and debit the
    ``method``'s source (savings account or credit line) under its rules."""

    txn_id: TxnId
    account: str
    amount: Paise
    cred: str
    method: str = UPI_PUSH
    risk: bool = False  # NPCI's risk score asks this bank to decline (K1)


class ReqPayCredit(NamedTuple):
    """Switch -> beneficiary bank: ``ReqPay`` type CREDIT, to the savings account or, for a
    refund of a card payment, back to the card (``source`` CARD)."""

    txn_id: TxnId
    account: str
    amount: Paise
    source: str = ACCOUNT
    risk: bool = False  # NPCI's risk score asks this bank to decline (ZI)


class ReqPayReversal(NamedTuple):
    """Switch -> bank: reverse the ``leg`` (DEBIT or CREDIT) of a payment if it was posted."""

    txn_id: TxnId
    leg: str
    account: str
    amount: Paise


class RespPayLeg(NamedTuple):
    """Bank -> switch: the outcome of a debit, credit or reversal (``RespPay``)."""

    txn_id: TxnId
    leg: str  # DEBIT, CREDIT, DEBIT_REVERSAL, CREDIT_REVERSAL
    code: str
    undone: bool = False  # a reversal that gave money back (not one of a leg never posted)


class ReqChkTxn(NamedTuple):
    """Switch -> bank: was this leg of the payment posted, and does it still stand? And app ->
    switch: what became of the ``request`` I sent (no ``leg``)? The switch answers an app with
    the outcome (``RespPay``, PENDING while unknown; ``U48`` if it never got the request, which
    it then refuses for good)."""

    txn_id: TxnId
    leg: str = ""
    request: ReqPay | ReqPayCollect | None = None


class RespChkTxn(NamedTuple):
    """Bank -> switch: ``posted`` is True when the leg was posted and not reversed."""

    txn_id: TxnId
    leg: str
    posted: bool


class SettlementFile(NamedTuple):
    """Switch -> bank, once a settlement cycle: the payments with a leg at this bank that
    reached their terminal state; nothing more will be asked about them, so the bank may
    forget their legs (and will never apply one again). The switch sends it again every
    cycle until the bank acknowledges its ``number``."""

    number: int
    txn_ids: tuple[TxnId, ...]
    # a closed settlement cycle's net position for this bank, to post once: (cycle, paise)
    positions: tuple[tuple[int, int], ...] = ()


class SettlementAck(NamedTuple):
    """Bank -> switch: settlement file ``number`` arrived (every copy of it is acknowledged;
    forgetting legs twice is harmless)."""

    number: int


# --- timers ----------------------------------------------------------------------------


class RefundDue(NamedTuple):
    """A merchant's own timer: time to give a customer's payment back."""

    original: TxnId
    merchant: Vpa
    customer: Vpa
    amount: Paise
    method: str = UPI_PUSH


class CollectDecision(NamedTuple):
    """A user's own timer: they have made up their mind about a collect request."""

    txn_id: TxnId
    payer: Vpa
    approve: bool
    reply_to: Address


class StatusDue(NamedTuple):
    """An app's own timer: the oldest requests it has heard no outcome of are due a check."""


class SettleNow(NamedTuple):
    """The switch's settlement cycle is due: send each bank its file."""


class Timeout(NamedTuple):
    """A response timer of the switch fired for a payment (stale if the payment is over, or
    if its timer is no longer the one due ``at``)."""

    txn_id: TxnId
    at: int  # when it was due (a restarted switch fires what fell due while it was down)


DEBIT = "DEBIT"
CREDIT = "CREDIT"
DEBIT_REVERSAL = "DEBIT_REVERSAL"
CREDIT_REVERSAL = "CREDIT_REVERSAL"
