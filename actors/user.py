"""User actors: a cohort of users behind one PSP app server.

A cohort starts its users' payments (generated or scripted), answers address
resolution for the VPAs it hosts, and receives the final ``RespPay`` and
credit confirmations as notifications. One actor per user would cost a thread
per user; a bounded number of cohorts keeps Pykka fast at any population.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from actors import codes
from actors.bank import pin_block
from actors.base import Logic, LogicActor, derive_seed
from actors.messages import (
    CollectDecision,
    RefundDue,
    ReqAuthDetails,
    ReqPay,
    ReqPayCollect,
    ReqTxnConfirmation,
    RespAuthDetails,
    RespPay,
    StartCollects,
    StartPayment,
    StartPayments,
)
from actors.records import refused_at_psp
from actors.types import HOUR, MINUTE, Address, BankCode, Paise, SimTime, TxnId, Vpa


@dataclass(frozen=True, slots=True)
class User:
    """A person with a VPA, an account at a bank and a UPI PIN."""

    name: str
    vpa: Vpa
    bank: BankCode
    account: str
    pin: str
    merchant: bool = False


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How generated payments look: amounts are log-normal around a median, in whole rupees."""

    median_amount: Paise = Paise(500_00)
    amount_sigma: float = 1.0
    min_amount: Paise = Paise(1_00)
    max_amount: Paise = Paise(20_000_00)
    wrong_pin_rate: float = 0.0


