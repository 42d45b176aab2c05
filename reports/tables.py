"""Pure functions from a run's tables to the small tables behind every plot."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from upisim.runfolder import Kind, State

PERCENTILES = (50, 95, 99)
METHOD_ORDER = ("UPI_PUSH", "UPI_COLLECT", "DEBIT_CARD", "CREDIT_CARD", "NET_BANKING")
BOX_PERCENTILES = (5, 25, 50, 75, 95)
FRAUD_KINDS = {"FRAUD_FLAG": "flagged", "FRAUD_DECLINE": "declined", "FRAUD_REFERRED": "referred"}
# (name, start column, end column), as docs/run-folder.md defines the stages.
STAGES = (
    ("switch resolve", "t_received_ms", "t_resolved_ms"),
    ("remitter bank", "t_risk_ms", "t_debited_ms"),
    ("beneficiary bank", "t_debited_ms", "t_credited_ms"),
)
DECLINE_LABELS = {"": "approved", "BD": "business decline", "TD": "technical decline"}
_NICE_BIN_SECONDS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600)
_WINDOW_UNITS = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_MAX_LIST_ITEMS = 10


# -- time ----------------------------------------------------------------------------


def span_ms(summary: Mapping[str, Any], *times: pd.Series) -> int:
    """One past the last simulated millisecond seen in the summary or any time column."""
    end = as_int(summary.get("sim_duration_ms")) or 0
    for series in times:
        if len(series) and series.notna().any():
            end = max(end, int(series.max()) + 1)
    return max(end, 1)


def bin_ms_for(end_ms: int, max_bins: int = 600) -> int:
    """The smallest round bin (1 s, 2 s, 5 s, …) giving at most `max_bins` bins."""
    for seconds in _NICE_BIN_SECONDS:
        if math.ceil(end_ms / (seconds * 1000)) <= max_bins:
            return seconds * 1000
    return math.ceil(end_ms / max_bins / 3_600_000) * 3_600_000


def binned_counts(columns: Mapping[str, pd.Series], bin_ms: int, end_ms: int) -> pd.DataFrame:
    """Counts of each column's times per bin, with `t_s` the bin's start in seconds."""
    indexes = {name: _bin_index(times, bin_ms) for name, times in columns.items()}
    n_bins = max(
        [math.ceil(end_ms / bin_ms)] + [int(i.max()) + 1 for i in indexes.values() if i.size]
    )
    frame = pd.DataFrame({"t_s": np.arange(n_bins, dtype=np.int64) * bin_ms // 1000})
    for name, index in indexes.items():
        frame[name] = np.bincount(index, minlength=n_bins).astype(np.int64)
    return frame


def _bin_index(times: pd.Series, bin_ms: int) -> np.ndarray:
    values: np.ndarray = times.dropna().to_numpy(dtype=np.int64)
    if values.size and values.min() < 0:
        raise ValueError(f"negative simulated time {values.min()} ms")
    index: np.ndarray = values // bin_ms
    return index


# -- transactions -------------------------------------------------------------------


def states(tx: pd.DataFrame) -> list[str]:
    """Terminal states present, the documented ones first."""
    seen = set(tx["state"].dropna().unique())
    return [s for s in State.ALL if s in seen] + sorted(seen - set(State.ALL))


def throughput(tx: pd.DataFrame, bin_ms: int, end_ms: int) -> pd.DataFrame:
    """Payments offered (by start) and completed (by end, and per state) per bin."""
    columns = {"offered": tx["t_initiated_ms"], "completed": tx["t_completed_ms"]}
    for state in states(tx):
        columns[f"completed_{state}"] = tx.loc[tx["state"] == state, "t_completed_ms"]
    return binned_counts(columns, bin_ms, end_ms)


def latency_over_time(tx: pd.DataFrame, bin_ms: int) -> pd.DataFrame:
    """Latency percentiles of the payments completing in each bin (empty bins left out)."""
    columns = ["t_s", "payments"] + [f"p{p}_ms" for p in PERCENTILES]
    if tx.empty:
        return pd.DataFrame(columns=columns)
    bins = tx["t_completed_ms"].to_numpy(dtype=np.int64) // bin_ms
    latency = tx["latency_ms"].to_numpy(dtype=np.int64)
    order = np.lexsort((latency, bins))
    bins, latency = bins[order], latency[order]
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    counts = np.diff(np.r_[starts, bins.size])
    frame = pd.DataFrame({"t_s": bins[starts] * bin_ms // 1000, "payments": counts})
    for p in PERCENTILES:
        frame[f"p{p}_ms"] = _sorted_percentile(latency, starts, counts, p)
    return frame


def _sorted_percentile(
    values: np.ndarray, starts: np.ndarray, counts: np.ndarray, p: float
) -> np.ndarray:
    """Per-group percentile of sorted groups, interpolated like `np.percentile`."""
    position = starts + (counts - 1) * p / 100
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, starts + counts - 1)
    fraction = position - low
    result: np.ndarray = values[low] + (values[high] - values[low]) * fraction
    return result


def latency_histogram(tx: pd.DataFrame, n_bins: int = 60) -> pd.DataFrame:
    """Counts of `latency_ms` in whole-ms bins, log-spaced when latencies span more than
    20× (timeouts beside fast payments); 0 ms falls in the first bin."""
    if tx.empty:
        return pd.DataFrame(columns=["lo_ms", "hi_ms", "payments"])
    latency = np.maximum(tx["latency_ms"].to_numpy(dtype=np.int64), 1)
    low, high = int(latency.min()), int(latency.max()) + 1
    spaced = np.geomspace if high / low > 20 else np.linspace
    edges = np.unique(np.round(spaced(low, high, n_bins + 1)).astype(np.int64))
    counts, _ = np.histogram(latency, bins=edges)
    return pd.DataFrame({"lo_ms": edges[:-1], "hi_ms": edges[1:], "payments": counts})


def stage_latencies(tx: pd.DataFrame) -> pd.DataFrame:
    """Percentiles of each stage (where both ends are known) and of the whole payment."""
    rows = []
    for name, start, end in STAGES:
        duration = (tx[end] - tx[start]).dropna().to_numpy(dtype=np.int64)
        rows.append(_describe(name, duration))
    rows.append(_describe("end to end", tx["latency_ms"].to_numpy(dtype=np.int64)))
    return pd.DataFrame(rows)


#: how a payment ended, as the latency table groups them: (label, state, decline type)
OUTCOMES = (
    ("approved", State.SUCCESS, None),
    ("deemed approved", State.DEEMED, None),
    ("business declines (BD)", State.FAILED, "BD"),
    ("technical declines (TD)", State.FAILED, "TD"),
    ("expired", State.EXPIRED, None),
)


def moved_money(tx: pd.DataFrame) -> pd.DataFrame:
    """The payments that moved money (approved or deemed): the latency a payer waits for,
    apart from refusals that end in a millisecond."""
    return tx[tx["state"].isin(State.MOVED)]


def latency_by_outcome(tx: pd.DataFrame) -> pd.DataFrame:
    """Latency percentiles per way a payment ended (only the ways this run has)."""
    rows = []
    kind = tx["decline_type"] if "decline_type" in tx else pd.Series("", index=tx.index)
    for label, state, decline in OUTCOMES:
        chosen = tx["state"] == state
        if decline is not None:
            chosen &= kind == decline
        if chosen.any():
            values = tx.loc[chosen, "latency_ms"].to_numpy(dtype=np.int64)
            rows.append(_describe(label, values) | {"stage": label})
    frame = pd.DataFrame(
        rows, columns=["stage", "payments", *(f"p{p}_ms" for p in PERCENTILES), "max_ms"]
    )
    return frame.rename(columns={"stage": "outcome"})


def stage(stages: pd.DataFrame, name: str = "end to end") -> pd.Series:
    """One stage's row of `stage_latencies` (or of two runs' merged on `stage`)."""
    return stages.loc[stages["stage"] == name].iloc[0]


def _describe(name: str, values: np.ndarray) -> dict[str, Any]:
    row: dict[str, Any] = {"stage": name, "payments": int(values.size)}
    percentiles = np.percentile(values, PERCENTILES) if values.size else [np.nan] * 3
    for p, value in zip(PERCENTILES, percentiles, strict=True):
        row[f"p{p}_ms"] = float(value)
    row["max_ms"] = int(values.max()) if values.size else pd.NA
    return row


def code_meanings(summary: Mapping[str, Any]) -> dict[str, str]:
    """What each code means, as the run's summary.json says (`code_meanings`); ``{}`` for a
    run from before it had them. The simulator's code table is the only one: reports keep
    no copy of it."""
    meanings = summary.get("code_meanings")
    if not isinstance(meanings, Mapping):
        return {}
    return {str(code): str(meaning) for code, meaning in meanings.items()}


def outcomes(tx: pd.DataFrame, meanings: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Payments per most specific code, most frequent first, with what each code means
    (``meanings``: `code_meanings(summary)`); a code it does not name has meaning ""."""
    codes = tx["reason_code"].fillna("")
    types = tx["decline_type"].fillna("")
    counts = codes.value_counts().rename("payments")
    frame = counts.rename_axis("reason_code").reset_index()
    kinds = pd.crosstab(codes, types) if len(tx) else pd.DataFrame()
    known = meanings or {}
    frame["meaning"] = [known.get(code, "") for code in frame["reason_code"]]
    frame["decline_type"] = [
        _types(kinds.columns[kinds.loc[code] > 0]) for code in frame["reason_code"]
    ]
    frame["share"] = frame["payments"] / max(len(tx), 1)
    frame = frame.sort_values(["payments", "reason_code"], ascending=[False, True])
    return frame[["reason_code", "meaning", "decline_type", "payments", "share"]].reset_index(
        drop=True
    )


