"""A user's statements: every posting to their savings account, or to their credit card,
in time order, with the running balance (or amount owed).

Built from the run folder alone: ``accounts.parquet`` gives the opening and
closing balances and what is owed on the card at the end, ``transactions.parquet``
the payments. A payment that was debited and later reversed shows both postings.
A ``CREDIT_CARD`` payment is charged to the payer's card, and a refund of one goes
back to the card (docs/run-folder.md): those postings are on the card statement
and not on the savings one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from upisim.reports.run import ACCOUNT_COLUMNS, TRANSACTION_COLUMNS, RunFolderError, read_parquet
from upisim.runfolder import Kind, State

COLUMNS = ["t_ms", "txn_id", "kind", "description", "debit_paise", "credit_paise", "balance_paise"]
# On a card, a debit is a charge (the customer owes more) and a credit pays some back.
CARD_COLUMNS = [*COLUMNS[:-1], "outstanding_paise"]
DEBITED_THEN_REVERSED = ("U31", "U68")  # the credit failed or timed out; the debit came back
CARD = "CREDIT_CARD"
PAID_BY_PAYER = (Kind.PAY, Kind.COLLECT)  # a REFUND's payer is the merchant giving money back
#: The transactions columns a statement reads.
READS = (
    "txn_id",
    "kind",
    "method",
    "payer_vpa",
    "payee_vpa",
    "amount_paise",
    "state",
    "response_code",
    "t_debited_ms",
    "t_credited_ms",
    "t_completed_ms",
)
_ACCOUNT_COLUMNS = ("vpa", "opening_paise", "card_limit_paise")
Posting = tuple[int, str, str, str, int, int]


def statement(run_dir: str | Path, vpa: str) -> pd.DataFrame:
    """All postings to ``vpa``'s savings account; the last balance equals its closing
    balance. Card charges and refunds to the card are on `card_statement` instead."""
    account, tx = _read(Path(run_dir), vpa)
    opening = int(account["opening_paise"])
    rows: list[Posting] = []
    for t in tx.itertuples(index=False):
        on_card = getattr(t, "method", "") == CARD
        if t.payer_vpa == vpa and not (on_card and t.kind in PAID_BY_PAYER):
            rows.extend(_debits(t))
        if t.payee_vpa == vpa and not (on_card and t.kind == Kind.REFUND):
            rows.extend(_credits(t))
    return _postings(rows, opening, "opening balance", COLUMNS)


def card_statement(run_dir: str | Path, vpa: str) -> pd.DataFrame:
    """All postings to ``vpa``'s credit card: charges (debits) and refunds to the card
    (credits), with what is owed after each. It starts at 0 and ends at the account's
    ``card_outstanding_paise``."""
    run_dir = Path(run_dir)
    account, tx = _read(run_dir, vpa)
    if not account["card_limit_paise"]:
        raise RunFolderError(f"{vpa} has no credit card in this run ({run_dir})")
    rows: list[Posting] = []
    for t in tx.itertuples(index=False):
        if getattr(t, "method", "") != CARD:
            continue
        if t.payer_vpa == vpa and t.kind in PAID_BY_PAYER:
            rows.extend(_debits(t))
        if t.payee_vpa == vpa and t.kind == Kind.REFUND:
            rows.extend(_credits(t))
    return _postings(rows, 0, "opening outstanding", CARD_COLUMNS, owed=True)


def _read(run_dir: Path, vpa: str) -> tuple[pd.Series, pd.DataFrame]:
    """The user's account row and every payment they paid or received."""
    accounts_file = run_dir / "accounts.parquet"
    if not accounts_file.exists():
        raise RunFolderError(f"{accounts_file}: missing (runs before statements existed lack it)")
    accounts = read_parquet(
        accounts_file,
        {name: ACCOUNT_COLUMNS[name] for name in _ACCOUNT_COLUMNS},
        required=True,
        filters=[("vpa", "==", vpa)],
    )
    if accounts.empty:
        raise RunFolderError(f"{vpa}: no such user in {run_dir}")
    tx = read_parquet(
        run_dir / "transactions.parquet",
        {name: TRANSACTION_COLUMNS[name] for name in READS},
        required=True,
        filters=[[("payer_vpa", "==", vpa)], [("payee_vpa", "==", vpa)]],
    )
    return accounts.iloc[0], tx


def _debits(t: Any) -> Iterator[Posting]:
    """The payer's side: the debit, and its reversal when the credit failed or timed out."""
    moved = t.state in State.MOVED
    if not moved and t.response_code not in DEBITED_THEN_REVERSED:
        return
    amount = int(t.amount_paise)
    yield (_at(t.t_debited_ms, t), t.txn_id, t.kind, f"to {t.payee_vpa}", amount, 0)
    if not moved:
        reason = f"reversed ({t.response_code})"
        yield (int(t.t_completed_ms), t.txn_id, "REVERSAL", reason, 0, amount)


def _credits(t: Any) -> Iterator[Posting]:
    """The payee's side: the credit, once the money moved."""
    if t.state in State.MOVED:
        amount = int(t.amount_paise)
        yield (_at(t.t_credited_ms, t), t.txn_id, t.kind, f"from {t.payer_vpa}", 0, amount)


def _at(t_ms: Any, t: Any) -> int:
    """When a posting happened: its leg's time, or the payment's end when none was recorded."""
    return int(t.t_completed_ms) if pd.isna(t_ms) else int(t_ms)


def _postings(
    rows: list[Posting], opening: int, label: str, columns: list[str], *, owed: bool = False
) -> pd.DataFrame:
    """Postings in time order after an opening row, with the running total in the last
    column: credits add to a balance, debits to what is `owed` on a card."""
    out = pd.DataFrame(rows, columns=columns[:-1]).astype(
        {"t_ms": "int64", "debit_paise": "int64", "credit_paise": "int64"}
    )
    out = out.sort_values(["t_ms", "txn_id"], kind="stable")
    change = out.credit_paise - out.debit_paise
    if owed:
        change = -change
    out[columns[-1]] = opening + change.cumsum()
    opening_row = pd.DataFrame([(0, "", "OPENING", label, 0, 0, opening)], columns=columns)
    return pd.concat([opening_row, out], ignore_index=True)
