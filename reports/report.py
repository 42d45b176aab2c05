"""The single-run report: `build_report` turns a run folder into report/index.html."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from upisim.reports import banks, calibration, failures, fmt, fraud, plots, refunds, tables
from upisim.reports.html import (
    Safe,
    banner,
    columns,
    esc,
    image,
    join,
    markup,
    page,
    section,
    table,
)
from upisim.reports.run import Run, load_run
from upisim.reports.spreadsheet import spreadsheet_safe
from upisim.runfolder import State

# Only what the report uses: the id and party columns are most of the file.
REPORT_COLUMNS = (
    "txn_id",  # the fraud scores join the truth table on it
    "kind",
    "method",
    "payer_bank",
    "payee_bank",
    "amount_paise",
    "state",
    "reason_code",
    "response_code",
    "fraud_flags",
    "decline_type",
    "t_initiated_ms",
    "t_received_ms",
    "t_resolved_ms",
    "t_risk_ms",
    "t_debited_ms",
    "t_credited_ms",
    "t_completed_ms",
    "latency_ms",
    "refund_of",
)
COLUMNS = ["parameter", "value"]
MIN_POINTS = 3  # a curve over time or load needs this many points; fewer are said in words
PNG_NAMES = (
    "throughput.png",
    "latency_over_time.png",
    "latency_distribution.png",
    "outcomes.png",
    "queues.png",
    "load_curve.png",
    "methods.png",
    "rate_limits.png",
    "failures.png",
    "money.png",
    "settlement.png",
    "fraud.png",
    "fraud_truth.png",
    "collects.png",
    "refunds.png",
)


@dataclass
class Output:
    """The report folder being written: every figure and table lands here too."""

    folder: Path
    written: list[str] = field(default_factory=list)

    def figure(self, name: str, fig: Figure, alt: str) -> Safe:
        png = plots.png_bytes(fig)
        (self.folder / name).write_bytes(png)
        self.written.append(name)
        return image(png, alt)

    def csv(self, name: str, frame: pd.DataFrame) -> None:
        spreadsheet_safe(frame).to_csv(self.folder / name, index=False)
        self.written.append(name)

    def remove_stale(self) -> None:
        """Drop plots an earlier report of this run wrote that this one does not have."""
        for name in PNG_NAMES:
            if name not in self.written:
                (self.folder / name).unlink(missing_ok=True)


def build_report(run_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Write `index.html` with its PNGs and CSVs into `out_dir` (default `RUN_DIR/report`)
    and return the HTML file's path."""
    run = load_run(run_dir, transaction_columns=REPORT_COLUMNS)
    out = Output(Path(out_dir) if out_dir is not None else run.path / "report")
    out.folder.mkdir(parents=True, exist_ok=True)
    end_ms = tables.span_ms(
        run.summary,
        run.transactions["t_initiated_ms"],
        run.transactions["t_completed_ms"],
        run.events["t_ms"],
        run.money["t_ms"],
    )
    bin_ms = tables.bin_ms_for(end_ms)
    money = tables.money_over_time(run.money, tables.start_paise(run.summary))
    head = tables.headline(run.summary, run.transactions, money)
    with plots.style(), plots.shading(banks.fault_windows(run.scenario)):
        sections = {
            "Summary": _summary(run, head, money, out),
            **_calibration(run, out),  # next: a calibrated scenario is read for it
            "Throughput": _throughput(run, bin_ms, end_ms, out),
            "Latency": _latency(run, bin_ms, out),
            "Outcomes": _outcomes(run, out),
            "Failure handling": _failures(run, bin_ms, end_ms, out),
            "Banks": _banks(run, bin_ms, out),
            **_methods(run, out),
            "Rate-limit hits": _rate_limits(run, bin_ms, end_ms, out),
            "Balance conservation": _money(run, money, out),
            "Settlement": _settlement(run, out),
            "Fraud": _fraud(run, bin_ms, end_ms, out),
            "Collect requests": _collects(run, out),
            "Refunds": _refunds(run, bin_ms, end_ms, out),
            "Appendix": _appendix(run, head, out),
        }
    out.remove_stale()
    target = out.folder / "index.html"
    target.write_text(
        page(_title(run), _subtitle(run, bin_ms), _banner(run, money, head), sections),
        encoding="utf-8",
    )
    return target


