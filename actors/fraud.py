"""The fraud monitor: scores each payment before the debit; it never moves money.

Rules (thresholds and flag-vs-decline come from the scenario):
- ``HIGH_VALUE``: a single payment at or above a threshold (default ₹50,000: flag);
- ``DAILY_CAP``: a payer's allowed value today would pass a cap (default ₹1,00,000: decline);
- ``VELOCITY``: more than N payments allowed for a payer in the last hour (default 10: decline).

Every rule scores a payer's own spending, so a merchant's refund is allowed
unscored and never counts in the merchant's windows. A replayed request is
answered as the first was and never counted twice; a replayed release gives
nothing back twice.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from upisim.actors.addresses import FRAUD
from upisim.actors.base import Logic
from upisim.actors.ids import RecentIds, RecentMap
from upisim.actors.messages import ReqRiskScore, RespRiskScore, RiskRelease
from upisim.actors.types import DAY, HOUR, SECOND, Address, Paise, SimTime, Vpa

ALLOW = "ALLOW"
FLAG = "FLAG"
DECLINE = "DECLINE"


@dataclass(frozen=True, slots=True)
class FraudRules:
    """Thresholds in paise; each action is ``"flag"`` or ``"decline"``."""

    high_value: Paise = Paise(50_000_00)
    high_value_action: str = "flag"
    daily_cap: Paise = Paise(100_000_00)
    daily_cap_action: str = "decline"
    velocity_per_hour: int = 10
    velocity_action: str = "decline"


class _Payer:
    __slots__ = ("day", "day_amount", "recent")

    def __init__(self) -> None:
        self.day = -1
        self.day_amount = 0
        self.recent: deque[int] = deque()


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
        }
        self._payers: dict[Vpa, _Payer] = {}
        # a replay comes at most replay_window ms after the original
        self._answered: RecentMap[RespRiskScore] = RecentMap(replay_window)
        self._released = RecentIds(replay_window)
        self.replays = 0

    def score(self, payer: Vpa, amount: int) -> tuple[str, tuple[str, ...]]:
        """Decide on one payment and, unless declined, count it in the payer's windows."""
        rules = self.rules
        now = self.now
        state = self._payers.get(payer)
        if state is None:
            state = self._payers[payer] = _Payer()
        day = now // DAY
        if state.day != day:
            state.day, state.day_amount = day, 0
        recent = state.recent
        while recent and recent[0] <= now - HOUR:
            recent.popleft()
        high = amount >= rules.high_value
        cap = state.day_amount + amount > rules.daily_cap
        fast = len(recent) >= rules.velocity_per_hour
        if not (high or cap or fast):  # the common case, kept cheap
            state.day_amount += amount
            recent.append(now)
            return ALLOW, ()
        fired = [
            rule
            for rule, hit in (("HIGH_VALUE", high), ("DAILY_CAP", cap), ("VELOCITY", fast))
            if hit
        ]
        if any(self._actions[rule] == "decline" for rule in fired):
            return DECLINE, tuple(fired)
        state.day_amount += amount
        recent.append(now)
        return FLAG, tuple(fired)

    def on_ReqRiskScore(self, msg: ReqRiskScore, sender: Address) -> None:
        answered = self._answered.get(msg.txn_id)
        if answered is not None:  # a replay: the same answer, counted once
            self.replays += 1
            self.send(sender, answered)
            return
        if msg.refund:  # every rule scores a payer's own spending; a refund is not that
            answer = RespRiskScore(msg.txn_id, ALLOW, ())
        else:
            decision, rules = self.score(msg.payer, msg.amount)
            if rules:
                kind = "FRAUD_DECLINE" if decision == DECLINE else "FRAUD_FLAG"
                for rule in rules:
                    self.event(kind, msg.txn_id, msg.payer, rule, msg.amount)
            answer = RespRiskScore(msg.txn_id, decision, rules)
        self._answered.put(msg.txn_id, answer, self.now)
        self.send(sender, answer)

    def on_RiskRelease(self, msg: RiskRelease, sender: Address) -> None:
        """An allowed payment failed later: its value no longer counts towards today's cap."""
        if self._released.repeat(msg.txn_id, self.now):
            self.replays += 1
            return
        state = self._payers.get(msg.payer)
        if state is not None and state.day == msg.scored_at // DAY:
            state.day_amount = max(0, state.day_amount - msg.amount)

    def day_amount(self, payer: Vpa) -> int:
        state = self._payers.get(payer)
        return state.day_amount if state is not None and state.day == self.now // DAY else 0

    def window_count(self, payer: Vpa, now: SimTime) -> int:
        state = self._payers.get(payer)
        return 0 if state is None else sum(1 for t in state.recent if t > now - HOUR)
