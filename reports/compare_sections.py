"""The comparison's sections after its Summary, in the single-run report's order: each
computes the run report's own table for every run (`tables`, `failures`, `banks`,
`fraud`), pools them per side (`sides.pooled`) and draws both sides (`compare_plots`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from upisim.reports import banks, compare_plots, failures, fmt, fraud, tables
from upisim.reports.html import Safe, columns, markup, section
from upisim.reports.report import Output
from upisim.reports.run import Run
from upisim.reports.sides import (
    Side,
    biggest,
    both,
    by_name,
    per_side,
    pooled,
    share_points,
    shown,
    signed,
    zero,
)

Format = Callable[[Any], str]


def _share(_: Any) -> Format:
    return fmt.share


def _points(_: Any) -> Format:
    return share_points


def _rate(values: list[float]) -> str:
    return per_side(values, lambda v: f"{v:,.1f}")


def _counts(values: list[int]) -> str:
    return per_side([float(v) for v in values], fmt.count)


def _names(a: Side, b: Side) -> tuple[str, str]:
    return (a.name, b.name)


def throughput(a: Side, b: Side, bin_ms: int, end_ms: int, out: Output) -> Safe:
    each = both(a, b, lambda r: tables.throughput(r.transactions, bin_ms, end_ms))
    means = {
        f"{column}_{side}": compare_plots.mean_series(frames, "t_s", column)[column]
        for column in ("offered", "completed")
        for side, frames in zip("ab", each, strict=True)
    }
    counts = pd.DataFrame({"t_s": each[0][0]["t_s"], **means})
    out.csv("compare_throughput.csv", counts)
    per_second = 1000 / bin_ms
    peaks = [[float(t["completed"].max()) * per_second for t in frames] for frames in each]
    key = markup("Peak completed per second: A {}, B {}.", _rate(peaks[0]), _rate(peaks[1]))
    fig = compare_plots.compare_throughput_figure(*each, bin_ms, _names(a, b))
    return section(
        "Throughput", key, [out.figure("compare_throughput.png", fig, "Throughput of both sides")]
    )


def _stages(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The mean over runs of each stage's latency figures."""
    both = pd.concat(frames, ignore_index=True)
    return both.groupby("stage", sort=False, as_index=False).mean(numeric_only=True)


def latency(a: Side, b: Side, bin_ms: int, out: Output) -> Safe:
    # as in the run report: payments that moved money, refusals of a millisecond apart
    over_time = both(
        a, b, lambda r: tables.latency_over_time(tables.moved_money(r.transactions), bin_ms)
    )
    stages = both(a, b, lambda r: tables.stage_latencies(tables.moved_money(r.transactions)))
    merged = pd.merge(_stages(stages[0]), _stages(stages[1]), on="stage", suffixes=("_a", "_b"))
    out.csv("compare_latency_stages.csv", merged)
    whole = [
        [float(tables.stage(t)[column]) for t in side]
        for side in stages
        for column in ("p99_ms", "p50_ms")
    ]
    ms = fmt.milliseconds
    key = markup(
        "End-to-end p99 of payments that moved money: A {}, B {} (p50: A {}, B {}).",
        per_side(whole[0], ms),
        per_side(whole[2], ms),
        per_side(whole[1], ms),
        per_side(whole[3], ms),
    )
    fig = compare_plots.compare_latency_figure(*over_time, _names(a, b))
    return section(
        "Latency",
        key,
        [out.figure("compare_latency.png", fig, "Latency percentiles of both sides")],
    )


