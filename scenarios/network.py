"""The network between the actors: per-link latency, jitter, faults, and the calendar queue.

The network routes envelopes by address and never reads a message. It owns
the latency of every link (:func:`build_network` derives them from the
scenario), the jitter drawn per message from its own seeded generator, and
the faults that lose messages: bank outages and loss behind the switch.
In-flight envelopes wait in a calendar queue of windows, a bucket per window
and recipient, so each actor's batch is ready when its window comes.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from upisim.actors import addresses
from upisim.actors.addresses import is_behind_switch
from upisim.actors.base import NEVER, Envelope, derive_seed
from upisim.scenarios.config import Scenario
from upisim.scenarios.world import World, link_latency


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
        """Queue an envelope from outside the actors (load, timers) for its delivery time."""
        self._queue((env,))

    def send_all(
        self,
        sender: str,
        sends: Iterable[Envelope],
        before: int | None = None,
    ) -> None:
        """Queue what one actor sent (already stamped with its link latency, see
        :meth:`links_from`), after jitter and faults; everything was sent ``before`` then
        (the end of the window it was sent in)."""
        if self.jitter or self.faults is not None:
            sends = self._disturb(sender, sends, before)
        self._queue(sends)

    def _queue(self, sends: Iterable[Envelope]) -> None:
        """Each envelope into the bucket of its window and recipient."""
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
        behind = is_behind_switch(sender) or is_behind_switch(to)
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


def latencies(world: World, scenario: Scenario) -> dict[tuple[str, str], int]:
    """The latency of every link between two of the world's actors (ms)."""
    addrs = [logic.address for logic in world.logics()]
    latency: dict[tuple[str, str], int] = {}
    for a in addrs:
        for b in addrs:
            try:
                latency[a, b] = link_latency(scenario, a, b)
            except ValueError:
                continue
    return latency


def faults_of(scenario: Scenario) -> Faults:
    """The scenario's ``[faults]`` as the network applies them."""
    outages: dict[str, list[tuple[int, int]]] = {}
    for o in scenario.faults.outages:
        outages.setdefault(addresses.bank(o.bank), []).append(
            (round(o.from_s * 1000), round(o.to_s * 1000))
        )
    return Faults(
        scenario.faults.loss_rate,
        {bank: tuple(spans) for bank, spans in outages.items()},
        scenario.duration_ms if scenario.faults.heal_after_load else None,
    )


def build_network(scenario: Scenario, world: World, seed: int) -> Network:
    """The network of ``world``: its window is the lookahead, no longer than the shortest
    link or timeout, so nothing sent in a window arrives in it and no timer fires in it."""
    latency = latencies(world, scenario)
    t = scenario.timeouts
    window = min(*latency.values(), t.auth_ms, t.risk_ms, t.pay_ms, t.reversal_ms)
    return Network(latency, window, scenario.network.jitter_ms, seed, faults_of(scenario))