def _title(run: Run) -> str:
    name = run.summary.get("scenario") or run.scenario.get("name") or run.path.name
    return f"upisim run report: {name}"


def _subtitle(run: Run, bin_ms: int) -> Safe:
    duration = tables.as_int(run.summary.get("sim_duration_ms"))
    return markup(
        "Run folder {} · seed {} · {} simulated · {} payments · time bins of {}",
        run.path.resolve().name,
        run.summary.get("seed", "?"),
        "?" if duration is None else fmt.milliseconds(duration),
        fmt.count(len(run.transactions)),
        fmt.seconds_label(bin_ms),
    )


def _banner(run: Run, money: pd.DataFrame, head: pd.DataFrame) -> Safe:
    problems = []
    if run.summary.get("ok") is False:
        problems.append("the run reports ok = false")
    reported = run.summary.get("problems")
    if isinstance(reported, list) and reported:
        problems.extend(str(p) for p in reported)
    deviation = tables.max_deviation(money)
    if deviation:
        problems.append(f"total money deviates by up to {fmt.rupees(deviation)}")
    if run.summary.get("conservation_max_deviation_paise"):
        problems.append("summary.json reports a conservation deviation")
    if run.summary.get("stuck_payments"):
        problems.append(f"{run.summary['stuck_payments']} stuck payments")
    mismatches = int((head["check"] == "MISMATCH").sum())
    if mismatches:
        problems.append(f"{mismatches} figure(s) in summary.json disagree with the tables")
    missing = tables.missing_figures(run.summary)
    incomplete = f"summary.json lacks {', '.join(missing)}" if missing else ""
    if problems:
        problems += [f"the summary is incomplete ({incomplete})"] if missing else []
        return banner(False, markup("Check failed: {}.", "; ".join(problems)))
    if missing:
        return banner(
            False,
            markup("Summary incomplete: {}; the run's checks cannot be confirmed.", incomplete),
        )
    checked = (
        f"total money conserved over {len(money):,} samples"
        if len(money)
        else "no money samples to check"
    )
    return banner(
        True,
        markup(
            "Every check passed: {}; no stuck payments; summary.json agrees with the tables.",
            checked,
        ),
    )


# -- sections ----------------------------------------------------------------------------


def _summary(run: Run, head: pd.DataFrame, money: pd.DataFrame, out: Output) -> Safe:
    """The figures a user asks for first, as one short table; the rest is in the appendix."""
    frame = dashboard(run, money)
    out.csv("dashboard.csv", frame)
    tx = run.transactions
    total = len(tx)
    approved = int((tx["state"] == State.SUCCESS).sum())
    key = markup(
        "{} payments, {} approved ({}). Every figure summary.json holds, and the scenario's "
        "parameters, are in the appendix at the end.",
        fmt.count(total),
        fmt.count(approved),
        fmt.share(approved / total) if total else "n/a",
    )
    mismatch = head["check"] == "MISMATCH"
    note = (
        markup(
            '<p class="bad">{} figure(s) in summary.json disagree with the tables '
            "(the appendix shows which).</p>",
            int(mismatch.sum()),
        )
        if mismatch.any()
        else Safe("")
    )
    return section("Summary", key, [note, table(frame)])


