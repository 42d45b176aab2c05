"""The fraud monitor scored against the ground truth (``fraud_truth.parquet``).

Per rule: its alerts (payments it fired on, flagged or declined), how many were fraud
(true positives) and how many were not, precision, recall (of every fraudulent payment,
the share it fired on), alerts per 1,000 payments (a rule that flags half of everything
is no use to an analyst) and the fraud money it stopped (declined, ``U16``). Per
typology: its payments, how many any rule fired on, the money that went through and the
money stopped. A flag that lets a payment through is an alert, not a stop (FRAUD.md §5).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from upisim.runfolder import State

DECLINED = "U16"  # the fraud monitor's decline
RULE_COLUMNS = [
    "rule", "alerts", "true_positives", "false_positives", "precision", "recall",
    "alerts_per_1000", "stopped_paise",
]  # fmt: skip
TYPOLOGY_COLUMNS = [
    "typology", "payments", "alerted", "recall", "declined", "moved_paise", "stopped_paise",
]  # fmt: skip


def by_rule(tx: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Each rule's alerts, precision and recall against the truth, and a row ``any``."""
    flagged = tx[tx.fraud_flags != ""]
    fired = flagged.assign(rule=flagged.fraud_flags.str.split(",")).explode("rule")
    fired = fired.assign(fraud=fired.txn_id.isin(truth.txn_id))
    stopped = fired.fraud & (fired.response_code == DECLINED)
    fired = fired.assign(stopped=fired.amount_paise.where(stopped, 0))
    once = fired.drop_duplicates("txn_id").assign(rule="any")
    rules = pd.concat([fired.sort_values("rule", kind="stable"), once])
    g = rules.groupby("rule", sort=False).agg(
        alerts=("txn_id", "size"), true_positives=("fraud", "sum"), stopped_paise=("stopped", "sum")
    )
    n_fraud = int(tx.txn_id.isin(truth.txn_id).sum())
    out = pd.DataFrame(
        {
            "rule": g.index.astype(str),
            "alerts": g.alerts.astype(np.int64),
            "true_positives": g.true_positives.astype(np.int64),
            "false_positives": (g.alerts - g.true_positives).astype(np.int64),
            "precision": g.true_positives / g.alerts,
            "recall": g.true_positives / n_fraud if n_fraud else np.nan,
            "alerts_per_1000": 1000 * g.alerts / len(tx) if len(tx) else np.nan,
            "stopped_paise": g.stopped_paise.astype(np.int64),
        }
    )
    return out.reset_index(drop=True)[RULE_COLUMNS]


def by_typology(tx: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Each typology's payments, how many any rule fired on, what went through and what
    was stopped."""
    joined = truth.merge(tx, on="txn_id", how="inner")
    rows = []
    for typology, mine in joined.groupby("typology", sort=True):
        alerted = int((mine.fraud_flags != "").sum())
        moved = mine.state.isin(sorted(State.MOVED))
        declined = mine.response_code == DECLINED
        rows.append(
            {
                "typology": typology,
                "payments": len(mine),
                "alerted": alerted,
                "recall": alerted / len(mine),
                "declined": int(declined.sum()),
                "moved_paise": int(mine.amount_paise[moved].sum()),
                "stopped_paise": int(mine.amount_paise[declined].sum()),
            }
        )
    return pd.DataFrame(rows, columns=TYPOLOGY_COLUMNS)


def figures(tx: pd.DataFrame, truth: pd.DataFrame) -> dict[str, Any]:
    """summary.json's fraud scores: per rule and per typology, as plain numbers."""

    def plain(frame: pd.DataFrame, key: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for row in frame.to_dict("records"):
            record = {str(k): v for k, v in row.items()}
            name = record.pop(key)
            out[str(name)] = {
                k: (None if isinstance(v, float) and np.isnan(v) else
                    round(v, 4) if isinstance(v, float) else int(v))
                for k, v in record.items()
            }  # fmt: skip
        return out

    theft = truth[truth.stage == "theft"]
    joined = theft.merge(tx, on="txn_id")
    lost = joined.amount_paise[joined.state.isin(sorted(State.MOVED))].sum()
    return {
        "fraud_payments": int(tx.txn_id.isin(truth.txn_id).sum()),
        "fraud_cases": int(truth.case_id.nunique()),
        "fraud_money_lost_paise": int(lost),  # what victims lost: thefts that went through
        "fraud_scores_by_rule": plain(by_rule(tx, truth), "rule"),
        "fraud_scores_by_typology": plain(by_typology(tx, truth), "typology"),
    }
