"""The actor contract: a plain logic class handling a window's envelopes, and a thin Pykka shell.

An envelope is ``(deliver_at, sender, seq, recipient, message)``. Once per
delivery window an actor receives all its due envelopes in one ``Deliver``
message, handles them in ``(deliver_at, sender, seq)`` order and answers with
an :class:`Outbox`: what it sends (the network stamps delivery times), the
rows it records, its gauges, and when its next timer is due (SimPy wakes it).

A logic class may also handle a *run* of envelopes at once: consecutive envelopes whose
types share a group handler (``GROUPED``), with no timer due among them, go to it, which
must leave exactly what handling them one at a time would (the same sends in the same
order, the same rows, the same state). That is the grouped path, the default; the
reference path (``grouped = False``, ``upisim run --reference``) handles every envelope on
its own, and the chaos harness runs each seed both ways and compares the bytes.

Logic classes never read the wall clock, never use the global ``random`` and
never call another actor: that is what keeps a run deterministic.
"""

from __future__ import annotations

import copy
import hashlib
import heapq
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import pykka

from upisim.actors.types import Address, SimTime
from upisim.runfolder import EventRow

Envelope = tuple[int, Address, int, Address, Any]
"""``(deliver_at, sender, seq, recipient, message)``; ordered by its first three fields;
``deliver_at`` is simulated ms."""

Sent = Envelope
"""An envelope as its sender sent it: stamped with the link latency its network gave it
(:meth:`Logic.connect`); unconnected, ``deliver_at`` is the send time."""

Row = tuple[Any, ...]
"""A row of one of the run's tables: an instance of a row type of :mod:`upisim.runfolder`
(its type says which table)."""

Gauges = tuple[int, ...]
"""Running totals an actor reports after each window it worked in: each kind of actor that
has any defines its own named tuple (a bank's :class:`~upisim.actors.bank.Books`, the
switch's :class:`~upisim.actors.switch.SwitchLoad`); the run tells them apart by type."""

NEVER = 1 << 62
"""A time after every run."""

Group = Callable[[Any, Sequence[Envelope]], int]
"""A group handler: ``(self, run)``, a run of envelopes in delivery order; it returns how
many of them it handled, all of them unless a timer it set falls due before the next."""


class Outbox(NamedTuple):
    """What an actor answers to one ``Deliver``."""

    sends: list[Sent]
    records: list[Row]
    gauges: Gauges | None
    wake_at: int | None  # the next timer still pending: deliver to me by then


@dataclass(frozen=True, slots=True)
class Deliver:
    """The one Pykka message per actor per window: its due envelopes, in order, and the
    window's end (timers due before ``until`` fire too)."""

    envelopes: Sequence[Envelope]
    until: int | None = None


@dataclass(frozen=True, slots=True)
class Wake:
    """From the delivery loop: a timer of yours is due; nothing else to say."""


WAKE = Wake()


