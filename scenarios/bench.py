"""``upisim bench``: payments per wall second, envelopes per second and peak memory by size.

Each size runs in its own process, so peak memory is that size's alone. The
load is a generated population paying each other at a national-average rate
(8,400 payments/s, UPI.md §5) until the asked number of payments has started.
Then the report of the largest run is built, in a process of its own too.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from upisim.actors.errors import UpisimError
from upisim.scenarios.sections import DEFAULT_BANKS, MAX_RATE_PER_S, MAX_SPAN_S

BENCH_RATE_PER_S = 8_400
MAX_REPEAT = 25

# figures that vary from run to run: a size run more than once shows their medians
_MEASURED = (
    "payments_per_second",
    "envelopes_per_second",
    "peak_rss_mb",
    "wall_seconds",
    "build_seconds",
    "wrap_up_seconds",
    "process_seconds",
)


def bench_scenario(
    users: int, payments: int, mapper_s: float = 0, rate: float = BENCH_RATE_PER_S
) -> dict[str, Any]:
    """A scenario dict for ``users`` paying ``payments`` times at ``rate`` a simulated second;
    with ``mapper_s``, the switch's mapper spares the lookups of payees it resolved lately.

    Every payment takes all its hops: the apps' rate limits are off, and the fraud monitor's
    velocity rule and the banks' daily count are out of reach, however many payments each
    user makes (at 100,000 users x 1,000,000 payments they would refuse one in four)."""
    many = 10 * payments
    return {
        "name": f"bench-{users}x{payments}",
        "seed": 7,
        "duration_s": payments / rate,
        "banks": [
            {"code": b.code, "name": b.name, "handle": b.handle, "daily_count_limit": many}
            for b in DEFAULT_BANKS
        ],
        "population": {"size": users, "balance_median": "20000.00"},
        "load": {"rate_per_s": rate, "amount_median": "400.00"},
        "rate_limits": {"per_minute": 0, "per_hour": 0},
        "fraud": {"velocity_per_hour": many},
        "network": {"mapper_s": mapper_s},
    }


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_one(
    users: int,
    payments: int,
    direct: bool,
    keep: Path | None = None,
    mapper_s: float = 0,
    reference: bool = False,
    rate: float = BENCH_RATE_PER_S,
) -> dict[str, Any]:
    """Run one size in this process and measure it; the run folder goes unless ``keep``."""
    from upisim.scenarios.config import parse_scenario
    from upisim.scenarios.run import run_scenario

    scenario = parse_scenario(bench_scenario(users, payments, mapper_s, rate), "bench")
    folder = nullcontext(str(keep)) if keep else tempfile.TemporaryDirectory(prefix="upisim-bench-")
    with folder as out_dir:
        summary = run_scenario(scenario, Path(out_dir), direct=direct, reference=reference).summary
    timing = summary["timing"]
    return {
        "users": users,
        "payments": summary["payments_total"],
        "payments_per_second": timing["payments_per_wall_second"],
        "envelopes_per_second": timing["envelopes_per_wall_second"],
        "peak_rss_mb": _peak_rss_mb(),
        "wall_seconds": timing["wall_seconds"],  # the delivery loop's
        "build_seconds": timing["build_seconds"],
        "wrap_up_seconds": timing["wrap_up_seconds"],
        "sim_seconds": summary["sim_duration_ms"] / 1000,
        "rate_per_s": rate,
        "envelopes_per_payment": round(summary["envelopes"] / max(summary["payments_total"], 1), 2),
        "mapper_hits": summary["mapper_hits"],
        "user_actors": summary["user_actors"],
        "executor": timing["executor"],
        "delivery": timing["delivery"],
        "ok": summary["ok"],
    }


def report_one(run_dir: Path) -> dict[str, Any]:
    """Build the report of the run in ``run_dir`` in this process and measure it."""
    from upisim.reports import build_report

    start = time.perf_counter()
    build_report(run_dir)
    seconds = time.perf_counter() - start
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    return {
        "report_payments": summary["payments_total"],
        "report_seconds": round(seconds, 3),
        "report_peak_rss_mb": _peak_rss_mb(),
    }


def _parse_sizes(text: str, rate: float = BENCH_RATE_PER_S) -> list[tuple[int, int]]:
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
        if payments / rate > MAX_SPAN_S:
            raise UpisimError(
                f"--sizes: {part!r} at --rate {rate:g} is {payments / rate / 86400:,.1f} "
                f"simulated days, past a scenario's 30"
            )
        sizes.append((users, payments))
    return sizes


# (figure, key in a size's result, how it is shown): one row each, one column a size, so the
# table fits a narrow terminal however many figures it shows
_ROWS: tuple[tuple[str, str, str], ...] = (
    ("payments/s (loop)", "payments_per_second", "{:,.0f}"),
    ("envelopes/s (loop)", "envelopes_per_second", "{:,.0f}"),
    ("envelopes a payment", "envelopes_per_payment", "{:.2f}"),
    ("world build s", "build_seconds", "{:,.2f}"),
    ("loop s", "wall_seconds", "{:,.1f}"),
    ("wrap-up s", "wrap_up_seconds", "{:,.2f}"),
    ("process s", "process_seconds", "{:,.1f}"),
    ("peak RSS MB", "peak_rss_mb", "{:,.0f}"),
    ("simulated s", "sim_seconds", "{:,.1f}"),
    ("payments/simulated s", "rate_per_s", "{:,.0f}"),
    ("executor", "executor", "{}"),
    ("delivery", "delivery", "{}"),
    ("ok", "ok", "{}"),
)


def _table(title: str, results: list[dict[str, Any]]) -> Table:
    """Every figure a row, every size a column (users x payments)."""
    table = Table(title=title, title_justify="left")
    table.add_column("")
    for r in results:
        table.add_column(f"{r['users']:,} x {r['payments']:,}", justify="right")
    if "runs" in results[0]:  # the figures that vary are medians
        table.add_row("runs (medians)", *(str(r["repeat"]) for r in results))
    for label, key, shown in _ROWS:
        table.add_row(label, *(shown.format(r[key]) for r in results))
        if key == "payments_per_second" and "runs" in results[0]:
            spread = (f"{min(r['each']):,.0f}–{max(r['each']):,.0f}" for r in results)
            table.add_row("  lowest–highest", *spread)
    return table


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One size's runs as one result: the median of each measured figure, each run's own
    payments/s (``each``) and figures (``runs``). The payments are the same every time: a
    run is a function of its seed."""
    if len(runs) == 1:
        return runs[0]
    result = dict(runs[0])
    for key in _MEASURED:
        result[key] = round(statistics.median(r[key] for r in runs), 3)
    result["ok"] = all(r["ok"] for r in runs)
    result["repeat"] = len(runs)
    result["each"] = [r["payments_per_second"] for r in runs]
    result["runs"] = runs
    return result


