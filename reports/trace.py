"""One payment, traced: its messages in order, the events between them, a sequence diagram.

``trace.parquet`` holds every message of the payments ``[trace]`` picked; the
events table holds what the actors noted about them (a fraud flag, a timeout,
a reversal). :func:`payment_trace` puts both in the order they happened, with
a lane per actor: the payer's app, the switch, the fraud monitor, the remitter
and beneficiary banks, the payee's app (``upisim trace RUN TXN_ID``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from upisim.reports import fmt
from upisim.reports.run import Run, RunFolderError, load_run

if TYPE_CHECKING:
    from matplotlib.figure import Figure

EVENT = "event"  # a step's ``message`` prefix for a row of the events table
MAX_STEPS = 80  # a diagram draws this many steps at most (status checks can go on)
_LOST = "#c62828"
_CLEAR = {"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none"}  # text over a lane line


@dataclass(frozen=True)
class PaymentTrace:
    """One payment's steps (messages and events, in order), its row, and its lanes."""

    txn_id: str
    payment: dict[str, Any]  # its transactions row ({} if it has none: still open)
    steps: pd.DataFrame  # t_ms, t_sent_ms, t_delivered_ms, sender, recipient, message, ...
    lanes: list[tuple[str, str]]  # (address, label), left to right

    def headline(self) -> str:
        p = self.payment
        if not p:
            return f"{self.txn_id}: no row in transactions.parquet"
        said = f"{p['state']} {p['response_code']}"
        if p["reason_code"] != p["response_code"]:
            said += f" (reason {p['reason_code']})"
        return (
            f"{self.txn_id}: {p['kind']} {fmt.rupees(p['amount_paise'])} "
            f"{p['payer_vpa']} ({p['payer_bank']}) → {p['payee_vpa']} ({p['payee_bank']}): "
            f"{said} in {fmt.milliseconds(p['latency_ms'])}"
        )


def traced_ids(run: Run) -> list[str]:
    """Every payment the run traced, in the order its first message left."""
    trace = run.trace
    return list(trace.sort_values(["t_sent_ms", "seq"], kind="stable")["txn_id"].unique())


def _nothing_traced(run: Run, txn_id: str = "TXN_ID") -> RunFolderError:
    return RunFolderError(
        f"{run.path}: no payment was traced in this run. Add `[trace]` to the scenario "
        f'(share = 0.01, or txn_ids = ["{txn_id}"]) and run it again: the same seed gives '
        "the same payments"
    )


def payment_trace(run: Run, txn_id: str) -> PaymentTrace:
    """The messages and events of ``txn_id``; a RunFolderError says why there are none."""
    trace = run.trace
    if trace.empty:
        raise _nothing_traced(run, txn_id)
    messages = trace[trace["txn_id"] == txn_id]
    if messages.empty:
        some = ", ".join(traced_ids(run)[:5])
        raise RunFolderError(
            f"{run.path}: {txn_id} was not traced (traced: {some}, ...). Name it in the "
            f'scenario\'s `[trace]` (txn_ids = ["{txn_id}"]) and run it again'
        )
    tx = run.transactions
    rows = tx[tx["txn_id"] == txn_id].to_dict("records")
    payment = {str(k): v for k, v in rows[0].items()} if rows else {}
    steps = _steps(messages, run.events[run.events["txn_id"] == txn_id])
    return PaymentTrace(txn_id, payment, steps, _lanes(steps, payment))


