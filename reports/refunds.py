"""Refunds, apart from everything else: how many merchants gave back, what became of them,
how much went back and how long after the payment. A refund is its own payment (kind
``REFUND``, ``refund_of`` naming the payment it gives back): never a collect, and never
part of the value the run's payments moved. Read from the transactions table only."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from upisim.reports import fmt, plots, tables
from upisim.runfolder import Kind, State

COLUMNS = ["figure", "value"]


def split(tx: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(refunds, every other payment)."""
    refund = tx["kind"] == Kind.REFUND
    return tx[refund], tx[~refund]


def value_moved(tx: pd.DataFrame) -> tuple[int, int]:
    """(paise the payments moved, paise refunds gave back): one never counts the other."""
    refunds, payments = split(tx)
    moved = [
        int(f.loc[f["state"].isin(State.MOVED), "amount_paise"].sum()) for f in (payments, refunds)
    ]
    return moved[0], moved[1]


def delays_ms(tx: pd.DataFrame) -> pd.Series:
    """For each refund: ms from the end of the payment it gives back to the refund's start."""
    refunds, payments = split(tx)
    if refunds.empty or "refund_of" not in tx:
        return pd.Series(dtype="int64")
    ended = payments.set_index("txn_id")["t_completed_ms"]
    original = refunds["refund_of"].map(ended)
    return (refunds["t_initiated_ms"] - original).dropna().astype("int64")


def figures(tx: pd.DataFrame) -> pd.DataFrame:
    """The section's table: refunds, how they ended, what went back, how long after."""
    refunds, payments = split(tx)
    done = refunds["state"] == State.SUCCESS
    moved, back = value_moved(tx)
    refunded_ids = set(refunds.loc[done, "refund_of"]) if "refund_of" in tx else set()
    refundable = payments[payments["state"].isin(State.MOVED)]
    refunded = refundable[refundable["txn_id"].isin(refunded_ids)]
    delay = delays_ms(tx)
    failed = refunds.loc[~done, "reason_code"].value_counts()
    rows = [
        ("refunds", fmt.count(len(refunds))),
        ("succeeded", fmt.count(int(done.sum()))),
        (
            "failed",
            fmt.count(int((~done).sum()))
            + (f" (most: {failed.index[0]}, {failed.iloc[0]:,})" if len(failed) else ""),
        ),
        ("paid back", fmt.rupees(back)),
        ("value the other payments moved", fmt.rupees(moved)),
        ("payments refunded", f"{len(refunded):,} of {len(refundable):,} that moved money"),
        (
            "time from payment to refund, p50 / max",
            f"{fmt.milliseconds(float(delay.median()))} / {fmt.milliseconds(float(delay.max()))}"
            if len(delay)
            else "n/a",
        ),
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def by_method(tx: pd.DataFrame) -> pd.DataFrame:
    """Refunds per method of the payment they give back (a card payment's refund goes back
    to the card): how many, how many succeeded, and what went back."""
    refunds, _ = split(tx)
    if "method" not in refunds or refunds.empty:
        return pd.DataFrame(columns=["method", "refunds", "succeeded", "paid back"])
    done = refunds["state"] == State.SUCCESS
    frame = (
        refunds.assign(succeeded=done, back=refunds["amount_paise"].where(done, 0))
        .groupby("method", sort=True)
        .agg(refunds=("txn_id", "size"), succeeded=("succeeded", "sum"), paid_back=("back", "sum"))
        .reset_index()
    )
    frame["paid_back"] = [fmt.rupees(int(p)) for p in frame["paid_back"]]
    return frame.rename(columns={"paid_back": "paid back"})


def figure(tx: pd.DataFrame, bin_ms: int, end_ms: int) -> Figure:
    """Refunds per time bin by how they ended, beside the delay from payment to refund."""
    refunds, _ = split(tx)
    columns = {
        state.lower(): refunds.loc[refunds["state"] == state, "t_initiated_ms"]
        for state in tables.states(refunds)
    }
    binned = tables.binned_counts(columns, bin_ms, end_ms)
    delay = delays_ms(tx).to_numpy(dtype=float) / 1000
    with plots.style():
        fig, axes = plots._figure(3.4, ncols=2)
        time_ax, delay_ax = axes[0]
        x = plots._time_axis(time_ax, binned["t_s"])
        for name in columns:
            counts = binned[name].to_numpy()
            colour = plots.STATE_COLOURS.get(name.upper(), plots.CYCLE[0])
            label = f"{name} ({int(counts.sum()):,})"
            time_ax.step(x, counts, where="post", color=colour, label=label)
        time_ax.set_ylabel("refunds started per time bin")
        time_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        time_ax.set_title("Refunds over time")
        time_ax.legend(loc="upper right")
        if delay.size:
            delay_ax.hist(delay, bins=min(40, max(5, delay.size // 5)), color=plots.CYCLE[0])
            delay_ax.set_xlabel("seconds from the payment's end to its refund")
            delay_ax.set_ylabel("refunds")
            delay_ax.set_title("How long after the payment")
        else:
            plots._no_data(delay_ax, "no refund names a payment of this run")
    return fig


def summary_line(tx: pd.DataFrame) -> str:
    """One sentence: how many refunds, how many went through, what went back."""
    refunds, _ = split(tx)
    done = int((refunds["state"] == State.SUCCESS).sum())
    _, back = value_moved(tx)
    return (
        f"{len(refunds):,} refunds: {done:,} went through and paid back {fmt.rupees(back)}; "
        f"they are counted apart from collect requests and from the value other payments moved."
    )


def any_refunds(tx: pd.DataFrame) -> bool:
    return bool((tx["kind"] == Kind.REFUND).any())
