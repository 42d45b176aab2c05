"""Building a run's actors from a validated scenario: users, accounts, cohorts, the switch, fraud.

Everything here is a pure function of (scenario, seed), so the same inputs
always give the same world.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import compress

import numpy as np

from upisim.actors import addresses
from upisim.actors.accounts import OLD_HAND, AccountBook
from upisim.actors.bank import Bank, BankLimits
from upisim.actors.base import Logic
from upisim.actors.capacity import Pool
from upisim.actors.directory import Members, Roster
from upisim.actors.fraud import FraudMonitor, FraudRules
from upisim.actors.load import Behaviour
from upisim.actors.methods import Method, methods_with
from upisim.actors.status import StatusChecks
from upisim.actors.switch import CollectRules, Switch, SwitchTimeouts
from upisim.actors.types import SECOND, Address, BankCode, Paise, SimTime, Vpa
from upisim.actors.user import CollectHabits, UserCohort
from upisim.scenarios.apps import (
    app_latencies,
    app_of_handle,
    cohort_rate_limits,
    first_servers,
    slowest_app_ms,
)
from upisim.scenarios.config import Scenario
from upisim.scenarios.crime import plan_crimes
from upisim.scenarios.faults import capacity_of, server_capacity
from upisim.scenarios.people import Openings, Users, everyone

TINY = 8  # up to this many users, one user actor each
DEFAULT_COHORTS = 2  # beyond: under the GIL fewer, fuller actors run faster (measured)


@dataclass(frozen=True, slots=True)
class World:
    """The logic objects of one run, ready to be wrapped in actors."""

    users: Users  # every user by row, made when asked for
    cohorts: list[UserCohort]
    server_of: Mapping[Vpa, Address]  # each user's app server (the switch's directory)
    banks: dict[BankCode, Bank]
    switch: Switch
    fraud: FraudMonitor
    money_start: int
    openings: Openings

    def logics(self) -> list[Logic]:
        return [*self.cohorts, *self.banks.values(), self.switch, self.fraud]

    def pools(self) -> list[tuple[Logic, Pool]]:
        """Each place with a capacity model and its pool: app servers, banks, the switch."""
        places: list[tuple[Logic, Pool | None]] = [(c, c.core) for c in self.cohorts]
        places += [(b, b.core) for b in self.banks.values()] + [(self.switch, self.switch.core)]
        return [(place, pool) for place, pool in places if pool is not None]


def build_world(scenario: Scenario, seed: int) -> World:
    """All actors' logic for ``scenario`` run at ``seed``."""
    people = everyone(scenario, seed)
    users = people.users
    methods = scenario_methods(scenario)

    t = scenario.timeouts
    timeouts = SwitchTimeouts(
        SimTime(t.auth_ms),
        SimTime(t.risk_ms),
        SimTime(t.pay_ms),
        SimTime(t.reversal_ms),
        t.reversal_tries,
    )

    accounts = open_accounts(scenario, people)
    banks: dict[BankCode, Bank] = {}
    heal_at = scenario.duration_ms if scenario.faults.heal_after_load else None
    for b in scenario.banks:
        limits = BankLimits(
            per_txn=Paise(b.per_txn_limit),
            per_day=Paise(b.daily_limit),
            count_per_day=b.daily_count_limit,
            pin_tries=b.pin_tries,
            lockout=SimTime(b.lockout_s * SECOND),
            new_first=Paise(b.new_user_first_limit),
            new_cap=Paise(b.new_user_cap),
            new_window=SimTime(b.new_user_hours * 3600 * SECOND),
        )
        core = capacity_of(b.code, b.core, scenario.faults, heal_at)
        banks[BankCode(b.code)] = Bank(
            BankCode(b.code), accounts[b.code], limits, seed, methods, core
        )

    payees = users.vpas
    roster, members = deal_cohorts(scenario, users)
    directory = roster.directory()
    n_cohorts = len(members)
    load = scenario.load
    behaviour = Behaviour(
        Paise(load.amount_median),
        load.amount_sigma,
        Paise(load.amount_min),
        Paise(load.amount_max),
        load.wrong_pin_rate,
        tuple(load.method_mix.items()),
        load.p2m_share,
        tuple(
            (code, c.wrong_pin_rate)
            for code, c in (scenario.population.banks.items() if scenario.population else ())
            if c.wrong_pin_rate is not None
        ),
    )
    rate_limits = cohort_rate_limits(scenario, n_cohorts)
    c = scenario.collect
    habits = CollectHabits(
        round(c.expiry_s * 1000),
        c.approve_share,
        c.decline_share,
        round(c.think_s * 1000),
        scenario.refunds.share,
        round(scenario.refunds.after_s * 1000),
    )
    merchants = frozenset(compress(payees, users.merchant))
    checks = StatusChecks(t.status_first_ms, t.status_checks)
    replay = replay_window(scenario)
    crimes = plan_crimes(scenario, seed, people, directory, n_cohorts)
    cohorts = [
        UserCohort(
            i,
            members[i],
            payees,
            behaviour,
            seed,
            rate_limits[i],
            habits,
            merchants,
            methods,
            scenario.notifications.record,
            checks,
            replay,
            server_capacity(scenario.capacity.psp),
            crimes[i],
            roster.hosted(i, users),
        )
        for i in range(n_cohorts)
    ]

    switch = Switch(
        directory,
        set(banks),
        timeouts,
        seed=seed,
        methods=methods,
        collect=CollectRules(c.p2p, Paise(c.p2p_cap)),
        # merchants refund after_s after the money arrived; the switch holds their payments
        # that long and ten minutes more (none when nobody refunds)
        refund_window=(
            round(scenario.refunds.after_s * 1000) + 10 * 60 * SECOND
            if scenario.refunds.share
            else 0
        ),
        # two requests of one app can swap places on the way by at most the link's jitter,
        # or a replay's delay
        id_window=replay,
        settle_grace=settle_grace(scenario, methods),
        # an app may check on a request (or an expired collect) until its last check
        status_window=checks.horizon + round(scenario.collect.expiry_s * 1000) + 60 * SECOND,
        cycle_ms=round(scenario.settlement.cycle_s * 1000),
        net_debit_caps={b.code: Paise(b.net_debit_cap) for b in scenario.banks if b.net_debit_cap},
        load_end=scenario.duration_ms,
        capacity=server_capacity(scenario.capacity.switch),
        watch_collects=scenario.fraud.collect_strangers_action != "off",
        mapper_ms=round(scenario.network.mapper_s * 1000),
    )
    f = scenario.fraud
    fraud = FraudMonitor(
        FraudRules(
            Paise(f.high_value),
            f.high_value_action,
            Paise(f.daily_cap),
            f.daily_cap_action,
            f.velocity_per_hour,
            f.velocity_action,
            Paise(f.new_payee_amount),
            f.new_payee_action,
            f.fan_in_payers,
            f.fan_in_action,
            f.forward_share,
            round(f.forward_minutes * 60 * SECOND),
            f.forward_action,
            f.collect_strangers,
            f.collect_strangers_action,
            f.pin_streak,
            round(f.pin_minutes * 60 * SECOND),
            f.pin_burst_action,
        ),
        seed,
        replay_window=replay,
    )
    money = int(people.balance.sum())  # at most 10**17 paise (config.py): int64 holds it
    return World(users, cohorts, directory, banks, switch, fraud, money, people)


