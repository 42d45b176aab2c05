"""The pure table functions behind every plot, checked against direct computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from upisim.reports import fmt, tables
from upisim.reports.run import load_run


@pytest.mark.parametrize(
    ("end_ms", "bin_ms"),
    [(1, 1000), (60_000, 1000), (600_000, 1000), (600_001, 2000), (3_600_000, 10_000),
     (86_400_000, 300_000)],
)  # fmt: skip
def test_bins_are_one_second_until_there_would_be_more_than_600(end_ms, bin_ms):
    assert tables.bin_ms_for(end_ms) == bin_ms
    assert math.ceil(end_ms / bin_ms) <= 600


def test_latency_over_time_matches_numpy_percentiles_per_bin():
    rng = np.random.default_rng(7)
    completed = rng.integers(0, 10_000, 2_000)
    tx = pd.DataFrame({"t_completed_ms": completed, "latency_ms": rng.integers(1, 5_000, 2_000)})

    table = tables.latency_over_time(tx, 1000)

    for row in table.itertuples(index=False):
        in_bin = tx.loc[tx["t_completed_ms"] // 1000 == row.t_s, "latency_ms"]
        assert row.payments == len(in_bin)
        for p in (50, 95, 99):
            assert getattr(row, f"p{p}_ms") == pytest.approx(np.percentile(in_bin, p))
    assert table["payments"].sum() == len(tx)


def test_throughput_counts_every_payment_once_by_start_and_by_end(fixture_run):
    tx = load_run(fixture_run.path).transactions
    end = tables.span_ms({}, tx["t_initiated_ms"], tx["t_completed_ms"])

    table = tables.throughput(tx, 1000, end)

    assert table["offered"].sum() == len(tx)
    assert table["completed"].sum() == len(tx)
    for state, count in tx["state"].value_counts().items():
        assert table[f"completed_{state}"].sum() == count
    # The fixture starts one payment every 100 ms.
    assert (table["offered"].head(30) == 10).all()


def test_stage_latencies_use_the_documented_differences(fixture_run):
    tx = load_run(fixture_run.path).transactions

    stages = tables.stage_latencies(tx).set_index("stage")

    assert stages.loc["switch resolve", "p50_ms"] == 15
    assert stages.loc["remitter bank", "p99_ms"] == 120
    assert stages.loc["beneficiary bank", "max_ms"] == 100
    assert stages.loc["beneficiary bank", "payments"] == 240
    assert stages.loc["end to end", "payments"] == len(tx)


def test_collects_split_into_outcomes_that_add_up(fixture_run):
    tx = load_run(fixture_run.path).transactions

    table = dict(tables.collects(tx).itertuples(index=False))

    assert table == {
        "created": 23,
        "approved": 10,
        "declined by payer (ZA)": 6,
        "expired (U69)": 7,
        "other": 0,
    }


def test_declines_separate_business_from_technical(fixture_run):
    tx = load_run(fixture_run.path).transactions

    table = tables.declines(tx).set_index("decline_type")["payments"]

    assert table.to_dict() == {"": 240, "BD": 70, "TD": 7}


def test_money_over_time_finds_a_leak_in_integer_paise(make_run):
    run = load_run(make_run("leak", leak_paise=123).path)

    table = tables.money_over_time(run.money, run.summary["money_start_paise"])

    assert tables.max_deviation(table) == 123
    assert table["deviation_paise"].dtype == "int64"
    assert (table.loc[table["t_ms"] < 10_000, "deviation_paise"] == 0).all()
    banks = [c for c in table.columns if c.startswith("settlement_")]
    assert sorted(banks) == ["settlement_HDFC_paise", "settlement_ICICI_paise",
                             "settlement_SBI_paise"]  # fmt: skip
    assert (table[banks].sum(axis=1) == table["in_flight_paise"]).all()


def test_rate_limit_windows_sort_by_length():
    events = pd.DataFrame({
        "t_ms": [1, 2, 3, 4], "kind": ["RATE_LIMIT"] * 4, "subject": ["a", "b", "a", "c"],
        "detail": ["1h", "1m", "30s", "1m"],
    })  # fmt: skip

    assert list(tables.rate_limit_windows(events)["window"]) == ["30s", "1m", "1h"]


def test_top_users_break_ties_alphabetically():
    events = pd.DataFrame({
        "t_ms": range(5), "kind": ["RATE_LIMIT"] * 4 + ["FRAUD_FLAG"],
        "subject": ["zed", "bob", "zed", "amy", "amy"], "detail": ["1m"] * 5,
    })  # fmt: skip

    top = tables.rate_limit_top_users(events, n=2)

    assert list(top.itertuples(index=False, name=None)) == [("zed", 2), ("amy", 1)]


def test_flatten_summarises_long_lists_and_masks_pins():
    scenario = {
        "name": "x",
        "banks": ["HDFC", "SBI"],
        "users": [{"vpa": f"u{i}@x", "pin": "1234"} for i in range(50)],
        "admin": {"pin": "9999", "pin_tries": 3},
        "faults": [{"bank": "SBI", "from_s": 10}],
    }

    rows = dict(tables.flatten(scenario))

    assert rows == {
        "name": "x",
        "banks": "HDFC, SBI",
        "users": "50 items",
        "admin.pin": "****",
        "admin.pin_tries": 3,
        "faults[0].bank": "SBI",
        "faults[0].from_s": 10,
    }


def test_side_by_side_subtracts_numbers_and_flags_other_changes():
    table = tables.side_by_side([("n", 5), ("name", "a"), ("same", "s"), ("only_a", 1)],
                                [("n", 8), ("name", "b"), ("same", "s")])  # fmt: skip

    assert table.set_index("figure")["difference"].to_dict() == {
        "n": 3,
        "name": "changed",
        "same": "",
        "only_a": "changed",
    }


def test_headline_flags_a_summary_that_disagrees_with_the_tables(fixture_run):
    run = load_run(fixture_run.path)
    summary = {**run.summary, "payments_total": run.summary["payments_total"] + 1}
    money = tables.money_over_time(run.money, summary["money_start_paise"])

    head = tables.headline(summary, run.transactions, money).set_index("figure")

    assert head.loc["payments_total", "check"] == "MISMATCH"
    assert head.loc["payments_by_state.SUCCESS", "check"] == "ok"


@pytest.mark.parametrize(
    ("paise", "text"),
    [(0, "₹0.00"), (5, "₹0.05"), (12_345_678, "₹1,23,456.78"), (-1_000_000_00, "-₹10,00,000.00")],
)
def test_rupees_use_indian_grouping(paise, text):
    assert fmt.rupees(paise) == text


def test_card_outstanding_counts_against_the_total():
    # SBI's customer paid ₹10 by credit card to an HDFC customer, and it has landed:
    # deposits grew by ₹10 at HDFC, and SBI lent ₹10.
    money = pd.DataFrame({
        "t_ms": [0, 0, 1000, 1000], "bank": ["HDFC", "SBI"] * 2,
        "customers_paise": [500, 700, 1500, 700], "settlement_paise": [0, 0, 0, 0],
        "card_outstanding_paise": [0, 0, 0, 1000],
    })  # fmt: skip

    table = tables.money_over_time(money, 1200)

    assert list(table["total_paise"]) == [1200, 1200]
    assert tables.max_deviation(table) == 0
    assert list(table["card_outstanding_paise"]) == [0, 1000]
    assert table["total_paise"].dtype == "int64"
    # Read without the card book, the same run would seem to have made ₹10.
    uncarded = money.drop(columns=["card_outstanding_paise"])
    assert tables.max_deviation(tables.money_over_time(uncarded, 1200)) == 1000


def test_fixture_run_conserves_with_cards_and_would_not_without(fixture_run):
    run = load_run(fixture_run.path)
    start = run.summary["money_start_paise"]

    table = tables.money_over_time(run.money, start)

    assert tables.max_deviation(table) == 0
    owed = table["card_outstanding_paise"].iloc[-1]
    assert owed == run.summary["card_outstanding_end_paise"] > 0
    without_cards = tables.money_over_time(
        run.money.drop(columns=["card_outstanding_paise"]), start
    )
    assert tables.max_deviation(without_cards) == owed


def test_a_card_book_that_grows_from_nothing_breaks_conservation(make_run):
    run = load_run(make_run("cardleak", card_leak_paise=77).path)

    table = tables.money_over_time(run.money, run.summary["money_start_paise"])

    assert tables.max_deviation(table) == 77
    assert (table.loc[table["t_ms"] < 20_000, "deviation_paise"] == 0).all()
    assert (table.loc[table["t_ms"] >= 20_000, "deviation_paise"] == -77).all()
    head = tables.headline(run.summary, run.transactions, table).set_index("figure")
    assert head.loc["conservation_max_deviation_paise", "check"] == "MISMATCH"


# (method, state, amount_paise, latency_ms)
METHOD_ROWS = [
    ("UPI_PUSH", "SUCCESS", 100, 200),
    ("UPI_PUSH", "SUCCESS", 300, 400),
    ("UPI_PUSH", "FAILED", 500, 50),
    ("UPI_PUSH", "DEEMED", 700, 30_000),
    ("NET_BANKING", "EXPIRED", 5, 60_000),
    ("CREDIT_CARD", "SUCCESS", 1_000, 100),
    ("CREDIT_CARD", "FAILED", 2_000, 10),
    ("WALLET", "SUCCESS", 9, 300),
]


def test_methods_table_by_hand():
    tx = pd.DataFrame(METHOD_ROWS, columns=["method", "state", "amount_paise", "latency_ms"])

    table = tables.methods(tx).set_index("method")

    # documented order first (push, collect, debit card, credit card, net banking), then others
    assert list(table.index) == ["UPI_PUSH", "CREDIT_CARD", "NET_BANKING", "WALLET"]
    # SUCCESS and DEEMED count as success and move money; FAILED and EXPIRED do not
    counts = table[["payments", "share", "succeeded", "success_rate", "value_paise"]]
    assert counts.to_dict("index") == {
        "UPI_PUSH": {"payments": 4, "share": 0.5, "succeeded": 3, "success_rate": 0.75,
                     "value_paise": 1_100},
        "CREDIT_CARD": {"payments": 2, "share": 0.25, "succeeded": 1, "success_rate": 0.5,
                        "value_paise": 1_000},
        "NET_BANKING": {"payments": 1, "share": 0.125, "succeeded": 0, "success_rate": 0.0,
                        "value_paise": 0},
        "WALLET": {"payments": 1, "share": 0.125, "succeeded": 1, "success_rate": 1.0,
                   "value_paise": 9},
    }  # fmt: skip
    assert table["value_paise"].dtype == "int64"
    # latency of the three that moved money: 200, 400, 30 000 ms
    assert table.loc["UPI_PUSH", "p50_ms"] == 400
    assert table.loc["UPI_PUSH", "p95_ms"] == pytest.approx(400 + 0.9 * (30_000 - 400))
    assert table.loc["CREDIT_CARD", "p95_ms"] == 100
    assert math.isnan(table.loc["NET_BANKING", "p50_ms"])


def test_method_states_and_latency_boxes_by_hand():
    tx = pd.DataFrame(METHOD_ROWS, columns=["method", "state", "amount_paise", "latency_ms"])

    states = tables.method_states(tx).set_index("method")
    boxes = tables.method_latency(tx).set_index("method")

    assert list(states.columns) == ["SUCCESS", "FAILED", "EXPIRED", "DEEMED"]
    assert states.loc["UPI_PUSH"].to_dict() == {
        "SUCCESS": 2,
        "FAILED": 1,
        "EXPIRED": 0,
        "DEEMED": 1,
    }
    payments = tables.methods(tx).set_index("method")["payments"]
    assert states.sum(axis=1).to_dict() == payments.to_dict()
    assert boxes.loc["UPI_PUSH", "payments"] == 3
    assert boxes.loc["UPI_PUSH", "p25_ms"] == 300
    assert boxes.loc["NET_BANKING", "payments"] == 0


def test_no_method_column_no_methods():
    tx = pd.DataFrame(METHOD_ROWS, columns=["method", "state", "amount_paise", "latency_ms"])

    assert tables.methods(tx.drop(columns=["method"])).empty
    assert tables.methods(tx.head(0)).empty
    assert tables.method_latency(tx.drop(columns=["method"])).empty


def test_headline_checks_payments_by_method(fixture_run):
    run = load_run(fixture_run.path)
    money = tables.money_over_time(run.money, run.summary["money_start_paise"])
    by_method = dict(run.summary["payments_by_method"], CREDIT_CARD=1)

    head = tables.headline(run.summary, run.transactions, money).set_index("figure")
    wrong_summary = {**run.summary, "payments_by_method": by_method}
    wrong = tables.headline(wrong_summary, run.transactions, money).set_index("figure")

    methods = [f for f in head.index if f.startswith("payments_by_method.")]
    assert len(methods) == 5
    assert (head.loc[methods, "check"] == "ok").all()
    assert head.loc["card_outstanding_end_paise", "check"] == "ok"
    assert wrong.loc["payments_by_method.CREDIT_CARD", "check"] == "MISMATCH"
    assert wrong.loc["payments_by_method.UPI_PUSH", "check"] == "ok"


def test_code_meanings_come_from_the_run_alone() -> None:
    tx = pd.DataFrame({"reason_code": ["U86", "XX", "Z9"], "decline_type": ["TD", "TD", "BD"]})
    summary = {"code_meanings": {"XX": "made up", "Z9": "no money"}}
    own = tables.outcomes(tx, tables.code_meanings(summary)).set_index("reason_code").meaning
    assert own.to_dict() == {"U86": "", "XX": "made up", "Z9": "no money"}
    # a run from before summary.json had code meanings: codes alone, no built-in table
    plain = tables.outcomes(tx, tables.code_meanings({})).set_index("reason_code").meaning
    assert plain.to_dict() == {"U86": "", "XX": "", "Z9": ""}
    assert not hasattr(tables, "CODE_MEANINGS")
    assert tables.code_meanings({"code_meanings": None}) == {}


def test_results_only_headline_leaves_out_every_wall_clock_figure(fixture_run):
    run = load_run(fixture_run.path)
    money = tables.money_over_time(run.money, run.summary["money_start_paise"])
    old_style = {**run.summary, "wall_seconds": 1.5, "executor": "pykka"}  # before `timing`

    full = set(tables.headline(old_style, run.transactions, money)["figure"])
    kept = set(tables.headline(old_style, run.transactions, money, results_only=True)["figure"])

    # the single-run report's appendix still shows how long the run took
    assert {"timing.wall_seconds", "timing.executor", "wall_seconds", "executor"} <= full
    assert full - kept == {f"timing.{f}" for f in tables.TIMING_FIGURES} | {
        "wall_seconds",
        "executor",
    }


def test_one_run_a_side_is_side_by_side():
    a, b = [("payments", 10), ("ok", True)], [("payments", 7), ("ok", False), ("new", 1)]

    pooled = tables.runs_side_by_side([a], [b])

    assert pooled.equals(tables.side_by_side(a, b))
    assert list(pooled.columns) == ["figure", "A", "B", "difference"]


def test_several_runs_a_side_give_means_ranges_and_noise():
    a = [
        [("payments", 10), ("p99_ms", 100.0), ("lost_paise", 1), ("by_code.Z9", 2), ("app", "x")],
        [("payments", 12), ("p99_ms", 200.0), ("lost_paise", 2), ("app", "x")],
        [("payments", 14), ("p99_ms", 300.0), ("lost_paise", 2), ("app", "y")],
    ]
    b = [
        [("payments", 20), ("p99_ms", 250.0), ("lost_paise", 2), ("by_code.Z9", 5), ("app", "x")],
        [("payments", 22), ("p99_ms", 350.0), ("lost_paise", 2), ("app", "x")],
    ]

    counts = tables.runs_side_by_side(a, b, fill=lambda k: 0 if k.startswith("by_") else "")
    kept = tables.runs_side_by_side(a, b).set_index("figure")
    pooled = counts.set_index("figure")

    assert list(pooled.columns) == ["A", "B", "difference", *tables.SPREAD_COLUMNS]
    assert pooled.loc["payments"].tolist() == [12.0, 21.0, 9.0, 10, 14, 20, 22, "no"]
    assert pooled.loc["p99_ms"].tolist() == [200.0, 300.0, 100.0, 100.0, 300.0, 250.0, 350.0,
                                             "yes"]  # fmt: skip
    assert pooled.loc["lost_paise", ["A", "B", "difference"]].tolist() == [2, 2, 0]  # 1.67 → 2
    assert pooled.loc["lost_paise", "within noise"] == ""  # no difference, no verdict
    # a code a run never saw counted 0 there; without `fill`, the mean of those that saw it
    assert pooled.loc["by_code.Z9", ["A", "B", "difference"]].tolist() == [2 / 3, 2.5, 2.5 - 2 / 3]
    assert kept.loc["by_code.Z9", ["A", "B", "difference"]].tolist() == [2, 5, 3]
    assert pooled.loc["app", ["A", "B", "difference", "within noise"]].tolist() == [
        "x, y", "x", "changed", ""]  # fmt: skip


def test_parameters_of_several_runs_are_the_values_they_take():
    a = [[("seed", 1), ("per_minute", 5)], [("seed", 2), ("per_minute", 5)]]
    b = [[("seed", 1), ("per_minute", 10)], [("seed", 2), ("per_minute", 10)]]

    pooled = tables.runs_side_by_side(a, b, key="parameter", mean=False).set_index("parameter")

    assert list(pooled.columns) == ["A", "B", "difference"]
    assert pooled.loc["seed"].tolist() == ["1, 2", "1, 2", ""]
    assert pooled.loc["per_minute"].tolist() == [5, 10, 5]


def test_a_two_part_key_has_a_column_per_part():
    banks = pd.DataFrame({"bank": ["HDFC", "SBI"], "success": [0.5, 0.25], "p99_ms": [1.0, 2.0]})
    rows = tables.long_rows(banks, "bank", ["success"])

    pooled = tables.runs_side_by_side([rows], [rows], key=("bank", "figure"))

    assert rows == [(("HDFC", "success"), 0.5), (("SBI", "success"), 0.25)]
    assert type(rows[0][1]) is float
    assert pooled[["bank", "figure", "A", "difference"]].values.tolist() == [
        ["HDFC", "success", 0.5, 0.0], ["SBI", "success", 0.25, 0.0]]  # fmt: skip