def _types(types: pd.Index) -> str:
    """'BD', or 'BD/TD' when a code came with several decline types ('' is none)."""
    return types[0] if len(types) == 1 else "/".join(t or "none" for t in types)


def declines(tx: pd.DataFrame) -> pd.DataFrame:
    """Payments approved, declined for business reasons (BD) and technical ones (TD)."""
    counts = tx["decline_type"].fillna("").value_counts()
    order = list(DECLINE_LABELS) + sorted(set(counts.index) - set(DECLINE_LABELS))
    frame = pd.DataFrame({"decline_type": order})
    frame["label"] = frame["decline_type"].map(DECLINE_LABELS).fillna(frame["decline_type"])
    frame["payments"] = [int(counts.get(t, 0)) for t in order]
    frame["share"] = frame["payments"] / max(len(tx), 1)
    return frame


def collects(tx: pd.DataFrame) -> pd.DataFrame:
    """What became of collect (pull) requests; the outcomes after `created` add up to it."""
    c = tx[tx["kind"] == Kind.COLLECT]
    approved = c["state"] == State.SUCCESS
    expired = ((c["state"] == State.EXPIRED) | (c["reason_code"] == "U69")) & ~approved
    declined = (c["reason_code"] == "ZA") & ~approved & ~expired
    rows = [
        ("created", len(c)),
        ("approved", int(approved.sum())),
        ("declined by payer (ZA)", int(declined.sum())),
        ("expired (U69)", int(expired.sum())),
        ("other", int((~approved & ~expired & ~declined).sum())),
    ]
    return pd.DataFrame(rows, columns=["outcome", "collects"])


