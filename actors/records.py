"""Rows actors record for the run's tables (columns: docs/run-folder.md)."""

from __future__ import annotations

from typing import Any

from upisim.actors import codes

#: Column order of a ``transactions`` row.
TRANSACTION_COLUMNS = (
    "txn_id",
    "kind",
    "method",
    "payer_vpa",
    "payee_vpa",
    "payer_bank",
    "payee_bank",
    "amount_paise",
    "state",
    "response_code",
    "reason_code",
    "decline_type",
    "fraud_flags",
    "t_initiated_ms",
    "t_received_ms",
    "t_resolved_ms",
    "t_risk_ms",
    "t_debited_ms",
    "t_credited_ms",
    "t_completed_ms",
    "latency_ms",
    "refund_of",
)


def refused_at_psp(
    txn_id: str,
    payer: str,
    payee: str,
    payer_bank: str,
    amount: int,
    code: str,
    now: int,
    method: str,
) -> tuple[Any, ...]:
    """A payment the payer's app refused before it reached the switch."""
    return (
        txn_id,
        "PAY",
        method,
        payer,
        payee,
        payer_bank,
        "",
        amount,
        "FAILED",
        code,
        code,
        codes.decline_type(code),
        "",
        now,
        None,
        None,
        None,
        None,
        None,
        now,
        0,
        "",
    )
