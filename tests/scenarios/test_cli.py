"""The command line as a user meets it: exit codes, messages, files."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from tests.reports.fake_run import write_run
from upisim.scenarios import cli
from upisim.scenarios.cli import main


def test_run_quickstart_writes_a_run_folder_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "quickstart", "--out", str(tmp_path), "--no-report", "--csv"]) == 0
    shown = capsys.readouterr().out
    assert "₹70,000.00" in shown and "Z9" in shown and "insufficient funds" in shown
    assert json.loads((tmp_path / "summary.json").read_text())["payments_total"] == 10
    csv = (tmp_path / "transactions.csv").read_text().splitlines()
    assert len(csv) == 11 and csv[0].startswith('"txn_id","kind"')


def test_run_with_no_scenario_runs_the_quickstart(tmp_path: Path) -> None:
    assert main(["run", "--out", str(tmp_path), "--no-report", "--quiet", "--seed", "3"]) == 0
    assert json.loads((tmp_path / "summary.json").read_text())["seed"] == 3


def test_the_progress_bar_says_how_long_the_load_has_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    bar = Console(file=screen, force_terminal=True, color_system=None, width=160)
    monkeypatch.setattr(cli, "console", bar)
    assert main(["run", "quickstart", "--out", str(tmp_path), "--no-report"]) == 0
    shown = screen.getvalue()
    assert "left -:--:--" in shown  # before it knows the speed
    assert re.search(r"t=5\.0/5 s 10 payments \d+:\d\d:\d\d left 0:00:00", shown)  # it is over


def test_run_on_the_reference_path_gives_the_same_results(tmp_path: Path) -> None:
    for path, flags in (("a", []), ("b", ["--reference"])):
        args = ["run", "population", "--out", str(tmp_path / path), "--no-report", "--quiet"]
        assert main([*args, "--seed", "4", *flags]) == 0
    a, b = (json.loads((tmp_path / p / "summary.json").read_text()) for p in "ab")
    assert (a.pop("timing")["delivery"], b.pop("timing")["delivery"]) == ("grouped", "reference")
    assert a == b and a["payments_total"] > 0
    for table in ("transactions", "events", "accounts"):
        name = f"{table}.parquet"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_a_broken_scenario_exits_2_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nduration_s = 1\n[population]\nsize = 10\nbalance_medain = "1"\n')
    assert main(["run", str(bad), "--out", str(tmp_path / "out"), "--no-report"]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "population.balance_medain" in err and "unknown key" in err
    assert not (tmp_path / "out").exists()  # nothing ran


def test_report_of_something_that_is_not_a_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "summary.json: missing" in capsys.readouterr().err


def test_bench_refuses_a_bad_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--sizes", "lots"]) == 2
    assert "USERSxPAYMENTS" in capsys.readouterr().err


def test_run_shows_methods_and_what_cards_owe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = tmp_path / "shop.toml"
    shop.write_text(
        """