@dataclass(frozen=True, slots=True)
class CollectHabits:
    """How collect requests go: merchants ask; payers approve, decline or ignore after a while."""

    expire_after: int = 5 * 60_000  # ms
    approve: float = 0.7
    decline: float = 0.15  # the rest ignore the request until it expires
    think_mean: int = 20_000  # ms, exponential
    refund_share: float = 0.0  # of the payments a merchant receives, the share it refunds
    refund_after: int = 60_000  # ms after the money arrived


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Sliding windows per user that the payer's PSP applies before anything leaves the app;
    0 turns a window off."""

    per_minute: int = 5
    per_hour: int = 50


class UserCohort(Logic):
    """Users hosted by one PSP app server; ``payees`` is everyone they may pay."""

    def __init__(
        self,
        index: int,
        users: Sequence[User],
        payees: Sequence[Vpa],
        behaviour: Behaviour = Behaviour(),
        seed: int = 0,
        limits: RateLimits = RateLimits(),
        collect: CollectHabits = CollectHabits(),
    ) -> None:
        super().__init__(Address(f"users:{index}"), seed)
        self.index = index
        self.users = list(users)
        self.by_vpa = {u.vpa: u for u in self.users}
        self.payees = payees
        self.behaviour = behaviour
        self._creds = {u.vpa: pin_block(u.vpa, u.pin) for u in self.users}
        self._txn_counter = 0
        self.outcomes: Counter[str] = Counter()
        self.notifications: Counter[str] = Counter()
        self._mu = math.log(behaviour.median_amount / 100)
        self._np = np.random.Generator(np.random.PCG64(derive_seed(seed, self.address)))
        self.limits = limits
        self.collect = collect
        self.merchants = [u for u in self.users if u.merchant]
        self._recent: dict[Vpa, list[int]] = {}

    # -- starting payments ---------------------------------------------------------------

    def _next_txn_id(self) -> TxnId:
        self._txn_counter += 1
        return TxnId(f"UPS{self.index:05d}T{self._txn_counter:011d}")

    def _pay(self, user: User, payee: Vpa, amount: int, cred: str) -> None:
        txn_id = self._next_txn_id()
        window = self._throttled(user.vpa)
        if window:
            self.event("RATE_LIMIT", txn_id, user.vpa, window, amount)
            self.record(
                "transactions",
                refused_at_psp(
                    txn_id, user.vpa, payee, user.bank, amount, codes.PSP_THROTTLED, self.now
                ),
            )
            self.outcomes[codes.PSP_THROTTLED] += 1
            return
        self.send(
            Address("switch"),
            ReqPay(
                txn_id,
                user.vpa,
                payee,
                Paise(amount),
                user.bank,
                user.account,
                cred,
                SimTime(self.now),
            ),
        )

    def _throttled(self, vpa: Vpa) -> str:
        """The window (``1m`` or ``1h``) this payment would overflow, or ``""`` (and count it)."""
        limits = self.limits
        if not (limits.per_minute or limits.per_hour):
            return ""
        now = self.now
        recent = self._recent.get(vpa)
        if recent is None:
            recent = self._recent[vpa] = []
        elif recent[0] <= now - HOUR:
            recent[:] = [t for t in recent if t > now - HOUR]
        if limits.per_hour and len(recent) >= limits.per_hour:
            return "1h"
        if (
            limits.per_minute
            and len(recent) >= limits.per_minute
            and recent[-limits.per_minute] > now - MINUTE
        ):
            return "1m"
        recent.append(now)
        return ""

    def draw_amounts(self, n: int) -> list[int]:
        """``n`` amounts in paise: log-normal whole rupees, clamped to the behaviour's range."""
        b = self.behaviour
        rupees = np.rint(self._np.lognormal(self._mu, b.amount_sigma, n))
        amounts: list[int] = (
            np.clip(rupees * 100, b.min_amount, b.max_amount).astype(np.int64).tolist()
        )
        return amounts

    def on_StartPayments(self, msg: StartPayments, sender: Address) -> None:
        """Start ``msg.number`` payments: draws are made for the whole batch at once (numpy),
        the same way every run, so a batch costs a few calls instead of a few per payment."""
        n = msg.number
        users, payees, n_payees = self.users, self.payees, len(self.payees)
        draw = self._np
        payers = draw.integers(0, len(users), n).tolist()
        targets = draw.integers(0, n_payees, n).tolist()
        amounts = self.draw_amounts(n)
        wrong_pin_rate = self.behaviour.wrong_pin_rate
        wrong = (draw.random(n) < wrong_pin_rate).tolist() if wrong_pin_rate else [False] * n
        creds = self._creds
        for i in range(n):
            user = users[payers[i]]
            payee = payees[targets[i]]
            while payee == user.vpa and n_payees > 1:
                payee = payees[int(draw.integers(0, n_payees))]
            cred = pin_block(user.vpa, user.pin + "0") if wrong[i] else creds[user.vpa]
            self._pay(user, payee, amounts[i], cred)

    def on_StartCollects(self, msg: StartCollects, sender: Address) -> None:
        """Merchants hosted here each ask a random user for money (``ReqPay`` type COLLECT)."""
        if not self.merchants:
            self.event("NO_MERCHANTS", detail=str(msg.number))
            return
        n = msg.number
        draw = self._np
        askers = draw.integers(0, len(self.merchants), n).tolist()
        targets = draw.integers(0, len(self.payees), n).tolist()
        amounts = self.draw_amounts(n)
        for i in range(n):
            merchant, payer = self.merchants[askers[i]], self.payees[targets[i]]
            if payer == merchant.vpa:
                continue  # nobody collects from themselves
            self.send(
                Address("switch"),
                ReqPayCollect(
                    self._next_txn_id(),
                    merchant.vpa,
                    payer,
                    Paise(amounts[i]),
                    merchant.bank,
                    merchant.account,
                    SimTime(self.now),
                    self.collect.expire_after,
                ),
            )

    def on_StartPayment(self, msg: StartPayment, sender: Address) -> None:
        user = self.by_vpa.get(msg.payer)
        if user is None:
            self.event("UNKNOWN_PAYER", subject=msg.payer)
            return
        cred = self._creds[user.vpa] if msg.pin is None else pin_block(user.vpa, msg.pin)
        self._pay(user, msg.payee, msg.amount, cred)

    # -- payee PSP ------------------------------------------------------------------------

    def on_ReqAuthDetails(self, msg: ReqAuthDetails, sender: Address) -> None:
        user = self.by_vpa.get(msg.vpa)
        if user is None:
            self.send(sender, RespAuthDetails(msg.txn_id, msg.vpa, codes.INVALID_VPA))
        elif msg.collect_from:
            self._consider(msg, sender)
        else:
            self.send(
                sender,
                RespAuthDetails(msg.txn_id, msg.vpa, codes.APPROVED, user.bank, user.account),
            )

    # -- collect requests, payer side ------------------------------------------------------

    def _consider(self, msg: ReqAuthDetails, sender: Address) -> None:
        """A collect request reached the payer: they will approve, decline, or never answer."""
        self.notifications["COLLECT_REQUEST"] += 1
        habits = self.collect
        choice = self._np.random()
        if choice >= habits.approve + habits.decline:
            return  # ignored: the switch expires it (U69)
        think = 1 + int(self._np.exponential(habits.think_mean))
        self.set_timer(think, CollectDecision(msg.txn_id, msg.vpa, choice < habits.approve, sender))

    def on_CollectDecision(self, msg: CollectDecision, sender: Address) -> None:
        user = self.by_vpa[msg.payer]
        if msg.approve:
            answer = RespAuthDetails(
                msg.txn_id, user.vpa, codes.APPROVED, user.bank, user.account, self._creds[user.vpa]
            )
        else:
            answer = RespAuthDetails(msg.txn_id, user.vpa, codes.DECLINED_BY_CUSTOMER)
        self.send(msg.reply_to, answer)

    # -- notifications ------------------------------------------------------------------

    def on_RespPay(self, msg: RespPay, sender: Address) -> None:
        self.outcomes[msg.reason] += 1
        self.notifications[msg.result] += 1

    def on_ReqTxnConfirmation(self, msg: ReqTxnConfirmation, sender: Address) -> None:
        self.notifications["CREDIT"] += 1
        share = self.collect.refund_share
        if share and self.by_vpa[msg.payee].merchant and self._np.random() < share:
            self.set_timer(
                self.collect.refund_after, RefundDue(msg.txn_id, msg.payee, msg.payer, msg.amount)
            )

    def on_RefundDue(self, msg: RefundDue, sender: Address) -> None:
        """The merchant gives the whole payment back: a new payment linked to the original.
        Merchants are not held to a person's rate limits."""
        merchant = self.by_vpa[msg.merchant]
        self.notifications["REFUND_SENT"] += 1
        self.send(
            Address("switch"),
            ReqPay(
                self._next_txn_id(),
                merchant.vpa,
                msg.customer,
                msg.amount,
                merchant.bank,
                merchant.account,
                self._creds[merchant.vpa],
                SimTime(self.now),
                msg.original,
            ),
        )


class UserActor(LogicActor):
    """A :class:`UserCohort` as a Pykka actor."""

    def __init__(self, cohort: UserCohort) -> None:
        super().__init__(cohort)