def _steps(messages: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Messages by when they left, events by when they happened; at one instant an event
    comes before what it caused, and one sender's messages in the order it sent them."""
    said = pd.DataFrame(
        {
            "t_ms": messages["t_sent_ms"],
            "t_sent_ms": messages["t_sent_ms"],
            "t_delivered_ms": messages["t_delivered_ms"],
            "sender": messages["sender"],
            "recipient": messages["recipient"],
            "message": messages["message"],
            "code": messages["code"],
            "detail": messages["detail"],
            "amount_paise": messages["amount_paise"],
            "rank": 1,
            "seq": messages["seq"],
        }
    )
    noted = pd.DataFrame(
        {
            "t_ms": events["t_ms"],
            "t_sent_ms": events["t_ms"],
            "t_delivered_ms": pd.Series(pd.NA, index=events.index, dtype="Int64"),
            "sender": events["actor"],
            "recipient": "",
            "message": EVENT + " " + events["kind"],
            "code": "",
            "detail": (events["subject"] + " " + events["detail"]).str.strip(),
            "amount_paise": pd.Series(pd.NA, index=events.index, dtype="Int64"),
            "rank": 0,
            "seq": 0,
        }
    )
    frames = [f for f in (said, noted) if not f.empty]
    steps = pd.concat(frames, ignore_index=True)
    steps = steps.sort_values(["t_ms", "rank", "t_delivered_ms", "seq"], kind="stable")
    return steps.drop(columns=["rank"]).reset_index(drop=True)


def _first(steps: pd.DataFrame, column: str, message: str, has: str = "", lacks: str = "") -> str:
    picked = steps[steps["message"] == message]
    if has:
        picked = picked[picked["detail"].str.contains(has, regex=False)]
    if lacks:
        picked = picked[~picked["detail"].str.contains(lacks, regex=False)]
    return str(picked[column].iloc[0]) if len(picked) else ""


def _lanes(steps: pd.DataFrame, payment: dict[str, Any]) -> list[tuple[str, str]]:
    """Payer's app, switch, fraud monitor, remitter bank, beneficiary bank, payee's app."""
    payer_app = (
        _first(steps, "sender", "ReqPay")
        or _first(steps, "recipient", "ReqAuthDetails", has="collect_from=")
        or _first(steps, "recipient", "RespPay", lacks="for_payee")
    )
    payee_app = (
        _first(steps, "recipient", "ReqTxnConfirmation")
        or _first(steps, "sender", "ReqPayCollect")
        or _first(steps, "recipient", "ReqAuthDetails", lacks="collect_from=")
    )
    payer_bank = f"bank:{payment.get('payer_bank', '')}"
    payee_bank = f"bank:{payment.get('payee_bank', '')}"
    named = {
        payer_app: "payer's app",
        "switch": "NPCI switch",
        "fraud": "fraud monitor",
        payer_bank: "remitter bank",
        payee_bank: "beneficiary bank",
        payee_app: "payee's app",
    }
    if payer_app == payee_app:
        named[payer_app] = "payer's & payee's app"
    if payer_bank == payee_bank:
        named[payer_bank] = "remitter & beneficiary bank"
    seen = list(dict.fromkeys([*steps["sender"], *steps["recipient"]]))
    order = [a for a in named if a in seen] + [a for a in seen if a and a not in named]
    return [(a, f"{named[a]}\n{a}" if a in named else a) for a in order]


def print_trace(traced: PaymentTrace, console: Console) -> None:
    """The payment's steps as a table on the terminal: who is who, then step by step."""
    console.print(escape(traced.headline()))
    who = [label.split("\n") for _, label in traced.lanes]
    roles = [
        f"{r[1]} is the {r[0]}" for r in who if len(r) == 2 and r[1] not in ("switch", "fraud")
    ]
    if roles:
        console.print(escape("; ".join(roles)), style="dim")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="times in ms", title_justify="left")
    table.add_column("sent → arrived", justify="right", no_wrap=True)
    table.add_column("from → to", no_wrap=True)
    table.add_column("message", no_wrap=True)
    table.add_column("code")
    table.add_column("detail", min_width=12, overflow="fold")
    for step in traced.steps.to_dict("records"):
        sent, sender = f"{step['t_sent_ms']:,}", step["sender"]
        if step["message"].startswith(EVENT):
            when, route = sent, sender
        else:
            lost = pd.isna(step["t_delivered_ms"])
            arrived = "lost" if lost else f"{step['t_delivered_ms']:,}"
            when, route = f"{sent} → {arrived}", f"{sender} → {step['recipient']}"
        table.add_row(
            when,
            escape(route),
            escape(step["message"]),
            escape(step["code"]),
            escape(_said(step["detail"], step["amount_paise"])),
        )
    console.print(table)


def _said(detail: str, amount: Any) -> str:
    return " ".join(x for x in (detail, "" if pd.isna(amount) else fmt.rupees(int(amount))) if x)


def sequence_figure(traced: PaymentTrace) -> Figure:
    """A lane per actor, time going down, an arrow per message (one row each: ``MAX_STEPS``
    at most), with when it left and arrived; events as notes on their actor's lane."""
    from upisim.reports import plots  # matplotlib: only when a diagram is drawn

    with plots.style():
        return _sequence_figure(traced)


def _sequence_figure(traced: PaymentTrace) -> Figure:
    from matplotlib.figure import Figure

    from upisim.reports import plots

    steps = traced.steps.head(MAX_STEPS)
    lanes = [address for address, _ in traced.lanes]
    x = {address: i for i, address in enumerate(lanes)}
    height = 1.4 + 0.42 * (len(steps) + 1)
    fig = Figure(figsize=(max(plots.WIDTH, 2.2 * len(lanes) + 2), height), layout="constrained")
    ax = fig.subplots()
    top, bottom = -0.6, len(steps) - 0.4
    for address, label in traced.lanes:
        ax.plot([x[address]] * 2, [top, bottom], color="#9e9e9e", lw=1, zorder=1)
        ax.text(x[address], top - 0.15, label, ha="center", va="bottom", fontsize=9, weight="bold")
    for row, step in enumerate(steps.itertuples(index=False)):
        _draw_step(ax, row, step, x)
    ax.set_ylim(bottom + 0.2, top - 1.4)
    ax.set_xlim(-1.6, len(lanes) - 0.4)
    ax.axis("off")
    more = len(traced.steps) - len(steps)
    title = plots.short(traced.txn_id) if not traced.payment else traced.headline()
    if more > 0:
        title += f"\n(the first {len(steps)} steps; {more} more in `upisim trace`)"
    ax.set_title(title, fontsize=10, loc="left")
    return fig


