"""``upisim chaos``: many seeds, each drawing a scenario *and its fault rates*, audited from tables.

Swarm testing, after TigerBeetle's VOPR: each seed draws its own population,
load and faults — bank outages from seconds to half an hour (some losing only
the replies), slow banks, the fraud monitor down, message loss behind the switch and
between the apps and the switch, replayed messages, crashes of any actor
(restarted from its journal), jitter, short
timeouts, wrong-PIN storms, merchants' refunds — then runs a
safety phase with faults, a heal phase and a drain. The auditor
(:func:`upisim.reports.audit.audit`) re-derives every invariant from the run
folder's own tables, and the same seed runs a second time in another worker
process, without Pykka's threads and on the reference path (every envelope handled on
its own, never a run of them at once: ``upisim run --reference``), and must give the
same bytes. Each run is
one task on Dask distributed: a ``LocalCluster`` of worker processes here, or
a scheduler address for a real cluster. A failing seed prints the command
that reproduces it and leaves its scenario file behind.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from upisim.scenarios.cluster import dask_client
from upisim.scenarios.swarm import draw

TABLES = ("transactions", "events", "money", "accounts", "queues", "settlement")


class SeedResult(NamedTuple):
    seed: int
    violations: list[str]
    faults: list[str]
    states: dict[str, int]
    latency: dict[int, int]  # time to a terminal state (ms) -> payments
    digest: str
    error: str = ""
    # envelopes delivered, messages dropped, messages duplicated, simulated ms
    traffic: tuple[int, int, int, int] = (0, 0, 0, 0)


def _digest(out: Path) -> str:
    sha = hashlib.sha256()
    for table in TABLES:
        sha.update((out / f"{table}.parquet").read_bytes())
    return sha.hexdigest()


def run_seed(seed: int, direct: bool = False, reference: bool = False) -> SeedResult:
    """Draw, run and audit one seed (a task: it imports what it needs where it runs)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from upisim.reports.audit import audit
    from upisim.scenarios.config import parse_scenario
    from upisim.scenarios.run import run_scenario

    scenario, faults = draw(seed)
    with tempfile.TemporaryDirectory(prefix=f"upisim-chaos-{seed}-") as tmp:
        out = Path(tmp)
        try:
            result = run_scenario(
                parse_scenario(scenario, f"chaos seed {seed}"),
                out,
                direct=direct,
                reference=reference,
            )
        except Exception as error:  # a crash is a finding, not the end of the sweep
            return SeedResult(seed, [], faults, {}, {}, "", f"{type(error).__name__}: {error}")
        violations = audit(out)
        if not result.ok and not violations:  # the run's own checks saw what tables did not
            violations = [f"the run says: {p}" for p in result.summary["problems"]]
        tx = pq.read_table(out / "transactions.parquet", columns=["state", "latency_ms"])
        states = {v["values"]: v["counts"] for v in pc.value_counts(tx["state"]).to_pylist()}
        latency = {v["values"]: v["counts"] for v in pc.value_counts(tx["latency_ms"]).to_pylist()}
        s = result.summary
        traffic = (
            s["envelopes"],
            s["messages_dropped"],
            s["messages_duplicated"],
            s["sim_duration_ms"],
        )
        return SeedResult(seed, violations, faults, states, latency, _digest(out), "", traffic)


class Report(NamedTuple):
    """What a chaos campaign found."""

    seeds: int
    failed: list[SeedResult]  # violations, errors or determinism mismatches
    mismatches: list[int]  # seeds whose second run gave other bytes
    faults: Counter[str]
    states: Counter[str]
    latency: Counter[int]
    traffic: tuple[int, int, int, int]  # summed over the seeds' first runs

    def figures(self) -> dict[str, Any]:
        total = sum(self.latency.values())
        delivered, dropped, duplicated, simulated = self.traffic
        return {
            "seeds": self.seeds,
            "violations": sum(len(r.violations) for r in self.failed),
            "errors": sum(1 for r in self.failed if r.error),  # runs that stopped raising
            "determinism_mismatches": len(self.mismatches),
            "stuck_payments": self.states.get("PENDING", 0),
            "failed_seeds": sorted(r.seed for r in self.failed),
            "faults_by_kind": dict(sorted(self.faults.items())),
            "payments_by_state": dict(sorted(self.states.items())),
            "payments": total,
            "time_to_terminal_ms": _percentiles(self.latency, total),
            "messages": {"delivered": delivered, "dropped": dropped, "duplicated": duplicated},
            "simulated_s": round(simulated / 1000),
        }


def _percentiles(counts: Counter[int], total: int) -> dict[str, int]:
    out = {"p50": 0, "p99": 0, "max": 0}
    if not total:
        return out
    targets, seen = [("p50", 0.50), ("p99", 0.99)], 0
    for value in sorted(counts):
        seen += counts[value]
        while targets and seen >= targets[0][1] * total:
            out[targets.pop(0)[0]] = value
    out["max"] = max(counts)
    return out


