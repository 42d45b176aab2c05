"""The fraud monitor scored against the ground truth (``fraud_truth.parquet``).

Per rule: its alerts (payments it fired on, flagged or declined), how many were fraud
(true positives) and how many were not, precision, recall (of every fraudulent payment,
the share it fired on), alerts per 1,000 payments (a rule that flags half of everything
is no use to an analyst) and the fraud money it stopped (declined on the risk score: by
NPCI, ``U16``, or by the remitter or beneficiary bank, ``K1`` / ``ZI``). Per typology:
its payments, how many any rule fired on, the money that went through, the money
stopped, and the payments refused because a victim's report had frozen an account of
the case (``YE`` / ``YF``). A flag that lets a payment through is an alert, not a stop
(FRAUD.md §5).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from upisim.runfolder import State

RISK_DECLINES = ["U16", "K1", "ZI"]  # reason codes: NPCI's, the remitter's, the beneficiary's
FROZEN = ["YE", "YF"]  # an account frozen on a victim's report: remitter's, beneficiary's
RULE_COLUMNS = [
    "rule", "alerts", "true_positives", "false_positives", "precision", "recall",
    "alerts_per_1000", "stopped_paise",
]  # fmt: skip
TYPOLOGY_COLUMNS = [
    "typology", "payments", "alerted", "recall", "declined", "frozen", "moved_paise",
    "stopped_paise",
]  # fmt: skip


def by_rule(tx: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Each rule's alerts, precision and recall against the truth, and a row ``any``."""
    flagged = tx[tx.fraud_flags != ""]
    fired = flagged.assign(rule=flagged.fraud_flags.str.split(",")).explode("rule")
    fired = fired.assign(fraud=fired.txn_id.isin(truth.txn_id))
    stopped = fired.fraud & fired.reason_code.isin(RISK_DECLINES)
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
        declined = mine.reason_code.isin(RISK_DECLINES)
        rows.append(
            {
                "typology": typology,
                "payments": len(mine),
                "alerted": alerted,
                "recall": alerted / len(mine),
                "declined": int(declined.sum()),
                "frozen": int(mine.reason_code.isin(FROZEN).sum()),
                "moved_paise": int(mine.amount_paise[moved].sum()),
                "stopped_paise": int(mine.amount_paise[declined].sum()),
            }
        )
    return pd.DataFrame(rows, columns=TYPOLOGY_COLUMNS)


def over_time(tx: pd.DataFrame, truth: pd.DataFrame, bin_ms: int, end_ms: int) -> pd.DataFrame:
    """Per bin (``t_s``, by when the payer's app sent the payment): each typology's payments
    (``payments:T``) and those an alert caught (``alerted:T``), and the fraud money that
    went through (``moved_paise``), was stopped on the risk score (``stopped_paise``) or
    was refused by a frozen account (``frozen_paise``)."""
    joined = truth.merge(tx, on="txn_id", how="inner")
    n_bins = max(1, -(-end_ms // bin_ms))
    when = joined.t_initiated_ms.to_numpy(dtype=np.int64) // bin_ms
    n_bins = max(n_bins, int(when.max()) + 1 if when.size else 0)
    frame = pd.DataFrame({"t_s": np.arange(n_bins, dtype=np.int64) * bin_ms // 1000})
    alerted = (joined.fraud_flags != "").to_numpy()
    for typology in sorted(joined.typology.unique()):
        mine = (joined.typology == typology).to_numpy()
        frame[f"payments:{typology}"] = np.bincount(when[mine], minlength=n_bins)
        frame[f"alerted:{typology}"] = np.bincount(when[mine & alerted], minlength=n_bins)
    amount = joined.amount_paise.to_numpy(dtype=np.int64)
    for column, which in (
        ("moved_paise", joined.state.isin(sorted(State.MOVED))),
        ("stopped_paise", joined.reason_code.isin(RISK_DECLINES)),
        ("frozen_paise", joined.reason_code.isin(FROZEN)),
    ):
        weights = np.where(which.to_numpy(), amount, 0)
        frame[column] = np.bincount(when, weights, minlength=n_bins).astype(np.int64)
    return frame


def frozen(events: pd.DataFrame) -> dict[str, int]:
    """Victims' reports and the accounts they froze, with what those held when frozen."""
    froze = events[events.kind == "ACCOUNT_FROZEN"]
    return {
        "fraud_reports": int((events.kind == "FRAUD_REPORT").sum()),
        "accounts_frozen": len(froze),
        "frozen_paise": int(froze.value.sum()),
    }


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
