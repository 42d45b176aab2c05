"""Two runs side by side: headline figures, parameters, and overlaid plots in one page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from upisim.reports import fmt, plots, tables
from upisim.reports.html import Safe, banner, markup, page, section, table
from upisim.reports.report import REPORT_COLUMNS, Output
from upisim.reports.run import Run, load_run


def compare_runs(run_a: str | Path, run_b: str | Path, out_dir: str | Path) -> Path:
    """Write `index.html` comparing run B with run A (differences are B − A), with its
    PNGs and CSVs, into `out_dir`; return the HTML file's path."""
    a = load_run(run_a, transaction_columns=REPORT_COLUMNS)
    b = load_run(run_b, transaction_columns=REPORT_COLUMNS)
    out = Output(Path(out_dir))
    out.folder.mkdir(parents=True, exist_ok=True)
    names = (f"A: {a.path.resolve().name}", f"B: {b.path.resolve().name}")
    end_ms = max(_span(a), _span(b))
    bin_ms = tables.bin_ms_for(end_ms)
    money = (
        tables.money_over_time(a.money, tables.start_paise(a.summary)),
        tables.money_over_time(b.money, tables.start_paise(b.summary)),
    )
    sections = {
        "Summary": _summary(a, b, money, out),
        "Throughput": _throughput(a, b, bin_ms, end_ms, names, out),
        "Latency": _latency(a, b, bin_ms, names, out),
        "Outcomes": _outcomes(a, b, names, out),
        **_methods(a, b, names, out),
        "Balance conservation": _money(money, names, out),
    }
    target = out.folder / "index.html"
    subtitle = markup(
        "{} vs {} · differences are B − A · time bins of {}",
        a.path.resolve(),
        b.path.resolve(),
        fmt.seconds_label(bin_ms),
    )
    title = f"upisim comparison: {_name(a)} vs {_name(b)}"
    target.write_text(page(title, subtitle, _banner(a, b, money), sections), encoding="utf-8")
    return target


def _name(run: Run) -> str:
    return str(run.summary.get("scenario") or run.scenario.get("name") or run.path.name)


def _span(run: Run) -> int:
    return tables.span_ms(
        run.summary,
        run.transactions["t_initiated_ms"],
        run.transactions["t_completed_ms"],
        run.money["t_ms"],
    )


def _banner(a: Run, b: Run, money: tuple[pd.DataFrame, pd.DataFrame]) -> Safe:
    failed = [
        label
        for label, run, m in (("A", a, money[0]), ("B", b, money[1]))
        if run.summary.get("ok") is False or tables.max_deviation(m)
    ]
    if failed:
        return banner(False, markup("Invariant check failed in run {}.", " and ".join(failed)))
    incomplete = [
        f"{label}'s summary.json lacks {', '.join(missing)}"
        for label, run in (("A", a), ("B", b))
        if (missing := tables.missing_figures(run.summary))
    ]
    if incomplete:
        return banner(
            False,
            markup(
                "Summary incomplete: {}; the checks cannot be confirmed.", "; ".join(incomplete)
            ),
        )
    return banner(True, Safe("Both runs held every invariant."))


def _summary(a: Run, b: Run, money: tuple[pd.DataFrame, pd.DataFrame], out: Output) -> Safe:
    head = tables.side_by_side(_figures(a, money[0]), _figures(b, money[1]))
    params = tables.side_by_side(
        tables.flatten(a.scenario), tables.flatten(b.scenario), key="parameter"
    )
    out.csv("compare_headline.csv", head)
    out.csv("compare_scenario.csv", params)
    changed = params[[c == "changed" for c in _changed(params)]]
    if changed.empty:
        key = Safe("The two scenarios have the same parameters.")
    else:
        shown = "; ".join(
            f"{p}: {va} → {vb}" for p, va, vb, _ in changed.head(5).itertuples(index=False)
        )
        more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        key = markup("{} parameter(s) differ: {}{}.", len(changed), shown, more)
    formats = {"A": _cell, "B": _cell, "difference": _signed}
    return section(
        "Summary",
        key,
        [
            Safe('<div class="cols"><div>'),
            Safe("<h3>Headline figures</h3>"),
            table(head, formats, classes=_changed(head)),
            Safe("</div><div>"),
            Safe("<h3>Scenario parameters</h3>"),
            table(params, formats, classes=_changed(params)),
            Safe("</div></div>"),
        ],
    )


def _figures(run: Run, money: pd.DataFrame) -> list[tuple[str, Any]]:
    """Headline figures, from summary.json where it has them, else from the tables."""
    head = tables.headline(run.summary, run.transactions, money, results_only=True)
    return [
        (figure, value if value != "" else again)
        for figure, value, again in head[["figure", "value", "recomputed"]].itertuples(index=False)
    ]


def _changed(frame: pd.DataFrame) -> list[str]:
    return ["changed" if d not in ("", 0) else "" for d in frame["difference"]]


def _cell(value: Any) -> str:
    return fmt.count(value) if not isinstance(value, str) else value


def _signed(value: Any) -> str:
    if isinstance(value, str | bool):
        return str(value)
    return "0" if value == 0 else ("+" if value > 0 else "−") + fmt.count(abs(value))