def derive_seed(seed: int, name: str) -> int:
    """A stable 64-bit seed for ``name`` in a run seeded ``seed`` (no ``hash()``: it is salted)."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class _Unconnected(dict[str, int]):
    """Before a network connects an actor (unit tests), every link takes no time."""

    def __missing__(self, key: str) -> int:
        return 0


_NO_LINKS = _Unconnected()


class Logic:
    """Domain state plus one ``on_<MessageType>`` handler per message type; no threads.

    Handlers read ``self.now`` and call :meth:`send`, :meth:`set_timer`,
    :meth:`record` and :meth:`event`; :meth:`deliver` collects what they did.

    Timers live with their actor in a heap and fire in ``(fire_at, seq)`` order,
    before any envelope due at the same time or later. The delivery loop only has
    to wake the actor at ``Outbox.wake_at``: one SimPy event per actor and window
    instead of one per timer.

    ``GROUPED`` maps message types to group handlers (see the module's docstring): a run is
    consecutive envelopes whose types share one. The handler sets ``now`` to each
    envelope's time as it handles it; it may set timers, and stops before an envelope that
    one falls due for (it returns how many it handled, and the timer fires first).
    """

    GROUPED: ClassVar[Mapping[type, Group]] = {}
    grouped = True  # False: the reference path, every envelope on its own

    def __init__(self, address: Address, seed: int = 0) -> None:
        self.address = address
        self.now: int = 0
        self.rng = random.Random(derive_seed(seed, address))
        self._seq = 0
        self._sends: list[Sent] = []
        self._records: list[Row] = []
        self._timers: list[tuple[int, int, Any]] = []  # a heap
        self._next_due = NEVER
        self._dispatch: dict[type, Callable[[Any, Address], None]] = {}
        self._latency: dict[str, int] = _NO_LINKS

    def connect(self, latency: dict[str, int]) -> None:
        """The network's latency from this actor to each address it may send to (ms)."""
        self._latency = latency

    # -- what handlers call ------------------------------------------------------------

    def send(self, to: Address, message: Any, delay: int = 0) -> None:
        """Send ``message``; it arrives after the link's latency plus ``delay`` ms (the time
        some processing adds on top of the network, such as a card network's hop)."""
        self._seq += 1
        try:
            at = self.now + self._latency[to] + delay
        except KeyError:
            raise LookupError(f"{self.address} has no link to {to}") from None
        self._sends.append((at, self.address, self._seq, to, message))

    def set_timer(self, delay: int, message: Any) -> None:
        """Deliver ``message`` to this actor ``delay`` ms from now (``delay`` > 0)."""
        if delay <= 0:
            raise ValueError(f"{self.address}: a timer needs a positive delay, not {delay}")
        fire_at = self.now + delay
        self._seq += 1
        heapq.heappush(self._timers, (fire_at, self._seq, message))
        if fire_at < self._next_due:
            self._next_due = fire_at

    def cancel_timers(self, kind: type) -> None:
        """Drop every pending timer whose message is a ``kind`` (a rebuild of the heap: for
        rare moments, such as an actor left with only stale timers)."""
        timers = self._timers  # in place: a timer handler may call this while timers fire
        timers[:] = [t for t in timers if type(t[2]) is not kind]
        heapq.heapify(timers)
        self._next_due = timers[0][0] if timers else NEVER

    def record(self, row: Row) -> None:
        """Record a row of one of the run's tables (a :mod:`upisim.runfolder` row type)."""
        self._records.append(row)

    def event(
        self, kind: str, txn_id: str = "", subject: str = "", detail: str = "", value: int = 0
    ) -> None:
        """Record a row of the events table (see docs/run-folder.md)."""
        self._records.append(EventRow(self.now, kind, self.address, txn_id, subject, detail, value))

    # -- what the shell calls ----------------------------------------------------------

    def gauges(self) -> Gauges | None:
        """Running totals the delivery loop checks each window (banks: money); None if none."""
        return None

    @property
    def pending_timers(self) -> int:
        return len(self._timers)

    @property
    def next_due(self) -> int:
        """When the next timer fires (:data:`NEVER`: none pending)."""
        return self._next_due

    def deliver(self, envelopes: Sequence[Envelope], until: int | None = None) -> Outbox:
        """Handle due envelopes in order, and timers due before ``until``; return what they
        caused."""
        if self.GROUPED and self.grouped:
            self._deliver_grouped(envelopes)
        else:
            dispatch = self._dispatch
            for deliver_at, sender, _seq, _to, message in envelopes:
                if deliver_at >= self._next_due:
                    self._fire_timers(deliver_at)
                self.now = deliver_at
                handler = dispatch.get(type(message))
                if handler is None:
                    handler = self._handler_for(type(message))
                handler(message, sender)
        if until is not None and self._next_due < until:
            self._fire_timers(until - 1)
        wake = self._next_due if self._next_due < NEVER else None
        out = Outbox(self._sends, self._records, self.gauges(), wake)
        self._sends, self._records = [], []
        return out

    def _deliver_grouped(self, envelopes: Sequence[Envelope]) -> None:
        """:meth:`deliver`'s loop, with each run of ``GROUPED`` types given to their handler:
        a run ends where the handler changes or a timer falls due (it fires first)."""
        groups = self.GROUPED
        dispatch = self._dispatch
        i, n = 0, len(envelopes)
        while i < n:
            deliver_at, sender, _seq, _to, message = envelopes[i]
            if deliver_at >= self._next_due:
                self._fire_timers(deliver_at)
            kind = type(message)
            group = groups.get(kind)
            if group is not None:
                due, j = self._next_due, i + 1
                while (
                    j < n and envelopes[j][0] < due and groups.get(type(envelopes[j][4])) is group
                ):
                    j += 1
                handled = group(self, envelopes[i:j])
                if not 0 < handled <= j - i:
                    raise RuntimeError(
                        f"{self.address}: a group handler handled {handled} of {j - i}"
                    )
                i += handled
                continue
            self.now = deliver_at
            handler = dispatch.get(kind)
            if handler is None:
                handler = self._handler_for(kind)
            handler(message, sender)
            i += 1

    def advance(self, until: int) -> Outbox:
        """Let time pass with no messages: fire every timer due before ``until`` (tests)."""
        return self.deliver((), until)

    def _fire_timers(self, upto: int) -> None:
        """Fire every timer due at or before ``upto``, earliest first."""
        timers = self._timers
        dispatch = self._dispatch
        address = self.address
        pop = heapq.heappop
        while timers and timers[0][0] <= upto:
            fire_at, _seq, message = pop(timers)
            if fire_at > self.now:  # a timer due while a restarted actor was down: fires now
                self.now = fire_at
            handler = dispatch.get(type(message))
            if handler is None:
                handler = self._handler_for(type(message))
            handler(message, address)
        self._next_due = timers[0][0] if timers else NEVER

    def on_Wake(self, message: Wake, sender: Address) -> None:
        """Timers due by now have already fired; the wake-up only made sure we were called."""

    def _handler_for(self, kind: type) -> Callable[[Any, Address], None]:
        handler = getattr(self, f"on_{kind.__name__}", None)
        if handler is None:

            def handler(message: Any, sender: Address) -> None:
                self.event("UNKNOWN_MESSAGE", subject=str(sender), detail=kind.__name__)

        self._dispatch[kind] = handler
        return handler


class LogicActor(pykka.ThreadingActor):
    """The one thin Pykka shell every actor runs in: ``Deliver`` in, :class:`Outbox` out.

    The run starts each bank, the switch, the fraud monitor and every user cohort in it
    (``LogicActor.start(bank)``), and so can a test that talks to one actor alone."""

    def __init__(self, logic: Logic) -> None:
        super().__init__()
        self.logic = logic

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Deliver):
            return self.logic.deliver(message.envelopes, message.until)
        raise TypeError(f"{self.logic.address} expects Deliver, got {type(message).__name__}")


