"""Scenario files are validated whole; every mistake names the file, the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.errors import ScenarioError
from scenarios.config import bundled_scenarios, load_scenario, resolve_path, resolved_dict

GOOD = """
name = "t"
duration_s = 1
[[users]]
name = "A"
vpa = "a@okhdfcbank"
bank = "HDFC"
balance = "100.00"
[[users]]
name = "B"
vpa = "b@oksbi"
bank = "SBI"
balance = "0"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert str(path) in message
    return message


def test_a_good_file_loads_with_defaults_filled_in(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, GOOD))
    assert [b.code for b in s.banks] == ["HDFC", "SBI", "ICICI"]
    assert s.users[0].balance == 100_00 and s.users[1].balance == 0
    assert s.timeouts.pay_ms == 15_000 and s.fraud.high_value == 50_000_00


@pytest.mark.parametrize("bundled", sorted(bundled_scenarios()))
def test_every_bundled_scenario_is_valid(bundled: str) -> None:
    assert load_scenario(bundled_scenarios()[bundled]).name == bundled


def test_unknown_key_is_an_error_naming_it(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD + '\n[fraud]\nhigh_valu = "1.00"\n')
    assert "fraud.high_valu" in msg and "unknown key" in msg


@pytest.mark.parametrize(
    ("amount", "why"),
    [
        ('"-5"', "negative"),
        ('"1.234"', "two decimals"),
        ('"ten"', "not a number"),
        ("12.5", "not float"),
        ('"0"', "zero"),
    ],
)
def test_bad_amounts_say_where_and_why(tmp_path: Path, amount: str, why: str) -> None:
    text = GOOD + f'\n[[payments]]\nfrom = "a@okhdfcbank"\nto = "b@oksbi"\namount = {amount}\n'
    msg = error_of(tmp_path, text)
    assert "payments.0.amount" in msg and why.split()[-1] in msg


def test_a_user_at_an_unknown_bank(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD.replace('bank = "SBI"', 'bank = "KOTAK"'))
    assert "users[1].bank" in msg and "KOTAK" in msg


def test_a_scripted_payment_from_nobody(tmp_path: Path) -> None:
    text = GOOD + '\n[[payments]]\nfrom = "zed@oksbi"\nto = "b@oksbi"\namount = "1.00"\n'
    assert "payments[0].from" in error_of(tmp_path, text)


def test_missing_required_fields_and_wrong_types_are_all_listed(tmp_path: Path) -> None:
    msg = error_of(tmp_path, 'duration_s = "soon"\n[load]\nrate_per_s = -1\n')
    assert "name: Field required" in msg
    assert "duration_s" in msg and "load.rate_per_s" in msg
    assert "3 problem(s)" in msg


def test_a_pin_must_be_four_or_six_digits(tmp_path: Path) -> None:
    assert "users.0.pin" in error_of(
        tmp_path, GOOD.replace('balance = "100.00"', 'balance = "100.00"\npin = "12a4"')
    )


def test_broken_toml_and_missing_files(tmp_path: Path) -> None:
    assert "not valid TOML" in error_of(tmp_path, "name = \n")
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match=r"bundled: .*quickstart"):
        resolve_path("no-such-bundled-name")


def test_resolved_scenario_masks_pins_and_round_trips_amounts(tmp_path: Path) -> None:
    data = resolved_dict(load_scenario(write(tmp_path, GOOD)))
    assert {u["pin"] for u in data["users"]} == {"****"}
    assert data["users"][0]["balance"] == "100.00"
    assert data["fraud"]["high_value"] == "50000.00"
