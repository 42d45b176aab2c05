"""The NPCI switch: resolves the payee, asks for a risk score, routes the debit then the credit.

Each payment is an explicit state machine (:mod:`.machine`: the one table of
allowed moves; terminal states are final). This module takes payments in and
sees them as far as the money; :mod:`.legs` moves the money and finishes
them. A response timer never decides a payment's fate (:mod:`.policy`): a
debit that times out is reversed at the remitter (which refuses a late debit
after that), a credit that fails is followed by a debit reversal, and a
credit that times out is reversed at the beneficiary first. Only the owner
of an account says what happened to it.

The payment's method (:mod:`upisim.actors.methods`) rides along: the switch
refuses a merchant-only method to a person (``B3``), adds the method's extra
hop to the remitter leg, and sends a refund of a card payment back to the
card. Refunds are checked against the payment they name (:mod:`.refunds`).
With a mapper (``mapper_ms``), as NPCI's, a payee resolved lately is paid again without
asking their PSP (no ``ReqAuthDetails`` round trip); by default every payment asks.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import NamedTuple

from upisim.actors import addresses, codes
from upisim.actors.base import derive_seed
from upisim.actors.capacity import REQUEST_OP, Capacity, Pool
from upisim.actors.fraud import ALLOW, DECLINE, FLAG
from upisim.actors.ids import RecentMap, RecentNumbered, SeenIds
from upisim.actors.messages import (
    CREDIT,
    CREDIT_REVERSAL,
    DEBIT,
    DEBIT_REVERSAL,
    CollectAsked,
    ReqAuthDetails,
    ReqChkTxn,
    ReqPay,
    ReqPayCollect,
    ReqRiskScore,
    ReqTxnConfirmation,
    RespAuthDetails,
    RespPay,
    RespPayLeg,
    RespRiskScore,
    Result,
)
from upisim.actors.methods import DEFAULT_METHODS, UPI_COLLECT, Method
from upisim.actors.switch.disputes import Disputes
from upisim.actors.switch.legs import Legs
from upisim.actors.switch.machine import Payment, Stage
from upisim.actors.switch.policy import CollectRules, RetryPolicy, SwitchTimeouts
from upisim.actors.switch.refunds import RefundBook
from upisim.actors.types import HOUR, SECOND, Address, BankCode, Paise, TxnId, Vpa
from upisim.runfolder import Kind


class SwitchLoad(NamedTuple):
    """The switch's gauges: payments it holds that have not reached a terminal state."""

    in_flight: int


