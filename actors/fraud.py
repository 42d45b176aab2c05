"""The fraud monitor: scores each payment before the debit; it never moves money.

Rules (thresholds and flag-vs-decline come from the scenario):
- ``HIGH_VALUE``: a single payment at or above a threshold (default ₹50,000: flag);
- ``DAILY_CAP``: a payer's allowed value today would pass a cap (default ₹1,00,000: decline);
- ``VELOCITY``: more than N payments allowed for a payer in the last hour (default 10: decline).

Rules on behaviour, off unless a scenario turns them on (they keep state per account):
- ``NEW_PAYEE``: a payer's first payment to a payee, at or above an amount (₹10,000);
- ``FAN_IN``: a payee paid by many distinct payers within the hour (10): a mule, a fake
  merchant;
- ``FORWARDING``: a payer passing on most (80% to all) of the ₹1,000 or more it received
  within minutes (30): a mule laundering;
- ``COLLECT_STRANGERS``: a payment to someone who asked many (5) people it never dealt
  with for money by collect request within the hour (the switch tells the monitor of
  each request as it routes it): a collect scam, a fake merchant;
- ``PIN_BURST``: a payer paying after a streak of wrong PINs (2 within the hour): an
  attacker who guessed, then drains the account.

Each rule flags, or declines, and who declines is the scenario's choice: NPCI itself
(``U16``), or the remitter or beneficiary bank given NPCI's score with its leg (``K1``,
``ZI``; a credit declined on risk is followed by the debit's reversal).

Every rule scores a payer's own spending, so a merchant's refund is allowed
unscored and never counts in the merchant's windows. A replayed request is
answered as the first was and never counted twice; a replayed release gives
nothing back twice.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, ClassVar

from upisim.actors import codes
from upisim.actors.addresses import FRAUD
from upisim.actors.base import Envelope, Group, Logic
from upisim.actors.ids import RecentIds, RecentMap
from upisim.actors.messages import CollectAsked, ReqRiskScore, RespRiskScore, RiskRelease
from upisim.actors.types import DAY, HOUR, SECOND, Address, Paise, SimTime, Vpa

NOBODY = Vpa("")
FORWARD_WORTH = 1_000_00  # paise: FORWARDING looks at inflows of ₹1,000 or more
ALLOW = "ALLOW"
FLAG = "FLAG"
DECLINE = "DECLINE"
REMITTER = "REMITTER"  # the remitter bank is asked to decline (K1)
BENEFICIARY = "BENEFICIARY"  # the beneficiary bank is asked to decline (ZI)
# a rule's action -> the decision it asks for (the first in this order wins)
_VERDICTS = (("decline", DECLINE), ("remitter", REMITTER), ("beneficiary", BENEFICIARY))
# the event each decision records, per rule that fired: a bank's decline is referred to it
_EVENT = {FLAG: "FRAUD_FLAG", DECLINE: "FRAUD_DECLINE", REMITTER: "FRAUD_REFERRED",
          BENEFICIARY: "FRAUD_REFERRED"}  # fmt: skip
WRONG_PIN = frozenset({codes.INVALID_PIN, codes.PIN_TRIES_EXCEEDED})


@dataclass(frozen=True, slots=True)
class FraudRules:
    """Thresholds in paise; each action is ``"flag"``, ``"decline"`` (NPCI, ``U16``),
    ``"remitter"`` (``K1``) or ``"beneficiary"`` (``ZI``); a behavioural rule's may be
    ``"off"``."""

    high_value: Paise = Paise(50_000_00)
    high_value_action: str = "flag"
    daily_cap: Paise = Paise(100_000_00)
    daily_cap_action: str = "decline"
    velocity_per_hour: int = 10
    velocity_action: str = "decline"
    # behaviour ("off", "flag" or "decline"): a first payment to a payee of at least this
    new_payee_amount: Paise = Paise(10_000_00)
    new_payee_action: str = "off"
    # a payee paid by at least this many distinct payers within the hour (fan-in)
    fan_in_payers: int = 10
    fan_in_action: str = "off"
    # a payer paying on at least this share of what it received within forward_window ms
    forward_share: float = 0.8
    forward_window: int = 30 * 60 * SECOND
    forward_action: str = "off"
    # a payee that asked at least this many strangers for money by collect within the hour
    collect_strangers: int = 5
    collect_strangers_action: str = "off"
    # a payer with at least this many wrong PINs within pin_window ms
    pin_streak: int = 2
    pin_window: int = HOUR
    pin_burst_action: str = "off"


_TIME = itemgetter(0)  # of a window's (time, what) entry

# A payer's windows are one array('q'): the day, the value allowed that day, then the times of
# its last payments within the hour, oldest first, no more than the velocity rule counts to.
# One object and 8 bytes a figure (a payer object, a list and int objects were ~200 bytes;
# a million payers keep theirs all day).
_DAY, _SPENT, _TIMES = 0, 1, 2


class FraudMonitor(Logic):
    """Per-payer windows of allowed payments; answers ``ReqRiskScore`` with a decision."""

    def __init__(
        self,
        rules: FraudRules = FraudRules(),
        seed: int = 0,
        address: Address = FRAUD,
        replay_window: int = 10 * SECOND,
    ) -> None:
        super().__init__(address, seed)
        self.rules = rules
        self._actions = {
            "HIGH_VALUE": rules.high_value_action,
            "DAILY_CAP": rules.daily_cap_action,
            "VELOCITY": rules.velocity_action,
            "NEW_PAYEE": rules.new_payee_action,
            "FAN_IN": rules.fan_in_action,
            "FORWARDING": rules.forward_action,
            "COLLECT_STRANGERS": rules.collect_strangers_action,
            "PIN_BURST": rules.pin_burst_action,
        }
        self._banks_act = any(a in ("remitter", "beneficiary") for a in self._actions.values())
        self._payers: dict[Vpa, array[int]] = {}  # each payer's windows (_DAY, _SPENT, _TIMES)
        self._behaviour = _Behaviour(rules) if _Behaviour.wanted(rules) else None
        # a replay comes at most replay_window ms after the original
        self._answered: RecentMap[RespRiskScore] = RecentMap(replay_window)
        self._released = RecentIds(replay_window)
        self.replays = 0

    def score(self, payer: Vpa, amount: int, payee: Vpa = NOBODY) -> tuple[str, tuple[str, ...]]:
        """Decide on one payment and, unless declined, count it in the payer's windows."""
        behaviour = self._behaviour
        if behaviour is None:  # the threshold rules alone: the common case
            decision, fired = self._thresholds(payer, amount)
        else:
            seen = behaviour.fired(payer, payee, amount, self.now)
            vetoed = any(self._actions[rule] == "decline" for rule in seen)
            decision, fired = self._thresholds(payer, amount, counted=not vetoed)
            if seen:
                fired += seen
                decision = DECLINE if vetoed or decision == DECLINE else FLAG
            if decision != DECLINE:
                behaviour.count(payer, payee, amount, self.now)
        if decision == FLAG and self._banks_act:  # a bank may be asked to decline
            actions = {self._actions[rule] for rule in fired}
            decision = next((d for a, d in _VERDICTS if a in actions), FLAG)
        return decision, fired

    def _thresholds(
        self, payer: Vpa, amount: int, counted: bool = True
    ) -> tuple[str, tuple[str, ...]]:
        """The threshold rules' decision; unless declined (by them, or ``counted`` False:
        by another rule) the payment counts in the payer's windows."""
        now = self.now
        state = self._window(payer, now)
        high, cap, fast = hits = self._hits(state, amount)
        if True not in hits:  # the common case, kept cheap
            if counted:
                self._count(state, amount, now)
            return ALLOW, ()
        fired = [
            rule
            for rule, hit in (("HIGH_VALUE", high), ("DAILY_CAP", cap), ("VELOCITY", fast))
            if hit
        ]
        if any(self._actions[rule] == "decline" for rule in fired):
            return DECLINE, tuple(fired)
        if counted:
            self._count(state, amount, now)
        return FLAG, tuple(fired)

    def _hits(self, state: array[int], amount: int) -> tuple[bool, bool, bool]:
        """Whether a payment of ``amount`` by the payer whose windows are ``state`` is high
        value, over the daily cap, or one too many this hour (the threshold rules)."""
        rules = self.rules
        return (
            amount >= rules.high_value,
            state[_SPENT] + amount > rules.daily_cap,
            len(state) - _TIMES >= rules.velocity_per_hour,
        )

    def _window(self, payer: Vpa, now: int) -> array[int]:
        """``payer``'s windows as of ``now``: a new day's spending starts at nothing, and times
        an hour old leave the velocity window."""
        state = self._payers.get(payer)
        if state is None:
            state = self._payers[payer] = array("q", (-1, 0))
        day = now // DAY
        if state[_DAY] != day:
            state[_DAY], state[_SPENT] = day, 0
        if len(state) > _TIMES and state[_TIMES] <= now - HOUR:
            del state[_TIMES : bisect_right(state, now - HOUR, _TIMES)]  # (times ascend)
        return state

    def _count(self, state: array[int], amount: int, now: int) -> None:
        """An allowed payment counts in its payer's windows."""
        state[_SPENT] += amount
        state.append(now)
        if len(state) - _TIMES > self.rules.velocity_per_hour:  # one more than it counts to
            del state[_TIMES]

    def on_ReqRiskScore(self, msg: ReqRiskScore, sender: Address) -> None:
        answered = self._answered.get(msg.txn_id)
        if answered is not None:  # a replay: the same answer, counted once
            self.replays += 1
            self.send(sender, answered)
            return
        if msg.refund:  # every rule scores a payer's own spending; a refund is not that
            answer = RespRiskScore(msg.txn_id, ALLOW, ())
        else:
            decision, rules = self.score(msg.payer, msg.amount, msg.payee)
            if rules:
                kind = _EVENT[decision]
                for rule in rules:
                    self.event(kind, msg.txn_id, msg.payer, rule, msg.amount)
            answer = RespRiskScore(msg.txn_id, decision, rules)
        self._answered.put(msg.txn_id, answer, self.now)
        self.send(sender, answer)

    def _score_run(self, run: Sequence[Envelope]) -> int:
        """A run of ``ReqRiskScore``, each scored as :meth:`on_ReqRiskScore` would: a payer's
        own payment that no rule fires on is done here, in one loop; anything else (a replay,
        a refund, a rule firing, the behavioural rules on) is handed to it."""
        if self._behaviour is not None:
            for at, sender, _seq, _to, msg in run:
                self.now = at
                self.on_ReqRiskScore(msg, sender)
            return len(run)
        answered, hits = self._answered, self._hits
        for at, sender, _seq, _to, msg in run:
            self.now = at
            txn_id, amount = msg.txn_id, msg.amount
            if msg.refund or answered.get(txn_id) is not None:
                self.on_ReqRiskScore(msg, sender)
                continue
            state = self._window(msg.payer, at)
            if True in hits(state, amount):
                # a rule fires: its windows are up to date, so scoring it there does the same
                self.on_ReqRiskScore(msg, sender)
                continue
            self._count(state, amount, at)
            answer = RespRiskScore(txn_id, ALLOW, ())
            answered.put(txn_id, answer, at)
            self.send(sender, answer)
        return len(run)  # it sets no timer

    GROUPED: ClassVar[Mapping[type, Group]] = {ReqRiskScore: _score_run}

    def on_RiskRelease(self, msg: RiskRelease, sender: Address) -> None:
        """An allowed payment failed later: its value no longer counts towards today's cap."""
        if self._released.repeat(msg.txn_id, self.now):
            self.replays += 1
            return
        state = self._payers.get(msg.payer)
        if state is not None and state[_DAY] == msg.scored_at // DAY:
            state[_SPENT] = max(0, state[_SPENT] - msg.amount)
        if msg.reason in WRONG_PIN and self._behaviour is not None:
            self._behaviour.wrong_pin(msg.payer, self.now)

    def on_CollectAsked(self, msg: CollectAsked, sender: Address) -> None:
        if self._behaviour is not None:
            self._behaviour.asked(msg.requester, msg.payer, self.now)

    def day_amount(self, payer: Vpa) -> int:
        state = self._payers.get(payer)
        return state[_SPENT] if state is not None and state[_DAY] == self.now // DAY else 0

    def window_count(self, payer: Vpa, now: SimTime) -> int:
        """The payer's payments counted in the hour before ``now``, up to the velocity rule's
        limit (no more are kept: the rule needs no more)."""
        state = self._payers.get(payer)
        return 0 if state is None else sum(1 for t in state[_TIMES:] if t > now - HOUR)


