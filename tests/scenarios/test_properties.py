"""Whole-run invariants under random scenarios (Hypothesis): whatever the parameters (methods,
credit cards, collect requests, refunds, loss), money is conserved, every account and every
card reconciles, every payment ends in a terminal state, and a seed replays byte for byte."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from upisim.scenarios.config import parse_scenario
from upisim.scenarios.run import run_scenario

scenarios = st.fixed_dictionaries(
    {
        "name": st.just("prop"),
        "seed": st.integers(0, 10_000),
        "duration_s": st.integers(2, 8),
        "population": st.fixed_dictionaries(
            {
                "size": st.integers(2, 60),
                "balance_median": st.sampled_from(["50.00", "500.00", "20000.00"]),
                "merchant_share": st.sampled_from([0.0, 0.2]),
                "new_user_share": st.sampled_from([0.0, 0.3]),
                "card_share": st.sampled_from([0.0, 0.5]),
                "card_limit": st.sampled_from(["100.00", "50000.00"]),
            }
        ),
        "load": st.fixed_dictionaries(
            {
                "rate_per_s": st.integers(1, 80),
                "wrong_pin_rate": st.sampled_from([0.0, 0.1]),
                "amount_max": st.sampled_from(["2000.00", "120000.00"]),
                "p2m_share": st.sampled_from([None, 0.8]),
                "method_mix": st.sampled_from(
                    [
                        {"UPI_PUSH": 1.0},
                        {"UPI_PUSH": 1, "DEBIT_CARD": 1, "CREDIT_CARD": 2, "NET_BANKING": 1},
                        {"CREDIT_CARD": 1.0},
                    ]
                ),
            }
        ),
        "network": st.fixed_dictionaries(
            {
                "psp_switch_ms": st.integers(1, 60),
                "switch_bank_ms": st.integers(1, 90),
                "switch_fraud_ms": st.integers(1, 40),
                "jitter_ms": st.sampled_from([0, 7, 30, 3_000]),  # 3 s: replies overtake
            }
        ),
        "timeouts": st.sampled_from(
            [{}, {"pay_ms": 2_000, "reversal_ms": 300, "auth_ms": 2_000, "risk_ms": 2_000}]
        ),
        "faults": st.fixed_dictionaries({"loss_rate": st.sampled_from([0.0, 0.05, 0.3])}),
        "collect": st.fixed_dictionaries(
            {
                "rate_per_s": st.sampled_from([0, 10]),
                "expiry_s": st.sampled_from([1, 30]),
                "think_s": st.just(1),
                "p2p": st.booleans(),
                "p2p_share": st.sampled_from([0.0, 0.5]),
            }
        ),
        "refunds": st.fixed_dictionaries(
            {"share": st.sampled_from([0.0, 0.5]), "after_s": st.just(1)}
        ),
        "cohorts": st.sampled_from([None, 1, 3]),
    }
)


def run(data: dict[str, Any], out: Path) -> dict[str, Any]:
    return run_scenario(parse_scenario(data), out, direct=True).summary


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios)
def test_any_scenario_keeps_the_books_and_replays(data: dict[str, Any]) -> None:
    if data["cohorts"] is None:
        del data["cohorts"]
    if data["timeouts"]:  # 2 s to answer a debit: net banking's login must be quicker
        data["methods"] = {"NET_BANKING": {"extra_latency_ms": 900, "latency_spread_ms": 900}}
    if data["load"]["p2m_share"] is None:
        del data["load"]["p2m_share"]
    if data["population"]["merchant_share"] == 0:  # no merchants to pay or to ask for money
        data["collect"]["p2p_share"] = 1.0
        data["load"].pop("p2m_share", None)
    with tempfile.TemporaryDirectory() as tmp:
        a = run(data, Path(tmp) / "a")
        assert a["ok"], a["problems"]
        assert a["conservation_max_deviation_paise"] == 0
        assert a["money_end_paise"] == a["money_start_paise"]
        assert a["accounts_unreconciled"] == 0 and a["stuck_payments"] == 0
        tx = pd.read_parquet(Path(tmp) / "a" / "transactions.parquet")
        assert tx.txn_id.is_unique
        assert set(tx.state) <= {"SUCCESS", "FAILED", "DEEMED", "EXPIRED"}
        b = run(data, Path(tmp) / "b")
        same = [
            hashlib.sha256((Path(tmp) / r / "transactions.parquet").read_bytes()).hexdigest()
            for r in ("a", "b")
        ]
        assert same[0] == same[1] and a["payments_total"] == b["payments_total"]
