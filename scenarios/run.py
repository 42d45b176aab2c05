"""Running a scenario: build the world, drive the delivery loop, stream the tables, sum up.

A run is a pure function of (scenario, seed): :func:`run_scenario` builds the
world (:mod:`.world`), its network (:mod:`.network`) and load (:mod:`.load`),
drives the delivery loop (:mod:`.engine`) window after window, streams every
row the actors record to its table, checks conservation as it goes
(:mod:`.checks`) and writes summary.json (:mod:`.summary`).
"""

from __future__ import annotations

import contextlib
import gc
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import simpy
import tomli_w

from upisim.actors.bank import Books
from upisim.actors.base import Outbox
from upisim.actors.errors import ScenarioError
from upisim.actors.switch import SwitchLoad
from upisim.actors.types import Address
from upisim.runfolder import (
    EventRow,
    FraudTruthRow,
    MoneyRow,
    Notification,
    QueueRow,
    SettlementRow,
    TraceRow,
    TransactionRow,
)
from upisim.scenarios.calibration import compare, measure
from upisim.scenarios.checks import RECONCILED, Ledger, account_chunks, moved
from upisim.scenarios.config import Scenario, load_scenario, resolve_path, resolved_dict
from upisim.scenarios.engine import DeliveryLoop
from upisim.scenarios.load import start_load
from upisim.scenarios.network import build_network
from upisim.scenarios.output import (
    ACCOUNTS,
    CHUNK_ROWS,
    SERIES_CHUNK_ROWS,
    TableWriter,
    arrow_schema,
    parquet_to_csv,
    parquet_writer,
)
from upisim.scenarios.summary import Facts, Tally, summarize, timing
from upisim.scenarios.trace import Tracer, picker
from upisim.scenarios.world import build_world

#: the transactions columns the fraud scores read
SCORED = ["txn_id", "state", "response_code", "reason_code", "fraud_flags", "amount_paise"]

Progress = Callable[[int, int, int], None]
"""``progress(sim_now_ms, sim_end_ms, payments_done)``, called now and then during a run."""


@dataclass(frozen=True)
class RunResult:
    out_dir: Path
    summary: dict[str, Any]

    @property
    def ok(self) -> bool:
        return bool(self.summary["ok"])


