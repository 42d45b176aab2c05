"""The people of a run: the users a scenario lists, then the population it generates.

Both are pure functions of (scenario, seed). The population is drawn a trait at a time for
everyone at once (numpy columns from one seeded generator), so a million users take a few
seconds, most of it making their strings and PIN blocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import repeat
from typing import cast

import numpy as np

from upisim.actors.accounts import account_number
from upisim.actors.base import derive_seed
from upisim.actors.records import User
from upisim.actors.types import BankCode, Vpa
from upisim.scenarios.config import Scenario
from upisim.scenarios.names import FIRST_NAMES, LAST_NAMES


@dataclass(frozen=True, slots=True)
class Openings:
    """Every user of a run as it opens, a column per trait in the order of ``users``: kept as
    columns for the run's whole life (the accounts table is written from them), not as a
    tuple per user."""

    users: list[User]
    balance: np.ndarray  # int64: opening balance in paise
    new_user: np.ndarray  # bool: new to UPI (a cooling period, a first-day cap)
    card_limit: np.ndarray  # int64: the credit card's limit in paise (0: no card)

    def __len__(self) -> int:
        return len(self.users)

    def then(self, more: Openings) -> Openings:
        """These users, then ``more``."""
        return Openings(
            self.users + more.users,
            np.concatenate((self.balance, more.balance)),
            np.concatenate((self.new_user, more.new_user)),
            np.concatenate((self.card_limit, more.card_limit)),
        )


def everyone(scenario: Scenario, seed: int) -> Openings:
    """Every user of a run as it opens: the listed ones, then the generated population."""
    listed = scenario.users
    users = [
        User(
            u.name,
            Vpa(u.vpa),
            BankCode(u.bank),
            account_number(u.bank, i),
            "" if u.pin_hash else u.pin,
            u.merchant,
            u.card_limit > 0,
            u.pin_hash or "",
        )
        for i, u in enumerate(listed)
    ]
    return Openings(
        users,
        np.array([u.balance for u in listed], np.int64),
        np.array([u.new_user for u in listed], np.bool_),
        np.array([u.card_limit for u in listed], np.int64),
    ).then(generate_population(scenario, seed))


def in_shares(draw: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """Which of ``len(weights)`` groups each of ``n`` users is in, in exactly those shares.

    The counts are the shares of ``n`` rounded by largest remainder (ties to the earlier
    group), dealt out in a seeded random order: a scenario's 8% of users on an app is 8%
    of its users, not 8% give or take sampling noise.
    """
    exact = weights / weights.sum() * n
    counts = np.floor(exact).astype(np.int64)
    short = n - int(counts.sum())
    counts[np.argsort(counts - exact, kind="stable")[:short]] += 1
    return draw.permutation(np.repeat(np.arange(len(weights)), counts))


def generate_population(scenario: Scenario, seed: int) -> Openings:
    """Users with Indian names, VPAs at their bank's handle, PINs and opening balances.

    Every trait is drawn for the whole population at once, a column per trait from one
    seeded numpy generator (a million users in well under a second); only the strings and
    :class:`User` objects are then made one by one.
    """
    pop = scenario.population
    if pop is None:
        return Openings([], np.zeros(0, np.int64), np.zeros(0, np.bool_), np.zeros(0, np.int64))
    n = pop.size
    draw = np.random.Generator(np.random.PCG64(derive_seed(seed, "population")))
    banks = scenario.banks
    weights = np.array(
        [pop.bank_weights.get(b.code, 0.0 if pop.bank_weights else 1.0) for b in banks]
    )
    bank_of = in_shares(draw, weights, n)
    first = draw.integers(len(FIRST_NAMES), size=n)
    last = draw.integers(len(LAST_NAMES), size=n)
    pins = draw.integers(10_000, size=n)
    spread = [pop.customers(b.code) for b in banks]
    mu = np.array([math.log(median / 100) for median, _ in spread])
    sigma = np.array([s for _, s in spread])
    rupees = np.rint(draw.lognormal(mu[bank_of], sigma[bank_of])).astype(np.int64)
    merchant = draw.random(n) < pop.merchant_share
    new = draw.random(n) < pop.new_user_share
    card = draw.random(n) < pop.card_share
    apps = scenario.apps
    if apps:  # on an app, at one of its handles
        shares = np.array([app.share for app in apps])
        app_of = in_shares(draw, shares, n)
        n_handles = np.array([len(app.handles) for app in apps])
        at_app = (draw.random(n) * n_handles[app_of]).astype(np.int64)
        starts = np.cumsum(n_handles) - n_handles
        all_handles = [h for app in apps for h in app.handles]
        handle_of = starts[app_of] + at_app
    else:
        all_handles = [b.handle for b in banks]
        handle_of = bank_of
    # names and PINs come from small tables: each string is made once and shared
    handle_name = [f"{f}.{la}".lower().replace("'", "") for f in FIRST_NAMES for la in LAST_NAMES]
    full_name = [f"{f} {la}" for f in FIRST_NAMES for la in LAST_NAMES]
    pin_text = [f"{pin:04d}" for pin in range(10_000)]
    name_of = (first * len(LAST_NAMES) + last).tolist()
    ids = range(len(scenario.users), len(scenario.users) + n)
    vpas = cast(
        "list[Vpa]",
        [
            f"{handle_name[k]}{i}@{all_handles[h]}"
            for k, i, h in zip(name_of, ids, handle_of.tolist(), strict=True)
        ],
    )
    code_of = cast("list[BankCode]", [banks[b].code for b in bank_of.tolist()])
    pin_of = [pin_text[p] for p in pins.tolist()]
    # no PIN block: the app makes it when the PIN is typed, the bank when the account opens
    fields = zip(
        map(full_name.__getitem__, name_of),
        vpas,
        code_of,
        map(account_number, code_of, ids),
        pin_of,
        merchant.tolist(),
        card.tolist(),
        repeat(""),
        strict=False,  # (repeat is endless: the other columns are one a user)
    )
    # tuple.__new__ on each user's fields: a NamedTuple's own __new__ is a Python function,
    # a frame per user (a third of the time the users took)
    users = list(map(tuple.__new__, repeat(User), fields))
    limit = np.where(card, pop.card_limit, 0).astype(np.int64)
    return Openings(users, rupees * 100, new, limit)
