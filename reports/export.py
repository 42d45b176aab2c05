"""``upisim export``: a run's payments as a fraud dataset in PaySim's, AMLworld's or
upisim's own format, the labels joined from ``fraud_truth.parquet``.

- ``paysim``: PaySim's 11 columns. ``step`` is the simulated hour; ``type`` is
  ``PAYMENT`` to a merchant and ``TRANSFER`` otherwise; names are ``C`` (customer) or
  ``M`` (merchant) and the account number. Balances are each account's savings
  balance before and after the row, in the order payments ended, so they chain from
  one row of an account to the next and end at its closing balance; a payment that
  did not go through changes neither. (Unlike PaySim's, nothing about a name or a
  balance column gives fraud away.) ``isFraud`` is the ground truth; ``isFlaggedFraud``
  whether a fraud rule fired.
- ``amlworld``: AMLworld's transaction columns for every payment that moved money,
  and a patterns file in its style: each fraud case between ``BEGIN LAUNDERING
  ATTEMPT`` and ``END LAUNDERING ATTEMPT`` lines, typed by its typology or, for a mule
  network, its laundering pattern.
- ``upisim``: the transactions table with the truth table's columns joined on.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from upisim.reports.run import Run, RunFolderError, load_run
from upisim.runfolder import Kind, State

FORMATS = ("paysim", "amlworld", "upisim")
PAYSIM_COLUMNS = [
    "step", "type", "amount", "nameOrig", "oldbalanceOrg", "newbalanceOrig", "nameDest",
    "oldbalanceDest", "newbalanceDest", "isFraud", "isFlaggedFraud",
]  # fmt: skip
AMLWORLD_COLUMNS = [
    "Timestamp", "From Bank", "Account", "To Bank", "Account", "Amount Received",
    "Receiving Currency", "Amount Paid", "Payment Currency", "Payment Format", "Is Laundering",
]  # fmt: skip
EPOCH = datetime(2026, 12, 1)  # simulated time 0, for AMLworld's timestamps
HOUR_MS = 3_600_000
CARD = "CREDIT_CARD"
#: a mule network's pattern as AMLworld names its laundering patterns
AML_PATTERNS = {
    "fan_out": "FAN-OUT",
    "chain": "STACK",
    "cycle": "CYCLE",
    "scatter_gather": "SCATTER-GATHER",
}


def _savings_deltas(tx: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """What each payment did to the payer's and the payee's savings balance (paise): a
    credit-card charge is lent, not taken from savings; a card payment's refund pays the
    card down, not the savings."""
    moved = tx.state.isin(sorted(State.MOVED)).to_numpy()
    amount = tx.amount_paise.to_numpy(dtype=np.int64)
    card = (tx.method == CARD).to_numpy()
    refund = (tx.kind == Kind.REFUND).to_numpy()
    payer = np.where(moved & (~card | refund), -amount, 0)
    payee = np.where(moved & ~(card & refund), amount, 0)
    return payer, payee


def paysim(run: Run) -> pd.DataFrame:
    """The run as PaySim's 11 columns (docstring above)."""
    tx = run.transactions.sort_values(["t_completed_ms", "txn_id"], kind="stable")
    tx = tx.reset_index(drop=True)
    accounts = run.accounts.set_index("vpa")
    payer_delta, payee_delta = _savings_deltas(tx)
    # one posting per side of a row, in row order: the running balance of each account
    n = len(tx)
    postings = pd.DataFrame(
        {
            "vpa": np.concatenate([tx.payer_vpa.to_numpy(), tx.payee_vpa.to_numpy()]),
            "order": np.concatenate([np.arange(n) * 2, np.arange(n) * 2 + 1]),
            "delta": np.concatenate([payer_delta, payee_delta]),
        }
    ).sort_values("order", kind="stable")
    opening = accounts.opening_paise.reindex(postings.vpa).fillna(0).to_numpy(dtype=np.int64)
    after = postings.groupby("vpa", sort=False).delta.cumsum().to_numpy() + opening
    before = after - postings.delta.to_numpy()
    by_order = pd.DataFrame({"before": before, "after": after}, index=postings.order.to_numpy())
    payer_side, payee_side = by_order.loc[np.arange(n) * 2], by_order.loc[np.arange(n) * 2 + 1]
    merchant = accounts.merchant.reindex(tx.payee_vpa).fillna(False).to_numpy(dtype=bool)

    def name(vpa: pd.Series) -> pd.Series:
        known = accounts.reindex(vpa)
        prefix = np.where(known.merchant.fillna(False).to_numpy(dtype=bool), "M", "C")
        return pd.Series(prefix, index=vpa.index) + known.account.fillna(vpa).to_numpy()

    fraud = tx.txn_id.isin(run.fraud_truth.txn_id)
    return pd.DataFrame(
        {
            "step": tx.t_initiated_ms // HOUR_MS + 1,  # PaySim's steps count from 1
            "type": np.where(merchant, "PAYMENT", "TRANSFER"),
            "amount": tx.amount_paise / 100,
            "nameOrig": name(tx.payer_vpa),
            "oldbalanceOrg": payer_side.before.to_numpy() / 100,
            "newbalanceOrig": payer_side.after.to_numpy() / 100,
            "nameDest": name(tx.payee_vpa),
            "oldbalanceDest": payee_side.before.to_numpy() / 100,
            "newbalanceDest": payee_side.after.to_numpy() / 100,
            "isFraud": fraud.astype(np.int64),
            "isFlaggedFraud": (tx.fraud_flags != "").astype(np.int64),
        }
    )[PAYSIM_COLUMNS]


