"""The money half of the switch: debit, credit, reversals, status checks, and the end.

:class:`Legs` is the base of :class:`~upisim.actors.switch.npci.Switch`: it
holds the payments in flight, arms each one's timer, moves money legs along
one handler per kind of leg answer, asks again when an answer is late (as
:class:`~upisim.actors.switch.policy.RetryPolicy` allows), and finishes a
payment: tells whom it concerns and records its row. The switch itself adds
what comes before the money: admission, the payee's address, the risk score.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from upisim.actors import codes
from upisim.actors.fraud import BENEFICIARY, REMITTER
from upisim.actors.ids import RecentNumbered
from upisim.actors.messages import (
    CREDIT,
    DEBIT,
    ReqChkTxn,
    ReqPayCredit,
    ReqPayDebit,
    ReqPayReversal,
    ReqTxnConfirmation,
    RespChkTxn,
    RespPay,
    RespPayLeg,
    Result,
    ReversalNotice,
    RiskRelease,
    Timeout,
)
from upisim.actors.methods import ACCOUNT, REFUND_DEBIT, Method
from upisim.actors.switch.machine import Payment, Stage
from upisim.actors.switch.policy import RetryPolicy, SwitchTimeouts
from upisim.actors.switch.refunds import RefundBook
from upisim.actors.switch.settlement import PAYEE_BANK, PAYER_BANK, Settling
from upisim.actors.types import Address, SimTime, TxnId, Vpa
from upisim.runfolder import Kind, State, TransactionRow

#: What the initiator is told for each terminal state (FAILED: "FAILURE").
_RESULT = {
    Stage.SUCCESS: Result.SUCCESS,
    Stage.DEEMED: Result.DEEMED,
    Stage.EXPIRED: Result.EXPIRED,
}


class Legs(Settling):
    """Payments in flight and their money legs; the switch sets these up."""

    directory: Mapping[Vpa, Address]
    methods: Mapping[str, Method]
    timeouts: SwitchTimeouts
    policy: RetryPolicy
    fraud: Address
    refund_book: RefundBook
    late_messages: int
    _hop: dict[str, tuple[int, int]]
    _leg_answered: dict[str, Callable[[RespPayLeg], None]]
    outcomes: RecentNumbered[tuple[str, str, str]]  # finished lately: (result, code, reason)

    # -- one timer per payment ------------------------------------------------------------

    def _move(self, p: Payment, to: str, timeout: int = 0) -> None:
        p.move(to)
        if timeout:
            self._expect(p, timeout)

    def _expect(self, p: Payment, timeout: int) -> None:
        """The current stage must be answered within ``timeout``.

        One timer per payment, armed for the earliest deadline and re-armed lazily
        when it fires: most payments finish long before their first timer, so one
        stale timer per payment instead of one per stage.
        """
        deadline = self.now + timeout
        p.deadline = deadline
        if p.timer_at is None or deadline < p.timer_at:
            p.timer_at = deadline
            self.set_timer(timeout, Timeout(p.txn_id, deadline))

    def _current(self, txn_id: TxnId, stage: str) -> Payment | None:
        """The payment if it is waiting at ``stage``; a late or repeated reply gives None."""
        p = self.payments.get(txn_id)
        if p is None or p.stage != stage:
            self.late_messages += 1
            return None
        return p

    # -- the end of a payment ---------------------------------------------------------------

    def _finish(self, p: Payment, to: str, code: str, reason: str = "") -> None:
        """Move ``p`` to terminal state ``to``, tell whom it concerns, record its row."""
        self._move(p, to)
        p.code = code
        p.reason = reason or code
        del self.payments[p.txn_id]
        result = _RESULT.get(p.stage, Result.FAILURE)
        outcome = (result, p.code, p.reason)
        self.outcomes.put(p.txn_id, outcome, self.now)
        self._tell(p, result)
        if (
            to == Stage.FAILED
            and p.t_risk is not None
            and p.kind != Kind.REFUND  # a refund was never counted
            and p.code != codes.RISK_DECLINED
        ):
            release = RiskRelease(p.txn_id, p.payer, p.amount, SimTime(p.t_risk), p.reason)
            self.send(self.fraud, release)
        self.record(p.row(self.now))
        self.refund_book.finished(p, self.now)
        self._settle(p, to == Stage.SUCCESS or to == Stage.DEEMED)
        if not self.payments:  # every response timer left is stale: drop them
            self.cancel_timers(Timeout)

    def open_rows(self, now: int) -> list[TransactionRow]:
        """A PENDING row for every payment still open at ``now``, when the run must stop
        unsettled: every payment has its row, stuck or not."""
        rows = []
        for p in self.payments.values():
            row = p.row(now)
            rows.append(row._replace(state=State.PENDING, decline_type=""))
        return rows

    def _tell(self, p: Payment, result: str) -> None:
        """The payer hears the outcome; the payee hears money arrived, or, having asked for it
        (collect), that it will not."""
        told = RespPay(p.txn_id, p.payer, p.amount, result, p.code, p.reason, p.payee)
        if p.payer_psp:
            self.send(p.payer_psp, told)
        if p.stage == Stage.SUCCESS or p.stage == Stage.DEEMED:
            payee_psp = p.payee_psp  # (named by the directory as the payment came in)
            if payee_psp:
                self.send(
                    payee_psp,
                    ReqTxnConfirmation(p.txn_id, p.payer, p.payee, p.amount, p.method, p.kind),
                )
        elif p.kind == Kind.COLLECT:
            self.send(p.psp, told._replace(for_payee=True))

    def on_RespPayLeg(self, msg: RespPayLeg, sender: Address) -> None:
        self._leg_answered[msg.leg](msg)

    # -- the money legs: one handler per kind of leg answer -----------------------------------

    def _debit(self, p: Payment) -> None:
        if not self.net.may_debit(p.payer_bank, p.payee_bank, p.amount):  # past its cap: U03
            self._finish(p, Stage.FAILED, codes.NET_DEBIT_CAP)
            return
        self._move(p, Stage.DEBITING, self.timeouts.pay)
        p.banks_asked |= PAYER_BANK
        if p.kind == Kind.REFUND:  # the merchant pays back from its account
            debit = ReqPayDebit(p.txn_id, p.payer_account, p.amount, p.cred, REFUND_DEBIT.name)
            self.send(self._bank[p.payer_bank], debit)
        else:
            debit = ReqPayDebit(p.txn_id, p.payer_account, p.amount, p.cred, p.method)
            if p.risk == REMITTER:
                debit = debit._replace(risk=True)
            extra, spread = self._hop[p.method]
            if spread:
                extra += self.rng.randint(0, spread)
            self.send(self._bank[p.payer_bank], debit, extra)

    def _debited(self, msg: RespPayLeg) -> None:
        p = self._current(msg.txn_id, Stage.DEBITING)
        if p is None:
            return
        p.t_debited = self.now
        if msg.code != codes.APPROVED:
            self._finish(p, Stage.FAILED, codes.DEBIT_FAILED, msg.code)
            return
        self._move(p, Stage.CREDITING, self.timeouts.pay)
        # a refund goes back where the money came from: the card, for a card payment
        source = self.methods[p.method].source if p.kind == Kind.REFUND else ACCOUNT
        p.banks_asked |= PAYEE_BANK
        risk = p.risk == BENEFICIARY
        credit = ReqPayCredit(p.txn_id, p.payee_account, p.amount, source, risk)
        self.send(self._bank[p.payee_bank], credit)

    def _credited(self, msg: RespPayLeg) -> None:
        p = self._current(msg.txn_id, Stage.CREDITING)
        if p is None:
            return
        p.t_credited = self.now
        if msg.code == codes.APPROVED:
            self._finish(p, Stage.SUCCESS, codes.APPROVED)
        else:
            p.code, p.reason = codes.CREDIT_FAILED, msg.code
            self._reverse(p, Stage.REVERSING_DEBIT)

    def _credit_reversed(self, msg: RespPayLeg) -> None:
        p = self._current(msg.txn_id, Stage.REVERSING_CREDIT)
        if p is None:
            return
        if msg.code == codes.APPROVED:  # the payee was never told of it: no notice
            self._reverse(p, Stage.REVERSING_DEBIT)
        else:  # the credit stands: deemed approved
            self._finish(p, Stage.DEEMED, codes.APPROVED, msg.code)

    def _debit_reversed(self, msg: RespPayLeg) -> None:
        p = self._current(msg.txn_id, Stage.REVERSING_DEBIT)
        if p is None:
            return
        if msg.code != codes.APPROVED:
            self._finish(p, Stage.DEEMED, codes.APPROVED, msg.code)
            return
        if msg.undone and p.payer_psp:  # the payer's money came back: tell them
            self.send(p.payer_psp, ReversalNotice(p.txn_id, p.payer, p.amount, DEBIT, p.payee))
        self._finish(p, Stage.FAILED, p.code, p.reason)

    def _reverse(self, p: Payment, stage: str) -> None:
        self._move(p, stage, self.timeouts.reversal)
        self._ask_again(p)

    def _ask_again(self, p: Payment) -> None:
        """(Re)send what the current stage waits for: a reversal, or a status check."""
        if p.stage == Stage.REVERSING_DEBIT:
            self.send(
                self._bank[p.payer_bank], ReqPayReversal(p.txn_id, DEBIT, p.payer_account, p.amount)
            )
        elif p.stage == Stage.REVERSING_CREDIT:
            self.send(
                self._bank[p.payee_bank],
                ReqPayReversal(p.txn_id, CREDIT, p.payee_account, p.amount),
            )
        else:
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

    # -- timeouts ------------------------------------------------------------------------------

    def on_Timeout(self, msg: Timeout, sender: Address) -> None:
        p = self.payments.get(msg.txn_id)
        if p is None or p.timer_at != msg.at:
            return  # the payment is over, or an earlier timer replaced this one
        p.timer_at = None
        if self.now < p.deadline:  # it moved on in time: wait for the current stage
            p.timer_at = p.deadline
            self.set_timer(p.deadline - self.now, Timeout(p.txn_id, p.deadline))
            return
        stage = p.stage
        if stage == Stage.COLLECTING:  # not a timeout: the request ran out its window
            self.event("COLLECT_EXPIRED", p.txn_id, p.payer, p.payee, p.amount)
            self._finish(p, Stage.EXPIRED, codes.COLLECT_EXPIRED)
            return
        self.event("TIMEOUT", p.txn_id, p.payer, stage, p.amount)
        policy = self.policy
        if not policy.retries(stage):
            self._first_answer_late(p)
            return
        if policy.spent(stage, p.attempt):
            if stage == Stage.REVERSING_CREDIT:
                # the credit reversal went unanswered (RB): deemed approved; find out (TCC/RET)
                self.event("DEEMED", p.txn_id, p.payer, codes.CREDIT_REVERSAL_TIMEOUT, p.amount)
                self._move(p, Stage.CHECKING, self.timeouts.check)
                self._ask_again(p)
                return
            if not p.pending:
                self._pending(p)
        wait = policy.next_wait(stage, p.attempt)
        p.attempt += 1
        self._expect(p, wait)
        self._ask_again(p)

    def _pending(self, p: Payment) -> None:
        """The quick tries are spent and the bank has not said: the outcome is unknown. The
        payer is told it is pending (never a guess), and the switch goes on asking."""
        p.pending = True
        self.event("PENDING", p.txn_id, p.payer, p.stage, p.amount)
        if p.payer_psp:
            told = RespPay(p.txn_id, p.payer, p.amount, Result.PENDING, p.code, p.reason, p.payee)
            self.send(p.payer_psp, told)

    def _first_answer_late(self, p: Payment) -> None:
        """A request's first answer did not come in time."""
        stage = p.stage
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
        else:  # CREDITING
            p.code, p.reason = codes.CREDIT_TIMEOUT, codes.CREDIT_TIMEOUT
            self._reverse(p, Stage.REVERSING_CREDIT)