# -- payment methods ----------------------------------------------------------------


def methods_present(tx: pd.DataFrame) -> list[str]:
    """Payment methods present, the documented ones first; [] when there is no column."""
    if "method" not in tx:
        return []
    seen = set(tx["method"].fillna("").unique())
    return [m for m in METHOD_ORDER if m in seen] + sorted(seen - set(METHOD_ORDER))


def methods(tx: pd.DataFrame) -> pd.DataFrame:
    """Per method: payments, share of all payments, how many moved money (SUCCESS or
    DEEMED) and what share of the method's payments that is, the value they moved
    (integer paise), and p50/p95 latency of those that moved money.

    A refund counts under the method of the payment it gives back (that is its method).
    """
    columns = ["method", "payments", "share", "succeeded", "success_rate", "value_paise"]
    columns += ["p50_ms", "p95_ms"]
    order = methods_present(tx)
    if not order:
        return pd.DataFrame(columns=columns)
    method = tx["method"].fillna("")
    moved = tx["state"].isin(State.MOVED)
    payments = method.value_counts()
    succeeded = method[moved].value_counts()
    value = tx.loc[moved, "amount_paise"].groupby(method[moved]).sum()
    rows = []
    for m in order:
        latency = tx.loc[moved & (method == m), "latency_ms"].to_numpy(dtype=np.int64)
        p50, p95 = np.percentile(latency, [50, 95]) if latency.size else (np.nan, np.nan)
        n, ok = int(payments.get(m, 0)), int(succeeded.get(m, 0))
        rows.append((m, n, n / len(tx), ok, ok / n, int(value.get(m, 0)), float(p50), float(p95)))
    frame = pd.DataFrame(rows, columns=columns)
    frame["value_paise"] = frame["value_paise"].astype("int64")
    return frame


