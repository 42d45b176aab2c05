"""Whole runs: outcomes, conservation, determinism. Checks figures, not just that it finished."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.reports.test_browser import CHROMIUM, chromium, console_messages
from tests.scenarios.conftest import Bundled
from upisim.actors.money import parse_amount
from upisim.reports import build_report
from upisim.scenarios.chaos import TABLES
from upisim.scenarios.config import (
    STAND_INS,
    bundled_scenarios,
    load_scenario,
    parse_scenario,
)
from upisim.scenarios.run import run_scenario


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, pd.DataFrame, Path]:
    out = tmp_path_factory.mktemp("quickstart")
    result = run_scenario(load_scenario(bundled_scenarios()["quickstart"]), out)
    return result.summary, pd.read_parquet(out / "transactions.parquet"), out


def test_quickstart_ten_cross_bank_payments_one_z9_one_flag_money_kept(quickstart) -> None:
    summary, tx, _ = quickstart
    assert summary["ok"] and summary["problems"] == []
    assert summary["payments_total"] == 10 == len(tx)
    assert summary["payments_by_code"] == {"00": 9, "Z9": 1}
    assert summary["code_meanings"] == {
        "00": "approved",
        "U30": "debit failed",
        "Z9": "insufficient funds",
    }
    assert summary["money_start_paise"] == summary["money_end_paise"] == 70_000_00
    assert summary["conservation_max_deviation_paise"] == 0
    assert summary["fraud_flagged"] == 1 and summary["stuck_payments"] == 0
    assert (tx.payer_bank != tx.payee_bank).all()
    # all ten are in flight at once: every one started before any finished
    assert tx.t_initiated_ms.max() < tx.t_completed_ms.min()
    z9 = tx[tx.reason_code == "Z9"].iloc[0]
    assert (z9.payer_vpa, z9.amount_paise, z9.response_code) == (
        "kavya@okhdfcbank",
        9_000_00,
        "U30",
    )
    flagged = tx[tx.fraud_flags != ""].iloc[0]
    assert (flagged.amount_paise, flagged.state, flagged.fraud_flags) == (
        50_000_00,
        "SUCCESS",
        "HIGH_VALUE",
    )


def test_quickstart_run_folder_has_the_stable_names(quickstart) -> None:
    _summary, tx, out = quickstart
    on_disk = json.loads((out / "summary.json").read_text())
    for key in (
        "seed",
        "money_start_paise",
        "money_end_paise",
        "payments_total",
        "payments_by_code",
    ):
        assert key in on_disk
    assert set(on_disk["timing"]) == {
        "build_seconds",
        "wall_seconds",
        "wrap_up_seconds",
        "payments_per_wall_second",
        "envelopes_per_wall_second",
        "executor",
        "pinned_cpu",
        "delivery",
    }
    assert list(on_disk)[-3:] == ["timing", "problems", "ok"]
    scenario = json.loads((out / "scenario.json").read_text())
    assert scenario["seed"] == 42 and not any("pin" in u for u in scenario["users"])
    assert all(len(u["pin_hash"]) == 32 for u in scenario["users"])  # what the banks store
    money = pd.read_parquet(out / "money.parquet")
    totals = money.groupby("t_ms")[["customers_paise", "settlement_paise"]].sum().sum(axis=1)
    assert (totals == 70_000_00).all()
    assert list(tx.columns)[:3] == ["txn_id", "kind", "method"]


def test_final_balances_match_the_transactions(quickstart) -> None:
    _, tx, out = quickstart
    ok = tx[tx.state == "SUCCESS"]
    scenario = json.loads((out / "scenario.json").read_text())
    opening = {u["vpa"]: parse_amount(u["balance"]) for u in scenario["users"]}
    net = dict(opening)
    for row in ok.itertuples():
        net[row.payer_vpa] -= row.amount_paise
        net[row.payee_vpa] += row.amount_paise
    assert all(v >= 0 for v in net.values())
    assert sum(net.values()) == 70_000_00


SMALL = {
    "name": "small",
    "seed": 5,
    "duration_s": 20,
    "cohorts": 3,
    "population": {"size": 300, "balance_median": "800.00"},
    "load": {"rate_per_s": 60, "wrong_pin_rate": 0.03, "amount_median": "300.00"},
    "network": {"jitter_ms": 12},
}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    s = parse_scenario(SMALL)
    a = run_scenario(s, tmp_path / "a")
    b = run_scenario(s, tmp_path / "b")
    c = run_scenario(s, tmp_path / "c", seed=6)
    assert a.ok and b.ok and c.ok
    assert a.summary["payments_total"] > 1000
    tx = "transactions.parquet"
    assert digest(tmp_path / "a" / tx) == digest(tmp_path / "b" / tx)
    assert digest(tmp_path / "a" / tx) != digest(tmp_path / "c" / tx)


def test_population_scenario_exercises_concurrency_and_conserves(bundled: Bundled) -> None:
    result, out = bundled("population")
    s = result.summary
    assert result.ok, s["problems"]
    assert s["users"] == 5000 and s["payments_total"] > 20_000
    assert s["money_start_paise"] == s["money_end_paise"]
    assert s["conservation_checks"] > 10_000 and s["conservation_max_deviation_paise"] == 0
    # the population has each failure the scenario provokes
    for code in ("00", "Z9", "ZM", "U16", "FL", "FP"):
        assert s["payments_by_code"].get(code, 0) > 0, code
    assert s["payments_by_code"]["00"] > 0.7 * s["payments_total"]
    tx = pq.read_table(out / "transactions.parquet").to_pandas()
    assert len(tx) == s["payments_total"] and tx.txn_id.is_unique
    assert set(tx.state) <= {"SUCCESS", "FAILED"}
    # payments overlap in time: at the median moment, many are in flight
    mid = int(tx.t_initiated_ms.median())
    in_flight = ((tx.t_initiated_ms <= mid) & (tx.t_completed_ms > mid)).sum()
    assert in_flight > 20
    # AXIS's stricter limit shows up only at AXIS
    z8 = tx[tx.reason_code == "Z8"]
    assert (z8.payer_bank == "AXIS").all()
    # settled every 30 s, and AXIS's tight net debit cap binds at AXIS alone
    assert s["settlement_cycles"] == 7  # six on the clock, the last once the load is over
    u03 = tx[tx.reason_code == "U03"]
    assert len(u03) > 10 and (u03.payer_bank == "AXIS").all()
    # latency: a payment takes at least the sum of its hops
    assert (tx[tx.state == "SUCCESS"].latency_ms >= 2 * (25 + 35 + 35 + 10)).all()


def test_rate_limit_storm_refuses_the_hammering_and_spares_everyone_else(bundled: Bundled) -> None:
    result, out = bundled("rate_limit_storm")
    assert result.ok, result.summary["problems"]
    tx = pd.read_parquet(out / "transactions.parquet")
    events = pd.read_parquet(out / "events.parquet")
    stormers = {"vikram.storm@okhdfcbank", "sneha.storm@oksbi", "farhan.storm@okicici"}
    scripted = {
        ("vikram.storm@okhdfcbank", "sneha.storm@oksbi", 10_00),
        ("sneha.storm@oksbi", "farhan.storm@okicici", 20_00),
        ("farhan.storm@okicici", "vikram.storm@okhdfcbank", 15_00),
    }
    keys = zip(tx.payer_vpa, tx.payee_vpa, tx.amount_paise, strict=True)
    assert sum(k in scripted for k in keys) == 90 + 60 + 36  # every try is a row
    storm = tx[tx.payer_vpa.isin(stormers)]
    # never more than 5 a minute leave any stormer's app
    sent = storm[storm.response_code != "U86"].sort_values("t_initiated_ms")
    for _, mine in sent.groupby("payer_vpa"):
        t = mine.t_initiated_ms.to_numpy()
        assert ((t[5:] - t[:-5]) >= 60_000).all()
    # each refusal is one RATE_LIMIT event naming the user and the window
    hits = events[events.kind == "RATE_LIMIT"]
    assert len(hits) == (tx.response_code == "U86").sum()
    assert (storm.response_code == "U86").sum() > 100
    assert stormers <= set(hits.subject) and set(hits.detail) == {"1m"}
    assert (
        list(hits.subject.value_counts().index[:3]) != []
        and set(hits.subject.value_counts().index[:3]) == stormers
    )
    # what gets through meets the fraud monitor's velocity rule
    assert (storm.reason_code == "U16").sum() > 0
    # ordinary users are hardly ever throttled (a rare burst of 6 in a minute is)
    ordinary = tx[~tx.payer_vpa.isin(stormers)]
    assert (ordinary.response_code == "U86").mean() < 0.01


def test_collect_expiry_scenario_approved_declined_expired_and_never_late(bundled: Bundled) -> None:
    result, out = bundled("collect_expiry")
    s = result.summary
    assert result.ok, s["problems"]
    tx = pd.read_parquet(out / "transactions.parquet")
    collects = tx[tx.kind == "COLLECT"]
    assert s["collects_created"] == len(collects) > 500
    assert s["collects_approved"] == (collects.state == "SUCCESS").sum() > 0
    assert s["collects_declined"] == (collects.reason_code == "ZA").sum() > 0
    assert s["collects_expired"] == (collects.state == "EXPIRED").sum() > 0
    assert (collects.method == "UPI_COLLECT").all()
    assert s["payments_by_code"]["U69"] == s["collects_expired"]
    # expiry is never early, and nothing approved after the window was debited
    expired = collects[collects.state == "EXPIRED"]
    assert (expired.t_completed_ms - expired.t_received_ms == 20_000).all()
    assert expired.t_debited_ms.isna().all()
    debited = collects[collects.t_debited_ms.notna()]
    assert (debited.t_resolved_ms - debited.t_received_ms < 20_000).all()
    assert s["late_messages"] > 0  # some payers did answer too late
    # merchants refund some push payments: each refund gives one successful payment back
    refunds = tx[tx.kind == "REFUND"]
    assert s["refunds"] == (refunds.state == "SUCCESS").sum() > 0
    assert refunds.refund_of.is_unique
    assert not refunds.reason_code.isin(["U48", "ZD"]).any()  # every one the switch checked out
    originals = tx.set_index("txn_id").loc[refunds.refund_of]
    assert (originals.state == "SUCCESS").all()
    assert list(originals.amount_paise) == list(refunds.amount_paise)
    assert list(originals.payer_vpa) == list(refunds.payee_vpa)
    assert list(originals.payee_vpa) == list(refunds.payer_vpa)
    assert s["accounts_unreconciled"] == 0
    # the merchant named in the file collects, and push payments carry on alongside
    assert (collects.payee_vpa == "chaipoint@okicici").any()
    assert (tx.kind == "PAY").sum() > 500
    # every user was told: the payer and the merchant each hear of an expiry
    notes = pd.read_parquet(out / "notifications.parquet")
    assert notes.kind.value_counts().to_dict() == {k: v for k, v in s["notifications"].items() if v}
    told = notes[notes.kind == "EXPIRED"].groupby("txn_id").vpa.apply(set)
    expired_ids = collects[collects.state == "EXPIRED"].set_index("txn_id")
    assert len(told) == len(expired_ids)
    for txn_id, row in expired_ids.iterrows():
        assert told[txn_id] == {row.payer_vpa, row.payee_vpa}
    asked = notes[notes.kind == "COLLECT_REQUEST"]
    assert asked.counterparty.isin(collects.payee_vpa).all()


def test_bank_outage_and_loss_lose_and_make_no_money(bundled: Bundled) -> None:
    result, out = bundled("bank_outage")
    summary = result.summary
    assert result.ok, summary["problems"]
    assert summary["messages_dropped"] > 500
    assert summary["stuck_payments"] == 0 and summary["accounts_unreconciled"] == 0
    assert summary["money_in_flight_end_paise"] == 0
    codes = summary["payments_by_code"]
    assert codes["U67"] > 0 and codes["U68"] > 0  # timeouts, each reversed
    assert summary["reversals"] > 0
    tx = pd.read_parquet(out / "transactions.parquet")
    # during the outage nothing to or from SBI succeeds
    sbi = tx[
        ((tx.payer_bank == "SBI") | (tx.payee_bank == "SBI")) & tx.t_risk_ms.between(30_000, 45_000)
    ]
    assert len(sbi) > 100 and (sbi.state != "SUCCESS").all()
    # faults replay like everything else: see the every-bundled-scenario test


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_heavy_message_loss_never_breaks_the_books(tmp_path: Path, seed: int) -> None:
    chaos = {
        "name": "chaos",
        "seed": seed,
        "duration_s": 30,
        "population": {"size": 200, "balance_median": "500.00"},
        "load": {"rate_per_s": 40, "amount_median": "200.00"},
        "faults": {"loss_rate": 0.15, "outages": [{"bank": "HDFC", "from_s": 5, "to_s": 12}]},
        "rate_limits": {"per_minute": 0, "per_hour": 0},
    }
    result = run_scenario(parse_scenario(chaos), tmp_path)
    s = result.summary
    assert result.ok, s["problems"]
    assert s["conservation_max_deviation_paise"] == 0 and s["accounts_unreconciled"] == 0
    assert s["messages_dropped"] > 100


def test_payment_methods_fund_from_the_right_source_and_keep_the_books(bundled: Bundled) -> None:
    result, out = bundled("payment_methods")
    s = result.summary
    assert result.ok, s["problems"]
    tx = pd.read_parquet(out / "transactions.parquet")
    accounts = pd.read_parquet(out / "accounts.parquet").set_index("vpa")
    money = pd.read_parquet(out / "money.parquet")
    by_method = tx.method.value_counts()
    assert set(by_method.index) == {
        "UPI_PUSH",
        "UPI_COLLECT",
        "DEBIT_CARD",
        "CREDIT_CARD",
        "NET_BANKING",
    }
    assert s["payments_by_method"] == by_method.to_dict()
    assert min(by_method) > 100
    # cards pay merchants only, and only card holders pay by credit card
    pays = tx[tx.kind == "PAY"]
    cards = pays[pays.method.isin(["DEBIT_CARD", "CREDIT_CARD"]) & (pays.reason_code != "B3")]
    assert accounts.loc[cards.payee_vpa, "merchant"].all()
    credit = pays[pays.method == "CREDIT_CARD"]
    assert (accounts.loc[credit.payer_vpa, "card_limit_paise"] > 0).all()
    # what the cards owe is what was charged to them, less what was refunded to them
    moved = tx[tx.state.isin(["SUCCESS", "DEEMED"]) & (tx.method == "CREDIT_CARD")]
    charged = moved[moved.kind == "PAY"].amount_paise.sum()
    refunded = moved[moved.kind == "REFUND"].amount_paise.sum()
    assert refunded > 0
    assert s["card_outstanding_end_paise"] == accounts.card_outstanding_paise.sum()
    assert s["card_outstanding_end_paise"] == charged - refunded > 0
    assert (accounts.card_outstanding_paise <= accounts.card_limit_paise).all()
    # total money counts card debt against deposits, and never moves
    totals = (
        (money.customers_paise + money.settlement_paise - money.card_outstanding_paise)
        .groupby(money.t_ms)
        .sum()
    )
    assert (totals == s["money_start_paise"]).all() and s["accounts_unreconciled"] == 0
    # net banking's login hop shows in its latency
    ok = pays[pays.state == "SUCCESS"].groupby("method").latency_ms.median()
    assert ok["NET_BANKING"] - ok["UPI_PUSH"] == pytest.approx(3_000, abs=150)  # 2.5 + 0..1 s
    nb = pays[(pays.method == "NET_BANKING") & (pays.state == "SUCCESS")].latency_ms
    assert nb.max() - nb.min() > 800  # the hop varies payment by payment
    # the scripted edges
    ananya = tx[tx.payer_vpa == "ananya@okhdfcbank"].sort_values("t_initiated_ms")
    assert list(ananya.reason_code[:3]) == ["B3", "00", "Z9"]
    vikram = tx[
        (tx.payer_vpa == "vikram@oksbi")
        & (tx.payee_vpa == "ananya@okhdfcbank")
        & (tx.kind == "COLLECT")
    ]
    assert list(vikram.reason_code) == ["Z8"]
    # people's collect requests: over Rs 2,000 refused, others go through
    p2p = tx[(tx.kind == "COLLECT") & ~accounts.loc[tx.payee_vpa, "merchant"].to_numpy()]
    assert (p2p[p2p.amount_paise > 2_000_00].reason_code == "Z8").all()
    assert (p2p[p2p.amount_paise <= 2_000_00].state == "SUCCESS").any()
    # collect payments are refunded too
    refunds = tx[tx.kind == "REFUND"]
    kinds = tx.set_index("txn_id").loc[refunds.refund_of, "kind"]
    assert set(kinds) == {"PAY", "COLLECT"}
    # every user heard of every debit and credit
    succeeded = int(tx.state.isin(["SUCCESS", "DEEMED"]).sum())
    assert s["notifications"]["DEBIT"] == s["notifications"]["CREDIT"] == succeeded


def first_long_table(page: str, rows: int = 15) -> int:
    """Where the first table of more than ``rows`` rows starts (the page's end if none)."""
    at = 0
    while (start := page.find("<table", at)) >= 0:
        end = page.index("</table>", start)
        if page.count("<tr", start, end) - 1 > rows:  # less its header row
            return start
        at = end
    return len(page)


@pytest.mark.parametrize("name", sorted(bundled_scenarios()))
def test_every_bundled_scenario_keeps_the_books_and_replays_byte_for_byte(
    bundled: Bundled, tmp_path: Path, name: str
) -> None:
    a, out = bundled(name)
    assert a.ok, a.summary["problems"]
    s = a.summary
    assert s["conservation_max_deviation_paise"] == 0 and s["accounts_unreconciled"] == 0
    assert s["stuck_payments"] == 0 and s["money_end_paise"] == s["money_start_paise"]
    # Again from the run folder's own scenario.toml, without threads and on the reference
    # path (every envelope handled on its own): the same bytes
    again = load_scenario(out / "scenario.toml")
    b = run_scenario(again, tmp_path / "b", direct=True, reference=True)
    for table in (f"{t}.parquet" for t in TABLES):
        assert digest(out / table) == digest(tmp_path / "b" / table), table
    for table in ("trace.parquet", "notifications.parquet", "fraud_truth.parquet"):
        assert (out / table).exists() == (tmp_path / "b" / table).exists(), table
        if (out / table).exists():
            assert digest(out / table) == digest(tmp_path / "b" / table), table
    # and the same results: only how long it took and how it was run (``timing``) differ
    results = [{k: v for k, v in r.summary.items() if k != "timing"} for r in (a, b)]
    assert results[0] == results[1]
    assert (a.summary["timing"]["executor"], b.summary["timing"]["executor"]) == ("pykka", "direct")
    assert (a.summary["timing"]["delivery"], b.summary["timing"]["delivery"]) == (
        "grouped",
        "reference",
    )
    assert (out / "scenario.json").read_text() == (tmp_path / "b" / "scenario.json").read_text()
    # ... which holds no PIN in clear: what the banks store, and stand-ins for wrong PINs
    written = tomllib.loads((out / "scenario.toml").read_text())
    assert all("pin" not in u and len(u["pin_hash"]) == 32 for u in written.get("users", []))
    for pay in written.get("payments", []):
        assert pay.get("pin") in (None, *STAND_INS)
    assert json.loads((out / "scenario.json").read_text()) == written
    # Its report tells the story first: a picture before any long table, the rest at the end
    page = build_report(out, tmp_path / "report").read_text()
    assert page.index("<img") < first_long_table(page), "a table of 15+ rows comes first"
    appendix = page[page.index('<section id="appendix">') :]
    assert "payments_by_state" in appendix and "conservation_max_deviation_paise" in appendix
    if CHROMIUM.exists():  # and a browser renders it, every picture, without a console error
        shown = chromium(tmp_path / "report" / "index.html", tmp_path / "profile", "--dump-dom")
        assert shown.returncode == 0, shown.stderr[-2000:]
        assert console_messages(shown.stderr) == [], name
        assert shown.stdout.count("data:image/png;base64,") == page.count("data:image/png;base64,")


def test_the_fraud_lab_plays_every_typology_and_scores_its_rules(bundled: Bundled) -> None:
    result, _ = bundled("fraud_lab")
    assert result.ok, result.summary["problems"]
    typologies = set(result.summary["fraud_scores_by_typology"])
    assert typologies == {
        "collect_scam", "authorised_push", "account_takeover", "qr_merchant", "card_testing",
        "mule_network",
    }  # fmt: skip
    rules = result.summary["fraud_scores_by_rule"]
    assert {"NEW_PAYEE", "FAN_IN", "FORWARDING"} <= set(rules)
    assert 0.005 < result.summary["fraud_payments"] / result.summary["payments_total"] < 0.05


@pytest.mark.parametrize("seed", [37, 39])
def test_a_reversal_overtaken_by_a_status_check_cannot_undo_a_confirmed_credit(
    tmp_path: Path, seed: int
) -> None:
    """Replies overtake each other (3 s jitter, 300 ms reversal timeout): a credit reversal
    sent before a status check may arrive after it. Once the check said the credit stands
    (TCC), it stands. Seed 37 lost money this way before the fix; with the population drawn
    a trait at a time, 21 of seeds 20-59 reach the race (37 and 39 among them)."""
    chaos = {
        "name": "overtaken",
        "seed": seed,
        "duration_s": 10,
        "population": {"size": 100, "balance_median": "50000.00", "merchant_share": 0.5},
        "load": {"rate_per_s": 80, "amount_max": "500.00"},
        "network": {"jitter_ms": 3000, "switch_bank_ms": 5},
        "faults": {"loss_rate": 0.3, "outages": [{"bank": "ICICI", "from_s": 2, "to_s": 9}]},
        "timeouts": {"pay_ms": 2000, "reversal_ms": 300, "auth_ms": 2000, "risk_ms": 2000},
        "refunds": {"share": 0.3, "after_s": 2},
        "cohorts": 3,
    }
    result = run_scenario(parse_scenario(chaos), tmp_path, direct=True)
    s = result.summary
    assert result.ok, s["problems"]
    assert s["payments_by_code"].get("TCC", 0) > 0  # the race was there to lose
