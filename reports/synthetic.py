"""A synthetic but self-consistent run folder of any size, for benchmarking reports.

It follows docs/run-folder.md (columns, dtypes, conservation, summary keys)
without running the simulator, so report speed can be measured on its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from upisim.reports.run import ACCOUNT_COLUMNS, EVENT_COLUMNS, MONEY_COLUMNS, TRANSACTION_COLUMNS

BANKS = ("HDFC", "SBI", "ICICI")
HANDLES = ("okhdfcbank", "oksbi", "okicici")
PAYMENTS_PER_SECOND = 2_000
# (reason_code, response_code, state, decline_type, weight) for push payments.
OUTCOMES = (
    ("00", "00", "SUCCESS", "", 0.930),
    ("Z9", "U30", "FAILED", "BD", 0.030),
    ("ZM", "U30", "FAILED", "BD", 0.010),
    ("Z7", "Z7", "FAILED", "BD", 0.012),
    ("U16", "U16", "FAILED", "BD", 0.008),
    ("U67", "U67", "FAILED", "TD", 0.004),
    ("XY", "U30", "FAILED", "TD", 0.004),
    ("U68", "U68", "DEEMED", "TD", 0.002),
)
COLLECT_OUTCOMES = (
    ("00", "00", "SUCCESS", "", 0.80),
    ("ZA", "ZA", "FAILED", "BD", 0.12),
    ("U69", "U69", "EXPIRED", "BD", 0.08),
)
# (method, weight) for push payments; CREDIT_CARD only for users with a card.
PUSH_METHODS = (
    ("UPI_PUSH", 0.70),
    ("DEBIT_CARD", 0.10),
    ("CREDIT_CARD", 0.12),
    ("NET_BANKING", 0.08),
)
FRAUD_RULES = ("HIGH_VALUE", "DAILY_CAP", "VELOCITY")
START_BALANCE_PAISE = 5_000_000  # ₹50,000 per user
CARD_EVERY = 4  # every fourth user has a credit card
CARD_LIMIT_PAISE = 20_000_000  # ₹2,00,000 (a synthetic run does not enforce it)


def write_synthetic_run(run_dir: str | Path, n_rows: int, seed: int = 0) -> Path:
    """Write a run folder with `n_rows` payments into `run_dir` and return its path."""
    path = Path(run_dir)
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_users = max(100, n_rows // 100)
    duration_ms = max(60_000, n_rows * 1000 // PAYMENTS_PER_SECOND)
    tx = _transactions(rng, n_rows, n_users, duration_ms)
    events = _events(rng, tx)
    user_bank = np.arange(n_users) % len(BANKS)
    start_per_bank = np.bincount(user_bank, minlength=len(BANKS)) * START_BALANCE_PAISE
    end_ms = int(max(duration_ms, tx["t_completed_ms"].max() + 1))
    money = _money(tx, start_per_bank, end_ms)
    _write(tx, TRANSACTION_COLUMNS, path / "transactions.parquet")
    _write(events, EVENT_COLUMNS, path / "events.parquet")
    _write(money, MONEY_COLUMNS, path / "money.parquet")
    _write(_accounts(tx, n_users), ACCOUNT_COLUMNS, path / "accounts.parquet")
    summary = _summary(tx, events, money, seed, duration_ms, int(start_per_bank.sum()))
    scenario = _scenario(seed, n_users, duration_ms)
    (path / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    (path / "scenario.json").write_text(json.dumps(scenario, indent=2), encoding="utf-8")
    return path


def _pick(
    rng: np.random.Generator, table: tuple[tuple[Any, ...], ...], n: int
) -> tuple[np.ndarray, ...]:
    weights = np.array([row[-1] for row in table])
    choice = rng.choice(len(table), size=n, p=weights / weights.sum())
    return tuple(np.array([row[i] for row in table], dtype=object)[choice] for i in range(4))


def _transactions(rng: np.random.Generator, n: int, n_users: int, duration_ms: int) -> pd.DataFrame:
    kind = rng.choice(np.array(["PAY", "COLLECT"], dtype=object), size=n, p=[0.92, 0.08])
    collect = kind == "COLLECT"
    reason, response, state, decline = _pick(rng, OUTCOMES, n)
    c_reason, c_response, c_state, c_decline = _pick(rng, COLLECT_OUTCOMES, int(collect.sum()))
    reason[collect], response[collect], state[collect], decline[collect] = (
        c_reason,
        c_response,
        c_state,
        c_decline,
    )
    payer = rng.integers(0, n_users, n)
    payee = (payer + rng.integers(1, n_users, n)) % n_users
    vpas = np.array([f"user{i}@{HANDLES[i % len(HANDLES)]}" for i in range(n_users)], dtype=object)
    banks = np.array(BANKS, dtype=object)
    amount = np.round(rng.lognormal(11.5, 1.2, n)).astype(np.int64) + 100
    names = np.array([m for m, _ in PUSH_METHODS], dtype=object)
    weights = np.array([w for _, w in PUSH_METHODS])
    method = rng.choice(names, size=n, p=weights / weights.sum())
    method[(method == "CREDIT_CARD") & (payer % CARD_EVERY != 0)] = "UPI_PUSH"
    method[collect] = "UPI_COLLECT"

    def step(mean_ms: float) -> np.ndarray:
        return 1 + np.round(rng.exponential(mean_ms, n)).astype(np.int64)

    initiated = np.sort(rng.integers(0, duration_ms, n))
    received = initiated + step(10)
    resolved = received + step(25)
    risk = resolved + step(5)
    debited = risk + step(120)
    credited = debited + step(120)
    completed = credited + step(15)
    debit_ok = np.isin(state, ["SUCCESS", "DEEMED"])
    credit_ok = state == "SUCCESS"
    never_debited = ~debit_ok
    completed = np.where(never_debited, risk + step(60), completed)
    completed = np.where(reason == "U67", initiated + 15_000, completed)
    completed = np.where(reason == "U68", initiated + 30_000, completed)
    completed = np.where(reason == "U69", initiated + 60_000, completed)
    frame = pd.DataFrame(
        {
            "txn_id": [f"SYN{i:016d}" for i in range(n)],
            "kind": kind,
            "method": method,
            "payer_vpa": vpas[payer],
            "payee_vpa": vpas[payee],
            "payer_bank": banks[payer % len(BANKS)],
            "payee_bank": banks[payee % len(BANKS)],
            "amount_paise": amount,
            "state": state,
            "response_code": response,
            "reason_code": reason,
            "decline_type": decline,
            "fraud_flags": np.where(reason == "U16", "DAILY_CAP", ""),
            "t_initiated_ms": initiated,
            "t_received_ms": received,
            "t_resolved_ms": pd.array(resolved, dtype="Int64"),
            "t_risk_ms": pd.array(risk, dtype="Int64"),
            "t_debited_ms": pd.array(np.where(debit_ok, debited, 0), dtype="Int64"),
            "t_credited_ms": pd.array(np.where(credit_ok, credited, 0), dtype="Int64"),
            "t_completed_ms": completed,
            "latency_ms": completed - initiated,
        }
    )
    frame.loc[~debit_ok, "t_debited_ms"] = pd.NA
    frame.loc[~credit_ok, "t_credited_ms"] = pd.NA
    # Rows appear in the order payments finished.
    return frame.sort_values(["t_completed_ms", "txn_id"], kind="stable", ignore_index=True)


def _events(rng: np.random.Generator, tx: pd.DataFrame) -> pd.DataFrame:
    limited = tx[tx["reason_code"] == "Z7"]
    risky = tx[tx["reason_code"] == "U16"]
    flagged = tx.sample(frac=0.01, random_state=rng.integers(1 << 31))
    parts = [
        _event_rows(
            limited,
            "RATE_LIMIT",
            "users:0",
            rng.choice(np.array(["1m", "1h"], dtype=object), len(limited), p=[0.8, 0.2]),
        ),
        _event_rows(
            flagged,
            "FRAUD_FLAG",
            "fraud",
            rng.choice(np.array(FRAUD_RULES, dtype=object), len(flagged)),
        ),
        _event_rows(risky, "FRAUD_DECLINE", "fraud", np.full(len(risky), "DAILY_CAP", object)),
    ]
    events = pd.concat(parts, ignore_index=True)
    return events.sort_values(["t_ms", "txn_id", "kind"], ignore_index=True)


def _event_rows(tx: pd.DataFrame, kind: str, actor: str, detail: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "t_ms": tx["t_received_ms"].to_numpy(),
            "kind": kind,
            "actor": actor,
            "txn_id": tx["txn_id"].to_numpy(),
            "subject": tx["payer_vpa"].to_numpy(),
            "detail": detail,
            "value": tx["amount_paise"].to_numpy(),
        }
    )


def _money(tx: pd.DataFrame, start_per_bank: np.ndarray, end_ms: int) -> pd.DataFrame:
    """Debits raise the remitter's settlement account, credits lower the beneficiary's; a
    credit-card debit leaves deposits alone and adds to what the payer's bank has lent."""
    samples = np.r_[np.arange(0, end_ms, 1000), end_ms]
    on_card = tx["method"] == "CREDIT_CARD"
    tx = tx.assign(t_money_in_ms=_money_in_ms(tx))
    rows = []
    for b, bank in enumerate(BANKS):
        paid = tx["payer_bank"] == bank
        debits = _cumulative(tx, paid, "t_debited_ms", samples)
        card = _cumulative(tx, paid & on_card, "t_debited_ms", samples)
        credits = _cumulative(tx, tx["payee_bank"] == bank, "t_money_in_ms", samples)
        settlement = debits - credits
        rows.append(
            pd.DataFrame(
                {
                    "t_ms": samples,
                    "bank": bank,
                    "customers_paise": start_per_bank[b] - (debits - card) + credits,
                    "settlement_paise": settlement,
                    "card_outstanding_paise": card,
                }
            )
        )
    return pd.concat(rows).sort_values(["t_ms", "bank"], kind="stable", ignore_index=True)


