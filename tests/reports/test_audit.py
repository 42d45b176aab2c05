"""The auditor finds what a run folder's tables show to be wrong, and nothing in a good run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from upisim.reports.audit import audit


@pytest.fixture
def run(quickstart_run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(quickstart_run, copy)
    return copy


def tamper(run: Path, table: str, change) -> None:  # type: ignore[no-untyped-def]
    path = run / f"{table}.parquet"
    frame = pd.read_parquet(path)
    change(frame).to_parquet(path, index=False)


def test_a_good_run_bears_out_every_invariant(run: Path) -> None:
    assert audit(run) == []


def test_money_made_from_nothing_is_found(run: Path) -> None:
    def richer(f: pd.DataFrame) -> pd.DataFrame:
        f.loc[f.index[-1], "customers_paise"] += 1
        return f

    tamper(run, "money", richer)
    (found,) = audit(run)
    assert found.startswith("conservation: 1 money sample(s)") and "off by up to 1" in found


def test_an_account_that_does_not_match_its_payments_is_found(run: Path) -> None:
    def slip(f: pd.DataFrame) -> pd.DataFrame:
        f.loc[0, "closing_paise"] -= 100
        return f

    tamper(run, "accounts", slip)
    assert any(v.startswith("ledger: 1 account(s)") for v in audit(run))


def test_a_payment_recorded_twice_or_left_pending_is_found(run: Path) -> None:
    def twice(f: pd.DataFrame) -> pd.DataFrame:
        extra = f.iloc[[0]].assign(state="PENDING", reason_code="")
        return pd.concat([f, extra], ignore_index=True)

    tamper(run, "transactions", twice)
    found = audit(run)
    assert "at most once: 1 transaction id(s) appear twice" in found
    assert "stuck: 1 payment(s) still PENDING when the run stopped" in found


def test_money_left_in_settlement_is_found(run: Path) -> None:
    def stranded(f: pd.DataFrame) -> pd.DataFrame:
        last = f.t_ms == f.t_ms.max()
        first = f.index[last][0]
        f.loc[first, "settlement_paise"] += 500
        f.loc[first, "customers_paise"] -= 500  # conserved, but stranded
        return f

    tamper(run, "money", stranded)
    found = audit(run)
    assert any(v.startswith("settlement: 500 paise left in flight") for v in found)
