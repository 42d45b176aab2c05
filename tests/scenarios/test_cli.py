"""The command line as a user meets it: exit codes, messages, files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
