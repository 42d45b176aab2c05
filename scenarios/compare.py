"""The ``upisim compare`` command: which run folders make sides A and B, where the page
goes, and the headline differences printed after it is written."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from upisim.actors.errors import UpisimError
from upisim.scenarios.folders import output_folder

USAGE = "give RUN_A RUN_B, or --a DIR [DIR ...] --b DIR [DIR ...]"
DESCRIPTION = (
    "Compare side B with side A (differences are B − A): one run folder a side (RUN_A "
    "RUN_B), or several a side (--a DIR [DIR ...] --b DIR [DIR ...]; the same scenario at "
    "several seeds, say), where each side's figures are its runs' means and a difference is "
    "within noise when the two sides' ranges overlap."
)


def add_parser(sub: Any) -> None:
    """The ``upisim compare`` command's arguments."""
    parser = sub.add_parser(
        "compare",
        help="put runs side by side: one run folder a side, or several (seeds) a side",
        description=DESCRIPTION,
    )
    parser.add_argument("runs", nargs="*", metavar="RUN", help="RUN_A RUN_B: one run a side")
    parser.add_argument("--a", nargs="+", metavar="DIR", help="side A's run folder(s)")
    parser.add_argument("--b", nargs="+", metavar="DIR", help="side B's run folder(s)")
    parser.add_argument(
        "--out", help="folder for the comparison (default: the first B run's folder/compare)"
    )
    parser.set_defaults(func=main)


def sides(args: argparse.Namespace) -> tuple[list[Path], list[Path]]:
    """Side A's and side B's run folders, from RUN_A RUN_B or from --a and --b."""
    if args.runs and (args.a or args.b):
        raise UpisimError(f"compare: both run folders and --a/--b given; {USAGE}")
    if args.a or args.b:
        if not (args.a and args.b):
            missing, given = ("--b", "--a") if args.a else ("--a", "--b")
            raise UpisimError(f"compare: {given} without {missing}; {USAGE}")
        return [Path(p) for p in args.a], [Path(p) for p in args.b]
    if len(args.runs) != 2:
        raise UpisimError(f"compare: {len(args.runs)} run folder(s) given; {USAGE}")
    return [Path(args.runs[0])], [Path(args.runs[1])]


def main(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from upisim.reports.compare import compare, differences, differences_table

    a, b = sides(args)
    out_dir = Path(args.out) if args.out else b[0] / "compare"
    with output_folder(out_dir, "--out") if args.out else contextlib.nullcontext():
        comparison = compare(a, b, out_dir)
    # piped output is read in editors and logs, not an 80-column terminal
    console = Console(width=None if sys.stdout.isatty() else 132)
    if differences(comparison.headline).empty:
        console.print("No headline figure differs.")
    else:
        console.print(differences_table(comparison))
    console.print(f"comparison: {escape(str(comparison.html))}")
    return 0