def outcomes(a: Side, b: Side, out: Output) -> Safe:
    def codes(run: Run) -> pd.DataFrame:
        return tables.outcomes(run.transactions, tables.code_meanings(run.summary))

    frames = both(a, b, codes)
    by_code = pooled(frames, "reason_code", "payments", fill=zero)
    declines = pooled(
        both(a, b, lambda r: tables.declines(r.transactions)), "label", "share", fill=zero
    ).rename(columns={"label": "outcome"})
    out.csv("compare_outcomes.csv", by_code)
    out.csv("compare_declines.csv", declines)
    moved = biggest(by_code)
    if moved is None:
        key = Safe("Both sides have the same number of payments per reason code.")
    else:
        key = markup(
            "The biggest change is in code {}: {} (A) → {} (B).",
            moved["reason_code"],
            fmt.count(moved["A"]),
            fmt.count(moved["B"]),
        )
    fig = compare_plots.compare_bars_figure(
        *frames, "reason_code", [("payments", "Payments by reason code")], _names(a, b)
    )
    return section(
        "Outcomes",
        key,
        [
            out.figure("compare_outcomes.png", fig, "Payments by reason code on both sides"),
            columns(
                [shown(by_code)],
                [shown(declines, _share, _points)],
            ),
        ],
    )


def failure_handling(a: Side, b: Side, out: Output) -> Safe:
    frames = both(a, b, lambda r: failures.lifecycle(r.transactions, r.events))
    paths = pooled(frames, "path", "payments")
    paths = paths[(paths["A"] != 0) | (paths["B"] != 0)]
    counts = tables.runs_side_by_side(
        *both(a, b, lambda r: list(failures.figures(r.transactions, r.events, r.summary).items()))
    )
    out.csv("compare_lifecycle.csv", paths)
    out.csv("compare_failures.csv", counts)
    n = counts.set_index("figure")
    key = markup(
        "Timeouts: A {}, B {}; reversals: A {}, B {}; deemed approved: A {}, B {}.",
        *(fmt.count(n.loc[f, side]) for f in ("timeouts", "reversals", "deemed") for side in "AB"),
    )
    fig = compare_plots.compare_bars_figure(
        *frames, "path", [("payments", "The path each payment took")], _names(a, b)
    )
    return section(
        "Failure handling",
        key,
        [
            out.figure("compare_failures.png", fig, "The path each payment took on both sides"),
            columns(
                [shown(paths)],
                [shown(counts)],
            ),
        ],
    )


BANK_SHARES = (
    ("success", "approved"),
    ("business declines", "business declines (BD)"),
    ("technical declines", "technical declines (TD)"),
)
BANK_FIGURES = ("payments", *(c for c, _ in BANK_SHARES), "p99_ms", "peak queue")


def _bank_format(key: Any) -> Format:
    figure = key[1]
    if figure in dict(BANK_SHARES):
        return fmt.share
    return fmt.milliseconds if figure.endswith("_ms") else fmt.count


def banks_section(a: Side, b: Side, out: Output) -> Safe:
    frames = both(a, b, lambda r: banks.bank_outcomes(r.transactions, r.queues))
    by_bank = pooled(frames, "bank", BANK_FIGURES)
    out.csv("compare_banks.csv", by_bank)
    if by_bank.empty:
        return section("Banks", Safe("No payment reached a bank on either side."), [])
    moved = biggest(by_bank[by_bank["figure"] == "success"])
    key = markup(
        "Shares of the payments with a leg at each bank (as remitter or beneficiary, as the "
        "run report counts them). {}",
        markup(
            "The approved share moved most at {}: {} (A) → {} (B).",
            moved["bank"],
            fmt.share(moved["A"]),
            fmt.share(moved["B"]),
        )
        if moved is not None
        else Safe("No bank of both sides has its approved share changed."),
    )

    def difference(k: Any) -> Format:
        return share_points if k[1] in dict(BANK_SHARES) else signed(_bank_format(k))

    fig = compare_plots.compare_bars_figure(
        *frames, "bank", BANK_SHARES, _names(a, b), share=True, by_size=False
    )
    return section(
        "Banks",
        key,
        [
            out.figure("compare_banks.png", fig, "Approved, BD and TD shares per bank"),
            shown(by_bank, _bank_format, difference, {"p99_ms": "p99"}),
        ],
    )


