"""Fraud in whole runs: every typology present and labelled, labels that join the
transactions, the books kept with fraud money moving, and no label that leaks through
anything but behaviour."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.scenarios.test_reliability import audited
from upisim.reports.export import export
from upisim.reports.report import build_report
from upisim.reports.run import load_run

TYPOLOGIES = {"collect_scam", "authorised_push", "account_takeover", "qr_merchant", "card_testing"}


def lab(**typologies: Any) -> dict[str, Any]:
    """Five thousand people for ten minutes, with a thousand times reality's fraud."""
    return {
        "name": "fraud",
        "seed": 11,
        "duration_s": 600,
        "drain_limit_s": 1200,
        "population": {
            "size": 5_000,
            "balance_median": "8000.00",
            "merchant_share": 0.1,
            "card_share": 0.2,
        },
        "load": {"rate_per_s": 30, "p2m_share": 0.3},
        "fraud_typologies": {"preset": "research", **typologies},
    }


@pytest.fixture(scope="module")
def fraud_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("fraud")
    summary, _ = audited(out, lab())  # conserved, reconciled, nothing stuck, from the tables
    return summary, out


def test_every_typology_is_played_and_labelled_and_joins_the_transactions(fraud_run) -> None:
    _, out = fraud_run
    run = load_run(out)
    truth, tx = run.fraud_truth, run.transactions
    assert set(truth.typology) == TYPOLOGIES | {"mule_network"}
    assert truth.txn_id.is_unique and truth.txn_id.isin(tx.txn_id).all()  # no orphans
    joined = truth.merge(tx, on="txn_id")
    # each typology moved money, and laundering took every pattern to cash-out accounts
    moved = joined[joined.state == "SUCCESS"].groupby("typology").amount_paise.sum()
    assert set(moved.index) == TYPOLOGIES | {"mule_network"}
    laundering = truth[truth.typology == "mule_network"]
    assert set(laundering.pattern) == {"fan_out", "chain", "cycle", "scatter_gather"}
    assert set(laundering.stage) == {"layering", "cash_out"}
    # a collect scam's payer is its victim, asked by a fraudster posing as a merchant
    scams = joined[joined.typology == "collect_scam"]
    assert (scams.kind == "COLLECT").all() and (scams.payer_role == "victim").all()
    # an account takeover tries wrong PINs before the phished one works
    assert (joined[joined.typology == "account_takeover"].reason_code == "ZM").any()
    assert (joined[joined.typology == "card_testing"].method == "CREDIT_CARD").all()


def static_features(out: Path) -> tuple[np.ndarray, np.ndarray]:
    """Per payment, what is not behaviour: each side's VPA and name characters, id, bank
    and opening balance, and the id of the app that sent it; and whether it is fraud."""
    run = load_run(out)
    tx, accounts = run.transactions, run.accounts.set_index("vpa")
    columns = []
    for side in ("payer", "payee"):
        vpa = tx[f"{side}_vpa"]
        known = accounts.reindex(vpa)
        columns += [
            vpa.str.len(),  # the VPA's characters
            vpa.str.count(r"\d"),
            vpa.str.extract(r"(\d+)@", expand=False).astype(float).fillna(-1),  # its id
            known.name.str.len().fillna(0).to_numpy(),  # the name's
            np.log1p(known.opening_paise.fillna(0).to_numpy()),  # the opening balance
            # the account's bank (the row's bank columns say how far the payment got)
            *(known.bank.to_numpy() == bank for bank in ("HDFC", "SBI", "ICICI")),
        ]
    columns.append(tx.txn_id.str.extract(r"UPS(\d+)T", expand=False).astype(float))
    fraud = tx.txn_id.isin(run.fraud_truth.txn_id).to_numpy()
    return np.column_stack([np.asarray(c, dtype=float) for c in columns]), fraud


