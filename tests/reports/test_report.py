"""build_report: the figures in the report agree with the run's tables, and the page
is one safe, self-contained file."""

from __future__ import annotations

import base64
import html
import json
import re

import pandas as pd
import pytest

from tests.reports.fake_run import MALICIOUS_NAME, MALICIOUS_VPA, SBI_PEAK_QUEUE
from upisim.reports import build_report, fmt, load_run

SECTION_HEADINGS = [
    "Summary",
    "Throughput",
    "Latency",
    "Outcomes",
    "Failure handling",
    "Banks",
    "Payment methods",
    "Rate-limit hits",
    "Balance conservation",
    "Settlement",
    "Fraud",
    "Collect requests",
    "Refunds",
    "Appendix",
]


@pytest.fixture(scope="module")
def report(fixture_report):
    return fixture_report


@pytest.fixture(scope="module")
def page(report):
    return report.read_text(encoding="utf-8")


def csv(report, name):
    return pd.read_csv(report.parent / name, keep_default_na=False)


def section(page, anchor):
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', page, re.S)
    assert match, anchor
    return match[1]


def test_report_goes_to_the_run_folder_by_default(fixture_run, report):
    assert report == fixture_run.path / "report" / "index.html"
    assert report.is_file()


def test_outcomes_csv_counts_equal_the_reason_code_counts(fixture_run, report):
    tx = load_run(fixture_run.path).transactions
    outcomes = csv(report, "outcomes.csv").set_index("reason_code")["payments"]

    assert outcomes.to_dict() == tx["reason_code"].value_counts().to_dict()
    assert outcomes["00"] == 240
    assert outcomes["Z7"] == fixture_run.rate_limited


def test_code_meanings_are_the_runs_own(fixture_run, report, page):
    meanings = load_run(fixture_run.path).summary["code_meanings"]
    outcomes = csv(report, "outcomes.csv").set_index("reason_code")["meaning"]

    assert outcomes.to_dict() == {code: meanings[code] for code in outcomes.index}
    assert "the most common decline is Z7 frequency limit exceeded (24 payments)" in page


def test_a_run_without_code_meanings_shows_the_codes_alone(make_run, tmp_path):
    run = make_run("nomeanings")
    summary_file = run.path / "summary.json"
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    del summary["code_meanings"]
    summary_file.write_text(json.dumps(summary), encoding="utf-8")

    index = build_report(run.path, tmp_path)

    assert set(csv(index, "outcomes.csv")["meaning"]) == {""}
    assert "the most common decline is Z7 (24 payments)" in index.read_text(encoding="utf-8")


def test_headline_payment_total_and_max_deviation_match(fixture_run, report):
    head = csv(report, "headline.csv").set_index("figure")

    assert int(head.loc["payments_total", "value"]) == fixture_run.payments
    assert int(head.loc["payments_total", "recomputed"]) == fixture_run.payments
    assert int(head.loc["conservation_max_deviation_paise", "recomputed"]) == 0
    assert set(head.loc[head["check"] != "", "check"]) == {"ok"}


def test_throughput_csv_sums_to_the_number_of_payments(fixture_run, report):
    throughput = csv(report, "throughput.csv")

    assert throughput["offered"].sum() == fixture_run.payments
    assert throughput["completed"].sum() == fixture_run.payments
    assert throughput["completed_SUCCESS"].sum() == 240
    assert throughput["completed_EXPIRED"].sum() == 7


def test_top_rate_limited_users(report):
    top = csv(report, "rate_limit_top_users.csv")

    assert list(top.itertuples(index=False, name=None)) == [
        ("alice@okhdfc", 5),
        ("bob@oksbi", 4),
        (MALICIOUS_VPA, 3),
        ("carol@okicici", 2),
        *[(f"u{i:02d}@okaxis", 1) for i in range(1, 7)],
    ]


def test_rate_limit_windows_and_times(fixture_run, report):
    windows = csv(report, "rate_limit_windows.csv")
    over_time = csv(report, "rate_limit_over_time.csv")

    assert dict(windows.itertuples(index=False)) == {"1m": 18, "1h": 6}
    assert over_time["1m"].sum() == 18
    assert over_time["1h"].sum() == 6


def test_fraud_counts_by_rule(report):
    fraud = csv(report, "fraud.csv").set_index("rule")

    assert fraud.to_dict("index") == {
        "DAILY_CAP": {"flagged": 4, "declined": 5},
        "HIGH_VALUE": {"flagged": 6, "declined": 0},
        "VELOCITY": {"flagged": 5, "declined": 3},
    }


