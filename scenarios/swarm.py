"""What a chaos seed draws: its population, load and faults, and their rates.

Each seed draws a scenario of its own (swarm testing, after TigerBeetle's VOPR): the
faults and how often they strike, the capacity of one bank's core banking, of the switch
or the apps' servers, and the settlement cycles and a net debit cap. ``upisim chaos``
runs and audits them.
"""

from __future__ import annotations

import random
from typing import Any

from upisim.actors import addresses
from upisim.actors.base import derive_seed
from upisim.scenarios.sections import DEFAULT_BANKS, CapacityConfig

BANKS = tuple(b.code for b in DEFAULT_BANKS)


def draw(seed: int) -> tuple[dict[str, Any], list[str]]:
    """The scenario of ``seed`` and the kinds of fault it injects."""
    r = random.Random(derive_seed(seed, "chaos"))
    faults: list[str] = []
    duration = r.choice((10, 20))
    outages: list[dict[str, Any]] = []
    for _ in range(r.choice((0, 1, 1, 2))):
        start = round(r.uniform(0, duration), 1)
        length = r.choice((2, 20, 180, 1800))
        outage = {"bank": r.choice(BANKS), "from_s": start, "to_s": start + length}
        if r.random() < 0.3:  # an asymmetric partition: requests arrive, replies are lost
            outage["lose"] = "replies"
            faults.append("replies_lost")
        outages.append(outage)
        faults.append("outage_long" if length >= 180 else "outage_short")
    # loss must heal for payments to reach a known outcome; an outage may outlast the load
    loss = r.choice((0.0, 0.0, 0.05, 0.3))
    app_loss = r.choice((0.0, 0.0, 0.05, 0.3))  # apps find out by their status checks
    heal = loss > 0 or app_loss > 0 or r.random() < 0.5
    if heal and outages:
        faults.append("heal_after_load")
    if loss:
        faults.append("loss")
    if app_loss:
        faults.append("app_loss")
    last_dark = max((o["to_s"] for o in outages), default=0)
    scenario: dict[str, Any] = {
        "name": f"chaos-{seed}",
        "seed": seed,
        "duration_s": duration,
        "drain_limit_s": int(max(last_dark - duration, 0)) + 1200,
        "population": {
            "size": r.choice((200, 400)),
            "balance_median": r.choice(("500.00", "3000.00")),
            "merchant_share": r.choice((0.0, 0.2)),
        },
        "load": {"rate_per_s": r.choice((10, 30))},
        "network": {"jitter_ms": r.choice((0, 0, 40, 3000))},
        "faults": {
            "loss_rate": loss,
            "app_loss_rate": app_loss,
            "outages": outages,
            "heal_after_load": heal,
        },
    }
    if r.random() < 0.3:  # an actor crashes and restarts from its journal
        actor = r.choice(
            (addresses.SWITCH, addresses.FRAUD, addresses.users(0), *map(addresses.bank, BANKS))
        )
        at = round(r.uniform(0, duration - 1), 1)
        point = r.choice(("before_commit", "after_commit"))
        down = r.choice((0.5, 5, 60))
        scenario["faults"]["crashes"] = [
            {"actor": actor, "at_s": at, "down_s": down, "point": point}
        ]
        faults.append("crash")
    if r.random() < 0.3:  # replays: every actor must tell a copy from a new message
        scenario["faults"]["duplicate_rate"] = r.choice((0.05, 0.5))
        scenario["faults"]["replay_max_ms"] = r.choice((50, 5_000))
        faults.append("duplication")
    if scenario["network"]["jitter_ms"]:
        faults.append("jitter")
    if r.random() < 0.2:
        start = round(r.uniform(0, duration), 1)
        scenario["faults"]["fraud_down"] = [{"from_s": start, "to_s": start + r.choice((5, 60))}]
        faults.append("fraud_down")
    if r.random() < 0.3:
        start = round(r.uniform(0, duration), 1)
        slow = {"bank": r.choice(BANKS), "from_s": start, "to_s": start + r.choice((3, 30))}
        scenario["faults"]["delays"] = [{**slow, "extra_ms": r.choice((500, 5_000, 20_000))}]
        faults.append("slow_bank")
    if r.random() < 0.3:
        scenario["load"]["wrong_pin_rate"] = 0.3
        faults.append("wrong_pin_storm")
    if r.random() < 0.3:
        timeouts = {"pay_ms": 2000, "reversal_ms": 500, "auth_ms": 2000, "risk_ms": 2000}
        scenario["timeouts"] = timeouts
        faults.append("short_timeouts")
    if scenario["population"]["merchant_share"] and r.random() < 0.5:
        scenario["refunds"] = {"share": 0.3, "after_s": r.choice((2, 60))}
        scenario["load"]["p2m_share"] = 0.5
        faults.append("refunds")
    if r.random() < 0.3:  # one bank's core banking saturates, slows, goes offline, loses workers
        _draw_core(r, scenario, faults)
    if r.random() < 0.3:  # settlement cycles close mid-run; a bank's net debit cap binds
        _draw_settlement(r, scenario, faults)
    if r.random() < 0.2:  # the switch's or the apps' servers saturate
        place = r.choice(tuple(CapacityConfig.model_fields))  # the switch, or the apps
        service = {"median_ms": r.choice((20, 200)), "spread": r.choice((0.0, 0.8))}
        server: dict[str, Any] = {"workers": r.choice((1, 4)), "request": service}
        if r.random() < 0.5:
            server["queue_limit"] = r.choice((0, 20))
        if place == "psp" and r.random() < 0.5:  # slow lookups, not a server swamped: U09
            slow = {"median_ms": r.choice((3_000, 9_000)), "spread": 0.5}
            server = {"workers": 1_000, "lookup": slow}
        scenario["capacity"] = {place: server}
        faults.append(f"{place}_capacity")
    if scenario["population"]["merchant_share"] and r.random() < 0.25:  # fraud, laundered
        few = {"cases": 1, "payments": [3, 8]}
        scenario["fraud_typologies"] = {
            "authorised_push": {"cases": r.choice((1, 3))},
            "account_takeover": {"cases": 1},
            "collect_scam": few,
            "qr_merchant": few,
            "card_testing": {"cases": 0},  # the population holds no cards
            "mule_network": {"delay_s": r.choice((2, 60))},
        }
        faults.append("fraud")
    if r.random() < 0.3:  # the switch pays payees it resolved lately without asking again
        scenario["network"]["mapper_s"] = r.choice((2, 600))
        faults.append("mapper")
    return scenario, faults


