"""Hostile or careless input is refused before anything runs (or made harmless), with the
file, the field and what was expected; the command line exits 2 with no traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.reports.test_escaping import _cells, _is_number
from tests.scenarios.test_config import GOOD, error_of, write
from upisim.actors.errors import AmountError, ScenarioError
from upisim.actors.money import MAX_AMOUNT_PAISE, parse_amount
from upisim.scenarios.cli import main
from upisim.scenarios.config import load_scenario
from upisim.scenarios.folders import default_out_dir

HEAD = 'name = "t"\nduration_s = 1\n'
USERS = GOOD.removeprefix("\n" + HEAD)  # the two listed users of a good scenario
GOOD = HEAD + USERS
COLLECTS = """
[[users]]
name = "Shop"
vpa = "shop@okicici"
bank = "ICICI"
balance = "0"
merchant = true
"""
FORMULA_START = ("=", "+", "-", "@")


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    shown = capsys.readouterr()
    return code, shown.out, shown.err


# -- 1. a scenario's name makes a folder directly inside runs/ -------------------------------


@pytest.mark.parametrize(
    "name",
    ["../../escape", "/etc/cron.d/x", "a/b/c", "..", ".", "..\\..\\win", "[bold red]x[/", "~"],
)
def test_a_path_like_name_gives_a_run_folder_directly_inside_runs(name: str) -> None:
    folder = default_out_dir(name, 7)
    assert folder.parent == Path("runs")
    assert "/" not in folder.name and "\\" not in folder.name
    assert not folder.name.startswith(".")
    assert "-seed7-" in folder.name


def test_running_a_scenario_named_like_a_path_writes_inside_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    scenario = write(tmp_path, GOOD.replace('name = "t"', 'name = "../../escape"'))
    monkeypatch.chdir(work)
    code, _, err = run_cli(["run", str(scenario), "--no-report", "--quiet"], capsys)
    assert code == 0, err
    (folder,) = (work / "runs").iterdir()
    assert folder.name.startswith("escape-seed1-") and (folder / "summary.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml", "work"]


# -- 2. amounts and balances that cannot be held -------------------------------------------


def test_an_amount_past_the_ceiling_is_refused_by_parse_amount() -> None:
    assert parse_amount(MAX_AMOUNT_PAISE // 100) == MAX_AMOUNT_PAISE
    for text in ("99999999999999999999.00", str(MAX_AMOUNT_PAISE // 100 + 1), "9" * 5000):
        with pytest.raises(AmountError, match="more than the most"):
            parse_amount(text)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (('balance = "100.00"', 'balance = "99999999999999999999.00"'), "users.0.balance"),
        (('balance = "100.00"', "balance = 99999999999999999999"), "users.0.balance"),
        (
            ('balance = "100.00"', 'balance = "1.00"\ncard_limit = "99999999999999999999.00"'),
            "users.0.card_limit",
        ),
    ],
)
def test_a_balance_past_int64_paise_is_refused(
    tmp_path: Path, change: tuple[str, str], where: str
) -> None:
    msg = error_of(tmp_path, GOOD.replace(*change))
    assert where in msg


def test_a_payment_amount_past_int64_paise_is_refused(tmp_path: Path) -> None:
    pay = '[[payments]]\nfrom = "a@okhdfcbank"\nto = "b@oksbi"\namount = "99999999999999999999"\n'
    msg = error_of(tmp_path, GOOD + pay)
    assert "payments.0.amount" in msg and "more than the most" in msg


def test_a_population_whose_money_cannot_be_summed_is_refused(tmp_path: Path) -> None:
    # each balance is allowed; 5 million of them are not
    text = GOOD + '[population]\nsize = 5000000\nbalance_median = "1000000000000.00"\n'
    msg = error_of(tmp_path, text)
    assert "population.balance_median" in msg and "population.size" in msg


def test_a_population_spread_so_wide_one_balance_could_overflow_is_refused(tmp_path: Path) -> None:
    text = GOOD + '[population]\nsize = 2\nbalance_median = "1000000000000.00"\nbalance_sigma = 3\n'
    msg = error_of(tmp_path, text)
    assert "population.balance_median" in msg and "balance_sigma" in msg


def test_listed_balances_that_add_up_past_the_ceiling_are_refused(tmp_path: Path) -> None:
    users = "".join(
        f'[[users]]\nname = "U{i}"\nvpa = "u{i}@oksbi"\nbank = "SBI"\n'
        f'balance = "1000000000000.00"\n'
        for i in range(1001)
    )
    msg = error_of(tmp_path, 'name = "t"\nduration_s = 1\n' + users)
    assert "users" in msg and "more than a run may hold" in msg


# -- 3. files that are not UTF-8 --------------------------------------------------------------


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path, capsys) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(GOOD.replace('"A"', '"Caf\xe9"').encode("latin-1"))
    with pytest.raises(ScenarioError, match="not UTF-8") as caught:
        load_scenario(path)
    assert str(path) in str(caught.value)
    code, _, err = run_cli(["run", str(path), "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and "not UTF-8" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


# -- 4. rates that are not finite or beyond any sane load --------------------------------------


@pytest.mark.parametrize("rate", ["inf", "1e300", "nan", "-inf", "100001"])
@pytest.mark.parametrize(
    ("section", "where"),
    [
        ("[load]\nrate_per_s = {}\n", "load.rate_per_s"),
        ("[collect]\nrate_per_s = {}\n", "collect.rate_per_s"),
        ("[load]\nprofile = [{{ at_s = 0, rate_per_s = {} }}]\n", "load.profile.0.rate_per_s"),
    ],
)
def test_rates_must_be_finite_and_at_most_the_maximum(
    tmp_path: Path, rate: str, section: str, where: str
) -> None:
    msg = error_of(tmp_path, GOOD + COLLECTS + section.format(rate))  # merchants to collect
    assert where in msg


def test_the_largest_rate_is_allowed(tmp_path: Path) -> None:
    load_scenario(write(tmp_path, GOOD + "[load]\nrate_per_s = 100000\n"))


# -- 5. and 6. weights -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "where", "why"),
    [
        ("{ HDFC = 0, SBI = 0 }", "population.bank_weights", "add up to more than 0"),
        ("{ HDFC = 0.0 }", "population.bank_weights", "add up to more than 0"),
        ("{ HDFC = -1, SBI = 2 }", "population.bank_weights.HDFC", "greater than or equal to 0"),
        ("{ HDFC = nan, SBI = 1 }", "population.bank_weights.HDFC", "finite"),
        ("{ HDFC = inf }", "population.bank_weights.HDFC", "finite"),
    ],
)
def test_bank_weights_must_be_finite_not_negative_and_not_all_zero(
    tmp_path: Path, weights: str, where: str, why: str
) -> None:
    msg = error_of(tmp_path, GOOD + f"[population]\nsize = 10\nbank_weights = {weights}\n")
    assert where in msg and why in msg


@pytest.mark.parametrize(
    ("mix", "where", "why"),
    [
        ("{ UPI_PUSH = nan }", "load.method_mix.UPI_PUSH", "finite"),
        ("{ UPI_PUSH = inf }", "load.method_mix.UPI_PUSH", "finite"),
        ("{ UPI_PUSH = 1, DEBIT_CARD = nan }", "load.method_mix.DEBIT_CARD", "finite"),
        ("{ UPI_PUSH = 1, DEBIT_CARD = -1 }", "load.method_mix.DEBIT_CARD", "greater than or"),
    ],
)
def test_method_mix_weights_must_be_finite_and_not_negative(
    tmp_path: Path, mix: str, where: str, why: str
) -> None:
    msg = error_of(tmp_path, GOOD + f"[load]\nmethod_mix = {mix}\n")
    assert where in msg and why in msg


# -- 7. digits other than ASCII ----------------------------------------------------------------


@pytest.mark.parametrize("text", ["४९९", "٤٩٩", "۴۹۹", "４９９", "४९९.००", "499.९९"])
def test_amounts_in_other_digits_are_refused(text: str) -> None:
    with pytest.raises(AmountError, match="not a number of rupees"):
        parse_amount(text)


def test_a_scenario_amount_in_devanagari_digits_is_refused(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD.replace('balance = "100.00"', 'balance = "४९९"'))
    assert "users.0.balance" in msg


@pytest.mark.parametrize("pin", ["४९९४", "٤٩٩٤", "１２３４", "१२३४५६"])
def test_pins_in_other_digits_are_refused(tmp_path: Path, pin: str) -> None:
    msg = error_of(tmp_path, GOOD.replace('balance = "100.00"', f'balance = "1.00"\npin = "{pin}"'))
    assert "users.0.pin" in msg
    pay = f'[[payments]]\nfrom = "a@okhdfcbank"\nto = "b@oksbi"\namount = "1.00"\npin = "{pin}"\n'
    assert "payments.0.pin" in error_of(tmp_path, GOOD + pay)


# -- 8. booleans are TOML booleans ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ('merchant = "yes"\n', "users.1.merchant"),
        ("new_user = 1\n", "users.1.new_user"),
        ("[collect]\np2p = 1\n", "collect.p2p"),
        ('[faults]\nheal_after_load = "false"\n', "faults.heal_after_load"),
        ('[notifications]\nrecord = "yes"\n', "notifications.record"),
        ("[methods.NET_BANKING]\np2m_only = 0\n", "methods.NET_BANKING.p2m_only"),
    ],
)
def test_booleans_must_be_real_toml_booleans(tmp_path: Path, extra: str, where: str) -> None:
    msg = error_of(tmp_path, GOOD + extra)
    assert where in msg and "valid boolean" in msg


# -- 14. settings that guarantee stuck payments ------------------------------------------------


@pytest.mark.parametrize(
    ("top", "tables", "where"),
    [
        ("drain_limit_s = 60\n", "[collect]\nrate_per_s = 1\nexpiry_s = 60\n", "collect.expiry_s"),
        ("drain_limit_s = 60\n", "[collect]\nrate_per_s = 1\nexpiry_s = 90\n", "collect.expiry_s"),
        ("", "[collect]\nrate_per_s = 1\nexpiry_s = 600\n", "collect.expiry_s"),
        ("drain_limit_s = 20\n", "[timeouts]\npay_ms = 20000\n", "timeouts.pay_ms"),
        ("drain_limit_s = 20\n", "[timeouts]\nauth_ms = 25000\n", "timeouts.auth_ms"),
        ("drain_limit_s = 20\n", "[timeouts]\nrisk_ms = 20000\n", "timeouts.risk_ms"),
        ("drain_limit_s = 20\n", "[timeouts]\nreversal_ms = 30000\n", "timeouts.reversal_ms"),
    ],
)
def test_settings_that_leave_payments_stuck_are_refused(
    tmp_path: Path, top: str, tables: str, where: str
) -> None:
    msg = error_of(tmp_path, HEAD + top + USERS + COLLECTS + tables)
    assert where in msg and "drain_limit_s" in msg


def test_a_scripted_collect_still_open_at_the_drain_limit_is_refused(tmp_path: Path) -> None:
    collect = (
        '[collect]\nexpiry_s = 101\n[[payments]]\nfrom = "a@okhdfcbank"\nto = "shop@okicici"\n'
        'amount = "5.00"\nmethod = "UPI_COLLECT"\nat_ms = 500\n'
    )
    text = HEAD + "drain_limit_s = 100\n" + USERS + COLLECTS + collect
    msg = error_of(tmp_path, text)
    assert "payments[0]" in msg and "collect.expiry_s" in msg and "drain_limit_s" in msg
    # with the default drain limit it fits
    load_scenario(write(tmp_path, text.replace("drain_limit_s = 100\n", "")))


def test_a_collect_load_with_the_default_expiry_and_drain_limit_is_valid(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, GOOD + COLLECTS + "[collect]\nrate_per_s = 1\n"))
    assert s.collect.expiry_s < s.drain_limit_s


# -- the command line: 9, 10, 11, 12 -----------------------------------------------------------


def test_rich_markup_in_a_scenario_name_is_printed_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write(tmp_path, GOOD.replace('name = "t"', 'name = "[bold red]x[/"'))
    code, out, err = run_cli(["run", str(scenario), "--out", str(tmp_path / "r[1]")], capsys)
    assert code == 0, err
    assert "upisim run: [bold red]x[/ (seed 1)" in out
    assert f"run folder: {tmp_path / 'r[1]'}" in out
    assert "r[1]/report/index.html" in out


def test_rich_markup_in_a_statement_is_printed_as_written(
    quickstart_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    shutil.copytree(quickstart_run, run)
    tx = pq.read_table(run / "transactions.parquet").to_pandas()
    tx.loc[tx["payee_vpa"] == "priya@oksbi", "payee_vpa"] = "[/]p[bold]@oksbi"  # edited data
    tx.to_parquet(run / "transactions.parquet")
    code, out, err = run_cli(["statement", str(run), "rahul@okhdfcbank"], capsys)
    assert code == 0, err
    assert "to [/]p[bold]@oksbi" in out


def test_out_naming_an_existing_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "taken.txt"
    taken.write_text("mine")
    for out_dir in (taken, taken / "run"):
        code, _, err = run_cli(["run", "--out", str(out_dir), "--no-report", "--quiet"], capsys)
        assert code == 2 and str(taken) in err and "not a folder" in err, err
        assert "Traceback" not in err
    assert taken.read_text() == "mine"
    for command in (["report", str(tmp_path), "--out", str(taken)],):
        (tmp_path / "summary.json").write_text("{}")
        code, _, err = run_cli(command, capsys)
        assert code == 2 and "not a folder" in err, err


def test_a_refused_report_leaves_no_folder_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["report", str(tmp_path), "--out", str(tmp_path / "rep")], capsys)
    assert code == 2 and "summary.json: missing" in err
    assert not (tmp_path / "rep").exists()


def test_out_in_a_place_nobody_may_write_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not Path("/sys").is_dir():
        pytest.skip("needs /sys, where not even root may make folders")
    out_dir = "/sys/upisim-test-run"
    code, _, err = run_cli(["run", "--out", out_dir, "--no-report", "--quiet"], capsys)
    assert code == 2 and out_dir in err and "cannot" in err, err
    assert not Path(out_dir).exists()


def test_a_statement_csv_that_cannot_be_written_exits_2(
    quickstart_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(
        ["statement", str(quickstart_run), "rahul@okhdfcbank", "--csv", str(tmp_path)], capsys
    )
    assert code == 2 and str(tmp_path) in err and "Traceback" not in err, err


@pytest.mark.parametrize("seed", ["-5", "-1", str(2**63)])
def test_a_seed_out_of_range_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: str
) -> None:
    out_dir = tmp_path / "out"
    code, _, err = run_cli(["run", "--seed", seed, "--out", str(out_dir), "--quiet"], capsys)
    assert code == 2 and "--seed" in err and seed in err, err
    assert not out_dir.exists()


def test_the_largest_seed_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed = str(2**63 - 1)
    code, _, err = run_cli(
        ["run", "--seed", seed, "--out", str(tmp_path), "--quiet", "--no-report"], capsys
    )
    assert code == 0, err


def test_transactions_csv_escapes_formulas_and_keeps_numbers(tmp_path: Path) -> None:
    pays = "".join(
        f'[[payments]]\nfrom = "a@okhdfcbank"\nto = "{to}"\namount = "1.00"\n'
        for to in ("=HYPERLINK(1)@oksbi", "+1+2@oksbi", "-3+4@oksbi", "@SUM(1)@oksbi")
    )
    scenario = write(tmp_path, GOOD + pays)
    assert main(["run", str(scenario), "--out", str(tmp_path / "r"), "--no-report", "--csv"]) == 0
    cells = _cells(tmp_path / "r" / "transactions.csv")
    risky = [c for c in cells if c.startswith(FORMULA_START) and not _is_number(c)]
    assert risky == []
    assert {"'=HYPERLINK(1)@oksbi", "'+1+2@oksbi", "'-3+4@oksbi", "'@SUM(1)@oksbi"} <= set(cells)
    tx = pq.read_table(tmp_path / "r" / "transactions.parquet")
    assert "=HYPERLINK(1)@oksbi" in tx["payee_vpa"].to_pylist()  # the Parquet file is as sent
    assert str(tx["amount_paise"][0]) in cells


def test_statement_csv_escapes_formulas(
    quickstart_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    shutil.copytree(quickstart_run, run)
    tx = pq.read_table(run / "transactions.parquet").to_pandas()
    tx["txn_id"] = "=" + tx["txn_id"]  # a run folder is data: it may have been edited
    tx.to_parquet(run / "transactions.parquet")
    target = tmp_path / "statement.csv"
    assert main(["statement", str(run), "rahul@okhdfcbank", "--csv", str(target)]) == 0
    cells = _cells(target)
    assert [c for c in cells if c.startswith(FORMULA_START) and not _is_number(c)] == []
    assert any(c.startswith("'=") for c in cells)


def test_a_listed_user_may_not_take_a_generated_users_vpa(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from upisim.scenarios.people import generate_population

    text = GOOD + "[population]\nsize = 50\n"
    made = generate_population(load_scenario(write(tmp_path, text)), 1).vpas
    taken = made[5]  # the population's row 7, after the two listed users
    clash = write(tmp_path, text.replace('"b@oksbi"', f'"{taken}"'), "clash.toml")
    code, _, err = run_cli(["run", str(clash), "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and "Traceback" not in err
    assert f"users[1].vpa: {taken!r} is also the VPA the population gives its user at row 7" in err
    # another seed draws other names: the same VPA is then free to take
    code, _, err = run_cli(
        ["run", str(clash), "--seed", "2", "--out", str(tmp_path / "o2")], capsys
    )
    assert code == 0, err
