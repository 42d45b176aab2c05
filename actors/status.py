"""An app's requests whose outcome it has not heard, and when each is due a status check.

A request or its answer can be lost between the app and the switch. The app
does what UPI's rules say a PSP does (NPCI circular of 26 Apr 2025): the
first check status (``ReqChkTxn``) 45–90 s after the request, at most three
checks, all within two hours. :class:`OpenRequests` keeps what is unheard:
a push's first check is due a fixed time after it was sent, so those wait in
the order they were sent (an ordered dict: O(1) a payment, and an answer takes its
push out wherever it is); a collect request's first check waits for its expiry,
and later checks back off, so those wait in a small heap. An answer closes a
request; a closed one in the heap is dropped when the heap reaches it.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from dataclasses import dataclass

from upisim.actors import addresses
from upisim.actors.base import Logic
from upisim.actors.ids import RecentIds
from upisim.actors.messages import ReqChkTxn, ReqPay, ReqPayCollect, StatusDue
from upisim.actors.types import SECOND, Address, TxnId

Request = ReqPay | ReqPayCollect


@dataclass(frozen=True, slots=True)
class StatusChecks:
    """When an app checks on a request it heard nothing final of (simulated ms)."""

    first: int = 90 * SECOND  # after the request (a collect: after its expiry)
    tries: int = 3  # NPCI allows at most three; check k goes at first * (2**k - 1)
    answer: int = 10 * SECOND  # how long the last check's answer may take

    @property
    def horizon(self) -> int:
        """How long after a request (a collect: after its expiry) its last check may come."""
        return self.first * ((1 << self.tries) - 1) + self.answer


class _Open:
    __slots__ = ("checks", "due", "request")

    def __init__(self, request: Request, due: int) -> None:
        self.request = request
        self.due = due
        self.checks = 0  # checks sent so far


class OpenRequests:
    """Requests sent and not yet answered with an outcome."""

    def __init__(self, checks: StatusChecks = StatusChecks()) -> None:
        self.checks = checks
        self._open: dict[TxnId, _Open] = {}
        # pushes before their first check, in the order sent (so in the order it falls due)
        self._first: OrderedDict[TxnId, None] = OrderedDict()
        self._later: list[tuple[int, TxnId]] = []  # (due, id): collects and later checks

    def __len__(self) -> int:
        return len(self._open)

    def get(self, txn_id: TxnId) -> Request | None:
        entry = self._open.get(txn_id)
        return None if entry is None else entry.request

    def opened(self, request: Request, now: int, wait: int = 0) -> int:
        """``request`` was sent at ``now``; its first check is due ``wait`` ms (a collect's
        expiry) plus the first interval later. Returns when."""
        due = now + wait + self.checks.first
        self._open[request.txn_id] = _Open(request, due)
        if wait:
            heapq.heappush(self._later, (due, request.txn_id))
        else:
            self._first[request.txn_id] = None
        return due

    def heard(self, txn_id: TxnId) -> bool:
        """The outcome of ``txn_id`` came: no more checks. False if it was not open."""
        if self._open.pop(txn_id, None) is None:
            return False
        # out of the queue at once, wherever it is: the queue holds what is unheard, not a
        # check's 90 s of ids behind a push that never is (~300,000 at 8,400 payments a second)
        self._first.pop(txn_id, None)
        return True

    def clear(self) -> None:
        self._open.clear()
        self._first.clear()
        self._later.clear()

    def due(self, now: int) -> tuple[list[Request], list[Request]]:
        """The requests due a check at ``now``, and those whose last check went unanswered
        (given up on: the app tells nothing it does not know)."""
        check: list[Request] = []
        gave_up: list[Request] = []
        first, later, open_ = self._first, self._later, self._open
        while first:
            push = open_[next(iter(first))]
            if push.due > now:
                break
            first.popitem(last=False)
            self._step(push, now, check, gave_up)
        while later and later[0][0] <= now:
            due, txn_id = heapq.heappop(later)
            entry = open_.get(txn_id)
            if entry is not None and entry.due == due:
                self._step(entry, now, check, gave_up)
        return check, gave_up

    def _step(self, entry: _Open, now: int, check: list[Request], gave_up: list[Request]) -> None:
        rules = self.checks
        txn_id = entry.request.txn_id
        if entry.checks >= rules.tries:
            del self._open[txn_id]
            gave_up.append(entry.request)
            return
        entry.checks += 1
        check.append(entry.request)
        wait = rules.first << entry.checks if entry.checks < rules.tries else rules.answer
        entry.due = now + wait
        heapq.heappush(self._later, (entry.due, txn_id))

    def next_due(self) -> int | None:
        """When the next check (or giving up) is due; None when nothing is open."""
        first, later, open_ = self._first, self._later, self._open
        while later and (later[0][1] not in open_ or open_[later[0][1]].due != later[0][0]):
            heapq.heappop(later)
        times = [open_[next(iter(first))].due] if first else []
        if later:
            times.append(later[0][0])
        return min(times) if times else None


class AppChecks(Logic):
    """The app side of an actor that sends requests to the switch (a user cohort): what it
    has sent and not heard of, the status checks on those, and telling a replayed message
    from a new one."""

    def checking(self, checks: StatusChecks, replay_window: int) -> None:
        # requests whose outcome has not come: checked on (ReqChkTxn) when it is late
        self.open = OpenRequests(checks)
        self._check_at: int | None = None  # when the status-check timer is armed for
        # what each user was told lately, so a replayed message tells nothing twice
        # per kind of message, the ids it came about (the id strings are the requests' own,
        # not a new string made per message: 140 bytes a payment in the window, measured)
        self._told: dict[str, RecentIds] = {}
        self._told_window = replay_window
        self.replays = 0

    def _sent(self, request: Request, wait: int = 0, delay: int = 0) -> None:
        """``request`` goes to the switch (``delay`` ms from now, the app's own time): wait
        for its outcome, and check on it if it is late."""
        self.send(addresses.SWITCH, request, delay)
        due = self.open.opened(request, self.now, wait)
        if self._check_at is None or due < self._check_at:
            self._arm(due)

    def _arm(self, due: int) -> None:
        self._check_at = due
        self.set_timer(max(due - self.now, 1), StatusDue())

    def _heard(self, txn_id: TxnId) -> None:
        """The outcome of a request of ours came."""
        if self.open.heard(txn_id) and not self.open and self._check_at is not None:
            self.open.clear()
            self.cancel_timers(StatusDue)  # nothing to check on: no timer keeps the run going
            self._check_at = None

    def on_StatusDue(self, msg: StatusDue, sender: Address) -> None:
        if self._check_at is not None and self.now < self._check_at:
            return  # armed before the current timer, which is later: nothing is due yet
        self._check_at = None
        check, gave_up = self.open.due(self.now)
        for request in check:
            self.event("STATUS_CHECK", request.txn_id, request.payer, type(request).__name__)
            self.send(addresses.SWITCH, ReqChkTxn(request.txn_id, "", request))
        for request in gave_up:  # the user keeps what they were told: nothing is guessed
            self.event("STATUS_UNKNOWN", request.txn_id, request.payer, type(request).__name__)
        due = self.open.next_due()
        if due is not None:
            self._arm(due)

    def _first_time(self, txn_id: TxnId, what: str) -> bool:
        """Is this the first time this message about ``txn_id`` came (not a replay)?"""
        told = self._told.get(what)
        if told is None:
            told = self._told[what] = RecentIds(self._told_window)
        if told.repeat(txn_id, self.now):
            self.replays += 1
            return False
        return True