def amlworld(run: Run) -> tuple[pd.DataFrame, str]:
    """AMLworld's transactions (every payment that moved money) and its patterns file."""
    tx = run.transactions
    tx = tx[tx.state.isin(sorted(State.MOVED))].sort_values(["t_completed_ms", "txn_id"])
    accounts = run.accounts.set_index("vpa").account
    when = [EPOCH + timedelta(milliseconds=int(t)) for t in tx.t_completed_ms]
    rupees = [f"{a / 100:.2f}" for a in tx.amount_paise]
    frame = pd.DataFrame(
        [
            [
                w.strftime("%Y/%m/%d %H:%M"), payer_bank, accounts.get(payer, payer),
                payee_bank, accounts.get(payee, payee), amount, "Indian Rupee", amount,
                "Indian Rupee", method, 0,
            ]
            for w, payer_bank, payer, payee_bank, payee, amount, method in zip(
                when, tx.payer_bank, tx.payer_vpa, tx.payee_bank, tx.payee_vpa, rupees,
                tx.method, strict=True,
            )
        ],
        columns=AMLWORLD_COLUMNS,
    )  # fmt: skip
    truth = run.fraud_truth.set_index("txn_id")
    laundering = tx.txn_id.isin(truth.index).to_numpy()
    frame["Is Laundering"] = laundering.astype(np.int64)
    lines: list[str] = []
    cases = truth.loc[tx.txn_id[laundering]].assign(row=np.flatnonzero(laundering))
    for case_id, rows in cases.groupby("case_id", sort=True):
        first = rows.iloc[0]
        kind = AML_PATTERNS.get(first.pattern) or first.typology.upper().replace("_", "-")
        lines.append(f"BEGIN LAUNDERING ATTEMPT - {kind}: case {case_id}")
        for i in rows.row:
            lines.append(",".join(str(v) for v in frame.iloc[int(i)].tolist()))
        lines.append(f"END LAUNDERING ATTEMPT - {kind}")
        lines.append("")
    return frame, "\n".join(lines)


def joined(run: Run) -> pd.DataFrame:
    """The transactions with the truth's columns (empty typology: not fraud)."""
    truth = run.fraud_truth
    out = run.transactions.merge(truth, on="txn_id", how="left")
    for column in ("typology", "payer_role", "payee_role", "stage", "pattern"):
        out[column] = out[column].fillna("")
    out["case_id"] = out.case_id.fillna(-1).astype(np.int64)
    return out


def export(run_dir: str | Path, fmt: str, out: str | Path | None = None) -> list[Path]:
    """Write ``run_dir``'s dataset in ``fmt``; returns the files written."""
    if fmt not in FORMATS:
        raise RunFolderError(f"--format {fmt}: not one of {', '.join(FORMATS)}")
    run = load_run(run_dir)
    base = Path(out) if out is not None else run.path / f"{fmt}.csv"
    if fmt == "paysim":
        paysim(run).to_csv(base, index=False, float_format="%.2f")
        return [base]
    if fmt == "amlworld":
        frame, patterns = amlworld(run)
        frame.to_csv(base, index=False)
        side = base.with_name(base.stem + "_patterns.txt")
        side.write_text(patterns, encoding="utf-8")
        return [base, side]
    table = joined(run)
    if base.suffix == ".parquet":
        table.to_parquet(base, index=False)
    else:
        table.to_csv(base, index=False)
    return [base]


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "export", help="a run's payments as a labelled fraud dataset (PaySim, AMLworld, upisim)"
    )
    parser.add_argument("run_dir")
    parser.add_argument("--format", choices=FORMATS, default="upisim", dest="fmt")
    parser.add_argument("--out", help="the file to write (default: RUN/<format>.csv)")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    for path in export(args.run_dir, args.fmt, args.out):
        print(path)
    return 0
