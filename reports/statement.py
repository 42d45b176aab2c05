"""A user's statement: every posting to their account, in time order, with the running balance.

Built from the run folder alone: ``accounts.parquet`` gives the opening and
closing balances, ``transactions.parquet`` the payments. A payment that was
debited and later reversed shows both postings.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reports.run import RunFolderError

COLUMNS = ["t_ms", "txn_id", "kind", "description", "debit_paise", "credit_paise", "balance_paise"]
MOVED = ("SUCCESS", "DEEMED")
DEBITED_THEN_REVERSED = ("U31", "U68")  # the credit failed or timed out; the debit came back


def statement(run_dir: str | Path, vpa: str) -> pd.DataFrame:
    """All postings to ``vpa``'s account; the last balance equals its closing balance."""
    run_dir = Path(run_dir)
    accounts_file = run_dir / "accounts.parquet"
    if not accounts_file.exists():
        raise RunFolderError(f"{accounts_file}: missing (runs before statements existed lack it)")
    account = pd.read_parquet(accounts_file, filters=[("vpa", "==", vpa)])
    if account.empty:
        raise RunFolderError(f"{vpa}: no such user in {run_dir}")
    opening = int(account.opening_paise.iloc[0])
    tx = pd.read_parquet(
        run_dir / "transactions.parquet",
        columns=[
            "txn_id",
            "kind",
            "payer_vpa",
            "payee_vpa",
            "amount_paise",
            "state",
            "response_code",
            "t_debited_ms",
            "t_credited_ms",
            "t_completed_ms",
        ],
        filters=[[("payer_vpa", "==", vpa)], [("payee_vpa", "==", vpa)]],
    )
    rows: list[tuple[int, str, str, str, int, int]] = []
    for t in tx.itertuples(index=False):
        moved = t.state in MOVED
        if t.payer_vpa == vpa and (moved or t.response_code in DEBITED_THEN_REVERSED):
            rows.append(
                (int(t.t_debited_ms), t.txn_id, t.kind, f"to {t.payee_vpa}", int(t.amount_paise), 0)
            )
            if not moved:
                rows.append(
                    (
                        int(t.t_completed_ms),
                        t.txn_id,
                        "REVERSAL",
                        f"reversed ({t.response_code})",
                        0,
                        int(t.amount_paise),
                    )
                )
        if t.payee_vpa == vpa and moved:
            at = t.t_credited_ms if not pd.isna(t.t_credited_ms) else t.t_completed_ms
            rows.append((int(at), t.txn_id, t.kind, f"from {t.payer_vpa}", 0, int(t.amount_paise)))
    out = pd.DataFrame(rows, columns=COLUMNS[:-1]).sort_values(["t_ms", "txn_id"], kind="stable")
    out["balance_paise"] = opening + (out.credit_paise - out.debit_paise).cumsum()
    opening_row = pd.DataFrame(
        [(0, "", "OPENING", "opening balance", 0, 0, opening)], columns=COLUMNS
    )
    return pd.concat([opening_row, out], ignore_index=True)