def envelope(
    message: Any, at: int = 0, sender: str = "test", seq: int = 1, to: str = ""
) -> Envelope:
    """One envelope, for tests and scripts talking to a single actor."""
    return (SimTime(at), Address(sender), seq, Address(to), message)


class Journal:
    """An actor's write-ahead journal: its state as it opened and every batch it committed.

    A logic class is a deterministic state machine: the same inputs in the same order give
    the same state (its random generator included). So the journal holds inputs, not state,
    and a restart rebuilds the actor by replaying them into a copy of its opening state:
    it comes back knowing every leg it applied, every id it saw, every timer it set, and
    nothing it had not committed. (The run keeps a journal only for an actor that a scenario
    crashes: it grows with what the actor was sent.)"""

    def __init__(self, logic: Logic) -> None:
        self._opening = copy.deepcopy(logic)
        self._batches: list[tuple[Sequence[Envelope], int | None]] = []

    def __len__(self) -> int:
        return len(self._batches)

    def commit(self, envelopes: Sequence[Envelope], until: int | None) -> None:
        self._batches.append((envelopes, until))

    def restore(self, logic: Logic) -> None:
        """Put ``logic`` back in its last committed state, in place (whoever holds the actor
        holds the restarted one): its opening state, then every batch replayed. What it sends
        and records while replaying is dropped: it was sent and recorded the first time."""
        # copied with the opening's own methods (handler tables) bound to ``logic``
        opening = copy.deepcopy(vars(self._opening), {id(self._opening): logic})
        state = vars(logic)
        state.clear()
        state.update(opening)
        for envelopes, until in self._batches:
            logic.deliver(envelopes, until)