def method_states(tx: pd.DataFrame) -> pd.DataFrame:
    """Payments per method and terminal state: a `method` column, then one per state."""
    order = methods_present(tx)
    if not order:
        return pd.DataFrame({"method": pd.Series(dtype="str")})
    counts = pd.crosstab(tx["method"].fillna(""), tx["state"])
    counts = counts.reindex(index=order, columns=states(tx), fill_value=0).astype("int64")
    return counts.rename_axis(index="method", columns=None).reset_index()


def method_latency(tx: pd.DataFrame) -> pd.DataFrame:
    """Latency percentiles (5, 25, 50, 75, 95) of each method's payments that moved money:
    the boxes of a box plot, without keeping every latency."""
    columns = ["method", "payments"] + [f"p{p}_ms" for p in BOX_PERCENTILES]
    rows = []
    for m in methods_present(tx):
        moved = (tx["method"].fillna("") == m) & tx["state"].isin(State.MOVED)
        latency = tx.loc[moved, "latency_ms"].to_numpy(dtype=np.int64)
        values = np.percentile(latency, BOX_PERCENTILES) if latency.size else [np.nan] * 5
        rows.append((m, int(latency.size), *(float(v) for v in values)))
    return pd.DataFrame(rows, columns=columns)


# -- events ---------------------------------------------------------------------------


def rate_limit_windows(events: pd.DataFrame) -> pd.DataFrame:
    """Rate-limit hits per window (`detail`), shortest window first."""
    hits = events.loc[events["kind"] == "RATE_LIMIT", "detail"].fillna("").value_counts()
    windows = sorted(hits.index, key=_window_key)
    return pd.DataFrame({"window": windows, "hits": [int(hits[w]) for w in windows]})


def rate_limit_over_time(events: pd.DataFrame, bin_ms: int, end_ms: int) -> pd.DataFrame:
    """Rate-limit hits per bin, one column per window."""
    hits = events[events["kind"] == "RATE_LIMIT"]
    windows = rate_limit_windows(events)["window"]
    columns = {w: hits.loc[hits["detail"].fillna("") == w, "t_ms"] for w in windows}
    return binned_counts(columns, bin_ms, end_ms)