def methods(a: Side, b: Side, out: Output) -> dict[str, Safe]:
    """Payments per method on both sides; none when no run's rows carry a method."""
    title = "Payment methods"
    if not any("method" in r.transactions for s in (a, b) for r in s.runs):
        return {}

    frames = both(a, b, lambda r: tables.methods(r.transactions))
    counts = pooled(frames, "method", "payments", fill=zero)
    out.csv("compare_methods.csv", counts)
    if counts.empty:
        return {title: section(title, Safe("No payments on either side."), [])}
    used = [sorted({m for f in side for m in f["method"]}) for side in frames]
    key = markup(
        "Methods used: A {}; B {}.", ", ".join(used[0]) or "none", ", ".join(used[1]) or "none"
    )
    fig = compare_plots.compare_bars_figure(
        *frames, "method", [("payments", "Payments by method")], _names(a, b)
    )
    body = [out.figure("compare_methods.png", fig, "Payments by method on both sides")]
    return {title: section(title, key, [*body, shown(counts)])}


def rate_limits(a: Side, b: Side, bin_ms: int, end_ms: int, out: Output) -> Safe:
    title = "Rate-limit hits"

    windows = pooled(
        both(a, b, lambda r: tables.rate_limit_windows(r.events)), "window", "hits", fill=zero
    )
    out.csv("compare_rate_limits.csv", windows)
    if windows.empty:
        return section(title, Safe("No rate-limit hits on either side."), [])
    hits = both(a, b, lambda r: int((r.events["kind"] == "RATE_LIMIT").sum()))
    key = markup("Rate-limit hits: A {}, B {}.", _counts(hits[0]), _counts(hits[1]))
    frames = both(a, b, lambda r: tables.rate_limit_over_time(r.events, bin_ms, end_ms))
    fig = compare_plots.compare_cumulative_figure(
        *frames, _names(a, b), "Rate-limit hits over time", "hits so far"
    )
    return section(
        title,
        key,
        [out.figure("compare_rate_limits.png", fig, "Rate-limit hits over time"), shown(windows)],
    )


def money(a: Side, b: Side, out: Output) -> Safe:
    title = "Balance conservation"
    if all(m.empty for s in (a, b) for m in s.money):
        return section(title, Safe("No money samples on either side."), [])
    worst = [max((tables.max_deviation(m) or 0) for m in s.money) for s in (a, b)]
    key = markup(
        'Largest deviation of total money in any run: A <span class="{}">{}</span>, '
        'B <span class="{}">{}</span> paise.',
        *(item for d in worst for item in ("bad" if d else "good", fmt.count(d))),
    )
    fig = compare_plots.compare_money_figure(a.money, b.money, _names(a, b))
    return section(
        title,
        key,
        [out.figure("compare_money.png", fig, "Money in flight and deviation on both sides")],
    )


SETTLEMENT_FIGURES = ("cycles", "largest_net_debit_paise", "cap_used", "U03")


def _settlement_format(key: Any) -> Format:
    figure = key[1]
    if figure == "cap_used":
        return lambda v: fmt.share(v) if isinstance(v, float) and v == v else ""
    return by_name(figure)


