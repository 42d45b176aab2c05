"""Actor addresses: made by one function per kind, taken apart by kind_of and bank_code."""

from __future__ import annotations

import pytest

from upisim.actors import addresses
from upisim.actors.bank import Bank
from upisim.actors.user import UserCohort
from upisim.scenarios.config import bundled_scenarios, load_scenario
from upisim.scenarios.world import build_world

KINDS = {
    addresses.SWITCH_KIND,
    addresses.FRAUD_KIND,
    addresses.BANK_KIND,
    addresses.USERS_KIND,
}


def test_constructors_spell_kind_colon_name() -> None:
    assert addresses.bank("HDFC") == "bank:HDFC"
    assert addresses.users(0) == "users:0"
    assert addresses.users(3) == "users:3"
    assert addresses.SWITCH == "switch"
    assert addresses.FRAUD == "fraud"


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("switch", "switch"),
        ("fraud", "fraud"),
        ("bank:HDFC", "bank"),
        ("users:12", "users"),
        ("load", "load"),
        ("p2p-collects", "p2p-collects"),
        ("timer", "timer"),
    ],
)
def test_kind_of_is_the_part_before_the_colon(address: str, kind: str) -> None:
    assert addresses.kind_of(address) == kind


def test_bank_code_gives_back_the_code() -> None:
    assert addresses.bank_code("bank:HDFC") == "HDFC"
    assert addresses.bank_code(addresses.bank("AXIS")) == "AXIS"


@pytest.mark.parametrize("address", ["switch", "fraud", "users:3", "load", "bank", "bank:", ""])
def test_bank_code_of_anything_but_a_bank_is_a_value_error(address: str) -> None:
    with pytest.raises(ValueError, match="is not a bank's address"):
        addresses.bank_code(address)


@pytest.mark.parametrize(
    ("address", "behind"),
    [
        ("bank:SBI", True),
        ("fraud", True),
        ("switch", False),
        ("users:0", False),
        ("load", False),
        ("script", False),
        ("timer", False),
    ],
)
def test_banks_and_the_fraud_monitor_are_behind_the_switch(address: str, behind: bool) -> None:
    assert addresses.is_behind_switch(address) is behind


def test_every_address_the_world_builds_round_trips() -> None:
    scenario = load_scenario(bundled_scenarios()["population"])
    world = build_world(scenario, 1)
    logics = world.logics()
    seen = [logic.address for logic in logics]
    assert len(set(seen)) == len(seen)  # one actor per address
    assert {addresses.kind_of(a) for a in seen} == KINDS
    banks = [logic for logic in logics if isinstance(logic, Bank)]
    assert sorted(addresses.bank_code(b.address) for b in banks) == sorted(
        b.code for b in scenario.banks
    )
    for bank in banks:
        assert addresses.bank_code(bank.address) == bank.code
        assert addresses.bank(bank.code) == bank.address
        assert world.banks[addresses.bank_code(bank.address)] is bank
    cohorts = [logic for logic in logics if isinstance(logic, UserCohort)]
    assert [c.address for c in cohorts] == [addresses.users(i) for i in range(len(cohorts))]
    assert world.switch.address == addresses.SWITCH
    assert world.fraud.address == addresses.FRAUD
    for logic in logics:
        assert addresses.kind_of(logic.address) in KINDS
        behind = isinstance(logic, Bank) or logic is world.fraud
        assert addresses.is_behind_switch(logic.address) is behind
