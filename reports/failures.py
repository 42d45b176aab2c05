"""How the run handled what went wrong: which path each payment took (approved, declined,
timed out and reversed, deemed approved and then confirmed or returned), timeouts by leg,
reversals, and all of it over time. Read from the transactions and events tables only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from upisim.reports import plots, tables
from upisim.runfolder import State

CONFIRMED, RETURNED = "TCC", "RET"  # how a deemed approval ends (NPCI's codes)

#: every path a payment can take, in the order the lifecycle plot shows them
PATHS = (
    "approved",
    "declined (business)",
    "declined (technical), nothing moved",
    "timed out, money reversed",
    "deemed approved, credit confirmed (TCC)",
    "deemed approved, returned (RET)",
    "deemed approved, still open",
    "expired (collect)",
    "pending at the end",
)


def paths(tx: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """The path each payment (row of ``tx``) took, from its state, codes and whether a
    reversal event names it."""
    reversed_ids = set(events.loc[events["kind"] == "REVERSAL", "txn_id"].dropna())
    state, reason = tx["state"], tx["reason_code"]
    reversed_ = tx["txn_id"].isin(reversed_ids)
    failed = state == State.FAILED
    choices = [
        (state == State.SUCCESS, PATHS[0]),
        (failed & (reason == RETURNED), PATHS[5]),
        (failed & reversed_, PATHS[3]),
        (failed & (tx["decline_type"] == "BD"), PATHS[1]),
        (failed, PATHS[2]),
        ((state == State.DEEMED) & (reason == CONFIRMED), PATHS[4]),
        (state == State.DEEMED, PATHS[6]),
        (state == State.EXPIRED, PATHS[7]),
    ]
    out = np.select([c.to_numpy() for c, _ in choices], [p for _, p in choices], PATHS[8])
    return pd.Series(out, index=tx.index, name="path")


def lifecycle(tx: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Payments per path (every path, zeros included), with each path's share."""
    counts = paths(tx, events).value_counts().reindex(PATHS, fill_value=0)
    total = max(int(counts.sum()), 1)
    frame = counts.rename("payments").rename_axis("path").reset_index()
    frame["share"] = frame["payments"] / total
    return frame


def timeouts_by_leg(events: pd.DataFrame) -> pd.DataFrame:
    """The switch's timeouts by what it was waiting for (the event's ``detail``)."""
    legs = events.loc[events["kind"] == "TIMEOUT", "detail"].fillna("").value_counts()
    return legs.rename("timeouts").rename_axis("waiting for").reset_index()


def reversals(events: pd.DataFrame) -> pd.DataFrame:
    """Reversals posted, by what was reversed (a debit or a credit)."""
    done = events.loc[events["kind"] == "REVERSAL", "detail"].fillna("").value_counts()
    return done.rename("reversals").rename_axis("reversed").reset_index()


def figures(tx: pd.DataFrame, events: pd.DataFrame, summary: Mapping[str, Any]) -> dict[str, int]:
    """The section's headline numbers: timeouts, reversals, deemed approvals and how they
    ended, messages lost."""
    kinds = events["kind"]
    deemed = (tx["state"] == State.DEEMED) | (tx["reason_code"] == RETURNED)
    return {
        "timeouts": int((kinds == "TIMEOUT").sum()),
        "reversals": int((kinds == "REVERSAL").sum()),
        "deemed": int(deemed.sum()),
        "deemed_events": int((kinds == "DEEMED").sum()),
        "confirmed": int((tx["reason_code"] == CONFIRMED).sum()),
        "returned": int((tx["reason_code"] == RETURNED).sum()),
        "still_open": int(((tx["state"] == State.DEEMED) & (tx["reason_code"] != CONFIRMED)).sum()),
        "messages_lost": int(summary.get("messages_dropped") or 0),
    }


def over_time(events: pd.DataFrame, bin_ms: int, end_ms: int) -> pd.DataFrame:
    """Timeouts, reversals and deemed approvals per bin."""
    columns = {
        name: events.loc[events["kind"] == kind, "t_ms"]
        for name, kind in (("timeouts", "TIMEOUT"), ("reversals", "REVERSAL"), ("deemed", "DEEMED"))
    }
    return tables.binned_counts(columns, bin_ms, end_ms)


def figure(life: pd.DataFrame, binned: pd.DataFrame) -> Figure:
    """The paths payments took (bars) beside timeouts, reversals and deemed
    approvals over time (fault windows shaded)."""
    with plots.style():
        fig, axes = plots._figure(4.2, ncols=2)
        paths_ax, time_ax = axes[0]
        shown = life[life["payments"] > 0]
        y = np.arange(len(shown))[::-1]
        bars = paths_ax.barh(y, shown["payments"], color=plots.CYCLE[0])
        paths_ax.bar_label(bars, [f"{int(v):,}" for v in shown["payments"]], padding=3)
        paths_ax.set_yticks(y, list(shown["path"]))
        paths_ax.set_xlabel("payments")
        paths_ax.margins(x=0.15)  # room for the largest bar's label
        paths_ax.grid(axis="y", visible=False)
        paths_ax.set_title("The path each payment took")
        x = plots._time_axis(time_ax, binned["t_s"])
        for i, name in enumerate(c for c in binned.columns if c != "t_s"):
            counts = binned[name].to_numpy()
            label = f"{name} ({int(counts.sum()):,})"
            time_ax.step(x, counts, where="post", color=plots.CYCLE[i + 1], label=label)
        time_ax.set_ylabel("count per time bin")
        time_ax.set_title("Timeouts, reversals, deemed, over time")
        time_ax.legend(loc="upper right")
    return fig