def campaign(
    seeds: range,
    workers: int = 2,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Run ``seeds`` on Dask: each seed twice, the second in another worker if there is one,
    without Pykka and on the reference path."""
    from distributed import as_completed

    with dask_client(workers, scheduler) as client:
        names = sorted(client.scheduler_info()["workers"])
        futures = {}
        for i, seed in enumerate(seeds):
            first = names[i % len(names)]
            second = names[(i + 1) % len(names)]
            grouped = client.submit(run_seed, seed, workers=[first], pure=False)
            reference = client.submit(
                run_seed, seed, direct=True, reference=True, workers=[second], pure=False
            )
            futures[grouped], futures[reference] = (seed, 0), (seed, 1)
        runs: dict[int, list[SeedResult | None]] = {seed: [None, None] for seed in seeds}
        for done, future in enumerate(as_completed(futures), 1):
            seed, which = futures[future]
            runs[seed][which] = future.result()
            if progress is not None:
                progress(done, len(futures))
    return _tally(runs)


def _tally(runs: dict[int, list[SeedResult | None]]) -> Report:
    failed, mismatches = [], []
    faults: Counter[str] = Counter()
    states: Counter[str] = Counter()
    latency: Counter[int] = Counter()
    traffic = [0, 0, 0, 0]
    for seed in sorted(runs):
        first, second = runs[seed]
        assert first is not None and second is not None
        traffic = [a + b for a, b in zip(traffic, first.traffic, strict=True)]
        faults.update(first.faults)
        states.update(first.states)
        latency.update(first.latency)
        if first.digest != second.digest and not (first.error or second.error):
            mismatches.append(seed)
        if first.violations or first.error or second.error or seed in mismatches:
            failed.append(first if first.error or first.violations else second)
    total = (traffic[0], traffic[1], traffic[2], traffic[3])
    return Report(len(runs), failed, mismatches, faults, states, latency, total)


def save_failures(report: Report, out: Path) -> list[Path]:
    """Each failing seed's scenario as a file ``upisim run`` takes, and what went wrong."""
    import tomli_w

    out.mkdir(parents=True, exist_ok=True)
    saved = []
    for result in report.failed:
        scenario, _ = draw(result.seed)
        path = out / f"chaos-seed-{result.seed}.toml"
        why = result.violations or [result.error or "a second run gave other bytes"]
        note = "".join(f"# {line}\n" for line in why)
        path.write_text(note + tomli_w.dumps(scenario), encoding="utf-8")
        saved.append(path)
    return saved


def add_parser(sub: Any) -> None:
    """The ``upisim chaos`` command's arguments."""
    chaos = sub.add_parser(
        "chaos", help="run many seeds with random faults and audit every run from its tables"
    )
    chaos.add_argument("--seeds", type=int, default=100, help="how many seeds (default: 100)")
    chaos.add_argument("--first", type=int, default=0, help="the first seed (default: 0)")
    chaos.add_argument(
        "--workers", type=int, default=2, help="worker processes on this machine (default: 2)"
    )
    chaos.add_argument("--scheduler", help="a Dask scheduler's address, to run on its cluster")
    chaos.add_argument(
        "--out",
        default="runs/chaos",
        help="where failing seeds' scenarios go (default: %(default)s)",
    )
    chaos.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    chaos.set_defaults(func=main)


def main(args: Any) -> int:
    import json

    from rich.console import Console
    from rich.markup import escape
    from rich.progress import Progress
    from rich.table import Table

    from upisim.actors.errors import UpisimError

    if args.seeds < 1 or args.first < 0 or args.workers < 1:
        raise UpisimError("chaos: --seeds and --workers must be at least 1, --first at least 0")
    seeds = range(args.first, args.first + args.seeds)
    console = Console(stderr=args.json)
    started = time.perf_counter()  # for the figures only: nothing a run does reads it
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(f"chaos: {args.seeds} seed(s), each run twice", total=2 * len(seeds))
        report = campaign(
            seeds, args.workers, args.scheduler, lambda done, _: bar.update(task, completed=done)
        )
    figures = report.figures()
    figures["wall_s"] = round(time.perf_counter() - started)
    saved = save_failures(report, Path(args.out)) if report.failed else []
    if args.json:
        print(json.dumps(figures))
    else:
        table = Table(
            title=f"upisim chaos: seeds {seeds.start}–{seeds.stop - 1}", show_header=False
        )
        for key, value in figures.items():
            if key != "failed_seeds":
                table.add_row(key.replace("_", " "), escape(str(value)))
        console.print(table)
    for result, path in zip(report.failed, saved, strict=True):
        why = result.violations or [result.error or "a second run gave other bytes"]
        console.print(f"[red]seed {result.seed}[/]: {escape('; '.join(why))}")
        console.print(
            f"  reproduce: upisim chaos --first {result.seed} --seeds 1   "
            f"or: upisim run {escape(str(path))}"
        )
    return 1 if report.failed else 0
