"""The banks, one by one: how each one's core banking carried its load (queues.parquet),
what its payments came to, where the curve of latency against offered load bends, and
the fault windows every time-series plot shades (drawn by `reports.plots`)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from upisim.runfolder import State

#: what each kind of fault is called on a plot, by its [faults] key
FAULT_LABELS = {
    "outages": "{bank} dark",
    "delays": "{bank} slow links",
    "core_slow": "{bank} core x{factor:g}",
    "core_offline": "{bank} core offline",
    "core_cuts": "{bank} core: {workers} workers",
    "fraud_down": "fraud monitor down",
}
FAULT_COLUMNS = ["fault", "from_s", "to_s"]


def fault_windows(scenario: Mapping[str, Any]) -> pd.DataFrame:
    """Every fault window of a resolved scenario (scenario.json): what, from, to (s). Faults
    that heal after the load end with it; a crash is its actor's time down."""
    faults = scenario.get("faults") or {}
    heal = faults.get("heal_after_load", True)
    end = float(scenario.get("duration_s", 0)) if heal else float("inf")
    rows = []
    for key, label in FAULT_LABELS.items():
        for w in faults.get(key) or []:
            rows.append((label.format(**w), float(w["from_s"]), min(float(w["to_s"]), end)))
    for c in faults.get("crashes") or []:
        at = float(c["at_s"])
        rows.append((f"{c['actor']} down", at, min(at + float(c["down_s"]), max(end, at))))
    frame = pd.DataFrame(rows, columns=FAULT_COLUMNS)
    return frame[frame.to_s > frame.from_s].reset_index(drop=True)


# -- tables -----------------------------------------------------------------------------


def bank_outcomes(tx: pd.DataFrame, queues: pd.DataFrame) -> pd.DataFrame:
    """Per bank, the payments with a leg there (as payer's or payee's bank): shares of
    success, business and technical declines, latency of the successful ones, and what its
    core banking went through."""
    rows = []
    for bank in sorted((set(tx.payer_bank.dropna()) | set(tx.payee_bank.dropna())) - {""}):
        mine = tx[(tx.payer_bank == bank) | (tx.payee_bank == bank)]
        ok = mine.latency_ms[mine.state == State.SUCCESS].to_numpy(dtype=float)
        q = queues[queues.place == f"bank:{bank}"]
        seconds = max(len(q), 1)
        rows.append(
            {
                "bank": bank,
                "payments": len(mine),
                "success": (mine.state == State.SUCCESS).mean(),
                "business declines": (mine.decline_type == "BD").mean(),
                "technical declines": (mine.decline_type == "TD").mean(),
                **{
                    f"p{p}_ms": float(np.percentile(ok, p)) if ok.size else np.nan
                    for p in (50, 95, 99)
                },
                "utilisation": (q.busy_ms / (1000 * q.workers)).sum() / seconds,
                "peak queue": int(q.queue_len.max()) if len(q) else 0,
                "mean wait_ms": q.wait_ms.sum() / q.arrivals.sum() if q.arrivals.sum() else 0.0,
                "refused": int(q.refused.sum()),
            }
        )
    return pd.DataFrame(rows)


def bank_roles(tx: pd.DataFrame) -> pd.DataFrame:
    """Per bank and side of the payment (remitter: the payer's bank; beneficiary: the
    payee's): payments, shares of success, business and technical declines, and latency of
    the successful ones. A payment between two customers of one bank counts on both sides."""
    columns = ["bank", "as", "payments", "success", "business declines", "technical declines"]
    columns += ["p50_ms", "p99_ms"]
    rows = []
    for side, column in (("remitter", "payer_bank"), ("beneficiary", "payee_bank")):
        for bank, mine in tx[tx[column].fillna("") != ""].groupby(column, sort=True):
            ok = mine.latency_ms[mine.state == State.SUCCESS].to_numpy(dtype=float)
            rows.append(
                {
                    "bank": bank,
                    "as": side,
                    "payments": len(mine),
                    "success": (mine.state == State.SUCCESS).mean(),
                    "business declines": (mine.decline_type == "BD").mean(),
                    "technical declines": (mine.decline_type == "TD").mean(),
                    "p50_ms": float(np.percentile(ok, 50)) if ok.size else np.nan,
                    "p99_ms": float(np.percentile(ok, 99)) if ok.size else np.nan,
                }
            )
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["bank", "as"], ascending=[True, False], kind="stable")


