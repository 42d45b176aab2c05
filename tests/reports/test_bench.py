"""The synthetic run behind `reports.bench` honours the run-folder contract."""

from __future__ import annotations

import pandas as pd

from reports import load_run
from reports.bench import bench_report
from reports.synthetic import write_synthetic_run


def test_synthetic_run_is_consistent(tmp_path):
    run = load_run(write_synthetic_run(tmp_path / "run", 3_000, seed=1))

    tx, money = run.transactions, run.money
    assert len(tx) == run.summary["payments_total"] == 3_000
    assert (tx["latency_ms"] == tx["t_completed_ms"] - tx["t_initiated_ms"]).all()
    assert tx["t_completed_ms"].is_monotonic_increasing
    totals = (money["customers_paise"] + money["settlement_paise"]).groupby(money["t_ms"]).sum()
    assert (totals == run.summary["money_start_paise"]).all()
    assert set(run.events["kind"]) == {"RATE_LIMIT", "FRAUD_FLAG", "FRAUD_DECLINE"}


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
