"""NPCI's mapper in whole runs: payees resolved lately are paid without a round trip to
their PSP, and everything else about the run holds, checked from its tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.scenarios.test_reliability import audited


def shoppers(mapper_s: float) -> dict[str, Any]:
    """Three hundred people, a fifth of them shops, paying and refunding for 20 s."""
    return {
        "name": "mapper",
        "seed": 11,
        "duration_s": 20,
        "population": {"size": 300, "balance_median": "5000.00", "merchant_share": 0.2},
        "load": {"rate_per_s": 30, "p2m_share": 0.5},
        "refunds": {"share": 0.3, "after_s": 2},
        "network": {"mapper_s": mapper_s},
    }


def test_a_payee_resolved_lately_is_paid_without_asking_their_psp(tmp_path: Path) -> None:
    plain, plain_tx = audited(tmp_path / "plain", shoppers(0))
    mapped, tx = audited(tmp_path / "mapped", shoppers(600))
    assert plain["mapper_hits"] == 0
    # the same payments were asked for; more than half went to a payee seen in the run
    assert (tx.kind == "PAY").sum() == (plain_tx.kind == "PAY").sum()
    hits = mapped["mapper_hits"]
    assert hits > len(tx) / 2
    # a mapped payee is resolved the moment the switch took the payment in (no capacity
    # model): the table shows every hit, and a lookup takes both ways to a PSP and back
    pushed = tx[tx.kind != "COLLECT"]
    instant = pushed.t_resolved_ms == pushed.t_received_ms
    assert instant.sum() == hits
    asked = plain_tx[plain_tx.kind != "COLLECT"]
    assert ((asked.t_resolved_ms - asked.t_received_ms).dropna() >= 80).all()
    # two messages fewer for each: ReqAuthDetails and RespAuthDetails
    assert mapped["envelopes"] < plain["envelopes"] - hits
    assert mapped["payments_by_code"]["00"] > 0.8 * len(tx)
    assert mapped["refunds"] > 0


def test_the_mapper_forgets_a_payee_after_its_time(tmp_path: Path) -> None:
    short, tx = audited(tmp_path, shoppers(2))
    long, _ = audited(tmp_path / "long", shoppers(600))
    assert 0 < short["mapper_hits"] < long["mapper_hits"]
    # nobody is paid from the mapper 2 s or more after their payee was last resolved
    pushed = tx[(tx.kind != "COLLECT") & tx.t_resolved_ms.notna()].sort_values("t_received_ms")
    looked_up = pushed[pushed.t_resolved_ms > pushed.t_received_ms]
    last_lookup = looked_up.groupby("payee_vpa").t_resolved_ms.max()
    mapped = pushed[pushed.t_resolved_ms == pushed.t_received_ms]
    assert (mapped.t_received_ms - mapped.payee_vpa.map(last_lookup) < 2_000).all()