def test_collects_table(report):
    collects = dict(csv(report, "collects.csv").itertuples(index=False))

    assert collects["created"] == 23
    assert collects["approved"] == 10
    assert collects["declined by payer (ZA)"] == 6
    assert collects["expired (U69)"] == 7


def test_money_table_conserves_and_sums_bank_positions(fixture_run, report):
    money = csv(report, "money.csv")
    raw = load_run(fixture_run.path).money

    assert (money["deviation_paise"] == 0).all()
    assert len(money) == raw["t_ms"].nunique()
    banks = ["settlement_HDFC_paise", "settlement_SBI_paise", "settlement_ICICI_paise"]
    assert (money[banks].sum(axis=1) == money["in_flight_paise"]).all()
    assert money["in_flight_paise"].max() > 0  # the fixture does have money in flight


def test_every_section_has_its_heading_and_a_key_sentence(page):
    for heading in SECTION_HEADINGS:
        assert f"<h2>{heading}</h2>" in page
    assert page.count('<p class="key">') == len(SECTION_HEADINGS)
    assert "24 rate-limit hits (1m: 18, 1h: 6)" in page
    assert "Largest deviation of total money from the starting ₹15,00,000.00: 0 paise" in page


def test_run_supplied_text_is_escaped(page):
    assert html.escape(MALICIOUS_VPA) in page
    assert MALICIOUS_VPA not in page
    assert html.escape(MALICIOUS_NAME) in page
    assert MALICIOUS_NAME not in page
    assert "<script" not in page.lower()


def test_page_is_self_contained(report, page):
    assert "http://" not in page
    assert "https://" not in page
    assert "<link" not in page.lower()
    assert "url(" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in sources}
    on_disk = {p.read_bytes() for p in report.parent.glob("*.png")}
    assert embedded == on_disk
    assert len(on_disk) == 12


def test_a_run_without_rate_limits_says_so_and_drops_an_old_plot(make_run, tmp_path):
    run = make_run("calm", rate_limited=0)
    out = tmp_path / "out"
    out.mkdir()
    (out / "rate_limits.png").write_bytes(b"stale")

    index = build_report(run.path, out)

    body = section(index.read_text(encoding="utf-8"), "rate-limit-hits")
    assert "No rate-limit hits in this run" in body
    assert "<img" not in body
    assert not (out / "rate_limits.png").exists()
    assert not (run.path / "report").exists()
    assert len(pd.read_csv(out / "rate_limit_top_users.csv")) == 0


def test_a_leak_shows_in_red_and_contradicts_the_summary(make_run, tmp_path):
    run = make_run("leaky", leak_paise=250)

    index = build_report(run.path, tmp_path / "out")

    page = index.read_text(encoding="utf-8")
    head = csv(index, "headline.csv").set_index("figure")
    assert int(head.loc["conservation_max_deviation_paise", "recomputed"]) == 250
    assert head.loc["conservation_max_deviation_paise", "check"] == "MISMATCH"
    assert 'class="banner bad"' in page
    assert re.search(r'<span class="bad">Largest deviation[^<]*: 250 paise</span>', page)


def test_same_run_gives_the_same_report(report, fixture_report_again):
    assert fixture_report_again != report
    assert fixture_report_again.read_bytes() == report.read_bytes()


def test_healthy_run_gets_a_green_banner(page):
    assert 'class="banner good"' in page
    assert "Every check passed" in page


def test_a_run_with_no_payments_still_reports(make_run, tmp_path):
    run = make_run("empty")
    tx = pd.read_parquet(run.path / "transactions.parquet").head(0)
    tx.to_parquet(run.path / "transactions.parquet")

    page = build_report(run.path, tmp_path).read_text(encoding="utf-8")

    for anchor in ("throughput", "latency", "outcomes"):
        assert "No payments" in section(page, anchor)
    # summary.json still says 317 payments: the report must say it disagrees.
    assert "payments_total" in page and 'class="banner bad"' in page


def test_methods_csv_agrees_with_the_transactions(fixture_run, report):
    tx = load_run(fixture_run.path).transactions
    methods = csv(report, "methods.csv").set_index("method")
    moved = tx[tx["state"].isin(["SUCCESS", "DEEMED"])]

    assert list(methods.index) == ["UPI_PUSH", "UPI_COLLECT", "DEBIT_CARD", "CREDIT_CARD",
                                   "NET_BANKING"]  # fmt: skip
    assert methods["payments"].to_dict() == tx["method"].value_counts().to_dict()
    assert (
        methods["value_paise"].to_dict() == moved.groupby("method")["amount_paise"].sum().to_dict()
    )
    assert methods.loc["UPI_COLLECT", "payments"] == 23
    assert methods.loc["UPI_COLLECT", "success_rate"] == pytest.approx(10 / 23)
    assert methods["payments"].sum() == fixture_run.payments


