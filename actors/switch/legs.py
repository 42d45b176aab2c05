"""The money half of the switch: debit, credit, reversals, status checks, and the end.

:class:`Legs` is the base of :class:`~upisim.actors.switch.npci.Switch`: it
holds the payments in flight, arms each one's timer, moves money legs along
one handler per kind of leg answer, asks again when an answer is late (as
:class:`~upisim.actors.switch.policy.RetryPolicy` allows), and finishes a
payment: tells whom it concerns and records its row. The switch itself adds
what comes before the money: admission, the payee's address, the risk score.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping

from upisim.actors import codes
from upisim.actors.base import Logic
from upisim.actors.ids import RecentMap
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
    SettlementAck,
    SettlementFile,
    SettleNow,
    Timeout,
)
from upisim.actors.methods import ACCOUNT, REFUND_DEBIT, Method
from upisim.actors.switch.machine import Payment, Stage
from upisim.actors.switch.policy import RetryPolicy, SwitchTimeouts
from upisim.actors.switch.refunds import RefundBook
from upisim.actors.switch.settlement import CycleClose, DayEnd, NetSettlement
from upisim.actors.types import Address, SimTime, TxnId, Vpa
from upisim.runfolder import Kind, State, TransactionRow

#: What the initiator is told for each terminal state (FAILED: "FAILURE").
PAYER_BANK = 1  # Payment.banks_asked: the payer's bank holds a leg
PAYEE_BANK = 2  # the payee's bank holds a leg

_RESULT = {
    Stage.SUCCESS: Result.SUCCESS,
    Stage.DEEMED: Result.DEEMED,
    Stage.EXPIRED: Result.EXPIRED,
}


class Legs(Logic):
    """Payments in flight and their money legs; the switch sets these up."""

    payments: dict[TxnId, Payment]
    directory: Mapping[Vpa, Address]
    methods: Mapping[str, Method]
    timeouts: SwitchTimeouts
    policy: RetryPolicy
    fraud: Address
    refund_book: RefundBook
    late_messages: int
    settle_every: int  # the settlement cycle (ms)
    settle_grace: int  # how long after a payment finished a message about it may still land
    _unsettled: deque[tuple[int, TxnId, str, str, int]]  # finished, not yet in a file
    _settle_armed: bool
    # by number: sent, not acknowledged: (bank, payments over, (cycle, net position) to post)
    _files_out: dict[int, tuple[str, tuple[TxnId, ...], tuple[tuple[int, int], ...]]]
    net: NetSettlement
    load_end: int  # after it, with nothing open, the open cycle closes at once
    _files_made: int
    files_resent: int
    _bank: dict[str, Address]
    _hop: dict[str, tuple[int, int]]
    _leg_answered: dict[str, Callable[[RespPayLeg], None]]
    outcomes: RecentMap[tuple[str, str, str]]  # finished lately: (result, code, reason)
    _outcome_of: dict[tuple[str, str, str], tuple[str, str, str]]  # one tuple for each

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
        self.outcomes.put(p.txn_id, self._outcome_of.setdefault(outcome, outcome), self.now)
        self._tell(p, result)
        if (
            to == Stage.FAILED
            and p.t_risk is not None
            and p.kind != Kind.REFUND  # a refund was never counted
            and p.code != codes.RISK_DECLINED
        ):
            self.send(self.fraud, RiskRelease(p.txn_id, p.payer, p.amount, SimTime(p.t_risk)))
        self.record(p.row(self.now))
        self.refund_book.finished(p, self.now)
        if p.banks_asked:
            self._to_settle(p)
        moved = to == Stage.SUCCESS or to == Stage.DEEMED
        asked = bool(p.banks_asked & PAYER_BANK)
        if self.net.over(p.payer_bank, p.payee_bank, p.amount, asked, moved):
            self.set_timer(self.net.next_close(self.now), CycleClose())
        if not self.payments and self.now >= self.load_end and self.net.open:
            self.set_timer(1, DayEnd())  # nothing is left to pay: the day's last cycle closes
        if not self.payments:  # every response timer left is stale: drop them, settle soon
            self.cancel_timers(Timeout)
            if self._unsettled:
                self.cancel_timers(SettleNow)
                self.set_timer(self.settle_grace + 1, SettleNow())

    # -- settlement cycles: the banks hear which payments are over ---------------------------

    def _to_settle(self, p: Payment) -> None:
        """``p`` goes into its banks' next settlement file, once nothing sent about it before
        it finished can still be on its way (``settle_grace``)."""
        self._unsettled.append((self.now, p.txn_id, p.payer_bank, p.payee_bank, p.banks_asked))
        if not self._settle_armed:
            self._settle_armed = True
            self.set_timer(self.settle_every, SettleNow())

    def on_SettleNow(self, msg: SettleNow, sender: Address) -> None:
        """The settlement cycle: each bank gets the payments with a leg there that are over,
        with those of every file it has not acknowledged (folded into the new one, so a bank
        dark for an hour gets one file a cycle, not one per cycle it missed)."""
        files: dict[str, list[TxnId]] = {}
        posts: dict[str, list[tuple[int, int]]] = {}
        out = self._files_out
        for bank, txn_ids, positions in out.values():
            files.setdefault(bank, []).extend(txn_ids)
            posts.setdefault(bank, []).extend(positions)
        self.files_resent += len(out)
        out.clear()
        horizon = self.now - self.settle_grace
        unsettled = self._unsettled
        while unsettled and unsettled[0][0] <= horizon:
            _, txn_id, payer_bank, payee_bank, asked = unsettled.popleft()
            if asked & PAYER_BANK:
                files.setdefault(payer_bank, []).append(txn_id)
            same_bank = asked & PAYER_BANK and payee_bank == payer_bank  # one file has both
            if asked & PAYEE_BANK and not same_bank:
                files.setdefault(payee_bank, []).append(txn_id)
        for bank in sorted(files):
            self._send_file(bank, tuple(files[bank]), tuple(posts.get(bank, ())))
        self._settle_armed = bool(unsettled or out)
        if self._settle_armed:  # with nothing open, the rest can go once the grace is over
            soon = unsettled and not self.payments
            self.set_timer(self.settle_grace + 1 if soon else self.settle_every, msg)

    def _send_file(
        self, bank: str, txn_ids: tuple[TxnId, ...], positions: tuple[tuple[int, int], ...]
    ) -> None:
        self._files_made += 1
        self._files_out[self._files_made] = (bank, txn_ids, positions)
        self.send(self._bank[bank], SettlementFile(self._files_made, txn_ids, positions))

    def on_SettlementAck(self, msg: SettlementAck, sender: Address) -> None:
        """A bank has a file: stop sending it. With nothing left to settle, the cycle stops."""
        if self._files_out.pop(msg.number, None) is None:
            return  # a copy, or a file since folded into a later one
        if not self._files_out and not self._unsettled and self._settle_armed:
            self.cancel_timers(SettleNow)
            self._settle_armed = False

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
            payee_psp = self.directory.get(p.payee)
            if payee_psp is not None:
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
        self.send(
            self._bank[p.payee_bank], ReqPayCredit(p.txn_id, p.payee_account, p.amount, source)
        )

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
