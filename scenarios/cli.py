"""The ``upisim`` command: run a scenario, build or compare reports, benchmark."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from upisim.actors import codes
from upisim.actors.errors import UpisimError
from upisim.actors.money import format_inr
from upisim.reports import export, trace
from upisim.scenarios import bench, chaos, compare, sweep
from upisim.scenarios.folders import default_out_dir, output_folder, run_folder

if TYPE_CHECKING:
    from upisim.scenarios.config import Scenario
    from upisim.scenarios.run import RunResult

console = Console(stderr=True)
# piped output is read in editors and logs, not an 80-column terminal: do not wrap it narrow
out = Console(width=None if sys.stdout.isatty() else 132)


def _check_seed(seed: int | None) -> None:
    from upisim.scenarios.config import MAX_SEED

    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise UpisimError(f"--seed {seed}: a seed is a whole number from 0 to {MAX_SEED}")


def _summary_table(summary: dict[str, Any]) -> Table:
    table = Table(
        title=f"upisim run: {escape(str(summary['scenario']))} (seed {summary['seed']})",
        show_header=False,
        title_justify="left",
    )
    table.add_column(style="bold")
    table.add_column()
    states = escape(", ".join(f"{k} {v:,}" for k, v in summary["payments_by_state"].items()))
    lat = summary["latency_ms"]
    rows = [
        ("users / banks", f"{summary['users']:,} / {escape(', '.join(summary['banks']))}"),
        (
            "simulated time",
            f"{summary['sim_duration_ms'] / 1000:,.1f} s "
            f"(load for {summary['load_duration_ms'] / 1000:,.1f} s)",
        ),
        ("payments", f"{summary['payments_total']:,} ({states})"),
        (
            "throughput",
            f"{summary['timing']['payments_per_wall_second']:,.0f} payments per wall second; "
            f"{summary['envelopes']:,} envelopes in {summary['timing']['wall_seconds']:,.2f} s",
        ),
        (
            "latency",
            f"p50 {lat['p50']:,} ms, p95 {lat['p95']:,} ms, p99 {lat['p99']:,} ms, "
            f"max {lat['max']:,} ms",
        ),
        ("fraud", f"{summary['fraud_flagged']:,} flagged, {summary['fraud_declined']:,} declined"),
    ]
    methods = summary.get("payments_by_method", {})
    if len(methods) > 1:
        by_count = sorted(methods.items(), key=lambda kv: -kv[1])
        rows.append(("methods", escape(", ".join(f"{k} {v:,}" for k, v in by_count))))
    rows += [
        ("money at start", format_inr(summary["money_start_paise"])),
        ("money at end", format_inr(summary["money_end_paise"])),
        (
            "conservation",
            "held at every window"
            if summary["conservation_max_deviation_paise"] == 0
            else f"[red]broken by {summary['conservation_max_deviation_paise']} paise[/red]",
        ),
    ]
    if summary.get("card_outstanding_end_paise"):
        owed = format_inr(summary["card_outstanding_end_paise"])
        rows.insert(
            -1,
            ("owed on cards", f"{owed} lent by the banks (money = deposits + settlement − this)"),
        )
    for key, value in rows:
        table.add_row(key, value)
    return table


def _codes_table(summary: dict[str, Any]) -> Table:
    table = Table(title="payments by code", title_justify="left")
    table.add_column("code")
    table.add_column("meaning")
    table.add_column("kind")
    table.add_column("count", justify="right")
    table.add_column("share", justify="right")
    total = summary["payments_total"] or 1
    by_code = sorted(summary["payments_by_code"].items(), key=lambda kv: (-kv[1], kv[0]))
    for code, count in by_code:
        table.add_row(
            escape(code),
            escape(codes.describe(code)),
            codes.decline_type(code) or "-",
            f"{count:,}",
            f"{100 * count / total:.1f}%",
        )
    return table


def cmd_run(args: argparse.Namespace) -> int:
    from upisim.scenarios.config import load_scenario, resolve_path

    _check_seed(args.seed)
    scenario = load_scenario(resolve_path(args.scenario))
    seed = scenario.seed if args.seed is None else args.seed
    out_dir = Path(args.out) if args.out else default_out_dir(scenario.name, seed)
    with run_folder(out_dir, "--out" if args.out else "run folder", scenario.name, args.force):
        result = _run(args, scenario, out_dir, seed)
    summary = result.summary
    if not args.quiet:
        out.print(_summary_table(summary))
        out.print(_codes_table(summary))
    if not args.no_report:
        from upisim.reports import build_report

        html = build_report(out_dir)
        out.print(f"report: {escape(str(html))}")
    out.print(f"run folder: {escape(str(out_dir))}")
    for problem in summary["problems"]:
        print(f"invariant broken: {problem}", file=sys.stderr)
    return 0 if result.ok else 1


def _run(args: argparse.Namespace, scenario: Scenario, out_dir: Path, seed: int) -> RunResult:
    from upisim.scenarios.run import run_scenario

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[sim]}"),
        TextColumn("{task.fields[done]}"),
        TimeElapsedColumn(),
        TextColumn("left"),  # of the load: at the speed so far (the drain after it is short)
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=args.quiet,
    ) as bar:
        task = bar.add_task(escape(scenario.name), total=scenario.duration_ms, sim="", done="")

        def progress(now: int, end: int, done: int) -> None:
            bar.update(
                task,
                completed=now,
                sim=f"t={now / 1000:,.1f}/{end / 1000:,.0f} s",
                done=f"{done:,} payments",
            )

        return run_scenario(
            scenario,
            out_dir,
            seed=seed,
            csv=args.csv,
            progress=progress,
            direct=args.direct,
            reference=args.reference,
        )


def cmd_report(args: argparse.Namespace) -> int:
    from upisim.reports import build_report

    run_dir = Path(args.run_dir)
    if not args.out:
        html = build_report(run_dir)
    else:
        with output_folder(Path(args.out), "--out"):
            html = build_report(run_dir, Path(args.out))
    out.print(f"report: {escape(str(html))}")
    return 0


def cmd_statement(args: argparse.Namespace) -> int:
    from upisim.reports import card_statement, statement
    from upisim.reports.spreadsheet import spreadsheet_safe

    postings = (card_statement if args.card else statement)(args.run_dir, args.vpa)
    if args.csv:
        try:
            spreadsheet_safe(postings).to_csv(args.csv, index=False)
        except OSError as error:
            raise UpisimError(f"--csv {args.csv}: cannot write it ({error.strerror})") from None
        out.print(f"statement: {escape(args.csv)}")
        return 0
    title = f"{'card statement' if args.card else 'statement'} of {escape(args.vpa)}"
    table = Table(title=title, title_justify="left")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("time (s)", "right"),
        ("txn id", "left"),
        ("kind", "left"),
        ("description", "left"),
        ("charge" if args.card else "debit", "right"),
        ("credit", "right"),
        ("outstanding" if args.card else "balance", "right"),
    )
    for col, justify in columns:
        table.add_column(col, justify=justify)
    left = postings.columns[-1]  # the balance, or on a card what is owed
    for row in postings.to_dict("records"):
        table.add_row(
            f"{row['t_ms'] / 1000:,.3f}",
            escape(row["txn_id"]),
            escape(row["kind"]),
            escape(row["description"]),
            format_inr(row["debit_paise"]) if row["debit_paise"] else "",
            format_inr(row["credit_paise"]) if row["credit_paise"] else "",
            format_inr(row[left]),
        )
    out.print(table)
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    from upisim.scenarios.config import bundled_scenarios, load_scenario

    table = Table(title="bundled scenarios", title_justify="left")
    table.add_column("name")
    table.add_column("description")
    for name, path in bundled_scenarios().items():
        table.add_row(escape(name), escape(load_scenario(path).description))
    out.print(table)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    import json

    from upisim.scenarios.config import Scenario

    print(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2, ensure_ascii=False))
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("upisim")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree, not installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="upisim", description=__doc__)
    parser.add_argument("--version", action="version", version=f"upisim {_version()}")
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="run a scenario file and write a run folder")
    run.add_argument(
        "scenario",
        nargs="?",
        default="quickstart",
        help="a scenario file, or the name of a bundled one (default: quickstart)",
    )
    run.add_argument("--seed", type=int, help="override the scenario's seed (0 to 2**63-1)")
    run.add_argument("--out", help="run folder (default: runs/NAME-seedN-TIME)")
    run.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty --out that is not an earlier run of this scenario",
    )
    run.add_argument("--csv", action="store_true", help="also write transactions.csv")
    run.add_argument("--no-report", action="store_true", help="do not build the HTML report")
    run.add_argument("--quiet", action="store_true", help="no progress bar or tables")
    run.add_argument(
        "--direct",
        action="store_true",
        help="call actors in one thread instead of through Pykka (same results)",
    )
    run.add_argument(
        "--reference",
        action="store_true",
        help="every actor handles each message on its own, never a run of them at once "
        "(same results, slower: the path the default one is checked against)",
    )
    run.set_defaults(func=cmd_run)

    report = sub.add_parser("report", help="build the HTML report of a run folder")
    report.add_argument("run_dir")
    report.add_argument("--out", help="report folder (default: RUN_DIR/report)")
    report.set_defaults(func=cmd_report)

    compare.add_parser(sub)

    bench.add_parser(sub)

    stmt = sub.add_parser(
        "statement", help="one user's postings with the running balance (or card outstanding)"
    )
    stmt.add_argument("run_dir")
    stmt.add_argument("vpa")
    stmt.add_argument("--csv", help="write it to this CSV file instead")
    stmt.add_argument(
        "--card",
        action="store_true",
        help="the user's credit-card statement (charges, refunds, amount owed) instead",
    )
    stmt.set_defaults(func=cmd_statement)

    chaos.add_parser(sub)
    sweep.add_parser(sub)
    export.add_parser(sub)
    trace.add_parser(sub)

    scen = sub.add_parser("scenarios", help="list the bundled scenarios")
    scen.set_defaults(func=cmd_scenarios)
    schema = sub.add_parser("schema", help="the JSON Schema of scenario files, for editors")
    schema.set_defaults(func=cmd_schema)
    return parser


def _system_allocator_for_arrow() -> None:
    """Arrow's buffers from the C library's allocator, not its bundled mimalloc, unless
    ``ARROW_DEFAULT_MEMORY_POOL`` says otherwise: mimalloc keeps what the tables' writing and
    reading back freed, and at a million users x 300k payments the process peaked 115 MB
    higher with it (1,380 vs 1,264 MB)."""
    import os

    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())


def main(argv: list[str] | None = None) -> int:
    _system_allocator_for_arrow()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["run", *(argv or [])])
    from upisim.reports import RunFolderError

    try:
        return int(args.func(args))
    except (UpisimError, RunFolderError) as error:
        # plain text: an error message must survive pipes and never be wrapped mid-path
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the disk, not upisim: say which file and why, no traceback
        where = f"{error.filename}: " if error.filename else ""
        print(f"error: {where}{error.strerror or error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
