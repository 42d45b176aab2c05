"""A PSP's app server: what it lets a user send (rate limits), how fast it works (its
capacity), and the row of a request it turns away before the switch hears of it.

A user cohort is the users behind one app server. Every request they make (a payment,
a collect request, a merchant's refund) and every address lookup the switch asks of it
takes one of the server's workers, when a scenario gives it capacity (``[capacity.psp]``;
by default it answers at once). A request that finds the server's queue full is turned
away like a rate-limited one: ``U86``, the PSP's throttling code, and it never reaches
the switch. A lookup is never turned away: it waits, and a server slow enough makes the
switch time out (``U09``).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from upisim.actors import codes
from upisim.actors.base import derive_seed
from upisim.actors.capacity import LOOKUP_OP, REQUEST_OP, Capacity, Pool
from upisim.actors.messages import ReqPayCollect
from upisim.actors.methods import UPI_COLLECT
from upisim.actors.status import AppChecks, Request
from upisim.actors.types import HOUR, MINUTE, Paise, TxnId, Vpa
from upisim.runfolder import Kind, Notification, State, TransactionRow


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Sliding windows per user that the payer's PSP applies before anything leaves the app;
    0 turns a window off."""

    per_minute: int = 5
    per_hour: int = 50


Listener = Callable[[Notification], None]
"""An observer of a cohort's notifications: called in the actor, tell-only; what it raises
is recorded as a LISTENER_FAILED event and never reaches the actor."""


class AppServer(AppChecks):
    """The app server side of a user cohort: its rate limits, its workers, and the notices
    it gives its users."""

    def notifying(self, record: bool) -> None:
        self.notifications: Counter[str] = Counter()  # by kind, always kept
        self.record_notifications = record  # one row each (a table)
        self.listeners: list[Listener] = []

    def serving(self, limits: RateLimits, capacity: Capacity | None, seed: int) -> None:
        self.limits = limits
        self._recent: dict[Vpa, list[int]] = {}
        self.core: Pool | None = None  # None: every request and lookup answered at once
        if capacity is not None:
            rng = random.Random(derive_seed(seed, f"{self.address}:core"))
            self.core = Pool(self.address, capacity, rng, self.record)

    def _send(self, request: Request, wait: int = 0) -> bool:
        """Send ``request`` to the switch once a worker has handled it; False when the
        server's queue is full and it is turned away."""
        delay = 0 if self.core is None else self.core.delay(self.now, REQUEST_OP)
        if delay is None:
            return False
        self._sent(request, wait, delay)
        return True

    def _lookup(self) -> int:
        """How long an address lookup takes the server (queue wait + service)."""
        if self.core is None:
            return 0
        return self.core.delay(self.now, LOOKUP_OP, new_work=False) or 0

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
            self.record(note)
        for listener in self.listeners:
            try:
                listener(note)
            except Exception as error:  # an observer never takes the app down
                # the type only: a message may hold an address, and runs must replay
                self.event("LISTENER_FAILED", txn_id, vpa, type(error).__name__)

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


def refused_row(request: Request, code: str, now: int) -> TransactionRow:
    """The row of a request the app held back (``code``): it never reached the switch, so
    only the initiator's bank is known."""
    if isinstance(request, ReqPayCollect):
        kind, method = Kind.COLLECT, UPI_COLLECT
        payer_bank, payee_bank, refund_of = "", str(request.payee_bank), ""
    else:
        kind = Kind.REFUND if request.refund_of else Kind.PAY
        method, refund_of = request.method, request.refund_of
        payer_bank, payee_bank = str(request.payer_bank), ""
    return TransactionRow(
        request.txn_id,
        kind,
        method,
        request.payer,
        request.payee,
        payer_bank,
        payee_bank,
        request.amount,
        State.FAILED,
        code,
        code,
        codes.decline_type(code),
        "",
        now,
        None,
        None,
        None,
        None,
        None,
        now,
        0,
        refund_of,
    )