class Switch(Disputes, Legs):
    """Routes payments; ``directory`` maps each VPA to the PSP (user actor) hosting it."""

    def __init__(
        self,
        directory: Mapping[Vpa, Address],
        banks: frozenset[BankCode] | set[str],
        timeouts: SwitchTimeouts = SwitchTimeouts(),
        fraud: Address = addresses.FRAUD,
        seed: int = 0,
        methods: Mapping[str, Method] = DEFAULT_METHODS,
        collect: CollectRules = CollectRules(),
        refund_window: int = HOUR,
        id_window: int = 10 * SECOND,
        settle_every: int = 10 * SECOND,
        settle_grace: int = 0,
        status_window: int = 15 * 60 * SECOND,
        cycle_ms: int = 8_640 * SECOND,
        net_debit_caps: Mapping[str, Paise] | None = None,
        load_end: int = 0,
        capacity: Capacity | None = None,
        watch_collects: bool = False,
        mapper_ms: int = 0,
    ) -> None:
        super().__init__(addresses.SWITCH, seed)
        # the switch's servers: None takes every request in at once (the default)
        self.core: Pool | None = None
        if capacity is not None:
            rng = random.Random(derive_seed(seed, f"{self.address}:core"))
            self.core = Pool(self.address, capacity, rng, self.record)
        self.methods = methods
        # looked up once per payment: plain sets and dicts rather than the method objects
        self._p2m_only = frozenset(name for name, m in methods.items() if m.p2m_only)
        self._hop = {name: (m.extra_ms, m.spread_ms) for name, m in methods.items()}
        self.collect_rules = collect
        self.directory = directory
        self.banks = frozenset(banks)
        self._bank = {code: addresses.bank(code) for code in self.banks}
        self.timeouts = timeouts
        self.policy = RetryPolicy(timeouts)
        self.fraud = fraud
        self.watch_collects = watch_collects  # tell the fraud monitor of each collect request
        self.payments: dict[TxnId, Payment] = {}
        self.late_messages = 0
        # NPCI's mapper: payees resolved in the last mapper_ms ms, paid again without asking
        # their PSP: (bank, account, merchant, when resolved); None asks every time
        self.mapper_ms = mapper_ms
        self.mapper: RecentMap[tuple[BankCode, str, bool, int]] | None = (
            RecentMap(mapper_ms) if mapper_ms else None
        )
        self.mapper_hits = 0
        # Payments to merchants that may still be refunded, for refund_window ms; 0 keeps
        # none and refuses every refund.
        self.refund_book = RefundBook(refund_window)
        # ids seen, for good; id_window must outlast any reordering of one app's requests
        self.seen = SeenIds(id_window)
        # the outcomes of payments finished in the last status_window ms: an app's status
        # check may ask that long after its request (see upisim.actors.status)
        self.outcomes: RecentNumbered[tuple[str, str, str]] = RecentNumbered(status_window)
        self.settling(
            self._bank, settle_every, settle_grace, cycle_ms, net_debit_caps or {}, load_end
        )
        self._leg_answered: dict[str, Callable[[RespPayLeg], None]] = {
            DEBIT: self._debited,
            CREDIT: self._credited,
            CREDIT_REVERSAL: self._credit_reversed,
            DEBIT_REVERSAL: self._debit_reversed,
        }

    @property
    def refunds(self) -> dict[TxnId, TxnId]:
        """Payments refunded (or being refunded) -> their refund."""
        return self.refund_book.claims

    def gauges(self) -> SwitchLoad:
        return SwitchLoad(len(self.payments))

    # -- requests -------------------------------------------------------------------------

    def _taken_in(self) -> int | None:
        """How long the switch's servers take to take a new request in (queue wait +
        service; 0 without a capacity model), or None when their queue is full."""
        return 0 if self.core is None else self.core.delay(self.now, REQUEST_OP)

    def _admit(
        self,
        p: Payment,
        own_bank: str,
        no_bank: tuple[str, str],
        other: Vpa,
        refusal: str = "",
        delay: int | None = 0,
    ) -> Address | None:
        """Take a new payment in; fail it at once if it cannot go anywhere, ``refusal`` is
        set or the switch's queue is full (``delay`` None). Returns the PSP of the other
        party (the payee's for a push, the payer's for a collect)."""
        self.payments[p.txn_id] = p
        other_psp = self.directory.get(other)
        if delay is None:
            self._finish(p, Stage.FAILED, codes.SWITCH_BUSY)
        elif refusal:
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

    def _repeat(self, msg: ReqPay | ReqPayCollect, sender: Address) -> bool:
        """A request reusing an id already seen, at any time in the run, is refused (``ZD``)
        and not run: never a second row, a second notice or a second debit."""
        if not self.seen.repeat(msg.txn_id, self.now):
            return False
        self.event("DUPLICATE_REQPAY", msg.txn_id, msg.payer, str(sender), msg.amount)
        code = codes.VALIDATION_ERROR
        self.send(
            sender,
            RespPay(msg.txn_id, msg.payer, msg.amount, Result.DUPLICATE, code, code, msg.payee),
        )
        return True

    def on_ReqPay(self, msg: ReqPay, sender: Address) -> None:
        if self._repeat(msg, sender):
            return
        kind = Kind.REFUND if msg.refund_of else Kind.PAY
        p = Payment(
            kind, msg.txn_id, msg.payer, msg.payee, msg.amount, msg.initiated_at, sender, self.now
        )
        p.payer_bank, p.payer_account, p.cred = msg.payer_bank, msg.payer_account, msg.cred
        p.method = msg.method
        no_bank = (codes.DEBIT_FAILED, codes.REMITTER_ACCOUNT_MISSING)
        if msg.refund_of:
            p.refund_of = msg.refund_of
            refusal, event = self.refund_book.verdict(msg, self.now)
            if event:
                self.event(event, msg.txn_id, msg.payer, msg.refund_of, msg.amount)
        else:  # a collect is asked for, never pushed; only its refund carries its method
            unknown = msg.method not in self.methods or msg.method == UPI_COLLECT
            refusal = codes.VALIDATION_ERROR if unknown else ""
        delay = self._taken_in()
        payee_psp = self._admit(p, msg.payer_bank, no_bank, msg.payee, refusal, delay)
        if payee_psp is None:
            return
        p.payee_psp = payee_psp
        known = None if self.mapper is None else self.mapper.get(msg.payee)
        if known is None or self.now - known[3] >= self.mapper_ms:
            self._expect(p, self.timeouts.auth)
            self.send(payee_psp, ReqAuthDetails(p.txn_id, msg.payee), delay or 0)
        else:  # the mapper knows the address: no round trip to the payee's PSP
            self.mapper_hits += 1
            self._resolved(p, known[0], known[1], known[2], delay or 0)

    def on_ReqPayCollect(self, msg: ReqPayCollect, sender: Address) -> None:
        if self._repeat(msg, sender):
            return
        p = Payment(
            Kind.COLLECT,
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
        delay = self._taken_in()
        payer_psp = self._admit(p, msg.payee_bank, no_bank, msg.payer, refusal, delay)
        if payer_psp is not None:
            p.payer_psp = payer_psp
            self._expect(p, msg.expire_after)
            ask = ReqAuthDetails(p.txn_id, msg.payer, msg.payee, msg.amount)
            self.send(payer_psp, ask, delay or 0)
            if self.watch_collects:
                self.send(self.fraud, CollectAsked(p.txn_id, msg.payee, msg.payer), delay or 0)

    # -- an app's status check ---------------------------------------------------------------

    def on_ReqChkTxn(self, msg: ReqChkTxn, sender: Address) -> None:
        """What became of a request (NPCI's check status): PENDING while the switch holds it,
        its outcome once over, and ``U48`` if the request never came. A request that never
        came fails for good: its id is spent, so a straggler cannot run it after the app was
        told it failed."""
        request = msg.request
        if request is None:
            self.event("UNKNOWN_CHECK", msg.txn_id, "", str(sender))
            return
        p = self.payments.get(msg.txn_id)
        if p is not None:
            outcome: tuple[str, str, str] | None = (Result.PENDING, p.code, p.reason)
        else:
            outcome = self.outcomes.get(msg.txn_id)
        if outcome is None:
            self.seen.repeat(msg.txn_id, self.now)  # spent, whether seen before or not
            self.event("REQUEST_NOT_FOUND", msg.txn_id, request.payer, str(sender))
            self._never_came(request, sender)  # its row, and the app is told U48
            return
        result, code, reason = outcome
        if isinstance(request, ReqPayCollect):  # the payee asked: tell them as at the end
            if result in (Result.SUCCESS, Result.DEEMED):
                told: RespPay | ReqTxnConfirmation = ReqTxnConfirmation(
                    msg.txn_id,
                    request.payer,
                    request.payee,
                    request.amount,
                    UPI_COLLECT,
                    Kind.COLLECT,
                )
            else:
                told = RespPay(
                    msg.txn_id,
                    request.payer,
                    request.amount,
                    result,
                    code,
                    reason,
                    request.payee,
                    True,
                )
        else:
            told = RespPay(
                msg.txn_id, request.payer, request.amount, result, code, reason, request.payee
            )
        self.send(sender, told)

    def _never_came(self, request: ReqPay | ReqPayCollect, sender: Address) -> None:
        if isinstance(request, ReqPayCollect):
            kind = Kind.COLLECT
        else:
            kind = Kind.REFUND if request.refund_of else Kind.PAY
        p = Payment(
            kind,
            request.txn_id,
            request.payer,
            request.payee,
            request.amount,
            request.initiated_at,
            sender,
            self.now,
        )
        if isinstance(request, ReqPayCollect):
            p.payee_bank = request.payee_bank
        else:
            p.payer_bank, p.method, p.refund_of = (
                request.payer_bank,
                request.method,
                request.refund_of,
            )
        self.payments[p.txn_id] = p
        self._finish(p, Stage.FAILED, codes.TXN_NOT_FOUND)

    # -- answers: the payer's approval, the payee's address, the risk score --------------------

    def on_RespAuthDetails(self, msg: RespAuthDetails, sender: Address) -> None:
        p = self.payments.get(msg.txn_id)
        if p is not None and p.kind == Kind.COLLECT:
            self._collect_answered(p, msg, sender)
        else:  # a push payment's payee resolved; after expiry a collect's answer lands here
            self._payee_resolved(msg)

    def _collect_answered(self, p: Payment, msg: RespAuthDetails, sender: Address) -> None:
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
        self._score(p)

    def _payee_resolved(self, msg: RespAuthDetails) -> None:
        p = self._current(msg.txn_id, Stage.RESOLVING)
        if p is None:
            return
        if msg.code != codes.APPROVED or msg.bank not in self.banks:
            p.t_resolved = self.now
            reason = msg.code if msg.code != codes.APPROVED else codes.INVALID_VPA
            self._finish(p, Stage.FAILED, codes.ADDRESS_RESOLUTION_FAILED, reason)
            return
        if self.mapper is not None:
            self.mapper.put(p.payee, (msg.bank, msg.account, msg.merchant, self.now), self.now)
        self._resolved(p, msg.bank, msg.account, msg.merchant)

    def _resolved(
        self, p: Payment, bank: BankCode, account: str, merchant: bool, delay: int = 0
    ) -> None:
        """The payee is known (by their PSP, or by the mapper ``delay`` ms from now)."""
        p.t_resolved = self.now + delay
        p.payee_bank, p.payee_account, p.merchant = bank, account, merchant
        if not merchant and p.method in self._p2m_only and p.kind == Kind.PAY:
            self._finish(p, Stage.FAILED, codes.NOT_PERMITTED)  # a card pays merchants only
            return
        self._score(p, delay)

    def _score(self, p: Payment, delay: int = 0) -> None:
        self._move(p, Stage.RISK, self.timeouts.risk)
        refund = p.kind == Kind.REFUND
        self.send(self.fraud, ReqRiskScore(p.txn_id, p.payer, p.payee, p.amount, refund), delay)

    def on_RespRiskScore(self, msg: RespRiskScore, sender: Address) -> None:
        p = self._current(msg.txn_id, Stage.RISK)
        if p is None:
            return
        p.flags = ",".join(msg.rules)
        p.t_risk = self.now
        if msg.decision == DECLINE:
            self._finish(p, Stage.FAILED, codes.RISK_DECLINED)
            return
        if msg.decision != ALLOW and msg.decision != FLAG:  # a bank will decline: K1 / ZI
            p.risk = msg.decision
        self._debit(p)
