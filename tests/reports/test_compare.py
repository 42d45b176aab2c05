"""compare_runs: two runs that differ in one parameter, side by side."""

from __future__ import annotations

import html
import json
import re
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.reports.fake_run import MALICIOUS_VPA, TRANSACTIONS_SCHEMA
from upisim.reports import compare_runs, tables
from upisim.reports.compare import compare, differences, differences_table


@pytest.fixture(scope="module")
def comparison(fixture_run, make_run, tmp_path_factory):
    # B allows 10 payments a minute instead of 5, so 14 fewer are rate-limited.
    b = make_run("looser", rate_limited=10, per_minute=10)
    return compare_runs(fixture_run.path, b.path, tmp_path_factory.mktemp("compare"))


def csv(index, name):
    return pd.read_csv(index.parent / name, keep_default_na=False, dtype=str)


def test_the_changed_parameter_is_the_only_difference(comparison):
    params = csv(comparison, "compare_scenario.csv").set_index("parameter")

    assert params.loc["limits.per_minute"].to_dict() == {"A": "5", "B": "10", "difference": "5"}
    others = params.drop(index="limits.per_minute")["difference"]
    assert set(others) <= {"", "0"}


def test_headline_difference_is_b_minus_a(fixture_run, comparison):
    head = csv(comparison, "compare_headline.csv").set_index("figure")

    assert int(head.loc["payments_total", "A"]) == fixture_run.payments
    assert int(head.loc["payments_total", "B"]) == fixture_run.payments - 14
    assert int(head.loc["payments_total", "difference"]) == -14
    assert int(head.loc["payments_by_state.FAILED", "difference"]) == -14
    assert int(head.loc["payments_by_state.SUCCESS", "difference"]) == 0


def test_outcome_difference_is_in_the_rate_limit_code(comparison):
    codes = csv(comparison, "compare_outcomes.csv").set_index("reason_code")

    assert codes.loc["Z7"].to_dict() == {"A": "24", "B": "10", "difference": "-14"}
    assert set(codes.drop(index="Z7")["difference"]) == {"0"}


def test_comparison_page_is_self_contained_and_escaped(comparison):
    page = comparison.read_text(encoding="utf-8")

    headings = ("Summary", "Throughput", "Latency", "Outcomes", "Failure handling", "Banks",
                "Payment methods", "Rate-limit hits", "Balance conservation", "Fraud")  # fmt: skip
    for heading in headings:
        assert f"<h2>{heading}</h2>" in page
    assert "1 parameter(s) differ: limits.per_minute: 5 → 10." in page
    assert "https://" not in page and "http://" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 9  # every section but the Summary has its picture
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert html.escape(MALICIOUS_VPA) in page
    assert MALICIOUS_VPA not in page


def test_payments_by_method_in_both_runs(comparison):
    methods = csv(comparison, "compare_methods.csv").set_index("method")

    # B's 14 fewer rate-limited payments were all UPI_PUSH (the app refused them)
    assert methods.loc["UPI_PUSH", "difference"] == "-14"
    assert set(methods.drop(index="UPI_PUSH")["difference"]) == {"0"}
    assert len(methods) == 5


