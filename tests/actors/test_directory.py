"""Who a VPA is, read off the VPA: the roster, the switch's directory, a server's users."""

from __future__ import annotations

import tomllib
from array import array

import numpy as np
import pytest

from upisim.actors.directory import Members, Roster
from upisim.actors.records import User
from upisim.actors.types import Address, BankCode, Vpa
from upisim.scenarios.config import bundled_scenarios, parse_scenario
from upisim.scenarios.world import build_world

# two listed users (any VPAs, even numbered ones), then three numbered by their rows
VPAS = [Vpa(v) for v in ("shop9@okaxis", "ravi@ybl", "a.b2@ybl", "c.d3@okaxis", "e.f4@ybl")]
USERS = [User(f"user {i}", v, BankCode("HDFC"), f"H{i}", "1234") for i, v in enumerate(VPAS)]
SERVERS = [Address("users:0"), Address("users:1")]


def roster() -> Roster:
    return Roster(VPAS, 2, array("I", [1, 0, 0, 1, 0]), SERVERS)


def test_a_vpa_is_found_at_its_row_and_a_stranger_nowhere() -> None:
    r = roster()
    assert [r.row(v) for v in VPAS] == [0, 1, 2, 3, 4]
    for stranger in (
        "shop2@okaxis",  # a number that is a row, but not this VPA's row
        "c.d3@ybl",  # row 3's name at another handle
        "a.b02@ybl",  # row 2 with a leading zero
        "e.f5@ybl",  # past the last row
        "ravi1@ybl",  # a listed row: not numbered, found only by its whole VPA
        "a.b2",  # no handle
        "@ybl",
        "",
        "x٣@ybl",  # a digit, but not an ASCII one
    ):
        assert r.row(stranger) == -1, stranger


def test_the_directory_names_each_vpas_server_and_nothing_for_strangers() -> None:
    d = roster().directory()
    assert [d[v] for v in VPAS] == [SERVERS[i] for i in (1, 0, 0, 1, 0)]
    assert d.get(Vpa("nobody@ybl")) is None and Vpa("nobody@ybl") not in d
    assert d.get(Vpa("nobody@ybl"), SERVERS[0]) == SERVERS[0]
    assert VPAS[3] in d and len(d) == 5 and list(d) == VPAS
    with pytest.raises(KeyError):
        d[Vpa("e.f5@ybl")]


def test_a_server_hosts_its_own_users_only() -> None:
    r = roster()
    zero, one = r.hosted(0, USERS), r.hosted(1, USERS)
    assert list(zero) == [VPAS[1], VPAS[2], VPAS[4]] and len(zero) == 3
    assert list(one) == [VPAS[0], VPAS[3]] and len(one) == 2
    assert zero[VPAS[2]] is USERS[2] and one.get(VPAS[0]) is USERS[0]
    assert zero.get(VPAS[3]) is None and VPAS[3] not in zero  # server 1's user
    with pytest.raises(KeyError):
        one[VPAS[1]]


def test_a_roster_refuses_a_server_list_of_another_length_and_twice_listed_vpas() -> None:
    with pytest.raises(ValueError, match="4 servers given for 5 users"):
        Roster(VPAS, 2, array("I", [0] * 4), SERVERS)
    with pytest.raises(ValueError, match="listed twice"):
        Roster([VPAS[0], VPAS[0]], 2, array("I", [0, 0]), SERVERS)


def test_a_servers_members_are_rows_of_the_worlds_users_split_into_merchants_and_persons() -> None:
    users = [u._replace(merchant=i in (0, 3)) for i, u in enumerate(USERS)]
    flags = np.array([u.merchant for u in users])
    members = Members(users, range(0, 5, 2), VPAS, flags)  # rows 0, 2, 4
    assert list(members) == [users[0], users[2], users[4]] and len(members) == 3
    assert members[1] is users[2] and members[-1] is users[4] and members[1:] == users[2::2]
    assert list(members.vpas) == [VPAS[0], VPAS[2], VPAS[4]] and members.vpas[2] == VPAS[4]
    assert list(members.merchants()) == [users[0]]
    assert list(members.persons()) == [users[2], users[4]]
    assert list(members.persons().vpas) == [VPAS[2], VPAS[4]]
    alone = Members.of(users[3:])
    assert list(alone) == users[3:] and list(alone.merchants()) == [users[3]]
    assert len(Members.of([]).persons()) == 0


@pytest.mark.parametrize("name", ["quickstart", "india_2026"])
def test_a_worlds_users_are_each_at_one_server_as_the_switch_routes_them(name: str) -> None:
    listed = tomllib.loads(bundled_scenarios()[name].read_text())
    size = {"population": {**listed.get("population", {}), "size": 2_000}}
    world = build_world(parse_scenario({**listed, **size}, name), 1)
    assert len(world.users) > 2_000 - 1
    members = {c.address: {u.vpa for u in c.users} for c in world.cohorts}
    for user in world.users:
        server = world.server_of[user.vpa]
        hosts = [c for c in world.cohorts if c.by_vpa.get(user.vpa) is not None]
        assert [c.address for c in hosts] == [server], user
        assert hosts[0].by_vpa[user.vpa] == user and user.vpa in members[server]
    assert sum(len(c.by_vpa) for c in world.cohorts) == len(world.users)
    assert sum(map(len, members.values())) == len(world.users)
