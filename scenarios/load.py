"""The load, as SimPy processes: Poisson arrivals of payments and collect requests, and the
scenario's scripted payments, each injected into the user cohort that starts it."""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from functools import partial
from typing import Any

import numpy as np
import simpy

from upisim.actors import addresses
from upisim.actors.base import derive_seed
from upisim.actors.messages import StartCollects, StartPayment, StartPayments
from upisim.actors.methods import UPI_COLLECT
from upisim.actors.types import Address, Paise, Vpa
from upisim.scenarios.config import Scenario, ScriptedPayment
from upisim.scenarios.engine import DeliveryLoop
from upisim.scenarios.world import World

Process = Generator[simpy.Event, Any, None]
"""A SimPy process function's generator."""


def start_load(
    env: simpy.Environment, loop: DeliveryLoop, scenario: Scenario, world: World, seed: int
) -> None:
    """Start every load process the scenario asks for, ticking at ``load.tick_ms`` (default:
    the delivery window) until the load ends."""
    end = scenario.duration_ms
    load = scenario.load
    tick = load.tick_ms or loop.network.window
    if load.rate_per_s > 0 or any(p.rate_per_s > 0 for p in load.profile):
        shares = [(c.address, float(len(c.users))) for c in world.cohorts]
        env.process(arrivals(env, loop, load.rate_at, shares, tick, end, seed))
    collect = scenario.collect
    # merchants' requests, and people's (P2P collect) for their share: two streams
    for by_people, share in ((False, 1 - collect.p2p_share), (True, collect.p2p_share)):
        rate = collect.rate_per_s * share
        askers = [
            (c.address, float(len(c.persons if by_people else c.merchants))) for c in world.cohorts
        ]
        askers = [(address, n) for address, n in askers if n]
        if rate > 0 and askers:
            env.process(
                arrivals(
                    env,
                    loop,
                    partial(_constant, rate),
                    askers,
                    tick,
                    end,
                    seed,
                    partial(StartCollects, by_people=by_people),
                    addresses.P2P_COLLECTS if by_people else addresses.COLLECTS,
                )
            )
    if scenario.payments:
        env.process(scripted(env, loop, script(scenario, world)))


def _constant(rate: float, _at_ms: int) -> float:
    return rate


def script(scenario: Scenario, world: World) -> list[tuple[int, Address, StartPayment]]:
    """The scenario's scripted payments, each with the cohort that starts it: the payer's, or
    for a collect request the payee's (who asks)."""

    def starter(p: ScriptedPayment) -> Vpa:
        return Vpa(p.payee if p.method == UPI_COLLECT else p.payer)

    return [
        (
            p.at_ms + i * p.every_ms,
            world.server_of[starter(p)],
            StartPayment(Vpa(p.payer), Vpa(p.payee), Paise(p.amount), p.pin, p.note, p.method),
        )
        for p in scenario.payments
        for i in range(p.repeat)
    ]


def arrivals(
    env: simpy.Environment,
    loop: DeliveryLoop,
    rate_at: Callable[[int], float],
    shares: Sequence[tuple[str, float]],
    tick: int,
    end: int,
    seed: int,
    make: Callable[[int], Any] = StartPayments,
    stream: Address = addresses.LOAD,
) -> Process:
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
    env: simpy.Environment, loop: DeliveryLoop, payments: list[tuple[int, Address, StartPayment]]
) -> Process:
    """Scripted payments at their times, in file order for equal times."""
    for at, cohort, message in sorted(payments, key=lambda p: p[0]):
        if at > env.now:
            yield env.timeout(at - env.now)
        loop.inject(cohort, message, sender=addresses.SCRIPT)
