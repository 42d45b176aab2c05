"""A run's people: listed users as given, then the population, each made when asked for."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from upisim.actors.accounts import account_number
from upisim.actors.records import User
from upisim.scenarios.config import bundled_scenarios, parse_scenario
from upisim.scenarios.people import Openings, everyone


def people(size: int = 500) -> Openings:
    listed = tomllib.loads(bundled_scenarios()["quickstart"].read_text())
    return everyone(parse_scenario({**listed, "population": {"size": size}}, "q"), 1)


def test_each_row_is_a_user_made_from_its_columns_the_listed_first() -> None:
    opened = people()
    users = opened.users
    assert len(users) == len(opened) == 504
    assert users[0] == User(
        "Rahul Sharma", "rahul@okhdfcbank", "HDFC", account_number("HDFC", 0), "1234"
    )
    for row in (4, 5, 250, 503):
        u = users[row]
        code = users.codes[users.bank_of[row]]
        assert (u.vpa, u.bank, u.account) == (users.vpas[row], code, account_number(code, row))
        assert u.name == users.names[users.name_of[row]] and u.merchant == users.merchant[row]
        assert u.vpa.split("@")[0].endswith(str(row)) and u.pin.isdigit() and u.pin_hash == ""
        assert u == users[row]  # the same user every time it is asked for
    assert users[-1] == users[503] and users[502:] == [users[502], users[503]]
    assert list(users)[4:6] == users[4:6]
    with pytest.raises(IndexError):
        users[504]


def test_the_columns_are_the_users_and_a_user_is_only_at_their_row() -> None:
    users = people(2_000).users
    made = list(users)
    assert [u.vpa for u in made] == users.vpas
    assert np.array_equal(users.merchant, [u.merchant for u in made])
    assert [users.codes[k] for k in users.bank_of] == [u.bank for u in made]
    assert len({u.vpa for u in made}) == len({u.account for u in made}) == len(made)
