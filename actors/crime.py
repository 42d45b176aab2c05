"""Fraud as users commit it: the acts of a fraud case and the mules that launder it.

Fraudsters, mules and victims are ordinary users of the population: the same names,
VPAs, banks and balances, and they go on making their ordinary payments. What makes
them what they are is only what they do, which their cohort (the app side of those
users) plays from a :class:`Crime` plan drawn when the world is built:

- an :class:`Act` is one planned payment of a case, due at a time: a victim pushing to a
  mule (authorised push payment), an attacker draining a victim's account from a taken
  device (account takeover, perhaps after wrong PINs), a payer paying a fake merchant's
  QR code, a compromised card tested with tiny payments, a fake merchant's collect
  request to a stranger;
- a victim of a collect scam approves the fraudster's request more often than a wary
  stranger would (:attr:`Crime.scams`);
- a victim told a stolen payment went through may notice, and the rest of the case
  does not happen (:attr:`Crime.notice`); some who notice report it, minutes or hours
  later (:attr:`Crime.report`), and the account the money went to is frozen where it
  stands (:mod:`upisim.actors.switch.disputes`): a mule caught in time keeps what it
  has not passed on, and every payment into or out of it is declined (``YF``/``YE``);
- a mule (:class:`Forwarding`) holds what it receives and, minutes after the first of
  it came, passes most of it on in one go, split over its next hops: fan-out, chains,
  cycles and scatter-gather end in cash-out accounts, which keep what reaches them.

Every fraudulent request is labelled when it is sent, by the cohort that sends it, in a
:class:`~upisim.runfolder.FraudTruthRow` of its own table: the label never rides on the
payment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from upisim.actors import addresses
from upisim.actors.app import AppServer
from upisim.actors.load import Draws
from upisim.actors.messages import (
    ReqFraudReport,
    ReqPay,
    ReqPayCollect,
    RespFraudReport,
    Result,
)
from upisim.actors.methods import UPI_PUSH
from upisim.actors.records import User, pin_block
from upisim.actors.types import Address, TxnId, Vpa
from upisim.runfolder import FraudTruthRow

# typologies (UPI.md §8, FRAUD.md)
COLLECT_SCAM = "collect_scam"
AUTHORISED_PUSH = "authorised_push"
ACCOUNT_TAKEOVER = "account_takeover"
QR_MERCHANT = "qr_merchant"
CARD_TESTING = "card_testing"
MULE_NETWORK = "mule_network"
TYPOLOGIES = (COLLECT_SCAM, AUTHORISED_PUSH, ACCOUNT_TAKEOVER, QR_MERCHANT, CARD_TESTING)

# roles and stages
VICTIM, FRAUDSTER, MULE, CASH_OUT = "victim", "fraudster", "mule", "cash_out"
THEFT, LAYERING = "theft", "layering"

MIN_FORWARD = 100_00  # paise: a mule does not bother passing on less (a cycle dies out)


class Act(NamedTuple):
    """Timer: one planned payment of a fraud case, by a user hosted in this cohort.

    ``actor`` makes it: the payer of a push, the asker (payee) of a collect request;
    ``other`` is the other party. ``right_pin`` False types a wrong PIN (an attacker
    guessing before the phished PIN works)."""

    case: int
    typology: str
    actor: Vpa
    other: Vpa
    other_role: str  # the actor's role is the typology's: victim, or a collect's fraudster
    amount: int
    method: str
    right_pin: bool = True


class Forward(NamedTuple):
    """Timer: a mule passes on what it holds, split over its next hops."""

    mule: Vpa


class Report(NamedTuple):
    """Timer: a victim who noticed reports the stolen payment (the 1930 helpline)."""

    txn_id: TxnId
    victim: Vpa
    payee: Vpa


@dataclass(frozen=True, slots=True)
class Forwarding:
    """A mule: about ``delay_ms`` after a credit it passes ``share`` of what it received
    since on to ``hops`` (split evenly; a hop that is a cash-out account keeps it)."""

    case: int
    pattern: str
    hops: tuple[Vpa, ...]
    cash_out: tuple[bool, ...]  # per hop: it is a cash-out account
    share: float = 0.9
    delay_ms: int = 5 * 60_000


@dataclass(frozen=True, slots=True)
class Crime:
    """One cohort's part of the run's fraud: the acts its users make and when, the mules
    it hosts, and its users' scam collects they will likely approve."""

    acts: tuple[tuple[int, Act], ...] = ()  # (at ms, act)
    mules: Mapping[Vpa, Forwarding] = field(default_factory=dict)
    # (victim, fraudster) -> (case, how likely the victim approves the fraudster's collect)
    scams: Mapping[tuple[Vpa, Vpa], tuple[int, float]] = field(default_factory=dict)
    until: int = 0  # mules stop passing money on after this (ms): the day is over
    notice: float = 0.3  # of victims told a stolen payment went through, those who stop it
    report: float = 0.5  # of those who notice, those who report it (and the payee is frozen)
    report_ms: int = 30 * 60_000  # about how long after hearing of it they report it


