"""User actors: a cohort of users behind one PSP app server.

A cohort starts its users' payments (generated or scripted), picks each
payment's method from the scenario's mix among those the payer has and the
payee takes, answers address resolution for the VPAs it hosts, and turns what
the switch tells it into notifications to its users (:data:`NOTIFICATION_KINDS`).
One actor per user would cost a thread per user; a bounded number of cohorts
keeps Pykka fast at any population.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from upisim.actors import codes
from upisim.actors.bank import pin_block
from upisim.actors.base import Logic, LogicActor, derive_seed
from upisim.actors.messages import (
    CollectDecision,
    RefundDue,
    ReqAuthDetails,
    ReqPay,
    ReqPayCollect,
    ReqTxnConfirmation,
    RespAuthDetails,
    RespPay,
    ReversalNotice,
    StartCollects,
    StartPayment,
    StartPayments,
)
from upisim.actors.methods import CARD, DEFAULT_METHODS, UPI_COLLECT, UPI_PUSH, Method
from upisim.actors.records import refused_at_psp
from upisim.actors.types import HOUR, MINUTE, Address, BankCode, Paise, SimTime, TxnId, Vpa


@dataclass(frozen=True, slots=True)
class User:
    """A person with a VPA, an account at a bank and a UPI PIN."""

    name: str
    vpa: Vpa
    bank: BankCode
    account: str
    pin: str
    merchant: bool = False
    card: bool = False  # holds a credit card (a credit line at their bank)


#: What a user's app tells them about: money out, money in, a request for money, a request
#: that ran out, a posting put back, and a payment that did not go through.
NOTIFICATION_KINDS = ("DEBIT", "CREDIT", "COLLECT_REQUEST", "EXPIRED", "REVERSAL", "DECLINED")


class Notification(NamedTuple):
    """What a user's app shows them, one row of the optional notifications table."""

    t_ms: int
    vpa: Vpa  # the user told
    kind: str  # one of NOTIFICATION_KINDS
    txn_id: TxnId
    amount: Paise
    counterparty: Vpa  # who paid them, whom they paid, or who asks
    code: str  # the NPCI code that goes with it ("00" for money that moved)


Listener = Callable[[Notification], None]
"""An observer of a cohort's notifications: called in the actor, tell-only; what it raises
is recorded as a LISTENER_FAILED event and never reaches the actor."""

