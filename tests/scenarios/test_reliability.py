"""Issue 9's defects, each checked on a whole run from the run folder's own tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from upisim.actors.errors import ScenarioError
from upisim.reports.audit import audit
from upisim.reports.run import load_run
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


def test_work_due_after_the_load_is_done_before_the_run_ends(tmp_path: Path) -> None:
    # the load is over after 2 s; the shop refunds 60 s after each payment
    scenario = shop_and_customers(duration_s=2, refunds={"share": 1.0, "after_s": 60})
    scenario["payments"] = [{"from": "rahul@okicici", "to": "chai@okhdfcbank", "amount": "20.00"}]
    result, tx = run(tmp_path, scenario)
    assert list(tx.kind) == ["PAY", "REFUND"] and (tx.state == "SUCCESS").all()
    assert result.summary["sim_duration_ms"] >= 60_000 and result.ok


def priya_pays_while_sbi_is_dark() -> dict[str, Any]:
    """SBI is dark when Priya pays, and back too late for the switch to ask again in time."""
    scenario = shop_and_customers(
        duration_s=2,
        drain_limit_s=20,
        refunds={"share": 0.0},
        faults={
            "outages": [{"bank": "SBI", "from_s": 1.0, "to_s": 21.0}],
            "heal_after_load": False,
        },
    )
    scenario["payments"] = [
        {"from": "priya@oksbi", "to": "chai@okhdfcbank", "amount": "20.00", "at_ms": 1100}
    ]
    return scenario


def test_a_run_cut_short_by_its_drain_limit_fails_and_says_what_was_left(tmp_path: Path) -> None:
    scenario = priya_pays_while_sbi_is_dark()
    result, _ = run(tmp_path, scenario)
    s = result.summary
    # the switch still asks SBI; Priya's app still means to check on her payment
    assert not result.ok and s["stuck_payments"] == 1
    assert s["actors_waiting"][0] == "switch" and s["actors_waiting"][1].startswith("users:")
    assert "1 payment(s) still in flight after the drain limit" in s["problems"]
    assert any("timers still pending" in p and "switch" in p for p in s["problems"])


def test_every_payment_has_its_row_even_when_the_drain_limit_leaves_it_open(tmp_path: Path):
    scenario = priya_pays_while_sbi_is_dark()
    result, tx = run(tmp_path, scenario)
    assert not result.ok and result.summary["stuck_payments"] == 1
    (row,) = tx.itertuples()
    assert row.state == "PENDING" and row.t_completed_ms == result.summary["sim_duration_ms"]


def test_an_outage_that_outlasts_the_drain_limit_is_refused_before_anything_runs() -> None:
    scenario = shop_and_customers(
        duration_s=2,
        drain_limit_s=20,
        faults={"outages": [{"bank": "SBI", "from_s": 1, "to_s": 30}], "heal_after_load": False},
    )
    with pytest.raises(ScenarioError, match=r"faults\.outages\[0\]\.to_s: SBI is still dark"):
        parse_scenario(scenario)


def dark_bank(seconds: int) -> dict[str, Any]:
    """Five thousand people paying each other while SBI is dark for ``seconds``."""
    return {
        "name": f"sbi-dark-{seconds}s",
        "seed": 11,
        "duration_s": 30,
        "drain_limit_s": seconds + 900,
        "population": {"size": 2_000, "balance_median": "5000.00"},
        "load": {"rate_per_s": 40},
        "faults": {
            "outages": [{"bank": "SBI", "from_s": 5, "to_s": 5 + seconds}],
            "heal_after_load": False,
        },
    }


@pytest.mark.parametrize("seconds", [180, 1800])
def test_a_long_outage_heals_to_every_payment_known_and_every_paisa_home(
    tmp_path: Path, seconds: int
) -> None:
    result, tx = run(tmp_path, dark_bank(seconds))
    s = result.summary
    assert result.ok, s["problems"]
    assert set(tx.state) <= {"SUCCESS", "FAILED", "DEEMED"}  # nothing left PENDING
    assert s["events_by_kind"]["PENDING"] > 0  # payments the outage left unknown for a while
    assert s["money_in_flight_end_paise"] == 0 and s["accounts_unreconciled"] == 0
    # settlement empty: the files SBI missed while dark were sent again until it had them
    assert s["settlement_files_resent"] > 0 and s["legs_held_end"] == {}
    # told the truth: nobody was told an outcome the books do not show; the unknown ones
    # were told PENDING first, and the outcome after the bank came back
    late = tx[tx.t_completed_ms > (5 + seconds) * 1000]
    assert len(late) >= s["events_by_kind"]["PENDING"]
    assert "RR" not in set(tx.reason_code) and "RB" not in set(tx.reason_code)


def people(**faults: Any) -> dict[str, Any]:
    """A thousand people paying each other for 20 s, with ``faults``."""
    return {
        "name": "faults",
        "seed": 5,
        "duration_s": 20,
        "drain_limit_s": 1200,
        "population": {"size": 1_000, "balance_median": "5000.00"},
        "load": {"rate_per_s": 40},
        "faults": {"heal_after_load": False, **faults},
    }


def audited(tmp_path: Path, scenario: dict[str, Any]) -> tuple[dict[str, Any], pd.DataFrame]:
    result, tx = run(tmp_path, scenario)
    assert result.ok, result.summary["problems"]
    assert audit(tmp_path) == []  # every invariant, from the tables
    return result.summary, tx


def test_replies_lost_while_requests_arrive_still_end_with_every_payment_known(tmp_path):
    # an asymmetric partition: SBI posts what it is asked, and nobody hears its answers
    s, tx = audited(
        tmp_path, people(outages=[{"bank": "SBI", "from_s": 5, "to_s": 125, "lose": "replies"}])
    )
    assert s["events_by_kind"]["PENDING"] > 0 and s["events_by_kind"]["REVERSAL"] > 0
    assert set(tx.state) <= {"SUCCESS", "FAILED", "DEEMED"}


def test_a_fraud_monitor_down_fails_open_and_says_so(tmp_path):
    _, tx = audited(tmp_path, people(fraud_down=[{"from_s": 5, "to_s": 10}]))
    unscored = tx[tx.fraud_flags == "RISK_TIMEOUT"]
    assert len(unscored) > 50 and (unscored.t_initiated_ms < 10_000).all()
    assert set(unscored.state) <= {"SUCCESS", "FAILED"}  # scored or not, paid on their merits


def test_a_slow_bank_past_the_timeouts_is_cleaned_up_by_reversals(tmp_path):
    s, tx = audited(
        tmp_path, people(delays=[{"bank": "HDFC", "from_s": 5, "to_s": 8, "extra_ms": 20_000}])
    )
    assert s["events_by_kind"]["TIMEOUT"] > 0  # answers came after 15 s
    assert "U67" in set(tx.reason_code) or "U68" in set(tx.reason_code)


def test_lost_and_replayed_app_messages_end_with_every_user_told_the_truth(tmp_path):
    scenario = people(app_loss_rate=0.3, duplicate_rate=0.5, replay_max_ms=5_000)
    scenario["faults"]["heal_after_load"] = True
    scenario["notifications"] = {"record": True}
    s, tx = audited(tmp_path, scenario)
    assert s["messages_duplicated"] > 500 and s["events_by_kind"]["STATUS_CHECK"] > 50
    lost = tx[tx.response_code == "U48"]  # requests that never reached the switch
    assert len(lost) > 50 and (lost.state == "FAILED").all()
    assert s["events_by_kind"]["DUPLICATE_REQPAY"] > 50  # replays refused, never run again
    # every payer was told once, and told what the books show, lost answers or not
    notes = load_run(tmp_path).notifications
    final = notes[notes.kind.isin(["DEBIT", "DECLINED"])].set_index("txn_id")
    assert not final.index.duplicated().any()
    told = tx.set_index("txn_id").join(final.kind.rename("notice"), how="left")
    assert told.notice.notna().all()
    paid = told.state.isin(["SUCCESS", "DEEMED"])
    assert (told.notice[paid] == "DEBIT").all() and (told.notice[~paid] == "DECLINED").all()


def test_a_quiet_run_whose_last_payment_ends_on_a_timer_goes_on(tmp_path: Path) -> None:
    # the collect expires while nothing else is open: the switch drops its stale timers from
    # inside a timer and must still settle on time, and the later payments still run
    scenario = {
        "name": "quiet",
        "seed": 3,
        "duration_s": 60,
        "users": [
            {"name": "A", "vpa": "a@okhdfcbank", "bank": "HDFC", "balance": "1000.00"},
            {"name": "M", "vpa": "m@okicici", "bank": "ICICI", "balance": "0", "merchant": True},
            {"name": "B", "vpa": "b@oksbi", "bank": "SBI", "balance": "1000.00"},
        ],
        "collect": {"expiry_s": 2, "approve_share": 0.0, "decline_share": 0.0},
        "payments": [
            {"from": "a@okhdfcbank", "to": "b@oksbi", "amount": "10.00"},
            {
                "from": "b@oksbi",
                "to": "m@okicici",
                "amount": "5.00",
                "at_ms": 100,
                "method": "UPI_COLLECT",
            },
            {
                "from": "a@okhdfcbank",
                "to": "b@oksbi",
                "amount": "1.00",
                "at_ms": 20_000,
                "repeat": 3,
                "every_ms": 10_000,
            },
        ],
    }
    result, tx = run(tmp_path, scenario)
    assert result.ok, result.summary["problems"]
    assert list(tx.state) == ["SUCCESS", "EXPIRED", "SUCCESS", "SUCCESS", "SUCCESS"]
    assert audit(tmp_path) == []


def test_a_refund_delay_past_the_drain_limit_is_refused() -> None:
    with pytest.raises(ScenarioError, match=r"refunds\.after_s: 700 s is not less than"):
        parse_scenario(shop_and_customers(refunds={"share": 0.5, "after_s": 700}))
