"""A small, hand-made run folder whose every count is known.

Written with pyarrow straight from docs/run-folder.md (not from `reports`), so
a mistake in how `reports` reads the contract cannot hide in the fixture. A
module of its own (not conftest) so tests can import its constants.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

MALICIOUS_VPA = "<script>alert(1)</script>@x"
MALICIOUS_NAME = 'Chai & "<Snacks>"'
BANKS = ("HDFC", "SBI", "ICICI")
START_PER_BANK_PAISE = 50_000_000

TRANSACTIONS_SCHEMA = pa.schema(
    [
        ("txn_id", pa.string()),
        ("kind", pa.string()),
        ("method", pa.string()),
        ("payer_vpa", pa.string()),
        ("payee_vpa", pa.string()),
        ("payer_bank", pa.string()),
        ("payee_bank", pa.string()),
        ("amount_paise", pa.int64()),
        ("state", pa.string()),
        ("response_code", pa.string()),
        ("reason_code", pa.string()),
        ("decline_type", pa.string()),
        ("fraud_flags", pa.string()),
        ("t_initiated_ms", pa.int64()),
        ("t_received_ms", pa.int64()),
        ("t_resolved_ms", pa.int64()),
        ("t_risk_ms", pa.int64()),
        ("t_debited_ms", pa.int64()),
        ("t_credited_ms", pa.int64()),
        ("t_completed_ms", pa.int64()),
        ("latency_ms", pa.int64()),
        ("refund_of", pa.string()),
    ]
)
EVENTS_SCHEMA = pa.schema(
    [
        ("t_ms", pa.int64()),
        ("kind", pa.string()),
        ("actor", pa.string()),
        ("txn_id", pa.string()),
        ("subject", pa.string()),
        ("detail", pa.string()),
        ("value", pa.int64()),
    ]
)
OLD_MONEY_SCHEMA = pa.schema(
    [
        ("t_ms", pa.int64()),
        ("bank", pa.string()),
        ("customers_paise", pa.int64()),
        ("settlement_paise", pa.int64()),
    ]
)
MONEY_SCHEMA = OLD_MONEY_SCHEMA.append(pa.field("card_outstanding_paise", pa.int64()))
# Push payments (not rate-limited) take these methods in turn, so every method is used.
PUSH_METHODS = ("UPI_PUSH", "DEBIT_CARD", "CREDIT_CARD", "NET_BANKING", "UPI_PUSH")

# (kind, state, response_code, reason_code, decline_type, count); Z7 rows are the
# rate-limited ones and their count is a parameter.
OUTCOME_PLAN = (
    ("PAY", "SUCCESS", "00", "00", "", 230),
    ("COLLECT", "SUCCESS", "00", "00", "", 10),
    ("PAY", "FAILED", "U30", "Z9", "BD", 20),
    ("PAY", "FAILED", "U16", "U16", "BD", 8),
    ("PAY", "FAILED", "U30", "ZM", "BD", 5),
    ("PAY", "FAILED", "U67", "U67", "TD", 4),
    ("COLLECT", "FAILED", "ZA", "ZA", "BD", 6),
    ("COLLECT", "EXPIRED", "U69", "U69", "BD", 7),
    ("PAY", "DEEMED", "U68", "U68", "TD", 3),
)
# Who the rate limiter stopped, in order: 5 + 4 + 3 + 2 + ten users once = 24 hits.
RATE_LIMITED = (
    ["alice@okhdfc"] * 5
    + ["bob@oksbi"] * 4
    + [MALICIOUS_VPA] * 3
    + ["carol@okicici"] * 2
    + [f"u{i:02d}@okaxis" for i in range(1, 11)]
)
RATE_LIMIT_WINDOWS = ("1m",) * 18 + ("1h",) * 6
FRAUD_FLAGS = {"HIGH_VALUE": 6, "VELOCITY": 5, "DAILY_CAP": 4}
FRAUD_DECLINES = ("DAILY_CAP",) * 5 + ("VELOCITY",) * 3  # one per U16 payment
SIM_DURATION_MS = 40_000
# What summary.json says each code means (the simulator writes one for every code seen).
CODE_MEANINGS = {
    "00": "approved",
    "U16": "risk threshold exceeded",
    "U30": "debit failed",
    "U67": "debit timeout",
    "U68": "credit timeout",
    "U69": "collect expired",
    "Z7": "frequency limit exceeded",
    "Z9": "insufficient funds",
    "ZA": "declined by customer",
    "ZM": "invalid UPI PIN",
}


@dataclass(frozen=True)
class Fixture:
    """What a test needs to know about the run it was given."""

    path: Path
    rate_limited: int
    per_minute: int
    leak_paise: int
    cards: bool
    card_leak_paise: int

    @property
    def payments(self) -> int:
        return sum(row[-1] for row in OUTCOME_PLAN) + self.rate_limited


def write_run(
    path: Path,
    *,
    rate_limited: int = 24,
    per_minute: int = 5,
    leak_paise: int = 0,
    cards: bool = True,
    card_leak_paise: int = 0,
    seed: int = 42,
) -> Fixture:
    """Write a run folder; `leak_paise` makes HDFC lose money from the 10th second on
    (summary.json still claims 0 deviation, as a buggy simulator might). Push payments
    use every method in turn; `cards=False` writes a run from before cards (all UPI,
    no `card_outstanding_paise`); `card_leak_paise` makes SBI's card book grow from the
    20th second on with no deposits to match (money created from nothing). `seed` is only
    written down: the run is the same at any seed."""
    path.mkdir(parents=True, exist_ok=True)
    plan = [*OUTCOME_PLAN, ("PAY", "FAILED", "Z7", "Z7", "BD", rate_limited)]
    rows = []
    for kind, state, response, reason, decline, count in plan:
        rows.extend([(kind, state, response, reason, decline)] * count)
    tx = _transactions(rows, cards)
    events = _events(tx, rate_limited)
    money = _money(tx, leak_paise, card_leak_paise)
    pq.write_table(
        pa.Table.from_pylist(tx, schema=TRANSACTIONS_SCHEMA), path / "transactions.parquet"
    )
    pq.write_table(pa.Table.from_pylist(events, schema=EVENTS_SCHEMA), path / "events.parquet")
    pq.write_table(
        pa.Table.from_pylist(money, schema=MONEY_SCHEMA if cards else OLD_MONEY_SCHEMA),
        path / "money.parquet",
    )
    pq.write_table(pa.Table.from_pylist(_queues(), schema=QUEUES_SCHEMA), path / "queues.parquet")
    _write_json(path / "summary.json", _summary(tx, events, money, cards) | {"seed": seed})
    _write_json(path / "scenario.json", _scenario(per_minute) | {"seed": seed})
    return Fixture(path, rate_limited, per_minute, leak_paise, cards, card_leak_paise)


def _transactions(rows: list[tuple[str, str, str, str, str]], cards: bool) -> list[dict]:
    tx = []
    limited = iter(RATE_LIMITED * 10)
    for i, (kind, state, response, reason, decline) in enumerate(rows):
        start = i * 100
        debited = state in ("SUCCESS", "DEEMED")
        completed = start + {
            "00": 300,
            "U67": 15_000,
            "U68": 30_000,
            "U69": 60_000,
        }.get(reason, 100)
        payer = (
            next(limited)
            if reason == "Z7"
            else (MALICIOUS_VPA if i % 6 == 5 else f"user{i % 6}@okhdfc")
        )
        tx.append(
            {
                "txn_id": f"TXN{i:06d}",
                "kind": kind,
                "method": _method(i, kind, reason, cards),
                "payer_vpa": payer,
                "payee_vpa": f"shop{i % 4}@okicici",
                "payer_bank": BANKS[i % 3],
                "payee_bank": BANKS[(i + 1) % 3],
                "amount_paise": 10_000 + (i % 7) * 1_000,
                "state": state,
                "response_code": response,
                "reason_code": reason,
                "decline_type": decline,
                "fraud_flags": "DAILY_CAP" if reason == "U16" else "",
                "t_initiated_ms": start,
                "t_received_ms": start + 5,
                "t_resolved_ms": None if reason == "Z7" else start + 20,
                "t_risk_ms": None if reason == "Z7" else start + 30,
                "t_debited_ms": start + 150 if debited else None,
                "t_credited_ms": start + 250 if state == "SUCCESS" else None,
                "t_completed_ms": completed,
                "latency_ms": completed - start,
                "refund_of": "",
            }
        )
    return sorted(tx, key=lambda r: (r["t_completed_ms"], r["txn_id"]))


def _method(i: int, kind: str, reason: str, cards: bool) -> str:
    if kind == "COLLECT":
        return "UPI_COLLECT"
    if not cards or reason == "Z7":  # the payer's app refuses those as UPI_PUSH
        return "UPI_PUSH"
    return PUSH_METHODS[i % len(PUSH_METHODS)]


def _events(tx: list[dict], rate_limited: int) -> list[dict]:
    def event(t: int, kind: str, row: dict | None, detail: str, actor: str = "switch") -> dict:
        return {
            "t_ms": t,
            "kind": kind,
            "actor": actor,
            "txn_id": row["txn_id"] if row else "",
            "subject": row["payer_vpa"] if row else "",
            "detail": detail,
            "value": row["amount_paise"] if row else 0,
        }

    by_code: dict[str, list[dict]] = {}
    for row in sorted(tx, key=lambda r: r["txn_id"]):
        by_code.setdefault(row["reason_code"], []).append(row)
    events = []
    for row, window in zip(by_code.get("Z7", []), RATE_LIMIT_WINDOWS * 10, strict=False):
        events.append(event(row["t_received_ms"], "RATE_LIMIT", row, window, "users:0"))
    successes = by_code["00"]
    i = 0
    for rule, count in FRAUD_FLAGS.items():
        for _ in range(count):
            events.append(
                event(
                    successes[i * 7]["t_received_ms"] + 25,
                    "FRAUD_FLAG",
                    successes[i * 7],
                    rule,
                    "fraud",
                )
            )
            i += 1
    for row, rule in zip(by_code["U16"], FRAUD_DECLINES, strict=True):
        events.append(event(row["t_received_ms"] + 25, "FRAUD_DECLINE", row, rule, "fraud"))
    for row in by_code["U67"]:
        events.append(event(row["t_completed_ms"], "TIMEOUT", row, "debit"))
    for row in by_code["U69"]:
        events.append(event(row["t_completed_ms"], "COLLECT_EXPIRED", row, ""))
    return sorted(events, key=lambda e: (e["t_ms"], e["kind"], e["txn_id"]))


COUNTS = ("workers", "arrivals", "refused", "queue_len", "queue_ms", "wait_ms")
QUEUES_SCHEMA = pa.schema(
    [("t_s", pa.int64()), ("place", pa.string())]
    + [(c, pa.int64()) for c in (*COUNTS, "service_ms", "busy_ms")]
)
SBI_PEAK_QUEUE = 30  # SBI's queue grows by 3 a second from 10 s to 19 s, then is gone


def _queues() -> list[dict]:
    """Every bank's core: 8 workers, 5 arrivals a second each asking 200 ms; SBI queues
    from 10 s to 19 s (refusing 2 a second from 15 s), everyone else never waits."""
    rows = []
    for t in range(SIM_DURATION_MS // 1000):
        for bank in BANKS:
            queue = 3 * (t - 9) if bank == "SBI" and 10 <= t < 20 else 0
            rows.append(
                {
                    "t_s": t,
                    "place": f"bank:{bank}",
                    "workers": 8,
                    "arrivals": 5,
                    "refused": 2 if queue and t >= 15 else 0,
                    "queue_len": queue,
                    "queue_ms": queue * 1000,
                    "wait_ms": queue * 1000,
                    "service_ms": 1000,
                    "busy_ms": 8000 if queue else 1000,
                }
            )
    return rows


def _money(tx: list[dict], leak_paise: int, card_leak_paise: int) -> list[dict]:
    """Debits raise the remitter's settlement account, credits lower the beneficiary's.
    A credit-card debit does not touch deposits: it adds to what the remitter has lent."""
    end = max(r["t_completed_ms"] for r in tx)
    samples = [*range(0, end, 1000), end]
    rows = []
    for t in samples:
        for bank in BANKS:
            debited = [
                r
                for r in tx
                if r["payer_bank"] == bank
                and r["t_debited_ms"] is not None
                and r["t_debited_ms"] <= t
            ]
            out = sum(r["amount_paise"] for r in debited)
            lent = sum(r["amount_paise"] for r in debited if r["method"] == "CREDIT_CARD")
            into = sum(
                r["amount_paise"]
                for r in tx
                if r["payee_bank"] == bank
                and r["t_credited_ms"] is not None
                and r["t_credited_ms"] <= t
            )
            leak = leak_paise if bank == "HDFC" and t >= 10_000 else 0
            card_leak = card_leak_paise if bank == "SBI" and t >= 20_000 else 0
            rows.append(
                {
                    "t_ms": t,
                    "bank": bank,
                    "customers_paise": START_PER_BANK_PAISE - (out - lent) + into - leak,
                    "settlement_paise": out - into,
                    "card_outstanding_paise": lent + card_leak,
                }
            )
    return rows


def _summary(tx: list[dict], events: list[dict], money: list[dict], cards: bool) -> dict:
    latency = np.array([r["latency_ms"] for r in tx])
    states: dict[str, int] = {}
    codes: dict[str, int] = {}
    methods: dict[str, int] = {}
    responses = {r["response_code"] for r in tx}
    for r in tx:
        states[r["state"]] = states.get(r["state"], 0) + 1
        codes[r["reason_code"]] = codes.get(r["reason_code"], 0) + 1
        methods[r["method"]] = methods.get(r["method"], 0) + 1
    last = max(m["t_ms"] for m in money)
    at_end = [m for m in money if m["t_ms"] == last]
    new_keys = {
        "payments_by_method": methods,
        "card_outstanding_end_paise": sum(m["card_outstanding_paise"] for m in at_end),
    }
    return {
        "seed": 42,
        "scenario": "festival_peak",
        "sim_duration_ms": SIM_DURATION_MS,
        "money_start_paise": START_PER_BANK_PAISE * len(BANKS),
        "money_end_paise": sum(
            m["customers_paise"] + m["settlement_paise"] - m["card_outstanding_paise"]
            for m in at_end
        ),
        "conservation_max_deviation_paise": 0,
        "conservation_checks": len(money) // len(BANKS),
        "payments_total": len(tx),
        "payments_by_state": states,
        "payments_by_code": codes,
        "code_meanings": {c: CODE_MEANINGS[c] for c in sorted({*codes, *responses})},
        "envelopes": 9 * len(tx),
        "latency_ms": {
            "p50": float(np.percentile(latency, 50)),
            "p95": float(np.percentile(latency, 95)),
            "p99": float(np.percentile(latency, 99)),
            "max": int(latency.max()),
        },
        "fraud_flagged": sum(e["kind"] == "FRAUD_FLAG" for e in events),
        "fraud_declined": sum(e["kind"] == "FRAUD_DECLINE" for e in events),
        **(new_keys if cards else {}),
        "stuck_payments": 0,
        "timing": {
            "build_seconds": 0.2,
            "wall_seconds": 1.5,
            "wrap_up_seconds": 0.1,
            "payments_per_wall_second": round(len(tx) / 1.5, 1),
            "envelopes_per_wall_second": round(9 * len(tx) / 1.5, 1),
            "executor": "pykka",
            "pinned_cpu": 0,
            "delivery": "grouped",
        },
        "problems": [],
        "ok": True,
    }


def _scenario(per_minute: int) -> dict:
    return {
        "name": "festival_peak",
        "seed": 42,
        "duration_s": SIM_DURATION_MS // 1000,
        "banks": list(BANKS),
        "users": [
            {"vpa": vpa, "pin": "****", "balance_paise": 1_000_000}
            for vpa in sorted(set(RATE_LIMITED))
        ],
        "merchant": {"name": MALICIOUS_NAME, "vpa": MALICIOUS_VPA},
        "limits": {"per_minute": per_minute, "per_hour": 50},
        "fraud": {"high_value_paise": 5_000_000, "daily_cap_paise": 10_000_000},
        "faults": {"outages": [{"bank": "SBI", "from_s": 10, "to_s": 15}]},
    }


def _write_json(file: Path, data: dict) -> None:
    file.write_text(json.dumps(data, indent=2), encoding="utf-8")