def test_methods_section_shows_value_in_rupees_and_the_figure(fixture_run, page):
    tx = load_run(fixture_run.path).transactions
    body = section(page, "payment-methods")
    card = tx[(tx["method"] == "CREDIT_CARD") & tx["state"].isin(["SUCCESS", "DEEMED"])]
    value = int(card["amount_paise"].sum())

    assert "5 payment methods; UPI_PUSH carried the most payments" in body
    assert f">{fmt.rupees(value)}<" in body
    assert body.count("<img") == 1


def test_one_method_gets_the_table_but_no_figure(make_run, tmp_path):
    run = make_run("onemethod")
    tx = pd.read_parquet(run.path / "transactions.parquet")
    tx["method"] = "UPI_PUSH"
    tx["amount_paise"] = 1_23_456_78
    tx.to_parquet(run.path / "transactions.parquet")
    (tmp_path / "methods.png").write_bytes(b"stale")

    page = build_report(run.path, tmp_path).read_text(encoding="utf-8")

    body = section(page, "payment-methods")
    assert "Every payment used UPI_PUSH." in body
    assert ">₹2,99,99,997.54<" in body  # 243 payments of ₹1,23,456.78 moved money
    assert "<table>" in body and "<img" not in body
    assert not (tmp_path / "methods.png").exists()


def test_money_section_counts_card_debt(fixture_run, report, page):
    money = csv(report, "money.csv")
    owed = load_run(fixture_run.path).summary["card_outstanding_end_paise"]

    assert money["card_outstanding_paise"].iloc[-1] == owed > 0
    assert (money["deviation_paise"] == 0).all()
    body = section(page, "balance-conservation")
    assert f"Credit-card customers owed {fmt.rupees(owed)} at the end" in body


def test_a_run_from_before_cards_and_methods_still_reports(make_run, tmp_path):
    run = make_run("precards", cards=False)
    tx = pd.read_parquet(run.path / "transactions.parquet").drop(columns=["method"])
    tx.to_parquet(run.path / "transactions.parquet")

    index = build_report(run.path, tmp_path)

    page = index.read_text(encoding="utf-8")
    assert 'class="banner good"' in page
    assert "Credit-card customers owed" not in page
    assert (csv(index, "money.csv")["card_outstanding_paise"] == 0).all()
    assert 'id="payment-methods"' not in page
    assert not (tmp_path / "methods.csv").exists()
    assert page.count("<h2>") == len(SECTION_HEADINGS) - 1


def test_the_banks_section_names_the_bank_that_queued_and_shades_the_fault(fixture_run):
    from upisim.reports import banks, load_run

    run = load_run(fixture_run.path)
    table = banks.bank_outcomes(run.transactions, run.queues).set_index("bank")
    assert table.loc["SBI", "peak queue"] == SBI_PEAK_QUEUE
    assert table.loc["SBI", "refused"] == 2 * 5 and table.loc["HDFC", "peak queue"] == 0
    assert table.loc["HDFC", "utilisation"] == pytest.approx(1000 / 8000)
    # from the queue's integral: SBI's 10 seconds of 3, 6, ... 30 waiting, a 10 s bin
    over = banks.queues_over_time(run.queues, 10_000).set_index(["t_s", "bank"])
    assert over.loc[(10, "SBI"), "queue"] == pytest.approx(sum(range(3, 31, 3)) / 10)
    assert banks.fault_windows(run.scenario).values.tolist() == [["SBI dark", 10.0, 15.0]]
    page = build_report(fixture_run.path, fixture_run.path / "r").read_text()
    assert "SBI's core banking queued the most: 30 waiting at the peak, 825 ms mean wait" in page


def test_seeds_read_as_plain_integers_and_rupees_in_indian_grouping(make_run, tmp_path):
    run = make_run("seeded")
    summary = json.loads((run.path / "summary.json").read_text())
    summary["seed"] = 2026123
    (run.path / "summary.json").write_text(json.dumps(summary))
    scenario = json.loads((run.path / "scenario.json").read_text())
    scenario["seed"] = 2026123
    (run.path / "scenario.json").write_text(json.dumps(scenario))

    page = build_report(run.path, tmp_path).read_text(encoding="utf-8")

    appendix = section(page, "appendix")
    assert appendix.count('<td class="">seed</td><td class="">2026123</td>') == 2
    assert "2,026,123" not in page
    start = summary["money_start_paise"]
    assert f"{start:,} ({fmt.rupees(start)})" in appendix  # ₹ in lakhs and crores
    assert "," in fmt.rupees(start)[:-6] and fmt.rupees(12345678_00) == "₹1,23,45,678.00"
