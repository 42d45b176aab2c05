"""Issue 9's defects, each checked on a whole run from the run folder's own tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from upisim.scenarios.config import parse_scenario
from upisim.scenarios.run import RunResult, run_scenario


def shop_and_customers(**changes: Any) -> dict[str, Any]:
    """A merchant paid by three customers, ten times each; it refunds every payment."""
    scenario: dict[str, Any] = {
        "name": "hot-shop",
        "seed": 3,
        "duration_s": 40,
        "users": [
            {
                "name": "Chai Shop",
                "vpa": "chai@okhdfcbank",
                "bank": "HDFC",
                "balance": "100.00",
                "merchant": True,
            },
            {"name": "Rahul", "vpa": "rahul@okicici", "bank": "ICICI", "balance": "5000.00"},
            {"name": "Priya", "vpa": "priya@oksbi", "bank": "SBI", "balance": "5000.00"},
            {"name": "Amit", "vpa": "amit@okhdfcbank", "bank": "HDFC", "balance": "5000.00"},
        ],
        "rate_limits": {"per_minute": 0, "per_hour": 0},
        "refunds": {"share": 1.0, "after_s": 5},
        "payments": [
            {
                "from": who,
                "to": "chai@okhdfcbank",
                "amount": "20.00",
                "at_ms": 1000 + i * 100,
                "repeat": 10,
                "every_ms": 3000,
            }
            for i, who in enumerate(("rahul@okicici", "priya@oksbi", "amit@okhdfcbank"))
        ],
    }
    scenario.update(changes)
    return scenario


def run(tmp_path: Path, scenario: dict[str, Any]) -> tuple[RunResult, pd.DataFrame]:
    result = run_scenario(parse_scenario(scenario), tmp_path)
    return result, pd.read_parquet(tmp_path / "transactions.parquet")


def test_a_merchants_refunds_are_not_its_own_spending_for_velocity(tmp_path: Path) -> None:
    result, tx = run(tmp_path, shop_and_customers())
    refunds = tx[tx.kind == "REFUND"]
    assert len(refunds) == 30  # 30 refunds in ~30 s: three times the velocity rule's 10/hour
    assert (refunds.state == "SUCCESS").all() and "U16" not in set(tx.response_code)
    assert result.ok
