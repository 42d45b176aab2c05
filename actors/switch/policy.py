"""The switch's rules of patience: response timeouts, how often to try again, who may collect.

A response timer never decides a payment's fate. When one runs out the
switch asks again — a reversal, or a status check — quickly at first, then
at the status-check interval for as many tries as :class:`RetryPolicy`
allows. Once those are spent the payment is *pending*: nobody is told an
outcome until the owner of the account gives one, and the switch goes on
asking, less and less often, until it does.
"""

from __future__ import annotations

from dataclasses import dataclass

from upisim.actors.switch.machine import Stage
from upisim.actors.types import SECOND, Paise, SimTime


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
    # once those are spent the outcome is still unknown: keep asking, the interval doubling
    # from `check` up to this (the banks' own reconciliation, RBI's T+1 / T+5, in the model)
    recheck_max: SimTime = SimTime(5 * 60 * SECOND)


@dataclass(frozen=True, slots=True)
class CollectRules:
    """Who may send collect requests. NPCI stopped person-to-person collect on 1 Oct 2025;
    before that a person could ask for at most ₹2,000."""

    p2p: bool = False
    p2p_cap: Paise = Paise(2_000_00)


class RetryPolicy:
    """How long to wait before trying a stage again, and when to stop trying."""

    def __init__(self, timeouts: SwitchTimeouts) -> None:
        t = timeouts
        self.timeouts = t
        # tries at each stage that asks again; a debit reversal is idempotent, so asking it
        # again is also how the switch checks on a debit: it gets the status checks' tries too
        self._tries = {
            Stage.REVERSING_CREDIT: t.reversal_tries,
            Stage.REVERSING_DEBIT: t.reversal_tries + t.check_tries,
            Stage.CHECKING: t.check_tries,
        }

    def retries(self, stage: str) -> bool:
        """Is ``stage`` one the switch asks again at when its answer is late?"""
        return stage in self._tries

    def spent(self, stage: str, attempt: int) -> bool:
        """Has try ``attempt`` (0 = the first) at ``stage`` used up the quick tries?"""
        return attempt + 1 >= self._tries[stage]

    def next_wait(self, stage: str, attempt: int) -> int:
        """After try ``attempt`` (0 = the first) at ``stage`` went unanswered: how long to wait
        for the next one. Past the tries the interval doubles, up to ``recheck_max``."""
        t = self.timeouts
        beyond = attempt + 2 - self._tries[stage]  # tries past the quick ones, counting the next
        if beyond > 0:
            return min(t.check << min(beyond, 32), max(t.recheck_max, t.check))
        if stage == Stage.CHECKING or attempt + 1 >= t.reversal_tries:
            return t.check
        return t.reversal