def _throughput(
    a: Run, b: Run, bin_ms: int, end_ms: int, names: tuple[str, str], out: Output
) -> Safe:
    tp_a = tables.throughput(a.transactions, bin_ms, end_ms)
    tp_b = tables.throughput(b.transactions, bin_ms, end_ms)
    both = pd.DataFrame(
        {
            "t_s": tp_a["t_s"],
            "offered_a": tp_a["offered"],
            "offered_b": tp_b["offered"],
            "completed_a": tp_a["completed"],
            "completed_b": tp_b["completed"],
        }
    )
    out.csv("compare_throughput.csv", both)
    per_second = 1000 / bin_ms
    key = markup(
        "Peak completed per second: A {}, B {}.",
        f"{tp_a['completed'].max() * per_second:,.1f}",
        f"{tp_b['completed'].max() * per_second:,.1f}",
    )
    fig = plots.compare_throughput_figure(tp_a, tp_b, bin_ms, names)
    return section(
        "Throughput",
        key,
        [
            out.figure("compare_throughput.png", fig, "Throughput of both runs"),
        ],
    )


def _latency(a: Run, b: Run, bin_ms: int, names: tuple[str, str], out: Output) -> Safe:
    lat_a = tables.latency_over_time(a.transactions, bin_ms)
    lat_b = tables.latency_over_time(b.transactions, bin_ms)
    stages = pd.merge(
        tables.stage_latencies(a.transactions),
        tables.stage_latencies(b.transactions),
        on="stage",
        suffixes=("_a", "_b"),
    )
    out.csv("compare_latency_stages.csv", stages)
    whole = tables.stage(stages)
    key = markup(
        "End-to-end p99: A {}, B {} (p50: A {}, B {}).",
        fmt.milliseconds(whole["p99_ms_a"]),
        fmt.milliseconds(whole["p99_ms_b"]),
        fmt.milliseconds(whole["p50_ms_a"]),
        fmt.milliseconds(whole["p50_ms_b"]),
    )
    fig = plots.compare_latency_figure(lat_a, lat_b, names)
    return section(
        "Latency",
        key,
        [
            out.figure("compare_latency.png", fig, "Latency percentiles of both runs"),
        ],
    )


def _payments_side_by_side(a: pd.DataFrame, b: pd.DataFrame, key: str) -> pd.DataFrame:
    """Payments per ``key`` in run A and run B (0 where a run has none), and B - A."""
    both = tables.side_by_side(
        list(zip(a[key], a["payments"], strict=True)),
        list(zip(b[key], b["payments"], strict=True)),
        key=key,
    )
    both[["A", "B"]] = both[["A", "B"]].replace("", 0)
    both["difference"] = both["B"] - both["A"]
    return both


def _outcomes(a: Run, b: Run, names: tuple[str, str], out: Output) -> Safe:
    out_a = tables.outcomes(a.transactions, tables.code_meanings(a.summary))
    out_b = tables.outcomes(b.transactions, tables.code_meanings(b.summary))
    codes = _payments_side_by_side(out_a, out_b, "reason_code")
    out.csv("compare_outcomes.csv", codes)
    moved = codes.iloc[codes["difference"].abs().argmax()] if len(codes) else None
    if moved is None or moved["difference"] == 0:
        key = Safe("Both runs have the same number of payments per reason code.")
    else:
        key = markup(
            "The biggest change is in code {}: {} (A) → {} (B).",
            moved["reason_code"],
            fmt.count(int(moved["A"])),
            fmt.count(int(moved["B"])),
        )
    fig = plots.compare_outcomes_figure(out_a, out_b, names)
    return section(
        "Outcomes",
        key,
        [
            out.figure("compare_outcomes.png", fig, "Payments by reason code in both runs"),
            table(codes, {"difference": _signed}, classes=_changed(codes)),
        ],
    )


def _methods(a: Run, b: Run, names: tuple[str, str], out: Output) -> dict[str, Safe]:
    """Payments per method in both runs; none when neither run's rows carry a method."""
    title = "Payment methods"
    if "method" not in a.transactions and "method" not in b.transactions:
        return {}
    by_a, by_b = tables.methods(a.transactions), tables.methods(b.transactions)
    counts = _payments_side_by_side(by_a, by_b, "method")
    out.csv("compare_methods.csv", counts)
    if counts.empty:
        return {title: section(title, Safe("No payments in either run."), [])}
    key = markup(
        "Methods used: A {}; B {}.",
        ", ".join(by_a["method"]) or "none",
        ", ".join(by_b["method"]) or "none",
    )
    fig = plots.compare_methods_figure(counts, names)
    return {
        title: section(
            title,
            key,
            [
                out.figure("compare_methods.png", fig, "Payments by method in both runs"),
                table(counts, {"difference": _signed}, classes=_changed(counts)),
            ],
        )
    }


def _money(money: tuple[pd.DataFrame, pd.DataFrame], names: tuple[str, str], out: Output) -> Safe:
    title = "Balance conservation"
    if money[0].empty and money[1].empty:
        return section(title, Safe("No money samples in either run."), [])
    deviations = [tables.max_deviation(m) for m in money]
    key = markup(
        'Largest deviation of total money: A <span class="{}">{}</span>, '
        'B <span class="{}">{}</span> paise.',
        *(item for d in deviations for item in ("bad" if d else "good", fmt.count(d or 0))),
    )
    fig = plots.compare_money_figure(money[0], money[1], names)
    return section(
        title,
        key,
        [
            out.figure("compare_money.png", fig, "Money in flight and deviation in both runs"),
        ],
    )
