"""Running a scenario: build the world, drive the delivery loop, check invariants, write the run."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import simpy

from actors import codes
from actors.messages import StartPayment
from actors.switch import TRANSACTION_COLUMNS
from actors.types import Paise, Vpa
from scenarios.config import Scenario, resolved_dict
from scenarios.engine import DeliveryLoop, Network, arrivals, scripted
from scenarios.output import EVENTS, MONEY, TRANSACTIONS, TableWriter, parquet_to_csv
from scenarios.world import World, build_world, link_latency

Progress = Callable[[int, int, int], None]
"""``progress(sim_now_ms, sim_end_ms, payments_done)``, called now and then during a run."""

_COL = {name: i for i, name in enumerate(TRANSACTION_COLUMNS)}
_STATE, _CODE, _REASON, _FLAGS, _LATENCY = (_COL["state"], _COL["response_code"],
                                            _COL["reason_code"], _COL["fraud_flags"],
                                            _COL["latency_ms"])


@dataclass(frozen=True)
class RunResult:
    out_dir: Path
    summary: dict[str, Any]

    @property
    def ok(self) -> bool:
        return bool(self.summary["ok"])


class _Tally:
    """Headline figures from transaction rows as they stream past: memory bounded by codes."""

    def __init__(self) -> None:
        self.total = 0
        self.by_state: Counter[str] = Counter()
        self.by_code: Counter[str] = Counter()
        self.by_response: Counter[str] = Counter()
        self.latency: Counter[int] = Counter()
        self.flagged = 0

    def add(self, row: tuple[Any, ...]) -> None:
        self.total += 1
        self.by_state[row[_STATE]] += 1
        self.by_code[row[_REASON]] += 1
        self.by_response[row[_CODE]] += 1
        self.latency[row[_LATENCY]] += 1
        if row[_FLAGS] and row[_CODE] != codes.RISK_DECLINED:
            self.flagged += 1

    def percentiles(self) -> dict[str, int]:
        if not self.total:
            return {"p50": 0, "p95": 0, "p99": 0, "max": 0}
        out: dict[str, int] = {}
        targets = [("p50", 0.50), ("p95", 0.95), ("p99", 0.99)]
        seen = 0
        for value in sorted(self.latency):
            seen += self.latency[value]
            while targets and seen >= targets[0][1] * self.total:
                out[targets.pop(0)[0]] = value
        out["max"] = max(self.latency)
        return out


def _latencies(world: World, scenario: Scenario) -> dict[tuple[str, str], int]:
    addresses = [logic.address for logic in world.logics()]
    latency: dict[tuple[str, str], int] = {}
    for a in addresses:
        for b in addresses:
            try:
                latency[a, b] = link_latency(scenario, a, b)
            except ValueError:
                continue
    return latency


def run_scenario(scenario: Scenario, out_dir: Path, seed: int | None = None, csv: bool = False,
                 progress: Progress | None = None, direct: bool = False) -> RunResult:
    """Run ``scenario`` at ``seed`` (default: the scenario's) and write the run folder."""
    seed = scenario.seed if seed is None else seed
    world = build_world(scenario, seed)
    latency = _latencies(world, scenario)
    t = scenario.timeouts
    window = min(*latency.values(), t.auth_ms, t.risk_ms, t.pay_ms, t.reversal_ms)
    env = simpy.Environment()
    network = Network(latency, window, scenario.network.jitter_ms, seed)
    loop = DeliveryLoop(world.logics(), network, env, direct=direct)

    end = scenario.duration_ms
    load = scenario.load
    if load.rate_per_s > 0 or any(p.rate_per_s > 0 for p in load.profile):
        shares = [(c.address, float(len(c.users))) for c in world.cohorts]
        env.process(arrivals(env, loop, load.rate_at, shares, load.tick_ms or window, end, seed))
    if scenario.payments:
        script = [(p.at_ms, f"users:{world.cohort_of[Vpa(p.payer)]}",
                   StartPayment(Vpa(p.payer), Vpa(p.payee), Paise(p.amount), p.pin, p.note))
                  for p in scenario.payments]
        env.process(scripted(env, loop, script))

    out_dir.mkdir(parents=True, exist_ok=True)
    resolved = resolved_dict(scenario)
    resolved["seed"] = seed
    (out_dir / "scenario.json").write_text(json.dumps(resolved, indent=2, ensure_ascii=False))
    tx = TableWriter(out_dir / "transactions.parquet", TRANSACTIONS)
    events = TableWriter(out_dir / "events.parquet", EVENTS)
    money = TableWriter(out_dir / "money.parquet", MONEY)

    tally = _Tally()
    bank_gauges = {bank.address: bank.gauges() for bank in world.banks.values()}
    bank_names = {bank.address: code for code, bank in world.banks.items()}
    money_start = world.money_start
    max_deviation = 0
    checks = 0
    switch_in_flight = 0
    drain_end = end + scenario.drain_limit_s * 1000
    next_sample = 0
    k = 0
    wall_start = time.perf_counter()
    last_progress = wall_start

    def sample(at: int) -> None:
        for address in sorted(bank_gauges):
            customers, settlement = bank_gauges[address]
            money.append((at, bank_names[address], customers, settlement))

    loop.start()
    try:
        while True:
            now = k * window
            if now >= end and network.in_flight == 0 and switch_in_flight == 0:
                break
            nk = network.next_window()
            ne = env.peek()
            candidates = [x for x in (nk, None if ne == float("inf") else int(ne) // window)
                          if x is not None]
            if not candidates:
                break
            k = max(k, min(candidates))
            if k * window >= drain_end:
                break
            while next_sample <= k * window:
                sample(next_sample)
                next_sample += 1000
            banks_moved = False
            for address, out in loop.step(k):
                for table, row in out.records:
                    if table == "transactions":
                        tx.append(row)
                        tally.add(row)
                    else:
                        events.append(row)
                if out.gauges is not None:
                    if address in bank_gauges:
                        bank_gauges[address] = out.gauges  # type: ignore[assignment]
                        banks_moved = True
                    elif address == "switch":
                        switch_in_flight = out.gauges[0]
            if banks_moved:
                checks += 1
                total = sum(c + s for c, s in bank_gauges.values())
                max_deviation = max(max_deviation, abs(total - money_start))
            k += 1
            if progress is not None and loop.stats.windows % 64 == 0:
                wall = time.perf_counter()
                if wall - last_progress > 0.1:
                    last_progress = wall
                    progress(min(k * window, end), end, tally.total)
        sim_end = k * window
        sample(sim_end)
    finally:
        loop.stop()
        for writer in (tx, events, money):
            writer.close()
    wall = time.perf_counter() - wall_start
    if progress is not None:
        progress(end, end, tally.total)

    money_end = sum(c + s for c, s in bank_gauges.values())
    in_flight_money = sum(s for _, s in bank_gauges.values())
    stuck = switch_in_flight
    summary: dict[str, Any] = {
        "scenario": scenario.name,
        "seed": seed,
        "users": len(world.users),
        "banks": sorted(world.banks),
        "user_actors": len(world.cohorts),
        "window_ms": window,
        "sim_duration_ms": sim_end,
        "load_duration_ms": end,
        "wall_seconds": round(wall, 3),
        "money_start_paise": money_start,
        "money_end_paise": money_end,
        "money_in_flight_end_paise": in_flight_money,
        "conservation_max_deviation_paise": max_deviation,
        "conservation_checks": checks,
        "payments_total": tally.total,
        "payments_by_state": dict(sorted(tally.by_state.items())),
        "payments_by_code": dict(sorted(tally.by_code.items())),
        "payments_by_response_code": dict(sorted(tally.by_response.items())),
        "payments_per_wall_second": round(tally.total / wall, 1) if wall > 0 else 0.0,
        "envelopes": loop.stats.delivered,
        "envelopes_per_wall_second": round(loop.stats.delivered / wall, 1) if wall > 0 else 0.0,
        "windows": loop.stats.windows,
        "wakeups": loop.stats.wakeups,
        "latency_ms": tally.percentiles(),
        "fraud_flagged": tally.flagged,
        "fraud_declined": tally.by_response.get(codes.RISK_DECLINED, 0),
        "late_messages": world.switch.late_messages,
        "events": events.rows,
        "stuck_payments": stuck,
        "executor": "direct" if direct else "pykka",
    }
    problems = []
    if max_deviation:
        problems.append(f"conservation broken: money moved by up to {max_deviation} paise")
    if money_end != money_start:
        problems.append(f"money at end {money_end} != money at start {money_start} paise")
    if stuck:
        problems.append(f"{stuck} payment(s) still in flight after the drain limit")
    if not stuck and in_flight_money:
        problems.append(f"{in_flight_money} paise left in settlement with no payment in flight")
    summary["problems"] = problems
    summary["ok"] = not problems
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if csv:
        parquet_to_csv(out_dir / "transactions.parquet", out_dir / "transactions.csv")
    return RunResult(out_dir, summary)
