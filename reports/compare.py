"""Runs side by side: side A against side B, each one run folder or several (the same
scenario at several seeds), in one page of headline figures, parameters and overlaid
plots; and the headline differences as a table for the terminal."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from rich.markup import escape
from rich.table import Table

from upisim.reports import compare_sections as sections
from upisim.reports import fmt, tables
from upisim.reports.html import Safe, banner, columns, markup, page, section, table
from upisim.reports.report import REPORT_COLUMNS, Output
from upisim.reports.run import Run, RunFolderError, load_run
from upisim.reports.sides import (
    RunDirs,
    Side,
    beyond_noise,
    by_name,
    cell,
    folders,
    is_number,
    noise_note,
    several,
    shown,
    signed,
)

#: figures that name a run rather than measure it: a side shows the values they take
IDENTITIES = ("seed",)
#: figure families of counts: a run without a key there counted none
COUNTED = ("payments_by_", "events_by_kind.", "notifications.")
MAX_TERMINAL_ROWS = 15


@dataclass(frozen=True, eq=False)
class Comparison:
    """A comparison written: its page, the headline table (`compare_headline.csv`) and
    the two sides."""

    html: Path
    headline: pd.DataFrame
    a: Side
    b: Side


def compare_runs(run_a: RunDirs, run_b: RunDirs, out_dir: str | Path) -> Path:
    """Write `index.html` comparing side B with side A (differences are B − A, of the
    sides' means when a side has several runs), with its PNGs and CSVs, into `out_dir`;
    return the HTML file's path. `run_a` and `run_b` are each a run folder or several."""
    return compare(run_a, run_b, out_dir).html


def compare(run_a: RunDirs, run_b: RunDirs, out_dir: str | Path) -> Comparison:
    """`compare_runs`, returning the headline table and the sides with the page."""
    a, b = (_side(runs, label) for runs, label in ((run_a, "A"), (run_b, "B")))
    out = Output(Path(out_dir))
    out.folder.mkdir(parents=True, exist_ok=True)
    end_ms = max(_span(run) for side in (a, b) for run in side.runs)
    bin_ms = tables.bin_ms_for(end_ms)
    head = headline(a, b)
    body = {
        "Summary": _summary(a, b, head, out),
        "Throughput": sections.throughput(a, b, bin_ms, end_ms, out),
        "Latency": sections.latency(a, b, bin_ms, out),
        "Outcomes": sections.outcomes(a, b, out),
        "Failure handling": sections.failure_handling(a, b, out),
        "Banks": sections.banks_section(a, b, out),
        **sections.methods(a, b, out),
        "Rate-limit hits": sections.rate_limits(a, b, bin_ms, end_ms, out),
        "Balance conservation": sections.money(a, b, out),
        **sections.settlement(a, b, out),
        "Fraud": sections.fraud_section(a, b, out),
        **sections.collects(a, b, out),
    }
    for stale in out.folder.glob("compare_*"):  # an earlier comparison's, not this one's
        if stale.name not in out.written:
            stale.unlink()
    target = out.folder / "index.html"
    subtitle = markup(
        "{} vs {} · differences are B − A{} · time bins of {}",
        _where(a),
        _where(b),
        " (of the means)" if several(a, b) else "",
        fmt.seconds_label(bin_ms),
    )
    title = f"upisim comparison: {_name(a)} vs {_name(b)}"
    target.write_text(page(title, subtitle, _banner(a, b), body), encoding="utf-8")
    return Comparison(target, head, a, b)


def _side(runs: RunDirs, label: str) -> Side:
    paths = folders(runs, label)
    try:
        loaded = tuple(load_run(p, transaction_columns=REPORT_COLUMNS) for p in paths)
    except RunFolderError as error:  # say which side the folder was given for
        raise RunFolderError(f"side {label}: {error}") from None
    money = tuple(
        tables.money_over_time(run.money, tables.start_paise(run.summary)) for run in loaded
    )
    return Side(label, loaded, money)


def _where(side: Side) -> str:
    first = side.runs[0].path.resolve()
    return str(first) if len(side.runs) == 1 else f"{first} and {len(side.runs) - 1} more"


def _name(side: Side) -> str:
    names = dict.fromkeys(
        str(run.summary.get("scenario") or run.scenario.get("name") or run.path.name)
        for run in side.runs
    )
    return " / ".join(names)


def _span(run: Run) -> int:
    return tables.span_ms(
        run.summary,
        run.transactions["t_initiated_ms"],
        run.transactions["t_completed_ms"],
        run.events["t_ms"],
        run.money["t_ms"],
    )


def _banner(a: Side, b: Side) -> Safe:
    failed = [
        side.run_label(run)
        for side in (a, b)
        for run, money in zip(side.runs, side.money, strict=True)
        if run.summary.get("ok") is False or tables.max_deviation(money)
    ]
    if failed:
        return banner(False, markup("Invariant check failed in run {}.", " and ".join(failed)))
    incomplete = [
        f"{side.run_label(run)}'s summary.json lacks {', '.join(missing)}"
        for side in (a, b)
        for run in side.runs
        if (missing := tables.missing_figures(run.summary))
    ]
    if incomplete:
        return banner(
            False,
            markup(
                "Summary incomplete: {}; the checks cannot be confirmed.", "; ".join(incomplete)
            ),
        )
    every = "Both runs" if not several(a, b) else "Every run of both sides"
    return banner(True, Safe(f"{every} held every invariant."))


# -- summary ------------------------------------------------------------------------------


def headline(a: Side, b: Side) -> pd.DataFrame:
    """Every result figure of summary.json (no `timing`), each side's beside the other's."""

    def fill(figure: Any) -> Any:
        return 0 if str(figure).startswith(COUNTED) else ""

    def figures(side: Side) -> list[list[tuple[Any, Any]]]:
        return [_figures(run, money) for run, money in zip(side.runs, side.money, strict=True)]

    return tables.runs_side_by_side(figures(a), figures(b), fill=fill)


def _figures(run: Run, money: pd.DataFrame) -> list[tuple[Any, Any]]:
    """Headline figures, from summary.json where it has them, else from the tables."""
    head = tables.headline(run.summary, run.transactions, money, results_only=True)
    rows = head[["figure", "value", "recomputed"]].itertuples(index=False)
    return [
        (figure, str(value) if figure in IDENTITIES else value)
        for figure, value in ((f, v if v != "" else again) for f, v, again in rows)
    ]


def _summary(a: Side, b: Side, head: pd.DataFrame, out: Output) -> Safe:
    params = tables.runs_side_by_side(
        a.each(lambda r: tables.flatten(r.scenario)),
        b.each(lambda r: tables.flatten(r.scenario)),
        key="parameter",
        mean=False,
    )
    out.csv("compare_headline.csv", head)
    out.csv("compare_scenario.csv", params)
    changed = params[[c == "changed" for c in beyond_noise(params)]]
    if changed.empty:
        key = Safe("The two sides' scenarios have the same parameters.")
    else:
        listed = "; ".join(
            f"{p}: {va} → {vb}" for p, va, vb, _ in changed.head(5).itertuples(index=False)
        )
        more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        key = markup("{} parameter(s) differ: {}{}.", len(changed), listed, more)
    runs = pd.DataFrame(
        [
            (
                side.label,
                run.path.resolve().name,
                run.summary.get("seed", ""),
                len(run.transactions),
            )
            for side in (a, b)
            for run in side.runs
        ],
        columns=["side", "run folder", "seed", "payments"],
    )
    return section(
        "Summary",
        key,
        [
            noise_note(a, b),
            columns(
                [
                    Safe("<h3>Headline figures</h3>"),
                    shown(head, by_name),
                ],
                [
                    Safe("<h3>Scenario parameters</h3>"),
                    table(
                        params,
                        {"A": cell, "B": cell, "difference": signed()},
                        classes=beyond_noise(params),
                    ),
                    Safe("<h3>Runs</h3>"),
                    table(runs, {"seed": str}),
                ],
            ),
        ],
    )


# -- the terminal -------------------------------------------------------------------------


def differences(head: pd.DataFrame, limit: int = MAX_TERMINAL_ROWS) -> pd.DataFrame:
    """The headline figures that differ, biggest relative change (|B − A| / |A|) first (a
    change from 0 counts as the biggest), then those whose text changed; at most `limit`."""
    numbers = head[[is_number(d) and d != 0 for d in head["difference"]]]
    relative = [
        abs(d) / abs(va) if is_number(va) and va != 0 else float("inf")
        for va, d in zip(numbers["A"], numbers["difference"], strict=True)
    ]
    numbers = numbers.assign(change=relative).sort_values(
        ["change", "figure"], ascending=[False, True], kind="stable"
    )
    texts = head[head["difference"] == "changed"].assign(change=float("nan"))
    return pd.concat([numbers, texts]).head(limit).reset_index(drop=True)


def differences_table(comparison: Comparison, limit: int = MAX_TERMINAL_ROWS) -> Table:
    """The headline differences for the terminal: figure, A, B, difference, the relative
    change and, with several runs a side, whether the difference is within noise."""
    head = comparison.headline
    rows = differences(head, limit)
    n = len(differences(head, len(head)))
    many = several(comparison.a, comparison.b)
    title = (
        f"headline figures that differ ({n}; the {len(rows)} biggest relative changes)"
        if n > len(rows)
        else f"headline figures that differ ({n})"
    )
    out = Table(title=title, title_justify="left")
    out.add_column("figure")
    for side in ("A", "B"):
        out.add_column(side + (" (mean)" if many else ""), justify="right")
    out.add_column("difference", justify="right")
    out.add_column("change", justify="right")
    if many:
        out.add_column("noise?")
    for row in rows.to_dict("records"):
        show = by_name(row["figure"])
        cells = [row["figure"], show(row["A"]), show(row["B"]), signed(show)(row["difference"])]
        cells.append(_change(row["change"], row["difference"]))
        if many:
            cells.append({"yes": "within noise", "no": "beyond"}.get(row["within noise"], ""))
        out.add_row(*(escape(str(c)) for c in cells))
    return out


def _change(relative: float, difference: Any) -> str:
    """'+12.3%', 'from 0' (A was 0), or '' (text that changed)."""
    if relative != relative:
        return ""
    if relative == float("inf"):
        return "from 0"
    return f"{'+' if difference > 0 else '−'}{100 * relative:.1f}%"