NOT_A_REFUND = TxnId("")
_NOTICE_OF = {"SUCCESS": "DEBIT", "DEEMED": "DEBIT", "EXPIRED": "EXPIRED", "FAILURE": "DECLINED"}


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How generated payments look: amounts are log-normal around a median, in whole rupees."""

    median_amount: Paise = Paise(500_00)
    amount_sigma: float = 1.0
    min_amount: Paise = Paise(1_00)
    max_amount: Paise = Paise(20_000_00)
    wrong_pin_rate: float = 0.0
    method_mix: tuple[tuple[str, float], ...] = ((UPI_PUSH, 1.0),)  # push methods by weight
    p2m_share: float | None = None  # share of payments to merchants; None: anyone, uniformly


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
        merchants: frozenset[Vpa] = frozenset(),
        methods: Mapping[str, Method] = DEFAULT_METHODS,
        record_notifications: bool = False,
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
        self.notifications: Counter[str] = Counter()  # by kind, always kept
        self.record_notifications = record_notifications  # one row each (a table)
        self.listeners: list[Listener] = []
        self._mu = math.log(behaviour.median_amount / 100)
        self._np = np.random.Generator(np.random.PCG64(derive_seed(seed, self.address)))
        self.limits = limits
        self.collect = collect
        self.merchants = [u for u in self.users if u.merchant]
        self.persons = [u for u in self.users if not u.merchant]
        self.merchant_vpas = merchants  # every payee that takes merchant-only methods
        # payees split for a P2M share: (people, merchants), the whole list when one is empty;
        # only built when a share is set (two lists of every payee in each cohort otherwise)
        self._payees_by_kind: tuple[Sequence[Vpa], Sequence[Vpa]] = (payees, payees)
        if behaviour.p2m_share is not None:
            people = tuple(v for v in payees if v not in merchants)
            shops = tuple(v for v in payees if v in merchants)
            self._payees_by_kind = (people or payees, shops or payees)
        self._recent: dict[Vpa, list[int]] = {}
        # (method, weight, merchants only?, needs a credit card?)
        self._mix = [
            (name, weight, methods[name].p2m_only, methods[name].source == CARD)
            for name, weight in behaviour.method_mix
            if weight > 0
        ]
        self._upi_only = [name for name, *_ in self._mix] == [UPI_PUSH]

    # -- starting payments ---------------------------------------------------------------

    def _next_txn_id(self) -> TxnId:
        self._txn_counter += 1
        return TxnId(f"UPS{self.index:05d}T{self._txn_counter:011d}")

    def _pay(self, user: User, payee: Vpa, amount: int, cred: str, method: str) -> None:
        txn_id = self._next_txn_id()
        # the UPI app's own limits: a card or net-banking payment goes through a gateway
        window = self._throttled(user.vpa) if method == UPI_PUSH else ""
        if window:
            self.event("RATE_LIMIT", txn_id, user.vpa, window, amount)
            self.record(
                "transactions",
                refused_at_psp(
                    txn_id,
                    user.vpa,
                    payee,
                    user.bank,
                    amount,
                    codes.PSP_THROTTLED,
                    self.now,
                    method,
                ),
            )
            self.outcomes[codes.PSP_THROTTLED] += 1
            self._notify(user.vpa, "DECLINED", txn_id, Paise(amount), payee, codes.PSP_THROTTLED)
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
                NOT_A_REFUND,
                method,
            ),
        )

    def _method(self, user: User, payee: Vpa, u: float) -> str:
        """The mix's method for this payment, among those the payer has (a credit card) and
        the payee takes (merchant-only methods), drawn with ``u`` in [0, 1)."""
        merchant = payee in self.merchant_vpas
        allowed = [
            (name, weight)
            for name, weight, p2m_only, card in self._mix
            if (merchant or not p2m_only) and (user.card or not card)
        ]
        if not allowed:
            return UPI_PUSH
        x = u * sum(weight for _, weight in allowed)
        for name, weight in allowed:
            x -= weight
            if x < 0:
                return name
        return allowed[-1][0]

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
        p2m_share = self.behaviour.p2m_share
        pools: list[Sequence[Vpa]] | None = None  # where each payment's payee came from
        if p2m_share is None:
            chosen = [payees[t] for t in draw.integers(0, n_payees, n).tolist()]
        else:  # a share goes to merchants: pick each payment's kind of payee, then the payee
            to_shop = (draw.random(n) < p2m_share).tolist()
            where = draw.random(n).tolist()
            by_kind = self._payees_by_kind
            chosen = []
            for i in range(n):
                kind = by_kind[to_shop[i]]
                chosen.append(kind[int(where[i] * len(kind))])
            pools = [by_kind[shop] for shop in to_shop]
        amounts = self.draw_amounts(n)
        wrong_pin_rate = self.behaviour.wrong_pin_rate
        wrong = (draw.random(n) < wrong_pin_rate).tolist() if wrong_pin_rate else [False] * n
        picks = None if self._upi_only else draw.random(n).tolist()
        creds = self._creds
        for i in range(n):
            user = users[payers[i]]
            payee = chosen[i]
            if payee == user.vpa:  # never oneself: draw again, from the same kind of payee
                pool = payees if pools is None or len(pools[i]) < 2 else pools[i]
                while payee == user.vpa and len(pool) > 1:
                    payee = pool[int(draw.integers(0, len(pool)))]
            cred = pin_block(user.vpa, user.pin + "0") if wrong[i] else creds[user.vpa]
            method = UPI_PUSH if picks is None else self._method(user, payee, picks[i])
            self._pay(user, payee, amounts[i], cred, method)

    def on_StartCollects(self, msg: StartCollects, sender: Address) -> None:
        """Merchants (or people) hosted here each ask a random user for money (``ReqPay`` type
        COLLECT); the switch refuses people's requests unless P2P collect is allowed."""
        askers = self.persons if msg.by_people else self.merchants
        if not askers:
            self.event("NO_MERCHANTS" if not msg.by_people else "NO_PEOPLE", detail=str(msg.number))
            return
        n = msg.number
        draw = self._np
        picks = draw.integers(0, len(askers), n).tolist()
        targets = draw.integers(0, len(self.payees), n).tolist()
        amounts = self.draw_amounts(n)
        for i in range(n):
            asker = askers[picks[i]]
            payer = self.payees[targets[i]]
            if payer != asker.vpa:  # nobody collects from themselves
                self._request(asker, payer, amounts[i])

    def _request(self, asker: User, payer: Vpa, amount: int) -> None:
        self.send(
            Address("switch"),
            ReqPayCollect(
                self._next_txn_id(),
                asker.vpa,
                payer,
                Paise(amount),
                asker.bank,
                asker.account,
                SimTime(self.now),
                self.collect.expire_after,
                asker.merchant,
            ),
        )

    def on_StartPayment(self, msg: StartPayment, sender: Address) -> None:
        if msg.method == UPI_COLLECT:  # the payee's app asks the payer
            asker = self.by_vpa.get(msg.payee)
            if asker is None:
                self.event("UNKNOWN_PAYEE", subject=msg.payee)
            else:
                self._request(asker, msg.payer, msg.amount)
            return
        user = self.by_vpa.get(msg.payer)
        if user is None:
            self.event("UNKNOWN_PAYER", subject=msg.payer)
            return
        cred = self._creds[user.vpa] if msg.pin is None else pin_block(user.vpa, msg.pin)
        self._pay(user, msg.payee, msg.amount, cred, msg.method)

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
                RespAuthDetails(
                    msg.txn_id, msg.vpa, codes.APPROVED, user.bank, user.account, "", user.merchant
                ),
            )

    # -- collect requests, payer side ------------------------------------------------------

    def _consider(self, msg: ReqAuthDetails, sender: Address) -> None:
        """A collect request reached the payer: they will approve, decline, or never answer."""
        self._notify(msg.vpa, "COLLECT_REQUEST", msg.txn_id, msg.amount, msg.collect_from, "")
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

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` with every notification this cohort gives its users."""
        self.listeners.append(listener)

    def _notify(
        self, vpa: Vpa, kind: str, txn_id: TxnId, amount: Paise, counterparty: Vpa, code: str
    ) -> None:
        self.notifications[kind] += 1
        if not (self.record_notifications or self.listeners):
            return
        note = Notification(self.now, vpa, kind, txn_id, amount, counterparty, code)
        if self.record_notifications:
            self.record("notifications", note)
        for listener in self.listeners:
            try:
                listener(note)
            except Exception as error:  # an observer never takes the app down
                # the type only: a message may hold an address, and runs must replay
                self.event("LISTENER_FAILED", txn_id, vpa, type(error).__name__)

    def on_RespPay(self, msg: RespPay, sender: Address) -> None:
        """How a payment ended: the payer was debited, or it did not go through (for a
        collect request, both parties hear it)."""
        self.outcomes[msg.reason] += 1
        user, other = (msg.payee, msg.payer) if msg.for_payee else (msg.payer, msg.payee)
        self._notify(user, _NOTICE_OF[msg.result], msg.txn_id, msg.amount, other, msg.code)

    def on_ReversalNotice(self, msg: ReversalNotice, sender: Address) -> None:
        self._notify(msg.vpa, "REVERSAL", msg.txn_id, msg.amount, msg.payee, codes.APPROVED)

    def on_ReqTxnConfirmation(self, msg: ReqTxnConfirmation, sender: Address) -> None:
        """Money arrived for a user here; a merchant may give some of it back later."""
        self._notify(msg.payee, "CREDIT", msg.txn_id, msg.amount, msg.payer, codes.APPROVED)
        share = self.collect.refund_share
        if (
            share
            and msg.kind != "REFUND"
            and self.by_vpa[msg.payee].merchant
            and self._np.random() < share
        ):
            self.set_timer(
                self.collect.refund_after,
                RefundDue(msg.txn_id, msg.payee, msg.payer, msg.amount, msg.method),
            )

    def on_RefundDue(self, msg: RefundDue, sender: Address) -> None:
        """The merchant gives the whole payment back: a new payment linked to the original.
        Merchants are not held to a person's rate limits."""
        merchant = self.by_vpa[msg.merchant]
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
                msg.method,
            ),
        )


class UserActor(LogicActor):
    """A :class:`UserCohort` as a Pykka actor."""

    def __init__(self, cohort: UserCohort) -> None:
        super().__init__(cohort)