def test_a_label_cannot_be_told_from_anything_but_behaviour(fraud_run, tmp_path: Path) -> None:
    # PaySim's frauds are found from name prefixes and balances (its issue #13). Here a
    # logistic regression fitted on what is not behaviour in one run, and scored on a run
    # of another seed (other people cast), does no better than a coin. (Within one run a
    # model could learn the few hundred people cast, not what makes them cast.)
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    _, out = fraud_run
    other = lab()
    other["seed"] = 12
    audited(tmp_path, other)
    train, train_fraud = static_features(out)
    test, test_fraud = static_features(tmp_path)
    mean, spread = train.mean(axis=0), train.std(axis=0) + 1e-9
    model = LogisticRegression(max_iter=1_000, class_weight="balanced")
    model.fit((train - mean) / spread, train_fraud)
    scores = model.predict_proba((test - mean) / spread)[:, 1]
    assert train_fraud.sum() > 1_000 and test_fraud.sum() > 1_000
    assert roc_auc_score(test_fraud, scores) == pytest.approx(0.5, abs=0.05)


def test_the_reports_precision_and_recall_are_those_of_the_truth_and_the_flags(
    fraud_run,
) -> None:
    summary, out = fraud_run
    build_report(out)
    run = load_run(out)
    tx, truth = run.transactions, run.fraud_truth
    fraud = set(truth.txn_id)
    report = pd.read_csv(out / "report" / "fraud_scores_by_rule.csv").set_index("rule")
    fired: dict[str, set[str]] = {}
    for txn_id, flags in zip(tx.txn_id, tx.fraud_flags, strict=True):
        for rule in filter(None, flags.split(",")):
            fired.setdefault(rule, set()).add(txn_id)
    fired["any"] = set().union(*fired.values())
    assert set(report.index) == set(fired) and len(fired) > 1
    for rule, alerts in fired.items():
        hits = len(alerts & fraud)
        assert report.loc[rule, "alerts"] == len(alerts)
        assert report.loc[rule, "precision"] == pytest.approx(hits / len(alerts))
        assert report.loc[rule, "recall"] == pytest.approx(hits / len(fraud))
        assert summary["fraud_scores_by_rule"][rule]["true_positives"] == hits
    by_typology = pd.read_csv(out / "report" / "fraud_scores_by_typology.csv")
    assert by_typology.payments.sum() == len(fraud) == summary["fraud_payments"]
    page = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert f"{len(fired['any'] & fraud):,} of {len(fraud):,} fraudulent payments" in page


def test_the_paysim_export_has_its_columns_and_dtypes_and_balances_that_chain(
    fraud_run, tmp_path: Path
) -> None:
    _, out = fraud_run
    (path,) = export(out, "paysim", tmp_path / "paysim.csv")
    data = pd.read_csv(path)
    assert list(data.columns) == [
        "step", "type", "amount", "nameOrig", "oldbalanceOrg", "newbalanceOrig", "nameDest",
        "oldbalanceDest", "newbalanceDest", "isFraud", "isFlaggedFraud",
    ]  # fmt: skip
    for column in ("step", "isFraud", "isFlaggedFraud"):
        assert data[column].dtype == "int64", column
    for column in ("amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest"):
        assert data[column].dtype == "float64", column
    run = load_run(out)
    assert data.isFraud.sum() == len(run.fraud_truth) and set(data.type) == {"PAYMENT", "TRANSFER"}
    # each account's balance chains from row to row and ends at its closing balance
    cols = ["name", "old", "new"]
    orig = data[["nameOrig", "oldbalanceOrg", "newbalanceOrig"]].set_axis(cols, axis=1)
    dest = data[["nameDest", "oldbalanceDest", "newbalanceDest"]].set_axis(cols, axis=1)
    sides = pd.concat(
        [orig.assign(order=data.index * 2), dest.assign(order=data.index * 2 + 1)]
    ).sort_values("order")
    following = sides.groupby("name").old.shift(-1)
    gaps = sides[following.notna() & (following != sides.new)]
    assert gaps.empty, gaps.head()
    closing = run.accounts.set_index("account").closing_paise
    last = sides.groupby("name").new.last()
    last.index = last.index.str[1:]  # C or M, then the account number
    assert (last.round(2) == (closing.reindex(last.index) / 100).round(2)).all()


