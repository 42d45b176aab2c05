"""Capacity in simulated time: a pool of workers, its FIFO queue, and what it measured.

A bank's core banking system is a :class:`Pool` of identical workers. Work that finds
them all busy waits in a first-come-first-served queue; its answer leaves when its
service ends, so a payment sees links + queue wait + service. The pool is plain state of
its actor's logic class: each worker is only the time it is next free (a heap), the queue
only the start times of the work waiting (a deque), so there is no thread or SimPy
process per worker and the same seed gives the same answers.

Service times are log-normal, given by their median and spread (the sigma of their
log). Each draw picks one of :data:`STEPS` quantiles with the pool's own generator:
as faithful as the spread needs, and a table lookup on the hot path.

Faults slow a pool rather than drop its messages (:class:`CoreFaults`): a slow window
multiplies service times, a capacity cut leaves fewer workers, and an offline window
refuses new work (``XY``/``Y1`` at a bank) while clean-up work (reversals, status
checks) waits for the core to come back.

Every second a pool has seen work it records a :class:`~upisim.runfolder.QueueRow`:
arrivals, refusals, the queue's length at the second's end, its time integral
(``queue_ms``: mean queue length x 1000), the waits of the work that arrived, the
service it asked for, and the worker time spent in the second (utilisation).
Little's law can be checked from those rows alone.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Callable, Mapping
from statistics import NormalDist
from typing import Any, ClassVar, NamedTuple

from upisim.actors.base import Logic
from upisim.actors.types import Address
from upisim.runfolder import QueueRow

#: a bank's operations, each with its own service time
DEBIT_OP, CREDIT_OP, REVERSAL_OP, STATUS_OP = "debit", "credit", "reversal", "status"
OPS = (DEBIT_OP, CREDIT_OP, REVERSAL_OP, STATUS_OP)
#: the switch's and an app server's: taking a request in, and (a PSP) an address lookup
REQUEST_OP, LOOKUP_OP = "request", "lookup"

STEPS = 256  # quantiles a service time is drawn from (a power of two: getrandbits)
_BITS = STEPS.bit_length() - 1
NEVER = 1 << 62  # later than any simulated time


class Service(NamedTuple):
    """How long one operation takes a worker: log-normal, by median (ms) and spread."""

    median_ms: float
    spread: float = 0.3

    def quantiles(self) -> tuple[int, ...]:
        """:data:`STEPS` service times (whole ms, at least 1), one per equal-probability
        slice of the distribution."""
        inv = NormalDist().inv_cdf
        return tuple(
            max(1, round(self.median_ms * math.exp(self.spread * inv((i + 0.5) / STEPS))))
            for i in range(STEPS)
        )


class Window(NamedTuple):
    """A fault's span in simulated ms, ``start`` <= t < ``end``, and its value (a factor
    for a slow window, a number of workers for a cut; unused for offline)."""

    start: int
    end: int
    value: float = 0.0


class CoreFaults(NamedTuple):
    """Faults that slow a pool rather than drop its messages."""

    slow: tuple[Window, ...] = ()  # service times x value
    offline: tuple[Window, ...] = ()  # new work refused; clean-up waits for the end
    cuts: tuple[Window, ...] = ()  # only int(value) workers


class Capacity(NamedTuple):
    """A place's capacity: ``workers`` in parallel, each operation's service time, and
    ``queue_limit`` (None: unbounded) past which new work is refused at once."""

    workers: int
    service: Mapping[str, Service]
    queue_limit: int | None = None
    faults: CoreFaults = CoreFaults()


def _in(windows: tuple[Window, ...], t: int) -> Window | None:
    for w in windows:
        if w.start <= t < w.end:
            return w
    return None


class Pool:
    """``capacity.workers`` identical workers taking work first come, first served."""

    def __init__(
        self,
        place: str,
        capacity: Capacity,
        rng: random.Random,
        record: Callable[[QueueRow], None],
    ) -> None:
        self.place = place
        self.workers = capacity.workers
        self.queue_limit = capacity.queue_limit
        self.faults = capacity.faults
        self._draws = {op: s.quantiles() for op, s in capacity.service.items()}
        self._rng = rng  # the object, not its bound method: a journal's copy must copy it
        self._record = record
        self._ends: list[int] = []  # a heap: when each busy worker is next free
        self._waiting: deque[int] = deque()  # start times of the work queued, in order
        self._last_start = 0
        # this second's figures
        self._second = 0  # ms at which the second being measured ends
        self._area_at = 0  # the queue's time integral is summed up to here
        self._area = 0
        self._arrivals = 0
        self._refused = 0
        self._wait = 0
        self._service = 0
        self._busy: dict[int, int] = {}  # second -> worker-ms busy in it (work admitted so far)

    # -- the queue ------------------------------------------------------------------------

    def admit(self, now: int, op: str, new_work: bool = True) -> tuple[int, int] | None:
        """Work ``op`` arriving ``now``: when a worker starts it and how long it takes, or
        None when it is refused (new work only: the queue is full, or the core offline)."""
        waiting = self._waiting
        if now >= self._second or (waiting and waiting[0] <= now):
            self._measure(now)
        faults = self.faults
        offline = _in(faults.offline, now) if faults.offline else None
        ends = self._ends
        while ends and ends[0] <= now:
            heapq.heappop(ends)
        workers = self._workers_at(now)
        if new_work and (
            offline is not None
            or (
                self.queue_limit is not None
                and len(ends) >= workers  # it would wait...
                and len(waiting) >= self.queue_limit  # ...in a full queue
            )
        ):
            self._refused += 1
            return None
        start = now
        while len(ends) >= workers:  # wait for enough of the busy ones to finish
            start = heapq.heappop(ends)
        if offline is not None:  # clean-up waits for the core to come back
            start = max(start, offline.end)
        start = max(start, self._last_start)  # first come, first served: nobody overtakes
        service = self._draws[op][self._rng.getrandbits(_BITS)]
        if faults.slow:
            slow = _in(faults.slow, start)
            if slow is not None:
                service = max(1, round(service * slow.value))
        heapq.heappush(ends, start + service)
        if start > now:  # it waits: the queue is one longer from now on
            self._area += len(waiting) * (now - self._area_at)
            self._area_at = now
            waiting.append(start)
            self._last_start = start
        self._arrivals += 1
        self._wait += start - now
        self._service += service
        busy, end = self._busy, start + service
        second = start // 1000
        while second * 1000 < end:  # the worker's time, second by second
            edge = second * 1000
            busy[second] = busy.get(second, 0) + min(end, edge + 1000) - max(start, edge)
            second += 1
        return start, service

    def delay(self, now: int, op: str, new_work: bool = True) -> int | None:
        """:meth:`admit`, as how long after ``now`` the answer leaves (queue wait + service),
        or None when refused: for a place whose work has no effect to order (the switch
        taking a request in, an app server), only its answer is late."""
        slot = self.admit(now, op, new_work)
        return None if slot is None else slot[0] - now + slot[1]

    def behind(self, now: int) -> int:
        """How long something arriving ``now`` waits for the work queued ahead of it to
        start (0: nothing is queued)."""
        return max(0, self._last_start - now)

    def _workers_at(self, t: int) -> int:
        """Workers in service at ``t``: fewer during a capacity cut."""
        cut = _in(self.faults.cuts, t) if self.faults.cuts else None
        return self.workers if cut is None else max(1, int(cut.value))

    # -- what it measured -----------------------------------------------------------------

    def _measure(self, until: int) -> None:
        """Sum the queue's time integral up to ``until``, recording each second that ends
        on the way (seconds with nothing queued and nothing arrived are skipped)."""
        waiting = self._waiting
        while True:
            edge = self._second
            first = waiting[0] if waiting else NEVER
            if first <= edge and first <= until:  # work leaves the queue for a worker
                self._area += len(waiting) * (first - self._area_at)
                self._area_at = first
                waiting.popleft()
            elif edge <= until:  # a second ends
                self._area += len(waiting) * (edge - self._area_at)
                self._area_at = edge
                if self._arrivals or self._refused or self._area or waiting or self._busy:
                    self._flush(edge, len(waiting))
                if waiting:
                    self._second = edge + 1000
                else:  # idle: jump to the second of ``until``, or of the next busy worker
                    after = (until // 1000 + 1) * 1000
                    if self._busy:
                        after = min(after, (min(self._busy) + 1) * 1000)
                    self._second = max(edge + 1000, after)
                    self._area_at = self._second - 1000
            else:
                self._area += len(waiting) * (until - self._area_at)
                self._area_at = until
                return

    def _flush(self, edge: int, queue_len: int) -> None:
        workers = self._workers_at(edge - 1)
        self._record(
            QueueRow(
                edge // 1000 - 1,
                self.place,
                workers,
                self._arrivals,
                self._refused,
                queue_len,
                self._area,
                self._wait,
                self._service,
                self._busy.pop(edge // 1000 - 1, 0),
            )
        )
        self._area = self._arrivals = self._refused = self._wait = self._service = 0

    def close(self, now: int) -> None:
        """Record what the seconds up to ``now`` measured, and those of any work still
        queued (the end of a run)."""
        self._measure(max(now, self._second))
        while self._waiting or self._busy:
            self._measure(self._second)


# -- an actor whose requests take a worker ---------------------------------------------


class Serve(NamedTuple):
    """Timer: a worker is free for ``message``, queued since it arrived from ``sender``."""

    message: Any
    sender: Address
    service: int


class Behind(NamedTuple):
    """Timer: ``message`` from ``sender`` waited for the work queued ahead of it to start."""

    message: Any
    sender: Address


Work = Callable[[Any, Any, Address, int], None]  # (self, message, sender, service)
Refuse = Callable[[Any, Any, Address], None]  # (self, message, sender)


class Served(Logic):
    """A logic class whose requests each take a worker of its :class:`Pool` (``core``).

    ``SERVED`` maps each request type (handled by :meth:`serve`) to its operation (a key
    of the pool's service times), the work it does (called with the service time, which
    its answer adds as a delay) and how it is refused (None: clean-up, never refused). Work that
    finds a worker free runs at once; queued work runs when its worker is free, in
    arrival order, so its effects happen in the order a real queue would apply them."""

    SERVED: ClassVar[Mapping[type, tuple[str, Work, Refuse | None]]] = {}
    core: Pool | None = None

    def serve(self, message: Any, sender: Address) -> None:
        op, work, refuse = self.SERVED[type(message)]
        core = self.core
        if core is None:  # no capacity model: answered at once
            work(self, message, sender, 0)
            return
        now = self.now
        slot = core.admit(now, op, refuse is not None)
        if slot is None:
            assert refuse is not None
            refuse(self, message, sender)
            return
        start, service = slot
        if start == now:
            work(self, message, sender, service)
        else:
            self.set_timer(start - now, Serve(message, sender, service))

    def _handler_for(self, kind: type) -> Callable[[Any, Address], None]:
        """Each request type in ``SERVED`` is handled by :meth:`serve`."""
        if kind in self.SERVED:
            self._dispatch[kind] = self.serve
            return self.serve
        return super()._handler_for(kind)

    def on_Serve(self, timer: Serve, sender: Address) -> None:
        _, work, _ = self.SERVED[type(timer.message)]
        work(self, timer.message, timer.sender, timer.service)