def open_accounts(scenario: Scenario, people: Openings) -> dict[str, AccountBook]:
    """Each bank's book of accounts, opened from the people's columns (each account's fields
    in the book's own columns: :mod:`upisim.actors.accounts`)."""
    codes = [b.code for b in scenario.banks]
    bank_of = people.users.bank_of  # (people.Users keeps the scenario's order of banks)
    users = people.users
    new_since = np.where(people.new_user, 0, OLD_HAND)  # new since the start, or not
    return {
        code: AccountBook(
            code,
            np.flatnonzero(bank_of == k),
            people.balance,
            lambda row: users[row].credential(),
            new_since,
            people.card_limit,
        )
        for k, code in enumerate(codes)
    }


def deal_cohorts(scenario: Scenario, users: Users) -> tuple[Roster, list[Members]]:
    """Each user's app server, and each server's users in order. Without apps, users are
    dealt to ``cohorts`` servers in turn; with apps, each joins its handle's app, dealt to
    its servers in turn."""
    vpas, merchant = users.vpas, users.merchant
    numbered = len(scenario.users)  # the population's VPAs carry their rows
    if not scenario.apps:
        n = scenario.cohorts or (len(users) if len(users) <= TINY else DEFAULT_COHORTS)
        n = min(n, len(users))
        # in turn: every n-th user from the i-th
        cohort_of = array("I", (np.arange(len(users), dtype=np.uint32) % max(n, 1)).tobytes())
        servers = [addresses.users(i) for i in range(n)]
        members = [Members(users, range(i, len(users), n), vpas, merchant) for i in range(n)]
        return Roster(vpas, numbered, cohort_of, servers), members
    app_of = app_of_handle(scenario)
    first = first_servers(scenario)
    dealt = [0] * len(scenario.apps)
    cohort_of = array("I")
    for vpa in vpas:
        app = app_of[vpa.rsplit("@", 1)[1]]
        cohort_of.append(first[app] + dealt[app] % scenario.apps[app].servers)
        dealt[app] += 1
    of = np.frombuffer(cohort_of, np.uint32)
    n = int(of.max()) + 1 if len(of) else 0
    rows = [array("q", np.flatnonzero(of == i).tobytes()) for i in range(n)]
    servers = [addresses.users(i) for i in range(n)]
    return Roster(vpas, numbered, cohort_of, servers), [
        Members(users, r, vpas, merchant) for r in rows
    ]


