"""Scenario files are validated whole; every mistake names the file, the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from upisim.actors.errors import ScenarioError
from upisim.actors.records import pin_block
from upisim.scenarios.config import (
    bundled_scenarios,
    load_scenario,
    parse_scenario,
    resolve_path,
    resolved_dict,
)

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


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
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


def test_resolved_scenario_keeps_what_banks_store_not_pins_and_round_trips(
    tmp_path: Path,
) -> None:
    scenario = load_scenario(write(tmp_path, GOOD))
    data = resolved_dict(scenario)
    assert all("pin" not in u for u in data["users"])
    assert [u["pin_hash"] for u in data["users"]] == [
        pin_block(u.vpa, u.pin) for u in scenario.users
    ]
    assert data["users"][0]["balance"] == "100.00"
    assert data["fraud"]["high_value"] == "50000.00"
    again = parse_scenario(data)  # what a run folder keeps is a scenario again
    assert resolved_dict(again) == data
    both = dict(data["users"][0], pin="1234")
    with pytest.raises(ScenarioError, match="give pin or pin_hash, not both"):
        parse_scenario(dict(data, users=[both]))


def test_method_names_in_files_are_the_actors_method_names() -> None:
    from typing import get_args

    from upisim.actors.methods import DEFAULT_METHODS, PUSH_METHODS
    from upisim.scenarios.config import MethodName, PushMethod

    assert get_args(PushMethod) == PUSH_METHODS
    assert get_args(MethodName) == tuple(DEFAULT_METHODS)


@pytest.mark.parametrize(
    ("extra", "where", "why"),
    [
        ("[load]\nmethod_mix = { UPI_PULL = 1.0 }\n", "load.method_mix.UPI_PULL", "UPI_PUSH"),
        ("[load]\nmethod_mix = { UPI_COLLECT = 1.0 }\n", "load.method_mix.UPI_COLLECT", ""),
        ("[load]\nmethod_mix = { UPI_PUSH = 0 }\n", "load", "add up to more than 0"),
        ("[methods.CHEQUE]\nextra_latency_ms = 5\n", "methods.CHEQUE", "NET_BANKING"),
        (
            "[methods.DEBIT_CARD]\nextra_latency = 5\n",
            "methods.DEBIT_CARD.extra_latency",
            "unknown",
        ),
        ('[methods.CREDIT_CARD]\nper_txn_limit = "-5"\n', "methods.CREDIT_CARD.per_txn_limit", ""),
        ("[population]\nsize = 5\ncard_share = 1.5\n", "population.card_share", "1"),
        ("[collect]\np2p_share = -1\n", "collect.p2p_share", "0"),
    ],
)
def test_method_and_card_mistakes_name_the_field(
    tmp_path: Path, extra: str, where: str, why: str
) -> None:
    msg = error_of(tmp_path, GOOD + extra)
    assert where in msg and why in msg


def test_a_scripted_collect_starts_from_its_listed_payee(tmp_path: Path) -> None:
    collect = '[[payments]]\nfrom = "{}"\nto = "{}"\namount = "5.00"\nmethod = "UPI_COLLECT"\n'
    s = load_scenario(write(tmp_path, GOOD + collect.format("x@oksbi", "a@okhdfcbank")))
    assert s.payments[0].method == "UPI_COLLECT"  # the payer need not be listed
    msg = error_of(tmp_path, GOOD + collect.format("a@okhdfcbank", "x@oksbi"))
    assert "payments[0].to" in msg and "starts from its payee" in msg


def test_scenario_method_changes_reach_the_method_table() -> None:
    from upisim.scenarios.config import parse_scenario
    from upisim.scenarios.world import scenario_methods

    s = parse_scenario(
        {
            "name": "t",
            "duration_s": 1,
            "population": {"size": 2},
            "methods": {"NET_BANKING": {"extra_latency_ms": 4000, "per_txn_limit": "10.00"}},
        }
    )
    nb = scenario_methods(s)["NET_BANKING"]
    assert (nb.extra_ms, nb.per_txn, nb.p2m_only) == (4000, 10_00, False)


def test_a_scripted_collect_has_no_pin_to_type(tmp_path: Path) -> None:
    collect = '[[payments]]\nfrom = "b@oksbi"\nto = "a@okhdfcbank"\namount = "5.00"\n'
    msg = error_of(tmp_path, GOOD + collect + 'method = "UPI_COLLECT"\npin = "1234"\n')
    assert "payments[0].pin" in msg and "leave pin out" in msg


@pytest.mark.parametrize(
    ("extra", "where", "why"),
    [
        ("[load]\np2m_share = 0.5\n", "load.p2m_share", "need merchants"),
        (
            "[methods.NET_BANKING]\nextra_latency_ms = 15000\n",
            "methods.NET_BANKING.extra_latency_ms",
            "15000 ms + latency_spread_ms 3000 ms is not less than timeouts.pay_ms",
        ),
        (  # the default 1,500 ms hop of net banking, with a 1 s payment timeout
            "[timeouts]\npay_ms = 1000\n[load]\nmethod_mix = { NET_BANKING = 1 }\n",
            "methods.NET_BANKING.extra_latency_ms",
            "(the defaults)",
        ),
    ],
)
def test_settings_that_could_only_fail_are_refused(
    tmp_path: Path, extra: str, where: str, why: str
) -> None:
    msg = error_of(tmp_path, GOOD + extra)
    assert where in msg and why in msg


def test_banks_forget_a_payments_legs_only_once_nothing_about_it_can_still_arrive() -> None:
    from upisim.scenarios.config import parse_scenario
    from upisim.scenarios.world import scenario_methods, settle_grace

    base = {"name": "t", "duration_s": 1, "population": {"size": 2}}
    s = parse_scenario(base)
    methods = scenario_methods(s)
    slowest_hop = max(m.extra_ms + m.spread_ms for m in methods.values())  # net banking's
    assert settle_grace(s, methods) > s.network.switch_bank_ms + slowest_hop
    slow = parse_scenario({**base, "network": {"jitter_ms": 40_000}})
    assert settle_grace(slow, methods) > 40_000 + slowest_hop
    faults = {"duplicate_rate": 0.1, "replay_max_ms": 30_000}
    replayed = parse_scenario({**base, "faults": faults})
    assert settle_grace(replayed, methods) > 30_000 + s.network.switch_bank_ms + slowest_hop


def test_an_app_checks_on_requests_only_once_they_cannot_be_on_their_way() -> None:
    from upisim.scenarios.config import parse_scenario

    base = {"name": "t", "duration_s": 1, "population": {"size": 2}}
    with pytest.raises(ScenarioError, match=r"timeouts\.status_first_ms"):
        parse_scenario({**base, "network": {"jitter_ms": 60_000}})
    with pytest.raises(ScenarioError, match=r"app_loss_rate.*raise drain_limit_s above 641"):
        parse_scenario({**base, "faults": {"app_loss_rate": 0.1}})
    parse_scenario({**base, "faults": {"app_loss_rate": 0.1}, "drain_limit_s": 700})


def test_a_scripted_payments_method_must_fit_the_timeout_too(tmp_path: Path) -> None:
    scripted = (
        '[timeouts]\npay_ms = 4000\n[[payments]]\nfrom = "a@okhdfcbank"\nto = "b@oksbi"\n'
        'amount = "5.00"\nmethod = "NET_BANKING"\n'
    )
    msg = error_of(tmp_path, GOOD + scripted)
    assert "methods.NET_BANKING.extra_latency_ms" in msg and "pay_ms (4000 ms)" in msg