def _draw_step(ax: Any, row: int, step: Any, x: dict[str, int]) -> None:
    from upisim.reports.plots import short

    when = f"{step.t_sent_ms:,} ms"
    if step.message.startswith(EVENT):
        note = step.message[len(EVENT) + 1 :] + (f": {step.detail}" if step.detail else "")
        ax.text(
            x[step.sender],
            row,
            short(note),
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round", "fc": "#fff8e1", "ec": "#f9a825"},
        )
        ax.text(-1.55, row, when, ha="left", va="center", fontsize=8, color="#616161")
        return
    start, end = x[step.sender], x[step.recipient]
    lost = pd.isna(step.t_delivered_ms)
    if not lost:
        when += f" → {step.t_delivered_ms:,} ms"
    tip = (start + end) / 2 if lost else end
    ax.annotate(
        "",
        xy=(tip, row),
        xytext=(start, row),
        arrowprops={
            "arrowstyle": "-|>",
            "color": _LOST if lost else "#1565c0",
            "lw": 1.3,
            "linestyle": "--" if lost else "-",
        },
    )
    if lost:
        ax.text(tip, row, "✕ lost", color=_LOST, ha="left", va="center", fontsize=8)
    label = " ".join(x for x in (step.message, step.code) if x)
    said = _said(step.detail, step.amount_paise)
    ax.text(
        (start + end) / 2, row - 0.12, label, ha="center", va="bottom", fontsize=8.5, bbox=_CLEAR
    )
    if said:
        ax.text(
            (start + end) / 2,
            row + 0.1,
            short(said),
            ha="center",
            va="top",
            fontsize=7,
            color="#616161",
            bbox=_CLEAR,
        )
    ax.text(-1.55, row, when, ha="left", va="center", fontsize=8, color="#616161")


def write_diagram(traced: PaymentTrace, path: Path) -> Path:
    """The sequence diagram as SVG or PNG (by ``path``'s suffix)."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("svg", "png"):
        raise RunFolderError(f"--diagram {path}: must end in .svg or .png")
    from matplotlib import rc_context

    from upisim.reports import plots

    fig = sequence_figure(traced)
    with plots.style(), rc_context({"svg.hashsalt": traced.txn_id}):  # ids not from memory
        fig.savefig(path, format=suffix, metadata=_metadata(suffix))
    return path


def _metadata(suffix: str) -> dict[str, Any]:
    # no creation date or software version: the same trace gives the same file
    return {"Date": None, "Creator": None} if suffix == "svg" else {"Software": None}


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "trace", help="one traced payment's messages in order, and its sequence diagram"
    )
    parser.add_argument("run_dir")
    parser.add_argument("txn_id", nargs="?", help="the payment (default: list the traced ones)")
    parser.add_argument(
        "--diagram", help="the sequence diagram, .svg or .png (default: RUN/trace-TXN_ID.svg)"
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    run = load_run(args.run_dir)
    if args.txn_id is None:
        return _list(run, console)
    traced = payment_trace(run, args.txn_id)
    print_trace(traced, console)
    path = Path(args.diagram) if args.diagram else run.path / f"trace-{args.txn_id}.svg"
    console.print(f"diagram: {escape(str(write_diagram(traced, path)))}")
    return 0


def _list(run: Run, console: Console) -> int:
    """The traced payments, with what became of each."""
    ids = traced_ids(run)
    if not ids:
        raise _nothing_traced(run)
    tx = {row["txn_id"]: row for row in run.transactions.to_dict("records")}
    table = Table(title=f"{len(ids):,} traced payments", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("txn_id", "kind", "amount", "state", "code", "latency"):
        table.add_column(col, no_wrap=True)
    for txn_id in ids[:50]:
        row = tx.get(txn_id)
        table.add_row(
            escape(txn_id),
            *(
                ("", "", "(no row: still open)", "", "")
                if row is None
                else (
                    row["kind"],
                    fmt.rupees(row["amount_paise"]),
                    row["state"],
                    row["reason_code"],
                    fmt.milliseconds(row["latency_ms"]),
                )
            ),
        )
    console.print(table)
    if len(ids) > 50:
        console.print(f"... and {len(ids) - 50:,} more")
    console.print(f"then: upisim trace {escape(str(run.path))} TXN_ID")
    return 0