def settle_grace(scenario: Scenario, methods: Mapping[str, Method]) -> int:
    """How long after a payment finished a message the switch sent about it before then can
    still reach a bank: the slowest link, its jitter and the slowest method's hop. A bank
    forgets a payment's legs only after that (a leg forgotten sooner could let a straggling
    debit post after its payment failed)."""
    net = scenario.network
    slowest = max(net.switch_bank_ms, *(b.latency_ms or 0 for b in scenario.banks)) + net.jitter_ms
    slowed = max((d.extra_ms for d in scenario.faults.delays), default=0) * 2  # there and back
    replayed = scenario.faults.replay_max_ms if scenario.faults.duplicate_rate else 0
    hop = max(m.extra_ms + m.spread_ms for m in methods.values())
    return slowest + slowed + replayed + hop + SECOND


def replay_window(scenario: Scenario) -> int:
    """How much later than the original a replayed message, or one overtaken by a later one
    of the same sender, can come (ms): how long actors remember what they were sent."""
    net = scenario.network
    replayed = scenario.faults.replay_max_ms if scenario.faults.duplicate_rate else 0
    return max(10 * SECOND, 2 * (slowest_app_ms(scenario) + net.jitter_ms) + replayed)


def scenario_methods(scenario: Scenario) -> dict[str, Method]:
    """The payment methods with the scenario's ``[methods.*]`` changes applied."""
    renamed = {
        "per_txn_limit": "per_txn",
        "extra_latency_ms": "extra_ms",
        "latency_spread_ms": "spread_ms",
        "p2m_only": "p2m_only",
    }
    return methods_with(
        {
            name: {
                field: getattr(cfg, key)
                for key, field in renamed.items()
                if getattr(cfg, key) is not None
            }
            for name, cfg in scenario.methods.items()
        }
    )


def link_latency(scenario: Scenario, a: str, b: str) -> int:
    """One-way latency in ms between two actor addresses (symmetric)."""
    kinds = {addresses.kind_of(a), addresses.kind_of(b)}
    net = scenario.network
    if kinds == {addresses.SWITCH_KIND, addresses.USERS_KIND}:
        app = a if addresses.kind_of(a) == addresses.USERS_KIND else b
        return app_latencies(scenario).get(app, net.psp_switch_ms)
    if kinds == {addresses.FRAUD_KIND, addresses.SWITCH_KIND}:
        return net.switch_fraud_ms
    if kinds == {addresses.BANK_KIND, addresses.SWITCH_KIND}:
        bank = addresses.bank_code(a if addresses.kind_of(a) == addresses.BANK_KIND else b)
        for cfg in scenario.banks:
            if cfg.code == bank and cfg.latency_ms is not None:
                return cfg.latency_ms
        return net.switch_bank_ms
    raise ValueError(f"no network link between {a} and {b}")
