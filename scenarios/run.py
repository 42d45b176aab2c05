"""Running a scenario: build the world, drive the delivery loop, check invariants, write the run."""

from __future__ import annotations

import contextlib
import gc
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import simpy

from upisim.actors import codes
from upisim.actors.base import Outbox
from upisim.actors.messages import StartCollects, StartPayment
from upisim.actors.methods import CREDIT_CARD, UPI_COLLECT
from upisim.actors.types import Paise, Vpa
from upisim.actors.user import NOTIFICATION_KINDS
from upisim.scenarios.config import Scenario, ScriptedPayment, resolved_dict
from upisim.scenarios.engine import DeliveryLoop, Faults, Network, arrivals, scripted
from upisim.scenarios.output import (
    ACCOUNTS,
    EVENTS,
    MONEY,
    NOTIFICATIONS,
    TRANSACTIONS,
    TableWriter,
    parquet_to_csv,
)
from upisim.scenarios.world import World, build_world, link_latency

Progress = Callable[[int, int, int], None]
"""``progress(sim_now_ms, sim_end_ms, payments_done)``, called now and then during a run."""


@dataclass(frozen=True)
class RunResult:
    out_dir: Path
    summary: dict[str, Any]

    @property
    def ok(self) -> bool:
        return bool(self.summary["ok"])


class _Tally:
    """Headline figures of the transactions table, read back one row group at a time (so the
    hot loop does no per-row bookkeeping and memory stays bounded by the codes seen)."""

    def __init__(self, parquet: Path) -> None:
        self.by_state: Counter[str] = Counter()
        self.by_code: Counter[str] = Counter()
        self.by_response: Counter[str] = Counter()
        self.latency: Counter[int] = Counter()
        self.flagged = 0
        self.collects: Counter[str] = Counter()  # collect requests by state, and declined (ZA)
        self.refunds: Counter[str] = Counter()  # refunds by state
        self.by_method: Counter[str] = Counter()
        self.net: Counter[str] = Counter()  # per VPA: in - out of the savings account
        self.card: Counter[str] = Counter()  # per VPA: charged - refunded on the credit card
        source = pq.ParquetFile(parquet)
        columns = [
            "kind",
            "method",
            "state",
            "response_code",
            "reason_code",
            "fraud_flags",
            "latency_ms",
            "payer_vpa",
            "payee_vpa",
            "amount_paise",
        ]
        for i in range(source.num_row_groups):
            group = source.read_row_group(i, columns=columns)
            for counter, column in (
                (self.by_state, "state"),
                (self.by_code, "reason_code"),
                (self.by_response, "response_code"),
                (self.latency, "latency_ms"),
                (self.by_method, "method"),
            ):
                for item in pc.value_counts(group[column]).to_pylist():
                    counter[item["values"]] += item["counts"]
            flagged = pc.and_(
                pc.not_equal(group["fraud_flags"], ""),
                pc.not_equal(group["response_code"], codes.RISK_DECLINED),
            )
            self.flagged += pc.sum(flagged).as_py() or 0
            moved = group.filter(pc.is_in(group["state"], pa.array(["SUCCESS", "DEEMED"])))
            # A card payment charges the payer's card; a refund of one pays the card down.
            card = pc.equal(moved["method"], CREDIT_CARD)
            refund = pc.equal(moved["kind"], "REFUND")
            card_out = pc.and_(card, pc.invert(refund))
            card_back = pc.and_(card, refund)
            for side, on_card, counter, sign in (
                ("payer_vpa", card_out, self.card, 1),
                ("payer_vpa", pc.invert(card_out), self.net, -1),
                ("payee_vpa", card_back, self.card, -1),
                ("payee_vpa", pc.invert(card_back), self.net, 1),
            ):
                sums = moved.filter(on_card).group_by(side).aggregate([("amount_paise", "sum")])
                for vpa, amount in zip(
                    sums[side].to_pylist(), sums["amount_paise_sum"].to_pylist(), strict=True
                ):
                    counter[vpa] += sign * amount
            refunds = group.filter(pc.equal(group["kind"], "REFUND"))
            for item in pc.value_counts(refunds["state"]).to_pylist():
                self.refunds[item["values"]] += item["counts"]
            collects = group.filter(pc.equal(group["kind"], "COLLECT"))
            for item in pc.value_counts(collects["state"]).to_pylist():
                self.collects[item["values"]] += item["counts"]
            self.collects["DECLINED"] += (
                pc.sum(pc.equal(collects["reason_code"], codes.DECLINED_BY_CUSTOMER)).as_py() or 0
            )
        self.total = sum(self.by_state.values())

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