def _draw_core(r: random.Random, scenario: dict[str, Any], faults: list[str]) -> None:
    bank, duration = r.choice(BANKS), scenario["duration_s"]
    service = {"median_ms": r.choice((20, 300)), "spread": r.choice((0.0, 0.8))}
    core: dict[str, Any] = {"workers": r.choice((1, 2, 8)), "debit": service, "credit": service}
    faults.append("saturated_core")
    if r.random() < 0.5:
        core["queue_limit"] = r.choice((0, 5, 50))
        faults.append("queue_limit")
    _bank(scenario, bank)["core"] = core
    start = round(r.uniform(0, duration), 1)
    window = {"bank": bank, "from_s": start, "to_s": start + r.choice((2, 30))}
    kind = r.choice(("core_slow", "core_offline", "core_cuts", ""))
    if kind == "core_slow":
        scenario["faults"][kind] = [{**window, "factor": r.choice((5, 100))}]
    elif kind == "core_offline":
        scenario["faults"][kind] = [window]
    elif kind == "core_cuts":
        scenario["faults"][kind] = [{**window, "workers": 1}]
    if kind:
        faults.append(kind)


def _draw_settlement(r: random.Random, scenario: dict[str, Any], faults: list[str]) -> None:
    scenario["settlement"] = {"cycle_s": r.choice((0.5, 3, 7))}
    faults.append("settlement_cycles")
    if r.random() < 0.7:
        _bank(scenario, r.choice(BANKS))["net_debit_cap"] = r.choice(("100.00", "2000.00"))
        faults.append("net_debit_cap")


def _bank(scenario: dict[str, Any], code: str) -> dict[str, Any]:
    """``code``'s entry in the scenario's banks (the default three, made explicit)."""
    banks = scenario.setdefault(
        "banks", [{"code": b.code, "handle": b.handle} for b in DEFAULT_BANKS]
    )
    return next(b for b in banks if b["code"] == code)
