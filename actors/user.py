"""User actors: a cohort of users behind one PSP app server.

A cohort starts its users' payments (generated or scripted), picks each
payment's method from the scenario's mix among those the payer has and the
payee takes, answers address resolution for the VPAs it hosts, and turns what
the switch tells it into notifications to its users (:data:`NOTIFICATION_KINDS`).
One actor per user would cost a thread per user; a bounded number of cohorts
keeps Pykka fast at any population.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from upisim.actors import addresses, codes
from upisim.actors.app import RateLimits, refused_row
from upisim.actors.base import derive_seed
from upisim.actors.capacity import Capacity
from upisim.actors.crime import Crime, Crimes
from upisim.actors.directory import Members
from upisim.actors.load import Behaviour, Draws
from upisim.actors.messages import (
    CollectDecision,
    RefundDue,
    ReqAuthDetails,
    ReqPay,
    ReqPayCollect,
    ReqTxnConfirmation,
    RespAuthDetails,
    RespPay,
    Result,
    ReversalNotice,
    StartCollects,
    StartPayment,
    StartPayments,
)
from upisim.actors.methods import DEFAULT_METHODS, UPI_COLLECT, UPI_PUSH, Method
from upisim.actors.records import User as User  # where users have always found it
from upisim.actors.records import pin_block
from upisim.actors.status import Request, StatusChecks
from upisim.actors.types import SECOND, Address, Paise, SimTime, TxnId, Vpa
from upisim.runfolder import Kind, Notice

NOT_A_REFUND = TxnId("")
_NOTICE_OF = {
    Result.SUCCESS: Notice.DEBIT,
    Result.DEEMED: Notice.DEBIT,
    Result.EXPIRED: Notice.EXPIRED,
    Result.FAILURE: Notice.DECLINED,
}


@dataclass(frozen=True, slots=True)
class CollectHabits:
    """How collect requests go: merchants ask; payers approve, decline or ignore after a while."""

    expire_after: int = 5 * 60_000  # ms
    approve: float = 0.7
    decline: float = 0.15  # the rest ignore the request until it expires
    think_mean: int = 20_000  # ms, exponential
    refund_share: float = 0.0  # of the payments a merchant receives, the share it refunds
    refund_after: int = 60_000  # ms after the money arrived


class UserCohort(Crimes):
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
        checks: StatusChecks = StatusChecks(),
        replay_window: int = 10 * SECOND,
        capacity: Capacity | None = None,
        crime: Crime | None = None,
        by_vpa: Mapping[Vpa, User] | None = None,
    ) -> None:
        super().__init__(addresses.users(index), seed)
        self.index = index
        self.users = users if isinstance(users, Members) else Members.of(list(users))
        # ``by_vpa``: these users by VPA (a world's read off its roster: no dict of them)
        self.by_vpa = {u.vpa: u for u in self.users} if by_vpa is None else by_vpa
        self.payees = payees
        self.behaviour = behaviour
        self._txn_counter = 0
        self.outcomes: Counter[str] = Counter()
        self.notifying(record_notifications)
        generator = np.random.Generator(np.random.PCG64(derive_seed(seed, self.address)))
        self.draws = Draws(generator, behaviour, payees, merchants, methods)
        self.collect = collect
        self.merchants = self.users.merchants()
        self.persons = self.users.persons()
        self.checking(checks, replay_window)
        self.serving(limits, capacity, seed)
        self.committing(crime)

    # -- starting payments ---------------------------------------------------------------

    def _next_txn_id(self) -> TxnId:
        self._txn_counter += 1
        return TxnId(f"UPS{self.index:05d}T{self._txn_counter:011d}")

    def _pay(self, user: User, payee: Vpa, amount: int, cred: str, method: str) -> ReqPay:
        request = ReqPay(
            self._next_txn_id(),
            user.vpa,
            payee,
            Paise(amount),
            user.bank,
            user.account,
            cred,
            SimTime(self.now),
            NOT_A_REFUND,
            method,
        )
        # the UPI app's own limits: a card or net-banking payment goes through a gateway
        window = self._throttled(user.vpa) if method == UPI_PUSH else ""
        if window:
            self._refuse(request, "RATE_LIMIT", window)
        elif not self._send(request):
            self._refuse(request, "PSP_BUSY")
        return request

    def _refuse(self, request: Request, why: str, window: str = "") -> None:
        """The app holds the request back (U86: a rate limit, or its server full): it never
        reaches the switch, and its initiator is told at once."""
        code = codes.PSP_THROTTLED
        asker = request.payee if isinstance(request, ReqPayCollect) else request.payer
        self.event(why, request.txn_id, asker, window, request.amount)
        self.record(refused_row(request, code, self.now))
        self.outcomes[code] += 1
        other = request.payer if asker == request.payee else request.payee
        self._notify(asker, Notice.DECLINED, request.txn_id, request.amount, other, code)

    def on_StartPayments(self, msg: StartPayments, sender: Address) -> None:
        """Start ``msg.number`` generated payments, drawn for the whole batch at once."""
        users, draws = self.users, self.draws
        batch = draws.payments(msg.number, users, users.vpas)
        picks = batch.picks
        for i, payer in enumerate(batch.payers):
            user = users[payer]
            payee = batch.payees[i]
            cred = pin_block(user.vpa, user.pin + "0") if batch.wrong_pin[i] else user.credential()
            method = UPI_PUSH if picks is None else draws.method(user, payee, picks[i])
            self._pay(user, payee, batch.amounts[i], cred, method)

    def on_StartCollects(self, msg: StartCollects, sender: Address) -> None:
        """Merchants (or people) hosted here each ask a random user for money (``ReqPay`` type
        COLLECT); the switch refuses people's requests unless P2P collect is allowed."""
        askers = self.persons if msg.by_people else self.merchants
        if not askers:
            self.event("NO_MERCHANTS" if not msg.by_people else "NO_PEOPLE", detail=str(msg.number))
            return
        picks, targets, amounts = self.draws.collects(msg.number, len(askers))
        for i, pick in enumerate(picks):
            asker = askers[pick]
            payer = self.payees[targets[i]]
            if payer != asker.vpa:  # nobody collects from themselves
                self._request(asker, payer, amounts[i])

    def _request(self, asker: User, payer: Vpa, amount: int) -> ReqPayCollect:
        expire = self.collect.expire_after
        request = ReqPayCollect(
            self._next_txn_id(),
            asker.vpa,
            payer,
            Paise(amount),
            asker.bank,
            asker.account,
            SimTime(self.now),
            expire,
            asker.merchant,
        )
        if not self._send(request, expire):
            self._refuse(request, "PSP_BUSY")
        return request

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
        cred = user.credential() if msg.pin is None else pin_block(user.vpa, msg.pin)
        self._pay(user, msg.payee, msg.amount, cred, msg.method)

    # -- payee PSP ------------------------------------------------------------------------

    def on_ReqAuthDetails(self, msg: ReqAuthDetails, sender: Address) -> None:
        if msg.collect_from:  # a collect request for a user here: it asks them
            if msg.vpa in self.by_vpa:
                self._consider(msg, sender)
            else:
                self.send(sender, RespAuthDetails(msg.txn_id, msg.vpa, codes.INVALID_VPA))
            return
        user, took = self.by_vpa.get(msg.vpa), self._lookup()  # an address lookup
        if user is None:
            self.send(sender, RespAuthDetails(msg.txn_id, msg.vpa, codes.INVALID_VPA), took)
        else:
            found = RespAuthDetails(
                msg.txn_id, msg.vpa, codes.APPROVED, user.bank, user.account, "", user.merchant
            )
            self.send(sender, found, took)

    # -- collect requests, payer side ------------------------------------------------------

    def _consider(self, msg: ReqAuthDetails, sender: Address) -> None:
        """A collect request reached the payer: they will approve, decline, or never answer."""
        if not self._first_time(msg.txn_id, "A"):
            return
        self._notify(msg.vpa, Notice.COLLECT_REQUEST, msg.txn_id, msg.amount, msg.collect_from, "")
        habits = self.collect
        approve, decline = habits.approve, habits.decline
        scam = self.crime.scams.get((msg.vpa, msg.collect_from)) if self.crime else None
        if scam is not None:  # the fraudster called first: "approve it to receive money"
            approve, decline = scam[1], 1 - scam[1]
        choice = self.draws.uniform()
        if choice >= approve + decline:
            return  # ignored: the switch expires it (U69)
        think = self.draws.think_ms(habits.think_mean)
        self.set_timer(think, CollectDecision(msg.txn_id, msg.vpa, choice < approve, sender))

    def on_CollectDecision(self, msg: CollectDecision, sender: Address) -> None:
        user = self.by_vpa[msg.payer]
        if msg.approve:
            answer = RespAuthDetails(
                msg.txn_id, user.vpa, codes.APPROVED, user.bank, user.account, user.credential()
            )
        else:
            answer = RespAuthDetails(msg.txn_id, user.vpa, codes.DECLINED_BY_CUSTOMER)
        self.send(msg.reply_to, answer)

    def on_RespPay(self, msg: RespPay, sender: Address) -> None:
        """How a payment ended: the payer was debited, or it did not go through (for a
        collect request, both parties hear it). A DUPLICATE refusal is about a repeat of a
        request, not about the payment: the payment's own outcome comes on its own."""
        if msg.result == Result.DUPLICATE:
            self.event("DUPLICATE_REFUSED", msg.txn_id, msg.payer, msg.code)
            return
        user, other = (msg.payee, msg.payer) if msg.for_payee else (msg.payer, msg.payee)
        if msg.result == Result.PENDING:  # not an outcome: the outcome follows
            if self._first_time(msg.txn_id, "p" if msg.for_payee else "P"):
                self._notify(user, Notice.PENDING, msg.txn_id, msg.amount, other, msg.code)
            return
        mine = self.open.get(msg.txn_id)
        if mine is not None and (type(mine) is ReqPayCollect) == msg.for_payee:
            self._heard(msg.txn_id)
        if not self._first_time(msg.txn_id, "f" if msg.for_payee else "F"):
            return
        self.outcomes[msg.reason] += 1
        self._notify(user, _NOTICE_OF[msg.result], msg.txn_id, msg.amount, other, msg.code)
        if self.crime is not None and msg.txn_id in self._thefts:
            self._noticed(msg.txn_id, msg.result, msg.payer, msg.payee)

    def on_ReversalNotice(self, msg: ReversalNotice, sender: Address) -> None:
        if not self._first_time(msg.txn_id, "R"):
            return
        self._notify(msg.vpa, Notice.REVERSAL, msg.txn_id, msg.amount, msg.payee, codes.APPROVED)

    def on_ReqTxnConfirmation(self, msg: ReqTxnConfirmation, sender: Address) -> None:
        """Money arrived for a user here (for a collect this one asked for: its outcome); a
        merchant may give some of it back later."""
        if type(self.open.get(msg.txn_id)) is ReqPayCollect:
            self._heard(msg.txn_id)
        if not self._first_time(msg.txn_id, "C"):
            return
        self._notify(msg.payee, Notice.CREDIT, msg.txn_id, msg.amount, msg.payer, codes.APPROVED)
        if self.crime is not None and msg.payee in self.crime.mules:
            self._launder(msg.payee, msg.amount)
        share = self.collect.refund_share
        if (
            share
            and msg.kind != Kind.REFUND
            and self.by_vpa[msg.payee].merchant
            and self.draws.uniform() < share
        ):
            self.set_timer(
                self.collect.refund_after,
                RefundDue(msg.txn_id, msg.payee, msg.payer, msg.amount, msg.method),
            )

    def on_RefundDue(self, msg: RefundDue, sender: Address) -> None:
        """The merchant gives the whole payment back: a new payment linked to the original.
        Merchants are not held to a person's rate limits."""
        merchant = self.by_vpa[msg.merchant]
        refund = ReqPay(
            self._next_txn_id(),
            merchant.vpa,
            msg.customer,
            msg.amount,
            merchant.bank,
            merchant.account,
            merchant.credential(),
            SimTime(self.now),
            msg.original,
            msg.method,
        )
        if not self._send(refund):
            self._refuse(refund, "PSP_BUSY")