name = "shop"
duration_s = 2
[[users]]
name = "Asha"
vpa = "asha@oksbi"
bank = "SBI"
balance = "100.00"
card_limit = "5000.00"
[[users]]
name = "Kirana"
vpa = "kirana@okicici"
bank = "ICICI"
balance = "0"
merchant = true
[[payments]]
from = "asha@oksbi"
to = "kirana@okicici"
amount = "1234.50"
method = "CREDIT_CARD"
[[payments]]
from = "asha@oksbi"
to = "kirana@okicici"
amount = "20.00"
"""
    )
    assert main(["run", str(shop), "--out", str(tmp_path / "r"), "--no-report"]) == 0
    shown = capsys.readouterr().out
    assert "CREDIT_CARD 1" in shown and "UPI_PUSH 1" in shown
    assert "owed on cards" in shown and "₹1,234.50" in shown
    assert main(["statement", str(tmp_path / "r"), "asha@oksbi", "--card"]) == 0
    assert "₹1,234.50" in capsys.readouterr().out


def test_version_and_the_json_schema_of_scenario_files(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("upisim 0.")
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert {"banks", "population", "apps", "calibration", "faults"} <= set(schema["properties"])


def test_a_misspelt_name_or_key_gets_a_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "quickstrt", "--out", str(tmp_path / "a")]) == 2
    assert "(did you mean 'quickstart'?)" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\nduration_s = 5\n[population]\nsize = 10\nbalance_medain = "1"\n'
        "[population.banks.SBI]\nwrong_pin = 0.1\n"
    )
    assert main(["run", str(bad), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "population.balance_medain: unknown key (did you mean 'balance_median'?)" in err
    assert "population.banks.SBI.wrong_pin: unknown key (did you mean 'wrong_pin_rate'?)" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_run_is_never_mixed_with_another_runs_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    args = ["--out", str(out), "--no-report", "--quiet"]
    assert main(["run", "quickstart", *args]) == 0
    (out / "notifications.parquet").write_bytes(b"stale")  # as if an earlier run kept them
    assert main(["run", "quickstart", *args]) == 0  # the same scenario again: written over
    assert not (out / "notifications.parquet").exists()
    assert main(["run", "bank_outage", *args]) == 2  # another scenario's folder: refused
    err = capsys.readouterr().err
    assert "a run of 'quickstart', not 'bank_outage'" in err and "--force" in err
    assert json.loads((out / "summary.json").read_text())["scenario"] == "quickstart"
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    assert main(["run", "quickstart", "--out", str(other), "--no-report", "--quiet"]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["run", "quickstart", "--out", str(other), "--force", "--no-report"]) == 0
    assert (other / "mine.txt").read_text() == "keep me"  # --force replaces run files only
    assert (other / "summary.json").exists()


def test_compare_prints_the_headline_differences_then_the_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write_run(tmp_path / "a").path  # 24 payments rate-limited at 5 a minute
    b = write_run(tmp_path / "b", rate_limited=10, per_minute=10).path

    assert main(["compare", str(a), str(b)]) == 0

    shown = capsys.readouterr().out.splitlines()
    rows = [line.split("│")[1:-1] for line in shown if line.startswith("│")]
    assert [[c.strip() for c in r] for r in rows] == [
        ["payments_by_state.FAILED", "67", "53", "−14", "−20.9%"],
        ["payments_by_method.UPI_PUSH", "132", "118", "−14", "−10.6%"],
        ["envelopes", "2,853", "2,727", "−126", "−4.4%"],
        ["payments_total", "317", "303", "−14", "−4.4%"],
    ]
    assert shown[-1] == f"comparison: {b / 'compare' / 'index.html'}"
    assert (b / "compare" / "compare_headline.csv").exists()


def test_compare_several_runs_a_side_says_what_is_within_noise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the same scenario; the seeds' runs are rate-limited 20 and 24 times on one side, 22
    # and 26 on the other: every difference is inside the other side's range
    a = [write_run(tmp_path / f"a{s}", rate_limited=n, seed=s).path for s, n in ((1, 20), (2, 24))]
    b = [write_run(tmp_path / f"b{s}", rate_limited=n, seed=s).path for s, n in ((1, 22), (2, 26))]
    out = tmp_path / "out"

    args = ["compare", "--a", *map(str, a), "--b", *map(str, b), "--out", str(out)]
    assert main(args) == 0

    shown = capsys.readouterr().out
    rows = [line for line in shown.splitlines() if line.startswith("│")]
    assert "noise?" in shown and "A (mean)" in shown
    assert len(rows) == 4 and all(r.split("│")[-2].strip() == "within noise" for r in rows)
    assert any("payments_total" in r and "315" in r and "317" in r and "+2" in r for r in rows)
    assert shown.splitlines()[-1] == f"comparison: {out / 'index.html'}"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["{run}"], "1 run folder(s) given"),
        (["--a", "{run}"], "--a without --b"),
        (["--b", "{run}"], "--b without --a"),
        (["{run}", "--a", "{run}", "--b", "{run}"], "both run folders and --a/--b given"),
        (["{empty}", "{run}"], "side A: {empty}/summary.json: missing"),
        (["--a", "{run}", "--b", "{run}", "{missing}"], "side B: {missing}: no such run folder"),
        (["--a", "{run}", "{run}", "--b", "{run}"], "side A: {run} is given twice"),
    ],
)
def test_compare_refuses_bad_input_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    run = write_run(tmp_path / "run").path
    (tmp_path / "empty").mkdir()
    names = {"run": run, "empty": tmp_path / "empty", "missing": tmp_path / "missing"}

    assert main(["compare", *(a.format(**names) for a in args)]) == 2

    err = capsys.readouterr().err
    assert err.startswith("error: ") and says.format(**names) in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (run / "compare").exists()


def test_the_cli_gives_arrow_the_system_allocator_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pyarrow as pa

    from upisim.scenarios.cli import _system_allocator_for_arrow

    before = pa.default_memory_pool()
    try:
        monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "mimalloc")
        pa.set_memory_pool(pa.mimalloc_memory_pool())
        _system_allocator_for_arrow()
        assert pa.default_memory_pool().backend_name == "mimalloc"  # the user's choice stands
        monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL")
        _system_allocator_for_arrow()
        assert pa.default_memory_pool().backend_name == "system"
    finally:
        pa.set_memory_pool(before)
