"""The NPCI switch: resolves the payee, asks for a risk score, routes the debit then the credit.

Each payment is an explicit state machine (:data:`TRANSITIONS`, the one table
of allowed moves; terminal states are final). A response timer never decides
a payment's fate: a debit that times out is reversed at the remitter (which
refuses a late debit after that), a credit that fails is followed by a debit
reversal, and a credit that times out is reversed at the beneficiary first.
Only the owner of an account says what happened to it.

The payment's method (:mod:`actors.methods`) rides along: the switch refuses a
merchant-only method to a person (``B3``), adds the method's extra hop to the
remitter leg, and sends a refund of a card payment back to the card.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from upisim.actors import codes
from upisim.actors.base import Logic, LogicActor
from upisim.actors.errors import InvariantError
from upisim.actors.fraud import DECLINE
from upisim.actors.messages import (
    CREDIT,
    CREDIT_REVERSAL,
    DEBIT,
    DEBIT_REVERSAL,
    ReqAuthDetails,
    ReqChkTxn,
    ReqPay,
    ReqPayCollect,
    ReqPayCredit,
    ReqPayDebit,
    ReqPayReversal,
    ReqRiskScore,
    ReqTxnConfirmation,
    RespAuthDetails,
    RespChkTxn,
    RespPay,
    RespPayLeg,
    RespRiskScore,
    ReversalNotice,
    RiskRelease,
    Timeout,
)
from upisim.actors.methods import (
    ACCOUNT,
    DEFAULT_METHODS,
    REFUND_DEBIT,
    UPI_COLLECT,
    UPI_PUSH,
    Method,
)
from upisim.actors.types import HOUR, SECOND, Address, BankCode, Paise, SimTime, TxnId, Vpa


class Stage:
    """States of a payment. Plain strings: they are compared on the hot path."""

    COLLECTING = "COLLECTING"  # collect: waiting for the payer to approve or decline
    RESOLVING = "RESOLVING"
    RISK = "RISK"
    DEBITING = "DEBITING"
    CREDITING = "CREDITING"
    REVERSING_CREDIT = "REVERSING_CREDIT"
    REVERSING_DEBIT = "REVERSING_DEBIT"
    CHECKING = "CHECKING"  # deemed: asking the beneficiary bank whether the credit stands
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    DEEMED = "DEEMED"
    EXPIRED = "EXPIRED"


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
    "PAY": {Stage.RESOLVING: frozenset({Stage.RISK, Stage.FAILED}), **_MONEY_LEGS},
    "REFUND": {Stage.RESOLVING: frozenset({Stage.RISK, Stage.FAILED}), **_MONEY_LEGS},
    "COLLECT": {
        Stage.COLLECTING: frozenset({Stage.RISK, Stage.FAILED, Stage.EXPIRED}),
        **_MONEY_LEGS,
        Stage.EXPIRED: frozenset(),
    },
}
TERMINAL = frozenset(
    stage for table in TRANSITIONS.values() for stage, moves in table.items() if not moves
)


#: What the initiator is told for each terminal state (FAILED: "FAILURE").
_RESULT = {Stage.SUCCESS: "SUCCESS", Stage.DEEMED: "DEEMED", Stage.EXPIRED: "EXPIRED"}


@dataclass(frozen=True, slots=True)
class SwitchTimeouts:
    """Response timeouts in simulated ms (NPCI circular of 26 Apr 2025)."""

    auth: SimTime = SimTime(10 * SECOND)
    risk: SimTime = SimTime(10 * SECOND)
    pay: SimTime = SimTime(15 * SECOND)
    reversal: SimTime = SimTime(10 * SECOND)
    reversal_tries: int = 3
    check: SimTime = SimTime(30 * SECOND)  # between status checks (ReqChkTxn)
    check_tries: int = 3  # NPCI allows at most three


@dataclass(frozen=True, slots=True)
class CollectRules:
    """Who may send collect requests. NPCI stopped person-to-person collect on 1 Oct 2025;
    before that a person could ask for at most ₹2,000."""

    p2p: bool = False
    p2p_cap: Paise = Paise(2_000_00)


class _Payment:
    __slots__ = (
        "amount",
        "attempt",
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
        "payer",
        "payer_account",
        "payer_bank",
        "payer_psp",
        "psp",
        "reason",
        "received_at",
        "refund_of",
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
        self.kind = kind
        self.txn_id = txn_id
        self.payer = payer
        self.payee = payee
        self.amount = amount
        self.initiated_at = initiated_at
        self.psp = psp  # the initiator's PSP: the payer's for a push, the payee's for a collect
        self.payer_psp = psp if kind != "COLLECT" else Address("")
        self.method = UPI_COLLECT if kind == "COLLECT" else UPI_PUSH
        self.merchant = False  # the payee is a merchant: the payment may be refunded
        self.refund_of = TxnId("")
        self.received_at = now
        self.stage = Stage.COLLECTING if kind == "COLLECT" else Stage.RESOLVING
        self.attempt = 0
        self.deadline = 0
        self.timer_at: int | None = None
        self.payer_bank = ""
        self.payer_account = ""
        self.cred = ""
        self.payee_bank = ""
        self.payee_account = ""
        self.flags = ""
        self.code = ""
        self.reason = ""
        self.t_resolved: int | None = None
        self.t_risk: int | None = None
        self.t_debited: int | None = None
        self.t_credited: int | None = None


class Switch(Logic):
    """Routes push payments; ``directory`` maps each VPA to the PSP (user actor) hosting it."""

    def __init__(
        self,
        directory: Mapping[Vpa, Address],
        banks: frozenset[BankCode] | set[str],
        timeouts: SwitchTimeouts = SwitchTimeouts(),
        fraud: str = "fraud",
        seed: int = 0,
        methods: Mapping[str, Method] = DEFAULT_METHODS,
        collect: CollectRules = CollectRules(),
        refund_window: int = HOUR,
    ) -> None:
        super().__init__(Address("switch"), seed)
        self.methods = methods
        # looked up once per payment: plain sets and dicts rather than the method objects
        self._p2m_only = frozenset(name for name, m in methods.items() if m.p2m_only)
        self._hop = {name: (m.extra_ms, m.spread_ms) for name, m in methods.items()}
        self.collect_rules = collect
        self.directory = directory
        self.banks = frozenset(banks)
        self._bank = {code: Address(f"bank:{code}") for code in self.banks}
        self.timeouts = timeouts
        self.fraud = Address(fraud)
        self.payments: dict[TxnId, _Payment] = {}
        self.late_messages = 0
        # Payments to merchants that may still be refunded (NPCI checks a refund against the
        # payment it names), for refund_window ms; 0 keeps none and refuses every refund.
        self.refund_window = refund_window
        # txn -> (finished at, payer, payee, amount, method)
        self._refundable: dict[TxnId, tuple[int, Vpa, Vpa, int, str]] = {}
        self._refundable_since: deque[tuple[int, TxnId]] = deque()
        self.refunds: dict[TxnId, TxnId] = {}  # payment refunded (or being) -> its refund

    def gauges(self) -> tuple[int]:
        return (len(self.payments),)

    # -- state machine -----------------------------------------------------------------

    def _move(self, p: _Payment, to: str, timeout: int = 0) -> None:
        if to not in TRANSITIONS[p.kind][p.stage]:
            raise InvariantError(f"payment {p.txn_id}: {p.stage} -> {to} is not allowed")
        p.stage = to
        p.attempt = 0
        if timeout:
            self._expect(p, timeout)

    def _expect(self, p: _Payment, timeout: int) -> None:
        """The current stage must be answered within ``timeout``.

        One timer per payment, armed for the earliest deadline and re-armed lazily
        when it fires: most payments finish long before their first timer, so one
        stale timer per payment instead of one per stage.
        """
        deadline = self.now + timeout
        p.deadline = deadline
        if p.timer_at is None or deadline < p.timer_at:
            p.timer_at = deadline
            self.set_timer(timeout, Timeout(p.txn_id))

    def _finish(self, p: _Payment, to: str, code: str, reason: str = "") -> None:
        self._move(p, to)
        p.code = code
        p.reason = reason or code
        del self.payments[p.txn_id]
        now = self.now
        # The payer hears the outcome; the payee hears money arrived, or, having asked for it
        # (collect), that it will not.
        result = _RESULT.get(to, "FAILURE")
        told = RespPay(p.txn_id, p.payer, p.amount, result, p.code, p.reason, p.payee)
        if p.payer_psp:
            self.send(p.payer_psp, told)
        if to == Stage.SUCCESS or to == Stage.DEEMED:
            payee_psp = self.directory.get(p.payee)
            if payee_psp is not None:
                self.send(
                    payee_psp,
                    ReqTxnConfirmation(p.txn_id, p.payer, p.payee, p.amount, p.method, p.kind),
                )
        elif p.kind == "COLLECT":
            self.send(p.psp, told._replace(for_payee=True))
        if to == Stage.FAILED and p.t_risk is not None and p.code != codes.RISK_DECLINED:
            self.send(self.fraud, RiskRelease(p.txn_id, p.payer, p.amount, SimTime(p.t_risk)))
        self.record(
            "transactions",
            (
                p.txn_id,
                p.kind,
                p.method,
                p.payer,
                p.payee,
                p.payer_bank,
                p.payee_bank,
                p.amount,
                to,
                p.code,
                p.reason,
                codes.decline_type(p.reason),
                p.flags,
                p.initiated_at,
                p.received_at,
                p.t_resolved,
                p.t_risk,
                p.t_debited,
                p.t_credited,
                now,
                now - p.initiated_at,
                p.refund_of,
            ),
        )
        if to == Stage.FAILED:
            if p.refund_of and self.refunds.get(p.refund_of) == p.txn_id:
                del self.refunds[p.refund_of]  # a failed refund may be tried again
        elif p.merchant and to != Stage.EXPIRED and p.kind != "REFUND" and self.refund_window:
            self._refundable_for_a_while(p)  # money reached a merchant: it may come back

    def _refundable_for_a_while(self, p: _Payment) -> None:
        """Remember a merchant's payment for the refund window; forget older ones (and their
        refunds), so memory follows the rate, not the length of the run."""
        since = self._refundable_since
        horizon = self.now - self.refund_window
        while since and since[0][0] < horizon:
            at, old = since.popleft()
            held = self._refundable.get(old)
            if held is not None and held[0] == at:
                del self._refundable[old]
                self.refunds.pop(old, None)
        self._refundable[p.txn_id] = (self.now, p.payer, p.payee, p.amount, p.method)
        since.append((self.now, p.txn_id))

    def _refund_refusal(self, msg: ReqPay) -> str | None:
        """Why a refund cannot go ahead, ``""`` if it can, or None if it is a copy of one that
        already went (drop it). It must name a payment to a merchant that succeeded within
        the refund window (U48), come from that merchant to that customer by the same method
        for no more than was paid, and be the payment's only refund (ZD)."""
        original = self._refundable.get(msg.refund_of)
        if original is None or self.now - original[0] > self.refund_window:
            self.event("REFUND_UNKNOWN", msg.txn_id, msg.payer, msg.refund_of)
            return codes.TXN_NOT_FOUND
        _, payer, payee, amount, method = original
        if (msg.payer, msg.payee, msg.method) != (payee, payer, method) or msg.amount > amount:
            self.event("REFUND_MISMATCH", msg.txn_id, msg.payer, msg.refund_of, msg.amount)
            return codes.VALIDATION_ERROR
        claim = self.refunds.get(msg.refund_of)
        if claim is None:
            self.refunds[msg.refund_of] = msg.txn_id
            return ""
        if claim != msg.txn_id:
            self.event("DUPLICATE_REFUND", msg.txn_id, msg.payer, msg.refund_of)
            return codes.VALIDATION_ERROR  # one refund per payment
        if msg.txn_id in self.payments:
            return ""  # the same refund again while in flight: admitting it says so
        self.event("DUPLICATE_REQPAY", msg.txn_id, msg.payer, msg.refund_of)
        return None  # the same refund again after it went: never twice

    def _current(self, txn_id: TxnId, stage: str) -> _Payment | None:
        """The payment if it is waiting at ``stage``; a late or repeated reply gives None."""
        p = self.payments.get(txn_id)
        if p is None or p.stage != stage:
            self.late_messages += 1
            return None
        return p

    # -- handlers -----------------------------------------------------------------------

    def _admit(
        self,
        p: _Payment,
        own_bank: str,
        no_bank: tuple[str, str],
        other: Vpa,
        refusal: str = "",
    ) -> Address | None:
        """Take a new payment in; fail it at once if it cannot go anywhere (or ``refusal`` is
        set). Returns the PSP of the other party (the payee's for a push, the payer's for a
        collect)."""
        if p.txn_id in self.payments:
            self.event("DUPLICATE_REQPAY", p.txn_id, p.payer)
            return None
        self.payments[p.txn_id] = p
        other_psp = self.directory.get(other)
        if refusal:
            self._finish(p, Stage.FAILED, refusal)
        elif p.payee == p.payer:
            self._finish(p, Stage.FAILED, codes.VALIDATION_ERROR)
        elif own_bank not in self.banks:
            self._finish(p, Stage.FAILED, *no_bank)
        elif other_psp is None:
            self._finish(p, Stage.FAILED, codes.ADDRESS_RESOLUTION_FAILED, codes.INVALID_VPA)
        else:
            return other_psp
        return None

    def on_ReqPay(self, msg: ReqPay, sender: Address) -> None:
        kind = "REFUND" if msg.refund_of else "PAY"
        p = _Payment(
            kind, msg.txn_id, msg.payer, msg.payee, msg.amount, msg.initiated_at, sender, self.now
        )
        p.payer_bank, p.payer_account, p.cred = msg.payer_bank, msg.payer_account, msg.cred
        p.method = msg.method
        no_bank = (codes.DEBIT_FAILED, codes.REMITTER_ACCOUNT_MISSING)
        if msg.refund_of:
            p.refund_of = msg.refund_of
            refusal = self._refund_refusal(msg)
            if refusal is None:
                return
        else:  # a collect is asked for, never pushed; only its refund carries its method
            unknown = msg.method not in self.methods or msg.method == UPI_COLLECT
            refusal = codes.VALIDATION_ERROR if unknown else ""
        payee_psp = self._admit(p, msg.payer_bank, no_bank, msg.payee, refusal)
        if payee_psp is not None:
            self._expect(p, self.timeouts.auth)
            self.send(payee_psp, ReqAuthDetails(p.txn_id, msg.payee))

    def on_ReqPayCollect(self, msg: ReqPayCollect, sender: Address) -> None:
        p = _Payment(
            "COLLECT",
            msg.txn_id,
            msg.payer,
            msg.payee,
            msg.amount,
            msg.initiated_at,
            sender,
            self.now,
        )
        p.payee_bank, p.payee_account = msg.payee_bank, msg.payee_account
        p.merchant = msg.payee_merchant
        no_bank = (codes.CREDIT_FAILED, codes.BENEFICIARY_ACCOUNT_MISSING)
        refusal = ""
        if not msg.payee_merchant:  # a person asking a person (P2P collect)
            if not self.collect_rules.p2p:
                refusal = codes.NOT_PERMITTED
            elif msg.amount > self.collect_rules.p2p_cap:
                refusal = codes.AMOUNT_LIMIT
        payer_psp = self._admit(p, msg.payee_bank, no_bank, msg.payer, refusal)
        if payer_psp is not None:
            p.payer_psp = payer_psp
            self._expect(p, msg.expire_after)
            self.send(payer_psp, ReqAuthDetails(p.txn_id, msg.payer, msg.payee, msg.amount))

    def _collect_answer(self, p: _Payment, msg: RespAuthDetails, sender: Address) -> None:
        """The payer's app answered a collect request: approval (with PIN block) or not."""
        if p.stage != Stage.COLLECTING:
            self.late_messages += 1
            return  # answered already
        if msg.vpa != p.payer or sender != p.payer_psp:
            self.event("FOREIGN_APPROVAL", msg.txn_id, msg.vpa, str(sender))
            return  # only the payer may answer; the request stands
        p.t_resolved = self.now
        if msg.code != codes.APPROVED:
            self._finish(p, Stage.FAILED, msg.code)
            return
        p.payer_bank, p.payer_account, p.cred = msg.bank, msg.account, msg.cred
        if p.payer_bank not in self.banks:
            self._finish(p, Stage.FAILED, codes.DEBIT_FAILED, codes.REMITTER_ACCOUNT_MISSING)
            return
        self._move(p, Stage.RISK, self.timeouts.risk)
        self.send(self.fraud, ReqRiskScore(p.txn_id, p.payer, p.payee, p.amount))

    def on_RespAuthDetails(self, msg: RespAuthDetails, sender: Address) -> None:
        p = self.payments.get(msg.txn_id)
        if p is not None and p.kind == "COLLECT":
            self._collect_answer(p, msg, sender)
            return
        # a push payment's payee resolved; after expiry a collect answer also lands here, late
        p = self._current(msg.txn_id, Stage.RESOLVING)
        if p is None:
            return
        p.t_resolved = self.now
        if msg.code != codes.APPROVED or msg.bank not in self.banks:
            self._finish(
                p,
                Stage.FAILED,
                codes.ADDRESS_RESOLUTION_FAILED,
                msg.code if msg.code != codes.APPROVED else codes.INVALID_VPA,
            )
            return
        p.payee_bank = msg.bank
        p.payee_account = msg.account
        p.merchant = msg.merchant
        if not msg.merchant and p.method in self._p2m_only and p.kind == "PAY":
            self._finish(p, Stage.FAILED, codes.NOT_PERMITTED)  # a card pays merchants only
            return
        self._move(p, Stage.RISK, self.timeouts.risk)
        self.send(self.fraud, ReqRiskScore(p.txn_id, p.payer, p.payee, p.amount))

    def on_RespRiskScore(self, msg: RespRiskScore, sender: Address) -> None:
        p = self._current(msg.txn_id, Stage.RISK)
        if p is None:
            return
        p.flags = ",".join(msg.rules)
        p.t_risk = self.now
        if msg.decision == DECLINE:
            self._finish(p, Stage.FAILED, codes.RISK_DECLINED)
            return
        self._debit(p)

    def _debit(self, p: _Payment) -> None:
        self._move(p, Stage.DEBITING, self.timeouts.pay)
        if p.kind == "REFUND":  # the merchant pays back from its account
            debit = ReqPayDebit(p.txn_id, p.payer_account, p.amount, p.cred, REFUND_DEBIT.name)
            self.send(self._bank[p.payer_bank], debit)
        else:
            debit = ReqPayDebit(p.txn_id, p.payer_account, p.amount, p.cred, p.method)
            extra, spread = self._hop[p.method]
            if spread:
                extra += self.rng.randint(0, spread)
            self.send(self._bank[p.payer_bank], debit, extra)

    def on_RespPayLeg(self, msg: RespPayLeg, sender: Address) -> None:
        leg = msg.leg
        if leg == DEBIT:
            p = self._current(msg.txn_id, Stage.DEBITING)
            if p is None:
                return
            p.t_debited = self.now
            if msg.code != codes.APPROVED:
                self._finish(p, Stage.FAILED, codes.DEBIT_FAILED, msg.code)
                return
            self._move(p, Stage.CREDITING, self.timeouts.pay)
            # a refund goes back where the money came from: the card, for a card payment
            source = self.methods[p.method].source if p.kind == "REFUND" else ACCOUNT
            self.send(
                self._bank[p.payee_bank],
                ReqPayCredit(p.txn_id, p.payee_account, p.amount, source),
            )
        elif leg == CREDIT:
            p = self._current(msg.txn_id, Stage.CREDITING)
            if p is None:
                return
            p.t_credited = self.now
            if msg.code == codes.APPROVED:
                self._finish(p, Stage.SUCCESS, codes.APPROVED)
            else:
                p.code, p.reason = codes.CREDIT_FAILED, msg.code
                self._reverse(p, Stage.REVERSING_DEBIT)
        elif leg == CREDIT_REVERSAL:
            p = self._current(msg.txn_id, Stage.REVERSING_CREDIT)
            if p is None:
                return
            if msg.code == codes.APPROVED:  # the payee was never told of it: no notice
                self._reverse(p, Stage.REVERSING_DEBIT)
            else:  # the credit stands: deemed approved
                self._finish(p, Stage.DEEMED, codes.APPROVED, msg.code)
        elif leg == DEBIT_REVERSAL:
            p = self._current(msg.txn_id, Stage.REVERSING_DEBIT)
            if p is None:
                return
            if msg.code == codes.APPROVED:
                if msg.undone and p.payer_psp:  # the payer's money came back: tell them
                    self.send(
                        p.payer_psp, ReversalNotice(p.txn_id, p.payer, p.amount, DEBIT, p.payee)
                    )
                self._finish(p, Stage.FAILED, p.code, p.reason)
            else:
                self._finish(p, Stage.DEEMED, codes.APPROVED, msg.code)

    def _reverse(self, p: _Payment, stage: str) -> None:
        self._move(p, stage, self.timeouts.reversal)
        self._send_reversal(p)

    def _send_reversal(self, p: _Payment) -> None:
        if p.stage == Stage.REVERSING_DEBIT:
            self.send(
                self._bank[p.payer_bank], ReqPayReversal(p.txn_id, DEBIT, p.payer_account, p.amount)
            )
        else:
            self.send(
                self._bank[p.payee_bank],
                ReqPayReversal(p.txn_id, CREDIT, p.payee_account, p.amount),
            )

    def on_Timeout(self, msg: Timeout, sender: Address) -> None:
        p = self.payments.get(msg.txn_id)
        if p is None or p.timer_at != self.now:
            return  # the payment is over, or an earlier timer replaced this one
        p.timer_at = None
        if self.now < p.deadline:  # it moved on in time: wait for the current stage
            p.timer_at = p.deadline
            self.set_timer(p.deadline - self.now, msg)
            return
        stage = p.stage
        if stage == Stage.COLLECTING:  # not a timeout: the request ran out its window
            self.event("COLLECT_EXPIRED", p.txn_id, p.payer, p.payee, p.amount)
            self._finish(p, Stage.EXPIRED, codes.COLLECT_EXPIRED)
            return
        self.event("TIMEOUT", p.txn_id, p.payer, stage, p.amount)
        if stage == Stage.RESOLVING:
            self._finish(p, Stage.FAILED, codes.AUTH_TIMEOUT)
        elif stage == Stage.RISK:
            # A silent fraud monitor must not stop payments: fail open, and say so.
            p.flags = "RISK_TIMEOUT"
            p.t_risk = self.now
            self._debit(p)
        elif stage == Stage.DEBITING:
            p.code, p.reason = codes.DEBIT_TIMEOUT, codes.DEBIT_TIMEOUT
            self._reverse(p, Stage.REVERSING_DEBIT)
        elif stage == Stage.CREDITING:
            p.code, p.reason = codes.CREDIT_TIMEOUT, codes.CREDIT_TIMEOUT
            self._reverse(p, Stage.REVERSING_CREDIT)
        elif stage == Stage.CHECKING:
            if p.attempt + 1 < self.timeouts.check_tries:
                p.attempt += 1
                self._check(p)
            else:  # nobody can say: deemed approved, and the run reports it unresolved
                self.event("UNRESOLVED", p.txn_id, p.payer, stage, p.amount)
                self._finish(p, Stage.DEEMED, codes.APPROVED, codes.CREDIT_REVERSAL_TIMEOUT)
        elif p.attempt + 1 < self.timeouts.reversal_tries + (
            self.timeouts.check_tries if stage == Stage.REVERSING_DEBIT else 0
        ):
            # Reversals are idempotent, so asking again is also how the switch checks a debit:
            # quickly at first, then at the status-check interval.
            p.attempt += 1
            late = p.attempt >= self.timeouts.reversal_tries
            self._expect(p, self.timeouts.check if late else self.timeouts.reversal)
            self._send_reversal(p)
        elif stage == Stage.REVERSING_DEBIT:
            # The remitter never confirmed: its money stays in settlement (in flight) and
            # the run reports it; the payer is told the payment failed.
            self.event("UNRESOLVED", p.txn_id, p.payer, stage, p.amount)
            self._finish(p, Stage.FAILED, codes.DEBIT_REVERSAL_TIMEOUT)
        else:  # the credit reversal went unanswered (RB): deemed approved, find out (TCC/RET)
            self.event("DEEMED", p.txn_id, p.payer, codes.CREDIT_REVERSAL_TIMEOUT, p.amount)
            self._move(p, Stage.CHECKING)
            self._check(p)

    def _check(self, p: _Payment) -> None:
        self._expect(p, self.timeouts.check)
        self.send(self._bank[p.payee_bank], ReqChkTxn(p.txn_id, CREDIT))

    def on_RespChkTxn(self, msg: RespChkTxn, sender: Address) -> None:
        p = self._current(msg.txn_id, Stage.CHECKING)
        if p is None:
            return
        if msg.posted:  # TCC: the payee has the money; the payment stands
            self._finish(p, Stage.DEEMED, codes.APPROVED, codes.CREDIT_CONFIRMED)
        else:  # RET: never credited (or reversed after all): give the payer the money back
            p.code, p.reason = codes.CREDIT_TIMEOUT, codes.RETURNED
            self._reverse(p, Stage.REVERSING_DEBIT)


class NpciSwitch(LogicActor):
    """The :class:`Switch` as a Pykka actor."""

    def __init__(self, switch: Switch) -> None:
        super().__init__(switch)