@contextlib.contextmanager
def _young_gc_only() -> Iterator[None]:
    """Keep Python's full garbage collections out of the run.

    A world of 100,000 users is millions of long-lived objects; each full
    collection walks all of them, and a run triggered dozens (measured: 40%
    of wall time at 100k users). The world is frozen out of the collector and
    automatic collection is off; the loop collects the young generations now
    and then (cycles are rare: reference counting frees almost everything).
    """
    enabled = gc.isenabled()
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


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


def run_scenario(
    scenario: Scenario,
    out_dir: Path,
    seed: int | None = None,
    csv: bool = False,
    progress: Progress | None = None,
    direct: bool = False,
) -> RunResult:
    """Run ``scenario`` at ``seed`` (default: the scenario's) and write the run folder."""
    return _Run(scenario, out_dir, scenario.seed if seed is None else seed, progress, direct).run(
        csv
    )


class _Run:
    """One run: the world, SimPy, the delivery loop, the writers and the invariant checks."""

    def __init__(
        self, scenario: Scenario, out_dir: Path, seed: int, progress: Progress | None, direct: bool
    ) -> None:
        self.scenario, self.out_dir, self.seed, self.progress = scenario, out_dir, seed, progress
        self.world = world = build_world(scenario, seed)
        latency = _latencies(world, scenario)
        t = scenario.timeouts
        self.window = window = min(*latency.values(), t.auth_ms, t.risk_ms, t.pay_ms, t.reversal_ms)
        self.env = env = simpy.Environment()
        outages: dict[str, list[tuple[int, int]]] = {}
        for o in scenario.faults.outages:
            outages.setdefault(f"bank:{o.bank}", []).append(
                (round(o.from_s * 1000), round(o.to_s * 1000))
            )
        faults = Faults(
            scenario.faults.loss_rate,
            {bank: tuple(spans) for bank, spans in outages.items()},
            scenario.duration_ms if scenario.faults.heal_after_load else None,
        )
        self.network = Network(latency, window, scenario.network.jitter_ms, seed, faults)
        self.loop = loop = DeliveryLoop(world.logics(), self.network, env, direct=direct)
        self.end = end = scenario.duration_ms
        load = scenario.load
        if load.rate_per_s > 0 or any(p.rate_per_s > 0 for p in load.profile):
            shares = [(c.address, float(len(c.users))) for c in world.cohorts]
            env.process(
                arrivals(env, loop, load.rate_at, shares, load.tick_ms or window, end, seed)
            )
        collect = scenario.collect
        # merchants' requests, and people's (P2P collect) for their share: two streams
        for by_people, share in ((False, 1 - collect.p2p_share), (True, collect.p2p_share)):
            rate = collect.rate_per_s * share
            askers = [
                (c.address, float(len(c.persons if by_people else c.merchants)))
                for c in world.cohorts
            ]
            askers = [(address, n) for address, n in askers if n]
            if rate > 0 and askers:
                env.process(
                    arrivals(
                        env,
                        loop,
                        lambda _t, rate=rate: rate,
                        askers,
                        load.tick_ms or window,
                        end,
                        seed,
                        partial(StartCollects, by_people=by_people),
                        "p2p-collects" if by_people else "collects",
                    )
                )
        if scenario.payments:

            def starter(p: ScriptedPayment) -> Vpa:  # a collect request starts at the payee's app
                return Vpa(p.payee if p.method == UPI_COLLECT else p.payer)

            script = [
                (
                    p.at_ms + i * p.every_ms,
                    f"users:{world.cohort_of[starter(p)]}",
                    StartPayment(
                        Vpa(p.payer), Vpa(p.payee), Paise(p.amount), p.pin, p.note, p.method
                    ),
                )
                for p in scenario.payments
                for i in range(p.repeat)
            ]
            env.process(scripted(env, loop, script))

        out_dir.mkdir(parents=True, exist_ok=True)
        resolved = resolved_dict(scenario)
        resolved["seed"] = seed
        (out_dir / "scenario.json").write_text(json.dumps(resolved, indent=2, ensure_ascii=False))
        self.tx = TableWriter(out_dir / "transactions.parquet", TRANSACTIONS)
        self.events = TableWriter(out_dir / "events.parquet", EVENTS)
        self.money = TableWriter(out_dir / "money.parquet", MONEY)
        self.notes = (
            TableWriter(out_dir / "notifications.parquet", NOTIFICATIONS)
            if scenario.notifications.record
            else None
        )

        self.bank_gauges = {bank.address: bank.gauges() for bank in world.banks.values()}
        self.bank_names = {bank.address: code for code, bank in world.banks.items()}
        self.max_deviation = 0
        self.event_kinds: Counter[str] = Counter()
        self.checks = 0
        self.switch_in_flight = 0
        self.next_sample = 0
        self.sim_end = 0
        self.wall = 0.0

    def run(self, csv: bool) -> RunResult:
        wall_start = time.perf_counter()
        self.loop.start()
        try:
            with _young_gc_only():
                self._drive()
        finally:
            self.loop.stop()
            for writer in (self.tx, self.events, self.money, self.notes):
                if writer is not None:
                    writer.close()
        self.wall = time.perf_counter() - wall_start
        if self.progress is not None:
            self.progress(self.end, self.end, self.tx.rows)
        tally = _Tally(self.out_dir / "transactions.parquet")
        self._write_accounts()
        summary = self._summary(tally)
        (self.out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        if csv:
            parquet_to_csv(self.out_dir / "transactions.parquet", self.out_dir / "transactions.csv")
        return RunResult(self.out_dir, summary)

    def _write_accounts(self) -> None:
        """Every user's account at the start and the end: statements start from here."""
        writer = TableWriter(self.out_dir / "accounts.parquet", ACCOUNTS)
        banks = self.world.banks
        for user, opening, new, card_limit in self.world.openings:
            bank = banks[user.bank]
            writer.append(
                (
                    user.vpa,
                    user.name,
                    user.bank,
                    user.account,
                    user.merchant,
                    new,
                    opening,
                    bank.balance(user.account),
                    card_limit,
                    bank.card_outstanding(user.account),
                )
            )
        writer.close()

    def _unreconciled(self, tally: _Tally) -> int:
        """Users whose closing balance is not opening + what the payments they were told
        succeeded brought in - took out, or whose card does not owe what they were told they
        charged to it (invariant 9: reply truth)."""
        banks = self.world.banks
        wrong = 0
        for user, opening, _, _ in self.world.openings:
            bank = banks[user.bank]
            if bank.balance(user.account) != opening + tally.net.get(
                user.vpa, 0
            ) or bank.card_outstanding(user.account) != tally.card.get(user.vpa, 0):
                wrong += 1
        return wrong

    def _drive(self) -> None:
        """Window after window until the load is over and nothing is in flight."""
        window, network, env, loop = self.window, self.network, self.env, self.loop
        drain_end = self.end + self.scenario.drain_limit_s * 1000
        k = 0
        last_progress = time.perf_counter()
        while True:
            if k * window >= self.end and network.in_flight == 0 and self.switch_in_flight == 0:
                break
            # skip empty windows: jump to the next envelope or SimPy event
            due = network.next_window()
            next_event = env.peek()
            if next_event != float("inf"):
                event_window = int(next_event) // window
                due = event_window if due is None else min(due, event_window)
            if due is None:
                break
            k = max(k, due)
            if k * window >= drain_end:
                break
            self._sample_money_until(k * window)
            self._take(loop.step(k))
            k += 1
            windows = loop.stats.windows
            if windows % 1024 == 0:
                gc.collect(1)
            if (
                windows % 32 == 0
                and self.progress is not None
                and time.perf_counter() - last_progress > 0.1
            ):
                last_progress = time.perf_counter()
                self.progress(min(k * window, self.end), self.end, self.tx.count)
        self.sim_end = k * window
        self._sample_money(self.sim_end)

    def _take(self, outboxes: list[tuple[str, Outbox]]) -> None:
        """Stream the rows out; check conservation when a bank's books moved."""
        banks_moved = False
        tx, events, bank_gauges = self.tx, self.events, self.bank_gauges
        for address, out in outboxes:
            for table, row in out.records:
                if table == "transactions":
                    tx.append(row)
                elif table == "notifications":
                    self.notes.append(row)  # type: ignore[union-attr]
                else:
                    events.append(row)
                    self.event_kinds[row[1]] += 1
            if out.gauges is not None:
                if address in bank_gauges:
                    bank_gauges[address] = out.gauges  # type: ignore[assignment]
                    banks_moved = True
                elif address == "switch":
                    self.switch_in_flight = out.gauges[0]
        if banks_moved:
            self.checks += 1
            total = sum(c + s - o for c, s, o in bank_gauges.values())
            self.max_deviation = max(self.max_deviation, abs(total - self.world.money_start))

    def _sample_money_until(self, now: int) -> None:
        while self.next_sample <= now:
            self._sample_money(self.next_sample)
            self.next_sample += 1000

    def _sample_money(self, at: int) -> None:
        for address in sorted(self.bank_gauges):
            self.money.append((at, self.bank_names[address], *self.bank_gauges[address]))

    def _summary(self, tally: _Tally) -> dict[str, Any]:
        world, wall, stats = self.world, self.wall, self.loop.stats
        money_start = world.money_start
        money_end = sum(c + s - o for c, s, o in self.bank_gauges.values())
        in_flight_money = sum(s for _, s, _ in self.bank_gauges.values())
        notifications: Counter[str] = Counter()
        for cohort in world.cohorts:
            notifications.update(cohort.notifications)
        stuck = self.switch_in_flight
        summary: dict[str, Any] = {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "users": len(world.users),
            "banks": sorted(world.banks),
            "user_actors": len(world.cohorts),
            "window_ms": self.window,
            "sim_duration_ms": self.sim_end,
            "load_duration_ms": self.end,
            "wall_seconds": round(wall, 3),
            "money_start_paise": money_start,
            "money_end_paise": money_end,
            "money_in_flight_end_paise": in_flight_money,
            "conservation_max_deviation_paise": self.max_deviation,
            "conservation_checks": self.checks,
            "payments_total": tally.total,
            "payments_by_state": dict(sorted(tally.by_state.items())),
            "payments_by_code": dict(sorted(tally.by_code.items())),
            "payments_by_response_code": dict(sorted(tally.by_response.items())),
            "code_meanings": {
                code: codes.describe(code) for code in sorted(tally.by_code | tally.by_response)
            },
            "payments_per_wall_second": round(tally.total / wall, 1) if wall > 0 else 0.0,
            "envelopes": stats.delivered,
            "messages_dropped": self.network.dropped,
            "envelopes_per_wall_second": round(stats.delivered / wall, 1) if wall > 0 else 0.0,
            "windows": stats.windows,
            "wakeups": stats.wakeups,
            "latency_ms": tally.percentiles(),
            "fraud_flagged": tally.flagged,
            "fraud_declined": tally.by_response.get(codes.RISK_DECLINED, 0),
            "rate_limit_hits": self.event_kinds["RATE_LIMIT"],
            "collects_created": tally.collects.total() - tally.collects["DECLINED"],
            "collects_approved": tally.collects["SUCCESS"],
            "collects_declined": tally.collects["DECLINED"],
            "collects_expired": tally.collects["EXPIRED"],
            "refunds": tally.refunds["SUCCESS"],
            "refunds_failed": tally.refunds["FAILED"],
            "reversals": self.event_kinds["REVERSAL"],
            "deemed": tally.by_state.get("DEEMED", 0),
            "payments_by_method": dict(sorted(tally.by_method.items())),
            "card_outstanding_end_paise": sum(o for _, _, o in self.bank_gauges.values()),
            "notifications": {kind: notifications[kind] for kind in NOTIFICATION_KINDS},
            "events_by_kind": dict(sorted(self.event_kinds.items())),
            "late_messages": world.switch.late_messages,
            "events": self.events.rows,
            "stuck_payments": stuck,
            "executor": "direct" if self.loop.direct else "pykka",
            "pinned_cpu": self.loop.pinned_cpu,
        }
        problems = []
        unreconciled = self._unreconciled(tally)
        summary["accounts_unreconciled"] = unreconciled
        if unreconciled:
            problems.append(
                f"{unreconciled} account(s) do not match the payments their owners were told about"
            )
        if self.max_deviation:
            problems.append(f"conservation broken: money moved by up to {self.max_deviation} paise")
        if money_end != money_start:
            problems.append(f"money at end {money_end} != money at start {money_start} paise")
        if stuck:
            problems.append(f"{stuck} payment(s) still in flight after the drain limit")
        if not stuck and in_flight_money:
            problems.append(f"{in_flight_money} paise left in settlement with no payment in flight")
        summary["problems"] = problems
        summary["ok"] = not problems
        return summary