class _Behaviour:
    """What the behavioural rules remember: whom each payer has paid, each payee's payers
    within the hour, and what each account received lately."""

    def __init__(self, rules: FraudRules) -> None:
        self.rules = rules
        # whom each payer paid: for NEW_PAYEE, and to tell a stranger for COLLECT_STRANGERS
        self._remembers_payees = (
            rules.new_payee_action != "off" or rules.collect_strangers_action != "off"
        )
        self.paid: dict[Vpa, set[Vpa]] = {}  # payer -> payees paid before
        self.payers: dict[Vpa, list[tuple[int, Vpa]]] = {}  # payee -> (when, payer), an hour
        self.received: dict[Vpa, list[tuple[int, int]]] = {}  # account -> (when, amount)
        self.asking: dict[Vpa, list[tuple[int, Vpa]]] = {}  # requester -> (when, stranger)
        self.wrong: dict[Vpa, list[tuple[int, int]]] = {}  # payer -> (when, 0): wrong PINs

    @staticmethod
    def wanted(rules: FraudRules) -> bool:
        return any(a != "off" for a in (rules.new_payee_action, rules.fan_in_action,
                                        rules.forward_action, rules.collect_strangers_action,
                                        rules.pin_burst_action))  # fmt: skip

    def wrong_pin(self, payer: Vpa, now: int) -> None:
        if self.rules.pin_burst_action != "off":
            self.wrong.setdefault(payer, []).append((now, 0))

    def asked(self, requester: Vpa, payer: Vpa, now: int) -> None:
        """A collect request: remembered when it goes to someone the requester never dealt
        with (neither has paid the other)."""
        if self.rules.collect_strangers_action == "off":
            return
        if requester in self.paid.get(payer, ()) or payer in self.paid.get(requester, ()):
            return
        self.asking.setdefault(requester, []).append((now, payer))

    def fired(self, payer: Vpa, payee: Vpa, amount: int, now: int) -> tuple[str, ...]:
        r, out = self.rules, []
        if (
            r.new_payee_action != "off"
            and amount >= r.new_payee_amount
            and payee not in self.paid.get(payer, ())
        ):
            out.append("NEW_PAYEE")
        if r.fan_in_action != "off":
            recent = self._since(self.payers.get(payee), now - HOUR)
            if len({p for _, p in recent} | {payer}) >= r.fan_in_payers:
                out.append("FAN_IN")
        if r.forward_action != "off":
            came = sum(a for _, a in self._since(self.received.get(payer), now - r.forward_window))
            # most of a sum worth laundering passed on, not a payment bigger than what came in
            if came >= FORWARD_WORTH and r.forward_share * came <= amount <= came:
                out.append("FORWARDING")
        if r.collect_strangers_action != "off":
            asked = self._since(self.asking.get(payee), now - HOUR)
            if len({p for _, p in asked}) >= r.collect_strangers:
                out.append("COLLECT_STRANGERS")
        if (
            r.pin_burst_action != "off"
            and len(self._since(self.wrong.get(payer), now - r.pin_window)) >= r.pin_streak
        ):
            out.append("PIN_BURST")
        return tuple(out)

    def count(self, payer: Vpa, payee: Vpa, amount: int, now: int) -> None:
        """An allowed payment: remembered by the rules that are on."""
        r = self.rules
        if self._remembers_payees:
            self.paid.setdefault(payer, set()).add(payee)
        if r.fan_in_action != "off":
            self.payers.setdefault(payee, []).append((now, payer))
        if r.forward_action != "off":
            self.received.setdefault(payee, []).append((now, amount))

    @staticmethod
    def _since(window: list[tuple[int, Any]] | None, start: int) -> list[tuple[int, Any]]:
        """``window`` without its entries at or before ``start`` (they are dropped for good)."""
        if window is None:
            return []
        stale = bisect_right(window, start, key=_TIME)  # (entries ascend by time)
        if stale:
            del window[:stale]
        return window
