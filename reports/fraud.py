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


def _rules_fired(tx: pd.DataFrame) -> pd.DataFrame:
    """One row per (payment, rule that fired on it)."""
    fired = tx[["txn_id", "fraud_flags"]][tx.fraud_flags != ""]
    return fired.assign(rule=fired.fraud_flags.str.split(",")).explode("rule")[["txn_id", "rule"]]


def by_rule(tx: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Each rule's alerts, precision and recall against the truth, and a row ``any``."""
    fraud = tx.txn_id.isin(truth.txn_id)
    n_fraud = int(fraud.sum())
    fired = _rules_fired(tx)
    is_fraud = dict(zip(tx.txn_id, fraud, strict=True))
    declined = dict(zip(tx.txn_id, tx.response_code == DECLINED, strict=True))
    amount = dict(zip(tx.txn_id, tx.amount_paise, strict=True))
    rows = []
    groups = [(str(rule), ids.txn_id) for rule, ids in fired.groupby("rule", sort=True)]
    groups.append(("any", pd.Series(fired.txn_id.unique())))
    for rule, ids in groups:
        hits = ids.map(is_fraud).astype(bool)
        tp = int(hits.sum())
        stopped = sum(amount[t] for t in ids[hits] if declined[t])
        rows.append(
            {
                "rule": rule,
                "alerts": len(ids),
                "true_positives": tp,
                "false_positives": len(ids) - tp,
                "precision": tp / len(ids) if len(ids) else np.nan,
                "recall": tp / n_fraud if n_fraud else np.nan,
                "alerts_per_1000": 1000 * len(ids) / len(tx) if len(tx) else np.nan,
                "stopped_paise": int(stopped),
            }
        )
    return pd.DataFrame(rows, columns=RULE_COLUMNS)


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