def dashboard(run: Run, money: pd.DataFrame) -> pd.DataFrame:
    """The dashboard: payments, approved / business / technical shares, latency of the
    successful ones, money conserved, fraud, rate limits, failures, anything stuck."""
    tx, summary = run.transactions, run.summary
    total = max(len(tx), 1)
    ok = tx[tx["state"] == State.SUCCESS]
    declines = tx["decline_type"].value_counts() if "decline_type" in tx else pd.Series()
    deviation = tables.max_deviation(money)
    latency = ok["latency_ms"].to_numpy(dtype=float)
    failed = failures.figures(tx, run.events, summary)  # as the Failure handling section

    def ms(p: float) -> str:
        return fmt.milliseconds(float(np.percentile(latency, p))) if latency.size else "n/a"

    rows = [
        ("payments", fmt.count(len(tx))),
        ("approved", fmt.share(len(ok) / total)),
        ("business declines (BD)", fmt.share(int(declines.get("BD", 0)) / total)),
        ("technical declines (TD)", fmt.share(int(declines.get("TD", 0)) / total)),
        ("latency of approved payments, p50 / p99", f"{ms(50)} / {ms(99)}"),
        (
            "money conserved",
            "no samples" if deviation is None else
            "yes, at every sample" if deviation == 0 else
            f"NO: off by up to {fmt.rupees(deviation)}",
        ),
        ("fraud flagged / declined",
         f"{fmt.count(summary.get('fraud_flagged', 0))} / "
         f"{fmt.count(summary.get('fraud_declined', 0))}"),
        ("value moved / refunded", " / ".join(fmt.rupees(v) for v in refunds.value_moved(tx))),
        ("rate-limit hits", fmt.count(summary.get("rate_limit_hits", 0))),
        ("timeouts / reversals / deemed",
         " / ".join(fmt.count(failed[k]) for k in ("timeouts", "reversals", "deemed"))),
        ("stuck payments", fmt.count(summary.get("stuck_payments", 0))),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["figure", "value"])


def _appendix(run: Run, head: pd.DataFrame, out: Output) -> Safe:
    """Every figure of summary.json beside the tables' own, and the scenario, collapsed."""
    out.csv("headline.csv", head)
    out.csv("scenario.csv", pd.DataFrame(tables.flatten(run.scenario), columns=COLUMNS))
    # On the page, short lists of objects (banks, load profile) read better as tables.
    objects: dict[str, pd.DataFrame] = {}
    scenario = pd.DataFrame(tables.flatten(run.scenario, objects=objects), columns=COLUMNS)
    mismatch = head["check"] == "MISMATCH"
    return section(
        "Appendix",
        Safe("The full summary.json, checked against the tables, and the scenario as run."),
        [
            markup(
                "<details{}><summary>Every figure of summary.json ({} rows)</summary>",
                Safe(" open") if mismatch.any() else Safe(""),
                len(head),
            ),
            table(
                _readable(head),
                headers={"recomputed": "from the tables"},
                classes=["bad" if m else "" for m in mismatch],
            ),
            Safe("</details>"),
            markup("<details><summary>Scenario parameters ({} rows)</summary>", len(scenario)),
            table(_readable(scenario, key="parameter"))
            if len(scenario)
            else Safe("<p>No scenario.json.</p>"),
            *(
                join([markup("<h3>Scenario: {}</h3>", name), table(frame, _cells(frame))])
                for name, frame in objects.items()
            ),
            Safe("</details>"),
        ],
    )


def _cells(frame: pd.DataFrame) -> dict[str, Any]:
    return {str(column): _cell for column in frame.columns}


def _cell(value: Any) -> str:
    if value is None:
        return "none"
    return fmt.count(value) if not isinstance(value, str) else value


def _readable(head: pd.DataFrame, key: str = "figure") -> pd.DataFrame:
    """Values as text: amounts in paise also in rupees (Indian grouping), seeds and ids as
    plain integers, counts with thousands separators."""
    shown = head.copy()
    for column in [c for c in ("value", "recomputed") if c in head]:
        shown[column] = [
            _paise_cell(v) if str(k).endswith("_paise") else _plain(v) if _is_id(k) else _cell(v)
            for k, v in zip(head[key], head[column], strict=True)
        ]
    return shown


def _is_id(key: Any) -> bool:
    """A seed, a cycle or file number, a CPU: a name, not a quantity."""
    last = str(key).rsplit(".", 1)[-1]
    return last in ("seed", "pinned_cpu") or last.endswith(("_id", "_seed"))


def _plain(value: Any) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else _cell(value)


