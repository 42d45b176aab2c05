"""The delivery loop: SimPy owns the clock; envelopes wait in the network's calendar queue.

Time advances in windows no longer than the smallest link latency (the
lookahead), so nothing sent inside a window can arrive inside it. Per window:
SimPy runs the arrival processes and timer wake-ups due in it, then every actor with
due envelopes gets them in one ``Deliver`` (sorted by ``(deliver_at, sender,
seq)``), all actors work in parallel, and their outboxes are merged in a fixed
order. Whatever the thread interleaving, the result is the same.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pykka
import simpy

from upisim.actors import addresses
from upisim.actors.base import (
    NEVER,
    WAKE,
    Deliver,
    Envelope,
    Journal,
    Logic,
    LogicActor,
    Outbox,
)
from upisim.actors.errors import UpisimError
from upisim.actors.types import Address, SimTime
from upisim.runfolder import EventRow
from upisim.scenarios.network import Network
from upisim.scenarios.trace import Tracer

_GIL = getattr(sys, "_is_gil_enabled", lambda: True)()


def _current_cpu() -> int | None:
    """The CPU this process last ran on (Linux), or None."""
    try:
        with open("/proc/thread-self/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[36])  # field 39 of stat(5), counted after the command name
    except (OSError, IndexError, ValueError):
        return None


class RunError(UpisimError):
    """The run could not go on: an actor failed or did not answer."""


BEFORE_COMMIT, AFTER_COMMIT = "before_commit", "after_commit"  # where a crash strikes


@dataclass
class LoopStats:
    windows: int = 0
    delivered: int = 0
    wakeups: int = 0
    by_actor: dict[str, int] = field(default_factory=dict)


class DeliveryLoop:
    """Runs actors against SimPy time. ``direct=True`` calls the logic in this thread instead of
    through Pykka (same results, used to measure the actor overhead); ``reference=True``
    has every actor handle each envelope on its own, never a run of them at once (same
    results: the path the grouped one is checked against)."""

    def __init__(
        self,
        logics: Iterable[Logic],
        network: Network,
        env: simpy.Environment,
        direct: bool = False,
        answer_timeout_s: float = 120.0,
        reference: bool = False,
    ) -> None:
        self.logics: dict[str, Logic] = {logic.address: logic for logic in logics}
        self.reference = reference
        for logic in self.logics.values():  # before any journal copies them
            logic.grouped = not reference
        self.network = network
        self.env = env
        self.direct = direct
        self.answer_timeout_s = answer_timeout_s
        self.stats = LoopStats()
        self._refs: dict[str, pykka.ActorRef[Any]] = {}
        self._seq = 0
        self._saved_affinity: set[int] | None = None
        self.pinned_cpu: int | None = None
        self._wake_slots: dict[int, list[str]] = {}
        self._wake_pending: dict[str, int] = {}
        # crashes: the actors a scenario crashes keep a journal; while down, what comes for
        # them is lost; each crash and restart is an event of the run
        self._journaled: set[str] = set()
        self._journals: dict[str, Journal] = {}  # opened at start
        self._crashing: dict[str, str] = {}  # address -> where the crash strikes
        self._down: set[str] = set()
        self._raised: dict[str, str] = {}  # journaled actors whose handler raised: why
        self._noted: list[tuple[str, Outbox]] = []
        self.lost_to_crashes = 0
        self.tracer: Tracer | None = None  # [trace]: sees what is sent and delivered

    def journal(self, address: str) -> None:
        """Keep a journal for ``address`` (before :meth:`start`): it can crash and restart."""
        if address not in self.logics:
            raise RunError(f"no actor {address} to crash (the actors are {sorted(self.logics)})")
        self._journaled.add(address)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        for address, logic in self.logics.items():
            logic.connect(self.network.links_from(address))
        for address in sorted(self._journaled):
            self._journals[address] = Journal(self.logics[address])
        for address in sorted(self.logics):  # timers set as the actors were built
            due = self.logics[address].next_due
            if due < NEVER:
                self._wake_later(address, due)
        if self.direct:
            return
        self._pin()
        for address in sorted(self.logics):
            self._refs[address] = LogicActor.start(self.logics[address])

    @property
    def actors_waiting(self) -> list[str]:
        """The actors that hold a timer still to fire (a refund due, a decision to make)."""
        return sorted(self._wake_pending)

    def stop(self) -> None:
        for ref in reversed(list(self._refs.values())):
            if ref.is_alive():
                ref.stop(block=True, timeout=10)
        self._refs.clear()
        if self._saved_affinity is not None:
            os.sched_setaffinity(0, self._saved_affinity)
            self._saved_affinity = None

    def _pin(self) -> None:
        """Under the GIL one thread runs Python at a time, so keep the loop and its actor
        threads (which inherit this thread's mask) on one core: hand-offs then stay in that
        core's cache. Measured at 100k users on 2 cores: ~30% more payments per second."""
        if not _GIL or not hasattr(os, "sched_setaffinity"):
            return
        allowed = os.sched_getaffinity(0)
        if len(allowed) > 1:
            self._saved_affinity = allowed
            current = _current_cpu()  # stay where we are: parallel runs spread over the cores
            self.pinned_cpu = current if current in allowed else min(allowed)
            os.sched_setaffinity(0, {self.pinned_cpu})

    # -- what SimPy processes call -------------------------------------------------------

    def inject(self, to: str, message: Any, sender: Address = addresses.LOAD) -> None:
        """Put a message from outside the actors (load, scripted payments) on the network now."""
        self._seq += 1
        self.network.post((SimTime(int(self.env.now)), sender, self._seq, Address(to), message))

    def _wake_later(self, address: str, wake_at: int) -> None:
        """Make sure ``address`` is delivered to in the window holding ``wake_at``.

        A SimPy timeout per window that has wake-ups due (not per timer): when it
        fires, each actor waiting on that window gets a :data:`WAKE` envelope.
        """
        window = self.network.window
        k = wake_at // window
        pending = self._wake_pending.get(address)
        if pending is not None and pending <= k:
            return
        self._wake_pending[address] = k
        slot = self._wake_slots.get(k)
        if slot is None:
            slot = self._wake_slots[k] = []
            start = k * window
            if start < self.env.now:
                raise RunError(
                    f"{address} asked to wake at {wake_at} ms, inside the window "
                    f"being delivered; timers must be at least one window long"
                )
            self.env.timeout(start - self.env.now, k).callbacks.append(self._fire)
        slot.append(address)

    def _fire(self, event: simpy.Event) -> None:
        k = event.value
        assert isinstance(k, int)
        at = SimTime(k * self.network.window)
        for address in self._wake_slots.pop(k):
            if self._wake_pending.get(address) != k:
                continue  # it wants an earlier wake-up, or none: its timers were cancelled
            del self._wake_pending[address]
            self._seq += 1
            self.network.post((at, addresses.TIMER, self._seq, Address(address), WAKE))
            self.stats.wakeups += 1

    # -- crashes and restarts -------------------------------------------------------------

    def crash(self, address: str, point: str = BEFORE_COMMIT) -> None:
        """``address`` crashes at the end of the window being run: what it handles in it is
        lost (``BEFORE_COMMIT``), or kept but never answered (``AFTER_COMMIT``)."""
        if address not in self._down:
            self._crashing[address] = point

    def _go_down(self, address: str, point: str, why: str) -> None:
        self._crashing.pop(address, None)
        self._down.add(address)
        self._journals[address].restore(self.logics[address])  # memory is lost; the journal
        ref = self._refs.pop(address, None)
        if ref is not None and ref.is_alive():
            ref.stop(block=True, timeout=10)
        self._note(address, "ACTOR_CRASH", point, why)

    def crash_in(self, address: str, delay: int, point: str = BEFORE_COMMIT) -> None:
        """Crash ``address`` ``delay`` ms from now (a SimPy timeout)."""

        def crash(_event: simpy.Event) -> None:
            self.crash(address, point)

        self.env.timeout(delay).callbacks.append(crash)

    def restart_in(self, address: str, delay: int) -> None:
        """Restart ``address`` ``delay`` ms from now (a SimPy timeout)."""

        def restart(_event: simpy.Event) -> None:
            self.restart(address)

        self.env.timeout(delay).callbacks.append(restart)

    def restart(self, address: str) -> None:
        """``address`` comes back, in its last committed state (its journal replayed)."""
        if address not in self._down:
            return
        self._down.discard(address)
        # already its last committed state: the journal was replayed as it went down, and
        # nothing reaches an actor that is down (a second replay was the whole run's again)
        logic = self.logics[address]
        logic.now = int(self.env.now)  # what fell due while it was down happens from now on
        if not self.direct:
            self._refs[address] = LogicActor.start(logic)
        self._note(address, "ACTOR_RESTART", f"{len(self._journals[address])} batches replayed")
        due = logic.next_due
        if due < NEVER:  # timers that fell due while it was down fire now
            window = self.network.window
            boundary = (int(self.env.now) // window + 1) * window
            if due < boundary:  # they fire in the next window: what they send must land after
                logic.now = boundary
            self._wake_later(address, max(due, boundary))

    def _note(self, address: str, kind: str, subject: str, detail: str = "") -> None:
        row = EventRow(int(self.env.now), kind, address, "", subject, detail, 0)
        self._noted.append((address, Outbox([], [row], None, None)))

    # -- one window ---------------------------------------------------------------------

    def _run_until(self, until: int) -> None:
        """SimPy's ``env.run(until=...)``, without the stop event it leaves at ``until``.

        ``run`` re-queues its stop event at the time it stopped, so ``env.peek()`` always
        said "now" and the run could never skip an idle window (a 24 h day at one payment a
        second stepped all 4.3 M windows). The stop event is made exactly as ``run`` makes it
        (urgent, so everything due before ``until`` runs and nothing due at it does).
        """
        env = self.env
        stop = simpy.Event(env)
        stop._ok = True  # triggered, as Environment.run triggers its own
        stop._value = None
        env.schedule(stop, simpy.events.URGENT, until - env.now)
        while stop.callbacks is not None:  # not yet processed
            env.step()

    def step(self, k: int) -> list[tuple[str, Outbox]]:
        """Run SimPy to the end of window ``k``, deliver its envelopes, route what comes back."""
        window = self.network.window
        until = (k + 1) * window
        self._run_until(until)
        by_to = self.network.pop(k)
        if self._down:
            for address in self._down.intersection(by_to):
                self.lost_to_crashes += len(by_to.pop(address))
        outboxes: list[tuple[str, Outbox]] = []
        if by_to:
            recipients = sorted(by_to)
            delivered = 0
            for to in recipients:
                envs = by_to[to]
                envs.sort()  # (deliver_at, sender, seq): never the order they were queued in
                delivered += len(envs)
            tracer = self.tracer
            if tracer is not None:
                tracer.delivered({to: by_to[to] for to in recipients})
            outboxes = self._deliver(recipients, by_to, until)
            if self._journals:
                outboxes = self._commit(outboxes, by_to, until)
            for address, out in outboxes:
                if out.sends:
                    if tracer is not None:
                        tracer.sent(address, out.sends, self.network.links_from(address))
                    self.network.send_all(address, out.sends, until)
                if out.wake_at is not None:
                    self._wake_later(address, out.wake_at)
                elif address in self._wake_pending:  # its timers were cancelled
                    del self._wake_pending[address]
            stats = self.stats
            stats.windows += 1
            stats.delivered += delivered
        if self._crashing:  # struck in a window it had nothing to handle
            for address, point in sorted(self._crashing.items()):
                self._go_down(address, point, "")
        if self._noted:
            outboxes += self._noted
            self._noted = []
        return outboxes

    def _commit(
        self, outboxes: list[tuple[str, Outbox]], by_to: dict[str, list[Envelope]], until: int
    ) -> list[tuple[str, Outbox]]:
        """Journal what each journaled actor handled. An actor that raised, or crashes now
        before its commit, loses what it handled and its answers; one that crashes after its
        commit keeps what it did (its rows and books) but never sent its answers."""
        kept = []
        for address, out in outboxes:
            journal = self._journals.get(address)
            if journal is None:
                kept.append((address, out))
                continue
            why = self._raised.pop(address, "")
            point = BEFORE_COMMIT if why else self._crashing.get(address)
            if point != BEFORE_COMMIT:
                journal.commit(by_to[address], until)
                kept.append((address, out if point is None else out._replace(sends=[])))
            if point is not None:
                self._go_down(address, point, why)
                if why:  # a handler raised: the restart policy brings it back at once
                    self.restart_in(address, self.network.window)
        return kept

    def _deliver(
        self, recipients: list[str], by_to: dict[str, list[Envelope]], until: int
    ) -> list[tuple[str, Outbox]]:
        """Each recipient handles its batch. Through Pykka the loop asks one actor at a time
        while the GIL serialises Python anyway: asking all at once only adds contention
        (measured at 100k users: ~15% slower). A free-threaded Python asks them all at once."""
        if self.direct:
            return [(to, self._direct(to, by_to[to], until)) for to in recipients]
        refs = self._refs
        if _GIL:
            return [
                (
                    to,
                    self._answer(
                        to, refs[to].ask(Deliver(by_to[to], until), block=False), by_to[to]
                    ),
                )
                for to in recipients
            ]
        futures = [(to, refs[to].ask(Deliver(by_to[to], until), block=False)) for to in recipients]
        return [(to, self._answer(to, future, by_to[to])) for to, future in futures]

    def _answer(self, to: str, future: pykka.Future[Outbox], batch: list[Envelope]) -> Outbox:
        try:
            return future.get(timeout=self.answer_timeout_s)
        except pykka.Timeout:
            raise RunError(
                f"actor {to} did not answer within {self.answer_timeout_s} s of wall time"
            ) from None
        except UpisimError:
            raise
        except Exception as error:
            return self._failed(to, batch, error)

    def _direct(self, to: str, batch: list[Envelope], until: int) -> Outbox:
        try:
            return self.logics[to].deliver(batch, until)
        except UpisimError:
            raise
        except Exception as error:
            return self._failed(to, batch, error)

    def _failed(self, to: str, batch: list[Envelope], error: Exception) -> Outbox:
        """A handler raised: an actor with a journal crashes and restarts from it (the batch
        is lost, as if it had never come); any other stops the run."""
        if to in self._journals:
            self._raised[to] = type(error).__name__  # the type only: runs must replay
            return Outbox([], [], None, None)
        raise RunError(
            f"actor {to} failed handling {len(batch)} envelope(s) at "
            f"t={batch[0][0]} ms: {type(error).__name__}: {error}"
        ) from error
