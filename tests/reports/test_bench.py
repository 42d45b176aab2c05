"""The synthetic run behind `reports.bench` honours the run-folder contract."""

from __future__ import annotations

import pandas as pd

from upisim.reports import card_statement, load_run, statement
from upisim.reports.bench import bench_report
from upisim.reports.synthetic import write_synthetic_run


def test_synthetic_run_is_consistent(tmp_path):
    run = load_run(write_synthetic_run(tmp_path / "run", 3_000, seed=1))

    tx, money = run.transactions, run.money
    assert len(tx) == run.summary["payments_total"] == 3_000
    assert (tx["latency_ms"] == tx["t_completed_ms"] - tx["t_initiated_ms"]).all()
    assert tx["t_completed_ms"].is_monotonic_increasing
    held = money["customers_paise"] + money["settlement_paise"] - money["card_outstanding_paise"]
    totals = held.groupby(money["t_ms"]).sum()
    assert (totals == run.summary["money_start_paise"]).all()
    owed = money.loc[money["t_ms"] == money["t_ms"].max(), "card_outstanding_paise"].sum()
    assert owed == run.summary["card_outstanding_end_paise"] > 0
    assert set(tx["method"]) == {"UPI_PUSH", "UPI_COLLECT", "DEBIT_CARD", "CREDIT_CARD",
                                 "NET_BANKING"}  # fmt: skip
    assert set(run.events["kind"]) == {"RATE_LIMIT", "FRAUD_FLAG", "FRAUD_DECLINE"}


def test_synthetic_accounts_match_the_money_and_the_statements(tmp_path):
    path = write_synthetic_run(tmp_path / "run", 2_000, seed=1)
    money = load_run(path).money
    accounts = pd.read_parquet(path / "accounts.parquet")

    at_end = money[money["t_ms"] == money["t_ms"].max()]
    assert accounts["closing_paise"].sum() == at_end["customers_paise"].sum()
    assert accounts["card_outstanding_paise"].sum() == at_end["card_outstanding_paise"].sum()
    assert (accounts.loc[accounts["card_limit_paise"] == 0, "card_outstanding_paise"] == 0).all()
    holder = accounts[accounts["card_outstanding_paise"] > 0].iloc[0]
    assert statement(path, holder.vpa)["balance_paise"].iloc[-1] == holder.closing_paise
    owed = card_statement(path, holder.vpa)["outstanding_paise"].iloc[-1]
    assert owed == holder.card_outstanding_paise


def test_synthetic_run_depends_only_on_the_seed(tmp_path):
    a = load_run(write_synthetic_run(tmp_path / "a", 500, seed=3)).transactions
    b = load_run(write_synthetic_run(tmp_path / "b", 500, seed=3)).transactions
    c = load_run(write_synthetic_run(tmp_path / "c", 500, seed=4)).transactions

    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_bench_report_returns_the_documented_keys():
    result = bench_report(2_000)

    assert set(result) == {"report_rows", "report_seconds", "report_peak_rss_mb"}
    assert result["report_rows"] == 2_000
    assert result["report_seconds"] > 0
    assert result["report_peak_rss_mb"] > 0
