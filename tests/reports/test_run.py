"""load_run: one call turns a run folder into DataFrames with the documented columns."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from upisim.reports import Run, RunFolderError, load_run

# Copied from docs/run-folder.md on purpose: the test checks reports against the doc.
DOC_TRANSACTIONS = [
    "txn_id", "kind", "method", "payer_vpa", "payee_vpa", "payer_bank", "payee_bank",
    "amount_paise", "state", "response_code", "reason_code", "decline_type", "fraud_flags",
    "t_initiated_ms", "t_received_ms", "t_resolved_ms", "t_risk_ms", "t_debited_ms",
    "t_credited_ms", "t_completed_ms", "latency_ms", "refund_of",
]  # fmt: skip
DOC_NULLABLE = ["t_received_ms", "t_resolved_ms", "t_risk_ms", "t_debited_ms", "t_credited_ms"]
DOC_EVENTS = ["t_ms", "kind", "actor", "txn_id", "subject", "detail", "value"]
DOC_MONEY = [
    "t_ms", "bank", "customers_paise", "settlement_paise", "card_outstanding_paise",
    "settled_paise",
]  # fmt: skip
DOC_ACCOUNTS = [
    "vpa", "name", "bank", "account", "merchant", "new_user", "opening_paise", "closing_paise",
    "card_limit_paise", "card_outstanding_paise",
]  # fmt: skip
DOC_NOTIFICATIONS = ["t_ms", "vpa", "kind", "txn_id", "amount_paise", "counterparty", "code"]


def test_load_run_gives_every_documented_column(fixture_run):
    run = load_run(fixture_run.path)

    assert isinstance(run, Run)
    assert list(run.transactions.columns) == DOC_TRANSACTIONS
    assert list(run.events.columns) == DOC_EVENTS
    assert list(run.money.columns) == DOC_MONEY
    assert (run.transactions["refund_of"] == "").all()  # the fixture has no refunds
    assert len(run.transactions) == fixture_run.payments
    assert run.summary["payments_total"] == fixture_run.payments
    assert run.scenario["limits"]["per_minute"] == fixture_run.per_minute


def test_integer_columns_stay_integers_and_nulls_stay_null(fixture_run):
    tx = load_run(fixture_run.path).transactions

    for column in ("amount_paise", "t_initiated_ms", "t_completed_ms", "latency_ms"):
        assert tx[column].dtype == "int64", column
    for column in DOC_NULLABLE:
        assert tx[column].dtype == "Int64", column
    # Only SUCCESS and DEEMED payments were debited (243 of them).
    assert tx["t_debited_ms"].notna().sum() == 243
    assert tx["t_debited_ms"].dropna().max() < 2**53 + 1  # not squeezed through float
    assert pd.api.types.is_string_dtype(tx["reason_code"])


def test_missing_optional_files_give_empty_frames_with_documented_columns(make_run):
    run_dir = make_run("sparse").path
    for name in ("events.parquet", "money.parquet", "scenario.json"):
        (run_dir / name).unlink()

    run = load_run(run_dir)

    assert not (run_dir / "accounts.parquet").exists()
    assert not (run_dir / "notifications.parquet").exists()
    assert run.events.empty and list(run.events.columns) == DOC_EVENTS
    assert run.money.empty and list(run.money.columns) == DOC_MONEY
    assert run.accounts.empty and list(run.accounts.columns) == DOC_ACCOUNTS
    assert run.notifications.empty and list(run.notifications.columns) == DOC_NOTIFICATIONS
    assert run.events["t_ms"].dtype == "int64"
    assert run.accounts["merchant"].dtype == "bool"
    assert run.scenario == {}
    assert len(run.transactions) > 0


def test_transaction_columns_reads_only_those(fixture_run):
    run = load_run(fixture_run.path, transaction_columns=["state", "latency_ms"])

    assert list(run.transactions.columns) == ["state", "latency_ms"]


def test_unknown_transaction_column_is_refused(fixture_run):
    with pytest.raises(RunFolderError, match="no_such_column"):
        load_run(fixture_run.path, transaction_columns=["state", "no_such_column"])


def test_missing_summary_is_a_clear_error(make_run):
    run_dir = make_run("nosummary").path
    (run_dir / "summary.json").unlink()

    with pytest.raises(RunFolderError, match=r"summary\.json: missing"):
        load_run(run_dir)


def test_summary_that_is_not_an_object_is_refused(make_run):
    run_dir = make_run("badsummary").path
    (run_dir / "summary.json").write_text(json.dumps([1, 2]), encoding="utf-8")

    with pytest.raises(RunFolderError, match="JSON object"):
        load_run(run_dir)


def test_missing_column_is_named(make_run):
    run_dir = make_run("nocolumn").path
    money = pd.read_parquet(run_dir / "money.parquet").drop(columns=["settlement_paise"])
    money.to_parquet(run_dir / "money.parquet")

    with pytest.raises(RunFolderError, match="settlement_paise"):
        load_run(run_dir)


def test_not_a_run_folder(tmp_path):
    with pytest.raises(RunFolderError, match="no such run folder"):
        load_run(tmp_path / "nowhere")


def test_a_run_from_before_cards_reads_card_outstanding_as_zero(make_run):
    run = load_run(make_run("precards", cards=False).path)

    assert list(run.money.columns) == DOC_MONEY
    assert run.money["card_outstanding_paise"].dtype == "int64"
    assert (run.money["card_outstanding_paise"] == 0).all()
    assert len(run.money) > 0


def test_a_run_without_methods_loads_without_the_column(make_run):
    run_dir = make_run("nomethod").path
    tx = pd.read_parquet(run_dir / "transactions.parquet").drop(columns=["method"])
    tx.to_parquet(run_dir / "transactions.parquet")

    run = load_run(run_dir)

    assert "method" not in run.transactions
    assert list(run.transactions.columns) == [c for c in DOC_TRANSACTIONS if c != "method"]
    assert list(load_run(run_dir, transaction_columns=["method", "state"]).transactions) == [
        "state"
    ]


def test_accounts_and_notifications_load_with_the_documented_columns(make_run):
    run_dir = make_run("users").path
    accounts = {
        "vpa": ["asha@oksbi", "shop@okicici"],
        "name": ["Asha", "Shop"],
        "bank": ["SBI", "ICICI"],
        "account": ["000000000001", "000000000002"],
        "merchant": [False, True],
        "new_user": [True, False],
        "opening_paise": [10_000, 0],
        "closing_paise": [9_000, 1_000],
        "card_limit_paise": [0, 0],
        "card_outstanding_paise": [0, 0],
    }
    # written in another order: the reader gives the documented one
    pq.write_table(pa.table(dict(reversed(accounts.items()))), run_dir / "accounts.parquet")
    notices = {
        "t_ms": [100, 100],
        "vpa": ["asha@oksbi", "shop@okicici"],
        "kind": ["DEBIT", "CREDIT"],
        "txn_id": ["T1", "T1"],
        "amount_paise": [1_000, 1_000],
        "counterparty": ["shop@okicici", "asha@oksbi"],
        "code": ["00", "00"],
    }
    pq.write_table(pa.table(notices), run_dir / "notifications.parquet")

    run = load_run(run_dir)

    assert list(run.accounts.columns) == DOC_ACCOUNTS
    assert run.accounts["merchant"].tolist() == [False, True]
    assert run.accounts["closing_paise"].dtype == "int64"
    assert list(run.notifications.columns) == DOC_NOTIFICATIONS
    assert run.notifications["kind"].tolist() == ["DEBIT", "CREDIT"]
    assert run.notifications["amount_paise"].dtype == "int64"


def test_a_run_from_before_refunds_reads_refund_of_as_empty(make_run):
    run_dir = make_run("prerefunds").path
    tx = pd.read_parquet(run_dir / "transactions.parquet").drop(columns=["refund_of"])
    tx.to_parquet(run_dir / "transactions.parquet")

    run = load_run(run_dir)

    assert list(run.transactions.columns) == DOC_TRANSACTIONS
    assert (run.transactions["refund_of"] == "").all()
    assert pd.api.types.is_string_dtype(run.transactions["refund_of"])
