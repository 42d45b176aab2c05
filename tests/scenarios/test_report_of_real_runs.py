"""Reports of real simulator runs (not fixtures): the figures agree with the tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.scenarios.conftest import Bundled
from upisim.reports import build_report, compare_runs, fmt
from upisim.scenarios.config import bundled_scenarios, load_scenario
from upisim.scenarios.run import run_scenario


@pytest.fixture(scope="module")
def storm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("storm")
    run_scenario(load_scenario(bundled_scenarios()["rate_limit_storm"]), out)
    build_report(out)
    return out


def test_outcomes_headline_and_rate_limits_match_the_run(storm: Path) -> None:
    tx = pd.read_parquet(storm / "transactions.parquet")
    events = pd.read_parquet(storm / "events.parquet")
    outcomes = pd.read_csv(storm / "report" / "outcomes.csv", keep_default_na=False)
    shown = dict(zip(outcomes.reason_code.astype(str), outcomes.payments, strict=True))
    assert shown == tx.reason_code.value_counts().to_dict()
    top = pd.read_csv(storm / "report" / "rate_limit_top_users.csv")
    hits = events[events.kind == "RATE_LIMIT"].subject.value_counts()
    assert list(top.iloc[:3, 0]) == list(hits.index[:3])
    headline = pd.read_csv(storm / "report" / "headline.csv", keep_default_na=False)
    assert "MISMATCH" not in set(headline.check)
    page = (storm / "report" / "index.html").read_text()
    assert "vikram.storm@okhdfcbank" in page and "Every check passed" in page


def test_compare_two_seeds_of_collect_expiry(bundled: Bundled, tmp_path: Path) -> None:
    _, a = bundled("collect_expiry")
    run_scenario(load_scenario(bundled_scenarios()["collect_expiry"]), tmp_path / "b", seed=12)
    html = compare_runs(a, tmp_path / "b", tmp_path / "cmp")
    text = html.read_text()
    assert "collects_expired" in text and html.exists()


def test_statements_end_at_each_accounts_closing_balance(bundled: Bundled) -> None:
    from upisim.reports import statement

    _, tmp_path = bundled("collect_expiry")
    accounts = pd.read_parquet(tmp_path / "accounts.parquet")
    assert len(accounts) == 1002 and accounts.vpa.is_unique
    movers = accounts[accounts.opening_paise != accounts.closing_paise]
    assert len(movers) > 100
    for row in movers.head(60).itertuples():
        postings = statement(tmp_path, row.vpa)
        assert postings.balance_paise.iloc[0] == row.opening_paise
        assert postings.balance_paise.iloc[-1] == row.closing_paise, row.vpa
        assert (postings.balance_paise >= 0).all()
        assert postings.t_ms.is_monotonic_increasing


def test_statement_of_priya_in_the_quickstart(tmp_path: Path) -> None:
    from upisim.reports import statement

    run_scenario(load_scenario(bundled_scenarios()["quickstart"]), tmp_path)
    postings = statement(tmp_path, "priya@oksbi")
    # her three payments, all sent at t = 0, in the order her bank's workers took them
    assert sorted(postings.debit_paise[1:4]) == [1_200_50, 2_000_00, 2_500_00]
    assert postings.t_ms.is_monotonic_increasing
    assert postings.balance_paise.iloc[-1] == 8_000_00 - 5_700_50 + 51_999_99


def test_failure_handling_of_the_bank_outage_matches_its_events(
    bundled: Bundled, tmp_path: Path
) -> None:
    result, run = bundled("bank_outage")
    html = build_report(run, tmp_path).read_text()
    tx = pd.read_parquet(run / "transactions.parquet")
    events = pd.read_parquet(run / "events.parquet")
    life = pd.read_csv(tmp_path / "lifecycle.csv").set_index("path")["payments"]
    assert life.sum() == len(tx)
    reversed_ids = set(events.txn_id[events.kind == "REVERSAL"])
    failed = tx[(tx.state == "FAILED") & (tx.reason_code != "RET")]
    assert life["timed out, money reversed"] == failed.txn_id.isin(reversed_ids).sum() > 0
    assert life["deemed approved, returned (RET)"] == (tx.reason_code == "RET").sum()
    assert life["deemed approved, credit confirmed (TCC)"] == (tx.reason_code == "TCC").sum()
    assert life["approved"] == (tx.state == "SUCCESS").sum()
    legs = pd.read_csv(tmp_path / "timeouts_by_leg.csv")
    timeouts = (events.kind == "TIMEOUT").sum()
    assert legs.timeouts.sum() == timeouts > 0
    s = result.summary
    assert s["reversals"] == (events.kind == "REVERSAL").sum()
    deemed = s["deemed"] + (tx.reason_code == "RET").sum()
    returned = (tx.reason_code == "RET").sum()
    assert (
        f"{timeouts:,} timeouts; {s['reversals']:,} reversals posted; {deemed:,} payments "
        f"deemed approved, of which {(tx.reason_code == 'TCC').sum():,} confirmed"
    ) in html
    assert f"{returned:,} returned to the payer (RET)" in html
    assert f"{s['messages_dropped']:,} messages lost" in html
    assert (tmp_path / "failures.png").stat().st_size > 10_000


def test_refunds_latency_and_banks_of_collect_expiry_match_its_transactions(
    bundled: Bundled, tmp_path: Path
) -> None:
    """Refunds are counted apart from collects and from the value moved; the latency plots
    are of payments that moved money, declines and refusals apart."""
    result, run = bundled("collect_expiry")
    html = build_report(run, tmp_path).read_text()
    tx = pd.read_parquet(run / "transactions.parquet")
    refunds = tx[tx.kind == "REFUND"]
    done = refunds[refunds.state == "SUCCESS"]
    assert len(done) > 10 and result.summary["refunds"] == len(done)
    shown = pd.read_csv(tmp_path / "refunds.csv").set_index("figure")["value"]
    assert shown["refunds"] == f"{len(refunds):,}" and shown["succeeded"] == f"{len(done):,}"
    back = int(done.amount_paise.sum())
    moved = tx[(tx.kind != "REFUND") & tx.state.isin(["SUCCESS", "DEEMED"])].amount_paise.sum()
    assert shown["paid back"] == fmt.rupees(back)
    assert shown["value the other payments moved"] == fmt.rupees(int(moved))
    collects = pd.read_csv(tmp_path / "collects.csv").set_index("outcome")["collects"]
    assert collects["created"] == (tx.kind == "COLLECT").sum()  # no refund among them
    dashboard = pd.read_csv(tmp_path / "dashboard.csv").set_index("figure")["value"]
    assert dashboard["value moved / refunded"] == f"{fmt.rupees(int(moved))} / {fmt.rupees(back)}"
    assert "<h2>Refunds</h2>" in html and (tmp_path / "refunds.png").stat().st_size > 10_000
    # latency: payments that moved money in the plots, each outcome apart in its table
    stages = pd.read_csv(tmp_path / "latency_stages.csv").set_index("stage")
    moved_rows = tx[tx.state.isin(["SUCCESS", "DEEMED"])]
    assert stages.loc["end to end", "payments"] == len(moved_rows)
    assert stages.loc["end to end", "p50_ms"] == moved_rows.latency_ms.median()
    outcomes = pd.read_csv(tmp_path / "latency_by_outcome.csv").set_index("outcome")
    expired = tx[tx.state == "EXPIRED"]
    assert outcomes.loc["expired", "payments"] == len(expired) > 0
    assert outcomes.loc["expired", "p50_ms"] == expired.latency_ms.median()
    assert outcomes.loc["approved", "payments"] == (tx.state == "SUCCESS").sum()
    # banks: each bank as remitter and as beneficiary; a collect that never reached one
    # (expired before the payer's bank was known) is no bank's
    assert "" not in set(pd.read_csv(tmp_path / "banks.csv", keep_default_na=False).bank)
    sides = pd.read_csv(tmp_path / "banks_by_side.csv").set_index(["bank", "as"])
    for side, column in (("remitter", "payer_bank"), ("beneficiary", "payee_bank")):
        for bank, mine in tx[tx[column] != ""].groupby(column):
            row = sides.loc[(bank, side)]
            assert row.payments == len(mine)
            assert row.success == pytest.approx((mine.state == "SUCCESS").mean())
            assert row["business declines"] == pytest.approx((mine.decline_type == "BD").mean())
    assert not (tmp_path / "queues.png").exists()  # idle core banking: said, not plotted


def test_a_curve_of_too_few_points_is_said_in_words(bundled: Bundled, tmp_path: Path) -> None:
    """The quickstart's ten payments all complete within one second: no curve over time or
    against load is drawn from one point, and the page says why."""
    _, run = bundled("quickstart")
    page = build_report(run, tmp_path).read_text()
    assert not (tmp_path / "latency_over_time.png").exists()
    assert not (tmp_path / "load_curve.png").exists()
    assert "within 1 time bin(s): too few for a curve over time" in page
    assert "need at least 3 periods of load; this run has 1" in page
    assert (tmp_path / "latency_distribution.png").exists()  # a distribution of 9 is drawn
    assert pd.read_parquet(run / "settlement.parquet").cycle.nunique() == 1
    assert not (tmp_path / "settlement.png").exists() and "One cycle: its positions" in page