def _in_child(what: str, *bench_args: str) -> dict[str, Any]:
    """Run ``upisim bench *bench_args`` in a fresh process and return the JSON it prints."""
    cmd = [sys.executable, "-m", "upisim.scenarios.cli", "bench", *bench_args]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise UpisimError(f"bench {what} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    # the whole process: interpreter and imports, world build, loop, tables, summary, exit
    result["process_seconds"] = round(seconds, 3)
    return result


def main(args: argparse.Namespace) -> int:
    if not 0 <= args.mapper_s <= MAX_SPAN_S:
        raise UpisimError(f"--mapper-s: {args.mapper_s:g} is not 0..{MAX_SPAN_S} seconds")
    if not 0 < args.rate <= MAX_RATE_PER_S:
        raise UpisimError(f"--rate: {args.rate:g} is not above 0 and at most {MAX_RATE_PER_S:,}")
    if not 1 <= args.repeat <= MAX_REPEAT:
        raise UpisimError(f"--repeat: {args.repeat} is not 1..{MAX_REPEAT}")
    if args.one:
        users, payments = _parse_sizes(args.one, args.rate)[0]
        keep = Path(args.keep) if args.keep else None
        result = run_one(
            users, payments, args.direct, keep, args.mapper_s, args.reference, args.rate
        )
        print(json.dumps(result))
        return 0
    if args.report_of:
        print(json.dumps(report_one(Path(args.report_of))))
        return 0
    sizes = _parse_sizes(args.sizes, args.rate)
    # The report is timed on the run with the most payments: the one that can be slow.
    keep_at = None if args.no_report else max(range(len(sizes)), key=lambda i: sizes[i][1])
    console = Console()
    title = "upisim bench (push payments" + (
        f", mapper {args.mapper_s:g} s)" if args.mapper_s else ")"
    )
    # what every size's child is told, besides its size
    told = ["--direct"] if args.direct else []
    if args.reference:
        told.append("--reference")
    if args.mapper_s:
        told += ["--mapper-s", str(args.mapper_s)]
    if args.rate != BENCH_RATE_PER_S:
        told += ["--rate", repr(args.rate)]
    runs: list[list[dict[str, Any]]] = [[] for _ in sizes]
    with tempfile.TemporaryDirectory(prefix="upisim-bench-") as tmp:
        kept = Path(tmp) / "run"
        for round_ in range(args.repeat):
            # every other round in reverse: the run straight after another is often slower
            order = range(len(sizes)) if round_ % 2 == 0 else reversed(range(len(sizes)))
            for i in order:
                users, payments = sizes[i]
                flags = ["--one", f"{users}x{payments}", *told]
                if i == keep_at and round_ == 0:
                    flags += ["--keep", str(kept)]
                what = f"{users:,} users x {payments:,} payments"
                if args.repeat > 1:
                    what += f" (run {round_ + 1} of {args.repeat})"
                with Console(stderr=True).status(f"bench: {what}"):
                    result = _in_child(f"{users}x{payments}", *flags)
                runs[i].append(result)
                if args.json and args.repeat == 1:
                    print(json.dumps(result), flush=True)
        results = [_medians(each) for each in runs]
        if args.json and args.repeat > 1:
            for result in results:
                print(json.dumps(result), flush=True)
        if not args.json:
            console.print(_table(title, results))
        if keep_at is not None:
            report = _in_child(f"report of {kept}", "--report-of", str(kept))
            if args.json:
                print(json.dumps(report), flush=True)
            else:
                console.print(
                    f"report of {report['report_payments']:,} payments: "
                    f"{report['report_seconds']:.1f} s, "
                    f"{report['report_peak_rss_mb']:,.0f} MB peak"
                )
    return 0 if all(r["ok"] for r in results) else 1


def add_parser(sub: Any) -> None:
    """The ``upisim bench`` command's arguments."""
    bench = sub.add_parser("bench", help="measure payments per wall second and peak memory")
    bench.add_argument(
        "--sizes",
        default="1000x20000,100000x200000",
        help="comma-separated USERSxPAYMENTS (default: %(default)s)",
    )
    bench.add_argument(
        "--json", action="store_true", help="one JSON object per size, then one for the report"
    )
    bench.add_argument("--direct", action="store_true", help="bench without Pykka")
    bench.add_argument(
        "--reference", action="store_true", help="bench the reference path (upisim run --reference)"
    )
    bench.add_argument(
        "--mapper-s",
        type=float,
        default=0.0,
        metavar="S",
        help="the switch remembers resolved payees for S s (network.mapper_s; default: 0, off)",
    )
    bench.add_argument(
        "--rate",
        type=float,
        default=float(BENCH_RATE_PER_S),
        metavar="R",
        help="payments a simulated second (default: %(default)g, the national average)",
    )
    bench.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each size N times, in turn with the others, and show the medians "
        "(default: %(default)s)",
    )
    bench.add_argument(
        "--no-report",
        action="store_true",
        help="do not time building the report of the largest run",
    )
    # How the bench runs each measurement in a process of its own.
    bench.add_argument("--one", help=argparse.SUPPRESS)
    bench.add_argument("--keep", help=argparse.SUPPRESS)
    bench.add_argument("--report-of", help=argparse.SUPPRESS)
    bench.set_defaults(func=main)
