"""``upisim bench``: payments per wall second, envelopes per second and peak memory by size.

Each size runs in its own process, so peak memory is that size's alone. The
load is a generated population paying each other at a national-average rate
(8,400 payments/s, UPI.md §5) until the asked number of payments has started.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from upisim.actors.errors import UpisimError

BENCH_RATE_PER_S = 8_400


def bench_scenario(users: int, payments: int) -> dict[str, Any]:
    """A scenario dict for ``users`` paying ``payments`` times at the bench rate."""
    return {
        "name": f"bench-{users}x{payments}",
        "seed": 7,
        "duration_s": payments / BENCH_RATE_PER_S,
        "population": {"size": users, "balance_median": "20000.00"},
        "load": {"rate_per_s": BENCH_RATE_PER_S, "amount_median": "400.00"},
    }


def run_one(users: int, payments: int, direct: bool) -> dict[str, Any]:
    """Run one size in this process and measure it."""
    from upisim.scenarios.config import parse_scenario
    from upisim.scenarios.run import run_scenario

    scenario = parse_scenario(bench_scenario(users, payments), "bench")
    with tempfile.TemporaryDirectory(prefix="upisim-bench-") as tmp:
        summary = run_scenario(scenario, Path(tmp), direct=direct).summary
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "users": users,
        "payments": summary["payments_total"],
        "payments_per_second": summary["payments_per_wall_second"],
        "envelopes_per_second": summary["envelopes_per_wall_second"],
        "peak_rss_mb": round(peak, 1),
        "wall_seconds": summary["wall_seconds"],
        "sim_seconds": summary["sim_duration_ms"] / 1000,
        "user_actors": summary["user_actors"],
        "executor": summary["executor"],
        "ok": summary["ok"],
    }


def _parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        try:
            users, payments = (int(x.replace("_", "")) for x in part.lower().split("x"))
        except ValueError:
            raise UpisimError(
                f"--sizes: {part!r} is not USERSxPAYMENTS, e.g. 100000x200000"
            ) from None
        if users < 2 or payments < 1:
            raise UpisimError(f"--sizes: {part!r} needs at least 2 users and 1 payment")
        sizes.append((users, payments))
    return sizes


def main(args: argparse.Namespace) -> int:
    if args.one:
        users, payments = _parse_sizes(args.one)[0]
        print(json.dumps(run_one(users, payments, args.direct)))
        return 0
    console = Console()
    table = Table(title="upisim bench (push payments)", title_justify="left")
    for col in (
        "users",
        "payments",
        "payments/s",
        "envelopes/s",
        "peak RSS MB",
        "wall s",
        "sim s",
        "executor",
        "ok",
    ):
        table.add_column(col, justify="right")
    results = []
    for users, payments in _parse_sizes(args.sizes):
        cmd = [
            sys.executable,
            "-m",
            "upisim.scenarios.cli",
            "bench",
            "--one",
            f"{users}x{payments}",
        ]
        if args.direct:
            cmd.append("--direct")
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise UpisimError(f"bench {users}x{payments} failed:\n{done.stderr[-2000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(result)
        if args.json:
            print(json.dumps(result), flush=True)
        table.add_row(
            f"{result['users']:,}",
            f"{result['payments']:,}",
            f"{result['payments_per_second']:,.0f}",
            f"{result['envelopes_per_second']:,.0f}",
            f"{result['peak_rss_mb']:,.0f}",
            f"{result['wall_seconds']:,.1f}",
            f"{result['sim_seconds']:,.1f}",
            result["executor"],
            str(result["ok"]),
        )
    if args.report_rows:
        from upisim.reports.bench import bench_report

        report = bench_report(args.report_rows)
        if args.json:
            print(json.dumps(report), flush=True)
        else:
            console.print(
                f"report of {report['report_rows']:,} rows: "
                f"{report['report_seconds']:.1f} s, "
                f"peak RSS {report['report_peak_rss_mb']:,.0f} MB"
            )
    if not args.json:
        console.print(table)
    return 0 if all(r["ok"] for r in results) else 1
