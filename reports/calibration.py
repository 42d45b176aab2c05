"""The report's "Compared with NPCI" table: each figure the scenario's ``[calibration]``
declares, what the run made of it (summary.json's ``calibration``, which the run read back
from its own tables) and whether it is within the tolerance or the published range."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from upisim.reports import fmt

COLUMNS = ["figure", "published", "this run", "difference", "within"]
_NAMES = {
    "average_ticket_inr": "average ticket",
    "p2m_share": "P2M share of approved payments",
    "payments_per_user_day": "payments per user per day",
    "approved": "approved",
    "business_declines": "business declines",
    "technical_declines": "technical declines (its own side)",
}


def figure_name(key: str) -> str:
    """``bank.SBI.approved`` -> 'SBI: approved'; ``app.PhonePe`` -> 'PhonePe: share of
    payments'."""
    if key.startswith("bank."):
        _, bank, what = key.split(".", 2)
        return f"{bank}: {_NAMES.get(what, what)}"
    if key.startswith("app."):
        return f"{key[4:]}: share of payments"
    return _NAMES.get(key, key)


def _value(key: str, value: float) -> str:
    if key == "average_ticket_inr":
        return fmt.rupees(round(value * 100))
    if key == "payments_per_user_day":
        return f"{value:.2f}"
    return f"{100 * value:.2f}%"


def comparison(calibration: Mapping[str, Any]) -> pd.DataFrame:
    """One row per declared figure, as text: figure, published, this run, difference,
    within (yes/no)."""
    rows = []
    for key, row in (calibration.get("figures") or {}).items():
        if "target" in row:
            published = _value(key, row["target"])
            diff = f"{100 * row['difference']:+.1f}%"
        else:
            published = f"{_value(key, row['low'])} – {_value(key, row['high'])}"
            diff = ""
        if "range" in row and "target" in row:
            low, high = row["range"]
            published += f" (range {_value(key, low)} – {_value(key, high)})"
        rows.append(
            (
                figure_name(key),
                published,
                _value(key, row["run"]),
                diff,
                "yes" if row["within"] else "NO",
            )
        )
    return pd.DataFrame(rows, columns=COLUMNS)