def test_the_amlworld_export_lists_every_laundering_row_in_a_case(fraud_run, tmp_path) -> None:
    _, out = fraud_run
    path, patterns = export(out, "amlworld", tmp_path / "aml.csv")
    data = pd.read_csv(path)
    assert list(data.columns) == [
        "Timestamp", "From Bank", "Account", "To Bank", "Account.1", "Amount Received",
        "Receiving Currency", "Amount Paid", "Payment Currency", "Payment Format",
        "Is Laundering",
    ]  # fmt: skip
    listed = [
        line for line in patterns.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith(("BEGIN", "END"))
    ]  # fmt: skip
    laundering = data[data["Is Laundering"] == 1]
    assert len(listed) == len(laundering) > 100
    kinds = {
        line.split(" - ")[1].split(":")[0]
        for line in patterns.read_text().splitlines()
        if line.startswith("BEGIN")
    }
    assert {"FAN-OUT", "CYCLE", "SCATTER-GATHER", "STACK", "COLLECT-SCAM"} <= kinds


def test_an_act_due_before_anyone_pays_goes_at_its_time(tmp_path: Path) -> None:
    # chaos seed 70022: timers set as a cohort was built were not known to the delivery
    # loop, so a victim's first act went when the cohort next heard anything, late, and
    # what it sent was due in a window already delivered
    scenario = lab(authorised_push={"cases": 3}, account_takeover={"cases": 1})
    scenario["fraud_typologies"]["preset"] = "real"
    scenario["load"] = {"rate_per_s": 0}  # nobody else pays: nothing wakes the cohorts
    scenario["population"]["size"] = 400
    scenario["duration_s"] = 60
    _, tx = audited(tmp_path, scenario)
    truth = load_run(tmp_path).fraud_truth
    theft = tx[tx.txn_id.isin(truth.txn_id[truth.stage == "theft"])]
    assert len(theft) >= 4 and (theft.t_initiated_ms < 60_000).all()


def test_victims_report_and_the_accounts_they_name_are_frozen_the_banks_decline_on_risk(
    tmp_path: Path,
) -> None:
    """Every victim who notices reports within minutes; the risk engine leaves its declines
    to the banks (K1 after a wrong-PIN streak, ZI into a fan-in); the books still balance."""
    rules = {"pin_burst_action": "remitter", "fan_in_action": "beneficiary", "fan_in_payers": 4,
             "collect_strangers_action": "flag", "collect_strangers": 3}  # fmt: skip
    scenario = lab() | {"fraud": rules}
    scenario["fraud_typologies"] |= {"notice": 1.0, "report": 1.0, "report_minutes": 2}
    summary, _ = audited(tmp_path, scenario)  # conserved, reconciled, from the tables
    run = load_run(tmp_path)
    tx, events, truth = run.transactions, run.events, run.fraud_truth
    froze = events[events.kind == "ACCOUNT_FROZEN"]
    reports = events[events.kind == "FRAUD_REPORT"]
    assert len(froze) > 0 and len(reports) >= len(froze)
    assert summary["accounts_frozen"] == len(froze)
    assert summary["frozen_paise"] == froze.value.sum()
    # a report names a stolen payment that went through, and freezes its payee's account
    reported = tx.set_index("txn_id").loc[reports.txn_id]
    assert set(reports.txn_id) <= set(truth[truth.stage == "theft"].txn_id)
    assert (reported.state == "SUCCESS").all()
    # once frozen, nothing posts to that account: money in or out is refused YF / YE
    frozen_at = dict(zip(reported.payee_vpa[froze.txn_id.to_numpy()], froze.t_ms, strict=True))
    for vpa, at in frozen_at.items():
        out = tx[(tx.payer_vpa == vpa) & (tx.t_debited_ms > at)]
        into = tx[(tx.payee_vpa == vpa) & (tx.t_credited_ms > at)]
        assert (out.reason_code.isin(["YE", "Z6"]) | (out.state != "SUCCESS")).all()
        assert not (into.state == "SUCCESS").any()
    assert {"YE", "YF"} <= set(tx.reason_code)
    assert {"K1", "ZI"} <= set(tx.reason_code)  # the banks' risk declines
    scores = summary["fraud_scores_by_typology"]
    assert sum(s["frozen"] for s in scores.values()) > 0
    rules_fired = set(summary["fraud_scores_by_rule"])
    assert {"PIN_BURST", "FAN_IN", "COLLECT_STRANGERS"} <= rules_fired