class Crimes(AppServer):
    """The fraud a cohort's users commit (a :class:`Crime` plan): each act when it is due,
    mules passing money on, and victims who notice and stop. Every fraudulent request is
    labelled as it is sent."""

    # the cohort's own (actors/user.py)
    by_vpa: Mapping[Vpa, User]
    draws: Draws
    _pay: Callable[[User, Vpa, int, str, str], ReqPay]
    _request: Callable[[User, Vpa, int], ReqPayCollect]

    def committing(self, crime: Crime | None) -> None:
        self.crime = crime  # None: every user here is honest
        self._held: dict[Vpa, int] = {}  # a mule's credits not yet passed on (paise)
        self._thefts: dict[TxnId, int] = {}  # a victim's payment of a case, its outcome due
        self._stopped: set[int] = set()  # cases whose victim noticed
        for at, act in crime.acts if crime is not None else ():
            self.set_timer(at, act)

    def _noticed(self, txn_id: TxnId, result: str, victim: Vpa, payee: Vpa) -> None:
        """A victim hears a stolen payment went through; some notice, and stop, and some of
        those report it."""
        crime = self.crime
        assert crime is not None
        case = self._thefts.pop(txn_id)
        if result != Result.SUCCESS or self.draws.uniform() >= crime.notice:
            return
        self._stopped.add(case)
        if self.draws.uniform() < crime.report:
            delay = int(crime.report_ms * (0.5 + self.draws.uniform()))
            if self.now + delay < crime.until:
                self.set_timer(delay, Report(txn_id, victim, payee))

    def on_Report(self, msg: Report, sender: Address) -> None:
        self.send(addresses.SWITCH, ReqFraudReport(msg.txn_id, msg.victim, msg.payee))

    def on_ReqFraudReport(self, msg: ReqFraudReport, sender: Address) -> None:
        """The switch asks, as the payee's app, which account a reported address is."""
        user = self.by_vpa.get(msg.payee)
        if user is not None:
            self.send(sender, RespFraudReport(msg.txn_id, msg.payee, user.bank, user.account))

    def on_Act(self, act: Act, sender: Address) -> None:
        if act.case in self._stopped:  # the victim noticed: the rest of the case is off
            return
        user = self.by_vpa[act.actor]
        if act.typology == COLLECT_SCAM:  # the fraudster, posing as a merchant, asks
            request: ReqPay | ReqPayCollect = self._request(user, act.other, act.amount)
            roles = (VICTIM, FRAUDSTER)
        else:
            cred = user.credential() if act.right_pin else pin_block(user.vpa, user.pin + "0")
            request = self._pay(user, act.other, act.amount, cred, act.method)
            roles = (VICTIM, act.other_role)
            self._thefts[request.txn_id] = act.case
        self._label(request.txn_id, act.typology, act.case, *roles, THEFT)

    def _launder(self, mule: Vpa, amount: int) -> None:
        """A mule holds what came in, and passes it on in one go a few minutes after the
        first of it arrived."""
        crime = self.crime
        assert crime is not None
        held = self._held
        waiting = mule in held
        held[mule] = held.get(mule, 0) + amount
        if not waiting:
            delay = int(crime.mules[mule].delay_ms * (0.5 + self.draws.uniform()))
            if self.now + delay < crime.until:
                self.set_timer(delay, Forward(mule))

    def on_Forward(self, msg: Forward, sender: Address) -> None:
        crime, user = self.crime, self.by_vpa[msg.mule]
        assert crime is not None
        plan = crime.mules[msg.mule]
        out = int(self._held.pop(msg.mule, 0) * plan.share)
        part = out // len(plan.hops) // 100 * 100  # whole rupees to each hop
        if part < MIN_FORWARD:
            return
        for hop, cash_out in zip(plan.hops, plan.cash_out, strict=True):
            request = self._pay(user, hop, part, user.credential(), UPI_PUSH)
            payee_role, stage = (CASH_OUT, CASH_OUT) if cash_out else (MULE, LAYERING)
            self._label(
                request.txn_id, MULE_NETWORK, plan.case, MULE, payee_role, stage, plan.pattern
            )

    def _label(self, txn_id: TxnId, typology: str, case: int, payer_role: str,
               payee_role: str, stage: str, pattern: str = "") -> None:  # fmt: skip
        self.record(FraudTruthRow(txn_id, typology, case, payer_role, payee_role, stage, pattern))