def settlement(a: Side, b: Side, out: Output) -> dict[str, Safe]:
    """Each bank's settlement on both sides; none when no run closed a settlement cycle."""
    title = "Settlement"
    if all(r.settlement.empty for s in (a, b) for r in s.runs):
        return {}

    def by_bank(run: Run) -> pd.DataFrame:
        caps = banks.net_debit_caps(run.scenario)
        frame = banks.settlement_by_bank(run.settlement, run.transactions, caps)
        return frame.assign(net_debit=frame["largest_net_debit_paise"] / 100)  # rupees, drawn

    frames = both(a, b, by_bank)
    table = pooled(frames, "bank", SETTLEMENT_FIGURES)
    out.csv("compare_settlement.csv", table)
    largest = [
        [int(f["largest_net_debit_paise"].max()) if len(f) else 0 for f in side] for side in frames
    ]
    key = markup(
        "The largest net debit of any bank at a cycle's close: A {}, B {}.",
        *(per_side(side, lambda v: fmt.rupees(round(v))) for side in largest),
    )
    fig = compare_plots.compare_bars_figure(
        *frames,
        "bank",
        [("net_debit", "Largest net debit at a close")],
        _names(a, b),
        xlabel="largest net debit",
        rupees=True,
        by_size=False,
    )
    return {
        title: section(
            title,
            key,
            [
                out.figure("compare_settlement.png", fig, "Largest net debit per bank"),
                shown(table, _settlement_format),
            ],
        )
    }


FRAUD_SCORES = ("alerts", "precision", "recall", "stopped_paise")


def _fraud_format(key: Any) -> Format:
    figure = key[1]
    if figure in ("precision", "recall"):
        return lambda v: fmt.share(v) if isinstance(v, float) and v == v else ""
    return by_name(figure)


def fraud_section(a: Side, b: Side, out: Output) -> Safe:
    frames = both(a, b, lambda r: tables.fraud_by_rule(r.events))
    kinds = [c for f in (*frames[0], *frames[1]) for c in f.columns if c != "rule"]
    by_rule = pooled(frames, "rule", list(dict.fromkeys(kinds)), fill=zero)
    out.csv("compare_fraud.csv", by_rule)
    truth = any(not r.fraud_truth.empty for s in (a, b) for r in s.runs)
    if by_rule.empty and not truth:
        return section("Fraud", Safe("No fraud flags or declines on either side."), [])

    def events(kind: str) -> tuple[list[int], list[int]]:
        return both(a, b, lambda r: int((r.events["kind"] == kind).sum()))

    totals = [events("FRAUD_FLAG"), events("FRAUD_DECLINE")]
    key = markup(
        "Fraud flags: A {}, B {}; fraud declines: A {}, B {}.",
        *(_counts(side) for kind in totals for side in kind),
    )
    body = []
    if not by_rule.empty:
        fig = compare_plots.compare_bars_figure(
            *frames,
            "rule",
            [("flagged", "Fraud flags by rule"), ("declined", "Fraud declines by rule")],
            _names(a, b),
            xlabel="events",
            by_size=False,
        )
        body += [out.figure("compare_fraud.png", fig, "Fraud flags and declines by rule")]
        body += [shown(by_rule)]
    if truth:  # scored against the ground truth (a side's runs without it: no scores)

        def scores(run: Run) -> pd.DataFrame:
            if run.fraud_truth.empty:
                return pd.DataFrame(columns=["rule", *FRAUD_SCORES])
            return fraud.by_rule(run.transactions, run.fraud_truth)

        scored = pooled(both(a, b, scores), "rule", FRAUD_SCORES)
        out.csv("compare_fraud_scores.csv", scored)
        body += [
            Safe("<h3>Scored against the ground truth (rule <code>any</code>: every alert)</h3>"),
            shown(scored, _fraud_format, lambda k: signed(_fraud_format(k))),
        ]
    return section("Fraud", key, body)


def collects(a: Side, b: Side, out: Output) -> dict[str, Safe]:
    """What became of collect requests on both sides; none when no run created one."""
    title = "Collect requests"

    frames = both(a, b, lambda r: tables.collects(r.transactions))
    table = pooled(frames, "outcome", "collects", fill=zero)
    out.csv("compare_collects.csv", table)
    if not (table.set_index("outcome").loc["created", ["A", "B"]] != 0).any():
        return {}
    created = table.set_index("outcome").loc["created"]
    key = markup(
        "Collect requests created: A {}, B {}.", fmt.count(created["A"]), fmt.count(created["B"])
    )
    return {title: section(title, key, [shown(table)])}
