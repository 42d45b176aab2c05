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
from upisim.actors.errors import InvariantError
from upisim.scenarios.config import Scenario
from upisim.scenarios.world import World, link_latency

BOTH, REQUESTS, REPLIES = "both", "requests", "replies"  # what an outage loses


@dataclass(frozen=True)
class Faults:
    """What the network breaks: outages of a bank or the fraud monitor (everything to or from
    it lost, or one way only: requests delivered and replies lost, an asymmetric partition),
    slow windows (everything to or from it delayed), and a loss rate on the links behind the
    switch (to banks and the fraud monitor), where UPI's timeouts, reversals and status
    checks are what keep the books right."""

    loss_rate: float = 0.0
    app_loss_rate: float = 0.0  # between the apps (user cohorts) and the switch
    duplicate_rate: float = 0.0  # on every link: a copy delivered up to replay_max ms later
    replay_max: int = 0
    # address -> (start, end, what is lost: BOTH, REQUESTS to it or REPLIES from it)
    outages: Mapping[str, tuple[tuple[int, int, str], ...]] = field(default_factory=dict)
    heal_at: int | None = None  # from then on nothing is lost: the heal-and-drain phase
    # address -> (start, end, extra ms for every message to or from it sent meanwhile)
    delays: Mapping[str, tuple[tuple[int, int, int], ...]] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return bool(
            self.loss_rate
            or self.app_loss_rate
            or self.duplicate_rate
            or self.outages
            or self.delays
        )

    def down(self, address: str, at: int, way: str) -> bool:
        """Is a message of this ``way`` (REQUESTS to ``address``, REPLIES from it) lost?"""
        return any(
            start <= at < end and lose in (BOTH, way)
            for start, end, lose in self.outages.get(address, ())
        )

    def delay(self, address: str, at: int) -> int:
        return sum(extra for start, end, extra in self.delays.get(address, ()) if start <= at < end)


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
        self.faults = faults if faults is not None and faults.any else None
        self.dropped = 0
        self.duplicated = 0
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
        faults = self.faults
        kept = []
        for at, _sender, seq, to, message in sends:
            sent_at = min(at - latency[to], last)
            if self.jitter:
                at += rand(0, self.jitter)
            if faults is not None:
                if faults.delays and (faults.heal_at is None or sent_at < faults.heal_at):
                    at += faults.delay(to, sent_at) + faults.delay(sender, sent_at)
                if self._lost(sent_at, at, sender, to):
                    self.dropped += 1
                    continue
                if self._replayed(sent_at):
                    self.duplicated += 1  # the copy comes later: never the same envelope key
                    copy_at = at + 1 + rand(0, faults.replay_max)
                    kept.append((copy_at, _sender, seq, to, message))
            kept.append((at, _sender, seq, to, message))
        return kept

    def _replayed(self, sent_at: int) -> bool:
        faults = self.faults
        assert faults is not None
        if not faults.duplicate_rate or (faults.heal_at is not None and sent_at >= faults.heal_at):
            return False
        return self._rng.random() < faults.duplicate_rate

    def _lost(self, sent_at: int, at: int, sender: str, to: str) -> bool:
        faults = self.faults
        assert faults is not None
        if faults.heal_at is not None and sent_at >= faults.heal_at:
            return False
        if faults.down(to, at, REQUESTS) or faults.down(sender, sent_at, REPLIES):
            return True
        if is_behind_switch(sender) or is_behind_switch(to):
            return faults.loss_rate > 0 and self._rng.random() < faults.loss_rate
        return faults.app_loss_rate > 0 and self._rng.random() < faults.app_loss_rate

    def next_window(self) -> int | None:
        return self._heap[0] if self._heap else None

    def pop(self, k: int) -> dict[str, list[Envelope]]:
        """Everything due in window ``k``, by recipient (and remove it)."""
        if self._heap and self._heap[0] < k:
            raise InvariantError(f"envelopes due in window {self._heap[0]} were never delivered")
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
    f = scenario.faults
    outages: dict[str, list[tuple[int, int, str]]] = {}
    for o in f.outages:
        outages.setdefault(addresses.bank(o.bank), []).append((_ms(o.from_s), _ms(o.to_s), o.lose))
    for w in f.fraud_down:
        outages.setdefault(addresses.FRAUD, []).append((_ms(w.from_s), _ms(w.to_s), BOTH))
    delays: dict[str, list[tuple[int, int, int]]] = {}
    for d in f.delays:
        delays.setdefault(addresses.bank(d.bank), []).append(
            (_ms(d.from_s), _ms(d.to_s), d.extra_ms)
        )
    return Faults(
        f.loss_rate,
        f.app_loss_rate,
        f.duplicate_rate,
        f.replay_max_ms,
        outages={address: tuple(spans) for address, spans in outages.items()},
        heal_at=scenario.duration_ms if f.heal_after_load else None,
        delays={address: tuple(spans) for address, spans in delays.items()},
    )


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def build_network(scenario: Scenario, world: World, seed: int) -> Network:
    """The network of ``world``: its window is the lookahead, no longer than the shortest
    link or timeout, so nothing sent in a window arrives in it and no timer fires in it."""
    latency = latencies(world, scenario)
    t = scenario.timeouts
    window = min(*latency.values(), t.auth_ms, t.risk_ms, t.pay_ms, t.reversal_ms)
    return Network(latency, window, scenario.network.jitter_ms, seed, faults_of(scenario))
