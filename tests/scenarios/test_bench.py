"""``upisim bench``: each size and the report of the largest run, each in its own process."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

from upisim.scenarios import bench
from upisim.scenarios.cli import main


def _with_and_without(
    capsys: pytest.CaptureFixture[str], size: str, *flags: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The bench's figures for ``size`` as it is, then with ``flags``."""
    for extra in ((), flags):
        assert main(["bench", "--json", "--no-report", "--sizes", size, *extra]) == 0
    plain, flagged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return plain, flagged


@pytest.fixture
def tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temporary folders of the bench and of its children go here, to see that they go."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_json_is_one_object_per_size_then_the_report_of_the_largest(
    tmp_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--json", "--sizes", "50x200,80x1000,60x600"]) == 0

    *sizes, report = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [x["users"] for x in sizes] == [50, 80, 60]
    for x in sizes:
        assert x["payments"] > 100 and x["payments_per_second"] > 0 and x["peak_rss_mb"] > 0
        assert x["ok"] is True
        # the whole process holds the world build, the loop and the wrap-up, and more
        parts = x["build_seconds"] + x["wall_seconds"] + x["wrap_up_seconds"]
        assert 0 < parts < x["process_seconds"]
    # the report is of the run with the most payments asked for, neither the first nor the last
    assert report["report_payments"] == sizes[1]["payments"]
    assert report["report_payments"] not in (sizes[0]["payments"], sizes[2]["payments"])
    assert report["report_seconds"] > 0 and report["report_peak_rss_mb"] > 0
    assert list(tmp_dir.iterdir()) == []  # no run folder is left behind


def test_the_table_then_the_report_line(tmp_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--sizes", "50x200"]) == 0

    shown = capsys.readouterr().out
    line = re.search(r"report of ([\d,]+) payments: \d+\.\d s, [\d,]+ MB peak\n", shown)
    assert line is not None, shown
    table = shown[: line.start()]
    assert f"50 x {line[1]}" in table  # of the run the table shows (a column a size)
    assert re.search(r"│ payments/s \(loop\) +│ +[\d,]+ │", table)
    assert re.search(r"│ world build s +│ +\d+\.\d\d │", table)
    assert list(tmp_dir.iterdir()) == []


def test_no_report_times_the_sizes_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--json", "--no-report", "--sizes", "50x100"]) == 0

    [size] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert size["users"] == 50 and size["ok"] is True


def test_the_reference_path_is_benched_with_the_same_payments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    grouped, reference = _with_and_without(capsys, "200x2000", "--reference")
    assert (grouped["delivery"], reference["delivery"]) == ("grouped", "reference")
    assert grouped["payments"] == reference["payments"] > 0 and reference["ok"] is True


def test_the_mapper_spares_the_lookups_of_payees_it_knows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 3,000 payees, 10,000 payments: most payees are paid more than once
    plain, mapped = _with_and_without(capsys, "3000x10000", "--mapper-s", "600")
    assert plain["mapper_hits"] == 0 and mapped["mapper_hits"] > 0.4 * mapped["payments"]
    assert mapped["envelopes_per_payment"] < plain["envelopes_per_payment"] - 1


def test_a_mapper_time_out_of_range_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--mapper-s", "-5"]) == 2
    assert "--mapper-s: -5 is not 0..2592000 seconds" in capsys.readouterr().err


def test_a_lower_rate_spreads_the_same_payments_over_longer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    national, slow = _with_and_without(capsys, "300x3000", "--rate", "250")
    assert (national["rate_per_s"], slow["rate_per_s"]) == (8400, 250)
    assert national["payments"] > 2800 and slow["payments"] > 2800
    # 3,000 payments at 250 a second start over 12 simulated seconds, not 0.36
    assert 12 <= slow["sim_seconds"] < 60 and national["sim_seconds"] < 12
    assert slow["ok"] is True


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--rate", "0"], "--rate: 0 is not above 0 and at most 100,000"),
        (["--rate", "200000"], "--rate: 200000 is not above 0"),
        (
            ["--rate", "0.5", "--sizes", "10x2000000"],
            "is 46.3 simulated days, past a scenario's 30",
        ),
    ],
)
def test_a_rate_out_of_range_is_refused(
    flags: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", *flags]) == 2
    assert said in capsys.readouterr().err


def test_every_bench_payment_takes_all_its_hops_however_often_its_users_pay(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 40 payments a user in 2.4 s: over the default rate limits, velocity and daily count
    assert main(["bench", "--json", "--no-report", "--sizes", "500x20000"]) == 0
    [size] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert size["ok"] is True and size["envelopes_per_payment"] > 10.8


def test_repeat_runs_each_size_that_often_and_shows_the_medians(
    tmp_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--json", "--repeat", "3", "--sizes", "50x200,60x300"]) == 0

    *sizes, report = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [x["users"] for x in sizes] == [50, 60]
    for x in sizes:
        assert x["repeat"] == 3 and len(x["runs"]) == 3 and x["ok"] is True
        assert {r["payments"] for r in x["runs"]} == {x["payments"]}  # the same payments
        each = sorted(r["payments_per_second"] for r in x["runs"])
        assert x["each"] == [r["payments_per_second"] for r in x["runs"]]
        assert x["payments_per_second"] == each[1]  # the median
        assert x["peak_rss_mb"] == sorted(r["peak_rss_mb"] for r in x["runs"])[1]
    assert report["report_payments"] == sizes[1]["payments"]  # the report is timed once
    assert list(tmp_dir.iterdir()) == []


def test_the_table_of_repeated_runs_shows_how_far_apart_they_were(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "--repeat", "2", "--no-report", "--sizes", "50x200"]) == 0

    shown = capsys.readouterr().out
    assert re.search(r"│ runs \(medians\) +│ +2 │", shown)
    assert re.search(r"│   lowest–highest +│ +[\d,]+–[\d,]+ │", shown)


@pytest.mark.parametrize("repeat", ["0", "26"])
def test_a_repeat_out_of_range_is_refused(repeat: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--repeat", repeat]) == 2
    assert f"--repeat: {repeat} is not 1..25" in capsys.readouterr().err


def test_repeated_rounds_alternate_the_order_of_the_sizes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the run straight after another tends to be the slow one: no size always goes first
    asked: list[list[str]] = []

    def child(what: str, *flags: str) -> dict[str, Any]:
        asked.append(list(flags))
        if flags[0] == "--report-of":
            return {"report_payments": 1, "report_seconds": 0.1, "report_peak_rss_mb": 1.0}
        users, payments = (int(x) for x in flags[1].split("x"))
        figures = dict.fromkeys(bench._MEASURED, float(len(asked)))
        return {"users": users, "payments": payments, "ok": True, **figures}

    monkeypatch.setattr(bench, "_in_child", child)
    assert main(["bench", "--json", "--repeat", "3", "--sizes", "10x100,20x300,30x200"]) == 0

    sizes = [flags[1] for flags in asked if flags[0] == "--one"]
    forth = ["10x100", "20x300", "30x200"]
    assert sizes == [*forth, *reversed(forth), *forth]
    kept = [flags[1] for flags in asked if "--keep" in flags]
    assert kept == ["20x300"]  # the most payments, kept once for the report
    assert asked[-1][0] == "--report-of"