def _paise_cell(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value:
        return _cell(value)
    return f"{fmt.count(value)} ({fmt.rupees(int(value))})"


def _throughput(run: Run, bin_ms: int, end_ms: int, out: Output) -> Safe:
    tp = tables.throughput(run.transactions, bin_ms, end_ms)
    out.csv("throughput.csv", tp)
    if run.transactions.empty:
        return section("Throughput", Safe("No payments in this run."), [])
    per_second = 1000 / bin_ms
    peak = int(tp["completed"].max()) if len(tp) else 0
    seconds = end_ms / 1000
    key = markup(
        "Completed payments peaked at {} per second (mean {} per second over {} s).",
        f"{peak * per_second:,.1f}",
        f"{len(run.transactions) / seconds:,.1f}",
        f"{seconds:,.0f}",
    )
    fig = plots.throughput_figure(tp, bin_ms)
    return section(
        "Throughput",
        key,
        [out.figure("throughput.png", fig, "Throughput over simulated time")],
    )


def _latency(run: Run, bin_ms: int, out: Output) -> Safe:
    """The latency of payments that moved money; refusals (often a millisecond) apart."""
    moved = tables.moved_money(run.transactions)
    over_time = tables.latency_over_time(moved, bin_ms)
    histogram = tables.latency_histogram(moved)
    stages = tables.stage_latencies(moved)
    by_outcome = tables.latency_by_outcome(run.transactions)
    out.csv("latency_over_time.csv", over_time)
    out.csv("latency_histogram.csv", histogram)
    out.csv("latency_stages.csv", stages)
    out.csv("latency_by_outcome.csv", by_outcome)
    whole = tables.stage(stages)
    ms = {c: fmt.milliseconds for c in ("p50_ms", "p95_ms", "p99_ms", "max_ms")}
    headers = {c: c.removesuffix("_ms") for c in ms}
    outcomes = [Safe("<h3>By how the payment ended</h3>"), table(by_outcome, ms, headers=headers)]
    if run.transactions.empty:
        return section("Latency", Safe("No payments, so no latency."), [])
    if not whole["payments"]:
        return section("Latency", Safe("No payment moved money: no latency plots."), outcomes)
    refused = len(run.transactions) - len(moved)
    key = markup(
        "Payments that moved money took p50 {}, p95 {}, p99 {}, max {}; the plots show "
        "those {} payments only. The {} that did not (declines, refusals, expiries) are "
        "in the table below, apart.",
        *(fmt.milliseconds(whole[c]) for c in ("p50_ms", "p95_ms", "p99_ms", "max_ms")),
        fmt.count(int(whole["payments"])),
        fmt.count(refused),
    )
    return section(
        "Latency",
        key,
        [
            out.figure(
                "latency_over_time.png",
                plots.latency_over_time_figure(over_time),
                "Latency percentiles over time, payments that moved money",
            )
            if len(over_time) >= MIN_POINTS
            else markup(
                "<p>They all completed within {} time bin(s): too few for a curve over time.</p>",
                len(over_time),
            ),
            out.figure(
                "latency_distribution.png",
                plots.latency_distribution_figure(histogram, stages),
                "Latency distribution and latency by stage, payments that moved money",
            ),
            columns(
                [
                    Safe("<h3>By stage, payments that moved money</h3>"),
                    table(stages, ms, headers=headers),
                ],
                outcomes,
            ),
        ],
    )


def _outcomes(run: Run, out: Output) -> Safe:
    codes = tables.outcomes(run.transactions, tables.code_meanings(run.summary))
    declines = tables.declines(run.transactions)
    out.csv("outcomes.csv", codes)
    out.csv("declines.csv", declines)
    if codes.empty:
        return section("Outcomes", Safe("No payments in this run."), [])
    by_type = declines.set_index("decline_type")["share"]
    key = markup(
        "{} approved, {} business declines, {} technical declines; the most common "
        "decline is {} ({} payments).",
        fmt.share(by_type.get("", 0)),
        fmt.share(by_type.get("BD", 0)),
        fmt.share(by_type.get("TD", 0)),
        *_top_decline(codes),
    )
    fig = plots.outcomes_figure(codes, declines)
    return section(
        "Outcomes",
        key,
        [
            out.figure("outcomes.png", fig, "Payments by reason code and decline type"),
            columns(
                [table(codes, {"share": fmt.share})],
                [table(declines, {"share": fmt.share})],
            ),
        ],
    )


def _banks(run: Run, bin_ms: int, out: Output) -> Safe:
    tx, queues = run.transactions, run.queues
    outcomes = banks.bank_outcomes(tx, queues)
    over_time = banks.queues_over_time(queues, bin_ms)
    curve = banks.load_curve(tx, max(bin_ms, 5_000))
    out.csv("banks.csv", outcomes)
    out.csv("queues_over_time.csv", over_time)
    out.csv("load_curve.csv", curve)
    if outcomes.empty:
        return section("Banks", Safe("No payment reached a bank."), [])
    worst = outcomes.iloc[int(outcomes["peak queue"].to_numpy().argmax())]
    if worst["peak queue"] > 0:
        key = markup(
            "{}'s core banking queued the most: {} waiting at the peak, {} mean wait, {} "
            "utilisation; {} of the payments with a leg there were technical declines.",
            worst["bank"],
            fmt.count(worst["peak queue"]),
            fmt.milliseconds(worst["mean wait_ms"]),
            fmt.share(worst["utilisation"]),
            fmt.share(worst["technical declines"]),
        )
    else:
        busiest = outcomes.iloc[int(outcomes["utilisation"].to_numpy().argmax())]
        key = markup(
            "No bank's core banking queued: the busiest, {}, used {} of its workers' time.",
            busiest["bank"],
            fmt.share(busiest["utilisation"]),
        )
    shares = ("success", "business declines", "technical declines", "utilisation")
    formats = {c: fmt.share for c in shares} | {
        c: fmt.milliseconds for c in ("p50_ms", "p95_ms", "p99_ms", "mean wait_ms")
    }
    roles = banks.bank_roles(tx)
    out.csv("banks_by_side.csv", roles)
    headers = {c: c.removesuffix("_ms") for c in formats}
    body = [
        table(outcomes, formats, headers=headers),
        Safe("<h3>As remitter (the payer's bank) and as beneficiary (the payee's)</h3>"),
        table(roles, formats, headers=headers),
    ]
    busy = over_time[["queue", "refused"]].fillna(0).to_numpy().any()
    busy = busy or over_time["utilisation"].fillna(0).max() >= 0.01
    if not over_time.empty and busy:  # an idle core banking plots as flat zeros: words do
        fig = plots.queues_figure(over_time)
        body.append(out.figure("queues.png", fig, "Core banking utilisation, queue and wait"))
    if len(curve) >= MIN_POINTS:
        fig = plots.load_curve_figure(curve)
        body.append(out.figure("load_curve.png", fig, "Latency and success against offered load"))
    else:
        body.append(
            markup(
                "<p>Latency and success against offered load need at least {} periods of "
                "load; this run has {}.</p>",
                MIN_POINTS,
                len(curve),
            )
        )
    return section("Banks", key, body)


def _top_decline(codes: pd.DataFrame) -> tuple[str, str]:
    declined = codes[codes["reason_code"] != "00"]
    if declined.empty:
        return ("none", "0")
    row = declined.iloc[0]
    name = f"{row['reason_code']} {row['meaning']}".strip()
    return (name, fmt.count(int(row["payments"])))


def _methods(run: Run, out: Output) -> dict[str, Safe]:
    """The "Payment methods" section, or none for a run whose rows carry no method."""
    title = "Payment methods"
    if "method" not in run.transactions:
        return {}
    by_method = tables.methods(run.transactions)
    states = tables.method_states(run.transactions)
    latency = tables.method_latency(run.transactions)
    out.csv("methods.csv", by_method)
    out.csv("methods_by_state.csv", states)
    out.csv("methods_latency.csv", latency)
    if by_method.empty:
        return {title: section(title, Safe("No payments in this run."), [])}
    if len(by_method) == 1:
        key = markup("Every payment used {}.", by_method["method"].iloc[0])
    else:
        top = by_method.sort_values("payments", ascending=False, kind="stable").iloc[0]
        key = markup(
            "{} payment methods; {} carried the most payments ({}), {} of them successful.",
            len(by_method),
            top["method"],
            fmt.share(top["share"]),
            fmt.share(top["success_rate"]),
        )
    body = []
    if len(by_method) > 1:  # one bar and one box would only repeat the table
        fig = plots.methods_figure(states, latency)
        body.append(out.figure("methods.png", fig, "Payments and latency by method"))
    shown = by_method.rename(columns={"value_paise": "value moved"})
    ms = {"p50_ms": fmt.milliseconds, "p95_ms": fmt.milliseconds}
    body.append(
        table(
            shown,
            {"share": fmt.share, "success_rate": fmt.share, "value moved": fmt.rupees, **ms},
            headers={
                "success_rate": "success rate",
                "succeeded": "succeeded or deemed",
                "p50_ms": "p50 latency",
                "p95_ms": "p95 latency",
            },
        )
    )
    return {title: section(title, key, body)}


def _failures(run: Run, bin_ms: int, end_ms: int, out: Output) -> Safe:
    tx, events = run.transactions, run.events
    life = failures.lifecycle(tx, events)
    legs, undone = failures.timeouts_by_leg(events), failures.reversals(events)
    n = failures.figures(tx, events, run.summary)
    out.csv("lifecycle.csv", life)
    out.csv("timeouts_by_leg.csv", legs)
    key = markup(
        "{} timeouts; {} reversals posted; {} payments deemed approved, of which {} confirmed "
        "by the beneficiary (TCC), {} returned to the payer (RET) and {} still open; {} "
        "messages lost on the way.",
        *(fmt.count(n[k]) for k in ("timeouts", "reversals", "deemed", "confirmed")),
        *(fmt.count(n[k]) for k in ("returned", "still_open", "messages_lost")),
    )
    shown = life[life["payments"] > 0]
    body = [table(shown, {"payments": fmt.count, "share": fmt.share})]
    if n["timeouts"] or n["reversals"] or n["deemed"]:
        fig = failures.figure(life, failures.over_time(events, bin_ms, end_ms))
        alt = "The path each payment took; timeouts, reversals and deemed approvals over time"
        body.insert(0, out.figure("failures.png", fig, alt))
        body.append(columns([table(legs)], [table(undone)]))
    else:
        key = markup("{} Nothing failed that needed handling: no plot.", key)
    return section("Failure handling", key, body)


def _rate_limits(run: Run, bin_ms: int, end_ms: int, out: Output) -> Safe:
    windows = tables.rate_limit_windows(run.events)
    over_time = tables.rate_limit_over_time(run.events, bin_ms, end_ms)
    top = tables.rate_limit_top_users(run.events)
    out.csv("rate_limit_windows.csv", windows)
    out.csv("rate_limit_over_time.csv", over_time)
    out.csv("rate_limit_top_users.csv", top)
    title = "Rate-limit hits"
    if windows.empty:
        return section(title, Safe("No rate-limit hits in this run."), [])
    key = markup(
        "{} rate-limit hits ({}); the user hit most was {} ({} hits).",
        fmt.count(int(windows["hits"].sum())),
        ", ".join(
            f"{w or '(none)'}: {fmt.count(int(n))}" for w, n in windows.itertuples(index=False)
        ),
        top["user"].iloc[0],
        fmt.count(int(top["hits"].iloc[0])),
    )
    fig = plots.rate_limit_figure(over_time, top)
    return section(
        title,
        key,
        [
            out.figure("rate_limits.png", fig, "Rate-limit hits over time and top users"),
            columns(
                [table(windows)],
                [table(top)],
            ),
        ],
    )


def _money(run: Run, money: pd.DataFrame, out: Output) -> Safe:
    out.csv("money.csv", money)
    title = "Balance conservation"
    if money.empty:
        return section(title, Safe("No money samples in this run."), [])
    deviation = tables.max_deviation(money) or 0
    start = tables.start_paise(run.summary)
    reference = (
        markup("the starting {}", fmt.rupees(start))
        if start is not None
        else Safe("the first sample (summary.json has no money_start_paise)")
    )
    in_flight = money["in_flight_paise"].abs().max()
    owed = int(money["card_outstanding_paise"].iloc[-1])
    key = markup(
        '<span class="{}">Largest deviation of total money from {}: {} paise</span> '
        "over {} samples; at most {} was in flight.{}",
        "bad" if deviation else "good",
        reference,
        fmt.count(deviation),
        fmt.count(len(money)),
        fmt.rupees(int(in_flight)),
        markup(
            " Credit-card customers owed {} at the end (counted against the total).",
            fmt.rupees(owed),
        )
        if owed
        else Safe(""),
    )
    fig = plots.money_figure(money, start)
    return section(
        title,
        key,
        [out.figure("money.png", fig, "Total money, money in flight and bank net positions")],
    )


def _calibration(run: Run, out: Output) -> dict[str, Safe]:
    """Compared with the published figures the scenario declares; none: no section."""
    cal = run.summary.get("calibration")
    if not isinstance(cal, dict):
        return {}
    frame = calibration.comparison(cal)
    out.csv("calibration.csv", frame)
    key = markup(
        "{} of {} figures within {} (relative) or within their published range. Targets "
        "from the scenario's [calibration]: {}.",
        cal.get("within", 0),
        cal.get("targets", 0),
        fmt.share(float(cal.get("tolerance", 0))),
        cal.get("source") or "no source given",
    )
    classes = ["" if w == "yes" else "bad" for w in frame["within"]]
    fig = calibration.figure(cal)
    picture = out.figure("calibration.png", fig, "Each figure against its published value")
    body = [picture, table(frame, classes=classes)]
    return {"Compared with NPCI": section("Compared with NPCI", key, body)}


def _settlement(run: Run, out: Output) -> Safe:
    cycles, caps = run.settlement, banks.net_debit_caps(run.scenario)
    by_bank = banks.settlement_by_bank(cycles, run.transactions, caps)
    out.csv("settlement.csv", by_bank)
    if cycles.empty:
        return section(
            "Settlement", Safe("No settlement cycle closed: no payment moved money."), []
        )
    worst = cycles.iloc[int(cycles.net_paise.to_numpy().argmin())]
    key = markup(
        "{} settlement cycle(s) closed; in each, the banks' net positions summed to {}. The "
        "largest net debit at a close was {}, {}'s in cycle {}.",
        fmt.count(cycles.cycle.nunique()),
        fmt.rupees(int(cycles.groupby("cycle").net_paise.sum().abs().max())),
        fmt.rupees(max(0, -int(worst.net_paise))),
        worst.bank,
        fmt.count(int(worst.cycle)),
    )
    for bank, cap, used, declined in by_bank[by_bank.net_debit_cap_paise.notna()][
        ["bank", "net_debit_cap_paise", "cap_used", "U03"]
    ].itertuples(index=False):
        key = markup(
            "{} {}'s net debit cap of {}: its largest net debit at a close used {} of it, and "
            "{} payment(s) were declined U03 at it.",
            key,
            bank,
            fmt.rupees(int(cap)),
            fmt.share(used),
            fmt.count(declined),
        )
    paise = {c: fmt.rupees for c in by_bank.columns if c.endswith("_paise")}
    formats = paise | {
        "net_debit_cap_paise": lambda v: fmt.rupees(v) if pd.notna(v) else "no cap",
        "cap_used": lambda v: fmt.share(v) if pd.notna(v) else "",
        "cycles": fmt.count,
        "payments": fmt.count,
    }
    headers = {c: c.removesuffix("_paise").replace("_", " ") for c in by_bank.columns}
    body = [table(by_bank, formats, headers=headers)]
    if cycles.cycle.nunique() >= 2:
        fig = plots.settlement_figure(cycles, caps)
        body.append(
            out.figure("settlement.png", fig, "Net position per bank at each cycle's close")
        )
    else:
        body.append(Safe("<p>One cycle: its positions are the table's; no curve to draw.</p>"))
    return section("Settlement", key, body)


RULE_AND_TYPOLOGY = {*fraud.RULE_COLUMNS, *fraud.TYPOLOGY_COLUMNS}


def _fraud(run: Run, bin_ms: int, end_ms: int, out: Output) -> Safe:
    by_rule = tables.fraud_by_rule(run.events)
    over_time = tables.fraud_over_time(run.events, bin_ms, end_ms)
    out.csv("fraud.csv", by_rule)
    out.csv("fraud_over_time.csv", over_time)
    truth = run.fraud_truth
    if by_rule.empty and truth.empty:
        return section("Fraud", Safe("No fraud flags or declines in this run."), [])
    key = markup(
        "{} fraud flags and {} fraud declines across {} rule(s).",
        fmt.count(int(by_rule["flagged"].sum())),
        fmt.count(int(by_rule["declined"].sum())),
        len(by_rule),
    )
    body = []
    if not by_rule.empty:
        fig = plots.fraud_figure(over_time, by_rule)
        body += [out.figure("fraud.png", fig, "Fraud flags and declines by rule"), table(by_rule)]
    if not truth.empty:  # scored against the ground truth
        rules, typologies = (
            fraud.by_rule(run.transactions, truth),
            fraud.by_typology(run.transactions, truth),
        )
        out.csv("fraud_scores_by_rule.csv", rules)
        out.csv("fraud_scores_by_typology.csv", typologies)
        truth_over_time = fraud.over_time(run.transactions, truth, bin_ms, end_ms)
        out.csv("fraud_truth_over_time.csv", truth_over_time)
        caught = rules[rules.rule == "any"]
        key = markup(
            "{} {} of {} fraudulent payments (every typology) raised an alert: recall {}, "
            "precision {}. Victims lost {}; the risk engine stopped {}.",
            key,
            fmt.count(int(caught.true_positives.sum())),
            fmt.count(int(typologies.payments.sum())),
            fmt.share(float(caught.recall.sum())),
            fmt.share(float(caught.precision.sum())),
            fmt.rupees(int(run.summary.get("fraud_money_lost_paise", 0))),
            fmt.rupees(int(typologies.stopped_paise.sum())),
        )
        shares: dict[str, Callable[[Any], str]] = {c: fmt.share for c in ("precision", "recall")}
        money: dict[str, Callable[[Any], str]] = {
            c: fmt.rupees for c in ("stopped_paise", "moved_paise")
        }
        plain = {c: c.removesuffix("_paise").replace("_", " ") for c in RULE_AND_TYPOLOGY}
        body += [
            table(rules, shares | money | {"alerts_per_1000": "{:.2f}".format}, headers=plain),
            table(typologies, shares | money, headers=plain),
            out.figure(
                "fraud_truth.png",
                plots.fraud_truth_figure(truth_over_time),
                "Fraud by typology over time, and where its money went",
            ),
        ]
        reports = run.summary.get("fraud_reports", 0)
        if reports:
            key = markup(
                "{} Victims reported {} payments; {} accounts were frozen, holding {}.",
                key,
                fmt.count(int(reports)),
                fmt.count(int(run.summary.get("accounts_frozen", 0))),
                fmt.rupees(int(run.summary.get("frozen_paise", 0))),
            )
    return section("Fraud", key, body)


def _collects(run: Run, out: Output) -> Safe:
    table_ = tables.collects(run.transactions)
    out.csv("collects.csv", table_)
    title = "Collect requests"
    counts = dict(zip(table_["outcome"], table_["collects"], strict=True))
    if not counts["created"]:
        return section(title, Safe("No collect requests in this run."), [])
    key = markup(
        "{} collect requests: {} approved, {} declined by the payer, {} expired.",
        *(fmt.count(int(n)) for n in table_["collects"].iloc[:4]),
    )
    fig = plots.collects_figure(table_)
    return section(
        title,
        key,
        [
            out.figure("collects.png", fig, "Collect requests and their outcomes"),
            table(table_),
        ],
    )


def _refunds(run: Run, bin_ms: int, end_ms: int, out: Output) -> Safe:
    tx = run.transactions
    title = "Refunds"
    if not refunds.any_refunds(tx):
        return section(title, Safe("No refunds in this run."), [])
    figures, methods = refunds.figures(tx), refunds.by_method(tx)
    out.csv("refunds.csv", figures)
    out.csv("refunds_by_method.csv", methods)
    fig = refunds.figure(tx, bin_ms, end_ms)
    return section(
        title,
        esc(refunds.summary_line(tx)),
        [
            out.figure("refunds.png", fig, "Refunds over time, and how long after the payment"),
            columns(
                [table(figures)],
                [table(methods)],
            ),
        ],
    )