def queues_over_time(queues: pd.DataFrame, bin_ms: int) -> pd.DataFrame:
    """Per place and bin (a bank by its code; ``switch``, and an app server as ``users:N``,
    when the scenario gives them capacity): utilisation (worker time / workers' time), mean
    queue length, mean wait of the work that arrived, and refusals (seconds with no row
    were idle)."""
    columns = ["t_s", "bank", "utilisation", "queue", "wait_ms", "refused"]
    if queues.empty:
        return pd.DataFrame(columns=columns)
    bin_s = max(bin_ms // 1000, 1)
    q = queues.assign(t_s=queues.t_s // bin_s * bin_s, bank=queues.place.str.removeprefix("bank:"))
    g = q.groupby(["t_s", "bank"], as_index=False).agg(
        busy_ms=("busy_ms", "sum"),
        workers=("workers", "mean"),
        queue_ms=("queue_ms", "sum"),
        wait_ms=("wait_ms", "sum"),
        arrivals=("arrivals", "sum"),
        refused=("refused", "sum"),
    )
    return pd.DataFrame(
        {
            "t_s": g.t_s,
            "bank": g.bank,
            "utilisation": g.busy_ms / (1000 * bin_s * g.workers),
            "queue": g.queue_ms / (1000 * bin_s),
            "wait_ms": g.wait_ms / g.arrivals.where(g.arrivals > 0),  # none arrived: a gap
            "refused": g.refused,
        }
    )[columns]


def load_curve(tx: pd.DataFrame, bin_ms: int = 5_000) -> pd.DataFrame:
    """Per bin of initiation time: the offered load (payments a second), the success
    share, and the latency percentiles of the successful payments: the knee of the curve."""
    columns = ["t_s", "offered_per_s", "success", "p50_ms", "p99_ms"]
    if tx.empty:
        return pd.DataFrame(columns=columns)
    b = tx.t_initiated_ms // bin_ms
    ok = tx.state == State.SUCCESS
    latency = tx.latency_ms.where(ok)
    g = pd.DataFrame({"b": b, "ok": ok, "latency": latency}).groupby("b")
    frame = pd.DataFrame(
        {
            "t_s": g.size().index * bin_ms // 1000,
            "offered_per_s": g.size().to_numpy() * 1000 / bin_ms,
            "success": g.ok.mean().to_numpy(),
            "p50_ms": g.latency.quantile(0.5).to_numpy(),
            "p99_ms": g.latency.quantile(0.99).to_numpy(),
        }
    )
    return frame[columns]


def net_debit_caps(scenario: Mapping[str, Any]) -> dict[str, int]:
    """Each capped bank's net debit cap in paise, from scenario.json (rupees as text)."""
    caps = {}
    for bank in scenario.get("banks") or []:
        cap = bank.get("net_debit_cap") if isinstance(bank, Mapping) else None
        if cap is not None:
            caps[str(bank["code"])] = int(Decimal(str(cap)) * 100)
    return caps


def settlement_by_bank(
    cycles: pd.DataFrame, tx: pd.DataFrame, caps: Mapping[str, int]
) -> pd.DataFrame:
    """Per bank, over the run's settlement cycles: what its payments moved, its largest net
    debit at a close, its cap and how much of it that debit used, and the payments its cap
    declined (U03)."""
    columns = [
        "bank", "cycles", "payments", "debits_paise", "credits_paise", "largest_net_debit_paise",
        "net_debit_cap_paise", "cap_used", "U03",
    ]  # fmt: skip
    if cycles.empty:
        return pd.DataFrame(columns=columns)
    declined = tx.payer_bank[tx.reason_code == "U03"].value_counts()
    rows = []
    for bank, mine in cycles.groupby("bank", sort=True):
        owed = max(0, -int(mine.net_paise.min()))
        cap = caps.get(str(bank))
        rows.append(
            {
                "bank": bank,
                "cycles": len(mine),
                "payments": int(mine.payments.sum()),
                "debits_paise": int(mine.debits_paise.sum()),
                "credits_paise": int(mine.credits_paise.sum()),
                "largest_net_debit_paise": owed,
                "net_debit_cap_paise": cap,
                "cap_used": owed / cap if cap else np.nan,
                "U03": int(declined.get(bank, 0)),
            }
        )
    return pd.DataFrame(rows, columns=columns)
