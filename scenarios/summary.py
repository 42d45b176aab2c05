"""The run's summary.json: headline figures read back from the tables it wrote, plus the
delivery loop's counters and the invariant checks' verdict."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from upisim.actors import codes
from upisim.runfolder import Kind, Notice, State
from upisim.scenarios.checks import Ledger, Moved, problems, unreconciled
from upisim.scenarios.config import Scenario
from upisim.scenarios.engine import LoopStats
from upisim.scenarios.world import World


class Tally:
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
        self.by_decline: Counter[str] = Counter()  # BD / TD, as the table says
        source = pq.ParquetFile(parquet)
        columns = [
            "kind",
            "method",
            "state",
            "response_code",
            "reason_code",
            "decline_type",
            "fraud_flags",
            "latency_ms",
        ]
        for i in range(source.num_row_groups):
            group = source.read_row_group(i, columns=columns)
            for counter, column in (
                (self.by_state, "state"),
                (self.by_code, "reason_code"),
                (self.by_response, "response_code"),
                (self.latency, "latency_ms"),
                (self.by_method, "method"),
                (self.by_decline, "decline_type"),
            ):
                for item in pc.value_counts(group[column]).to_pylist():
                    counter[item["values"]] += item["counts"]
            flagged = pc.and_(
                pc.not_equal(group["fraud_flags"], ""),
                pc.not_equal(group["response_code"], codes.RISK_DECLINED),
            )
            self.flagged += pc.sum(flagged).as_py() or 0
            refunds = group.filter(pc.equal(group["kind"], Kind.REFUND))
            for item in pc.value_counts(refunds["state"]).to_pylist():
                self.refunds[item["values"]] += item["counts"]
            collects = group.filter(pc.equal(group["kind"], Kind.COLLECT))
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


class Facts(NamedTuple):
    """What the run knows at its end, besides its tables."""

    scenario: Scenario
    seed: int
    world: World
    ledger: Ledger
    stats: LoopStats
    window_ms: int
    sim_end_ms: int
    wall_seconds: float  # the delivery loop's
    build_seconds: float  # the world, its network and load, before the loop
    messages_dropped: int
    messages_duplicated: int
    event_kinds: Counter[str]
    events: int  # rows of the events table
    stuck: int  # payments the switch still holds
    envelopes_left: int  # messages still in flight when the run stopped
    actors_waiting: list[str]  # actors still holding a timer when the run stopped
    executor: str
    pinned_cpu: int | None
    delivery: str  # "grouped", or "reference": every envelope on its own


def timing(facts: Facts, tally: Tally) -> dict[str, Any]:
    """How long the run took and how it was run: the one part of summary.json that differs
    between two runs of the same seed (``wrap_up_seconds`` is added as the summary is
    written)."""
    wall, delivered = facts.wall_seconds, facts.stats.delivered
    return {
        "build_seconds": round(facts.build_seconds, 3),
        "wall_seconds": round(wall, 3),
        "payments_per_wall_second": round(tally.total / wall, 1) if wall > 0 else 0.0,
        "envelopes_per_wall_second": round(delivered / wall, 1) if wall > 0 else 0.0,
        "executor": facts.executor,
        "pinned_cpu": facts.pinned_cpu,
        "delivery": facts.delivery,
    }


def summarize(facts: Facts, tally: Tally, accounts: pa.Table, moves: Moved) -> dict[str, Any]:
    """summary.json's figures (docs/run-folder.md), ending with ``problems`` and ``ok``; how
    long it took is apart, in :func:`timing`."""
    world, stats, ledger = facts.world, facts.stats, facts.ledger
    kinds = facts.event_kinds
    legs_held = {code: b.open_legs for code, b in sorted(world.banks.items()) if b.open_legs}
    notifications: Counter[str] = Counter()
    for cohort in world.cohorts:
        notifications.update(cohort.notifications)
    summary: dict[str, Any] = {
        "scenario": facts.scenario.name,
        "seed": facts.seed,
        "users": len(world.users),
        "banks": sorted(world.banks),
        "user_actors": len(world.cohorts),
        "window_ms": facts.window_ms,
        "sim_duration_ms": facts.sim_end_ms,
        "load_duration_ms": facts.scenario.duration_ms,
        "money_start_paise": ledger.money_start,
        "money_end_paise": ledger.total,
        "money_in_flight_end_paise": ledger.in_settlement,
        "conservation_max_deviation_paise": ledger.max_deviation,
        "conservation_checks": ledger.checks,
        "payments_total": tally.total,
        "payments_by_state": dict(sorted(tally.by_state.items())),
        "payments_by_code": dict(sorted(tally.by_code.items())),
        "payments_by_response_code": dict(sorted(tally.by_response.items())),
        "payments_by_decline_type": {k: tally.by_decline[k] for k in (codes.BD, codes.TD)},
        "code_meanings": {
            code: codes.describe(code) for code in sorted(tally.by_code | tally.by_response)
        },
        "envelopes": stats.delivered,
        "messages_dropped": facts.messages_dropped,
        "messages_duplicated": facts.messages_duplicated,
        "windows": stats.windows,
        "wakeups": stats.wakeups,
        "latency_ms": tally.percentiles(),
        "fraud_flagged": tally.flagged,
        "fraud_declined": tally.by_response.get(codes.RISK_DECLINED, 0),
        "rate_limit_hits": kinds["RATE_LIMIT"],
        "collects_created": tally.collects.total() - tally.collects["DECLINED"],
        "collects_approved": tally.collects[State.SUCCESS],
        "collects_declined": tally.collects["DECLINED"],
        "collects_expired": tally.collects[State.EXPIRED],
        "refunds": tally.refunds[State.SUCCESS],
        "refunds_failed": tally.refunds[State.FAILED],
        "reversals": kinds["REVERSAL"],
        "deemed": tally.by_state.get(State.DEEMED, 0),
        "payments_by_method": dict(sorted(tally.by_method.items())),
        "card_outstanding_end_paise": ledger.card_outstanding,
        "notifications": {kind: notifications[kind] for kind in Notice.ALL},
        "events_by_kind": dict(sorted(kinds.items())),
        "late_messages": world.switch.late_messages,
        "mapper_hits": world.switch.mapper_hits,
        "settlement_cycles": world.switch.net.closed,
        "largest_net_debit_paise": world.switch.net.largest_debit,
        "settlement_files_resent": world.switch.files_resent,
        "legs_held_end": legs_held,
        "events": facts.events,
        "stuck_payments": facts.stuck,
        "envelopes_left": facts.envelopes_left,
        "actors_waiting": facts.actors_waiting,
    }
    wrong = unreconciled(accounts, moves)
    summary["accounts_unreconciled"] = wrong
    summary["problems"] = found = problems(
        ledger,
        wrong,
        facts.stuck,
        facts.envelopes_left,
        facts.actors_waiting,
        sum(legs_held.values()),
    )
    summary["ok"] = not found
    return summary