@contextlib.contextmanager
def _young_gc_only() -> Iterator[None]:
    """Keep Python's full garbage collections out of the run, from the build to the wrap-up.

    A world of a million users is millions of long-lived objects; each full collection
    walks all of them, and building one triggered dozens (measured at 1M users: the build
    took 20 s with the collector on, 12 s with it off; at 100k users the loop lost 40% of
    its wall time to them). Automatic collection is off for the whole run; the world, once
    built, is frozen out of the collector (:meth:`_Run.run`) and the loop collects the young
    generations now and then (cycles are rare: reference counting frees almost everything).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


def run_scenario(
    scenario: Scenario | str | Path,
    out_dir: str | Path,
    seed: int | None = None,
    csv: bool = False,
    progress: Progress | None = None,
    direct: bool = False,
    reference: bool = False,
) -> RunResult:
    """Run ``scenario`` (a :class:`Scenario`, a scenario file or a bundled scenario's name) at
    ``seed`` (default: the scenario's) and write the run folder ``out_dir``."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(resolve_path(str(scenario)))
    with _young_gc_only():
        run = _Run(
            scenario,
            Path(out_dir),
            scenario.seed if seed is None else seed,
            progress,
            direct,
            reference,
        )
        return run.run(csv)


class _Run:
    """One run: the world, SimPy, the delivery loop, the table writers and the ledger."""

    def __init__(
        self,
        scenario: Scenario,
        out_dir: Path,
        seed: int,
        progress: Progress | None,
        direct: bool,
        reference: bool,
    ) -> None:
        self.scenario, self.out_dir, self.seed, self.progress = scenario, out_dir, seed, progress
        build_start = time.perf_counter()
        self.world = world = build_world(scenario, seed)
        self.network = build_network(scenario, world, seed)
        self.window = self.network.window
        self.env = simpy.Environment()
        self.loop = DeliveryLoop(
            world.logics(), self.network, self.env, direct=direct, reference=reference
        )
        self.end = scenario.duration_ms
        start_load(self.env, self.loop, scenario, world, seed)
        self._schedule_crashes()

        out_dir.mkdir(parents=True, exist_ok=True)
        resolved = resolved_dict(scenario)
        resolved["seed"] = seed
        (out_dir / "scenario.json").write_text(json.dumps(resolved, indent=2, ensure_ascii=False))
        (out_dir / "scenario.toml").write_text(
            f"# The resolved scenario of this run: `upisim run {out_dir}/scenario.toml` runs "
            f"it again, byte for byte.\n" + tomli_w.dumps(resolved),
            encoding="utf-8",
        )
        self.tx = self._writer("transactions", TransactionRow)
        self.events = self._writer("events", EventRow)
        # a few rows a simulated second each: a smaller row group, or a day's slow run would
        # hold hours of them (~300 B a row) before its first group is written
        self.money = self._writer("money", MoneyRow, SERIES_CHUNK_ROWS)
        self.queues = self._writer("queues", QueueRow, SERIES_CHUNK_ROWS)
        self.settlement = self._writer("settlement", SettlementRow)
        self.truth = self._writer("fraud_truth", FraudTruthRow)
        self.notes = (
            self._writer("notifications", Notification) if scenario.notifications.record else None
        )
        self.trace = self._writer("trace", TraceRow) if scenario.trace.on else None
        if self.trace is not None:
            self.loop.tracer = Tracer(picker(scenario.trace), self.trace.append)
        self.ledger = Ledger(world)
        self.event_kinds: Counter[str] = Counter()
        self.switch_in_flight = 0
        self.next_sample = 0
        self.sim_end = 0
        self.wall = 0.0
        self.build = time.perf_counter() - build_start

    def _schedule_crashes(self) -> None:
        """Each crash strikes when the scenario says; the restart policy brings the actor
        back ``down_s`` later, or when faults heal after the load, whichever is first."""
        faults = self.scenario.faults
        for c in faults.crashes:
            if c.actor not in self.loop.logics:
                raise ScenarioError(
                    f"faults.crashes: no actor {c.actor!r} in this run (its actors: "
                    f"{', '.join(sorted(self.loop.logics))})"
                )
            self.loop.journal(c.actor)
            at = round(c.at_s * 1000)
            back = at + round(c.down_s * 1000)
            if faults.heal_after_load:
                back = min(back, max(self.end, at + 1))
            self.loop.crash_in(c.actor, at, c.point)
            self.loop.restart_in(c.actor, back)

    def _writer(
        self, stem: str, row: type[tuple[Any, ...]], chunk_rows: int = CHUNK_ROWS
    ) -> TableWriter:
        return TableWriter(self.out_dir / f"{stem}.parquet", arrow_schema(row), chunk_rows)

    def run(self, csv: bool) -> RunResult:
        wall_start = time.perf_counter()
        self.loop.start()
        gc.freeze()  # the world lives as long as the run: no collection need walk it
        try:
            self._drive()
        finally:
            self.loop.stop()
            if self.loop.tracer is not None:
                self.loop.tracer.close()
            for writer in (
                self.tx,
                self.events,
                self.money,
                self.queues,
                self.settlement,
                self.truth,
                self.notes,
                self.trace,
            ):
                if writer is not None:
                    writer.close()
        wrap_up_start = time.perf_counter()
        self.wall = wrap_up_start - wall_start
        if self.progress is not None:
            self.progress(self.end, self.end, self.tx.rows)
        tally = Tally(self.out_dir / "transactions.parquet")
        accounts = self._write_accounts()
        moves = moved(self.out_dir / "transactions.parquet", accounts, len(self.scenario.users))
        facts = self._facts()
        summary = summarize(facts, tally, accounts, moves)
        more: dict[str, Any] = {}  # figures read back from the tables just written
        if self.truth.rows:  # scored against the ground truth (nothing to score without it)
            from upisim.reports import fraud  # the report's package: only when there is fraud

            tx = pd.read_parquet(self.out_dir / "transactions.parquet", columns=SCORED)
            truth = pd.read_parquet(self.out_dir / "fraud_truth.parquet")
            events = pd.read_parquet(self.out_dir / "events.parquet", columns=["kind", "value"])
            more |= fraud.figures(tx, truth) | fraud.frozen(events)
        if self.scenario.calibration is not None:
            more["calibration"] = compare(measure(self.out_dir, self.scenario), self.scenario)
        # everything that differs between two runs of one seed is in ``timing``, last but the
        # verdict: the rest of the summary is the run's result
        more["timing"] = timing(facts, tally)
        more["timing"]["wrap_up_seconds"] = round(time.perf_counter() - wrap_up_start, 3)
        verdict = {key: summary.pop(key) for key in ("problems", "ok")}
        summary |= more | verdict
        (self.out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        if csv:
            parquet_to_csv(self.out_dir / "transactions.parquet", self.out_dir / "transactions.csv")
        return RunResult(self.out_dir, summary)

    def _facts(self) -> Facts:
        loop = self.loop
        return Facts(
            self.scenario,
            self.seed,
            self.world,
            self.ledger,
            loop.stats,
            self.window,
            self.sim_end,
            self.wall,
            self.build,
            self.network.dropped,
            self.network.duplicated,
            self.event_kinds,
            self.events.rows,
            self.switch_in_flight,
            self.network.in_flight,
            loop.actors_waiting,
            "direct" if loop.direct else "pykka",
            loop.pinned_cpu,
            "reference" if loop.reference else "grouped",
        )

    def _write_accounts(self) -> pa.Table:
        """Every user's account at the start and the end: statements start from here, and
        reply truth is checked from the table as written."""
        path = self.out_dir / "accounts.parquet"
        with parquet_writer(path, ACCOUNTS) as writer:
            for chunk in account_chunks(self.world):
                writer.write_table(chunk)
        return pq.read_table(path, columns=list(RECONCILED))

    def _drive(self) -> None:
        """Window after window until the load is over and nothing is in flight."""
        window, network, env, loop = self.window, self.network, self.env, self.loop
        drain_end = self.end + self.scenario.drain_limit_s * 1000
        k = 0
        last_progress = time.perf_counter()
        while True:
            if self._settled(k * window):
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
        self.money.extend(self.ledger.sample(self.sim_end))
        for place, pool in self.world.pools():  # the last seconds each pool measured
            pool.close(self.sim_end)
            self._take([(place.address, place.deliver(()))])
        if not self._settled(self.sim_end):  # the drain limit: every open payment gets its row
            for row in self.world.switch.open_rows(self.sim_end):
                self.tx.append(row)

    def _settled(self, now: int) -> bool:
        """The load is over, nothing is in flight, no payment is open, no timer is pending."""
        return (
            now >= self.end
            and self.network.in_flight == 0
            and self.switch_in_flight == 0
            and not self.loop.actors_waiting
        )

    def _take(self, outboxes: list[tuple[str, Outbox]]) -> None:
        """Stream each row to its table (by its type); check conservation when books moved."""
        books_moved = False
        tx, events, event_kinds, ledger = self.tx, self.events, self.event_kinds, self.ledger
        for address, out in outboxes:
            for row in out.records:
                kind = type(row)
                if kind is TransactionRow:
                    tx.append(row)
                elif kind is EventRow:
                    events.append(row)
                    event_kinds[row[1]] += 1
                elif kind is QueueRow:
                    self.queues.append(row)
                elif kind is SettlementRow:
                    self.settlement.append(row)
                elif kind is FraudTruthRow:
                    self.truth.append(row)
                elif self.notes is not None and kind is Notification:
                    self.notes.append(row)
                else:
                    raise TypeError(f"{address} recorded a {kind.__name__}: not a run table")
            gauges = out.gauges
            if gauges is None:
                continue
            if isinstance(gauges, Books):
                ledger.update(Address(address), gauges)
                books_moved = True
            elif isinstance(gauges, SwitchLoad):
                self.switch_in_flight = gauges.in_flight
        if books_moved:
            ledger.check()

    def _sample_money_until(self, now: int) -> None:
        while self.next_sample <= now:
            self.money.extend(self.ledger.sample(self.next_sample))
            self.next_sample += 1000