def test_two_runs_that_differ_only_in_how_long_they_took_show_no_difference(
    fixture_run, make_run, tmp_path
):
    b = make_run("slower")
    summary = json.loads((b.path / "summary.json").read_text(encoding="utf-8"))
    summary["timing"] = {
        "build_seconds": 9.9, "wall_seconds": 60.0, "wrap_up_seconds": 3.0,
        "payments_per_wall_second": 5.0, "envelopes_per_wall_second": 45.0,
        "executor": "direct", "pinned_cpu": None, "delivery": "reference",
    }  # fmt: skip
    # a run made before `timing` kept these at the top level
    summary |= {"wall_seconds": 61.0, "executor": "direct", "payments_per_wall_second": 4.9}
    (b.path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")

    index = compare_runs(fixture_run.path, b.path, tmp_path)

    head = csv(index, "compare_headline.csv")
    assert not head["figure"].str.contains("seconds|executor|pinned_cpu|timing").any()
    assert all(d == "" or float(d) == 0 for d in head["difference"])
    assert {"payments_total", "latency_ms.p99", "fraud_flagged"} <= set(head["figure"])
    assert "wall_seconds" not in index.read_text(encoding="utf-8")


# Three seeds a side: A at 5 a minute is rate-limited 20, 24 and 28 times; B at 10 a minute
# 8, 10 and 12 times. Everything else is the same in every run.
A_LIMITED, B_LIMITED = (20, 24, 28), (8, 10, 12)


@pytest.fixture(scope="module")
def several(make_run, tmp_path_factory):
    a = [make_run(f"a{s}", rate_limited=n, seed=s).path for s, n in enumerate(A_LIMITED, 1)]
    b = [
        make_run(f"b{s}", rate_limited=n, per_minute=10, seed=s).path
        for s, n in enumerate(B_LIMITED, 1)
    ]
    return compare(a, b, tmp_path_factory.mktemp("several"))


def test_several_runs_a_side_give_means_ranges_and_noise(fixture_run, several):
    head = csv(several.html, "compare_headline.csv").set_index("figure")
    others = fixture_run.payments - fixture_run.rate_limited  # the same in every run

    total = head.loc["payments_total"]
    assert [float(total[c]) - others for c in ("A", "B", "A min", "A max", "B min", "B max")] == [
        24, 10, 20, 28, 8, 12]  # fmt: skip
    assert float(total["difference"]) == -14 and total["within noise"] == "no"
    success = head.loc["payments_by_state.SUCCESS"]
    assert (success["A"], success["difference"], success["within noise"]) == ("240", "0", "")
    assert head.loc["seed", ["A", "B", "difference"]].tolist() == ["1, 2, 3", "1, 2, 3", ""]
    assert "timing.wall_seconds" not in head.index


def test_several_runs_a_side_name_the_one_parameter_that_differs(several):
    params = csv(several.html, "compare_scenario.csv").set_index("parameter")
    page = several.html.read_text(encoding="utf-8")

    assert params.loc["limits.per_minute"].tolist() == ["5", "10", "5"]
    assert params.loc["seed"].tolist() == ["1, 2, 3", "1, 2, 3", ""]
    assert "1 parameter(s) differ: limits.per_minute: 5 → 10." in page
    assert html.escape(tables.NOISE_RULE) in page and "A has 3 run(s), B 3" in page
    assert "Every run of both sides held every invariant." in page
    runs = page.split("<h3>Runs</h3>")[1].split("</table>")[0]
    assert runs.count('<td class="">A</td>') == 3 and runs.count('<td class="">B</td>') == 3


def test_several_runs_a_side_in_every_section(several):
    windows = csv(several.html, "compare_rate_limits.csv").set_index("window")
    codes = csv(several.html, "compare_outcomes.csv").set_index("reason_code")
    paths = csv(several.html, "compare_lifecycle.csv").set_index("path")
    banks = csv(several.html, "compare_banks.csv").set_index(["bank", "figure"])
    fraud = csv(several.html, "compare_fraud.csv").set_index(["rule", "figure"])

    # the windows cycle 18 x 1m then 6 x 1h: 20 hits are 18 + 2, 28 are 22 + 6
    assert windows.loc["1m", ["A", "B", "A min", "A max"]].astype(float).tolist() == pytest.approx(
        [58 / 3, 10, 18, 22])  # fmt: skip
    assert windows.loc["1h", ["A", "B", "B max", "within noise"]].tolist() == [
        "4.666666666666667", "0", "0", "no"]  # fmt: skip
    assert codes.loc["Z7", ["A", "B", "difference", "within noise"]].tolist() == [
        "24", "10", "-14", "no"]  # fmt: skip
    assert paths.loc["declined (business)", "difference"] == "-14"
    assert paths.loc["approved", "difference"] == "0"
    # every bank approves the same 240 of fewer payments with a leg there
    approved = banks.xs("success", level="figure")
    assert (approved["difference"].astype(float) > 0).all()
    assert set(approved["within noise"]) == {"no"}
    assert fraud.loc[("DAILY_CAP", "declined"), ["A", "B", "difference"]].tolist() == [
        "5", "5", "0"]  # fmt: skip
    page = several.html.read_text(encoding="utf-8")
    assert "Rate-limit hits: A 24 (runs 20–28), B 10 (runs 8–12)." in page


def test_the_terminal_shows_the_biggest_relative_differences_first(several):
    rows = differences(several.headline)

    assert list(rows["figure"]) == [
        "payments_by_state.FAILED",  # 67 → 53
        "payments_by_method.UPI_PUSH",  # 132 → 118
        "envelopes",  # 9 a payment
        "payments_total",  # 317 → 303
    ]
    assert set(rows["within noise"]) == {"no"}
    table = differences_table(several)
    assert [c.header for c in table.columns] == [
        "figure", "A (mean)", "B (mean)", "difference", "change", "noise?"]  # fmt: skip
    assert table.row_count == 4


def test_a_bank_on_one_side_only_is_shown_not_subtracted(fixture_run, tmp_path):
    b = tmp_path / "b"
    shutil.copytree(fixture_run.path, b, ignore=shutil.ignore_patterns("report", "compare"))
    tx = pq.read_table(b / "transactions.parquet").to_pandas()
    tx[["payer_bank", "payee_bank"]] = tx[["payer_bank", "payee_bank"]].replace("SBI", "AXIS")
    table = pa.Table.from_pandas(tx, schema=TRANSACTIONS_SCHEMA, preserve_index=False)
    pq.write_table(table, b / "transactions.parquet")

    index = compare_runs(fixture_run.path, b, tmp_path / "compare")

    banks = csv(index, "compare_banks.csv").set_index(["bank", "figure"])
    assert banks.loc[("AXIS", "success"), ["A", "difference"]].tolist() == ["", "changed"]
    assert banks.loc[("SBI", "payments"), ["B", "difference"]].tolist() == ["", "changed"]
    assert banks.loc[("HDFC", "success"), "difference"] == "0.0"
    assert "No bank of both sides has its approved share changed." in index.read_text()


def test_an_amount_in_paise_is_shown_in_rupees_on_the_page_and_the_terminal(fixture_run, tmp_path):
    sides = {}
    for side, paise in (("a", 2_596_300), ("b", 2_711_250)):
        sides[side] = tmp_path / side
        shutil.copytree(fixture_run.path, sides[side], ignore=shutil.ignore_patterns("report"))
        summary = json.loads((sides[side] / "summary.json").read_text())
        summary["largest_net_debit_paise"] = paise
        (sides[side] / "summary.json").write_text(json.dumps(summary))

    comparison = compare(sides["a"], sides["b"], tmp_path / "compare")
    index = comparison.html

    head = csv(index, "compare_headline.csv").set_index("figure")  # the file keeps paise
    assert head.loc["largest_net_debit_paise", "difference"] == "114950"
    assert "₹25,963.00" in index.read_text() and "+₹1,149.50" in index.read_text()
    table = differences_table(comparison)
    row = list(table.columns[0].cells).index("largest_net_debit_paise")
    shown = [list(column.cells)[row] for column in table.columns[1:4]]
    assert shown == ["₹25,963.00", "₹27,112.50", "+₹1,149.50"]
