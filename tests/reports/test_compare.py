"""compare_runs: two runs that differ in one parameter, side by side."""

from __future__ import annotations

import html
import json
import re

import pandas as pd
import pytest

from tests.reports.fake_run import MALICIOUS_VPA
from upisim.reports import compare_runs


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

    headings = ("Summary", "Throughput", "Latency", "Outcomes", "Payment methods",
                "Balance conservation")  # fmt: skip
    for heading in headings:
        assert f"<h2>{heading}</h2>" in page
    assert "1 parameter(s) differ: limits.per_minute: 5 → 10." in page
    assert "https://" not in page and "http://" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 5
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
        "executor": "direct", "pinned_cpu": None,
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
