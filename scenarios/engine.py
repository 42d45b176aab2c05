"""The delivery loop: SimPy owns the clock; envelopes wait in the network's calendar queue.

Time advances in windows no longer than the smallest link latency (the
lookahead), so nothing sent inside a window can arrive inside it. Per window:
SimPy runs the arrival processes and timer wake-ups due in it, then every actor with
due envelopes gets them in one ``Deliver`` (sorted by ``(deliver_at, sender,
seq)``), all actors work in parallel, and their outboxes are merged in a fixed
order. Whatever the thread interleaving, the result is the same.
"""

from __future__ import annotations

import heapq
import os
import random
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pykka
import simpy

from upisim.actors.base import (
    NEVER,
    WAKE,
    Deliver,
    Envelope,
    Logic,
    LogicActor,
    Outbox,
    derive_seed,
)
from upisim.actors.errors import UpisimError
from upisim.actors.messages import StartPayment, StartPayments
from upisim.actors.types import Address, SimTime

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


@dataclass(frozen=True)
class Faults:
    """What the network breaks: bank outages (everything to or from the bank is lost) and a
    loss rate on the links behind the switch (to banks and the fraud monitor), where UPI's
    timeouts, reversals and status checks are what keep the books right."""

    loss_rate: float = 0.0
    outages: Mapping[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    heal_at: int | None = None  # from then on nothing is lost: the heal-and-drain phase

    def down(self, address: str, at: int) -> bool:
        return any(start <= at < end for start, end in self.outages.get(address, ()))


class Network:
    """Routes envelopes by address with a per-link latency; a calendar queue of windows."""

    def __init__(
        self,
        latency: Mapping[tuple[str, str], int],
        window: int,
        jitter: int = 0,
        seed: int = 0,
        faults: Faults | None = None,
    ) -> None:
        self.faults = (
            faults if faults is not None and (faults.loss_rate or faults.outages) else None
        )
        self.dropped = 0
        self._from: dict[str, dict[str, int]] = {}
        for (a, b), ms in latency.items():
            self._from.setdefault(a, {})[b] = ms
        self.window = window
        self.jitter = jitter
        self._rng = random.Random(derive_seed(seed, "network"))
        # window -> recipient -> envelopes: each actor's batch is ready when its window comes
        self._buckets: dict[int, dict[str, list[Envelope]]] = {}
        self._heap: list[int] = []
        self.in_flight = 0

    def post(self, env: Envelope) -> None:
        """Queue an envelope for its delivery time."""
        k = env[0] // self.window
        bucket = self._buckets.get(k)
        if bucket is None:
            bucket = self._buckets[k] = {}
            heapq.heappush(self._heap, k)
        mine = bucket.get(env[3])
        if mine is None:
            bucket[env[3]] = [env]
        else:
            mine.append(env)
        self.in_flight += 1

    def send_all(
        self,
        sender: str,
        sends: Iterable[tuple[int, Address, int, Address, Any]],
        before: int | None = None,
    ) -> None:
        """Queue what one actor sent (already stamped with its link latency, see
        :meth:`links_from`), after jitter and faults; everything was sent ``before`` then
        (the end of the window it was sent in)."""
        if self.jitter or self.faults is not None:
            sends = self._disturb(sender, sends, before)
        buckets = self._buckets
        window = self.window
        n = 0
        for env in sends:
            k = env[0] // window
            bucket = buckets.get(k)
            if bucket is None:
                bucket = buckets[k] = {}
                heapq.heappush(self._heap, k)
            mine = bucket.get(env[3])
            if mine is None:
                bucket[env[3]] = [env]
            else:
                mine.append(env)
            n += 1
        self.in_flight += n

    def links_from(self, sender: str) -> dict[str, int]:
        """The latency from ``sender`` to every address it has a link to."""
        return self._from.get(sender, {})

    def _disturb(
        self, sender: str, sends: Iterable[Envelope], before: int | None = None
    ) -> list[Envelope]:
        """Jitter delays a message; faults lose it. A message held back on purpose (a payment
        method's extra hop) was still sent in its window: its send time is capped there."""
        latency = self._from[sender]
        rand = self._rng.randint
        last = before - 1 if before is not None else NEVER
        kept = []
        for at, _sender, seq, to, message in sends:
            sent_at = min(at - latency[to], last)
            if self.jitter:
                at += rand(0, self.jitter)
            if self.faults is not None and self._lost(sent_at, at, sender, to):
                self.dropped += 1
                continue
            kept.append((at, _sender, seq, to, message))
        return kept

    def _lost(self, sent_at: int, at: int, sender: str, to: str) -> bool:
        faults = self.faults
        assert faults is not None
        if faults.heal_at is not None and sent_at >= faults.heal_at:
            return False
        if faults.down(to, at) or faults.down(sender, sent_at):
            return True
        behind = sender.startswith(("bank:", "fraud")) or to.startswith(("bank:", "fraud"))
        return behind and faults.loss_rate > 0 and self._rng.random() < faults.loss_rate

    def next_window(self) -> int | None:
        return self._heap[0] if self._heap else None

    def pop(self, k: int) -> dict[str, list[Envelope]]:
        """Everything due in window ``k``, by recipient (and remove it)."""
        if self._heap and self._heap[0] == k:
            heapq.heappop(self._heap)
            batch = self._buckets.pop(k)
            self.in_flight -= sum(len(envs) for envs in batch.values())
            return batch
        return {}


@dataclass
class LoopStats:
    windows: int = 0
    delivered: int = 0
    wakeups: int = 0
    by_actor: dict[str, int] = field(default_factory=dict)


class DeliveryLoop:
    """Runs actors against SimPy time. ``direct=True`` calls the logic in this thread instead of
    through Pykka (same results, used to measure the actor overhead)."""

    def __init__(
        self,
        logics: Iterable[Logic],
        network: Network,
        env: simpy.Environment,
        direct: bool = False,
        answer_timeout_s: float = 120.0,
    ) -> None:
        self.logics = {logic.address: logic for logic in logics}
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

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        for address, logic in self.logics.items():
            logic.connect(self.network.links_from(address))
        if self.direct:
            return
        self._pin()
        for address in sorted(self.logics):
            self._refs[address] = LogicActor.start(self.logics[address])

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

    def inject(self, to: str, message: Any, sender: str = "load") -> None:
        """Put a message from outside the actors (load, scripted payments) on the network now."""
        self._seq += 1
        self.network.post(
            (SimTime(int(self.env.now)), Address(sender), self._seq, Address(to), message)
        )

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
        at = SimTime(k * self.network.window)
        for address in self._wake_slots.pop(k):
            if self._wake_pending.get(address) == k:
                del self._wake_pending[address]
            self._seq += 1
            self.network.post((at, Address("timer"), self._seq, Address(address), WAKE))
            self.stats.wakeups += 1

    # -- one window ---------------------------------------------------------------------

    def step(self, k: int) -> list[tuple[str, Outbox]]:
        """Run SimPy to the end of window ``k``, deliver its envelopes, route what comes back."""
        window = self.network.window
        until = (k + 1) * window
        self.env.run(until=until)
        by_to = self.network.pop(k)
        if not by_to:
            return []
        recipients = sorted(by_to)
        delivered = 0
        for to in recipients:
            envs = by_to[to]
            envs.sort()  # (deliver_at, sender, seq): never the order they were queued in
            delivered += len(envs)
        outboxes = self._deliver(recipients, by_to, until)
        for address, out in outboxes:
            if out.sends:
                self.network.send_all(address, out.sends, until)
            if out.wake_at is not None:
                self._wake_later(address, out.wake_at)
        stats = self.stats
        stats.windows += 1
        stats.delivered += delivered
        return outboxes

    def _deliver(
        self, recipients: list[str], by_to: dict[str, list[Envelope]], until: int
    ) -> list[tuple[str, Outbox]]:
        """Each recipient handles its batch. Through Pykka the loop asks one actor at a time
        while the GIL serialises Python anyway: asking all at once only adds contention
        (measured at 100k users: ~15% slower). A free-threaded Python asks them all at once."""
        if self.direct:
            logics = self.logics
            return [(to, logics[to].deliver(by_to[to], until)) for to in recipients]
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
            raise RunError(
                f"actor {to} failed handling {len(batch)} envelope(s) at "
                f"t={batch[0][0]} ms: {type(error).__name__}: {error}"
            ) from error


def arrivals(
    env: simpy.Environment,
    loop: DeliveryLoop,
    rate_at: Callable[[int], float],
    shares: list[tuple[str, float]],
    tick: int,
    end: int,
    seed: int,
    make: Callable[[int], Any] = StartPayments,
    stream: str = "load",
):  # type: ignore[no-untyped-def]
    """Poisson arrivals: each tick, a Poisson count split over the cohorts by their shares;
    ``make(count)`` is the message each cohort gets (payments by default)."""
    rng = np.random.Generator(np.random.PCG64(derive_seed(seed, stream)))
    names = [name for name, _ in shares]
    weights = np.array([w for _, w in shares], dtype=np.float64)
    weights /= weights.sum()
    while env.now < end:
        lam = rate_at(int(env.now)) * tick / 1000.0
        if lam > 0:
            total = int(rng.poisson(lam))
            if total:
                counts = rng.multinomial(total, weights)
                for name, count in zip(names, counts.tolist(), strict=True):
                    if count:
                        loop.inject(name, make(count), sender=stream)
        yield env.timeout(min(tick, end - int(env.now)))


def scripted(
    env: simpy.Environment, loop: DeliveryLoop, payments: list[tuple[int, str, StartPayment]]
):  # type: ignore[no-untyped-def]
    """Scripted payments at their times, in file order for equal times."""
    for at, cohort, message in sorted(payments, key=lambda p: p[0]):
        if at > env.now:
            yield env.timeout(at - env.now)
        loop.inject(cohort, message, sender="script")