def _money_in_ms(tx: pd.DataFrame) -> pd.Series:
    """When the payee's money arrived: at the credit, or for a deemed payment (its credit
    stands but the reply never came) when it completed; null when it never did."""
    moved = tx["state"].isin(["SUCCESS", "DEEMED"])
    return tx["t_credited_ms"].fillna(tx["t_completed_ms"]).where(moved)


def _accounts(tx: pd.DataFrame, n_users: int) -> pd.DataFrame:
    """Every user's savings balance and card debt at the end, from the same postings as
    the money samples, so statements of a synthetic run add up."""
    debited = tx["t_debited_ms"].notna()
    on_card = debited & (tx["method"] == "CREDIT_CARD")
    credited = _money_in_ms(tx).notna()
    users = [f"user{i}@{HANDLES[i % len(HANDLES)]}" for i in range(n_users)]

    def total(mask: pd.Series, party: str) -> np.ndarray:
        sums = tx.loc[mask, "amount_paise"].groupby(tx.loc[mask, party]).sum()
        return sums.reindex(users, fill_value=0).to_numpy(dtype=np.int64)

    card = total(on_card, "payer_vpa")
    closing = START_BALANCE_PAISE - total(debited & ~on_card, "payer_vpa")
    closing += total(credited, "payee_vpa")
    has_card = np.arange(n_users) % CARD_EVERY == 0
    return pd.DataFrame(
        {
            "vpa": users,
            "name": [f"User {i}" for i in range(n_users)],
            "bank": [BANKS[i % len(BANKS)] for i in range(n_users)],
            "account": [f"{i:012d}" for i in range(n_users)],
            "merchant": np.zeros(n_users, dtype=bool),
            "new_user": np.zeros(n_users, dtype=bool),
            "opening_paise": np.full(n_users, START_BALANCE_PAISE, dtype=np.int64),
            "closing_paise": closing,
            "card_limit_paise": np.where(has_card, CARD_LIMIT_PAISE, 0).astype(np.int64),
            "card_outstanding_paise": card,
        }
    )