def rate_limit_top_users(events: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The `n` users (`subject`) hit most often; ties go alphabetically."""
    hits = events.loc[events["kind"] == "RATE_LIMIT", "subject"].fillna("").value_counts()
    frame = hits.rename("hits").rename_axis("user").reset_index()
    frame = frame.sort_values(["hits", "user"], ascending=[False, True]).head(n)
    return frame.reset_index(drop=True)


def _window_key(window: str) -> tuple[float, str]:
    match = re.fullmatch(r"(\d+)\s*([a-z]+)", window.strip().lower())
    if match and match[2] in _WINDOW_UNITS:
        return (int(match[1]) * _WINDOW_UNITS[match[2]], window)
    return (math.inf, window)


def fraud_by_rule(events: pd.DataFrame) -> pd.DataFrame:
    """Fraud flags and fraud declines per rule."""
    fraud = events[events["kind"].isin(list(FRAUD_KINDS))]
    rules = sorted(fraud["detail"].fillna("").unique())
    frame = pd.DataFrame({"rule": rules})
    for kind, column in FRAUD_KINDS.items():
        counts = fraud.loc[fraud["kind"] == kind, "detail"].fillna("").value_counts()
        frame[column] = [int(counts.get(rule, 0)) for rule in rules]
    if not frame["referred"].any():  # no rule is left to the banks: the usual case
        frame = frame.drop(columns="referred")
    return frame


def fraud_over_time(events: pd.DataFrame, bin_ms: int, end_ms: int) -> pd.DataFrame:
    """Fraud events per bin, one column per `flagged:RULE` / `declined:RULE`."""
    fraud = events[events["kind"].isin(list(FRAUD_KINDS))]
    columns = {}
    for kind, label in FRAUD_KINDS.items():
        of_kind = fraud[fraud["kind"] == kind]
        for rule in sorted(of_kind["detail"].fillna("").unique()):
            columns[f"{label}:{rule}"] = of_kind.loc[of_kind["detail"].fillna("") == rule, "t_ms"]
    return binned_counts(columns, bin_ms, end_ms)


# -- money ----------------------------------------------------------------------------


def money_over_time(money: pd.DataFrame, start_paise: int | None) -> pd.DataFrame:
    """Per sample: total money, its deviation from the start, money in flight, what
    credit-card customers owe, each bank's settlement account (`settlement_<BANK>_paise`)
    and its net position in the open settlement cycle (`position_<BANK>_paise`, + to
    receive), all in integer paise.

    Total money is deposits plus settlement minus card outstanding: a card payment
    creates deposits at the payee and the same debt at the payer. Without a
    `card_outstanding_paise` column (runs before cards) the debt is 0. Without
    `start_paise` the first sample's total is the reference.
    """
    base = ["t_ms", "total_paise", "deviation_paise", "in_flight_paise", "card_outstanding_paise"]
    if money.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in base})
    card = (
        money["card_outstanding_paise"]
        if "card_outstanding_paise" in money
        else pd.Series(0, index=money.index, dtype="int64")
    )
    held = money["customers_paise"] + money["settlement_paise"] - card
    grouped = money.assign(total_paise=held, card_outstanding_paise=card).groupby("t_ms", sort=True)
    frame = grouped[["total_paise"]].sum()
    frame["in_flight_paise"] = grouped["settlement_paise"].sum()
    frame["card_outstanding_paise"] = grouped["card_outstanding_paise"].sum()
    reference = int(frame["total_paise"].iloc[0]) if start_paise is None else start_paise
    frame.insert(1, "deviation_paise", frame["total_paise"] - reference)
    # a bank's net position in the open cycle (+ to receive): what its closed cycles have
    # not yet settled of its settlement account (runs before cycles have settled_paise 0)
    position = -(money["settlement_paise"] + money.get("settled_paise", 0))
    per_bank = []
    for name, values in (("settlement", money["settlement_paise"]), ("position", position)):
        wide = money.assign(v=values).pivot_table(
            index="t_ms", columns="bank", values="v", aggfunc="sum"
        )
        wide = wide.reindex(frame.index).astype("Int64")
        wide.columns = [f"{name}_{bank}_paise" for bank in wide.columns]
        per_bank.append(wide)
    return pd.concat([frame, *per_bank], axis=1).reset_index()


def max_deviation(money_table: pd.DataFrame) -> int | None:
    """The largest absolute deviation from the starting total, or None without samples."""
    if money_table.empty:
        return None
    return int(money_table["deviation_paise"].abs().max())


# -- summary and scenario -----------------------------------------------------------------


# What summary.json must say before a report may call a run healthy: that it held, and the
# figures the report checks against the tables.
CHECKED_FIGURES = (
    "ok",
    "payments_total",
    "payments_by_state",
    "stuck_payments",
    "conservation_max_deviation_paise",
    "money_start_paise",
    "money_end_paise",
)


def missing_figures(summary: Mapping[str, Any]) -> list[str]:
    """The figures of `CHECKED_FIGURES` that `summary` lacks (or holds as null)."""
    return [key for key in CHECKED_FIGURES if summary.get(key) is None]


# How long a run took and how it was run: summary.json keeps them in `timing` (runs made
# before it, at the top level). Two runs of one seed differ in these and nothing else.
TIMING_FIGURES = (
    "build_seconds",
    "wall_seconds",
    "wrap_up_seconds",
    "payments_per_wall_second",
    "envelopes_per_wall_second",
    "executor",
    "pinned_cpu",
    "delivery",
)


def results(summary: Mapping[str, Any]) -> dict[str, Any]:
    """`summary` without `timing` (nor, in a run made before it, the same figures at the
    top level): what the run did, not how long it took to do it."""
    return {k: v for k, v in summary.items() if k != "timing" and k not in TIMING_FIGURES}


def headline(
    summary: Mapping[str, Any],
    tx: pd.DataFrame,
    money_table: pd.DataFrame,
    *,
    results_only: bool = False,
) -> pd.DataFrame:
    """Headline figures from summary.json, each beside the same figure recomputed from
    the tables where that is possible; `check` says whether exact counts agree.
    `results_only` leaves out the wall-clock figures (`results`), as a comparison must."""
    if results_only:
        summary = results(summary)
    by_state = tx["state"].value_counts()
    latency = tx["latency_ms"].to_numpy(dtype=np.int64)
    recomputed: dict[str, Any] = {
        "payments_total": len(tx),
        "conservation_max_deviation_paise": max_deviation(money_table),
    }
    exact = set(recomputed) | {"money_end_paise"}
    for state in sorted(set(by_state.index) | set(summary.get("payments_by_state") or {})):
        key = f"payments_by_state.{state}"
        recomputed[key] = int(by_state.get(state, 0))
        exact.add(key)
    if "method" in tx:
        by_method = tx["method"].value_counts()
        for method in sorted(set(by_method.index) | set(summary.get("payments_by_method") or {})):
            key = f"payments_by_method.{method}"
            recomputed[key] = int(by_method.get(method, 0))
            exact.add(key)
    if not money_table.empty:
        recomputed["money_end_paise"] = int(money_table["total_paise"].iloc[-1])
        owed = int(money_table["card_outstanding_paise"].iloc[-1])
        if owed or "card_outstanding_end_paise" in summary:
            recomputed["card_outstanding_end_paise"] = owed
            exact.add("card_outstanding_end_paise")
    if latency.size:
        for p in PERCENTILES:
            recomputed[f"latency_ms.p{p}"] = float(np.percentile(latency, p))
        recomputed["latency_ms.max"] = int(latency.max())
    flat = dict(flatten({k: v for k, v in summary.items() if k != "payments_by_code"}))
    rows = []
    for key in list(flat) + [k for k in recomputed if k not in flat]:
        value, again = flat.get(key, ""), recomputed.get(key, "")
        check = ""
        if key in exact and key in flat and again is not None and again != "":
            check = "ok" if _same_number(value, again) else "MISMATCH"
        rows.append((key, value, "" if again is None else again, check))
    return pd.DataFrame(rows, columns=["figure", "value", "recomputed", "check"])


def side_by_side(
    a: list[tuple[str, Any]], b: list[tuple[str, Any]], key: str = "figure"
) -> pd.DataFrame:
    """Two runs' (key, value) rows as `key, A, B, difference`: B − A for numbers,
    "changed" for other values that differ, blank when equal or missing."""
    values_a, values_b = dict(a), dict(b)
    keys = list(values_a) + [k for k in values_b if k not in values_a]
    rows = []
    for k in keys:
        va, vb = values_a.get(k, ""), values_b.get(k, "")
        rows.append((k, va, vb, difference(va, vb)))
    return pd.DataFrame(rows, columns=[key, "A", "B", "difference"])


#: how a comparison of several runs a side calls a difference noise (README, the page)
NOISE_RULE = (
    "a difference is within noise when the two sides' ranges (lowest to highest value "
    "over their runs) overlap"
)
SPREAD_COLUMNS = ["A min", "A max", "B min", "B max", "within noise"]
_MAX_VALUES = 5


def runs_side_by_side(
    a: Sequence[Sequence[tuple[Any, Any]]],
    b: Sequence[Sequence[tuple[Any, Any]]],
    key: str | tuple[str, ...] = "figure",
    *,
    fill: Callable[[Any], Any] | None = None,
    mean: bool = True,
) -> pd.DataFrame:
    """Several runs a side, each run's (key, value) rows, as `key, A, B, difference`: each
    side's value is the mean over its runs (`mean`; integer paise stay whole), or, when its
    runs disagree and `mean` is false or the values are not numbers, the values they
    take; `difference` is B − A as `difference` says. When either side has several runs
    (and `mean`), `A min` … `B max` give each side's range and `within noise` says "yes"
    or "no" for a difference (`NOISE_RULE`).

    A run lacking a key has the value `fill(key)` (say 0 for a count) or, without `fill`,
    is left out of that key's mean. A tuple `key` names one column per part of a key."""
    sides = [[dict(run) for run in side] for side in (a, b)]
    keys = list(dict.fromkeys(k for side in sides for run in side for k in run))
    spread = mean and max(len(a), len(b)) > 1
    rows = []
    for k in keys:
        values = [
            [run[k] if k in run else (fill(k) if fill else "") for run in side] for side in sides
        ]
        values = [[v for v in side if not _is_blank(v)] for side in values]
        va, vb = (_pooled(side, mean, _is_paise(k)) for side in values)
        diff = difference(va, vb)
        row = [*(k if isinstance(key, tuple) else (k,)), va, vb, diff]
        if spread:
            ranges = [_range(side) for side in values]
            row += [*ranges[0], *ranges[1], _noise(diff, *ranges)]
        rows.append(row)
    names = list(key) if isinstance(key, tuple) else [key]
    numbers = ["A", "B", "difference", *(SPREAD_COLUMNS[:-1] if spread else [])]
    columns = [*names, *numbers, *(["within noise"] if spread else [])]
    # objects, so a count stays whole beside a mean (pandas would make both floats)
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    for column in columns:
        if column not in numbers or all(isinstance(v, float) for v in frame[column]):
            frame[column] = frame[column].infer_objects()
    return frame


def long_rows(frame: pd.DataFrame, key: str, measures: Sequence[str]) -> list[tuple[Any, Any]]:
    """A per-`key` table's `measures` as ((key, measure), value) rows, for
    `runs_side_by_side` with a two-part key; numpy numbers become Python ones."""
    return [((row[key], m), _plain(row[m])) for row in frame.to_dict("records") for m in measures]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _is_blank(value: Any) -> bool:
    return isinstance(value, str) and value == ""


def _is_paise(key: Any) -> bool:
    last = key[-1] if isinstance(key, tuple) else key
    return str(last).endswith("_paise")


def _pooled(values: list[Any], mean: bool, paise: bool) -> Any:
    if not values:
        return ""
    if all(v == values[0] for v in values[1:]):
        return values[0]
    if mean and all(_is_number(v) for v in values):
        average = float(np.mean(values))
        whole = paise or (average.is_integer() and all(isinstance(v, int) for v in values))
        return round(average) if whole else average
    shown = list(dict.fromkeys(str(v) for v in values))
    more = f" … ({len(shown)} values)" if len(shown) > _MAX_VALUES else ""
    return ", ".join(shown[:_MAX_VALUES]) + more


def _range(values: list[Any]) -> tuple[Any, Any]:
    if not values or not all(_is_number(v) for v in values):
        return ("", "")
    return (min(values), max(values))


def _noise(diff: Any, a: tuple[Any, Any], b: tuple[Any, Any]) -> str:
    if not _is_number(diff) or diff == 0 or "" in (*a, *b):
        return ""
    return "yes" if max(a[0], b[0]) <= min(a[1], b[1]) else "no"


def difference(a: Any, b: Any) -> Any:
    """B − A for two numbers; otherwise "changed" or "" (equal)."""
    if _is_number(a) and _is_number(b):
        return b - a
    return "" if a == b else "changed"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def start_paise(summary: Mapping[str, Any]) -> int | None:
    """`money_start_paise` from summary.json, if it is there."""
    return as_int(summary.get("money_start_paise"))


def flatten(
    data: Mapping[str, Any],
    prefix: str = "",
    objects: dict[str, pd.DataFrame] | None = None,
) -> list[tuple[str, Any]]:
    """Nested JSON as (dotted key, scalar) rows. Long lists (more than ten items)
    become a count such as "1000 items". Given `objects`, a short list of objects
    goes there as one table (a row per object) instead of a row per field."""
    rows: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if _is_secret(str(key)) and value not in (None, ""):
            rows.append((name, "****"))
        elif isinstance(value, Mapping):
            rows.extend(flatten(value, f"{name}.", objects) if value else [(name, "{}")])
        elif isinstance(value, list):
            rows.extend(_flatten_list(name, value, objects))
        else:
            rows.append((name, value))
    return rows


def _flatten_list(
    name: str, items: list[Any], objects: dict[str, pd.DataFrame] | None
) -> list[tuple[str, Any]]:
    if not items:
        return [(name, "none")]
    if len(items) > _MAX_LIST_ITEMS:
        return [(name, f"{len(items)} items")]
    if all(not isinstance(item, Mapping | list) for item in items):
        return [(name, ", ".join(str(item) for item in items))]
    if objects is not None and all(isinstance(item, Mapping) for item in items):
        objects[name] = pd.DataFrame([dict(flatten(item)) for item in items])
        return [(name, f"{len(items)} items (table below)")]
    rows: list[tuple[str, Any]] = []
    for i, item in enumerate(items):
        if isinstance(item, Mapping):
            rows.extend(flatten(item, f"{name}[{i}].", objects))
        elif isinstance(item, list):
            rows.extend(_flatten_list(f"{name}[{i}]", item, objects))
        else:
            rows.append((f"{name}[{i}]", item))
    return rows


def _is_secret(key: str) -> bool:
    # scenario.json masks PINs already; this keeps a slip from reaching the report.
    key = key.lower()
    return key in ("pin", "upi_pin", "password", "secret") or key.endswith("_pin")


def as_int(value: Any) -> int | None:
    """A JSON number as an int; None for anything else (bools included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _same_number(a: Any, b: Any) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False
