"""The report's "Compared with NPCI" table: each figure the scenario's ``[calibration]``
declares, what the run made of it (summary.json's ``calibration``, which the run read back
from its own tables) and whether it is within the tolerance or the published range."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from upisim.reports import fmt, plots

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


def figure(calibration: Mapping[str, Any]) -> Figure:
    """Each figure as a dot where the run landed, on the scale of its target: 100% is the
    published figure, the band the tolerance; a range is drawn as a bar, in the same terms."""
    rows = list((calibration.get("figures") or {}).items())
    tolerance = float(calibration.get("tolerance", 0.05))
    with plots.style():
        fig, axes = plots._figure(0.28 * len(rows) + 1.2)
        ax = axes[0, 0]
        y = np.arange(len(rows))[::-1]
        for yi, (_, row) in zip(y, rows, strict=True):
            if row.get("target"):
                centre = float(row["target"])
            else:
                centre = (float(row["low"]) + float(row["high"])) / 2 or 1.0
            if "range" in row or "low" in row:
                low, high = row.get("range") or (row["low"], row["high"])
                ax.plot([100 * low / centre, 100 * high / centre], [yi, yi], color="#90a4ae",
                        lw=6, alpha=0.6, solid_capstyle="butt")  # fmt: skip
            colour = "#2e7d32" if row["within"] else "#c62828"
            ax.plot(100 * float(row["run"]) / centre, yi, "o", color=colour)
        ax.axvspan(100 * (1 - tolerance), 100 * (1 + tolerance), color="#2e7d32", alpha=0.08)
        ax.axvline(100, color="#37474f", lw=1)
        ax.set_yticks(y, [figure_name(k) for k, _ in rows])
        ax.set_xlabel("this run, % of the published figure (grey: published range)")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
        ax.grid(axis="y", visible=False)
        ax.set_title("This run against the published figures (green band: tolerance)")
    return fig