def _cumulative(tx: pd.DataFrame, mask: pd.Series, column: str, samples: np.ndarray) -> np.ndarray:
    picked = tx.loc[mask & tx[column].notna(), [column, "amount_paise"]].sort_values(column)
    totals: np.ndarray = np.r_[0, np.cumsum(picked["amount_paise"].to_numpy())]
    return totals[np.searchsorted(picked[column].to_numpy(dtype=np.int64), samples, "right")]


def _write(frame: pd.DataFrame, columns: dict[str, str], file: Path) -> None:
    types = {"str": pa.string(), "bool": pa.bool_()}
    schema = pa.schema([(name, types.get(dtype, pa.int64())) for name, dtype in columns.items()])
    pq.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), file)


def _summary(
    tx: pd.DataFrame,
    events: pd.DataFrame,
    money: pd.DataFrame,
    seed: int,
    duration_ms: int,
    start: int,
) -> dict[str, object]:
    latency = tx["latency_ms"].to_numpy()
    held = money["customers_paise"] + money["settlement_paise"] - money["card_outstanding_paise"]
    totals = held.groupby(money["t_ms"]).sum()
    last = money["t_ms"] == money["t_ms"].max()
    return {
        "seed": seed,
        "scenario": "synthetic",
        "sim_duration_ms": duration_ms,
        "wall_seconds": 0.0,
        "money_start_paise": start,
        "money_end_paise": int(totals.iloc[-1]),
        "conservation_max_deviation_paise": int((totals - start).abs().max()),
        "conservation_checks": len(totals),
        "payments_total": len(tx),
        "payments_by_state": {k: int(v) for k, v in tx["state"].value_counts().items()},
        "payments_by_code": {k: int(v) for k, v in tx["reason_code"].value_counts().items()},
        "payments_per_wall_second": 0.0,
        "envelopes": 9 * len(tx),
        "latency_ms": {
            **{f"p{p}": float(np.percentile(latency, p)) for p in (50, 95, 99)},
            "max": int(latency.max()),
        },
        "fraud_flagged": int((events["kind"] == "FRAUD_FLAG").sum()),
        "fraud_declined": int((events["kind"] == "FRAUD_DECLINE").sum()),
        "payments_by_method": {k: int(v) for k, v in tx["method"].value_counts().items()},
        "card_outstanding_end_paise": int(money.loc[last, "card_outstanding_paise"].sum()),
        "stuck_payments": 0,
        "ok": True,
    }


def _scenario(seed: int, n_users: int, duration_ms: int) -> dict[str, object]:
    return {
        "name": "synthetic",
        "seed": seed,
        "duration_s": duration_ms // 1000,
        "banks": [{"code": b, "latency_ms": 120} for b in BANKS],
        "users": [
            {"vpa": f"user{i}@{HANDLES[i % len(HANDLES)]}", "pin": "****"} for i in range(n_users)
        ],
        "load": {"payments_per_second": PAYMENTS_PER_SECOND, "collect_share": 0.08},
        "limits": {"per_minute": 5, "per_hour": 50},
        "fraud": {
            "high_value_paise": 5_000_000,
            "daily_cap_paise": 10_000_000,
            "velocity_per_hour": 10,
        },
    }
